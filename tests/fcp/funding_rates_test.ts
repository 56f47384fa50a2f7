import assert from "node:assert/strict";
import type { Table } from "apache-arrow";
import { DataSourceManager } from "../../src/fcp/data_source_manager.ts";
import { fetchMarketData } from "../../src/fcp/fetch_market_data.ts";
import { startEmulator } from "../../src/emulator/emulator.ts";
import type { EmulatorOptions } from "../../src/emulator/emulator_options.ts";
import { type FundingEvent, fundingTruth } from "../../src/emulator/funding_truth.ts";
import { MarketData } from "../../src/emulator/market_data.ts";

const NOW = Date.UTC(2024, 6, 15, 12);

async function withManager(
  options: EmulatorOptions & { cacheDir?: string | false },
  fn: (dsm: DataSourceManager) => Promise<void>,
) {
  await using emulator = await startEmulator({ now: NOW, ...options });
  await using dsm = new DataSourceManager({
    market: "um",
    cache: options.cacheDir ? { dir: options.cacheDir } : false,
    now: () => NOW,
    retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 2 },
    endpoints: { vision: emulator.url, listing: emulator.url, rest: emulator.url },
  });
  await fn(dsm);
}

function truth(market: "um" | "cm", symbol: string, start: number, end: number): FundingEvent[] {
  return fundingTruth(new MarketData(), { market, symbol, start, end });
}

/** Every column against the exchange's events, bit for bit; mark prices only where the source prints them. */
function assertEvents(table: Table, events: FundingEvent[], sources: string[], markPrice: boolean) {
  assert.equal(table.numRows, events.length);
  const time = table.getChild("funding_time")!;
  const rate = table.getChild("funding_rate")!;
  const hours = table.getChild("funding_interval_hours")!;
  const mark = table.getChild("mark_price")!;
  const source = table.getChild("_data_source")!;
  events.forEach((e, i) => {
    assert.equal(time.get(i), e.fundingTime, `time ${i}`);
    assert.ok(Object.is(rate.get(i), parseFloat(e.fundingRateText)), `rate ${i}`);
    assert.equal(Number(hours.get(i)), e.fundingIntervalHours, `hours ${i}`);
    assert.equal(
      mark.get(i),
      markPrice && e.markPriceText !== null ? parseFloat(e.markPriceText) : null,
    );
    assert.ok(sources.includes(source.get(i)), `source ${i}: ${source.get(i)}`);
  });
}

