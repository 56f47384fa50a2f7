/**
 * The event partitions of the file cache, whatever their dataset: one Arrow
 * IPC file per closed partition (a month of funding rates, a day of trades)
 * at `{root}/v1/binance/{market}/{dataset}/{SYMBOL}/{partition}.arrow`,
 * beside the kline folders, with the same guarantees: validated on read (a
 * damaged or foreign file is set aside and fetched again), written
 * atomically, never through a link out of the root, Vision never replaced
 * by REST. `FsFundingStore` and `FsTradeStore` are this store with their
 * dataset's {@linkcode PartitionKind}.
 *
 * @module
 */
import { FsCacheFiles } from "./_fs_cache_files.ts";
import {
  type PartitionKind,
  PartitionStore,
  type PartitionStoreOptions,
} from "./partition_store.ts";

export type {
  PartitionEntry,
  PartitionFilter,
  PartitionKind,
  PartitionPlace,
  PartitionVerifyReport,
  PartitionWriteMeta,
  PlacedMetadata,
} from "./partition_store.ts";

/** Options of {@linkcode FsPartitionStore}. */
export interface FsPartitionStoreOptions extends PartitionStoreOptions {
  /** Never write nor move files. @default {false} */
  readOnly?: boolean;
}

/**
 * Partition files of one kind of dataset in a cache folder: the rules of
 * {@linkcode PartitionStore} on files written through a temporary file and
 * a rename, damaged ones renamed to `{name}.corrupt-{time}`, and series
 * folders that resolve (through a link) out of the root refused.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FsPartitionStore } from "./fs_partition_store.ts";
 * import { FUNDING_KIND } from "./fs_funding_store.ts";
 * const root = await Deno.makeTempDir();
 * const store = new FsPartitionStore(root, FUNDING_KIND, { readOnly: true });
 * assert.deepEqual(await store.list(), []);
 * assert.equal(await store.read({ market: "um", symbol: "BTCUSDT", partition: "2024-01" }), undefined);
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export class FsPartitionStore<K, D> extends PartitionStore<K, D> {
  /**
   * Creates the instance (no I/O).
   *
   * @param root The cache root (the folder holding `v1/`).
   * @param kind The dataset's keys, folders and codec.
   * @param options Read-only mode, clock, logger.
   */
  constructor(root: string, kind: PartitionKind<K, D>, options: FsPartitionStoreOptions = {}) {
    super(new FsCacheFiles(root, options.readOnly !== true), kind, options);
  }
}
