/**
 * End-to-end comparison against the emulator with 20 ms of latency per
 * response, every contender in a fresh process:
 *
 * - one month of 1m klines per market: this module cold (empty cache), warm
 *   (same cache, new process) and without cache; ccxt `fetchOHLCV` paging
 *   the REST endpoints with and without its rate limiter; a naive script
 *   that downloads the daily zips one by one and splits the CSV; a bare
 *   client (`bench/_bare_runner.ts`) that requests the month's listing,
 *   CHECKSUM and archive at once and only decodes the archive;
 * - one year of 1m spot from a warm cache (filled once, then read in a new
 *   process); the same cache folder's partition files read by nodejs-polars
 *   (`scanIPC(glob).collect()`, fresh process, the collect timed); and, in
 *   one process, the store's own read of every partition (median of 5 after
 *   2 warm-ups) against `getData` called three times (the third timed);
 * - `stream()` over 30 days of 1s spot (daily files), batches dropped: peak RSS.
 *
 * Each cold month also gets a floor measured in the same run
 * (`bench/_floor.ts`, a process of its own): 2 × the latency (the listing,
 * then the CHECKSUM and the archive together), the archive's transfer at the
 * loopback speed measured then, and the decode of the same archive bytes in
 * isolation (warm, median). This module's month times (and the bare
 * client's) are printed ÷ that floor, and one more cold run per market
 * times each kind of request (`dsm-phases`, not one of the timed runs):
 * where the cold time goes.
 *
 * The emulator runs in its own process and every archive is generated once
 * before anything is timed, so generation is charged to no contender. Every
 * contender must return the same rows (count, first and last open time, sum
 * of closes) as this module; the run exits 1 otherwise. Prints a markdown
 * table and writes it to `bench/results/e2e.md`.
 *
 * Run: `deno task bench:e2e [--runs N] [--readme]` (N runs per contender,
 * median time; ccxt with its rate limiter runs once: its time is mostly its
 * own sleeps). `--readme` also rewrites the block of README.md's "How it
 * compares" between `<!-- e2e:begin -->` and `<!-- e2e:end -->` with this
 * run's figures (`bench/_readme_block.ts`); without it README.md is not
 * touched.
 *
 * @module
 */
import { parseArgs } from "node:util";
import type { Market } from "../src/core/market.ts";
import type { ContenderJob, ContenderResult } from "./_contender.ts";
import { type EmulatorCounts, EmulatorProcess } from "./_emulator_process.ts";
import type { FloorMeasure } from "./_floor.ts";
import { type BenchRow, fixed, machineLine, markdownTable, median } from "./_report.ts";
import { type ReadmeFigures, writeReadmeBlock } from "./_readme_block.ts";

const DAY = 86_400_000;
const LATENCY_MS = 20;
const SYMBOLS: Record<Market, string> = { spot: "BTCUSDT", um: "BTCUSDT", cm: "BTCUSD_PERP" };
const VISION_MARKET: Record<Market, string> = { spot: "spot", um: "futures/um", cm: "futures/cm" };
const CONTENDER = new URL("./_contender.ts", import.meta.url).pathname;
const FLOOR = new URL("./_floor.ts", import.meta.url).pathname;
const RESULTS = new URL("./results/e2e.md", import.meta.url).pathname;
const README = new URL("../README.md", import.meta.url).pathname;

const { values: cli } = parseArgs({
  args: Deno.args,
  options: { runs: { type: "string", default: "3" }, readme: { type: "boolean", default: false } },
});
const RUNS = Math.max(1, Number(cli.runs) || 1);

/** A fixed clock for the emulator and every contender: now, on the minute. */
const NOW = Math.floor(Date.now() / 60_000) * 60_000;
const today = new Date(NOW);
const thisMonth = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), 1);
const lastMonth = Date.UTC(today.getUTCFullYear(), today.getUTCMonth() - 1, 1);
const yearAgo = Date.UTC(today.getUTCFullYear() - 1, today.getUTCMonth(), 1);
/** 30 days across a month boundary: daily files only. */
const secondsRange = { start: lastMonth - 15 * DAY, end: lastMonth + 15 * DAY };

function total(c: EmulatorCounts): number {
  return c.vision + c.checksum + c.listing + c.rest + c.other;
}

function job(market: Market, interval: string, start: number, end: number, url: string) {
  return { url, market, symbol: SYMBOLS[market], interval, start, end, now: NOW, rateLimit: true };
}

