import assert from "node:assert/strict";
import { main as backtestPull } from "../../examples/backtest_pull.ts";
import { main as backfill } from "../../examples/multi_symbol_backfill.ts";
import { openKlineStore } from "../../src/cache/open_kline_store.ts";

Deno.test("backtest_pull --emulator pulls a year of 1h into Polars and summarizes it", async () => {
  const lines: string[] = [];
  const s = await backtestPull(["--emulator"], (line) => lines.push(line));
  assert.equal(s.series, "spot BTCUSDT 1h");
  assert.equal(s.rows, 365 * 24);
  assert.deepEqual(s.sources, { VISION: 365 * 24 });
  assert.equal(s.columns.length, 12);
  assert.equal(s.gapSlots, 0);
  assert.equal(s.partial, false);
  const today = Math.floor(Date.now() / 86_400_000) * 86_400_000;
  assert.equal(s.first, new Date(today - 365 * 86_400_000).toISOString().replace(".000Z", "Z"));
  assert.equal(s.last, new Date(today - 3_600_000).toISOString().replace(".000Z", "Z"));
  assert.ok(Number.isFinite(s.totalReturn) && s.volatility > 0 && s.maxDrawdown <= 0);
  assert.match(lines.join("\n"), /spot BTCUSDT 1h: 8760 rows/);
  assert.match(lines.join("\n"), /max drawdown -?\d+\.\d\d%/);
});

Deno.test("backtest_pull --emulator with an explicit range, market and no cache", async () => {
  const s = await backtestPull(
    [
      "--emulator",
      "--no-cache",
      "--market",
      "cm",
      "--symbol",
      "BTCUSD_PERP",
      "--interval",
      "4h",
      "--start",
      "2024-01-01",
      "--end",
      "2024-01-08",
    ],
    () => {},
  );
  assert.equal(s.series, "cm BTCUSD_PERP 4h");
  assert.equal(s.rows, 7 * 6);
  assert.equal(s.first, "2024-01-01T00:00:00Z");
});

Deno.test("multi_symbol_backfill --emulator fills the cache for every series, then reads it back", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dsm-backfill-test-" });
  try {
    const args = ["--emulator", "--cache-dir", dir, "--days", "2", "--interval", "1h"];
    const lines: string[] = [];
    const progress: string[] = [];
    const first = await backfill(args, {
      print: (line) => lines.push(line),
      progress: (text) => progress.push(text),
      terminal: true,
    });
    assert.equal(first.cacheDir, dir);
    assert.deepEqual(
      first.results.map((r) => `${r.market}:${r.symbol} ${r.rows} ${r.cached}`),
      [
        "spot:BTCUSDT 48 2",
        "spot:ETHUSDT 48 2",
        "um:BTCUSDT 48 2",
        "um:ETHUSDT 48 2",
        "cm:BTCUSD_PERP 48 2",
      ],
    );
    assert.ok(first.results.every((r) => !r.partial && r.error === undefined));
    assert.match(lines.at(-1)!, /^Done in .*: 10\/10 partitions, 10 files, .*, 240 rows$/);
    assert.ok(progress.length > 0);

    const store = await openKlineStore({ dir });
    const stats = await store.stats();
    assert.equal(stats.series.length, 5);
    assert.equal(stats.partitions, 10);
    assert.equal(stats.rows, 240);

    const again = await backfill([...args, "--series", "spot:BTCUSDT,cm:BTCUSD_PERP"], {
      print: () => {},
      terminal: false,
    });
    assert.deepEqual(again.results.map((r) => r.sources), [{ cache: 2 }, { cache: 2 }]);
    assert.deepEqual(again.results.map((r) => r.cached), [0, 0]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("multi_symbol_backfill reports a failing series and refuses bad options", async () => {
  const { results } = await backfill(
    ["--emulator", "--series", "spot:NOPEUSDT", "--days", "1", "--interval", "1d"],
    { print: () => {}, terminal: false },
  );
  assert.equal(results.length, 1);
  // An unknown symbol: Vision has no file, REST answers -1121; the series is partial.
  assert.equal(results[0].rows, 0);
  assert.equal(results[0].partial, true);
  await assert.rejects(() => backfill(["--days", "0"], { print: () => {} }), RangeError);
  await assert.rejects(
    () => backfill(["--series", "margin:BTCUSDT"], { print: () => {} }),
    { code: "INVALID_MARKET" },
  );
});
