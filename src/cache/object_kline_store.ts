/**
 * The kline partition cache in an object store (S3, Cloudflare R2, MinIO,
 * Ceph RGW): the file cache's layout, bytes and validation, as objects
 * under the store's prefix.
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";
import { decodeKlineIpcMetadata, type KlineIpcMetadata } from "../codec/kline_ipc.ts";
import { CacheError } from "../core/errors.ts";
import type { FileRead } from "./cache_files.ts";
import { decodePartition, encodePartition, keepsBytes, plainKey } from "./_kline_file.ts";
import {
  type CheckedKey,
  checkKey,
  checkSeries,
  FILE_PATTERN,
  keyMismatch,
  seriesKey,
} from "./_kline_paths.ts";
import { ObjectCacheFiles } from "./_object_cache_files.ts";
import {
  clearObjects,
  listObjects,
  type ObjectMaintenance,
  statsOfObjects,
  verifyObjects,
} from "./_object_kline_maintenance.ts";
import type {
  CachedPartition,
  CacheEntry,
  CacheFilter,
  CacheStats,
  CorruptPartition,
  KlineStore,
  PartitionKey,
  PartitionMeta,
  ReadOptions,
  VerifyOptions,
  VerifyReport,
} from "./kline_store.ts";
import type { ObjectStore } from "./object_store.ts";
import type { FsKlineStoreOptions } from "./fs_kline_store.ts";

/**
 * Options of {@linkcode ObjectKlineStore}: those of the file store (clock,
 * logger, corrupt-object callback; `readOnly`: nothing is written, copied
 * or deleted, a corrupt object is reported and left in place).
 */
export type ObjectKlineStoreOptions = FsKlineStoreOptions;

/**
 * Kline partitions as Arrow IPC objects in an object store, under the same
 * keys as the file cache's files (`v1/binance/{market}/klines/{SYMBOL}/{interval}/{key}.arrow`
 * after the store's prefix, symbols percent-encoded alike) and with the
 * same bytes, so a folder synced to a bucket is a valid cache and back.
 *
 * - Reads validate as the file cache does; a corrupt object is copied to
 *   `quarantine/{key}.{time}`, deleted, reported (`logger`, `onCorrupt`,
 *   `onSetAside`) and reads as absent, so that it is fetched again.
 * - Writes create the object with `If-None-Match: *`: a partition is written
 *   once. When it exists, it is read back once: a Vision object is kept
 *   against REST rows and against the same archive (a lost race is fine: the
 *   other writer's object is as valid); a REST object is upgraded to Vision
 *   by a plain PUT, which replaces it whole.
 * - `partitions` is one paged LIST of the series' prefix; the fetch then
 *   reads the partitions it needs, several at a time.
 * - `root` is the store's URL; `CacheEntry.path` and messages name objects by
 *   URL; `modifiedAt` is not known.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { allocKlineColumns, klineBatch } from "../core/schema.ts";
 * import { MemoryObjectStore } from "./object_store.ts";
 * import { ObjectKlineStore } from "./object_kline_store.ts";
 * const objects = new MemoryObjectStore("s3://bucket/dsm");
 * const store = new ObjectKlineStore(objects);
 * const cols = allocKlineColumns(1);
 * cols.openTime[0] = Date.UTC(2024, 0, 1);
 * cols.closeTime[0] = Date.UTC(2024, 0, 2) - 1;
 * const key = { market: "spot", symbol: "BTCUSDT", interval: "1d", partition: "2024-01-01" } as const;
 * assert.equal(await store.write(key, [klineBatch(cols)], { source: "REST", complete: true }), true);
 * assert.ok(await objects.head("v1/binance/spot/klines/BTCUSDT/1d/2024-01-01.arrow"));
 * assert.equal((await store.read(key))?.metadata.rows, 1);
 * assert.deepEqual(await store.partitions(key), new Set(["2024-01-01"]));
 * assert.equal(await store.isUpgradable(key), true);
 * ```
 */
export class ObjectKlineStore implements KlineStore {
  /** Always true. */
  readonly enabled = true;
  /** False when opened read-only. */
  readonly writable: boolean;
  /** The store's URL, e.g. `s3://bucket/prefix`. */
  readonly root: string;
  readonly #store: ObjectStore;
  readonly #files: ObjectCacheFiles;
  readonly #now: () => number;
  readonly #log: (message: string) => void;
  readonly #onCorrupt?: (event: CorruptPartition) => void;

  /**
   * A store over `store`; nothing is requested until the first call.
   *
   * @param store The object store (keys relative to its prefix).
   * @param options Clock, logger, corrupt-object callback, read-only.
   */
  constructor(store: ObjectStore, options: ObjectKlineStoreOptions = {}) {
    this.writable = options.readOnly !== true;
    this.#store = store;
    this.#files = new ObjectCacheFiles(store, this.writable);
    this.root = this.#files.root;
    this.#now = options.now ?? Date.now;
    this.#log = options.logger ?? (() => {});
    this.#onCorrupt = options.onCorrupt;
  }

