/**
 * The mark, index and premium index price klines of the emulated futures
 * markets (BINANCE.md section 4), derived deterministically from the trade
 * klines of {@linkcode MarketData}, in the same slots (a halt has none).
 *
 * - index price: the candle's trade prices times `1 + b(t)`, a basis of at
 *   most ±0.02 % that drifts over hours; named by pair (`BTCUSDT` on um, the
 *   `BTCUSD` of `BTCUSD_PERP` on cm).
 * - premium index: `p(t) = 0.0001 + 0.0008 w(t)`, a slow wave `w` in
 *   [-1, 1] (e.g. `-0.00012345`), with a high and low a little outside open
 *   and close.
 * - mark price: the index price times `1 + p(t)`.
 *
 * Every price prints 8 decimals, as Binance's REST samples of these
 * endpoints do; the volume columns print `0`, the 12th column `0`; `count`
 * is the number of price samples: one a second for mark and index prices
 * (60 in a 1m candle), one every 5 s for the premium index (12 in a 1m
 * candle); a candle still open counts the samples so far. `w` and `b`
 * depend on the market and symbol (or pair), not on the seed.
 *
 * @module
 */
import { type Interval, INTERVALS, nextOpenTime } from "../core/interval.ts";
import type { Market } from "../core/market.ts";
import { isPerpetual, pairOf } from "./_futures_contract.ts";
import { mix, mixTime, textKey, unit } from "./_price_path.ts";
import type { KlineSeries } from "./dataset_series.ts";
import type { KlineText, MarketData } from "./market_data.ts";
import type { EmulatedSymbol } from "./symbol_catalogue.ts";

/** The price klines datasets. */
export type PriceKlineDataset = "markPriceKlines" | "indexPriceKlines" | "premiumIndexKlines";

const HOUR = 3_600_000;
const UNITS = 1e8;
/** Value-noise octaves of the basis and premium waves: `[period ms, amplitude]`. */
const WAVE: readonly (readonly [number, number])[] = [[8 * HOUR, 0.7], [HOUR, 0.3]];
const SAMPLE_MS: Record<PriceKlineDataset, number> = {
  markPriceKlines: 1000,
  indexPriceKlines: 1000,
  premiumIndexKlines: 5000,
};
const MEMO = new WeakMap<MarketData, Map<PriceKlineDataset, PriceKlineSeries>>();

function wave(key: number, t: number): number {
  let v = 0;
  for (let k = 0; k < WAVE.length; k++) {
    const [period, amplitude] = WAVE[k];
    const i = Math.floor(t / period);
    const f = (t - i * period) / period;
    const a = unit(mixTime(mix(key, k), i)) * 2 - 1;
    const b = unit(mixTime(mix(key, k), i + 1)) * 2 - 1;
    v += amplitude * (a + (b - a) * f * f * (3 - 2 * f));
  }
  return v;
}

function fixed8(units: number): string {
  return (units / UNITS).toFixed(8);
}

/** Whether `a` represents its pair rather than `b`: a perpetual first, then the earlier listing. */
function before(a: EmulatedSymbol, b: EmulatedSymbol): boolean {
  const pa = isPerpetual(a), pb = isPerpetual(b);
  return pa !== pb ? pa : a.listedAt < b.listedAt;
}

/**
 * One price klines dataset of the emulated market.
 *
 * Index klines list one entry per pair: the catalogue entry of the pair's
 * perpetual (else its earliest listed contract) renamed to the pair, with
 * that contract's listing, delisting and Vision start.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MarketData } from "./market_data.ts";
 * import { PriceKlineSeries } from "./price_kline_series.ts";
 * const data = new MarketData();
 * const index = PriceKlineSeries.of(data, "indexPriceKlines");
 * const pair = index.find("cm", "BTCUSD")!;
 * assert.equal(pair.symbol, "BTCUSD");
 * assert.equal(index.find("cm", "BTCUSD_PERP"), undefined);
 * const [k] = index.klines(pair, "1m", Date.UTC(2024, 0, 1), Date.UTC(2024, 0, 1, 0, 1));
 * assert.match(k.close, /^\d+\.\d{8}$/);
 * assert.equal(k.volume, "0");
 * assert.equal(k.count, 60);
 * const premium = PriceKlineSeries.of(data, "premiumIndexKlines");
 * const p = premium.row(data.find("um", "BTCUSDT")!, "1m", Date.UTC(2024, 0, 1))!;
 * assert.ok(Math.abs(Number(p.close)) < 0.001 && p.count === 12);
 * ```
 */
