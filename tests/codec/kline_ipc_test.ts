import assert from "node:assert/strict";
import {
  type Field,
  Int64,
  RecordBatch,
  Schema,
  Table,
  tableFromArrays,
  tableFromIPC,
  tableToIPC,
} from "apache-arrow";
import pl from "nodejs-polars";
import { crc32 } from "node:zlib";
import util from "node:util";
import { CacheError } from "../../src/core/errors.ts";
import {
  allocKlineColumns,
  KLINE_COLUMN_KEYS,
  KLINE_SCHEMA,
  klineBatch,
  klineColumnsOf,
} from "../../src/core/schema.ts";
import { metadataFromMap, metadataToMap } from "../../src/codec/_kline_ipc_metadata.ts";
import {
  decodeKlineIpc,
  decodeKlineIpcMetadata,
  encodeKlineIpc,
  type KlineIpcHeader,
} from "../../src/codec/kline_ipc.ts";
import {
  type ArrowFieldInfo,
  readArrowBatch,
  readArrowFooter,
} from "../../src/codec/_arrow_file_reader.ts";

const DAY = Date.UTC(2024, 0, 1);
const HEADER: KlineIpcHeader = {
  market: "spot",
  symbol: "BTCUSDT",
  interval: "1m",
  partition: "2024-01-01",
  source: "VISION",
  visionSha256: "a".repeat(64),
  writtenAt: Date.UTC(2024, 0, 2, 3, 4, 5),
};

function minutes(start: number, n: number, source?: "VISION"): RecordBatch {
  const c = allocKlineColumns(n);
  for (let i = 0; i < n; i++) {
    const t = start + i * 60_000;
    c.openTime[i] = t;
    c.closeTime[i] = t + 59_999;
    c.open[i] = 42_000 + i / 8;
    c.high[i] = 42_100.5 + i;
    c.low[i] = 41_900.25;
    c.close[i] = 0.1 + i;
    c.volume[i] = i * 1e-8;
    c.quoteAssetVolume[i] = i * 3.5;
    c.count[i] = 2 ** 40 + i;
    c.takerBuyVolume[i] = i;
    c.takerBuyQuoteVolume[i] = -0;
  }
  return klineBatch(c, n, source);
}

function expectCorrupt(bytes: Uint8Array, message: RegExp): void {
  assert.throws(() => decodeKlineIpc(bytes, { file: "x.arrow" }), (err: unknown) => {
    assert.ok(err instanceof CacheError);
    assert.equal(err.path, "x.arrow");
    assert.match(err.message, message);
    return true;
  });
}

Deno.test("encodeKlineIpc round trips through decodeKlineIpc with metadata", () => {
  const batches = [minutes(DAY, 1000), minutes(DAY + 1000 * 60_000, 440)];
  const bytes = encodeKlineIpc(batches, { ...HEADER, gaps: [{ start: 1, end: 2 }] });
  const { batches: out, metadata } = decodeKlineIpc(bytes);
  assert.equal(out.reduce((n, b) => n + b.numRows, 0), 1440);
  assert.equal(out[0].schema.metadata.size, 0);
  assert.deepEqual(out[0].schema.fields, KLINE_SCHEMA.fields);
  assert.deepEqual(metadata, {
    ...HEADER,
    gaps: [{ start: 1, end: 2 }],
    rows: 1440,
    firstOpenTime: DAY,
    lastOpenTime: DAY + 1439 * 60_000,
    formatVersion: "1",
  });
  const table = new Table(out);
  assert.equal(table.getChild("count")?.get(1439), BigInt(2 ** 40 + 439));
  assert.equal(table.getChild("close")?.get(7), 7.1);
  assert.ok(Object.is(table.getChild("taker_buy_quote_volume")?.get(0), -0));
});

