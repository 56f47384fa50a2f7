import assert from "node:assert/strict";
import {
  allocKlineColumns,
  type DataSource,
  dataSourceCode,
  klineBatch,
} from "../../src/core/schema.ts";
import {
  clipSegment,
  type KlineSegment,
  mergeSegments,
  segmentOf,
} from "../../src/fcp/kline_segment.ts";

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
