/**
 * The offline demo: a local Binance (the emulator, with 20 ms latency), a
 * cold fetch of last month's 1m klines for spot, um and cm, then the same
 * again warm from the cache, and the last hours from REST.
 *
 * Run: `npx -y deno@2.9.6 task demo`
 *
 * @module
 */
import { DataSourceManager, type FetchReport, startEmulator } from "../mod.ts";
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
  console.log(`Local Binance (emulator) at ${binance.url}; cache at ${cacheDir}`);
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
} finally {
  await Deno.remove(cacheDir, { recursive: true });
}
