/**
 * The REST klines endpoints of the emulated exchange, for the trade klines
 * and the mark, index and premium index price klines alike: parameter
 * validation with Binance's JSON errors, boundary rounding, limits, listing
 * and the open candle (BINANCE.md sections 2 and 4).
 *
 * @module
 */
import { type Dataset, datasetInfo, restWeight } from "../core/dataset.ts";
import { floorOpenTime, type Interval, nextOpenTime } from "../core/interval.ts";
import { INTERVALS } from "../core/interval.ts";
import { type Market, marketInfo } from "../core/market.ts";
import { checkLimit, checkName, fail, mandatory, readLimit, readTimes } from "./_rest_params.ts";
import { klineSeries } from "./dataset_series.ts";
import type { KlineText, MarketData } from "./market_data.ts";

/** The answer to one REST request. */
export interface RestAnswer {
  /** HTTP status. */
  readonly status: number;
  /** JSON body. */
  readonly body: string;
  /** Request weight charged. */
  readonly weight: number;
}

/**
 * One kline as Binance's JSON array: times and count as numbers, prices and
 * volumes as strings.
 *
 * @param k The candle.
 * @returns The JSON text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { klineJson } from "./rest_klines.ts";
 * const k = { openTime: 0, closeTime: 59999, open: "1.0", high: "2.0", low: "0.5", close: "1.5",
 *   volume: "10", quoteVolume: "15.0", count: 3, takerBuyVolume: "4", takerBuyQuoteVolume: "6.0",
 *   ignore: "0" };
 * assert.deepEqual(JSON.parse(klineJson(k)),
 *   [0, "1.0", "2.0", "0.5", "1.5", "10", 59999, "15.0", 3, "4", "6.0", "0"]);
 * ```
 */
export function klineJson(k: KlineText): string {
  return `[${k.openTime},"${k.open}","${k.high}","${k.low}","${k.close}","${k.volume}",` +
    `${k.closeTime},"${k.quoteVolume}",${k.count},"${k.takerBuyVolume}",` +
    `"${k.takerBuyQuoteVolume}","${k.ignore}"]`;
}

/**
 * Answers a klines request of one market and grid dataset.
 *
 * The rows are those with startTime <= open_time <= endTime (on the grid:
 * startTime rounds up and endTime rounds down to it, both inclusive; the
 * off-grid rows of the real history are served too); `limit` counts rows;
 * with startTime the first `limit` candles from it, otherwise the last `limit`
 * candles up to endTime or up to the open candle; on cm (dapi), as its
 * documentation states, the last `limit` candles of the span (with
 * startTime alone, endTime is startTime + 200 days). Rows lie between the
 * listing and the delisting; the open candle carries its partial values.
 * The price klines take the same parameters, limits and weights; index
 * prices name their series with `pair` instead of `symbol`.
 *
 * @param market The market of the endpoint.
 * @param query The query string.
 * @param options The market data, the clock and the dataset (default `klines`).
 * @returns Status, JSON body and the weight charged.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MarketData } from "./market_data.ts";
 * import { answerKlines } from "./rest_klines.ts";
 * const query = new URLSearchParams("symbol=BTCUSDT&interval=1h&startTime=1704067200000&limit=2");
 * const answer = answerKlines("spot", query, { data: new MarketData(), now: Date.UTC(2024, 5) });
 * assert.equal(answer.status, 200);
 * assert.deepEqual(JSON.parse(answer.body).map((k: unknown[]) => k[0]), [1704067200000, 1704070800000]);
 * const pair = new URLSearchParams("pair=BTCUSD&interval=1h&startTime=1704067200000&limit=1");
 * const index = answerKlines("cm", pair, {
 *   data: new MarketData(),
 *   now: Date.UTC(2024, 5),
 *   dataset: "indexPriceKlines",
 * });
 * assert.equal(JSON.parse(index.body)[0][5], "0");
 * ```
 */
export function answerKlines(
  market: Market,
  query: URLSearchParams,
  options: { data: MarketData; now: number; dataset?: Dataset },
): RestAnswer {
  const dataset = options.dataset ?? "klines";
  const { maxSpanMs } = marketInfo(market);
  const maxLimit = datasetInfo(dataset).maxLimit[market] ?? 0;
  const limit = readLimit(query, 500);
  const weight = restWeight(dataset, market, limit >= 1 && limit <= maxLimit ? limit : 500);
  const parameter = datasetInfo(dataset).seriesParameter;
  const symbol = query.get(parameter);
  const intervalText = query.get("interval");
  if (!symbol) return mandatory(parameter, weight);
  if (!intervalText) return mandatory("interval", weight);
  const badName = checkName(parameter, symbol, weight);
  if (badName !== undefined) return badName;
  const series = klineSeries(options.data, dataset);
  const spec = series.find(market, symbol);
  if (spec === undefined) return fail(-1121, "Invalid symbol.", weight);
  if (!(INTERVALS as readonly string[]).includes(intervalText)) {
    return fail(-1120, "Invalid interval.", weight);
  }
  const interval = intervalText as Interval;
  if (interval === "1s" && market !== "spot") return fail(-1120, "Invalid interval.", weight);
  const badLimit = checkLimit(limit, maxLimit, weight);
  if (badLimit !== undefined) return badLimit;
  const times = readTimes(query, weight);
  if (!Array.isArray(times)) return times;
  const [start, end] = times;
  if (start !== undefined && end !== undefined && maxSpanMs !== undefined) {
    if (end - start > maxSpanMs) {
      return fail(-1127, "More than 200 days between startTime and endTime.", weight);
    }
  }
  // Grid slots [lo, hi] hold the candidates; their open times must lie in [first, last].
  const first = start ?? -Infinity;
  let last = end ?? options.now;
  // dapi: "If startTime is sent only, the timestamp of 200 days after startTime
  // will be set as endTime (up to the current time)".
  if (market === "cm" && start !== undefined && end === undefined) {
    last = start + maxSpanMs!;
  }
  last = Math.min(last, options.now);
  const lo = Math.max(floorOpenTime(spec.listedAt, interval), floorOpenTime(first, interval));
  let hi = floorOpenTime(last, interval);
  if (spec.delistedAt !== undefined) {
    hi = Math.min(hi, floorOpenTime(spec.delistedAt - 1, interval));
  }
  const rows: string[] = [];
  const take = (t: number) => {
    const k = series.row(spec, interval, t, options.now);
    if (k !== undefined && k.openTime >= first && k.openTime <= last) rows.push(klineJson(k));
  };
  // dapi documents that with both startTime and endTime "the most recent
  // limit data from endTime" is returned: the last `limit` candles of the span.
  const fromEnd = start === undefined || market === "cm";
  if (!fromEnd) {
    for (let t = lo; t <= hi && rows.length < limit; t = nextOpenTime(t, interval)) take(t);
  } else {
    for (let t = hi; t >= lo && rows.length < limit; t = floorOpenTime(t - 1, interval)) take(t);
    rows.reverse();
  }
  return { status: 200, body: `[${rows.join(",")}]`, weight };
}
