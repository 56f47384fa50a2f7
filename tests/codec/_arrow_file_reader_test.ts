import assert from "node:assert/strict";
import {
  Bool,
  type DataType,
  DateDay,
  Dictionary,
  Field,
  Float16,
  Float32,
  Float64,
  Int32,
  Int64,
  Int8,
  Precision,
  type RecordBatch,
  type RecordBatchFileReader,
  RecordBatchReader,
  Struct,
  Table,
  tableFromIPC,
  tableToIPC,
  TimestampMicrosecond,
  TimestampSecond,
  TimeUnit,
  Type,
  Uint16,
  Utf8,
  type Vector,
  vectorFromArray,
} from "apache-arrow";
import { allocKlineColumns, KLINE_SCHEMA, klineBatch } from "../../src/core/schema.ts";
import { encodeKlineIpc, type KlineIpcHeader } from "../../src/codec/kline_ipc.ts";
import {
  type ArrowBlock,
  type ArrowFooter,
  readArrowBatch,
  readArrowFooter,
} from "../../src/codec/_arrow_file_reader.ts";

const DAY = Date.UTC(2024, 0, 1);
const COLUMNS = KLINE_SCHEMA.fields.length;
const HEADER: KlineIpcHeader = {
  market: "um",
  symbol: "BTCUSDT",
  interval: "1m",
  partition: "2024-01-01",
  source: "VISION",
  visionSha256: "c".repeat(64),
  writtenAt: Date.UTC(2024, 0, 2),
};

/** `n` one-minute rows from `start`, with awkward floats (-0, NaN, infinities, subnormals). */
function minutes(start: number, n: number): RecordBatch {
  const c = allocKlineColumns(n);
  const odd = [-0, NaN, Infinity, -Infinity, 5e-324, 0.1 + 0.2, -1.5e300];
  for (let i = 0; i < n; i++) {
    const t = start + i * 60_000;
    c.openTime[i] = t;
    c.closeTime[i] = t + 59_999;
    c.open[i] = 42_000 + i / 8;
    c.high[i] = odd[i % odd.length];
    c.low[i] = 41_900.25 - i;
    c.close[i] = 0.1 + i;
    c.volume[i] = i * 1e-8;
    c.quoteAssetVolume[i] = i * 3.5;
    c.count[i] = 2 ** 40 + i;
    c.takerBuyVolume[i] = i;
    c.takerBuyQuoteVolume[i] = odd[(i + 3) % odd.length];
  }
  return klineBatch(c, n);
}

function arrowReader(bytes: Uint8Array): RecordBatchFileReader {
  const reader = RecordBatchReader.from(bytes).open();
  assert.ok(reader.isFile());
  return reader;
}

/** The blocks arrow-js reads from the footer. */
function arrowBlocks(bytes: Uint8Array): ArrowBlock[] {
  const footer = arrowReader(bytes).footer!;
  return Array.from({ length: footer.numRecordBatches }, (_, i) => {
    const b = footer.getRecordBatch(i)!;
    return { offset: b.offset, metaDataLength: b.metaDataLength, bodyLength: b.bodyLength };
  });
}

function bytesOf(values: ArrayBufferView, length: number): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, length);
}

/** Asserts that every batch of `bytes` lies where arrow-js finds its values, bit for bit. */
function assertBatchesMatchArrow(bytes: Uint8Array, footer: ArrowFooter): void {
  const reader = arrowReader(bytes);
  const batches = Array.from({ length: reader.numRecordBatches }, (_, i) => {
    const batch = reader.readRecordBatch(i);
    assert.ok(batch);
    return batch;
  });
  assert.equal(footer.blocks.length, batches.length);
  footer.blocks.forEach((block, b) => {
    const layout = readArrowBatch(bytes, block, COLUMNS);
    assert.ok(layout, `batch ${b}`);
    assert.equal(layout.length, batches[b].numRows);
    assert.equal(layout.values.length, COLUMNS);
    for (let c = 0; c < COLUMNS; c++) {
      const { offset, length } = layout.values[c];
      const expected = batches[b].getChildAt(c)!.data[0].values as Float64Array | BigInt64Array;
      assert.ok(length >= layout.length * 8);
      assert.ok(offset >= 0 && offset + length <= bytes.length);
      const got = bytes.slice(offset, offset + layout.length * 8);
      assert.deepEqual(got, bytesOf(expected, expected.byteLength), `batch ${b} column ${c}`);
      const typed = expected instanceof BigInt64Array
        ? new BigInt64Array(got.buffer)
        : new Float64Array(got.buffer);
      assert.equal(typed.length, expected.length);
      typed.forEach((v, i) => assert.ok(Object.is(v, expected[i]), `${b}/${c}/${i}`));
    }
  });
}

