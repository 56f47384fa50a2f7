/**
 * A trade fetch as one stream: the days of the plan run in an ordered
 * window that holds only a few days at a time (a busy day is a million rows
 * or more), each day checked, cached when closed and complete, clipped to
 * the range and handed out as zero-copy slices of its sources' batches; the
 * id sequence of the rows returned is followed across days and its holes
 * reported.
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";
import { DataNotAvailableError, HostFailingError, NetworkError } from "../core/errors.ts";
import { datasetInfo } from "../core/dataset.ts";
import { withDataSource } from "../core/schema.ts";
import type { TradeDataset } from "../core/trade_schema.ts";
import type { Market } from "../core/market.ts";
import {
  addRestRequests,
  type FetchFailure,
  noRequests,
  type PartitionReport,
  type PartitionSource,
  type RequestCounts,
} from "./fetch_report.ts";
import {
  fetchTradeDay,
  planTradeDays,
  type TradeDayJob,
  type TradeDayOutcome,
  type TradeSources,
} from "./trade_fetch.ts";
import type { ResolvedTradeRequest } from "./trade_request.ts";
import { clipTrades, IdSequence, rowsOf, type TradeIdGap } from "./_trade_rows.ts";
import { type KlineCheckReport, KlineRebuild } from "./kline_rebuild.ts";
import { TradeMonthFeed } from "./_trade_month.ts";

export type { TradeIdGap } from "./_trade_rows.ts";
export type { KlineCheckField, KlineCheckReport, KlineMismatch } from "./kline_rebuild.ts";

/** A span of the range no source served. */
export interface TradeGap {
  /** Start, epoch ms. */
  start: number;
  /** End (exclusive), epoch ms. */
  end: number;
  /** Always `unfetched`: trades have no grid, so only what was not fetched is a gap in time. */
  class: "unfetched";
}

/** Everything known about one trade fetch. */
export interface TradeReport {
  /** The dataset. */
  dataset: TradeDataset;
  /** Market. */
  market: Market;
  /** Symbol. */
  symbol: string;
  /** First time asked for, epoch ms. */
  start: number;
  /** First time not asked for (clamped to now), epoch ms. */
  end: number;
  /** Rows returned. */
  rows: number;
  /** One entry per UTC day, in time order. */
  partitions: PartitionReport[];
  /** Days (or their part in the range) no source served. */
  gaps: TradeGap[];
  /** Holes in the id sequence of the rows returned (the first 1,000). */
  idGaps: TradeIdGap[];
  /** Holes in the id sequence, listed or not. */
  idGapCount: number;
  /** Ids missing inside the rows returned, in all. */
  missingIds: number;
  /** Why some days could not be fetched, or cached. */
  failures: FetchFailure[];
  /** True when a day (or part of one) in the range could not be fetched. */
  partial: boolean;
  /** This fetch's own requests (the klines of `compareKlines` not included). */
  requests: RequestCounts;
  /** Wall time, ms. */
  elapsedMs: number;
  /**
   * With `compareKlines`: 1m klines rebuilt from the aggTrades returned,
   * compared with the official 1m klines (absent when those could not be
   * fetched: `failures` says why).
   */
  klineCheck?: KlineCheckReport;
}

/** A started trade fetch. */
export interface TradeRun {
  /** The rows, in id order, in bounded memory. */
  batches: AsyncGenerator<RecordBatch>;
  /** The report, once the rows have all been read (rejected with the fetch's error). */
  report: Promise<TradeReport>;
}

/** Options of {@linkcode runTrades}. */
export interface TradeRunOptions {
  /** Current time, epoch ms. */
  now: number;
  /** Cancels the fetch. */
  signal: AbortSignal;
  /** Days downloaded at once, at most (fewer when days are large). */
  concurrency: number;
  /**
   * With `compareKlines`: the official 1m klines of `[start, end)` ms (of
   * the kline schema), for the check.
   */
  klines?: (start: number, end: number, signal: AbortSignal) => AsyncIterable<RecordBatch>;
}

/**
 * Rows the days in flight may hold, once a day's size is known (one day
 * always runs): a busy spot day (a million rows, ~65 MB of columns) runs
 * alone while the one before it is handed out.
 */
const MAX_ROWS_IN_FLIGHT = 1_500_000;

const PARTITION_SOURCE = { CACHE: "cache", VISION: "vision-daily", REST: "rest" } as const;

