/**
 * The planner: which partitions come from the cache, which from Vision's
 * monthly or daily archives, which from REST, and which cannot be fetched.
 *
 * @module
 */
import { ceilOpenTime, hasDailyFiles } from "../core/interval.ts";
import { type Partition, partitionOf, partitionsOf } from "../core/partition.ts";
import type { ResolvedRequest } from "./kline_request.ts";
import type { VisionInventory } from "./vision_archives.ts";

/** A step of the plan; steps are executed concurrently and emitted in order. */
export type PlanUnit =
  | { kind: "cache"; partitions: [Partition] }
  | {
    kind: "vision-monthly";
    /** The month's partitions in range: its days (1s..1d) or the month itself (3d, 1w, 1M). */
    partitions: Partition[];
    month: Partition;
    /** Keys of cached REST partitions to fall back to if the archive fails. */
    fallback: ReadonlySet<string>;
  }
  | { kind: "vision-daily"; partitions: [Partition]; fallback: ReadonlySet<string> }
  | { kind: "rest"; partitions: Partition[] }
  | { kind: "none"; partitions: Partition[] };

/** Inputs of {@linkcode planFetch}. */
export interface PlanInputs {
  /** The resolved request. */
  request: ResolvedRequest;
  /** Current time, epoch ms. */
  now: number;
  /** Keys of the cached partitions. */
  cached: ReadonlySet<string>;
  /** Vision's inventory, when the listing could be read. */
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

function inRange(p: Partition, r: ResolvedRequest): boolean {
  return p.start >= r.start && p.end <= r.end;
}

/**
 * Plans a fetch. Closed partitions come from the cache when present (in
 * `auto` and `cache` modes), else from Vision: the monthly archive when the
 * request covers the whole closed month (not for 1s, whose monthly archives
 * are too large to hold for verification), the daily archive otherwise;
 * archives the listing shows absent, and open partitions, come from REST.
 * Cached partitions are planned from their existence alone; whether a
 * cached REST partition can be upgraded to Vision is decided when it is read.
 *
 * @param inputs Request, clock, cache hits and inventory.
 * @returns Units in time order.
 */
export function planFetch(inputs: PlanInputs): PlanUnit[] {
  const { request, now, cached, inventory } = inputs;
  const units: PlanUnit[] = [];
  const partitions = requestPartitions(request);
  const useVision = request.source === "auto" || request.source === "vision";
  const useRest = request.source === "auto" || request.source === "rest";
  const daily = hasDailyFiles(request.interval);
  const pushFallback = (kind: "rest" | "none", p: Partition) => {
    const last = units.at(-1);
    if (last?.kind === kind) last.partitions.push(p);
    else units.push({ kind, partitions: [p] });
  };
  const noVision = (p: Partition) => pushFallback(useRest ? "rest" : "none", p);

  for (let i = 0; i < partitions.length;) {
    const p = partitions[i];
    if (cached.has(p.key)) {
      units.push({ kind: "cache", partitions: [p] });
      i++;
      continue;
    }
    if (request.source === "cache" || (!useVision && !useRest)) {
      pushFallback("none", p);
      i++;
      continue;
    }
    if (!isClosed(p, now) || !useVision) {
      noVision(p);
      i++;
      continue;
    }
    const fallback = new Set<string>();
    if (!daily) {
      if (inventory && !inventory.monthly.has(p.key)) noVision(p);
      else units.push({ kind: "vision-monthly", partitions: [p], month: p, fallback });
      i++;
      continue;
    }
    const month = partitionOf(p.start, "month");
    const days = monthDaysFrom(partitions, i, month);
    const wholeMonth = request.interval !== "1s" && isClosed(month, now) &&
      inRange(month, request) &&
      days.length === Math.round((month.end - month.start) / 86_400_000) &&
      days.every((d) => !cached.has(d.key)) &&
      (!inventory || inventory.monthly.has(month.key));
    if (wholeMonth) {
      units.push({ kind: "vision-monthly", partitions: days, month, fallback: new Set() });
      i += days.length;
      continue;
    }
    if (inventory && !inventory.daily.has(p.key)) noVision(p);
    else units.push({ kind: "vision-daily", partitions: [p], fallback });
    i++;
  }
  return units;
}

function monthDaysFrom(partitions: Partition[], from: number, month: Partition): Partition[] {
  const out: Partition[] = [];
  for (let j = from; j < partitions.length && partitions[j].start < month.end; j++) {
    out.push(partitions[j]);
  }
  return out;
}

/**
 * The first unit of a plan when it downloads a Vision archive.
 *
 * @param units A plan.
 * @returns Its first unit, if a Vision one.
 */
export function firstVisionUnit(units: PlanUnit[]): PlanUnit | undefined {
  const [first] = units;
  return first?.kind === "vision-monthly" || first?.kind === "vision-daily" ? first : undefined;
}

/**
 * The units without the given partitions (a prefix of the plan, already
 * being fetched); a monthly archive partly taken becomes daily units.
 *
 * @param units A plan.
 * @param taken Keys of the partitions to leave out.
 * @returns The remaining units, in order.
 */
export function withoutPartitions(units: PlanUnit[], taken: ReadonlySet<string>): PlanUnit[] {
  if (taken.size === 0) return units;
  const out: PlanUnit[] = [];
  for (const unit of units) {
    const rest = unit.partitions.filter((p) => !taken.has(p.key));
    if (rest.length === unit.partitions.length) out.push(unit);
    else if (rest.length === 0) continue;
    else if (unit.kind === "rest" || unit.kind === "none") out.push({ ...unit, partitions: rest });
    else {
      // A monthly archive partly taken: fetch the remaining days one by one.
      for (const p of rest) {
        out.push({ kind: "vision-daily", partitions: [p], fallback: new Set() });
      }
    }
  }
  return out;
}