Deno.test("readArrowFooter reads the kline fields as arrow-js types", () => {
  const footer = readArrowFooter(encodeKlineIpc([minutes(DAY, 3)], HEADER));
  assert.ok(footer);
  assert.deepEqual(footer.fields.map((f) => f.name), KLINE_SCHEMA.fields.map((f) => f.name));
  for (const [i, f] of footer.fields.entries()) {
    const type = KLINE_SCHEMA.fields[i].type;
    assert.equal(f.typeId, type.typeId, f.name);
    if (i === 0 || i === 6) {
      assert.equal(f.typeId, Type.Timestamp);
      assert.equal(f.param, TimeUnit.MILLISECOND);
      assert.equal(f.flag, true);
      assert.equal(f.timezone, "UTC");
    } else if (i === 8) {
      assert.equal(f.typeId, Type.Int);
      assert.equal(f.param, 64);
      assert.equal(f.flag, true);
      assert.equal(f.timezone, undefined);
    } else {
      assert.equal(f.typeId, Type.Float);
      assert.equal(f.param, Precision.DOUBLE);
      assert.equal(f.flag, false);
      assert.equal(f.timezone, undefined);
    }
  }
});

Deno.test("readArrowFooter reads 0, 1 and several batches as arrow-js does", () => {
  const cases = [
    [],
    [minutes(DAY, 3)],
    [minutes(DAY, 5), minutes(DAY + 5 * 60_000, 0), minutes(DAY + 5 * 60_000, 7)],
    [minutes(DAY, 1), minutes(DAY + 60_000, 1), minutes(DAY + 120_000, 1)],
  ];
  for (const batches of cases) {
    const bytes = encodeKlineIpc(batches, { ...HEADER, gaps: [{ start: DAY, end: DAY + 1 }] });
    const footer = readArrowFooter(bytes);
    assert.ok(footer);
    assert.deepEqual(footer.metadata, arrowReader(bytes).schema.metadata);
    assert.deepEqual(footer.blocks, arrowBlocks(bytes));
    assert.equal(footer.blocks.length, batches.filter((b) => b.numRows > 0).length);
    assert.equal(footer.metadata.get("dsm.gaps"), JSON.stringify([{ start: DAY, end: DAY + 1 }]));
    assertBatchesMatchArrow(bytes, footer);
  }
});

Deno.test("readArrowFooter decodes non-ASCII metadata, short and long", () => {
  const detail = "open é 42000 above high ".repeat(4) + "€ 𝄞";
  const bytes = encodeKlineIpc([minutes(DAY, 3)], {
    ...HEADER,
    symbol: "BTCÉUSDT",
    anomalies: { total: 2, items: [{ kind: "ohlc", openTime: DAY, detail }] },
    gaps: [{ start: DAY + 3 * 60_000, end: DAY + 86_400_000 }],
  });
  const footer = readArrowFooter(bytes);
  assert.ok(footer);
  assert.equal(footer.metadata.get("dsm.symbol"), "BTCÉUSDT");
  const anomalies = JSON.parse(footer.metadata.get("dsm.anomalies")!);
  assert.equal(anomalies.items[0].detail, detail);
  assert.deepEqual(footer.metadata, arrowReader(bytes).schema.metadata);
});

Deno.test("readArrowFooter reads the same footer from the head and tail alone", () => {
  const bytes = encodeKlineIpc([minutes(DAY, 50), minutes(DAY + 50 * 60_000, 20)], HEADER);
  const whole = readArrowFooter(bytes);
  assert.ok(whole);
  const footerLength = new DataView(bytes.buffer).getInt32(bytes.length - 10, true);
  const headTail = (tail: number) => {
    const out = new Uint8Array(8 + tail);
    out.set(bytes.subarray(0, 8));
    out.set(bytes.subarray(bytes.length - tail), 8);
    return out;
  };
  assert.deepEqual(readArrowFooter(headTail(footerLength + 10)), whole);
  assert.deepEqual(readArrowFooter(headTail(footerLength + 100)), whole);
  assert.equal(readArrowFooter(headTail(footerLength + 9)), undefined);
});