Deno.test("kline IPC files keep irregular rows, off_grid gaps and every anomaly kind", () => {
  const batch = minutes(DAY, 4);
  const c = klineColumnsOf(batch);
  c.closeTime[0] = DAY - 758_479; // before its open
  c.closeTime[1] = DAY + 2 * 60_000; // the next open exactly
  c.closeTime[2] = DAY + 2 * 60_000 + 29_000; // cut short
  c.volume[3] = 0;
  const rows = klineBatch(c, 4);
  const anomalies = {
    total: 5,
    items: [
      { kind: "close_time" as const, openTime: DAY, detail: "close_time 1" },
      { kind: "zero_volume" as const, openTime: DAY, detail: "volume 0, count 0" },
      { kind: "ohlc" as const, openTime: DAY + 60_000, detail: "x" },
      { kind: "ignore" as const, openTime: DAY + 120_000, detail: 'ignore "17928899.62484339"' },
      { kind: "off_grid" as const, openTime: DAY + 14_789 + 240_000, detail: "left out" },
    ],
  };
  const gaps = [{ start: DAY + 240_000, end: DAY + 300_000, class: "off_grid" as const }, {
    start: DAY + 300_000,
    end: DAY + 360_000,
  }];
  const bytes = encodeKlineIpc([rows], { ...HEADER, gaps, anomalies });
  const { batches, metadata } = decodeKlineIpc(bytes);
  assert.deepEqual(metadata.gaps, gaps);
  assert.deepEqual(metadata.anomalies, anomalies);
  const back = klineColumnsOf(batches[0]);
  for (const key of KLINE_COLUMN_KEYS) assert.deepEqual([...back[key]], [...c[key]], key);
  // An unknown gap class or anomaly kind is a damaged file.
  const map = new Map([["dsm.gaps", '[{"start":1,"end":2,"class":"weird"}]']]);
  assert.throws(() => metadataFromMap(new Map([...metadataToMap(metadata), ...map])), CacheError);
  const odd = JSON.stringify({ total: 1, items: [{ kind: "odd", openTime: 1, detail: "" }] });
  assert.throws(
    () => metadataFromMap(new Map([...metadataToMap(metadata), ["dsm.anomalies", odd]])),
    CacheError,
  );
});

Deno.test("encodeKlineIpc drops _data_source and writes schema metadata arrow-js can read", () => {
  const bytes = encodeKlineIpc([minutes(DAY, 3, "VISION")], HEADER);
  const table = tableFromIPC(bytes);
  assert.deepEqual(table.schema.fields.map((f) => f.name), KLINE_SCHEMA.fields.map((f) => f.name));
  assert.equal(table.schema.metadata.get("dsm.source"), "VISION");
  assert.equal(table.schema.metadata.get("dsm.rows"), "3");
  assert.equal(table.schema.metadata.get("dsm.written_at"), "2024-01-02T03:04:05.000Z");
  assert.equal(table.schema.metadata.get("dsm.format_version"), "1");
  assert.equal(table.schema.metadata.get("dsm.first_open_time"), String(DAY));
});

Deno.test("encodeKlineIpc writes files nodejs-polars reads with the same values", () => {
  const bytes = encodeKlineIpc([minutes(DAY, 1440)], HEADER);
  const df = pl.readIPC(Buffer.from(bytes));
  assert.deepEqual(df.shape, { height: 1440, width: 11 });
  assert.deepEqual(df.columns, KLINE_SCHEMA.fields.map((f) => f.name));
  assert.match(String(df.dtypes[0]), /Datetime\(ms,\s*UTC\)/i);
  assert.match(String(df.dtypes[8]), /Int64/);
  assert.equal(df.getColumn("close").get(7), 7.1);
  assert.equal(df.getColumn("count").toArray()[1], 2 ** 40 + 1);
  assert.equal(Number(df.getColumn("open_time").toArray()[1]), DAY + 60_000);
  const empty = pl.readIPC(Buffer.from(encodeKlineIpc([], HEADER)));
  assert.equal(empty.height, 0);
});

