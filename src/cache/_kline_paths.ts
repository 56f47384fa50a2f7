/**
 * Cache keys to paths and back: validation of every key part before a path
 * is built, and the check that the path stays under the root.
 *
 * Layout: `{root}/v1/binance/{market}/klines/{SYMBOL}/{interval}/{key}.arrow`,
 * where the `1M` folder is spelled `1mo` (as on Vision) so that it cannot
 * collide with `1m` on case-insensitive file systems.
 *
 * The `{SYMBOL}` folder is the symbol itself when it is ASCII (`A-Z`, `0-9`,
 * `_`, `-`) and not a Windows device name; any other symbol (non-ASCII, or
 * `CON`, `PRN`, `AUX`, `NUL`, `COM0`-`COM9`, `LPT0`-`LPT9`) is stored as the
 * percent-encoding of its UTF-8 bytes with upper-case hex (`币安人生USDT` →
 * `%E5%B8%81%E5%AE%89%E4%BA%BA%E7%94%9FUSDT`, `CON` → `%43%4F%4E`). Folder
 * names are thus ASCII, with no separators, dots or reserved characters, and
 * upper case: case-insensitive and normalizing (NFD) file systems cannot
 * merge two of them. {@linkcode symbolOfFolder} is the exact inverse; a
 * folder name that is not the encoding of a valid symbol is a foreign folder.
 *
 * @module
 */
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import {
  type Dataset,
  datasetField,
  datasetInfo,
  DATASETS,
  parseDataset,
} from "../core/dataset.ts";
import {
  InvalidDatasetError,
  InvalidIntervalError,
  InvalidMarketError,
  InvalidSymbolError,
  InvalidTimeError,
} from "../core/errors.ts";
import {
  type Interval,
  INTERVALS,
  isIntervalAvailable,
  partitionPeriod,
  visionIntervalName,
} from "../core/interval.ts";
import { type Market, MARKETS } from "../core/market.ts";
import { type Partition, partitionOf } from "../core/partition.ts";
import { SYMBOL_PATTERN, validateSymbol } from "../core/symbol.ts";
import { toEpochMs } from "../core/time.ts";
import type { KlineIpcMetadata } from "../codec/kline_ipc.ts";
import type { CacheFilter, PartitionKey } from "./kline_store.ts";

const KEY_PATTERN = /^\d{4}-\d{2}(-\d{2})?$/;
/** A partition file name; group 1 is the key. */
export const FILE_PATTERN: RegExp = /^(\d{4}-\d{2}(?:-\d{2})?)\.arrow$/;
/** A file set aside as corrupt; group 1 is the key. */
export const CORRUPT_PATTERN: RegExp = /^(\d{4}-\d{2}(?:-\d{2})?)\.arrow\.corrupt-\d+$/;
/** A temporary file of a write in progress (or of a crashed writer). */
export const TEMP_PATTERN: RegExp = /^\d{4}-\d{2}(?:-\d{2})?\.arrow\.\d+\.[0-9a-f]+\.tmp$/;

/** The folder name of an interval. */
export function intervalFolder(interval: Interval): string {
  return visionIntervalName(interval);
}

/** The interval of a folder name, or undefined for foreign folders. */
export function intervalOfFolder(name: string): Interval | undefined {
  const interval = name === "1mo" ? "1M" : name;
  return name !== "1M" && (INTERVALS as readonly string[]).includes(interval)
    ? interval as Interval
    : undefined;
}

/** Validates a market. */
export function checkMarket(market: unknown): Market {
  if (typeof market !== "string" || !(MARKETS as readonly string[]).includes(market)) {
    throw new InvalidMarketError(
      market,
      `Cannot use market ${JSON.stringify(market)} in the cache`,
    );
  }
  return market as Market;
}

/**
 * Validates a symbol exactly (no case folding, no normalization) for the
 * market: it must be in the canonical form {@linkcode validateSymbol} gives.
 */
export function checkSymbol(symbol: unknown, market?: Market, dataset?: Dataset): string {
  const naming = dataset === undefined ? undefined : datasetInfo(dataset).seriesParameter;
  const canonical = validateSymbol(symbol, market, naming === "pair" ? "pair" : undefined);
  if (canonical !== symbol) {
    throw new InvalidSymbolError(
      symbol,
      `Cannot use symbol ${JSON.stringify(symbol)} in the cache: expected its canonical form ${
        JSON.stringify(canonical)
      }`,
    );
  }
  return canonical;
}

