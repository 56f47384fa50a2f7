/**
 * One day of a trade fetch: the plan (one job per UTC day with its ordered
 * source chain: cache → Vision's daily archive → REST for aggTrades) and the
 * walk of a job's chain with the sources the fetch was given.
 *
 * A busy day is a million rows or more, so a day is the unit everything
 * works in: it is downloaded, verified, checked and cached whole, and the
 * run (`trade_run.ts`) holds only a few days at a time.
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";
import { type Partition, partitionOf } from "../core/partition.ts";
import type { DataSource } from "../core/schema.ts";
import { failureOf, type FetchFailure, noRequests, type RequestCounts } from "./fetch_report.ts";
import type { ResolvedTradeRequest } from "./trade_request.ts";
import { checkTradeDay, rowsOf } from "./_trade_rows.ts";
import type { TradeMonthFeed } from "./_trade_month.ts";

/** A Vision archive whose SHA-256 matched its `.CHECKSUM`, with its rows. */
export interface VerifiedTradeArchive {
  /** The archive's URL. */
  url: string;
  /** Its size, bytes. */
  bytes: number;
  /** Its SHA-256 (hex). */
  sha256: string;
  /** Its rows, decoded as they are read. */
  batches: AsyncIterable<RecordBatch>;
}

/** A day read back from the cache. */
export interface CachedTradeDay {
  /** The day's rows. */
  batches: RecordBatch[];
  /** Where the cached rows came from. */
  source: "VISION" | "REST";
  /** The Vision digest they were verified against. */
  sha256?: string;
}

/** The sources of a trade fetch, bound to its market, dataset and symbol. */
export interface TradeSources {
  /** The cache, when enabled (and allowed by the request). */
  store?: {
    read(day: string): Promise<CachedTradeDay | undefined>;
    /** Resolves false when the day was not written (a read-only cache). */
    write(
      day: string,
      batches: readonly RecordBatch[],
      source: "VISION" | "REST",
      sha256?: string,
    ): Promise<boolean>;
  };
  /** A day's verified Vision archive; undefined when it is not published. */
  vision?: (day: string, signal: AbortSignal) => Promise<VerifiedTradeArchive | undefined>;
  /**
   * A month's verified Vision archive (`YYYY-MM`), spooled outside memory;
   * undefined when it is not published. Without it, days use their daily
   * archives.
   */
  visionMonth?: (month: string, signal: AbortSignal) => Promise<VerifiedTradeArchive | undefined>;
  /** aggTrades over REST with time in `[start, end)` ms, counting its requests. */
  rest?: (
    span: { start: number; end: number },
    signal: AbortSignal,
    counts: RequestCounts,
  ) => AsyncIterable<RecordBatch>;
}

/**
 * How far back the futures aggTrades endpoints answer: Binance documents
 * that they serve trade history "not older than one year" (an older window
 * answers `[]`, which must not pass for a day without trades).
 */
const FUTURES_REST_HISTORY_MS = 365 * 86_400_000;

/** One step of a day's chain (`vision-monthly`: the month's archive, shared by its days). */
export type TradeStep = "cache" | "vision-monthly" | "vision" | "rest";

/** One day of the plan. */
export interface TradeDayJob {
  /** The UTC day. */
  partition: Partition;
  /** The part of the day in the range, ms. */
  span: { start: number; end: number };
  /** Sources to try, in order. */
  chain: TradeStep[];
  /** Whether the day may be written to the cache (closed, cache on, not `source: "cache"`). */
  mayCache: boolean;
}

