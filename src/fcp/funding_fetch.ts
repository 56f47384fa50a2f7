/**
 * One funding rate fetch: a plan of one job per calendar month with its
 * ordered source chain (cache → Vision's monthly archive → REST), the jobs
 * run in the fetch window every dataset shares (`_fetch_window.ts`), each
 * walked with the layers' own clients and counting its own requests, then
 * the series rules (intervals, gaps, interval changes) over the whole range,
 * and the cache writes of the closed months that were fetched.
 *
 * A month of funding events is a few hundred rows at most, so the run
 * collects its months before it finalizes: an event's interval is judged
 * from its neighbours, which may lie in the next month.
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";
import { DataNotAvailableError, NetworkError } from "../core/errors.ts";
import {
  concatFunding,
  fundingBatch,
  type FundingColumns,
  fundingColumnsOf,
} from "../core/funding_schema.ts";
import { partitionOf } from "../core/partition.ts";
import type { PartitionJob, SourceStep } from "./fetch_plan.ts";
import { fetchInOrder } from "./_fetch_window.ts";
import { type DataSource, dataSourceCode } from "../core/schema.ts";
import { decodeFundingCsv } from "../codec/funding_csv.ts";
import { newRestStats, type RestClient } from "../source/rest_client.ts";
import type { VisionClient } from "../source/vision_client.ts";
import type { FundingStore } from "../cache/fs_funding_store.ts";
import {
  failureOf,
  type FetchFailure,
  noRequests,
  type PartitionReport,
  type PartitionSource,
  type RequestCounts,
} from "./fetch_report.ts";
import type { ResolvedFundingRequest } from "./funding_request.ts";
import {
  deriveFundingIntervals,
  type FundingGap,
  fundingGaps,
  type FundingIntervalChange,
  fundingIntervalChanges,
} from "./funding_series.ts";

/** Everything known about one funding rate fetch. */
export interface FundingReport {
  /** The dataset. */
  dataset: "fundingRate";
  /** Market. */
  market: "um" | "cm";
  /** Symbol. */
  symbol: string;
  /** First funding time asked for, epoch ms. */
  start: number;
  /** First funding time not asked for (clamped to now), epoch ms. */
  end: number;
  /** Events returned. */
  rows: number;
  /** One entry per month, in time order. */
  partitions: PartitionReport[];
  /** Missing events: between printed ones (`exchange`), or months no source served (`unfetched`). */
  gaps: FundingGap[];
  /** Changes of the funding interval inside the range. */
  intervalChanges: FundingIntervalChange[];
  /** Events returned whose interval was derived from their spacing (REST does not print it). */
  derivedIntervals: number;
  /** Why some months could not be fetched, or were left out. */
  failures: FetchFailure[];
  /** True when a month could not be fetched. */
  partial: boolean;
  /** This fetch's own requests. */
  requests: RequestCounts;
  /** Wall time, ms. */
  elapsedMs: number;
}

/** The sources of a funding fetch: the layers' own clients. */
export interface FundingSources {
  /** The cache, when enabled (and allowed by the request). */
  store?: FundingStore;
  /** Vision's archives, when allowed. */
  vision?: VisionClient;
  /** REST of the request's market, when allowed. */
  rest?: RestClient;
}

/**
 * The plan: one job per calendar month of the range, of the same shape as
 * a kline partition's. Closed months try the cache, then Vision's monthly
 * archive, then REST; the current month comes from REST (Vision publishes
 * it after it closes). `source` narrows the chain. A job's span is the whole
 * month (up to now): intervals are derived from the spacing of neighbours.
 *
 * @param request The resolved request.
 * @param now Current time, epoch ms.
 * @param cache Whether a cache is enabled.
 * @returns Jobs in time order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { planFunding } from "./funding_fetch.ts";
 * const jobs = planFunding({
 *   dataset: "fundingRate", market: "um", symbol: "BTCUSDT", source: "auto",
 *   start: Date.UTC(2024, 11, 20), end: Date.UTC(2025, 0, 10),
 *   includeSourceInfo: true, strict: false,
 * }, Date.UTC(2025, 0, 10), true);
 * assert.deepEqual(jobs.map((j) => [j.partition.key, j.chain.map((s) => s.kind), j.mayCache]), [
 *   ["2024-12", ["cache", "vision", "rest"], true],
 *   ["2025-01", ["rest"], false],
 * ]);
 * ```
 */
