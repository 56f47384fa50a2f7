import assert from "node:assert/strict";
import type { RecordBatch } from "apache-arrow";
import { CsvFormatError, InvalidRangeError } from "../../src/core/errors.ts";
import { KLINE_COLUMN_KEYS, type KlineColumns, klineColumnsOf } from "../../src/core/schema.ts";
import { KlineCsvStream, type KlineCsvStreamOptions } from "../../src/codec/kline_csv_stream.ts";
import { ignoreValuesOf } from "../../src/codec/kline_ignore_values.ts";
import { CM_2025, SPOT_2023, SPOT_2025, UM_2023, UM_HEADER } from "./_kline_fixtures.ts";

const encoder = new TextEncoder();

/** Spot-format rows of 1m candles from `start` (ms), timestamps in ms or µs. */
function rows(n: number, start = 1672531200000, micros = false): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const t = start + i * 60_000;
    const open = (16000 + i * 1.25).toFixed(8);
    const ot = micros ? `${t}000` : `${t}`;
    const ct = micros ? `${t + 59_999}999` : `${t + 59_999}`;
    out.push(`${ot},${open},${open},${open},${open},1.5,${ct},2.25,${i},0.5,0.75,0`);
  }
  return out;
}

async function parse(
  input: string | Uint8Array | Uint8Array[],
  options?: KlineCsvStreamOptions,
): Promise<RecordBatch[]> {
  const chunks = typeof input === "string"
    ? [encoder.encode(input)]
    : input instanceof Uint8Array
    ? [input]
    : input;
  return await Array.fromAsync(
    ReadableStream.from(chunks).pipeThrough(new KlineCsvStream(options)),
  );
}

function columnsOf(batches: RecordBatch[]): Record<keyof KlineColumns, number[]> {
  const out = {} as Record<keyof KlineColumns, number[]>;
  for (const key of KLINE_COLUMN_KEYS) out[key] = [];
  for (const batch of batches) {
    const cols = klineColumnsOf(batch);
    for (const key of KLINE_COLUMN_KEYS) out[key].push(...cols[key]);
  }
  return out;
}

function expectedRow(line: string): number[] {
  const f = line.split(",").slice(0, 11).map(Number);
  for (const i of [0, 6]) if (f[i] > 1e14) f[i] = Math.floor(f[i] / 1000);
  return f;
}

function rowOf(cols: Record<keyof KlineColumns, number[]>, i: number): number[] {
  return KLINE_COLUMN_KEYS.map((key) => cols[key][i]);
}

async function csvError(input: string, options?: KlineCsvStreamOptions): Promise<CsvFormatError> {
  const err = await parse(input, options).then(() => undefined, (e) => e);
  assert.ok(err instanceof CsvFormatError, `expected CsvFormatError, got ${err}`);
  return err;
}

Deno.test("KlineCsvStream parses the BINANCE.md sample rows to exact values", async () => {
  const cases: [string, string][] = [
    [SPOT_2023 + "\n", SPOT_2023],
    [SPOT_2025 + "\n", SPOT_2025],
    [UM_HEADER + "\n" + UM_2023 + "\n", UM_2023],
    [UM_HEADER + "\n" + CM_2025 + "\n", CM_2025],
  ];
  for (const [csv, line] of cases) {
    const batches = await parse(csv);
    assert.equal(batches.length, 1);
    assert.equal(batches[0].numRows, 1);
    const row = rowOf(columnsOf(batches), 0);
    const expected = expectedRow(line);
    for (let i = 0; i < 11; i++) assert.ok(Object.is(row[i], expected[i]), `${line} column ${i}`);
  }
});

Deno.test("KlineCsvStream parses µs timestamps to ms, per file and per column", async () => {
  const cols = columnsOf(await parse(SPOT_2025 + "\n"));
  assert.equal(cols.openTime[0], 1735689600000);
  assert.equal(cols.closeTime[0], 1735689659999);
  const mixed = "1735689600000000,1,1,1,1,1,1735689659999,1,1,1,1,0\n";
  const mixedCols = columnsOf(await parse(mixed));
  assert.deepEqual([mixedCols.openTime[0], mixedCols.closeTime[0]], [1735689600000, 1735689659999]);
  const oneSecond = "1735689600000000,1,1,1,1,1,1735689600999999,1,1,1,1,0\n";
  assert.equal(columnsOf(await parse(oneSecond)).closeTime[0], 1735689600999);
});

