/**
 * The jobs of a fetch and their execution: for klines, the cache index and
 * the listing (the first archive downloading meanwhile) make the plan; the
 * jobs of every dataset then run in one ordered window bounded by downloads
 * and rows in flight, and come out in time order. Private.
 *
 * @module
 */
import { formatDay } from "../core/time.ts";
import type { KlineStore } from "../cache/kline_store.ts";
import type { Partition } from "../core/partition.ts";
import type { RestClient } from "../source/rest_client.ts";
import type { ResolvedRequest } from "./kline_request.ts";
import { CacheError } from "../core/errors.ts";
import type { FetchFailure, RequestCounts } from "./fetch_report.ts";
import {
  isClosed,
  type PartitionJob,
  planFetch,
  requestPartitions,
  type SourceStep,
} from "./fetch_plan.ts";
import type { PartitionSources } from "./fetch_partition.ts";
import {
  archiveKey,
  type ArchiveOutcome,
  downloadArchive,
  restKey,
  SharedDownloads,
} from "./_shared_downloads.ts";
import type { VisionArchives, VisionInventory } from "./vision_archives.ts";

/** Rows the look-ahead may hold before more jobs are started (beyond two), by default. */
const MAX_ROWS_IN_FLIGHT = 400_000;

/**
 * Rows a kline stream's look-ahead may hold: three days of 1s. A table keeps
 * every row anyway; a stream exists to bound memory, and its decode worker
 * is held up by the main thread's parsing, not by downloads ahead.
 */
export const STREAM_ROWS_IN_FLIGHT = 3 * 86_400;

/** A fetch's jobs and what they run on. */
export interface PlannedJobs {
  /** One job per partition, in time order. */
  jobs: PartitionJob[];
  /** The request, cache, clients, inventory and shared downloads of the jobs. */
  sources: PartitionSources;
  /** An archive downloaded before the plan and then left out of it (counted, not used). */
  discarded: { count: number; bytes: number };
  /** The cache could not be listed (then the plan reads nothing from it). */
  failures: FetchFailure[];
}

/** The clients and clock of a fetch, those the request's `source` allows. */
export interface FetchClients {
  /** Current time, epoch ms. */
  now: number;
  /** Vision, when allowed. */
  vision: VisionArchives | undefined;
  /** REST, when allowed. */
  rest: RestClient | undefined;
  /** Cancels the fetch. */
  signal: AbortSignal;
}

/**
 * Plans a fetch: reads which partitions the cache holds and, when some
 * closed partition needs Vision, the listing, while the plan's first archive
 * already downloads (it almost always exists: one round trip less).
 *
 * @param request The request.
 * @param store The cache.
 * @param clients Clock, clients, signal.
 * @param counts The fetch's own counts (listing pages), added to.
 * @returns The jobs and their sources.
 */
export async function planJobs(
  request: ResolvedRequest,
  store: KlineStore,
  clients: FetchClients,
  counts: RequestCounts,
): Promise<PlannedJobs> {
  const { now, vision, rest, signal } = clients;
  const partitions = requestPartitions(request);
  const failures: FetchFailure[] = [];
  const cached = await cachedKeys(request, partitions, store, now).catch((error) => {
    // A cache that cannot be listed (an unreachable object store) is skipped, not fatal.
    if (!(error instanceof CacheError)) throw error;
    failures.push({ code: error.code, message: error.message });
    return new Set<string>();
  });
  let listing: Promise<VisionInventory | undefined> | undefined;
  const inventory = () =>
    listing ??= vision && partitions.length > 0
      ? vision.inventory(
        {
          ...request,
          from: formatDay(partitions[0].start),
          to: formatDay(Math.min(partitions.at(-1)!.end, now) - 1),
        },
        signal,
        counts,
      )
      : Promise.resolve(undefined);
  const shared = new SharedDownloads(signal);
  const sources = { request, store, vision, rest, inventory, shared };
  const discarded = { count: 0, bytes: 0 };
  const plan = (inventory: VisionInventory | undefined) =>
    planFetch({ request, now, cacheEnabled: store.enabled, cached, inventory });
  const needsListing = vision !== undefined &&
    partitions.some((p) => isClosed(p, now) && !cached.has(p.key));
  if (!needsListing) return { jobs: plan(undefined), sources, discarded, failures };
  const guess = plan(undefined);
  // A decode worker wanted by a bulk fetch starts while the listing is read, not after it.
  vision.prepare(archivesPlanned(guess));
  const head = guess[0]?.chain[0];
  const prefetched = head?.kind === "vision" ? archiveKey(head) : undefined;
  if (head?.kind === "vision") {
    shared.prefetch(archiveKey(head), (s) => downloadArchive(request, vision, head, s));
  }
  const jobs = plan(await inventory());
  const takes = (step: SourceStep) => step.kind === "vision" && archiveKey(step) === prefetched;
  if (prefetched && !jobs.some((j) => j.chain.some(takes))) {
    // The listing shows the archive absent: the download is stopped (or was in vain).
    const dropped = await shared.discard<ArchiveOutcome>(prefetched);
    if (dropped?.status === "ok") {
      discarded.count++;
      discarded.bytes += dropped.file.bytes;
    }
  }
  return { jobs, sources, discarded, failures };
}

