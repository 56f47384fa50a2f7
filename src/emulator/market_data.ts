/**
 * The deterministic synthetic market: every candle is a pure function of
 * (market, symbol, interval, open time, seed), returned as the exact decimal
 * text that both Vision files and REST responses print.
 *
 * @module
 */
import { floorOpenTime, type Interval, INTERVALS, nextOpenTime } from "../core/interval.ts";
import type { Market } from "../core/market.ts";
import { anchor, mix, mixTime, OCTAVES, textKey, unit } from "./_price_path.ts";
import { type RowMark, SeriesHistory } from "./_series_history.ts";
import { BACKWARD_CLOSE_MS, type HistoryMode, REAL_HISTORY } from "./irregular_history.ts";
import { DEFAULT_SYMBOLS, type EmulatedSymbol } from "./symbol_catalogue.ts";

/** One candle as text: the 12 kline values. */
export interface KlineText {
  /** Open time, epoch ms (on the grid, except the off-grid rows of the real history). */
  readonly openTime: number;
  /** Close time, epoch ms: next open time - 1, except the irregular rows of the real history. */
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
  /** The 12th column: `0`, or a decimal number in early spot history. */
  readonly ignore: string;
}

/** A `[start, end)` span without any candle (an exchange halt). */
export interface EmulatedGap {
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
export const DEFAULT_GAPS: readonly EmulatedGap[] = [
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
  gaps?: readonly EmulatedGap[];
  /**
   * `"real"`: spot BTCUSDT and ETHUSDT before 2023 are irregular like genuine
   * Binance history (outages, off-grid open times, irregular close times,
   * zero-volume halt rows, a non-zero `ignore`; see `REAL_HISTORY`);
   * `"clean"`: every candle is regular.
   * @default "real"
   */
  history?: HistoryMode;
  /**
   * The 1m candles of the `klines` dataset are aggregated from the trade
   * tape of `(seed, tradeScale, gaps)`, as on Binance: the series
   * `klineSeries(data, "klines")` serves them (a `TradeKlineSeries`); the
   * methods of this class keep generating every candle independently of the
   * trades, and the other intervals and the price klines stay generated.
   * @default false
   */
  klinesFromTrades?: boolean;
  /** The trade tape's scale when `klinesFromTrades` (see `TradeTapeOptions`). @default 1 */
  tradeScale?: number;
}

/** What a trade tape of this market needs: the seed, scale and halts of {@linkcode MarketData}. */
export interface MarketTapeOptions {
  /** The seed. */
  readonly seed: number;
  /** The trade scale. */
  readonly tradeScale: number;
  /** The halts. */
  readonly gaps: readonly EmulatedGap[];
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
 * // the real history: 2020-12-21 14:00 closes before it opens, with no volume
 * const halt = data.row(btc, "1h", 1608559200000)!;
 * assert.equal(halt.closeTime, 1608558440521);
 * assert.equal(halt.volume, "0.00000000");
 * const clean = new MarketData({ seed: 7, history: "clean" });
 * assert.equal(clean.row(btc, "1h", 1608559200000)!.closeTime, 1608559200000 + 3_599_999);
 * ```
 */
export class MarketData {
  #seed: number;
  #symbols: readonly EmulatedSymbol[];
  #gaps: readonly EmulatedGap[];
  #history: HistoryMode;
  #fromTrades: boolean;
  #tape: MarketTapeOptions;
  #series = new Map<string, SeriesHistory>();
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
   * @param options Seed, catalogue, halts, history and the klines' source.
   * @throws {RangeError} With `klinesFromTrades`, for a `tradeScale` that is
   *   not a positive finite number.
   */
  constructor(options: MarketDataOptions = {}) {
    this.#seed = textKey(String(options.seed ?? 1));
    this.#symbols = options.symbols ?? DEFAULT_SYMBOLS;
    this.#gaps = options.gaps ?? DEFAULT_GAPS;
    this.#history = options.history ?? "real";
    this.#fromTrades = options.klinesFromTrades ?? false;
    const scale = options.tradeScale ?? 1;
    if (this.#fromTrades && (!(scale > 0) || !Number.isFinite(scale))) {
      throw new RangeError(`Cannot use tradeScale "${scale}": expected a positive number`);
    }
    this.#tape = { seed: options.seed ?? 1, tradeScale: scale, gaps: this.#gaps };
  }

  /** Whether the 1m `klines` are aggregated from the trade tape (see `MarketDataOptions`). */
  get klinesFromTrades(): boolean {
    return this.#fromTrades;
  }

  /** The seed, trade scale and halts of this market's trade tape. */
  get tapeOptions(): MarketTapeOptions {
    return this.#tape;
  }

  /** The history served: `"real"` (irregular before 2023) or `"clean"`. */
  get history(): HistoryMode {
    return this.#history;
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
   * Whether the grid slot opening at `slot` holds a candle: it overlaps the
   * trading span and does not open inside a halt or an outage. The candle may
   * open off the grid, later in the slot (see {@linkcode MarketData.kline}).
   *
   * @param spec The symbol.
   * @param interval The interval.
   * @param slot A grid open time.
   * @returns True when the exchange produced it.
   */
  exists(spec: EmulatedSymbol, interval: Interval, slot: number): boolean {
    const history = this.#seriesHistory(spec, interval);
    const mark = history.mark(slot);
    return this.#exists(
      spec,
      interval,
      slot,
      mark === undefined ? slot : slot + mark.shift,
      history,
    );
  }

  #exists(
    spec: EmulatedSymbol,
    interval: Interval,
    slot: number,
    openTime: number,
    history: SeriesHistory,
  ): boolean {
    if (nextOpenTime(slot, interval) <= spec.listedAt) return false;
    if (spec.delistedAt !== undefined && openTime >= spec.delistedAt) return false;
    for (const g of this.#gaps) {
      if (
        openTime >= g.start && openTime < g.end && (g.market ?? spec.market) === spec.market &&
        (g.symbol ?? spec.symbol) === spec.symbol
      ) return false;
    }
    return !history.inOutage(openTime);
  }

  /**
   * Every existing candle whose open time lies in `[start, end)`, in time
   * order: the rows the exchange prints, off-grid ones included.
   *
   * @param spec The symbol.
   * @param interval The interval.
   * @param start Inclusive epoch ms.
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
    const history = this.#seriesHistory(spec, interval);
    const edge = { at: NaN, price: NaN };
    for (let t = floorOpenTime(start, interval); t < end; t = nextOpenTime(t, interval)) {
      const mark = history.mark(t);
      const open = mark === undefined ? t : t + mark.shift;
      if (open < start || open >= end) continue;
      if (this.#exists(spec, interval, t, open, history)) {
        out.push(this.#kline(spec, interval, t, asOf, edge, mark, history));
      }
    }
    return out;
  }

  /**
   * The candle of one grid slot, when it exists.
   *
   * @param spec The symbol.
   * @param interval The interval.
   * @param slot A grid open time.
   * @param asOf The clock (see {@linkcode MarketData.kline}).
   * @returns The candle, or undefined when the slot holds none.
   */
  row(
    spec: EmulatedSymbol,
    interval: Interval,
    slot: number,
    asOf = Infinity,
  ): KlineText | undefined {
    const history = this.#seriesHistory(spec, interval);
    const mark = history.mark(slot);
    const open = mark === undefined ? slot : slot + mark.shift;
    if (!this.#exists(spec, interval, slot, open, history)) return undefined;
    return this.#kline(spec, interval, slot, asOf, { at: NaN, price: NaN }, mark, history);
  }

  /**
   * Generates the candle of one grid slot (whether or not it exists). In the
   * real history it may open off the grid, later in the slot.
   *
   * @param spec The symbol.
   * @param interval The interval.
   * @param slot A grid open time.
   * @param asOf The clock; when the candle is still open at `asOf`, its close
   *   and volumes are those traded so far.
   * @returns The candle as text.
   */
  kline(spec: EmulatedSymbol, interval: Interval, slot: number, asOf = Infinity): KlineText {
    const history = this.#seriesHistory(spec, interval);
    const edge = { at: NaN, price: NaN };
    return this.#kline(spec, interval, slot, asOf, edge, history.mark(slot), history);
  }

  #seriesHistory(spec: EmulatedSymbol, interval: Interval): SeriesHistory {
    const key = `${spec.market}|${spec.symbol}|${interval}`;
    let history = this.#series.get(key);
    if (history === undefined) {
      const events = this.#history === "real" ? REAL_HISTORY : [];
      history = new SeriesHistory(spec.market, spec.symbol, interval, events);
      this.#series.set(key, history);
    }
    return history;
  }

  // `edge` holds the price at `edge.at` when known, and receives this candle's close price.
  #kline(
    spec: EmulatedSymbol,
    interval: Interval,
    slot: number,
    asOf: number,
    edge: { at: number; price: number },
    mark: RowMark | undefined,
    history: SeriesHistory,
  ): KlineText {
    const shift = mark === undefined ? 0 : mark.shift;
    const openTime = slot + shift;
    const next = nextOpenTime(slot, interval) + shift;
    const until = asOf < next ? Math.max(openTime, Math.floor(asOf / 1000) * 1000) : next;
    const fraction = (until - openTime) / (next - openTime);
    const inv = Math.round(1 / spec.tick);
    const halt = mark !== undefined && mark.halt;
    // a halt row stays flat at the price when the halt began (the previous close)
    const openPrice = halt
      ? this.#price(spec, Math.min(openTime, mark.haltFrom))
      : edge.at === openTime
      ? edge.price
      : this.#price(spec, openTime);
    const closePrice = this.#price(spec, until);
    edge.at = until === next ? next : NaN;
    edge.price = closePrice;
    const oT = Math.max(1, Math.round(openPrice * inv));
    const cT = halt ? oT : Math.max(1, Math.round(closePrice * inv));
    const h = mixTime(mix(this.#symbolKey(spec), INTERVALS.indexOf(interval)), openTime);
    const minutes = (next - openTime) / 60_000;
    const wiggle = halt ? 0 : Math.min(0.15, 0.0005 * Math.sqrt(minutes));
    const hiT = Math.max(oT, cT, Math.ceil(Math.max(oT, cT) * (1 + wiggle * unit(mix(h, 1)))));
    const loT = Math.max(
      1,
      Math.min(oT, cT, Math.floor(Math.min(oT, cT) * (1 - wiggle * unit(mix(h, 2))))),
    );
    const vwap = (loT + (hiT - loT) * (0.25 + 0.5 * unit(mix(h, 3)))) / inv;
    const raw = spec.volumePerMinute * minutes * fraction * (0.2 + 1.6 * unit(mix(h, 4)));
    const vd = spec.volumeDecimals;
    const volText = halt ? (0).toFixed(vd) : Math.max(raw, 10 ** -vd).toFixed(vd);
    const volume = Number(volText);
    const takerText = (volume * (0.3 + 0.4 * unit(mix(h, 5)))).toFixed(vd);
    const taker = Number(takerText);
    const toQuote = (v: number) =>
      spec.contractSize !== undefined ? (v * spec.contractSize) / vwap : v * vwap;
    const pd = spec.priceDecimals;
    const count = Math.round(volume * spec.tradesPerUnit * (0.5 + unit(mix(h, 6))));
    const ignored = openTime >= history.ignoreFrom && openTime < history.ignoreUntil;
    return {
      openTime,
      closeTime: mark === undefined || shift !== 0 ? next - 1 : closeTime(mark, openTime, next),
      open: (oT / inv).toFixed(pd),
      high: (hiT / inv).toFixed(pd),
      low: (loT / inv).toFixed(pd),
      close: (cT / inv).toFixed(pd),
      volume: volText,
      quoteVolume: toQuote(volume).toFixed(spec.quoteDecimals),
      count: halt ? 0 : Math.max(1, count),
      takerBuyVolume: takerText,
      takerBuyQuoteVolume: toQuote(taker).toFixed(spec.quoteDecimals),
      ignore: ignored ? (1 + 49_999 * unit(mix(h, 7))).toFixed(8) : "0",
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

function closeTime(mark: RowMark, openTime: number, next: number): number {
  switch (mark.close) {
    case "short_close":
      return openTime + Math.floor((next - openTime) * 29 / 60);
    case "exact_close":
      return next;
    case "close_999000":
      return next - 1000;
    case "backward_close":
      return openTime + BACKWARD_CLOSE_MS;
    default:
      return next - 1;
  }
}
