/**
 * The `dsm.*` schema metadata every cache partition file carries, whatever
 * its dataset: format version, source, market, symbol, partition, rows,
 * write time, Vision checksum, and the first and last value of the first
 * column (a time, or a trade's id). Typed fields to string pairs and back,
 * with validation of every field read; each dataset adds its own keys
 * (`_kline_ipc_metadata.ts`, `funding_ipc.ts`, `trade_ipc.ts`).
 *
 * @module
 */
import { CacheError } from "../core/errors.ts";

/** Version of the cache file layout written by this module. */
export const FORMAT_VERSION = "1";

/** Prefix of every metadata key. */
export const META_PREFIX = "dsm.";
const P = META_PREFIX;
const FORMAT_VERSION_KEY = P + "format_version";
const SOURCE_KEY = P + "source";
const MARKET_KEY = P + "market";
const SYMBOL_KEY = P + "symbol";
const PARTITION_KEY = P + "partition";
const ROWS_KEY = P + "rows";
const WRITTEN_AT_KEY = P + "written_at";
const SHA_KEY = P + "vision_sha256";

/** The keys of the first and last time, per time column name (built once each). */
const timeKeys = new Map<string, readonly [string, string]>();
function timeKeysOf(timeColumn: string): readonly [string, string] {
  let keys = timeKeys.get(timeColumn);
  if (keys === undefined) {
    keys = [`${P}first_${timeColumn}`, `${P}last_${timeColumn}`];
    timeKeys.set(timeColumn, keys);
  }
  return keys;
}

/** What the writer of any partition file states about it. */
export interface PartitionHeader {
  /** Market: spot, um or cm. */
  market: string;
  /** Symbol, e.g. `BTCUSDT`. */
  symbol: string;
  /** Partition key: `YYYY-MM-DD` or `YYYY-MM`. */
  partition: string;
  /** Where the rows came from. */
  source: "VISION" | "REST";
  /** SHA-256 (hex) of the Vision archive the rows were decoded from. */
  visionSha256?: string;
  /** When the file was written, epoch ms. */
  writtenAt: number;
}

/** Everything any partition file records about itself. */
export interface PartitionMetadata extends PartitionHeader {
  /** Number of rows. */
  rows: number;
  /** First value of the time column, epoch ms; undefined when there are no rows. */
  first?: number;
  /** Last value of the time column, epoch ms; undefined when there are no rows. */
  last?: number;
  /** File layout version, `"1"`. */
  formatVersion: string;
}

/**
 * Serialises the common metadata into `dsm.`-prefixed pairs, with a
 * dataset's own keys after the symbol. A dataset appends its other keys to
 * the map. (This order is the one kline files have always had.)
 *
 * @param m The metadata.
 * @param timeColumn Name of the time column: the keys are `first_<name>`, `last_<name>`.
 * @param own The dataset's keys (without the prefix) and values, e.g. `interval`.
 * @returns Key/value pairs for an Arrow Schema.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { partitionMetadataToMap } from "./_partition_metadata.ts";
 * const map = partitionMetadataToMap({
 *   market: "um", symbol: "BTCUSDT", partition: "2024-01", source: "REST", writtenAt: 0,
 *   rows: 1, first: 5, last: 5, formatVersion: "1",
 * }, "funding_time", [["dataset", "fundingRate"]]);
 * assert.equal(map.get("dsm.first_funding_time"), "5");
 * assert.deepEqual([...map.keys()].slice(3, 5), ["dsm.symbol", "dsm.dataset"]);
 * ```
 */
export function partitionMetadataToMap(
  m: PartitionMetadata,
  timeColumn: string,
  own: readonly (readonly [string, string])[],
): Map<string, string> {
  const map = new Map<string, string>();
  map.set(FORMAT_VERSION_KEY, m.formatVersion);
  map.set(SOURCE_KEY, m.source);
  map.set(MARKET_KEY, m.market);
  map.set(SYMBOL_KEY, m.symbol);
  for (let i = 0; i < own.length; i++) map.set(P + own[i][0], own[i][1]);
  map.set(PARTITION_KEY, m.partition);
  map.set(ROWS_KEY, String(m.rows));
  map.set(WRITTEN_AT_KEY, new Date(m.writtenAt).toISOString());
  if (m.visionSha256 !== undefined) map.set(SHA_KEY, m.visionSha256);
  const [firstKey, lastKey] = timeKeysOf(timeColumn);
  if (m.first !== undefined) map.set(firstKey, String(m.first));
  if (m.last !== undefined) map.set(lastKey, String(m.last));
  return map;
}

/** The integer at a (prefixed) key, undefined when absent. */
function integer(map: Map<string, string>, key: string, file?: string): number | undefined {
  const text = map.get(key);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^-?\d{1,16}$/.test(text) || !Number.isSafeInteger(value)) {
    throw new CacheError(`Cannot read cache file: metadata "${key}" is "${text}"`, file);
  }
  return value;
}

/** The value at a (prefixed) key that must be present. */
function required(map: Map<string, string>, key: string, file?: string): string {
  const text = map.get(key);
  if (text === undefined) {
    throw new CacheError(`Cannot read cache file: metadata "${key}" is missing`, file);
  }
  return text;
}

