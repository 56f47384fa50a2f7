import assert from "node:assert/strict";
import type { Table } from "apache-arrow";
import { RestClient } from "../../src/source/rest_client.ts";
import { WeightScheduler } from "../../src/source/weight_scheduler.ts";
import type { Interval } from "../../src/core/interval.ts";
import { klinesWeight, type Market, marketInfo } from "../../src/core/market.ts";
import { klineColumnsOf } from "../../src/core/schema.ts";
import { startEmulator } from "../../src/emulator/emulator.ts";
import { type KlineText, MarketData } from "../../src/emulator/market_data.ts";

const FAST_RETRY = { attempts: 6, baseDelayMs: 1, maxDelayMs: 4 };

const EMU_NOW = Date.UTC(2024, 5, 1, 10, 20, 30);
const truth = new MarketData();
const FIELDS: [keyof KlineText, keyof ReturnType<typeof klineColumnsOf>][] = [
  ["openTime", "openTime"],
  ["open", "open"],
  ["high", "high"],
  ["low", "low"],
  ["close", "close"],
  ["volume", "volume"],
  ["closeTime", "closeTime"],
  ["quoteVolume", "quoteAssetVolume"],
  ["count", "count"],
  ["takerBuyVolume", "takerBuyVolume"],
  ["takerBuyQuoteVolume", "takerBuyQuoteVolume"],
];

/** Asserts the table equals the emulator's ground truth for `[start, end)`. */
function assertTruth(
  table: Table,
  market: Market,
  symbol: string,
  interval: Interval,
  range: [number, number],
  asOf = EMU_NOW,
  data = truth,
) {
  const expected = data.klines(data.find(market, symbol)!, interval, range[0], range[1], asOf);
  assert.equal(table.numRows, expected.length, `${market} ${symbol} ${interval} rows`);
  let i = 0;
  for (const batch of table.batches) {
    const cols = klineColumnsOf(batch);
    for (let r = 0; r < batch.numRows; r++, i++) {
      for (const [text, key] of FIELDS) {
        const v = expected[i][text];
        const want = typeof v === "string" ? parseFloat(v) : v;
        if (!Object.is(cols[key][r], want)) {
          assert.fail(`${market} row ${i} ${key}: got ${cols[key][r]}, expected ${v}`);
        }
      }
    }
  }
}

const MONTHS: [Market, string][] = [["spot", "BTCUSDT"], ["um", "BTCUSDT"], ["cm", "BTCUSD_PERP"]];
const JAN: [number, number] = [Date.UTC(2024, 0, 1), Date.UTC(2024, 1, 1)];

function emuClient(
  url: string,
  market: Market,
  options: Partial<ConstructorParameters<typeof RestClient>[0]> = {},
) {
  return new RestClient({
    market,
    hosts: [url],
    marketDataHosts: [`${url}/market-data`],
    retry: FAST_RETRY,
    now: () => EMU_NOW,
    scheduler: new WeightScheduler({ budget: marketInfo(market).weightBudget }),
    ...options,
  });
}

Deno.test("RestClient returns a month of 1m on each market from the emulator, exact", async () => {
  await using emu = await startEmulator({ now: EMU_NOW });
  for (const [market, symbol] of MONTHS) {
    const { table, stats } = await emuClient(emu.url, market).fetchKlinesTable({
      symbol,
      interval: "1m",
      start: JAN[0],
      end: JAN[1],
    });
    assertTruth(table, market, symbol, "1m", JAN);
    assert.equal(table.numRows, 44_640);
    const limit = marketInfo(market).maxLimit;
    assert.equal(stats.requests, Math.ceil(44_640 / limit));
    assert.equal(stats.weight, stats.requests * klinesWeight(market, limit));
  }
  assert.deepEqual(Object.keys(emu.stats.statuses), ["200"]);
});

Deno.test("RestClient returns exact months from the emulator under 5xx, resets and truncation", async () => {
  await using emu = await startEmulator({
    now: EMU_NOW,
    seed: 3,
    errorRate: 0.15,
    resetRate: 0.1,
    truncateRate: 0.1,
  });
  const seeded = new MarketData({ seed: 3 });
  for (const [market, symbol] of MONTHS) {
    const { table, stats } = await emuClient(emu.url, market, {
      retry: { attempts: 10, baseDelayMs: 1, maxDelayMs: 4 },
    }).fetchKlinesTable({ symbol, interval: "1m", start: JAN[0], end: JAN[1] });
    assertTruth(table, market, symbol, "1m", JAN, EMU_NOW, seeded);
    assert.equal(table.numRows, 44_640);
    assert.ok(stats.retries > 0);
  }
  const f = emu.stats.faults;
  assert.ok(f.errors > 0 && f.resets > 0 && f.truncations > 0, JSON.stringify(f));
});

Deno.test("RestClient callers sharing a scheduler never earn a 429 from the emulator", async () => {
  await using emu = await startEmulator({
    weightBudget: { um: 150 },
    weightWindowMs: 400,
    banAfter: 0,
  });
  const scheduler = new WeightScheduler({ budget: 150, margin: 0.1, windowMs: 400, graceMs: 10 });
  const range: [number, number] = [Date.UTC(2024, 0, 1), Date.UTC(2024, 0, 8)];
  const results = await Promise.all(
    ["BTCUSDT", "ETHUSDT", "BTCUSDT"].map((symbol) =>
      emuClient(emu.url, "um", { scheduler, now: Date.now })
        .fetchKlinesTable({ symbol, interval: "1m", start: range[0], end: range[1] })
        .then((r) => ({ ...r, symbol }))
    ),
  );
  for (const { table, symbol, stats } of results) {
    assertTruth(table, "um", symbol, "1m", range, Infinity);
    assert.equal(stats.rateLimited, 0);
  }
  assert.deepEqual(Object.keys(emu.stats.statuses), ["200"]);
});

