/**
 * REST klines: decoding speed of JSON pages, and requests, weight and time
 * for one month of 1m per market from the emulator, against a plain
 * `fetch` + `JSON.parse` + `parseFloat` loop measured in the same run.
 * Before timing, the decoders are checked once against each other bit for
 * bit, and each month fetch once against the plain loop's rows (count, sum
 * of closes in time order, first and last open time).
 *
 * Kernels: `deno bench -A bench/rest_bench.ts`.
 * End to end: `deno run -A bench/rest_bench.ts`.
 *
 * @module
 */
import { decodeKlineJson } from "../src/source/kline_json.ts";
import { RestClient } from "../src/source/rest_client.ts";
import { WeightScheduler } from "../src/source/weight_scheduler.ts";
import { klinesWeight, type Market, marketInfo } from "../src/core/market.ts";
import { allocKlineColumns, KLINE_COLUMN_KEYS, klineColumnsOf } from "../src/core/schema.ts";
import { startEmulator } from "../src/emulator/emulator.ts";
import { klineJson } from "../src/emulator/rest_klines.ts";
import { MarketData } from "../src/emulator/market_data.ts";

const NOW = Date.UTC(2024, 5, 1);
const JAN = [Date.UTC(2024, 0, 1), Date.UTC(2024, 1, 1)] as const;
const SYMBOL: Record<Market, string> = { spot: "BTCUSDT", um: "BTCUSDT", cm: "BTCUSD_PERP" };

/** The straightforward decoder: JSON.parse, then parseFloat of every string. */
function naiveDecode(text: string) {
  const rows = JSON.parse(text) as (string | number)[][];
  const columns = allocKlineColumns(rows.length);
  rows.forEach((row, i) => {
    KLINE_COLUMN_KEYS.forEach((key, j) => {
      const v = row[j];
      columns[key][i] = typeof v === "string" ? parseFloat(v) : v;
    });
  });
  return { columns, length: rows.length };
}

function page(market: Market, rows: number): Uint8Array {
  const data = new MarketData();
  const spec = data.find(market, SYMBOL[market])!;
  const klines = data.klines(spec, "1m", JAN[0], JAN[0] + rows * 60_000);
  return new TextEncoder().encode(`[${klines.map(klineJson).join(",")}]`);
}

const pages = { spot: page("spot", 1000), um: page("um", 1500) };
const decoder = new TextDecoder();
for (const [market, bytes] of Object.entries(pages)) {
  // check once that both decoders agree bit for bit
  const a = decodeKlineJson(bytes), b = naiveDecode(decoder.decode(bytes));
  for (const key of KLINE_COLUMN_KEYS) {
    if (a.columns[key].some((v, i) => !Object.is(v, b.columns[key][i]))) {
      throw new Error(`Decoders disagree on ${market} ${key}`);
    }
  }
  Deno.bench({
    name: `decodeKlineJson, ${market} page`,
    group: `decode ${market}`,
    baseline: true,
    fn: () => void decodeKlineJson(bytes),
  });
  Deno.bench({
    name: `TextDecoder + JSON.parse + parseFloat, ${market} page`,
    group: `decode ${market}`,
    fn: () => void naiveDecode(decoder.decode(bytes)),
  });
}

interface Run {
  ms: number;
  requests: number;
  weight: number;
  rows: number;
  /** Sum of the closes in time order. */
  closeSum: number;
  firstOpenTime: number;
  lastOpenTime: number;
}

async function runClient(url: string, market: Market): Promise<Run> {
  const client = new RestClient({
    market,
    hosts: [url],
    now: () => NOW,
    scheduler: new WeightScheduler({ budget: marketInfo(market).weightBudget }),
  });
  const t0 = performance.now();
  const { table, stats } = await client.fetchKlinesTable({
    symbol: SYMBOL[market],
    interval: "1m",
    start: JAN[0],
    end: JAN[1],
  });
  const ms = performance.now() - t0;
  let closeSum = 0, firstOpenTime = NaN, lastOpenTime = NaN;
  for (const batch of table.batches) {
    const c = klineColumnsOf(batch);
    for (let i = 0; i < batch.numRows; i++) closeSum += c.close[i];
    if (batch.numRows === 0) continue;
    if (Number.isNaN(firstOpenTime)) firstOpenTime = c.openTime[0];
    lastOpenTime = c.openTime[batch.numRows - 1];
  }
  return { ms, ...stats, rows: table.numRows, closeSum, firstOpenTime, lastOpenTime };
}

