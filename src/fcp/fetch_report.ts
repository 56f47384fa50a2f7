/**
 * The report of a fetch: where every partition came from, the gaps found,
 * anomalies, failures, and whether the result is partial.
 *
 * @module
 */
import type { Interval } from "../core/interval.ts";
import type { Dataset } from "../core/dataset.ts";
import type { Market } from "../core/market.ts";
import type { Anomaly } from "./kline_checks.ts";

/** A source of a partition's rows (`none` is kept for compatibility; it is no longer reported). */
export type PartitionSource = "cache" | "vision-monthly" | "vision-daily" | "rest" | "none";

/** One partition of the result (a day or a month of klines, a month of funding rates). */
export interface PartitionReport {
  /** `YYYY-MM-DD` or `YYYY-MM`. */
  key: string;
  /** Sources that contributed rows, in the order they were used; empty when none did. */
  sources: PartitionSource[];
  /** Rows of this partition in the result (after clipping to the range). */
  rows: number;
  /** Bytes of Vision archives downloaded for it (REST responses are not counted). */
  bytes: number;
  /**
   * SHA-256 of the Vision archive the rows were verified against: downloaded
   * now, or, for a partition served from the cache, when it was written.
   */
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

/**
 * A failure that was absorbed into the result: a source's error (once per
 * host for a host that cannot be reached), a cache file set aside or not
 * written, or why partitions were left unfetched.
 */
export interface FetchFailure {
  /** Partition concerned (the first, when several), if any. */
  partition?: string;
  /**
   * Stable code: an error's `code` (`NETWORK_ERROR`, `HTTP_ERROR`,
   * `RATE_LIMITED`, `CHECKSUM_MISMATCH`, `CACHE_ERROR`, ...), or
   * `SOURCE_NOT_ALLOWED` when the request's `source` allows no source that
   * could serve some partitions (e.g. not in the cache with `source: "cache"`).
   */
  code: string;
  /** The message. */
  message: string;
}

/**
 * A failure of a partition's source, from the error it raised.
 *
 * @param error The error (its `code`, else `ERROR`, and its message).
 * @param partition The partition's key.
 * @returns The failure.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { failureOf } from "./fetch_report.ts";
 * assert.deepEqual(failureOf(new Error("reset"), "2024-01-01"), {
 *   partition: "2024-01-01", code: "ERROR", message: "reset",
 * });
 * ```
 */
export function failureOf(error: unknown, partition: string): FetchFailure {
  const code = (error as { code?: unknown })?.code;
  return {
    partition,
    code: typeof code === "string" ? code : "ERROR",
    message: error instanceof Error ? error.message : String(error),
  };
}

/** Counts of the requests of this fetch alone (not of other fetches of the manager). */
export interface RequestCounts {
  /** Vision archives downloaded and verified (zip + CHECKSUM pairs). */
  visionFiles: number;
  /** Vision listing pages received. */
  listingPages: number;
  /** REST klines responses received (any status, retries included). */
  restCalls: number;
  /** REST weight of the requests that received a response. */
  restWeight: number;
}

/**
 * Counts of a fetch (or a part of one) that has made no request yet.
 *
 * @returns Zero of everything.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { noRequests } from "./fetch_report.ts";
 * assert.deepEqual(noRequests(), { visionFiles: 0, listingPages: 0, restCalls: 0, restWeight: 0 });
 * ```
 */
export function noRequests(): RequestCounts {
  return { visionFiles: 0, listingPages: 0, restCalls: 0, restWeight: 0 };
}

/**
 * Adds the REST calls and weight of a part of a fetch to the fetch's counts.
 *
 * @param to The counts added to.
 * @param from The part's counts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { addRestRequests, noRequests } from "./fetch_report.ts";
 * const total = noRequests();
 * addRestRequests(total, { ...noRequests(), restCalls: 2, restWeight: 4 });
 * assert.deepEqual([total.restCalls, total.restWeight], [2, 4]);
 * ```
 */
export function addRestRequests(to: RequestCounts, from: RequestCounts): void {
  to.restCalls += from.restCalls;
  to.restWeight += from.restWeight;
}

/** Everything known about one fetch. */
export interface FetchReport {
  /** Dataset, when not `klines`. */
  dataset?: Dataset;
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
  /** Failures absorbed into the result; never empty when `partial`. */
  failures: FetchFailure[];
  /** True when a failure, rate limit or a source not allowed left slots unfetched. */
  partial: boolean;
  /** Requests made. */
  requests: RequestCounts;
  /** Wall time, ms. */
  elapsedMs: number;
}
