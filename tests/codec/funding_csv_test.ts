import assert from "node:assert/strict";
import type { RecordBatch } from "apache-arrow";
import { CsvFormatError, InvalidRangeError } from "../../src/core/errors.ts";
import { FUNDING_SCHEMA, fundingColumnsOf } from "../../src/core/funding_schema.ts";
import { decodeFundingCsv, type FundingCsvOptions } from "../../src/codec/funding_csv.ts";

const encoder = new TextEncoder();
const HEADER = "calc_time,funding_interval_hours,last_funding_rate";
const FILE = "BTCUSDT-fundingRate-2024-01.csv";
const START = Date.UTC(2024, 0, 1);

/** The rows of a decoded file: [time, interval hours (null when null), rate]. */
type Row = [number, number | null, number];

function rowsOf(batches: RecordBatch[]): Row[] {
  const out: Row[] = [];
  for (const batch of batches) {
    assert.equal(batch.schema, FUNDING_SCHEMA);
    const c = fundingColumnsOf(batch);
    for (let i = 0; i < batch.numRows; i++) {
      const valid = (c.fundingIntervalHoursValid[i >> 3] >> (i & 7)) & 1;
      out.push([c.fundingTime[i], valid ? c.fundingIntervalHours[i] : null, c.fundingRate[i]]);
      assert.equal((c.markPriceValid[i >> 3] >> (i & 7)) & 1, 0, "mark_price is null");
    }
  }
  return out;
}

function decode(csv: string | Uint8Array, options?: FundingCsvOptions): Row[] {
  return rowsOf(decodeFundingCsv(typeof csv === "string" ? encoder.encode(csv) : csv, options));
}

/** Vision-like lines: every 8 hours with +0/+1/+2 ms of jitter. */
function lines(n: number, micros = false): string[] {
  return Array.from({ length: n }, (_, i) => {
    const t = START + i * 28_800_000 + (i % 3);
    const rate = ((i % 7) - 3) * 0.0000125;
    return `${micros ? `${t}000` : t},8,${rate.toFixed(8)}`;
  });
}

function csvError(csv: string, options: FundingCsvOptions = { file: FILE }): CsvFormatError {
  try {
    decodeFundingCsv(encoder.encode(csv), options);
  } catch (e) {
    assert.ok(e instanceof CsvFormatError, `expected CsvFormatError, got ${e}`);
    return e;
  }
  return assert.fail(`no error for ${JSON.stringify(csv.slice(0, 80))}`);
}

Deno.test("decodeFundingCsv reads rates bit-identical to parseFloat, negative ones included", () => {
  const texts = [
    "0.00010000",
    "-0.00003750",
    "-0.00000000",
    "0.00000000",
    "0.0001",
    "-0.03750000",
    "0.00374531",
    "-0.00300000",
    "0.000123456789012345",
    "1e-05",
    "-2.5E-4",
    "0.1",
    ".5",
    "-.25",
    "3",
    "+0.0001",
  ];
  const csv = texts.map((t, i) => `${START + i * 3_600_000},1,${t}`).join("\n");
  const rows = decode(csv);
  assert.equal(rows.length, texts.length);
  rows.forEach(([, , rate], i) => assert.ok(Object.is(rate, parseFloat(texts[i])), texts[i]));
  assert.ok(Object.is(rows[2][2], -0));
});

Deno.test("decodeFundingCsv reads random decimals exactly as parseFloat", () => {
  let seed = 2024;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const texts: string[] = [];
  for (let i = 0; i < 20_000; i++) {
    const int = String(Math.floor(random() * 10 ** Math.floor(random() * 4)));
    const frac = String(Math.floor(random() * 1e14)).padStart(14, "0").slice(0, random() * 15);
    const sign = random() < 0.5 ? "-" : "";
    const exp = random() > 0.95 ? `e-${Math.floor(random() * 9)}` : "";
    texts.push(sign + int + (frac ? "." + frac : "") + exp);
  }
  const csv = texts.map((t, i) => `${START + i * 3_600_000},8,${t}`).join("\n") + "\n";
  const rows = decode(csv);
  for (let i = 0; i < texts.length; i++) {
    if (!Object.is(rows[i][2], parseFloat(texts[i]))) assert.fail(`line ${i + 1}: ${texts[i]}`);
  }
});

