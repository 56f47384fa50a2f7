/**
 * The cache of a manager: its stores (klines, funding months, trade days)
 * in a local folder or an object store, or disabled ones when there is none
 * (switched off, or no filesystem permission).
 *
 * @module
 */
import type { KlineStore } from "../cache/kline_store.ts";
import type { ObjectStore } from "../cache/object_store.ts";
import { type CacheStores, openCacheStores } from "../cache/open_cache_stores.ts";
import type { S3Credentials } from "../cache/s3_object_store.ts";

/**
 * Where the cache lives: a local folder (`dir`), or an object store (`url`:
 * S3, Cloudflare R2, MinIO, Ceph RGW), with the same layout and files.
 */
export interface CacheOptions {
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
   * Read cached partitions, never write (a consumer that must not write,
   * even with permission to); the logger hears so once.
   * @default {false}
   */
  readOnly?: boolean;
  /**
   * For tests: the object store to use instead of the one `url` names (a
   * `MemoryObjectStore`, or one that fails chosen requests).
   */
  objectStore?: ObjectStore;
}

/**
 * Opens the stores of a manager's cache: klines, funding months, trade days.
 *
 * @param options Cache options, or false for none.
 * @param logger Debug messages (cache switched off or read-only, files set aside).
 * @param now The clock.
 * @returns The stores; a disabled kline store (and no others) when `false`
 *   or without filesystem permission.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openCacheStoresOf } from "./open_cache.ts";
 * const off = await openCacheStoresOf(false);
 * assert.equal(off.klines.enabled, false);
 * assert.equal(off.funding, undefined);
 * ```
 */
export async function openCacheStoresOf(
  options: CacheOptions | false | undefined,
  logger?: (message: string) => void,
  now?: () => number,
): Promise<CacheStores> {
  if (options === false) return await openCacheStores({ dir: false });
  return await openCacheStores({ ...options, logger, now });
}

/**
 * Opens the kline store of a manager's cache.
 *
 * @param options Cache options, or false for none.
 * @param logger Debug messages (cache switched off or read-only, files set aside).
 * @param now The clock.
 * @returns The store; a disabled one when `false` or without filesystem permission.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openCache } from "./open_cache.ts";
 * assert.equal((await openCache(false)).enabled, false);
 * ```
 */
export async function openCache(
  options: CacheOptions | false | undefined,
  logger?: (message: string) => void,
  now?: () => number,
): Promise<KlineStore> {
  return (await openCacheStoresOf(options, logger, now)).klines;
}
