/**
 * The plan of a kline fetch: one job per partition, each with the span to
 * fetch, whether it may be cached, and the sources to try in order (cache →
 * Vision's monthly archive → its daily archive → REST). A monthly archive
 * or a REST walk serving several partitions is one shared step: its jobs
 * await the same download and take their own days of it.
 *
 * @module
 */
import { ceilOpenTime, hasDailyFiles, intervalMs } from "../core/interval.ts";
import { type Partition, partitionOf, partitionsOf } from "../core/partition.ts";
import type { TimeSpan } from "./kline_checks.ts";
import type { ResolvedRequest } from "./kline_request.ts";
import type { VisionInventory } from "./vision_archives.ts";

/** A source a job may try: the cached file, a Vision archive, or a REST walk. */
export type SourceStep =
  | { kind: "cache" }
  | {
    kind: "vision";
    /** The archive: `monthly` (`archive` is `YYYY-MM`) or `daily` (`YYYY-MM-DD`). */
    period: "monthly" | "daily";
    /** The archive's date key. */
    archive: string;
    /** Whether the listing shows the archive; undefined when it was not read. */
    listed: boolean | undefined;
    /** Jobs taking their rows from this archive (its size is shared among them). */
    sharedBy: number;
  }
  | {
    kind: "rest";
    /** The open times one walk fetches (several partitions' when shared). */
    span: TimeSpan;
    /** Jobs taking their rows from this walk. */
    sharedBy: number;
  };

/** A step that downloads a Vision archive. */
export type VisionStep = Extract<SourceStep, { kind: "vision" }>;

/** A step that walks REST. */
export type RestStep = Extract<SourceStep, { kind: "rest" }>;

/** One partition to fetch. */
export interface PartitionJob {
  /** The partition. */
  partition: Partition;
  /**
   * What to fetch of it: all of it when it may be cached (then every hole
   * must be confirmed), else the part the request wants.
   */
  span: TimeSpan;
  /** Whether a complete fetch of it may be written to the cache (cache on, partition closed). */
  mayCache: boolean;
  /** The sources to try, in order; empty when the request allows none that could serve it. */
  chain: SourceStep[];
}

/** Inputs of {@linkcode planFetch}. */
export interface PlanInputs {
  /** The resolved request. */
  request: ResolvedRequest;
  /** Current time, epoch ms. */
  now: number;
  /** Whether partitions may be written to the cache. */
  cacheEnabled: boolean;
  /** Keys of the closed partitions present in the cache. */
  cached: ReadonlySet<string>;
  /** Vision's inventory, when the listing was read. */
  inventory: VisionInventory | undefined;
}

/**
 * Whether every candle of the partition has closed.
 *
 * @param partition The partition.
 * @param now Current time, epoch ms.
 * @returns True when closed.
 */
export function isClosed(partition: Partition, now: number): boolean {
  return partition.end <= now;
}

/**
 * The partitions a request touches.
 *
 * @param request The resolved request.
 * @returns Partitions in time order.
 */
export function requestPartitions(request: ResolvedRequest): Partition[] {
  // A month partition of 1w or 3d can hold no open time of the range (the end
  // rounds up to the grid past the month's start): it is not fetched.
  return partitionsOf(request.start, request.end, request.interval).filter((p) =>
    ceilOpenTime(Math.max(p.start, request.start), request.interval) <
      Math.min(p.end, request.end)
  );
}

/**
 * Plans a fetch. A closed partition present in the cache is read from it
 * (in `auto` and `cache` modes); a cached REST partition is replaced by its
 * Vision archive once the listing shows it, and a cached file found corrupt
 * is fetched again. Other closed partitions come from Vision: the monthly
 * archive when the request covers the whole closed month (not for 1s, whose
 * monthly archives are too large to hold for verification), else the daily
 * archive; REST fills what the archives lack, and serves open partitions
 * and archives the listing shows absent, consecutive ones in one walk.
 *
 * @param inputs Request, clock, cache and inventory.
 * @returns One job per partition, in time order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveRequest } from "./kline_request.ts";
 * import { planFetch } from "./fetch_plan.ts";
 * const now = Date.UTC(2025, 1, 10, 12);
 * const request = resolveRequest(
 *   { symbol: "BTCUSDT", interval: "1h", start: "2025-01-31", end: "2025-02-11" },
 *   { market: "spot", now },
 * );
 * const jobs = planFetch({ request, now, cacheEnabled: true, cached: new Set(), inventory: undefined });
 * assert.deepEqual(jobs[0].chain.map((s) => s.kind), ["vision", "rest"]);
 * assert.deepEqual(jobs.at(-1)!.chain.map((s) => s.kind), ["rest"]); // today: still open
 * ```
 */
