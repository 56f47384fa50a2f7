import assert from "node:assert/strict";
import { join } from "node:path";
import { main } from "../../src/cli/main.ts";
import { startEmulator } from "../../src/emulator/emulator.ts";
import { DataSourceManager } from "../../src/fcp/data_source_manager.ts";
import { FsTradeStore } from "../../src/cache/fs_trade_store.ts";
import { decodeTradeCsv } from "../../src/codec/trade_csv.ts";
import type { Market } from "../../src/core/market.ts";
import type { TradeDataset } from "../../src/core/trade_schema.ts";

const NOW = Date.UTC(2024, 5, 1);

/** A temporary cache filled by real fetches: spot BTCUSDT 1h (3 days), um ETHUSDT 1h (2 days), cm BTCUSD_PERP 1w (1 month). */
async function filledCache(url: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "dsm-cache-cli-" });
  await using dsm = new DataSourceManager({
    cache: { dir },
    now: () => NOW,
    endpoints: { vision: url, listing: url, rest: url },
  });
  const day = { interval: "1h", start: "2024-01-01" } as const;
  await dsm.getData({ ...day, market: "spot", symbol: "BTCUSDT", end: "2024-01-04" });
  await dsm.getData({ ...day, market: "um", symbol: "ETHUSDT", end: "2024-01-03" });
  await dsm.getData({
    market: "cm",
    symbol: "BTCUSD_PERP",
    interval: "1w",
    start: "2024-02-01",
    end: "2024-02-26",
  });
  return dir;
}

async function run(args: string[]) {
  const chunks: string[] = [];
  const stdout = new WritableStream<Uint8Array>({
    write: (chunk) => void chunks.push(new TextDecoder().decode(chunk)),
  });
  let stderr = "";
  const code = await main(args, {
    stdout,
    stderr: (t) => stderr += t,
    stderrIsTerminal: false,
    env: () => undefined,
    now: () => NOW,
  });
  return { code, stdout: chunks.join(""), stderr };
}

