/**
 * `dsm sync` at fleet scale against the emulator: 20 um symbols × (1m
 * klines + funding rates) over a year.
 *
 * 1. a clean run (in process): wall time, partitions per second; one of its
 *    kline series checked against the emulator's ground truth (rows, sum of
 *    closes in time order, first and last open time), the reference of the
 *    later steps' digests;
 * 2. a run killed twice with SIGKILL at random points (a `dsm sync`
 *    subprocess), then run to the end: complete, and every partition's rows
 *    equal the clean run's (SHA-256 of the decoded values);
 * 3. the next emulated day: only the new day is fetched;
 * 4. `--shard 1/2` and `--shard 2/2` as two processes at once: together the
 *    clean run's partitions, no series fetched by both.
 *
 * Usage: `deno run -A --config bench/deno.json bench/sync_bench.ts [--symbols 20] [--days 365]`
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import type { RecordBatch } from "apache-arrow";
import { main } from "../src/cli/main.ts";
import { decodeFundingIpc } from "../src/codec/funding_ipc.ts";
import { decodeKlineIpc } from "../src/codec/kline_ipc.ts";
import { FsKlineStore } from "../src/cache/fs_kline_store.ts";
import { klineColumnsOf } from "../src/core/schema.ts";
import { startEmulator } from "../src/emulator/emulator.ts";
import { klineTruth } from "../src/emulator/kline_truth.ts";
import { MarketData } from "../src/emulator/market_data.ts";
import { DEFAULT_SYMBOLS, type EmulatedSymbol } from "../src/emulator/symbol_catalogue.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { symbols: { type: "string" }, days: { type: "string" } },
});
const COUNT = Number(values.symbols ?? "20");
const DAYS = Number(values.days ?? "365");
const DAY = 86_400_000;
const CLI = new URL("../src/cli/main.ts", import.meta.url).pathname;

// um symbols: the catalogue's, then copies of BTCUSDT under other names.
const btc = DEFAULT_SYMBOLS.find((s) => s.market === "um" && s.symbol === "BTCUSDT")!;
const extra: EmulatedSymbol[] = Array.from({ length: COUNT }, (_, i) => ({
  ...btc,
  symbol: `S${String(i).padStart(2, "0")}USDT`,
  base: `S${String(i).padStart(2, "0")}`,
}));
const names = extra.map((s) => s.symbol);
let clock = Date.now();
await using emu = await startEmulator({
  now: () => clock,
  symbols: [...DEFAULT_SYMBOLS, ...extra],
});
const root = await Deno.makeTempDir({ prefix: "dsm_sync_bench_" });
const manifest = join(root, "manifest.json");
const start = new Date(Math.floor(clock / DAY) * DAY - DAYS * DAY).toISOString().slice(0, 10);
await Deno.writeTextFile(
  manifest,
  JSON.stringify({
    markets: ["um"],
    datasets: ["klines", "fundingRate"],
    intervals: ["1m"],
    symbols: names,
    start,
  }),
);
const args = (cache: string, ...more: string[]) => [
  "sync",
  ...["--manifest", manifest, "--cache-dir", cache, "--vision-url", emu.url, "--rest-url", emu.url],
  "--quiet",
  "--json",
  "--lease-seconds",
  "2",
  ...more,
];

async function inProcess(cache: string, now = clock) {
  let out = "";
  const code = await main(args(cache), {
    stdout: new WritableStream({ write: (c) => void (out += new TextDecoder().decode(c)) }),
    stderr: () => {},
    stderrIsTerminal: false,
    env: () => undefined,
    now: () => now,
  });
  return { code, summary: JSON.parse(out) };
}

function child(cache: string, ...more: string[]) {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      `--allow-read=${root}`,
      `--allow-write=${root}`,
      CLI,
      ...args(cache, ...more),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
}

async function digest(batches: RecordBatch[]): Promise<string> {
  const parts: Uint8Array[] = [];
  for (const b of batches) {
    for (const c of b.data.children) {
      const v = c.values as ArrayBufferView;
      parts.push(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    }
  }
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) all.set(p, at), at += p.length;
  return Array.from(
    new Uint8Array(await crypto.subtle.digest("SHA-256", all)),
    (x) => x.toString(16).padStart(2, "0"),
  ).join("");
}

async function partitions(cache: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  async function walk(dir: string) {
    for await (const e of Deno.readDir(dir)) {
      const path = join(dir, e.name);
      if (e.isDirectory) await walk(path);
      else if (e.name.endsWith(".arrow") && !path.includes("/index/")) {
        const bytes = await Deno.readFile(path);
        const decoded = path.includes("/fundingRate/")
          ? decodeFundingIpc(bytes)
          : decodeKlineIpc(bytes);
        out.set(path.slice(cache.length), await digest(decoded.batches));
      }
    }
  }
  await walk(cache);
  return out;
}

/** Partition files under a cache folder (names only: cheap enough to poll). */
async function countFiles(dir: string): Promise<number> {
  let n = 0;
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isDirectory) n += await countFiles(join(dir, e.name));
      else if (e.name.endsWith(".arrow")) n++;
    }
  } catch { /* not there yet */ }
  return n;
}

/**
 * Checks one synced kline series against the emulator's ground truth: the
 * rows of its partitions (read through the store) from the first to the
 * last, against the rows the emulator serves there.
 */
