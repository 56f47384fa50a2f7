/**
 * How many aggregate and plain trades a symbol has before each UTC day, in
 * closed form: the first ids of any day in O(1), without summing the days
 * since the listing. Private to the emulator (see `trade_tape.ts`).
 *
 * The day rate is `aggTradesPerDay × tradeScale × growth(day) + 8`, growth a
 * piecewise-linear curve of the market's history (1 from 2023), weighted by
 * the share of the day the symbol trades (listing and delisting days are
 * partial). The cumulative count `D(d)` is the sum of those rates (an
 * arithmetic series per segment of the curve) plus a bounded seeded noise no
 * larger than a quarter of the neighbouring days' rates, floored: each day
 * then holds at least 0.4 of its rate, and a full day at least one trade.
 *
 * @module
 */
import { mix, unit } from "./_price_path.ts";
import { DEFAULT_AGG_TRADES_PER_DAY, type EmulatedSymbol } from "./symbol_catalogue.ts";

const DAY_MS = 86_400_000;
const MIN_PER_DAY = 8;
const NOISE = 0.25;

/** Growth of trading, `[day index, factor]`, linear in between, constant outside. */
const GROWTH: readonly (readonly [number, number])[] = [
  [Date.UTC(2017, 6, 1), 0.08],
  [Date.UTC(2018, 0, 15), 0.35],
  [Date.UTC(2019, 0, 1), 0.15],
  [Date.UTC(2020, 2, 15), 0.4],
  [Date.UTC(2021, 4, 1), 0.9],
  [Date.UTC(2022, 5, 1), 0.8],
  [Date.UTC(2023, 0, 1), 1],
].map(([t, g]) => [t / DAY_MS, g] as const);

/** Σ growth(k) for k in [GROWTH[0] day, d) (negative below it). */
function growthSum(d: number): number {
  const [k0, g0] = GROWTH[0];
  if (d <= k0) return (d - k0) * g0;
  let sum = 0;
  for (let j = 0; j < GROWTH.length - 1; j++) {
    const [ka, ga] = GROWTH[j];
    const [kb, gb] = GROWTH[j + 1];
    const n = Math.min(d, kb) - ka;
    sum += n * ga + ((gb - ga) / (kb - ka)) * (n * (n - 1)) / 2;
    if (d <= kb) return sum;
  }
  const [kl, gl] = GROWTH[GROWTH.length - 1];
  return sum + (d - kl) * gl;
}

function growth(k: number): number {
  if (k <= GROWTH[0][0]) return GROWTH[0][1];
  for (let j = 1; j < GROWTH.length; j++) {
    const [kb, gb] = GROWTH[j];
    if (k < kb) {
      const [ka, ga] = GROWTH[j - 1];
      return ga + ((gb - ga) * (k - ka)) / (kb - ka);
    }
  }
  return GROWTH[GROWTH.length - 1][1];
}

/** The cumulative trade counts of one symbol at one scale. */
export class TradeCounts {
  /** Mean plain trades per aggregate trade. */
  readonly tradesPerAgg: number;
  #spec: EmulatedSymbol;
  #key: number;
  #rate: number;
  #first: number;
  #last: number;

  /**
   * @param spec The symbol.
   * @param scale The emulator's `tradeScale`.
   * @param key The symbol's hash key.
   */
  constructor(spec: EmulatedSymbol, scale: number, key: number) {
    this.#spec = spec;
    this.#key = key;
    this.#rate = (spec.aggTradesPerDay ?? DEFAULT_AGG_TRADES_PER_DAY[spec.market]) * scale;
    this.tradesPerAgg = Math.max(1, spec.tradesPerAggTrade ?? 2.4);
    this.#first = Math.floor(spec.listedAt / DAY_MS);
    this.#last = spec.delistedAt === undefined
      ? Infinity
      : Math.floor((spec.delistedAt - 1) / DAY_MS);
  }

  /** Index of the listing day. */
  get firstDay(): number {
    return this.#first;
  }

  /** Share of day `k` the symbol trades, 0 to 1. */
  active(k: number): number {
    if (k < this.#first || k > this.#last) return 0;
    const start = Math.max(k * DAY_MS, this.#spec.listedAt);
    const end = Math.min((k + 1) * DAY_MS, this.#spec.delistedAt ?? Infinity);
    return (end - start) / DAY_MS;
  }

  #dayRate(k: number): number {
    return this.#rate * growth(k) + MIN_PER_DAY;
  }

  #expected(k: number): number {
    return this.#dayRate(k) * this.active(k);
  }

  // Σ expected(k) for k < d.
  #sum(d: number): number {
    const first = this.#first;
    if (d <= first) return 0;
    const end = Math.min(d, this.#last + 1);
    let s = this.#rate * (growthSum(end) - growthSum(first)) + MIN_PER_DAY * (end - first);
    s -= this.#dayRate(first) * (1 - this.active(first));
    if (this.#last !== first && this.#last < end) {
      s -= this.#dayRate(this.#last) * (1 - this.active(this.#last));
    }
    return s;
  }

  #noise(d: number, salt: number, bound: number): number {
    return NOISE * bound * (2 * unit(mix(mix(this.#key, salt), d)) - 1);
  }

  /** Aggregate trades before day `d`: the first aggregate trade id of day `d`. */
  aggStart(d: number): number {
    if (d <= this.#first) return 0;
    const bound = Math.min(this.#expected(d - 1), this.#expected(d));
    return Math.floor(this.#sum(d) + this.#noise(d, 0x61676774, bound));
  }

  /** Plain trades before day `d`: the first trade id of day `d`. */
  tradeStart(d: number): number {
    const at = this.aggStart(d);
    const x = this.tradesPerAgg - 1;
    if (x === 0) return at;
    const before = at - this.aggStart(d - 1);
    const after = this.aggStart(d + 1) - at;
    return at + Math.floor(x * at + this.#noise(d, 0x74726164, x * Math.min(before, after)));
  }
}