const DEVICE_NAME = /^(CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9])$/;
const ENCODED_FOLDER = /^(?:[A-Z0-9_-]|%[0-9A-F]{2})+$/;
const utf8 = new TextEncoder();

/**
 * The folder name of a canonical symbol: the symbol itself when it is ASCII
 * and not a Windows device name, else the percent-encoding of its UTF-8 bytes
 * (upper-case hex).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { symbolFolder } from "./_kline_paths.ts";
 * assert.equal(symbolFolder("BTCUSDT"), "BTCUSDT");
 * assert.equal(symbolFolder("币安人生USDT"), "%E5%B8%81%E5%AE%89%E4%BA%BA%E7%94%9FUSDT");
 * assert.equal(symbolFolder("CON"), "%43%4F%4E");
 * ```
 */
export function symbolFolder(symbol: string): string {
  if (!SYMBOL_PATTERN.test(symbol)) return encodeURIComponent(symbol);
  if (!DEVICE_NAME.test(symbol)) return symbol;
  return [...utf8.encode(symbol)].map((b) => `%${b.toString(16).toUpperCase()}`).join("");
}

/**
 * The symbol a folder name stands for (the inverse of
 * {@linkcode symbolFolder}), or undefined for a folder that is not the
 * encoding of a valid symbol.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { symbolOfFolder } from "./_kline_paths.ts";
 * assert.equal(symbolOfFolder("%E5%B8%81%E5%AE%89%E4%BA%BA%E7%94%9FUSDT"), "币安人生USDT");
 * assert.equal(symbolOfFolder("%42TCUSDT"), undefined); // BTCUSDT's folder is BTCUSDT
 * assert.equal(symbolOfFolder("%2E%2E"), undefined);
 * ```
 */
export function symbolOfFolder(name: string): string | undefined {
  if (!ENCODED_FOLDER.test(name)) return undefined;
  let symbol: string;
  try {
    symbol = name.includes("%") ? decodeURIComponent(name) : name;
    checkSymbol(symbol);
  } catch {
    return undefined;
  }
  return symbolFolder(symbol) === name ? symbol : undefined;
}

/** Validates an interval for the market. */
export function checkInterval(interval: unknown, market?: Market): Interval {
  if (typeof interval !== "string" || !(INTERVALS as readonly string[]).includes(interval)) {
    throw new InvalidIntervalError(
      interval,
      `Cannot use interval ${JSON.stringify(interval)} in the cache`,
    );
  }
  if (market !== undefined && !isIntervalAvailable(interval as Interval, market)) {
    throw new InvalidIntervalError(
      interval,
      `Cannot use interval "${interval}" on market "${market}": it is only available on spot`,
    );
  }
  return interval as Interval;
}

/**
 * Validates a partition key for the interval and returns its bounds.
 *
 * @throws {InvalidTimeError} When the key is malformed, not a real day or
 *   month, or of the wrong period for the interval.
 */
export function checkPartition(key: unknown, interval: Interval): Partition {
  const period = partitionPeriod(interval);
  const bad = (why: string) =>
    new InvalidTimeError(key, `Cannot use partition ${JSON.stringify(key)}: ${why}`);
  if (typeof key !== "string" || !KEY_PATTERN.test(key)) {
    throw bad("expected YYYY-MM-DD or YYYY-MM");
  }
  if ((key.length === 10) !== (period === "day")) {
    throw bad(`interval "${interval}" is partitioned by ${period}`);
  }
  const t = Date.parse(key.length === 10 ? `${key}T00:00:00Z` : `${key}-01T00:00:00Z`);
  const partition = Number.isNaN(t) ? undefined : partitionOf(t, period);
  if (partition === undefined || partition.key !== key) throw bad("no such date");
  return partition;
}

/** A validated key with its partition bounds. */
export interface CheckedKey extends PartitionKey {
  /** The partition's bounds. */
  bounds: Partition;
}

/**
 * Validates every part of a key (misuse raises before any I/O).
 *
 * @throws {TypeError} Subclasses for a bad market, symbol, interval or partition.
 */
