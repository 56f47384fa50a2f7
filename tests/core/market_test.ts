import assert from "node:assert/strict";
import { klinesWeight, marketInfo, MARKETS, parseMarket } from "../../src/core/market.ts";
import { InvalidMarketError } from "../../src/core/errors.ts";

Deno.test("parseMarket accepts ids and aliases", () => {
  for (const m of MARKETS) assert.equal(parseMarket(m), m);
  assert.equal(parseMarket("futures_usdt"), "um");
  assert.equal(parseMarket("futures_coin"), "cm");
});

Deno.test("parseMarket rejects anything else before any I/O", () => {
  for (const bad of ["SPOT", "futures", "margin", "", "toString", "__proto__", 1, null]) {
    assert.throws(() => parseMarket(bad), (e: unknown) => {
      assert.ok(e instanceof InvalidMarketError && e instanceof TypeError);
      assert.equal(e.code, "INVALID_MARKET");
      return true;
    });
  }
});

Deno.test("marketInfo holds the Vision paths, hosts, limits and budgets of BINANCE.md", () => {
  assert.equal(marketInfo("spot").visionPath, "spot");
  assert.equal(marketInfo("um").visionPath, "futures/um");
  assert.equal(marketInfo("cm").visionPath, "futures/cm");
  assert.equal(marketInfo("spot").restHosts[0], "https://api.binance.com");
  assert.ok(marketInfo("spot").restHosts.includes("https://api4.binance.com"));
  assert.ok(marketInfo("spot").restHosts.includes("https://api-gcp.binance.com"));
  assert.deepEqual(marketInfo("spot").marketDataHosts, ["https://data-api.binance.vision"]);
  assert.equal(marketInfo("um").restHosts[0], "https://fapi.binance.com");
  assert.equal(marketInfo("cm").restHosts[0], "https://dapi.binance.com");
  assert.deepEqual(MARKETS.map((m) => marketInfo(m).klinesPath), [
    "/api/v3/klines",
    "/fapi/v1/klines",
    "/dapi/v1/klines",
  ]);
  assert.deepEqual(MARKETS.map((m) => marketInfo(m).maxLimit), [1000, 1500, 1500]);
  assert.deepEqual(MARKETS.map((m) => marketInfo(m).weightBudget), [6000, 2400, 2400]);
  assert.equal(marketInfo("cm").maxSpanMs, 200 * 86_400_000);
  assert.equal(marketInfo("um").maxSpanMs, undefined);
});

Deno.test("klinesWeight follows the futures tiers at their edges", () => {
  assert.deepEqual([1, 99, 100, 499, 500, 1000, 1001, 1500].map((l) => klinesWeight("um", l)), [
    1,
    1,
    2,
    2,
    5,
    5,
    10,
    10,
  ]);
  assert.equal(klinesWeight("cm", 1500), 10);
  assert.equal(klinesWeight("spot", 1), 2);
  assert.equal(klinesWeight("spot", 1000), 2);
});
