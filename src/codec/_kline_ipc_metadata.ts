/**
 * The `dsm.*` schema metadata of a kline IPC file: typed fields to string
 * pairs and back, with validation of every field read. The keys every
 * partition file has are `_partition_metadata.ts`'s; klines add `interval`,
 * `gaps` and `anomalies`, and name the time keys after `open_time`.
 *
 * @module
 */
import { type Anomaly, ANOMALY_KINDS } from "../core/anomaly.ts";
import { CacheError } from "../core/errors.ts";
import {
  FORMAT_VERSION,
  META_PREFIX as P,
  parseJsonMetadata,
  partitionMetadataFromMap,
  partitionMetadataToMap,
} from "./_partition_metadata.ts";

export { FORMAT_VERSION };

const TIME_COLUMN = "open_time";

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
  const map = partitionMetadataToMap(
    { ...m, first: m.firstOpenTime, last: m.lastOpenTime },
    TIME_COLUMN,
    [["interval", m.interval]],
  );
  if (m.gaps.length > 0) map.set(P + "gaps", JSON.stringify(m.gaps));
  if (m.anomalies !== undefined) map.set(P + "anomalies", JSON.stringify(m.anomalies));
  return map;
}

const KINDS: ReadonlySet<string> = new Set(ANOMALY_KINDS);

function parseAnomalies(text: string | undefined, file?: string): KlineAnomalies | undefined {
  if (text === undefined) return undefined;
  const value = parseJsonMetadata("anomalies", text, file);
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
  const value = parseJsonMetadata("gaps", text, file);
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
  const read = partitionMetadataFromMap(
    map,
    TIME_COLUMN,
    ["interval"],
    file,
  );
  const m = read.metadata;
  const interval = read.values[0];
  const out: KlineIpcMetadata = {
    formatVersion: m.formatVersion,
    source: m.source,
    market: m.market,
    symbol: m.symbol,
    interval,
    partition: m.partition,
    rows: m.rows,
    firstOpenTime: m.first,
    lastOpenTime: m.last,
    writtenAt: m.writtenAt,
    gaps: parseGaps(map.get(P + "gaps"), file),
  };
  if (m.visionSha256 !== undefined) out.visionSha256 = m.visionSha256;
  const anomalies = parseAnomalies(map.get(P + "anomalies"), file);
  if (anomalies !== undefined) out.anomalies = anomalies;
  return out;
}
