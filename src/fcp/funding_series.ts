/**
 * The rules of a funding event series: the funding interval of rows whose
 * source does not print it (REST), the interval changes, and the gaps,
 * each judged against the symbol's funding interval at the time.
 *
 * @module
 */
import { type FundingColumns, setValid } from "../core/funding_schema.ts";

const HOUR_MS = 3_600_000;
/** Funding times carry a few ms of jitter after the hour: spacing is judged within a minute. */
const TOLERANCE_MS = 60_000;
/** Funding intervals Binance has used, in hours. */
const KNOWN_HOURS = new Set([1, 2, 4, 8]);

/** Funding events missing between two printed ones. */
export interface FundingGap {
  /** The first missing funding time (the earlier event's time plus its interval, to the hour). */
  start: number;
  /** The later printed event's funding time. */
  end: number;
  /** Events missing (`exchange` gaps; unknown for `unfetched` ones). */
  missing?: number;
  /**
   * `exchange`: the source printed both neighbours and nothing between them;
   * `unfetched`: the events of a partition that no source could serve.
   */
  class: "exchange" | "unfetched";
}

/** A change of a symbol's funding interval inside the range. */
export interface FundingIntervalChange {
  /** Funding time of the first event at the new interval. */
  time: number;
  /** Hours before. */
  fromHours: number;
  /** Hours after. */
  toHours: number;
}

function isValid(bitmap: Uint8Array, row: number): boolean {
  return (bitmap[row >>> 3] & (1 << (row & 7))) !== 0;
}

/**
 * Sets the funding interval of rows that lack it (REST does not print it)
 * from the spacing to their neighbours: the shorter of the two spacings, in
 * whole hours, when it is an interval Binance uses (1, 2, 4 or 8 hours);
 * left null otherwise (a row without neighbours, or next to a gap on both
 * sides). Rows that print their interval (Vision) keep it.
 *
 * @param columns The series, in time order.
 * @param length Rows.
 * @returns How many rows got a derived interval.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { allocFundingColumns } from "../core/funding_schema.ts";
 * import { deriveFundingIntervals } from "./funding_series.ts";
 * const c = allocFundingColumns(3);
 * c.fundingTime.set([0, 8 * 3_600_000 + 1, 16 * 3_600_000 + 2]);
 * assert.equal(deriveFundingIntervals(c, 3), 3);
 * assert.deepEqual([...c.fundingIntervalHours], [8, 8, 8]);
 * ```
 */
export function deriveFundingIntervals(columns: FundingColumns, length: number): number {
  const { fundingTime: t, fundingIntervalHours: hours, fundingIntervalHoursValid: valid } = columns;
  let derived = 0;
  for (let i = 0; i < length; i++) {
    if (isValid(valid, i)) continue;
    const before = i > 0 ? t[i] - t[i - 1] : Infinity;
    const after = i + 1 < length ? t[i + 1] - t[i] : Infinity;
    const h = Math.round(Math.min(before, after) / HOUR_MS);
    if (!KNOWN_HOURS.has(h)) continue;
    hours[i] = h;
    setValid(valid, i);
    derived++;
  }
  return derived;
}

/**
 * The interval changes of a series: each row whose interval differs from the
 * previous row's (both known).
 *
 * @param columns The series, in time order.
 * @param length Rows.
 * @returns The changes, in time order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { allocFundingColumns, setValid } from "../core/funding_schema.ts";
 * import { fundingIntervalChanges } from "./funding_series.ts";
 * const c = allocFundingColumns(3);
 * c.fundingTime.set([0, 8 * 3_600_000, 12 * 3_600_000]);
 * c.fundingIntervalHours.set([8, 4, 4]);
 * for (const i of [0, 1, 2]) setValid(c.fundingIntervalHoursValid, i);
 * assert.deepEqual(fundingIntervalChanges(c, 3), [
 *   { time: 8 * 3_600_000, fromHours: 8, toHours: 4 },
 * ]);
 * ```
 */
export function fundingIntervalChanges(
  columns: FundingColumns,
  length: number,
): FundingIntervalChange[] {
  const { fundingTime: t, fundingIntervalHours: hours, fundingIntervalHoursValid: valid } = columns;
  const changes: FundingIntervalChange[] = [];
  let previous: number | undefined;
  for (let i = 0; i < length; i++) {
    if (!isValid(valid, i)) continue;
    if (previous !== undefined && hours[i] !== previous) {
      changes.push({ time: t[i], fromHours: previous, toHours: hours[i] });
    }
    previous = hours[i];
  }
  return changes;
}

/**
 * The gaps between printed events: a spacing longer than the earlier
 * event's interval (plus a minute for the jitter of funding times) misses
 * `round(spacing / interval) - 1` events. A spacing shorter than the
 * interval is never a gap (an interval change to a shorter one). Holes
 * before the first and after the last event are not judged here: before a
 * listing and after the last settled funding nothing is missing.
 *
 * @param columns The series, in time order, intervals known where possible.
 * @param length Rows.
 * @returns The gaps, class `exchange`, in time order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { allocFundingColumns, setValid } from "../core/funding_schema.ts";
 * import { fundingGaps } from "./funding_series.ts";
 * const H = 3_600_000;
 * const c = allocFundingColumns(3);
 * c.fundingTime.set([0, 8 * H + 1, 32 * H + 2]);
 * c.fundingIntervalHours.set([8, 8, 8]);
 * for (const i of [0, 1, 2]) setValid(c.fundingIntervalHoursValid, i);
 * assert.deepEqual(fundingGaps(c, 3), [
 *   { start: 16 * H, end: 32 * H + 2, missing: 2, class: "exchange" },
 * ]);
 * ```
 */
export function fundingGaps(columns: FundingColumns, length: number): FundingGap[] {
  const { fundingTime: t, fundingIntervalHours: hours, fundingIntervalHoursValid: valid } = columns;
  const gaps: FundingGap[] = [];
  for (let i = 1; i < length; i++) {
    if (!isValid(valid, i - 1)) continue;
    const step = hours[i - 1] * HOUR_MS;
    const spacing = t[i] - t[i - 1];
    if (spacing <= step + TOLERANCE_MS) continue;
    const missing = Math.max(1, Math.round(spacing / step) - 1);
    const start = Math.floor((t[i - 1] + step) / HOUR_MS) * HOUR_MS;
    gaps.push({ start, end: t[i], missing, class: "exchange" });
  }
  return gaps;
}
