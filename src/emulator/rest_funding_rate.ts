/**
 * The REST funding rate history endpoints of the emulated exchange,
 * `GET /fapi/v1/fundingRate` and `GET /dapi/v1/fundingRate` (BINANCE.md
 * section 4): parameters, limits and Binance's JSON errors.
 *
 * @module
 */
import { datasetInfo, restWeight } from "../core/dataset.ts";
import type { Market } from "../core/market.ts";
import { checkLimit, checkName, fail, mandatory, readLimit, readTimes } from "./_rest_params.ts";
import { isPerpetual } from "./_futures_contract.ts";
import { type FundingEvent, fundingTruth } from "./funding_truth.ts";
import type { MarketData } from "./market_data.ts";
import type { RestAnswer } from "./rest_klines.ts";

type Row = { symbol: string; event: FundingEvent };

function rowJson({ symbol, event }: Row): string {
  return JSON.stringify({
    symbol,
    fundingRate: event.fundingRateText,
    fundingTime: event.fundingTime,
    markPrice: event.markPriceText ?? "",
  });
}

/**
 * Answers a funding rate history request of one market.
 *
 * Rows are the events with startTime <= fundingTime <= endTime (endTime
 * defaults to now), oldest first: with startTime the first `limit` of them,
 * otherwise the last `limit` (Binance: "the most recent"). `limit` defaults
 * to 100, at most 1000 (above: -1100). `symbol` is mandatory on dapi; fapi
 * without it answers every perpetual's events merged by time. A delivery
 * contract has no funding: `[]`. `markPrice` is `""` in rows before
 * `FUNDING_MARK_PRICE_FROM`. Weight 1; fapi's own limit of 500 requests per
 * 5 minutes is counted by the server, not here.
 *
 * @param market The market of the endpoint (um or cm).
 * @param query The query string.
 * @param options The market data and the clock.
 * @returns Status, JSON body and the weight charged.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MarketData } from "./market_data.ts";
 * import { answerFundingRate } from "./rest_funding_rate.ts";
 * const query = new URLSearchParams("symbol=BTCUSDT&startTime=1704067200000&limit=2");
 * const answer = answerFundingRate("um", query, { data: new MarketData(), now: Date.UTC(2024, 5) });
 * const rows = JSON.parse(answer.body);
 * assert.deepEqual(rows.map((r: { fundingTime: number }) => Math.floor(r.fundingTime / 1000)), [
 *   1704067200,
 *   1704096000,
 * ]);
 * assert.deepEqual(Object.keys(rows[0]), ["symbol", "fundingRate", "fundingTime", "markPrice"]);
 * assert.equal(answer.weight, 1);
 * ```
 */
export function answerFundingRate(
  market: Market,
  query: URLSearchParams,
  options: { data: MarketData; now: number },
): RestAnswer {
  const limit = readLimit(query, 100);
  const weight = restWeight("fundingRate", market, limit);
  const symbol = query.get("symbol");
  if (!symbol && market === "cm") return mandatory("symbol", weight);
  let specs = options.data.list(market).filter(isPerpetual);
  if (symbol) {
    const badName = checkName("symbol", symbol, weight);
    if (badName !== undefined) return badName;
    const spec = options.data.find(market, symbol);
    if (spec === undefined) return fail(-1121, "Invalid symbol.", weight);
    specs = isPerpetual(spec) ? [spec] : [];
  }
  const badLimit = checkLimit(limit, datasetInfo("fundingRate").maxLimit[market] ?? 0, weight);
  if (badLimit !== undefined) return badLimit;
  const times = readTimes(query, weight);
  if (!Array.isArray(times)) return times;
  const [start, end] = times;
  const newest = start === undefined;
  const last = Math.min(end ?? options.now, options.now);
  const rows: Row[] = [];
  for (const spec of specs) {
    const events = fundingTruth(options.data, {
      market,
      symbol: spec.symbol,
      start: start ?? -Infinity,
      end: last + 1,
      limit,
      newest,
    });
    rows.push(...events.map((event) => ({ symbol: spec.symbol, event })));
  }
  rows.sort((a, b) => a.event.fundingTime - b.event.fundingTime || (a.symbol < b.symbol ? -1 : 1));
  const page = newest ? rows.slice(Math.max(0, rows.length - limit)) : rows.slice(0, limit);
  return { status: 200, body: `[${page.map(rowJson).join(",")}]`, weight };
}
