/**
 * Opens the partition cache: picks the root, checks permissions without
 * prompting, and falls back to the no-op store where there is no usable
 * file system.
 *
 * @module
 */
import { join } from "node:path";
import { FsKlineStore, type FsKlineStoreOptions } from "./fs_kline_store.ts";
import type { KlineStore } from "./kline_store.ts";
import { NullKlineStore } from "./null_kline_store.ts";

/** Options of {@linkcode openKlineStore}. */
export interface OpenKlineStoreOptions extends FsKlineStoreOptions {
  /**
   * Cache root, or false to turn caching off.
   * @default env `DSM_CACHE_DIR`, else the platform cache folder + `/dsm`
   *   (`$XDG_CACHE_HOME` or `~/.cache` on Linux, `~/Library/Caches` on macOS,
   *   `%LOCALAPPDATA%` on Windows)
   */
  dir?: string | false;
}

/** Name of the environment variable that sets the cache root. */
export const CACHE_DIR_ENV = "DSM_CACHE_DIR";

// deno-lint-ignore require-await
async function granted(descriptor: Deno.PermissionDescriptor): Promise<boolean> {
  try {
    // The sync query: no thread-pool round trip on the way to the first read.
    return Deno.permissions.querySync(descriptor).state === "granted";
  } catch {
    return false; // no permissions API (or refused): treat as denied
  }
}

async function env(name: string): Promise<string | undefined> {
  if (!(await granted({ name: "env", variable: name }))) return undefined;
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined;
  }
}

async function platformCacheDir(): Promise<string | undefined> {
  const os = Deno.build.os;
  if (os === "windows") return await env("LOCALAPPDATA");
  const home = await env("HOME");
  if (os === "darwin") return home && join(home, "Library", "Caches");
  return (await env("XDG_CACHE_HOME")) ?? (home && join(home, ".cache"));
}

async function chooseRoot(dir: string | undefined): Promise<string | undefined> {
  if (dir !== undefined) return dir;
  const fromEnv = await env(CACHE_DIR_ENV);
  if (fromEnv !== undefined) return fromEnv;
  const base = await platformCacheDir();
  return base && join(base, "dsm");
}

/**
 * Creates the layout's top folder and proves that files can be created
 * there (synchronous calls: three local file operations cost less than the
 * async ops' round trips).
 */
function probe(root: string): void {
  const top = join(root, "v1");
  Deno.mkdirSync(top, { recursive: true });
  const random = crypto.getRandomValues(new Uint32Array(1))[0].toString(16);
  const file = join(top, `.probe.${Deno.pid}.${random}.tmp`);
  Deno.writeFileSync(file, new Uint8Array(0), { createNew: true });
  Deno.removeSync(file);
}

/**
 * Opens the kline partition cache.
 *
 * Returns a {@linkcode NullKlineStore} (caching off, not an error) when
 * `dir` is false, when no root can be determined, or when read or write
 * permission for the root is not granted (e.g. `--allow-net` only, or Deno
 * Deploy) or the root cannot be created; in those cases (except `false`)
 * one debug message goes to `logger`. Permissions are queried, never
 * requested, so opening never prompts.
 *
 * @param options Root, clock, logger, corrupt-file callback.
 * @returns A store; check `enabled`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openKlineStore } from "./open_kline_store.ts";
 * const dir = await Deno.makeTempDir();
 * const store = await openKlineStore({ dir });
 * assert.equal(store.enabled, true);
 * assert.equal(store.root, dir);
 * assert.equal((await openKlineStore({ dir: false })).enabled, false);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function openKlineStore(options: OpenKlineStoreOptions = {}): Promise<KlineStore> {
  const { dir, ...storeOptions } = options;
  if (dir === false) return new NullKlineStore();
  const log = options.logger ?? (() => {});
  const off = (why: string) => {
    log(`Cache is off: ${why}`);
    return new NullKlineStore();
  };
  const root = await chooseRoot(dir);
  if (root === undefined) {
    return off(`no cache folder is known (set ${CACHE_DIR_ENV} or pass a cache dir)`);
  }
  if (
    !(await granted({ name: "read", path: root })) ||
    !(await granted({ name: "write", path: root }))
  ) {
    return off(`no read and write permission for "${root}"`);
  }
  let store: FsKlineStore;
  try {
    store = new FsKlineStore(root, storeOptions);
    probe(store.root);
  } catch (err) {
    return off(`cannot create files in "${root}" (${err instanceof Error ? err.message : err})`);
  }
  return store;
}
