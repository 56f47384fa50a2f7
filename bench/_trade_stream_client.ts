/**
 * One client run of `trade_stream_bench.ts`, in its own process so that its
 * peak RSS is its own: streams aggTrades of a range from the emulator at
 * `url` and prints `{ rows, firstId, lastId, seconds, peakRssMb, sources }` as
 * JSON (the first and last `agg_trade_id`, for the caller's check).
 *
 * Usage: `deno run -A bench/_trade_stream_client.ts URL SYMBOL START END NOW [CACHE_DIR]`
 *
 * @module
 */
import { DataSourceManager } from "../mod.ts";

/** Peak resident set size of this process so far, MB (Linux `VmHWM`). */
function peakRssMb(): number {
  const status = Deno.readTextFileSync("/proc/self/status");
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
  return Math.round(kb / 1024);
}

const [url, symbol, start, end, now, cacheDir] = Deno.args;
const started = performance.now();
await using dsm = new DataSourceManager({
  market: "spot",
  cache: cacheDir ? { dir: cacheDir } : false,
  now: () => Number(now),
  timeoutMs: 120_000,
  endpoints: { vision: url, listing: url, rest: url },
});
const { batches, report } = dsm.streamWithReport({
  dataset: "aggTrades",
  symbol,
  start: Number(start),
  end: Number(end),
  includeSourceInfo: false,
});
let rows = 0;
let largest = 0;
let firstId = NaN;
let lastId = NaN;
for await (const batch of batches) {
  if (batch.numRows > 0) {
    const ids = batch.getChild("agg_trade_id")!;
    if (rows === 0) firstId = Number(ids.get(0));
    lastId = Number(ids.get(batch.numRows - 1));
  }
  rows += batch.numRows;
  largest = Math.max(largest, batch.numRows);
}
const done = await report;
const sources = [...new Set(done.partitions.flatMap((p) => p.sources))].join(",");
console.log(JSON.stringify({
  rows,
  firstId,
  lastId,
  largestBatch: largest,
  seconds: Math.round((performance.now() - started) / 100) / 10,
  peakRssMb: peakRssMb(),
  sources,
  partial: done.partial,
}));
