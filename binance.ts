/**
 * The Binance sources on their own: the Vision archive client and its S3
 * listing, the REST klines client and the weight scheduler that paces it,
 * per-market facts (hosts, limits, weights) and the interval grid. The
 * manager (`.`) plans over these; use them directly to fetch one archive or
 * one range of REST klines without planning, merging or caching.
 *
 * - {@linkcode VisionClient}: archives streamed, unzipped, decoded and
 *   SHA-256 verified; {@linkcode listVisionFiles}: what Vision publishes.
 * - {@linkcode RestClient}: REST klines, paged at the market's limit;
 *   {@linkcode WeightScheduler}: the pacing by `X-MBX-USED-WEIGHT-1M`;
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
 * @module
 */

export {
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
} from "./src/source/vision_client.ts";
export type {
  VisionEventFileRef,
  VisionFileRef,
  VisionPeriod,
  VisionSeries,
} from "./src/source/vision_url.ts";
export {
  listVisionFiles,
  type ListVisionOptions,
  type VisionListing,
} from "./src/source/vision_listing.ts";
export {
  type KlinesStats,
  type KlinesStream,
  newRestStats,
  RestClient,
  type RestClientOptions,
  type RestFundingRates,
  type RestFundingRequest,
  type RestKlinesRequest,
} from "./src/source/rest_client.ts";
export { WeightScheduler, type WeightSchedulerOptions } from "./src/source/weight_scheduler.ts";
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