Deno.test("readArrowFooter and readArrowBatch read bytes viewed at any byteOffset", () => {
  const bytes = encodeKlineIpc([minutes(DAY, 4)], HEADER);
  const footer = readArrowFooter(bytes)!;
  for (const shift of [1, 3, 8]) {
    const big = new Uint8Array(bytes.length + 16).fill(0xee);
    big.set(bytes, shift);
    const view = big.subarray(shift, shift + bytes.length);
    assert.deepEqual(readArrowFooter(view), footer);
    assert.deepEqual(
      readArrowBatch(view, footer.blocks[0], COLUMNS),
      readArrowBatch(bytes, footer.blocks[0], COLUMNS),
    );
  }
});

Deno.test("readArrowBatch rejects wrong column counts and blocks that miss the message", () => {
  const bytes = encodeKlineIpc([minutes(DAY, 4)], HEADER);
  const block = readArrowFooter(bytes)!.blocks[0];
  assert.ok(readArrowBatch(bytes, block, COLUMNS));
  assert.equal(readArrowBatch(bytes, block, COLUMNS - 1), undefined);
  assert.equal(readArrowBatch(bytes, block, COLUMNS + 1), undefined);
  const bad: ArrowBlock[] = [
    { ...block, offset: block.offset + 8 },
    { ...block, offset: 0 },
    { ...block, offset: -8 },
    { ...block, offset: NaN },
    { ...block, offset: bytes.length },
    { ...block, metaDataLength: 0 },
    { ...block, metaDataLength: -block.metaDataLength },
    { ...block, metaDataLength: 16 },
    { ...block, bodyLength: bytes.length },
    { ...block, bodyLength: 8 },
    { ...block, bodyLength: Infinity },
  ];
  for (const b of bad) {
    assert.equal(readArrowBatch(bytes, b, COLUMNS), undefined, JSON.stringify(b));
  }
  assert.equal(readArrowBatch(bytes.subarray(0, block.offset + 100), block, COLUMNS), undefined);
});

function ipcOf(columns: Record<string, Vector>): Uint8Array {
  return tableToIPC(new Table(columns), "file");
}

Deno.test("readArrowFooter reads other fixed-width types, defaults included", () => {
  const cases: [DataType, unknown[], { typeId: number; param: number; flag: boolean }][] = [
    [new Int32(), [1, -2, 3], { typeId: Type.Int, param: 32, flag: true }],
    [new Int8(), [1, -2, 3], { typeId: Type.Int, param: 8, flag: true }],
    [new Uint16(), [1, 2, 65535], { typeId: Type.Int, param: 16, flag: false }],
    [new Float32(), [1.5, -2, 3], { typeId: Type.Float, param: Precision.SINGLE, flag: false }],
    [new Float16(), [1.5, -2, 3], { typeId: Type.Float, param: Precision.HALF, flag: false }],
    [new TimestampSecond(), [1000, 2000, 3000], { typeId: Type.Timestamp, param: 0, flag: false }],
  ];
  for (const [type, values, want] of cases) {
    const bytes = ipcOf({ x: vectorFromArray(values, type) });
    const footer = readArrowFooter(bytes);
    assert.ok(footer, String(type));
    assert.deepEqual(
      footer.fields.map(({ name, typeId, param, flag, timezone }) => ({
        name,
        typeId,
        param,
        flag,
        timezone,
      })),
      [{ name: "x", ...want, timezone: undefined }],
      String(type),
    );
    const layout = readArrowBatch(bytes, footer.blocks[0], 1);
    assert.ok(layout, String(type));
    assert.equal(layout.length, 3);
    const expected = tableFromIPC(bytes).batches[0].getChildAt(0)!.data[0].values;
    const { offset } = layout.values[0];
    assert.deepEqual(
      bytes.slice(offset, offset + expected.byteLength),
      bytesOf(expected, expected.byteLength),
    );
  }
  const paris = ipcOf({ t: vectorFromArray([1, 2], new TimestampMicrosecond("Europe/Paris")) });
  const [field] = readArrowFooter(paris)!.fields;
  assert.deepEqual([field.typeId, field.param, field.flag, field.timezone], [
    Type.Timestamp,
    TimeUnit.MICROSECOND,
    true,
    "Europe/Paris",
  ]);
});