export function checkKey(key: PartitionKey): CheckedKey {
  if (typeof key !== "object" || key === null) {
    throw new TypeError("Cannot use the cache: the partition key must be an object");
  }
  const market = checkMarket(key.market);
  const dataset = checkDataset(key.dataset, market);
  const symbol = checkSymbol(key.symbol, market, dataset);
  const interval = checkInterval(key.interval, market);
  const bounds = checkPartition(key.partition, interval);
  return { ...datasetField(dataset), market, symbol, interval, partition: bounds.key, bounds };
}

/** A validated filter. */
export interface CheckedFilter {
  /** Only this dataset. */
  dataset?: Dataset;
  /** Only this market. */
  market?: Market;
  /** Only this symbol. */
  symbol?: string;
  /** Only this interval. */
  interval?: Interval;
  /** Partitions ending after this epoch ms (or -Infinity). */
  start: number;
  /** Partitions starting before this epoch ms (or Infinity). */
  end: number;
}

/** Validates a filter; times become epoch ms. */
export function checkFilter(filter: CacheFilter = {}): CheckedFilter {
  const market = filter.market === undefined ? undefined : checkMarket(filter.market);
  const dataset = filter.dataset === undefined ? undefined : checkDataset(filter.dataset, market);
  const symbol = filter.symbol === undefined
    ? undefined
    : checkSymbol(filter.symbol, market, dataset);
  const interval = filter.interval === undefined
    ? undefined
    : checkInterval(filter.interval, market);
  const start = filter.start === undefined ? -Infinity : toEpochMs(filter.start, "start");
  const end = filter.end === undefined ? Infinity : toEpochMs(filter.end, "end");
  return { dataset, market, symbol, interval, start, end };
}

/** Resolves a root folder to an absolute path. */
export function resolveRoot(root: string): string {
  return resolve(root);
}

/**
 * A dataset of candles on the interval grid, checked for the market
 * (misuse raises before any I/O); undefined stands for `klines`.
 *
 * @throws {InvalidDatasetError} For an unknown dataset, one the market does
 *   not publish, or one without an interval grid.
 */
export function checkDataset(dataset: unknown, market?: Market): Dataset {
  const checked = parseDataset(dataset, market);
  if (datasetInfo(checked).series !== "grid") {
    throw new InvalidDatasetError(
      dataset,
      `Cannot use dataset "${checked}" in the kline cache: its rows are not on an interval grid`,
    );
  }
  return checked;
}

/**
 * The key prefix of a series in an object store (no leading or trailing
 * `/`): the folders of {@linkcode folderOf}, `/`-separated.
 */
export function seriesKey(key: Omit<PartitionKey, "partition">): string {
  const dataset = key.dataset ?? "klines";
  return `v1/binance/${key.market}/${dataset}/${symbolFolder(key.symbol)}/${
    intervalFolder(key.interval)
  }`;
}

/** The grid datasets a filter selects, klines first. */
export function filterDatasets(f: CheckedFilter): Dataset[] {
  return f.dataset ? [f.dataset] : DATASETS.filter((d) => datasetInfo(d).series === "grid");
}

/** A key checked, or undefined for one that is not valid (a foreign file: not ours to report). */
export function validKey(key: PartitionKey): CheckedKey | undefined {
  try {
    return checkKey(key);
  } catch {
    return undefined;
  }
}

/** Whether a checked key lies in a filter's time range. */
export function inRange(key: CheckedKey, f: CheckedFilter): boolean {
  return key.bounds.end > f.start && key.bounds.start < f.end;
}

/** The folder holding one symbol and interval. */
export function folderOf(root: string, key: Omit<PartitionKey, "partition">): string {
  return join(
    root,
    "v1",
    "binance",
    key.market,
    key.dataset ?? "klines",
    symbolFolder(key.symbol),
    intervalFolder(key.interval),
  );
}

/**
 * The file of a checked key, asserted to lie under the root.
 *
 * @throws {Error} When the path would escape the root (cannot happen for checked keys).
 */
export function pathOf(root: string, key: CheckedKey): string {
  // The partition is a checked YYYY-MM-DD or YYYY-MM: it cannot leave the folder.
  return `${seriesFolder(root, key)}${SEP}${key.partition}.arrow`;
}