export function planFunding(
  request: ResolvedFundingRequest,
  now: number,
  cache: boolean,
): PartitionJob[] {
  const jobs: PartitionJob[] = [];
  const mode = request.source;
  for (let t = request.start; t < request.end;) {
    const month = partitionOf(t, "month");
    const closed = month.end <= now;
    const span = { start: month.start, end: Math.min(month.end, now) };
    const chain: SourceStep[] = [];
    if (cache && closed && (mode === "auto" || mode === "cache")) chain.push({ kind: "cache" });
    if (closed && (mode === "auto" || mode === "vision")) {
      chain.push({
        kind: "vision",
        period: "monthly",
        archive: month.key,
        listed: undefined,
        sharedBy: 1,
      });
    }
    if (mode === "auto" || mode === "rest") chain.push({ kind: "rest", span, sharedBy: 1 });
    jobs.push({ partition: month, span, chain, mayCache: cache && closed && mode !== "cache" });
    t = month.end;
  }
  return jobs;
}

/** A month's events from one source. */
interface MonthRows {
  columns: FundingColumns;
  length: number;
  source: DataSource;
  /** The Vision digest the events were verified against (for a cached month: when written). */
  sha256?: string;
  /** Bytes of the Vision archive downloaded. */
  bytes?: number;
}

/** How each source is named in a partition's report (funding archives are monthly). */
const PARTITION_SOURCE: Record<DataSource, PartitionSource> = {
  CACHE: "cache",
  VISION: "vision-monthly",
  REST: "rest",
};

/** What one job produced. */
interface JobOutcome {
  job: PartitionJob;
  rows?: MonthRows;
  /** Wall time of the job, ms. */
  ms: number;
  failures: FetchFailure[];
  errors: unknown[];
}

function columnsOf(batches: readonly RecordBatch[]): { columns: FundingColumns; length: number } {
  return concatFunding(batches.map((b) => ({ columns: fundingColumnsOf(b), length: b.numRows })));
}

/** The month's verified Vision archive, decoded; undefined when it is not published. */
async function visionMonth(
  request: ResolvedFundingRequest,
  job: PartitionJob,
  vision: VisionClient,
  counts: RequestCounts,
  signal: AbortSignal,
): Promise<MonthRows | undefined> {
  const file = await vision.fetchEventArchive({
    market: request.market,
    dataset: "fundingRate",
    symbol: request.symbol,
    period: "monthly",
    date: job.partition.key,
    signal,
  });
  if (file.status === "missing") return undefined;
  counts.visionFiles++;
  const rows = columnsOf(decodeFundingCsv(file.csv, { file: file.url }));
  const outside = Array.from(rows.columns.fundingTime.subarray(0, rows.length))
    .find((t) => t < job.partition.start || t >= job.partition.end);
  if (outside !== undefined) {
    throw new NetworkError(
      file.url,
      `Cannot use ${file.url}: funding time ${outside} lies outside ${job.partition.key}`,
    );
  }
  return { ...rows, source: "VISION", sha256: file.sha256, bytes: file.bytes };
}

/** Runs a job and times it. */
async function fetchMonth(
  request: ResolvedFundingRequest,
  job: PartitionJob,
  sources: FundingSources,
  counts: RequestCounts,
  signal: AbortSignal,
): Promise<JobOutcome> {
  const started = performance.now();
  const out: JobOutcome = { job, failures: [], errors: [], ms: 0 };
  try {
    await walkMonth(request, job, sources, counts, signal, out);
  } finally {
    out.ms = Math.round((performance.now() - started) * 10) / 10;
  }
  return out;
}

/**
 * Walks a job's chain until a source serves the month. A month cached from
 * REST is upgraded when Vision now has its archive (the cached rows serve
 * if it has not, or fails).
 */
