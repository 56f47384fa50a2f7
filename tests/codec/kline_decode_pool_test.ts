import assert from "node:assert/strict";
import type { RecordBatch } from "apache-arrow";
import {
  ChecksumError,
  CsvFormatError,
  InvalidRangeError,
  ZipFormatError,
} from "../../src/core/errors.ts";
import { KLINE_COLUMN_KEYS, klineColumnsOf } from "../../src/core/schema.ts";
import { KlineCsvStream, type KlineCsvStreamOptions } from "../../src/codec/kline_csv_stream.ts";
import { KlineDecodePool } from "../../src/codec/kline_decode_pool.ts";
import { ignoreValuesOf } from "../../src/codec/kline_ignore_values.ts";
import { unzipSingleEntry } from "../../src/codec/unzip_stream.ts";
import { encodeZip } from "../../src/codec/zip_encoder.ts";
import { CM_2025, SPOT_2023, SPOT_2025, UM_2023, UM_HEADER } from "./_kline_fixtures.ts";

/** Enough rows (over 512 KiB) for the pool to use its worker. */
const BIG = 6000;
const FILE = "BTCUSDT-1m-2023-01.csv";

const encoder = new TextEncoder();

/** 1m rows from `start` (ms) with awkward decimals, timestamps in ms or µs. */
function rows(n: number, start = 1672531200000, micros = false): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const t = start + i * 60_000;
    const p = (16000 + i * 1.37 + (i % 7) * 0.00000001).toFixed(8);
    const ot = micros ? `${t}000` : `${t}`;
    const ct = micros ? `${t + 59_999}999` : `${t + 59_999}`;
    out.push(`${ot},${p},${p},${p},${p},${(i * 0.1).toFixed(5)},${ct},1.1e3,${i},0.3,0.7,0`);
  }
  return out;
}

async function streamed(csv: Uint8Array, options?: KlineCsvStreamOptions): Promise<RecordBatch[]> {
  return await Array.fromAsync(ReadableStream.from([csv]).pipeThrough(new KlineCsvStream(options)));
}

/** Asserts the same rows and bit-identical values (Object.is on every cell). */
function assertSame(actual: RecordBatch[], expected: RecordBatch[], what: string): void {
  const flat = (batches: RecordBatch[]) =>
    KLINE_COLUMN_KEYS.map((key) => batches.flatMap((b) => [...klineColumnsOf(b)[key]]));
  const a = flat(actual);
  const e = flat(expected);
  for (let c = 0; c < a.length; c++) {
    assert.equal(a[c].length, e[c].length, `${what}: row count`);
    for (let i = 0; i < a[c].length; i++) {
      if (!Object.is(a[c][i], e[c][i])) assert.fail(`${what}: column ${c} row ${i}`);
    }
  }
  const source = (bs: RecordBatch[]) => bs.flatMap((b) => [...(b.getChild("_data_source") ?? [])]);
  assert.deepEqual(source(actual), source(expected), `${what}: _data_source`);
  for (const batch of actual) {
    assert.equal(batch.schema.fields.length, expected[0].schema.fields.length);
  }
}

/** Decodes `text` as CSV and as a zip and compares both with KlineCsvStream. */
async function assertLikeStream(
  pool: KlineDecodePool,
  text: string,
  options: KlineCsvStreamOptions,
  what: string,
): Promise<void> {
  const csv = encoder.encode(text);
  const expected = await streamed(csv, options);
  assertSame(await pool.decodeCsv(csv, options), expected, `${what} (csv)`);
  assertSame(await pool.decodeZip(await encodeZip(FILE, csv), options), expected, `${what} (zip)`);
  const deferred = await encodeZip(FILE, csv, { dataDescriptor: true });
  assertSame(await pool.decodeZip(deferred, options), expected, `${what} (zip, data descriptor)`);
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return await promise.then(() => assert.fail("expected a rejection"), (err) => err);
}

Deno.test("KlineDecodePool decodes the BINANCE.md sample rows like KlineCsvStream", async () => {
  using pool = new KlineDecodePool();
  assert.equal(await pool.ready(), 1);
  const cases = [
    SPOT_2023 + "\n",
    SPOT_2025 + "\n",
    UM_HEADER + "\n" + UM_2023 + "\n",
    UM_HEADER + "\n" + CM_2025 + "\n",
  ];
  for (const csv of cases) await assertLikeStream(pool, csv, {}, csv);
});

