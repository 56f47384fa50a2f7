import assert from "node:assert/strict";
import {
  Float64,
  Int64,
  makeData,
  makeVector,
  RecordBatch,
  Schema,
  Struct,
  Table,
  tableFromIPC,
  tableToIPC,
} from "apache-arrow";
import {
  allocKlineColumns,
  DATA_SOURCE_COLUMN,
  fixedColumn,
  KLINE_COLUMN_NAMES,
  KLINE_SCHEMA,
  KLINE_SCHEMA_WITH_SOURCE,
  klineBatch,
  klineColumnsOf,
  recordBatchOf,
  sliceKlineColumns,
} from "../../src/core/schema.ts";

Deno.test("KLINE_SCHEMA has the fixed columns and types of the design", () => {
  assert.deepEqual(KLINE_SCHEMA.fields.map((f) => f.name), [...KLINE_COLUMN_NAMES]);
  const types = KLINE_SCHEMA.fields.map((f) => String(f.type));
  assert.equal(types[0], "Timestamp<MILLISECOND, UTC>");
  assert.equal(types[6], "Timestamp<MILLISECOND, UTC>");
  assert.equal(types[8], "Int64");
  assert.equal(types.filter((t) => t === "Float64").length, 8);
  const last = KLINE_SCHEMA_WITH_SOURCE.fields.at(-1)!;
  assert.equal(last.name, DATA_SOURCE_COLUMN);
  assert.equal(String(last.type), "Dictionary<Int8, Utf8>");
});

Deno.test("klineBatch round-trips times beyond 2^32 and counts through Arrow IPC", () => {
  const cols = allocKlineColumns(3);
  cols.openTime.set([1735689600000, 1735689660000, 4102444740000]);
  cols.closeTime.set([1735689659999, 1735689719999, 4102444799999]);
  cols.count.set([0, 2 ** 40 + 3, 2687]);
  cols.open.set([93576, 0.1 + 0.2, -0]);
  const table = tableFromIPC(tableToIPC(new Table([klineBatch(cols)]), "file"));
  const back = klineColumnsOf(table.batches[0]);
  assert.deepEqual([...back.openTime], [...cols.openTime]);
  assert.deepEqual([...back.closeTime], [...cols.closeTime]);
  assert.deepEqual([...back.count], [...cols.count]);
  assert.ok(Object.is(back.open[2], -0));
  assert.equal(back.open[1], 0.1 + 0.2);
  assert.equal(table.getChild("count")?.get(1), 2n ** 40n + 3n);
});

Deno.test("klineBatch adds _data_source from one source or per-row codes", () => {
  const cols = allocKlineColumns(3);
  const one = klineBatch(cols, 2, "CACHE");
  assert.equal(one.numRows, 2);
  assert.deepEqual([...one.getChild(DATA_SOURCE_COLUMN)!], ["CACHE", "CACHE"]);
  const mixed = klineBatch(cols, 3, new Int8Array([2, 1, 0]));
  assert.deepEqual([...mixed.getChild(DATA_SOURCE_COLUMN)!], ["REST", "VISION", "CACHE"]);
  const table = new Table([one, mixed]);
  assert.deepEqual([...table.getChild(DATA_SOURCE_COLUMN)!], [
    "CACHE",
    "CACHE",
    "REST",
    "VISION",
    "CACHE",
  ]);
  assert.equal(klineBatch(cols).schema.fields.length, KLINE_SCHEMA.fields.length);
});

Deno.test("sliceKlineColumns views rows without copying", () => {
  const cols = allocKlineColumns(4);
  cols.open.set([1, 2, 3, 4]);
  const view = sliceKlineColumns(cols, 1, 3);
  assert.deepEqual([...view.open], [2, 3]);
  view.open[0] = 9;
  assert.equal(cols.open[1], 9);
});

function ramp(n: number, from: number): ReturnType<typeof allocKlineColumns> {
  const cols = allocKlineColumns(n);
  for (let i = 0; i < n; i++) {
    cols.openTime[i] = from + i * 60_000;
    cols.closeTime[i] = from + i * 60_000 + 59_999;
    cols.open[i] = 100 + i / 4;
    cols.count[i] = 2 ** 33 + i;
  }
  return cols;
}

