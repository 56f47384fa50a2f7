/**
 * The event partitions of a cache, whatever their dataset and wherever the
 * cache lies: one Arrow IPC file per closed partition (a month of funding
 * rates, a day of trades) at `v1/binance/{market}/{dataset}/{SYMBOL}/{partition}.arrow`
 * under the root, beside the kline folders, with the same guarantees:
 * validated on read (a damaged or foreign file is set aside and fetched
 * again), written whole (atomically), Vision never replaced by REST. The
 * storage is a seam: `FsPartitionStore` keeps the files in a folder (never
 * through a link out of the root), `ObjectPartitionStore` in an object store.
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";
import { CacheError, InvalidTimeError } from "../core/errors.ts";
import type { Market } from "../core/market.ts";
import { type Partition, partitionOf } from "../core/partition.ts";
import type { CacheFiles, FileRead, FolderListing } from "./cache_files.ts";
import { NotAFileError } from "./_fs_io.ts";
import { checkMarket, checkSymbol, symbolFolder, symbolOfFolder } from "./_kline_paths.ts";

/** Where a partition file lies: `{root}/v1/binance/{market}/{dataset}/{SYMBOL}/{partition}.arrow`. */
export interface PartitionPlace {
  /** Market. */
  market: Market;
  /** Dataset, also its folder name. */
  dataset: string;
  /** Symbol, canonical. */
  symbol: string;
  /** `YYYY-MM` or `YYYY-MM-DD`. */
  partition: string;
}

/** What a partition file says about itself, as the store checks it against its place. */
export interface PlacedMetadata {
  /** Market. */
  market: string;
  /** Symbol. */
  symbol: string;
  /** Partition key. */
  partition: string;
  /** Where the rows came from. */
  source: "VISION" | "REST";
  /** Rows. */
  rows: number;
  /** First time, in the file's unit (see {@linkcode PartitionKind.timeScale}); undefined without rows. */
  firstTime?: number;
  /** Last time, in the file's unit; undefined without rows. */
  lastTime?: number;
}

/** What the writer states about a partition. */
export interface PartitionWriteMeta {
  /** Where the rows came from. */
  source: "VISION" | "REST";
  /** SHA-256 of the Vision archive, when they came from one. */
  visionSha256?: string;
}

/** A dataset's partitions: their keys, folders, period and file codec. */
export interface PartitionKind<K, D> {
  /** The rows' name in messages, e.g. `events`, `trades`. */
  readonly rows: string;
  /** One file per UTC day or per calendar month. */
  readonly period: "day" | "month";
  /** Units of the file's times per millisecond: 1 (ms) or 1000 (µs). */
  readonly timeScale: number;
  /** The datasets (folder names) and the markets that publish each. */
  readonly datasets: Readonly<Record<string, readonly Market[]>>;
  /**
   * Validates a key (misuse throws a `TypeError` before any I/O) and says
   * where it lies; the partition text is checked by the store.
   */
  place(key: K): PartitionPlace;
  /** The key of a place. */
  keyOf(place: PartitionPlace): K;
  /** A name for messages, e.g. `funding rates um BTCUSDT "2024-01"`. */
  describe(place: PartitionPlace): string;
  /** Decodes and validates a whole file of the place's dataset; throws `CacheError`. */
  decode(
    bytes: Uint8Array,
    place: PartitionPlace,
    file: string,
  ): { decoded: D; meta: PlacedMetadata };
  /** Reads only the metadata (footer) of a file of the place's dataset; throws `CacheError`. */
  metadata(bytes: Uint8Array, place: PartitionPlace): PlacedMetadata;
  /** Encodes batches as the place's file (misuse throws). */
  encode(
    batches: readonly RecordBatch[],
    place: PartitionPlace,
    meta: PartitionWriteMeta,
    writtenAt: number,
  ): Uint8Array;
}

/** Options of {@linkcode PartitionStore}. */
export interface PartitionStoreOptions {
  /** The clock, epoch ms. @default {Date.now} */
  now?: () => number;
  /** Hears files set aside and refusals. */
  logger?: (message: string) => void;
}

