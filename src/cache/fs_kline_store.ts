/**
 * The file-system partition cache: one Arrow IPC file per closed partition
 * under `{root}/v1/binance/{market}/klines/{SYMBOL}/{interval}/`.
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";
import { decodeKlineIpcMetadata, type KlineIpcMetadata } from "../codec/kline_ipc.ts";
import { CacheError } from "../core/errors.ts";
import {
  type FileRead,
  NotAFileError,
  readHeadAndFooter,
  readWhole,
  setAside,
  writeAtomic,
} from "./_fs_io.ts";
import { clearFiles, listFiles, statsOf, verifyFiles } from "./_fs_maintenance.ts";
import {
  type CheckedKey,
  checkKey,
  checkSeries,
  escapesRoot,
  keyMismatch,
  pathOf,
  resolveRoot,
  seriesFolder,
} from "./_kline_paths.ts";
import { decodePartition, encodePartition, keeps, plainKey } from "./_kline_file.ts";
import type {
  CachedPartition,
  CacheEntry,
  CacheFilter,
  CacheStats,
  CorruptPartition,
  KlineStore,
  PartitionKey,
  PartitionMeta,
  ReadOptions,
  VerifyOptions,
  VerifyReport,
} from "./kline_store.ts";

/** Options of {@linkcode FsKlineStore}. */
export interface FsKlineStoreOptions {
  /**
   * Clock, epoch ms: partitions ending after it are refused.
   * @default Date.now
   */
  now?: () => number;
  /**
   * Receives debug messages (corrupt files set aside, temporary files swept).
   * @default undefined
   */
  logger?: (message: string) => void;
  /**
   * Called when a read finds a corrupt file (after it was set aside).
   * @default undefined
   */
  onCorrupt?: (event: CorruptPartition) => void;
  /**
   * Read only: `write` returns false, and nothing is created, renamed or
   * removed (a corrupt file is reported and left in place; `clear` deletes
   * nothing; `verify` neither quarantines nor sweeps temporary files).
   * @default false
   */
  readOnly?: boolean;
}

