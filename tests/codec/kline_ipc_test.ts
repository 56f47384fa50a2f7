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
import { CacheError } from "../../src/core/errors.ts";
import { allocKlineColumns, KLINE_SCHEMA, klineBatch } from "../../src/core/schema.ts";
import {
  decodeKlineIpc,
  decodeKlineIpcMetadata,
  encodeKlineIpc,
  type KlineIpcHeader,
} from "../../src/codec/kline_ipc.ts";

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

function withMetadata(batch: RecordBatch, meta: Record<string, string>): Uint8Array {
  const map = new Map(tableFromIPC(encodeKlineIpc([batch], HEADER)).schema.metadata);
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
