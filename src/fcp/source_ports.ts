/**
 * What the fetch engine needs from Vision and REST, as narrow interfaces:
 * the manager adapts the real clients to them. (The cache is reached
 * through the store's own `KlineStore` interface.)
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";
import type { Dataset } from "../core/dataset.ts";
import type { Interval } from "../core/interval.ts";
import type { Market } from "../core/market.ts";
import type { RequestCounts } from "./fetch_report.ts";

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
