/**
 * The end of one partition's fetch: clip to the range, merge, checks, gap
 * report, cache-write scheduling and report rows, and the partition's rows as
 * RecordBatches (a cached file's own batches when it can serve them as is).
 *
 * @module
 */
import { datasetInfo } from "../core/dataset.ts";
import type { RecordBatch } from "apache-arrow";
import { KLINE_SCHEMA, klineBatch, withDataSource } from "../core/schema.ts";
import type { Interval } from "../core/interval.ts";
import {
  appendSpan,
  countSlots,
  findAnomalies,
  findMissing,
  offGridSlots,
  onGridRows,
  splitAtOffGrid,
  type TimeSpan,
} from "./kline_checks.ts";
import {
  batchesOf,
  clipSegment,
  type KlineSegment,
  type MergedRows,
  mergeSegments,
} from "./kline_segment.ts";
import type { ResolvedRequest } from "./kline_request.ts";
import type { FetchReport } from "./fetch_report.ts";
import { appendGap, classify } from "./_gap_report.ts";
import type { CacheWriter } from "./_cache_writer.ts";
import { type FetchedPartition, isCacheable } from "./fetch_partition.ts";
import type { CachedPartition, KlineAnomalies } from "../cache/kline_store.ts";
import { nullFilledBatch } from "./null_fill.ts";

/** Where a finalized partition is accounted for. */
export interface FinalizerSinks {
  /** The fetch's report: partitions, rows, gaps and anomalies are appended to it. */
  report: FetchReport;
  /** The fetch's progress: its `rows` grows by each partition's rows. */
  progress: { rows: number };
  /** Schedules the cache writes of closed, complete, fresh partitions. */
  writer: CacheWriter;
}

/**
 * Finalizes the partition outcomes of one fetch, in order, and tracks the
 * first and last open times emitted and seen (before clipping) for the edge
 * checks at the end of the fetch.
 */
export class PartitionFinalizer {
  readonly #request: ResolvedRequest;
  readonly #report: FetchReport;
  readonly #progress: { rows: number };
  readonly #writer: CacheWriter;
  #first = Infinity;
  #last = -Infinity;
  #seenFirst = Infinity;
  #seenLast = -Infinity;

  /**
   * Creates the finalizer of one fetch.
   *
   * @param request The request.
   * @param sinks The report, progress and cache writer of the fetch.
   */
  constructor(request: ResolvedRequest, sinks: FinalizerSinks) {
    this.#request = request;
    this.#report = sinks.report;
    this.#progress = sinks.progress;
    this.#writer = sinks.writer;
  }

  /** The first open time emitted, `Infinity` before any row. */
  get first(): number {
    return this.#first;
  }

  /** The last open time emitted, `-Infinity` before any row. */
  get last(): number {
    return this.#last;
  }

  /** The first open time fetched, outside the range included. */
  get seenFirst(): number {
    return this.#seenFirst;
  }

  /** The last open time fetched, outside the range included. */
  get seenLast(): number {
    return this.#seenLast;
  }