/** Runs a bench script in a fresh process and parses its last stdout line. */
async function spawnJson<T>(label: string, args: string[]): Promise<T> {
  // NO_COLOR: a failure's stderr goes into the report as plain text.
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) {
    throw new Error(
      `Cannot run ${label}: exit ${out.code}\n` + new TextDecoder().decode(out.stderr),
    );
  }
  return JSON.parse(stdout.split("\n").at(-1)!) as T;
}

function spawnContender(kind: string, j: ContenderJob): Promise<ContenderResult> {
  const args = ["run", "-A", CONTENDER, "--kind", kind, "--url", j.url, "--market", j.market];
  args.push("--symbol", j.symbol, "--interval", j.interval, "--start", String(j.start));
  args.push("--end", String(j.end), "--now", String(j.now), "--rate-limit", String(j.rateLimit));
  if (j.cacheDir !== undefined) args.push("--cache-dir", j.cacheDir);
  return spawnJson(`contender "${kind}" on ${j.market}`, args);
}

const failures: string[] = [];
const tempDirs: string[] = [];
const notes: string[] = [];

/** Checks that a contender returned exactly the reference rows. */
function checkSame(label: string, got: ContenderResult, want: ContenderResult): void {
  for (const key of ["rows", "checksum", "firstOpenTime", "lastOpenTime"] as const) {
    if (!Object.is(got[key], want[key])) {
      failures.push(`${label}: ${key} ${got[key]} differs from this module's ${want[key]}`);
    }
  }
}

/**
 * Runs one contender `runs` times; each run in a fresh process.
 *
 * @returns The table row and the first run's result (for the checks).
 */
async function measure(
  emu: EmulatorProcess,
  contender: string,
  kind: string,
  j: ContenderJob,
  options: { runs: number; workload: string; freshCache?: boolean },
): Promise<{ row: BenchRow; first: ContenderResult; all: ContenderResult[]; cacheDir?: string }> {
  const times: number[] = [];
  const all: ContenderResult[] = [];
  let rss = 0;
  let first: ContenderResult | undefined;
  let requests = 0;
  let cacheDir = j.cacheDir;
  for (let i = 0; i < options.runs; i++) {
    if (options.freshCache) {
      cacheDir = await Deno.makeTempDir({ prefix: "dsm_e2e_" });
      tempDirs.push(cacheDir);
    }
    const result = await spawnContender(kind, { ...j, cacheDir });
    const seen = total(await emu.counts());
    if (seen !== result.requests) {
      notes.push(
        `${contender} (${j.market}): counted ${result.requests} requests, the emulator saw ${seen}`,
      );
    }
    if (first) checkSame(`${contender} (${j.market}) run ${i + 1}`, result, first);
    first ??= result;
    all.push(result);
    requests = seen;
    times.push(result.ms);
    rss = Math.max(rss, result.peakRssBytes);
    console.error(
      `  ${contender} ${j.market} ${options.workload}: ${result.ms.toFixed(1)} ms, ` +
        `${result.rows} rows, ${seen} requests`,
    );
  }
  const row: BenchRow = {
    contender,
    market: j.market,
    workload: options.workload,
    ms: median(times),
    runs: options.runs,
    rows: first!.rows,
    requests,
    peakRssBytes: rss,
  };
  return { row, first: first!, all, cacheDir };
}

/** The key of a Vision kline archive of the benchmark's symbol on a market. */
function zip(m: Market, period: string, interval: string, date: string): string {
  return `data/${VISION_MARKET[m]}/${period}/klines/${SYMBOLS[m]}/${interval}/` +
    `${SYMBOLS[m]}-${interval}-${date}.zip`;
}

