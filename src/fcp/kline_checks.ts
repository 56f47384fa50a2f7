/**
 * Checks of merged kline rows: missing grid slots (gaps) and rows that break
 * the grid, the close-time rule or OHLC sanity (anomalies).
 *
 * @module
 */
import {
  ceilOpenTime,
  closeTimeOf,
  type Interval,
  isOnGrid,
  nextOpenTime,
} from "../core/interval.ts";
import { allocKlineColumns, KLINE_COLUMN_KEYS, type KlineColumns } from "../core/schema.ts";
import type { MergedRows } from "./kline_segment.ts";

/** A run of missing open times, `[start, end)`. */
export interface MissingRange {
  /** First missing open time. */
  start: number;
  /** Open time after the last missing one. */
  end: number;
  /** Number of missing slots. */
  slots: number;
}

/** A row that breaks a rule; the row is kept and reported. */
export interface Anomaly {
  /** The rule broken. */
  kind: "off_grid" | "close_time" | "ohlc";
  /** Open time of the row. */
  openTime: number;
  /** What was found. */
  detail: string;
}

/**
 * Counts the grid slots in `[start, end)`.
 *
 * @param start Inclusive start (rounded up to the grid).
 * @param end Exclusive end.
 * @param interval The interval.
 * @returns The number of slots.
 */
export function countSlots(start: number, end: number, interval: Interval): number {
  let n = 0;
  for (let t = ceilOpenTime(start, interval); t < end; t = nextOpenTime(t, interval)) n++;
  return n;
}

/**
 * Finds the grid slots of `[start, end)` that have no row. Bounds off the
 * grid (a month partition of 3d or 1w candles) are rounded up to it, so a
 * missing run always starts and ends on open times.
 *
 * @param openTime Strictly increasing open times.
 * @param length Row count.
 * @param start First open time wanted (rounded up to the grid).
 * @param end Exclusive end (rounded up to the grid).
 * @param interval The interval.
 * @returns The missing runs in time order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { findMissing } from "./kline_checks.ts";
 * const t = new Float64Array([0, 60_000, 240_000]);
 * assert.deepEqual(findMissing(t, 3, 0, 300_000, "1m"), [
 *   { start: 120_000, end: 240_000, slots: 2 },
 * ]);
 * ```
 */
export function findMissing(
  openTime: Float64Array,
  length: number,
  start: number,
  end: number,
  interval: Interval,
): MissingRange[] {
  const out: MissingRange[] = [];
  let expected = ceilOpenTime(start, interval);
  end = ceilOpenTime(end, interval);
  const push = (until: number) => {
    if (until > expected) {
      out.push({ start: expected, end: until, slots: countSlots(expected, until, interval) });
    }
  };
  for (let i = 0; i < length; i++) {
    const t = openTime[i];
    if (t < expected || !isOnGrid(t, interval)) continue;
    if (t >= end) break;
    if (t > expected) push(t);
    expected = nextOpenTime(t, interval);
  }
  push(end);
  return out;
}

/**
 * Lists rows off the grid, with a close time other than next open - 1 ms,
 * or with low above open/close or high below them.
 *
 * @param columns The rows.
 * @param length Row count.
 * @param interval The interval.
 * @param limit Most anomalies returned.
 * @returns The anomalies found and their total count.
 */
export function findAnomalies(
  columns: KlineColumns,
  length: number,
  interval: Interval,
  limit = 100,
): { anomalies: Anomaly[]; total: number } {
  const anomalies: Anomaly[] = [];
  let total = 0;
  const add = (a: Anomaly) => {
    total++;
    if (anomalies.length < limit) anomalies.push(a);
  };
  const { openTime, closeTime, open, high, low, close } = columns;
  for (let i = 0; i < length; i++) {
    const t = openTime[i];
    if (!isOnGrid(t, interval)) {
      add({
        kind: "off_grid",
        openTime: t,
        detail: `open_time ${t} is not on the ${interval} grid; the row is left out`,
      });
      continue;
    }
    if (closeTime[i] !== closeTimeOf(t, interval)) {
      add({ kind: "close_time", openTime: t, detail: `close_time ${closeTime[i]}` });
    }
    const lo = low[i], hi = high[i];
    if (!(lo <= open[i] && lo <= close[i] && hi >= open[i] && hi >= close[i])) {
      add({
        kind: "ohlc",
        openTime: t,
        detail: `open ${open[i]} high ${hi} low ${lo} close ${close[i]}`,
      });
    }
  }
  return { anomalies, total };
}

/**
 * The rows on the interval's grid: the output keeps the grid (the rows off
 * it are reported by {@linkcode findAnomalies}, not returned).
 *
 * @param rows Merged rows.
 * @param interval The interval.
 * @returns The same rows when all are on the grid, else a compacted copy.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { allocKlineColumns } from "../core/schema.ts";
 * import { onGridRows } from "./kline_checks.ts";
 * const columns = allocKlineColumns(3);
 * columns.openTime.set([0, 60_000 + 7, 120_000]);
 * const kept = onGridRows({ columns, length: 3, sources: new Int8Array(3) }, "1m");
 * assert.deepEqual([...kept.columns.openTime], [0, 120_000]);
 * ```
 */
export function onGridRows(rows: MergedRows, interval: Interval): MergedRows {
  const t = rows.columns.openTime;
  let keep = 0;
  for (let i = 0; i < rows.length; i++) if (isOnGrid(t[i], interval)) keep++;
  if (keep === rows.length) return rows;
  const columns = allocKlineColumns(keep);
  const sources = new Int8Array(keep);
  for (let i = 0, j = 0; i < rows.length; i++) {
    if (!isOnGrid(t[i], interval)) continue;
    for (const key of KLINE_COLUMN_KEYS) columns[key][j] = rows.columns[key][i];
    sources[j++] = rows.sources[i];
  }
  return { columns, length: keep, sources };
}
