/**
 * One fetch from start to end: cache reads, listing, plan, concurrent units,
 * and per partition the merge, checks, gap report and cache write, yielding
 * RecordBatches in time order with a bounded look-ahead.
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";
import { DataNotAvailableError, HostFailingError, NetworkError } from "../core/errors.ts";
import type { ResolvedRequest } from "./kline_request.ts";
import { formatDay } from "../core/time.ts";
import type { Partition } from "../core/partition.ts";
import { intervalMs } from "../core/interval.ts";
import type { FetchFailure, FetchReport } from "./fetch_report.ts";
import { edgeCandidates, markNotListed } from "./_gap_report.ts";
import { CacheWriter } from "./_cache_writer.ts";
import { confirmEdges } from "./_edge_probe.ts";
import {
  firstVisionUnit,
  isClosed,
  planFetch,
  type PlanUnit,
  requestPartitions,
  withoutPartitions,
} from "./fetch_plan.ts";
import { type EngineContext, type PartitionOutcome, runUnit } from "./fetch_engine.ts";
import type { VisionArchives, VisionInventory } from "./vision_archives.ts";
import type { RestClient } from "../source/rest_client.ts";
import type { KlineStore } from "../cache/kline_store.ts";
import { NullKlineStore } from "../cache/null_kline_store.ts";
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

/** A running fetch: read it through `batches` or `collect()`, not both. */
export interface FetchRun {
  /** The rows, partition by partition, in time order. */
  batches: ReadableStream<RecordBatch>;
  /** The report, resolved when the stream is done. */
  report: Promise<FetchReport>;
  /** Reads every batch without a stream in between (for whole tables). */
  collect(): Promise<RecordBatch[]>;
}

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
  const failures: FetchFailure[] = [];
  const report: FetchReport = {
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
    failures,
    partial: false,
    requests: { visionFiles: 0, listingPages: 0, restCalls: 0, restWeight: 0 },
    elapsedMs: 0,
  };
  const progress: FetchProgress = {
    partitionsDone: 0,
    partitionsTotal: 0,
    files: 0,
    bytes: 0,
    rows: 0,
  };
  let resolveReport!: (r: FetchReport) => void;
  let rejectReport!: (e: unknown) => void;
  const reportPromise = new Promise<FetchReport>((res, rej) => {
    resolveReport = res;
    rejectReport = rej;
  });
  reportPromise.catch(() => {});
  const ctx: EngineContext = {
    request,
    now: deps.now,
    // The cache itself once opened (first read of the stream).
    cache: typeof deps.cache === "function" ? new NullKlineStore() : deps.cache,
    vision: request.source === "auto" || request.source === "vision" ? deps.vision : undefined,
    rest: request.source === "auto" || request.source === "rest" ? deps.rest : undefined,
    signal,
    failures,
    errors: [],
    notAllowed: [],
    requests: report.requests,
    onFile: (kind, bytes) => {
      if (kind === "vision") progress.files++;
      progress.bytes += bytes;
    },
  };

  async function* generate(): AsyncGenerator<RecordBatch> {
    if (typeof deps.cache === "function") ctx.cache = await deps.cache();
    writer = new CacheWriter(ctx.cache, request, failures);
    finalizer = new PartitionFinalizer(ctx, { report, progress, writer });
    const partitions = requestPartitions(request);
    const cached = await cachedKeys(request, ctx.cache, deps.now);
    let listing: Promise<VisionInventory | undefined> | undefined;
    ctx.inventory = () =>
      listing ??= ctx.vision && partitions.length > 0
        ? ctx.vision.inventory(
          {
            ...request,
            from: formatDay(partitions[0].start),
            to: formatDay(Math.min(partitions.at(-1)!.end, deps.now) - 1),
          },
          signal,
          report.requests,
        )
        : Promise.resolve(undefined);
    const needsListing = ctx.vision &&
      partitions.some((p) => isClosed(p, deps.now) && !cached.has(p.key));
    const window: Promise<PartitionOutcome[]>[] = [];
    const start = (unit: PlanUnit) => {
      const p = runUnit(ctx, unit);
      p.catch(() => {});
      window.push(p);
    };
    let units: PlanUnit[];
    if (needsListing) {
      const listed = ctx.inventory();
      // The first archive almost always exists: download it while the listing
      // is read (one round trip less); a 404 still falls back as planned.
      const head = firstVisionUnit(
        planFetch({ request, now: deps.now, cached, inventory: undefined }),
      );
      if (head) start(head);
      const inventory = await listed;
      units = withoutPartitions(
        planFetch({ request, now: deps.now, cached, inventory }),
        new Set(head?.partitions.map((p) => p.key)),
      );
      progress.partitionsTotal = head?.partitions.length ?? 0;
    } else {
      units = planFetch({ request, now: deps.now, cached, inventory: undefined });
      progress.partitionsTotal = 0;
    }
    progress.partitionsTotal += units.reduce((n, u) => n + u.partitions.length, 0);
    if (deps.decodeWorkers) {
      // Every archive counts, the one started while the listing was read included.
      const vision = units.filter((u) => u.kind === "vision-monthly" || u.kind === "vision-daily");
      ctx.vision?.prepare(vision.length + window.length);
    }
    let next = 0;
    // Bound memory by rows in flight as well as by units: a 1s day is 86,400 rows.
    const unitRows = (unit: PlanUnit) =>
      unit.partitions.reduce((n, p) => n + (p.end - p.start) / intervalMs(request.interval), 0);
    const limit = (unit: PlanUnit) =>
      Math.max(2, Math.min(deps.concurrency, Math.floor(MAX_ROWS_IN_FLIGHT / unitRows(unit))));
    const fill = () => {
      while (next < units.length && window.length < limit(units[next])) start(units[next++]);
    };
    fill();
    while (window.length > 0) {
      const outcomes = await window.shift()!;
      // Units finished before an abort must not be emitted after it.
      signal.throwIfAborted();
      fill();
      for (const o of outcomes) {
        const batches = await finalizer.finalize(o);
        progress.partitionsDone++;
        deps.onProgress?.({ ...progress });
        for (const batch of batches) if (batch.numRows > 0) yield batch;
      }
    }
  }

  let writer: CacheWriter | undefined;
  let finalizer!: PartitionFinalizer;

  async function complete(): Promise<void> {
    await writer!.settled();
    const { first, last, seenFirst, seenLast } = finalizer;
    const rows = { first, last, seenFirst, seenLast };
    const confirmed = report.rows > 0
      ? await confirmEdges(ctx, edgeCandidates(report.gaps, request, rows), report.gaps)
      : { leading: false, trailing: false };
    markNotListed(report.gaps, request, { first, last }, confirmed);
    report.partial = report.gaps.some((g) => g.class === "unfetched");
    if (ctx.notAllowed!.length > 0) failures.push(notAllowedFailure(request, ctx.notAllowed!));
    if (report.partial && failures.length === 0) {
      // Never a partial result without a reason.
      const slots = report.gaps.reduce((n, g) => n + (g.class === "unfetched" ? g.slots : 0), 0);
      failures.push({ code: "UNFETCHED", message: `${slots} slots could not be fetched` });
    }
    report.requests.visionFiles = progress.files;
    report.elapsedMs = Math.round(performance.now() - started);
    const errors = ctx.errors!;
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
  /** Stops the run early: aborts downloads, ends the generator, waits for cache writes. */
  async function stop(reason: unknown): Promise<void> {
    abort.abort(reason);
    rejectReport(reason ?? new DOMException("cancelled", "AbortError"));
    await iterator.return(undefined);
    await writer?.settled();
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
  async function collect(): Promise<RecordBatch[]> {
    const all: RecordBatch[] = [];
    for await (const batch of iterator) all.push(batch);
    return all;
  }
  return { batches, report: reportPromise, collect };
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
