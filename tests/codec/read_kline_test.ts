import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { Schema, Table } from "apache-arrow";
import {
  ChecksumError,
  CsvFormatError,
  InvalidRangeError,
  ZipFormatError,
} from "../../src/core/errors.ts";
import { KLINE_SCHEMA, KLINE_SCHEMA_WITH_SOURCE } from "../../src/core/schema.ts";
import {
  readKlineCsv,
  readKlineZip,
  streamKlineCsv,
  streamKlineZip,
} from "../../src/codec/read_kline.ts";
import { encodeZip } from "../../src/codec/zip_encoder.ts";

const encoder = new TextEncoder();
const HEADER = "open_time,open,high,low,close,volume,close_time,quote_volume,count," +
  "taker_buy_volume,taker_buy_quote_volume,ignore";

function csvOf(n: number, micros = false): Uint8Array {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const t = 1735689600000 + i * 60_000;
    const [ot, ct] = micros ? [`${t}000`, `${t + 59_999}999`] : [`${t}`, `${t + 59_999}`];
    const p = (93576 + i / 100).toFixed(8);
    lines.push(`${ot},${p},${p},${p},${p},8.21827000,${ct},768978.75522470,${i},3.9,369757.3,0`);
  }
  return encoder.encode(lines.join("\n") + (n > 0 ? "\n" : ""));
}

function fieldsOf(schema: Schema): string[] {
  return schema.fields.map((f) => `${f.name}: ${f.type} ${f.nullable}`);
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** A byte stream of `bytes` in `size`-byte chunks that records its cancellation. */
function chunked(bytes: Uint8Array, size: number) {
  const state = { cancelled: false as boolean, reason: undefined as unknown };
  let offset = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + size));
      offset += size;
    },
    cancel(reason) {
      state.cancelled = true;
      state.reason = reason;
    },
  }, { highWaterMark: 0 });
  return { stream, state };
}

function summary(table: Table): [number, number, number, number] {
  const open = table.getChild("open")!.toArray() as Float64Array;
  const times = table.getChild("open_time")!.toArray();
  return [table.numRows, open[0], open[open.length - 1], Number(times[times.length - 1])];
}

Deno.test("readKlineZip reads an archive from memory and from a stream alike", async () => {
  const csv = csvOf(5000, true);
  const expected: [number, number, number, number] = [
    5000,
    93576,
    93625.99,
    1735689600000 + 4999 * 60_000,
  ];
  for (const dataDescriptor of [false, true]) {
    const zip = await encodeZip("BTCUSDT-1m-2025-01-01.csv", csv, { dataDescriptor });
    const fromBytes = await readKlineZip(zip, { expectedSha256: sha256(zip) });
    assert.deepEqual(summary(fromBytes), expected);
    assert.deepEqual(fieldsOf(fromBytes.schema), fieldsOf(KLINE_SCHEMA));
    const { stream } = chunked(zip, 1000);
    const fromStream = await readKlineZip(stream, { expectedSha256: sha256(zip) });
    assert.deepEqual(summary(fromStream), expected);
  }
});

Deno.test("readKlineZip gives an empty table of the fixed schema for an empty CSV", async () => {
  for (const csv of [new Uint8Array(0), encoder.encode(HEADER + "\n")]) {
    const zip = await encodeZip("BTCUSDT_PERP-1m-2025-01-01.csv", csv);
    const table = await readKlineZip(zip);
    assert.equal(table.numRows, 0);
    assert.deepEqual(fieldsOf(table.schema), fieldsOf(KLINE_SCHEMA));
    const streamed = await readKlineZip(chunked(zip, 7).stream, { source: "VISION" });
    assert.equal(streamed.numRows, 0);
    assert.deepEqual(fieldsOf(streamed.schema), fieldsOf(KLINE_SCHEMA_WITH_SOURCE));
  }
});

Deno.test("readKlineZip rejects a checksum mismatch before parsing anything", async () => {
  const zip = await encodeZip("a.csv", encoder.encode("1672531200000,abc\n"));
  const wrong = "0".repeat(64);
  const err = await readKlineZip(zip, { file: "a.zip", expectedSha256: wrong }).catch((e) => e);
  assert.ok(err instanceof ChecksumError);
  assert.equal(err.file, "a.zip");
  assert.equal(err.actual, sha256(zip));
  await readKlineZip(zip, { expectedSha256: sha256(zip).toUpperCase() }).then(
    () => assert.fail("expected a CsvFormatError"),
    (e) => assert.ok(e instanceof CsvFormatError),
  );
});