export function planFetch(inputs: PlanInputs): PartitionJob[] {
  const { request, now, cached, inventory } = inputs;
  const partitions = requestPartitions(request);
  const mode = request.source;
  const vision = mode === "auto" || mode === "vision";
  const rest = mode === "auto" || mode === "rest";
  const daily = hasDailyFiles(request.interval);
  const listed = (period: "monthly" | "daily", key: string) =>
    inventory === undefined ? undefined : inventory[period].has(key);
  // Months a cached day keeps from their monthly archive.
  const cachedMonths = new Set([...cached].map((key) => key.slice(0, 7)));
  const jobs: PartitionJob[] = [];
  for (const p of partitions) {
    const closed = isClosed(p, now);
    const mayCache = inputs.cacheEnabled && closed;
    const span = mayCache
      ? { start: p.start, end: p.end }
      : { start: Math.max(p.start, request.start), end: Math.min(p.end, request.end) };
    const chain: SourceStep[] = [];
    if (cached.has(p.key)) chain.push({ kind: "cache" });
    if (vision && closed) {
      const month = daily && wholeMonth(p, request, now, cachedMonths);
      if (month && listed("monthly", month.key) !== false) {
        const days = Math.round((month.end - month.start) / 86_400_000);
        chain.push({
          kind: "vision",
          period: "monthly",
          archive: month.key,
          listed: listed("monthly", month.key),
          sharedBy: days,
        });
      }
      const period = daily ? "daily" : "monthly";
      const own = listed(period, p.key);
      if (own !== false) {
        chain.push({ kind: "vision", period, archive: p.key, listed: own, sharedBy: 1 });
      }
    }
    if (rest) chain.push({ kind: "rest", span, sharedBy: 1 });
    jobs.push({ partition: p, span, mayCache, chain });
  }
  shareRestWalks(jobs, intervalMs(request.interval));
  return jobs;
}

/**
 * The closed month of a day when the request wants all of it and no day of
 * it is cached (the listing, if read, decides whether its archive is tried).
 */
function wholeMonth(
  day: Partition,
  request: ResolvedRequest,
  now: number,
  cachedMonths: ReadonlySet<string>,
): Partition | undefined {
  if (request.interval === "1s") return undefined;
  const month = partitionOf(day.start, "month");
  if (!isClosed(month, now) || month.start < request.start || month.end > request.end) {
    return undefined;
  }
  return cachedMonths.has(month.key) ? undefined : month;
}

/** Rows one shared REST walk may hold: beyond, the next partitions start a walk of their own. */
const MAX_WALK_ROWS = 50_000;

/**
 * Consecutive jobs served by REST alone share one walk over their spans (one
 * request per page instead of one per partition), up to `MAX_WALK_ROWS`
 * rows, so that a long REST-only range still streams with bounded memory.
 */
function shareRestWalks(jobs: PartitionJob[], slotMs: number): void {
  const rowsOf = (job: PartitionJob) => (job.span.end - job.span.start) / slotMs;
  for (let i = 0; i < jobs.length;) {
    let j = i + 1;
    let rows = rowsOf(jobs[i]);
    if (restOnly(jobs[i])) {
      while (j < jobs.length && restOnly(jobs[j]) && rows + rowsOf(jobs[j]) <= MAX_WALK_ROWS) {
        rows += rowsOf(jobs[j++]);
      }
    }
    if (j - i > 1) {
      const span = { start: jobs[i].span.start, end: jobs[j - 1].span.end };
      for (let k = i; k < j; k++) jobs[k].chain = [{ kind: "rest", span, sharedBy: j - i }];
    }
    i = j;
  }
}

function restOnly(job: PartitionJob): boolean {
  return job.chain.length === 1 && job.chain[0].kind === "rest";
}
