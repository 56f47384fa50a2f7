/**
 * Trade CSV decode throughput: a synthetic spot aggTrades day of ~1,000,000
 * rows in Vision's exact format (µs times, 8-decimal prices and quantities,
 * `True`/`False`), decoded from bytes in memory by `decodeTradeCsv`, by a
 * naive TextDecoder + split + parseFloat decoder, and by nodejs-polars
 * `readCSV` with an explicit schema. Each figure is the median of 5 runs
 * after two warm-up runs; every decoder's result is checked once against
 * the others (row count, id, price and time sums).
 *
 * Run: `deno run -A --config bench/deno.json bench/trade_decode_bench.ts [rows]`
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { RecordBatch } from "apache-arrow";
import pl from "nodejs-polars";
import { decodeTradeCsv } from "../src/codec/trade_csv.ts";
import { machineLine, median } from "./_report.ts";

const ROWS = Number(Deno.args[0] ?? 1_000_000);
const RUNS = 5;
const DAY_US = Date.UTC(2025, 0, 15) * 1000;

/** Deterministic spot aggTrades rows: a random-walk price, lots of 0.00001 BTC, µs times. */
function syntheticAggTrades(rows: number): Uint8Array {
  let state = 7;
  const random = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  let cents = 9_712_345;
  let tradeId = 4_400_000_000;
  const step = Math.floor(86_400_000_000 / rows);
  // Encoded row by row into one buffer: no million strings left for the collector to walk.
  const encoder = new TextEncoder();
  let out = new Uint8Array(rows * 96);
  let at = 0;
  for (let i = 0; i < rows; i++) {
    cents = Math.max(100, cents + Math.round((random() - 0.5) * 20));
    const r = random();
    // Mostly small quantities, with 8 decimals of which the last few are often zero.
    const lots = r < 0.7 ? 1 + Math.floor(random() * 5000) : Math.floor(random() * 200_000_000);
    const trades = 1 + Math.floor(random() * 4);
    const first = tradeId;
    tradeId += trades;
    const line = `${3_300_000_000 + i},${(cents / 100).toFixed(8)},${(lots * 1e-8).toFixed(8)},` +
      `${first},${tradeId - 1},${DAY_US + i * step + Math.floor(random() * step)},` +
      `${random() < 0.5 ? "True" : "False"},True\n`;
    if (out.length - at < 256) {
      const grown = new Uint8Array(out.length * 2);
      grown.set(out);
      out = grown;
    }
    at += encoder.encodeInto(line, out.subarray(at)).written;
  }
  return out.slice(0, at);
}

/** The summary every decoder must agree on. */
interface Summary {
  rows: number;
  idSum: number;
  priceSum: number;
  timeSum: number;
  makers: number;
}

/** The baseline: TextDecoder, split on lines and commas, parseInt / parseFloat per field. */
function naiveDecode(bytes: Uint8Array): Summary {
  const lines = new TextDecoder().decode(bytes).split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  const n = lines.length;
  const id = new Float64Array(n);
  const price = new Float64Array(n);
  const qty = new Float64Array(n);
  const first = new Float64Array(n);
  const last = new Float64Array(n);
  const time = new Float64Array(n);
  const maker = new Uint8Array(n);
  const best = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const f = lines[i].split(",");
    id[i] = parseInt(f[0], 10);
    price[i] = parseFloat(f[1]);
    qty[i] = parseFloat(f[2]);
    first[i] = parseInt(f[3], 10);
    last[i] = parseInt(f[4], 10);
    const t = parseInt(f[5], 10);
    time[i] = f[5].length === 13 ? t * 1000 : t;
    maker[i] = f[6] === "True" ? 1 : 0;
    best[i] = f[7] === "True" ? 1 : 0;
  }
  let idSum = 0, priceSum = 0, timeSum = 0, makers = 0;
  for (let i = 0; i < n; i++) {
    idSum += id[i];
    priceSum += price[i];
    timeSum += time[i] - DAY_US;
    makers += maker[i];
  }
  return { rows: n, idSum, priceSum, timeSum, makers };
}