Deno.test("Funding rates: exact from Vision, then identical from the cache; an 8h to 4h change is reported", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const start = Date.UTC(2024, 4, 20);
    const end = Date.UTC(2024, 6, 1);
    const request = { dataset: "fundingRate", symbol: "ETHUSDT", start, end } as const;
    const events = truth("um", "ETHUSDT", start, end);
    await withManager({ cacheDir: dir }, async (dsm) => {
      const first = await dsm.getDataWithReport(request);
      assertEvents(first.table, events, ["VISION"], false);
      assert.deepEqual(first.report.intervalChanges, [
        {
          time: events.find((e) => e.fundingIntervalHours === 4)!.fundingTime,
          fromHours: 8,
          toHours: 4,
        },
      ]);
      assert.equal(
        new Date(first.report.intervalChanges[0].time).toISOString().slice(0, 13),
        "2024-06-15T00",
      );
      assert.deepEqual(first.report.gaps, []);
      assert.equal(first.report.partial, false);
      assert.deepEqual(first.report.partitions.map((p) => [p.key, p.sources, p.cached]), [
        ["2024-05", ["vision-monthly"], true],
        ["2024-06", ["vision-monthly"], true],
      ]);
      assert.equal(first.report.requests.visionFiles, 2);
      assert.equal(first.report.requests.restCalls, 0);
      const again = await dsm.getDataWithReport(request);
      assertEvents(again.table, events, ["CACHE"], false);
      assert.deepEqual(again.report.requests, {
        visionFiles: 0,
        listingPages: 0,
        restCalls: 0,
        restWeight: 0,
      });
      assert.deepEqual(again.report.intervalChanges, first.report.intervalChanges);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Funding rates: REST gives the same events with mark prices, intervals derived from the spacing", async () => {
  const start = Date.UTC(2024, 5, 10);
  const end = Date.UTC(2024, 5, 20);
  const events = truth("um", "ETHUSDT", start, end);
  await withManager({}, async (dsm) => {
    const rest = await dsm.getDataWithReport({
      dataset: "fundingRate",
      symbol: "ETHUSDT",
      start,
      end,
      source: "rest",
    });
    assertEvents(rest.table, events, ["REST"], true);
    assert.equal(rest.report.derivedIntervals, events.length);
    assert.equal(rest.report.intervalChanges.length, 1);
    assert.equal(rest.report.requests.visionFiles, 0);
    const cm = truth("cm", "BTCUSD_PERP", start, end);
    for (const source of ["vision", "rest", "auto"] as const) {
      const t = await dsm.getData({
        dataset: "fundingRate",
        market: "cm",
        symbol: "BTCUSD_PERP",
        start,
        end,
        source,
      });
      assertEvents(t, cm, source === "rest" ? ["REST"] : ["VISION"], source === "rest");
    }
  });
});

Deno.test("Funding rates: the current month comes from REST, a missing archive falls back to REST", async () => {
  const start = Date.UTC(2024, 5, 25);
  const end = NOW;
  const events = truth("um", "BTCUSDT", start, end);
  await withManager({ missingFiles: ["BTCUSDT-fundingRate-2024-06.zip"] }, async (dsm) => {
    const got = await dsm.getDataWithReport({
      dataset: "fundingRate",
      symbol: "BTCUSDT",
      start,
      end: "2030-01-01",
    });
    assertEvents(got.table, events, ["REST"], true);
    assert.deepEqual(got.report.partitions.map((p) => [p.key, p.sources]), [
      ["2024-06", ["rest"]],
      ["2024-07", ["rest"]],
    ]);
    assert.equal(got.report.end, NOW);
    assert.equal(got.report.partial, false);
  });
});

Deno.test("Funding rates: failures are errors or reported partial results, never an empty success", async () => {
  await withManager({}, async (dsm) => {
    const request = {
      dataset: "fundingRate",
      symbol: "BTCUSDT",
      start: "2024-05-01",
      end: "2024-06-01",
    } as const;
    const cacheOnly = await dsm.getDataWithReport({ ...request, source: "cache" });
    assert.equal(cacheOnly.table.numRows, 0);
    assert.equal(cacheOnly.report.partial, true);
    assert.deepEqual(cacheOnly.report.gaps.map((g) => g.class), ["unfetched"]);
    assert.equal(cacheOnly.report.failures[0].code, "SOURCE_NOT_ALLOWED");
    await assert.rejects(dsm.getData({ ...request, source: "cache", strict: true }), {
      code: "DATA_NOT_AVAILABLE",
    });
    // Before the listing: nothing exists.
    await assert.rejects(
      dsm.getData({
        dataset: "fundingRate",
        symbol: "BTCUSDT",
        start: "2019-01-01",
        end: "2019-02-01",
      }),
      { code: "DATA_NOT_AVAILABLE" },
    );
    await assert.rejects(dsm.getData({ ...request, market: "spot" }), { code: "INVALID_DATASET" });
  });
  // Every response fails: the error, not an empty table.
  await using dead = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("", { status: 503 }),
  );
  const url = `http://127.0.0.1:${dead.addr.port}`;
  await using dsm = new DataSourceManager({
    market: "um",
    cache: false,
    now: () => NOW,
    retry: { attempts: 1 },
    endpoints: { vision: url, listing: url, rest: url },
  });
  await assert.rejects(
    dsm.getData({
      dataset: "fundingRate",
      symbol: "BTCUSDT",
      start: "2024-05-01",
      end: "2024-06-01",
    }),
    { code: "HTTP_ERROR" },
  );
});

Deno.test("Funding rates stream: the batches, then the report", async () => {
  const start = Date.UTC(2024, 5, 1);
  const end = Date.UTC(2024, 5, 3);
  await withManager({}, async (dsm) => {
    const { batches, report } = dsm.streamWithReport({
      dataset: "fundingRate",
      symbol: "BTCUSDT",
      start,
      end,
    });
    let rows = 0;
    for await (const batch of batches) rows += batch.numRows;
    assert.equal(rows, truth("um", "BTCUSDT", start, end).length);
    assert.equal((await report).rows, rows);
  });
});

Deno.test("Funding rates: a failing REST month is reported with the requests it cost", async () => {
  await using emulator = await startEmulator({ now: NOW });
  const url = emulator.url;
  const failing: typeof fetch = (input, init) =>
    String(input instanceof Request ? input.url : input).includes("/fundingRate?")
      ? Promise.resolve(new Response("", { status: 503 }))
      : fetch(input, init);
  await using dsm = new DataSourceManager({
    market: "um",
    cache: false,
    now: () => NOW,
    fetch: failing,
    retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 2 },
    endpoints: { vision: url, listing: url, rest: url },
  });
  const start = Date.UTC(2024, 5, 28);
  const got = await dsm.getDataWithReport({
    dataset: "fundingRate",
    symbol: "BTCUSDT",
    start,
    end: NOW,
  });
  assertEvents(got.table, truth("um", "BTCUSDT", start, Date.UTC(2024, 6, 1)), ["VISION"], false);
  assert.equal(got.report.partial, true);
  assert.deepEqual(got.report.gaps.map((g) => [g.class, g.start, g.end]), [
    ["unfetched", Date.UTC(2024, 6, 1), NOW],
  ]);
  assert.equal(got.report.failures[0].code, "HTTP_ERROR");
  assert.equal(got.report.requests.restCalls, 2); // both attempts answered 503
  assert.equal(got.report.requests.visionFiles, 1);
});