/** Downloads every archive the contenders will ask for, so the emulator generates each once. */
async function warmEmulator(url: string): Promise<void> {
  const keys: string[] = [];
  const iso = (t: number) => new Date(t).toISOString();
  for (const m of ["spot", "um", "cm"] as const) {
    keys.push(zip(m, "monthly", "1m", iso(lastMonth).slice(0, 7)));
    for (let d = lastMonth; d < thisMonth; d += DAY) {
      keys.push(zip(m, "daily", "1m", iso(d).slice(0, 10)));
    }
  }
  for (
    let t = yearAgo;
    t < thisMonth;
    t = Date.UTC(new Date(t).getUTCFullYear(), new Date(t).getUTCMonth() + 1, 1)
  ) {
    keys.push(zip("spot", "monthly", "1m", iso(t).slice(0, 7)));
  }
  for (let d = secondsRange.start; d < secondsRange.end; d += DAY) {
    keys.push(zip("spot", "daily", "1s", iso(d).slice(0, 10)));
  }
  const t0 = performance.now();
  for (const key of keys) {
    const res = await fetch(`${url}/${key}`);
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`Cannot warm the emulator: "${key}" answered ${res.status}`);
  }
  console.error(
    `Emulator warmed: ${keys.length} archives in ${(performance.now() - t0).toFixed(0)} ms`,
  );
}

const COLD = "this module, cold";
const CCXT = "ccxt fetchOHLCV paging, enableRateLimit";
const CCXT_FREE = "ccxt fetchOHLCV paging, no rate limit";
const NAIVE = "naive: daily zips one by one, split";
const NO_CACHE = "this module, no cache";
const BARE = "bare Deno client: 3 requests at once, decode only";
const WARM = "this module, warm";
const POLARS = "nodejs-polars scanIPC";
const SAME_GETDATA = "this module, same process: 3rd getData";
const SAME_STORE = "this module, same process: store read, every partition";
const MARKETS = ["spot", "um", "cm"] as const;

/** The floor of one market's cold month and where this module's cold time went. */
interface MonthFloor {
  market: Market;
  /** Transfer and decode of the month's archive, measured alone. */
  measure: FloorMeasure;
  /** 2 × latency + transfer + decode, ms. */
  floorMs: number;
  /** The phases of one extra cold run of this module, ms since its start. */
  phases: Record<string, number>;
}

const monthFloors: MonthFloor[] = [];

/** Measures the floor of one market's cold month (`bench/_floor.ts`, its own process). */
async function measureFloor(emu: EmulatorProcess, market: Market): Promise<MonthFloor> {
  const month = new Date(lastMonth).toISOString().slice(0, 7);
  const archive = `${emu.url}/${zip(market, "monthly", "1m", month)}`;
  const measure = await spawnJson<FloorMeasure>(`the floor of ${market}`, [
    "run",
    "-A",
    FLOOR,
    "--archive",
    archive,
    "--runs",
    String(Math.max(5, RUNS)),
  ]);
  await emu.counts(); // the floor's own downloads are no contender's
  const floorMs = 2 * LATENCY_MS + measure.transferMs + measure.decodeMs;
  console.error(
    `  floor ${market}: ${floorMs.toFixed(1)} ms = 2 × ${LATENCY_MS} ms + transfer ` +
      `${measure.transferMs.toFixed(1)} ms (${fixed(measure.zipBytes, 0)} B at ` +
      `${measure.loopbackMBps.toFixed(0)} MB/s) + decode ${measure.decodeMs.toFixed(1)} ms`,
  );
  return { market, measure, floorMs, phases: {} };
}

/** One extra cold run of this module with each request timed (not in the table). */
async function coldPhases(emu: EmulatorProcess, j: ContenderJob): Promise<Record<string, number>> {
  const cacheDir = await Deno.makeTempDir({ prefix: "dsm_e2e_" });
  tempDirs.push(cacheDir);
  const result = await spawnContender("dsm-phases", { ...j, cacheDir });
  await emu.counts();
  return result.phases ?? {};
}

/** One month of 1m on one market: every contender, checked against this module cold. */
async function monthRows(emu: EmulatorProcess, market: Market): Promise<BenchRow[]> {
  const j = job(market, "1m", lastMonth, thisMonth, emu.url);
  const w = { runs: RUNS, workload: `1m ${new Date(lastMonth).toISOString().slice(0, 7)}` };
  const floor = await measureFloor(emu, market);
  const cold = await measure(emu, COLD, "dsm", j, { ...w, freshCache: true });
  if (floor.measure.rows !== cold.first.rows) {
    failures.push(
      `Floor (${market}): the archive decoded to ${floor.measure.rows} rows, ` +
        `this module returned ${cold.first.rows}`,
    );
  }
  const warm = await measure(emu, WARM, "dsm", { ...j, cacheDir: cold.cacheDir }, w);
  if (warm.row.requests > 0) {
    notes.push(
      `this module, warm (${market}): ${warm.row.requests} requests: the cache was not used`,
    );
  }
  const others = [
    warm,
    await measure(emu, NO_CACHE, "dsm", j, w),
    await measure(emu, CCXT, "ccxt", j, { ...w, runs: 1 }),
    await measure(emu, CCXT_FREE, "ccxt", { ...j, rateLimit: false }, w),
    await measure(emu, NAIVE, "naive", j, w),
    await measure(emu, BARE, "bare", j, w),
  ];
  for (const o of others) checkSame(`${o.row.contender} (${market})`, o.first, cold.first);
  floor.phases = await coldPhases(emu, j);
  monthFloors.push(floor);
  return [cold, ...others].map((m) => ({
    ...m.row,
    baselineMs: cold.row.ms,
    floorMs: [COLD, NO_CACHE, BARE].includes(m.row.contender) ? floor.floorMs : undefined,
  }));
}