  /**
   * Accounts for one partition (report, gaps, anomalies, progress rows),
   * schedules its cache write when it is fresh, closed and complete, and
   * returns its rows in the range.
   *
   * @param o The partition's outcome.
   * @returns Its rows as batches (with `_data_source` when the request asks for it).
   */
  async finalize(o: FetchedPartition): Promise<RecordBatch[]> {
    const request = this.#request;
    const covers = request.start <= o.job.partition.start && o.job.partition.end <= request.end;
    if (o.cached && covers && request.fill === "none") {
      const fast = this.#fromCachedFile(o, o.cached);
      if (fast) return fast;
    }
    const live = o.segments.filter((seg) => seg.length > 0);
    for (const seg of live) {
      this.#seenFirst = Math.min(this.#seenFirst, seg.columns.openTime[0]);
      this.#seenLast = Math.max(this.#seenLast, seg.columns.openTime[seg.length - 1]);
    }
    const { partition } = o.job;
    const lo = Math.max(partition.start, request.start);
    const hi = Math.min(partition.end, request.end);
    const segments = covers ? o.segments : o.segments.map((seg) => clipSegment(seg, lo, hi));
    const { rows: clipped, checks, holes } = this.#check(o, segments, lo, hi);
    if (o.job.mayCache && !o.cached) {
      // The whole partition is cached: checked whole, however little of it the range wants.
      const whole = covers ? { rows: clipped, checks, holes } : this.#check(
        o,
        o.segments,
        partition.start,
        partition.end,
      );
      // Slots printed off the grid are not missing: they need no confirmation.
      if (isCacheable(o, whole.holes.filter((h) => !h.offGrid))) {
        await this.#writer.schedule(o, fileBatches(whole.rows), whole.holes, whole.checks);
      }
    }
    const report = this.#report;
    for (const { offGrid, ...hole } of holes) {
      appendGap(report.gaps, { ...hole, class: offGrid ? "off_grid" : classify(o, hole) });
    }
    this.#addAnomalies({ total: checks.total, items: checks.anomalies });
    this.#count(o, clipped.length);
    if (clipped.length > 0) {
      this.#first = Math.min(this.#first, clipped.columns.openTime[0]);
      this.#last = Math.max(this.#last, clipped.columns.openTime[clipped.length - 1]);
    }
    if (request.fill === "null") {
      return [nullFilledBatch(clipped, lo, hi, request.interval, request.includeSourceInfo)];
    }
    return batchesOf(clipped, request.includeSourceInfo);
  }

  /**
   * Merges a partition's segments and checks the rows in `[lo, hi)`: the
   * anomalies (rows off the grid among them, left out of the rows returned)
   * and the slots without an on-grid row, those holding a row printed off
   * the grid told apart.
   */
  #check(o: FetchedPartition, segments: readonly KlineSegment[], lo: number, hi: number) {
    const { interval, dataset } = this.#request;
    const merged = mergeSegments(segments);
    const volumes = datasetInfo(dataset ?? "klines").tradeVolumes;
    const checks = this.#recordedChecks(o, lo, hi) ??
      findAnomalies(merged.columns, merged.length, interval, 100, merged.ignored, volumes);
    const rows = onGridRows(merged, interval);
    const holes = splitAtOffGrid(
      findMissing(rows.columns.openTime, rows.length, lo, hi, interval),
      offGridOf(o, merged, checks.offGrid, interval),
      interval,
    );
    return { rows, checks, holes };
  }

  /** A cached partition inside the range, checked when written: no per-row work. */
  #fromCachedFile(o: FetchedPartition, cached: CachedPartition): RecordBatch[] | undefined {
    const plain = plainBatches(cached.batches);
    const { anomalies, rows, firstOpenTime: first, lastOpenTime: last } = cached.metadata;
    if (!plain || !anomalies) return undefined;
    if (rows > 0) {
      // Rows seen outside the range (in a clipped partition) may lie further out: keep them.
      this.#first = Math.min(this.#first, first!);
      this.#last = Math.max(this.#last, last!);
      this.#seenFirst = Math.min(this.#seenFirst, first!);
      this.#seenLast = Math.max(this.#seenLast, last!);
    }
    const report = this.#report;
    const interval = this.#request.interval;
    for (const gap of cached.metadata.gaps) {
      const slots = countSlots(gap.start, gap.end, interval);
      appendGap(report.gaps, {
        start: gap.start,
        end: gap.end,
        slots,
        class: gap.class ?? "exchange",
      });
    }
    this.#addAnomalies(anomalies);
    this.#count(o, rows);
    return this.#request.includeSourceInfo ? plain.map((b) => withDataSource(b, "CACHE")) : plain;
  }

  /**
   * The anomalies in `[lo, hi)` of a partition served by its cached file
   * alone, as recorded when it was written (the file keeps neither rows off
   * the grid nor `ignore` values, so they cannot be found again); undefined
   * when the record is absent or was cut at its limit.
   */
  #recordedChecks(o: FetchedPartition, lo: number, hi: number) {
    const record = o.cached?.metadata.anomalies;
    if (!record || o.segments.length !== 1 || record.items.length !== record.total) {
      return undefined;
    }
    const anomalies = record.items.filter((a) => a.openTime >= lo && a.openTime < hi);
    const offGrid = anomalies.filter((a) => a.kind === "off_grid").length;
    return { anomalies, total: anomalies.length, offGrid };
  }

  /** Adds a partition and its rows to the report and the progress. */
  #count(o: FetchedPartition, rows: number): void {
    o.report.rows = rows;
    this.#report.partitions.push(o.report);
    this.#report.rows += rows;
    this.#progress.rows += rows;
  }

  /** Counts a partition's anomalies and keeps the first hundred of the fetch. */
  #addAnomalies(found: KlineAnomalies): void {
    const report = this.#report;
    report.anomalyCount += found.total;
    report.anomalies.push(...found.items.slice(0, 100 - report.anomalies.length));
  }
}

/**
 * The slots of a partition that hold a row printed off the grid: found in
 * its merged rows (when the checks saw any), or recorded with its cached file.
 */
function offGridOf(
  o: FetchedPartition,
  merged: MergedRows,
  offGridRows: number,
  interval: Interval,
): TimeSpan[] {
  const recorded = o.knownGaps.filter((g) => g.class === "off_grid");
  if (offGridRows === 0) return recorded;
  const found = offGridSlots(merged.columns.openTime, merged.length, interval);
  if (recorded.length === 0) return found;
  const out: TimeSpan[] = [];
  for (const span of [...recorded, ...found].sort((a, b) => a.start - b.start)) {
    appendSpan(out, span);
  }
  return out;
}

/**
 * A partition's rows as the cache file's batches: one batch, so that a warm
 * read hands out one batch per partition (slices of a monthly archive would
 * often be two); the slices themselves when they are one already.
 */
function fileBatches(rows: MergedRows): RecordBatch[] {
  const slices = batchesOf(rows, false);
  return slices.length <= 1 ? slices : [klineBatch(rows.columns, rows.length)];
}

/** Batches of exactly the kline schema (no `_data_source`), else undefined. */
function plainBatches(batches: RecordBatch[]): RecordBatch[] | undefined {
  const plain = batches.every((b) => b.schema.fields.length === KLINE_SCHEMA.fields.length);
  return plain ? batches : undefined;
}
