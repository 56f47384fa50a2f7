/**
 * The CSV text of Vision's aggTrades and trades files (BINANCE.md section 4),
 * per market and date, from the trade tape: spot without a header, `True` /
 * `False`, µs from 2025-01-01; futures aggTrades with a header, `true` /
 * `false`, ms; um trades with a header from 2022-08-11; cm trades
 * (`base_qty` in place of `quote_qty`) with a header.
 *
 * @module
 */
import type { Market } from "../core/market.ts";
import type { TradeDataset } from "../core/trade_schema.ts";
import type { TradeDay } from "./trade_tape.ts";
import { TradeText } from "./trade_text.ts";

/** The header of the futures aggTrades files. */
export const AGG_TRADES_HEADER =
  "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker";
/** The header of the um trades files (from 2022-08-11). */
export const UM_TRADES_HEADER = "id,price,qty,quote_qty,time,is_buyer_maker";
/** The header of the cm trades files. */
export const CM_TRADES_HEADER = "id,price,qty,base_qty,time,is_buyer_maker";
const UM_TRADES_HEADER_FROM = Date.UTC(2022, 7, 11);

/**
 * The header line of a file, if its market and date print one.
 *
 * @param dataset `aggTrades` or `trades`.
 * @param market The market.
 * @param start The file's first ms (its day or month).
 * @returns The header without newline, or undefined.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tradeCsvHeader } from "./trade_archive_csv.ts";
 * assert.equal(tradeCsvHeader("aggTrades", "spot", 0), undefined);
 * assert.equal(tradeCsvHeader("trades", "um", Date.UTC(2022, 7, 10)), undefined);
 * assert.equal(tradeCsvHeader("trades", "um", Date.UTC(2022, 7, 11)), "id,price,qty,quote_qty,time,is_buyer_maker");
 * ```
 */
export function tradeCsvHeader(
  dataset: TradeDataset,
  market: Market,
  start: number,
): string | undefined {
  if (market === "spot") return undefined;
  if (dataset === "aggTrades") return AGG_TRADES_HEADER;
  if (market === "cm") return CM_TRADES_HEADER;
  return start >= UM_TRADES_HEADER_FROM ? UM_TRADES_HEADER : undefined;
}

/**
 * Rows in a day's file: its aggregate or plain trades.
 *
 * @param day The day.
 * @param dataset `aggTrades` or `trades`.
 * @returns The row count.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MarketData } from "./market_data.ts";
 * import { tradeRowCount } from "./trade_archive_csv.ts";
 * import { TradeTape } from "./trade_tape.ts";
 * const tape = new TradeTape(new MarketData(), { tradeScale: 0.001 });
 * const day = tape.day(tape.data.find("um", "BTCUSDT")!, Date.UTC(2024, 0, 1));
 * assert.ok(tradeRowCount(day, "trades") > tradeRowCount(day, "aggTrades"));
 * ```
 */
export function tradeRowCount(day: TradeDay, dataset: TradeDataset): number {
  return dataset === "aggTrades" ? day.aggCount : day.tradeCount;
}

/**
 * CSV lines of rows `[from, to)` of a day's file (no header), each ending with `\n`.
 *
 * @param day The day.
 * @param dataset `aggTrades` or `trades`.
 * @param range Row indices in the day, `[from, to)`.
 * @returns The text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MarketData } from "./market_data.ts";
 * import { tradeCsvRows } from "./trade_archive_csv.ts";
 * import { TradeTape } from "./trade_tape.ts";
 * const tape = new TradeTape(new MarketData(), { tradeScale: 0.001 });
 * const day = tape.day(tape.data.find("spot", "BTCUSDT")!, Date.UTC(2025, 0, 1));
 * const [line] = tradeCsvRows(day, "aggTrades", [0, 1]).split("\n");
 * const f = line.split(",");
 * assert.equal(f.length, 8);
 * assert.equal(Number(f[0]), day.firstAggId);
 * assert.equal(f[5].length, 16); // µs
 * assert.equal(f[7], "True");
 * ```
 */
export function tradeCsvRows(
  day: TradeDay,
  dataset: TradeDataset,
  range: readonly [number, number],
): string {
  const [from, to] = range;
  const { spec, time, priceTicks, tradeOffset, buyerMaker, firstTradeId } = day;
  const text = new TradeText(spec);
  const spot = spec.market === "spot";
  const [yes, no] = spot ? ["True", "False"] : ["true", "false"];
  const best = spot ? ",True\n" : "\n";
  const timeOf = (i: number) => (day.micros ? String(time[i]) : String(time[i] / 1000));
  let out = "";
  if (dataset === "aggTrades") {
    for (let i = from; i < to; i++) {
      out += `${day.firstAggId + i},${text.price(priceTicks[i])},${text.qty(day.aggLots[i])},` +
        `${firstTradeId + tradeOffset[i]},${firstTradeId + tradeOffset[i + 1] - 1},` +
        `${timeOf(i)},${buyerMaker[i] ? yes : no}${best}`;
    }
    return out;
  }
  const cm = spec.market === "cm";
  let i = aggOfTrade(day, from);
  for (let t = from; t < to; t++) {
    while (tradeOffset[i + 1] <= t) i++;
    const ticks = priceTicks[i];
    const lots = day.tradeLots[t];
    const third = cm ? text.base(ticks, lots) : text.quote(ticks, lots);
    out += `${firstTradeId + t},${text.price(ticks)},${text.qty(lots)},${third},` +
      `${timeOf(i)},${buyerMaker[i] ? yes : no}${best}`;
  }
  return out;
}

/**
 * The aggregate trade (index in the day) covering a plain trade (index in the day).
 *
 * @param day The day.
 * @param t A plain trade's index, `0 <= t < tradeCount`.
 * @returns The aggregate trade's index.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MarketData } from "./market_data.ts";
 * import { aggOfTrade } from "./trade_archive_csv.ts";
 * import { TradeTape } from "./trade_tape.ts";
 * const tape = new TradeTape(new MarketData(), { tradeScale: 0.001 });
 * const day = tape.day(tape.data.find("spot", "BTCUSDT")!, Date.UTC(2024, 0, 1));
 * assert.equal(aggOfTrade(day, 0), 0);
 * assert.equal(aggOfTrade(day, day.tradeCount - 1), day.aggCount - 1);
 * ```
 */
export function aggOfTrade(day: TradeDay, t: number): number {
  let lo = 0;
  let hi = Math.max(0, day.aggCount - 1);
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (day.tradeOffset[mid] <= t) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
