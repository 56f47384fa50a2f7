/**
 * The `klines` of an emulated market built with `klinesFromTrades`: every 1m
 * candle is aggregated from that minute's trades of the trade tape, as
 * Binance's are, so klines rebuilt from the aggTrades or trades the emulator
 * serves match its 1m klines. Only 1m is derived: the other intervals come
 * from the generator unchanged (as do the price klines), so a 1h candle is
 * not the aggregate of its 1m candles in this mode.
 *
 * Which candles exist, their open and close times and the `ignore` column
 * come from the generator ({@linkcode MarketData}: listing, halts, the
 * outages and off-grid rows of the real history); the values from the tape:
 * open, high, low and close are the prices of the first, highest, lowest and
 * last trade; volume and taker buy volume sums of quantities in integer
 * units (exact text); quote volumes `Σ price × quantity` (cm: `Σ quantity ×
 * contract size / price`, in the base asset) rounded to the quote decimals;
 * count the number of plain trades. A minute without trades is flat at the
 * previous trade's price with zero volumes and count 0. The tape knows the
 * halts (`gaps`) but not the real history's halt rows: in this mode those
 * carry their minute's trades.
 *
 * @module
 */
import type { Interval } from "../core/interval.ts";
import type { Market } from "../core/market.ts";
import type { KlineSeries } from "./dataset_series.ts";
import type { KlineText, MarketData } from "./market_data.ts";
import type { EmulatedSymbol } from "./symbol_catalogue.ts";
import { TradeTape } from "./trade_tape.ts";
import { TradeText } from "./trade_text.ts";

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
const series = new WeakMap<MarketData, TradeKlineSeries>();

