/**
 * Reading and checking trade rows as they pass through a fetch: the int64
 * id and time columns read in place (no per-row allocation), a day's rows
 * checked against its day, the first and last days clipped to the range,
 * and holes in the id sequence found across the rows returned.
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";
import { NetworkError } from "../core/errors.ts";
import type { Partition } from "../core/partition.ts";

const TWO_32 = 4294967296;

/** Index of the time column in both trade schemas (`transact_time`, `time`). */
const TIME = 5;

/** An int64 column of a batch as 32-bit halves (little-endian), a view. */
export function int64Halves(batch: RecordBatch, column: number): Int32Array {
  const values = batch.data.children[column].values as BigInt64Array;
  return new Int32Array(values.buffer, values.byteOffset, batch.numRows * 2);
}

/** Value `row` of int64 halves (ids and µs times are below 2^53). */
export function int64At(halves: Int32Array, row: number): number {
  return halves[2 * row + 1] * TWO_32 + (halves[2 * row] >>> 0);
}

/** A run of ids missing between two rows returned. */
export interface TradeIdGap {
  /** First missing id. */
  fromId: number;
  /** Last missing id. */
  toId: number;
  /** Time of the row before the hole, epoch µs. */
  after: number;
  /** Time of the row after the hole, epoch µs. */
  before: number;
}

/** Holes kept in a report; beyond this they are only counted. */
export const MAX_ID_GAPS_LISTED = 1000;

/**
 * Follows the id sequence of the rows returned, in order, and records every
 * hole. `reset` forgets the last row (after a day no source served: its ids
 * are missing for a known reason).
 */
export class IdSequence {
  readonly gaps: TradeIdGap[] = [];
  /** Holes found, listed or not. */
  count = 0;
  /** Ids missing in all. */
  missing = 0;
  #lastId = -1;
  #lastTime = 0;

  /** Feeds the next batch of rows returned. */
  feed(batch: RecordBatch): void {
    const n = batch.numRows;
    if (n === 0) return;
    const ids = int64Halves(batch, 0);
    const times = int64Halves(batch, TIME);
    let last = this.#lastId;
    for (let i = 0; i < n; i++) {
      const id = int64At(ids, i);
      if (last >= 0 && id !== last + 1) {
        this.count++;
        this.missing += id - last - 1;
        if (this.gaps.length < MAX_ID_GAPS_LISTED) {
          const before = int64At(times, i);
          const after = i > 0 ? int64At(times, i - 1) : this.#lastTime;
          this.gaps.push({ fromId: last + 1, toId: id - 1, after, before });
        }
      }
      last = id;
    }
    this.#lastId = last;
    this.#lastTime = int64At(times, n - 1);
  }

  /** Forgets the last row. */
  reset(): void {
    this.#lastId = -1;
  }
}

/**
 * Checks that a day's rows lie in the day, ids strictly increasing and
 * times never going back.
 *
 * @throws {NetworkError} Naming `url` and the first offending row (the
 *   source's rows are not used).
 */
export function checkTradeDay(
  batches: readonly RecordBatch[],
  day: Partition,
  url: string,
): void {
  const lo = day.start * 1000;
  const hi = day.end * 1000;
  let lastId = -1;
  let lastTime = lo;
  for (const batch of batches) {
    const ids = int64Halves(batch, 0);
    const times = int64Halves(batch, TIME);
    for (let i = 0; i < batch.numRows; i++) {
      const id = int64At(ids, i);
      const time = int64At(times, i);
      if (id <= lastId || time < lastTime || time >= hi) {
        const why = id <= lastId
          ? `id ${id} follows id ${lastId}`
          : time >= hi || time < lo
          ? `trade ${id} at ${time} µs lies outside ${day.key}`
          : `trade ${id} at ${time} µs is earlier than the trade before it`;
        throw new NetworkError(url, `Cannot use ${url}: ${why}`);
      }
      lastId = id;
      lastTime = time;
    }
  }
}

/** First row of `batches` (as [batch, row]) whose time is at least `t` µs. */
function firstAtOrAfter(batches: readonly RecordBatch[], t: number): [number, number] {
  for (let b = 0; b < batches.length; b++) {
    const n = batches[b].numRows;
    if (n === 0) continue;
    const times = int64Halves(batches[b], TIME);
    if (int64At(times, n - 1) < t) continue;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (int64At(times, mid) < t) lo = mid + 1;
      else hi = mid;
    }
    return [b, lo];
  }
  return [batches.length, 0];
}

/**
 * The rows of `batches` (times non-decreasing) with time in `[start, end)`
 * ms, as zero-copy slices.
 */
export function clipTrades(
  batches: readonly RecordBatch[],
  start: number,
  end: number,
): RecordBatch[] {
  const [b0, r0] = firstAtOrAfter(batches, start * 1000);
  const [b1, r1] = firstAtOrAfter(batches, end * 1000);
  const out: RecordBatch[] = [];
  for (let b = b0; b <= b1 && b < batches.length; b++) {
    const from = b === b0 ? r0 : 0;
    const to = b === b1 ? r1 : batches[b].numRows;
    if (to <= from) continue;
    out.push(from === 0 && to === batches[b].numRows ? batches[b] : batches[b].slice(from, to));
  }
  return out;
}

/** Rows in all batches. */
export function rowsOf(batches: readonly RecordBatch[]): number {
  let rows = 0;
  for (const b of batches) rows += b.numRows;
  return rows;
}
