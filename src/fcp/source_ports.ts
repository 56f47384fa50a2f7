/**
 * What the fetch engine needs from Vision, as a narrow interface the manager
 * adapts the Vision client to (listing as an inventory, a decode pool for
 * bulk fetches). The cache and REST are reached through their own types:
 * `KlineStore` and `RestClient`.
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
