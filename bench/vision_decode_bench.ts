/**
 * End-to-end Vision decode throughput: zip bytes → Arrow, on synthetic spot
 * files in the exact Binance format (a 1m day of 1,440 rows and a 1m month
 * of 44,640 rows in ms, a 1s day of 86,400 rows in µs). Compared in the same
 * run against zip.js's readers feeding the same CSV parser (what reading
 * the archives with zip.js would cost), a naive TextDecoder + split +
 * parseFloat parser and nodejs-polars `readCSV`.
 *
 * Run: `deno run -A bench/vision_decode_bench.ts [repetitions]`
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { Uint8ArrayReader, Uint8ArrayWriter, ZipReader, ZipReaderStream } from "@zip.js/zip.js";
import process from "node:process";
import { Table } from "apache-arrow";
import pl from "nodejs-polars";
import type { Interval } from "../src/core/interval.ts";
import { klineBatch, type KlineColumns } from "../src/core/schema.ts";
import { readKlineCsv, readKlineZip, streamKlineZip } from "../src/codec/read_kline.ts";
import { KlineCsvStream } from "../src/codec/kline_csv_stream.ts";
import { unzipSingleEntry } from "../src/codec/unzip_stream.ts";
import { encodeZip } from "../src/codec/zip_encoder.ts";
import { KlineDecodePool } from "../src/codec/kline_decode_pool.ts";

/** Shape of a synthetic kline file. */
export interface SyntheticOptions {
  /** First open time, epoch ms. */
  start: number;
  /** Number of rows. */
  rows: number;
  /** Interval length in ms. */
  intervalMs: number;
  /** Write timestamps in µs (spot from 2025 on). */
  micros: boolean;
  /** PRNG seed. @default 1 */
  seed?: number;
}

/**
 * Deterministic spot klines as CSV bytes: a random-walk price with two
 * significant decimals and 8 printed, volumes in lots of 0.00001.
 */
export function syntheticKlineCsv(options: SyntheticOptions): Uint8Array {
  let state = options.seed ?? 1;
  const random = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const cents = (x: number) => Math.round(x * 100);
  const unit = options.micros ? 1000 : 1;
  const tail = options.micros ? 999 : 0;
  let price = 4_228_358; // cents
  const lines: string[] = [];
  for (let i = 0; i < options.rows; i++) {
    const open = price;
    const close = Math.max(100, open + cents((random() - 0.5) * 40));
    const high = Math.max(open, close) + cents(random() * 10);
    const low = Math.min(open, close) - cents(random() * 10);
    price = close;
    const lots = 1 + Math.floor(random() * 20_000_000); // 0.00001 BTC
    const buyLots = Math.floor(lots * random());
    const avg = (open + close) / 2; // cents
    const quote = Math.round(lots * avg * 10) / 1e8; // lots * 1e-5 * avg * 1e-2, 8 decimals
    const buyQuote = Math.round(buyLots * avg * 10) / 1e8;
    const openTime = options.start + i * options.intervalMs;
    lines.push(
      `${openTime * unit},${(open / 100).toFixed(8)},${(high / 100).toFixed(8)},` +
        `${(low / 100).toFixed(8)},${(close / 100).toFixed(8)},${(lots / 1e5).toFixed(8)},` +
        `${(openTime + options.intervalMs - 1) * unit + tail},${quote.toFixed(8)},` +
        `${1 + Math.floor(random() * 5000)},${(buyLots / 1e5).toFixed(8)},` +
        `${buyQuote.toFixed(8)},0\n`,
    );
  }
  return new TextEncoder().encode(lines.join(""));
}

/** Float64 columns of the naive parser (the same layout as `KlineColumns`). */
export type NaiveColumns = KlineColumns;

/** The baseline: TextDecoder, split on lines and commas, parseFloat per field. */
export function naiveParse(bytes: Uint8Array): NaiveColumns {
  const lines = new TextDecoder().decode(bytes).split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  const n = lines.length;
  const cols = {
    openTime: new Float64Array(n),
    open: new Float64Array(n),
    high: new Float64Array(n),
    low: new Float64Array(n),
    close: new Float64Array(n),
    volume: new Float64Array(n),
    closeTime: new Float64Array(n),
    quoteAssetVolume: new Float64Array(n),
    count: new Float64Array(n),
    takerBuyVolume: new Float64Array(n),
    takerBuyQuoteVolume: new Float64Array(n),
  };
  for (let i = 0; i < n; i++) {
    const f = lines[i].split(",");
    const t = parseFloat(f[0]);
    cols.openTime[i] = t > 1e14 ? Math.floor(t / 1000) : t;
    cols.open[i] = parseFloat(f[1]);
    cols.high[i] = parseFloat(f[2]);
    cols.low[i] = parseFloat(f[3]);
    cols.close[i] = parseFloat(f[4]);
    cols.volume[i] = parseFloat(f[5]);
    const c = parseFloat(f[6]);
    cols.closeTime[i] = c > 1e14 ? Math.floor(c / 1000) : c;
    cols.quoteAssetVolume[i] = parseFloat(f[7]);
    cols.count[i] = parseFloat(f[8]);
    cols.takerBuyVolume[i] = parseFloat(f[9]);
    cols.takerBuyQuoteVolume[i] = parseFloat(f[10]);
  }
  return cols;
}