Deno.test("streamKlineZip errors after the last batch when the checksum differs", async () => {
  const zip = await encodeZip("a.csv", csvOf(300));
  const batches = [];
  const reader = streamKlineZip(zip, { batchRows: 100, expectedSha256: "a".repeat(64) })
    .getReader();
  let error: unknown;
  while (true) {
    try {
      const { done, value } = await reader.read();
      if (done) break;
      batches.push(value);
    } catch (err) {
      error = err;
      break;
    }
  }
  assert.ok(error instanceof ChecksumError);
  assert.equal(batches.reduce((n, b) => n + b.numRows, 0), 300);
  const ok = await Array.fromAsync(streamKlineZip(zip, { expectedSha256: sha256(zip) }));
  assert.equal(ok.reduce((n, b) => n + b.numRows, 0), 300);
});

Deno.test("streamKlineZip surfaces zip and CSV errors with the file name", async () => {
  const zip = await encodeZip("a.csv", csvOf(10));
  const truncated = zip.subarray(0, zip.length - 30);
  await assert.rejects(
    Array.fromAsync(streamKlineZip(truncated, { file: "t.zip" })),
    ZipFormatError,
  );
  await assert.rejects(readKlineZip(truncated, { file: "t.zip" }), ZipFormatError);
  const bad = await encodeZip("b.csv", encoder.encode(HEADER + "\n1735689600000,x\n"));
  const err = await readKlineZip(chunked(bad, 5).stream, { file: "b.zip" }).catch((e) => e);
  assert.ok(err instanceof CsvFormatError);
  assert.equal(err.line, 2);
  assert.equal(err.file, "b.zip");
});

Deno.test("streamKlineZip cancels its input when the output is cancelled", async () => {
  const zip = await encodeZip("a.csv", csvOf(20_000), { level: 1 });
  const { stream, state } = chunked(zip, 4096);
  const reader = streamKlineZip(stream, { batchRows: 500 }).getReader();
  const first = await reader.read();
  assert.equal(first.value?.numRows, 500);
  await reader.cancel("stop");
  // The cancellation travels up the pipe chain asynchronously: yield to it.
  for (let i = 0; i < 100 && !state.cancelled; i++) await new Promise((r) => setTimeout(r, 0));
  assert.ok(state.cancelled);
  assert.equal(state.reason, "stop");
});

Deno.test("readKlineCsv and streamKlineCsv read CSV bytes and streams", async () => {
  const csv = csvOf(1000);
  const table = await readKlineCsv(csv, { batchRows: 300, source: "REST" });
  assert.equal(table.numRows, 1000);
  assert.equal(table.batches.length, 4);
  assert.equal(table.getChild("_data_source")?.get(999), "REST");
  const streamed = await readKlineCsv(chunked(csv, 333).stream);
  assert.deepEqual(summary(streamed), summary(table));
  const batches = await Array.fromAsync(streamKlineCsv(csv, { expectedSha256: sha256(csv) }));
  assert.equal(batches.reduce((n, b) => n + b.numRows, 0), 1000);
  await assert.rejects(
    Array.fromAsync(streamKlineCsv(chunked(csv, 100).stream, { expectedSha256: "b".repeat(64) })),
    ChecksumError,
  );
  await assert.rejects(readKlineCsv(csv, { expectedSha256: "b".repeat(64) }), ChecksumError);
  assert.equal((await readKlineCsv(new Uint8Array(0))).numRows, 0);
});

Deno.test("the readers reject unusable input and options before reading", async () => {
  await assert.rejects(readKlineZip("x" as unknown as Uint8Array), TypeError);
  await assert.rejects(readKlineCsv(new Uint8Array(0), { expectedSha256: "xyz" }), TypeError);
  await assert.rejects(readKlineCsv(new Uint8Array(0), { batchRows: -1 }), InvalidRangeError);
  assert.throws(() => streamKlineZip(new Uint8Array(0), { expectedSha256: "1" }), TypeError);
  assert.throws(() => streamKlineCsv(null as unknown as Uint8Array), TypeError);
});
