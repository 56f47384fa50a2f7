/**
 * The deterministic synthetic market: every candle is a pure function of
 * (market, symbol, interval, open time, seed), returned as the exact decimal
 * text that both Vision files and REST responses print.
 *
 * @module
 */
import { type Interval, INTERVALS, nextOpenTime } from "../core/interval.ts";
import { ceilOpenTime } from "../core/interval.ts";
import type { Market } from "../core/market.ts";
import { anchor, mix, mixTime, OCTAVES, textKey, unit } from "./_price_path.ts";
import { DEFAULT_SYMBOLS, type EmulatedSymbol } from "./symbol_catalogue.ts";

/** One candle as text: the 11 meaningful kline values (the 12th is always `0`). */
export interface KlineText {
  /** Open time, epoch ms. */
  readonly openTime: number;
  /** Close time, epoch ms: next open time - 1. */
  readonly closeTime: number;
  /** Open price. */
  readonly open: string;
  /** High price. */
  readonly high: string;
  /** Low price. */
  readonly low: string;
  /** Close price. */
  readonly close: string;
  /** Volume (base units, or contracts on cm). */
  readonly volume: string;
  /** Quote asset volume (base asset on cm). */
  readonly quoteVolume: string;
  /** Number of trades. */
  readonly count: number;
  /** Taker buy volume. */
  readonly takerBuyVolume: string;
  /** Taker buy quote volume. */
  readonly takerBuyQuoteVolume: string;
}

/** A `[start, end)` span without any candle (an exchange halt). */
export interface Gap {
  /** First ms of the halt. */
  readonly start: number;
  /** First ms after the halt. */
  readonly end: number;
  /** Only this market; all markets when absent. */
  readonly market?: Market;
  /** Only this symbol; all symbols when absent. */
  readonly symbol?: string;
}

/**
 * Default exchange halts, in every market and symbol: 2020-02-19 10:00-12:00,
 * 2021-04-25 01:00-03:00 and 2023-03-24 12:30-14:30 UTC.
 */
export const DEFAULT_GAPS: readonly Gap[] = [
  { start: Date.UTC(2020, 1, 19, 10), end: Date.UTC(2020, 1, 19, 12) },
  { start: Date.UTC(2021, 3, 25, 1), end: Date.UTC(2021, 3, 25, 3) },
  { start: Date.UTC(2023, 2, 24, 12, 30), end: Date.UTC(2023, 2, 24, 14, 30) },
];

/** Options of {@linkcode MarketData}. */
export interface MarketDataOptions {
  /** Seed of every generated value. @default 1 */
  seed?: number;
  /** The symbol catalogue. @default DEFAULT_SYMBOLS */
  symbols?: readonly EmulatedSymbol[];
  /** Exchange halts. @default DEFAULT_GAPS */
  gaps?: readonly Gap[];
}

const MARKET_KEY: Record<Market, number> = { spot: 11, um: 23, cm: 37 };

/**
 * The synthetic market: symbol catalogue, halts, and the candle generator.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MarketData } from "./market_data.ts";
 * const data = new MarketData({ seed: 7 });
 * const btc = data.find("spot", "BTCUSDT")!;
 * const k = data.kline(btc, "1m", Date.UTC(2023, 0, 1));
 * assert.equal(k.closeTime, Date.UTC(2023, 0, 1) + 59_999);
 * assert.match(k.open, /^\d+\.\d{8}$/);
 * assert.deepEqual(data.kline(btc, "1m", Date.UTC(2023, 0, 1)), k);
 * ```
 */
