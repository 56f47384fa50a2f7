/**
 * One kline fetch as one stream: the plan's jobs fetched in an ordered
 * window (`_fetch_window.ts`), each partition finalized in order (merge,
 * checks, gaps, report, cache write), and the report completed at the end
 * (edges, partial or failed).
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";
import {
  DataNotAvailableError,
  HostFailingError,
  HostUnreachableError,
  NetworkError,
} from "../core/errors.ts";
import type { ResolvedRequest } from "./kline_request.ts";
import type { Partition } from "../core/partition.ts";
import {
  addRestRequests,
  type FetchFailure,
  type FetchReport,
  noRequests,
} from "./fetch_report.ts";
import { edgeCandidates, markNotListed } from "./_gap_report.ts";
import { CacheWriter } from "./_cache_writer.ts";
import { confirmLeadingEdge, confirmTrailingEdge, type EdgeProbeContext } from "./_edge_probe.ts";
import { type FetchedPartition, fetchPartition } from "./fetch_partition.ts";
import type { PartitionJob } from "./fetch_plan.ts";
import { intervalMs } from "../core/interval.ts";
import { archivesPlanned, fetchInOrder, planJobs } from "./_fetch_window.ts";
import type { VisionArchives } from "./vision_archives.ts";
import type { RestClient } from "../source/rest_client.ts";
import type { KlineStore } from "../cache/kline_store.ts";
import { PartitionFinalizer } from "./_partition_finalizer.ts";

/** Progress of a fetch. */
export interface FetchProgress {
  /** Partitions finished. */
  partitionsDone: number;
  /** Partitions in the request. */
  partitionsTotal: number;
  /** Vision archives downloaded. */
  files: number;
  /** Bytes downloaded. */
  bytes: number;
  /** Rows emitted. */
  rows: number;
}

/** What a fetch runs on. */
export interface FetchDeps {
  /**
   * The cache (a disabled one when there is none), or how to open it: it is
   * then opened when the stream is first read.
   */
  cache: KlineStore | (() => Promise<KlineStore>);
  /** Vision. */
  vision: VisionArchives;
  /** REST. */
  rest: RestClient;
  /** Current time. */
  now: number;
  /** Units run at once. */
  concurrency: number;
  /** Cancels the fetch. */
  signal: AbortSignal;
  /** Progress callback. */
  onProgress?: (progress: FetchProgress) => void;
  /** Rows the look-ahead may hold (a stream holds fewer than a table). @default {400000} */
  rowsInFlight?: number;
}

/**
 * A running fetch: one pipeline of batches, read either directly (a whole
 * table) or through its stream (`stream()`), not both.
 */
export interface FetchRun {
  /** The rows, partition by partition, in time order. */
  batches: AsyncGenerator<RecordBatch>;
  /**
   * The same rows as a ReadableStream whose cancel stops every download (a
   * stream's first use in a process costs a few ms, which a table fetch
   * reading `batches` does not pay).
   */
  stream(): ReadableStream<RecordBatch>;
  /** The report, resolved when the rows are done. */
  report: Promise<FetchReport>;
}

function newReport(request: ResolvedRequest): FetchReport {
  return {
    ...(request.dataset ? { dataset: request.dataset } : {}),
    market: request.market,
    symbol: request.symbol,
    interval: request.interval,
    start: request.start,
    end: request.end,
    rows: 0,
    partitions: [],
    gaps: [],
    anomalies: [],
    anomalyCount: 0,
    failures: [],
    partial: false,
    requests: noRequests(),
    elapsedMs: 0,
  };
}

/**
 * Starts a fetch of a resolved request.
 *
 * @param request The resolved request.
 * @param deps Sources, clock, limits.
 * @returns The batch stream and the report.
 */
