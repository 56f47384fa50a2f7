import assert from "node:assert/strict";
import {
  allocKlineColumns,
  type DataSource,
  dataSourceCode,
  klineBatch,
} from "../../src/core/schema.ts";
import {
  batchesOf,
  clipSegment,
  type KlineSegment,
  mergeSegments,
  segmentOf,
} from "../../src/fcp/kline_segment.ts";
import { onGridRows } from "../../src/fcp/kline_checks.ts";

const M = 60_000;

/** Rows at minutes `at`, with close = minute + a per-source offset to tell them apart. */
function seg(source: DataSource, at: number[], offset = 0): KlineSegment {
  const c = allocKlineColumns(at.length);
  at.forEach((m, i) => {
    c.openTime[i] = m * M;
    c.closeTime[i] = m * M + M - 1;
    c.close[i] = m + offset;
  });
  return { columns: c, length: at.length, source };
}

const closes = (
  m: { columns: { close: Float64Array }; length: number },
) => [...m.columns.close.subarray(0, m.length)];
const times = (m: { columns: { openTime: Float64Array }; length: number }) =>
  [...m.columns.openTime.subarray(0, m.length)].map((t) => t / M);
const codes = (...s: DataSource[]) => s.map(dataSourceCode);

Deno.test("mergeSegments concatenates disjoint segments in time order whatever their order", () => {
  const m = mergeSegments([seg("REST", [5, 6]), seg("VISION", [0, 1, 2])]);
  assert.deepEqual(times(m), [0, 1, 2, 5, 6]);
  assert.deepEqual([...m.sources], codes("VISION", "VISION", "VISION", "REST", "REST"));
});

Deno.test("mergeSegments prefers REST over CACHE over VISION on the same open time", () => {
  const m = mergeSegments([
    seg("VISION", [0, 1, 2, 3], 0.1),
    seg("CACHE", [1, 2, 3], 0.2),
    seg("REST", [2, 4], 0.3),
  ]);
  assert.deepEqual(times(m), [0, 1, 2, 3, 4]);
  assert.deepEqual(closes(m), [0.1, 1.2, 2.3, 3.2, 4.3]);
  assert.deepEqual([...m.sources], codes("VISION", "CACHE", "REST", "CACHE", "REST"));
});

Deno.test("mergeSegments keeps precedence whatever the order of the segments", () => {
  const a = mergeSegments([seg("REST", [1], 0.3), seg("VISION", [0, 1, 2], 0.1)]);
  const b = mergeSegments([seg("VISION", [0, 1, 2], 0.1), seg("REST", [1], 0.3)]);
  assert.deepEqual(closes(a), [0.1, 1.3, 2.1]);
  assert.deepEqual(closes(b), closes(a));
});

Deno.test("mergeSegments drops duplicates inside one segment and sorts an unsorted one", () => {
  const m = mergeSegments([seg("VISION", [2, 0, 1, 1])]);
  assert.deepEqual(times(m), [0, 1, 2]);
});

Deno.test("mergeSegments of nothing, or of empty segments, is empty", () => {
  assert.equal(mergeSegments([]).length, 0);
  assert.equal(mergeSegments([seg("REST", []), seg("VISION", [])]).length, 0);
});

Deno.test("mergeSegments of one segment keeps its rows and tags them", () => {
  const m = mergeSegments([seg("CACHE", [0, 1])]);
  assert.deepEqual(times(m), [0, 1]);
  assert.deepEqual([...m.sources], codes("CACHE", "CACHE"));
});

Deno.test("mergeSegments copies every column of the winning row", () => {
  const v = seg("VISION", [0]);
  const r = seg("REST", [0]);
  v.columns.volume[0] = 1;
  r.columns.volume[0] = 2;
  r.columns.count[0] = 9;
  const m = mergeSegments([r, v, seg("VISION", [1])]);
  assert.deepEqual([...m.columns.volume], [2, 0]);
  assert.deepEqual([...m.columns.count], [9, 0]);
});

