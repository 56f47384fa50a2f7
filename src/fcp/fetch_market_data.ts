/**
 * `fetchMarketData`: one call for scripts; a manager is created and closed
 * inside.
 *
 * @module
 */
import type { Table } from "apache-arrow";
import { DataSourceManager, type DataSourceManagerOptions } from "./data_source_manager.ts";
import type { KlineRequest } from "./kline_request.ts";
import type { FundingRateRequest } from "./funding_request.ts";
import type { TradeRequest } from "./trade_request.ts";
import { InvalidOptionError } from "../core/errors.ts";
import { checkKeys, MANAGER_KEYS, REQUEST_KEYS } from "./_manager_options.ts";

const FETCH_KEYS = [...new Set([...MANAGER_KEYS, ...REQUEST_KEYS])];

/** Manager options and one request (klines, price klines, funding rates or trades), together. */
export type FetchMarketDataOptions =
  & DataSourceManagerOptions
  & (KlineRequest | FundingRateRequest | TradeRequest);

/**
 * Fetches klines (or price klines, or with `dataset: "fundingRate"` funding
 * events) into one Arrow Table through a short-lived manager.
 *
 * @param options The manager's options and the request.
 * @returns The table (with `_data_source` unless `includeSourceInfo: false`).
 * @throws {TypeError} For an invalid request or option (an unknown key such
 *   as `sorce` is an `InvalidOptionError` naming it), before any I/O.
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
  if (options === null || typeof options !== "object") {
    throw new InvalidOptionError(
      "options",
      options,
      `Cannot fetch klines: options ${String(options)} is not an object`,
    );
  }
  checkKeys(options, FETCH_KEYS, "Cannot fetch klines");
  // Each key goes where it belongs (market to both); a key of neither is refused by the manager.
  const request: Record<string, unknown> = {};
  const manager: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if (REQUEST_KEYS.includes(key)) request[key] = value;
    if (!REQUEST_KEYS.includes(key) || key === "market") manager[key] = value;
  }
  await using dsm = new DataSourceManager(manager as DataSourceManagerOptions);
  return await dsm.getData(
    request as unknown as KlineRequest | FundingRateRequest | TradeRequest,
  );
}
