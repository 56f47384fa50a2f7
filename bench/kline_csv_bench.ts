/**
 * Kernel benchmark of the kline CSV parser alone (bytes already inflated):
 * `KlineCsvStream` against TextDecoder + split + parseFloat and
 * nodejs-polars `readCSV` with an explicit schema. Before timing, each
 * parser's columns are checked once, value for value, against `parseFloat`
 * of the text (the naive parser).
 *
 * Run: `deno bench -A bench/kline_csv_bench.ts`
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { RecordBatch } from "apache-arrow";
import pl from "nodejs-polars";
import { KlineCsvStream } from "../src/codec/kline_csv_stream.ts";
import { KLINE_COLUMN_KEYS, KLINE_SCHEMA, klineColumnsOf } from "../src/core/schema.ts";
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

const polarsCsv = Buffer.from(MONTH_1M.buffer, MONTH_1M.byteOffset, MONTH_1M.length);
const polars = () => pl.readCSV(polarsCsv, { hasHeader: false, schema: POLARS_SCHEMA });

/** Checks once that both parsers return parseFloat of the text, every value of every row. */
async function check(): Promise<void> {
  const want = naiveParse(MONTH_1M);
  if (want.openTime.length !== 44_640) {
    throw new Error(`Benchmark input parsed to ${want.openTime.length} rows, expected 44640`);
  }
  const batches = (await parseStream(MONTH_1M)).map(klineColumnsOf);
  const df = polars();
  for (const [j, key] of KLINE_COLUMN_KEYS.entries()) {
    const stream = batches.flatMap((b) => [...b[key]]);
    const frame = (df.getColumn(KLINE_SCHEMA.fields[j].name).toArray() as (number | bigint)[])
      .map(Number);
    for (const [name, got] of [["KlineCsvStream", stream], ["nodejs-polars", frame]] as const) {
      const bad = got.length !== want[key].length
        ? 0
        : got.findIndex((v, i) => !Object.is(v, want[key][i]));
      if (bad >= 0) {
        throw new Error(
          `${name}: ${key} differs from parseFloat at row ${bad} (${got.length} rows)`,
        );
      }
    }
  }
}
await check();

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
