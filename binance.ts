/**
 * The Binance sources on their own: the Vision archive client and its S3
 * listing, the REST klines client and the weight scheduler that paces it,
 * per-market facts (hosts, limits, weights) and the interval grid. The
 * manager (`.`) plans over these; use them directly to fetch one archive or
 * one range of REST klines without planning, merging or caching.
 *
 * - {@linkcode VisionClient}: archives streamed, unzipped, decoded and
 *   SHA-256 verified (trade archives, `fetchTradeArchive`, spooled to
 *   memory or a temporary file until verified, then decoded as a stream);
 *   {@linkcode listVisionFiles}: what Vision publishes;
 *   {@linkcode listVisionSymbols}, {@linkcode seriesAvailability}: its symbol
 *   folders, a series' first and last archives and the holes between them.
 * - {@linkcode RestClient}: REST klines, paged at the market's limit;
 *   funding rates; aggregate trades (`aggTrades`, µs times);
 *   {@linkcode WeightScheduler}: the pacing by `X-MBX-USED-WEIGHT-1M`;
 *   {@linkcode SharedWeightBudget}: one budget for the processes of a host,
 *   through a lock-protected file in the cache folder;
 *   {@linkcode HostCircuitBreaker}: fail fast on a host that keeps failing.
 * - {@linkcode marketInfo}, {@linkcode klinesWeight}, {@linkcode VISION_URL}:
 *   per-market hosts, limits and weights.
 * - {@linkcode floorOpenTime}, {@linkcode ceilOpenTime}, {@linkcode nextOpenTime},
 *   {@linkcode closeTimeOf}, {@linkcode intervalMs}, {@linkcode partitionPeriod}:
 *   the interval grid (UTC; weeks open on Monday, months on the 1st).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { floorOpenTime, listVisionFiles, RestClient, VisionClient } from "./binance.ts";
 * import { startEmulator } from "./emulator.ts";
 *
 * // Offline: a local Binance. Leave the URLs out to use the real one.
 * await using binance = await startEmulator({ now: Date.UTC(2024, 5, 1) });
 * const series = { market: "spot", symbol: "BTCUSDT", interval: "1d" } as const;
 * const listing = await listVisionFiles(series, { listingUrl: binance.url });
 * assert.ok([...listing.monthly].includes("2024-01"));
 *
 * const vision = new VisionClient({ baseUrl: binance.url });
 * const archive = await vision.fetchFile({ ...series, period: "monthly", date: "2024-01" });
 * assert.equal(archive.status === "ok" && archive.rows, 31);
 *
 * const rest = new RestClient({ market: "spot", hosts: [binance.url] });
 * const { table } = await rest.fetchKlinesTable({
 *   ...series, start: "2024-01-01", end: "2024-02-01",
 * });
 * assert.equal(table.numRows, 31);
 * assert.equal(floorOpenTime(Date.UTC(2024, 0, 1, 13), "1d"), Date.UTC(2024, 0, 1));
 * ```
 *
 * @example Aggregate trades from REST, and a verified trade archive
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeZip } from "./src/codec/zip_encoder.ts";
 * import { DEFAULT_TRADE_MEMORY_BYTES, newRestStats, RestClient, VisionClient } from "./binance.ts";
 *
 * // A stand-in for /fapi/v1/aggTrades: one trade in the first hour's window.
 * const T = Date.UTC(2024, 0, 1);
 * await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) =>
 *   Response.json(
 *     new URL(req.url).searchParams.has("startTime")
 *       ? [{ a: 1, p: "42283.5", q: "0.012", f: 10, l: 11, T: T + 1, m: true }]
 *       : [],
 *   ));
 * const rest = new RestClient({ market: "um", hosts: [`http://127.0.0.1:${server.addr.port}`] });
 * const stats = newRestStats();
 * const batches = await Array.fromAsync(rest.aggTrades({ symbol: "BTCUSDT", start: T, end: T + 60_000, stats }));
 * assert.equal(batches[0].getChild("price")?.get(0), 42283.5);
 * assert.equal(stats.requests, 2); // the window, then fromId=2 (empty: the end of the history)
 *
 * // A trade archive: rows are handed out only once the SHA-256 matches the .CHECKSUM.
 * const csv = "1,42283.5,0.012,10,11,1704067200001,true\n";
 * const zip = await encodeZip("BTCUSDT-aggTrades-2024-01-01.csv", new TextEncoder().encode(csv));
 * const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", zip as Uint8Array<ArrayBuffer>));
 * const sum = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("") +
 *   "  BTCUSDT-aggTrades-2024-01-01.zip";
 * const vision = new VisionClient({
 *   baseUrl: "http://127.0.0.1:1",
 *   fetch: (url) => Promise.resolve(new Response(String(url).endsWith(".CHECKSUM") ? sum : zip)),
 * });
 * await using archive = await vision.fetchTradeArchive({
 *   market: "um", dataset: "aggTrades", symbol: "BTCUSDT", period: "daily", date: "2024-01-01",
 *   maxMemoryBytes: DEFAULT_TRADE_MEMORY_BYTES, // or spoolDir: a folder for a temporary file
 * });
 * assert.ok(archive.status === "ok");
 * const [rows] = await Array.fromAsync(archive.rows);
 * assert.equal(rows.numRows, 1);
 * ```
 *
 * @module
 */