async function checkAgainstTruth(cache: string, symbol: string): Promise<string> {
  const store = new FsKlineStore(cache);
  const series = { market: "um", symbol, interval: "1m" } as const;
  const keys = [...await store.partitions(series)].sort();
  if (keys.length === 0) throw new Error(`Sync check: no partition of ${symbol}`);
  let rows = 0, closeSum = 0, first = NaN, last = NaN;
  for (const partition of keys) {
    const part = await store.read({ ...series, partition });
    if (part === undefined) throw new Error(`Sync check: ${symbol} ${partition} unreadable`);
    for (const batch of part.batches) {
      const c = klineColumnsOf(batch);
      for (let i = 0; i < batch.numRows; i++) closeSum += c.close[i];
      if (batch.numRows === 0) continue;
      if (rows === 0) first = c.openTime[0];
      last = c.openTime[batch.numRows - 1];
      rows += batch.numRows;
    }
  }
  const start = Date.parse(`${keys[0]}T00:00:00Z`);
  const end = Date.parse(`${keys.at(-1)}T00:00:00Z`) + DAY;
  const data = new MarketData({ symbols: [...DEFAULT_SYMBOLS, ...extra] });
  const truth = klineTruth(data, { ...series, start, end }).returned;
  let truthSum = 0;
  for (const k of truth) truthSum += parseFloat(k.close);
  const got = [rows, closeSum, first, last];
  const want = [truth.length, truthSum, truth[0]?.openTime, truth.at(-1)?.openTime];
  if (got.some((v, i) => !Object.is(v, want[i]))) {
    throw new Error(
      `Sync check: ${symbol} 1m holds rows, close sum, first and last open time ` +
        `${got.join(", ")}; the emulator serves ${want.join(", ")}`,
    );
  }
  return `${symbol} 1m: ${keys.length} partitions, ${rows} rows equal to the emulator's`;
}

const count = (
  s: { series: { partitions: number; fetched: number }[] },
  key: "partitions" | "fetched",
) => s.series.reduce((n, x) => n + x[key], 0);

const cpu = Deno.readTextFileSync("/proc/cpuinfo").match(/model name\s*:\s*(.+)/)?.[1];
console.log(
  `machine: ${cpu}, ${navigator.hardwareConcurrency} cores; ${COUNT} um symbols × (1m klines + funding), ${DAYS} days from ${start}`,
);
try {
  // 1. clean run
  const t0 = performance.now();
  const clean = await inProcess(join(root, "clean"));
  const seconds = (performance.now() - t0) / 1000;
  const total = count(clean.summary, "partitions");
  console.log(
    `clean run: exit ${clean.code}, ${clean.summary.series.length} series, ${total} partitions in ${
      seconds.toFixed(1)
    } s = ${(total / seconds).toFixed(0)} partitions/s`,
  );
  console.log(`clean run checked: ${await checkAgainstTruth(join(root, "clean"), names[0])}`);
  const expected = await partitions(join(root, "clean"));

  // 2. killed twice, then to the end
  const crashed = join(root, "crashed");
  const killedAt: number[] = [];
  for (let kill = 0; kill < 2; kill++) {
    const p = child(crashed);
    let exited = false;
    p.status.then(() => exited = true);
    // Kill once this run has cached a third of what is left (or it ended), after a random delay.
    const before = killedAt.at(-1) ?? 0;
    const target = before + Math.max(1, Math.floor((expected.size - before) / 3));
    while (!exited && await countFiles(crashed) < target) {
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, Math.random() * 2000));
    try {
      p.kill("SIGKILL");
    } catch { /* ended */ }
    await p.status;
    await p.stdout.cancel();
    killedAt.push(await countFiles(crashed));
  }
  const resumed = await inProcess(crashed);
  const got = await partitions(crashed);
  const same = got.size === expected.size && [...expected].every(([k, v]) => got.get(k) === v);
  console.log(
    `killed at ${killedAt.join(" and ")} partitions, resumed: exit ${resumed.code}, fetched ${
      count(resumed.summary, "fetched")
    }; identical to the clean run: ${same} (${got.size} files)`,
  );

  // 3. the next day
  clock += DAY;
  const next = await inProcess(join(root, "clean"), clock);
  console.log(`next day: exit ${next.code}, fetched ${count(next.summary, "fetched")} partitions`);
  clock -= DAY;

  // 4. two shards at once
  const sharded = join(root, "sharded");
  const t1 = performance.now();
  const shards = [child(sharded, "--shard", "1/2"), child(sharded, "--shard", "2/2")];
  const outs = await Promise.all(shards.map(async (p) => {
    const out = await p.output();
    return { code: out.code, summary: JSON.parse(new TextDecoder().decode(out.stdout)) };
  }));
  const both = outs.flatMap((o) => o.summary.series.map((s: { series: string }) => s.series));
  const shardGot = await partitions(sharded);
  const shardSame = shardGot.size === expected.size &&
    [...expected].every(([k, v]) => shardGot.get(k) === v);
  console.log(
    `shards 1/2 + 2/2 at once: exits ${outs.map((o) => o.code).join(",")}, ${both.length} series (${
      new Set(both).size
    } distinct), fetched ${
      outs.reduce((n, o) => n + count(o.summary, "fetched"), 0)
    } partitions in ${
      ((performance.now() - t1) / 1000).toFixed(1)
    } s; identical to the clean run: ${shardSame}`,
  );
} finally {
  await Deno.remove(root, { recursive: true });
}