async function walkMonth(
  request: ResolvedFundingRequest,
  job: PartitionJob,
  sources: FundingSources,
  counts: RequestCounts,
  signal: AbortSignal,
  out: JobOutcome,
): Promise<void> {
  const key = { market: request.market, symbol: request.symbol, partition: job.partition.key };
  for (const step of job.chain) {
    try {
      if (step.kind === "cache" && sources.store) {
        const hit = await sources.store.read(key);
        if (!hit) continue;
        const upgradable = job.chain.some((s) => s.kind === "vision");
        if (hit.metadata.source === "REST" && sources.vision && upgradable) {
          const upgrade = await visionMonth(request, job, sources.vision, counts, signal)
            .catch(() => {
              if (signal.aborted) throw signal.reason;
              return undefined; // the cached REST rows serve
            });
          if (upgrade) {
            out.rows = upgrade;
            return;
          }
        }
        const sha256 = hit.metadata.visionSha256;
        out.rows = { ...columnsOf(hit.batches), source: "CACHE", ...(sha256 ? { sha256 } : {}) };
        return;
      }
      if (step.kind === "vision" && sources.vision) {
        const rows = await visionMonth(request, job, sources.vision, counts, signal);
        if (!rows) continue;
        out.rows = rows;
        return;
      }
      if (step.kind === "rest" && sources.rest) {
        // This walk's own counts, failed requests included.
        const stats = newRestStats();
        try {
          const got = await sources.rest.fundingRates({
            symbol: request.symbol,
            start: job.span.start,
            end: job.span.end,
            signal,
            stats,
          });
          out.rows = { columns: got.columns, length: got.length, source: "REST" };
          return;
        } finally {
          counts.restCalls += stats.responses;
          counts.restWeight += stats.responseWeight;
        }
      }
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      out.failures.push(failureOf(error, job.partition.key));
      out.errors.push(error);
    }
  }
  return;
}

/** Months fetched at once. */
const CONCURRENCY = 4;

/**
 * Runs a funding fetch: every month of the plan, the series rules, the cache
 * writes, and the report.
 *
 * @param request The resolved request.
 * @param sources The clients the request allows.
 * @param options Clock and signal.
 * @returns The batches of {@linkcode FUNDING_SCHEMA} (with `_data_source`
 *   when asked) and the report.
 * @throws {NetworkError | HttpError | ...} When no month could be fetched
 *   because the sources failed (the first error).
 * @throws {DataNotAvailableError} In strict mode when a month could not be
 *   fetched, or when no month of the range holds any event (before listing).
 */