/**
 * The plan: one job per UTC day of the range. A closed day tries the
 * cache, then Vision's daily archive, then (aggTrades only) REST; the days
 * of a closed month wholly in the range try the month's archive (one
 * download for the month) before their daily ones when `monthly`; the
 * current day comes from REST (Vision publishes a day after it closes);
 * futures REST serves the last year only, so older futures days have no
 * REST step;
 * `source` narrows the chain. Plain trades have no REST fallback, so a day
 * Vision lacks has an empty chain's end and is reported unfetched.
 *
 * @param request The resolved request.
 * @param now Current time, epoch ms.
 * @param cache Whether a cache is enabled.
 * @param monthly Whether monthly archives may be used (they are spooled to
 *   the cache's folder).
 * @returns Jobs in time order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { planTradeDays } from "./trade_fetch.ts";
 * const now = Date.UTC(2025, 0, 2, 12);
 * const request = {
 *   dataset: "aggTrades" as const, market: "spot" as const, symbol: "BTCUSDT", source: "auto" as const,
 *   start: Date.UTC(2024, 11, 31, 20), end: now, includeSourceInfo: true, strict: false,
 *   compareKlines: false,
 * };
 * const jobs = planTradeDays(request, now, true);
 * assert.deepEqual(jobs.map((j) => [j.partition.key, j.chain, j.mayCache]), [
 *   ["2024-12-31", ["cache", "vision", "rest"], true],
 *   ["2025-01-01", ["cache", "vision", "rest"], true],
 *   ["2025-01-02", ["rest"], false],
 * ]);
 * const month = planTradeDays({ ...request, start: Date.UTC(2024, 11, 1) }, now, true, true);
 * assert.deepEqual(month[0].chain, ["cache", "vision-monthly", "vision", "rest"]);
 * assert.deepEqual(month[31].chain, ["cache", "vision", "rest"]);
 * assert.deepEqual(planTradeDays({ ...request, dataset: "trades" }, now, false)[2].chain, []);
 * const old = { ...request, market: "um" as const, start: Date.UTC(2023, 0, 1), end: Date.UTC(2023, 0, 2) };
 * assert.deepEqual(planTradeDays(old, now, false)[0].chain, ["vision"]);
 * ```
 */
export function planTradeDays(
  request: ResolvedTradeRequest,
  now: number,
  cache: boolean,
  monthly = false,
): TradeDayJob[] {
  const jobs: TradeDayJob[] = [];
  const mode = request.source;
  for (let t = request.start; t < request.end;) {
    const day = partitionOf(t, "day");
    const month = partitionOf(t, "month");
    const closed = day.end <= now;
    const wholeMonth = month.start >= request.start && month.end <= Math.min(request.end, now);
    const chain: TradeStep[] = [];
    if (cache && closed && (mode === "auto" || mode === "cache")) chain.push("cache");
    if (monthly && wholeMonth && (mode === "auto" || mode === "vision")) {
      chain.push("vision-monthly");
    }
    if (closed && (mode === "auto" || mode === "vision")) chain.push("vision");
    const span = { start: Math.max(day.start, request.start), end: Math.min(day.end, request.end) };
    const restReaches = request.market === "spot" || span.start >= now - FUTURES_REST_HISTORY_MS;
    if (request.dataset === "aggTrades" && restReaches && (mode === "auto" || mode === "rest")) {
      chain.push("rest");
    }
    jobs.push({ partition: day, span, chain, mayCache: cache && closed && mode !== "cache" });
    t = day.end;
  }
  return jobs;
}

/** A day's rows from one source. */
export interface TradeDayRows {
  /** The rows: the whole day, or (from REST) the day's span. */
  batches: RecordBatch[];
  /** Rows in `batches`. */
  rows: number;
  /** Where they came from. */
  source: DataSource;
  /** Whether they are the whole day. */
  whole: boolean;
  /** The Vision digest (for a cached day: when it was written). */
  sha256?: string;
  /** Bytes of the Vision archive downloaded. */
  bytes: number;
  /** For a cached day, where the cached rows came from. */
  cachedFrom?: "VISION" | "REST";
  /** Whether the rows came from the month's archive. */
  monthly?: boolean;
}

/** What one day's walk produced. */
export interface TradeDayOutcome {
  job: TradeDayJob;
  /** The rows, unless no source served the day. */
  rows?: TradeDayRows;
  /** Vision had no archive of the day. */
  visionMissing: boolean;
  /** Wall time, ms. */
  ms: number;
  failures: FetchFailure[];
  errors: unknown[];
  /** The day's own requests. */
  requests: RequestCounts;
}

