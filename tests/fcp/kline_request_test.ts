import assert from "node:assert/strict";
import { DataSourceManager } from "../../src/fcp/data_source_manager.ts";
import { type KlineRequest, resolveRequest } from "../../src/fcp/kline_request.ts";

const NOW = Date.UTC(2025, 1, 10, 12, 30);
const H = 3_600_000;
const base: KlineRequest = {
  symbol: "BTCUSDT",
  interval: "1h",
  start: "2024-01-01",
  end: "2024-01-02",
};

const BAD: [string, Partial<KlineRequest> & Record<string, unknown>, string][] = [
  ["unknown market", { market: "futures" as never }, "INVALID_MARKET"],
  ["symbol with a slash", { symbol: "../etc" }, "INVALID_SYMBOL"],
  ["empty symbol", { symbol: "" }, "INVALID_SYMBOL"],
  ["symbol not a string", { symbol: 42 as never }, "INVALID_SYMBOL"],
  ["spot symbol on cm", { market: "cm", symbol: "BTCUSDT" }, "INVALID_SYMBOL"],
  ["perpetual on spot", { symbol: "BTCUSD_PERP" }, "INVALID_SYMBOL"],
  ["unknown interval", { interval: "2m" as never }, "INVALID_INTERVAL"],
  ["1s on um", { market: "um", interval: "1s" }, "INVALID_INTERVAL"],
  ["1s on cm", { market: "cm", symbol: "BTCUSD_PERP", interval: "1s" }, "INVALID_INTERVAL"],
  ["unparseable start", { start: "yesterday" }, "INVALID_TIME"],
  ["start in seconds", { start: 1704067200 }, "INVALID_TIME"],
  ["invalid Date", { end: new Date(NaN) }, "INVALID_TIME"],
  ["fractional ms", { start: 1704067200000.5 }, "INVALID_TIME"],
  ["start after 2099", { end: "2100-01-02" }, "INVALID_TIME"],
  ["start not a time", { start: {} as never }, "INVALID_TIME"],
  ["start equal to end", { end: "2024-01-01" }, "INVALID_RANGE"],
  ["start after end", { start: "2024-01-03" }, "INVALID_RANGE"],
  ["unknown source", { source: "s3" as never }, "INVALID_RANGE"],
  ["unknown fill", { fill: "zero" as never }, "INVALID_RANGE"],
  ["non-boolean strict", { strict: "yes" as never }, "INVALID_RANGE"],
  ["non-boolean includeSourceInfo", { includeSourceInfo: 1 as never }, "INVALID_RANGE"],
  ["non-boolean includeOpenCandle", { includeOpenCandle: "true" as never }, "INVALID_RANGE"],
  ["unknown dataset", { dataset: "bookDepth" as never }, "INVALID_DATASET"],
  ["price klines on spot", { dataset: "markPriceKlines" }, "INVALID_DATASET"],
  [
    "index prices by contract",
    { market: "cm", dataset: "indexPriceKlines", symbol: "BTCUSD_PERP" },
    "INVALID_SYMBOL",
  ],
];

Deno.test("resolveRequest refuses every bad input with a typed error code", () => {
  for (const [what, patch, code] of BAD) {
    assert.throws(
      () => resolveRequest({ ...base, ...patch }, { market: "spot", now: NOW }),
      (e: unknown) => {
        assert.ok(e instanceof TypeError || e instanceof RangeError, `${what}: ${e}`);
        assert.equal((e as { code?: string }).code, code, what);
        assert.doesNotMatch((e as Error).message, /\.$/, what);
        return true;
      },
      what,
    );
  }
});

Deno.test("resolveRequest names the dataset only when it is not klines", () => {
  const at = { now: NOW };
  assert.equal("dataset" in resolveRequest({ ...base, dataset: "klines" }, at), false);
  const index = resolveRequest(
    { ...base, market: "cm", dataset: "indexPriceKlines", symbol: "btcusd" },
    at,
  );
  assert.equal(index.dataset, "indexPriceKlines");
  assert.equal(index.symbol, "BTCUSD");
});

Deno.test("A kline request naming the funding dataset: not candles, or an interval funding has not", () => {
  const funding = { ...base, market: "um" as const, dataset: "fundingRate" as never };
  assert.throws(() => resolveRequest(funding, { now: NOW }), { code: "INVALID_DATASET" });
  const dsm = new DataSourceManager({ cache: false, now: () => NOW });
  assert.throws(() => dsm.stream(funding), { code: "INVALID_OPTION", message: /"interval"/ });
});

Deno.test("resolveRequest refuses a request that is not an object", () => {
  assert.throws(() => resolveRequest(null as never, { now: NOW }), TypeError);
});

