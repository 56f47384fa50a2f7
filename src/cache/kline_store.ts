/**
 * The partition cache contract used by the rest of the module: read a
 * closed partition, write one, ask whether a cached one can be upgraded
 * from REST to Vision data, and maintenance for the CLI.
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";
import type { KlineAnomalies, KlineGap, KlineIpcMetadata } from "../codec/kline_ipc.ts";
import type { Dataset } from "../core/dataset.ts";
import type { Interval } from "../core/interval.ts";
import type { Market } from "../core/market.ts";
import type { TimeInput } from "../core/time.ts";

export type { KlineAnomalies, KlineGap, KlineIpcMetadata } from "../codec/kline_ipc.ts";

/** One partition of one series: a UTC day (1s..1d) or a calendar month (3d, 1w, 1M). */
export interface PartitionKey {
  /**
   * A dataset of candles on the interval grid: `klines` (the default),
   * `markPriceKlines`, `indexPriceKlines` (named by pair) or
   * `premiumIndexKlines`. Its folder sits beside `klines`.
   * @default {"klines"}
   */
  dataset?: Dataset;
  /** Market. */
  market: Market;
  /** Symbol, upper case, e.g. `BTCUSDT`. */
  symbol: string;
  /** Interval. */
  interval: Interval;
  /** `YYYY-MM-DD` for day partitions, `YYYY-MM` for month partitions. */
  partition: string;
}

/** What the writer asserts about a partition it hands to the cache. */
export interface PartitionMeta {
  /** Where the rows came from; REST partitions may later be replaced by Vision data. */
  source: "VISION" | "REST";
  /** SHA-256 (hex) of the Vision archive the rows came from, as checked against `.CHECKSUM`. */
  visionSha256?: string;
  /** The partition holds every candle the exchange produced in it. */
  complete: true;
  /**
   * Confirmed exchange gaps (no candle opens in `[start, end)`), seen by both
   * Vision and REST, and (`class: "off_grid"`) slots whose candles the
   * exchange printed off the grid. Every grid slot of the partition without
   * a row must lie in one of them.
   */
  gaps?: readonly KlineGap[];
  /** Rows breaking a rule (see `AnomalyKind`), recorded with the file. */
  anomalies?: KlineAnomalies;
}

/** A partition read from the cache. */
export interface CachedPartition {
  /** The key it was read for. */
  key: PartitionKey;
  /** Rows of `KLINE_SCHEMA` (no `_data_source`), in open_time order; may be empty (all gap). */
  batches: RecordBatch[];
  /** The file's metadata: source, checksum, rows, first and last open_time, gaps, write time. */
  metadata: KlineIpcMetadata;
  /** File size in bytes. */
  bytes: number;
}

/** Options of {@linkcode KlineStore.read}. */
export interface ReadOptions {
  /** Hears why the file was found corrupt and set aside (the partition then reads as absent). */
  onSetAside?: (reason: string) => void;
}

/** Selects partitions for maintenance; every field narrows the selection. */
export interface CacheFilter {
  /** Only this dataset (every grid dataset when absent). */
  dataset?: Dataset;
  /** Only this market. */
  market?: Market;
  /** Only this symbol. */
  symbol?: string;
  /** Only this interval. */
  interval?: Interval;
  /** Only partitions ending after this time. */
  start?: TimeInput;
  /** Only partitions starting before this time. */
  end?: TimeInput;
}

/** A partition file found by {@linkcode KlineStore.list}. */
export interface CacheEntry {
  /** Its key. */
  key: PartitionKey;
  /** Absolute path of the file. */
  path: string;
  /** File size in bytes. */
  bytes: number;
  /** Last modification, epoch ms (undefined where the platform does not say). */
  modifiedAt?: number;
}

/** Totals of {@linkcode KlineStore.stats}, overall or for one series. */
export interface CacheTotals {
  /** Partition files. */
  partitions: number;
  /** Rows, from each file's metadata. */
  rows: number;
  /** Bytes on disk. */
  bytes: number;
  /** Partitions whose rows came from REST (upgradable to Vision). */
  restPartitions: number;
  /** Files whose metadata could not be read (see {@linkcode KlineStore.verify}). */
  unreadable: number;
}

/** Totals of one market, symbol and interval. */
export interface CacheSeriesStats extends CacheTotals {
  /** Dataset, when not `klines`. */
  dataset?: Dataset;
  /** Market. */
  market: Market;
  /** Symbol. */
  symbol: string;
  /** Interval. */
  interval: Interval;
  /** Earliest partition key. */
  first: string;
  /** Latest partition key. */
  last: string;
}

/** Result of {@linkcode KlineStore.stats}. */
export interface CacheStats extends CacheTotals {
  /** One entry per series, sorted by dataset (klines first), market, symbol, interval. */
  series: CacheSeriesStats[];
}

/** Options of {@linkcode KlineStore.verify}. */
export interface VerifyOptions {
  /** Only these partitions. */
  filter?: CacheFilter;
  /**
   * Vision's current SHA-256 for the archive a partition came from, or
   * undefined when unknown. Called for VISION partitions that recorded one;
   * a different answer marks the partition stale (the archive was re-uploaded).
   */
  checksumLookup?: (key: PartitionKey, cached: KlineIpcMetadata) => Promise<string | undefined>;
  /**
   * Move corrupt files aside (`{name}.corrupt-{time}`), as reads do.
   * @default false
   */
  quarantine?: boolean;
  /** Stops the walk between files. */
  signal?: AbortSignal;
}