/**
 * Starts a trade fetch; nothing happens until `batches` is read.
 *
 * @param request The resolved request.
 * @param open The sources the request allows (or a function that opens
 *   them when the batches are first read).
 * @param options Clock, signal, concurrency.
 * @returns The batches and the report.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeTradeCsv } from "../codec/trade_csv.ts";
 * import { runTrades } from "./trade_run.ts";
 * const day = Date.UTC(2024, 0, 1);
 * const csv = `7,1.5,2,7,8,${day + 1000},true,True\n9,1.6,1,10,10,${day + 2000},false,True\n`;
 * async function* rows() {
 *   yield* decodeTradeCsv(new TextEncoder().encode(csv), { dataset: "aggTrades", market: "spot" });
 * }
 * const run = runTrades({
 *   dataset: "aggTrades", market: "spot", symbol: "BTCUSDT", source: "vision",
 *   start: day, end: day + 86_400_000, includeSourceInfo: true, strict: false, compareKlines: false,
 * }, {
 *   vision: () => Promise.resolve({ url: "u", bytes: 10, sha256: "0".repeat(64), batches: rows() }),
 * }, { now: day + 2 * 86_400_000, signal: new AbortController().signal, concurrency: 2 });
 * const batches = await Array.fromAsync(run.batches);
 * assert.equal(batches[0].numRows, 2);
 * const report = await run.report;
 * assert.deepEqual(report.idGaps.map((g) => [g.fromId, g.toId]), [[8, 8]]);
 * assert.deepEqual(report.partitions[0].sources, ["vision-daily"]);
 * ```
 */
export function runTrades(
  request: ResolvedTradeRequest,
  open: TradeSources | (() => Promise<TradeSources>),
  options: TradeRunOptions,
): TradeRun {
  const started = performance.now();
  const abort = new AbortController();
  const signal = AbortSignal.any([options.signal, abort.signal]);
  const schema = datasetInfo(request.dataset).schema.withSource;
  const ids = new IdSequence();
  const rebuild = request.compareKlines && options.klines
    ? new KlineRebuild(request.start, request.end)
    : undefined;
  const covered: { start: number; end: number }[] = [];
  const feeds = new Map<string, TradeMonthFeed>();
  const failures: FetchFailure[] = [];
  const errors: unknown[] = [];
  const report: TradeReport = {
    dataset: request.dataset,
    market: request.market,
    symbol: request.symbol,
    start: request.start,
    end: request.end,
    rows: 0,
    partitions: [],
    gaps: [],
    idGaps: ids.gaps,
    idGapCount: 0,
    missingIds: 0,
    failures,
    partial: false,
    requests: noRequests(),
    elapsedMs: 0,
  };
  const { promise, resolve, reject } = Promise.withResolvers<TradeReport>();
  promise.catch(() => {});

  async function* days(): AsyncGenerator<RecordBatch> {
    const sources = typeof open === "function" ? await open() : open;
    const jobs = planTradeDays(
      request,
      options.now,
      sources.store !== undefined,
      sources.visionMonth !== undefined,
    );
    const stop = () => abort.abort(new DOMException("The fetch was cancelled", "AbortError"));
    const monthArchive = sources.visionMonth;
    const months = monthArchive &&
      ((month: string) => {
        let feed = feeds.get(month);
        if (!feed) feeds.set(month, feed = new TradeMonthFeed((s) => monthArchive(month, s)));
        return feed;
      });
    const fetch = (job: TradeDayJob) => fetchTradeDay(job, sources, signal, months);
    for await (const outcome of inOrder(jobs, fetch, options.concurrency, signal, stop)) {
      const day = outcome.job;
      failures.push(...outcome.failures);
      errors.push(...outcome.errors);
      report.requests.visionFiles += outcome.requests.visionFiles;
      addRestRequests(report.requests, outcome.requests);
      const rows = outcome.rows;
      const source: PartitionSource | undefined = rows?.monthly
        ? "vision-monthly"
        : rows && PARTITION_SOURCE[rows.source];
      const entry: PartitionReport = {
        key: day.partition.key,
        sources: source ? [source] : [],
        rows: 0,
        bytes: rows?.bytes ?? 0,
        ...(rows?.sha256 ? { sha256: rows.sha256 } : {}),
        ms: outcome.ms,
        cached: false,
      };
      report.partitions.push(entry);
      if (!rows) {
        unserved(outcome);
        continue;
      }
      if (day.mayCache && rows.whole && rows.source !== "CACHE" && sources.store) {
        try {
          entry.cached = await sources.store.write(
            day.partition.key,
            rows.batches,
            rows.source,
            rows.sha256,
          );
        } catch (error) {
          if (signal.aborted) throw signal.reason;
          failures.push({
            partition: day.partition.key,
            code: (error as { code?: string }).code ?? "CACHE_ERROR",
            message: `The day was fetched but not cached: ${(error as Error).message}`,
          });
        }
      }
      const out = rows.whole
        ? clipTrades(rows.batches, day.span.start, day.span.end)
        : rows.batches;
      entry.rows = rowsOf(out);
      report.rows += entry.rows;
      covered.push(day.span);
      // Each batch is let go once handed out: a busy day's first rows can be freed while the
      // consumer reads the rest and the next day downloads.
      rows.batches = [];
      for (let batch = out.shift(); batch; batch = out.shift()) {
        ids.feed(batch);
        rebuild?.feed(batch);
        yield request.includeSourceInfo ? withDataSource(batch, rows.source, schema) : batch;
      }
    }
  }

  /** Records a day no source served: an unfetched gap and its reason. */
  function unserved(outcome: TradeDayOutcome): void {
    const day = outcome.job;
    ids.reset();
    report.gaps.push({ start: day.span.start, end: day.span.end, class: "unfetched" });
    if (outcome.failures.length > 0) return;
    const key = day.partition.key;
    const closed = day.partition.end <= options.now;
    const message = outcome.visionMissing
      ? `Vision has no ${request.dataset} archive of ${key}` +
        (request.dataset === "trades" ? " (plain trades have no REST fallback)" : "")
      : !closed && request.dataset === "trades"
      ? `${key} is not closed: Vision publishes its trades after the day, and plain trades have no REST fallback`
      : `${key} not served by the sources allowed (source "${request.source}")`;
    const code = outcome.visionMissing
      ? "NOT_PUBLISHED"
      : closed
      ? "SOURCE_NOT_ALLOWED"
      : "NOT_PUBLISHED";
    failures.push({ partition: key, code, message });
  }

  /** Fetches the official 1m klines and compares them with those rebuilt from the trades. */
  async function checkKlines(rebuild: KlineRebuild): Promise<void> {
    if (covered.length === 0) return;
    try {
      const klines = await Array.fromAsync(
        options.klines!(covered[0].start, covered.at(-1)!.end, signal),
      );
      report.klineCheck = rebuild.compare(klines, covered);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      failures.push({
        code: (error as { code?: string }).code ?? "ERROR",
        message: `The klines check could not run: ${(error as Error).message}`,
      });
    }
  }

  function complete(): void {
    report.idGapCount = ids.count;
    report.missingIds = ids.missing;
    report.partial = report.gaps.length > 0;
    report.elapsedMs = Math.round(performance.now() - started);
    const what = `${request.market} ${request.symbol} ${request.dataset}`;
    if (report.rows === 0 && errors.length > 0) throw totalFailure(what, errors);
    if (request.strict && report.partial) {
      throw new DataNotAvailableError(
        `Cannot fetch every row of ${what}: ${failures[0]?.message}`,
        {
          cause: errors[0],
        },
      );
    }
    if (report.rows === 0 && !report.partial) {
      throw new DataNotAvailableError(
        `No ${request.dataset} exist for ${request.market} ${request.symbol} from ${
          new Date(request.start).toISOString()
        } to ${new Date(request.end).toISOString()}`,
      );
    }
  }

  async function* everything(): AsyncGenerator<RecordBatch> {
    let settled = false;
    try {
      yield* days();
      if (rebuild) await checkKlines(rebuild);
      complete();
      settled = true;
      resolve(report);
    } catch (error) {
      settled = true;
      abort.abort(error);
      reject(error);
      throw error;
    } finally {
      if (!settled) {
        // The consumer left early: the fetch is cancelled, and its report says so.
        const reason = new DOMException("The fetch was cancelled", "AbortError");
        abort.abort(reason);
        reject(reason);
      }
      // Every monthly archive is let go (its temporary file removed).
      await Promise.allSettled([...feeds.values()].map((f) => f.close()));
    }
  }
  return { batches: everything(), report: promise };
}