async function withCache(fn: (dir: string, url: string) => Promise<void>): Promise<void> {
  await using emulator = await startEmulator({ now: NOW });
  const dir = await filledCache(emulator.url);
  try {
    await fn(dir, emulator.url);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("dsm cache ls prints a table and JSON of the partitions, filtered", async () => {
  await withCache(async (dir) => {
    const all = await run(["cache", "ls", "--cache-dir", dir]);
    assert.equal(all.code, 0, all.stderr);
    const lines = all.stdout.trimEnd().split("\n");
    assert.match(lines[0], /^MARKET\s+SYMBOL\s+INTERVAL\s+PARTITION\s+SOURCE\s+ROWS\s+SIZE/);
    assert.equal(lines.length, 1 + 6 + 1);
    assert.match(lines[1], /^spot\s+BTCUSDT\s+1h\s+2024-01-01\s+VISION\s+24\s/);
    assert.match(lines[6], /^cm\s+BTCUSD_PERP\s+1w\s+2024-02\s+VISION\s+4\s/);
    assert.match(lines.at(-1)!, new RegExp(`^6 files, .* in ${dir}$`));

    const json = await run(["cache", "ls", "--cache-dir", dir, "--json", "--market", "um"]);
    assert.equal(json.code, 0, json.stderr);
    const entries = JSON.parse(json.stdout);
    assert.deepEqual(
      entries.map((e: { partition: string; symbol: string }) => `${e.symbol} ${e.partition}`),
      ["ETHUSDT 2024-01-01", "ETHUSDT 2024-01-02"],
    );
    assert.equal(entries[0].rows, 24);
    assert.equal(entries[0].source, "VISION");
    assert.equal(entries[0].market, "um");
    assert.ok(entries[0].path.startsWith(dir) && entries[0].bytes > 0);

    const ranged = await run([
      "cache",
      "ls",
      "--cache-dir",
      dir,
      "--json",
      "--symbol",
      "btcusdt",
      "--start",
      "2024-01-02",
      "--end",
      "2024-01-03",
    ]);
    assert.deepEqual(
      JSON.parse(ranged.stdout).map((e: { market: string; partition: string }) =>
        `${e.market} ${e.partition}`
      ),
      ["spot 2024-01-02"],
    );
  });
});

Deno.test("dsm cache stats totals each series and the whole cache", async () => {
  await withCache(async (dir) => {
    const text = await run(["cache", "stats", "--cache-dir", dir]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^spot\s+BTCUSDT\s+1h\s+2024-01-01\s+2024-01-03\s+3\s+72\s/m);
    assert.match(text.stdout, /^total\s+6\s+124\s/m);
    assert.match(text.stdout, /^3 series, 6 files, 124 rows, /m);

    const json = await run(["cache", "stats", "--cache-dir", dir, "--json", "--market", "spot"]);
    const stats = JSON.parse(json.stdout);
    assert.equal(stats.root, dir);
    assert.equal(stats.partitions, 3);
    assert.equal(stats.rows, 72);
    assert.equal(stats.restPartitions, 0);
    assert.equal(stats.series.length, 1);
  });
});

/** Runs a `dsm fetch ... > /dev/null` line that verify printed, against the emulator at `url`. */
async function runNext(line: string, url: string) {
  const words = line.replace(/ > \/dev\/null$/, "").split(" ");
  assert.equal(words[0], "dsm");
  return await run([...words.slice(1), "--vision-url", url, "--rest-url", url]);
}

Deno.test("dsm cache verify exits 0 on a sound cache and 1 on a truncated file", async () => {
  await withCache(async (dir, url) => {
    const ok = await run(["cache", "verify", "--cache-dir", dir]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^Checked 6 files: 6 ok, 0 corrupt, 0 stale/);

    const file = join(dir, "v1/binance/spot/klines/BTCUSDT/1h/2024-01-02.arrow");
    const bytes = await Deno.readFile(file);
    await Deno.writeFile(file, bytes.subarray(0, bytes.length - 100));
    const bad = await run(["cache", "verify", "--cache-dir", dir]);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /^Checked 6 files: 5 ok, 1 corrupt/);
    assert.match(bad.stdout, /^CORRUPT {2}spot BTCUSDT 1h 2024-01-02: /m);
    assert.match(bad.stderr, /failed verification: 1 corrupt/);
    // what to run next, and running it repairs the cache
    const next = `dsm fetch --market spot --symbol BTCUSDT --interval 1h ` +
      `--start 2024-01-02 --end 2024-01-03 --cache-dir ${dir} --quiet > /dev/null`;
    assert.match(
      bad.stdout,
      new RegExp(`^Next, fetch the corrupt partitions again: ${next}$`, "m"),
    );
    const repair = await runNext(next, url);
    assert.equal(repair.code, 0, repair.stderr);
    const repaired = await run(["cache", "verify", "--cache-dir", dir]);
    assert.equal(repaired.code, 0, repaired.stdout);
    assert.match(repaired.stdout, /^Checked 6 files: 6 ok/);
    await Deno.writeFile(file, bytes.subarray(0, bytes.length - 100));

    const json = await run(["cache", "verify", "--cache-dir", dir, "--json", "--quarantine"]);
    assert.equal(json.code, 1);
    const report = JSON.parse(json.stdout);
    assert.equal(report.corrupt.length, 1);
    assert.match(report.corrupt[0].movedTo, /2024-01-02\.arrow\.corrupt-\d+$/);
    const after = await run(["cache", "verify", "--cache-dir", dir]);
    assert.equal(after.code, 0, after.stdout);
    assert.match(after.stdout, /^Checked 5 files: 5 ok/);
  });
});

Deno.test("dsm cache verify --vision-url finds re-uploaded archives", async () => {
  await withCache(async (dir, url) => {
    const same = await run(["cache", "verify", "--cache-dir", dir, "--vision-url", url]);
    assert.equal(same.code, 0, same.stdout + same.stderr);
    assert.match(same.stdout, /0 stale/);
    assert.match(same.stdout, /Vision checksums: \d+ fetched, 0 no longer published, 0 failed/);

    // A Vision that re-published spot BTCUSDT 2024-01-02 with other bytes.
    await using vision = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      async (req) => {
        const path = new URL(req.url).pathname;
        const res = await fetch(url + path);
        if (!path.endsWith("BTCUSDT-1h-2024-01-02.zip.CHECKSUM")) return res;
        await res.body?.cancel();
        return new Response(`${"ab".repeat(32)}  BTCUSDT-1h-2024-01-02.zip\n`);
      },
    );
    const other = `http://127.0.0.1:${vision.addr.port}`;
    const stale = await run(["cache", "verify", "--cache-dir", dir, "--vision-url", other]);
    assert.equal(stale.code, 1);
    assert.match(stale.stdout, /1 stale/);
    assert.match(
      stale.stdout,
      /^STALE {4}spot BTCUSDT 1h 2024-01-02: cached [0-9a-f]{64}, Vision now (ab){32}$/m,
    );

    // An unreachable Vision: the checksums are unchecked, which fails the verification.
    const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (closed.addr as Deno.NetAddr).port;
    closed.close();
    const down = await run([
      "cache",
      "verify",
      "--cache-dir",
      dir,
      "--market",
      "cm",
      "--vision-url",
      `http://127.0.0.1:${port}`,
    ]);
    assert.equal(down.code, 1);
    assert.match(down.stdout, /^UNCHECKED cm BTCUSD_PERP 1w 2024-02: /m);
  });
});