export class MarketData {
  #seed: number;
  #symbols: readonly EmulatedSymbol[];
  #gaps: readonly Gap[];
  // Last lattice values per octave: consecutive candles share the coarse ones.
  #memo = {
    key: new Int32Array(OCTAVES.length),
    i: new Float64Array(OCTAVES.length).fill(NaN),
    a: new Float64Array(OCTAVES.length),
    b: new Float64Array(OCTAVES.length),
  };

  /**
   * Creates the instance.
   *
   * @param options Seed, catalogue and halts.
   */
  constructor(options: MarketDataOptions = {}) {
    this.#seed = textKey(String(options.seed ?? 1));
    this.#symbols = options.symbols ?? DEFAULT_SYMBOLS;
    this.#gaps = options.gaps ?? DEFAULT_GAPS;
  }

  /**
   * Looks a symbol up.
   *
   * @param market The market.
   * @param symbol The symbol.
   * @returns Its catalogue entry, or undefined when not listed there.
   */
  find(market: Market, symbol: string): EmulatedSymbol | undefined {
    return this.#symbols.find((s) => s.market === market && s.symbol === symbol);
  }

  /**
   * The symbols of a market, sorted by name.
   *
   * @param market The market.
   * @returns Catalogue entries.
   */
  list(market: Market): EmulatedSymbol[] {
    return this.#symbols.filter((s) => s.market === market)
      .sort((a, b) => (a.symbol < b.symbol ? -1 : 1));
  }

  /**
   * Whether a candle exists: it overlaps the trading span and does not open
   * inside a halt.
   *
   * @param spec The symbol.
   * @param interval The interval.
   * @param openTime A grid open time.
   * @returns True when the exchange produced it.
   */
  exists(spec: EmulatedSymbol, interval: Interval, openTime: number): boolean {
    if (nextOpenTime(openTime, interval) <= spec.listedAt) return false;
    if (spec.delistedAt !== undefined && openTime >= spec.delistedAt) return false;
    for (const g of this.#gaps) {
      if (
        openTime >= g.start && openTime < g.end && (g.market ?? spec.market) === spec.market &&
        (g.symbol ?? spec.symbol) === spec.symbol
      ) return false;
    }
    return true;
  }

  /**
   * Every existing candle opening in `[start, end)`, in time order.
   *
   * @param spec The symbol.
   * @param interval The interval.
   * @param start Inclusive epoch ms (rounded up to the grid).
   * @param end Exclusive epoch ms.
   * @param asOf The clock: a candle still open at `asOf` has partial values.
   * @returns The candles.
   */
  klines(
    spec: EmulatedSymbol,
    interval: Interval,
    start: number,
    end: number,
    asOf = Infinity,
  ): KlineText[] {
    const out: KlineText[] = [];
    const edge = { price: NaN };
    for (let t = ceilOpenTime(start, interval); t < end; t = nextOpenTime(t, interval)) {
      if (this.exists(spec, interval, t)) out.push(this.#kline(spec, interval, t, asOf, edge));
      else edge.price = NaN;
    }
    return out;
  }

  /**
   * Generates one candle (whether or not it exists).
   *
   * @param spec The symbol.
   * @param interval The interval.
   * @param openTime A grid open time.
   * @param asOf The clock; when the candle is still open at `asOf`, its close
   *   and volumes are those traded so far.
   * @returns The candle as text.
   */
  kline(spec: EmulatedSymbol, interval: Interval, openTime: number, asOf = Infinity): KlineText {
    return this.#kline(spec, interval, openTime, asOf, { price: NaN });
  }

  // `edge.price` holds the price at `openTime` when known, and receives the close price.
  #kline(
    spec: EmulatedSymbol,
    interval: Interval,
    openTime: number,
    asOf: number,
    edgePrice: { price: number },
  ): KlineText {
    const next = nextOpenTime(openTime, interval);
    const edge = asOf < next ? Math.max(openTime, Math.floor(asOf / 1000) * 1000) : next;
    const fraction = (edge - openTime) / (next - openTime);
    const inv = Math.round(1 / spec.tick);
    const openPrice = Number.isNaN(edgePrice.price) ? this.#price(spec, openTime) : edgePrice.price;
    const closePrice = this.#price(spec, edge);
    edgePrice.price = edge === next ? closePrice : NaN;
    const oT = Math.max(1, Math.round(openPrice * inv));
    const cT = Math.max(1, Math.round(closePrice * inv));
    const h = mixTime(mix(this.#symbolKey(spec), INTERVALS.indexOf(interval)), openTime);
    const minutes = (next - openTime) / 60_000;
    const wiggle = Math.min(0.15, 0.0005 * Math.sqrt(minutes));
    const hiT = Math.max(oT, cT, Math.ceil(Math.max(oT, cT) * (1 + wiggle * unit(mix(h, 1)))));
    const loT = Math.max(
      1,
      Math.min(oT, cT, Math.floor(Math.min(oT, cT) * (1 - wiggle * unit(mix(h, 2))))),
    );
    const vwap = (loT + (hiT - loT) * (0.25 + 0.5 * unit(mix(h, 3)))) / inv;
    const raw = spec.volumePerMinute * minutes * fraction * (0.2 + 1.6 * unit(mix(h, 4)));
    const vd = spec.volumeDecimals;
    const volText = Math.max(raw, 10 ** -vd).toFixed(vd);
    const volume = Number(volText);
    const takerText = (volume * (0.3 + 0.4 * unit(mix(h, 5)))).toFixed(vd);
    const taker = Number(takerText);
    const toQuote = (v: number) =>
      spec.contractSize !== undefined ? (v * spec.contractSize) / vwap : v * vwap;
    const pd = spec.priceDecimals;
    return {
      openTime,
      closeTime: next - 1,
      open: (oT / inv).toFixed(pd),
      high: (hiT / inv).toFixed(pd),
      low: (loT / inv).toFixed(pd),
      close: (cT / inv).toFixed(pd),
      volume: volText,
      quoteVolume: toQuote(volume).toFixed(spec.quoteDecimals),
      count: Math.max(1, Math.round(volume * spec.tradesPerUnit * (0.5 + unit(mix(h, 6))))),
      takerBuyVolume: takerText,
      takerBuyQuoteVolume: toQuote(taker).toFixed(spec.quoteDecimals),
    };
  }

  #symbolKey(spec: EmulatedSymbol): number {
    return mix(mix(this.#seed, MARKET_KEY[spec.market]), textKey(spec.symbol));
  }

  #price(spec: EmulatedSymbol, t: number): number {
    const shared = mix(this.#seed, textKey(spec.base));
    const own = this.#symbolKey(spec);
    let log = anchor(t) + Math.log(spec.priceScale);
    for (let k = 0; k < OCTAVES.length; k++) {
      const [period, amplitude, isShared] = OCTAVES[k];
      const key = mix(isShared ? shared : own, k);
      const i = Math.floor(t / period);
      const f = (t - i * period) / period;
      const s = f * f * (3 - 2 * f);
      const memo = this.#memo;
      if (memo.key[k] !== key || memo.i[k] !== i) {
        memo.key[k] = key;
        memo.i[k] = i;
        memo.a[k] = unit(mixTime(key, i)) * 2 - 1;
        memo.b[k] = unit(mixTime(key, i + 1)) * 2 - 1;
      }
      const a = memo.a[k];
      log += amplitude * (a + (memo.b[k] - a) * s);
    }
    return Math.exp(log);
  }
}
