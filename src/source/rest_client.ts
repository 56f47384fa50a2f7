/**
 * The REST klines client: pages any `[start, end)` range, paced by the
 * exchange's weight header, tolerant of the failures Binance produces.
 *
 * @module
 */
import { type RecordBatch, Table } from "apache-arrow";
import {
  type Dataset,
  datasetInfo,
  FUNDING_RATE_REQUESTS_PER_5_MIN,
  parseDataset,
  restWeight,
} from "../core/dataset.ts";
import { concatFunding, type FundingColumns } from "../core/funding_schema.ts";
import {
  HttpError,
  InvalidDatasetError,
  InvalidRangeError,
  NetworkError,
  RateLimitError,
} from "../core/errors.ts";
import {
  ceilOpenTime,
  floorOpenTime,
  type Interval,
  intervalMs,
  nextOpenTime,
  parseInterval,
} from "../core/interval.ts";
import {
  klinesWeight,
  type Market,
  type MarketInfo,
  marketInfo,
  type MarketInput,
  parseMarket,
} from "../core/market.ts";
import { allocKlineColumns, klineBatch, sliceKlineColumns } from "../core/schema.ts";
import { validateSymbol } from "../core/symbol.ts";
import { type TimeInput, toEpochMs } from "../core/time.ts";
import {
  fetchOnce,
  type HostCircuitBreaker,
  isRetryable,
  maxRetryAfter,
  type RetryOptions,
  withRetry,
} from "./http.ts";
import { decodeKlineJson, type KlineJsonPage } from "./kline_json.ts";
import { decodeFundingJson, type FundingJsonPage } from "./funding_json.ts";
import { recordIgnoreValues } from "../codec/kline_ignore_values.ts";
import { readBody } from "./_read_body.ts";
import { maxPageBytes, statusError } from "./_rest_response.ts";
import { type WeightBudget, WeightScheduler } from "./weight_scheduler.ts";
import { AGG_TRADES_LIMIT, walkAggTrades } from "./_agg_trade_walk.ts";

/** Options of {@linkcode RestClient}. */
export interface RestClientOptions {
  /** The market: `spot`, `um`, `cm` or an alias. */
  market: MarketInput;
  /** REST base URLs, primary first, then backups. @default {marketInfo(market).restHosts} */
  hosts?: readonly string[];
  /** Market-data-only base URLs, tried after the primary answers 451. @default {marketInfo(market).marketDataHosts} */
  marketDataHosts?: readonly string[];
  /** The fetch implementation. @default {globalThis.fetch} */
  fetch?: typeof fetch;
  /**
   * Time allowed for the headers, and again for the whole body, of one
   * response, in ms. A page's body is also capped by what `limit` rows can
   * take (512 bytes a row, about 770 KB for 1500 rows): a larger one fails
   * with `ResponseTooLargeError`.
   * @default {30000}
   */
  timeoutMs?: number;
  /**
   * Retry policy for 5xx, 429, network failures and malformed pages. A 429
   * whose `Retry-After` is longer than `maxRetryAfterMs` stops the host for
   * that long, like a 418.
   * @default {{ attempts: 5, maxRetryAfterMs: 120000 }}
   */
  retry?: RetryOptions;
  /**
   * The weight budget of every host (e.g. a `SharedWeightBudget`, shared by
   * the processes of a host), or one per base URL.
   * @default {WeightScheduler.shared per origin and API}
   */
  scheduler?: WeightBudget | ((host: string) => WeightBudget);
  /**
   * The pacer of `fundingRate`'s own limit, counted in requests (500 per 5
   * minutes and IP).
   * @default {WeightScheduler.shared per origin, 500 requests per 300,000 ms}
   */
  fundingLimiter?: WeightScheduler;
  /** The clock, epoch ms (decides which candle is still open). @default {Date.now} */
  now?: () => number;
  /**
   * Stops requests to a host whose connections keep failing.
   * @default {undefined (no circuit breaker)}
   */
  breaker?: HostCircuitBreaker;
  /** Called before each HTTP request. */
  onRequest?: (request: { url: string; host: string; weight: number }) => void;
  /** Called after each page with the running totals. */
  onProgress?: (stats: Readonly<KlinesStats>) => void;
}

