/**
 * Reading one year of 1m klines (365 day partitions, 525,600 rows) into one
 * Table: from the Arrow IPC cache, against the same rows from CSV files
 * (naive parse) and JSON files (REST-style arrays), measured in the same run.
 * Before timing, every reader's year is checked once, value for value,
 * against the generated rows it was written from.
 *
 * Run: `deno run -A bench/cache_read_bench.ts [rounds]`
 *
 * @module
 */
import { join } from "node:path";
import { type RecordBatch, Table, tableFromIPC } from "apache-arrow";
import { FsKlineStore } from "../src/cache/fs_kline_store.ts";
import type { PartitionKey } from "../src/cache/kline_store.ts";
import {
  allocKlineColumns,
  KLINE_COLUMN_KEYS,
  klineBatch,
  type KlineColumns,
  klineColumnsOf,
} from "../src/core/schema.ts";

const DAYS = 365;
const ROWS = DAYS * 1440;
const START = Date.UTC(2023, 0, 1);
const rounds = Number(Deno.args[0] ?? 5);

function dayColumns(start: number): KlineColumns {
  const c = allocKlineColumns(1440);
  for (let i = 0; i < 1440; i++) {
    const t = start + i * 60_000;
    const p = Math.round((20_000 + 5_000 * Math.sin(t / 8.64e7) + (i % 97)) * 100) / 100;
    c.openTime[i] = t;
    c.closeTime[i] = t + 59_999;
    c.open[i] = p;
    c.high[i] = p + 12.5;
    c.low[i] = p - 7.25;
    c.close[i] = p + 0.01;
    c.volume[i] = Math.round((i * 7.123) % 500 * 1e5) / 1e5;
    c.quoteAssetVolume[i] = Math.round(c.volume[i] * p * 1e8) / 1e8;
    c.count[i] = 1000 + i;
    c.takerBuyVolume[i] = Math.round(c.volume[i] * 5e4) / 1e5;
    c.takerBuyQuoteVolume[i] = Math.round(c.quoteAssetVolume[i] * 5e7) / 1e8;
    for (const k of KLINE_COLUMN_KEYS) c[k][i] = Number(c[k][i].toFixed(8)); // as the text says
  }
  return c;
}

function rowsOf(c: KlineColumns, i: number): (number | string)[] {
  return KLINE_COLUMN_KEYS.map((k) =>
    k === "openTime" || k === "closeTime" || k === "count" ? c[k][i] : c[k][i].toFixed(8)
  );
}

const dir = await Deno.makeTempDir({ prefix: "dsm_cache_bench_" });
const store = new FsKlineStore(dir, { now: () => Date.UTC(2030, 0, 1) });
const keys: PartitionKey[] = [];
/** The generated rows of each day: the reference every reader must return. */
const written: KlineColumns[] = [];
const csvFiles: string[] = [];
const jsonFiles: string[] = [];
await Deno.mkdir(join(dir, "csv"));
await Deno.mkdir(join(dir, "json"));
for (let d = 0; d < DAYS; d++) {
  const start = START + d * 86_400_000;
  const partition = new Date(start).toISOString().slice(0, 10);
  const key: PartitionKey = { market: "spot", symbol: "BTCUSDT", interval: "1m", partition };
  const cols = dayColumns(start);
  written.push(cols);
  await store.write(key, [klineBatch(cols)], { source: "VISION", complete: true });
  keys.push(key);
  const rows = Array.from({ length: 1440 }, (_, i) => rowsOf(cols, i));
  csvFiles.push(join(dir, "csv", `${partition}.csv`));
  await Deno.writeTextFile(csvFiles[d], rows.map((r) => `${r.join(",")},0`).join("\n") + "\n");
  jsonFiles.push(join(dir, "json", `${partition}.json`));
  await Deno.writeTextFile(jsonFiles[d], JSON.stringify(rows.map((r) => [...r, "0"])));
}