Deno.test("encodeKlineIpc rejects foreign schemas and unordered rows", () => {
  const foreign = tableFromArrays({ open_time: new Float64Array([1]) }).batches[0];
  assert.throws(() => encodeKlineIpc([foreign], HEADER), TypeError);
  const b = minutes(DAY, 2);
  assert.throws(() => encodeKlineIpc([b, b], HEADER), /does not follow/);
});

Deno.test("decodeKlineIpcMetadata reads only the footer (head and tail suffice)", () => {
  const bytes = encodeKlineIpc([minutes(DAY, 1440)], HEADER);
  const tail = bytes.subarray(bytes.length - 2000);
  const headTail = new Uint8Array(8 + tail.length);
  headTail.set(bytes.subarray(0, 8));
  headTail.set(tail, 8);
  const meta = decodeKlineIpcMetadata(headTail);
  assert.equal(meta.rows, 1440);
  assert.equal(meta.source, "VISION");
});

Deno.test("decodeKlineIpc rejects zero-length, short and non-Arrow bytes", () => {
  expectCorrupt(new Uint8Array(0), /0 bytes long/);
  expectCorrupt(new TextEncoder().encode("open_time,open\n1,2\n3,4\n"), /magic/);
});

Deno.test("decodeKlineIpc rejects files truncated at any point", () => {
  const bytes = encodeKlineIpc([minutes(DAY, 100)], HEADER);
  for (const cut of [1, 6, 8, 100, 4000, bytes.length - 200, bytes.length - 10, bytes.length - 1]) {
    expectCorrupt(bytes.subarray(0, cut), /./);
  }
});

Deno.test("decodeKlineIpc rejects a damaged footer and damaged batch metadata", () => {
  const bytes = encodeKlineIpc([minutes(DAY, 100)], HEADER);
  const footer = bytes.slice();
  footer.fill(0xff, footer.length - 300, footer.length - 10);
  expectCorrupt(footer, /./);
  const body = bytes.slice();
  body.fill(0xff, 8, 200); // the record batch message header
  expectCorrupt(body, /./);
});

Deno.test("decodeKlineIpc rejects a wrong schema", () => {
  const bytes = tableToIPC(tableFromArrays({ open_time: new Float64Array([1]) }), "file");
  expectCorrupt(bytes, /schema has 1 columns/);
  const map = new Map(tableFromIPC(encodeKlineIpc([minutes(DAY, 2)], HEADER)).schema.metadata);
  const renamed = KLINE_SCHEMA.fields.map((f, i) => i === 2 ? f.clone({ name: "hi" }) : f);
  expectCorrupt(ipcFile(map, [minutes(DAY, 2)], renamed), /column 2 is "hi"/);
  const retyped = KLINE_SCHEMA.fields.map((f, i) => i === 0 ? f.clone({ type: new Int64() }) : f);
  expectCorrupt(ipcFile(map, [minutes(DAY, 2)], retyped), /column 0 is "open_time" Int64/);
});

/** An IPC file of the given batches and metadata, with a valid body CRC. */
function ipcFile(
  map: Map<string, string>,
  batches: RecordBatch[],
  fields: Field[] = KLINE_SCHEMA.fields,
): Uint8Array {
  const encode = () => {
    const schema = new Schema(fields, map);
    return tableToIPC(new Table(batches.map((b) => new RecordBatch(schema, b.data))), "file");
  };
  if (map.has("dsm.body_crc32") && map.get("dsm.body_crc32") === "") {
    map.delete("dsm.body_crc32");
    return encode();
  }
  const first = encode();
  const footer = new DataView(first.buffer).getInt32(first.length - 10, true);
  const crc = crc32(first.subarray(8, first.length - 10 - footer));
  map.set("dsm.body_crc32", crc.toString(16).padStart(8, "0"));
  return encode();
}

/** A file whose metadata is changed, without the metadata CRC (as files written before it). */
function withMetadata(batch: RecordBatch, meta: Record<string, string>): Uint8Array {
  const map = new Map(tableFromIPC(encodeKlineIpc([batch], HEADER)).schema.metadata);
  map.delete("dsm.metadata_crc32");
  for (const [k, v] of Object.entries(meta)) {
    v === "" && k !== "dsm.body_crc32" ? map.delete(k) : map.set(k, v);
  }
  return ipcFile(map, [batch]);
}

