/**
 * One partition's fetch: walks its job's source chain (cache, Vision
 * archives, REST) with the layers' own clients until a source serves it,
 * fills the holes of a Vision archive from REST, and returns its rows by
 * source with what was asked, what failed and its own request counts.
 *
 * @module
 */
import { DsmError, HttpError } from "../core/errors.ts";
import { ceilOpenTime, nextOpenTime } from "../core/interval.ts";
import type { Partition } from "../core/partition.ts";
import { isPermissionError } from "../source/http.ts";
import type { RestClient } from "../source/rest_client.ts";
import type { CachedPartition, KlineStore } from "../cache/kline_store.ts";
import {
  appendSpan,
  findMissing,
  type MissingRange,
  offGridSlots,
  splitAtOffGrid,
  type TimeSpan,
} from "./kline_checks.ts";
import { clipSegment, type KlineSegment, segmentOf } from "./kline_segment.ts";
import type { ResolvedRequest } from "./kline_request.ts";
import {
  addRestRequests,
  type FetchFailure,
  noRequests,
  type PartitionReport,
  type PartitionSource,
  type RequestCounts,
} from "./fetch_report.ts";
import type { PartitionJob, RestStep, VisionStep } from "./fetch_plan.ts";
import type { VisionArchives, VisionInventory } from "./vision_archives.ts";
import { restRange } from "./_rest_range.ts";
import {
  archiveKey,
  type ArchiveOutcome,
  downloadArchive,
  restKey,
  type SharedDownloads,
  type WalkOutcome,
} from "./_shared_downloads.ts";

/** What a partition's fetch runs on. */
export interface PartitionSources {
  /** The request. */
  request: ResolvedRequest;
  /** The cache (a disabled store when there is none). */
  store: KlineStore;
  /** Vision, when the request allows it. */
  vision: VisionArchives | undefined;
  /** REST, when the request allows it. */
  rest: RestClient | undefined;
  /** Vision's inventory of the request's span, listed at most once; undefined when unknown. */
  inventory: () => Promise<VisionInventory | undefined>;
  /** Downloads serving several partitions of the fetch (a monthly archive, a REST walk). */
  shared: SharedDownloads;
}

/** One partition's fetch: its rows by source, and what it took. */
export interface FetchedPartition {
  /** The job. */
  job: PartitionJob;
  /** Its rows by source, sorted, the whole span fetched (not yet clipped to the range). */
  segments: KlineSegment[];
  /** Report entry (rows filled in when finalized). */
  report: PartitionReport;
  /** Which sources were asked about this partition's holes. */
  consulted: { vision: boolean; rest: boolean };
  /** Ranges no source could be asked about. */
  unfetched: TimeSpan[];
  /** Confirmed exchange gaps recorded with the cached file. */
  knownGaps: { start: number; end: number; class?: "off_grid" }[];
  /** Whether a source failed for this partition. */
  failed: boolean;
  /** True when the request allows no source that could serve (part of) it. */
  notAllowed: boolean;
  /** The cached file, when it served the partition. */
  cached?: CachedPartition;
  /** Failures absorbed, in order. */
  failures: FetchFailure[];
  /** The sources' errors behind them (the cause of a strict or total failure). */
  errors: unknown[];
  /** This partition's own requests (a shared download counts with its first partition). */
  requests: RequestCounts;
  /** Vision archives it downloaded, and their bytes (progress). */
  files: { count: number; bytes: number };
}

/**
 * Fetches one partition: the first source of its chain that serves it wins;
 * a missing or failed source passes to the next. A cached REST file is
 * replaced by its Vision archive once the listing shows it (and kept when
 * the archive fails); a Vision archive's holes are asked of REST.
 *
 * @param job The partition's job.
 * @param sources The request, cache, clients, inventory and shared downloads.
 * @param signal Cancels the fetch.
 * @returns The partition's rows and what it took.
 * @throws The abort reason; a REST 400 (the request's fault) or a permission error.
 */
export async function fetchPartition(
  job: PartitionJob,
  sources: PartitionSources,
  signal: AbortSignal,
): Promise<FetchedPartition> {
  const started = performance.now();
  const fetched = newFetched(job);
  const walk = new ChainWalk(fetched, sources, signal);
  await walk.run();
  fetched.report.ms = Math.round((performance.now() - started) * 10) / 10;
  return fetched;
}

function newFetched(job: PartitionJob): FetchedPartition {
  return {
    job,
    segments: [],
    report: { key: job.partition.key, sources: [], rows: 0, bytes: 0, ms: 0, cached: false },
    consulted: { vision: false, rest: false },
    unfetched: [],
    knownGaps: [],
    failed: false,
    notAllowed: false,
    failures: [],
    errors: [],
    requests: noRequests(),
    files: { count: 0, bytes: 0 },
  };
}

