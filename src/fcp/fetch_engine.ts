/**
 * The executor of the Failover Control Protocol: runs one planned unit
 * (cache, Vision archive, REST span), falling back from Vision to REST per
 * file and per hole, and returns each partition's rows by source with what
 * was asked and what failed.
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";
import { DsmError, HostUnreachableError, HttpError } from "../core/errors.ts";
import { ceilOpenTime, hasDailyFiles, nextOpenTime } from "../core/interval.ts";
import { isPermissionError } from "../source/http.ts";
import type { Partition } from "../core/partition.ts";
import { findMissing, type MissingRange, offGridSlots, splitAtOffGrid } from "./kline_checks.ts";
import { clipSegment, type KlineSegment, segmentOf } from "./kline_segment.ts";
import type { ResolvedRequest } from "./kline_request.ts";
import type {
  FetchFailure,
  PartitionReport,
  PartitionSource,
  RequestCounts,
} from "./fetch_report.ts";
import type { PlanUnit } from "./fetch_plan.ts";
import { isClosed } from "./fetch_plan.ts";
import type { CachedPartition, KlineStore } from "../cache/kline_store.ts";
import type { VisionArchives, VisionInventory } from "./vision_archives.ts";
import type { RestClient } from "../source/rest_client.ts";
import { restRange } from "./_rest_range.ts";

/** What the executor needs. */
export interface EngineContext {
  /** The request. */
  request: ResolvedRequest;
  /** Current time, epoch ms. */
  now: number;
  /** The cache (a disabled store when there is none). */
  cache: KlineStore;
  /** Vision, when allowed. */
  vision: VisionArchives | undefined;
  /** REST, when allowed. */
  rest: RestClient | undefined;
  /** Cancels everything. */
  signal: AbortSignal;
  /** Counts files, bytes and calls. */
  onFile?: (kind: "vision" | "rest", bytes: number) => void;
  /** Failures absorbed so far (appended to). */
  failures: FetchFailure[];
  /**
   * The errors of the sources absorbed so far, in order (appended to): the
   * cause of a strict or total failure.
   */
  errors?: unknown[];
  /**
   * Partitions left (in part) unfetched because no allowed source could
   * serve them (appended to): e.g. not in the cache with `source: "cache"`.
   */
  notAllowed?: Partition[];
  /** The fetch's own request counts (REST calls and weight, listing pages), added to. */
  requests?: RequestCounts;
  /** Vision's inventory of the request's span, listed at most once; undefined when unknown. */
  inventory?: () => Promise<VisionInventory | undefined>;
}

/** One partition's result. */
export interface PartitionOutcome {
  /** The partition. */
  partition: Partition;
  /** Its rows by source, sorted, whole partition (not yet clipped). */
  segments: KlineSegment[];
  /** Report entry (rows filled in later). */
  report: PartitionReport;
  /** Which sources were asked about this partition's holes. */
  consulted: { vision: boolean; rest: boolean };
  /** Ranges no source could be asked about. */
  unfetched: { start: number; end: number }[];
  /** Confirmed exchange gaps from the cache. */
  knownGaps: { start: number; end: number; class?: "off_grid" }[];
  /** Whether a source failed for this partition. */
  failed: boolean;
  /**
   * The cached partition, when it was served from the cache: its rows are
   * turned into `segments` only when they must be clipped or re-checked.
   */
  cached?: CachedPartition;
}

function outcome(partition: Partition): PartitionOutcome {
  return {
    partition,
    segments: [],
    report: { key: partition.key, sources: [], rows: 0, bytes: 0, ms: 0, cached: false },
    consulted: { vision: false, rest: false },
    unfetched: [],
    knownGaps: [],
    failed: false,
  };
}

/** Adds a source's rows to a partition; the source is reported only when it has rows. */
function addSegment(o: PartitionOutcome, segment: KlineSegment, source: PartitionSource): void {
  o.segments.push(segment);
  if (segment.length > 0 && !o.report.sources.includes(source)) o.report.sources.push(source);
}

/**
 * Records a source's failure: in the report (once per host for a host that
 * cannot be reached, whose requests all fail alike) and among the errors.
 */
