/**
 * `DataSourceManager`: one exact Arrow table of klines (or price klines, or
 * funding rates) from the cache, Binance Vision and the REST API, with a
 * report of where every row came from.
 *
 * @module
 */
import { Table } from "apache-arrow";
import type { RecordBatch } from "apache-arrow";
import { InvalidRangeError } from "../core/errors.ts";
import { type Market, parseMarket } from "../core/market.ts";
import { KLINE_SCHEMA, KLINE_SCHEMA_WITH_SOURCE } from "../core/schema.ts";
import { FUNDING_SCHEMA, FUNDING_SCHEMA_WITH_SOURCE } from "../core/funding_schema.ts";
import { type FundingRateRequest, resolveFundingRequest } from "./funding_request.ts";
import { fetchFundingRates, type FundingReport } from "./funding_fetch.ts";
import { isTradeRequest, resolveTradeRequest, type TradeRequest } from "./trade_request.ts";
import { runTrades, type TradeReport, type TradeRun } from "./trade_run.ts";
import { tradeSources } from "./_trade_sources.ts";
import { STREAM_ROWS_IN_FLIGHT } from "./_fetch_window.ts";
import { datasetInfo } from "../core/dataset.ts";
import { HostCircuitBreaker } from "../source/http.ts";
import { type KlineRequest, resolveRequest } from "./kline_request.ts";
import type { FetchReport } from "./fetch_report.ts";
import { runFetch } from "./fetch_run.ts";
import type { KlineStore } from "../cache/kline_store.ts";
import { NullKlineStore } from "../cache/null_kline_store.ts";
import type { CacheStores } from "../cache/open_cache_stores.ts";
import { openCacheStoresOf } from "./open_cache.ts";
import { RestClients } from "./rest_clients.ts";
import { VisionArchives } from "./vision_archives.ts";
import { checkManagerOptions, readClock } from "./_manager_options.ts";
import type { DataSourceManagerOptions } from "./manager_options.ts";

export type { DataSourceManagerOptions, Endpoints } from "./manager_options.ts";

/** Per-call options. */
export interface FetchOptions {
  /** Cancels this call. */
  signal?: AbortSignal;
}

/** A table with its report. */
export interface FetchResult {
  /** The rows. */
  table: Table;
  /** Where they came from, gaps, failures. */
  report: FetchReport;
}

/** A table of funding events with its report. */
export interface FundingResult {
  /** The events, of `FUNDING_SCHEMA` (with `_data_source` unless left out). */
  table: Table;
  /** Where they came from, gaps, interval changes, failures. */
  report: FundingReport;
}

/** A table of trades (aggTrades or trades) with its report. */
export interface TradeResult {
  /** The rows, of the dataset's schema (with `_data_source` unless left out), in id order. */
  table: Table;
  /** Where they came from, id holes, unfetched days, failures. */
  report: TradeReport;
}

function isFunding(request: unknown): request is FundingRateRequest {
  return (request as { dataset?: unknown } | null)?.dataset === "fundingRate";
}

/**
 * Fetches Binance klines as Arrow through the Failover Control Protocol:
 * complete partitions from the local Arrow IPC cache, closed days and
 * months from Binance Vision's verified archives, the rest from REST. The
 * request's `dataset` picks mark, index or premium index price klines (um,
 * cm) or funding rates (`dataset: "fundingRate"`, events without a grid).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DataSourceManager } from "./data_source_manager.ts";
 * import { startEmulator } from "../emulator/emulator.ts";
 * await using emulator = await startEmulator({ now: Date.UTC(2024, 5, 1) });
 * await using dsm = new DataSourceManager({
 *   market: "spot",
 *   cache: false,
 *   now: () => Date.UTC(2024, 5, 1),
 *   endpoints: { vision: emulator.url, listing: emulator.url, rest: emulator.url },
 * });
 * const table = await dsm.getData({
 *   symbol: "BTCUSDT", interval: "1h", start: "2024-01-01", end: "2024-01-02",
 * });
 * assert.equal(table.numRows, 24);
 * assert.equal(table.getChild("_data_source")?.get(0), "VISION");
 * ```
 */
export class DataSourceManager implements AsyncDisposable {
  readonly #options: DataSourceManagerOptions;
  readonly #market: Market;
  #cache: Promise<CacheStores> | undefined;
  readonly #vision: VisionArchives;
  readonly #rest: RestClients;
  readonly #closed = new AbortController();
  readonly #concurrency: number;