/** One measured method: zip bytes → a decoded result, summarized (untimed) for the cross-check. */
interface Method {
  name: string;
  run(zip: Uint8Array): Promise<unknown>;
  /** Undefined for a stage that yields no rows (its bytes are checked against the CSV). */
  summary(result: unknown): Summary | undefined;
}

/** Row count, sums of some columns, first and last values. */
interface Summary {
  rows: number;
  /** Sums of open, volume, quote_asset_volume, count and open_time. */
  sums: number[];
  /** First and last open_time (ms) and close. */
  edges: number[];
}

function summarize(
  rows: number,
  cols: Float64Array[],
  openTime: Float64Array,
  close: Float64Array,
): Summary {
  const sums = cols.map((c) => c.reduce((s, v) => s + v, 0));
  return { rows, sums, edges: [openTime[0], openTime[rows - 1], close[0], close[rows - 1]] };
}

function numbers(values: ArrayLike<number | bigint>): Float64Array {
  return Float64Array.from(values as ArrayLike<number>, Number);
}

function summaryOfTable(result: unknown): Summary {
  const table = result as Table;
  const col = (name: string) => numbers(table.getChild(name)!.toArray());
  const openTime = col("open_time");
  const sums = [col("open"), col("volume"), col("quote_asset_volume"), col("count"), openTime];
  return summarize(table.numRows, sums, openTime, col("close"));
}

function summaryOfFrame(result: unknown): Summary {
  const df = result as pl.DataFrame;
  const col = (name: string) => numbers(df.getColumn(name).toArray() as (number | bigint)[]);
  let openTime = col("open_time");
  if (openTime[0] > 1e14) openTime = openTime.map((t) => Math.floor(t / 1000));
  const sums = [col("open"), col("volume"), col("quote_asset_volume"), col("count"), openTime];
  return summarize(df.height, sums, openTime, col("close"));
}

const METHODS: Method[] = [
  {
    name: "inflate only (unzipSingleEntry)",
    run: (zip) => unzipSingleEntry(zip),
    summary: () => undefined,
  },
  {
    name: "readKlineZip (bytes)",
    run: (zip) => readKlineZip(zip),
    summary: summaryOfTable,
  },
  {
    name: "KlineDecodePool.decodeZip (main + 1 worker)",
    async run(zip) {
      return new Table(await pool!.decodeZip(zip));
    },
    summary: summaryOfTable,
  },
  {
    name: "streamKlineZip (64 KiB chunks)",
    async run(zip) {
      const stream = streamKlineZip(ReadableStream.from(chunksOf(zip)));
      return new Table(await Array.fromAsync(stream));
    },
    summary: summaryOfTable,
  },
  {
    name: "zip.js ZipReader + readKlineCsv (bytes)",
    async run(zip) {
      const reader = new ZipReader(new Uint8ArrayReader(zip), ZIP_JS);
      const [entry] = await reader.getEntries();
      if (entry.directory) throw new Error("No file entry in the archive");
      return await readKlineCsv(await entry.getData(new Uint8ArrayWriter()));
    },
    summary: summaryOfTable,
  },
  {
    name: "zip.js ZipReaderStream + KlineCsvStream (64 KiB chunks)",
    async run(zip) {
      const entries = ReadableStream.from(chunksOf(zip))
        .pipeThrough(new ZipReaderStream<unknown>(ZIP_JS));
      const batches = [];
      for await (const entry of entries) {
        batches.push(...await Array.fromAsync(entry.readable!.pipeThrough(new KlineCsvStream())));
      }
      return new Table(batches);
    },
    summary: summaryOfTable,
  },
  {
    name: "naive split + parseFloat",
    async run(zip) {
      return new Table([klineBatch(naiveParse(await unzipSingleEntry(zip)))]);
    },
    summary: summaryOfTable,
  },
  {
    name: "nodejs-polars readCSV",
    async run(zip) {
      const csv = await unzipSingleEntry(zip);
      return pl.readCSV(Buffer.from(csv.buffer, csv.byteOffset, csv.length), {
        hasHeader: false,
        schema: POLARS_SCHEMA,
      });
    },
    summary: summaryOfFrame,
  },
];

/** zip.js without web workers, checking the CRC-32 (through the platform's gzip inflater). */
const ZIP_JS = { useWebWorkers: false, checkSignature: true } as const;

/** The archive in 64 KiB chunks, as a download delivers it. */
function chunksOf(zip: Uint8Array): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < zip.length; i += 65536) chunks.push(zip.subarray(i, i + 65536));
  return chunks;
}