function recordFailure(ctx: EngineContext, error: unknown, partition?: string): void {
  ctx.errors?.push(error);
  if (error instanceof HostUnreachableError) {
    const said = ctx.failures.some((f) => f.code === error.code && f.message === error.message);
    if (said) return;
  }
  const code = error instanceof DsmError ? error.code : "UNKNOWN";
  const message = error instanceof Error ? error.message : String(error);
  ctx.failures.push({ partition, code, message });
}

/** Marks a span of a partition unfetched because no allowed source could serve it. */
function notAllowed(ctx: EngineContext, o: PartitionOutcome, span: { start: number; end: number }) {
  o.unfetched.push(span);
  if (!ctx.notAllowed?.includes(o.partition)) ctx.notAllowed?.push(o.partition);
}

/** Reads a cached partition; a file set aside as corrupt is reported. */
function readCache(ctx: EngineContext, p: Partition): Promise<CachedPartition | undefined> {
  return ctx.cache.read(seriesKey(ctx, p), {
    onSetAside: (reason) => {
      const next = ctx.vision || ctx.rest ? "fetched again" : "not fetched again";
      ctx.failures.push({
        partition: p.key,
        code: "CACHE_ERROR",
        message: `Cached partition "${p.key}" was corrupt (${reason}): set aside and ${next}`,
      });
    },
  });
}

/**
 * The part of a partition to fetch: all of it when it may be cached (closed,
 * cache on: every hole must then be confirmed), else the part the request
 * wants. The one place where that rule is written.
 *
 * @param ctx The context.
 * @param p The partition.
 * @returns The span, `[start, end)`.
 */
function fetchSpan(ctx: EngineContext, p: Partition): { start: number; end: number } {
  const { request } = ctx;
  if (mayCache(ctx, p)) return { start: p.start, end: p.end };
  return { start: Math.max(p.start, request.start), end: Math.min(p.end, request.end) };
}

/**
 * Whether a partition may be written to the cache at all: cache on,
 * partition closed.
 *
 * @param ctx The context (cache and clock).
 * @param p The partition.
 * @returns True when a complete fetch of it may be cached.
 */
export function mayCache(ctx: Pick<EngineContext, "cache" | "now">, p: Partition): boolean {
  return ctx.cache.enabled && isClosed(p, ctx.now);
}

/** Splits sorted batches into one segment per partition. */
function splitByPartition(
  batches: RecordBatch[],
  partitions: Partition[],
  source: "VISION" | "REST",
): KlineSegment[] {
  const all = segmentOf(batches, source);
  return partitions.map((p) => clipSegment(all, p.start, p.end));
}

async function fetchRest(
  ctx: EngineContext,
  outcomes: PartitionOutcome[],
  spans: { start: number; end: number }[],
): Promise<void> {
  const { request } = ctx;
  for (const o of outcomes) o.consulted.rest = ctx.rest !== undefined;
  for (const span of spans) {
    if (!ctx.rest) {
      for (const o of outcomes) notAllowed(ctx, o, span);
      continue;
    }
    try {
      const rows = await restRange(ctx.rest, request, span, ctx.signal, ctx.requests);
      // Response sizes are not measured on the REST path (see PartitionReport.bytes).
      ctx.onFile?.("rest", 0);
      if (rows.error !== undefined) {
        // The walk stopped early: keep its rows, the rest of the span is unfetched.
        const got = rows.batches.reduce((n, b) => n + b.numRows, 0);
        const lastBatch = rows.batches.at(-1);
        const after = got === 0 || !lastBatch ? span.start : nextOpenTime(
          Number(lastBatch.getChild("open_time")!.get(lastBatch.numRows - 1)),
          request.interval,
        );
        markUnfetched(ctx, outcomes, { start: after, end: span.end }, rows.error);
      }
      const segments = splitByPartition(rows.batches, outcomes.map((o) => o.partition), "REST");
      outcomes.forEach((o, i) => addSegment(o, segments[i], "rest"));
    } catch (error) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      // A 400 (unknown symbol -1121, invalid interval -1120) is the request's fault, not the source's.
      if (error instanceof HttpError && error.status === 400) throw error;
      if (isPermissionError(error)) throw error;
      markUnfetched(ctx, outcomes, span, error);
    }
  }
}

