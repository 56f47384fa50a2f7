/**
 * The trade tape of the emulated market: every aggregate trade and the plain
 * trades it covers, per symbol and UTC day, a pure function of (seed,
 * market, symbol, day, tradeScale). Vision's aggTrades and trades files,
 * REST aggTrades and the ground truth all read it, so they agree on every id,
 * price, quantity and time.
 *
 * A day is generated at once into typed arrays (no object per row) and kept
 * in a bounded LRU. Ids are contiguous across days: the first ids of a day
 * come in closed form from `_trade_counts.ts`.
 *
 * @module
 */
import { anchor, mix, mixTime, OCTAVES, textKey, unit } from "./_price_path.ts";
import { ByteLru } from "./_lru.ts";
import { TradeCounts } from "./_trade_counts.ts";
import { DEFAULT_GAPS, type EmulatedGap, type MarketData } from "./market_data.ts";
import { DEFAULT_AGG_TRADES_PER_DAY, type EmulatedSymbol } from "./symbol_catalogue.ts";

const DAY_MS = 86_400_000;
/** Spot trade times have µs precision from this day on (Vision prints µs from then). */
export const TRADE_MICROS_FROM: number = Date.UTC(2025, 0, 1);
// The same market keys as market_data.ts: trades follow the klines' price path.
const MARKET_KEY = { spot: 11, um: 23, cm: 37 } as const;

/** One UTC day of one symbol's trades, column-wise. */
export interface TradeDay {
  /** The symbol. */
  readonly spec: EmulatedSymbol;
  /** The day's first ms. */
  readonly start: number;
  /** Id of the day's first aggregate trade (the previous day's last + 1). */
  readonly firstAggId: number;
  /** Id of the day's first plain trade. */
  readonly firstTradeId: number;
  /** Aggregate trades in the day. */
  readonly aggCount: number;
  /** Plain trades in the day. */
  readonly tradeCount: number;
  /** Whether times carry µs (spot from 2025-01-01); otherwise whole ms. */
  readonly micros: boolean;
  /** Per aggregate trade: time, epoch µs (non-decreasing, inside the day). */
  readonly time: Float64Array;
  /** Per aggregate trade: price in ticks. */
  readonly priceTicks: Float64Array;
  /** Per aggregate trade: quantity in units of `10^-volumeDecimals`. */
  readonly aggLots: Float64Array;
  /** Per aggregate trade: index of its first plain trade in the day; one more entry, `tradeCount`. */
  readonly tradeOffset: Int32Array;
  /** Per aggregate trade: 1 when the buyer was the maker. */
  readonly buyerMaker: Uint8Array;
  /** Per plain trade: quantity in units of `10^-volumeDecimals`. */
  readonly tradeLots: Float64Array;
}

/** Options of {@linkcode TradeTape}. */
export interface TradeTapeOptions {
  /** Seed of every value (the market data's seed, so prices follow its path). @default 1 */
  seed?: number;
  /** Multiplies every day's number of trades. @default 1 */
  tradeScale?: number;
  /** Exchange halts: no trade inside them. @default DEFAULT_GAPS */
  gaps?: readonly EmulatedGap[];
  /** Bound of the generated-day cache, bytes. @default 268_435_456 */
  cacheBytes?: number;
}

/**
 * The trade tape.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MarketData } from "./market_data.ts";
 * import { TradeTape } from "./trade_tape.ts";
 * const tape = new TradeTape(new MarketData(), { tradeScale: 0.001 });
 * const btc = tape.data.find("spot", "BTCUSDT")!;
 * const day = tape.day(btc, Date.UTC(2024, 0, 1));
 * const next = tape.day(btc, Date.UTC(2024, 0, 2));
 * assert.equal(next.firstAggId, day.firstAggId + day.aggCount);
 * assert.equal(next.firstTradeId, day.firstTradeId + day.tradeCount);
 * assert.ok(day.time[0] >= Date.UTC(2024, 0, 1) * 1000);
 * ```
 */
export class TradeTape {
  #data: MarketData;
  #seedKey: number;
  #scale: number;
  #gaps: readonly EmulatedGap[];
  #days: ByteLru<TradeDay>;
  #counts = new Map<string, TradeCounts>();

