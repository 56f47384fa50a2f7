import assert from "node:assert/strict";
import { Table, tableFromIPC, tableToIPC } from "apache-arrow";
import {
  allocKlineColumns,
  DATA_SOURCE_COLUMN,
  KLINE_COLUMN_NAMES,
  KLINE_SCHEMA,
  KLINE_SCHEMA_WITH_SOURCE,
  klineBatch,
  klineColumnsOf,
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