function markUnfetched(
  ctx: EngineContext,
  outcomes: PartitionOutcome[],
  span: { start: number; end: number },
  error: unknown,
): void {
  if (span.start >= span.end) return;
  for (const o of outcomes) {
    if (o.partition.start < span.end && span.start < o.partition.end) {
      o.unfetched.push(span);
      o.failed = true;
    }
  }
  recordFailure(ctx, error, outcomes[0].partition.key);
}

/** Holes of the Vision rows of a partition, filled from REST where allowed. */
async function fillHoles(ctx: EngineContext, o: PartitionOutcome): Promise<void> {
  const { partition: p, segments } = o;
  const seg = segments[0];
  const span = fetchSpan(ctx, p);
  const from = ceilOpenTime(span.start, ctx.request.interval);
  const holes: MissingRange[] = from < span.end
    ? findMissing(seg.columns.openTime, seg.length, from, span.end, ctx.request.interval)
    : [];
  if (holes.length === 0 || !ctx.rest) return;
  // Slots whose candle the archive printed off the grid are not missing: REST would print the same.
  const offGrid = offGridSlots(seg.columns.openTime, seg.length, ctx.request.interval);
  const missing = splitAtOffGrid(holes, offGrid, ctx.request.interval).filter((h) => !h.offGrid);
  if (missing.length > 0) await fetchRest(ctx, [o], coalesce(missing));
}

function coalesce(holes: MissingRange[]): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  for (const h of holes) {
    const last = out.at(-1);
    if (last && h.start - last.end <= 0) last.end = h.end;
    else out.push({ start: h.start, end: h.end });
  }
  return out;
}

async function runVisionFile(
  ctx: EngineContext,
  unit: Extract<PlanUnit, { kind: "vision-monthly" | "vision-daily" }>,
): Promise<PartitionOutcome[] | undefined> {
  const monthly = unit.kind === "vision-monthly";
  const source: PartitionSource = monthly ? "vision-monthly" : "vision-daily";
  const date = monthly ? unit.month.key : unit.partitions[0].key;
  const outcomes = unit.partitions.map((p) => outcome(p));
  let file;
  try {
    const { dataset, market, symbol, interval } = ctx.request;
    file = await ctx.vision!.file({
      ...(dataset ? { dataset } : {}),
      market,
      symbol,
      interval,
      period: monthly ? "monthly" : "daily",
      date,
      signal: ctx.signal,
    });
  } catch (error) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    if (isPermissionError(error)) throw error;
    recordFailure(ctx, error, date);
    return undefined;
  }
  if (file.status === "missing") return undefined;
  ctx.onFile?.("vision", file.bytes);
  const segments = splitByPartition(file.batches, unit.partitions, "VISION");
  outcomes.forEach((o, i) => {
    addSegment(o, segments[i], source);
    o.consulted.vision = true;
    o.report.sha256 = file.sha256;
    o.report.bytes = Math.round(file.bytes / outcomes.length);
  });
  await Promise.all(outcomes.map((o) => fillHoles(ctx, o)));
  return outcomes;
}

async function runVision(
  ctx: EngineContext,
  unit: Extract<PlanUnit, { kind: "vision-monthly" | "vision-daily" }>,
): Promise<PartitionOutcome[]> {
  const got = await runVisionFile(ctx, unit);
  if (got) return got;
  if (unit.kind === "vision-monthly" && unit.partitions[0].period === "day") {
    // The monthly archive is missing or failed: fall back to the daily ones.
    const days = await Promise.all(
      unit.partitions.map((p) =>
        runVision(ctx, { kind: "vision-daily", partitions: [p], fallback: unit.fallback })
      ),
    );
    return days.flat();
  }
  const [p] = unit.partitions;
  const cached = unit.fallback.has(p.key) ? await readCache(ctx, p) : undefined;
  if (cached) return [fromCache(p, cached)];
  // Vision had no verified file: the holes REST shows are confirmed by REST alone.
  const o = outcome(p);
  await fetchRest(ctx, [o], [fetchSpan(ctx, p)]);
  return [o];
}