/** The warm year's comparisons beyond the table: Polars and the same-process calls. */
interface WarmYear {
  /** The Polars runs, or why nodejs-polars could not run. */
  polars: { row: BenchRow; all: ContenderResult[] } | { error: string };
  /** The same-process runs. */
  same: ContenderResult[];
  /** Median of each run's median store read, ms. */
  storeMs: number;
  /** Median of each run's third getData, ms. */
  thirdMs: number;
}

let yearFigures: WarmYear | undefined;

/**
 * One year of 1m spot: filled once (cold), then read from the warm cache in a
 * fresh process by this module and by nodejs-polars, and in one process by
 * the store's own reads and three getData calls.
 */
async function yearRows(emu: EmulatorProcess): Promise<BenchRow[]> {
  const year = job("spot", "1m", yearAgo, thisMonth, emu.url);
  const workload = "1m, 12 months";
  const fill = await measure(emu, `${COLD} (fills the cache)`, "dsm", year, {
    runs: 1,
    workload,
    freshCache: true,
  });
  const cached = { ...year, cacheDir: fill.cacheDir };
  const warm = await measure(emu, WARM, "dsm", cached, { runs: RUNS, workload });
  checkSame("this module, warm year", warm.first, fill.first);
  const slots = (thisMonth - yearAgo) / 60_000;
  if (fill.first.rows !== slots) failures.push(`Year: ${fill.first.rows} rows, expected ${slots}`);
  let polars: WarmYear["polars"];
  try {
    const p = await measure(emu, POLARS, "polars-ipc", cached, { runs: RUNS, workload });
    checkSame(`${POLARS} (warm year)`, p.first, fill.first);
    polars = { row: p.row, all: p.all };
  } catch (error) {
    // nodejs-polars is a native addon: say so in the report rather than leave the row out.
    const message = error instanceof Error ? error.message : String(error);
    const why = message.split("\n").find((l) => /error/i.test(l)) ?? message.split("\n")[0];
    console.error(`  ${POLARS}: DID NOT RUN: ${message}`);
    notes.push(`${POLARS} did not run, so target 2 was not measured: ${why}`);
    polars = { error: why };
  }
  const same = await measure(emu, SAME_GETDATA, "dsm-same-process", cached, {
    runs: RUNS,
    workload,
  });
  checkSame(`${SAME_GETDATA} (warm year)`, same.first, fill.first);
  const days = (thisMonth - yearAgo) / DAY;
  for (const r of same.all) {
    if (r.sameProcess!.partitions !== Math.round(days)) {
      failures.push(`Same process: the store read ${r.sameProcess!.partitions} partitions`);
    }
  }
  const storeMs = median(same.all.map((r) => median(r.sameProcess!.storeReadMs)));
  yearFigures = { polars, same: same.all, storeMs, thirdMs: same.row.ms };
  const storeRow: BenchRow = { ...same.row, contender: SAME_STORE, ms: storeMs };
  return [fill.row, warm.row, ...("row" in polars ? [polars.row] : []), storeRow, same.row];
}

/** `stream()` over 30 days of 1s spot, without cache: peak RSS. */
async function streamRow(emu: EmulatorProcess): Promise<BenchRow> {
  const secs = job("spot", "1s", secondsRange.start, secondsRange.end, emu.url);
  const stream = await measure(emu, "this module, stream() no cache", "dsm-stream", secs, {
    runs: RUNS,
    workload: "1s, 30 days (daily files)",
  });
  const slots = (secondsRange.end - secondsRange.start) / 1000;
  if (stream.first.rows !== slots) {
    failures.push(`1s: ${stream.first.rows} rows, expected ${slots}`);
  }
  return stream.row;
}