Deno.test("fetchMarketData fetches funding rates in one call", async () => {
  await using emulator = await startEmulator({ now: NOW });
  const url = emulator.url;
  const start = Date.UTC(2024, 4, 1);
  const end = Date.UTC(2024, 4, 4);
  const table = await fetchMarketData({
    market: "cm",
    dataset: "fundingRate",
    symbol: "BTCUSD_PERP",
    start,
    end,
    cache: false,
    now: () => NOW,
    endpoints: { vision: url, listing: url, rest: url },
  });
  assertEvents(table, truth("cm", "BTCUSD_PERP", start, end), ["VISION"], false);
});

Deno.test("Funding rates: a month cached from REST is upgraded once Vision publishes it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const request = {
      dataset: "fundingRate",
      symbol: "BTCUSDT",
      start: "2024-05-01",
      end: "2024-06-01",
    } as const;
    const events = truth("um", "BTCUSDT", Date.UTC(2024, 4, 1), Date.UTC(2024, 5, 1));
    await withManager(
      { cacheDir: dir, missingFiles: ["BTCUSDT-fundingRate-2024-05.zip"] },
      async (dsm) => {
        const first = await dsm.getDataWithReport(request);
        assertEvents(first.table, events, ["REST"], true);
        assert.deepEqual(first.report.partitions.map((p) => [p.sources, p.cached, p.sha256]), [[
          ["rest"],
          true,
          undefined,
        ]]);
      },
    );
    // Still unpublished: the cached REST rows serve, no failure.
    await withManager(
      { cacheDir: dir, missingFiles: ["BTCUSDT-fundingRate-2024-05.zip"] },
      async (dsm) => {
        const again = await dsm.getDataWithReport(request);
        // Served from the cache, verified against no Vision archive.
        assert.deepEqual(again.report.partitions.map((p) => [p.sources, p.sha256]), [[
          ["cache"],
          undefined,
        ]]);
        assert.deepEqual(again.report.failures, []);
      },
    );
    await withManager({ cacheDir: dir }, async (dsm) => {
      const upgraded = await dsm.getDataWithReport(request);
      assertEvents(upgraded.table, events, ["VISION"], false);
      assert.deepEqual(upgraded.report.partitions.map((p) => [p.sources, p.cached]), [[
        ["vision-monthly"],
        true,
      ]]);
      const digest = upgraded.report.partitions[0].sha256;
      assert.match(digest ?? "", /^[0-9a-f]{64}$/);
      assert.ok(upgraded.report.partitions[0].bytes > 0);
      // Served from the cache, with the digest of the archive it was verified against.
      const cached = await dsm.getDataWithReport(request);
      assert.deepEqual(cached.report.partitions.map((p) => [p.sources, p.sha256, p.bytes]), [[
        ["cache"],
        digest,
        0,
      ]]);
      assert.equal(cached.report.requests.visionFiles, 0);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Funding rates: a month no source served is one unfetched gap, not an exchange gap around it", async () => {
  const missingFiles = ["BTCUSDT-fundingRate-2024-04.zip"];
  await withManager({ missingFiles }, async (dsm) => {
    const start = Date.UTC(2024, 2, 1);
    const end = Date.UTC(2024, 5, 1);
    const { table, report } = await dsm.getDataWithReport({
      dataset: "fundingRate",
      symbol: "BTCUSDT",
      start,
      end,
      source: "vision",
    });
    const april = { start: Date.UTC(2024, 3, 1), end: Date.UTC(2024, 4, 1) };
    const events = truth("um", "BTCUSDT", start, end)
      .filter((e) => e.fundingTime < april.start || e.fundingTime >= april.end);
    assertEvents(table, events, ["VISION"], false);
    assert.equal(report.partial, true);
    assert.deepEqual(report.gaps, [{ ...april, class: "unfetched" }]);
    assert.deepEqual(report.partitions.map((p) => [p.key, p.sources]), [
      ["2024-03", ["vision-monthly"]],
      ["2024-04", []],
      ["2024-05", ["vision-monthly"]],
    ]);
  });
});