Deno.test("readArrowFooter returns undefined for other layouts", () => {
  const utf8 = ipcOf({ a: vectorFromArray([1, 2], new Float64()), s: vectorFromArray(["x", "y"]) });
  assert.equal(readArrowFooter(utf8), undefined);
  const dictionary = ipcOf({
    d: vectorFromArray(["a", "b", "a"], new Dictionary(new Utf8(), new Int8())),
  });
  assert.equal(readArrowFooter(dictionary), undefined);
  const date = ipcOf({ d: vectorFromArray([new Date(0), new Date(86_400_000)], new DateDay()) });
  assert.equal(readArrowFooter(date), undefined);
  const struct = ipcOf({
    s: vectorFromArray(
      [{ x: 1 }, { x: 2 }],
      new Struct([new Field("x", new Float64(), false)]),
    ),
  });
  assert.equal(readArrowFooter(struct), undefined);
  const stream = tableToIPC(tableFromIPC(encodeKlineIpc([minutes(DAY, 3)], HEADER)), "stream");
  assert.ok(tableFromIPC(stream).numRows === 3);
  assert.equal(readArrowFooter(stream), undefined);
  for (const n of [0, 6, 17, 18, 64]) {
    const junk = new Uint8Array(n);
    assert.equal(readArrowFooter(junk), undefined);
    const framed = new TextEncoder().encode("ARROW1" + "\0".repeat(Math.max(0, n - 12)) + "ARROW1");
    assert.equal(readArrowFooter(framed), undefined);
  }
});

Deno.test("readArrowBatch returns undefined for a column with nulls, not for a nullable one", () => {
  const withNulls = ipcOf({ v: vectorFromArray([1.5, null, 3], new Float64()) });
  const footer = readArrowFooter(withNulls);
  assert.ok(footer);
  assert.equal(readArrowBatch(withNulls, footer.blocks[0], 1), undefined);
  const noNulls = ipcOf({ v: vectorFromArray([1.5, 2, 3], new Float64()) });
  const layout = readArrowBatch(noNulls, readArrowFooter(noNulls)!.blocks[0], 1);
  assert.ok(layout);
  const { offset } = layout.values[0];
  assert.deepEqual([...new Float64Array(noNulls.slice(offset, offset + 24).buffer)], [1.5, 2, 3]);
  const wide = ipcOf({ a: vectorFromArray([1n, 2n], new Int64()) });
  assert.ok(readArrowBatch(wide, readArrowFooter(wide)!.blocks[0], 1));
});

/** Every block the reader finds lies inside the bytes, and its values too. */
function assertSafe(bytes: Uint8Array, blocks: readonly ArrowBlock[]): void {
  const footer = readArrowFooter(bytes);
  const all = [...blocks, ...(footer?.blocks ?? [])];
  for (const block of all) {
    for (const columns of [COLUMNS, footer?.fields.length ?? 0]) {
      const layout = readArrowBatch(bytes, block, columns);
      if (!layout) continue;
      assert.equal(layout.values.length, columns);
      assert.ok(Number.isSafeInteger(layout.length) && layout.length >= 0);
      for (const { offset, length } of layout.values) {
        assert.ok(offset >= 0 && length >= 0 && offset + length <= bytes.length);
      }
    }
  }
}

Deno.test("readArrowFooter and readArrowBatch never throw on a flipped byte anywhere", () => {
  const bytes = encodeKlineIpc([minutes(DAY, 3)], { ...HEADER, symbol: "BTCÉUSDT" });
  const blocks = readArrowFooter(bytes)!.blocks;
  for (let at = 0; at < bytes.length; at++) {
    for (const mask of [0x01, 0x80, 0xff]) {
      const damaged = bytes.slice();
      damaged[at] ^= mask;
      assertSafe(damaged, blocks);
    }
  }
});

Deno.test("readArrowFooter and readArrowBatch never throw on a truncated file", () => {
  const bytes = encodeKlineIpc([minutes(DAY, 3)], HEADER);
  const footer = readArrowFooter(bytes)!;
  const whole = readArrowBatch(bytes, footer.blocks[0], COLUMNS);
  for (let n = 0; n < bytes.length; n++) {
    const cut = bytes.subarray(0, n);
    assert.equal(readArrowFooter(cut), undefined, `cut at ${n}`);
    const layout = readArrowBatch(cut, footer.blocks[0], COLUMNS);
    if (layout) assert.deepEqual(layout, whole, `cut at ${n}`);
    assertSafe(cut, footer.blocks);
  }
});

