/**
 * Opens the trade partitions of the cache with the kline cache's rules: the
 * same root, the same permission checks (queried, never prompted), and no
 * store where there is no usable file system.
 *
 * @module
 */
import { openKlineStore, type OpenKlineStoreOptions } from "./open_kline_store.ts";
import { FsTradeStore } from "./fs_trade_store.ts";

/** Options of {@linkcode openTradeStore}: root, read-only, clock, logger. */
export type OpenTradeStoreOptions = Omit<OpenKlineStoreOptions, "onCorrupt">;

/**
 * Opens the trade partition cache at the kline cache's root.
 *
 * Read-write, read-only or off exactly as {@linkcode openKlineStore} decides
 * (and says, once, to `logger`): off (undefined) with `dir: false`, without
 * a root, without read permission (`--allow-net` only, Deno Deploy) or when
 * the root is not a folder; read-only without write permission or where
 * files cannot be created.
 *
 * @param options Root, read-only, clock, logger.
 * @returns The store (check `writable`), or undefined when the cache is off.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openTradeStore } from "./open_trade_store.ts";
 * const dir = await Deno.makeTempDir();
 * const store = await openTradeStore({ dir });
 * assert.equal(store?.writable, true);
 * assert.equal(store?.root, dir);
 * assert.equal((await openTradeStore({ dir, readOnly: true }))?.writable, false);
 * assert.equal(await openTradeStore({ dir: false }), undefined);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function openTradeStore(
  options: OpenTradeStoreOptions = {},
): Promise<FsTradeStore | undefined> {
  const klines = await openKlineStore(options);
  if (!klines.enabled || klines.root === undefined) return undefined;
  return new FsTradeStore(klines.root, {
    readOnly: !klines.writable,
    now: options.now,
    logger: options.logger,
  });
}
