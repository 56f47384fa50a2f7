import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { RecordBatch } from "apache-arrow";
import { CsvFormatError, InvalidRangeError } from "../../src/core/errors.ts";
import { FUNDING_SCHEMA_WITH_SOURCE, fundingColumnsOf } from "../../src/core/funding_schema.ts";
import { decodeFundingCsv } from "../../src/codec/funding_csv.ts";
import {
  FundingCsvStream,
  type FundingCsvStreamOptions,
} from "../../src/codec/funding_csv_stream.ts";

const encoder = new TextEncoder();
const HEADER = "calc_time,funding_interval_hours,last_funding_rate";
const START = Date.UTC(2024, 0, 1);

function csv(n: number, micros = false): string {
  const rows = Array.from({ length: n }, (_, i) => {
    const t = START + i * 14_400_000 + (i % 3);
    return `${micros ? `${t}000` : t},${i < n / 2 ? 8 : 4},${(-0.0000125 * (i % 9)).toFixed(8)}`;
  });
  return HEADER + "\r\n" + rows.join("\r\n") + "\r\n";
}

async function parse(
  chunks: Uint8Array[],
  options?: FundingCsvStreamOptions,
): Promise<RecordBatch[]> {
  return await Array.fromAsync(
    ReadableStream.from(chunks).pipeThrough(new FundingCsvStream(options)),
  );
}

/** Every column of every row, as plain numbers (null where null). */
function table(batches: RecordBatch[]): (number | null)[][] {
  return batches.flatMap((batch) => {
    const c = fundingColumnsOf(batch);
    return Array.from({ length: batch.numRows }, (_, i) => [
      c.fundingTime[i],
      c.fundingRate[i],
      (c.fundingIntervalHoursValid[i >> 3] >> (i & 7)) & 1 ? c.fundingIntervalHours[i] : null,
      (c.markPriceValid[i >> 3] >> (i & 7)) & 1 ? c.markPrice[i] : null,
    ]);
  });
}

Deno.test("FundingCsvStream gives decodeFundingCsv's rows for every chunking of a file", async () => {
  for (const micros of [false, true]) {
    const bytes = encoder.encode(csv(30, micros));
    const whole = table(decodeFundingCsv(bytes));
    assert.equal(whole.length, 30);
    for (let i = 0; i <= bytes.length; i++) {
      const rows = table(await parse([bytes.subarray(0, i), bytes.subarray(i)]));
      assert.deepEqual(rows, whole, `split at ${i}`);
    }
    const bytewise = Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
    assert.deepEqual(table(await parse(bytewise)), whole);
  }
});

Deno.test("FundingCsvStream takes Node Buffers, batchRows and the source column", async () => {
  const bytes = Buffer.from(csv(10));
  const batches = await parse([bytes.subarray(0, 50), bytes.subarray(50)], {
    batchRows: 4,
    source: "VISION",
  });
  assert.deepEqual(batches.map((b) => b.numRows), [4, 4, 2]);
  assert.equal(batches[0].schema, FUNDING_SCHEMA_WITH_SOURCE);
  assert.equal(batches[2].getChild("_data_source")?.get(1), "VISION");
  assert.deepEqual(table(batches), table(decodeFundingCsv(bytes)));
  assert.throws(() => new FundingCsvStream({ batchRows: -1 }), InvalidRangeError);
});

Deno.test("FundingCsvStream yields nothing for an empty file and reports errors by line", async () => {
  assert.deepEqual(await parse([]), []);
  assert.deepEqual(await parse([encoder.encode(HEADER)]), []);
  const bad = encoder.encode(csv(3) + `${START},8,0.1\n`);
  const err = await parse([bad.subarray(0, 40), bad.subarray(40)], { file: "x.csv" })
    .then(() => undefined, (e) => e);
  assert.ok(err instanceof CsvFormatError);
  assert.equal(err.line, 5);
  assert.equal(err.file, "x.csv");
});

Deno.test("FundingCsvStream cancels its source when the output is cancelled", async () => {
  let cancelled: unknown;
  let pulls = 0;
  const source = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.enqueue(encoder.encode(`${START + pulls++ * 3_600_000},1,0.0001\n`));
    },
    cancel(reason) {
      cancelled = reason;
    },
  }, { highWaterMark: 0 });
  const reader = source.pipeThrough(new FundingCsvStream({ batchRows: 2 })).getReader();
  const first = await reader.read();
  assert.equal(first.value?.numRows, 2);
  await reader.cancel("enough");
  assert.equal(cancelled, "enough");
  assert.ok(pulls < 100);
});

Deno.test("FundingCsvStream cancels its source on a malformed row", async () => {
  let cancelled: unknown;
  const source = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(`${START},8,0.0001\nnot,a,row\n`));
    },
    cancel(reason) {
      cancelled = reason;
    },
  });
  await assert.rejects(Array.fromAsync(source.pipeThrough(new FundingCsvStream())), CsvFormatError);
  assert.ok(cancelled instanceof CsvFormatError);
  assert.equal(cancelled.line, 2);
});

Deno.test("FundingCsvStream rejects a line longer than 4 KiB across chunks", async () => {
  const chunks = [encoder.encode("1".repeat(3000)), encoder.encode("2".repeat(3000))];
  const err = await parse(chunks).then(() => undefined, (e) => e);
  assert.ok(err instanceof CsvFormatError);
  assert.equal(err.line, 1);
  assert.match(err.message, /longer than 4096 bytes/);
});