/** The walk of one job's chain. */
class ChainWalk {
  readonly #out: FetchedPartition;
  readonly #sources: PartitionSources;
  readonly #signal: AbortSignal;
  readonly #partition: Partition;

  constructor(out: FetchedPartition, sources: PartitionSources, signal: AbortSignal) {
    this.#out = out;
    this.#sources = sources;
    this.#signal = signal;
    this.#partition = out.job.partition;
  }

  async run(): Promise<void> {
    const { chain } = this.#out.job;
    let kept: CachedPartition | undefined;
    for (let i = 0; i < chain.length; i++) {
      const step = chain[i];
      if (step.kind === "cache") {
        const cached = await this.#readCache();
        if (!cached) continue;
        const next = chain[i + 1];
        if (
          cached.metadata.source === "REST" && next?.kind === "vision" && await this.#lists(next)
        ) {
          kept = cached;
          continue;
        }
        return this.#fromCache(cached);
      }
      if (step.kind === "vision") {
        if (await this.#fromArchive(step)) return;
        continue;
      }
      if (kept) break;
      return await this.#fromRest(step);
    }
    if (kept) return this.#fromCache(kept);
    // No allowed source served it.
    this.#out.unfetched.push(this.#out.job.span);
    this.#out.notAllowed = true;
  }

  /** Whether Vision now lists the archive of a step (asking the listing when the plan did not). */
  async #lists(step: VisionStep): Promise<boolean> {
    if (step.listed !== undefined) return step.listed;
    const inventory = await this.#sources.inventory();
    return inventory?.[step.period].has(step.archive) ?? false;
  }