/** The verdict on each target of the project. */
function targetLines(rows: readonly BenchRow[]): string[] {
  const worst = (contender: string) =>
    Math.min(...MARKETS.map((m) => {
      const r = rows.find((x) => x.contender === contender && x.market === m)!;
      return r.ms / r.baselineMs!;
    }));
  const verdict = (ok: boolean) => ok ? "met" : "NOT met";
  const warmYear = rows.find((r) =>
    r.workload === "1m, 12 months" && r.contender.endsWith("warm")
  )!;
  const stream = rows.find((r) => r.contender.includes("stream()"))!;
  const mb = stream.peakRssBytes / 1048576;
  const overFloor = Math.max(
    ...rows.filter((r) => r.contender === COLD && r.floorMs)
      .map((r) => r.ms / r.floorMs!),
  );
  return [
    `- cold month ≤ 1.3× its floor: worst market ${overFloor.toFixed(2)}× — ` +
    verdict(overFloor <= 1.3),
    `- cold month ≥ 10× faster than ccxt paging without rate limiter: worst market ` +
    `${worst(CCXT_FREE).toFixed(1)}× — ${verdict(worst(CCXT_FREE) >= 10)}`,
    `- cold ≥ 20× ccxt paging (enableRateLimit on, as shipped): worst market ` +
    `${worst(CCXT).toFixed(1)}× — ${verdict(worst(CCXT) >= 20)}; ` +
    `with the rate limiter off: ${worst(CCXT_FREE).toFixed(1)}×`,
    `- cold ≥ 3× the naive script: worst market ${worst(NAIVE).toFixed(1)}× — ` +
    verdict(worst(NAIVE) >= 3),
    `- warm year < 100 ms: ${warmYear.ms.toFixed(1)} ms — ${verdict(warmYear.ms < 100)}`,
    ...yearTargetLines(warmYear.ms),
    `- 1s month streaming < 300 MB RSS: ${mb.toFixed(1)} MB — ${verdict(mb < 300)}`,
  ];
}

/** The warm year's targets: against Polars and against the store's read. */
function yearTargetLines(warmMs: number): string[] {
  const y = yearFigures!;
  const verdict = (ok: boolean) => ok ? "met" : "NOT met";
  const polars = "row" in y.polars
    ? `${(y.polars.row.ms / warmMs).toFixed(2)}× (Polars ${y.polars.row.ms.toFixed(1)} ms ÷ ` +
      `this module warm ${warmMs.toFixed(1)} ms, fresh processes, medians) — ` +
      verdict(y.polars.row.ms / warmMs >= 2)
    : `not measured: nodejs-polars did not run here (${y.polars.error}) — NOT met`;
  const ratio = y.thirdMs / y.storeMs;
  return [
    `- warm year ≥ 2× faster than Polars scanIPC of the same cache folder: ${polars}`,
    `- same-process second call ≤ 2× the store's read: ${ratio.toFixed(2)}× ` +
    `(3rd getData ${y.thirdMs.toFixed(1)} ms ÷ store read ${y.storeMs.toFixed(1)} ms, medians) — ` +
    verdict(ratio <= 2),
  ];
}

/** The warm year's other readers, each figure of the run. */
function yearLines(): string[] {
  const y = yearFigures!;
  const ms = (xs: readonly number[]) => xs.map((x) => x.toFixed(1)).join(", ");
  const lines = [
    "Warm year, other readers of the same cache folder (every one's rows checked against this " +
    "module's: count, sum of closes in time order, first and last open time):",
  ];
  if ("row" in y.polars) {
    const p = y.polars.all[0].polars!;
    lines.push(
      `- ${POLARS}: a fresh process with nodejs-polars imported before the clock; ` +
        `\`pl.scanIPC("${p.glob}").collect()\` (${p.files} files, the store's listing of the ` +
        `series checked against the folder) timed alone: ${ms(y.polars.all.map((r) => r.ms))} ` +
        `ms; the next two collects in the same process: ` +
        `${y.polars.all.map((r) => ms(r.polars!.laterMs)).join("; ")} ms. Columns: ` +
        `${p.columns.join(", ")}. Polars checks nothing (no CRC-32, key or range).`,
    );
  } else {
    lines.push(`- ${POLARS}: DID NOT RUN: ${y.polars.error}`);
  }
  for (const [i, r] of y.same.entries()) {
    const s = r.sameProcess!;
    lines.push(
      `- same process, run ${i + 1}: the store's own \`partitions\` + \`read\` of all ` +
        `${s.partitions} partitions (each validated, batches only), after two untimed: ` +
        `${ms(s.storeReadMs)} ms (median ${median(s.storeReadMs).toFixed(1)}); then \`getData\` ` +
        `three times on one manager: ${ms(s.getDataMs)} ms`,
    );
  }
  return lines;
}

