/**
 * Segments of kline rows tagged with their source, and their merge into one
 * strictly increasing, duplicate-free series (precedence REST > CACHE >
 * VISION) whose output batches are slices of the sources' own batches.
 *
 * @module
 */
import { makeData, type RecordBatch, Struct } from "apache-arrow";
import { type IgnoreValue, ignoreValuesOf } from "../codec/kline_ignore_values.ts";
import {
  allocKlineColumns,
  type DataSource,
  dataSourceCode,
  KLINE_COLUMN_KEYS,
  KLINE_SCHEMA,
  klineBatch,
  type KlineColumns,
  klineColumnsOf,
  recordBatchOf,
  sliceKlineColumns,
  withDataSource,
} from "../core/schema.ts";

/** Rows of one source, sorted by open time. */
export interface KlineSegment {
  /** The rows. */
  readonly columns: KlineColumns;
  /** Row count. */
  readonly length: number;
  /** Where the rows came from. */
  readonly source: DataSource;
  /** The Arrow batches the rows were read from (from row `offset` on), when they were. */
  readonly batches?: readonly RecordBatch[];
  /** The row of `batches` (counted across them) holding the segment's first row. @default {0} */
  readonly offset?: number;
  /** The rows' non-zero `ignore` values, in time order. @default {[]} */
  readonly ignored?: readonly IgnoreValue[];
}

/** Consecutive rows of one segment: its rows `[from, to)`. */
export interface RowRun {
  /** The segment. */
  readonly segment: KlineSegment;
  /** First row, in the segment. */
  readonly from: number;
  /** Row after the last, in the segment. */
  readonly to: number;
}

/** Rows with a per-row source code (see `dataSourceCode`). */
export interface MergedRows {
  /** The rows. */
  readonly columns: KlineColumns;
  /** Row count. */
  readonly length: number;
  /** Per-row source codes. */
  readonly sources: Int8Array;
  /** The non-zero `ignore` values of the rows kept, in time order. @default {[]} */
  readonly ignored?: readonly IgnoreValue[];
  /** Where the rows come from, in order: runs of the segments' rows. @default {one run per row} */
  readonly runs?: readonly RowRun[];
}

const PRECEDENCE: Record<DataSource, number> = { REST: 0, CACHE: 1, VISION: 2 };

/**
 * Turns RecordBatches of the kline schema into a segment.
 *
 * @param batches Batches in time order.
 * @param source Their source.
 * @returns One segment.
 */
export function segmentOf(batches: readonly RecordBatch[], source: DataSource): KlineSegment {
  const ignored = batches.flatMap((b) => ignoreValuesOf(b));
  if (batches.length === 1) {
    const [batch] = batches;
    return { columns: klineColumnsOf(batch), length: batch.numRows, source, batches, ignored };
  }
  const length = batches.reduce((n, b) => n + b.numRows, 0);
  const columns = allocKlineColumns(length);
  let at = 0;
  for (const batch of batches) {
    const part = klineColumnsOf(batch);
    for (const key of KLINE_COLUMN_KEYS) columns[key].set(part[key].subarray(0, batch.numRows), at);
    at += batch.numRows;
  }
  return { columns, length, source, batches, ignored };
}

/**
 * Keeps the rows of a segment whose open time lies in `[start, end)`.
 *
 * @param segment Sorted rows.
 * @param start Inclusive open time.
 * @param end Exclusive open time.
 * @returns A view of the rows in range.
 */
export function clipSegment(segment: KlineSegment, start: number, end: number): KlineSegment {
  const t = segment.columns.openTime;
  let lo = 0;
  while (lo < segment.length && t[lo] < start) lo++;
  let hi = lo;
  while (hi < segment.length && t[hi] < end) hi++;
  if (lo === 0 && hi === segment.length) return segment;
  const columns = sliceKlineColumns(segment.columns, lo, hi);
  const ignored = segment.ignored?.filter((v) => v.openTime >= start && v.openTime < end);
  const { source, batches } = segment;
  return { columns, length: hi - lo, source, batches, offset: (segment.offset ?? 0) + lo, ignored };
}

/**
 * Merges segments into strictly increasing open times. Where two segments
 * hold the same open time, REST wins over CACHE, and CACHE over VISION.
 *
 * @param segments Segments, each sorted by open time.
 * @returns The merged rows and each row's source code.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { allocKlineColumns } from "../core/schema.ts";
 * import { mergeSegments } from "./kline_segment.ts";
 * const vision = allocKlineColumns(2);
 * vision.openTime.set([0, 60_000]);
 * vision.close.set([1, 2]);
 * const rest = allocKlineColumns(1);
 * rest.openTime.set([60_000]);
 * rest.close.set([3]);
 * const merged = mergeSegments([
 *   { columns: vision, length: 2, source: "VISION" },
 *   { columns: rest, length: 1, source: "REST" },
 * ]);
 * assert.deepEqual([...merged.columns.close], [1, 3]);
 * assert.deepEqual([...merged.sources], [1, 2]);
 * ```
 */
export function mergeSegments(segments: readonly KlineSegment[]): MergedRows {
  const live = segments.filter((s) => s.length > 0);
  const ordered = disjointOrder(live);
  return ordered ? concatSegments(ordered) : sortSegments(live);
}

function isIncreasing(s: KlineSegment): boolean {
  const t = s.columns.openTime;
  for (let i = 1; i < s.length; i++) if (!(t[i] > t[i - 1])) return false;
  return true;
}

