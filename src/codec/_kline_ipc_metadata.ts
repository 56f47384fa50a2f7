/**
 * The `dsm.*` schema metadata of a kline IPC file: typed fields to string
 * pairs and back, with validation of every field read.
 *
 * @module
 */
import { type Anomaly, ANOMALY_KINDS } from "../core/anomaly.ts";
import { CacheError } from "../core/errors.ts";

/** Version of the cache file layout written by this module. */
export const FORMAT_VERSION = "1";

/** Prefix of every metadata key. */
const P = "dsm.";

/**
 * Grid slots of a partition without a row: a confirmed exchange gap (no
 * candle opens in `[start, end)`, epoch ms), or with `class: "off_grid"`
 * slots whose candles the exchange printed at open times off the grid
 * (those rows are not stored; the anomalies list them).
 */
export interface KlineGap {
  /** First missing open time, epoch ms. */
  start: number;
  /** Open time after the last missing slot, epoch ms (exclusive). */
  end: number;
  /** `off_grid` when the slots hold rows printed off the grid; absent for an exchange gap. */
  class?: "off_grid";
}

/** What the writer of a partition file states about it. */
export interface KlineIpcHeader {
  /** Market: spot, um or cm. */
  market: string;
  /** Symbol, e.g. `BTCUSDT`. */
  symbol: string;
  /** Interval in REST spelling, e.g. `1m`. */
  interval: string;
  /** Partition key: `YYYY-MM-DD` or `YYYY-MM`. */
  partition: string;
  /** Where the rows came from. */
  source: "VISION" | "REST";
  /** SHA-256 (hex) of the Vision archive the rows were decoded from. */
  visionSha256?: string;
  /** Confirmed exchange gaps inside the partition, in time order. */
  gaps?: readonly KlineGap[];
  /** When the file was written, epoch ms. */
  writtenAt: number;
  /**
   * Rows that break a rule (see `AnomalyKind`), as found when the file was
   * written: their total and the first of them (kept as printed).
   */
  anomalies?: KlineAnomalies;
}

/** Rows found breaking a rule when the partition was written. */
export interface KlineAnomalies {
  /** How many rows break a rule. */
  total: number;
  /** The first of them. */
  items: Anomaly[];
}

/** Everything a partition file records about itself. */
export interface KlineIpcMetadata extends KlineIpcHeader {
  /** Number of rows. */
  rows: number;
  /** First open time, epoch ms; undefined when there are no rows. */
  firstOpenTime?: number;
  /** Last open time, epoch ms; undefined when there are no rows. */
  lastOpenTime?: number;
  /** Confirmed exchange gaps (empty when none). */
  gaps: KlineGap[];
  /** File layout version, `"1"`. */
  formatVersion: string;
}

/**
 * Serialises metadata into `dsm.`-prefixed schema metadata.
 *
 * @param m The metadata.
 * @returns Key/value pairs for an Arrow Schema.
 */
export function metadataToMap(m: KlineIpcMetadata): Map<string, string> {
  const map = new Map<string, string>([
    [P + "format_version", m.formatVersion],
    [P + "source", m.source],
    [P + "market", m.market],
    [P + "symbol", m.symbol],
    [P + "interval", m.interval],
    [P + "partition", m.partition],
    [P + "rows", String(m.rows)],
    [P + "written_at", new Date(m.writtenAt).toISOString()],
  ]);
  if (m.visionSha256 !== undefined) map.set(P + "vision_sha256", m.visionSha256);
  if (m.firstOpenTime !== undefined) map.set(P + "first_open_time", String(m.firstOpenTime));
  if (m.lastOpenTime !== undefined) map.set(P + "last_open_time", String(m.lastOpenTime));
  if (m.gaps.length > 0) map.set(P + "gaps", JSON.stringify(m.gaps));
  if (m.anomalies !== undefined) map.set(P + "anomalies", JSON.stringify(m.anomalies));
  return map;
}

function integer(map: Map<string, string>, key: string, file?: string): number | undefined {
  const text = map.get(P + key);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^-?\d{1,16}$/.test(text) || !Number.isSafeInteger(value)) {
    throw new CacheError(`Cannot read cache file: metadata "${P + key}" is "${text}"`, file);
  }
  return value;
}