/**
 * Runs the days with a bounded look-ahead and yields them in order: one
 * day is always in flight (while the one before is handed out); more (up
 * to `concurrency`) while the days seen so far say they fit in
 * {@linkcode MAX_ROWS_IN_FLIGHT} rows. Left early,
 * it calls `stop` (which aborts `signal`) and waits for the days in flight.
 */
async function* inOrder(
  jobs: readonly TradeDayJob[],
  fetch: (job: TradeDayJob) => Promise<TradeDayOutcome>,
  concurrency: number,
  signal: AbortSignal,
  stop: () => void,
): AsyncGenerator<TradeDayOutcome> {
  const window: Promise<TradeDayOutcome>[] = [];
  let next = 0;
  let rowsPerDay = Infinity;
  const fill = () => {
    while (next < jobs.length && window.length < concurrency) {
      const fits = (window.length + 1) * rowsPerDay <= MAX_ROWS_IN_FLIGHT;
      if (window.length >= 1 && !fits) return;
      const day = fetch(jobs[next++]);
      day.catch(() => {});
      window.push(day);
    }
  };
  try {
    fill();
    while (window.length > 0) {
      const outcome = await window.shift()!;
      signal.throwIfAborted();
      if (outcome.rows) {
        rowsPerDay = rowsPerDay === Infinity
          ? outcome.rows.rows
          : Math.max(outcome.rows.rows, rowsPerDay / 2);
      }
      fill();
      yield outcome;
    }
  } finally {
    // Left early (an error, a consumer's break): stop the days in flight, and wait for them.
    if (window.length > 0) stop();
    await Promise.allSettled(window);
  }
}

function totalFailure(what: string, errors: unknown[]): Error {
  const first = errors.find((e) => e instanceof NetworkError) ?? errors[0];
  if (first instanceof NetworkError) {
    const why = first instanceof HostFailingError
      ? "the sources kept failing"
      : "no source could be reached";
    return new NetworkError(
      first.url,
      `Cannot fetch any row of ${what}: ${why} (${first.message})`,
      {
        cause: first,
      },
    );
  }
  return first instanceof Error ? first : new DataNotAvailableError(String(first));
}