Deno.test("dsm cache clear needs a filter or --all and prints the count", async () => {
  await withCache(async (dir) => {
    const refused = await run(["cache", "clear", "--cache-dir", dir]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /give a filter, or --all/);

    const one = await run(["cache", "clear", "--cache-dir", dir, "--market", "um"]);
    assert.equal(one.code, 0, one.stderr);
    assert.equal(one.stdout, `Deleted 2 partition files from ${dir}\n`);
    const left = JSON.parse((await run(["cache", "ls", "--cache-dir", dir, "--json"])).stdout);
    assert.equal(left.length, 4);
    assert.ok(left.every((e: { market: string }) => e.market !== "um"));

    const all = await run(["cache", "clear", "--cache-dir", dir, "--all", "--json"]);
    assert.deepEqual(JSON.parse(all.stdout), { root: dir, deleted: 4 });
    const empty = await run(["cache", "ls", "--cache-dir", dir]);
    assert.equal(empty.stdout, `0 files, 0 B in ${dir}\n`);
  });
});

Deno.test("dsm cache usage and input errors", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dsm-cache-cli-" });
  try {
    const cases: [string[], number, RegExp][] = [
      [["cache"], 2, /a subcommand is required/],
      [["cache", "rm"], 2, /expected one of ls, stats, verify, clear/],
      [["cache", "ls", "--all"], 2, /Cannot use --all with dsm cache ls/],
      [["cache", "ls", "--vision-url", "http://x"], 2, /--vision-url with dsm cache ls/],
      [["cache", "verify", "--vision-url", "ftp://x"], 2, /expected an http or https URL/],
      [["cache", "clear", "--all", "--market", "spot"], 2, /--all with a filter/],
      [["cache", "ls", "--market", "margin"], 2, /INVALID_MARKET/],
      [["cache", "ls", "--market", "cm", "--symbol", "BTCUSDT"], 2, /did you mean BTCUSD_PERP/],
      [["cache", "ls", "--symbol", "BTC-USDT"], 2, /no separator; did you mean BTCUSDT/],
      [["cache", "ls", "--interval", "2m"], 2, /INVALID_INTERVAL/],
      [["cache", "ls", "--start", "yesterday"], 2, /INVALID_TIME/],
    ];
    for (const [args, code, message] of cases) {
      const got = await run([...args, "--cache-dir", dir]);
      assert.equal(got.code, code, args.join(" "));
      assert.match(got.stderr, message);
    }
    // the market aliases, in any case
    for (const market of ["FUTURES_USDT", "futures_coin", "Spot"]) {
      const got = await run(["cache", "ls", "--cache-dir", dir, "--market", market]);
      assert.equal(got.code, 0, got.stderr);
    }
    const help = await run(["cache", "--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--quarantine/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dsm cache verify says how to upgrade REST partitions, and that command upgrades them", async () => {
  await using emulator = await startEmulator({ now: NOW });
  const url = emulator.url;
  const dir = await Deno.makeTempDir({ prefix: "dsm-cache-cli-" });
  try {
    const range = ["--symbol", "ETHUSDT", "--interval", "1h", "--start", "2024-01-01"];
    const rest = await run(["fetch", "--market", "futures_usdt", ...range, "--end", "2024-01-03"]
      .concat(["--source", "rest", "--rest-url", url, "--cache-dir", dir, "--quiet"]));
    assert.equal(rest.code, 0, rest.stderr);
    const verify = await run(["cache", "verify", "--cache-dir", dir]);
    assert.equal(verify.code, 0, verify.stdout);
    assert.match(verify.stdout, /2 from REST \(upgradable to Vision\)/);
    const line = verify.stdout.split("\n").find((l) => l.startsWith("Next, upgrade"));
    assert.equal(
      line,
      "Next, upgrade the REST partitions to Vision archives once listed: dsm fetch --market um " +
        `--symbol ETHUSDT --interval 1h --start 2024-01-01 --end 2024-01-03 --cache-dir ${dir} ` +
        "--quiet > /dev/null",
    );
    const json = JSON.parse((await run(["cache", "verify", "--cache-dir", dir, "--json"])).stdout);
    assert.deepEqual(json.next, [line!.slice("Next, ".length)]);
    const upgrade = await runNext(line!.replace(/^.*?: /, ""), url);
    assert.equal(upgrade.code, 0, upgrade.stderr);
    const after = await run(["cache", "verify", "--cache-dir", dir]);
    assert.match(after.stdout, /^Checked 2 files: 2 ok, 0 corrupt, 0 stale, 0 from REST/);
    assert.doesNotMatch(after.stdout, /Next,/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dsm cache verify --vision-url checks 1s partitions against their daily CHECKSUM only, and counts successes", async () => {
  await using emulator = await startEmulator({ now: NOW });
  const dir = await Deno.makeTempDir({ prefix: "dsm-cache-cli-" });
  try {
    const fetched = await run([
      "fetch",
      ...[
        "--symbol",
        "BTCUSDT",
        "--interval",
        "1s",
        "--start",
        "2024-01-01",
        "--end",
        "2024-01-02",
      ],
      ...["--vision-url", emulator.url, "--rest-url", emulator.url, "--cache-dir", dir, "--quiet"],
      ...["--format", "ndjson", "--no-source-info"],
    ]);
    assert.equal(fetched.code, 0, fetched.stderr);
    // a Vision that logs the checksum requests and answers 404 for the monthly ones
    const asked: string[] = [];
    let down = false;
    await using vision = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      async (req) => {
        const path = new URL(req.url).pathname;
        asked.push(path);
        if (down) return new Response("", { status: 500 });
        if (path.includes("/monthly/")) return new Response("", { status: 404 });
        return await fetch(emulator.url + path);
      },
    );
    const base = `http://127.0.0.1:${vision.addr.port}`;
    const ok = await run(["cache", "verify", "--cache-dir", dir, "--vision-url", base, "--json"]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    const report = JSON.parse(ok.stdout);
    assert.deepEqual([report.checked, report.ok, report.stale.length], [1, 1, 0]);
    assert.deepEqual(asked, [
      "/data/spot/daily/klines/BTCUSDT/1s/BTCUSDT-1s-2024-01-01.zip.CHECKSUM",
    ]);
    assert.deepEqual(report.vision, { fetched: 1, missing: 0, failed: [] });
    // failed lookups are not counted as fetched
    down = true;
    const failed = await run([
      "cache",
      "verify",
      "--cache-dir",
      dir,
      "--vision-url",
      base,
      "--json",
    ]);
    assert.equal(failed.code, 1);
    const counts = JSON.parse(failed.stdout).vision;
    assert.equal(counts.fetched, 0);
    assert.equal(counts.failed.length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dsm cache ls, stats, verify and clear cover funding rates and price klines beside klines", async () => {
  await withCache(async (dir, url) => {
    {
      await using dsm = new DataSourceManager({
        market: "um",
        cache: { dir },
        now: () => NOW,
        endpoints: { vision: url, listing: url, rest: url },
      });
      await dsm.getData({
        dataset: "fundingRate",
        symbol: "BTCUSDT",
        start: "2024-01-01",
        end: "2024-03-01",
      });
      await dsm.getData({
        dataset: "markPriceKlines",
        symbol: "BTCUSDT",
        interval: "1d",
        start: "2024-01-01",
        end: "2024-01-03",
      });
    }
    const ls = await run(["cache", "ls", "--cache-dir", dir]);
    assert.equal(ls.code, 0, ls.stderr);
    const lines = ls.stdout.trimEnd().split("\n");
    assert.match(lines[0], /^DATASET +MARKET +SYMBOL +INTERVAL +PARTITION/);
    const funding = lines.filter((l) => l.startsWith("fundingRate "));
    assert.deepEqual(funding.map((l) => l.split(/ +/).slice(0, 6)), [
      ["fundingRate", "um", "BTCUSDT", "-", "2024-01", "VISION"],
      ["fundingRate", "um", "BTCUSDT", "-", "2024-02", "VISION"],
    ]);
    assert.equal(lines.filter((l) => l.startsWith("markPriceKlines ")).length, 2);
    const json = JSON.parse(
      (await run(["cache", "ls", "--json", "--dataset", "fundingRate", "--cache-dir", dir])).stdout,
    );
    assert.deepEqual(json.map((e: { partition: string; rows: number }) => [e.partition, e.rows]), [
      ["2024-01", 93],
      ["2024-02", 87],
    ]);
    const stats = await run(["cache", "stats", "--dataset", "fundingRate", "--cache-dir", dir]);
    assert.match(stats.stdout, /fundingRate +um +BTCUSDT +- +2024-01 +2024-02 +2 +180 /);
    const verify = await run(["cache", "verify", "--cache-dir", dir]);
    assert.equal(verify.code, 0, verify.stderr);
    assert.match(verify.stdout, /Funding rates: checked 2 files: 2 ok, 0 corrupt/);
    // A damaged funding file fails verification.
    const file = join(dir, "v1", "binance", "um", "fundingRate", "BTCUSDT", "2024-02.arrow");
    const bytes = await Deno.readFile(file);
    bytes[bytes.length >> 1] ^= 0xff;
    await Deno.writeFile(file, bytes);
    const bad = await run(["cache", "verify", "--cache-dir", dir]);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /CORRUPT +fundingRate um BTCUSDT 2024-02/);
    assert.match(
      (await run([
        "cache",
        "ls",
        "--dataset",
        "fundingRate",
        "--interval",
        "1h",
        "--cache-dir",
        dir,
      ])).stderr,
      /--interval with --dataset fundingRate/,
    );
    const cleared = await run(["cache", "clear", "--dataset", "fundingRate", "--cache-dir", dir]);
    assert.equal(cleared.stdout, `Deleted 2 partition files from ${dir}\n`);
    const all = await run(["cache", "clear", "--all", "--cache-dir", dir]);
    assert.equal(all.code, 0);
    const left = await run(["cache", "ls", "--cache-dir", dir]);
    assert.match(left.stdout, /^0 files/);
  });
});

/** `n` aggTrades or trades of a day of a market, one per second from its start. */
function tradeRows(dataset: TradeDataset, market: Market, day: string, n: number) {
  const start = Date.parse(`${day}T00:00:00Z`);
  const lines = Array.from({ length: n }, (_, i) => {
    const best = market === "spot" ? ",True" : "";
    const t = start + i * 1000;
    return dataset === "aggTrades"
      ? `${i + 1},42000.5,0.01,${i + 1},${i + 1},${t},true${best}`
      : `${i + 1},42000.5,0.01,420.005,${t},false${best}`;
  });
  return decodeTradeCsv(new TextEncoder().encode(lines.join("\n") + "\n"), { dataset, market });
}

Deno.test("dsm cache ls, stats, verify and clear cover aggTrades and trades day files", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dsm-cache-cli-" });
  try {
    const store = new FsTradeStore(dir, { now: () => NOW });
    const agg = { market: "um", dataset: "aggTrades", symbol: "BTCUSDT" } as const;
    for (const day of ["2024-01-01", "2024-01-02"]) {
      const rows = tradeRows("aggTrades", "um", day, 3);
      assert.ok(await store.write({ ...agg, day }, rows, { source: "VISION", visionSha256: "ab" }));
    }
    const spot = {
      market: "spot",
      dataset: "trades",
      symbol: "ETHUSDT",
      day: "2024-01-01",
    } as const;
    assert.ok(
      await store.write(spot, tradeRows("trades", "spot", spot.day, 2), { source: "REST" }),
    );
    const ls = await run(["cache", "ls", "--cache-dir", dir]);
    assert.equal(ls.code, 0, ls.stderr);
    const lines = ls.stdout.trimEnd().split("\n");
    assert.match(lines[0], /^DATASET +MARKET +SYMBOL +INTERVAL +PARTITION +SOURCE +ROWS/);
    assert.deepEqual(lines.slice(1, -1).map((l) => l.split(/ +/).slice(0, 7)), [
      ["aggTrades", "um", "BTCUSDT", "-", "2024-01-01", "VISION", "3"],
      ["aggTrades", "um", "BTCUSDT", "-", "2024-01-02", "VISION", "3"],
      ["trades", "spot", "ETHUSDT", "-", "2024-01-01", "REST", "2"],
    ]);
    assert.match(lines.at(-1)!, /^3 files, /);
    const json = JSON.parse(
      (await run(["cache", "ls", "--json", "--dataset", "trades", "--cache-dir", dir])).stdout,
    );
    assert.equal(json.length, 1);
    assert.deepEqual(
      { ...json[0], path: undefined, bytes: undefined, modifiedAt: undefined },
      {
        dataset: "trades",
        market: "spot",
        symbol: "ETHUSDT",
        partition: "2024-01-01",
        source: "REST",
        rows: 2,
        path: undefined,
        bytes: undefined,
        modifiedAt: undefined,
      },
    );
    const none = await run([
      "cache",
      "ls",
      "--dataset",
      "aggTrades",
      "--market",
      "cm",
      "--cache-dir",
      dir,
    ]);
    assert.match(none.stdout, /^0 files/);
    const stats = await run(["cache", "stats", "--cache-dir", dir]);
    assert.match(stats.stdout, /aggTrades +um +BTCUSDT +- +2024-01-01 +2024-01-02 +2 +6 /);
    assert.match(stats.stdout, /trades +spot +ETHUSDT +- +2024-01-01 +2024-01-01 +1 +2 .* 1\n/);
    assert.match(stats.stdout, /2 series, 3 files, 8 rows/);
    const verify = await run(["cache", "verify", "--cache-dir", dir]);
    assert.equal(verify.code, 0, verify.stderr);
    assert.match(verify.stdout, /Trades: checked 3 files: 3 ok, 0 corrupt/);
    // A damaged trade file fails verification; --quarantine sets it aside.
    const file = join(dir, "v1", "binance", "um", "aggTrades", "BTCUSDT", "2024-01-02.arrow");
    const bytes = await Deno.readFile(file);
    bytes[bytes.length >> 1] ^= 0xff;
    await Deno.writeFile(file, bytes);
    const bad = await run(["cache", "verify", "--json", "--cache-dir", dir]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /1 corrupt/);
    const report = JSON.parse(bad.stdout);
    assert.deepEqual([report.trades.checked, report.trades.ok], [3, 2]);
    assert.deepEqual(report.trades.corrupt[0].key, { ...agg, day: "2024-01-02" });
    const moved = await run(["cache", "verify", "--quarantine", "--cache-dir", dir]);
    assert.match(moved.stdout, /CORRUPT +aggTrades um BTCUSDT 2024-01-02: .*\(moved to /);
    assert.equal((await run(["cache", "verify", "--cache-dir", dir])).code, 0);
    assert.match(
      (await run(["cache", "ls", "--dataset", "trades", "--interval", "1h", "--cache-dir", dir]))
        .stderr,
      /--interval with --dataset trades \(trades, no grid\)/,
    );
    const cleared = await run([
      "cache",
      "clear",
      "--dataset",
      "aggTrades",
      "--market",
      "um",
      "--cache-dir",
      dir,
    ]);
    assert.equal(cleared.stdout, `Deleted 1 partition files from ${dir}\n`);
    await assert.rejects(Deno.stat(join(dir, "v1", "binance", "um", "aggTrades", "BTCUSDT")));
    const all = await run(["cache", "clear", "--all", "--json", "--cache-dir", dir]);
    assert.equal(JSON.parse(all.stdout).deleted, 1);
    assert.match((await run(["cache", "ls", "--cache-dir", dir])).stdout, /^0 files/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