Deno.test("recordBatchOf shares the schema and reads as new RecordBatch does", () => {
  const data = klineBatch(ramp(3, 1704067200000)).data;
  const batch = recordBatchOf(KLINE_SCHEMA, data);
  const reference = new RecordBatch(KLINE_SCHEMA, data);
  assert.ok(batch instanceof RecordBatch);
  assert.equal(batch.schema, KLINE_SCHEMA);
  assert.equal(batch.data, data);
  assert.equal(batch.numRows, 3);
  assert.equal(batch.numCols, KLINE_SCHEMA.fields.length);
  assert.equal(batch.schema.metadata.size, 0);
  for (const field of KLINE_SCHEMA.fields) {
    assert.deepEqual(
      batch.getChild(field.name)!.toArray(),
      reference.getChild(field.name)!.toArray(),
    );
  }
  assert.equal(batch.getChild("open_time")?.get(2), 1704067200000 + 120_000);
  assert.equal(batch.getChild("count")?.get(1), 2n ** 33n + 1n);
  assert.deepEqual(batch.get(0)?.toJSON(), reference.get(0)?.toJSON());
  assert.equal(batch.slice(1, 3).numRows, 2);
  assert.equal(batch.slice(1, 3).getChild("open")?.get(0), 100.25);
});

Deno.test("recordBatchOf batches make one Table with the same schema object", () => {
  const first = recordBatchOf(KLINE_SCHEMA, klineBatch(ramp(2, 1704067200000)).data);
  const second = recordBatchOf(KLINE_SCHEMA, klineBatch(ramp(3, 1704067320000)).data);
  const table = new Table([first, second]);
  assert.equal(table.schema, KLINE_SCHEMA);
  assert.equal(table.numRows, 5);
  assert.equal(table.batches.length, 2);
  assert.deepEqual([...table.getChild("open")!], [100, 100.25, 100, 100.25, 100.5]);
  assert.equal(table.getChild("open_time")?.get(4), 1704067320000 + 120_000);
  const back = tableFromIPC(tableToIPC(table, "file"));
  assert.deepEqual([...back.getChild("count")!], [...table.getChild("count")!]);
});

Deno.test("recordBatchOf keeps a schema's metadata and dictionary columns", () => {
  const schema = new Schema(KLINE_SCHEMA_WITH_SOURCE.fields, new Map([["k", "v"]]));
  const batch = recordBatchOf(schema, klineBatch(ramp(2, 0), 2, new Int8Array([1, 2])).data);
  assert.equal(batch.schema, schema);
  assert.equal(batch.schema.metadata.get("k"), "v");
  assert.deepEqual([...batch.getChild(DATA_SOURCE_COLUMN)!], ["VISION", "REST"]);
  const table = new Table([batch, batch]);
  assert.equal(table.schema, schema);
  assert.deepEqual([...table.getChild(DATA_SOURCE_COLUMN)!], ["VISION", "REST", "VISION", "REST"]);
});

Deno.test("fixedColumn views its values without copying and has no nulls", () => {
  const floats = new Float64Array([1.5, -0, NaN, 7]);
  const open = fixedColumn(KLINE_SCHEMA.fields[1].type, floats, 3);
  assert.equal(open.length, 3);
  assert.equal(open.nullCount, 0);
  assert.equal(open.values, floats);
  assert.equal(open.nullBitmap, undefined);
  const vector = makeVector(open);
  assert.equal(vector.length, 3);
  assert.equal(vector.get(0), 1.5);
  assert.ok(Object.is(vector.get(1), -0));
  assert.ok(Number.isNaN(vector.get(2)));
  floats[0] = 2;
  assert.equal(vector.get(0), 2);
  const times = fixedColumn(KLINE_SCHEMA.fields[0].type, new BigInt64Array([1704067200000n]), 1);
  assert.equal(makeVector(times).get(0), 1704067200000);
  assert.equal(String(times.type), "Timestamp<MILLISECOND, UTC>");
  const counts = fixedColumn(new Int64(), new BigInt64Array([2n ** 62n, -1n]), 2);
  assert.deepEqual([...makeVector(counts)], [2n ** 62n, -1n]);
  const data = makeData({
    type: new Struct(KLINE_SCHEMA.fields.slice(0, 2)),
    length: 1,
    nullCount: 0,
    children: [times, fixedColumn(new Float64(), new Float64Array([3.25]), 1)],
  });
  const batch = recordBatchOf(new Schema(KLINE_SCHEMA.fields.slice(0, 2)), data);
  assert.deepEqual(batch.get(0)?.toJSON(), { open_time: 1704067200000, open: 3.25 });
});
