/**
 * The cache that keeps nothing: used without file-system permission (Deno
 * Deploy, `--allow-net` only) or when caching is turned off.
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";
import { emptyStats, emptyVerifyReport } from "./_empty_reports.ts";
import { checkKey, checkSeries } from "./_kline_paths.ts";
import type {
  CachedPartition,
  CacheEntry,
  CacheFilter,
  CacheStats,
  KlineIpcMetadata,
  KlineStore,
  PartitionKey,
  PartitionMeta,
  VerifyOptions,
  VerifyReport,
} from "./kline_store.ts";

function afterCheck<T>(key: PartitionKey, value: T): Promise<T> {
  try {
    checkKey(key);
    return Promise.resolve(value);
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * A {@linkcode KlineStore} that stores nothing: reads miss, writes return
 * false, maintenance finds nothing. Keys are still validated, so misuse
 * surfaces the same way with and without a cache.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NullKlineStore } from "./null_kline_store.ts";
 * const store = new NullKlineStore();
 * const key = { market: "um", symbol: "BTCUSDT", interval: "1h", partition: "2024-03-01" } as const;
 * assert.equal(await store.write(key, [], { source: "REST", complete: true }), false);
 * assert.equal(await store.read(key), undefined);
 * assert.deepEqual(await store.list(), []);
 * ```
 */
export class NullKlineStore implements KlineStore {
  /** Always false. */
  readonly enabled = false;
  /** Always false. */
  readonly writable = false;
  /** Always undefined. */
  readonly root: undefined = undefined;

  /** Validates the key; always undefined. */
  read(key: PartitionKey): Promise<CachedPartition | undefined> {
    return afterCheck(key, undefined);
  }

  /** Validates the key; always false. */
  write(
    key: PartitionKey,
    _batches: readonly RecordBatch[],
    _meta: PartitionMeta,
  ): Promise<boolean> {
    return afterCheck(key, false);
  }

  /** Validates the key; always undefined. */
  info(key: PartitionKey): Promise<KlineIpcMetadata | undefined> {
    return afterCheck(key, undefined);
  }

  /** Validates the key; always false. */
  has(key: PartitionKey): Promise<boolean> {
    return afterCheck(key, false);
  }

  /** Validates the series; always empty. */
  partitions(series: Omit<PartitionKey, "partition">): Promise<Set<string>> {
    try {
      checkSeries(series);
      return Promise.resolve(new Set());
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Validates the key; always false. */
  isUpgradable(key: PartitionKey): Promise<boolean> {
    return afterCheck(key, false);
  }

  /** Always empty. */
  list(_filter?: CacheFilter): Promise<CacheEntry[]> {
    return Promise.resolve([]);
  }

  /** Always zero. */
  stats(_filter?: CacheFilter): Promise<CacheStats> {
    return Promise.resolve(emptyStats());
  }

  /** Always an empty report. */
  verify(_options?: VerifyOptions): Promise<VerifyReport> {
    return Promise.resolve(emptyVerifyReport());
  }

  /** Always 0. */
  clear(_filter?: CacheFilter): Promise<number> {
    return Promise.resolve(0);
  }
}
