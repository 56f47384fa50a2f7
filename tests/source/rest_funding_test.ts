import assert from "node:assert/strict";
import { startEmulator } from "../../src/emulator/emulator.ts";
import { fundingTruth } from "../../src/emulator/funding_truth.ts";
import { MarketData } from "../../src/emulator/market_data.ts";
import { RestClient } from "../../src/source/rest_client.ts";
import { WeightScheduler } from "../../src/source/weight_scheduler.ts";

const NOW = Date.UTC(2025, 5, 1);
const T = Date.UTC(2024, 0, 1);

function isValid(bitmap: Uint8Array, i: number): boolean {
  return (bitmap[i >>> 3] & (1 << (i & 7))) !== 0;
}

Deno.test("RestClient.fundingRates pages a range exactly as the exchange prints it", async () => {
  await using emulator = await startEmulator({ now: NOW });
  const limiter = new WeightScheduler({ budget: 500, windowMs: 300_000 });
  const client = new RestClient({
    market: "um",
    hosts: [emulator.url],
    now: () => NOW,
    fundingLimiter: limiter,
    scheduler: new WeightScheduler({ budget: 2400 }),
  });
  // NEWUSDT funds hourly from 2025-02-01: to the end of March, 1,458 events on two pages.
  const start = Date.UTC(2025, 0, 25);
  const end = Date.UTC(2025, 2, 31);
  const got = await client.fundingRates({ symbol: "NEWUSDT", start, end });
  const truth = fundingTruth(new MarketData(), { market: "um", symbol: "NEWUSDT", start, end });
  assert.ok(truth.length > 1000, String(truth.length));
  assert.equal(got.length, truth.length);
  assert.equal(got.stats.pages, Math.ceil((truth.length + 1) / 1000));
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i];
    assert.equal(got.columns.fundingTime[i], t.fundingTime);
    assert.ok(Object.is(got.columns.fundingRate[i], parseFloat(t.fundingRateText)), String(i));
    assert.equal(isValid(got.columns.markPriceValid, i), t.markPriceText !== null);
    if (t.markPriceText !== null) {
      assert.equal(got.columns.markPrice[i], parseFloat(t.markPriceText));
    }
    assert.equal(isValid(got.columns.fundingIntervalHoursValid, i), false);
  }
  // Each request was counted by the endpoint's own limiter.
  assert.equal(500 * 0.9 - limiter.available(), got.stats.requests);
});

Deno.test("RestClient.fundingRates refuses spot and bad ranges before any I/O", async () => {
  let requests = 0;
  await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    requests++;
    return Response.json([]);
  });
  const hosts = [`http://127.0.0.1:${server.addr.port}`];
  await assert.rejects(
    new RestClient({ market: "spot", hosts }).fundingRates({
      symbol: "BTCUSDT",
      start: T,
      end: T + 1,
    }),
    { code: "INVALID_DATASET" },
  );
  const um = new RestClient({ market: "um", hosts });
  await assert.rejects(um.fundingRates({ symbol: "BTC/USDT", start: T, end: T + 1 }), {
    code: "INVALID_SYMBOL",
  });
  await assert.rejects(um.fundingRates({ symbol: "BTCUSDT", start: T, end: T }), {
    code: "INVALID_RANGE",
  });
  assert.equal(requests, 0);
  const empty = await um.fundingRates({ symbol: "BTCUSDT", start: T, end: T + 1 });
  assert.equal(empty.length, 0);
  assert.equal(requests, 1);
});