Deno.test("KlineCsvStream reads the fixed schema with typed columns and an optional source", async () => {
  const [plain] = await parse(SPOT_2023 + "\n");
  assert.equal(plain.schema.fields.length, 11);
  assert.equal(plain.getChild("count")?.get(0), 2687n);
  assert.equal(plain.getChild("open_time")?.get(0), 1672531200000);
  const [withSource] = await parse(SPOT_2023 + "\n", { source: "VISION" });
  assert.equal(withSource.schema.fields[11].name, "_data_source");
  assert.equal(withSource.getChild("_data_source")?.get(0), "VISION");
});

Deno.test("KlineCsvStream accepts headers, CRLF, BOM and a missing final newline", async () => {
  const lines = rows(5);
  const expected = columnsOf(await parse(lines.join("\n") + "\n"));
  const variants = [
    lines.join("\n"),
    lines.join("\r\n") + "\r\n",
    lines.join("\r\n"),
    UM_HEADER + "\r\n" + lines.join("\r\n") + "\r\n",
    UM_HEADER + "\n" + lines.join("\n"),
    "\ufeff" + UM_HEADER + "\n" + lines.join("\n") + "\n",
    "\ufeff" + lines.join("\n") + "\n",
  ];
  for (const csv of variants) {
    assert.deepEqual(
      columnsOf(await parse(csv)),
      expected,
      JSON.stringify(csv),
    );
  }
});

Deno.test("KlineCsvStream yields no batch for an empty file or a header alone", async () => {
  assert.deepEqual(await parse(""), []);
  assert.deepEqual(await parse([]), []);
  assert.deepEqual(await parse(UM_HEADER + "\n"), []);
  assert.deepEqual(await parse(UM_HEADER), []);
});

Deno.test("KlineCsvStream gives the same output for every chunking of a file", async () => {
  const csv = encoder.encode(
    UM_HEADER + "\r\n" + [
      ...rows(3),
      UM_2023.replace("1672531200000", "1672531380000").replace("1672531259999", "1672531439999"),
    ].join("\r\n"),
  );
  const whole = columnsOf(await parse(csv));
  assert.equal(whole.openTime.length, 4);
  for (let i = 0; i <= csv.length; i++) {
    const split = columnsOf(await parse([csv.subarray(0, i), csv.subarray(i)]));
    assert.deepEqual(split, whole, `split at ${i}`);
  }
  const bytes = [...csv].map((b) => new Uint8Array([b]));
  assert.deepEqual(columnsOf(await parse(bytes)), whole);
  const micro = encoder.encode(rows(3, 1735689600000, true).join("\n") + "\n");
  const microWhole = columnsOf(await parse(micro));
  for (let i = 0; i <= micro.length; i++) {
    const split = [micro.subarray(0, i), micro.subarray(i)];
    assert.deepEqual(columnsOf(await parse(split)), microWhole);
  }
});

Deno.test("KlineCsvStream splits output into batches of at most batchRows rows", async () => {
  const csv = rows(10).join("\n") + "\n";
  const batches = await parse(csv, { batchRows: 3 });
  assert.deepEqual(batches.map((b) => b.numRows), [3, 3, 3, 1]);
  assert.deepEqual(columnsOf(batches), columnsOf(await parse(csv)));
  const grown = await parse(rows(20_000).join("\n"));
  assert.deepEqual(grown.map((b) => b.numRows), [4096, 8192, 7712]);
  const big = await parse(rows(20_000).join("\n"), { batchRows: 6000 });
  assert.ok(big.every((b) => b.numRows <= 6000));
  assert.equal(big.reduce((n, b) => n + b.numRows, 0), 20_000);
  assert.equal(columnsOf(big).count[19_999], 19_999);
  assert.throws(() => new KlineCsvStream({ batchRows: 0 }), InvalidRangeError);
  assert.throws(() => new KlineCsvStream({ batchRows: 1.5 }), InvalidRangeError);
});