Deno.test("clipSegment keeps [start, end) as a view", () => {
  const s = seg("VISION", [0, 1, 2, 3, 4]);
  const c = clipSegment(s, 1 * M, 3 * M);
  assert.deepEqual(times(c), [1, 2]);
  assert.equal(c.source, "VISION");
  assert.equal(clipSegment(s, 0, 5 * M), s);
  assert.equal(clipSegment(s, 10 * M, 20 * M).length, 0);
  assert.equal(clipSegment(s, 2 * M + 1, 3 * M).length, 0);
});

Deno.test("segmentOf joins batches and reads them back", () => {
  const a = seg("REST", [0, 1]);
  const b = seg("REST", [2]);
  const s = segmentOf([klineBatch(a.columns, 2), klineBatch(b.columns, 1)], "REST");
  assert.equal(s.length, 3);
  assert.deepEqual(times(s), [0, 1, 2]);
  assert.deepEqual(closes(s), [0, 1, 2]);
  assert.equal(segmentOf([], "VISION").length, 0);
  assert.equal(segmentOf([klineBatch(a.columns, 2)], "CACHE").length, 2);
});

/** A segment read from Arrow batches (two of them), as the sources give. */
function arrowSeg(source: DataSource, at: number[], offset = 0): KlineSegment {
  const rows = seg(source, at, offset);
  const half = Math.ceil(at.length / 2);
  const part = (from: number, to: number) => {
    const c = allocKlineColumns(to - from);
    for (const key of Object.keys(c) as (keyof typeof c)[]) {
      c[key].set(rows.columns[key].subarray(from, to));
    }
    return klineBatch(c, to - from);
  };
  return segmentOf([part(0, half), part(half, at.length)], source);
}

Deno.test("batchesOf gives slices of the sources' own batches, one source per slice", () => {
  const vision = arrowSeg("VISION", [0, 1, 2, 3, 4, 5], 0.1);
  const rest = arrowSeg("REST", [3, 4], 0.3);
  const merged = mergeSegments([clipSegment(vision, M, 6 * M), rest]);
  const out = batchesOf(merged, true);
  // VISION 1-2, REST 3 and 4 (wins; its two batches), VISION 5 (the Vision batch after row 3).
  assert.deepEqual(out.map((b) => b.numRows), [2, 1, 1, 1]);
  assert.deepEqual(out.flatMap((b) => [...b.getChild("_data_source")!]), [
    "VISION",
    "VISION",
    "REST",
    "REST",
    "VISION",
  ]);
  assert.deepEqual(out.flatMap((b) => [...b.getChild("close")!]), [1.1, 2.1, 3.3, 4.3, 5.1]);
  // No copy: the first slice views the Vision batch's own buffer.
  const visionClose = vision.batches![0].getChild("close")!.data[0].values;
  assert.equal(out[0].getChild("close")!.data[0].values.buffer, visionClose.buffer);
  assert.ok(batchesOf(merged, false).every((b) => b.schema.fields.length === 11));
});

Deno.test("batchesOf leaves out rows off the grid, splitting the slice around them", () => {
  const s = arrowSeg("VISION", [0, 1, 2.5, 3]);
  const kept = onGridRows(mergeSegments([s]), "1m");
  const out = batchesOf(kept, false);
  assert.deepEqual(out.flatMap((b) => [...b.getChild("open_time")!]).map(Number), [0, M, 3 * M]);
  assert.deepEqual(out.map((b) => b.numRows), [2, 1]);
});

Deno.test("batchesOf builds batches for rows read from no Arrow batch", () => {
  const out = batchesOf(mergeSegments([seg("REST", [0, 1])]), true);
  assert.equal(out.length, 1);
  assert.deepEqual([...out[0].getChild("_data_source")!], ["REST", "REST"]);
});