/** What to fetch: `[start, end)` on open time, UTC. */
export interface RestKlinesRequest {
  /**
   * The symbol, e.g. `BTCUSDT` (`BTCUSD_PERP` on cm); the pair for
   * `indexPriceKlines` (`BTCUSDT` on um, `BTCUSD` on cm).
   */
  symbol: string;
  /**
   * Which candles: `klines` (trades), or on um and cm `markPriceKlines`,
   * `indexPriceKlines` and `premiumIndexKlines` (same array layout; volumes
   * are 0). They share the IP's weight budget with klines.
   * @default {"klines"}
   */
  dataset?: Dataset;
  /** The interval, `1s` (spot only) .. `1M`. */
  interval: Interval | string;
  /** First open time included. */
  start: TimeInput;
  /** Open time excluded; clamped to the present. */
  end: TimeInput;
  /** Also return the candle still open now. @default {false} */
  includeOpenCandle?: boolean;
  /** Append the `_data_source` column (`REST`). @default {false} */
  withSource?: boolean;
  /** Cancels every request in flight and every wait. */
  signal?: AbortSignal;
}

/** Counters of one REST walk: klines, or funding rates. */
export interface KlinesStats {
  /** HTTP requests sent, retries included. */
  requests: number;
  /** Pages decoded. */
  pages: number;
  /** Rows returned. */
  rows: number;
  /** Request weight of the requests sent. */
  weight: number;
  /** HTTP responses received (any status), retries included. */
  responses: number;
  /** Request weight of the requests that received a response. */
  responseWeight: number;
  /** Retries after transient failures. */
  retries: number;
  /** 429 answers received. */
  rateLimited: number;
  /** Base URLs that served pages. */
  hosts: string[];
}

/** What to fetch of funding rates: `[start, end)` on funding time, UTC. */
export interface RestFundingRequest {
  /** The symbol, e.g. `BTCUSDT` (um) or `BTCUSD_PERP` (cm). */
  symbol: string;
  /** First funding time included. */
  start: TimeInput;
  /** Funding time excluded. */
  end: TimeInput;
  /** Cancels every request in flight and every wait. */
  signal?: AbortSignal;
  /**
   * Counters to fill (also when the walk fails: the requests it made count).
   * @default {new counters, returned with the events}
   */
  stats?: KlinesStats;
}

/** Funding events of a range, in time order, with the walk's counters. */
export interface RestFundingRates {
  /** The columns; the first `length` rows are the events. Intervals are null (REST does not print them). */
  columns: FundingColumns;
  /** Events. */
  length: number;
  /** Counters of the walk. */
  stats: KlinesStats;
}

/** What to fetch of aggregate trades: `[start, end)` on transact time, UTC. */
export interface RestAggTradesRequest {
  /** The symbol, e.g. `BTCUSDT` (spot, um) or `BTCUSD_PERP` (cm). */
  symbol: string;
  /** First transact time included (ms precision). */
  start: TimeInput;
  /** Transact time excluded (ms precision). */
  end: TimeInput;
  /** Cancels the request in flight and every wait. */
  signal?: AbortSignal;
  /**
   * Counters to fill (also when the walk fails: the requests it made count).
   * @default {new counters}
   */
  stats?: KlinesStats;
  /**
   * Largest RecordBatch handed out, in rows (at least 1000: one page).
   * @default {16384}
   */
  batchRows?: number;
}

/** Spot answers µs times when asked with this header (ms otherwise: µs would be truncated). */
const MICROSECOND_HEADERS: Readonly<Record<string, string>> = {
  "X-MBX-TIME-UNIT": "MICROSECOND",
};

