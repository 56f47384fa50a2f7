import assert from "node:assert/strict";
import { Table, tableFromIPC, tableToIPC } from "apache-arrow";
import { FUNDING_COLUMNS } from "../../src/core/dataset.ts";
import {
  allocFundingColumns,
  FUNDING_SCHEMA,
  FUNDING_SCHEMA_WITH_SOURCE,
  fundingBatch,
  type FundingColumns,
  fundingColumnsOf,
  setValid,
} from "../../src/core/funding_schema.ts";
import { DATA_SOURCE_COLUMN, KLINE_SCHEMA_WITH_SOURCE } from "../../src/core/schema.ts";

/** `n` rows 8 hours apart; interval hours on rows where `i % 3 !== 0`, mark price on odd rows. */
function columns(n: number): FundingColumns {
  const c = allocFundingColumns(n);
  for (let i = 0; i < n; i++) {
    c.fundingTime[i] = Date.UTC(2024, 0, 1) + i * 28_800_000 + (i % 3);
    c.fundingRate[i] = i % 2 === 0 ? 0.0001 : -0.0000375 * i;
    if (i % 3 !== 0) {
      c.fundingIntervalHours[i] = 8;
      setValid(c.fundingIntervalHoursValid, i);
    }
    if (i % 2 === 1) {
      c.markPrice[i] = 42_000 + i / 8;
      setValid(c.markPriceValid, i);
    }
  }
  return c;
}

function values(table: Table, name: string): unknown[] {
  return [...table.getChild(name)!];
}

Deno.test("FUNDING_SCHEMA has the dataset's columns, types and nullability", () => {
  assert.deepEqual(FUNDING_SCHEMA.fields.map((f) => f.name), [...FUNDING_COLUMNS]);
  assert.deepEqual(FUNDING_SCHEMA.fields.map((f) => f.nullable), [false, false, true, true]);
  assert.deepEqual(FUNDING_SCHEMA.fields.map((f) => String(f.type)), [
    "Timestamp<MILLISECOND, UTC>",
    "Float64",
    "Int64",
    "Float64",
  ]);
  const source = FUNDING_SCHEMA_WITH_SOURCE.fields[4];
  assert.equal(source.name, DATA_SOURCE_COLUMN);
  assert.equal(source, KLINE_SCHEMA_WITH_SOURCE.fields[11]);
});

Deno.test("fundingBatch shares the schema and round-trips nulls through arrow-js IPC", () => {
  const cols = columns(11);
  const batches = [fundingBatch(cols, 11), fundingBatch(columns(3), 3)];
  assert.equal(batches[0].schema, FUNDING_SCHEMA);
  assert.equal(batches[1].schema, FUNDING_SCHEMA);
  const table = tableFromIPC(tableToIPC(new Table(batches), "file"));
  assert.equal(table.numRows, 14);
  const interval = values(table, "funding_interval_hours");
  assert.deepEqual(interval.slice(0, 4), [null, 8n, 8n, null]);
  const mark = values(table, "mark_price");
  assert.deepEqual(mark.slice(0, 4), [null, 42_000.125, null, 42_000.375]);
  assert.equal(table.getChild("mark_price")!.nullCount, 6 + 2);
  assert.deepEqual(values(table, "funding_time").slice(0, 3), [
    Date.UTC(2024, 0, 1),
    Date.UTC(2024, 0, 1) + 28_800_001,
    Date.UTC(2024, 0, 1) + 57_600_002,
  ]);
  assert.ok(Object.is(table.getChild("funding_rate")!.get(0), 0.0001));
});

Deno.test("fundingBatch leaves out the bitmap of a column without nulls, keeps all-null columns", () => {
  const cols = allocFundingColumns(9);
  for (let i = 0; i < 9; i++) setValid(cols.fundingIntervalHoursValid, i);
  const batch = fundingBatch(cols);
  const interval = batch.getChild("funding_interval_hours")!.data[0];
  assert.equal(interval.nullCount, 0);
  assert.equal(interval.nullBitmap?.length ?? 0, 0);
  const mark = batch.getChild("mark_price")!;
  assert.equal(mark.nullCount, 9);
  assert.deepEqual([...mark], new Array(9).fill(null));
});

Deno.test("fundingBatch uses only the first length rows and bits", () => {
  const cols = columns(16);
  const batch = fundingBatch(cols, 5);
  assert.equal(batch.numRows, 5);
  assert.equal(batch.getChild("funding_interval_hours")!.nullCount, 2);
  assert.equal(batch.getChild("mark_price")!.nullCount, 3);
  assert.equal(fundingBatch(cols, 0).numRows, 0);
});

Deno.test("fundingBatch adds _data_source from one source or per-row codes", () => {
  const cols = columns(3);
  const one = fundingBatch(cols, 3, "VISION");
  assert.equal(one.schema, FUNDING_SCHEMA_WITH_SOURCE);
  assert.deepEqual([...one.getChild(DATA_SOURCE_COLUMN)!], ["VISION", "VISION", "VISION"]);
  const mixed = fundingBatch(cols, 3, new Int8Array([2, 0, 1]));
  const table = new Table([one, mixed]);
  assert.deepEqual(values(table, DATA_SOURCE_COLUMN).slice(3), ["REST", "CACHE", "VISION"]);
  const back = tableFromIPC(tableToIPC(table, "file"));
  assert.deepEqual(values(back, DATA_SOURCE_COLUMN), values(table, DATA_SOURCE_COLUMN));
});

Deno.test("fundingColumnsOf reads times beyond 2^32 and bitmaps back, also from a slice", () => {
  const cols = columns(20);
  cols.fundingTime[19] = 4102444800000;
  const batch = fundingBatch(cols);
  const back = fundingColumnsOf(batch);
  assert.deepEqual([...back.fundingTime], [...cols.fundingTime]);
  assert.deepEqual([...back.fundingRate], [...cols.fundingRate]);
  assert.deepEqual([...back.fundingIntervalHoursValid], [...cols.fundingIntervalHoursValid]);
  assert.deepEqual([...back.markPriceValid], [...cols.markPriceValid]);
  const slice = fundingColumnsOf(batch.slice(3, 14));
  assert.deepEqual([...slice.fundingTime], [...cols.fundingTime.subarray(3, 14)]);
  const expected = allocFundingColumns(11);
  for (let i = 0; i < 11; i++) {
    if ((i + 3) % 3 !== 0) setValid(expected.fundingIntervalHoursValid, i);
    if ((i + 3) % 2 === 1) setValid(expected.markPriceValid, i);
  }
  assert.deepEqual(slice.fundingIntervalHoursValid, expected.fundingIntervalHoursValid);
  assert.deepEqual(slice.markPriceValid, expected.markPriceValid);
});

Deno.test("fundingColumnsOf sets exactly length bits for a column without nulls", () => {
  const cols = allocFundingColumns(10);
  for (let i = 0; i < 10; i++) setValid(cols.markPriceValid, i);
  assert.deepEqual([...fundingColumnsOf(fundingBatch(cols)).markPriceValid], [255, 3]);
});
