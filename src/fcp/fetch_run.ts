/**
 * One fetch from start to end: the cache index and the listing, the plan
 * (one job per partition), the jobs fetched in an ordered window, each
 * partition finalized in order (merge, checks, gaps, report, cache write),
 * and the report completed at the end: one stream of RecordBatches.
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
import { formatDay } from "../core/time.ts";
import type { Partition } from "../core/partition.ts";
import { intervalMs } from "../core/interval.ts";
import type { FetchFailure, FetchReport } from "./fetch_report.ts";
import { edgeCandidates, markNotListed } from "./_gap_report.ts";
import { CacheWriter } from "./_cache_writer.ts";
import { confirmLeadingEdge, confirmTrailingEdge, type EdgeProbeContext } from "./_edge_probe.ts";
import {
  isClosed,
  type PartitionJob,
  planFetch,
  requestPartitions,
  type SourceStep,
  type VisionStep,
} from "./fetch_plan.ts";
import {
  archiveKey,
  type ArchiveOutcome,
  downloadArchive,
  type FetchedPartition,
  fetchPartition,
  restKey,
  SharedDownloads,
} from "./fetch_partition.ts";
import type { VisionArchives, VisionInventory } from "./vision_archives.ts";
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
  /**
   * Whether a bulk fetch may start decode workers (`decodeWorkers: "auto"`):
   * for whole tables, not for `stream()`, whose point is bounded memory.
   */
  decodeWorkers?: boolean;
}

/** A running fetch. */
export interface FetchRun {
  /** The rows, partition by partition, in time order. */
  batches: ReadableStream<RecordBatch>;
  /** The report, resolved when the stream is done. */
  report: Promise<FetchReport>;
}

/** The keys of the closed partitions of the request present in the cache (when the mode reads it). */
async function cachedKeys(
  request: ResolvedRequest,
  cache: KlineStore,
  now: number,
): Promise<Set<string>> {
  const hits = new Set<string>();
  if (!cache.enabled || (request.source !== "auto" && request.source !== "cache")) return hits;
  const { dataset, market, symbol, interval } = request;
  const present = await cache.partitions({
    ...(dataset ? { dataset } : {}),
    market,
    symbol,
    interval,
  });
  for (const p of requestPartitions(request)) {
    if (present.has(p.key) && isClosed(p, now)) hits.add(p.key);
  }
  return hits;
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
    requests: { visionFiles: 0, listingPages: 0, restCalls: 0, restWeight: 0 },
    elapsedMs: 0,
  };
}

/**
 * The download a job starts first: jobs sharing a monthly archive or a REST
 * walk share its key; the look-ahead counts downloads, not jobs.
 */
function downloadKey(job: PartitionJob): string {
  const step = job.chain.find((s) => s.kind !== "cache");
  if (job.chain[0]?.kind === "cache" || !step) return job.partition.key;
  if (step.kind === "vision") return archiveKey(step);
  return step.sharedBy > 1 ? restKey(step) : job.partition.key;
}

/** Whether two steps download the same archive. */
function isStep(step: SourceStep, archive: VisionStep): boolean {
  return step.kind === "vision" && archiveKey(step) === archiveKey(archive);
}

