/**
 * The funding rate partitions of the file cache: one Arrow IPC file per
 * closed month at `{root}/v1/binance/{um|cm}/fundingRate/{SYMBOL}/{YYYY-MM}.arrow`,
 * beside the kline folders, with the same guarantees: validated on read (a
 * damaged or foreign file is set aside and fetched again), written
 * atomically, never through a link out of the root, Vision never replaced
 * by REST.
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";
import { join } from "node:path";
import {
  type DecodedFundingIpc,
  decodeFundingIpc,
  decodeFundingIpcMetadata,
  encodeFundingIpc,
} from "../codec/funding_ipc.ts";
import { CacheError, InvalidDatasetError, InvalidTimeError } from "../core/errors.ts";
import { type Market, parseMarket } from "../core/market.ts";
import { partitionOf } from "../core/partition.ts";
import { type FileRead, NotAFileError, readWhole, setAside, writeAtomic } from "./_fs_io.ts";
import {
  assertUnder,
  checkSymbol,
  escapesRoot,
  resolveRoot,
  symbolFolder,
  symbolOfFolder,
} from "./_kline_paths.ts";

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

/** One month of one symbol's funding rates. */
export interface FundingPartitionKey {
  /** Market, `um` or `cm`. */
  market: Market;
  /** Symbol, canonical (upper case). */
  symbol: string;
  /** The month, `YYYY-MM`. */
  partition: string;
}

/** What the writer states about a funding partition. */
export interface FundingPartitionMeta {
  /** Where the events came from. */
  source: "VISION" | "REST";
  /** SHA-256 of the Vision archive, when they came from one. */
  visionSha256?: string;
}

/** The funding partitions of a cache: read, and write closed months. */
export interface FundingStore {
  /** Reads a month; undefined when absent, or found damaged (then set aside). */
  read(key: FundingPartitionKey): Promise<DecodedFundingIpc | undefined>;
  /** Writes a closed month atomically; false when read-only or a Vision file is kept. */
  write(
    key: FundingPartitionKey,
    batches: readonly RecordBatch[],
    meta: FundingPartitionMeta,
  ): Promise<boolean>;
}

/** Options of {@linkcode FsFundingStore}. */
export interface FsFundingStoreOptions {
  /** Never write nor move files. @default {false} */
  readOnly?: boolean;
  /** The clock, epoch ms. @default {Date.now} */
  now?: () => number;
  /** Hears files set aside and refusals. */
  logger?: (message: string) => void;
}

const MONTH = /^\d{4}-\d{2}$/;
const FILE = /^(\d{4}-\d{2})\.arrow$/;
const CORRUPT = /^\d{4}-\d{2}\.arrow\.corrupt-\d+$/;

/** Which funding partitions a maintenance call selects. */
export interface FundingFilter {
  /** Only this market. */
  market?: "um" | "cm";
  /** Only this symbol (canonical). */
  symbol?: string;
  /** Only months ending after this epoch ms. */
  start?: number;
  /** Only months starting before this epoch ms. */
  end?: number;
}

/** A funding partition file found by {@linkcode FsFundingStore.list}. */
export interface FundingCacheEntry {
  /** Its key. */
  key: FundingPartitionKey;
  /** Absolute path. */
  path: string;
  /** Size in bytes. */
  bytes: number;
  /** Last modification, epoch ms, where the platform says. */
  modifiedAt?: number;
}

/** What {@linkcode FsFundingStore.verify} found. */
export interface FundingVerifyReport {
  /** Files read. */
  checked: number;
  /** Files valid. */
  ok: number;
  /** Files damaged or foreign, with why (and where they were moved, with `quarantine`). */
  corrupt: { key: FundingPartitionKey; path: string; reason: string; movedTo?: string }[];
}

function checkKey(
  key: FundingPartitionKey,
): { key: FundingPartitionKey; start: number; end: number } {
  const market = parseMarket(key.market);
  if (market === "spot") {
    throw new InvalidDatasetError(
      "fundingRate",
      `Invalid dataset "fundingRate": not published for spot (markets: um, cm)`,
    );
  }
  const symbol = checkSymbol(key.symbol, market);
  const t = MONTH.test(key.partition) ? Date.parse(`${key.partition}-01T00:00:00Z`) : NaN;
  const month = Number.isNaN(t) ? undefined : partitionOf(t, "month");
  if (month === undefined || month.key !== key.partition) {
    throw new InvalidTimeError(
      key.partition,
      `Cannot use funding partition ${JSON.stringify(key.partition)}: expected YYYY-MM`,
    );
  }
  return { key: { market, symbol, partition: month.key }, start: month.start, end: month.end };
}