export async function fetchFundingRates(
  request: ResolvedFundingRequest,
  sources: FundingSources,
  options: { now: number; signal: AbortSignal },
): Promise<{ batches: RecordBatch[]; report: FundingReport }> {
  const started = performance.now();
  const { now, signal } = options;
  const counts = noRequests();
  const jobs = planFunding(request, now, sources.store !== undefined);
  // A month is a few hundred events: the window is bounded by downloads alone.
  const outcomes = await Array.fromAsync(fetchInOrder(
    jobs,
    (job) => fetchMonth(request, job, sources, counts, signal),
    { concurrency: CONCURRENCY, rows: () => 0 },
    signal,
  ));

  const served = outcomes.filter((o) => o.rows !== undefined);
  const all = concatFunding(served.map((o) => o.rows!));
  const codes = new Int8Array(all.length);
  let at = 0;
  for (const o of served) {
    codes.fill(dataSourceCode(o.rows!.source), at, at + o.rows!.length);
    at += o.rows!.length;
  }
  const printedHours = all.columns.fundingIntervalHoursValid.slice();
  deriveFundingIntervals(all.columns, all.length);
  const times = all.columns.fundingTime;
  let lo = 0;
  while (lo < all.length && times[lo] < request.start) lo++;
  let hi = lo;
  while (hi < all.length && times[hi] < request.end) hi++;
  // Events returned whose interval was derived, not printed.
  let derivedIntervals = 0;
  for (let i = lo; i < hi; i++) {
    const bit = 1 << (i & 7);
    if (!(printedHours[i >>> 3] & bit) && all.columns.fundingIntervalHoursValid[i >>> 3] & bit) {
      derivedIntervals++;
    }
  }
  const inRange = (t: number) => t >= request.start && t < request.end;
  const gaps: FundingGap[] = fundingGaps(all.columns, all.length)
    .filter((g) => g.end > request.start && g.start < request.end);
  const failures: FetchFailure[] = [];
  const errors: unknown[] = [];
  const partitions: PartitionReport[] = [];
  for (const o of outcomes) {
    const month = o.job.partition;
    failures.push(...o.failures);
    errors.push(...o.errors);
    let rows = 0;
    if (o.rows) {
      const t = o.rows.columns.fundingTime;
      for (let i = 0; i < o.rows.length; i++) if (inRange(t[i])) rows++;
    } else {
      gaps.push({
        start: Math.max(month.start, request.start),
        end: Math.min(month.end, request.end),
        class: "unfetched",
      });
      if (o.failures.length === 0) {
        failures.push({
          partition: month.key,
          code: "SOURCE_NOT_ALLOWED",
          message: `${month.key} not served by the sources allowed (source "${request.source}")`,
        });
      }
    }
    partitions.push({
      key: month.key,
      sources: o.rows ? [PARTITION_SOURCE[o.rows.source]] : [],
      rows,
      bytes: o.rows?.bytes ?? 0,
      ...(o.rows?.sha256 ? { sha256: o.rows.sha256 } : {}),
      ms: o.ms,
      cached: false,
    });
  }
  // Between the events around a month no source served, nothing is known: no exchange gap there.
  const unfetched = gaps.filter((g) => g.class === "unfetched");
  const known = gaps.filter((g) =>
    g.class === "unfetched" || !unfetched.some((u) => u.start < g.end && g.start < u.end)
  );
  gaps.splice(0, gaps.length, ...known.sort((a, b) => a.start - b.start));

  // Closed months fetched from Vision (verified) or REST (complete by construction) are cached as printed.
  if (sources.store) {
    await Promise.all(outcomes.map(async (o, i) => {
      const rows = o.rows;
      if (!o.job.mayCache || !rows || rows.source === "CACHE") return;
      try {
        partitions[i].cached = await sources.store!.write(
          { market: request.market, symbol: request.symbol, partition: o.job.partition.key },
          [fundingBatch(printed(rows), rows.length)],
          { source: rows.source === "VISION" ? "VISION" : "REST", visionSha256: rows.sha256 },
        );
      } catch (error) {
        failures.push(failureOf(error, o.job.partition.key));
      }
    }));
  }

  const partial = gaps.some((g) => g.class === "unfetched");
  const report: FundingReport = {
    dataset: "fundingRate",
    market: request.market as "um" | "cm",
    symbol: request.symbol,
    start: request.start,
    end: request.end,
    rows: hi - lo,
    partitions,
    gaps,
    intervalChanges: fundingIntervalChanges(all.columns, all.length)
      .filter((c) => inRange(c.time)),
    derivedIntervals,
    failures,
    partial,
    requests: counts,
    elapsedMs: Math.round(performance.now() - started),
  };
  if (served.length === 0 && errors.length > 0) {
    const first = errors.find((e) => e instanceof NetworkError) ?? errors[0];
    throw first instanceof Error ? first : new DataNotAvailableError(String(first));
  }
  if (request.strict && partial) {
    throw new DataNotAvailableError(
      `Cannot fetch every funding rate of ${request.symbol}: ${failures[0]?.message}`,
      { cause: errors[0] },
    );
  }
  if (all.length === 0 && !partial) {
    throw new DataNotAvailableError(
      `No funding rates exist for ${request.market} ${request.symbol} from ${
        new Date(request.start).toISOString()
      } to ${new Date(request.end).toISOString()}`,
    );
  }
  const clipped = concatFunding([{ columns: all.columns, start: lo, length: hi - lo }]).columns;
  const batch = fundingBatch(
    clipped,
    hi - lo,
    request.includeSourceInfo ? codes.subarray(lo, hi) : undefined,
  );
  return { batches: [batch], report };
}

/** The month's rows as its source printed them: intervals REST does not print stay null. */
function printed(rows: MonthRows): FundingColumns {
  if (rows.source !== "REST") return rows.columns;
  return {
    ...rows.columns,
    fundingIntervalHoursValid: new Uint8Array(rows.columns.fundingIntervalHoursValid.length),
  };
}