/**
 * Kline partitions as Arrow IPC files: validated reads, atomic writes,
 * maintenance. Usually created by `openKlineStore`, which checks permissions.
 *
 * Reads return undefined for absent files and for corrupt ones, which are
 * renamed to `{name}.corrupt-{time}` and reported. Writes go through a
 * unique temporary file and a rename, so concurrent writers in several
 * processes and crashes never leave a partial file; a VISION partition is
 * never replaced by a REST one.
 *
 * A hostile cache cannot lead it astray: a series folder that resolves
 * (through a symbolic link) outside the root's real path is neither read nor
 * written (`partitions` logs why, `write` throws a `CacheError`, `verify`
 * reports it); only regular files are opened, and a folder, symbolic link,
 * FIFO or other non-file in place of a partition is set aside like a corrupt
 * file, so that the partition is fetched and written again. The file type
 * comes from `partitions`' folder listing, made once per fetch, or else from
 * one `lstat` per read.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { allocKlineColumns, klineBatch } from "../core/schema.ts";
 * import { FsKlineStore } from "./fs_kline_store.ts";
 * const dir = await Deno.makeTempDir();
 * const store = new FsKlineStore(dir);
 * const cols = allocKlineColumns(1);
 * cols.openTime[0] = Date.UTC(2024, 0, 1);
 * cols.closeTime[0] = Date.UTC(2024, 0, 2) - 1;
 * const key = { market: "spot", symbol: "BTCUSDT", interval: "1d", partition: "2024-01-01" } as const;
 * assert.equal(await store.write(key, [klineBatch(cols)], { source: "REST", complete: true }), true);
 * assert.equal((await store.read(key))?.metadata.rows, 1);
 * assert.equal(await store.isUpgradable(key), true);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class FsKlineStore implements KlineStore {
  /** Always true. */
  readonly enabled = true;
  /** False when opened read-only. */
  readonly writable: boolean;
  /** Absolute cache root. */
  readonly root: string;
  #now: () => number;
  #log: (message: string) => void;
  #onCorrupt?: (event: CorruptPartition) => void;
  /** Per series folder: its partitions seen as regular files by the last listing, read once each. */
  #listed = new Map<string, Set<string>>();
  /** Per series folder: why it is refused (empty when it is not), from its last check. */
  #refused = new Map<string, string>();

  /**
   * A store rooted at `root`; nothing is read or created until the first call.
   *
   * @param root Cache root (made absolute); created on the first write.
   * @param options Clock, logger, corrupt-file callback, read-only.
   */
  constructor(root: string, options: FsKlineStoreOptions = {}) {
    this.root = resolveRoot(root);
    this.writable = options.readOnly !== true;
    this.#now = options.now ?? Date.now;
    this.#log = options.logger ?? (() => {});
    this.#onCorrupt = options.onCorrupt;
  }

  /** {@inheritDoc KlineStore.read} */
  async read(key: PartitionKey, options?: ReadOptions): Promise<CachedPartition | undefined> {
    const checked = checkKey(key);
    const path = pathOf(this.root, checked);
    const folder = seriesFolder(this.root, checked);
    if (this.#refusal(folder) !== undefined) return undefined;
    const listed = this.#listed.get(folder)?.delete(checked.partition) ?? false;
    let file;
    try {
      file = await readWhole(path, listed);
    } catch (cause) {
      if (cause instanceof NotAFileError) {
        await this.#setAside(checked, path, cause.read, cause.message, options);
        return undefined;
      }
      throw new CacheError(`Cannot read cache file "${path}"`, path, { cause });
    }
    if (file === undefined) return undefined;
    const result = decodePartition(file.bytes, checked, path);
    if ("partition" in result) return result.partition;
    const reason = result.reason;
    await this.#setAside(checked, path, file, reason, options);
    return undefined;
  }

  /** Sets a corrupt file (or a non-file) aside when writable, and reports it. */
  async #setAside(
    checked: CheckedKey,
    path: string,
    read: FileRead,
    reason: string,
    options?: ReadOptions,
  ) {
    const movedTo = this.writable
      ? await setAside(path, read, this.#now()).catch(() => undefined)
      : undefined;
    this.#log(`${reason}; ${movedTo ? `moved to "${movedTo}"` : "left in place"}`);
    this.#onCorrupt?.({ key: plainKey(checked), path, reason, movedTo });
    options?.onSetAside?.(reason);
  }

  /** Why a series folder is refused, checked again (its real path). */
  #check(folder: string): string | undefined {
    const reason = escapesRoot(this.root, folder);
    if (this.#refused.size >= 1024) this.#refused.clear();
    this.#refused.set(folder, reason ?? "");
    return reason;
  }

  /** Why a series folder is refused, from its last check (or a first one). */
  #refusal(folder: string): string | undefined {
    const known = this.#refused.get(folder);
    return known === undefined ? this.#check(folder) : known || undefined;
  }

  /** {@inheritDoc KlineStore.write} */
  async write(
    key: PartitionKey,
    batches: readonly RecordBatch[],
    meta: PartitionMeta,
  ): Promise<boolean> {
    const checked = checkKey(key);
    if (!this.writable) return false;
    const path = pathOf(this.root, checked);
    const bytes = encodePartition(checked, batches, meta, this.#now(), path);
    // Every write looks again: nothing is ever created through a link out of the root.
    const refused = this.#check(seriesFolder(this.root, checked));
    if (refused !== undefined) throw new CacheError(refused, path);
    if (keeps(await this.info(key), meta)) return false;
    await this.#setAsideNonFile(checked, path);
    try {
      // Check again just before the rename: another process may have stored Vision data.
      return await writeAtomic(
        path,
        bytes,
        async () => !keeps(await this.info(key), meta),
        (swept) => swept.forEach((p) => this.#log(`Removed abandoned temporary cache file "${p}"`)),
      );
    } catch (cause) {
      throw new CacheError(`Cannot write cache file "${path}"`, path, { cause });
    }
  }

  /** A folder, link or other non-file where the partition goes: set aside, or the rename fails. */
  async #setAsideNonFile(checked: CheckedKey, path: string): Promise<void> {
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(path);
    } catch {
      return; // nothing there (or unreadable: the write will say so)
    }
    if (info.isFile) return;
    const error = new NotAFileError(path, info);
    await this.#setAside(checked, path, error.read, error.message);
  }

  /** {@inheritDoc KlineStore.has} */
  // deno-lint-ignore require-await
  async has(key: PartitionKey): Promise<boolean> {
    const checked = checkKey(key);
    const path = pathOf(this.root, checked);
    if (this.#refusal(seriesFolder(this.root, checked)) !== undefined) return false;
    try {
      // One sync lstat: far cheaper than an async op for a local file.
      return Deno.lstatSync(path).isFile;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return false;
      throw new CacheError(`Cannot read cache file "${path}"`, path, { cause: error });
    }
  }

  /** {@inheritDoc KlineStore.partitions} */
  // deno-lint-ignore require-await
  async partitions(series: Omit<PartitionKey, "partition">): Promise<Set<string>> {
    const folder = seriesFolder(this.root, checkSeries(series));
    const keys = new Set<string>();
    const files = new Set<string>();
    try {
      // One real path per fetch: a folder linked out of the root is refused.
      const refused = this.#check(folder);
      if (refused !== undefined) {
        this.#log(refused);
        return keys;
      }
      // One sync listing: a year of days is one call, not 365 stats. Its file
      // types spare the reads an lstat each; a non-file is listed too, so
      // that its read sets it aside and the partition is fetched again.
      for (const entry of Deno.readDirSync(folder)) {
        if (!entry.name.endsWith(".arrow")) continue;
        const key = entry.name.slice(0, -6);
        keys.add(key);
        if (entry.isFile) files.add(key);
      }
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return keys;
      throw new CacheError(`Cannot list cache folder "${folder}"`, folder, { cause: error });
    } finally {
      if (this.#listed.size >= 1024) this.#listed.clear();
      this.#listed.set(folder, files);
    }
    return keys;
  }

  /** {@inheritDoc KlineStore.info} */
  async info(key: PartitionKey): Promise<KlineIpcMetadata | undefined> {
    const checked = checkKey(key);
    const path = pathOf(this.root, checked);
    try {
      if (this.#refusal(seriesFolder(this.root, checked)) !== undefined) return undefined;
      const file = await readHeadAndFooter(path);
      if (file === undefined) return undefined;
      const meta = decodeKlineIpcMetadata(file.bytes, { file: path });
      return keyMismatch(meta, checked) === undefined ? meta : undefined;
    } catch {
      return undefined;
    }
  }

  /** {@inheritDoc KlineStore.isUpgradable} */
  async isUpgradable(key: PartitionKey): Promise<boolean> {
    return (await this.info(key))?.source === "REST";
  }

  /** {@inheritDoc KlineStore.list} */
  list(filter?: CacheFilter): Promise<CacheEntry[]> {
    return listFiles(this.root, filter, this.#context());
  }

  /** {@inheritDoc KlineStore.stats} */
  stats(filter?: CacheFilter): Promise<CacheStats> {
    return statsOf(this.root, filter, this.#context());
  }

  /** {@inheritDoc KlineStore.verify} */
  verify(options: VerifyOptions = {}): Promise<VerifyReport> {
    return verifyFiles(this.root, options, this.#context());
  }

  /** {@inheritDoc KlineStore.clear} */
  clear(filter?: CacheFilter): Promise<number> {
    return clearFiles(this.root, filter, this.#context());
  }

  #context() {
    return { now: this.#now(), log: this.#log, readOnly: !this.writable };
  }
}