/** The file decoded when it holds the key's month, else why it cannot be used. */
function checkFile(
  bytes: Uint8Array,
  path: string,
  checked: { key: FundingPartitionKey; start: number; end: number },
): { decoded: DecodedFundingIpc } | { reason: string } {
  let decoded: DecodedFundingIpc;
  try {
    decoded = decodeFundingIpc(bytes, { file: path });
  } catch (error) {
    if (!(error instanceof CacheError)) throw error;
    return { reason: error.message };
  }
  const m = decoded.metadata;
  const { key } = checked;
  if (m.market !== key.market || m.symbol !== key.symbol || m.partition !== key.partition) {
    return {
      reason: `Cannot use cache file "${path}": it holds ${m.market} ${m.symbol} ${m.partition}`,
    };
  }
  if (m.rows > 0 && (m.firstFundingTime! < checked.start || m.lastFundingTime! >= checked.end)) {
    return { reason: `Cannot use cache file "${path}": its events lie outside ${key.partition}` };
  }
  return { decoded };
}

/** Why a checked file cannot be used, or undefined when it can. */
function reasonOf(result: { decoded: DecodedFundingIpc } | { reason: string }): string | undefined {
  return "reason" in result ? result.reason : undefined;
}

/**
 * Funding rate partitions in a cache folder.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { allocFundingColumns, fundingBatch } from "../core/funding_schema.ts";
 * import { FsFundingStore } from "./fs_funding_store.ts";
 * const root = await Deno.makeTempDir();
 * const store = new FsFundingStore(root, { now: () => Date.UTC(2025, 0, 1) });
 * const cols = allocFundingColumns(1);
 * cols.fundingTime[0] = Date.UTC(2024, 0, 1) + 1;
 * cols.fundingRate[0] = 0.0001;
 * const key = { market: "um", symbol: "BTCUSDT", partition: "2024-01" } as const;
 * assert.equal(await store.write(key, [fundingBatch(cols, 1)], { source: "REST" }), true);
 * const got = await store.read(key);
 * assert.equal(got?.metadata.rows, 1);
 * assert.equal(got?.batches[0].getChild("funding_rate")?.get(0), 0.0001);
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export class FsFundingStore implements FundingStore {
  /** The cache root, absolute. */
  readonly root: string;
  /** False when the store only reads. */
  readonly writable: boolean;
  readonly #now: () => number;
  readonly #log: (message: string) => void;

  /**
   * Creates the instance (no I/O).
   *
   * @param root The cache root (the folder holding `v1/`).
   * @param options Read-only mode, clock, logger.
   */
  constructor(root: string, options: FsFundingStoreOptions = {}) {
    this.root = resolveRoot(root);
    this.writable = options.readOnly !== true;
    this.#now = options.now ?? Date.now;
    this.#log = options.logger ?? (() => {});
  }

  #folder(key: Omit<FundingPartitionKey, "partition">): string {
    const folder = join(
      this.root,
      "v1",
      "binance",
      key.market,
      "fundingRate",
      symbolFolder(key.symbol),
    );
    assertUnder(this.root, folder);
    return folder;
  }

  /** {@inheritDoc FundingStore.read} */
  async read(key: FundingPartitionKey): Promise<DecodedFundingIpc | undefined> {
    const checked = checkKey(key);
    const folder = this.#folder(checked.key);
    if (escapesRoot(this.root, folder) !== undefined) return undefined;
    const path = join(folder, `${checked.key.partition}.arrow`);
    let file;
    try {
      file = await readWhole(path);
    } catch (cause) {
      if (!(cause instanceof NotAFileError)) {
        throw new CacheError(`Cannot read cache file "${path}"`, path, { cause });
      }
      // A folder, link or other non-file where the month goes: set aside, fetched again.
      return await this.#setAside(path, cause.read, cause.message);
    }
    if (file === undefined) return undefined;
    const result = checkFile(file.bytes, path, checked);
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
   * Lists the funding partition files (nothing is read).
   *
   * @param filter Market, symbol and months.
   * @returns The files, by market, symbol and month.
   */
  async list(filter: FundingFilter = {}): Promise<FundingCacheEntry[]> {
    const out: FundingCacheEntry[] = [];
    for (const market of filter.market ? [filter.market] : (["um", "cm"] as const)) {
      const base = join(this.root, "v1", "binance", market, "fundingRate");
      const symbols = filter.symbol === undefined
        ? (await entries(base)).map(symbolOfFolder).filter((x): x is string => x !== undefined)
        : [filter.symbol];
      for (const symbol of symbols.sort()) {
        const folder = this.#folder({ market, symbol });
        if (escapesRoot(this.root, folder) !== undefined) continue;
        for (const name of (await entries(folder)).sort()) {
          const partition = FILE.exec(name)?.[1];
          if (partition === undefined) continue;
          const month = partitionOf(Date.parse(`${partition}-01T00:00:00Z`), "month");
          if (month.end <= (filter.start ?? -Infinity) || month.start >= (filter.end ?? Infinity)) {
            continue;
          }
          const path = join(folder, name);
          const info = await Deno.lstat(path).catch(() => undefined);
          if (!info) continue;
          out.push({
            key: { market, symbol, partition },
            path,
            bytes: info.size,
            modifiedAt: info.mtime?.getTime(),
          });
        }
      }
    }
    return out;
  }

  /**
   * Re-reads and validates the selected files.
   *
   * @param filter Market, symbol and months.
   * @param quarantine Move damaged files aside (needs a writable store).
   * @returns Counts and the damaged files.
   */
  async verify(filter: FundingFilter = {}, quarantine = false): Promise<FundingVerifyReport> {
    const report: FundingVerifyReport = { checked: 0, ok: 0, corrupt: [] };
    for (const entry of await this.list(filter)) {
      let notAFile: NotAFileError | undefined;
      const file = await readWhole(entry.path).catch((cause) => {
        if (cause instanceof NotAFileError) return (notAFile = cause).read;
        throw new CacheError(`Cannot read cache file "${entry.path}"`, entry.path, { cause });
      });
      if (file === undefined) continue;
      report.checked++;
      const reason = notAFile?.message ??
        reasonOf(checkFile(file.bytes, entry.path, checkKey(entry.key)));
      if (reason === undefined) {
        report.ok++;
        continue;
      }
      const movedTo = quarantine && this.writable
        ? await setAside(entry.path, file, this.#now()).catch(() => undefined)
        : undefined;
      report.corrupt.push({ key: entry.key, path: entry.path, reason, movedTo });
    }
    return report;
  }

  /**
   * Deletes the selected funding partitions and their set-aside copies.
   *
   * @param filter Market, symbol and months; `{}` deletes every one.
   * @returns Partition files deleted (0 when read-only).
   */
  async clear(filter: FundingFilter = {}): Promise<number> {
    if (!this.writable) return 0;
    let removed = 0;
    const folders = new Set<string>();
    for (const entry of await this.list(filter)) {
      try {
        await Deno.remove(entry.path);
        removed++;
      } catch (cause) {
        if (!(cause instanceof Deno.errors.NotFound)) {
          throw new CacheError(`Cannot delete cache file "${entry.path}"`, entry.path, { cause });
        }
      }
      folders.add(join(entry.path, ".."));
    }
    for (const folder of folders) {
      for (const name of await entries(folder)) {
        if (CORRUPT.test(name)) await Deno.remove(join(folder, name)).catch(() => {});
      }
      await Deno.remove(folder).catch(() => {}); // when it became empty
    }
    return removed;
  }

  /** {@inheritDoc FundingStore.write} */
  async write(
    key: FundingPartitionKey,
    batches: readonly RecordBatch[],
    meta: FundingPartitionMeta,
  ): Promise<boolean> {
    const checked = checkKey(key);
    if (!this.writable) return false;
    const folder = this.#folder(checked.key);
    const path = join(folder, `${checked.key.partition}.arrow`);
    const what =
      `funding rates ${checked.key.market} ${checked.key.symbol} "${checked.key.partition}"`;
    const now = this.#now();
    if (checked.end > now) {
      throw new CacheError(
        `Cannot cache ${what}: it is not closed until ${new Date(checked.end).toISOString()}`,
        path,
      );
    }
    const refused = escapesRoot(this.root, folder);
    if (refused !== undefined) throw new CacheError(refused, path);
    let bytes: Uint8Array;
    try {
      bytes = encodeFundingIpc(batches, {
        ...checked.key,
        source: meta.source,
        visionSha256: meta.source === "VISION" ? meta.visionSha256 : undefined,
        writtenAt: now,
      });
    } catch (cause) {
      throw new CacheError(`Cannot cache ${what}: ${(cause as Error).message}`, path, { cause });
    }
    const outside = Array.from(batches).some((b) => {
      const t = b.getChild("funding_time")!;
      return b.numRows > 0 && (t.get(0) < checked.start || t.get(b.numRows - 1) >= checked.end);
    });
    if (outside) throw new CacheError(`Cannot cache ${what}: events outside the month`, path);
    const keepsVision = async () => {
      if (meta.source === "VISION") return false;
      const existing = await readWhole(path).catch(() => undefined);
      if (!existing) return false;
      try {
        return decodeFundingIpcMetadata(existing.bytes).source === "VISION";
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