Deno.test("decodeKlineIpc rejects metadata that does not match the rows", () => {
  const b = minutes(DAY, 5);
  expectCorrupt(withMetadata(b, { "dsm.rows": "6" }), /holds 5 rows, metadata says 6/);
  expectCorrupt(withMetadata(b, { "dsm.last_open_time": String(DAY) }), /metadata says/);
  expectCorrupt(withMetadata(b, { "dsm.format_version": "9" }), /format version "9"/);
  expectCorrupt(withMetadata(b, { "dsm.source": "" }), /"dsm.source" is missing/);
  expectCorrupt(withMetadata(b, { "dsm.source": "CACHE" }), /source "CACHE"/);
  expectCorrupt(withMetadata(b, { "dsm.rows": "1e3" }), /"dsm.rows" is "1e3"/);
  expectCorrupt(withMetadata(b, { "dsm.gaps": "[{" }), /not JSON/);
  expectCorrupt(withMetadata(b, { "dsm.gaps": '[{"start":2,"end":1}]' }), /malformed/);
  expectCorrupt(withMetadata(b, { "dsm.written_at": "yesterday" }), /not a date/);
});

Deno.test("decodeKlineIpc catches any changed metadata value through the metadata CRC", () => {
  const b = minutes(DAY, 5);
  const original = new Map(tableFromIPC(encodeKlineIpc([b], HEADER)).schema.metadata);
  assert.match(original.get("dsm.metadata_crc32") ?? "", /^[0-9a-f]{8}$/);
  // Values no other check would notice: the Vision hash and the write time.
  for (
    const [key, value] of [["dsm.vision_sha256", "b".repeat(64)], [
      "dsm.written_at",
      "2030-01-01T00:00:00.000Z",
    ]]
  ) {
    assert.ok(original.has(key), key);
    const bytes = ipcFile(new Map([...original, [key, value]]), [b]);
    expectCorrupt(bytes, /metadata CRC-32/);
    assert.throws(() => decodeKlineIpcMetadata(bytes), /metadata CRC-32/);
  }
  // Without the key (files written before it), the other checks still run.
  const older = new Map(original);
  older.delete("dsm.metadata_crc32");
  assert.equal(decodeKlineIpc(ipcFile(older, [b])).metadata.rows, 5);
});

Deno.test("decodeKlineIpc rejects rows out of open_time order", () => {
  const map = new Map(tableFromIPC(encodeKlineIpc([minutes(DAY, 5)], HEADER)).schema.metadata);
  const bytes = ipcFile(map, [minutes(DAY + 3 * 60_000, 2), minutes(DAY, 3)]);
  expectCorrupt(bytes, /does not follow/);
});