Deno.test("RestClient against the emulator: 429 then 418 ends the run with a RateLimitError", async () => {
  await using emu = await startEmulator({
    now: EMU_NOW,
    weightBudget: { spot: 4 },
    weightWindowMs: 1000, // Retry-After: 1 s (the emulator's clock stands still)
    banAfter: 1,
  });
  const c = emuClient(emu.url, "spot", { retry: { attempts: 5, baseDelayMs: 1 } });
  await assert.rejects(
    c.fetchKlinesTable({ symbol: "BTCUSDT", interval: "1m", start: JAN[0], end: JAN[1] }),
    { name: "RateLimitError", status: 418 },
  );
  const asked = emu.stats.requests.rest;
  assert.equal(emu.stats.statuses[429], 1);
  assert.equal(emu.stats.statuses[418], 1);
  await assert.rejects(
    c.fetchKlinesTable({ symbol: "ETHUSDT", interval: "1m", start: JAN[0], end: JAN[1] }),
    { name: "RateLimitError", status: 418 },
  );
  assert.equal(emu.stats.requests.rest, asked);
});

Deno.test("RestClient against the emulator: 451 moves spot to the market-data host", async () => {
  await using emu = await startEmulator({ now: EMU_NOW, restrict451: true });
  const { table, stats } = await emuClient(emu.url, "spot").fetchKlinesTable({
    symbol: "BTCUSDT",
    interval: "1h",
    start: JAN[0],
    end: JAN[1],
  });
  assertTruth(table, "spot", "BTCUSDT", "1h", JAN);
  assert.deepEqual(stats.hosts, [`${emu.url}/market-data`]);
  assert.equal(emu.stats.statuses[451], 1);
});

Deno.test("RestClient against the emulator: listing, delisting, halts, open candle, errors", async () => {
  await using emu = await startEmulator({ now: EMU_NOW });
  const spot = emuClient(emu.url, "spot");
  const cases: [string, Interval, number, number][] = [
    ["NEWUSDT", "1m", Date.UTC(2024, 2, 14), Date.UTC(2024, 2, 17)],
    ["OLDUSDT", "1m", Date.UTC(2022, 5, 29, 3), Date.UTC(2022, 6, 3)],
    ["BTCUSDT", "1m", Date.UTC(2023, 2, 24), Date.UTC(2023, 2, 25)],
    ["BTCUSDT", "1d", Date.UTC(2017, 0, 1), Date.UTC(2024, 0, 1)],
    ["BTCUSDT", "1s", Date.UTC(2024, 0, 1, 0, 0, 0, 1), Date.UTC(2024, 0, 1, 1, 0, 0, 1)],
    ["BTCUSDT", "1h", Date.UTC(2024, 4, 31), Date.UTC(2024, 6, 1)],
  ];
  for (const [symbol, interval, start, end] of cases) {
    const { table } = await spot.fetchKlinesTable({ symbol, interval, start, end });
    assertTruth(table, "spot", symbol, interval, [start, Math.min(end, Date.UTC(2024, 5, 1, 10))]);
  }
  const open = await spot.fetchKlinesTable({
    symbol: "BTCUSDT",
    interval: "1h",
    start: Date.UTC(2024, 5, 1),
    end: Date.UTC(2024, 5, 2),
    includeOpenCandle: true,
  });
  assertTruth(open.table, "spot", "BTCUSDT", "1h", [
    Date.UTC(2024, 5, 1),
    Date.UTC(2024, 5, 1, 11),
  ]);
  assert.equal(open.table.numRows, 11);
  const cm = await emuClient(emu.url, "cm").fetchKlinesTable({
    symbol: "ETHUSD_PERP",
    interval: "1d",
    start: Date.UTC(2019, 0, 1),
    end: Date.UTC(2024, 0, 1),
  });
  assertTruth(cm.table, "cm", "ETHUSD_PERP", "1d", [Date.UTC(2019, 0, 1), Date.UTC(2024, 0, 1)]);
  await assert.rejects(
    spot.fetchKlinesTable({ symbol: "NOSUCHUSDT", interval: "1m", start: JAN[0], end: JAN[1] }),
    { name: "HttpError", status: 400, binanceCode: -1121 },
  );
});

Deno.test("RestClient is exact on cm, whose server answers the most recent rows of a window, across the listing", async () => {
  // dapi documents that with startTime and endTime it returns "the most recent
  // limit data from endTime"; the emulator does so on cm. A walk that relied on
  // the first rows from startTime would lose every page but the window's last.
  await using emu = await startEmulator({ now: EMU_NOW });
  const listing = Date.UTC(2020, 7, 11); // BTCUSD_PERP in the emulator's catalogue
  for (
    const [interval, start, end] of [
      ["1m", listing - 9 * 86_400_000, listing + 3 * 86_400_000],
      ["1h", listing - 40 * 86_400_000, listing + 100 * 86_400_000],
    ] as const
  ) {
    const range: [number, number] = [start, end];
    const { table } = await emuClient(emu.url, "cm").fetchKlinesTable({
      symbol: "BTCUSD_PERP",
      interval,
      start,
      end,
    });
    assertTruth(table, "cm", "BTCUSD_PERP", interval, range);
    assert.ok(table.numRows > 0);
  }
});
