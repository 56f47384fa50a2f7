/**
 * The report of a fetch: where every partition came from, the gaps found,
 * anomalies, failures, and whether the result is partial.
 *
 * @module
 */
import type { Interval } from "../core/interval.ts";
import type { Market } from "../core/market.ts";
import type { Anomaly } from "./kline_checks.ts";

/** How a partition was served. */
export type PartitionSource = "cache" | "vision-monthly" | "vision-daily" | "rest" | "none";

/** One partition of the result. */
export interface PartitionReport {
  /** `YYYY-MM-DD` or `YYYY-MM`. */
  key: string;
  /** Sources that contributed rows, in the order they were used. */
  sources: PartitionSource[];
  /** Rows of this partition in the result (after clipping to the range). */
  rows: number;
  /** Bytes of Vision archives downloaded for it (REST responses are not counted). */
  bytes: number;
  /** SHA-256 of the Vision archive, when one was used and verified. */
  sha256?: string;
  /** Wall time spent on it, ms. */
  ms: number;
  /** Whether it was written to the cache in this run. */
  cached: boolean;
}

/**
 * Why grid slots are missing:
 * - `exchange`: Vision and REST both lack them (e.g. maintenance);
 * - `unconfirmed`: the one source that could be asked lacks them;
 * - `not_listed`: before the symbol's first or after its last candle, as REST confirms;
 * - `unfetched`: a source failed or was not allowed, so nothing is known;
 * - `off_grid`: not missing trading: the exchange printed these slots'
 *   candles at open times off the interval grid (real history after some
 *   outages); those rows are left out of the output and listed in
 *   `anomalies` (kind `off_grid`).
 */
export type GapClass = "exchange" | "unconfirmed" | "not_listed" | "unfetched" | "off_grid";

/** Missing open times `[start, end)`. */
export interface Gap {
  /** First missing open time, epoch ms. */
  start: number;
  /** Open time after the last missing one, epoch ms. */
  end: number;
  /** Number of missing grid slots. */
  slots: number;
  /** Why they are missing. */
  class: GapClass;
}

/** A failure that was absorbed into a partial result. */
export interface FetchFailure {
  /** Partition concerned, if any. */
  partition?: string;
  /** Stable error code. */
  code: string;
  /** The message. */
  message: string;
}

/** Counts of the requests made. */
export interface RequestCounts {
  /** Vision archive downloads (zip + CHECKSUM pairs). */
  visionFiles: number;
  /** Vision listing pages. */
  listingPages: number;
  /** REST klines calls. */
  restCalls: number;
  /** REST weight used. */
  restWeight: number;
}

/** Everything known about one fetch. */
export interface FetchReport {
  /** Market. */
  market: Market;
  /** Symbol. */
  symbol: string;
  /** Interval. */
  interval: Interval;
  /** First open time covered (aligned, inclusive), epoch ms. */
  start: number;
  /** Exclusive end after alignment and clamping, epoch ms. */
  end: number;
  /** Rows returned. */
  rows: number;
  /** Per partition, in time order. */
  partitions: PartitionReport[];
  /** Missing slots in the range, in time order. */
  gaps: Gap[];
  /**
   * Rows that break a rule (first 100, in time order): off the grid (left
   * out), irregular close time, OHLC or zero volume (kept as printed).
   */
  anomalies: Anomaly[];
  /** Total number of anomalies. */
  anomalyCount: number;
  /** Failures absorbed into the result. */
  failures: FetchFailure[];
  /** True when a failure or rate limit left slots unfetched. */
  partial: boolean;
  /** Requests made. */
  requests: RequestCounts;
  /** Wall time, ms. */
  elapsedMs: number;
}
