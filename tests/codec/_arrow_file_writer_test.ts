import assert from "node:assert/strict";
import { RecordBatchReader, tableFromIPC } from "apache-arrow";
import pl from "nodejs-polars";
import {
  type ArrowFieldInfo,
  readArrowBatch,
  readArrowFooter,
} from "../../src/codec/_arrow_file_reader.ts";
import { type ArrowBatchOut, writeArrowFile } from "../../src/codec/_arrow_file_writer.ts";

const FIELDS: ArrowFieldInfo[] = [
  { name: "t", typeId: 10, param: 1, flag: true, timezone: "UTC" },
  { name: "x", typeId: 3, param: 2, flag: false },
  { name: "n", typeId: 2, param: 64, flag: true },
];

function batch(length: number, from: number): ArrowBatchOut {
  const t = new BigInt64Array(length);
  const x = new Float64Array(length);
  const n = new BigInt64Array(length);
  for (let i = 0; i < length; i++) {
    t[i] = BigInt(Date.UTC(2024, 0, 1) + (from + i) * 60_000);
    x[i] = (from + i) / 8 - 3;
    n[i] = BigInt(from + i) * 1_000_000_007n;
  }
  return { length, values: [t, x, n] };
}

function file(batches: ArrowBatchOut[], meta = new Map([["k", "v"]])): Uint8Array {
  return writeArrowFile(FIELDS, () => meta, batches);
}

Deno.test("writeArrowFile output reads back in arrow-js with the same values, types and metadata", () => {
  const bytes = file([batch(3, 0), batch(5, 3)], new Map([["a", "1"], ["b", "é ü"]]));
  const table = tableFromIPC(bytes);
  assert.equal(table.numRows, 8);
  assert.equal(table.batches.length, 2);
  assert.deepEqual(table.schema.fields.map((f) => `${f.name} ${f.type} ${f.nullable}`), [
    "t Timestamp<MILLISECOND, UTC> false",
    "x Float64 false",
    "n Int64 false",
  ]);
  assert.deepEqual([...table.schema.metadata], [["a", "1"], ["b", "é ü"]]);
  const x = table.getChild("x")!.toArray() as Float64Array;
  assert.deepEqual([...x], [0, 1, 2, 3, 4, 5, 6, 7].map((i) => i / 8 - 3));
  assert.equal(table.getChild("n")!.get(7), 7n * 1_000_000_007n);
  assert.equal(table.getChild("t")!.get(0), Date.UTC(2024, 0, 1));
});

Deno.test("writeArrowFile output reads back in Polars", () => {
  const bytes = file([batch(4, 10)]);
  const df = pl.readIPC(Buffer.from(bytes));
  assert.deepEqual(df.shape, { height: 4, width: 3 });
  assert.deepEqual(df.getColumn("x").toArray(), [10, 11, 12, 13].map((i) => i / 8 - 3));
  assert.equal(String(df.dtypes[0]), "DataType(Datetime(ms,UTC))");
});

Deno.test("writeArrowFile keeps float bits exactly: -0, NaN, infinities, subnormals", () => {
  const b = batch(5, 0);
  const x = b.values[1] as Float64Array;
  x.set([-0, NaN, Infinity, -Infinity, 5e-324]);
  const bytes = file([b]);
  const footer = readArrowFooter(bytes)!;
  const layout = readArrowBatch(bytes, footer.blocks[0], 3)!;
  const { offset } = layout.values[1];
  const back = new Float64Array(bytes.slice(offset, offset + 40).buffer);
  assert.deepEqual(
    new Uint8Array(back.buffer),
    new Uint8Array(x.buffer, x.byteOffset, 40),
  );
  assert.ok(Object.is(back[0], -0));
});

Deno.test("writeArrowFile output matches the reader's view of fields, blocks and value ranges", () => {
  const bytes = file([batch(2, 0), batch(7, 2)]);
  const footer = readArrowFooter(bytes)!;
  assert.deepEqual(footer.fields, FIELDS);
  assert.deepEqual([...footer.metadata], [["k", "v"]]);
  assert.equal(footer.blocks.length, 2);
  const layout = readArrowBatch(bytes, footer.blocks[1], 3)!;
  assert.equal(layout.length, 7);
  for (const { offset, length } of layout.values) {
    assert.equal(offset % 8, 0);
    assert.equal(length, 56);
  }
});

Deno.test("writeArrowFile hands the footer callback exactly the bytes between the magic and the footer", () => {
  let seen: Uint8Array | undefined;
  const bytes = writeArrowFile(FIELDS, (body) => {
    seen = body.slice();
    return new Map([["size", String(body.length)]]);
  }, [batch(3, 0)]);
  const view = new DataView(bytes.buffer);
  const footerLength = view.getInt32(bytes.length - 10, true);
  const body = bytes.subarray(8, bytes.length - 10 - footerLength);
  assert.deepEqual(seen, body);
  assert.equal(readArrowFooter(bytes)!.metadata.get("size"), String(body.length));
});

Deno.test("writeArrowFile writes footer metadata whose size depends on the body", () => {
  const bytes = writeArrowFile(
    FIELDS,
    (body) => new Map([["long", "x".repeat(body.length)]]),
    [batch(3, 0)],
  );
  const table = tableFromIPC(bytes);
  assert.equal(table.numRows, 3);
  const bodyLength = bytes.length - 10 -
    new DataView(bytes.buffer).getInt32(bytes.length - 10, true) - 8;
  assert.equal(table.schema.metadata.get("long"), "x".repeat(bodyLength));
  assert.equal(readArrowFooter(bytes)!.metadata.get("long")!.length, bodyLength);
});

Deno.test("writeArrowFile writes a file without batches and one with an empty batch", () => {
  const none = tableFromIPC(file([]));
  assert.equal(none.numRows, 0);
  assert.equal(none.schema.fields.length, 3);
  const empty = [...RecordBatchReader.from(file([batch(0, 0)]))];
  assert.equal(empty.length, 1);
  assert.equal(empty[0].numRows, 0);
});

Deno.test("writeArrowFile output is byte-identical for the same input (cached headers)", () => {
  assert.deepEqual(file([batch(6, 1)]), file([batch(6, 1)]));
  assert.notDeepEqual(file([batch(6, 1)]), file([batch(6, 2)]));
});

Deno.test("writeArrowFile rejects short columns, a wrong column count and other types", () => {
  const short = batch(4, 0);
  short.values[2] = new BigInt64Array(3);
  assert.throws(() => file([short]), RangeError);
  const missing = batch(2, 0);
  missing.values.pop();
  assert.throws(() => file([missing]), RangeError);
  const utf8: ArrowFieldInfo = { name: "s", typeId: 5, param: 0, flag: false };
  assert.throws(() => writeArrowFile([utf8], () => new Map(), []), TypeError);
});
