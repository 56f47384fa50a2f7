/**
 * End-to-end comparison against the emulator with 20 ms of latency per
 * response, every contender in a fresh process:
 *
 * - one month of 1m klines per market: this module cold (empty cache), warm
 *   (same cache, new process) and without cache; ccxt `fetchOHLCV` paging
 *   the REST endpoints with and without its rate limiter; a naive script
 *   that downloads the daily zips one by one and splits the CSV;
 * - one year of 1m spot from a warm cache (filled once, then read in a new
 *   process);
 * - `stream()` over 30 days of 1s spot (daily files), batches dropped: peak RSS.
 *
 * The emulator runs in its own process and every archive is generated once
 * before anything is timed, so generation is charged to no contender. Every
 * contender must return the same rows (count, first and last open time, sum
 * of closes) as this module; the run exits 1 otherwise. Prints a markdown
 * table and writes it to `bench/results/e2e.md`.
 *
 * Run: `deno task bench:e2e [--runs N]` (N runs per contender, median time;
 * ccxt with its rate limiter runs once: its time is mostly its own sleeps).
 *
 * @module
 */
import { parseArgs } from "node:util";
import type { Market } from "../src/core/market.ts";
import type { ContenderJob, ContenderResult } from "./_contender.ts";
import { type EmulatorCounts, EmulatorProcess } from "./_emulator_process.ts";
import { type BenchRow, machineLine, markdownTable, median } from "./_report.ts";

const DAY = 86_400_000;
const LATENCY_MS = 20;
const SYMBOLS: Record<Market, string> = { spot: "BTCUSDT", um: "BTCUSDT", cm: "BTCUSD_PERP" };
const VISION_MARKET: Record<Market, string> = { spot: "spot", um: "futures/um", cm: "futures/cm" };
const CONTENDER = new URL("./_contender.ts", import.meta.url).pathname;
const RESULTS = new URL("./results/e2e.md", import.meta.url).pathname;

const { values: cli } = parseArgs({
  args: Deno.args,
  options: { runs: { type: "string", default: "3" } },
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

async function spawnContender(
  kind: string,
  j: ContenderJob,
): Promise<ContenderResult> {
  const args = ["run", "-A", CONTENDER, "--kind", kind, "--url", j.url, "--market", j.market];
  args.push("--symbol", j.symbol, "--interval", j.interval, "--start", String(j.start));
  args.push("--end", String(j.end), "--now", String(j.now), "--rate-limit", String(j.rateLimit));
  if (j.cacheDir !== undefined) args.push("--cache-dir", j.cacheDir);
  const out = await new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "piped" })
    .output();
  const stdout = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) {
    throw new Error(
      `Cannot run contender "${kind}" on ${j.market}: exit ${out.code}\n` +
        new TextDecoder().decode(out.stderr),
    );
  }
  return JSON.parse(stdout.split("\n").at(-1)!) as ContenderResult;
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
): Promise<{ row: BenchRow; first: ContenderResult; cacheDir?: string }> {
  const times: number[] = [];
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
  return { row, first: first!, cacheDir };
}

