/**
 * Kernel benchmark of the kline CSV parser alone (bytes already inflated):
 * `KlineCsvStream` against TextDecoder + split + parseFloat and
 * nodejs-polars `readCSV` with an explicit schema.
 *
 * Run: `deno bench -A bench/kline_csv_bench.ts`
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { RecordBatch } from "apache-arrow";
import pl from "nodejs-polars";
import { KlineCsvStream } from "../src/codec/kline_csv_stream.ts";
import { naiveParse, POLARS_SCHEMA, syntheticKlineCsv } from "./vision_decode_bench.ts";

const MONTH_1M = syntheticKlineCsv({
  start: Date.UTC(2024, 0, 1),
  rows: 44_640,
  intervalMs: 60_000,
  micros: false,
});
const CHUNK = 64 * 1024;

async function parseStream(bytes: Uint8Array): Promise<RecordBatch[]> {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += CHUNK) chunks.push(bytes.subarray(i, i + CHUNK));
  return await Array.fromAsync(
    ReadableStream.from(chunks).pipeThrough(new KlineCsvStream()),
  );
}

const rows = (await parseStream(MONTH_1M)).reduce((n, b) => n + b.numRows, 0);
const polarsCsv = Buffer.from(MONTH_1M.buffer, MONTH_1M.byteOffset, MONTH_1M.length);
const polars = () => pl.readCSV(polarsCsv, { hasHeader: false, schema: POLARS_SCHEMA });
if (
  rows !== 44_640 || naiveParse(MONTH_1M).openTime.length !== 44_640 || polars().height !== 44_640
) {
  throw new Error(`Benchmark input parsed to ${rows} rows, expected 44640`);
}

Deno.bench({
  name: "KlineCsvStream, 64 KiB chunks",
  group: "parse 1m month",
  baseline: true,
  async fn() {
    await parseStream(MONTH_1M);
  },
});

Deno.bench({
  name: "TextDecoder + split + parseFloat",
  group: "parse 1m month",
  fn() {
    naiveParse(MONTH_1M);
  },
});

Deno.bench({
  name: "nodejs-polars readCSV",
  group: "parse 1m month",
  fn() {
    polars();
  },
});
