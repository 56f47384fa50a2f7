/**
 * A backtest data pull: one symbol, a year of hourly candles, into a Polars
 * DataFrame, with a summary (rows, sources, return, volatility, drawdown).
 *
 * Run against Binance (cached in the platform cache folder):
 * `deno run -A examples/backtest_pull.ts --symbol BTCUSDT`
 *
 * Offline, against the local emulator (cache in a temporary folder):
 * `deno run -A examples/backtest_pull.ts --emulator`
 *
 * Options: `--market spot|um|cm`, `--symbol`, `--interval` (1h),
 * `--start`/`--end` (default: the 365 days before today, UTC),
 * `--cache-dir DIR`, `--no-cache`, `--emulator`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import type { Table } from "apache-arrow";
import pl from "nodejs-polars";
import { DataSourceManager, type FetchReport, type KlineRequest } from "../mod.ts";
import { startEmulator } from "../emulator.ts";
import { toPolars } from "../src/polars.ts";

const DAY = 86_400_000;

/** What {@linkcode main} found. */
export interface BacktestSummary {
  /** Market, symbol and interval. */
  series: string;
  /** Rows in the DataFrame. */
  rows: number;
  /** Columns of the DataFrame. */
  columns: string[];
  /** First and last open time, ISO 8601. */
  first?: string;
  /** Last open time, ISO 8601. */
  last?: string;
  /** Rows per `_data_source` (CACHE, VISION, REST). */
  sources: Record<string, number>;
  /** Last close over first close, minus one. */
  totalReturn: number;
  /** Standard deviation of the candle-to-candle returns. */
  volatility: number;
  /** Worst fall from a running high, as a fraction (negative). */
  maxDrawdown: number;
  /** Missing grid slots in the range. */
  gapSlots: number;
  /** Whether a source failed and left slots unfetched. */
  partial: boolean;
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(".000Z", "Z");
}

function options(args: string[]) {
  return parseArgs({
    args,
    strict: true,
    options: {
      market: { type: "string", default: "spot" },
      symbol: { type: "string", default: "BTCUSDT" },
      interval: { type: "string", default: "1h" },
      start: { type: "string" },
      end: { type: "string" },
      "cache-dir": { type: "string" },
      "no-cache": { type: "boolean", default: false },
      emulator: { type: "boolean", default: false },
    },
  }).values;
}

function summarize(df: pl.DataFrame, table: Table, report: FetchReport): BacktestSummary {
  const stats = df.height === 0 ? {} : df.select(
    pl.col("close").last().div(pl.col("close").first()).sub(1).alias("totalReturn"),
    pl.col("close").pctChange().std().alias("volatility"),
    pl.col("close").div(pl.col("close").cumMax()).sub(1).min().alias("maxDrawdown"),
  ).toRecords()[0];
  const sources: Record<string, number> = {};
  if (df.columns.includes("_data_source") && df.height > 0) {
    const counts = df.groupBy("_data_source").agg(pl.len().alias("n")).toRecords();
    for (const { _data_source, n } of counts) sources[String(_data_source)] = Number(n);
  }
  const times = table.getChild("open_time")!;
  return {
    series: `${report.market} ${report.symbol} ${report.interval}`,
    rows: df.height,
    columns: df.columns,
    first: df.height > 0 ? iso(Number(times.get(0))) : undefined,
    last: df.height > 0 ? iso(Number(times.get(df.height - 1))) : undefined,
    sources,
    totalReturn: Number(stats.totalReturn ?? 0),
    volatility: Number(stats.volatility ?? 0),
    maxDrawdown: Number(stats.maxDrawdown ?? 0),
    gapSlots: report.gaps.reduce((n, g) => n + g.slots, 0),
    partial: report.partial,
  };
}

/**
 * Pulls the data, converts it to Polars and prints the summary.
 *
 * @param args Command-line arguments.
 * @param print Where the summary lines go.
 * @returns The summary.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { main } from "./backtest_pull.ts";
 * const args = ["--emulator", "--no-cache", "--start", "2024-01-01", "--end", "2024-01-02"];
 * const summary = await main(args, () => {});
 * assert.equal(summary.rows, 24);
 * ```
 */
export async function main(
  args: string[],
  print: (line: string) => void = console.log,
): Promise<BacktestSummary> {
  const o = options(args);
  const today = Math.floor(Date.now() / DAY) * DAY;
  await using stack = new AsyncDisposableStack();
  let endpoints;
  let cacheDir = o["cache-dir"];
  if (o.emulator) {
    const emulator = stack.use(await startEmulator());
    endpoints = { vision: emulator.url, listing: emulator.url, rest: emulator.url };
    // Synthetic data never goes into the real cache.
    if (cacheDir === undefined && !o["no-cache"]) {
      const dir = cacheDir = await Deno.makeTempDir({ prefix: "dsm-backtest-" });
      stack.defer(() => Deno.remove(dir, { recursive: true }));
    }
    print(`Emulator at ${emulator.url}`);
  }
  const dsm = stack.use(
    new DataSourceManager({
      market: o.market as KlineRequest["market"],
      cache: o["no-cache"] ? false : cacheDir === undefined ? {} : { dir: cacheDir },
      endpoints,
    }),
  );
  const request: KlineRequest = {
    symbol: o.symbol,
    interval: o.interval as KlineRequest["interval"],
    start: o.start ?? today - 365 * DAY,
    end: o.end ?? today,
  };
  const started = performance.now();
  const { table, report } = await dsm.getDataWithReport(request);
  const fetchedMs = performance.now() - started;
  const df = toPolars(table);
  const s = summarize(df, table, report);
  const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
  print(`${s.series}: ${s.rows} rows in ${fetchedMs.toFixed(0)} ms, ${s.first} .. ${s.last}`);
  print(
    `  sources: ${JSON.stringify(s.sources)}; gaps: ${s.gapSlots} slots; partial: ${s.partial}`,
  );
  print(
    `  return ${pct(s.totalReturn)}, volatility per candle ${pct(s.volatility)}, ` +
      `max drawdown ${pct(s.maxDrawdown)}`,
  );
  const shown = ["open_time", "open", "high", "low", "close", "volume"];
  print(df.select(...shown).tail(3).toString());
  return s;
}

if (import.meta.main) await main(Deno.args);
