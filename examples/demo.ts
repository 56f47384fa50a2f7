/**
 * The offline demo: a local Binance (the emulator, with 20 ms latency), a
 * cold fetch of last month's 1m klines for spot, um and cm, then the same
 * again warm from the cache, and the last hours from REST. It prints what
 * the words of its output mean (CACHE, VISION, REST, vision-monthly), that
 * the prices are synthetic, and what to try next.
 *
 * Run: `npx -y deno@2.9.6 task demo`
 *
 * @module
 */
import { DataSourceManager, type FetchReport } from "../mod.ts";
import { startEmulator } from "../emulator.ts";
import type { Table } from "apache-arrow";

const now = Date.now();
const today = new Date(now);
const monthStart = Date.UTC(today.getUTCFullYear(), today.getUTCMonth() - 1, 1);
const monthEnd = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), 1);
const series = [
  { market: "spot", symbol: "BTCUSDT" },
  { market: "um", symbol: "BTCUSDT" },
  { market: "cm", symbol: "BTCUSD_PERP" },
] as const;

const INTRO = `Data Source Manager demo, offline.
A local Binance (the emulator, {url}) serves Vision's zip archives, their
S3 listing and the REST klines API with the real formats and limits, but
synthetic prices: made up from a seed, not market data.
Cache (deleted at the end): {cache}

How to read the output. Each 1m fetch is split into partitions, one per UTC
day; "N × vision-monthly" means N days taken from one monthly Vision
archive (vision-daily: from daily archives; rest: from the REST API, for
days not archived yet; cache: from this machine's cache). The
_data_source column says where each row came from: VISION (an archive,
SHA-256 checked), REST, or CACHE (the Arrow IPC files the cold fetch wrote).
`;

const NEXT = `
Next:
  deno task dsm fetch --symbol BTCUSDT --interval 1h --start 2024-01-01 --end 2024-01-08
      a week of real Binance 1h klines as CSV on stdout (README.md: formats, flags)
  deno task emulator --port 8080
      this local Binance; point dsm at it with --vision-url, --listing-url
      and --rest-url http://127.0.0.1:8080 (or DSM_VISION_URL, ...)
  deno run -A examples/backtest_pull.ts --emulator
      a year of 1h into a Polars DataFrame, with a summary
  README.md: the API (getData, stream, the report), permissions, cache layout`;

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(".000Z", "Z");
}

function provenance(report: FetchReport): string {
  const counts = new Map<string, number>();
  for (const p of report.partitions) {
    const key = p.sources.join("+");
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `${n} × ${k}`).join(", ");
}

function head(table: Table, rows = 3): string {
  const names = ["open_time", "open", "high", "low", "close", "volume", "count", "_data_source"];
  const lines = [names.join("  ")];
  for (let i = 0; i < Math.min(rows, table.numRows); i++) {
    lines.push(
      names.map((n) => {
        const v = table.getChild(n)?.get(i);
        return n === "open_time" ? iso(Number(v)) : String(v);
      }).join("  "),
    );
  }
  return lines.map((l) => "    " + l).join("\n");
}

const cacheDir = await Deno.makeTempDir({ prefix: "dsm-demo-" });
try {
  await using binance = await startEmulator({ latencyMs: 20, jitterMs: 5 });
  console.log(INTRO.replace("{url}", binance.url).replace("{cache}", cacheDir));
  console.log(`Range: [${iso(monthStart)}, ${iso(monthEnd)}) 1m, then the last 6 hours\n`);
  await using dsm = new DataSourceManager({
    cache: { dir: cacheDir },
    endpoints: { vision: binance.url, listing: binance.url, rest: binance.url },
  });
  for (const { market, symbol } of series) {
    const request = { market, symbol, interval: "1m", start: monthStart, end: monthEnd } as const;
    let t0 = performance.now();
    const cold = await dsm.getDataWithReport(request);
    const coldMs = performance.now() - t0;
    t0 = performance.now();
    const warm = await dsm.getDataWithReport(request);
    const warmMs = performance.now() - t0;
    const same = cold.table.numRows === warm.table.numRows;
    console.log(`${market} ${symbol} 1m: ${cold.table.numRows} rows`);
    console.log(
      `  cold ${coldMs.toFixed(0)} ms: ${provenance(cold.report)}; ` +
        `${cold.report.requests.visionFiles} Vision files, ${cold.report.requests.restCalls} REST calls`,
    );
    console.log(
      `  warm ${warmMs.toFixed(0)} ms: ${provenance(warm.report)}; ` +
        `${warm.report.requests.visionFiles + warm.report.requests.restCalls} requests` +
        `; same rows: ${same}; speed-up ${(coldMs / warmMs).toFixed(1)}×`,
    );
    console.log(
      `  gaps: ${
        JSON.stringify(
          cold.report.gaps.map((g) => ({ ...g, start: iso(g.start), end: iso(g.end) })),
        )
      }`,
    );
    console.log(head(cold.table));
  }
  const recent = await dsm.getDataWithReport({
    symbol: "BTCUSDT",
    interval: "1m",
    start: now - 6 * 3_600_000,
    end: now,
  });
  console.log(
    `\nspot BTCUSDT last 6 hours: ${recent.table.numRows} closed candles; ` +
      `${provenance(recent.report)}; ${recent.report.requests.restCalls} REST calls, ` +
      `weight ${recent.report.requests.restWeight}`,
  );
  console.log(head(recent.table, 2));
  console.log(NEXT);
} finally {
  await Deno.remove(cacheDir, { recursive: true });
}