/** The floor of each cold month, its terms, the ratios, and where the cold time went. */
function floorLines(rows: readonly BenchRow[]): string[] {
  const ms = (contender: string, market: Market) =>
    rows.find((r) => r.contender === contender && r.market === market && r.floorMs)?.ms ??
      rows.find((r) => r.contender === contender && r.market === market)!.ms;
  const lines = [
    "Floor of a cold month (1m, one monthly archive), measured in this run: what any client " +
    "must spend at this latency. Round trips: the listing, then the CHECKSUM and the archive " +
    `requested together: 2 × ${LATENCY_MS} ms. Transfer: the archive's bytes fetched over ` +
    "loopback from a server with no latency (median of a few warm fetches; the CHECKSUM is " +
    "tiny and overlaps). Decode: `streamKlineZip` of the same archive bytes in isolation, " +
    "SHA-256 checked, every batch read (warm, in the same process as the transfer, median). " +
    "Not in the floor: process and first-call (JIT) costs, building the Table, the report and " +
    "the cache write (the no-cache row has none). The bare client is the least a fresh Deno " +
    "process does for the month (`bench/_bare_runner.ts`): the listing, the CHECKSUM and the " +
    "archive requested at once, the archive decoded by this module's codec, nothing else (no " +
    "plan, cache, checks, report or Table): what a fresh process pays beyond the floor (its " +
    "first fetch, the JIT) whatever it is written with. The phases come from one extra cold " +
    "run per market whose fetch times each kind of request (ms since the call: first start, last " +
    "headers and end of body per kind) and whose progress callback marks the first and the " +
    "last partition finalized (checked, cached, handed out); it is not one of the timed runs.",
    "",
    "| market | this module cold ms | floor ms | 2 × latency ms | transfer ms | archive bytes | " +
    "loopback MB/s | decode ms | cold ÷ floor | no cache ÷ floor | bare client ÷ floor | " +
    "ccxt no rate limit ÷ cold | ccxt enableRateLimit ÷ cold |",
    "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
  ];
  for (const f of monthFloors) {
    const cold = ms(COLD, f.market);
    const m = f.measure;
    lines.push(
      `| ${f.market} | ${fixed(cold, 1)} | ${fixed(f.floorMs, 1)} | ${2 * LATENCY_MS} | ` +
        `${fixed(m.transferMs, 1)} | ${fixed(m.zipBytes, 0)} | ${fixed(m.loopbackMBps, 0)} | ` +
        `${fixed(m.decodeMs, 1)} | ${fixed(cold / f.floorMs, 2)}× | ` +
        `${fixed(ms(NO_CACHE, f.market) / f.floorMs, 2)}× | ` +
        `${fixed(ms(BARE, f.market) / f.floorMs, 2)}× | ` +
        `${fixed(ms(CCXT_FREE, f.market) / cold, 1)}× | ${fixed(ms(CCXT, f.market) / cold, 1)}× |`,
    );
  }
  lines.push("", "Where one cold run's time went (ms since the call):");
  for (const f of monthFloors) {
    const phases = Object.entries(f.phases).map(([k, v]) => `${k} ${v.toFixed(1)}`);
    lines.push(`- ${f.market}: ${phases.join(", ")}`);
  }
  return lines;
}