/** The kline CSV columns as Polars dtypes (no inference). */
export const POLARS_SCHEMA = {
  open_time: pl.Int64,
  open: pl.Float64,
  high: pl.Float64,
  low: pl.Float64,
  close: pl.Float64,
  volume: pl.Float64,
  close_time: pl.Int64,
  quote_asset_volume: pl.Float64,
  count: pl.Int64,
  taker_buy_volume: pl.Float64,
  taker_buy_quote_volume: pl.Float64,
  ignore: pl.Int64,
};

/** Started (and warmed up) once, outside the timed runs, as a client would keep it. */
let pool: KlineDecodePool | undefined;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

function sameSummary(a: Summary, b: Summary, exact: boolean): boolean {
  if (a.rows !== b.rows || a.edges.some((v, i) => v !== b.edges[i])) return false;
  return a.sums.every((v, i) =>
    exact ? v === b.sums[i] : Math.abs(v - b.sums[i]) <= 1e-9 * Math.abs(v)
  );
}

async function main(): Promise<void> {
  const repetitions = Number(Deno.args[0] ?? 15);
  const datasets = [
    {
      name: "spot 1m day (ms)",
      interval: "1m" as Interval,
      csv: syntheticKlineCsv({
        start: Date.UTC(2024, 0, 1),
        rows: 1440,
        intervalMs: 60_000,
        micros: false,
      }),
    },
    {
      name: "spot 1m month (ms)",
      interval: "1m" as Interval,
      csv: syntheticKlineCsv({
        start: Date.UTC(2024, 0, 1),
        rows: 44_640,
        intervalMs: 60_000,
        micros: false,
      }),
    },
    {
      name: "spot 1s day (µs)",
      interval: "1s" as Interval,
      csv: syntheticKlineCsv({
        start: Date.UTC(2025, 0, 1),
        rows: 86_400,
        intervalMs: 1000,
        micros: true,
        seed: 2,
      }),
    },
  ];
  const t0 = performance.now();
  pool = new KlineDecodePool({ workers: 1 });
  const workers = await pool.ready();
  const startMs = performance.now() - t0;
  const load = Deno.loadavg().map((x) => x.toFixed(2)).join(" ");
  console.log(
    `Vision decode, zip → Arrow; ${repetitions} runs per method after a checked warm-up run, one process`,
  );
  console.log(
    `${navigator.hardwareConcurrency} CPUs, load average ${load} (a busy machine inflates every figure)`,
  );
  console.log(
    `KlineDecodePool: ${workers} worker(s) started in ${startMs.toFixed(0)} ms (not timed below)\n`,
  );
  for (const dataset of datasets) {
    const zip = await encodeZip("BTCUSDT.csv", dataset.csv);
    const mb = dataset.csv.length / 1e6;
    console.log(
      `${dataset.name}: ${dataset.csv.length.toLocaleString()} CSV bytes, ${zip.length.toLocaleString()} zip bytes`,
    );
    const times = new Map<string, number[]>(METHODS.map((m) => [m.name, []]));
    const cpuTimes = new Map<string, number[]>(METHODS.map((m) => [m.name, []]));
    let reference: Summary | undefined;
    for (const method of METHODS) { // check each result once
      const result = await method.run(zip);
      const summary = method.summary(result);
      if (summary === undefined) {
        const bytes = result as Uint8Array;
        if (bytes.length !== dataset.csv.length || bytes.some((b, i) => b !== dataset.csv[i])) {
          throw new Error(`${method.name} disagrees: its bytes are not the archive's CSV`);
        }
        continue;
      }
      reference ??= summary;
      if (!sameSummary(reference, summary, !method.name.includes("polars"))) {
        throw new Error(
          `${method.name} disagrees: ${JSON.stringify(summary)} vs ${JSON.stringify(reference)}`,
        );
      }
    }
    // One method at a time (Polars last): interleaving lets one method's garbage and
    // Polars' idle worker threads slow down the next one.
    for (const method of METHODS) {
      for (let r = 0; r < repetitions; r++) {
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        await method.run(zip);
        const wall = performance.now() - t0;
        const cpu = process.cpuUsage(cpu0);
        times.get(method.name)!.push(wall);
        cpuTimes.get(method.name)!.push((cpu.user + cpu.system) / 1000);
      }
    }
    const base = median(times.get("readKlineZip (bytes)")!);
    console.log(
      "| method | median ms | min ms | CPU ms | M rows/s | MB/s CSV | time vs readKlineZip |",
    );
    console.log("|---|---:|---:|---:|---:|---:|---:|");
    for (const method of METHODS) {
      const all = times.get(method.name)!;
      const ms = median(all);
      const cells = [
        method.name,
        ms.toFixed(1),
        Math.min(...all).toFixed(1),
        median(cpuTimes.get(method.name)!).toFixed(1),
        (reference!.rows / ms / 1000).toFixed(2),
        (mb / ms * 1000).toFixed(0),
        `${(ms / base).toFixed(2)}×`,
      ];
      console.log(`| ${cells.join(" | ")} |`);
    }
    console.log("");
  }
  pool.close();
}

if (import.meta.main) await main();
