/**
 * Opens every store of a cache at once, wherever it lies: a local folder
 * (with the file cache's permission rules) or an object store
 * (`s3://bucket/prefix`): the kline store, and the partition store of each
 * other kind of dataset (funding months, trade days) at the same root.
 *
 * @module
 */
import type { DecodedFundingIpc } from "../codec/funding_ipc.ts";
import type { DecodedTradeIpc } from "../codec/trade_ipc.ts";
import { GuardedObjectStore } from "./_guarded_object_store.ts";
import type { CacheFiles } from "./cache_files.ts";
import { FsCacheFiles } from "./_fs_cache_files.ts";
import { ObjectCacheFiles } from "./_object_cache_files.ts";
import { FsFundingStore, FUNDING_KIND, type FundingPartitionKey } from "./fs_funding_store.ts";
import { FsTradeStore, type TradePartitionKey, type TradeStore } from "./fs_trade_store.ts";
import type { CorruptPartition, KlineStore } from "./kline_store.ts";
import { ObjectKlineStore } from "./object_kline_store.ts";
import { ObjectPartitionStore } from "./object_partition_store.ts";
import type { ObjectStore } from "./object_store.ts";
import { ObjectTradeStore } from "./object_trade_store.ts";
import { openKlineStore } from "./open_kline_store.ts";
import type { PartitionStore } from "./partition_store.ts";
import { type S3Credentials, S3ObjectStore } from "./s3_object_store.ts";

/**
 * Where a cache lives: a local folder (`dir`), or an object store (`url`:
 * S3, Cloudflare R2, MinIO, Ceph RGW) with the same layout and files; and
 * whether it may be written.
 */
export interface CacheLocation {
  /** Cache folder. @default {DSM_CACHE_DIR, else the platform cache folder + "/dsm"} */
  dir?: string;
  /**
   * An object store instead of a folder, `s3://bucket` or
   * `s3://bucket/prefix` (needs `--allow-net` for its endpoint, and
   * `--allow-env` for the AWS variables it reads).
   */
  url?: string;
  /**
   * The S3 endpoint of `url`, e.g. `http://127.0.0.1:7480`.
   * @default {AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, else `https://s3.{region}.amazonaws.com`}
   */
  endpoint?: string;
  /** The signing region of `url`. @default {AWS_REGION, else "us-east-1"} */
  region?: string;
  /**
   * The access key of `url`.
   * @default {AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN}
   */
  credentials?: S3Credentials;
  /**
   * Read cached partitions, never write, move or delete anything (a
   * consumer that must not write, even with permission to); the logger
   * hears so once.
   * @default {false}
   */
  readOnly?: boolean;
  /**
   * For tests: the object store to use instead of the one `url` names (a
   * `MemoryObjectStore`, or one that fails chosen requests).
   */
  objectStore?: ObjectStore;
}

/** Options of {@linkcode openCacheStores}: where, clock, logger. */
export interface CacheStoresOptions extends Omit<CacheLocation, "dir"> {
  /**
   * A local cache folder, or false for no cache.
   * @default {DSM_CACHE_DIR, else the platform cache folder + "/dsm"}
   */
  dir?: string | false;
  /** The clock, epoch ms. @default {Date.now} */
  now?: () => number;
  /** Hears that the cache is off or read-only (once), and damaged files set aside. */
  logger?: (message: string) => void;
  /** Called when a kline read finds a corrupt file or object (after it was set aside). */
  onCorrupt?: (event: CorruptPartition) => void;
}

/** The stores of one cache. */
export interface CacheStores {
  /** The kline partitions (a disabled store when the cache is off). */
  klines: KlineStore;
  /** The funding months, undefined when the cache is off. */
  funding?: PartitionStore<FundingPartitionKey, DecodedFundingIpc>;
  /** The trade days, undefined when the cache is off. */
  trades?: PartitionStore<TradePartitionKey, DecodedTradeIpc> & TradeStore;
  /**
   * A local folder where large archives may be spooled while they are read:
   * the cache folder when it is local and writable.
   */
  spoolDir?: string;
  /** The cache's files (any key under its root), undefined when the cache is off. */
  files?: CacheFiles;
}

/**
 * Opens the stores of a cache.
 *
 * A folder opens as {@linkcode openKlineStore} decides (read-write,
 * read-only or off, by permissions; never prompts). An object store
 * (`url`, or `objectStore`) opens without a request: an unreachable or
 * refusing store shows in the calls that use it (a `CacheError` each; a
 * store failing several times in a row is not asked for 30 s, and says so
 * once to `logger`). Its requests are bounded (16 in flight).
 *
 * With `readOnly`, nothing is ever written, and `logger` hears so once.
 *
 * @param options Folder or object store, read-only, clock, logger.
 * @returns The stores.
 * @throws {TypeError} When `url` is not `s3://bucket[/prefix]` or `endpoint` not http(s).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryObjectStore } from "./object_store.ts";
 * import { openCacheStores } from "./open_cache_stores.ts";
 * const messages: string[] = [];
 * const cache = await openCacheStores({
 *   objectStore: new MemoryObjectStore("s3://bucket/dsm"),
 *   readOnly: true,
 *   logger: (m) => messages.push(m),
 * });
 * assert.equal(cache.klines.root, "s3://bucket/dsm");
 * assert.equal(cache.klines.writable, false);
 * assert.equal(cache.trades?.writable, false);
 * assert.equal(cache.spoolDir, undefined);
 * assert.match(messages[0], /^Cache is read-only: /);
 * assert.equal((await openCacheStores({ dir: false })).klines.enabled, false);
 * ```
 */
export async function openCacheStores(options: CacheStoresOptions = {}): Promise<CacheStores> {
  const { now, logger, onCorrupt } = options;
  const readOnly = options.readOnly === true;
  const store = options.objectStore ?? (options.url === undefined ? undefined : new S3ObjectStore({
    url: options.url,
    endpoint: options.endpoint,
    region: options.region,
    credentials: options.credentials,
  }));
  if (store !== undefined) {
    const guarded = new GuardedObjectStore(store, { now, logger });
    if (readOnly) said(logger, guarded.url);
    const shared = { readOnly, now, logger };
    return {
      klines: new ObjectKlineStore(guarded, { ...shared, onCorrupt }),
      funding: new ObjectPartitionStore(guarded, FUNDING_KIND, shared),
      trades: new ObjectTradeStore(guarded, shared),
      files: new ObjectCacheFiles(guarded, !readOnly),
    };
  }
  const klines = await openKlineStore({ dir: options.dir, readOnly, now, logger, onCorrupt });
  if (!klines.enabled || klines.root === undefined) return { klines };
  if (readOnly) said(logger, klines.root);
  const shared = { readOnly: !klines.writable, now, logger };
  return {
    klines,
    funding: new FsFundingStore(klines.root, shared),
    trades: new FsTradeStore(klines.root, shared),
    files: new FsCacheFiles(klines.root, klines.writable),
    ...(klines.writable ? { spoolDir: klines.root } : {}),
  };
}

function said(logger: ((message: string) => void) | undefined, root: string): void {
  logger?.(
    `Cache is read-only: readOnly is set; cached partitions are read from "${root}", ` +
      `nothing is written`,
  );
}
