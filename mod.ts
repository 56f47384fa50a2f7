/**
 * Data Source Manager: Binance market-data history (klines, price klines,
 * funding rates, aggTrades and trades) as Apache Arrow, fast, exact and
 * verified, with a record of where every row came from.
 *
 * One call returns one Arrow table through the Failover Control Protocol:
 * complete partitions from a local Arrow IPC cache; closed days and months
 * from Binance Vision's zip archives, streamed and SHA-256 verified; the rest
 * from the REST klines API, paged and paced by the exchange's weight header.
 * Rows are merged in time order with one fixed schema and gaps are reported.
 *
 * This entry holds the manager, the one-shot {@linkcode fetchMarketData},
 * the availability index of what Vision holds ({@linkcode availabilityIndex}),
 * the request, report and progress types, the markets, intervals, symbols
 * and datasets a request names, the schemas and the errors. The other
 * entries, by concept: `./codec` (Vision archive and CSV readers, streams,
 * the decode pool), `./binance` (Vision and REST clients, the listing, the
 * weight scheduler, grid helpers), `./cache` (the partition cache: open,
 * list, stats, verify, clear), `./emulator` (a local Binance), `./polars`
 * (`toPolars`) and `./cli` (the `dsm` command).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DataSourceManager } from "./mod.ts";
 * import { startEmulator } from "./emulator.ts";
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

// The manager and the one-shot function
export {
  DataSourceManager,
  type DataSourceManagerOptions,
  type Endpoints,
  type FetchOptions,
  type FetchResult,
  type FundingResult,
  type TradeResult,
} from "./src/fcp/data_source_manager.ts";
export type { CacheOptions } from "./src/fcp/open_cache.ts";
export type { RetryOptions } from "./src/source/http.ts";
export { fetchMarketData, type FetchMarketDataOptions } from "./src/fcp/fetch_market_data.ts";
export {
  type AvailabilityEntry,
  type AvailabilityFailed,
  type AvailabilityIndex,
  availabilityIndex,
  type AvailabilityOk,
  type AvailabilityOptions,
  type AvailabilityRequest,
} from "./src/fcp/availability_index.ts";
export type {
  FileHole,
  PeriodAvailability,
  SeriesAvailability,
} from "./src/source/availability_listing.ts";

// Request, report, progress
export type { CandleDataset, KlineRequest, SourceMode } from "./src/fcp/kline_request.ts";
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
export type { FundingRateRequest } from "./src/fcp/funding_request.ts";
export type { FundingReport } from "./src/fcp/funding_fetch.ts";
export type { FundingGap, FundingIntervalChange } from "./src/fcp/funding_series.ts";
export type { TradeRequest } from "./src/fcp/trade_request.ts";
export type { SeriesRequestFields } from "./src/fcp/series_request.ts";
export type {
  KlineCheckField,
  KlineCheckReport,
  KlineMismatch,
  TradeGap,
  TradeIdGap,
  TradeReport,
} from "./src/fcp/trade_run.ts";
export { type Anomaly, ANOMALY_KINDS, type AnomalyKind } from "./src/core/anomaly.ts";

// What a request names: market, interval, symbol, time, dataset
export { type Market, type MarketInput, MARKETS, parseMarket } from "./src/core/market.ts";
export {
  type Interval,
  INTERVALS,
  isIntervalAvailable,
  parseInterval,
} from "./src/core/interval.ts";
export { symbolHint, validateSymbol } from "./src/core/symbol.ts";
export { type TimeInput, toEpochMs } from "./src/core/time.ts";
export {
  type ArchivePeriod,
  type Dataset,
  type DatasetInfo,
  datasetInfo,
  DATASETS,
  parseDataset,
} from "./src/core/dataset.ts";

// Schemas
export {
  type ArrowSchema,
  DATA_SOURCE_COLUMN,
  type DataSource,
  KLINE_COLUMN_NAMES,
  KLINE_SCHEMA,
  KLINE_SCHEMA_WITH_SOURCE,
} from "./src/core/schema.ts";
export {
  FUNDING_SCHEMA,
  FUNDING_SCHEMA_WITH_SOURCE,
  type FundingColumns,
} from "./src/core/funding_schema.ts";
export {
  AGG_TRADE_COLUMNS,
  AGG_TRADE_SCHEMA,
  AGG_TRADE_SCHEMA_WITH_SOURCE,
  TRADE_COLUMNS,
  TRADE_SCHEMA,
  TRADE_SCHEMA_WITH_SOURCE,
  type TradeDataset,
} from "./src/core/trade_schema.ts";

// Errors
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
  InvalidDatasetError,
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