/** Which partitions a maintenance call selects; every field narrows the selection. */
export interface PartitionFilter {
  /** Only this market. */
  market?: Market;
  /** Only this dataset. */
  dataset?: string;
  /** Only this symbol (canonical). */
  symbol?: string;
  /** Only partitions ending after this epoch ms. */
  start?: number;
  /** Only partitions starting before this epoch ms. */
  end?: number;
}

/** A partition file found by {@linkcode PartitionStore.list}. */
export interface PartitionEntry<K> {
  /** Its key. */
  key: K;
  /** Where it lies: an absolute path, or the object's URL. */
  path: string;
  /** Size in bytes. */
  bytes: number;
  /** Last modification, epoch ms, where the storage says. */
  modifiedAt?: number;
}

/** What {@linkcode PartitionStore.verify} found. */
export interface PartitionVerifyReport<K> {
  /** Files read. */
  checked: number;
  /** Files valid. */
  ok: number;
  /** Files damaged or foreign, with why (and where they were moved, with `quarantine`). */
  corrupt: { key: K; path: string; reason: string; movedTo?: string }[];
}

const KEY_TEXT = { day: /^\d{4}-\d{2}-\d{2}$/, month: /^\d{4}-\d{2}$/ };
const FORM = { day: "YYYY-MM-DD", month: "YYYY-MM" };

/** The bounds of a partition key of the period, or undefined when it is not one. */
function boundsOf(text: string, period: "day" | "month"): Partition | undefined {
  if (!KEY_TEXT[period].test(text)) return undefined;
  const t = Date.parse(`${period === "day" ? text : `${text}-01`}T00:00:00Z`);
  const partition = Number.isNaN(t) ? undefined : partitionOf(t, period);
  return partition?.key === text ? partition : undefined;
}

/** A series folder of a walk: its selected partition files and set-aside copies. */
interface SeriesFolder<K> {
  folder: string;
  partitions: { key: K; file: string; bytes?: number; modifiedAt?: number }[];
  setAside: string[];
}

/** A checked key: its place, bounds and file. */
interface Checked {
  place: PartitionPlace;
  bounds: Partition;
  folder: string;
  file: string;
}

/** The folder of a series under the root, `/`-separated. */
function folderOf(place: Omit<PartitionPlace, "partition">): string {
  return `v1/binance/${place.market}/${place.dataset}/${symbolFolder(place.symbol)}`;
}