/** A file that failed validation. */
export interface CorruptPartition {
  /** Its key. */
  key: PartitionKey;
  /** Its path. */
  path: string;
  /** Why it failed. */
  reason: string;
  /** Where it was moved, when it was set aside. */
  movedTo?: string;
}

/** A VISION partition whose archive changed on Vision since it was cached. */
export interface StalePartition {
  /** Its key. */
  key: PartitionKey;
  /** Its path. */
  path: string;
  /** The SHA-256 recorded in the file. */
  cached: string;
  /** The SHA-256 Vision publishes now. */
  current: string;
}

/** A series folder the cache refuses: it leads outside the root. */
export interface RefusedFolder {
  /** The folder's path under the root. */
  path: string;
  /** Why, with the fix. */
  reason: string;
}

/** Result of {@linkcode KlineStore.verify}. */
export interface VerifyReport {
  /** Files checked. */
  checked: number;
  /** Files that passed every check. */
  ok: number;
  /** Files that failed. */
  corrupt: CorruptPartition[];
  /** VISION files whose archive was re-uploaded. */
  stale: StalePartition[];
  /** Valid REST-sourced partitions (a Vision archive may replace them). */
  upgradable: PartitionKey[];
  /** Abandoned temporary files removed (untouched for ten minutes). */
  removedTemp: number;
  /**
   * Series folders that resolve (through a symbolic link) outside the root:
   * fetches neither read nor write them, and nothing in them is checked.
   */
  refused: RefusedFolder[];
}

/**
 * A store of closed kline partitions. `FsKlineStore` keeps them as Arrow IPC
 * files; `NullKlineStore` (no file system) keeps nothing.
 *
 * Keys are validated before any I/O: a bad market, symbol, interval or
 * partition raises a `TypeError` subclass.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openKlineStore } from "./open_kline_store.ts";
 * const store = await openKlineStore({ dir: false });
 * assert.equal(store.enabled, false);
 * const key = { market: "spot", symbol: "BTCUSDT", interval: "1m", partition: "2024-01-01" } as const;
 * assert.equal(await store.read(key), undefined);
 * ```
 */
export interface KlineStore {
  /** False when nothing is cached (no file system, or turned off). */
  readonly enabled: boolean;
  /** False when writes are refused: the cache is off, or read-only (reads still work). */
  readonly writable: boolean;
  /** Absolute cache root, when enabled. */
  readonly root: string | undefined;
  /**
   * Reads and validates a partition.
   *
   * @param key The partition.
   * @param options `onSetAside` hears why a corrupt file was set aside by this read.
   * @returns The partition, or undefined when absent or corrupt (a corrupt
   *   file is set aside and reported, so the caller fetches it again).
   * @throws {CacheError} When the file exists but cannot be read (I/O error).
   */
  read(key: PartitionKey, options?: ReadOptions): Promise<CachedPartition | undefined>;
  /**
   * Stores a closed, complete partition atomically.
   *
   * @returns True when written; false when the store is disabled or read-only, or kept
   *   what it had: a VISION partition is never replaced by a REST one, nor by
   *   the same Vision archive again.
   * @throws {CacheError} When the partition is not closed yet (its end is
   *   after `now()`), is not complete (a grid slot is neither a row nor in a
   *   confirmed gap), has rows outside it, or the write fails.
   */
  write(key: PartitionKey, batches: readonly RecordBatch[], meta: PartitionMeta): Promise<boolean>;
  /**
   * The metadata of a cached partition, reading only the file's footer.
   *
   * @returns The metadata, or undefined when absent or unreadable.
   */
  info(key: PartitionKey): Promise<KlineIpcMetadata | undefined>;
  /**
   * Whether a partition file exists (one `stat`, nothing read or validated).
   *
   * @throws {TypeError} For a bad key, before any I/O.
   */
  has(key: PartitionKey): Promise<boolean>;
  /**
   * The partition keys with a file in a series' folder (existence only:
   * nothing is read or validated), from one directory listing.
   *
   * @throws {TypeError} For a bad market, symbol or interval, before any I/O.
   */
  partitions(series: Omit<PartitionKey, "partition">): Promise<Set<string>>;
  /** Whether a REST-sourced partition is cached (Vision data may replace it). */
  isUpgradable(key: PartitionKey): Promise<boolean>;
  /** Partition files, sorted by path; temporary and set-aside files are ignored. */
  list(filter?: CacheFilter): Promise<CacheEntry[]>;
  /** Partitions, rows and bytes per market, symbol and interval. */
  stats(filter?: CacheFilter): Promise<CacheStats>;
  /** Re-reads and validates every selected file; optionally compares Vision checksums. */
  verify(options?: VerifyOptions): Promise<VerifyReport>;
  /**
   * Deletes the selected partitions (and their set-aside copies).
   *
   * @returns The number of partition files deleted.
   */
  clear(filter?: CacheFilter): Promise<number>;
}