Deno.test("KlineCsvStream reads random decimals in every column exactly as parseFloat", async () => {
  let seed = 12345;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const value = () => {
    const r = random();
    const int = String(Math.floor(random() * 10 ** Math.floor(random() * 12)));
    const frac = String(Math.floor(random() * 1e12)).padStart(12, "0").slice(0, random() * 13);
    const text = (r < 0.1 ? "-" : "") + int + (frac ? "." + frac : "");
    return r > 0.95 ? text + "e" + Math.floor(random() * 10) : text;
  };
  const lines: string[] = [];
  const expected: number[][] = [];
  for (let i = 0; i < 20_000; i++) {
    const f = Array.from({ length: 8 }, value);
    const t = 1672531200000 + i * 1000;
    lines.push(
      `${t},${f[0]},${f[1]},${f[2]},${f[3]},${f[4]},${t + 999},${f[5]},7,${f[6]},${f[7]},0`,
    );
    expected.push([
      t,
      ...f.slice(0, 5).map(parseFloat),
      t + 999,
      parseFloat(f[5]),
      7,
      ...f.slice(6).map(parseFloat),
    ]);
  }
  const cols = columnsOf(await parse(lines.join("\n"), { batchRows: 7000 }));
  for (let i = 0; i < expected.length; i++) {
    const row = rowOf(cols, i);
    for (let j = 0; j < 11; j++) {
      if (!Object.is(row[j], expected[i][j])) {
        assert.fail(`line ${i + 1}: ${lines[i]}, column ${j}`);
      }
    }
  }
});

Deno.test("KlineCsvStream reports malformed rows with the file and 1-based line", async () => {
  const good = rows(4);
  const at = (line: number, bad: string) =>
    good.slice(0, line - 1).concat(bad, good.slice(line - 1)).join("\n") + "\n";
  const row = good[0];
  const cases: [string, RegExp, number][] = [
    [at(3, row.split(",").slice(0, 11).join(",")), /expected 12 columns, found 11/, 3],
    [at(2, row.split(",").slice(0, 5).join(",")), /expected 12 columns, found 5/, 2],
    [at(5, row + ",0"), /expected 12 columns, found 13/, 5],
    [at(1, row.replace(",1.5,", ",1.5a,")), /volume "1\.5a" is not a decimal number/, 1],
    [at(4, row.replace(",1.5,", ",,")), /volume "" is not a decimal number/, 4],
    [at(2, row.replace(",2.25,", ",abc,")), /quote_asset_volume "abc"/, 2],
    [at(2, row.replace(",2.25,", ",1.2.3,")), /"1\.2\.3" is not a decimal number/, 2],
    [at(3, row.replace(",0.5,", ",1e999,")), /taker_buy_volume "1e999"/, 3],
    [at(2, "16725312000000" + row.slice(13)), /open_time "16725312000000" has 14 digits/, 2],
    [at(1, "1672531200" + row.slice(13)), /has 10 digits, expected 13 \(ms\) or 16/, 1],
    [at(1, "1000000000000" + row.slice(13)), /open_time "1000000000000" lies outside/, 1],
    [at(2, "1672531200000000" + row.slice(13)), /has 16 digits, expected 13 like/, 2],
    [at(3, row.replace(",0,0.5,", ",1.5,0.5,")), /count "1\.5" is not a non-negative integer/, 3],
    [at(3, row.replace(",0,0.5,", ",-1,0.5,")), /count "-1"/, 3],
    [at(2, ""), /the line is empty/, 2],
    [at(2, row + "\r\r"), /stray carriage return/, 2],
  ];
  for (const [csv, message, line] of cases) {
    const options = { file: "BTCUSDT-1m-2023-01-01.csv" };
    const err = await csvError(csv, options);
    assert.match(err.message, message);
    assert.equal(err.line, line, err.message);
    assert.equal(err.file, "BTCUSDT-1m-2023-01-01.csv");
    assert.equal(err.code, "CSV_FORMAT");
    assert.match(err.message, new RegExp(`at "BTCUSDT-1m-2023-01-01.csv" line ${line}$`));
  }
  const noHeader = "not a kline file\n" + good[0] + "\n";
  assert.match(
    (await csvError(noHeader)).message,
    /header: expected 12 columns, found 1 at line 1/,
  );
  const headed = UM_HEADER + "\n" + good[0] + "\n" + good[1].replace(",1.5,", ",x,") + "\n";
  assert.equal((await csvError(headed)).line, 3);
});

