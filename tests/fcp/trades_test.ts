import assert from "node:assert/strict";
import type { Table } from "apache-arrow";
import { DataSourceManager } from "../../src/fcp/data_source_manager.ts";
import { startEmulator } from "../../src/emulator/emulator.ts";
import type { EmulatorOptions } from "../../src/emulator/emulator_options.ts";
import { tradeTruth, type TradeTruthQuery } from "../../src/emulator/trade_truth.ts";
import type { Market } from "../../src/core/market.ts";
import type { TradeDataset } from "../../src/core/trade_schema.ts";
import type { TradeRequest } from "../../src/fcp/trade_request.ts";

const NOW = Date.UTC(2025, 2, 10, 6);
const DAY = 86_400_000;
const SCALE = 0.002;

async function withManager(
  options: EmulatorOptions & { cacheDir?: string; market?: Market },
  fn: (dsm: DataSourceManager, options: EmulatorOptions) => Promise<void>,
) {
  const emulatorOptions = { now: NOW, tradeScale: SCALE, ...options };
  await using emulator = await startEmulator(emulatorOptions);
  await using dsm = new DataSourceManager({
    market: options.market ?? "spot",
    cache: options.cacheDir ? { dir: options.cacheDir } : false,
    now: () => NOW,
    retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 2 },
    endpoints: { vision: emulator.url, listing: emulator.url, rest: emulator.url },
  });
  await fn(dsm, emulatorOptions);
}

const num = (v: unknown) => (v === null ? null : Number(v));

/** Every column against the emulator's ground truth, bit for bit. */
function assertRows(
  table: Table,
  options: EmulatorOptions,
  query: TradeTruthQuery,
  sources: string[],
) {
  const truth = tradeTruth(options, query);
  assert.ok(truth.numRows > 0, "the range holds trades");
  assert.equal(table.numRows, truth.numRows);
  const agg = query.dataset === "aggTrades";
  const col = (name: string) => table.getChild(name)!.toArray();
  const ids = col(agg ? "agg_trade_id" : "id");
  const prices = col("price");
  const qty = col(agg ? "quantity" : "qty");
  const times = col(agg ? "transact_time" : "time");
  const maker = table.getChild("is_buyer_maker")!;
  const best = table.getChild("is_best_match")!;
  const source = table.getChild("_data_source")!;
  for (let i = 0; i < truth.numRows; i++) {
    assert.equal(Number(ids[i]), truth.ids[i], `id ${i}`);
    assert.ok(Object.is(prices[i], truth.prices[i]), `price ${i}`);
    assert.ok(Object.is(qty[i], truth.quantities[i]), `quantity ${i}`);
    assert.equal(Number(times[i]), truth.times[i], `time ${i}`);
    assert.equal(maker.get(i), truth.isBuyerMaker[i] === 1, `maker ${i}`);
    assert.equal(best.get(i), truth.isBestMatch ? truth.isBestMatch[i] === 1 : null, `best ${i}`);
    assert.ok(sources.includes(source.get(i)), `source ${i}: ${source.get(i)}`);
  }
  if (agg) {
    const first = col("first_trade_id");
    const last = col("last_trade_id");
    assert.equal(Number(first[0]), truth.firstTradeIds![0]);
    assert.equal(Number(last.at(-1)), truth.lastTradeIds!.at(-1));
  } else {
    const quote = table.getChild("quote_qty")!;
    const base = table.getChild("base_qty")!;
    for (const i of [0, truth.numRows - 1]) {
      assert.equal(num(quote.get(i)), truth.quoteQuantities ? truth.quoteQuantities[i] : null);
      assert.equal(num(base.get(i)), truth.baseQuantities ? truth.baseQuantities[i] : null);
    }
  }
}

function request(
  dataset: TradeDataset,
  market: Market,
  symbol: string,
  start: number,
  end: number,
  over: Partial<TradeRequest> = {},
): TradeRequest {
  return { dataset, market, symbol, start, end, ...over };
}

const LAYOUTS: [TradeDataset, Market, string, number][] = [
  ["aggTrades", "spot", "BTCUSDT", Date.UTC(2024, 5, 3)], // no header, True/False, ms
  ["aggTrades", "spot", "BTCUSDT", Date.UTC(2025, 1, 3)], // µs
  ["aggTrades", "um", "BTCUSDT", Date.UTC(2024, 5, 3)], // header, true/false
  ["aggTrades", "cm", "BTCUSD_PERP", Date.UTC(2024, 5, 3)],
  ["trades", "spot", "ETHUSDT", Date.UTC(2025, 1, 3)],
  ["trades", "um", "ETHUSDT", Date.UTC(2022, 7, 10)], // before the header
  ["trades", "um", "ETHUSDT", Date.UTC(2022, 7, 12)], // with the header
  ["trades", "cm", "BTCUSD_PERP", Date.UTC(2024, 5, 3)], // base_qty
];