Deno.test("KlineDecodePool splits large files with µs, headers, CRLF and a source exactly", async () => {
  using pool = new KlineDecodePool();
  const ms = rows(BIG);
  const us = rows(BIG, 1735689600000, true);
  const variants: [string, string][] = [
    ["ms", ms.join("\n") + "\n"],
    ["µs", us.join("\n") + "\n"],
    ["header", UM_HEADER + "\n" + ms.join("\n")],
    ["CRLF", ms.join("\r\n") + "\r\n"],
    ["BOM header CRLF", "\ufeff" + UM_HEADER + "\r\n" + us.join("\r\n")],
  ];
  for (const [what, text] of variants) {
    await assertLikeStream(pool, text, { file: FILE }, what);
  }
  const csv = encoder.encode(ms.join("\n"));
  const parts = await pool.decodeCsv(csv, {});
  const lengths = (batches: RecordBatch[]) => batches.map((b) => b.numRows);
  const own = lengths(await streamed(csv, {}));
  assert.notDeepEqual(lengths(parts), own, "the worker parses a part of its own");
  await assertLikeStream(pool, ms.join("\n"), { source: "VISION", batchRows: 1000 }, "source");
  const cm = Array.from({ length: BIG }, () => CM_2025).join("\n");
  await assertLikeStream(pool, cm, {}, "futures cm, no interval");
});

/** Asserts the pool rejects like KlineCsvStream: same class, message, file and line. */
async function assertSameCsvError(pool: KlineDecodePool, text: string, what: string) {
  const csv = encoder.encode(text);
  const options = { interval: "1m" as const, file: FILE };
  const expected = await rejection(streamed(csv, options));
  assert.ok(expected instanceof CsvFormatError, what);
  for (
    const actual of [
      await rejection(pool.decodeCsv(csv, options)),
      await rejection(pool.decodeZip(await encodeZip(FILE, csv), options)),
    ]
  ) {
    assert.ok(actual instanceof CsvFormatError, `${what}: ${actual}`);
    assert.equal(actual.message, expected.message, what);
    assert.equal(actual.file, FILE);
    assert.equal(actual.line, expected.line, what);
  }
  return expected.line;
}

Deno.test("KlineDecodePool keeps irregular rows and their ignore values across worker parts and chunks", async () => {
  using pool = new KlineDecodePool();
  const lines = rows(BIG);
  // A close_time before its open, an open time off the grid, non-zero ignores in both halves.
  const hour = 3_600_000;
  lines[10] = lines[10].replace(
    /,(\d{13}),/,
    (_m, _c) => `,${1672531200000 + 10 * 60_000 - 758_479},`,
  );
  lines[20] = lines[20].replace(/^(\d{13})/, (t) => String(Number(t) + 14_789));
  lines[30] = lines[30].replace(/,0$/, ",17928899.62484339");
  lines[BIG - 3] = lines[BIG - 3].replace(/,0$/, `,${hour}`);
  const csv = encoder.encode(lines.join("\n") + "\n");
  const own = await streamed(csv, { file: FILE });
  // The zip's chunks come through the worker's shared ring: the ignore texts are read from it.
  const zipped = await pool.decodeZip(await encodeZip(FILE, csv), { file: FILE });
  for (const parts of [await pool.decodeCsv(csv, { file: FILE }), zipped, own]) {
    assertSame(parts, own, "irregular rows");
    assert.deepEqual(parts.flatMap((b) => ignoreValuesOf(b)), [
      { openTime: 1672531200000 + 30 * 60_000, text: "17928899.62484339" },
      { openTime: 1672531200000 + (BIG - 3) * 60_000, text: String(hour) },
    ]);
  }
});

Deno.test("KlineDecodePool reports malformed rows with the file and the global line", async () => {
  using pool = new KlineDecodePool();
  const lines = rows(BIG);
  const broken = (at: number, row: string) => lines.with(at, row).join("\n") + "\n";
  const late = BIG - 10;
  assert.equal(
    await assertSameCsvError(pool, broken(late, lines[late].replace(",", ",x")), "worker half"),
    late + 1,
  );
  await assertSameCsvError(pool, broken(20, lines[20].replace(",0", ",0,9")), "main half");
  await assertSameCsvError(pool, broken(late, rows(BIG, 1672531200000, true)[late]), "µs in ms");
  await assertSameCsvError(pool, broken(BIG / 2, "open_time,x"), "header-like row at the cut");
  await assertSameCsvError(pool, broken(BIG / 2, ""), "empty line at the cut");
  const both = lines.with(20, "1,2").with(late, "3,4").join("\n");
  assert.equal(await assertSameCsvError(pool, both, "two errors"), 21);
});

Deno.test("KlineDecodePool reports a corrupt zip like unzipSingleEntry", async () => {
  using pool = new KlineDecodePool();
  const csv = encoder.encode(rows(BIG).join("\n"));
  const zip = await encodeZip(FILE, csv);
  const crc = zip.slice();
  crc[14] ^= 0xff; // local CRC-32
  const central = zip.length - 22 - 46 - FILE.length;
  crc[central + 16] ^= 0xff; // central CRC-32
  const bad = zip.slice();
  bad[60] ^= 0x5a; // inside the deflated data
  for (const archive of [crc, bad, zip.subarray(0, 1000), new Uint8Array(0)]) {
    const expected = await rejection(unzipSingleEntry(archive, { file: FILE }));
    const actual = await rejection(pool.decodeZip(archive, { file: FILE }));
    assert.ok(actual instanceof ZipFormatError, String(actual));
    assert.ok(expected instanceof ZipFormatError);
    if (archive !== bad) assert.equal(actual.message, expected.message);
  }
});