  /**
   * Creates the instance.
   *
   * @param data The market (catalogue).
   * @param options Seed, scale, halts, cache bound.
   * @throws {RangeError} For a `tradeScale` that is not a positive finite number.
   */
  constructor(data: MarketData, options: TradeTapeOptions = {}) {
    const scale = options.tradeScale ?? 1;
    if (!(scale > 0) || !Number.isFinite(scale)) {
      throw new RangeError(`Cannot use tradeScale "${scale}": expected a positive number`);
    }
    this.#data = data;
    this.#seedKey = textKey(String(options.seed ?? 1));
    this.#scale = scale;
    this.#gaps = options.gaps ?? DEFAULT_GAPS;
    this.#days = new ByteLru(options.cacheBytes ?? 256 * 1024 * 1024);
  }

  /** The market data behind the tape. */
  get data(): MarketData {
    return this.#data;
  }

  #symbolKey(spec: EmulatedSymbol): number {
    return mix(mix(this.#seedKey, MARKET_KEY[spec.market]), textKey(spec.symbol));
  }

  #countsOf(spec: EmulatedSymbol): TradeCounts {
    const key = `${spec.market}|${spec.symbol}`;
    let counts = this.#counts.get(key);
    if (counts === undefined) {
      counts = new TradeCounts(spec, this.#scale, this.#symbolKey(spec));
      this.#counts.set(key, counts);
    }
    return counts;
  }

  /**
   * The first ids of a day, in O(1).
   *
   * @param spec The symbol.
   * @param dayStart Any ms of the day.
   * @returns The day's first aggregate and plain trade ids (those of the next
   *   trade when the day has none).
   */
  firstIds(spec: EmulatedSymbol, dayStart: number): { agg: number; trade: number } {
    const counts = this.#countsOf(spec);
    const k = Math.floor(dayStart / DAY_MS);
    return { agg: counts.aggStart(k), trade: counts.tradeStart(k) };
  }

  /**
   * The day holding an aggregate trade id (a binary search over the days).
   *
   * @param spec The symbol.
   * @param id An aggregate trade id.
   * @param until Last ms to search.
   * @returns The day's first ms, or undefined when no trade before `until` has the id.
   */
  dayOfAggId(spec: EmulatedSymbol, id: number, until: number): number | undefined {
    const counts = this.#countsOf(spec);
    let lo = counts.firstDay;
    let hi = Math.floor(until / DAY_MS);
    if (id < 0 || hi < lo || counts.aggStart(hi + 1) <= id) return undefined;
    while (lo < hi) {
      const mid = Math.floor((lo + hi + 1) / 2);
      if (counts.aggStart(mid) <= id) lo = mid;
      else hi = mid - 1;
    }
    return lo * DAY_MS;
  }

  /**
   * The trades of one UTC day (memoized).
   *
   * @param spec The symbol.
   * @param dayStart Any ms of the day.
   * @returns The day's trades; empty outside the trading span.
   */
  day(spec: EmulatedSymbol, dayStart: number): TradeDay {
    const k = Math.floor(dayStart / DAY_MS);
    const key = `${spec.market}|${spec.symbol}|${k}`;
    const hit = this.#days.get(key);
    if (hit !== undefined && hit.spec === spec) return hit;
    const day = this.#generate(spec, k);
    this.#days.set(key, day, 64 + day.aggCount * 29 + day.tradeCount * 8);
    return day;
  }

  #generate(spec: EmulatedSymbol, k: number): TradeDay {
    const counts = this.#countsOf(spec);
    const firstAggId = counts.aggStart(k);
    const firstTradeId = counts.tradeStart(k);
    const n = counts.aggStart(k + 1) - firstAggId;
    const tradeCount = counts.tradeStart(k + 1) - firstTradeId;
    const start = k * DAY_MS;
    const micros = spec.market === "spot" && start >= TRADE_MICROS_FROM;
    const time = new Float64Array(n);
    const priceTicks = new Float64Array(n);
    const aggLots = new Float64Array(n);
    const tradeOffset = new Int32Array(n + 1);
    const buyerMaker = new Uint8Array(n);
    const tradeLots = new Float64Array(tradeCount);
    const dayKey = mix(mix(this.#symbolKey(spec), 0x64617973), k);
    const spans = this.#spans(spec, start);
    const price = new PricePath(this.#seedKey, this.#symbolKey(spec), spec);
    const inv = Math.round(1 / spec.tick);
    const total = spans.reduce((s, [a, b]) => s + b - a, 0);
    let j = 0;
    let before = 0;
    let weights = 0;
    for (let i = 0; i < n; i++) {
      const h = mix(dayKey, i);
      const pos = ((i + unit(mix(h, 1))) * total) / n;
      while (j < spans.length - 1 && pos >= before + spans[j][1] - spans[j][0]) {
        before += spans[j][1] - spans[j][0];
        j++;
      }
      const ms = spans[j][0] + (pos - before);
      const end = spans[j][1];
      const t = micros ? Math.min(Math.floor(ms * 1000), end * 1000 - 1) : Math.floor(ms) * 1000;
      time[i] = t;
      const maker = unit(mix(h, 2)) < 0.5;
      buyerMaker[i] = maker ? 1 : 0;
      priceTicks[i] = Math.max(1, Math.round(price.at(t / 1000) * inv) + (maker ? 0 : 1));
      const e = -Math.log(1 - unit(mix(h, 3)));
      aggLots[i] = weights; // the prefix of the weights, until the lots replace it
      weights += e * e;
    }
    const extras = tradeCount - n;
    for (let i = 0; i < n; i++) {
      tradeOffset[i] = i + (weights > 0 ? Math.floor((extras * aggLots[i]) / weights) : 0);
    }
    tradeOffset[n] = tradeCount;
    const perDay = spec.aggTradesPerDay ?? DEFAULT_AGG_TRADES_PER_DAY[spec.market];
    const rows = perDay * counts.tradesPerAgg;
    const meanLots = ((spec.volumePerMinute * 1440) / rows) * 10 ** spec.volumeDecimals;
    const tradeKey = mix(dayKey, 0x74726473);
    for (let i = 0; i < n; i++) {
      let sum = 0;
      for (let t = tradeOffset[i]; t < tradeOffset[i + 1]; t++) {
        const lots = Math.max(1, Math.round(meanLots * -Math.log(1 - unit(mix(tradeKey, t)))));
        tradeLots[t] = lots;
        sum += lots;
      }
      aggLots[i] = sum;
    }
    return {
      spec,
      start,
      firstAggId,
      firstTradeId,
      aggCount: n,
      tradeCount,
      micros,
      time,
      priceTicks,
      aggLots,
      tradeOffset,
      buyerMaker,
      tradeLots,
    };
  }

  // The spans of the day the symbol trades, halts left out (the whole
  // trading span when a halt covers all of it).
  #spans(spec: EmulatedSymbol, start: number): [number, number][] {
    const from = Math.max(start, spec.listedAt);
    const to = Math.min(start + DAY_MS, spec.delistedAt ?? Infinity);
    if (from >= to) return [[start, start + DAY_MS]];
    let spans: [number, number][] = [[from, to]];
    for (const g of this.#gaps) {
      if ((g.market ?? spec.market) !== spec.market || (g.symbol ?? spec.symbol) !== spec.symbol) {
        continue;
      }
      spans = spans.flatMap(([a, b]): [number, number][] =>
        g.end <= a || g.start >= b
          ? [[a, b]]
          : [[a, g.start], [g.end, b]].filter(([x, y]) => x < y) as [number, number][]
      );
    }
    return spans.length > 0 ? spans : [[from, to]];
  }
}

/** The klines' price path (market_data.ts) of one symbol, memoizing lattice values. */
class PricePath {
  #shared: number;
  #own: number;
  #spec: EmulatedSymbol;
  #key = new Int32Array(OCTAVES.length);
  #i = new Float64Array(OCTAVES.length).fill(NaN);
  #a = new Float64Array(OCTAVES.length);
  #b = new Float64Array(OCTAVES.length);

  constructor(seedKey: number, own: number, spec: EmulatedSymbol) {
    this.#shared = mix(seedKey, textKey(spec.base));
    this.#own = own;
    this.#spec = spec;
  }

  at(t: number): number {
    let log = anchor(t) + Math.log(this.#spec.priceScale);
    for (let k = 0; k < OCTAVES.length; k++) {
      const [period, amplitude, isShared] = OCTAVES[k];
      const key = mix(isShared ? this.#shared : this.#own, k);
      const i = Math.floor(t / period);
      const f = (t - i * period) / period;
      const s = f * f * (3 - 2 * f);
      if (this.#key[k] !== key || this.#i[k] !== i) {
        this.#key[k] = key;
        this.#i[k] = i;
        this.#a[k] = unit(mixTime(key, i)) * 2 - 1;
        this.#b[k] = unit(mixTime(key, i + 1)) * 2 - 1;
      }
      const a = this.#a[k];
      log += amplitude * (a + (this.#b[k] - a) * s);
    }
    return Math.exp(log);
  }
}
