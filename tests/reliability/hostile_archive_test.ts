/**
 * Hostile Vision archives whose CHECKSUM matches: a decompression bomb of
 * valid rows, and the archive of another day. Each is refused as soon as a
 * row cannot belong to it (ArchivePeriodError, reported as a failure), on the
 * main thread and in the decode worker alike; REST fills the partition and
 * the cache records REST as its source, never VISION.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ArchivePeriodError } from "../../src/core/errors.ts";
import { encodeZip } from "../../src/codec/zip_encoder.ts";
import { KlineDecodePool } from "../../src/codec/kline_decode_pool.ts";
import { openKlineStore } from "../../src/cache/open_kline_store.ts";
import { startEmulator } from "../../src/emulator/emulator.ts";
import { DataSourceManager } from "../../src/fcp/data_source_manager.ts";
import { archivePeriod, EXTRA_ROWS } from "../../src/source/_vision_decode.ts";
import { NOW, RETRY, tempDir } from "./_harness.ts";

const DAY = "2024-01-02";
const START = Date.UTC(2024, 0, 2);
const ZIP = `BTCUSDT-1m-${DAY}.zip`;
const CSV = `BTCUSDT-1m-${DAY}.csv`;
const PATH = `/data/spot/daily/klines/BTCUSDT/1m/${ZIP}`;
const PERIOD = archivePeriod({
  market: "spot",
  symbol: "BTCUSDT",
  interval: "1m",
  period: "daily",
  date: DAY,
});
/** 117 MB of one row in a 0.4 MB zip (under the client's size cap of a 1m day's archive). */
const BOMB_ROWS = 1_000_000;
/** Far more rows than a 1m day holds, each opening 1 ms after the one before. */
const RISING_ROWS = 20_000;

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** `count` copies of `line`, built by doubling (no per-row strings). */
function repeated(line: string, count: number): Uint8Array {
  const one = new TextEncoder().encode(line);
  const out = new Uint8Array(one.length * count);
  out.set(one);
  for (let filled = one.length; filled < out.length; filled *= 2) {
    out.copyWithin(filled, 0, Math.min(filled, out.length - filled));
  }
  return out;
}

/** A row of the day opening at `openTime`. */
function row(openTime: number): string {
  return `${openTime},42283.58000000,42290.00000000,42280.00000000,42285.00000000,1.5,` +
    `${openTime + 59_999},63427.5,12,0.7,29600.1,0\n`;
}

/** Rows opening 1 ms apart from the day's start: increasing, in the day, far too many. */
function increasingRows(count: number): Uint8Array {
  const lines: string[] = [];
  for (let i = 0; i < count; i++) lines.push(row(START + i));
  return new TextEncoder().encode(lines.join(""));
}

/** A fetch that serves `zip` and its matching CHECKSUM for {@linkcode PATH}, the rest as is. */
async function serving(zip: Uint8Array): Promise<typeof fetch> {
  const sum = `${await sha256Hex(zip)}  ${ZIP}`;
  return (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.pathname === PATH) return Promise.resolve(new Response(zip as BodyInit));
    if (url.pathname === `${PATH}.CHECKSUM`) return Promise.resolve(new Response(sum));
    return fetch(input, init);
  };
}

interface Outcome {
  rows: number;
  sources: Set<string>;
  failure: { code: string; message: string; partition?: string } | undefined;
  origin: string | undefined;
}

/** Fetches the day through a manager whose Vision archive of the day is `zip`. */
async function fetchDay(zip: Uint8Array, decodeWorkers: number): Promise<Outcome> {
  await using emu = await startEmulator({ now: NOW });
  await using sandbox = await tempDir();
  const dir = join(sandbox.path, "cache");
  const request = { symbol: "BTCUSDT", interval: "1m", start: DAY, end: "2024-01-03" } as const;
  let outcome: Outcome;
  {
    await using dsm = new DataSourceManager({
      cache: { dir },
      now: () => NOW,
      retry: RETRY,
      decodeWorkers,
      fetch: await serving(zip),
      endpoints: { vision: emu.url, listing: emu.url, rest: emu.url },
    });
    const { table, report } = await dsm.getDataWithReport(request);
    const column = table.getChild("_data_source")!;
    outcome = {
      rows: table.numRows,
      sources: new Set(Array.from({ length: table.numRows }, (_, i) => column.get(i))),
      failure: report.failures.find((f) => f.code === "ARCHIVE_PERIOD"),
      origin: undefined,
    };
    assert.deepEqual(report.partitions.map((p) => p.sources), [["rest"]]);
    assert.equal(report.partitions[0].cached, true);
  }
  const store = await openKlineStore({ dir, readOnly: true });
  const cached = await store.read({ ...request, market: "spot", partition: DAY });
  outcome.origin = cached?.metadata.source;
  assert.equal(cached?.metadata.visionSha256, undefined);
  return outcome;
}

