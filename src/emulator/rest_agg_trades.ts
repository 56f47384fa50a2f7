/**
 * The REST aggregate trades endpoints of the emulated exchange,
 * `GET /api/v3/aggTrades`, `/fapi/v1/aggTrades` and `/dapi/v1/aggTrades`
 * (BINANCE.md section 4): the rows of the trade tape, the same as Vision's
 * aggTrades files, with Binance's parameter rules and JSON errors.
 *
 * @module
 */
import { datasetInfo, restWeight } from "../core/dataset.ts";
import type { Market } from "../core/market.ts";
import {
  checkLimit,
  checkName,
  fail,
  mandatory,
  readId,
  readLimit,
  readTimes,
} from "./_rest_params.ts";
import type { RestAnswer } from "./rest_klines.ts";
import type { EmulatedSymbol } from "./symbol_catalogue.ts";
import type { TradeDay, TradeTape } from "./trade_tape.ts";
import { TradeText } from "./trade_text.ts";

const DAY_MS = 86_400_000;
const MAX_SPAN_MS = 3_600_000;
// The futures endpoints serve "trade histories that are not older than one year".
const FUTURES_HISTORY_MS = 365 * DAY_MS;
// spot takes time parameters in ms or µs: 16 digits and more are µs
const MICROS_FROM = 1e14;

