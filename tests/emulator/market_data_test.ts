import assert from "node:assert/strict";
import { MarketData } from "../../src/emulator/market_data.ts";
import type { Interval } from "../../src/core/interval.ts";

const data = new MarketData({ seed: 1 });
const DAY = 86_400_000;

Deno.test("MarketData candles are consistent: high/low bounds, taker <= volume, open = previous close", () => {
  for (
    const [market, symbol] of [["spot", "BTCUSDT"], ["um", "ETHUSDT"], ["cm", "BTCUSD_PERP"], [
      "spot",
      "NEWUSDT",
    ]] as const
  ) {
    const spec = data.find(market, symbol)!;
    for (const interval of ["1m", "1h", "1d"] as Interval[]) {
      const rows = data.klines(spec, interval, Date.UTC(2024, 5, 1), Date.UTC(2024, 5, 3));
      let bad = 0;
      for (let i = 0; i < rows.length; i++) {
        const k = rows[i];
        const [o, h, l, c, v, tb] = [k.open, k.high, k.low, k.close, k.volume, k.takerBuyVolume]
          .map(Number);
        if (!(h >= Math.max(o, c) && l <= Math.min(o, c) && l > 0 && tb <= v && v > 0)) bad++;
        if (!Number.isInteger(k.count) || k.count < 1) bad++;
        if (Number(k.takerBuyQuoteVolume) > Number(k.quoteVolume)) bad++;
        if (i > 0 && rows[i - 1].close !== k.open) bad++;
      }
      assert.equal(bad, 0, `${market} ${symbol} ${interval}`);
    }
  }
});

Deno.test("MarketData prints each market's number formats", () => {
  const t = Date.UTC(2023, 0, 1);
  const spot = data.kline(data.find("spot", "BTCUSDT")!, "1m", t);
  for (const v of [spot.open, spot.high, spot.low, spot.close, spot.volume, spot.quoteVolume]) {
    assert.match(v, /^\d+\.\d{8}$/);
  }
  const um = data.kline(data.find("um", "BTCUSDT")!, "1m", t);
  assert.match(um.open, /^\d+\.\d0$/, "tick 0.1 printed with 2 decimals");
  assert.match(um.volume, /^\d+\.\d{3}$/);
  assert.match(um.quoteVolume, /^\d+\.\d{5}$/);
  const cm = data.kline(data.find("cm", "BTCUSD_PERP")!, "1m", t);
  assert.match(cm.open, /^\d+\.\d$/);
  assert.match(cm.volume, /^\d+$/);
  assert.match(cm.takerBuyVolume, /^\d+$/);
  assert.match(cm.quoteVolume, /^\d+\.\d{8}$/);
});

Deno.test("MarketData prices stay at BTC-like levels of their time", () => {
  const spec = data.find("spot", "BTCUSDT")!;
  const at = (y: number, m: number) => Number(data.kline(spec, "1d", Date.UTC(y, m, 1)).open);
  assert.ok(at(2017, 8) > 2000 && at(2017, 8) < 8000);
  assert.ok(at(2021, 10) > 40_000 && at(2021, 10) < 90_000);
  assert.ok(at(2022, 11) > 10_000 && at(2022, 11) < 25_000);
});

Deno.test("MarketData close times follow the grid for 1s, 1w and 1M", () => {
  const spec = data.find("spot", "BTCUSDT")!;
  assert.equal(data.kline(spec, "1s", 1_700_000_000_000).closeTime, 1_700_000_000_999);
  assert.equal(data.kline(spec, "1w", Date.UTC(2024, 0, 1)).closeTime, Date.UTC(2024, 0, 8) - 1);
  assert.equal(data.kline(spec, "1M", Date.UTC(2024, 1, 1)).closeTime, Date.UTC(2024, 2, 1) - 1);
});

Deno.test("MarketData existence: listing, delisting, gaps per market", () => {
  const fresh = data.find("spot", "NEWUSDT")!;
  assert.equal(data.exists(fresh, "1d", Date.UTC(2024, 2, 15)), true);
  assert.equal(data.exists(fresh, "1h", Date.UTC(2024, 2, 15, 11)), false);
  const old = data.find("spot", "OLDUSDT")!;
  assert.equal(data.exists(old, "1h", Date.UTC(2022, 5, 30, 11)), true);
  assert.equal(data.exists(old, "1h", Date.UTC(2022, 5, 30, 12)), false);
  const custom = new MarketData({
    gaps: [{ start: DAY * 19_000, end: DAY * 19_000 + 60_000, symbol: "ETHUSDT" }],
  });
  assert.equal(custom.exists(custom.find("spot", "ETHUSDT")!, "1m", DAY * 19_000), false);
  assert.equal(custom.exists(custom.find("spot", "BTCUSDT")!, "1m", DAY * 19_000), true);
  assert.equal(data.find("cm", "BTCUSDT"), undefined);
  assert.deepEqual(data.list("cm").map((s) => s.symbol), ["BTCUSD_PERP", "ETHUSD_PERP"]);
});

Deno.test("MarketData candles do not depend on the slice that asks for them", () => {
  const spec = data.find("um", "BTCUSDT")!;
  const t = Date.UTC(2024, 0, 1);
  const day = data.klines(spec, "5m", t, t + DAY);
  const fresh = new MarketData({ seed: 1 });
  assert.deepEqual(
    fresh.klines(spec, "5m", t + 100 * 300_000, t + 110 * 300_000),
    day.slice(100, 110),
  );
  assert.deepEqual(fresh.kline(spec, "5m", t + 287 * 300_000), day[287]);
});
