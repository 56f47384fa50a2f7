/**
 * Checks of merged kline rows: missing grid slots (gaps) and rows that break
 * the grid, the close-time rule or OHLC sanity (anomalies).
 *
 * @module
 */
import {
  ceilOpenTime,
  floorOpenTime,
  type Interval,
  isOnGrid,
  nextOpenTime,
} from "../core/interval.ts";
import type { Anomaly } from "../core/anomaly.ts";
import type { IgnoreValue } from "../codec/kline_ignore_values.ts";
import { allocKlineColumns, KLINE_COLUMN_KEYS, type KlineColumns } from "../core/schema.ts";
import type { MergedRows, RowRun } from "./kline_segment.ts";

/** A run of missing open times, `[start, end)`. */
export interface MissingRange {
  /** First missing open time. */
  start: number;
  /** Open time after the last missing one. */
  end: number;
  /** Number of missing slots. */
  slots: number;
}

export type { Anomaly } from "../core/anomaly.ts";

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
  // This loop sees every row of a fetch: the expected open time (on the grid) needs no test.
  for (let i = 0; i < length; i++) {
    const t = openTime[i];
    if (t < expected) continue;
    if (t !== expected && !isOnGrid(t, interval)) continue;
    if (t >= end) break;
    if (t > expected) push(t);
    expected = nextOpenTime(t, interval);
  }
  push(end);
  return out;
}

/**
 * Lists rows off the grid, with a close time other than next open - 1 ms,
 * with low above open/close or high below them, with zero volume, or with a
 * non-zero `ignore` value (see
 * `AnomalyKind`). A row breaking several rules is listed once per
 * rule; a row off the grid only as such (it is left out of the output).
 *
 * @param columns The rows.
 * @param length Row count.
 * @param interval The interval.
 * @param limit Most anomalies returned.
 * @param ignored The rows' non-zero `ignore` values, in time order.
 * @param tradeVolumes Whether the volume columns carry traded volumes (klines);
 *   price klines print 0 there, which is then no `zero_volume` anomaly.
 * @returns The anomalies found, their total count, and the number of rows off the grid.
 */
