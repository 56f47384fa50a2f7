/**
 * The kline partition cache as a library: open a store, then list, total,
 * verify and clear its partitions: what `dsm cache ls | stats | verify |
 * clear` do, without the CLI. The manager (`.`) reads and fills the same
 * store (`cache: { dir }`).
 *
 * Layout: `{root}/v1/binance/{spot|um|cm}/klines/{SYMBOL}/{interval}/{YYYY-MM-DD|YYYY-MM}.arrow`
 * (a price klines dataset has its folder beside `klines`), one Arrow IPC
 * file per closed, complete partition, written atomically and validated on
 * every read (structure and two CRC-32s).
 *
 * - {@linkcode openKlineStore}: the store at a root (`DSM_CACHE_DIR` or the
 *   platform cache folder by default), read-write, read-only or off,
 *   depending on permissions; never prompts.
 * - {@linkcode KlineStore}: `list` (files), `stats` (partitions, rows and
 *   bytes per series), `verify` (re-read and validate every file; optionally
 *   compare Vision's current checksums; set corrupt files aside), `clear`
 *   (delete partitions), and `read`, `write`, `info`, `has`.
 * - {@linkcode CacheFilter}: narrows each of them by dataset, market,
 *   symbol, interval and time.
 * - Event partitions beside the candle folders, one store each over
 *   {@linkcode FsPartitionStore}: {@linkcode FsFundingStore} (a month of
 *   funding rates per file) and {@linkcode FsTradeStore} (a UTC day of
 *   `aggTrades` or `trades` per file:
 *   `{root}/v1/binance/{market}/{aggTrades|trades}/{SYMBOL}/{YYYY-MM-DD}.arrow`),
 *   opened with the same permission rules by {@linkcode openTradeStore}.
 * - The cache in an object store (S3, R2, MinIO, Ceph RGW), same keys and
 *   bytes under the prefix: {@linkcode ObjectKlineStore},
 *   {@linkcode ObjectPartitionStore} and {@linkcode ObjectTradeStore} over an
 *   {@linkcode ObjectStore} ({@linkcode S3ObjectStore}, or an in-memory
 *   one in tests); {@linkcode openCacheStores}
 *   opens every store of a cache, a folder or `s3://bucket/prefix`, as the
 *   manager's `cache` option does.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openKlineStore } from "./cache.ts";
 * import { DataSourceManager } from "./mod.ts";
 * import { startEmulator } from "./emulator.ts";
 *
 * const dir = await Deno.makeTempDir();
 * {
 *   // Fill the cache with two days from a local Binance.
 *   await using binance = await startEmulator({ now: Date.UTC(2024, 5, 1) });
 *   await using dsm = new DataSourceManager({
 *     cache: { dir },
 *     now: () => Date.UTC(2024, 5, 1),
 *     endpoints: { vision: binance.url, listing: binance.url, rest: binance.url },
 *   });
 *   await dsm.getData({ symbol: "BTCUSDT", interval: "1h", start: "2024-01-01", end: "2024-01-03" });
 * }
 * const store = await openKlineStore({ dir });
 * const filter = { market: "spot", symbol: "BTCUSDT", interval: "1h" } as const;
 * const files = await store.list(filter); // dsm cache ls
 * assert.deepEqual(files.map((f) => f.key.partition), ["2024-01-01", "2024-01-02"]);
 * const stats = await store.stats(filter); // dsm cache stats
 * assert.equal(stats.rows, 48);
 * assert.equal(stats.series[0].symbol, "BTCUSDT");
 * const report = await store.verify({ filter }); // dsm cache verify
 * assert.equal(report.ok, 2);
 * assert.deepEqual(report.corrupt, []);
 * assert.equal(await store.clear(filter), 2); // dsm cache clear
 * assert.deepEqual(await store.list(filter), []);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @example Trade days
 * ```ts
 * import assert from "node:assert/strict";
 * import { openTradeStore } from "./cache.ts";
 * import { decodeTradeCsv } from "./codec.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const trades = (await openTradeStore({ dir }))!;
 * const csv = new TextEncoder().encode("1,42000.5,0.01,420.005,1704067200000,true\n");
 * const rows = decodeTradeCsv(csv, { dataset: "trades", market: "um" });
 * const day = { market: "um", dataset: "trades", symbol: "BTCUSDT", day: "2024-01-01" } as const;
 * assert.equal(await trades.write(day, rows, { source: "REST" }), true);
 * assert.deepEqual(await trades.days(day), ["2024-01-01"]); // without reading the files
 * assert.equal((await trades.read(day))?.metadata.lastTime, 1704067200000000); // µs
 * assert.equal((await trades.verify()).ok, 1); // dsm cache verify
 * assert.equal(await trades.clear({ dataset: "trades" }), 1); // dsm cache clear
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

export {
  CACHE_DIR_ENV,
  openKlineStore,
  type OpenKlineStoreOptions,
} from "./src/cache/open_kline_store.ts";
export type { FsKlineStoreOptions } from "./src/cache/fs_kline_store.ts";
export {
  FsFundingStore,
  type FsFundingStoreOptions,
  FUNDING_KIND,
  type FundingCacheEntry,
  type FundingFilter,
  type FundingPartitionKey,
  type FundingPartitionMeta,
  type FundingStore,
  type FundingVerifyReport,
} from "./src/cache/fs_funding_store.ts";
export {
  FsPartitionStore,
  type FsPartitionStoreOptions,
  type PartitionEntry,
  type PartitionFilter,
  type PartitionKind,
  type PartitionPlace,
  type PartitionVerifyReport,
  type PartitionWriteMeta,
  type PlacedMetadata,
} from "./src/cache/fs_partition_store.ts";
export {
  FsTradeStore,
  type FsTradeStoreOptions,
  TRADE_KIND,
  type TradeCacheEntry,
  type TradeDaysRange,
  type TradeFilter,
  type TradePartitionKey,
  type TradePartitionMeta,
  type TradeSeries,
  type TradeStore,
  type TradeVerifyReport,
} from "./src/cache/fs_trade_store.ts";
export { openTradeStore, type OpenTradeStoreOptions } from "./src/cache/open_trade_store.ts";
export {
  type CacheLocation,
  type CacheStores,
  type CacheStoresOptions,
  openCacheStores,
} from "./src/cache/open_cache_stores.ts";
export type { CacheFiles, FileRead, FolderListing, ListedFile } from "./src/cache/cache_files.ts";
export { PartitionStore, type PartitionStoreOptions } from "./src/cache/partition_store.ts";
export { ObjectKlineStore, type ObjectKlineStoreOptions } from "./src/cache/object_kline_store.ts";
export {
  ObjectPartitionStore,
  type ObjectPartitionStoreOptions,
} from "./src/cache/object_partition_store.ts";
export { ObjectTradeStore } from "./src/cache/object_trade_store.ts";
export type { ObjectInfo, ObjectStore, PutOptions } from "./src/cache/object_store.ts";
export {
  type S3Credentials,
  S3ObjectStore,
  type S3ObjectStoreOptions,
} from "./src/cache/s3_object_store.ts";
export type { DecodedTradeIpc, TradeIpcHeader, TradeIpcMetadata } from "./src/codec/trade_ipc.ts";
export type {
  DecodedFundingIpc,
  FundingIpcHeader,
  FundingIpcMetadata,
  PartitionHeader,
} from "./src/codec/funding_ipc.ts";
export type {
  CachedPartition,
  CacheEntry,
  CacheFilter,
  CacheSeriesStats,
  CacheStats,
  CacheTotals,
  CorruptPartition,
  KlineStore,
  PartitionKey,
  PartitionMeta,
  ReadOptions,
  RefusedFolder,
  StalePartition,
  VerifyOptions,
  VerifyReport,
} from "./src/cache/kline_store.ts";
export type {
  KlineAnomalies,
  KlineGap,
  KlineIpcHeader,
  KlineIpcMetadata,
} from "./src/codec/kline_ipc.ts";