export function runFetch(request: ResolvedRequest, deps: FetchDeps): FetchRun {
  const started = performance.now();
  const abort = new AbortController();
  const signal = AbortSignal.any([deps.signal, abort.signal]);
  const report = newReport(request);
  const { failures } = report;
  const progress: FetchProgress = {
    partitionsDone: 0,
    partitionsTotal: 0,
    files: 0,
    bytes: 0,
    rows: 0,
  };
  const mode = request.source;
  const vision = mode === "auto" || mode === "vision" ? deps.vision : undefined;
  const rest = mode === "auto" || mode === "rest" ? deps.rest : undefined;
  const edges: EdgeProbeContext = { request, rest, signal, requests: report.requests };
  const errors: unknown[] = [];
  const notAllowed: Partition[] = [];
  let writer: CacheWriter | undefined;
  let finalizer!: PartitionFinalizer;
  let leadingProbe: Promise<boolean> | undefined;

  /** Adds a partition's failures, errors and requests to the fetch's. */
  function account(fetched: FetchedPartition): void {
    errors.push(...fetched.errors);
    // A host that cannot be reached fails every request alike: said once.
    const unreachable = new Set(
      fetched.errors.filter((e) => e instanceof HostUnreachableError).map((e) => e.message),
    );
    for (const failure of fetched.failures) {
      const said = unreachable.has(failure.message) &&
        failures.some((f) => f.code === failure.code && f.message === failure.message);
      if (!said) failures.push(failure);
    }
    addRestRequests(report.requests, fetched.requests);
    progress.files += fetched.files.count;
    progress.bytes += fetched.files.bytes;
    if (fetched.notAllowed) notAllowed.push(fetched.job.partition);
  }

  async function* generate(): AsyncGenerator<RecordBatch> {
    const store = typeof deps.cache === "function" ? await deps.cache() : deps.cache;
    writer = new CacheWriter(store, request, failures);
    finalizer = new PartitionFinalizer(request, { report, progress, writer });
    const planned = await planJobs(
      request,
      store,
      { now: deps.now, vision, rest, signal },
      report.requests,
    );
    failures.push(...planned.failures);
    progress.partitionsTotal = planned.jobs.length;
    progress.files += planned.discarded.count;
    progress.bytes += planned.discarded.bytes;
    vision?.prepare(archivesPlanned(planned.jobs));
    const slot = intervalMs(request.interval);
    const limits = {
      concurrency: deps.concurrency,
      rows: (job: PartitionJob) => (job.span.end - job.span.start) / slot,
      maxRows: deps.rowsInFlight,
    };
    const fetch = (job: PartitionJob) => fetchPartition(job, planned.sources, signal);
    for await (const fetched of fetchInOrder(planned.jobs, fetch, limits, signal)) {
      account(fetched);
      const batches = await finalizer.finalize(fetched);
      progress.partitionsDone++;
      deps.onProgress?.({ ...progress });
      // The hole before the first row is known once that row is: probe the listing edge now.
      if (!leadingProbe && finalizer.first < Infinity) {
        leadingProbe = edgeCandidates(report.gaps, request, finalizer).leading
          ? confirmLeadingEdge(edges)
          : Promise.resolve(false);
        leadingProbe.catch(() => {});
      }
      for (const batch of batches) if (batch.numRows > 0) yield batch;
    }
  }

  async function complete(): Promise<void> {
    await writer!.settled();
    const candidates = report.rows > 0
      ? edgeCandidates(report.gaps, request, finalizer)
      : { leading: false, trailing: false };
    const confirmed = {
      leading: candidates.leading && await (leadingProbe ??= confirmLeadingEdge(edges)),
      trailing: candidates.trailing && await confirmTrailingEdge(edges, report.gaps),
    };
    markNotListed(report.gaps, request, finalizer, confirmed);
    report.partial = report.gaps.some((g) => g.class === "unfetched");
    if (notAllowed.length > 0) failures.push(notAllowedFailure(request, notAllowed));
    if (report.partial && failures.length === 0) {
      // Never a partial result without a reason.
      const slots = report.gaps.reduce((n, g) => n + (g.class === "unfetched" ? g.slots : 0), 0);
      failures.push({ code: "UNFETCHED", message: `${slots} slots could not be fetched` });
    }
    report.requests.visionFiles = progress.files;
    report.elapsedMs = Math.round(performance.now() - started);
    const offGrid = report.gaps.some((g) => g.class === "off_grid");
    // Nothing could be fetched because the sources failed: an error, not an empty table.
    if (report.rows === 0 && report.partial && !offGrid && errors.length > 0) {
      throw totalFailure(request, errors);
    }
    if (request.strict && report.partial) {
      const why = failures[0]?.message ?? "a source was not allowed or not reachable";
      throw new DataNotAvailableError(
        `Cannot fetch every kline of ${request.symbol} ${request.interval}: ${why}`,
        { cause: errors[0] },
      );
    }
    // Candles printed only off the grid exist: an empty table and their anomalies, not an error.
    if (report.rows === 0 && !report.partial && !offGrid && request.start < request.end) {
      throw new DataNotAvailableError(
        `No klines exist for ${request.market} ${request.symbol} ${request.interval} from ${
          new Date(request.start).toISOString()
        } to ${new Date(request.end).toISOString()}`,
      );
    }
  }

  const {
    promise: reportPromise,
    resolve: resolveReport,
    reject: rejectReport,
  } = Promise.withResolvers<FetchReport>();
  reportPromise.catch(() => {});

  /** Every batch, then the report: resolved at the end, rejected (and the run aborted) on error. */
  async function* everything(): AsyncGenerator<RecordBatch> {
    try {
      yield* generate();
      await complete();
      resolveReport(report);
    } catch (error) {
      abort.abort(error);
      rejectReport(error);
      // An edge probe started during the stream ends with the abort: no request outlives the run.
      await leadingProbe?.catch(() => {});
      throw error;
    }
  }

  const iterator = everything();
  /** Stops the run early: aborts downloads, ends the generator, waits for cache writes and probes. */
  async function stop(reason: unknown): Promise<void> {
    abort.abort(reason);
    rejectReport(reason ?? new DOMException("cancelled", "AbortError"));
    await iterator.return(undefined);
    await writer?.settled();
    await leadingProbe?.catch(() => {});
  }
  const stream = () =>
    new ReadableStream<RecordBatch>({
      async pull(controller) {
        try {
          const { value, done } = await iterator.next();
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (error) {
          controller.error(error);
        }
      },
      cancel: stop,
    }, { highWaterMark: 0 });
  return { batches: iterator, stream, report: reportPromise };
}

/**
 * The error of a fetch that returned no row because its sources failed: a
 * {@linkcode NetworkError} (the first connection failure, reset or time-out
 * as its `cause`) when the network failed, else the first source error
 * itself (e.g. `HttpError` 503 after the retries, `RateLimitError` 418).
 */
function totalFailure(request: ResolvedRequest, errors: unknown[]): Error {
  const first = errors.find((e) => e instanceof NetworkError) ?? errors[0];
  if (first instanceof NetworkError) {
    const { market, symbol, interval } = request;
    // A host stopped for failing everything was reached: it kept failing.
    const why = first instanceof HostFailingError
      ? "the sources kept failing"
      : "no source could be reached";
    return new NetworkError(
      first.url,
      `Cannot fetch any kline of ${market} ${symbol} ${interval}: ${why} (${first.message})`,
      { cause: first },
    );
  }
  return first instanceof Error ? first : new DataNotAvailableError(String(first));
}

/** Days within which a missing Vision archive may still be published. */
const VISION_LAG_MS = 3 * 86_400_000;

/**
 * Why partitions were left unfetched without any failure: the request's
 * `source` allows no source that could serve them.
 */
function notAllowedFailure(request: ResolvedRequest, partitions: Partition[]): FetchFailure {
  const keys = partitions.map((p) => p.key).sort();
  const what = keys.length === 1
    ? keys[0]
    : `${keys.length} partitions (${keys[0]} to ${keys.at(-1)})`;
  let message: string;
  if (request.source === "cache") {
    message = `${what} not in the cache, and no other source allowed (source "cache")`;
  } else if (request.source === "vision") {
    const yet = partitions.some((p) => p.end > request.openCandle - VISION_LAG_MS) ? " yet" : "";
    message = `${what} not on Vision${yet}, and REST not allowed (source "vision")`;
  } else {
    message = `${what} not served by the sources allowed (source "${request.source}")`;
  }
  return { partition: keys[0], code: "SOURCE_NOT_ALLOWED", message };
}