const SEP = Deno.build.os === "windows" ? "\\" : "/";
const folders = new Map<string, string>();

/**
 * The folder of a checked series, asserted to lie under the root; memoized
 * (a year of days asks for it 365 times).
 */
export function seriesFolder(root: string, key: Omit<PartitionKey, "partition">): string {
  const id = `${root}\0${key.dataset ?? "klines"}\0${key.market}\0${key.symbol}\0${key.interval}`;
  let folder = folders.get(id);
  if (folder === undefined) {
    folder = folderOf(root, key);
    assertUnder(root, folder);
    if (folders.size >= 1024) folders.clear();
    folders.set(id, folder);
  }
  return folder;
}

/**
 * Validates the market, symbol and interval of a series (misuse raises
 * before any I/O).
 *
 * @throws {TypeError} Subclasses for a bad market, symbol or interval.
 */
export function checkSeries(
  series: Omit<PartitionKey, "partition">,
): Omit<PartitionKey, "partition"> {
  if (typeof series !== "object" || series === null) {
    throw new TypeError("Cannot use the cache: the series must be an object");
  }
  const market = checkMarket(series.market);
  const dataset = checkDataset(series.dataset, market);
  const symbol = checkSymbol(series.symbol, market, dataset);
  const interval = checkInterval(series.interval, market);
  return { ...datasetField(dataset), market, symbol, interval };
}

/** Throws unless `path` lies strictly under `root`. */
export function assertUnder(root: string, path: string): void {
  if (outside(root, path)) throw new Error(`Refusing a cache path outside the root: "${path}"`);
}

function isLink(path: string): boolean {
  try {
    return Deno.lstatSync(path).isSymlink;
  } catch {
    return false;
  }
}

/** Whether `path` is not strictly under `root` (by text). */
function outside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === "" || rel.startsWith("..") || isAbsolute(rel);
}

/**
 * Why a folder under the root is refused: it resolves (through symbolic
 * links) outside the root's real path, or goes through a dangling link;
 * undefined when it stays under the root, or does not exist yet and would
 * be created under it. The text check of {@linkcode assertUnder} cannot see
 * links; this one costs one `realpath` (more only for missing folders).
 *
 * @param root The absolute root.
 * @param folder A folder under it (by text).
 */
export function escapesRoot(root: string, folder: string): string | undefined {
  const missing: string[] = [];
  let at = folder;
  let real: string | undefined;
  try {
    while (real === undefined) {
      if (at === root || dirname(at) === at) return undefined; // made fresh under the root
      try {
        real = Deno.realPathSync(at);
      } catch (err) {
        const absent = err instanceof Deno.errors.NotFound ||
          err instanceof Deno.errors.NotADirectory;
        if (!absent) throw err;
        if (isLink(at)) {
          return `Cannot use cache folder "${folder}": "${at}" is a dangling symbolic link; ` +
            `remove it`;
        }
        missing.push(basename(at));
        at = dirname(at);
      }
    }
    const realRoot = Deno.realPathSync(root);
    const resolved = join(real, ...missing.reverse());
    if (!outside(realRoot, resolved)) return undefined;
    return `Cannot use cache folder "${folder}": it resolves to "${resolved}", outside the ` +
      `cache root "${realRoot}"; replace the symbolic link with a folder, or remove it`;
  } catch (err) {
    return `Cannot use cache folder "${folder}": its real path cannot be read (${
      err instanceof Error ? err.message : String(err)
    })`;
  }
}

/** Why a file does not describe the partition it is stored as, if so. */
export function keyMismatch(meta: KlineIpcMetadata, key: CheckedKey): string | undefined {
  const { market, symbol, interval, partition, bounds } = key;
  if (
    meta.market !== market || meta.symbol !== symbol || meta.interval !== interval ||
    meta.partition !== partition
  ) {
    return `it holds ${meta.market} ${meta.symbol} ${meta.interval} ${meta.partition}`;
  }
  if (meta.rows > 0 && (meta.firstOpenTime! < bounds.start || meta.lastOpenTime! >= bounds.end)) {
    return `its rows lie outside partition "${partition}"`;
  }
  return undefined;
}