Deno.test("DataSourceManager refuses bad input before any I/O", async () => {
  const fetch = () => Promise.reject(new Error("fetch must not be called"));
  let calls = 0;
  await using dsm = new DataSourceManager({
    cache: false,
    now: () => NOW,
    fetch: (() => (calls++, fetch())) as typeof globalThis.fetch,
    endpoints: {
      vision: "http://127.0.0.1:9",
      listing: "http://127.0.0.1:9",
      rest: "http://127.0.0.1:9",
    },
  });
  for (const [what, patch, code] of BAD) {
    const request = { ...base, ...patch };
    assert.throws(() => dsm.stream(request), { code }, what);
    await assert.rejects(dsm.getData(request), { code }, what);
    await assert.rejects(dsm.getDataWithReport(request), { code }, what);
  }
  assert.equal(calls, 0);
});

Deno.test("DataSourceManager refuses a bad manager option", () => {
  assert.throws(() => new DataSourceManager({ market: "usdm" as never }), {
    code: "INVALID_MARKET",
  });
  assert.throws(() => new DataSourceManager({ concurrency: 0 }), { code: "INVALID_RANGE" });
  assert.throws(() => new DataSourceManager({ concurrency: 1.5 }), { code: "INVALID_RANGE" });
});

Deno.test("resolveRequest aligns the range to the grid: start up, end up", () => {
  const r = resolveRequest(
    { ...base, start: "2024-01-01T00:30", end: "2024-01-01T05:10" },
    { market: "spot", now: NOW },
  );
  assert.equal(r.start, Date.UTC(2024, 0, 1, 1));
  assert.equal(r.end, Date.UTC(2024, 0, 1, 6));
  assert.equal(r.requestedStart, Date.UTC(2024, 0, 1, 0, 30));
  assert.equal(r.requestedEnd, Date.UTC(2024, 0, 1, 5, 10));
});

Deno.test("resolveRequest clamps the end to the open candle, or just past it on request", () => {
  const r = resolveRequest({ ...base, start: "2025-02-10", end: "2025-03-01" }, { now: NOW });
  assert.equal(r.end, Date.UTC(2025, 1, 10, 12));
  assert.equal(r.openCandle, Date.UTC(2025, 1, 10, 12));
  const open = resolveRequest({
    ...base,
    start: "2025-02-10",
    end: "2025-03-01",
    includeOpenCandle: true,
  }, {
    now: NOW,
  });
  assert.equal(open.end, Date.UTC(2025, 1, 10, 13));
});

Deno.test("resolveRequest refuses a range wholly in the future with a RangeError", () => {
  assert.throws(
    () => resolveRequest({ ...base, start: "2025-03-01", end: "2025-04-01" }, { now: NOW }),
    (e: unknown) =>
      e instanceof RangeError && (e as { code?: string }).code === "INVALID_RANGE" &&
      /start 2025-03-01T00:00:00\.000Z is in the future/.test(e.message),
  );
});

Deno.test("resolveRequest resolves a range not yet closed to an empty one", () => {
  // Starts before now, but its first candle has not opened (or closed) yet.
  const r = resolveRequest({ ...base, start: "2025-02-10T12:10", end: "2025-04-01" }, {
    now: NOW,
  });
  assert.equal(r.start, r.end);
  assert.equal(r.start, Date.UTC(2025, 1, 10, 12));
});

Deno.test("resolveRequest resolves a range inside one slot to an empty one", () => {
  const r = resolveRequest({ ...base, start: "2024-01-01T00:10", end: "2024-01-01T00:20" }, {
    now: NOW,
  });
  assert.equal(r.start, r.end);
});

Deno.test("resolveRequest accepts aliases, 1mo, epoch ms, Dates and zone-less strings", () => {
  const r = resolveRequest(
    {
      symbol: "btcusd_perp",
      interval: "1mo",
      market: "futures_coin",
      start: new Date(Date.UTC(2023, 0, 15)),
      end: Date.UTC(2023, 5, 1),
    },
    { market: "spot", now: NOW },
  );
  assert.equal(r.market, "cm");
  assert.equal(r.symbol, "BTCUSD_PERP");
  assert.equal(r.interval, "1M");
  assert.equal(r.start, Date.UTC(2023, 1, 1));
  assert.equal(r.end, Date.UTC(2023, 5, 1));
  const z = resolveRequest({
    ...base,
    start: "2024-01-01T03:00:00",
    end: "2024-01-01T05:00:00+01:00",
  }, {
    now: NOW,
  });
  assert.equal(z.start, Date.UTC(2024, 0, 1, 3));
  assert.equal(z.end, Date.UTC(2024, 0, 1, 4));
});

Deno.test("resolveRequest fills the defaults", () => {
  const r = resolveRequest(base, { now: NOW });
  assert.equal(r.market, "spot");
  assert.equal(r.source, "auto");
  assert.equal(r.fill, "none");
  assert.equal(r.strict, false);
  assert.equal(r.includeSourceInfo, true);
  assert.equal(r.includeOpenCandle, false);
  assert.equal(r.end - r.start, 24 * H);
});

Deno.test("resolveRequest aligns weeks to Monday", () => {
  const r = resolveRequest({ ...base, interval: "1w", start: "2024-01-03", end: "2024-01-20" }, {
    now: NOW,
  });
  assert.equal(r.start, Date.UTC(2024, 0, 8));
  assert.equal(r.end, Date.UTC(2024, 0, 22));
});