/**
 * Partition files of one kind of dataset in a cache's storage: the rules
 * of every event partition store (keys, validation, set-aside, Vision never
 * replaced by REST), whatever the storage.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PartitionStore } from "./partition_store.ts";
 * import { FsPartitionStore } from "./fs_partition_store.ts";
 * import { FUNDING_KIND } from "./fs_funding_store.ts";
 * const root = await Deno.makeTempDir();
 * const store: PartitionStore<unknown, unknown> = new FsPartitionStore(root, FUNDING_KIND);
 * assert.deepEqual(await store.list(), []);
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export class PartitionStore<K, D> {
  /** The cache root: an absolute folder, or the object store's URL. */
  readonly root: string;
  /** False when the store only reads. */
  readonly writable: boolean;
  readonly #files: CacheFiles;
  readonly #kind: PartitionKind<K, D>;
  readonly #now: () => number;
  readonly #log: (message: string) => void;
  readonly #file: RegExp;

  /**
   * Creates the instance (no I/O).
   *
   * @param files The storage.
   * @param kind The dataset's keys, folders and codec.
   * @param options Clock, logger.
   */
  constructor(files: CacheFiles, kind: PartitionKind<K, D>, options: PartitionStoreOptions = {}) {
    this.root = files.root;
    this.writable = files.writable;
    this.#files = files;
    this.#kind = kind;
    this.#now = options.now ?? Date.now;
    this.#log = options.logger ?? (() => {});
    const key = kind.period === "day" ? String.raw`\d{4}-\d{2}-\d{2}` : String.raw`\d{4}-\d{2}`;
    this.#file = new RegExp(`^(${key})\\.arrow$`);
  }

  #check(key: K): Checked {
    const place = this.#kind.place(key);
    const bounds = boundsOf(place.partition, this.#kind.period);
    if (bounds === undefined) {
      throw new InvalidTimeError(
        place.partition,
        `Cannot use ${place.dataset} partition ${JSON.stringify(place.partition)}: ` +
          `expected ${FORM[this.#kind.period]}`,
      );
    }
    const folder = folderOf(place);
    return { place, bounds, folder, file: `${folder}/${place.partition}.arrow` };
  }

  /** The file decoded when it holds the checked key's partition, else why it cannot be used. */
  #checkFile(
    bytes: Uint8Array,
    path: string,
    checked: Checked,
  ): { decoded: D } | { reason: string } {
    let read;
    try {
      read = this.#kind.decode(bytes, checked.place, path);
    } catch (error) {
      if (!(error instanceof CacheError)) throw error;
      return { reason: error.message };
    }
    const { place, bounds } = checked;
    const reason = this.#misplaced(read.meta, place, bounds);
    return reason === undefined
      ? { decoded: read.decoded }
      : { reason: `Cannot use cache file "${path}": ${reason}` };
  }

  /** Why a file's metadata does not fit its place, or undefined. */
  #misplaced(m: PlacedMetadata, place: PartitionPlace, bounds: Partition): string | undefined {
    if (m.market !== place.market || m.symbol !== place.symbol || m.partition !== place.partition) {
      return `it holds ${m.market} ${m.symbol} ${m.partition}`;
    }
    const scale = this.#kind.timeScale;
    if (m.rows > 0 && (m.firstTime! < bounds.start * scale || m.lastTime! >= bounds.end * scale)) {
      return `its ${this.#kind.rows} lie outside ${place.partition}`;
    }
    return undefined;
  }

  /** A whole file; a non-file reads as its `lstat` (set aside by the caller). */
  async #readFile(file: string): Promise<{ read?: FileRead; notAFile?: NotAFileError }> {
    try {
      return { read: await this.#files.read(file) };
    } catch (cause) {
      if (cause instanceof NotAFileError) return { read: cause.read, notAFile: cause };
      if (cause instanceof CacheError) throw cause;
      const path = this.#files.name(file);
      throw new CacheError(`Cannot read cache file "${path}"`, path, { cause });
    }
  }

  /**
   * Reads a partition.
   *
   * @param key The partition.
   * @returns The decoded file; undefined when absent, or found damaged or
   *   foreign (then set aside when writable, and logged).
   * @throws {TypeError} When the key is invalid (before any I/O).
   * @throws {CacheError} When the file cannot be read.
   */
  async read(key: K): Promise<D | undefined> {
    const checked = this.#check(key);
    if (this.#files.refusal(checked.folder) !== undefined) return undefined;
    const path = this.#files.name(checked.file);
    const { read, notAFile } = await this.#readFile(checked.file);
    if (read === undefined) return undefined;
    // A folder, link or other non-file where the partition goes: set aside, fetched again.
    if (notAFile !== undefined) return await this.#setAside(checked.file, read, notAFile.message);
    const result = this.#checkFile(read.bytes, path, checked);
    if ("decoded" in result) return result.decoded;
    return await this.#setAside(checked.file, read, result.reason);
  }

  /** Moves a damaged file aside when writable, says so, and reads as absent. */
  async #setAside(file: string, read: FileRead, reason: string): Promise<undefined> {
    const movedTo = await this.#moveAside(file, read);
    this.#log(`${reason}; ${movedTo ? `moved to "${movedTo}"` : "left in place"}`);
    return undefined;
  }

  #moveAside(file: string, read: FileRead): Promise<string | undefined> {
    if (!this.writable) return Promise.resolve(undefined);
    return this.#files.setAside(file, read, this.#now()).catch(() => undefined);
  }

  /**
   * Lists the partition files (nothing is read).
   *
   * @param filter Market, dataset, symbol and time.
   * @returns The files, by dataset, market, symbol and partition.
   * @throws {TypeError} When the filter's market or symbol is invalid.
   */
  async list(filter: PartitionFilter = {}): Promise<PartitionEntry<K>[]> {
    const out: PartitionEntry<K>[] = [];
    for await (const folder of this.#folders(filter)) {
      for (const { key, file, bytes, modifiedAt } of folder.partitions) {
        const info = bytes === undefined ? await this.#files.stat(file) : { bytes, modifiedAt };
        if (info) out.push({ key, path: this.#files.name(file), ...info });
      }
    }
    return out;
  }

  /** The selected series folders under the root, with their selected files and set-aside copies. */
  async *#folders(filter: PartitionFilter): AsyncGenerator<SeriesFolder<K>> {
    const market = filter.market === undefined ? undefined : checkMarket(filter.market);
    const symbol = filter.symbol === undefined ? undefined : checkSymbol(filter.symbol, market);
    for (const [dataset, markets] of Object.entries(this.#kind.datasets)) {
      if (filter.dataset !== undefined && filter.dataset !== dataset) continue;
      for (const m of market ? markets.filter((x) => x === market) : markets) {
        const base = `v1/binance/${m}/${dataset}`;
        const symbols = symbol === undefined
          ? (await this.#files.folders(base)).map(symbolOfFolder)
            .filter((x): x is string => x !== undefined)
          : [symbol];
        for (const s of symbols.sort()) {
          const folder = folderOf({ market: m, dataset, symbol: s });
          if (this.#files.refusal(folder) !== undefined) continue;
          const listing = await this.#files.list(folder);
          yield this.#scan(folder, listing, { market: m, dataset, symbol: s }, filter);
        }
      }
    }
  }

  #scan(
    folder: string,
    listing: FolderListing,
    series: Omit<PartitionPlace, "partition">,
    filter: PartitionFilter,
  ): SeriesFolder<K> {
    const out: SeriesFolder<K> = { folder, partitions: [], setAside: [] };
    const selected = (name: string) => {
      const partition = this.#file.exec(name)?.[1];
      const bounds = partition && boundsOf(partition, this.#kind.period);
      if (!partition || !bounds) return undefined;
      const after = bounds.end > (filter.start ?? -Infinity);
      return after && bounds.start < (filter.end ?? Infinity) ? partition : undefined;
    };
    for (const file of [...listing.files].sort((a, b) => a.name < b.name ? -1 : 1)) {
      const partition = selected(file.name);
      if (partition === undefined) continue;
      const key = this.#kind.keyOf({ ...series, partition });
      out.partitions.push({ ...file, key, file: `${folder}/${file.name}` });
    }
    for (const copy of listing.setAside) {
      if (selected(copy.name) !== undefined) out.setAside.push(copy.key);
    }
    return out;
  }

  /**
   * Re-reads and validates the selected files.
   *
   * @param filter Market, dataset, symbol and time.
   * @param quarantine Move damaged files aside (needs a writable store).
   * @returns Counts and the damaged files.
   * @throws {CacheError} When a file cannot be read.
   */
  async verify(
    filter: PartitionFilter = {},
    quarantine = false,
  ): Promise<PartitionVerifyReport<K>> {
    const report: PartitionVerifyReport<K> = { checked: 0, ok: 0, corrupt: [] };
    for await (const folder of this.#folders(filter)) {
      for (const entry of folder.partitions) {
        const path = this.#files.name(entry.file);
        const { read, notAFile } = await this.#readFile(entry.file);
        if (read === undefined) continue;
        report.checked++;
        const result = notAFile === undefined
          ? this.#checkFile(read.bytes, path, this.#check(entry.key))
          : { reason: notAFile.message };
        if (!("reason" in result)) {
          report.ok++;
          continue;
        }
        const movedTo = quarantine ? await this.#moveAside(entry.file, read) : undefined;
        report.corrupt.push({ key: entry.key, path, reason: result.reason, movedTo });
      }
    }
    return report;
  }

  /**
   * Deletes the selected partitions and their set-aside copies.
   *
   * @param filter Market, dataset, symbol and time; `{}` deletes every one.
   * @returns Partition files deleted (0 when read-only).
   * @throws {CacheError} When a file cannot be deleted.
   */
  async clear(filter: PartitionFilter = {}): Promise<number> {
    if (!this.writable) return 0;
    let removed = 0;
    for await (const folder of this.#folders(filter)) {
      for (const { file } of folder.partitions) {
        try {
          if (await this.#files.remove(file)) removed++;
        } catch (cause) {
          if (cause instanceof CacheError) throw cause;
          const path = this.#files.name(file);
          throw new CacheError(`Cannot delete cache file "${path}"`, path, { cause });
        }
      }
      for (const copy of folder.setAside) await this.#files.remove(copy).catch(() => {});
      await this.#files.removeFolder(folder.folder); // when it became empty
    }
    return removed;
  }

  /**
   * Where a key's partition lies: market, dataset (folder), symbol, partition.
   *
   * @param key The partition.
   * @returns Its place.
   * @throws {TypeError} When the key is invalid.
   */
  placeOf(key: K): PartitionPlace {
    return this.#check(key).place;
  }

  /**
   * Reads only the metadata of a partition file (its footer; the rows are
   * neither read nor checked): what maintenance lists.
   *
   * @param key The partition.
   * @returns Source, rows, first and last time; undefined when absent,
   *   unreadable or not a file.
   * @throws {TypeError} When the key is invalid.
   */
  async info(key: K): Promise<PlacedMetadata | undefined> {
    const { place, folder, file } = this.#check(key);
    if (this.#files.refusal(folder) !== undefined) return undefined;
    try {
      const read = await this.#files.readFooter(file);
      return read && this.#kind.metadata(read.bytes, place);
    } catch {
      return undefined;
    }
  }

  /**
   * Whether a partition file is there (a regular file; not read nor validated).
   *
   * @param key The partition.
   * @returns True when a file lies at the key's place.
   * @throws {TypeError} When the key is invalid.
   */
  async has(key: K): Promise<boolean> {
    const { folder, file } = this.#check(key);
    if (this.#files.refusal(folder) !== undefined) return false;
    return await this.#files.exists(file);
  }

  /**
   * Writes a closed partition whole (atomically).
   *
   * @param key The partition.
   * @param batches Its rows, of the dataset's schema.
   * @param meta Source and Vision checksum.
   * @returns False when read-only, or when a Vision file is kept (REST never replaces Vision).
   * @throws {TypeError} When the key is invalid.
   * @throws {CacheError} When the partition is not closed, rows lie outside
   *   it or do not encode, the folder leads out of the root, or the file
   *   cannot be written.
   */
  async write(key: K, batches: readonly RecordBatch[], meta: PartitionWriteMeta): Promise<boolean> {
    const checked = this.#check(key);
    if (!this.writable) return false;
    const { place, bounds, folder, file } = checked;
    const kind = this.#kind;
    const path = this.#files.name(file);
    const what = kind.describe(place);
    const now = this.#now();
    if (bounds.end > now) {
      throw new CacheError(
        `Cannot cache ${what}: it is not closed until ${new Date(bounds.end).toISOString()}`,
        path,
      );
    }
    const refused = this.#files.refusal(folder);
    if (refused !== undefined) throw new CacheError(refused, path);
    let bytes: Uint8Array;
    try {
      const sha = meta.source === "VISION" ? meta.visionSha256 : undefined;
      bytes = kind.encode(batches, place, { source: meta.source, visionSha256: sha }, now);
    } catch (cause) {
      throw new CacheError(`Cannot cache ${what}: ${(cause as Error).message}`, path, { cause });
    }
    if (this.#misplaced(kind.metadata(bytes, place), place, bounds) !== undefined) {
      throw new CacheError(`Cannot cache ${what}: ${kind.rows} outside the ${kind.period}`, path);
    }
    // REST never replaces Vision: a Vision file there is kept.
    const keeps = (existing: Uint8Array) => {
      if (meta.source === "VISION") return false;
      try {
        return kind.metadata(existing, place).source === "VISION";
      } catch {
        return false;
      }
    };
    try {
      return await this.#files.write(file, bytes, keeps);
    } catch (cause) {
      if (cause instanceof CacheError) throw cause;
      throw new CacheError(`Cannot write cache file "${path}"`, path, { cause });
    }
  }
}