  /**
   * Reads the cached file: undefined when it is absent, set aside as corrupt,
   * or cannot be read (a failure of the cache, not of the fetch: the next
   * source serves the partition).
   */
  async #readCache(): Promise<CachedPartition | undefined> {
    try {
      return await this.#readCacheFile();
    } catch (error) {
      this.#rethrowFatal(error);
      this.#recordFailure(error, this.#partition.key);
      return undefined;
    }
  }

  #readCacheFile(): Promise<CachedPartition | undefined> {
    const { request, store, vision, rest } = this.#sources;
    const { dataset, market, symbol, interval } = request;
    const p = this.#partition;
    const key = { ...(dataset ? { dataset } : {}), market, symbol, interval, partition: p.key };
    return store.read(key, {
      onSetAside: (reason) => {
        const next = vision || rest ? "fetched again" : "not fetched again";
        this.#out.failures.push({
          partition: p.key,
          code: "CACHE_ERROR",
          message: `Cached partition "${p.key}" was corrupt (${reason}): set aside and ${next}`,
        });
      },
    });
  }

  #fromCache(cached: CachedPartition): void {
    const out = this.#out;
    out.cached = cached;
    this.#add(lazyCacheSegment(cached), "cache");
    out.knownGaps = cached.metadata.gaps;
    if (cached.metadata.visionSha256) out.report.sha256 = cached.metadata.visionSha256;
    out.consulted = { vision: true, rest: true };
  }

  /** Takes the partition's rows from a Vision archive; false when it is missing or failed. */
  async #fromArchive(step: VisionStep): Promise<boolean> {
    const { request, vision, shared } = this.#sources;
    if (!vision) return false;
    const { outcome, first } = await shared.take<ArchiveOutcome>(
      archiveKey(step),
      step.sharedBy,
      (signal) => downloadArchive(request, vision, step, signal),
    );
    if (outcome.status === "missing") return false;
    if (outcome.status === "failed") {
      this.#rethrowFatal(outcome.error);
      if (first) this.#recordFailure(outcome.error, step.archive);
      return false;
    }
    const { file } = outcome;
    const out = this.#out;
    if (first) {
      out.files.count++;
      out.files.bytes += file.bytes;
    }
    const p = this.#partition;
    this.#add(
      clipSegment(outcome.segment, p.start, p.end),
      step.period === "monthly" ? "vision-monthly" : "vision-daily",
    );
    out.consulted.vision = true;
    out.report.sha256 = file.sha256;
    out.report.bytes = Math.round(file.bytes / step.sharedBy);
    await this.#fillHoles();
    return true;
  }

  /** Asks REST for the holes of the archive's rows; slots printed off the grid are not holes. */
  async #fillHoles(): Promise<void> {
    const { request, rest } = this.#sources;
    if (!rest) return;
    const out = this.#out;
    const seg = out.segments[0];
    const { span } = out.job;
    const from = ceilOpenTime(span.start, request.interval);
    const holes: MissingRange[] = from < span.end
      ? findMissing(seg.columns.openTime, seg.length, from, span.end, request.interval)
      : [];
    if (holes.length === 0) return;
    const offGrid = offGridSlots(seg.columns.openTime, seg.length, request.interval);
    const missing = splitAtOffGrid(holes, offGrid, request.interval).filter((h) => !h.offGrid);
    const spans: TimeSpan[] = [];
    for (const { start, end } of missing) appendSpan(spans, { start, end });
    for (const span of spans) await this.#fromRest({ kind: "rest", span, sharedBy: 1 });
  }

  /** Takes the partition's rows of a REST walk (shared when it spans several partitions). */
  async #fromRest(step: RestStep): Promise<void> {
    const { request, rest, shared } = this.#sources;
    // The plan has REST steps only when the request allows REST.
    if (!rest) return;
    const out = this.#out;
    out.consulted.rest = true;
    const walk = (signal: AbortSignal) => this.#walk(rest, step.span, signal);
    const { outcome, first } = step.sharedBy > 1
      ? await shared.take<WalkOutcome>(restKey(step), step.sharedBy, walk)
      : { outcome: await walk(this.#signal), first: true };
    if (first) addRestRequests(out.requests, outcome.counts);
    const p = this.#partition;
    if (outcome.status === "failed") {
      this.#rethrowFatal(outcome.error);
      this.#markUnfetched(step.span, outcome.error);
      return;
    }
    if (outcome.error !== undefined) {
      // The walk stopped early: keep its rows, the rest of the span is unfetched.
      const { segment } = outcome;
      const after = segment.length === 0
        ? step.span.start
        : nextOpenTime(segment.columns.openTime[segment.length - 1], request.interval);
      this.#markUnfetched({ start: after, end: step.span.end }, outcome.error);
    }
    this.#add(clipSegment(outcome.segment, p.start, p.end), "rest");
  }

  async #walk(rest: RestClient, span: TimeSpan, signal: AbortSignal): Promise<WalkOutcome> {
    const counts = noRequests();
    try {
      const rows = await restRange(rest, this.#sources.request, span, signal, counts);
      return { status: "ok", segment: segmentOf(rows.batches, "REST"), error: rows.error, counts };
    } catch (error) {
      return { status: "failed", error, counts };
    }
  }

  /**
   * Marks the part of a span in this partition unfetched; the partition where
   * the span starts (where the walk stopped) records why.
   */
  #markUnfetched(span: TimeSpan, error: unknown): void {
    const p = this.#partition;
    const start = Math.max(span.start, p.start);
    const end = Math.min(span.end, p.end);
    if (start >= end) return;
    this.#out.unfetched.push({ start, end });
    this.#out.failed = true;
    if (span.start >= p.start) this.#recordFailure(error, p.key);
  }

  /** Errors that end the fetch rather than a source: abort, the request's fault, permissions. */
  #rethrowFatal(error: unknown): void {
    if (this.#signal.aborted) throw this.#signal.reason;
    // A 400 (unknown symbol -1121, invalid interval -1120) is the request's fault, not the source's.
    if (error instanceof HttpError && error.status === 400) throw error;
    if (isPermissionError(error)) throw error;
  }

  #recordFailure(error: unknown, partition: string): void {
    const out = this.#out;
    out.errors.push(error);
    const code = error instanceof DsmError ? error.code : "UNKNOWN";
    const message = error instanceof Error ? error.message : String(error);
    out.failures.push({ partition, code, message });
  }

  /** Adds a source's rows; the source is reported only when it has rows. */
  #add(segment: KlineSegment, source: PartitionSource): void {
    const out = this.#out;
    out.segments.push(segment);
    if (segment.length > 0 && !out.report.sources.includes(source)) out.report.sources.push(source);
  }
}

/** A CACHE segment whose columns are decoded from the Arrow batches on first use. */
function lazyCacheSegment(cached: CachedPartition): KlineSegment {
  let segment: KlineSegment | undefined;
  const decoded = () => segment ??= segmentOf(cached.batches, "CACHE");
  return {
    get columns() {
      return decoded().columns;
    },
    length: cached.batches.reduce((n, b) => n + b.numRows, 0),
    source: "CACHE",
    batches: cached.batches,
  };
}

/**
 * Whether a partition may be cached: it may be (closed, cache on), it was
 * fetched whole, and every hole is a confirmed exchange gap (both sources
 * asked, none failed).
 *
 * @param fetched The partition's fetch.
 * @param holes Its missing slots (those printed off the grid left out).
 * @returns True when it can be written.
 */
export function isCacheable(fetched: FetchedPartition, holes: MissingRange[]): boolean {
  if (!fetched.job.mayCache || fetched.cached) return false;
  if (fetched.unfetched.length > 0 || fetched.failed) return false;
  return holes.length === 0 || (fetched.consulted.vision && fetched.consulted.rest);
}
