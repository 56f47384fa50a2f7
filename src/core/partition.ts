/**
 * Partitions: the UTC days or calendar months that a `[start, end)` range
 * is split into, for the cache and for Vision's daily and monthly files.
 *
 * @module
 */
import { type Interval, partitionPeriod } from "./interval.ts";
import { formatDay, formatMonth } from "./time.ts";

/** A UTC day or calendar month. */
export interface Partition {
  /** `YYYY-MM-DD` for a day, `YYYY-MM` for a month. */
  readonly key: string;
  /** Day or month. */
  readonly period: "day" | "month";
  /** First ms of the partition. */
  readonly start: number;
  /** First ms after the partition. */
  readonly end: number;
}

const DAY_MS = 86_400_000;

/**
 * The partition of the given period containing `t`.
 *
 * @param t Epoch ms.
 * @param period Day or month.
 * @returns The partition.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { partitionOf } from "./partition.ts";
 * const feb = partitionOf(Date.UTC(2024, 1, 29, 23), "month");
 * assert.equal(feb.key, "2024-02");
 * assert.equal(feb.end, Date.UTC(2024, 2, 1));
 * ```
 */
export function partitionOf(t: number, period: "day" | "month"): Partition {
  if (period === "day") {
    const start = Math.floor(t / DAY_MS) * DAY_MS;
    return { key: formatDay(start), period, start, end: start + DAY_MS };
  }
  const d = new Date(t);
  const start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  const end = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  return { key: formatMonth(start), period, start, end };
}

/**
 * Every partition overlapping `[start, end)` for the interval's period, with
 * full bounds (not clipped to the range), in time order.
 *
 * @param start Inclusive epoch ms.
 * @param end Exclusive epoch ms.
 * @param interval Decides day or month partitions.
 * @returns The partitions; empty when `start >= end`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { partitionsOf } from "./partition.ts";
 * const days = partitionsOf(Date.UTC(2024, 1, 28, 12), Date.UTC(2024, 2, 1, 1), "1m");
 * assert.deepEqual(days.map((p) => p.key), ["2024-02-28", "2024-02-29", "2024-03-01"]);
 * ```
 */
export function partitionsOf(start: number, end: number, interval: Interval): Partition[] {
  const period = partitionPeriod(interval);
  const out: Partition[] = [];
  for (let t = start; t < end;) {
    const p = partitionOf(t, period);
    out.push(p);
    t = p.end;
  }
  return out;
}