/** The segments in time order when none overlaps another and each increases, else undefined. */
function disjointOrder(live: KlineSegment[]): KlineSegment[] | undefined {
  const ordered = [...live].sort((a, b) => a.columns.openTime[0] - b.columns.openTime[0]);
  for (let i = 0; i < ordered.length; i++) {
    if (!isIncreasing(ordered[i])) return undefined;
    const next = ordered[i + 1];
    const last = ordered[i].columns.openTime[ordered[i].length - 1];
    if (next && !(next.columns.openTime[0] > last)) return undefined;
  }
  return ordered;
}

function concatSegments(ordered: KlineSegment[]): MergedRows {
  const ignored = ordered.flatMap((s) => s.ignored ?? []);
  if (ordered.length === 1) {
    const [s] = ordered;
    return {
      columns: s.columns,
      length: s.length,
      sources: new Int8Array(s.length).fill(dataSourceCode(s.source)),
      ignored,
      runs: [{ segment: s, from: 0, to: s.length }],
    };
  }
  const total = ordered.reduce((n, s) => n + s.length, 0);
  const columns = allocKlineColumns(total);
  const sources = new Int8Array(total);
  let at = 0;
  for (const s of ordered) {
    for (const key of KLINE_COLUMN_KEYS) columns[key].set(s.columns[key].subarray(0, s.length), at);
    sources.fill(dataSourceCode(s.source), at, at + s.length);
    at += s.length;
  }
  const runs = ordered.map((segment) => ({ segment, from: 0, to: segment.length }));
  return { columns, length: total, sources, ignored, runs };
}

function sortSegments(live: KlineSegment[]): MergedRows {
  const total = live.reduce((n, s) => n + s.length, 0);
  // Row references (segment, row), ordered by open time then precedence.
  const refs: [number, number][] = [];
  live.forEach((s, si) => {
    for (let r = 0; r < s.length; r++) refs.push([si, r]);
  });
  refs.sort((a, b) =>
    live[a[0]].columns.openTime[a[1]] - live[b[0]].columns.openTime[b[1]] ||
    PRECEDENCE[live[a[0]].source] - PRECEDENCE[live[b[0]].source] ||
    a[0] - b[0] || a[1] - b[1]
  );
  const columns = allocKlineColumns(total);
  const sources = new Int8Array(total);
  let length = 0;
  let last = -Infinity;
  // The `ignore` value travels with the row that wins its open time.
  const ignoredBy = live.map((s) => new Map(s.ignored?.map((v) => [v.openTime, v.text])));
  const ignored: IgnoreValue[] = [];
  const runs: { segment: KlineSegment; from: number; to: number }[] = [];
  for (const [si, r] of refs) {
    const s = live[si];
    const t = s.columns.openTime[r];
    if (t === last) continue;
    last = t;
    const run = runs.at(-1);
    if (run?.segment === s && run.to === r) run.to++;
    else runs.push({ segment: s, from: r, to: r + 1 });
    const text = ignoredBy[si].get(t);
    if (text !== undefined) ignored.push({ openTime: t, text });
    for (const key of KLINE_COLUMN_KEYS) columns[key][length] = s.columns[key][r];
    sources[length++] = dataSourceCode(s.source);
  }
  const view = {} as Record<keyof KlineColumns, Float64Array>;
  for (const key of KLINE_COLUMN_KEYS) view[key] = columns[key].subarray(0, length);
  return { columns: view, length, sources: sources.subarray(0, length), ignored, runs };
}

/**
 * The merged rows as Arrow batches: slices of the segments' own batches
 * (no copy), rebuilt from the columns only for rows read from none.
 *
 * @param rows Merged rows.
 * @param withSource Whether to append `_data_source`.
 * @returns The batches, in order.
 */
export function batchesOf(rows: MergedRows, withSource: boolean): RecordBatch[] {
  if (rows.length === 0) return [];
  if (!rows.runs) {
    return [klineBatch(rows.columns, rows.length, withSource ? rows.sources : undefined)];
  }
  const out: RecordBatch[] = [];
  for (const { segment, from, to } of rows.runs) {
    const slices = segment.batches
      ? sliceRows(segment.batches, (segment.offset ?? 0) + from, (segment.offset ?? 0) + to)
      : [klineBatch(sliceKlineColumns(segment.columns, from, to), to - from)];
    for (const slice of slices) {
      out.push(withSource ? withDataSource(slice, segment.source) : slice);
    }
  }
  return out;
}

/** Rows `[from, to)` counted across the batches, as slices of the kline schema (no copy). */
function sliceRows(batches: readonly RecordBatch[], from: number, to: number): RecordBatch[] {
  const out: RecordBatch[] = [];
  let at = 0;
  for (const batch of batches) {
    if (at >= to) break;
    const lo = Math.max(from - at, 0);
    const hi = Math.min(to - at, batch.numRows);
    at += batch.numRows;
    if (lo >= hi) continue;
    const whole = lo === 0 && hi === batch.numRows;
    if (whole && batch.schema.fields.length === KLINE_SCHEMA.fields.length) {
      out.push(batch);
      continue;
    }
    // A slice, without a `_data_source` column the batch may hold (older cache files).
    const children = batch.data.children.slice(0, KLINE_COLUMN_KEYS.length)
      .map((child) => child.slice(lo, hi - lo));
    const type = new Struct(KLINE_SCHEMA.fields);
    out.push(
      recordBatchOf(KLINE_SCHEMA, makeData({ type, length: hi - lo, nullCount: 0, children })),
    );
    if (at >= to) break;
  }
  return out;
}
