import assert from "node:assert/strict";
import { join } from "node:path";
import { main } from "../../src/cli/main.ts";
import { startEmulator } from "../../src/emulator/emulator.ts";

const DAY = 86_400_000;
const NOW = Date.UTC(2024, 6, 2, 6);

async function run(args: string[], now = NOW) {
  let stdout = "";
  let stderr = "";
  const code = await main(args, {
    stdout: new WritableStream({ write: (c) => void (stdout += new TextDecoder().decode(c)) }),
    stderr: (t) => stderr += t,
    stderrIsTerminal: false,
    env: () => undefined,
    now: () => now,
  });
  return { code, stdout, stderr };
}

/** The emulator's clock: tests move it to the next day. */
let clock = NOW;

async function withSetup(fn: (dir: string, url: string) => Promise<void>) {
  clock = NOW;
  await using emulator = await startEmulator({ now: () => clock });
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir, emulator.url);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const MANIFEST = {
  entries: [
    {
      markets: ["um"],
      datasets: ["klines"],
      intervals: ["1h"],
      symbols: ["BTCUSDT", "ETHUSDT"],
      start: "2024-05-01",
    },
    {
      markets: ["um"],
      datasets: ["fundingRate"],
      symbols: ["BTCUSDT", "ETHUSDT"],
      start: "2024-04-01",
    },
  ],
};

async function sync(dir: string, url: string, extra: string[] = [], now = NOW) {
  const manifest = join(dir, "manifest.json");
  await Deno.writeTextFile(manifest, JSON.stringify(MANIFEST));
  const summary = join(dir, `summary-${extra.join("").replace(/\W/g, "")}.json`);
  const got = await run([
    "sync",
    ...["--manifest", manifest, "--cache-dir", join(dir, "cache"), "--summary", summary],
    ...["--vision-url", url, "--rest-url", url, "--quiet"],
    ...extra,
  ], now);
  return { ...got, summary: JSON.parse(await Deno.readTextFile(summary)) };
}

Deno.test("dsm sync: fills the cache, then fetches nothing, then only the new day", async () => {
  await withSetup(async (dir, url) => {
    const first = await sync(dir, url);
    assert.equal(first.code, 0, first.stderr);
    const byKey = Object.fromEntries(
      first.summary.series.map((s: { series: string }) => [s.series, s]),
    );
    assert.equal(byKey["um/klines/BTCUSDT/1h"].partitions, 62);
    assert.equal(byKey["um/klines/BTCUSDT/1h"].fetched, 62);
    assert.equal(byKey["um/fundingRate/BTCUSDT"].partitions, 3);
    assert.equal(byKey["um/fundingRate/BTCUSDT"].fetched, 3);
    assert.match(first.stdout, /4 of 4 series complete/);
    const again = await sync(dir, url);
    assert.equal(again.code, 0);
    assert.ok(again.summary.series.every((s: { fetched: number }) => s.fetched === 0));
    clock = NOW + DAY;
    const next = await sync(dir, url, [], NOW + DAY);
    assert.equal(next.code, 0, next.stderr);
    assert.deepEqual(
      next.summary.series.map((s: { fetched: number }) => s.fetched),
      [1, 1, 0, 0],
    );
  });
});

Deno.test("dsm sync --shard: two shards together equal one run, no series twice", async () => {
  await withSetup(async (dir, url) => {
    const one = await sync(dir, url, ["--shard", "1/2"]);
    const two = await sync(dir, url, ["--shard", "2/2"]);
    assert.equal(one.code, 0, one.stderr);
    assert.equal(two.code, 0, two.stderr);
    const keys = [...one.summary.series, ...two.summary.series].map((s: { series: string }) =>
      s.series
    );
    assert.equal(new Set(keys).size, 4);
    assert.equal(keys.length, 4);
    const whole = await sync(dir, url);
    assert.ok(whole.summary.series.every((s: { fetched: number }) => s.fetched === 0));
  });
});

Deno.test("dsm sync: usage errors exit 2 before any I/O", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const manifest = join(dir, "m.json");
    await Deno.writeTextFile(
      manifest,
      JSON.stringify({
        markets: ["um"],
        datasets: ["klines"],
        symbols: ["BTCUSDT"],
        start: "listing",
      }),
    );
    for (
      const [args, message] of [
        [[], /--manifest FILE is required/],
        [["--manifest", join(dir, "none.json")], /Cannot read the manifest/],
        [["--manifest", manifest, "--shard", "3/2"], /--shard "3\/2"/],
        [["--manifest", manifest], /intervals/],
      ] as [string[], RegExp][]
    ) {
      const got = await run(["sync", ...args]);
      assert.equal(got.code, 2, args.join(" "));
      assert.match(got.stderr, message);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test('dsm sync: patterns and "listing" resolve through the Vision listing', async () => {
  await withSetup(async (dir, url) => {
    const manifest = join(dir, "listing.json");
    await Deno.writeTextFile(
      manifest,
      JSON.stringify({
        markets: ["um"],
        datasets: ["fundingRate"],
        symbols: ["*USDT"],
        start: "listing",
      }),
    );
    const got = await run([
      "sync",
      ...["--manifest", manifest, "--cache-dir", join(dir, "cache"), "--json"],
      ...["--vision-url", url, "--rest-url", url, "--quiet"],
    ]);
    assert.equal(got.code, 0, got.stderr);
    const summary = JSON.parse(got.stdout);
    const symbols = summary.series.map((s: { symbol: string }) => s.symbol);
    assert.ok(symbols.includes("BTCUSDT") && symbols.includes("ETHUSDT"), symbols.join());
    assert.ok(symbols.every((s: string) => s.endsWith("USDT")));
    const btc = summary.series.find((s: { symbol: string }) => s.symbol === "BTCUSDT");
    // um BTCUSDT funding archives start with its Vision history (2019-12-31: the 2019-12 month)
    assert.equal(btc.start, Date.UTC(2019, 11, 1));
    assert.equal(btc.complete, true);
    assert.equal(btc.fetched + btc.confirmedAbsent, btc.partitions);
  });
});