for (const [dataset, market, symbol, day] of LAYOUTS) {
  const label = `${dataset} ${market} ${symbol} ${new Date(day).toISOString().slice(0, 10)}`;
  Deno.test(`Trades: ${label} exact from Vision, then from the cache`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      // Part of a day and the next: clipped on time, [start, end) exact.
      const start = day + 7 * 3_600_000 + 123;
      const end = day + DAY + 5 * 3_600_000;
      const query = { market, dataset, symbol, start, end };
      await withManager({ cacheDir: dir, market }, async (dsm, options) => {
        const first = await dsm.getDataWithReport(request(dataset, market, symbol, start, end));
        assertRows(first.table, options, query, ["VISION"]);
        assert.deepEqual(first.report.partitions.map((p) => [p.sources, p.cached]), [
          [["vision-daily"], true],
          [["vision-daily"], true],
        ]);
        assert.equal(first.report.idGapCount, 0);
        assert.equal(first.report.partial, false);
        assert.match(first.report.partitions[0].sha256 ?? "", /^[0-9a-f]{64}$/);
        const second = await dsm.getDataWithReport(
          request(dataset, market, symbol, start, end, { source: "cache" }),
        );
        assertRows(second.table, options, query, ["CACHE"]);
        assert.equal(second.report.requests.visionFiles, 0);
        assert.equal(second.report.partitions[0].sha256, first.report.partitions[0].sha256);
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

for (
  const [market, symbol, day] of [
    ["spot", "BTCUSDT", Date.UTC(2025, 1, 3)],
    ["um", "BTCUSDT", Date.UTC(2024, 5, 3)],
    ["cm", "BTCUSD_PERP", Date.UTC(2024, 5, 3)],
  ] as const
) {
  Deno.test(`Trades: aggTrades ${market} exact from REST (fromId paging, µs on spot)`, async () => {
    const start = day + 3_600_000 + 500;
    const end = day + 9 * 3_600_000;
    await withManager({ market }, async (dsm, options) => {
      const got = await dsm.getDataWithReport(
        request("aggTrades", market, symbol, start, end, { source: "rest" }),
      );
      assertRows(got.table, options, { market, dataset: "aggTrades", symbol, start, end }, [
        "REST",
      ]);
      assert.deepEqual(got.report.partitions[0].sources, ["rest"]);
      assert.ok(got.report.requests.restCalls >= 2);
      assert.equal(got.report.requests.restWeight % (market === "spot" ? 4 : 20), 0);
      assert.equal(got.report.requests.visionFiles, 0);
    });
  });
}

Deno.test("Trades: a day missing on Vision comes from REST for aggTrades, and is unfetched for plain trades", async () => {
  const day = Date.UTC(2024, 5, 3);
  const missing = ["BTCUSDT-aggTrades-2024-06-04.zip", "BTCUSDT-trades-2024-06-04.zip"];
  await withManager({ missingFiles: missing }, async (dsm, options) => {
    const agg = await dsm.getDataWithReport(
      request("aggTrades", "spot", "BTCUSDT", day, day + 2 * DAY),
    );
    assertRows(agg.table, options, {
      market: "spot",
      dataset: "aggTrades",
      symbol: "BTCUSDT",
      start: day,
      end: day + 2 * DAY,
    }, ["VISION", "REST"]);
    assert.deepEqual(agg.report.partitions.map((p) => p.sources[0]), ["vision-daily", "rest"]);
    assert.equal(agg.report.partial, false);
    const trades = await dsm.getDataWithReport(
      request("trades", "spot", "BTCUSDT", day, day + 2 * DAY),
    );
    assert.equal(trades.report.partial, true);
    assert.deepEqual(trades.report.gaps, [{
      start: day + DAY,
      end: day + 2 * DAY,
      class: "unfetched",
    }]);
    assert.equal(trades.report.failures[0].code, "NOT_PUBLISHED");
    assert.equal(trades.table.numRows, trades.report.partitions[0].rows);
  });
});

Deno.test("Trades: an archive failing its checksum is never used; its day comes from REST", async () => {
  const day = Date.UTC(2024, 5, 3);
  await withManager(
    { checksumMismatch: ["BTCUSDT-aggTrades-2024-06-03.zip"] },
    async (dsm, options) => {
      const got = await dsm.getDataWithReport(
        request("aggTrades", "spot", "BTCUSDT", day, day + DAY),
      );
      assertRows(got.table, options, {
        market: "spot",
        dataset: "aggTrades",
        symbol: "BTCUSDT",
        start: day,
        end: day + DAY,
      }, ["REST"]);
      assert.equal(got.report.failures[0].code, "CHECKSUM_MISMATCH");
    },
  );
});

Deno.test("Trades: resets and truncated bodies are retried to an exact result", async () => {
  const day = Date.UTC(2024, 5, 3);
  await using emulator = await startEmulator({
    now: NOW,
    tradeScale: SCALE,
    resetRate: 0.3,
    truncateRate: 0.3,
    seed: 5,
  });
  await using dsm = new DataSourceManager({
    market: "um",
    cache: false,
    now: () => NOW,
    retry: { attempts: 8, baseDelayMs: 1, maxDelayMs: 2 },
    endpoints: { vision: emulator.url, listing: emulator.url, rest: emulator.url },
  });
  const got = await dsm.getDataWithReport(
    request("aggTrades", "um", "BTCUSDT", day, day + 2 * DAY),
  );
  assertRows(got.table, { now: NOW, tradeScale: SCALE, seed: 5 }, {
    market: "um",
    dataset: "aggTrades",
    symbol: "BTCUSDT",
    start: day,
    end: day + 2 * DAY,
  }, ["VISION", "REST"]);
});

Deno.test("Trades: stream() yields the same rows in bounded batches; the report follows", async () => {
  const day = Date.UTC(2024, 5, 3);
  await withManager({}, async (dsm, options) => {
    const { batches, report } = dsm.streamWithReport(
      request("aggTrades", "spot", "BTCUSDT", day, day + 3 * DAY),
    );
    const got = await Array.fromAsync(batches);
    const truth = tradeTruth(options, {
      market: "spot",
      dataset: "aggTrades",
      symbol: "BTCUSDT",
      start: day,
      end: day + 3 * DAY,
    });
    assert.equal(got.reduce((n, b) => n + b.numRows, 0), truth.numRows);
    assert.equal((await report).rows, truth.numRows);
  });
});

Deno.test("Trades: bad requests are refused before any I/O", async () => {
  await using dsm = new DataSourceManager({
    cache: false,
    fetch: () => Promise.reject(new Error("no I/O")),
  });
  const base = { symbol: "BTCUSDT", start: "2024-01-01", end: "2024-01-02" };
  assert.throws(() => dsm.stream({ dataset: "trades", ...base, source: "rest" }), {
    code: "INVALID_OPTION",
  });
  assert.throws(() => dsm.stream({ dataset: "trades", ...base, compareKlines: true }), {
    code: "INVALID_OPTION",
  });
  assert.throws(() => dsm.stream({ dataset: "aggTrades", ...base, interval: "1m" } as never), {
    code: "INVALID_OPTION",
  });
  assert.throws(
    () => dsm.stream({ dataset: "aggTrades", ...base, start: "2024-01-03" }),
    RangeError,
  );
  await assert.rejects(dsm.getData({ dataset: "aggTrades", ...base, symbol: "BTC/USDT" }), {
    code: "INVALID_SYMBOL",
  });
});

Deno.test("Trades: compareKlines reports the minutes where rebuilt and official 1m klines differ", async () => {
  const day = Date.UTC(2024, 5, 3);
  await withManager({}, async (dsm) => {
    const got = await dsm.getDataWithReport(
      request("aggTrades", "spot", "ETHUSDT", day, day + 2 * 3_600_000, { compareKlines: true }),
    );
    const check = got.report.klineCheck!;
    assert.ok(check.minutes > 0 && check.minutes <= 120);
    assert.equal(check.matching + check.mismatchCount, check.minutes);
    assert.equal(got.report.requests.restCalls, 0);
  });
});

Deno.test("Trades: a whole closed month comes from its monthly archive, spooled in the cache folder and removed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const start = Date.UTC(2024, 5, 1);
    const end = Date.UTC(2024, 6, 1);
    await withManager({ cacheDir: dir, market: "um" }, async (dsm, options) => {
      const got = await dsm.getDataWithReport(request("aggTrades", "um", "ETHUSDT", start, end));
      assertRows(got.table, options, {
        market: "um",
        dataset: "aggTrades",
        symbol: "ETHUSDT",
        start,
        end,
      }, [
        "VISION",
      ]);
      assert.equal(got.report.partitions.length, 30);
      assert.ok(got.report.partitions.every((p) => p.sources[0] === "vision-monthly" && p.cached));
      assert.equal(got.report.requests.visionFiles, 1);
      const spooled = [];
      for await (const e of Deno.readDir(dir)) if (e.name.includes("spool")) spooled.push(e.name);
      assert.deepEqual(spooled, []);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Trades: without a cache a month comes from its daily archives (nothing is spooled)", async () => {
  const start = Date.UTC(2024, 5, 1);
  const end = Date.UTC(2024, 6, 1);
  await withManager({ market: "cm" }, async (dsm) => {
    const got = await dsm.getDataWithReport(request("aggTrades", "cm", "BTCUSD_PERP", start, end));
    assert.ok(got.report.partitions.every((p) => p.sources[0] === "vision-daily"));
    assert.equal(got.report.requests.visionFiles, 30);
  });
});

Deno.test("Trades: compareKlines finds every minute matching against klines made from the trades", async () => {
  const day = Date.UTC(2024, 5, 3);
  await withManager({ now: NOW, tradeScale: SCALE, klinesFromTrades: true }, async (dsm) => {
    const got = await dsm.getDataWithReport(
      request("aggTrades", "spot", "ETHUSDT", day, day + 2 * 3_600_000, { compareKlines: true }),
    );
    const check = got.report.klineCheck!;
    assert.equal(check.mismatchCount, 0);
    assert.ok(check.minutes > 0);
    assert.equal(check.matching, check.minutes);
  });
});
