/**
 * The cache of a manager: the Arrow IPC partition store, or a disabled one
 * when there is none (switched off, or no filesystem permission).
 *
 * @module
 */
import type { KlineStore } from "../cache/kline_store.ts";
import { NullKlineStore } from "../cache/null_kline_store.ts";
import { openKlineStore } from "../cache/open_kline_store.ts";

/** Where the cache lives. */
export interface CacheOptions {
  /** Cache root. @default {DSM_CACHE_DIR, else the platform cache folder + "/dsm"} */
  dir?: string;
}

/**
 * Opens the cache of a manager.
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
  if (options === false) return new NullKlineStore();
  return await openKlineStore({ dir: options?.dir, logger, now });
}