/** Bytes allowed per aggTrades row of JSON (about 130; 512 with the widest numbers). */
const AGG_TRADE_PAGE_BYTES = 4096 + AGG_TRADES_LIMIT * 512;

/** A stream of kline RecordBatches (one per page) with its live counters. */
export interface KlinesStream extends ReadableStream<RecordBatch> {
  /** The walk's counters; final once the stream has closed. */
  readonly stats: KlinesStats;
}

const WEIGHT_HEADER = "x-mbx-used-weight-1m";

/** The widest window asked for after empty pages (about 200 days of 1m at most). */
const MAX_WINDOW_SLOTS = 1 << 18;

/** The close time of the `slots`-th candle opening at or after `t` (on the grid). */
function lastCloseAfter(t: number, slots: number, interval: Interval): number {
  if (interval !== "1M") return t + slots * intervalMs(interval) - 1;
  let open = t;
  for (let i = 0; i < slots; i++) open = nextOpenTime(open, interval);
  return open - 1;
}
const FUTURES_TIERS = [1500, 1000, 499, 99];

interface Walk {
  /** Endpoint path, e.g. `/fapi/v1/markPriceKlines`. */
  path: string;
  /** The parameter naming the series: `symbol`, or `pair` for index prices. */
  seriesParameter: "symbol" | "pair";
  symbol: string;
  interval: Interval;
  first: number;
  stop: number;
  openAfter: number;
  withSource: boolean;
  stats: KlinesStats;
  signal: AbortSignal;
}

/**
 * Client of the REST klines endpoint of one market.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RestClient } from "./rest_client.ts";
 * const row = [1704067200000, "1.5", "2", "1", "1.5", "10", 1704067259999, "15", 3, "5", "7.5", "0"];
 * await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () =>
 *   Response.json([row], { headers: { "x-mbx-used-weight-1m": "2" } }));
 * const client = new RestClient({ market: "spot", hosts: [`http://127.0.0.1:${server.addr.port}`] });
 * const { table, stats } = await client.fetchKlinesTable({
 *   symbol: "BTCUSDT", interval: "1m", start: 1704067200000, end: 1704067260000,
 * });
 * assert.equal(table.numRows, 1);
 * assert.equal(table.getChild("close")?.get(0), 1.5);
 * assert.equal(stats.weight, 2);
 * ```
 */
export class RestClient {
  readonly #info: MarketInfo;
  readonly #market: Market;
  readonly #hosts: string[];
  readonly #restricted = new Set<string>();
  readonly #options: RestClientOptions;