export {
  DEFAULT_TRADE_MEMORY_BYTES,
  MAX_TRADE_ARCHIVE_BYTES,
  MIN_TRADE_BYTES_PER_SECOND,
  VisionClient,
  type VisionClientOptions,
  type VisionEventArchiveOk,
  type VisionEventArchiveRequest,
  type VisionEventArchiveResult,
  type VisionFileMissing,
  type VisionFileOk,
  type VisionFileRequest,
  type VisionFileResult,
  type VisionFilesOptions,
  type VisionProgress,
  type VisionTradeArchiveMissing,
  type VisionTradeArchiveOk,
  type VisionTradeArchiveRequest,
  type VisionTradeArchiveResult,
} from "./src/source/vision_client.ts";
export type {
  VisionEventFileRef,
  VisionFileRef,
  VisionPeriod,
  VisionSeries,
  VisionTradeFileRef,
} from "./src/source/vision_url.ts";
export {
  listVisionFiles,
  listVisionFolder,
  type ListVisionOptions,
  type VisionFolder,
  type VisionListing,
} from "./src/source/vision_listing.ts";
export {
  type AvailabilitySeries,
  type FileHole,
  listVisionSymbols,
  type PeriodAvailability,
  type SeriesAvailability,
  seriesAvailability,
  type VisionSymbolsRequest,
} from "./src/source/availability_listing.ts";
export {
  type KlinesStats,
  type KlinesStream,
  newRestStats,
  type RestAggTradesRequest,
  RestClient,
  type RestClientOptions,
  type RestFundingRates,
  type RestFundingRequest,
  type RestKlinesRequest,
} from "./src/source/rest_client.ts";
export {
  type WeightBudget,
  WeightScheduler,
  type WeightSchedulerOptions,
} from "./src/source/weight_scheduler.ts";
export {
  SharedWeightBudget,
  type SharedWeightBudgetOptions,
} from "./src/source/shared_weight_budget.ts";
export { HostCircuitBreaker, type HostCircuitBreakerOptions } from "./src/source/http.ts";
export {
  klinesWeight,
  type MarketInfo,
  marketInfo,
  VISION_LISTING_URL,
  VISION_URL,
} from "./src/core/market.ts";
export { SYMBOL_PATTERN } from "./src/core/symbol.ts";
export {
  ceilOpenTime,
  closeTimeOf,
  floorOpenTime,
  intervalMs,
  nextOpenTime,
  partitionPeriod,
  visionIntervalName,
} from "./src/core/interval.ts";