Deno.test("decodeKlineIpc detects a flipped bit in a value through the body CRC", () => {
  const bytes = encodeKlineIpc([minutes(DAY, 100)], HEADER);
  const { batches } = decodeKlineIpc(bytes.slice());
  const close = batches[0].getChildAt(4)!.data[0].values as Float64Array;
  const at = close.byteOffset + 8 * 50 + 3;
  const damaged = bytes.slice();
  damaged[at] ^= 0x10;
  expectCorrupt(damaged, /body CRC-32/);
  const unchecked = decodeKlineIpc(damaged, { checkBody: false });
  assert.notEqual(unchecked.batches[0].getChild("close")?.get(50), 50.1);
  expectCorrupt(withMetadata(minutes(DAY, 2), { "dsm.body_crc32": "" }), /body_crc32" is missing/);
});

/** The bytes of every column of every batch, for bit-exact comparisons. */
function columnBytes(batches: readonly RecordBatch[]): Uint8Array[] {
  return batches.flatMap((b) =>
    b.data.children.map((child) => {
      const v = child.values as Float64Array | BigInt64Array;
      return new Uint8Array(v.buffer, v.byteOffset, b.numRows * 8).slice();
    })
  );
}

function rowsOf(batches: readonly RecordBatch[]): number[] {
  return batches.map((b) => b.numRows);
}

Deno.test("decodeKlineIpc reads its files as views on the bytes, equal to arrow-js", () => {
  const cases = [
    [],
    [minutes(DAY, 3)],
    [minutes(DAY, 5), minutes(DAY + 5 * 60_000, 0), minutes(DAY + 5 * 60_000, 7)],
  ];
  for (const input of cases) {
    const bytes = encodeKlineIpc(input, HEADER);
    const { batches, metadata } = decodeKlineIpc(bytes);
    const oracle = tableFromIPC(bytes).batches.filter((b) => b.numRows > 0);
    assert.deepEqual(rowsOf(batches), rowsOf(oracle));
    assert.deepEqual(columnBytes(batches), columnBytes(oracle));
    assert.deepEqual(columnBytes(batches), columnBytes(input.filter((b) => b.numRows > 0)));
    assert.equal(metadata.rows, rowsOf(oracle).reduce((a, b) => a + b, 0));
    for (const batch of batches) {
      assert.equal(batch.schema, KLINE_SCHEMA);
      for (const child of batch.data.children) assert.equal(child.values.buffer, bytes.buffer);
    }
    if (batches.length > 0) {
      const table = new Table(batches);
      assert.equal(table.schema, KLINE_SCHEMA);
      assert.equal(table.getChild("count")?.get(0), 2n ** 40n);
      assert.equal(table.getChild("open_time")?.get(table.numRows - 1), metadata.lastOpenTime);
    }
  }
});

Deno.test("decodeKlineIpc and decodeKlineIpcMetadata read non-ASCII metadata values", () => {
  const anomalies = {
    total: 3,
    items: [{ kind: "ohlc" as const, openTime: DAY, detail: "low é above open ".repeat(5) }],
  };
  const header = {
    ...HEADER,
    symbol: "BTCÉUSDT",
    gaps: [{ start: DAY + 60_000, end: DAY + 120_000 }],
    anomalies,
  };
  const bytes = encodeKlineIpc([minutes(DAY, 1), minutes(DAY + 120_000, 2)], header);
  const { metadata } = decodeKlineIpc(bytes);
  assert.equal(metadata.symbol, "BTCÉUSDT");
  assert.deepEqual(metadata.anomalies, anomalies);
  assert.deepEqual(metadata.gaps, header.gaps);
  assert.deepEqual(decodeKlineIpcMetadata(bytes), metadata);
  assert.equal(tableFromIPC(bytes).schema.metadata.get("dsm.symbol"), "BTCÉUSDT");
});

Deno.test("decodeKlineIpc decodes bytes viewed at any byteOffset to the same values", () => {
  const bytes = encodeKlineIpc([minutes(DAY, 3), minutes(DAY + 3 * 60_000, 4)], HEADER);
  const expected = decodeKlineIpc(bytes);
  for (const shift of [1, 3, 8, 16]) {
    const big = new Uint8Array(bytes.length + 32).fill(0xa5);
    big.set(bytes, shift);
    const view = big.subarray(shift, shift + bytes.length);
    const got = decodeKlineIpc(view);
    assert.deepEqual(got.metadata, expected.metadata);
    assert.deepEqual(decodeKlineIpcMetadata(view), expected.metadata);
    assert.deepEqual(rowsOf(got.batches), [3, 4]);
    assert.deepEqual(columnBytes(got.batches), columnBytes(expected.batches));
    for (const batch of got.batches) assert.equal(batch.schema, KLINE_SCHEMA);
    if (shift % 8 === 0) {
      // Aligned: the columns still view the caller's buffer.
      assert.equal(got.batches[0].data.children[4].values.buffer, big.buffer);
    }
  }
});

Deno.test("decodeKlineIpc decodes a kline file arrow-js wrote with the dsm metadata", () => {
  const input = [minutes(DAY, 4), minutes(DAY + 4 * 60_000, 2)];
  const map = new Map(tableFromIPC(encodeKlineIpc(input, HEADER)).schema.metadata);
  const bytes = ipcFile(map, input);
  const { batches, metadata } = decodeKlineIpc(bytes);
  assert.equal(metadata.rows, 6);
  assert.deepEqual(rowsOf(batches), [4, 2]);
  assert.deepEqual(columnBytes(batches), columnBytes(input));
  const shifted = new Uint8Array(bytes.length + 1);
  shifted.set(bytes, 1);
  const fallback = decodeKlineIpc(shifted.subarray(1));
  assert.deepEqual(columnBytes(fallback.batches), columnBytes(input));
});

Deno.test("decodeKlineIpc rejects every truncation of a small file with a CacheError", () => {
  const bytes = encodeKlineIpc([minutes(DAY, 3)], HEADER);
  for (let n = 0; n < bytes.length; n++) {
    assert.throws(() => decodeKlineIpc(bytes.subarray(0, n)), { code: "CACHE_ERROR" }, `${n}`);
    assert.throws(() => decodeKlineIpcMetadata(bytes.subarray(0, n)), { code: "CACHE_ERROR" });
  }
});

/** Where the footer starts (its FlatBuffers, after the record batches). */
function footerStart(bytes: Uint8Array): number {
  return bytes.length - 10 - new DataView(bytes.buffer).getInt32(bytes.length - 10, true);
}

/** Whether the direct reader accepts the footer (same fields) and every batch header. */
function directlyReadable(bytes: Uint8Array, fields: ArrowFieldInfo[]): boolean {
  const footer = readArrowFooter(bytes);
  return footer !== undefined && util.isDeepStrictEqual(footer.fields, fields) &&
    footer.blocks.every((block) => readArrowBatch(bytes, block, fields.length) !== undefined);
}

Deno.test("decodeKlineIpc returns the original rows or a CacheError for a flipped byte", () => {
  const input = [minutes(DAY, 3)];
  const bytes = encodeKlineIpc(input, HEADER);
  const expected = columnBytes(input);
  const footerAt = footerStart(bytes);
  const fields = readArrowFooter(bytes)!.fields;
  let decoded = 0;
  let rejected = 0;
  for (let at = 0; at < bytes.length; at++) {
    for (const mask of [0x01, 0x80, 0xff]) {
      const damaged = bytes.slice();
      damaged[at] ^= mask;
      // A damaged footer the direct path refuses goes to arrow-js, which can spin
      // on it: that path is the ignored test below.
      if (at >= footerAt && !directlyReadable(damaged, fields)) continue;
      try {
        const { batches, metadata } = decodeKlineIpc(damaged);
        assert.deepEqual(columnBytes(batches), expected, `byte ${at} ^ ${mask}`);
        assert.equal(metadata.rows, 3);
        assert.equal(metadata.firstOpenTime, DAY);
        decoded++;
      } catch (err) {
        assert.ok(err instanceof CacheError, `byte ${at} ^ ${mask}: ${err}`);
        assert.equal(err.code, "CACHE_ERROR");
        rejected++;
      }
    }
  }
  assert.ok(decoded > 0 && rejected > 0);
});

Deno.test({
  name: "decodeKlineIpc returns the original rows or a CacheError for any flipped footer byte",
  // arrow-js's reader loops forever on some damaged footers (a vector or
  // block offset): partition files are never handed to it.
  fn() {
    const input = [minutes(DAY, 3)];
    const bytes = encodeKlineIpc(input, HEADER);
    const expected = columnBytes(input);
    for (let at = footerStart(bytes); at < bytes.length; at++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const damaged = bytes.slice();
        damaged[at] ^= mask;
        try {
          assert.deepEqual(columnBytes(decodeKlineIpc(damaged).batches), expected);
        } catch (err) {
          assert.ok(err instanceof CacheError, `byte ${at} ^ ${mask}: ${err}`);
        }
      }
    }
  },
});