/** Distinct Vision archives a plan may download first (decode workers pay off from a few). */
function archivesPlanned(jobs: PartitionJob[]): number {
  const keys = new Set<string>();
  for (const job of jobs) {
    const step = job.chain[0];
    if (step?.kind === "vision") keys.add(`${step.period} ${step.archive}`);
  }
  return keys.size;
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

  /** The partitions fetched, in time order, with at most a bounded window in flight. */
  async function* fetchInOrder(store: KlineStore): AsyncGenerator<FetchedPartition> {
    const partitions = requestPartitions(request);
    const cached = await cachedKeys(request, store, deps.now);
    let listing: Promise<VisionInventory | undefined> | undefined;
    const inventory = () =>
      listing ??= vision && partitions.length > 0
        ? vision.inventory(
          {
            ...request,
            from: formatDay(partitions[0].start),
            to: formatDay(Math.min(partitions.at(-1)!.end, deps.now) - 1),
          },
          signal,
          report.requests,
        )
        : Promise.resolve(undefined);
    const needsListing = vision !== undefined &&
      partitions.some((p) => isClosed(p, deps.now) && !cached.has(p.key));
    const shared = new SharedDownloads(signal);
    const plan = (inventory: VisionInventory | undefined) =>
      planFetch({ request, now: deps.now, cacheEnabled: store.enabled, cached, inventory });
    let jobs: PartitionJob[];
    if (needsListing) {
      // The first archive almost always exists: it downloads while the listing
      // is read (one round trip less); the plan made with the listing takes it.
      const head = plan(undefined)[0]?.chain[0];
      if (head?.kind === "vision") {
        shared.prefetch(archiveKey(head), (s) => downloadArchive(request, vision, head, s));
      }
      jobs = plan(await inventory());
      if (head?.kind === "vision" && !jobs.some((j) => j.chain.some((s) => isStep(s, head)))) {
        const dropped = await shared.discard<ArchiveOutcome>(archiveKey(head));
        if (dropped?.status === "ok") {
          progress.files++;
          progress.bytes += dropped.file.bytes;
        }
      }
    } else jobs = plan(undefined);
    progress.partitionsTotal = jobs.length;
    if (deps.decodeWorkers) vision?.prepare(archivesPlanned(jobs));
    const sources = { request, store, vision, rest, inventory, shared };
    const window: { key: string; rows: number; fetched: Promise<FetchedPartition> }[] = [];
    const downloads = new Map<string, number>();
    let rowsInFlight = 0;
    let next = 0;
    const fill = () => {
      while (next < jobs.length) {
        const job = jobs[next];
        const key = downloadKey(job);
        const rows = (job.span.end - job.span.start) / intervalMs(request.interval);
        const full = rowsInFlight + rows > MAX_ROWS_IN_FLIGHT ||
          (!downloads.has(key) && downloads.size >= deps.concurrency);
        if (window.length >= 2 && full) return;
        const fetched = fetchPartition(job, sources, signal);
        fetched.catch(() => {});
        window.push({ key, rows, fetched });
        downloads.set(key, (downloads.get(key) ?? 0) + 1);
        rowsInFlight += rows;
        next++;
      }
    };
    fill();
    while (window.length > 0) {
      const head = window.shift()!;
      const fetched = await head.fetched;
      // Partitions fetched before an abort must not be emitted after it.
      signal.throwIfAborted();
      rowsInFlight -= head.rows;
      const left = downloads.get(head.key)! - 1;
      if (left === 0) downloads.delete(head.key);
      else downloads.set(head.key, left);
      fill();
      yield fetched;
    }
  }

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
    report.requests.restCalls += fetched.requests.restCalls;
    report.requests.restWeight += fetched.requests.restWeight;
    progress.files += fetched.files.count;
    progress.bytes += fetched.files.bytes;
    if (fetched.notAllowed) notAllowed.push(fetched.job.partition);
  }

  async function* generate(): AsyncGenerator<RecordBatch> {
    const store = typeof deps.cache === "function" ? await deps.cache() : deps.cache;
    writer = new CacheWriter(store, request, failures);
    finalizer = new PartitionFinalizer(request, { report, progress, writer });
    for await (const fetched of fetchInOrder(store)) {
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

  let resolveReport!: (r: FetchReport) => void;
  let rejectReport!: (e: unknown) => void;
  const reportPromise = new Promise<FetchReport>((res, rej) => {
    resolveReport = res;
    rejectReport = rej;
  });
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
  const batches = new ReadableStream<RecordBatch>({
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
  return { batches, report: reportPromise };
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

/** Rows the look-ahead may hold before more units are started (beyond two). */
const MAX_ROWS_IN_FLIGHT = 400_000;
