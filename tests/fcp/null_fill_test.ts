import assert from "node:assert/strict";
import type { RecordBatch } from "apache-arrow";
import { allocKlineColumns, dataSourceCode } from "../../src/core/schema.ts";
import { nullFilledBatch } from "../../src/fcp/null_fill.ts";
import type { MergedRows } from "../../src/fcp/kline_segment.ts";

const H = 3_600_000;

function col(batch: RecordBatch, name: string): unknown[] {
  const v = batch.getChild(name)!;
  return Array.from({ length: v.length }, (_, i) => {
    const x = v.get(i);
    return typeof x === "bigint" ? Number(x) : x;
  });
}

function merged(times: number[], step = H): MergedRows {
  const columns = allocKlineColumns(times.length);
  times.forEach((t, i) => {
    columns.openTime[i] = t;
    columns.closeTime[i] = t + step - 1;
    columns.close[i] = 100 + i;
    columns.count[i] = 7;
  });
  return {
    columns,
    length: times.length,
    sources: new Int8Array(times.length).fill(dataSourceCode("REST")),
  };
}

Deno.test("nullFilledBatch returns one row per slot with nulls where candles are missing", () => {
  const batch = nullFilledBatch(merged([0, 2 * H]), 0, 4 * H, "1h", true);
  assert.equal(batch.numRows, 4);
  assert.deepEqual(col(batch, "open_time"), [0, H, 2 * H, 3 * H]);
  assert.deepEqual(
    col(batch, "close_time"),
    [H - 1, 2 * H - 1, 3 * H - 1, 4 * H - 1],
  );
  const close = batch.getChild("close")!;
  assert.deepEqual([0, 1, 2, 3].map((i) => close.get(i)), [100, null, 101, null]);
  assert.equal(close.nullCount, 2);
  const count = batch.getChild("count")!;
  assert.deepEqual([0, 1].map((i) => count.get(i)), [7n, null]);
  const source = batch.getChild("_data_source")!;
  assert.deepEqual([0, 1, 2, 3].map((i) => source.get(i)), ["REST", null, "REST", null]);
  assert.equal(batch.getChild("open_time")!.nullCount, 0);
  assert.ok(batch.schema.fields.find((f) => f.name === "close")!.nullable);
});

Deno.test("nullFilledBatch without source info has no _data_source column", () => {
  const batch = nullFilledBatch(merged([H]), 0, 2 * H, "1h", false);
  assert.equal(batch.getChild("_data_source"), null);
  assert.equal(batch.numRows, 2);
  assert.equal(batch.getChild("open")!.get(0), null);
});

Deno.test("nullFilledBatch of a complete run has no nulls", () => {
  const batch = nullFilledBatch(merged([0, H, 2 * H]), 0, 3 * H, "1h", true);
  assert.equal(batch.getChild("close")!.nullCount, 0);
  assert.deepEqual(col(batch, "close"), [100, 101, 102]);
});

Deno.test("nullFilledBatch of an empty range is empty", () => {
  assert.equal(nullFilledBatch(merged([]), H, H, "1h", true).numRows, 0);
});

Deno.test("nullFilledBatch of no rows is all nulls", () => {
  const batch = nullFilledBatch(merged([]), 0, 3 * H, "1h", true);
  assert.equal(batch.numRows, 3);
  assert.equal(batch.getChild("high")!.nullCount, 3);
});

Deno.test("nullFilledBatch starts an off-grid month partition on the weekly grid", () => {
  const nov = Date.UTC(2024, 10, 1), dec = Date.UTC(2024, 11, 1);
  const week = 7 * 86_400_000;
  const batch = nullFilledBatch(merged([Date.UTC(2024, 10, 11)], week), nov, dec, "1w", true);
  assert.deepEqual(
    col(batch, "open_time"),
    [4, 11, 18, 25].map((d) => Date.UTC(2024, 10, d)),
  );
  assert.deepEqual([0, 1, 2, 3].map((i) => batch.getChild("close")!.get(i)), [
    null,
    100,
    null,
    null,
  ]);
});

Deno.test("nullFilledBatch walks calendar months for 1M", () => {
  const jan = Date.UTC(2024, 0, 1);
  const batch = nullFilledBatch(merged([], 0), jan, Date.UTC(2024, 3, 1), "1M", true);
  assert.deepEqual(
    col(batch, "close_time"),
    [Date.UTC(2024, 1, 1) - 1, Date.UTC(2024, 2, 1) - 1, Date.UTC(2024, 3, 1) - 1],
  );
});