export class PriceKlineSeries implements KlineSeries {
  #data: MarketData;
  #dataset: PriceKlineDataset;
  #pairs = new Map<Market, Map<string, EmulatedSymbol>>();
  #underlying = new WeakMap<EmulatedSymbol, EmulatedSymbol>();

  /**
   * The series of a dataset over a market, one instance per `MarketData`.
   *
   * @param data The market.
   * @param dataset The price klines dataset.
   * @returns The shared instance.
   */
  static of(data: MarketData, dataset: PriceKlineDataset): PriceKlineSeries {
    let byDataset = MEMO.get(data);
    if (byDataset === undefined) MEMO.set(data, byDataset = new Map());
    let series = byDataset.get(dataset);
    if (series === undefined) byDataset.set(dataset, series = new PriceKlineSeries(data, dataset));
    return series;
  }

  /**
   * Creates the instance (prefer {@linkcode PriceKlineSeries.of}).
   *
   * @param data The market.
   * @param dataset The price klines dataset.
   */
  constructor(data: MarketData, dataset: PriceKlineDataset) {
    this.#data = data;
    this.#dataset = dataset;
  }

  /** The dataset served. */
  get dataset(): PriceKlineDataset {
    return this.#dataset;
  }

  /**
   * Looks a series up: a futures symbol, or a pair for index prices.
   *
   * @param market The market (spot has none).
   * @param name The symbol or pair.
   * @returns Its entry, or undefined.
   */
  find(market: Market, name: string): EmulatedSymbol | undefined {
    if (market === "spot") return undefined;
    if (this.#dataset === "indexPriceKlines") return this.#pairsOf(market).get(name);
    return this.#data.find(market, name);
  }

  /**
   * The series of a market, sorted by name.
   *
   * @param market The market.
   * @returns Symbols, or pairs for index prices.
   */
  list(market: Market): EmulatedSymbol[] {
    if (market === "spot") return [];
    if (this.#dataset !== "indexPriceKlines") return this.#data.list(market);
    return [...this.#pairsOf(market).values()].sort((a, b) => (a.symbol < b.symbol ? -1 : 1));
  }

  /**
   * Every candle opening in `[start, end)`, in time order.
   *
   * @param spec The series.
   * @param interval The interval.
   * @param start Inclusive epoch ms.
   * @param end Exclusive epoch ms.
   * @param asOf The clock: a candle still open has partial values.
   * @returns The candles.
   */
  klines(
    spec: EmulatedSymbol,
    interval: Interval,
    start: number,
    end: number,
    asOf = Infinity,
  ): KlineText[] {
    const under = this.#under(spec);
    return this.#data.klines(under, interval, start, end, asOf)
      .map((k) => this.#derive(under, interval, k, asOf));
  }

  /**
   * The candle of one grid slot, when it exists.
   *
   * @param spec The series.
   * @param interval The interval.
   * @param slot A grid open time.
   * @param asOf The clock.
   * @returns The candle, or undefined when the slot holds none.
   */
  row(
    spec: EmulatedSymbol,
    interval: Interval,
    slot: number,
    asOf = Infinity,
  ): KlineText | undefined {
    const under = this.#under(spec);
    const k = this.#data.row(under, interval, slot, asOf);
    return k === undefined ? undefined : this.#derive(under, interval, k, asOf);
  }

  /**
   * The candle of one grid slot, whether or not the exchange produced it.
   *
   * @param spec The series.
   * @param interval The interval.
   * @param slot A grid open time.
   * @param asOf The clock.
   * @returns The candle.
   */
  kline(spec: EmulatedSymbol, interval: Interval, slot: number, asOf = Infinity): KlineText {
    const under = this.#under(spec);
    return this.#derive(under, interval, this.#data.kline(under, interval, slot, asOf), asOf);
  }

  #pairsOf(market: Market): Map<string, EmulatedSymbol> {
    let pairs = this.#pairs.get(market);
    if (pairs !== undefined) return pairs;
    const best = new Map<string, EmulatedSymbol>();
    for (const s of this.#data.list(market)) {
      const pair = pairOf(s.symbol);
      const held = best.get(pair);
      if (held === undefined || before(s, held)) best.set(pair, s);
    }
    pairs = new Map();
    for (const [pair, under] of best) {
      const spec: EmulatedSymbol = { ...under, symbol: pair };
      this.#underlying.set(spec, under);
      pairs.set(pair, spec);
    }
    this.#pairs.set(market, pairs);
    return pairs;
  }

  #under(spec: EmulatedSymbol): EmulatedSymbol {
    return this.#underlying.get(spec) ?? spec;
  }

  #derive(under: EmulatedSymbol, interval: Interval, k: KlineText, asOf: number): KlineText {
    const open = k.openTime;
    const next = nextOpenTime(open, interval);
    const until = asOf < next ? Math.max(open, Math.floor(asOf / 1000) * 1000) : next;
    const key = textKey(`${under.market}|${under.symbol}`);
    const prices = this.#dataset === "premiumIndexKlines"
      ? premiumCandle(key, interval, open, until, next)
      : priceCandle(this.#dataset === "markPriceKlines", under, key, k, open, until);
    return {
      openTime: open,
      closeTime: k.closeTime,
      ...prices,
      volume: "0",
      quoteVolume: "0",
      count: Math.max(1, Math.floor((until - open) / SAMPLE_MS[this.#dataset])),
      takerBuyVolume: "0",
      takerBuyQuoteVolume: "0",
      ignore: "0",
    };
  }
}

type Prices = Pick<KlineText, "open" | "high" | "low" | "close">;

function premium(key: number, t: number): number {
  return 0.0001 + 0.0008 * wave(mix(key, 2), t);
}

function priceCandle(
  mark: boolean,
  under: EmulatedSymbol,
  key: number,
  k: KlineText,
  open: number,
  until: number,
): Prices {
  const indexKey = mix(textKey(`${under.market}|${pairOf(under.symbol)}`), 1);
  const factor = (t: number) => (1 + 0.0002 * wave(indexKey, t)) * (mark ? 1 + premium(key, t) : 1);
  const fo = factor(open), fc = factor(until);
  const o = Math.round(Number(k.open) * fo * UNITS);
  const c = Math.round(Number(k.close) * fc * UNITS);
  const h = Math.max(o, c, Math.round(Number(k.high) * Math.max(fo, fc) * UNITS));
  const l = Math.min(o, c, Math.round(Number(k.low) * Math.min(fo, fc) * UNITS));
  return { open: fixed8(o), high: fixed8(h), low: fixed8(l), close: fixed8(c) };
}

function premiumCandle(
  key: number,
  interval: Interval,
  open: number,
  until: number,
  next: number,
): Prices {
  const o = Math.round(premium(key, open) * UNITS);
  const c = Math.round(premium(key, until) * UNITS);
  const h = mixTime(mix(key, 3 + INTERVALS.indexOf(interval)), open);
  const spread = Math.min(0.0005, 0.00003 * Math.sqrt((next - open) / 60_000)) * UNITS;
  const hi = Math.max(o, c) + Math.round(spread * unit(mix(h, 1)));
  const lo = Math.min(o, c) - Math.round(spread * unit(mix(h, 2)));
  return { open: fixed8(o), high: fixed8(hi), low: fixed8(lo), close: fixed8(c) };
}
