/**
 * The funding rate events of the emulated perpetuals, every column as the
 * exchange prints it: what Vision's monthly `fundingRate` archives and the
 * `fundingRate` REST endpoints serve, and what a client must return.
 *
 * @module
 */
import type { Market } from "../core/market.ts";
import { type FundingIntervalHours, fundingTimes } from "./funding_schedule.ts";
import type { MarketData } from "./market_data.ts";
import { PriceKlineSeries } from "./price_kline_series.ts";

/** One funding event. */
export interface FundingEvent {
  /** Funding time, epoch ms: the hour plus 0-2 ms (`calc_time` on Vision, `fundingTime` on REST). */
  readonly fundingTime: number;
  /** The rate as printed, 8 decimals, e.g. `0.00010000`, `-0.00003750`. */
  readonly fundingRateText: string;
  /** `parseFloat` of the printed rate. */
  readonly fundingRate: number;
  /** The funding interval in force (`funding_interval_hours` on Vision). */
  readonly fundingIntervalHours: FundingIntervalHours;
  /** The mark price REST prints (8 decimals), or null where it prints `""` (before {@linkcode FUNDING_MARK_PRICE_FROM}). */
  readonly markPriceText: string | null;
  /** `parseFloat` of the printed mark price, or null. */
  readonly markPrice: number | null;
}

/** The series and range of {@linkcode fundingTruth}. */
export interface FundingTruthQuery {
  /** The market (um or cm). */
  market: Market;
  /** The perpetual symbol. */
  symbol: string;
  /** Inclusive epoch ms, on the printed funding time. */
  start: number;
  /** Exclusive epoch ms. */
  end: number;
  /** Keep only the first (or with `newest`, the last) `limit` events. @default all */
  limit?: number;
  /** Keep the last `limit` events rather than the first. @default false */
  newest?: boolean;
}

/**
 * First funding time whose REST row carries the mark price: 2023-09-01
 * 00:00 UTC; older rows print `"markPrice": ""` (as genuine rows of 2023-03
 * do). Vision archives never carry it.
 */
export const FUNDING_MARK_PRICE_FROM: number = Date.UTC(2023, 8, 1);

const MIN = 60_000;
const UNITS = 1e8;
/** Binance's interest rate per 8 h, and the clamp on (interest - premium), in 1e-8 units. */
const INTEREST = 10_000;
const CLAMP = 50_000;

/**
 * The funding events of a perpetual in `[start, end)`, oldest first.
 *
 * The rate follows Binance's formula on the premium index: with `P` the
 * close of the 1m premium index candle ending at the funding hour,
 * `F = P + clamp(0.0001 - P, -0.0005, 0.0005)`, scaled by `hours / 8` and
 * rounded to 8 decimals (so `0.00010000` most of the time on an 8 h
 * interval, `0.00005000` on 4 h). The mark price is the close of the 1m
 * mark price candle ending at the funding hour.
 *
 * @param data The market.
 * @param query Market, symbol, `[start, end)` and an optional limit.
 * @returns The events (none for a delivery contract).
 * @throws {RangeError} When the symbol is not in the catalogue.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FUNDING_MARK_PRICE_FROM, fundingTruth } from "./funding_truth.ts";
 * import { MarketData } from "./market_data.ts";
 * const data = new MarketData();
 * const day = fundingTruth(data, {
 *   market: "um",
 *   symbol: "BTCUSDT",
 *   start: FUNDING_MARK_PRICE_FROM - 86_400_000,
 *   end: FUNDING_MARK_PRICE_FROM + 86_400_000,
 * });
 * assert.equal(day.length, 6);
 * assert.ok(day.every((e) => e.fundingTime % 28_800_000 <= 2 && e.fundingIntervalHours === 8));
 * assert.ok(day.every((e) => e.fundingRate === parseFloat(e.fundingRateText)));
 * assert.match(day[0].fundingRateText, /^-?0\.\d{8}$/);
 * assert.deepEqual(day.map((e) => e.markPriceText === null), [true, true, true, false, false, false]);
 * ```
 */
export function fundingTruth(data: MarketData, query: FundingTruthQuery): FundingEvent[] {
  const spec = data.find(query.market, query.symbol);
  if (spec === undefined) {
    throw new RangeError(
      `Cannot build the truth: symbol "${query.symbol}" is not listed on ${query.market}`,
    );
  }
  let times = fundingTimes(spec, query.start, query.end);
  if (query.limit !== undefined) {
    times = query.newest
      ? times.slice(Math.max(0, times.length - query.limit))
      : times.slice(0, query.limit);
  }
  const premium = PriceKlineSeries.of(data, "premiumIndexKlines");
  const mark = PriceKlineSeries.of(data, "markPriceKlines");
  return times.map(({ hour, time, hours }) => {
    const p = Math.round(Number(premium.kline(spec, "1m", hour - MIN).close) * UNITS);
    const f = p + Math.min(CLAMP, Math.max(-CLAMP, INTEREST - p));
    const fundingRateText = (Math.round((f * hours) / 8) / UNITS).toFixed(8);
    const markPriceText = hour >= FUNDING_MARK_PRICE_FROM
      ? mark.kline(spec, "1m", hour - MIN).close
      : null;
    return {
      fundingTime: time,
      fundingRateText,
      fundingRate: parseFloat(fundingRateText),
      fundingIntervalHours: hours,
      markPriceText,
      markPrice: markPriceText === null ? null : parseFloat(markPriceText),
    };
  });
}