Deno.test("KlineDecodePool checks expectedSha256 on the worker and on the main thread", async () => {
  const sha = async (bytes: Uint8Array) =>
    [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes.slice()))]
      .map((b) => b.toString(16).padStart(2, "0")).join("");
  const big = await encodeZip(FILE, encoder.encode(rows(BIG).join("\n")));
  const small = await encodeZip(FILE, encoder.encode(rows(10).join("\n")));
  for (const workers of [1, 0]) {
    using pool = new KlineDecodePool({ workers });
    for (const zip of [big, small]) {
      const what = `${workers} worker(s), ${zip.length} bytes`;
      const digest = await sha(zip);
      const plain = await pool.decodeZip(zip, { file: FILE });
      const checked = await pool.decodeZip(zip, {
        file: FILE,
        expectedSha256: digest.toUpperCase(),
      });
      assertSame(checked, plain, what);
      const other = "0".repeat(64);
      // A wrong digest of bytes that decode: no rows, no cause (a bad archive).
      const wrong = await rejection(pool.decodeZip(zip, { file: FILE, expectedSha256: other }));
      assert.ok(wrong instanceof ChecksumError, `${what}: ${wrong}`);
      assert.equal(wrong.actual, digest);
      assert.equal(wrong.cause, undefined, what);
      // A wrong digest of bytes that do not decode: the decode's error is its cause (a damaged transfer).
      const bad = zip.slice();
      bad[60] ^= 0x5a;
      const damaged = await rejection(pool.decodeZip(bad, { file: FILE, expectedSha256: digest }));
      assert.ok(damaged instanceof ChecksumError, `${what}: ${damaged}`);
      assert.ok(damaged.cause instanceof ZipFormatError || damaged.cause instanceof CsvFormatError);
    }
  }
});

Deno.test("KlineDecodePool yields no batch for empty input", async () => {
  using pool = new KlineDecodePool();
  assert.deepEqual(await pool.decodeCsv(new Uint8Array(0)), []);
  assert.deepEqual(await pool.decodeZip(await encodeZip(FILE, new Uint8Array(0))), []);
  assert.deepEqual(await pool.decodeCsv(encoder.encode(UM_HEADER + "\n")), []);
});

Deno.test("KlineDecodePool rejects cleanly on abort and on close while busy", async () => {
  const zip = await encodeZip(FILE, encoder.encode(rows(BIG).join("\n")));
  const csv = encoder.encode(rows(BIG).join("\n"));
  const pool = new KlineDecodePool();
  await pool.ready();
  const controller = new AbortController();
  const aborted = pool.decodeZip(zip, { signal: controller.signal });
  controller.abort(new Error("stop"));
  assert.equal((await rejection(aborted) as Error).message, "stop");
  const split = pool.decodeCsv(csv, { signal: AbortSignal.abort() });
  assert.equal((await rejection(split) as DOMException).name, "AbortError");
  assert.equal((await pool.decodeZip(zip)).reduce((n, b) => n + b.numRows, 0), BIG);
  const busy = [pool.decodeZip(zip), pool.decodeCsv(csv)];
  await new Promise((resolve) => setTimeout(resolve, 0));
  pool.close();
  for (const job of busy) {
    const err = await job.then(() => undefined, (e) => e);
    if (err !== undefined) assert.equal((err as DOMException).name, "AbortError");
  }
  await assert.rejects(pool.decodeCsv(csv), TypeError);
  pool.close();
});

Deno.test("KlineDecodePool without workers decodes on the main thread", async () => {
  assert.throws(() => new KlineDecodePool({ workers: -1 }), InvalidRangeError);
  using pool = new KlineDecodePool({ workers: 0 });
  assert.equal(await pool.ready(), 0);
  await assertLikeStream(pool, rows(BIG).join("\n"), {}, "no workers");
});

Deno.test("KlineDecodePool falls back to one thread with only --allow-net", async () => {
  const url = new URL("../../src/codec/kline_decode_pool.ts", import.meta.url).href;
  const encode = new URL("../../src/codec/zip_encoder.ts", import.meta.url).href;
  const script = `
    import { KlineDecodePool } from "${url}";
    import { encodeZip } from "${encode}";
    using pool = new KlineDecodePool();
    const row = "1672531200000,1,1,1,1,1,1672531259999,1,1,1,1,0\\n";
    const zip = await encodeZip("a.csv", new TextEncoder().encode(row.repeat(9000)));
    const batches = await pool.decodeZip(zip);
    console.log(await pool.ready(), batches.reduce((n, b) => n + b.numRows, 0));
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--no-lock", "-"],
    cwd: new URL("../../", import.meta.url),
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(encoder.encode(script));
  await writer.close();
  const out = await child.output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  assert.equal(new TextDecoder().decode(out.stdout).trim(), "0 9000");
  assert.ok(!stderr.includes("Requires read access"), stderr);
});