/** A plain loop: max limit, next startTime = last open time + 1, stop on a short page. */
async function runNaive(url: string, market: Market, limit?: number): Promise<Run> {
  const info = marketInfo(market);
  const t0 = performance.now();
  let start: number = JAN[0], requests = 0, weight = 0, rows = 0, closeSum = 0;
  let firstOpenTime = NaN, lastOpenTime = NaN;
  for (;;) {
    // On cm the server answers the most recent rows of the window (dapi), so a
    // plain loop must ask for windows of `limit` candles, as ccxt does there.
    const window = market === "cm" ? start + (limit ?? 500) * 60_000 - 1 : Infinity;
    const q = `symbol=${SYMBOL[market]}&interval=1m&startTime=${start}` +
      `&endTime=${Math.min(JAN[1] - 1, window)}` + (limit ? `&limit=${limit}` : "");
    const res = await fetch(`${url}${info.klinesPath}?${q}`);
    requests++;
    weight += klinesWeight(market, limit ?? 500);
    const page = naiveDecode(await res.text());
    rows += page.length;
    for (let i = 0; i < page.length; i++) closeSum += page.columns.close[i];
    if (page.length > 0) {
      if (Number.isNaN(firstOpenTime)) firstOpenTime = page.columns.openTime[0];
      lastOpenTime = page.columns.openTime[page.length - 1];
    }
    if (page.length < (limit ?? 500)) break;
    start = page.columns.openTime[page.length - 1] + 1;
  }
  const ms = performance.now() - t0;
  return { ms, requests, weight, rows, closeSum, firstOpenTime, lastOpenTime };
}

if (import.meta.main) {
  await using emu = await startEmulator({ now: NOW });
  const fmt = (r: Run) =>
    `${r.ms.toFixed(0).padStart(5)} ms ${String(r.requests).padStart(4)} req ` +
    `${String(r.weight).padStart(4)} weight ${(r.rows / r.ms * 1000 / 1e6).toFixed(2)} M rows/s`;
  for (const market of ["spot", "um", "cm"] as const) {
    const runs: [string, () => Promise<Run>][] = [
      ["RestClient", () => runClient(emu.url, market)],
      ["fetch loop, max limit", () => runNaive(emu.url, market, marketInfo(market).maxLimit)],
      ["fetch loop, default limit", () => runNaive(emu.url, market)],
    ];
    // Checked once before timing: every loop returns the plain loop's rows (parseFloat of JSON).
    const checked: Run[] = [];
    for (const [, run] of runs) {
      emu.reset();
      checked.push(await run());
    }
    const truth = checked[1];
    for (const [i, [name]] of runs.entries()) {
      const r = checked[i];
      const keys = ["rows", "closeSum", "firstOpenTime", "lastOpenTime"] as const;
      const bad = keys.find((k) => !Object.is(r[k], truth[k]));
      if (bad) {
        throw new Error(
          `${name} on ${market}: ${bad} ${r[bad]} differs from the plain loop's ${truth[bad]}`,
        );
      }
      if (r.rows !== 44_640) throw new Error(`${name} on ${market}: ${r.rows} rows`);
    }
    const best = new Map<string, Run>();
    for (let round = 0; round < 3; round++) {
      for (const [name, run] of runs) {
        emu.reset();
        const r = await run();
        const prev = best.get(name);
        if (prev === undefined || r.ms < prev.ms) best.set(name, r);
      }
    }
    const ref = best.get("RestClient")!;
    console.log(`${market}: one month of 1m (44,640 rows), best of 3`);
    for (const [name, r] of best) {
      console.log(`  ${name.padEnd(26)} ${fmt(r)}  time ×${(r.ms / ref.ms).toFixed(2)}`);
    }
  }
}
