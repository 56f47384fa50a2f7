/**
 * Data Source Manager: Binance kline (candlestick) history as Apache Arrow,
 * fast, exact and verified, with a record of where every row came from.
 *
 * One call returns one Arrow table through the Failover Control Protocol:
 * complete partitions from a local Arrow IPC cache; closed days and months
 * from Binance Vision's zip archives, streamed and SHA-256 verified; the rest
 * from the REST klines API, paged and paced by the exchange's weight header.
 * Rows are merged in time order with one fixed schema and gaps are reported.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DataSourceManager, startEmulator } from "./mod.ts";
 *
 * // Offline: a local Binance. Leave `endpoints` out to use the real one.
 * await using binance = await startEmulator({ now: Date.UTC(2024, 5, 1) });
 * await using dsm = new DataSourceManager({
 *   market: "spot",
 *   cache: false,
 *   now: () => Date.UTC(2024, 5, 1),
 *   endpoints: { vision: binance.url, listing: binance.url, rest: binance.url },
 * });
 * const { table, report } = await dsm.getDataWithReport({
 *   symbol: "BTCUSDT", interval: "1h", start: "2024-01-01", end: "2024-01-03",
 * });
 * assert.equal(table.numRows, 48);
 * assert.deepEqual(report.gaps, []);
 * ```
 *
 * @module
 */

export {
  DataSourceManager,
  type DataSourceManagerOptions,
  type Endpoints,
  type FetchOptions,
  type FetchResult,
} from "./src/fcp/data_source_manager.ts";
export { fetchMarketData, type FetchMarketDataOptions } from "./src/fcp/fetch_market_data.ts";
export type { KlineRequest, SourceMode } from "./src/fcp/kline_request.ts";
export type {
  FetchFailure,
  FetchReport,
  Gap,
  GapClass,
  PartitionReport,
  PartitionSource,
  RequestCounts,
} from "./src/fcp/fetch_report.ts";
export type { FetchProgress } from "./src/fcp/fetch_run.ts";
export { type Anomaly, ANOMALY_KINDS, type AnomalyKind } from "./src/core/anomaly.ts";
export type { CacheOptions } from "./src/fcp/cache_port.ts";

export {
  klinesWeight,
  type Market,
  type MarketInfo,
  marketInfo,
  type MarketInput,
  MARKETS,
  parseMarket,
  VISION_LISTING_URL,
  VISION_URL,
} from "./src/core/market.ts";
export {
  ceilOpenTime,
  closeTimeOf,
  floorOpenTime,
  type Interval,
  intervalMs,
  INTERVALS,
  isIntervalAvailable,
  nextOpenTime,
  parseInterval,
  partitionPeriod,
  visionIntervalName,
} from "./src/core/interval.ts";
export { SYMBOL_PATTERN, symbolHint, validateSymbol } from "./src/core/symbol.ts";
export { type TimeInput, toEpochMs } from "./src/core/time.ts";
export {
  type ArrowSchema,
  DATA_SOURCE_COLUMN,
  type DataSource,
  KLINE_COLUMN_NAMES,
  KLINE_SCHEMA,
  KLINE_SCHEMA_WITH_SOURCE,
} from "./src/core/schema.ts";
export {
  ArchivePeriodError,
  CacheError,
  ChecksumError,
  CsvFormatError,
  DataNotAvailableError,
  DsmError,
  type ErrorCode,
  HostFailingError,
  HostUnreachableError,
  HttpError,
  InvalidIntervalError,
  InvalidMarketError,
  InvalidOptionError,
  InvalidRangeError,
  InvalidSymbolError,
  InvalidTimeError,
  NetworkError,
  RateLimitError,
  ResponseTooLargeError,
  ZipFormatError,
} from "./src/core/errors.ts";

export {
  type KlineInput,
  readKlineCsv,
  type ReadKlineOptions,
  readKlineZip,
  streamKlineCsv,
  streamKlineZip,
} from "./src/codec/read_kline.ts";
export { KlineCsvStream, type KlineCsvStreamOptions } from "./src/codec/kline_csv_stream.ts";
export {
  type KlineDecodeOptions,
  KlineDecodePool,
  type KlineDecodePoolOptions,
} from "./src/codec/kline_decode_pool.ts";
export { type UnzipOptions, unzipSingleEntry, UnzipStream } from "./src/codec/unzip_stream.ts";
export { Sha256Stream } from "./src/codec/sha256_stream.ts";
export { parseChecksumFile, verifyChecksum } from "./src/codec/checksum.ts";

export {
  HostCircuitBreaker,
  type HostCircuitBreakerOptions,
  type RetryOptions,
} from "./src/source/http.ts";
export {
  type KlinesRequest,
  type KlinesStats,
  type KlinesStream,
  RestClient,
  type RestClientOptions,
} from "./src/source/rest_client.ts";
export { WeightScheduler, type WeightSchedulerOptions } from "./src/source/weight_scheduler.ts";
export {
  VisionClient,
  type VisionClientOptions,
  type VisionFileMissing,
  type VisionFileOk,
  type VisionFileRequest,
  type VisionFileResult,
  type VisionFilesOptions,
  type VisionProgress,
} from "./src/source/vision_client.ts";
export type { VisionFileRef, VisionPeriod, VisionSeries } from "./src/source/vision_url.ts";
export {
  listVisionFiles,
  type ListVisionOptions,
  type VisionListing,
} from "./src/source/vision_listing.ts";

export { type Emulator, type EmulatorStats, startEmulator } from "./src/emulator/emulator.ts";
export type { EmulatorOptions, RestHost } from "./src/emulator/emulator_options.ts";
export type { FaultOptions, FileSelection } from "./src/emulator/faults.ts";
export type { EmulatedSymbol } from "./src/emulator/symbol_catalogue.ts";
export type { Gap as EmulatedGap } from "./src/emulator/market_data.ts";
export type { HistoryMode } from "./src/emulator/irregular_history.ts";
