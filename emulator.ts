/**
 * A local Binance for tests, benchmarks and offline demos: an HTTP server
 * on 127.0.0.1 that serves Vision daily and monthly archives with their
 * `.CHECKSUM` files and the S3 listing, and the REST klines endpoints of
 * spot, um and cm with the real parameter rules, limits and weight headers.
 * Its history is deterministic (seeded) and, by default, irregular like
 * real Binance history; the same candle is identical from every source.
 * Faults are injected per run: latency, 5xx, resets, truncated bodies,
 * checksum mismatches, missing files, 429/418, publication lag, exchange
 * halts ({@linkcode EmulatedGap}). Point the manager's `endpoints` (or
 * `DSM_VISION_URL`, `DSM_LISTING_URL`, `DSM_REST_URL` for the CLI) at
 * {@linkcode Emulator.url}. `deno task emulator` runs it as a command.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { startEmulator } from "./emulator.ts";
 *
 * await using binance = await startEmulator({
 *   now: Date.UTC(2024, 5, 1),
 *   gaps: [{ start: Date.UTC(2024, 0, 1, 10), end: Date.UTC(2024, 0, 1, 12) }],
 * });
 * const start = Date.UTC(2024, 0, 1);
 * const end = start + 86_400_000 - 1;
 * const res = await fetch(
 *   `${binance.url}/api/v3/klines?symbol=BTCUSDT&interval=1h&startTime=${start}&endTime=${end}`,
 * );
 * assert.equal(res.headers.get("x-mbx-used-weight-1m"), "2");
 * const rows: unknown[][] = await res.json();
 * assert.equal(rows.length, 22); // a day of hours but the two of the halt
 * assert.equal(rows[0][0], start);
 * ```
 *
 * @module
 */

export { type Emulator, type EmulatorStats, startEmulator } from "./src/emulator/emulator.ts";
export type { EmulatorOptions, RestHost } from "./src/emulator/emulator_options.ts";
export type { FaultOptions, FileSelection } from "./src/emulator/faults.ts";
export type { EmulatedSymbol } from "./src/emulator/symbol_catalogue.ts";
export type { EmulatedGap } from "./src/emulator/market_data.ts";
export type { HistoryMode } from "./src/emulator/irregular_history.ts";
export {
  type KlineText,
  MarketData,
  type MarketDataOptions,
  type MarketTapeOptions,
} from "./src/emulator/market_data.ts";
export {
  type KlineTruth,
  klineTruth,
  type KlineTruthQuery,
  type MissingSlots,
} from "./src/emulator/kline_truth.ts";
export {
  FUNDING_MARK_PRICE_FROM,
  type FundingEvent,
  fundingTruth,
  type FundingTruthQuery,
} from "./src/emulator/funding_truth.ts";
export {
  FUNDING_SCHEDULE,
  type FundingIntervalHours,
  type FundingScheduleEntry,
} from "./src/emulator/funding_schedule.ts";