/** The line of the row that stopped the decode, from the failure's message. */
function stoppedAt(message: string): number {
  const match = /at line (\d+)/.exec(message);
  assert.ok(match, message);
  return Number(match[1]);
}

for (const decodeWorkers of [0, 1]) {
  const path = decodeWorkers === 0 ? "main thread" : "decode worker";

  Deno.test(`Hostile archive (${path}): a bomb of one repeated row is refused at its second row and REST fills the day`, async () => {
    const zip = await encodeZip(CSV, repeated(row(START), BOMB_ROWS), { level: 9 });
    const got = await fetchDay(zip, decodeWorkers);
    assert.equal(got.rows, 1440);
    assert.deepEqual(got.sources, new Set(["REST"]));
    assert.ok(got.failure, "the archive is reported as failed");
    assert.equal(got.failure.partition, DAY);
    assert.match(got.failure.message, new RegExp(`"${CSV}".*do not increase`));
    assert.equal(stoppedAt(got.failure.message), 2);
    assert.equal(got.origin, "REST");
  });

  Deno.test(`Hostile archive (${path}): a bomb of increasing rows stops one row past the period's slots`, async () => {
    const zip = await encodeZip(CSV, increasingRows(RISING_ROWS));
    const got = await fetchDay(zip, decodeWorkers);
    assert.equal(got.rows, 1440);
    assert.deepEqual(got.sources, new Set(["REST"]));
    assert.ok(got.failure);
    assert.match(got.failure.message, /more rows than its period 2024-01-02 can hold \(1456\)/);
    assert.equal(stoppedAt(got.failure.message), 1440 + EXTRA_ROWS + 1);
    assert.equal(got.origin, "REST");
  });

  Deno.test(`Hostile archive (${path}): the archive of another day is refused, REST fills the day and is recorded as its source`, async () => {
    await using emu = await startEmulator({ now: NOW });
    const genuine = await fetch(
      `${emu.url}/data/spot/daily/klines/BTCUSDT/1m/BTCUSDT-1m-2024-01-01.zip`,
    );
    const zip = new Uint8Array(await genuine.arrayBuffer());
    const got = await fetchDay(zip, decodeWorkers);
    assert.equal(got.rows, 1440);
    assert.deepEqual(got.sources, new Set(["REST"]));
    assert.ok(got.failure);
    assert.equal(got.failure.partition, DAY);
    assert.match(
      got.failure.message,
      new RegExp(`"${CSV}".*outside its period 2024-01-02.*2024-01-01T00:00:00.000Z`),
    );
    assert.equal(stoppedAt(got.failure.message), 1);
    assert.equal(got.origin, "REST");
  });
}

Deno.test("Hostile archive: KlineDecodePool stops a bomb within the period's rows, with and without a worker", async () => {
  const zip = await encodeZip(CSV, repeated(row(START), BOMB_ROWS), { level: 9 });
  const rising = await encodeZip(CSV, increasingRows(RISING_ROWS));
  for (const workers of [0, 1]) {
    using pool = new KlineDecodePool({ workers });
    assert.equal(await pool.ready(), workers);
    for (const [bytes, line] of [[zip, 2], [rising, PERIOD.maxRows + 1]] as const) {
      await assert.rejects(
        pool.decodeZip(bytes, { file: CSV, period: PERIOD }),
        (e) => e instanceof ArchivePeriodError && e.line === line && e.file === CSV,
      );
    }
    // The same bytes without a period decode in full: the bound is the period's.
    const all = await pool.decodeZip(rising, { file: CSV });
    assert.equal(all.reduce((n, b) => n + b.numRows, 0), RISING_ROWS);
  }
});