Deno.test("KlineCsvStream keeps well-formed irregular rows of real history as printed", async () => {
  // Rows seen in genuine spot BTCUSDT 1h archives (BINANCE.md "Real history is irregular").
  const hour = 3_600_000;
  const lines = [
    // close_time before open_time, zero volume (2020-12-21 14:00)
    "1608559200000,23450.00000000,23450.00000000,23450.00000000,23450.00000000,0.00000000," +
    "1608558440521,0.00000000,0,0.00000000,0.00000000,0",
    // close_time cut short: 29 minutes after the open
    `1608562800000,1,2,0.5,1.5,10,${1608562800000 + 29 * 60_000},15,3,4,6,0`,
    // close_time = open_time + interval exactly, and a non-zero ignore (2017)
    `1504224000000,4700,4710,4690,4705,12.5,${1504224000000 + hour},58000,90,6,28000,` +
    "17928899.62484339",
    // close_time ending in 999000
    `1504227600000,4705,4706,4700,4701,3,${1504227600000 + hour - 1000},14000,20,1,4700,0`,
    // an open time off the grid (…:28:14.789), after an outage
    `1518168494789,8200,8300,8100,8250,100,${1518168494789 + hour - 1},820000,500,50,410000,0`,
    // a zero-volume halt row: count 0, OHLC equal
    "1518172094789,8250,8250,8250,8250,0,1518175694788,0,0,0,0,0",
  ];
  const csv = lines.join("\n") + "\n";
  for (const options of [{}, { batchRows: 2 }]) {
    const cols = columnsOf(await parse(csv, options));
    assert.equal(cols.openTime.length, lines.length);
    for (let i = 0; i < lines.length; i++) {
      const expected = expectedRow(lines[i]);
      const row = rowOf(cols, i);
      for (let j = 0; j < 11; j++) {
        assert.ok(Object.is(row[j], expected[j]), `row ${i} column ${j}`);
      }
    }
  }
  // The non-zero `ignore` is recorded with the batch holding its row.
  const ignored = (await parse(csv, { batchRows: 2 })).map((b) => ignoreValuesOf(b));
  assert.deepEqual(ignored, [[], [{ openTime: 1504224000000, text: "17928899.62484339" }], []]);
  // Split anywhere, the same rows.
  const whole = columnsOf(await parse(csv));
  const bytes = encoder.encode(csv);
  for (let i = 0; i <= bytes.length; i += 7) {
    assert.deepEqual(columnsOf(await parse([bytes.subarray(0, i), bytes.subarray(i)])), whole);
  }
});

Deno.test("KlineCsvStream cancels its source when the output is cancelled", async () => {
  let cancelled: unknown;
  let pulls = 0;
  const line = encoder.encode(rows(1)[0] + "\n");
  const source = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulls++;
      controller.enqueue(line);
    },
    cancel(reason) {
      cancelled = reason;
    },
  }, { highWaterMark: 0 });
  const reader = source.pipeThrough(new KlineCsvStream({ batchRows: 2 })).getReader();
  const first = await reader.read();
  assert.equal(first.value?.numRows, 2);
  await reader.cancel("enough");
  assert.equal(cancelled, "enough");
  assert.ok(pulls < 100);
});

Deno.test("KlineCsvStream cancels its source on a malformed row", async () => {
  let cancelled: unknown;
  const source = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(rows(1)[0] + "\nnot,a,row\n"));
    },
    cancel(reason) {
      cancelled = reason;
    },
  });
  const out = source.pipeThrough(new KlineCsvStream());
  await assert.rejects(Array.fromAsync(out), CsvFormatError);
  assert.ok(cancelled instanceof CsvFormatError);
  assert.equal(cancelled.line, 2);
});

Deno.test("KlineCsvStream rejects a line longer than 64 KiB", async () => {
  const chunks = [encoder.encode("1".repeat(40_000)), encoder.encode("2".repeat(40_000))];
  const err = await parse(chunks).then(() => undefined, (e) => e);
  assert.ok(err instanceof CsvFormatError);
  assert.equal(err.line, 1);
});