/** Downloads every archive the contenders will ask for, so the emulator generates each once. */
async function warmEmulator(url: string): Promise<void> {
  const keys: string[] = [];
  const zip = (m: Market, period: string, interval: string, date: string) =>
    `data/${VISION_MARKET[m]}/${period}/klines/${SYMBOLS[m]}/${interval}/` +
    `${SYMBOLS[m]}-${interval}-${date}.zip`;
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

async function main(): Promise<number> {
  const machine = await machineLine();
  console.error(machine);
  await using emu = await EmulatorProcess.start({ latencyMs: LATENCY_MS, now: NOW });
  await warmEmulator(emu.url);
  await emu.counts();
  const rows: BenchRow[] = [];
  const month = `1m ${new Date(lastMonth).toISOString().slice(0, 7)}`;
  const cold: Partial<Record<Market, number>> = {};
  for (const market of ["spot", "um", "cm"] as const) {
    const j = job(market, "1m", lastMonth, thisMonth, emu.url);
    const w = { runs: RUNS, workload: month };
    const c = await measure(emu, "this module, cold", "dsm", j, { ...w, freshCache: true });
    const ref = c.first;
    cold[market] = c.row.ms;
    const warm = await measure(emu, "this module, warm", "dsm", { ...j, cacheDir: c.cacheDir }, w);
    if (warm.row.requests > 0) {
      notes.push(
        `this module, warm (${market}): made ${warm.row.requests} requests: the cache was not used`,
      );
    }
    const off = await measure(emu, "this module, no cache", "dsm", j, w);
    const ccxtOn = await measure(emu, "ccxt fetchOHLCV paging, enableRateLimit", "ccxt", j, {
      ...w,
      runs: 1,
    });
    const ccxtOff = await measure(emu, "ccxt fetchOHLCV paging, no rate limit", "ccxt", {
      ...j,
      rateLimit: false,
    }, w);
    const naive = await measure(emu, "naive: daily zips one by one, split", "naive", j, w);
    for (const other of [warm, off, ccxtOn, ccxtOff, naive]) {
      checkSame(`${other.row.contender} (${market})`, other.first, ref);
    }
    for (const m of [c, warm, off, ccxtOn, ccxtOff, naive]) {
      rows.push({ ...m.row, baselineMs: c.row.ms });
    }
  }
  const year = job("spot", "1m", yearAgo, thisMonth, emu.url);
  const fill = await measure(emu, "this module, cold (fills the cache)", "dsm", year, {
    runs: 1,
    workload: "1m, 12 months",
    freshCache: true,
  });
  const warmYear = await measure(emu, "this module, warm", "dsm", {
    ...year,
    cacheDir: fill.cacheDir,
  }, { runs: RUNS, workload: "1m, 12 months" });
  checkSame("this module, warm year", warmYear.first, fill.first);
  rows.push(fill.row, warmYear.row);
  const secs = job("spot", "1s", secondsRange.start, secondsRange.end, emu.url);
  const stream = await measure(emu, "this module, stream() no cache", "dsm-stream", secs, {
    runs: RUNS,
    workload: "1s, 30 days (daily files)",
  });
  rows.push(stream.row);
  const expect = [[fill.first.rows, (thisMonth - yearAgo) / 60_000], [
    stream.first.rows,
    30 * 86_400,
  ]];
  for (const [got, want] of expect) {
    if (got !== want) failures.push(`Expected ${want} rows, got ${got}`);
  }

  const ratio = (contender: string, market: Market) =>
    rows.find((r) => r.contender === contender && r.market === market)!.ms / cold[market]!;
  const markets = ["spot", "um", "cm"] as const;
  const worst = (contender: string) => Math.min(...markets.map((m) => ratio(contender, m)));
  const verdict = (ok: boolean) => ok ? "met" : "NOT met";
  const targets = [
    `- cold ≥ 20× ccxt paging (enableRateLimit, as shipped): worst market ${
      worst("ccxt fetchOHLCV paging, enableRateLimit").toFixed(1)
    }× — ${verdict(worst("ccxt fetchOHLCV paging, enableRateLimit") >= 20)}` +
    ` (without rate limit: ${worst("ccxt fetchOHLCV paging, no rate limit").toFixed(1)}×)`,
    `- cold ≥ 3× the naive script: worst market ${
      worst("naive: daily zips one by one, split").toFixed(1)
    }× — ${verdict(worst("naive: daily zips one by one, split") >= 3)}`,
    `- warm year < 100 ms: ${warmYear.row.ms.toFixed(1)} ms — ${verdict(warmYear.row.ms < 100)}`,
    `- 1s month streaming < 300 MB RSS: ${(stream.row.peakRssBytes / 1048576).toFixed(1)} MB — ${
      verdict(stream.row.peakRssBytes < 300 * 1048576)
    }`,
  ];
  const report = [
    `# End-to-end benchmark`,
    "",
    `Emulator with ${LATENCY_MS} ms latency per response, clock ${
      new Date(NOW).toISOString()
    }; every contender in a fresh process, modules imported before the clock starts; peak RSS of the whole process (runtime included).`,
    machine,
    "",
    markdownTable(rows),
    "",
    "Targets:",
    ...targets,
    ...(notes.length ? ["", "Notes:", ...notes.map((n) => `- ${n}`)] : []),
    ...(failures.length ? ["", "FAILED checks:", ...failures.map((f) => `- ${f}`)] : []),
    "",
  ].join("\n");
  console.log(report);
  await Deno.mkdir(new URL("./results/", import.meta.url), { recursive: true });
  await Deno.writeTextFile(RESULTS, report);
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
