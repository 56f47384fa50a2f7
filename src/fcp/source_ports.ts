/**
 * What the fetch engine needs from the cache, Vision and REST, as narrow
 * interfaces: the manager adapts the real clients to them, tests may stub them.
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";
import type { Dataset } from "../core/dataset.ts";
import type { Interval } from "../core/interval.ts";
import type { Market } from "../core/market.ts";
import type { Anomaly } from "../core/anomaly.ts";
import type { RequestCounts } from "./fetch_report.ts";

/** Identifies one partition of one series. */
export interface SeriesPartition {
  /** Dataset; absent for `klines`. */
  dataset?: Dataset;
  /** Market. */
  market: Market;
  /** Symbol. */
  symbol: string;
  /** Interval. */
  interval: Interval;
  /** `YYYY-MM-DD` or `YYYY-MM`. */
  partition: string;
}

/** Rows breaking a rule (see `AnomalyKind`): their total and the first of them. */
export interface AnomalyRecord {
  /** How many rows break a rule. */
  total: number;
  /** The first of them. */
  items: Anomaly[];
}

/** A partition read from the cache. */
export interface CachedRows {
  /** The rows of the whole partition. */
  batches: RecordBatch[];
  /** Where the cached rows originally came from. */
  origin: "VISION" | "REST";
  /**
   * Slots without a row stored with the partition: confirmed exchange gaps,
   * or (`class: "off_grid"`) slots whose candle was printed off the grid.
   */
  gaps: { start: number; end: number; class?: "off_grid" }[];
  /** Row count, as recorded with the file. */
  rows?: number;
  /** First open time, when there are rows. */
  first?: number;
  /** Last open time, when there are rows. */
  last?: number;
  /** Anomalies recorded with the file (absent in files written without them). */
  anomalies?: AnomalyRecord;
}

/** The cache as the engine sees it. */
export interface CachePort {
  /** False when there is no cache (no filesystem, or switched off). */
  readonly enabled: boolean;
  /** The cached partition keys of a series (existence only: nothing is read or validated). */
  present(series: Omit<SeriesPartition, "partition">): Promise<Set<string>>;
  /**
   * Reads a partition; undefined when absent or found corrupt (a corrupt
   * file is set aside and `onSetAside` hears why).
   */
  read(key: SeriesPartition, events?: CacheReadEvents): Promise<CachedRows | undefined>;
  /** Writes a closed, complete partition atomically; false when refused. */
  write(key: SeriesPartition, batches: RecordBatch[], meta: CacheWriteMeta): Promise<boolean>;
}

/** What a cache read tells its caller besides the rows. */
export interface CacheReadEvents {
  /** The file was found corrupt and set aside (it must be fetched again). */
  onSetAside?: (reason: string) => void;
}

/** What is recorded with a partition written to the cache. */
export interface CacheWriteMeta {
  /** Where the rows came from. */
  origin: "VISION" | "REST";
  /** SHA-256 of the Vision archive, when the rows came from one. */
  sha256?: string;
  /** Confirmed exchange gaps, and (`class: "off_grid"`) slots printed off the grid. */
  gaps: { start: number; end: number; class?: "off_grid" }[];
  /** Rows breaking a rule, found when written. */
  anomalies?: AnomalyRecord;
}

/** Which Vision files exist for a series. */
export interface VisionInventory {
  /** Days (`YYYY-MM-DD`) with a daily archive. */
  daily: ReadonlySet<string>;
  /** Months (`YYYY-MM`) with a monthly archive. */
  monthly: ReadonlySet<string>;
}

/** One Vision archive, downloaded and verified, or missing. */
export type VisionFile =
  | { status: "ok"; batches: RecordBatch[]; bytes: number; sha256: string }
  | { status: "missing" };

/** One Vision archive of a series. */
export interface VisionFileQuery {
  /** Dataset; absent for `klines`. */
  dataset?: Dataset;
  /** Market. */
  market: Market;
  /** Symbol. */
  symbol: string;
  /** Interval. */
  interval: Interval;
  /** Daily or monthly archive. */
  period: "daily" | "monthly";
  /** `YYYY-MM-DD` or `YYYY-MM`. */
  date: string;
}

/** A series and the days (`YYYY-MM-DD`, inclusive) whose archives to list. */
export interface VisionInventoryQuery {
  /** Dataset; absent for `klines`. */
  dataset?: Dataset;
  /** Market. */
  market: Market;
  /** Symbol. */
  symbol: string;
  /** Interval. */
  interval: Interval;
  /** First day. */
  from: string;
  /** Last day. */
  to: string;
}

/** Vision as the engine sees it. */
export interface VisionPort {
  /**
   * Lists a series' archives between two days (`YYYY-MM-DD`, inclusive);
   * undefined when the listing cannot be reached. Pages received are added
   * to `counts.listingPages` (the calling fetch's own counts).
   */
  inventory(
    series: VisionInventoryQuery,
    signal: AbortSignal,
    counts?: RequestCounts,
  ): Promise<VisionInventory | undefined>;
  /** Hears how many archives a fetch plans to download (e.g. to start decode workers). */
  prepare?(files: number): void;
  /** Downloads, verifies and decodes one archive. Throws on failure. */
  file(file: VisionFileQuery, signal: AbortSignal): Promise<VisionFile>;
}

/** Rows fetched from REST for a range. */
export interface RestRows {
  /** Rows with open time in the range, in time order. */
  batches: RecordBatch[];
  /** Response bytes. */
  bytes: number;
  /**
   * Set when the walk stopped early (rate limit, ban, failures past the
   * retries): `batches` then hold the rows fetched before it.
   */
  error?: unknown;
}

/** REST as the engine sees it. */
export interface RestPort {
  /**
   * Fetches every candle with open time in `[start, end)` (the open one only
   * with `includeOpenCandle`). A failure after some pages is returned in
   * `error` with the rows fetched; a failure before any is thrown. Calls
   * that received a response, and their weight, are added to `counts`
   * (`restCalls`, `restWeight`: the calling fetch's own counts).
   */
  range(
    query: {
      dataset?: Dataset;
      market: Market;
      symbol: string;
      interval: Interval;
      start: number;
      end: number;
      includeOpenCandle?: boolean;
    },
    signal: AbortSignal,
    counts?: RequestCounts,
  ): Promise<RestRows>;
}