Deno.test("readArrowFooter and readArrowBatch never throw on random footer damage", () => {
  const bytes = encodeKlineIpc([minutes(DAY, 3), minutes(DAY + 180_000, 2)], HEADER);
  const footerStart = bytes.length - 10 -
    new DataView(bytes.buffer).getInt32(bytes.length - 10, true);
  const blocks = readArrowFooter(bytes)!.blocks;
  let seed = 0x2545f491;
  const random = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 4294967296;
  };
  for (let round = 0; round < 3000; round++) {
    const damaged = bytes.slice();
    const count = 1 + Math.floor(random() * 8);
    for (let k = 0; k < count; k++) {
      const at = footerStart + Math.floor(random() * (bytes.length - footerStart));
      damaged[at] = random() < 0.3 ? 0xff : Math.floor(random() * 256);
    }
    assertSafe(damaged, blocks);
    const junk = Uint8Array.from({ length: 18 + Math.floor(random() * 200) }, () => random() * 256);
    junk.set(new TextEncoder().encode("ARROW1"));
    junk.set(new TextEncoder().encode("ARROW1"), junk.length - 6);
    new DataView(junk.buffer).setInt32(junk.length - 10, Math.floor(random() * junk.length), true);
    assertSafe(junk, blocks);
  }
});

Deno.test("readArrowBatch reads the nulls of the columns allowed to hold them, as arrow-js wrote them", () => {
  const bytes = ipcOf({
    a: vectorFromArray([1.5, 2, 3, 4, 5, 6, 7, 8, 9], new Float64()),
    b: vectorFromArray([null, 2n, null, 4n, 5n, 6n, 7n, 8n, null], new Int64()),
  });
  const block = readArrowFooter(bytes)!.blocks[0];
  assert.equal(readArrowBatch(bytes, block, 2), undefined);
  assert.equal(readArrowBatch(bytes, block, 2, { nullable: [true, false] }), undefined);
  const layout = readArrowBatch(bytes, block, 2, { nullable: [false, true] });
  assert.ok(layout?.nulls);
  assert.equal(layout.nulls[0], undefined);
  const b = layout.nulls[1]!;
  assert.equal(b.count, 3);
  assert.deepEqual([...bytes.subarray(b.offset, b.offset + 2)].map((x, i) => i ? x & 1 : x), [
    0b11111010,
    0,
  ]);
  const expected = tableFromIPC(bytes).batches[0].getChildAt(1)!.data[0].values as BigInt64Array;
  const { offset } = layout.values[1];
  assert.deepEqual(bytes.slice(offset, offset + 72), bytesOf(expected, 72));
  // Without nulls, the options change nothing but the (empty) nulls list.
  const plain = encodeKlineIpc([minutes(DAY, 3)], HEADER);
  const footer = readArrowFooter(plain)!;
  const nullable = new Array(COLUMNS).fill(true);
  const withOptions = readArrowBatch(plain, footer.blocks[0], COLUMNS, { nullable })!;
  assert.deepEqual(withOptions.nulls, new Array(COLUMNS).fill(undefined));
  assert.deepEqual(withOptions.values, readArrowBatch(plain, footer.blocks[0], COLUMNS)!.values);
});

Deno.test("readArrowBatch never throws on damage to a batch with nulls", () => {
  const bytes = ipcOf({ b: vectorFromArray([null, 2n, null, 4n, 5n], new Int64()) });
  const block = readArrowFooter(bytes)!.blocks[0];
  for (let i = block.offset; i < block.offset + block.metaDataLength + block.bodyLength; i++) {
    for (const x of [1, 0x80]) {
      const damaged = bytes.slice();
      damaged[i] ^= x;
      const layout = readArrowBatch(damaged, block, 1, { nullable: [true] });
      const nulls = layout?.nulls?.[0];
      if (!layout || !nulls) continue;
      assert.ok(nulls.count >= 1 && nulls.count <= layout.length);
      assert.ok(nulls.offset + Math.ceil(layout.length / 8) <= damaged.length);
    }
  }
});

Deno.test("readArrowBatch reads a Bool column: its bit-packed values and its validity", () => {
  const bytes = ipcOf({ b: vectorFromArray([true, null, false, true], new Bool()) });
  const footer = readArrowFooter(bytes)!;
  assert.deepEqual(footer.fields.map((f) => [f.name, f.typeId, f.param]), [["b", Type.Bool, 0]]);
  assert.equal(readArrowBatch(bytes, footer.blocks[0], 1), undefined); // nulls not allowed
  const batch = readArrowBatch(bytes, footer.blocks[0], 1, { nullable: [true] })!;
  assert.equal(batch.length, 4);
  assert.ok(batch.values[0].length >= 1);
  assert.equal(bytes[batch.values[0].offset] & 0b1101, 0b1001);
  assert.equal(batch.nulls![0]!.count, 1);
  assert.equal(bytes[batch.nulls![0]!.offset] & 0b1111, 0b1101);
});
