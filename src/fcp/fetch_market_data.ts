/**
 * `fetchMarketData`: one call for scripts; a manager is created and closed
 * inside.
 *
 * @module
 */
import type { Table } from "apache-arrow";
import { DataSourceManager, type DataSourceManagerOptions } from "./data_source_manager.ts";
import type { KlineRequest } from "./kline_request.ts";

/** Manager options and one request, together. */
export type FetchMarketDataOptions = DataSourceManagerOptions & KlineRequest;

/**
 * Fetches klines into one Arrow Table through a short-lived manager.
 *
 * @param options The manager's options and the request.
 * @returns The table (with `_data_source` unless `includeSourceInfo: false`).
 * @throws {TypeError} For an invalid request, before any I/O.
 * @throws {InvalidRangeError} When the range starts after now (wholly in
 *   the future), before any I/O. A range that starts in the past but holds
 *   no closed candle yet returns an empty table.
 * @throws {NetworkError} When no row could be fetched because the network
 *   failed (DNS, refused, TLS, resets, time-outs); `cause` keeps the first
 *   failure and, through it, the runtime's reason. Other source failures
 *   that leave no row (e.g. HTTP 5xx after the retries) throw that error.
 * @throws {DataNotAvailableError} When the exchange holds no row of the range
 *   (a range whose candles were all printed off the grid returns an empty
 *   table and reports them), or, with `strict`, when the result would be
 *   partial (`cause`: the first source failure, if any).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fetchMarketData } from "./fetch_market_data.ts";
 * import { startEmulator } from "../emulator/emulator.ts";
 * await using emulator = await startEmulator({ now: Date.UTC(2024, 5, 1) });
 * const table = await fetchMarketData({
 *   market: "um", symbol: "BTCUSDT", interval: "1d", start: "2024-01-01", end: "2024-02-01",
 *   cache: false, now: () => Date.UTC(2024, 5, 1),
 *   endpoints: { vision: emulator.url, listing: emulator.url, rest: emulator.url },
 * });
 * assert.equal(table.numRows, 31);
 * ```
 */
export async function fetchMarketData(options: FetchMarketDataOptions): Promise<Table> {
  // The manager reads only its options and the request only its fields.
  await using dsm = new DataSourceManager(options);
  return await dsm.getData(options);
}
