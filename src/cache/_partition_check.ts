/**
 * The completeness rule for cache writes: every open time lies on the
 * interval's grid inside the partition, and every grid slot without a row
 * lies in a confirmed exchange gap.
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";
import type { KlineGap } from "../codec/kline_ipc.ts";
import { ceilOpenTime, type Interval, isOnGrid, nextOpenTime } from "../core/interval.ts";
import type { Partition } from "../core/partition.ts";

const iso = (t: number) => new Date(t).toISOString();

function mergeGaps(gaps: readonly KlineGap[]): KlineGap[] {
  const sorted = [...gaps].sort((a, b) => a.start - b.start);
  const out: KlineGap[] = [];
  for (const g of sorted) {
    const last = out[out.length - 1];
    if (last && g.start <= last.end) last.end = Math.max(last.end, g.end);
    else out.push({ start: g.start, end: g.end });
  }
  return out;
}

/**
 * Returns why the rows are not a complete partition, or undefined when they are.
 *
 * @param batches Kline batches in any schema whose first column is open_time (Int64/Timestamp).
 * @param interval The interval.
 * @param partition The partition's bounds.
 * @param gaps Confirmed exchange gaps, `[start, end)` epoch ms.
 */
export function incompleteness(
  batches: readonly RecordBatch[],
  interval: Interval,
  partition: Partition,
  gaps: readonly KlineGap[] = [],
): string | undefined {
  for (const g of gaps) {
    if (!Number.isSafeInteger(g.start) || !Number.isSafeInteger(g.end) || g.start >= g.end) {
      return `gap ${JSON.stringify(g)} is not a [start, end) range of epoch ms`;
    }
  }
  const merged = mergeGaps(gaps);
  let gi = 0;
  const covered = (slot: number) => {
    while (gi < merged.length && merged[gi].end <= slot) gi++;
    return gi < merged.length && merged[gi].start <= slot;
  };
  let expected = ceilOpenTime(partition.start, interval);
  let prev = -Infinity;
  for (const batch of batches) {
    const values = batch.data.children[0].values as BigInt64Array;
    const halves = new Int32Array(values.buffer, values.byteOffset, batch.numRows * 2);
    for (let i = 0; i < batch.numRows; i++) {
      const t = halves[2 * i + 1] * 4294967296 + (halves[2 * i] >>> 0);
      if (t < partition.start || t >= partition.end) {
        return `open_time ${iso(t)} lies outside partition "${partition.key}"`;
      }
      if (!(t > prev)) return `open_time ${t} does not follow ${prev}`;
      if (!isOnGrid(t, interval)) return `open_time ${iso(t)} is not on the ${interval} grid`;
      for (; expected < t; expected = nextOpenTime(expected, interval)) {
        if (!covered(expected)) return `the candle opening at ${iso(expected)} is missing`;
      }
      expected = nextOpenTime(t, interval);
      prev = t;
    }
  }
  for (; expected < partition.end; expected = nextOpenTime(expected, interval)) {
    if (!covered(expected)) return `the candle opening at ${iso(expected)} is missing`;
  }
  return undefined;
}