/** Index of the first value of a non-decreasing array at or above `x`. */
function lowerBound(values: Float64Array, x: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The klines series of a market whose 1m candles come from its trades.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MarketData } from "./market_data.ts";
 * import { TradeKlineSeries } from "./trade_kline_series.ts";
 * const data = new MarketData({ klinesFromTrades: true, tradeScale: 0.002 });
 * const klines = TradeKlineSeries.of(data);
 * const eth = data.find("spot", "ETHUSDT")!;
 * const start = Date.UTC(2024, 0, 1);
 * const day = klines.tape.day(eth, start);
 * const [k] = klines.klines(eth, "1m", start, start + 60_000);
 * let count = 0;
 * for (let i = 0; i < day.aggCount && day.time[i] < (start + 60_000) * 1000; i++) {
 *   count += day.tradeOffset[i + 1] - day.tradeOffset[i];
 * }
 * assert.equal(k.count, count);
 * assert.equal(k.closeTime, start + 59_999);
 * // other intervals stay generated
 * assert.deepEqual(klines.row(eth, "1h", start), data.row(eth, "1h", start));
 * ```
 */
export class TradeKlineSeries implements KlineSeries {
  #data: MarketData;
  #tape: TradeTape;
  #texts = new Map<EmulatedSymbol, TradeText>();
  #closes = new Map<string, number>();
  // Scratch of one candle: open, high, low and close ticks, lots, taker lots,
  // Σ quote, Σ taker quote, trades.
  #acc = new Float64Array(9);

  /**
   * The series of a market, one per `MarketData` (its tape built from the
   * market's `tapeOptions`).
   *
   * @param data The market.
   * @returns Its series.
   */
  static of(data: MarketData): TradeKlineSeries {
    let found = series.get(data);
    if (found === undefined) series.set(data, found = new TradeKlineSeries(data));
    return found;
  }

  /**
   * Creates the instance.
   *
   * @param data The market.
   * @param tape Its trade tape. @default a tape of `data.tapeOptions`
   */
  constructor(data: MarketData, tape?: TradeTape) {
    this.#data = data;
    this.#tape = tape ?? new TradeTape(data, data.tapeOptions);
  }

  /** The trade tape the 1m candles come from. */
  get tape(): TradeTape {
    return this.#tape;
  }

  /**
   * Looks a symbol up.
   *
   * @param market The market.
   * @param name The symbol.
   * @returns Its catalogue entry, or undefined.
   */
  find(market: Market, name: string): EmulatedSymbol | undefined {
    return this.#data.find(market, name);
  }

  /**
   * The symbols of a market, sorted by name.
   *
   * @param market The market.
   * @returns Catalogue entries.
   */
  list(market: Market): EmulatedSymbol[] {
    return this.#data.list(market);
  }

  /**
   * Every candle opening in `[start, end)`, in time order.
   *
   * @param spec The symbol.
   * @param interval The interval (only 1m comes from the trades).
   * @param start Inclusive epoch ms.
   * @param end Exclusive epoch ms.
   * @param asOf The clock: a candle still open holds the trades until then.
   * @returns The candles.
   */
  klines(
    spec: EmulatedSymbol,
    interval: Interval,
    start: number,
    end: number,
    asOf = Infinity,
  ): KlineText[] {
    const rows = this.#data.klines(spec, interval, start, end, asOf);
    if (interval !== "1m") return rows;
    for (let i = 0; i < rows.length; i++) rows[i] = this.#fromTrades(spec, rows[i], asOf);
    return rows;
  }

  /**
   * The candle of one grid slot, when it exists.
   *
   * @param spec The symbol.
   * @param interval The interval (only 1m comes from the trades).
   * @param slot A grid open time.
   * @param asOf The clock.
   * @returns The candle, or undefined.
   */
  row(
    spec: EmulatedSymbol,
    interval: Interval,
    slot: number,
    asOf = Infinity,
  ): KlineText | undefined {
    const k = this.#data.row(spec, interval, slot, asOf);
    return k === undefined || interval !== "1m" ? k : this.#fromTrades(spec, k, asOf);
  }

  // The trades of [openTime, openTime + 1 min), up to the end of the ms `asOf`.
  #fromTrades(spec: EmulatedSymbol, k: KlineText, asOf: number): KlineText {
    const from = k.openTime * 1000;
    const to = Math.min(k.openTime + MINUTE_MS, asOf + 1) * 1000;
    const acc = this.#acc;
    acc.fill(0);
    acc[1] = -Infinity;
    acc[2] = Infinity;
    const cm = spec.market === "cm";
    for (let d = Math.floor(from / 1000 / DAY_MS); d * DAY_MS * 1000 < to; d++) {
      const day = this.#tape.day(spec, d * DAY_MS);
      const { time, priceTicks, aggLots, buyerMaker, tradeOffset } = day;
      const hi = lowerBound(time, to);
      for (let i = lowerBound(time, from); i < hi; i++) {
        const p = priceTicks[i];
        const lots = aggLots[i];
        if (acc[8] === 0) acc[0] = p;
        if (p > acc[1]) acc[1] = p;
        if (p < acc[2]) acc[2] = p;
        acc[3] = p;
        const quote = cm ? lots / p : p * lots;
        acc[4] += lots;
        acc[6] += quote;
        if (buyerMaker[i] === 0) {
          acc[5] += lots;
          acc[7] += quote;
        }
        acc[8] += tradeOffset[i + 1] - tradeOffset[i];
      }
    }
    const text = this.#textOf(spec);
    const inv = Math.round(1 / spec.tick);
    const lot = 10 ** spec.volumeDecimals;
    if (acc[8] === 0) {
      let flat = this.#closeBefore(spec, from);
      if (Number.isNaN(flat)) flat = Math.max(1, Math.round(Number(k.open) * inv));
      acc.fill(flat, 0, 4);
    }
    // spot, um: Σ ticks × lots / (inv × lot); cm: Σ lots / ticks × size × inv / lot
    const toQuote = cm ? ((spec.contractSize ?? 1) * inv) / lot : 1 / (inv * lot);
    const qd = spec.quoteDecimals;
    return {
      openTime: k.openTime,
      closeTime: k.closeTime,
      open: text.price(acc[0]),
      high: text.price(acc[1]),
      low: text.price(acc[2]),
      close: text.price(acc[3]),
      volume: text.qty(acc[4]),
      quoteVolume: (acc[6] * toQuote).toFixed(qd),
      count: acc[8],
      takerBuyVolume: text.qty(acc[5]),
      takerBuyQuoteVolume: (acc[7] * toQuote).toFixed(qd),
      ignore: k.ignore,
    };
  }

  #textOf(spec: EmulatedSymbol): TradeText {
    let text = this.#texts.get(spec);
    if (text === undefined) this.#texts.set(spec, text = new TradeText(spec));
    return text;
  }

  // Price in ticks of the last trade before `us` (epoch µs); NaN when none.
  #closeBefore(spec: EmulatedSymbol, us: number): number {
    const d = Math.floor(us / 1000 / DAY_MS);
    const day = this.#tape.day(spec, d * DAY_MS);
    const i = lowerBound(day.time, us);
    return i > 0 ? day.priceTicks[i - 1] : this.#dayClose(spec, d - 1);
  }

  // Price in ticks of the last trade of day `d` or before; NaN when none (memoized).
  #dayClose(spec: EmulatedSymbol, d: number): number {
    const key = `${spec.market}|${spec.symbol}|${d}`;
    const hit = this.#closes.get(key);
    if (hit !== undefined) return hit;
    const first = Math.floor(spec.listedAt / DAY_MS);
    let close = NaN;
    for (let k = d; k >= first && Number.isNaN(close); k--) {
      const day = this.#tape.day(spec, k * DAY_MS);
      if (day.aggCount > 0) close = day.priceTicks[day.aggCount - 1];
    }
    this.#closes.set(key, close);
    return close;
  }
}