Deno.test("decodeFundingCsv reads the header or its absence, BOM, CRLF and no final newline", () => {
  const body = lines(5);
  const expected = decode(body.join("\n") + "\n");
  assert.deepEqual(expected[1], [START + 28_800_001, 8, -0.0000250]);
  for (
    const csv of [
      HEADER + "\n" + body.join("\n") + "\n",
      HEADER + "\r\n" + body.join("\r\n") + "\r\n",
      "\uFEFF" + HEADER + "\n" + body.join("\n"),
      "\uFEFF" + body.join("\n"),
      body.join("\r\n"),
    ]
  ) {
    assert.deepEqual(decode(csv), expected, JSON.stringify(csv.slice(0, 70)));
  }
});

Deno.test("decodeFundingCsv gives no batch for an empty file or a header alone", () => {
  for (const csv of ["", HEADER, HEADER + "\n", HEADER + "\r\n", "\uFEFF" + HEADER + "\n"]) {
    assert.deepEqual(decodeFundingCsv(encoder.encode(csv)), [], JSON.stringify(csv));
  }
});

Deno.test("decodeFundingCsv converts µs calc_time to ms, exactly", () => {
  const ms = decode(lines(6).join("\n"));
  assert.deepEqual(decode(lines(6, true).join("\n")), ms);
  // Sub-millisecond digits are cut, as the kline decoders cut µs close times.
  const rows = decode(`${START}999,8,0.0001\n${START + 3_600_000}001,8,0.0001\n`);
  assert.deepEqual(rows.map((r) => r[0]), [START, START + 3_600_000]);
});

Deno.test("decodeFundingCsv keeps jitter and interval changes as printed", () => {
  // Real files: calc_time lands +1/+2 ms past the hour; intervals change 8 -> 4 -> 1 hours.
  const csv = [
    `${START},8,0.00010000`,
    `${START + 28_800_001},8,0.00010000`,
    `${START + 57_600_002},4,-0.00012345`,
    `${START + 72_000_000},4,0.00001000`,
    `${START + 86_400_001},1,0.00000100`,
    `${START + 90_000_002},24,0.00000000`,
  ].join("\n");
  assert.deepEqual(decode(csv), [
    [START, 8, 0.0001],
    [START + 28_800_001, 8, 0.0001],
    [START + 57_600_002, 4, -0.00012345],
    [START + 72_000_000, 4, 0.00001],
    [START + 86_400_001, 1, 0.000001],
    [START + 90_000_002, 24, 0],
  ]);
});

Deno.test("decodeFundingCsv builds batches of at most batchRows rows and adds the source", () => {
  const all = lines(2500);
  const csv = all.join("\n");
  const batches = decodeFundingCsv(encoder.encode(csv), { batchRows: 1000, source: "VISION" });
  assert.deepEqual(batches.map((b) => b.numRows), [1000, 1000, 500]);
  assert.equal(batches[0].getChild("_data_source")?.get(999), "VISION");
  assert.deepEqual(rowsOf(decodeFundingCsv(encoder.encode(csv))).length, 2500);
  const small = decodeFundingCsv(encoder.encode(csv), { batchRows: 7 });
  assert.equal(small.length, Math.ceil(2500 / 7));
  assert.deepEqual(rowsOf(small), decode(csv));
  assert.throws(() => decodeFundingCsv(new Uint8Array(0), { batchRows: 0 }), InvalidRangeError);
  assert.throws(() => decodeFundingCsv(new Uint8Array(0), { batchRows: 2.5 }), InvalidRangeError);
});