function renderReport(machine: string, rows: readonly BenchRow[]): string {
  return [
    `# End-to-end benchmark`,
    "",
    `Emulator with ${LATENCY_MS} ms latency per response, clock ${new Date(NOW).toISOString()}. ` +
    "Every contender runs in a fresh process; its modules are imported before the clock " +
    "starts; peak RSS is the whole process's (runtime included). ccxt's enableRateLimit " +
    "waits cost × 50 ms before each call: 20 ms per spot klines call, 250 ms per futures " +
    "call at limit 1000 (ccxt caps the limit at 1000 on every market). Time ratios are " +
    "against this module cold on the same market; numbers from a busy machine are noisy.",
    "",
    machine,
    "",
    markdownTable(rows),
    "",
    ...floorLines(rows),
    "",
    ...yearLines(),
    "",
    "Targets:",
    ...targetLines(rows),
    ...(notes.length ? ["", "Notes:", ...notes.map((n) => `- ${n}`)] : []),
    ...(failures.length ? ["", "FAILED checks:", ...failures.map((f) => `- ${f}`)] : []),
    "",
  ].join("\n");
}

/** The README block's figures, from this run's rows. */
function readmeFigures(machine: string, rows: readonly BenchRow[]): ReadmeFigures {
  const of = (contender: string, market: Market, workload?: string) =>
    rows.find((r) =>
      r.contender === contender && r.market === market &&
      (workload === undefined || r.workload === workload)
    )!;
  const line = (contender: string, label: string, own: boolean) => {
    const pick = (key: "ms" | "requests") =>
      Object.fromEntries(MARKETS.map((m) => [m, of(contender, m)[key]])) as Record<Market, number>;
    const bold = contender === COLD || contender === WARM;
    return { label, bold, ratio: !own, ms: pick("ms"), requests: pick("requests") };
  };
  const year = "1m, 12 months";
  const y = yearFigures!;
  const fill = of(`${COLD} (fills the cache)`, "spot", year);
  const stream = rows.find((r) => r.contender.includes("stream()"))!;
  return {
    machine,
    clock: NOW,
    runs: RUNS,
    latencyMs: LATENCY_MS,
    monthRows: of(COLD, "spot").rows,
    month: [
      line(COLD, "**this module, cold** (listing + monthly zip)", true),
      line(WARM, "**this module, warm** (Arrow IPC cache)", true),
      line(NO_CACHE, "this module, cold without cache", true),
      line(CCXT, "ccxt `fetchOHLCV` paging (`enableRateLimit` on)", false),
      line(CCXT_FREE, "ccxt `fetchOHLCV` paging, rate limiter off", false),
      line(NAIVE, "naive script: daily zips one by one, split lines", false),
      line(BARE, "bare Deno client: the 3 requests at once, decode only", false),
    ],
    floors: monthFloors.map((f) => ({
      market: f.market,
      cold: of(COLD, f.market).ms / f.floorMs,
      noCache: of(NO_CACHE, f.market).ms / f.floorMs,
      bare: of(BARE, f.market).ms / f.floorMs,
    })),
    year: {
      rows: fill.rows,
      coldMs: fill.ms,
      coldRequests: fill.requests,
      warmMs: of(WARM, "spot", year).ms,
      polars: "row" in y.polars ? { ms: y.polars.row.ms } : { error: y.polars.error },
      partitions: y.same[0].sameProcess!.partitions,
      storeMs: y.storeMs,
      thirdMs: y.thirdMs,
    },
    stream: {
      rows: stream.rows,
      ms: stream.ms,
      requests: stream.requests,
      peakMb: stream.peakRssBytes / 1048576,
    },
  };
}

async function main(): Promise<number> {
  const machine = await machineLine();
  console.error(machine);
  await using emu = await EmulatorProcess.start({ latencyMs: LATENCY_MS, now: NOW });
  await warmEmulator(emu.url);
  await emu.counts();
  const rows: BenchRow[] = [];
  for (const market of MARKETS) rows.push(...await monthRows(emu, market));
  rows.push(...await yearRows(emu));
  rows.push(await streamRow(emu));
  const report = renderReport(machine, rows);
  console.log(report);
  await Deno.mkdir(new URL("./results/", import.meta.url), { recursive: true });
  await Deno.writeTextFile(RESULTS, report);
  // The repository's `deno fmt --check` covers this file too.
  await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", RESULTS] }).output();
  if (cli.readme && failures.length) {
    console.error("README.md left as it was: this run failed its checks");
  } else if (cli.readme) {
    await writeReadmeBlock(README, readmeFigures(machine, rows));
    console.error(`README.md: the "How it compares" block rewritten with this run's figures`);
  }
  return failures.length ? 1 : 0;
}

if (import.meta.main) {
  let code = 1;
  try {
    code = await main();
  } finally {
    for (const dir of tempDirs) await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  Deno.exit(code);
}