function seriesKey(ctx: EngineContext, p: Partition) {
  const { dataset, market, symbol, interval } = ctx.request;
  return { ...(dataset ? { dataset } : {}), market, symbol, interval, partition: p.key };
}

function visionUnit(
  ctx: EngineContext,
  p: Partition,
  fallback: ReadonlySet<string>,
): Extract<PlanUnit, { kind: "vision-monthly" | "vision-daily" }> {
  return hasDailyFiles(ctx.request.interval)
    ? { kind: "vision-daily", partitions: [p], fallback }
    : { kind: "vision-monthly", partitions: [p], month: p, fallback };
}

/** Whether Vision now lists the archive of a partition. */
async function visionLists(ctx: EngineContext, p: Partition): Promise<boolean> {
  const inventory = await ctx.inventory?.();
  if (!inventory) return false;
  return hasDailyFiles(ctx.request.interval)
    ? inventory.daily.has(p.key)
    : inventory.monthly.has(p.key);
}

/**
 * Reads a cached partition. One found corrupt or gone is fetched again; a
 * REST-sourced one is replaced by Vision data once Vision lists its archive.
 */
async function runCache(ctx: EngineContext, p: Partition): Promise<PartitionOutcome[]> {
  const cached = await readCache(ctx, p);
  if (cached) {
    if (cached.metadata.source === "REST" && ctx.vision && await visionLists(ctx, p)) {
      return await runVision(ctx, visionUnit(ctx, p, new Set([p.key])));
    }
    return [fromCache(p, cached)];
  }
  if (ctx.vision && isClosed(p, ctx.now)) {
    return await runVision(ctx, visionUnit(ctx, p, new Set()));
  }
  const o = outcome(p);
  if (ctx.rest) await fetchRest(ctx, [o], [fetchSpan(ctx, p)]);
  else notAllowed(ctx, o, { start: p.start, end: p.end });
  return [o];
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

function fromCache(p: Partition, cached: CachedPartition): PartitionOutcome {
  const o = outcome(p);
  o.cached = cached;
  addSegment(o, lazyCacheSegment(cached), "cache");
  o.knownGaps = cached.metadata.gaps;
  o.consulted = { vision: true, rest: true };
  return o;
}

/**
 * Executes one planned unit.
 *
 * @param ctx The context.
 * @param unit The unit.
 * @returns One outcome per partition of the unit, in time order.
 */
export async function runUnit(ctx: EngineContext, unit: PlanUnit): Promise<PartitionOutcome[]> {
  const started = performance.now();
  let outcomes: PartitionOutcome[];
  switch (unit.kind) {
    case "cache":
      outcomes = await runCache(ctx, unit.partitions[0]);
      break;
    case "vision-monthly":
    case "vision-daily":
      outcomes = await runVision(ctx, unit);
      break;
    case "rest": {
      outcomes = unit.partitions.map((p) => outcome(p));
      const spans = coalesce(
        unit.partitions.map((p) => ({ ...fetchSpan(ctx, p), slots: 0 })),
      );
      await fetchRest(ctx, outcomes, spans);
      break;
    }
    case "none":
      outcomes = unit.partitions.map((p) => {
        const o = outcome(p);
        notAllowed(ctx, o, { start: p.start, end: p.end });
        return o;
      });
      break;
  }
  const ms = (performance.now() - started) / outcomes.length;
  for (const o of outcomes) o.report.ms = Math.round(ms * 10) / 10;
  return outcomes;
}

/**
 * Whether a partition may be cached: closed, fetched whole, and every hole a
 * confirmed exchange gap (both sources asked, none failed).
 *
 * @param ctx The context.
 * @param o The outcome.
 * @param holes The partition's missing slots.
 * @returns True when it can be written.
 */
export function isCacheable(
  ctx: EngineContext,
  o: PartitionOutcome,
  holes: MissingRange[],
): boolean {
  if (!mayCache(ctx, o.partition)) return false;
  if (o.cached) return false;
  if (o.unfetched.length > 0 || o.failed) return false;
  if (!o.consulted.vision) {
    const span = fetchSpan(ctx, o.partition);
    if (span.start !== o.partition.start || span.end !== o.partition.end) return false;
  }
  return holes.length === 0 || (o.consulted.vision && o.consulted.rest);
}