/** Index of the first element of `a[0..n)` that is `>= x` (or `> x` when `after`). */
function bound(a: Float64Array, n: number, x: number, after: boolean): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (after ? a[mid] <= x : a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

type Cursor = { day: TradeDay; index: number };

/** The first aggregate trade at or after `us` (and at or after id `fromId`), up to `lastDay`. */
function firstAt(
  tape: TradeTape,
  spec: EmulatedSymbol,
  us: number,
  fromId: number,
  lastDay: number,
): Cursor | undefined {
  const byId = tape.dayOfAggId(spec, fromId, lastDay + DAY_MS - 1);
  if (byId === undefined) return undefined;
  let t = Math.max(Math.floor(us / 1000 / DAY_MS) * DAY_MS, byId);
  t = Math.max(t, Math.floor(spec.listedAt / DAY_MS) * DAY_MS);
  for (; t <= lastDay; t += DAY_MS) {
    const day = tape.day(spec, t);
    const index = Math.max(bound(day.time, day.aggCount, us, false), fromId - day.firstAggId);
    if (index < day.aggCount) return { day, index };
  }
  return undefined;
}

/** The last aggregate trade at or before `us`. */
function lastAt(tape: TradeTape, spec: EmulatedSymbol, us: number): Cursor | undefined {
  const first = Math.floor(spec.listedAt / DAY_MS) * DAY_MS;
  for (let t = Math.floor(us / 1000 / DAY_MS) * DAY_MS; t >= first; t -= DAY_MS) {
    const day = tape.day(spec, t);
    const index = bound(day.time, day.aggCount, us, true) - 1;
    if (index >= 0) return { day, index };
  }
  return undefined;
}

function rowJson(day: TradeDay, i: number, text: TradeText, micros: boolean): string {
  const spot = day.spec.market === "spot";
  const first = day.firstTradeId + day.tradeOffset[i];
  const last = day.firstTradeId + day.tradeOffset[i + 1] - 1;
  const time = micros ? day.time[i] : Math.floor(day.time[i] / 1000);
  return `{"a":${day.firstAggId + i},"p":"${text.price(day.priceTicks[i])}",` +
    `"q":"${text.qty(day.aggLots[i])}","f":${first},"l":${last},"T":${time},` +
    `"m":${day.buyerMaker[i] === 1}${spot ? ',"M":true' : ""}}`;
}

/**
 * Answers an aggTrades request of one market.
 *
 * Parameters (Binance's documentation, checked 2026): `symbol` (mandatory,
 * -1121 when unknown); `limit` default 500, at most 1000 (-1100 beyond);
 * `fromId`, `startTime`, `endTime` all inclusive. Without any of them, the
 * most recent `limit` rows; with `startTime` or `fromId`, the oldest rows
 * from there (both: from the later of the two), not beyond `endTime`; with
 * `endTime` alone, the most recent rows up to it. With both times, more
 * than one hour between them is HTTP 400 -1127. spot reads time parameters
 * in ms or µs (16 digits) and answers `T` in µs when asked with
 * `X-MBX-TIME-UNIT: MICROSECOND`; futures rows carry no `M`, and serve only
 * trades of the last 365 days. Rows end at the clock. Weight: spot 4,
 * futures 20.
 *
 * @param market The market of the endpoint.
 * @param query The query string.
 * @param options The trade tape, the clock, and whether `T` is in µs (spot's header).
 * @returns Status, JSON body and the weight charged.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MarketData } from "./market_data.ts";
 * import { answerAggTrades } from "./rest_agg_trades.ts";
 * import { TradeTape } from "./trade_tape.ts";
 * const tape = new TradeTape(new MarketData(), { tradeScale: 0.001 });
 * const query = new URLSearchParams("symbol=BTCUSDT&startTime=1704067200000&limit=2");
 * const answer = answerAggTrades("spot", query, { tape, now: Date.UTC(2024, 5) });
 * const rows = JSON.parse(answer.body);
 * assert.equal(rows.length, 2);
 * assert.equal(rows[1].a, rows[0].a + 1);
 * assert.equal(rows[1].f, rows[0].l + 1);
 * assert.equal(answer.weight, 4);
 * const wide = new URLSearchParams("symbol=BTCUSDT&startTime=0&endTime=3600001");
 * assert.equal(answerAggTrades("spot", wide, { tape, now: Date.UTC(2024, 5) }).status, 400);
 * ```
 */
export function answerAggTrades(
  market: Market,
  query: URLSearchParams,
  options: { tape: TradeTape; now: number; microseconds?: boolean },
): RestAnswer {
  const weight = restWeight("aggTrades", market, 500);
  const symbol = query.get("symbol");
  if (!symbol) return mandatory("symbol", weight);
  const badName = checkName("symbol", symbol, weight);
  if (badName !== undefined) return badName;
  const spec = options.tape.data.find(market, symbol);
  if (spec === undefined) return fail(-1121, "Invalid symbol.", weight);
  const limit = readLimit(query, 500);
  const badLimit = checkLimit(limit, datasetInfo("aggTrades").maxLimit[market] ?? 0, weight);
  if (badLimit !== undefined) return badLimit;
  const fromId = readId(query, "fromId", weight);
  if (typeof fromId === "object") return fromId;
  const times = readTimes(query, weight);
  if (!Array.isArray(times)) return times;
  const toMicros = (t: number | undefined, last: boolean) =>
    t === undefined
      ? undefined
      : market === "spot" && t >= MICROS_FROM
      ? t
      : t * 1000 + (last ? 999 : 0);
  const start = toMicros(times[0], false);
  const end = toMicros(times[1], true);
  if (start !== undefined && end !== undefined) {
    if (Math.floor(end / 1000) - Math.floor(start / 1000) > MAX_SPAN_MS) {
      return fail(-1127, "More than 1 hours between startTime and endTime.", weight);
    }
  }
  const nowUs = options.now * 1000 + 999;
  const floor = market === "spot" ? -Infinity : (options.now - FUTURES_HISTORY_MS) * 1000;
  const lo = Math.max(start ?? -Infinity, floor);
  const hi = Math.min(end ?? Infinity, nowUs);
  const text = new TradeText(spec);
  const micros = market === "spot" && options.microseconds === true;
  const rows: string[] = [];
  if (lo <= hi && (fromId !== undefined || start !== undefined)) {
    const lastDay = Math.floor(hi / 1000 / DAY_MS) * DAY_MS;
    let at = firstAt(options.tape, spec, lo, fromId ?? 0, lastDay);
    while (at !== undefined && rows.length < limit) {
      const { day } = at;
      for (let i = at.index; i < day.aggCount && rows.length < limit; i++) {
        if (day.time[i] > hi) return ok(rows, weight);
        rows.push(rowJson(day, i, text, micros));
      }
      at = day.start + DAY_MS > lastDay
        ? undefined
        : { day: options.tape.day(spec, day.start + DAY_MS), index: 0 };
    }
  } else if (lo <= hi) {
    let at = lastAt(options.tape, spec, hi);
    const first = Math.floor(spec.listedAt / DAY_MS) * DAY_MS;
    while (at !== undefined && rows.length < limit) {
      const { day } = at;
      for (let i = at.index; i >= 0 && rows.length < limit; i--) {
        if (day.time[i] < lo) return ok(rows.reverse(), weight);
        rows.push(rowJson(day, i, text, micros));
      }
      const prev = day.start - DAY_MS;
      at = prev < first ? undefined : { day: options.tape.day(spec, prev), index: -1 };
      if (at !== undefined) at.index = at.day.aggCount - 1;
    }
    rows.reverse();
  }
  return ok(rows, weight);
}

function ok(rows: string[], weight: number): RestAnswer {
  return { status: 200, body: `[${rows.join(",")}]`, weight };
}