  /**
   * Creates a client; no request is sent before {@linkcode RestClient.klines}.
   *
   * @param options Market, hosts, fetch, retry policy, scheduler, clock and hooks.
   * @throws {InvalidMarketError} For an unknown market.
   */
  constructor(options: RestClientOptions) {
    this.#market = parseMarket(options.market);
    this.#info = marketInfo(this.#market);
    this.#options = options;
    const hosts = [...(options.hosts ?? this.#info.restHosts)];
    const marketData = options.marketDataHosts ?? this.#info.marketDataHosts;
    this.#hosts = [...hosts.slice(0, 1), ...marketData, ...hosts.slice(1)]
      .map((h) => h.replace(/\/+$/, ""));
    if (this.#hosts.length === 0) throw new TypeError("Cannot create a REST client: no host given");
  }

  /**
   * Streams the klines of `[start, end)`, one RecordBatch per page, in time
   * order, without gaps or duplicates at page seams. Cancelling the stream
   * aborts the request in flight.
   *
   * @param request Symbol, interval, range, options and signal.
   * @returns The batches, with live counters in `stats`.
   * @throws {TypeError} For an invalid symbol or interval (synchronously).
   * @throws {InvalidRangeError} When `start >= end` (synchronously).
   */
  klines(request: RestKlinesRequest): KlinesStream {
    const walk = this.#plan(request);
    const cancel = new AbortController();
    walk.signal = request.signal ? AbortSignal.any([request.signal, cancel.signal]) : cancel.signal;
    const pages = this.#walk(walk);
    const stream = new ReadableStream<RecordBatch>({
      async pull(controller) {
        const next = await pages.next();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      },
      async cancel(reason) {
        cancel.abort(reason ?? new DOMException("The stream was cancelled", "AbortError"));
        await pages.return(undefined).catch(() => {});
      },
    }, { highWaterMark: 0 });
    return Object.assign(stream, { stats: walk.stats });
  }

  /**
   * Fetches `[start, end)` into one Arrow Table.
   *
   * @param request Symbol, interval, range, options and signal.
   * @returns The table and the walk's counters.
   */
  async fetchKlinesTable(
    request: RestKlinesRequest,
  ): Promise<{ table: Table; stats: KlinesStats }> {
    const stream = this.klines(request);
    const batches: RecordBatch[] = [];
    for await (const batch of stream) batches.push(batch);
    if (batches.length === 0) {
      batches.push(klineBatch(allocKlineColumns(0), 0, request.withSource ? "REST" : undefined));
    }
    return { table: new Table(batches), stats: stream.stats };
  }

  /**
   * Fetches the funding events of `[start, end)` (um and cm), paging by
   * `startTime` at `limit=1000`, paced by the weight header and by the
   * endpoint's own limit of requests per 5 minutes.
   *
   * @param request Symbol, range and signal.
   * @returns The events in time order and the walk's counters.
   * @throws {InvalidDatasetError} On spot, which has no funding (synchronously checked).
   * @throws {InvalidSymbolError | InvalidTimeError | InvalidRangeError} On misuse, before any I/O.
   * @throws {HttpError | RateLimitError | NetworkError} When a page cannot be fetched.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { RestClient } from "./rest_client.ts";
   * const rows = [{ symbol: "BTCUSDT", fundingRate: "0.00010000", fundingTime: 1704067200000, markPrice: "42283.58" }];
   * await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () =>
   *   Response.json(rows, { headers: { "x-mbx-used-weight-1m": "1" } }));
   * const client = new RestClient({ market: "um", hosts: [`http://127.0.0.1:${server.addr.port}`] });
   * const got = await client.fundingRates({ symbol: "BTCUSDT", start: 1704067200000, end: 1704096000000 });
   * assert.equal(got.length, 1);
   * assert.equal(got.columns.fundingRate[0], 0.0001);
   * assert.equal(got.stats.requests, 1);
   * ```
   */
  async fundingRates(request: RestFundingRequest): Promise<RestFundingRates> {
    const path = datasetInfo("fundingRate").restPaths[this.#market];
    if (path === undefined) {
      throw new InvalidDatasetError(
        "fundingRate",
        `Invalid dataset "fundingRate": not published for ${this.#market} (markets: um, cm)`,
      );
    }
    const symbol = validateSymbol(request.symbol, this.#market);
    const start = toEpochMs(request.start, "start");
    const end = toEpochMs(request.end, "end");
    if (start >= end) {
      throw new InvalidRangeError(
        `Cannot fetch funding rates: start "${new Date(start).toISOString()}" is not before end "${
          new Date(end).toISOString()
        }"`,
      );
    }
    const stats = request.stats ?? newRestStats();
    const signal = request.signal ?? new AbortController().signal;
    const limit = datasetInfo("fundingRate").maxLimit[this.#market]!;
    const limiter = this.#options.fundingLimiter ??
      WeightScheduler.shared(`${new URL(this.#activeHost()).origin}${path}`, {
        budget: FUNDING_RATE_REQUESTS_PER_5_MIN,
        windowMs: 300_000,
      });
    const pages: FundingJsonPage[] = [];
    for (let t = start; t < end;) {
      const query = { symbol, startTime: t, endTime: end - 1 };
      const page = await this.#page({
        path,
        query: `symbol=${encodeURIComponent(symbol)}&startTime=${t}&endTime=${end - 1}` +
          `&limit=${limit}`,
        weight: restWeight("fundingRate", this.#market, limit),
        maxBytes: maxPageBytes(limit),
        decode: (body, url) => decodeFundingJson(body, { ...query, url }),
        stats,
        signal,
        limiter,
      });
      stats.pages++;
      stats.rows += page.length;
      pages.push(page);
      this.#options.onProgress?.(stats);
      if (page.length < limit) break;
      t = page.columns.fundingTime[page.length - 1] + 1;
    }
    return { ...concatFunding(pages), stats };
  }

  /**
   * Streams every aggregate trade with transact time in `[start, end)`, in
   * id order, as RecordBatches of `AGG_TRADE_SCHEMA` (at most `batchRows`
   * rows each, several pages per batch). Times are µs: spot is asked for µs
   * (`X-MBX-TIME-UNIT: MICROSECOND`), futures answer ms (scaled exactly);
   * `is_best_match` is spot's `M`, null on um and cm.
   *
   * The walk: windows `startTime`..`endTime` under one hour (Binance refuses
   * wider ones with -1127) from `start`, each empty one moving to the next,
   * until one holds a trade; then pages of `fromId` = last `a` + 1 at
   * `limit=1000` until a row's time reaches `end` or a page is empty. Weight
   * 4 a request on spot, 20 on um and cm, paced by the client's weight
   * scheduler; 429/418/451/5xx are handled as for klines. A request carries
   * either both times or `fromId`, never both (Binance warns the mix may
   * time out). A long stretch without trades costs one request per hour:
   * keep REST ranges short (Vision holds the history). The futures
   * endpoints serve the last year only (dapi documents it): older ranges
   * give no rows. A page is requested only when the consumer asks for the
   * next batch; leaving the loop early sends nothing more.
   *
   * @param request Symbol, range, signal, counters, batch size.
   * @returns The batches (an async generator).
   * @throws {InvalidSymbolError | InvalidTimeError | InvalidRangeError} On misuse, synchronously, before any I/O.
   * @throws {HttpError | RateLimitError | NetworkError} From the iteration, when a page cannot be fetched or is malformed (after retries).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { newRestStats, RestClient } from "./rest_client.ts";
   * const T = 1704067200000;
   * await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
   *   const q = new URL(req.url).searchParams;
   *   const rows = q.has("startTime")
   *     ? [{ a: 7, p: "42283.58", q: "0.5", f: 10, l: 11, T: T + 5, m: true }]
   *     : q.get("fromId") === "8"
   *     ? [{ a: 8, p: "42283.59", q: "0.1", f: 12, l: 12, T: T + 60_000, m: false }]
   *     : [];
   *   return Response.json(rows, { headers: { "x-mbx-used-weight-1m": "20" } });
   * });
   * const client = new RestClient({ market: "um", hosts: [`http://127.0.0.1:${server.addr.port}`] });
   * const stats = newRestStats();
   * const batches = await Array.fromAsync(client.aggTrades({ symbol: "BTCUSDT", start: T, end: T + 60_000, stats }));
   * assert.equal(batches.length, 1);
   * assert.deepEqual([...batches[0].getChild("agg_trade_id")!], [7n]); // a 8 is at `end`: left out
   * assert.equal(batches[0].getChild("transact_time")?.data[0].values[0], BigInt(T + 5) * 1000n);
   * assert.equal(batches[0].getChild("is_best_match")?.get(0), null);
   * assert.equal(stats.weight, 40);
   * ```
   */
  aggTrades(request: RestAggTradesRequest): AsyncGenerator<RecordBatch, void, undefined> {
    const market = this.#market;
    const symbol = validateSymbol(request.symbol, market);
    const start = toEpochMs(request.start, "start");
    const end = toEpochMs(request.end, "end");
    if (start >= end) {
      throw new InvalidRangeError(
        `Cannot fetch aggTrades: start "${new Date(start).toISOString()}" is not before end "${
          new Date(end).toISOString()
        }"`,
      );
    }
    const batchRows = request.batchRows ?? 16_384;
    if (!Number.isSafeInteger(batchRows) || batchRows < AGG_TRADES_LIMIT) {
      throw new InvalidRangeError(
        `Cannot fetch aggTrades: batchRows "${batchRows}" is not an integer of at least ${AGG_TRADES_LIMIT}`,
      );
    }
    const stats = request.stats ?? newRestStats();
    const signal = request.signal ?? new AbortController().signal;
    const path = datasetInfo("aggTrades").restPaths[market]!;
    const weight = restWeight("aggTrades", market, AGG_TRADES_LIMIT);
    const headers = market === "spot" ? MICROSECOND_HEADERS : undefined;
    return walkAggTrades({ market, symbol, start, end, batchRows }, async (query, decode) => {
      const page = await this.#page({
        path,
        query,
        weight,
        maxBytes: AGG_TRADE_PAGE_BYTES,
        decode,
        stats,
        signal,
        headers,
      });
      stats.pages++;
      stats.rows += page.kept;
      this.#options.onProgress?.(stats);
      return page;
    });
  }

  #plan(request: RestKlinesRequest): Walk {
    const dataset = parseDataset(request.dataset, this.#market);
    const info = datasetInfo(dataset);
    const path = info.restPaths[this.#market];
    if (info.series !== "grid" || path === undefined) {
      throw new InvalidDatasetError(
        request.dataset,
        `Cannot fetch klines: dataset "${dataset}" has no candles on ${this.#market}`,
      );
    }
    const seriesParameter = info.seriesParameter;
    const symbol = validateSymbol(
      request.symbol,
      this.#market,
      seriesParameter === "pair" ? "pair" : undefined,
    );
    const interval = parseInterval(request.interval, this.#market);
    const start = toEpochMs(request.start, "start");
    const end = toEpochMs(request.end, "end");
    if (start >= end) {
      throw new InvalidRangeError(
        `Cannot fetch klines: start "${new Date(start).toISOString()}" is not before end "${
          new Date(end).toISOString()
        }"`,
      );
    }
    const now = (this.#options.now ?? Date.now)();
    const current = floorOpenTime(now, interval);
    const present = request.includeOpenCandle ? nextOpenTime(current, interval) : current;
    return {
      path,
      seriesParameter,
      symbol,
      interval,
      first: ceilOpenTime(start, interval),
      stop: Math.min(end, present),
      openAfter: request.includeOpenCandle ? Infinity : now,
      withSource: request.withSource ?? false,
      stats: newRestStats(),
      signal: request.signal ?? new AbortController().signal,
    };
  }

  async *#walk(walk: Walk): AsyncGenerator<RecordBatch, void, undefined> {
    const { interval, stop, stats } = walk;
    const span = this.#info.maxSpanMs;
    let t = walk.first;
    // Windows of `limit` slots give the same page whether the server returns
    // the first `limit` rows from startTime or, as dapi documents, the most
    // recent `limit` rows up to endTime. Empty windows (before a listing)
    // double, so a long empty stretch costs a few requests.
    let windowSlots = this.#info.maxLimit;
    while (t < stop) {
      const capEnd = span === undefined ? stop - 1 : Math.min(stop - 1, t + span - 1);
      const endTime = Math.min(capEnd, lastCloseAfter(t, windowSlots, interval));
      const slots = slotsBetween(t, endTime, interval);
      const limit = this.#chooseLimit(slots);
      const page = await this.#fetchPage(walk, t, endTime, limit);
      const { columns, length } = page;
      if (length === 0) {
        t = ceilOpenTime(endTime + 1, interval);
        windowSlots = Math.min(windowSlots * 2, MAX_WINDOW_SLOTS);
        continue;
      }
      if (length === limit && slots > limit && columns.openTime[0] > t) {
        // A full page from a wide window: rows before its first could have been
        // left out by a server that answers from endTime. Ask about them.
        const before = await this.#fetchPage(walk, t, columns.openTime[0] - 1, 1);
        if (before.length > 0) {
          windowSlots = this.#info.maxLimit;
          continue;
        }
      }
      windowSlots = this.#info.maxLimit;
      let keep = 0;
      while (
        keep < length && columns.openTime[keep] < stop && columns.closeTime[keep] < walk.openAfter
      ) keep++;
      if (keep > 0) {
        stats.rows += keep;
        const batch = klineBatch(
          sliceKlineColumns(columns, 0, keep),
          keep,
          walk.withSource ? "REST" : undefined,
        );
        const lastKept = columns.openTime[keep - 1];
        yield recordIgnoreValues(batch, page.ignored.filter((v) => v.openTime <= lastKept));
      }
      this.#options.onProgress?.(stats);
      if (keep < length) return;
      // After a full page, the next grid slot after its last row (which may
      // lie off the grid: real history has such rows).
      t = ceilOpenTime((length < limit ? endTime : columns.openTime[length - 1]) + 1, interval);
    }
  }

  async #fetchPage(walk: Walk, t: number, endTime: number, limit: number): Promise<KlineJsonPage> {
    const query = `${walk.seriesParameter}=${encodeURIComponent(walk.symbol)}` +
      `&interval=${walk.interval}` +
      `&startTime=${t}&endTime=${endTime}&limit=${limit}`;
    const page = await this.#page({
      path: walk.path,
      query,
      weight: klinesWeight(this.#market, limit),
      maxBytes: maxPageBytes(limit),
      decode: (body, url) => decodeKlineJson(body, { url }),
      stats: walk.stats,
      signal: walk.signal,
    });
    checkPage(page, t, endTime, query);
    walk.stats.pages++;
    return page;
  }

  /** The largest useful `limit`, or a cheaper futures tier when the budget is tight. */
  #chooseLimit(slots: number): number {
    const limit = Math.min(this.#info.maxLimit, slots);
    if (this.#market === "spot") return limit;
    const available = this.#scheduler(this.#activeHost()).available();
    if (klinesWeight(this.#market, limit) <= available) return limit;
    for (const tier of FUTURES_TIERS) {
      if (tier < limit && klinesWeight(this.#market, tier) <= available) return tier;
    }
    return limit;
  }

  #activeHost(): string {
    return this.#hosts.find((h) => !this.#restricted.has(h)) ?? this.#hosts[0];
  }

  #scheduler(host: string): WeightBudget {
    const { scheduler } = this.#options;
    if (typeof scheduler === "function") return scheduler(host);
    if (scheduler) return scheduler;
    return WeightScheduler.shared(`${new URL(host).origin}${this.#info.klinesPath}`, {
      budget: this.#info.weightBudget,
    });
  }

  #page<T>(call: PageCall<T>): Promise<T> {
    return withRetry(() => this.#onHosts(call), {
      retry: this.#options.retry,
      signal: call.signal,
      isRetryable: (e) => isRetryable(e) || (e instanceof RateLimitError && e.status === 429),
      onRetry: () => call.stats.retries++,
    });
  }

  /** One attempt, moving on to the next host while hosts answer 451. */
  async #onHosts<T>(call: PageCall<T>): Promise<T> {
    for (;;) {
      const host = this.#hosts.find((h) => !this.#restricted.has(h));
      const url = `${host ?? this.#hosts[0]}${call.path}?${call.query}`;
      if (host === undefined) {
        throw new HttpError(451, url, {
          cause: new Error("Every host answered HTTP 451 (unavailable from this location)"),
        });
      }
      try {
        const page = await this.#attempt(host, url, call);
        if (!call.stats.hosts.includes(host)) call.stats.hosts.push(host);
        return page;
      } catch (error) {
        if (!(error instanceof HttpError && error.status === 451)) throw error;
        this.#restricted.add(host);
      }
    }
  }

  async #attempt<T>(host: string, url: string, call: PageCall<T>): Promise<T> {
    const { signal, stats, weight } = call;
    const scheduler = this.#scheduler(host);
    // An endpoint limit of its own (fundingRate: requests per 5 minutes) is waited for first.
    await call.limiter?.acquire(1, signal);
    await scheduler.acquire(weight, signal).catch((error) => {
      call.limiter?.settle(1);
      throw error;
    });
    let settled = false;
    try {
      stats.requests++;
      stats.weight += weight;
      this.#options.onRequest?.({ url, host, weight });
      const timeoutMs = this.#options.timeoutMs ?? 30_000;
      const { fetch, breaker } = this.#options;
      const headers = call.headers;
      const response = await fetchOnce(url, { fetch, timeoutMs, signal, breaker, headers });
      scheduler.settle(weight, response.headers.get(WEIGHT_HEADER));
      call.limiter?.settle(1);
      settled = true;
      stats.responses++;
      stats.responseWeight += weight;
      if (response.ok) {
        const body = await readBody(response, url, { timeoutMs, maxBytes: call.maxBytes, signal });
        return call.decode(body, url);
      }
      const maxRetryAfterMs = maxRetryAfter(this.#options.retry);
      const error = await statusError(response, url, {
        scheduler,
        maxRetryAfterMs,
        timeoutMs,
        signal,
      });
      if (error instanceof RateLimitError && error.status === 429) stats.rateLimited++;
      throw error;
    } finally {
      if (!settled) {
        scheduler.settle(weight);
        call.limiter?.settle(1);
      }
    }
  }
}

/** One REST request: where, what it weighs, how its body is read. */
interface PageCall<T> {
  /** Endpoint path. */
  path: string;
  /** Query string, without `?`. */
  query: string;
  /** Request weight. */
  weight: number;
  /** Largest body accepted, in bytes. */
  maxBytes: number;
  /** Decodes the body (throws `NetworkError` for a malformed one: retried). */
  decode: (body: Uint8Array, url: string) => T;
  /** The walk's counters. */
  stats: KlinesStats;
  /** Cancels the request and every wait. */
  signal: AbortSignal;
  /** A limit of the endpoint's own, counted in requests. */
  limiter?: WeightScheduler;
  /** Request headers. */
  headers?: Readonly<Record<string, string>>;
}

/**
 * Zeroed counters of a REST walk, e.g. to hand to
 * {@linkcode RestClient.fundingRates} so that a failed walk still counts.
 *
 * @returns New counters.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { newRestStats } from "./rest_client.ts";
 * assert.equal(newRestStats().responses, 0);
 * ```
 */
export function newRestStats(): KlinesStats {
  return {
    requests: 0,
    pages: 0,
    rows: 0,
    weight: 0,
    responses: 0,
    responseWeight: 0,
    retries: 0,
    rateLimited: 0,
    hosts: [],
  };
}

function slotsBetween(t: number, endTime: number, interval: Interval): number {
  if (interval !== "1M") return Math.floor((endTime - t) / (nextOpenTime(t, interval) - t)) + 1;
  const a = new Date(t), b = new Date(endTime);
  return (b.getUTCFullYear() - a.getUTCFullYear()) * 12 + b.getUTCMonth() - a.getUTCMonth() + 1;
}

/**
 * Checks that a page answers its query: open times strictly increasing
 * within `[startTime, endTime]`. Open times off the interval grid are real
 * history (rows printed after an outage), not a broken page: they are
 * returned, and the fetch reports and leaves them out like any source's.
 */
function checkPage(page: KlineJsonPage, t: number, endTime: number, query: string) {
  const times = page.columns.openTime;
  for (let i = 0, prev = t - 1; i < page.length; prev = times[i++]) {
    const v = times[i];
    if (v > prev && v <= endTime) continue;
    throw new NetworkError(
      query,
      `Cannot use klines page "${query}": open time ${v} at row ${i} is ` +
        (v <= prev ? (i === 0 ? "before startTime" : "not increasing") : "after endTime"),
    );
  }
}