  /**
   * Creates the instance.
   *
   * @param options Market, cache, endpoints, limits, clock.
   * @throws {InvalidMarketError} For an unknown market.
   * @throws {InvalidOptionError} For an unknown option (a typo like `sorce`),
   *   a value of the wrong type (`cache` not `false` or an object, an empty
   *   `cache.dir`, a `fetch`, `now`, `onProgress` or `logger` that is not a
   *   function, a `signal` that is not an AbortSignal), or an endpoint that
   *   is not an absolute `http:`/`https:` URL.
   * @throws {InvalidRangeError} For `concurrency` outside 1..64,
   *   `decodeWorkers` outside 0..16, `timeoutMs` outside 1..2^31-1,
   *   `retry.attempts` outside 1..100, a negative retry delay.
   */
  constructor(options: DataSourceManagerOptions = {}) {
    checkManagerOptions(options);
    const now = options.now;
    // A clock that returns NaN is refused when read, before the fetch's first request.
    this.#options = now ? { ...options, now: () => readClock(now) } : options;
    this.#market = parseMarket(options.market ?? "spot");
    const concurrency = options.concurrency ?? 8;
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
      throw new InvalidRangeError(
        `Cannot create the manager: concurrency ${concurrency} is not an integer from 1 to 64`,
      );
    }
    this.#concurrency = concurrency;
    const workers = options.decodeWorkers ?? "auto";
    if (workers !== "auto" && (!Number.isInteger(workers) || workers < 0 || workers > 16)) {
      throw new InvalidRangeError(
        `Cannot create the manager: decodeWorkers ${workers} is not "auto" or an integer from 0 to 16`,
      );
    }
    const breaker = new HostCircuitBreaker({ onOpen: (error) => options.logger?.(error.message) });
    this.#vision = new VisionArchives(this.#options, breaker);
    // The shared budget's state lives in a local, writable cache folder only.
    const folder = () =>
      this.#openCache().then((c) => c.spoolDir === undefined ? new NullKlineStore() : c.klines);
    this.#rest = new RestClients(this.#options, breaker, folder);
  }

  /** Opens the cache on the first fetch, so that a refused request does no I/O. */
  #openCache(): Promise<CacheStores> {
    if (this.#cache === undefined) {
      const options = this.#options;
      this.#cache = openCacheStoresOf(options.cache, options.logger, options.now);
      this.#cache.catch(() => {});
    }
    return this.#cache;
  }

  /** The cache's kline store (opened on the first fetch). */
  async #klines(): Promise<KlineStore> {
    return (await this.#openCache()).klines;
  }

  #now(): number {
    return (this.#options.now ?? Date.now)();
  }

  #signal(options?: FetchOptions): AbortSignal {
    const signals = [this.#closed.signal];
    if (this.#options.signal) signals.push(this.#options.signal);
    if (options?.signal) signals.push(options.signal);
    return AbortSignal.any(signals);
  }

  /**
   * Streams the rows of a request as RecordBatches in time order, one
   * partition at a time, with bounded memory: the first batch comes out
   * before later files are downloaded. Cancelling the stream stops every
   * download. The report arrives when the stream ends. A funding rate
   * request (`dataset: "fundingRate"`, a few hundred events a month) is
   * fetched whole, then streamed.
   *
   * @param request What to fetch.
   * @param options Signal.
   * @returns The batches and a promise of the report.
   * @throws {TypeError} For an invalid request, before any I/O.
   */
  streamWithReport(
    request: FundingRateRequest,
    options?: FetchOptions,
  ): { batches: ReadableStream<RecordBatch>; report: Promise<FundingReport> };
  /**
   * Streams the rows of a kline request (see the funding overload).
   *
   * @param request What to fetch.
   * @param options Signal.
   * @returns The batches and a promise of the report.
   * @throws {TypeError} For an invalid request, before any I/O.
   */
  streamWithReport(
    request: KlineRequest,
    options?: FetchOptions,
  ): { batches: ReadableStream<RecordBatch>; report: Promise<FetchReport> };
  /**
   * Streams the rows of a trade request (aggTrades or trades) in id order,
   * a few days in memory at a time.
   *
   * @param request What to fetch.
   * @param options Signal.
   * @returns The batches and a promise of the report.
   * @throws {TypeError} For an invalid request, before any I/O.
   */
  streamWithReport(
    request: TradeRequest,
    options?: FetchOptions,
  ): { batches: ReadableStream<RecordBatch>; report: Promise<TradeReport> };
  streamWithReport(
    request: KlineRequest | FundingRateRequest | TradeRequest,
    options?: FetchOptions,
  ): {
    batches: ReadableStream<RecordBatch>;
    report: Promise<FetchReport | FundingReport | TradeReport>;
  } {
    if (isTradeRequest(request)) {
      const run = this.#runTrades(request, options);
      return { batches: ReadableStream.from(run.batches), report: run.report };
    }
    if (isFunding(request)) return this.#streamFunding(request, options);
    const { resolved, deps } = this.#prepare(request, options);
    // The cache opens when the stream is first read (a stream never read does no I/O).
    const run = runFetch(resolved, {
      ...deps,
      cache: () => this.#klines(),
      rowsInFlight: STREAM_ROWS_IN_FLIGHT,
    });
    return { batches: run.stream(), report: run.report };
  }

  /** Validates a request (before any I/O) and gathers what a run needs. */
  #prepare(request: KlineRequest, options: FetchOptions | undefined) {
    const now = this.#now();
    const resolved = resolveRequest(request, { market: this.#market, now });
    const signal = this.#signal(options);
    signal.throwIfAborted();
    const deps = {
      vision: this.#vision,
      rest: this.#rest.client(resolved.market),
      now,
      concurrency: this.#concurrency,
      signal,
      onProgress: this.#options.onProgress,
    };
    return { resolved, deps };
  }

  /**
   * Streams the rows of a request as RecordBatches in time order.
   *
   * @param request What to fetch.
   * @param options Signal.
   * @returns An async-iterable stream of batches.
   * @throws {TypeError} For an invalid request, before any I/O.
   */
  stream(
    request: KlineRequest | FundingRateRequest | TradeRequest,
    options?: FetchOptions,
  ): ReadableStream<RecordBatch> {
    if (isTradeRequest(request)) return this.streamWithReport(request, options).batches;
    const run = isFunding(request)
      ? this.#streamFunding(request, options)
      : this.streamWithReport(request, options);
    return run.batches;
  }

  /**
   * Fetches a request into one Table, with its report: klines (and the
   * price klines) by default, funding events with `dataset: "fundingRate"`.
   *
   * @param request What to fetch.
   * @param options Signal.
   * @returns The table and the report.
   * @throws {TypeError} For an invalid request, before any I/O.
   * @throws {InvalidRangeError} When the range starts after now (wholly in
   *   the future), before any I/O. A range that starts in the past but holds
   *   no closed candle yet returns an empty table (`report.start === report.end`).
   * @throws {NetworkError} When no row could be fetched because the network
   *   failed (DNS, refused, TLS, resets, time-outs); `cause` keeps the first
   *   failure and, through it, the runtime's reason. Other source failures
   *   that leave no row (e.g. HTTP 5xx after the retries) throw that error.
   * @throws {DataNotAvailableError} When the exchange holds no row of the range
   *   (a range whose candles were all printed off the grid returns an empty
   *   table and reports them), or, with `strict`, when the result would be
   *   partial (`cause`: the first source failure, if any).
   */
  getDataWithReport(request: FundingRateRequest, options?: FetchOptions): Promise<FundingResult>;
  /**
   * Fetches a trade request (aggTrades or trades) into one Table, with its
   * report (see the funding overload).
   *
   * @param request What to fetch.
   * @param options Signal.
   * @returns The table and the report.
   * @throws {TypeError} For an invalid request, before any I/O.
   */
  getDataWithReport(request: TradeRequest, options?: FetchOptions): Promise<TradeResult>;
  /**
   * Fetches a kline request into one Table, with its report (see the funding overload).
   *
   * @param request What to fetch.
   * @param options Signal.
   * @returns The table and the report.
   * @throws {TypeError} For an invalid request, before any I/O.
   */
  getDataWithReport(request: KlineRequest, options?: FetchOptions): Promise<FetchResult>;
  getDataWithReport(
    request: KlineRequest | FundingRateRequest | TradeRequest,
    options?: FetchOptions,
  ): Promise<FetchResult | FundingResult | TradeResult> {
    if (isTradeRequest(request)) return this.#getTrades(request, options);
    if (isFunding(request)) return this.#getFunding(request, options);
    return this.#getKlines(request, options);
  }

  async #getKlines(request: KlineRequest, options?: FetchOptions): Promise<FetchResult> {
    const { resolved, deps } = this.#prepare(request, options);
    const run = runFetch(resolved, { ...deps, cache: await this.#klines() });
    const collected: RecordBatch[] = [];
    for await (const batch of run.batches) collected.push(batch);
    const report = run.report;
    const schema = collected[0]?.schema ??
      (request.includeSourceInfo === false ? KLINE_SCHEMA : KLINE_SCHEMA_WITH_SOURCE);
    return { table: new Table(schema, collected), report: await report };
  }

  /**
   * Fetches a request into one Table.
   *
   * @param request What to fetch.
   * @param options Signal.
   * @returns The table.
   * @throws {TypeError} For an invalid request, before any I/O.
   * @throws {InvalidRangeError} When the range starts after now (wholly in
   *   the future), before any I/O. A range that starts in the past but holds
   *   no closed candle yet returns an empty table (`report.start === report.end`).
   * @throws {NetworkError} When no row could be fetched because the network
   *   failed (DNS, refused, TLS, resets, time-outs); `cause` keeps the first
   *   failure and, through it, the runtime's reason. Other source failures
   *   that leave no row (e.g. HTTP 5xx after the retries) throw that error.
   * @throws {DataNotAvailableError} When the exchange holds no row of the range
   *   (a range whose candles were all printed off the grid returns an empty
   *   table and reports them), or, with `strict`, when the result would be
   *   partial (`cause`: the first source failure, if any).
   */
  async getData(
    request: KlineRequest | FundingRateRequest | TradeRequest,
    options?: FetchOptions,
  ): Promise<Table> {
    if (isTradeRequest(request)) return (await this.#getTrades(request, options)).table;
    return isFunding(request)
      ? (await this.#getFunding(request, options)).table
      : (await this.#getKlines(request, options)).table;
  }

  /**
   * Validates a trade request (before any I/O) and starts it; the cache and
   * the clients open when its batches are first read.
   */
  #runTrades(request: TradeRequest, options: FetchOptions | undefined): TradeRun {
    const now = this.#now();
    const resolved = resolveTradeRequest(request, { market: this.#market, now });
    const signal = this.#signal(options);
    signal.throwIfAborted();
    const mode = resolved.source;
    const open = async () => {
      const cache = await this.#openCache();
      return tradeSources(resolved, {
        vision: mode === "auto" || mode === "vision" ? this.#vision.archives : undefined,
        rest: mode === "auto" || mode === "rest" ? this.#rest.client(resolved.market) : undefined,
        store: cache.trades,
        spoolDir: cache.spoolDir,
      });
    };
    return runTrades(resolved, open, {
      now,
      signal,
      concurrency: this.#concurrency,
      klines: (start, end, signal) =>
        this.stream({
          symbol: resolved.symbol,
          market: resolved.market,
          interval: "1m",
          start,
          end,
          includeSourceInfo: false,
        }, { signal }),
    });
  }

  async #getTrades(request: TradeRequest, options?: FetchOptions): Promise<TradeResult> {
    const run = this.#runTrades(request, options);
    const batches = await Array.fromAsync(run.batches);
    const { schema } = datasetInfo(request.dataset);
    const fallback = request.includeSourceInfo === false ? schema.plain : schema.withSource;
    return { table: new Table(batches[0]?.schema ?? fallback, batches), report: await run.report };
  }

  /**
   * Validates a funding request (before any I/O) and runs it: the cache's
   * funding folders (when the cache is on and writable or readable), Vision's
   * monthly archives and REST of the request's market.
   */
  #runFunding(request: FundingRateRequest, options: FetchOptions | undefined) {
    const now = this.#now();
    const resolved = resolveFundingRequest(request, { market: this.#market, now });
    const signal = this.#signal(options);
    signal.throwIfAborted();
    const run = async () => {
      const store = (await this.#openCache()).funding;
      const mode = resolved.source;
      // Forced network sources do not read the cache (the plan says so); they still fill it.
      return await fetchFundingRates(resolved, {
        store,
        vision: mode === "auto" || mode === "vision" ? this.#vision.archives : undefined,
        rest: mode === "auto" || mode === "rest" ? this.#rest.client(resolved.market) : undefined,
      }, { now, signal });
    };
    return { resolved, run };
  }

  async #getFunding(request: FundingRateRequest, options?: FetchOptions): Promise<FundingResult> {
    const { resolved, run } = this.#runFunding(request, options);
    const { batches, report } = await run();
    const schema = resolved.includeSourceInfo ? FUNDING_SCHEMA_WITH_SOURCE : FUNDING_SCHEMA;
    return { table: new Table(schema, batches), report };
  }

  #streamFunding(
    request: FundingRateRequest,
    options?: FetchOptions,
  ): { batches: ReadableStream<RecordBatch>; report: Promise<FundingReport> } {
    const { run } = this.#runFunding(request, options);
    let resolveReport!: (r: Promise<FundingReport>) => void;
    const report = new Promise<FundingReport>((resolve) => resolveReport = resolve);
    report.catch(() => {});
    let result: ReturnType<typeof run> | undefined;
    let next = 0;
    const batches = new ReadableStream<RecordBatch>({
      async pull(controller) {
        try {
          if (!result) {
            result = run();
            resolveReport(result.then((r) => r.report));
          }
          const { batches } = await result;
          while (next < batches.length && batches[next].numRows === 0) next++;
          if (next < batches.length) controller.enqueue(batches[next++]);
          else controller.close();
        } catch (error) {
          controller.error(error);
        }
      },
      cancel(reason) {
        if (!result) resolveReport(Promise.reject(reason));
      },
    }, { highWaterMark: 0 });
    return { batches, report };
  }

  /** Stops every fetch in flight. */
  close(): Promise<void> {
    this.#closed.abort(new DOMException("The manager was closed", "AbortError"));
    this.#vision.close();
    return Promise.resolve();
  }

  /** Same as {@linkcode close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