function required(map: Map<string, string>, key: string, file?: string): string {
  const text = map.get(P + key);
  if (text === undefined) {
    throw new CacheError(`Cannot read cache file: metadata "${P + key}" is missing`, file);
  }
  return text;
}

/** Parses the JSON of one metadata key; a CacheError when it is not JSON. */
function parseJsonKey(key: string, text: string, file?: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new CacheError(`Cannot read cache file: metadata "${P}${key}" is not JSON`, file, {
      cause,
    });
  }
}

const KINDS: ReadonlySet<string> = new Set(ANOMALY_KINDS);

function parseAnomalies(text: string | undefined, file?: string): KlineAnomalies | undefined {
  if (text === undefined) return undefined;
  const value = parseJsonKey("anomalies", text, file);
  const v = value as KlineAnomalies;
  const ok = typeof v === "object" && v !== null && Number.isSafeInteger(v.total) &&
    v.total >= 0 && Array.isArray(v.items) && v.items.length <= v.total &&
    v.items.every((a) =>
      typeof a === "object" && a !== null && KINDS.has(a.kind) &&
      Number.isSafeInteger(a.openTime) && typeof a.detail === "string"
    );
  if (!ok) {
    throw new CacheError(`Cannot read cache file: metadata "${P}anomalies" is malformed`, file);
  }
  return {
    total: v.total,
    items: v.items.map(({ kind, openTime, detail }) => ({ kind, openTime, detail })),
  };
}

function parseGaps(text: string | undefined, file?: string): KlineGap[] {
  if (text === undefined) return [];
  const value = parseJsonKey("gaps", text, file);
  const ok = Array.isArray(value) &&
    value.every((g) =>
      typeof g === "object" && g !== null && Number.isSafeInteger(g.start) &&
      Number.isSafeInteger(g.end) && g.start < g.end &&
      (g.class === undefined || g.class === "off_grid")
    );
  if (!ok) throw new CacheError(`Cannot read cache file: metadata "${P}gaps" is malformed`, file);
  return (value as KlineGap[]).map((g) =>
    g.class === "off_grid"
      ? { start: g.start, end: g.end, class: g.class }
      : { start: g.start, end: g.end }
  );
}

/**
 * Parses and checks `dsm.` schema metadata.
 *
 * @param map The schema metadata.
 * @param file Path, for messages.
 * @returns The metadata.
 * @throws {CacheError} When a field is missing or malformed, or the version is unknown.
 */
export function metadataFromMap(map: Map<string, string>, file?: string): KlineIpcMetadata {
  const formatVersion = required(map, "format_version", file);
  if (formatVersion !== FORMAT_VERSION) {
    throw new CacheError(
      `Cannot read cache file: format version "${formatVersion}" is not "${FORMAT_VERSION}"`,
      file,
    );
  }
  const source = required(map, "source", file);
  if (source !== "VISION" && source !== "REST") {
    throw new CacheError(`Cannot read cache file: source "${source}" is unknown`, file);
  }
  const writtenText = required(map, "written_at", file);
  const writtenAt = Date.parse(writtenText);
  if (Number.isNaN(writtenAt)) {
    throw new CacheError(`Cannot read cache file: written_at "${writtenText}" is not a date`, file);
  }
  const rows = integer(map, "rows", file);
  if (rows === undefined || rows < 0) {
    throw new CacheError(`Cannot read cache file: metadata "${P}rows" is missing`, file);
  }
  const firstOpenTime = integer(map, "first_open_time", file);
  const lastOpenTime = integer(map, "last_open_time", file);
  if ((rows > 0) !== (firstOpenTime !== undefined && lastOpenTime !== undefined)) {
    throw new CacheError(`Cannot read cache file: first and last open_time do not fit rows`, file);
  }
  const out: KlineIpcMetadata = {
    formatVersion,
    source,
    market: required(map, "market", file),
    symbol: required(map, "symbol", file),
    interval: required(map, "interval", file),
    partition: required(map, "partition", file),
    rows,
    firstOpenTime,
    lastOpenTime,
    writtenAt,
    gaps: parseGaps(map.get(P + "gaps"), file),
  };
  const sha = map.get(P + "vision_sha256");
  if (sha !== undefined) out.visionSha256 = sha;
  const anomalies = parseAnomalies(map.get(P + "anomalies"), file);
  if (anomalies !== undefined) out.anomalies = anomalies;
  return out;
}
