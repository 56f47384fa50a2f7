/**
 * The event partitions of the file cache, whatever their dataset: one Arrow
 * IPC file per closed partition (a month of funding rates, a day of trades)
 * at `{root}/v1/binance/{market}/{dataset}/{SYMBOL}/{partition}.arrow`,
 * beside the kline folders, with the same guarantees: validated on read (a
 * damaged or foreign file is set aside and fetched again), written
 * atomically, never through a link out of the root, Vision never replaced
 * by REST. `FsFundingStore` and `FsTradeStore` are this store with their
 * dataset's {@linkcode PartitionKind}.
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";
import { join } from "node:path";
import { CacheError, InvalidTimeError } from "../core/errors.ts";
import type { Market } from "../core/market.ts";
import { type Partition, partitionOf } from "../core/partition.ts";
import {
  type FileRead,
  NotAFileError,
  readHeadAndFooter,
  readWhole,
  setAside,
  writeAtomic,
} from "./_fs_io.ts";
import {
  assertUnder,
  checkMarket,
  checkSymbol,
  escapesRoot,
  resolveRoot,
  symbolFolder,
  symbolOfFolder,
} from "./_kline_paths.ts";

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

/** Options of {@linkcode FsPartitionStore}. */
export interface FsPartitionStoreOptions {
  /** Never write nor move files. @default {false} */
  readOnly?: boolean;
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

/** A partition file found by {@linkcode FsPartitionStore.list}. */
export interface PartitionEntry<K> {
  /** Its key. */
  key: K;
  /** Absolute path. */
  path: string;
  /** Size in bytes. */
  bytes: number;
  /** Last modification, epoch ms, where the platform says. */
  modifiedAt?: number;
}

/** What {@linkcode FsPartitionStore.verify} found. */
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

/** Entry names of a folder; none when it does not exist. */
async function entries(dir: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) out.push(e.name);
  } catch (cause) {
    if (cause instanceof Deno.errors.NotFound) return out;
    throw new CacheError(`Cannot list cache folder "${dir}"`, dir, { cause });
  }
  return out;
}

/** The bounds of a partition key of the period, or undefined when it is not one. */
function boundsOf(text: string, period: "day" | "month"): Partition | undefined {
  if (!KEY_TEXT[period].test(text)) return undefined;
  const t = Date.parse(`${period === "day" ? text : `${text}-01`}T00:00:00Z`);
  const partition = Number.isNaN(t) ? undefined : partitionOf(t, period);
  return partition?.key === text ? partition : undefined;
}

/** A series folder of a walk: its selected partition files and set-aside copies. */
interface SeriesFolder<K> {
  dir: string;
  partitions: { key: K; path: string }[];
  corrupt: string[];
}

/** A checked key: its place and bounds. */
interface Checked {
  place: PartitionPlace;
  bounds: Partition;
}