  /** {@inheritDoc KlineStore.read} */
  async read(key: PartitionKey, options?: ReadOptions): Promise<CachedPartition | undefined> {
    const checked = checkKey(key);
    const object = `${seriesKey(checked)}/${checked.partition}.arrow`;
    const path = this.#files.name(object);
    const read = await this.#files.read(object).catch((cause) => {
      throw cacheError(cause, `Cannot read cache file "${path}"`, path);
    });
    if (read === undefined) return undefined;
    const result = decodePartition(read.bytes, checked, path);
    if ("partition" in result) return result.partition;
    await this.#setAside(checked, object, read, result.reason, options);
    return undefined;
  }

  /** Quarantines a corrupt object when writable, and reports it. */
  async #setAside(
    checked: CheckedKey,
    object: string,
    read: FileRead,
    reason: string,
    options?: ReadOptions,
  ): Promise<void> {
    const movedTo = this.writable
      ? await this.#files.setAside(object, read, this.#now()).catch(() => undefined)
      : undefined;
    this.#log(`${reason}; ${movedTo ? `moved to "${movedTo}"` : "left in place"}`);
    const path = this.#files.name(object);
    this.#onCorrupt?.({ key: plainKey(checked), path, reason, movedTo });
    options?.onSetAside?.(reason);
  }

  /** {@inheritDoc KlineStore.write} */
  async write(
    key: PartitionKey,
    batches: readonly RecordBatch[],
    meta: PartitionMeta,
  ): Promise<boolean> {
    const checked = checkKey(key);
    if (!this.writable) return false;
    const object = `${seriesKey(checked)}/${checked.partition}.arrow`;
    const path = this.#files.name(object);
    const bytes = encodePartition(checked, batches, meta, this.#now(), path);
    try {
      return await this.#files.write(object, bytes, (had) => keepsBytes(had, checked, meta));
    } catch (cause) {
      throw cacheError(cause, `Cannot write cache file "${path}"`, path);
    }
  }

  /** {@inheritDoc KlineStore.info} */
  async info(key: PartitionKey): Promise<KlineIpcMetadata | undefined> {
    const checked = checkKey(key);
    const object = `${seriesKey(checked)}/${checked.partition}.arrow`;
    try {
      const read = await this.#files.read(object);
      if (read === undefined) return undefined;
      const meta = decodeKlineIpcMetadata(read.bytes, { file: this.#files.name(object) });
      return keyMismatch(meta, checked) === undefined ? meta : undefined;
    } catch {
      return undefined;
    }
  }

  /** Whether the partition's object exists (one HEAD). */
  async has(key: PartitionKey): Promise<boolean> {
    const checked = checkKey(key);
    return await this.#files.exists(`${seriesKey(checked)}/${checked.partition}.arrow`);
  }

  /**
   * The partition keys with an object under a series' prefix (existence
   * only), from one paged LIST.
   *
   * @throws {TypeError} For a bad market, symbol or interval, before any I/O.
   * @throws {CacheError} When the store cannot be listed.
   */
  async partitions(series: Omit<PartitionKey, "partition">): Promise<Set<string>> {
    const prefix = `${seriesKey(checkSeries(series))}/`;
    const keys = new Set<string>();
    for await (const { key } of this.#store.list(prefix)) {
      const partition = FILE_PATTERN.exec(key.slice(prefix.length))?.[1];
      if (partition !== undefined) keys.add(partition);
    }
    return keys;
  }

  /** {@inheritDoc KlineStore.isUpgradable} */
  async isUpgradable(key: PartitionKey): Promise<boolean> {
    return (await this.info(key))?.source === "REST";
  }

  /** {@inheritDoc KlineStore.list} */
  list(filter?: CacheFilter): Promise<CacheEntry[]> {
    return listObjects(this.#maintenance(), filter);
  }

  /** {@inheritDoc KlineStore.stats} */
  stats(filter?: CacheFilter): Promise<CacheStats> {
    return statsOfObjects(this.#maintenance(), filter);
  }

  /** {@inheritDoc KlineStore.verify} */
  verify(options: VerifyOptions = {}): Promise<VerifyReport> {
    return verifyObjects(this.#maintenance(), options);
  }

  /** {@inheritDoc KlineStore.clear} */
  clear(filter?: CacheFilter): Promise<number> {
    return clearObjects(this.#maintenance(), filter);
  }

  #maintenance(): ObjectMaintenance {
    return { store: this.#store, files: this.#files, now: this.#now() };
  }
}

/** A `CacheError` as is; anything else wrapped in one. */
function cacheError(cause: unknown, message: string, path: string): CacheError {
  return cause instanceof CacheError ? cause : new CacheError(message, path, { cause });
}
