/**
 * The ground truth of the emulated market's trades: for a series and a range
 * of trade times, the rows a correct client returns (Vision files and REST
 * agree on them), column-wise, as the trade schemas hold them.
 *
 * @module
 */
import type { Market } from "../core/market.ts";
import type { TradeDataset } from "../core/trade_schema.ts";
import type { EmulatorOptions } from "./emulator_options.ts";
import { MarketData } from "./market_data.ts";
import { TradeTape } from "./trade_tape.ts";
import { TradeText } from "./trade_text.ts";

/** The emulator options the trades depend on (pass the emulator's own). */
export type TradeTruthOptions = Pick<
  EmulatorOptions,
  "seed" | "tradeScale" | "symbols" | "gaps" | "now"
>;

/** The series and range of {@linkcode tradeTruth}. */
export interface TradeTruthQuery {
  /** The market. */
  market: Market;
  /** `aggTrades` or `trades`. */
  dataset: TradeDataset;
  /** The symbol. */
  symbol: string;
  /** First trade time, epoch ms, inclusive. */
  start: number;
  /** Exclusive end, epoch ms. */
  end: number;
}

/** The rows of {@linkcode tradeTruth}, column by column, in id order. */
export interface TradeTruth {
  /** Number of rows. */
  numRows: number;
  /** `agg_trade_id` (aggTrades) or `id` (trades). */
  ids: Float64Array;
  /** `price`: `parseFloat` of the printed text. */
  prices: Float64Array;
  /** `quantity` (aggTrades) or `qty` (trades). */
  quantities: Float64Array;
  /** aggTrades `first_trade_id`; null for trades. */
  firstTradeIds: Float64Array | null;
  /** aggTrades `last_trade_id`; null for trades. */
  lastTradeIds: Float64Array | null;
  /** trades `quote_qty` on spot and um; null on cm and for aggTrades. */
  quoteQuantities: Float64Array | null;
  /** trades `base_qty` on cm; null on spot and um and for aggTrades. */
  baseQuantities: Float64Array | null;
  /** Trade times, epoch µs (ms files × 1000). */
  times: Float64Array;
  /** `is_buyer_maker`, 1 or 0. */
  isBuyerMaker: Uint8Array;
  /** `is_best_match` (1, spot only); null on um and cm. */
  isBestMatch: Uint8Array | null;
}

const DAY_MS = 86_400_000;
const tapes = new WeakMap<TradeTruthOptions, TradeTape>();

function tapeOf(options: TradeTruthOptions): TradeTape {
  let tape = tapes.get(options);
  if (tape === undefined) {
    const data = new MarketData({
      seed: options.seed,
      symbols: options.symbols,
      gaps: options.gaps,
    });
    tape = new TradeTape(data, options);
    tapes.set(options, tape);
  }
  return tape;
}

/**
 * The trades of one series whose time lies in `[start, end)` and not after
 * the emulator's clock: what a correct client returns, from Vision or REST.
 *
 * @param options The emulator's options (seed, tradeScale, symbols, gaps, now).
 * @param query Market, dataset, symbol and range.
 * @returns The rows as columns.
 * @throws {RangeError} For a symbol the catalogue does not list.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tradeTruth } from "./trade_truth.ts";
 * const options = { tradeScale: 0.001, now: Date.UTC(2024, 5) };
 * const start = Date.UTC(2024, 0, 1);
 * const agg = tradeTruth(options, { market: "cm", dataset: "aggTrades", symbol: "BTCUSD_PERP",
 *   start, end: start + 3_600_000 });
 * const trades = tradeTruth(options, { market: "cm", dataset: "trades", symbol: "BTCUSD_PERP",
 *   start, end: start + 3_600_000 });
 * assert.equal(trades.ids[0], agg.firstTradeIds![0]);
 * assert.equal(trades.numRows, agg.lastTradeIds![agg.numRows - 1] - agg.firstTradeIds![0] + 1);
 * assert.equal(agg.isBestMatch, null);
 * assert.ok(trades.baseQuantities !== null && trades.quoteQuantities === null);
 * ```
 */
export function tradeTruth(options: TradeTruthOptions, query: TradeTruthQuery): TradeTruth {
  const tape = tapeOf(options);
  const spec = tape.data.find(query.market, query.symbol);
  if (spec === undefined) {
    throw new RangeError(
      `Cannot tell the trades of "${query.symbol}": not in the ${query.market} catalogue`,
    );
  }
  const clock = typeof options.now === "function" ? options.now() : options.now ?? Date.now();
  const lo = query.start * 1000;
  const hi = Math.min(query.end, clock + 1) * 1000;
  const agg = query.dataset === "aggTrades";
  const spot = spec.market === "spot";
  const text = new TradeText(spec);
  const cols = {
    ids: [] as number[],
    prices: [] as number[],
    quantities: [] as number[],
    first: [] as number[],
    last: [] as number[],
    third: [] as number[],
    times: [] as number[],
    maker: [] as number[],
  };
  const from = Math.max(Math.floor(query.start / DAY_MS), Math.floor(spec.listedAt / DAY_MS));
  for (let t = from * DAY_MS; t * 1000 < hi; t += DAY_MS) {
    const day = tape.day(spec, t);
    const rows = agg ? day.aggCount : day.tradeCount;
    let i = 0;
    for (let r = 0; r < rows; r++) {
      if (!agg && day.tradeOffset[i + 1] <= r) i++;
      const a = agg ? r : i;
      const time = day.time[a];
      if (time < lo) continue;
      if (time >= hi) break;
      const ticks = day.priceTicks[a];
      const lots = agg ? day.aggLots[r] : day.tradeLots[r];
      cols.ids.push((agg ? day.firstAggId : day.firstTradeId) + r);
      cols.prices.push(parseFloat(text.price(ticks)));
      cols.quantities.push(parseFloat(text.qty(lots)));
      cols.times.push(time);
      cols.maker.push(day.buyerMaker[a]);
      if (agg) {
        cols.first.push(day.firstTradeId + day.tradeOffset[r]);
        cols.last.push(day.firstTradeId + day.tradeOffset[r + 1] - 1);
      } else {
        cols.third.push(
          parseFloat(spec.market === "cm" ? text.base(ticks, lots) : text.quote(ticks, lots)),
        );
      }
    }
  }
  const n = cols.ids.length;
  const f64 = (a: number[]) => Float64Array.from(a);
  return {
    numRows: n,
    ids: f64(cols.ids),
    prices: f64(cols.prices),
    quantities: f64(cols.quantities),
    firstTradeIds: agg ? f64(cols.first) : null,
    lastTradeIds: agg ? f64(cols.last) : null,
    quoteQuantities: !agg && spec.market !== "cm" ? f64(cols.third) : null,
    baseQuantities: !agg && spec.market === "cm" ? f64(cols.third) : null,
    times: f64(cols.times),
    isBuyerMaker: Uint8Array.from(cols.maker),
    isBestMatch: spot ? new Uint8Array(n).fill(1) : null,
  };
}
