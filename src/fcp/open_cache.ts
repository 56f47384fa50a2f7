/**
 * The cache of a manager: its stores (klines, funding months, trade days)
 * in a local folder or an object store, or disabled ones when there is none
 * (switched off, or no filesystem permission).
 *
 * @module
 */
import type { KlineStore } from "../cache/kline_store.ts";
import {
  type CacheLocation,
  type CacheStores,
  openCacheStores,
} from "../cache/open_cache_stores.ts";

/**
 * Where the cache lives: a local folder (`dir`), or an object store (`url`:
 * S3, Cloudflare R2, MinIO, Ceph RGW), with the same layout and files;
 * `readOnly` to never write it.
 */
export type CacheOptions = CacheLocation;

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