/**
 * A metadata value that must be present.
 *
 * @param map The schema metadata.
 * @param key The key without its prefix.
 * @param file Path, for messages.
 * @returns The value.
 * @throws {CacheError} When it is missing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requiredMetadata } from "./_partition_metadata.ts";
 * assert.equal(requiredMetadata(new Map([["dsm.x", "1"]]), "x"), "1");
 * assert.throws(() => requiredMetadata(new Map(), "x"), { code: "CACHE_ERROR" });
 * ```
 */
export function requiredMetadata(map: Map<string, string>, key: string, file?: string): string {
  return required(map, P + key, file);
}

/**
 * An integer metadata value (a safe integer of at most 16 digits).
 *
 * @param map The schema metadata.
 * @param key The key without its prefix.
 * @param file Path, for messages.
 * @returns The value, or undefined when absent.
 * @throws {CacheError} When it is not such an integer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { integerMetadata } from "./_partition_metadata.ts";
 * assert.equal(integerMetadata(new Map([["dsm.t", "1735689600000000"]]), "t"), 1735689600000000);
 * assert.equal(integerMetadata(new Map(), "t"), undefined);
 * assert.throws(() => integerMetadata(new Map([["dsm.t", "1e3"]]), "t"), { code: "CACHE_ERROR" });
 * ```
 */
export function integerMetadata(
  map: Map<string, string>,
  key: string,
  file?: string,
): number | undefined {
  return integer(map, P + key, file);
}

/**
 * Parses the JSON of one metadata value.
 *
 * @param key The key without its prefix, for messages.
 * @param text The value.
 * @param file Path, for messages.
 * @returns The parsed value.
 * @throws {CacheError} When it is not JSON.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseJsonMetadata } from "./_partition_metadata.ts";
 * assert.deepEqual(parseJsonMetadata("gaps", "[]"), []);
 * assert.throws(() => parseJsonMetadata("gaps", "[", "f.arrow"), /metadata "dsm.gaps" is not JSON/);
 * ```
 */
export function parseJsonMetadata(key: string, text: string, file?: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new CacheError(`Cannot read cache file: metadata "${P}${key}" is not JSON`, file, {
      cause,
    });
  }
}

/**
 * Parses and checks the common `dsm.` metadata (a dataset then reads its
 * own keys).
 *
 * @param map The schema metadata.
 * @param timeColumn Name of the time column (keys `first_<name>`, `last_<name>`).
 * @param own The dataset's own required keys (without the prefix), read after the symbol.
 * @param file Path, for messages.
 * @returns The metadata, and the values of the `own` keys in order.
 * @throws {CacheError} When a field is missing or malformed, or the version is unknown.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { partitionMetadataFromMap, partitionMetadataToMap } from "./_partition_metadata.ts";
 * const m = {
 *   market: "cm", symbol: "BTCUSD_PERP", partition: "2024-01", source: "VISION" as const,
 *   writtenAt: 0, rows: 0, formatVersion: "1",
 * };
 * const map = partitionMetadataToMap(m, "funding_time", [["dataset", "fundingRate"]]);
 * const { metadata, values } = partitionMetadataFromMap(map, "funding_time", ["dataset"]);
 * assert.deepEqual(metadata, { ...m, first: undefined, last: undefined });
 * assert.deepEqual(values, ["fundingRate"]);
 * ```
 */
export function partitionMetadataFromMap(
  map: Map<string, string>,
  timeColumn: string,
  own: readonly string[],
  file?: string,
): { metadata: PartitionMetadata; values: string[] } {
  const formatVersion = required(map, FORMAT_VERSION_KEY, file);
  if (formatVersion !== FORMAT_VERSION) {
    throw new CacheError(
      `Cannot read cache file: format version "${formatVersion}" is not "${FORMAT_VERSION}"`,
      file,
    );
  }
  const source = required(map, SOURCE_KEY, file);
  if (source !== "VISION" && source !== "REST") {
    throw new CacheError(`Cannot read cache file: source "${source}" is unknown`, file);
  }
  const writtenText = required(map, WRITTEN_AT_KEY, file);
  const writtenAt = Date.parse(writtenText);
  if (Number.isNaN(writtenAt)) {
    throw new CacheError(`Cannot read cache file: written_at "${writtenText}" is not a date`, file);
  }
  const rows = integer(map, ROWS_KEY, file);
  if (rows === undefined || rows < 0) {
    throw new CacheError(`Cannot read cache file: metadata "${P}rows" is missing`, file);
  }
  const [firstKey, lastKey] = timeKeysOf(timeColumn);
  const first = integer(map, firstKey, file);
  const last = integer(map, lastKey, file);
  if ((rows > 0) !== (first !== undefined && last !== undefined)) {
    throw new CacheError(
      `Cannot read cache file: first and last ${timeColumn} do not fit rows`,
      file,
    );
  }
  const market = required(map, MARKET_KEY, file);
  const symbol = required(map, SYMBOL_KEY, file);
  const values: string[] = [];
  for (let i = 0; i < own.length; i++) values.push(requiredMetadata(map, own[i], file));
  const metadata: PartitionMetadata = {
    formatVersion,
    source,
    market,
    symbol,
    partition: required(map, PARTITION_KEY, file),
    rows,
    first,
    last,
    writtenAt,
  };
  const sha = map.get(SHA_KEY);
  if (sha !== undefined) metadata.visionSha256 = sha;
  return { metadata, values };
}
