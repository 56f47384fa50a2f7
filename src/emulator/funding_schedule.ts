/**
 * When the emulated perpetual futures pay funding: every
 * `funding_interval_hours` hours on a grid aligned to 00:00 UTC (8 h: 00:00,
 * 08:00, 16:00), the interval changing per symbol over time as on Binance,
 * and each event stamped a few ms after its hour.
 *
 * @module
 */
import type { Market } from "../core/market.ts";
import { isPerpetual } from "./_futures_contract.ts";
import { mixTime, textKey, unit } from "./_price_path.ts";
import type { EmulatedSymbol } from "./symbol_catalogue.ts";

/** A funding interval Binance uses, hours. */
export type FundingIntervalHours = 1 | 4 | 8;

/** A symbol's funding interval from a UTC midnight on (until its next entry). */
export interface FundingScheduleEntry {
  /** The market. */
  readonly market: Market;
  /** The perpetual symbol. */
  readonly symbol: string;
  /** First instant of the interval, epoch ms (a UTC midnight). */
  readonly from: number;
  /** The interval from then on. */
  readonly hours: FundingIntervalHours;
}

/** One funding event's time. */
export interface FundingTime {
  /** The funding hour, epoch ms. */
  readonly hour: number;
  /** The printed time: the hour plus 0, 1 or 2 ms (`calc_time`, `fundingTime`). */
  readonly time: number;
  /** The funding interval in force, hours. */
  readonly hours: FundingIntervalHours;
}

/** The interval of a perpetual without an entry in {@linkcode FUNDING_SCHEDULE}. */
export const DEFAULT_FUNDING_INTERVAL_HOURS: FundingIntervalHours = 8;

/**
 * Funding interval changes of the default catalogue; every other perpetual
 * funds every 8 hours for its whole history.
 *
 * - um `ETHUSDT`: 8 h until 2024-06-14, **4 h from 2024-06-15 00:00 UTC**
 *   (2024-06-14 16:00 is the last event with interval 8; 2024-06-15 00:00
 *   the first with interval 4, then 04:00, 08:00, ...).
 * - um `NEWUSDT`: 4 h from its listing (2024-03-20 08:00 UTC; first event
 *   12:00), **1 h from 2025-02-01 00:00 UTC**.
 */
export const FUNDING_SCHEDULE: readonly FundingScheduleEntry[] = [
  { market: "um", symbol: "ETHUSDT", from: Date.UTC(2024, 5, 15), hours: 4 },
  { market: "um", symbol: "NEWUSDT", from: -Infinity, hours: 4 },
  { market: "um", symbol: "NEWUSDT", from: Date.UTC(2025, 1, 1), hours: 1 },
];

const HOUR = 3_600_000;

function segments(
  spec: EmulatedSymbol,
): { from: number; to: number; hours: FundingIntervalHours }[] {
  const own = FUNDING_SCHEDULE
    .filter((e) => e.market === spec.market && e.symbol === spec.symbol)
    .sort((a, b) => a.from - b.from);
  if (own.length === 0 || own[0].from > -Infinity) {
    own.unshift({
      market: spec.market,
      symbol: spec.symbol,
      from: -Infinity,
      hours: DEFAULT_FUNDING_INTERVAL_HOURS,
    });
  }
  return own.map((e, i) => ({ from: e.from, to: own[i + 1]?.from ?? Infinity, hours: e.hours }));
}

/**
 * The funding events of a perpetual whose printed time lies in
 * `[start, end)`, oldest first: on each hour of its interval's grid strictly
 * after its listing and before its delisting. The printed time is the hour
 * plus a jitter of 0, 1 or 2 ms drawn from the market, symbol and hour.
 * Delivery contracts pay no funding: none.
 *
 * @param spec The symbol.
 * @param start Inclusive epoch ms.
 * @param end Exclusive epoch ms.
 * @returns The events' times.
 * @throws {RangeError} When `end` is not finite and the symbol is not delisted.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fundingTimes } from "./funding_schedule.ts";
 * import { DEFAULT_SYMBOLS } from "./symbol_catalogue.ts";
 * const eth = DEFAULT_SYMBOLS.find((s) => s.market === "um" && s.symbol === "ETHUSDT")!;
 * const times = fundingTimes(eth, Date.UTC(2024, 5, 14), Date.UTC(2024, 5, 15, 12));
 * assert.deepEqual(times.map((t) => new Date(t.hour).getUTCHours()), [0, 8, 16, 0, 4, 8]);
 * assert.deepEqual(times.map((t) => t.hours), [8, 8, 8, 4, 4, 4]);
 * assert.ok(times.every((t) => t.time - t.hour >= 0 && t.time - t.hour <= 2));
 * ```
 */
export function fundingTimes(spec: EmulatedSymbol, start: number, end: number): FundingTime[] {
  if (!isPerpetual(spec)) return [];
  const key = textKey(`${spec.market}|funding|${spec.symbol}`);
  const out: FundingTime[] = [];
  const last = Math.min(end, spec.delistedAt ?? Infinity);
  if (!Number.isFinite(last)) throw new RangeError(`Cannot list funding times up to ${end}`);
  for (const { from, to, hours } of segments(spec)) {
    const step = hours * HOUR;
    const lo = Math.max(from, start - 2, spec.listedAt + 1);
    for (let hour = Math.ceil(lo / step) * step; hour < Math.min(to, last); hour += step) {
      const time = hour + Math.floor(unit(mixTime(key, hour)) * 3);
      if (time >= start && time < end) out.push({ hour, time, hours });
    }
  }
  return out;
}