Deno.test("decodeFundingCsv reports malformed rows with the file and 1-based line", () => {
  const good = lines(4);
  const at = (line: number, bad: string) =>
    good.slice(0, line - 1).concat(bad, good.slice(line - 1)).join("\n") + "\n";
  const t = (line: number) => START + (line - 1) * 28_800_000 + ((line - 1) % 3);
  const cases: [string, RegExp, number][] = [
    [at(3, `${t(3) - 5}`), /expected 3 columns, found 1/, 3],
    [at(2, `${t(2) - 5},8`), /expected 3 columns, found 2/, 2],
    [at(4, `${t(4) - 5},8,0.1,`), /expected 3 columns, found 4/, 4],
    [at(1, `${t(1) - 5},8,0.1,1,2`), /expected 3 columns, found 5/, 1],
    [at(2, `${t(2) - 5},8,`), /last_funding_rate "" is not a decimal number/, 2],
    [at(2, `${t(2) - 5},8,0.1x`), /last_funding_rate "0\.1x"/, 2],
    [at(2, `${t(2) - 5},8,1e999`), /last_funding_rate "1e999"/, 2],
    [at(3, `${t(3) - 5},8,NaN`), /"NaN" is not a decimal number/, 3],
    [at(2, `${t(2) - 5},0,0.1`), /funding_interval_hours "0" is not a whole number of hours/, 2],
    [at(2, `${t(2) - 5},25,0.1`), /funding_interval_hours "25"/, 2],
    [at(2, `${t(2) - 5},100,0.1`), /funding_interval_hours "100"/, 2],
    [at(2, `${t(2) - 5},8.0,0.1`), /funding_interval_hours "8\.0"/, 2],
    [at(2, `${t(2) - 5},-8,0.1`), /funding_interval_hours "-8"/, 2],
    [at(2, `${t(2) - 5},,0.1`), /funding_interval_hours ""/, 2],
    [at(2, `x${t(2)},8,0.1`), /calc_time "x\d+" is not an integer timestamp/, 2],
    [at(2, `-${t(2)},8,0.1`), /calc_time "-\d+" is not an integer timestamp/, 2],
    [at(1, `1704067200,8,0.1`), /has 10 digits, expected 13 \(ms\) or 16/, 1],
    [at(2, `${t(2) - 5}000,8,0.1`), /has 16 digits, expected 13 like the rows before/, 2],
    [at(1, `1000000000000,8,0.1`), /lies outside 2017-01-01/, 1],
    [at(2, `${t(1)},8,0.1`), /calc_time \d+ does not follow the row before/, 2],
    [at(3, `${t(1)},8,0.1`), /does not follow/, 3],
    [at(2, ""), /the line is empty/, 2],
    [at(2, `${t(2) - 5},8,0.1\r\r`), /stray carriage return/, 2],
  ];
  for (const [csv, message, line] of cases) {
    const err = csvError(csv);
    assert.match(err.message, message);
    assert.equal(err.line, line, err.message);
    assert.equal(err.file, FILE);
    assert.equal(err.code, "CSV_FORMAT");
    assert.match(err.message, new RegExp(`at "${FILE}" line ${line}$`));
  }
  // Duplicated and decreasing times are not kept: an event series has no other key.
  assert.equal(csvError(good[0] + "\n" + good[0] + "\n").line, 2);
  assert.equal(csvError([good[1], good[0]].join("\n")).line, 2);
  // Headers: Vision's exactly (columns are read by position).
  const reordered = "calc_time,last_funding_rate,funding_interval_hours\n" + good[0];
  assert.match(csvError(reordered).message, /header: expected "calc_time,funding_interval/);
  assert.equal(csvError("symbol,time,rate\n" + good[0]).line, 1);
  const headed = HEADER + "\n" + good[0] + "\n" + good[1].replace(",8,", ",8,x") + "\n";
  assert.equal(csvError(headed).line, 3);
  // A header is only a first line.
  assert.equal(csvError(good[0] + "\n" + HEADER + "\n").line, 2);
});

Deno.test("decodeFundingCsv throws only CsvFormatError on random damage to a file", () => {
  let seed = 99;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)];
  const base = encoder.encode(HEADER + "\n" + lines(40).join("\n") + "\n");
  const bytes = [..."0123456789,.-+eE\r\n\uFEFFx "].map((c) => c.charCodeAt(0) & 255);
  let failed = 0;
  for (let round = 0; round < 3000; round++) {
    const damaged = [...base];
    for (let k = 1 + Math.floor(random() * 4); k > 0; k--) {
      const at = Math.floor(random() * damaged.length);
      const op = random();
      if (op < 0.4) damaged[at] = pick(bytes);
      else if (op < 0.6) damaged.splice(at, 0, pick(bytes));
      else if (op < 0.8) damaged.splice(at, 1 + Math.floor(random() * 3));
      else damaged.length = at;
    }
    const input = Uint8Array.from(damaged);
    let batches: RecordBatch[];
    try {
      batches = decodeFundingCsv(input, { file: "f.csv", batchRows: 16 });
    } catch (e) {
      if (!(e instanceof CsvFormatError)) throw e;
      assert.ok(e.line >= 1 && e.line <= 42, e.message);
      failed++;
      continue;
    }
    // What decodes is well-formed: increasing times, whole hours, finite rates.
    const rows = rowsOf(batches);
    for (let i = 0; i < rows.length; i++) {
      const [t, hours, rate] = rows[i];
      assert.ok(Number.isSafeInteger(t) && (i === 0 || t > rows[i - 1][0]));
      assert.ok(hours !== null && Number.isInteger(hours) && hours >= 1 && hours <= 24);
      assert.ok(Number.isFinite(rate));
    }
  }
  assert.ok(failed > 1000, `${failed} of 3000 damaged files failed`);
});
