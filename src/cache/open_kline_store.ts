/**
 * Opens the partition cache: picks the root, checks permissions without
 * prompting, and falls back to the no-op store where there is no usable
 * file system.
 *
 * @module
 */
import { join } from "node:path";
import { FsKlineStore, type FsKlineStoreOptions } from "./fs_kline_store.ts";
import { resolveRoot } from "./_kline_paths.ts";
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

/** What is at the root: a folder, nothing, or something else (a file). */
function kindOf(root: string): "folder" | "absent" | "other" {
  try {
    return Deno.statSync(root).isDirectory ? "folder" : "other";
  } catch (err) {
    // A parent that is a file: the root is absent and cannot be created.
    const absent = err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory;
    return absent ? "absent" : "other";
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Opens the kline partition cache.
 *
 * The cache is read-write when it can be: read and write permission for
 * the root are granted and a file can be created in it. It is read-only
 * (cached partitions are read, `write` returns false, nothing is created)
 * when only read permission is granted, or the folder exists but files
 * cannot be created there (a read-only folder or file system). It is off (a
 * {@linkcode NullKlineStore}) when `dir` is false, when no root can be
 * determined, when read permission is not granted (e.g. `--allow-net` only,
 * or Deno Deploy), or when the root is not a folder and cannot be one.
 *
 * Except for `dir: false`, a cache that is not read-write sends one message
 * to `logger`, beginning `Cache is off: ` or `Cache is read-only: `, with
 * the reason and the fix. Permissions are queried, never requested, so
 * opening never prompts.
 *
 * With `readOnly: true` (maintenance that only reads), only read
 * permission is needed, nothing is probed or created, and no message is
 * sent for the missing write access.
 *
 * @param options Root, read-only, clock, logger, corrupt-file callback.
 * @returns A store; check `enabled` and `writable`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openKlineStore } from "./open_kline_store.ts";
 * const dir = await Deno.makeTempDir();
 * const store = await openKlineStore({ dir });
 * assert.equal(store.enabled, true);
 * assert.equal(store.writable, true);
 * assert.equal(store.root, dir);
 * const reader = await openKlineStore({ dir: `${dir}/absent`, readOnly: true });
 * assert.equal(reader.writable, false);
 * await assert.rejects(Deno.stat(`${dir}/absent`)); // nothing created
 * const messages: string[] = [];
 * const file = `${dir}/file`;
 * await Deno.writeTextFile(file, "");
 * const off = await openKlineStore({ dir: file, logger: (m) => messages.push(m) });
 * assert.equal(off.enabled, false);
 * assert.match(messages[0], /^Cache is off: ".*file" is not a folder/);
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
    return off(`no cache folder is known; set ${CACHE_DIR_ENV} or pass a cache dir`);
  }
  const readOnly = (why: string, fix: string) => {
    log(`Cache is read-only: ${why}; cached partitions are read, nothing is written; ${fix}`);
    return new FsKlineStore(root, { ...storeOptions, readOnly: true });
  };
  if (!(await granted({ name: "read", path: root }))) {
    const given = JSON.stringify(root);
    return off(
      `no read permission for ${given}; run with --allow-read=${given} --allow-write=${given}`,
    );
  }
  const quoted = JSON.stringify(resolveRoot(root));
  const kind = kindOf(root);
  if (kind === "other") {
    return off(`${quoted} is not a folder; remove it or pass another cache dir`);
  }
  if (options.readOnly) return new FsKlineStore(root, storeOptions);
  if (!(await granted({ name: "write", path: root }))) {
    return readOnly(`no write permission for ${quoted}`, `run with --allow-write=${quoted}`);
  }
  const store = new FsKlineStore(root, storeOptions);
  try {
    probe(store.root);
  } catch (err) {
    const why = `cannot create files in ${quoted} (${messageOf(err)})`;
    return kind === "folder"
      ? readOnly(why, "make the folder writable or pass another cache dir")
      : off(`${why}; create the folder or pass another cache dir`);
  }
  return store;
}