export function findAnomalies(
  columns: KlineColumns,
  length: number,
  interval: Interval,
  limit = 100,
  ignored: readonly IgnoreValue[] = [],
  tradeVolumes = true,
): { anomalies: Anomaly[]; total: number; offGrid: number } {
  const anomalies: Anomaly[] = [];
  let total = 0;
  let offGrid = 0;
  const add = (a: Anomaly) => {
    total++;
    if (anomalies.length < limit) anomalies.push(a);
  };
  const { openTime, closeTime, open, high, low, close, volume, count } = columns;
  // This loop sees every row of a fetch: a row one step after an on-grid row needs no test.
  let next = NaN;
  let k = 0;
  for (let i = 0; i < length; i++) {
    const t = openTime[i];
    if (t !== next && !isOnGrid(t, interval)) {
      offGrid++;
      add({
        kind: "off_grid",
        openTime: t,
        detail: `open_time ${t} is not on the ${interval} grid; the row is left out`,
      });
      continue;
    }
    next = nextOpenTime(t, interval);
    if (closeTime[i] !== next - 1) {
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
    if (tradeVolumes && volume[i] === 0) {
      add({ kind: "zero_volume", openTime: t, detail: `volume 0, count ${count[i]}` });
    }
    while (k < ignored.length && ignored[k].openTime < t) k++;
    if (k < ignored.length && ignored[k].openTime === t) {
      add({ kind: "ignore", openTime: t, detail: `ignore ${JSON.stringify(ignored[k].text)}` });
    }
  }
  return { anomalies, total, offGrid };
}

/** A `[start, end)` span of open times. */
export interface TimeSpan {
  /** First open time, epoch ms. */
  start: number;
  /** Exclusive end, epoch ms. */
  end: number;
}

/**
 * The grid slots that hold a row off the grid: for each such row, the slot
 * its open time falls in (the exchange printed that slot's candle off the
 * grid, so the slot is not missing trading).
 *
 * @param openTime Open times in increasing order.
 * @param length Row count.
 * @param interval The interval.
 * @returns The slots as merged spans, in time order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { offGridSlots } from "./kline_checks.ts";
 * const H = 3_600_000;
 * const t = new Float64Array([0, H + 1_694_789, 2 * H + 1_694_789, 4 * H]);
 * assert.deepEqual(offGridSlots(t, 4, "1h"), [{ start: H, end: 3 * H }]);
 * ```
 */
export function offGridSlots(
  openTime: Float64Array,
  length: number,
  interval: Interval,
): TimeSpan[] {
  const out: TimeSpan[] = [];
  for (let i = 0; i < length; i++) {
    const t = openTime[i];
    const slot = floorOpenTime(t, interval);
    if (slot !== t) appendSpan(out, { start: slot, end: nextOpenTime(slot, interval) });
  }
  return out;
}

/**
 * Appends a span to spans in time order, merging it with the last one when
 * they touch or overlap.
 *
 * @param spans Spans in time order, merged (appended to).
 * @param span A span starting at or after the last one's start.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { appendSpan, type TimeSpan } from "./kline_checks.ts";
 * const spans: TimeSpan[] = [{ start: 0, end: 10 }];
 * appendSpan(spans, { start: 10, end: 20 });
 * appendSpan(spans, { start: 30, end: 40 });
 * assert.deepEqual(spans, [{ start: 0, end: 20 }, { start: 30, end: 40 }]);
 * ```
 */
export function appendSpan(spans: TimeSpan[], span: TimeSpan): void {
  const last = spans.at(-1);
  if (last && last.end >= span.start) last.end = Math.max(last.end, span.end);
  else spans.push({ start: span.start, end: span.end });
}

/** A missing run, and whether its slots hold rows printed off the grid. */
export interface MissingPiece extends MissingRange {
  /** True when every slot of the run holds a row off the grid. */
  offGrid: boolean;
}

/**
 * Splits missing runs where slots holding an off-grid row begin or end, so
 * that those slots are told apart from slots without any candle.
 *
 * @param holes Missing runs in time order (from {@linkcode findMissing}).
 * @param offGrid Slots holding off-grid rows, merged, in time order.
 * @param interval The interval.
 * @returns The pieces in time order; `holes` as pieces when `offGrid` is empty.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { splitAtOffGrid } from "./kline_checks.ts";
 * const H = 3_600_000;
 * const holes = [{ start: 0, end: 4 * H, slots: 4 }];
 * assert.deepEqual(splitAtOffGrid(holes, [{ start: 2 * H, end: 3 * H }], "1h"), [
 *   { start: 0, end: 2 * H, slots: 2, offGrid: false },
 *   { start: 2 * H, end: 3 * H, slots: 1, offGrid: true },
 *   { start: 3 * H, end: 4 * H, slots: 1, offGrid: false },
 * ]);
 * ```
 */
export function splitAtOffGrid(
  holes: readonly MissingRange[],
  offGrid: readonly TimeSpan[],
  interval: Interval,
): MissingPiece[] {
  if (offGrid.length === 0) return holes.map((h) => ({ ...h, offGrid: false }));
  const out: MissingPiece[] = [];
  let k = 0;
  for (const hole of holes) {
    let at = hole.start;
    while (at < hole.end) {
      while (k < offGrid.length && offGrid[k].end <= at) k++;
      const span = offGrid[k];
      const inside = span !== undefined && span.start <= at;
      const until = Math.min(hole.end, inside ? span.end : span?.start ?? Infinity);
      const end = ceilOpenTime(until, interval);
      out.push({ start: at, end, slots: countSlots(at, end, interval), offGrid: inside });
      at = end;
    }
  }
  return out;
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
  // A row one step after an on-grid row needs no test (the rule for almost every row).
  let keep = 0;
  for (let i = 0, next = NaN; i < rows.length; i++) {
    if (t[i] !== next && !isOnGrid(t[i], interval)) continue;
    keep++;
    next = nextOpenTime(t[i], interval);
  }
  if (keep === rows.length) return rows;
  const columns = allocKlineColumns(keep);
  const sources = new Int8Array(keep);
  for (let i = 0, j = 0; i < rows.length; i++) {
    if (!isOnGrid(t[i], interval)) continue;
    for (const key of KLINE_COLUMN_KEYS) columns[key][j] = rows.columns[key][i];
    sources[j++] = rows.sources[i];
  }
  if (!rows.runs) return { columns, length: keep, sources, ignored: rows.ignored };
  // The runs of the segments' rows, split where a row off the grid is left out.
  const runs: RowRun[] = [];
  let i = 0;
  for (const { segment, from, to } of rows.runs) {
    let start = -1;
    for (let r = from; r < to; r++, i++) {
      if (isOnGrid(t[i], interval)) {
        if (start < 0) start = r;
      } else if (start >= 0) {
        runs.push({ segment, from: start, to: r });
        start = -1;
      }
    }
    if (start >= 0) runs.push({ segment, from: start, to });
  }
  return { columns, length: keep, sources, ignored: rows.ignored, runs };
}
