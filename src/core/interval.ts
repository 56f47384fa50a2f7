/**
 * Kline intervals 1s .. 1M: validity per market, durations, names, and the
 * open-time grid (epoch-aligned, Monday weeks, calendar months).
 *
 * @module
 */
import { InvalidIntervalError } from "./errors.ts";
import type { Market } from "./market.ts";

/** A kline interval, in Binance's REST spelling. */
export type Interval =
  | "1s"
  | "1m"
  | "3m"
  | "5m"
  | "15m"
  | "30m"
  | "1h"
  | "2h"
  | "4h"
  | "6h"
  | "8h"
  | "12h"
  | "1d"
  | "3d"
  | "1w"
  | "1M";

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const DURATION: Record<Interval, number> = {
  "1s": SECOND,
  "1m": MINUTE,
  "3m": 3 * MINUTE,
  "5m": 5 * MINUTE,
  "15m": 15 * MINUTE,
  "30m": 30 * MINUTE,
  "1h": HOUR,
  "2h": 2 * HOUR,
  "4h": 4 * HOUR,
  "6h": 6 * HOUR,
  "8h": 8 * HOUR,
  "12h": 12 * HOUR,
  "1d": DAY,
  "3d": 3 * DAY,
  "1w": 7 * DAY,
  "1M": 31 * DAY,
};

/** Every interval, shortest first. */
export const INTERVALS: readonly Interval[] = Object.keys(DURATION) as Interval[];

/** Monday 1970-01-05 00:00 UTC: the origin of the weekly grid. */
const WEEK_ORIGIN = 4 * DAY;

/**
 * Parses an interval, accepting Vision's `1mo` for `1M`.
 *
 * @param value The interval text.
 * @param market When given, also checks availability (`1s` is spot only).
 * @returns The interval in REST spelling.
 * @throws {InvalidIntervalError} For unknown intervals or `1s` on futures.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseInterval } from "./interval.ts";
 * assert.equal(parseInterval("1mo"), "1M");
 * assert.throws(() => parseInterval("1s", "um"), { code: "INVALID_INTERVAL" });
 * ```
 */
export function parseInterval(value: unknown, market?: Market): Interval {
  const text = value === "1mo" ? "1M" : value;
  if (typeof text !== "string" || !Object.hasOwn(DURATION, text)) {
    throw new InvalidIntervalError(
      value,
      `Cannot use interval ${JSON.stringify(value)}: expected one of ${INTERVALS.join(", ")}`,
    );
  }
  const interval = text as Interval;
  if (market !== undefined && !isIntervalAvailable(interval, market)) {
    throw new InvalidIntervalError(
      value,
      `Cannot use interval "${interval}" on market "${market}": it is only available on spot`,
    );
  }
  return interval;
}

/**
 * Whether the market serves the interval (`1s` is spot only).
 *
 * @param interval The interval.
 * @param market The market.
 * @returns True when available.
 */
export function isIntervalAvailable(interval: Interval, market: Market): boolean {
  return interval !== "1s" || market === "spot";
}

/**
 * Length of the interval in ms (`1M`: 31 days, an upper bound).
 *
 * @param interval The interval.
 * @returns Milliseconds.
 */
export function intervalMs(interval: Interval): number {
  return DURATION[interval];
}

/**
 * The interval as spelled in Vision paths (`1mo` for `1M`).
 *
 * @param interval The interval.
 * @returns The Vision name.
 */
export function visionIntervalName(interval: Interval): string {
  return interval === "1M" ? "1mo" : interval;
}

function monthStart(t: number, add: number): number {
  const d = new Date(t);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + add, 1);
}

/**
 * The open time of the candle containing `t` (grid floor).
 *
 * @param t Epoch ms.
 * @param interval The interval.
 * @returns The largest grid point `<= t`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { floorOpenTime } from "./interval.ts";
 * // 2024-01-03 is a Wednesday; its week opened on Monday 2024-01-01
 * assert.equal(floorOpenTime(Date.UTC(2024, 0, 3, 12), "1w"), Date.UTC(2024, 0, 1));
 * assert.equal(floorOpenTime(Date.UTC(2024, 1, 29, 5), "1M"), Date.UTC(2024, 1, 1));
 * ```
 */
export function floorOpenTime(t: number, interval: Interval): number {
  if (interval === "1M") return monthStart(t, 0);
  const step = DURATION[interval];
  const origin = interval === "1w" ? WEEK_ORIGIN : 0;
  return Math.floor((t - origin) / step) * step + origin;
}

/**
 * The first grid point `>= t`.
 *
 * @param t Epoch ms.
 * @param interval The interval.
 * @returns The smallest open time at or after `t`.
 */
export function ceilOpenTime(t: number, interval: Interval): number {
  const floor = floorOpenTime(t, interval);
  return floor === t ? t : nextOpenTime(floor, interval);
}

/**
 * The open time following a grid point.
 *
 * @param openTime An open time on the grid.
 * @param interval The interval.
 * @returns The next open time.
 */
export function nextOpenTime(openTime: number, interval: Interval): number {
  return interval === "1M" ? monthStart(openTime, 1) : openTime + DURATION[interval];
}

/**
 * The close time of the candle opening at `openTime`: next open - 1 ms.
 *
 * @param openTime An open time on the grid.
 * @param interval The interval.
 * @returns The close time, epoch ms.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { closeTimeOf } from "./interval.ts";
 * assert.equal(closeTimeOf(1672531200000, "1m"), 1672531259999);
 * ```
 */
export function closeTimeOf(openTime: number, interval: Interval): number {
  return nextOpenTime(openTime, interval) - 1;
}

/**
 * Whether `t` lies on the interval's grid.
 *
 * @param t Epoch ms.
 * @param interval The interval.
 * @returns True for an open time.
 */
export function isOnGrid(t: number, interval: Interval): boolean {
  return floorOpenTime(t, interval) === t;
}

/**
 * The partition period of an interval: UTC day for 1s..1d, calendar month
 * for 3d, 1w and 1M.
 *
 * @param interval The interval.
 * @returns `"day"` or `"month"`.
 */
export function partitionPeriod(interval: Interval): "day" | "month" {
  return interval === "3d" || interval === "1w" || interval === "1M" ? "month" : "day";
}

/**
 * Whether Vision publishes daily files for the interval (3d, 1w, 1M are
 * monthly only).
 *
 * @param interval The interval.
 * @returns True when daily files exist.
 */
export function hasDailyFiles(interval: Interval): boolean {
  return partitionPeriod(interval) === "day";
}