function summarizeBatches(batches: RecordBatch[]): Summary {
  let rows = 0, idSum = 0, priceSum = 0, timeSum = 0, makers = 0;
  for (const b of batches) {
    const ids = b.getChild("agg_trade_id")!.data[0].values as BigInt64Array;
    const prices = b.getChild("price")!.data[0].values as Float64Array;
    const times = b.getChild("transact_time")!.data[0].values as BigInt64Array;
    const maker = b.getChild("is_buyer_maker")!;
    for (let i = 0; i < b.numRows; i++) {
      idSum += Number(ids[i]);
      priceSum += prices[i];
      timeSum += Number(times[i]) - DAY_US;
      if (maker.get(i)) makers++;
    }
    rows += b.numRows;
  }
  return { rows, idSum, priceSum, timeSum, makers };
}

const POLARS_SCHEMA = {
  agg_trade_id: pl.Int64,
  price: pl.Float64,
  quantity: pl.Float64,
  first_trade_id: pl.Int64,
  last_trade_id: pl.Int64,
  transact_time: pl.Int64,
  is_buyer_maker: pl.Bool,
  is_best_match: pl.Bool,
};

function polarsDecode(bytes: Uint8Array) {
  return pl.readCSV(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), {
    hasHeader: false,
    schema: POLARS_SCHEMA,
  });
}

function polarsSummary(bytes: Uint8Array): Summary {
  const df = polarsDecode(bytes);
  // The column's own sum would overflow int64 (a million µs epochs).
  let timeSum = 0;
  for (const t of df.getColumn("transact_time").toArray()) timeSum += Number(t) - DAY_US;
  return {
    rows: df.height,
    idSum: Number(df.getColumn("agg_trade_id").sum()),
    priceSum: df.getColumn("price").sum() as number,
    timeSum,
    makers: Number(df.getColumn("is_buyer_maker").cast(pl.Int32).sum()),
  };
}

const decoders: [string, (bytes: Uint8Array) => unknown][] = [
  ["decodeTradeCsv", (b) => decodeTradeCsv(b, { dataset: "aggTrades", market: "spot" })],
  ["TextDecoder + split + parseFloat", naiveDecode],
  ["nodejs-polars readCSV", polarsDecode],
];

const bytes = syntheticAggTrades(ROWS);
const mine = summarizeBatches(decodeTradeCsv(bytes, { dataset: "aggTrades", market: "spot" }));
const naive = naiveDecode(bytes);
const polars = polarsSummary(bytes);
for (const [name, s] of [["naive", naive], ["polars", polars]] as const) {
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.abs(a);
  if (
    s.rows !== mine.rows || s.idSum !== mine.idSum || s.makers !== mine.makers ||
    !close(s.priceSum, mine.priceSum) || !close(s.timeSum, mine.timeSum)
  ) {
    throw new Error(`${name} disagrees: ${JSON.stringify(s)} vs ${JSON.stringify(mine)}`);
  }
}
if (mine.rows !== ROWS || mine.priceSum !== naive.priceSum) {
  throw new Error(`decodeTradeCsv read ${mine.rows} rows, or prices differ from parseFloat`);
}

console.log(
  `Spot aggTrades day: ${ROWS.toLocaleString("en-US")} rows, ` +
    `${(bytes.length / 1048576).toFixed(1)} MiB of CSV, median of ${RUNS} runs after two warm-ups`,
);
const results: [string, number][] = [];
for (const [name, decode] of decoders) {
  decode(bytes);
  decode(bytes);
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    decode(bytes);
    times.push(performance.now() - t0);
  }
  results.push([name, median(times)]);
}
const base = results[0][1];
for (const [name, ms] of results) {
  const rate = Math.round(ROWS / (ms / 1000)).toLocaleString("en-US");
  console.log(
    `${name.padEnd(34)} ${ms.toFixed(1).padStart(8)} ms  ${rate.padStart(12)} rows/s  ` +
      `${(ms / base).toFixed(2)}× the time of decodeTradeCsv`,
  );
}
console.log(await machineLine());