async function collect(batches: AsyncIterable<RecordBatch>): Promise<RecordBatch[]> {
  const out: RecordBatch[] = [];
  for await (const batch of batches) if (batch.numRows > 0) out.push(batch);
  return out;
}

async function visionDay(
  job: TradeDayJob,
  vision: NonNullable<TradeSources["vision"]>,
  out: TradeDayOutcome,
  signal: AbortSignal,
): Promise<TradeDayRows | undefined> {
  const archive = await vision(job.partition.key, signal);
  if (!archive) {
    out.visionMissing = true;
    return undefined;
  }
  out.requests.visionFiles++;
  const batches = await collect(archive.batches);
  checkTradeDay(batches, job.partition, archive.url);
  return {
    batches,
    rows: rowsOf(batches),
    source: "VISION",
    whole: true,
    sha256: archive.sha256,
    bytes: archive.bytes,
  };
}

/**
 * Walks a day's chain until a source serves it. A day cached from REST is
 * upgraded when Vision now has its archive (the cached rows serve if it has
 * not, or fails). Failures are recorded and the next source is tried.
 *
 * @param job The day.
 * @param sources The sources.
 * @param signal Cancels the walk.
 * @param months The monthly archive feed of a month (`YYYY-MM`), shared by its days.
 * @returns What the walk produced.
 */
export async function fetchTradeDay(
  job: TradeDayJob,
  sources: TradeSources,
  signal: AbortSignal,
  months?: (month: string) => TradeMonthFeed | undefined,
): Promise<TradeDayOutcome> {
  const started = performance.now();
  const out: TradeDayOutcome = {
    job,
    visionMissing: false,
    ms: 0,
    failures: [],
    errors: [],
    requests: noRequests(),
  };
  const key = job.partition.key;
  for (const step of job.chain) {
    try {
      if (step === "cache" && sources.store) {
        const hit = await sources.store.read(key);
        if (!hit) continue;
        if (hit.source === "REST" && sources.vision && job.chain.includes("vision")) {
          const upgrade = await visionDay(job, sources.vision, out, signal).catch(() => {
            if (signal.aborted) throw signal.reason;
            return undefined; // the cached REST rows serve
          });
          if (upgrade) {
            out.rows = upgrade;
            break;
          }
        }
        const rows = rowsOf(hit.batches);
        out.rows = {
          batches: hit.batches,
          rows,
          source: "CACHE",
          whole: true,
          bytes: 0,
          cachedFrom: hit.source,
          ...(hit.sha256 ? { sha256: hit.sha256 } : {}),
        };
        break;
      }
      if (step === "vision-monthly") {
        const feed = months?.(key.slice(0, 7));
        const got = await feed?.day(key, signal);
        if (!got) continue;
        if (got.first) out.requests.visionFiles++;
        checkTradeDay(got.batches, job.partition, got.url);
        out.rows = {
          batches: got.batches,
          rows: rowsOf(got.batches),
          source: "VISION",
          whole: true,
          sha256: got.sha256,
          bytes: got.first ? got.bytes : 0,
          monthly: true,
        };
        break;
      }
      if (step === "vision" && sources.vision) {
        const rows = await visionDay(job, sources.vision, out, signal);
        if (!rows) continue;
        out.rows = rows;
        break;
      }
      if (step === "rest" && sources.rest) {
        const batches = await collect(sources.rest(job.span, signal, out.requests));
        const whole = job.span.start === job.partition.start && job.span.end === job.partition.end;
        checkTradeDay(batches, job.partition, "REST aggTrades");
        out.rows = { batches, rows: rowsOf(batches), source: "REST", whole, bytes: 0 };
        break;
      }
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      out.failures.push(failureOf(error, key));
      out.errors.push(error);
    }
  }
  out.ms = Math.round((performance.now() - started) * 10) / 10;
  return out;
}