/**
 * Partition files of one kind of dataset in a cache folder.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FsPartitionStore } from "./fs_partition_store.ts";
 * import { FUNDING_KIND } from "./fs_funding_store.ts";
 * const root = await Deno.makeTempDir();
 * const store = new FsPartitionStore(root, FUNDING_KIND, { readOnly: true });
 * assert.deepEqual(await store.list(), []);
 * assert.equal(await store.read({ market: "um", symbol: "BTCUSDT", partition: "2024-01" }), undefined);
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export class FsPartitionStore<K, D> {
  /** The cache root, absolute. */
  readonly root: string;
  /** False when the store only reads. */
  readonly writable: boolean;
  readonly #kind: PartitionKind<K, D>;
  readonly #now: () => number;
  readonly #log: (message: string) => void;
  readonly #file: RegExp;
  readonly #corrupt: RegExp;

  /**
   * Creates the instance (no I/O).
   *
   * @param root The cache root (the folder holding `v1/`).
   * @param kind The dataset's keys, folders and codec.
   * @param options Read-only mode, clock, logger.
   */
  constructor(root: string, kind: PartitionKind<K, D>, options: FsPartitionStoreOptions = {}) {
    this.root = resolveRoot(root);
    this.writable = options.readOnly !== true;
    this.#kind = kind;
    this.#now = options.now ?? Date.now;
    this.#log = options.logger ?? (() => {});
    const key = kind.period === "day" ? String.raw`\d{4}-\d{2}-\d{2}` : String.raw`\d{4}-\d{2}`;
    this.#file = new RegExp(`^(${key})\\.arrow$`);
    this.#corrupt = new RegExp(`^(${key})\\.arrow\\.corrupt-\\d+$`);
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
    return { place, bounds };
  }

  #folder(place: Omit<PartitionPlace, "partition">): string {
    const { market, dataset, symbol } = place;
    const folder = join(this.root, "v1", "binance", market, dataset, symbolFolder(symbol));
    assertUnder(this.root, folder);
    return folder;
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
    const folder = this.#folder(checked.place);
    if (escapesRoot(this.root, folder) !== undefined) return undefined;
    const path = join(folder, `${checked.place.partition}.arrow`);
    let file;
    try {
      file = await readWhole(path);
    } catch (cause) {
      if (!(cause instanceof NotAFileError)) {
        throw new CacheError(`Cannot read cache file "${path}"`, path, { cause });
      }
      // A folder, link or other non-file where the partition goes: set aside, fetched again.
      return await this.#setAside(path, cause.read, cause.message);
    }
    if (file === undefined) return undefined;
    const result = this.#checkFile(file.bytes, path, checked);
    if ("decoded" in result) return result.decoded;
    return await this.#setAside(path, file, result.reason);
  }

  /** Moves a damaged file aside when writable, says so, and reads as absent. */
  async #setAside(path: string, file: FileRead, reason: string): Promise<undefined> {
    const movedTo = this.writable
      ? await setAside(path, file, this.#now()).catch(() => undefined)
      : undefined;
    this.#log(`${reason}; ${movedTo ? `moved to "${movedTo}"` : "left in place"}`);
    return undefined;
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
      for (const { key, path } of folder.partitions) {
        const info = await Deno.lstat(path).catch(() => undefined);
        if (info) out.push({ key, path, bytes: info.size, modifiedAt: info.mtime?.getTime() });
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
        const base = join(this.root, "v1", "binance", m, dataset);
        const symbols = symbol === undefined
          ? (await entries(base)).map(symbolOfFolder).filter((x): x is string => x !== undefined)
          : [symbol];
        for (const s of symbols.sort()) {
          const folder = this.#folder({ market: m, dataset, symbol: s });
          if (escapesRoot(this.root, folder) !== undefined) continue;
          yield await this.#scan(folder, { market: m, dataset, symbol: s }, filter);
        }
      }
    }
  }

  async #scan(
    dir: string,
    series: Omit<PartitionPlace, "partition">,
    filter: PartitionFilter,
  ): Promise<SeriesFolder<K>> {
    const out: SeriesFolder<K> = { dir, partitions: [], corrupt: [] };
    for (const name of (await entries(dir)).sort()) {
      const partition = this.#file.exec(name)?.[1] ?? this.#corrupt.exec(name)?.[1];
      const bounds = partition && boundsOf(partition, this.#kind.period);
      if (!partition || !bounds) continue;
      if (bounds.end <= (filter.start ?? -Infinity) || bounds.start >= (filter.end ?? Infinity)) {
        continue;
      }
      const path = join(dir, name);
      if (!name.endsWith(".arrow")) out.corrupt.push(path);
      else out.partitions.push({ key: this.#kind.keyOf({ ...series, partition }), path });
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
    for (const entry of await this.list(filter)) {
      let notAFile: NotAFileError | undefined;
      const file = await readWhole(entry.path).catch((cause) => {
        if (cause instanceof NotAFileError) return (notAFile = cause).read;
        throw new CacheError(`Cannot read cache file "${entry.path}"`, entry.path, { cause });
      });
      if (file === undefined) continue;
      report.checked++;
      const result = notAFile === undefined
        ? this.#checkFile(file.bytes, entry.path, this.#check(entry.key))
        : { reason: notAFile.message };
      if (!("reason" in result)) {
        report.ok++;
        continue;
      }
      const movedTo = quarantine && this.writable
        ? await setAside(entry.path, file, this.#now()).catch(() => undefined)
        : undefined;
      report.corrupt.push({ key: entry.key, path: entry.path, reason: result.reason, movedTo });
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
      for (const { path } of folder.partitions) {
        try {
          await Deno.remove(path);
          removed++;
        } catch (cause) {
          if (!(cause instanceof Deno.errors.NotFound)) {
            throw new CacheError(`Cannot delete cache file "${path}"`, path, { cause });
          }
        }
      }
      for (const path of folder.corrupt) await Deno.remove(path).catch(() => {});
      await Deno.remove(folder.dir).catch(() => {}); // when it became empty
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
    const { place } = this.#check(key);
    const folder = this.#folder(place);
    if (escapesRoot(this.root, folder) !== undefined) return undefined;
    const path = join(folder, `${place.partition}.arrow`);
    try {
      const file = await readHeadAndFooter(path);
      return file && this.#kind.metadata(file.bytes, place);
    } catch {
      return undefined;
    }
  }

  /**
   * Whether a partition file is there (a regular file; not read nor validated).
   *
   * @param key The partition.
   * @returns True when a file lies at the key's path.
   * @throws {TypeError} When the key is invalid.
   */
  async has(key: K): Promise<boolean> {
    const { place } = this.#check(key);
    const folder = this.#folder(place);
    if (escapesRoot(this.root, folder) !== undefined) return false;
    const info = await Deno.lstat(join(folder, `${place.partition}.arrow`)).catch(() => undefined);
    return info?.isFile === true;
  }

  /**
   * Writes a closed partition atomically.
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
    const { place, bounds } = checked;
    const kind = this.#kind;
    const folder = this.#folder(place);
    const path = join(folder, `${place.partition}.arrow`);
    const what = kind.describe(place);
    const now = this.#now();
    if (bounds.end > now) {
      throw new CacheError(
        `Cannot cache ${what}: it is not closed until ${new Date(bounds.end).toISOString()}`,
        path,
      );
    }
    const refused = escapesRoot(this.root, folder);
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
    const keepsVision = async () => {
      if (meta.source === "VISION") return false;
      const existing = await readWhole(path).catch(() => undefined);
      if (!existing) return false;
      try {
        return kind.metadata(existing.bytes, place).source === "VISION";
      } catch {
        return false;
      }
    };
    if (await keepsVision()) return false;
    try {
      return await writeAtomic(path, bytes, async () => !(await keepsVision()));
    } catch (cause) {
      throw new CacheError(`Cannot write cache file "${path}"`, path, { cause });
    }
  }
}
