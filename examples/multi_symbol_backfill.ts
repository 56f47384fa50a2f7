/**
 * A cache backfill: several symbols on several markets fetched concurrently
 * into the local Arrow IPC cache, with progress. Rows are streamed and
 * dropped (the cache is the product), so memory stays bounded whatever the
 * range.
 *
 * Run against Binance (platform cache folder, or `--cache-dir`):
 * `deno run -A examples/multi_symbol_backfill.ts --days 30 --interval 1m`
 *
 * Offline, against the local emulator (cache in a temporary folder unless
 * `--cache-dir` is given):
 * `deno run -A examples/multi_symbol_backfill.ts --emulator`
 *
 * Options: `--series spot:BTCUSDT,um:ETHUSDT,...`, `--interval` (1m),
 * `--days` (7, ending at today 00:00 UTC), `--concurrency` (series at once, 3),
 * `--cache-dir DIR`, `--emulator`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  DataSourceManager,
  type Endpoints,
  type FetchProgress,
  type FetchReport,
  type KlineRequest,
  type Market,
  parseMarket,
} from "../mod.ts";
import { startEmulator } from "../emulator.ts";

const DAY = 86_400_000;
const DEFAULT_SERIES = "spot:BTCUSDT,spot:ETHUSDT,um:BTCUSDT,um:ETHUSDT,cm:BTCUSD_PERP";

/** The outcome of one series. */
export interface BackfillResult {
  /** Market. */
  market: Market;
  /** Symbol. */
  symbol: string;
  /** Rows fetched (now in the cache). */
  rows: number;
  /** Partitions written to the cache by this run. */
  cached: number;
  /** Partitions per source, e.g. `{ "vision-daily": 7 }`. */
  sources: Record<string, number>;
  /** Whether a source failed and left slots unfetched. */
  partial: boolean;
  /** The error, when the series failed as a whole. */
  error?: string;
}

/** What {@linkcode main} did. */
export interface BackfillSummary {
  /** The cache folder filled. */
  cacheDir?: string;
  /** One result per series, in the order given. */
  results: BackfillResult[];
}

function options(args: string[]) {
  const v = parseArgs({
    args,
    strict: true,
    options: {
      series: { type: "string", default: DEFAULT_SERIES },
      interval: { type: "string", default: "1m" },
      days: { type: "string", default: "7" },
      concurrency: { type: "string", default: "3" },
      "cache-dir": { type: "string" },
      emulator: { type: "boolean", default: false },
    },
  }).values;
  const series = v.series.split(",").filter(Boolean).map((item) => {
    const [market, symbol] = item.includes(":") ? item.split(":") : ["spot", item];
    return { market: parseMarket(market), symbol: symbol.toUpperCase() };
  });
  const days = Number(v.days);
  const concurrency = Number(v.concurrency);
  if (!Number.isInteger(days) || days < 1) throw new RangeError(`Cannot use --days "${v.days}"`);
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`Cannot use --concurrency "${v.concurrency}"`);
  }
  return { ...v, series, days, concurrency };
}

/** Sums the progress of every series on one line (a terminal) or per finished series. */
class Progress {
  readonly #each = new Map<string, FetchProgress>();
  readonly #write: (text: string) => void;
  readonly #terminal: boolean;
  #last = 0;

  constructor(write: (text: string) => void, terminal: boolean) {
    this.#write = write;
    this.#terminal = terminal;
  }

