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

const NULLABLE: ArrowFieldInfo[] = [
  { name: "t", typeId: 10, param: 1, flag: true, timezone: "UTC" },
  { name: "h", typeId: 2, param: 64, flag: true, nullable: true },
  { name: "p", typeId: 3, param: 2, flag: false, nullable: true },
];

/** `length` rows; `h` null on multiples of 3, `p` null everywhere or on odd rows. */
function nullableBatch(length: number, allNull = false): ArrowBatchOut {
  const t = new BigInt64Array(length);
  const h = new BigInt64Array(length);
  const p = new Float64Array(length);
  const hBits = new Uint8Array(Math.ceil(length / 8)).fill(255); // bits past length set too
  const pBits = new Uint8Array(Math.ceil(length / 8));
  let hNulls = 0;
  let pNulls = 0;
  for (let i = 0; i < length; i++) {
    t[i] = BigInt(Date.UTC(2024, 0, 1) + i * 3_600_000);
    h[i] = BigInt(i % 24 + 1);
    p[i] = 42_000 + i / 4;
    if (i % 3 === 0) {
      hBits[i >> 3] &= ~(1 << (i & 7));
      hNulls++;
    }
    if (allNull || i % 2 === 1) pNulls++;
    else pBits[i >> 3] |= 1 << (i & 7);
  }
  return {
    length,
    values: [t, h, p],
    nulls: [undefined, { count: hNulls, bitmap: hBits }, { count: pNulls, bitmap: pBits }],
  };
}

function expectedNullable(length: number, allNull = false): { h: unknown[]; p: unknown[] } {
  const h: unknown[] = [];
  const p: unknown[] = [];
  for (let i = 0; i < length; i++) {
    h.push(i % 3 === 0 ? null : BigInt(i % 24 + 1));
    p.push(allNull || i % 2 === 1 ? null : 42_000 + i / 4);
  }
  return { h, p };
}

Deno.test("writeArrowFile writes nullable fields and validity bitmaps arrow-js reads", () => {
  const bytes = writeArrowFile(NULLABLE, () => new Map(), [
    nullableBatch(13),
    { length: 5, values: nullableBatch(5).values }, // no nulls given: no bitmaps
    nullableBatch(9, true),
  ]);
  const table = tableFromIPC(bytes);
  assert.deepEqual(table.schema.fields.map((f) => f.nullable), [false, true, true]);
  assert.deepEqual(table.batches.map((b) => b.numRows), [13, 5, 9]);
  const h = [...table.getChild("h")!];
  const p = [...table.getChild("p")!];
  const a = expectedNullable(13);
  const c = expectedNullable(9, true);
  assert.deepEqual(h, [...a.h, 1n, 2n, 3n, 4n, 5n, ...c.h]);
  assert.deepEqual(p, [...a.p, ...[0, 1, 2, 3, 4].map((i) => 42_000 + i / 4), ...c.p]);
  assert.equal(table.getChild("t")!.nullCount, 0);
});

Deno.test("writeArrowFile nullable output reads back in Polars with nulls", () => {
  const bytes = writeArrowFile(NULLABLE, () => new Map([["k", "v"]]), [nullableBatch(10)]);
  const df = pl.readIPC(Buffer.from(bytes));
  assert.deepEqual(df.shape, { height: 10, width: 3 });
  const { h, p } = expectedNullable(10);
  assert.deepEqual(df.getColumn("h").toArray(), h.map((v) => v === null ? null : Number(v)));
  assert.deepEqual(df.getColumn("p").toArray(), p);
  assert.equal(df.getColumn("p").nullCount(), 5);
});

Deno.test("writeArrowFile bitmaps are 8-byte aligned, zero past the rows, and read by readArrowBatch", () => {
  const bytes = writeArrowFile(NULLABLE, () => new Map(), [nullableBatch(13)]);
  const footer = readArrowFooter(bytes)!;
  assert.deepEqual(footer.fields, NULLABLE.map(({ nullable: _, ...f }) => f));
  assert.equal(readArrowBatch(bytes, footer.blocks[0], 3), undefined);
  const layout = readArrowBatch(bytes, footer.blocks[0], 3, { nullable: [false, true, true] })!;
  assert.equal(layout.nulls![0], undefined);
  const [, h, p] = layout.nulls!;
  assert.deepEqual([h!.count, p!.count], [5, 6]);
  for (const { offset } of [...layout.values, h!, p!]) assert.equal(offset % 8, 0);
  // Rows 0, 3, 6, 9, 12 null; the 3 bits past the 13 rows written as 0.
  assert.deepEqual([...bytes.subarray(h!.offset, h!.offset + 2)], [0b10110110, 0b00001101]);
  assert.deepEqual([...bytes.subarray(p!.offset, p!.offset + 2)], [0b01010101, 0b00010101]);
  const values = new BigInt64Array(bytes.slice(layout.values[1].offset).buffer, 0, 13);
  assert.deepEqual([...values], [...(nullableBatch(13).values[1] as BigInt64Array)]);
});

Deno.test("writeArrowFile keeps the bytes of batches without nulls (cached headers)", () => {
  const none = { ...nullableBatch(6), nulls: undefined };
  const zero = { ...nullableBatch(6), nulls: [undefined, { count: 0, bitmap: new Uint8Array(1) }] };
  const fields = NULLABLE.map((f) => ({ ...f, nullable: undefined }));
  assert.deepEqual(
    writeArrowFile(fields, () => new Map(), [zero]),
    writeArrowFile(fields, () => new Map(), [none]),
  );
});

Deno.test("writeArrowFile rejects nulls in a non-nullable field, too many nulls, a short bitmap", () => {
  const write = (fields: ArrowFieldInfo[], batch: ArrowBatchOut) =>
    writeArrowFile(fields, () => new Map(), [batch]);
  const batch = nullableBatch(10);
  const strict = NULLABLE.map((f) => ({ ...f, nullable: false }));
  assert.throws(
    () => write(strict, batch),
    /Cannot write nulls in Arrow column "h": it is not nullable/,
  );
  const many = { ...batch, nulls: [undefined, { count: 11, bitmap: new Uint8Array(2) }] };
  assert.throws(() => write(NULLABLE, many), /11 nulls in 10 rows/);
  const short = {
    ...batch,
    nulls: [undefined, undefined, { count: 1, bitmap: new Uint8Array(1) }],
  };
  assert.throws(() => write(NULLABLE, short), /"p": its validity bitmap is short/);
});