/** The keys of the closed partitions of the request in the cache (when the mode reads it). */
async function cachedKeys(
  request: ResolvedRequest,
  partitions: readonly Partition[],
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
  for (const p of partitions) {
    if (present.has(p.key) && isClosed(p, now)) hits.add(p.key);
  }
  return hits;
}

/**
 * Distinct Vision archives a plan may download first (decode workers pay off from a few).
 *
 * @param jobs The plan.
 * @returns The count.
 */
export function archivesPlanned(jobs: readonly PartitionJob[]): number {
  const keys = new Set<string>();
  for (const job of jobs) {
    const step = job.chain[0];
    if (step?.kind === "vision") keys.add(archiveKey(step));
  }
  return keys.size;
}

/**
 * The download a job starts first: jobs sharing a monthly archive or a REST
 * walk share its key; the window counts downloads, not jobs.
 */
function downloadKey(job: PartitionJob): string {
  const step = job.chain.find((s) => s.kind !== "cache");
  if (job.chain[0]?.kind === "cache" || !step) return job.partition.key;
  if (step.kind === "vision") return archiveKey(step);
  return step.sharedBy > 1 ? restKey(step) : job.partition.key;
}

/** Cached partitions read at once, per download allowed (`concurrency`). */
const CACHE_READS_PER_DOWNLOAD = 4;

/** How many jobs run at once: downloads in flight, and rows held. */
export interface WindowLimits {
  /** Downloads in flight at once (jobs sharing one count once). */
  concurrency: number;
  /** Rows a job holds while in flight. */
  rows: (job: PartitionJob) => number;
  /** Rows in flight before more jobs wait (beyond two). @default {400000} */
  maxRows?: number;
}

/**
 * Runs jobs with a bounded look-ahead and yields their results in time
 * order: a job starts while fewer than `concurrency` downloads and
 * `limits.maxRows` rows are in flight (at least two jobs always are).
 * The one window of every dataset's fetch.
 *
 * @param jobs The plan.
 * @param fetch Fetches one job.
 * @param limits Downloads at once, rows per job.
 * @param signal Cancels the fetch.
 * @returns The results, in the jobs' order.
 */
export async function* fetchInOrder<R>(
  jobs: readonly PartitionJob[],
  fetch: (job: PartitionJob) => Promise<R>,
  limits: WindowLimits,
  signal: AbortSignal,
): AsyncGenerator<R> {
  const window: { key: string; rows: number; result: Promise<R> }[] = [];
  const downloads = new Map<string, number>();
  let rowsInFlight = 0;
  let next = 0;
  // Cached partitions are reads, not downloads: more of them overlap (an object store's latency).
  let reads = 0;
  const fill = () => {
    while (next < jobs.length) {
      const job = jobs[next];
      const read = job.chain[0]?.kind === "cache";
      const key = read ? "" : downloadKey(job);
      const rows = limits.rows(job);
      const full = rowsInFlight + rows > (limits.maxRows ?? MAX_ROWS_IN_FLIGHT) ||
        (read
          ? reads >= CACHE_READS_PER_DOWNLOAD * limits.concurrency
          : !downloads.has(key) && downloads.size >= limits.concurrency);
      if (window.length >= 2 && full) return;
      const result = fetch(job);
      result.catch(() => {});
      window.push({ key, rows, result });
      if (read) reads++;
      else downloads.set(key, (downloads.get(key) ?? 0) + 1);
      rowsInFlight += rows;
      next++;
    }
  };
  fill();
  while (window.length > 0) {
    const head = window.shift()!;
    const result = await head.result;
    // Jobs fetched before an abort must not be emitted after it.
    signal.throwIfAborted();
    rowsInFlight -= head.rows;
    if (head.key === "") reads--;
    else {
      const left = downloads.get(head.key)! - 1;
      if (left === 0) downloads.delete(head.key);
      else downloads.set(head.key, left);
    }
    fill();
    yield result;
  }
}