  update(id: string, p: FetchProgress): void {
    this.#each.set(id, p);
    const now = performance.now();
    if (!this.#terminal || now - this.#last < 200) return;
    this.#last = now;
    this.#write(`\r\x1b[2K${this.line()}`);
  }

  line(): string {
    const t = { done: 0, total: 0, files: 0, bytes: 0, rows: 0 };
    for (const p of this.#each.values()) {
      t.done += p.partitionsDone;
      t.total += p.partitionsTotal;
      t.files += p.files;
      t.bytes += p.bytes;
      t.rows += p.rows;
    }
    return `${t.done}/${t.total} partitions, ${t.files} files, ` +
      `${(t.bytes / 1048576).toFixed(1)} MiB, ${t.rows} rows`;
  }

  end(): void {
    if (this.#terminal) this.#write("\r\x1b[2K");
  }
}

async function backfill(
  dsm: DataSourceManager,
  request: KlineRequest,
): Promise<FetchReport> {
  const { batches, report } = dsm.streamWithReport({ ...request, includeSourceInfo: false });
  for await (const _ of batches) {
    // The rows are in the cache now; nothing to keep here.
  }
  return await report;
}

function resultOf(market: Market, symbol: string, report: FetchReport): BackfillResult {
  const sources: Record<string, number> = {};
  for (const p of report.partitions) {
    for (const s of p.sources) sources[s] = (sources[s] ?? 0) + 1;
  }
  return {
    market,
    symbol,
    rows: report.rows,
    cached: report.partitions.filter((p) => p.cached).length,
    sources,
    partial: report.partial,
  };
}

/**
 * Backfills the cache and prints one line per series.
 *
 * @param args Command-line arguments.
 * @param io Where lines and the progress go; whether stderr is a terminal.
 * @returns The cache folder and one result per series.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { main } from "./multi_symbol_backfill.ts";
 * const args = ["--emulator", "--series", "spot:BTCUSDT", "--days", "1", "--interval", "1h"];
 * const { results } = await main(args, { print: () => {}, terminal: false });
 * assert.equal(results[0].rows, 24);
 * ```
 */
export async function main(
  args: string[],
  io: { print?: (line: string) => void; progress?: (text: string) => void; terminal?: boolean } =
    {},
): Promise<BackfillSummary> {
  const o = options(args);
  const print = io.print ?? console.log;
  const writeErr = io.progress ??
    ((text: string) => Deno.stderr.writeSync(new TextEncoder().encode(text)));
  await using stack = new AsyncDisposableStack();
  let endpoints: Endpoints | undefined;
  let cacheDir = o["cache-dir"];
  if (o.emulator) {
    const emulator = stack.use(await startEmulator());
    endpoints = { vision: emulator.url, listing: emulator.url, rest: emulator.url };
    if (cacheDir === undefined) {
      const dir = cacheDir = await Deno.makeTempDir({ prefix: "dsm-backfill-" });
      stack.defer(() => Deno.remove(dir, { recursive: true }));
    }
    print(`Emulator at ${emulator.url}`);
  }
  const end = Math.floor(Date.now() / DAY) * DAY;
  const start = end - o.days * DAY;
  const progress = new Progress(writeErr, io.terminal ?? Deno.stderr.isTerminal());
  print(
    `Backfilling ${o.series.length} series, ${o.interval}, ` +
      `${new Date(start).toISOString().slice(0, 10)} .. ${
        new Date(end).toISOString().slice(0, 10)
      } into ${cacheDir ?? "the platform cache"}`,
  );
  const results: BackfillResult[] = new Array(o.series.length);
  let nextIndex = 0;
  const worker = async () => {
    while (nextIndex < o.series.length) {
      const i = nextIndex++;
      const { market, symbol } = o.series[i];
      const id = `${market}:${symbol}`;
      await using dsm = new DataSourceManager({
        market,
        cache: cacheDir === undefined ? {} : { dir: cacheDir },
        endpoints,
        onProgress: (p) => progress.update(id, p),
      });
      const request = { symbol, interval: o.interval as KlineRequest["interval"], start, end };
      try {
        results[i] = resultOf(market, symbol, await backfill(dsm, request));
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        results[i] = {
          market,
          symbol,
          rows: 0,
          cached: 0,
          sources: {},
          partial: true,
          error: message,
        };
      }
      const r = results[i];
      progress.end();
      print(
        `  ${id.padEnd(18)} ${
          r.error ? `failed: ${r.error}` : `${r.rows} rows, ${r.cached} partitions cached, ` +
            `sources ${JSON.stringify(r.sources)}${r.partial ? ", partial" : ""}`
        }`,
      );
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: Math.min(o.concurrency, o.series.length) }, worker));
  progress.end();
  print(`Done in ${((performance.now() - started) / 1000).toFixed(1)} s: ${progress.line()}`);
  return { cacheDir: o.emulator && o["cache-dir"] === undefined ? undefined : cacheDir, results };
}

if (import.meta.main) {
  const { results } = await main(Deno.args);
  if (results.some((r) => r.error || r.partial)) Deno.exitCode = 1;
}
