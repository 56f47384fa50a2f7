/**
 * The event partitions of a cache in an object store (S3, R2, MinIO, Ceph
 * RGW): the keys, bytes and rules of the file cache's partitions
 * (`v1/binance/{market}/{dataset}/{SYMBOL}/{partition}.arrow` under the
 * store's prefix), objects created once with `If-None-Match: *`, damaged
 * ones copied under `quarantine/` and deleted.
 *
 * @module
 */
import { ObjectCacheFiles } from "./_object_cache_files.ts";
import type { ObjectStore } from "./object_store.ts";
import {
  type PartitionKind,
  PartitionStore,
  type PartitionStoreOptions,
} from "./partition_store.ts";

/** Options of {@linkcode ObjectPartitionStore}. */
export interface ObjectPartitionStoreOptions extends PartitionStoreOptions {
  /** Never write, copy nor delete objects. @default {false} */
  readOnly?: boolean;
}

/**
 * Partition files of one kind of dataset in an object store: the rules of
 * {@linkcode PartitionStore} on objects. A new partition is created with
 * `If-None-Match: *`; when the object exists (a concurrent writer won, or an
 * earlier run wrote it) it is read back and kept when it is Vision data and
 * the new rows are REST's, else replaced by a plain PUT (atomic per object).
 * A damaged object is copied to `quarantine/{key}.{time}` and deleted, and
 * reads as absent (logged), so that the partition is fetched again.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { allocFundingColumns, fundingBatch } from "../core/funding_schema.ts";
 * import { FUNDING_KIND } from "./fs_funding_store.ts";
 * import { MemoryObjectStore } from "./object_store.ts";
 * import { ObjectPartitionStore } from "./object_partition_store.ts";
 * const objects = new MemoryObjectStore("s3://bucket/dsm");
 * const store = new ObjectPartitionStore(objects, FUNDING_KIND, { now: () => Date.UTC(2025, 0, 1) });
 * const cols = allocFundingColumns(1);
 * cols.fundingTime[0] = Date.UTC(2024, 0, 1);
 * const key = { market: "um", symbol: "BTCUSDT", partition: "2024-01" } as const;
 * assert.equal(await store.write(key, [fundingBatch(cols, 1)], { source: "REST" }), true);
 * assert.ok(await objects.head("v1/binance/um/fundingRate/BTCUSDT/2024-01.arrow"));
 * assert.equal((await store.read(key))?.metadata.rows, 1);
 * assert.equal((await store.list())[0].path, "s3://bucket/dsm/v1/binance/um/fundingRate/BTCUSDT/2024-01.arrow");
 * ```
 */
export class ObjectPartitionStore<K, D> extends PartitionStore<K, D> {
  /**
   * Creates the instance (no I/O).
   *
   * @param store The object store (keys relative to its prefix).
   * @param kind The dataset's keys, folders and codec.
   * @param options Read-only mode, clock, logger.
   */
  constructor(
    store: ObjectStore,
    kind: PartitionKind<K, D>,
    options: ObjectPartitionStoreOptions = {},
  ) {
    super(new ObjectCacheFiles(store, options.readOnly !== true), kind, options);
  }
}