async function fromCache(): Promise<Table> {
  const batches: RecordBatch[] = [];
  for (const key of keys) batches.push(...(await store.read(key))!.batches);
  return new Table(batches);
}

async function fromCacheParallel(): Promise<Table> {
  const parts = await Promise.all(keys.map((key) => store.read(key)));
  return new Table(parts.flatMap((p) => p!.batches));
}

async function fromIpcUnchecked(): Promise<Table> {
  const batches: RecordBatch[] = [];
  for (const key of keys) {
    const path = join(dir, "v1/binance/spot/klines/BTCUSDT/1m", `${key.partition}.arrow`);
    batches.push(...tableFromIPC(await Deno.readFile(path)).batches);
  }
  return new Table(batches);
}

function fill(c: KlineColumns, at: number, row: ArrayLike<string | number>): void {
  KLINE_COLUMN_KEYS.forEach((k, j) => (c[k][at] = Number(row[j])));
}

async function fromCsv(): Promise<Table> {
  const batches: RecordBatch[] = [];
  const decoder = new TextDecoder();
  for (const file of csvFiles) {
    const lines = decoder.decode(await Deno.readFile(file)).split("\n");
    const c = allocKlineColumns(1440);
    let n = 0;
    for (const line of lines) if (line) fill(c, n++, line.split(","));
    batches.push(klineBatch(c, n));
  }
  return new Table(batches);
}

async function fromJson(): Promise<Table> {
  const batches: RecordBatch[] = [];
  for (const file of jsonFiles) {
    const rows: (string | number)[][] = JSON.parse(await Deno.readTextFile(file));
    const c = allocKlineColumns(rows.length);
    rows.forEach((row, i) => fill(c, i, row));
    batches.push(klineBatch(c, rows.length));
  }
  return new Table(batches);
}

/** Checks once that a reader returns the generated year, every value of every row. */
function check(name: string, table: Table): void {
  if (table.numRows !== ROWS) throw new Error(`${name}: ${table.numRows} rows, expected ${ROWS}`);
  let row = 0;
  for (const batch of table.batches) {
    const got = klineColumnsOf(batch);
    for (let i = 0; i < batch.numRows; i++, row++) {
      const want = written[Math.floor(row / 1440)];
      for (const k of KLINE_COLUMN_KEYS) {
        if (!Object.is(got[k][i], want[k][row % 1440])) {
          throw new Error(
            `${name}: row ${row} ${k} is ${got[k][i]}, written ${want[k][row % 1440]}`,
          );
        }
      }
    }
  }
}

const readers: [string, () => Promise<Table>][] = [
  ["cache (FsKlineStore.read, validated)", fromCache],
  ["cache, 365 reads in parallel", fromCacheParallel],
  ["IPC files, arrow-js only (no validation)", fromIpcUnchecked],
  ["CSV files (TextDecoder + split + Number)", fromCsv],
  ["JSON files (JSON.parse + Number)", fromJson],
];
const times = new Map<string, number[]>(readers.map(([name]) => [name, []]));
for (const [name, read] of readers) check(name, await read());
for (let r = 0; r < rounds; r++) {
  for (const [name, read] of readers) {
    const t0 = performance.now();
    await read();
    times.get(name)!.push(performance.now() - t0);
  }
}
const median = (xs: number[]) => xs.toSorted((a, b) => a - b)[xs.length >> 1];
const base = median(times.get(readers[0][0])!);
console.log(`${DAYS} files x 1440 rows = ${ROWS} rows, median of ${rounds} rounds`);
for (const [name] of readers) {
  const ms = median(times.get(name)!);
  const rate = (ROWS / ms * 1000 / 1e6).toFixed(2);
  console.log(
    `${name.padEnd(44)} ${ms.toFixed(1).padStart(8)} ms ${rate.padStart(7)} M rows/s  ` +
      `${(ms / base).toFixed(1)}x`,
  );
}
await Deno.remove(dir, { recursive: true });
