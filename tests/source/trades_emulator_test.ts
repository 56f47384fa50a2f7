import assert from "node:assert/strict";
import type { RecordBatch } from "apache-arrow";
import type { Market } from "../../src/core/market.ts";
import type { TradeDataset } from "../../src/core/trade_schema.ts";
import { startEmulator } from "../../src/emulator/emulator.ts";
import type { EmulatorOptions } from "../../src/emulator/emulator_options.ts";
import { type TradeTruth, tradeTruth } from "../../src/emulator/trade_truth.ts";
import { newRestStats, RestClient } from "../../src/source/rest_client.ts";
import { VisionClient } from "../../src/source/vision_client.ts";
import { WeightScheduler } from "../../src/source/weight_scheduler.ts";

const OPTIONS: EmulatorOptions = { now: Date.UTC(2025, 5, 1), tradeScale: 0.002 };
const HOUR = 3_600_000;

/** Batches' rows against the truth: ids, prices, quantities, µs times, booleans, exactly. */
function assertRows(batches: RecordBatch[], truth: TradeTruth, dataset: TradeDataset) {
  const agg = dataset === "aggTrades";
  const col = (name: string) => batches.flatMap((b) => [...b.getChild(name)!]);
  const times = batches.flatMap((b) =>
    b.getChild(agg ? "transact_time" : "time")!.data.flatMap((d) =>
      Array.from(d.values.subarray(d.offset, d.offset + d.length) as BigInt64Array, Number)
    )
  );
  assert.equal(times.length, truth.numRows);
  assert.deepEqual(col(agg ? "agg_trade_id" : "id").map(Number), [...truth.ids]);
  assert.deepEqual(col("price"), [...truth.prices]);
  assert.deepEqual(col(agg ? "quantity" : "qty"), [...truth.quantities]);
  assert.deepEqual(times, [...truth.times]);
  assert.deepEqual(col("is_buyer_maker"), [...truth.isBuyerMaker].map(Boolean));
  const best = col("is_best_match");
  if (truth.isBestMatch) assert.deepEqual(best, [...truth.isBestMatch].map(Boolean));
  else assert.ok(best.every((v) => v === null));
  if (agg) assert.deepEqual(col("first_trade_id").map(Number), [...truth.firstTradeIds!]);
}

Deno.test("Emulator: fetchTradeArchive returns exactly the truth's rows, daily in memory and monthly spooled", async () => {
  await using emu = await startEmulator(OPTIONS);
  const client = new VisionClient({ baseUrl: emu.url, batchRows: 4096 });
  const cases: [Market, TradeDataset, string, "daily" | "monthly", string, number, number][] = [
    [
      "spot",
      "aggTrades",
      "BTCUSDT",
      "daily",
      "2025-01-02",
      Date.UTC(2025, 0, 2),
      Date.UTC(2025, 0, 3),
    ],
    ["um", "trades", "BTCUSDT", "daily", "2024-03-01", Date.UTC(2024, 2, 1), Date.UTC(2024, 2, 2)],
    [
      "cm",
      "aggTrades",
      "BTCUSD_PERP",
      "monthly",
      "2024-02",
      Date.UTC(2024, 1, 1),
      Date.UTC(2024, 2, 1),
    ],
  ];
  const dir = await Deno.makeTempDir();
  try {
    for (const [market, dataset, symbol, period, date, start, end] of cases) {
      const spoolDir = period === "monthly" ? dir : undefined;
      await using got = await client.fetchTradeArchive({
        market,
        dataset,
        symbol,
        period,
        date,
        spoolDir,
      });
      assert.equal(got.status, "ok", `${market} ${dataset} ${date}`);
      if (got.status !== "ok") continue;
      assert.equal(got.spoolPath !== undefined, spoolDir !== undefined);
      const batches = await Array.fromAsync(got.rows);
      assert.ok(batches.every((b) => b.numRows <= 4096));
      assertRows(batches, tradeTruth(OPTIONS, { market, dataset, symbol, start, end }), dataset);
      assert.deepEqual([...Deno.readDirSync(dir)], []);
    }
    // Not yet published: missing, not an error.
    await using later = await client.fetchTradeArchive({
      market: "spot",
      dataset: "aggTrades",
      symbol: "BTCUSDT",
      period: "daily",
      date: "2025-06-02",
    });
    assert.equal(later.status, "missing");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Emulator: RestClient.aggTrades returns exactly the truth's rows of [start, end)", async () => {
  await using emu = await startEmulator(OPTIONS);
  const cases: [Market, string, number, number][] = [
    ["spot", "BTCUSDT", Date.UTC(2025, 0, 2, 1, 30, 0, 7), Date.UTC(2025, 0, 2, 6, 0, 0, 1)],
    // Futures serve aggTrades of the last year only.
    ["um", "BTCUSDT", Date.UTC(2025, 2, 1, 22), Date.UTC(2025, 2, 2, 3, 17)],
    ["cm", "BTCUSD_PERP", Date.UTC(2025, 1, 10), Date.UTC(2025, 1, 10, 2)],
  ];
  for (const [market, symbol, start, end] of cases) {
    const client = new RestClient({
      market,
      hosts: [emu.url],
      scheduler: new WeightScheduler({ budget: 6000 }),
    });
    const stats = newRestStats();
    const batches = await Array.fromAsync(client.aggTrades({ symbol, start, end, stats }));
    const truth = tradeTruth(OPTIONS, { market, dataset: "aggTrades", symbol, start, end });
    assert.ok(truth.numRows > 10, `${market}: ${truth.numRows} rows`);
    assertRows(batches, truth, "aggTrades");
    assert.equal(stats.rows, truth.numRows);
    assert.equal(stats.weight, stats.requests * (market === "spot" ? 4 : 20));
    assert.ok(
      stats.requests >= 2 &&
        stats.requests <= 2 + Math.ceil(truth.numRows / 1000) + (end - start) / HOUR,
    );
  }
});
