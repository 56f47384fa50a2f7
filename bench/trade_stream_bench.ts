/**
 * Streaming a month of a busy symbol's aggTrades (spot BTCUSDT, about a
 * million a day at `--scale 1`) from the emulator, in bounded memory: the
 * client runs in its own process and reports its peak RSS (Linux `VmHWM`),
 * once without a cache (the daily archives, each verified in memory and
 * then decoded) and once with a cache folder (the monthly archive, spooled
 * to the cache folder, verified, decoded while read, split into cached
 * days). The emulator runs in a third process. The target: under 300 MB.
 * Each run's rows are checked against the emulator's tape: the count and the
 * first and last aggregate trade id of the range (ids are contiguous, the
 * tape counts them in closed form, without generating a trade).
 *
 * Usage: `deno run -A --config bench/deno.json bench/trade_stream_bench.ts [--scale 1] [--days 30]`
 *
 * @module
 */
import { parseArgs } from "node:util";
import { MarketData } from "../src/emulator/market_data.ts";
import { TradeTape } from "../src/emulator/trade_tape.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { scale: { type: "string" }, days: { type: "string" } },
});
const scale = values.scale ?? "1";
const days = Number(values.days ?? "30");
const DAY = 86_400_000;
const start = Date.UTC(2024, 3, 1);
const end = start + days * DAY;
const now = Date.UTC(2024, 5, 1);
const root = new URL("..", import.meta.url).pathname;

const emulator = new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "-A",
    `${root}src/emulator/main.ts`,
    "--port",
    "0",
    "--now",
    String(now),
    "--trade-scale",
    scale,
  ],
  stdout: "piped",
  stderr: "inherit",
}).spawn();
const reader = emulator.stdout.pipeThrough(new TextDecoderStream()).getReader();
const url = (await reader.read()).value?.trim().split("\n")[0] ?? "";
if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(url)) throw new Error(`The emulator printed "${url}"`);

// The emulator's defaults (seed 1, its halts) at the same scale: ids [first, end) of the range.
const tape = new TradeTape(new MarketData(), { tradeScale: Number(scale) });
const btc = tape.data.find("spot", "BTCUSDT")!;
const firstId = tape.firstIds(btc, start).agg;
const endId = tape.firstIds(btc, end).agg;

async function client(cacheDir?: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${root}bench/_trade_stream_client.ts`,
      url,
      "BTCUSDT",
      String(start),
      String(end),
      String(now),
      ...(cacheDir ? [cacheDir] : []),
    ],
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error("The client failed");
  const result = JSON.parse(new TextDecoder().decode(out.stdout));
  if (
    result.rows !== endId - firstId || result.firstId !== firstId || result.lastId !== endId - 1
  ) {
    throw new Error(
      `The client returned ${result.rows} rows, ids ${result.firstId}..${result.lastId}; ` +
        `the tape holds ${endId - firstId}, ids ${firstId}..${endId - 1}`,
    );
  }
  return result;
}

const cpu = Deno.readTextFileSync("/proc/cpuinfo").match(/model name\s*:\s*(.+)/)?.[1];
console.log(`machine: ${cpu}, ${navigator.hardwareConcurrency} cores`);
console.log(`spot BTCUSDT aggTrades, ${days} days from 2024-04-01, trade scale ${scale}`);
try {
  // Warm the emulator's generated archives? No: each run pays the same generation.
  const daily = await client();
  console.log("no cache (daily archives):", JSON.stringify(daily));
  const dir = await Deno.makeTempDir();
  try {
    const monthly = await client(dir);
    console.log("cache folder (monthly archive spooled):", JSON.stringify(monthly));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
} finally {
  emulator.kill();
  await emulator.status;
  await reader.cancel().catch(() => {});
}
