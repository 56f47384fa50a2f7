/**
 * One contender of the end-to-end benchmark, run in a fresh process so that
 * its time and memory are its own. Prints one JSON line
 * ({@linkcode ContenderResult}) on stdout.
 *
 * Run: `deno run -A bench/_contender.ts --kind dsm --url <emulator> --market spot
 *   --symbol BTCUSDT --interval 1m --start <ms> --end <ms> --now <ms> [--cache-dir D]`
 *
 * Kinds: `dsm` (getDataWithReport), `dsm-phases` (the same, each request
 * timed), `dsm-stream` (stream(), batches dropped), `dsm-same-process` (a
 * warm cache read with the store's own `read` per partition, then `getData`
 * three times, all in this process), `polars-ipc` (nodejs-polars
 * `scanIPC(glob).collect()` of the cache folder's partition files),
 * `ccxt` (fetchOHLCV paging; `--rate-limit false` turns enableRateLimit off),
 * `naive` (daily zips one by one, split and parseFloat), `bare` (a month's
 * listing, CHECKSUM and archive requested at once, the archive decoded with
 * this module's codec: nothing else).
 *
 * The time covers the work only: the modules are imported before the clock
 * starts. A runner that prepares (finds its files) or checks its rows apart
 * from the work times the work itself (`workMs`): `polars-ipc` times the
 * collect alone, `dsm-same-process` its third `getData`. Peak RSS is the larger of `Deno.memoryUsage().rss` sampled every
 * 10 ms and the kernel's high-water mark (`VmHWM`), so it includes the
 * runtime and the imported modules.
 *
 * @module
 */
import { parseArgs } from "node:util";
import type { Market } from "../src/core/market.ts";

/** What every contender prints. */
export interface ContenderResult {
  /** Wall time of the work, ms. */
  ms: number;
  /** Rows returned. */
  rows: number;
  /** HTTP requests the contender counted itself. */
  requests: number;
  /** Peak resident set size of the process, bytes. */
  peakRssBytes: number;
  /** Sum of the close column in time order (rows must match across contenders). */
  checksum: number;
  /** Open time of the first row, ms (NaN when there is none). */
  firstOpenTime: number;
  /** Open time of the last row, ms (NaN when there is none). */
  lastOpenTime: number;
  /** Kind `dsm-phases`: when each kind of request started and ended, ms since the start. */
  phases?: Record<string, number>;
  /** Kind `dsm-same-process`: every timed call of the process, ms. */
  sameProcess?: SameProcessTimes;
  /** Kind `polars-ipc`: what Polars read, and its later collects in the same process. */
  polars?: PolarsRead;
}

/** The calls of kind `dsm-same-process`, in one process over a warm cache. */
export interface SameProcessTimes {
  /** Partitions the store read each time (the series' listing, then `read` of each). */
  partitions: number;
  /** Each timed store read of every partition (after two untimed ones), ms. */
  storeReadMs: number[];
  /** `getData` of the same range, three calls on one manager, ms. */
  getDataMs: number[];
}

/** What kind `polars-ipc` read. */
export interface PolarsRead {
  /** The glob handed to `scanIPC`. */
  glob: string;
  /** Files the glob matches (the store's listing of the series, checked against the folder). */
  files: number;
  /** Columns of the DataFrame. */
  columns: string[];
  /** Two more `scanIPC(glob).collect()` in the same process after the timed one, ms. */
  laterMs: number[];
}

/** The parameters every runner receives. */
export interface ContenderJob {
  /** Emulator base URL. */
  url: string;
  /** Market. */
  market: Market;
  /** Symbol on that market. */
  symbol: string;
  /** Interval, REST spelling. */
  interval: string;
  /** Inclusive start, epoch ms. */
  start: number;
  /** Exclusive end, epoch ms. */
  end: number;
  /** The emulator's clock, epoch ms. */
  now: number;
  /** Cache folder of this module, when it should use one. */
  cacheDir?: string;
  /** ccxt's enableRateLimit. */
  rateLimit: boolean;
}

/** What a runner returns: `workMs` when it timed its work itself (else the whole call counts). */
export type RunnerResult = Omit<ContenderResult, "ms" | "peakRssBytes"> & { workMs?: number };

function highWaterMark(): number {
  try {
    const status = Deno.readTextFileSync("/proc/self/status");
    const m = /VmHWM:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

async function runner(kind: string): Promise<(job: ContenderJob) => Promise<RunnerResult>> {
  switch (kind) {
    case "dsm":
      return (await import("./_dsm_runner.ts")).runDsmTable;
    case "dsm-phases":
      return (await import("./_dsm_runner.ts")).runDsmPhases;
    case "dsm-stream":
      return (await import("./_dsm_runner.ts")).runDsmStream;
    case "dsm-same-process":
      return (await import("./_dsm_runner.ts")).runDsmSameProcess;
    case "polars-ipc":
      return (await import("./_polars_runner.ts")).runPolarsIpc;
    case "ccxt":
      return (await import("./_ccxt_runner.ts")).runCcxtPaging;
    case "naive":
      return (await import("./_naive_runner.ts")).runNaiveZips;
    case "bare":
      return (await import("./_bare_runner.ts")).runBareMonth;
    default:
      throw new TypeError(`Cannot run contender "${kind}": unknown kind`);
  }
}

if (import.meta.main) {
  const { values: v } = parseArgs({
    args: Deno.args,
    options: {
      kind: { type: "string" },
      url: { type: "string" },
      market: { type: "string", default: "spot" },
      symbol: { type: "string" },
      interval: { type: "string", default: "1m" },
      start: { type: "string" },
      end: { type: "string" },
      now: { type: "string" },
      "cache-dir": { type: "string" },
      "rate-limit": { type: "string", default: "true" },
    },
  });
  const job: ContenderJob = {
    url: v.url!,
    market: v.market as Market,
    symbol: v.symbol!,
    interval: v.interval!,
    start: Number(v.start),
    end: Number(v.end),
    now: Number(v.now),
    cacheDir: v["cache-dir"],
    rateLimit: v["rate-limit"] !== "false",
  };
  const run = await runner(v.kind ?? "");
  let peak = Deno.memoryUsage().rss;
  const sampler = setInterval(() => {
    const rss = Deno.memoryUsage().rss;
    if (rss > peak) peak = rss;
  }, 10);
  const t0 = performance.now();
  const { workMs, ...result } = await run(job);
  const ms = performance.now() - t0;
  clearInterval(sampler);
  const out: ContenderResult = {
    ms: workMs ?? ms,
    ...result,
    peakRssBytes: Math.max(peak, Deno.memoryUsage().rss, highWaterMark()),
  };
  console.log(JSON.stringify(out));
}
