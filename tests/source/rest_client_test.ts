import assert from "node:assert/strict";
import type { Table } from "apache-arrow";
import { RestClient } from "../../src/source/rest_client.ts";
import { WeightScheduler } from "../../src/source/weight_scheduler.ts";
import { HostCircuitBreaker } from "../../src/source/http.ts";
import {
  ceilOpenTime,
  closeTimeOf,
  floorOpenTime,
  type Interval,
  INTERVALS,
  nextOpenTime,
} from "../../src/core/interval.ts";
import { klinesWeight, type Market, marketInfo } from "../../src/core/market.ts";
import {
  HttpError,
  InvalidIntervalError,
  InvalidRangeError,
  InvalidSymbolError,
  NetworkError,
  RateLimitError,
} from "../../src/core/errors.ts";
import { KLINE_COLUMN_KEYS, klineColumnsOf } from "../../src/core/schema.ts";

const DAY = 86_400_000;
const FAST_RETRY = { attempts: 6, baseDelayMs: 1, maxDelayMs: 4 };
const NOW = Date.UTC(2024, 5, 15, 12, 30, 30);

/** The stub's candle at `t`: values with 8 decimals derived from the time. */
function row(t: number, interval: Interval): (string | number)[] {
  const k = Math.floor(t / 1000) % 999_983;
  const d = (base: number, salt: number) =>
    `${base + (k * salt) % 9973}.${String((k * 7919 * salt) % 1e8).padStart(8, "0")}`;
  return [
    t,
    d(20000, 1),
    d(30000, 3),
    d(10000, 5),
    d(20000, 7),
    d(0, 11),
    closeTimeOf(t, interval),
    d(100000, 13),
    k % 5000,
    d(0, 17),
    d(50000, 19),
    "0",
  ];
}

interface StubOptions {
  market?: Market;
  now?: number;
  listing?: number;
  delisted?: number;
  /** Weight allowed per window; past it the stub answers 429 (and counts it). */
  budget?: number;
  windowMs?: number;
  /** Answers request number `n` (1-based) instead of the normal handler. */
  fault?: (n: number, url: URL, request: Request) => Response | undefined | Promise<Response>;
}

interface Stub extends AsyncDisposable {
  url: string;
  requests: URL[];
  statuses: number[];
}

function serveKlines(url: URL, o: StubOptions, used: Map<number, number>): Response {
  const market = o.market ?? "spot";
  const info = marketInfo(market);
  const p = url.searchParams;
  const interval = p.get("interval") as Interval;
  if (!INTERVALS.includes(interval) || (interval === "1s" && market !== "spot")) {
    return Response.json({ code: -1120, msg: "Invalid interval." }, { status: 400 });
  }
  if (p.get("symbol") === "NOPE") {
    return Response.json({ code: -1121, msg: "Invalid symbol." }, { status: 400 });
  }
  const limit = Number(p.get("limit") ?? 500);
  if (!(limit >= 1 && limit <= info.maxLimit)) {
    return Response.json({ code: -1130, msg: "Invalid limit." }, { status: 400 });
  }
  const weight = klinesWeight(market, limit);
  const window = Math.floor(Date.now() / (o.windowMs ?? 60_000));
  const usedNow = (used.get(window) ?? 0) + weight;
  if (o.budget !== undefined && usedNow > o.budget) {
    return new Response(null, {
      status: 429,
      headers: { "retry-after": "0.05", "x-mbx-used-weight-1m": String(usedNow) },
    });
  }
  used.set(window, usedNow);
  const startTime = Number(p.get("startTime"));
  const endTime = Number(p.get("endTime"));
  if (info.maxSpanMs !== undefined && endTime - startTime > info.maxSpanMs) {
    return Response.json(
      { code: -1127, msg: "More than 200 days between startTime and endTime." },
      {
        status: 400,
      },
    );
  }
  const now = o.now ?? NOW;
  const last = Math.min(floorOpenTime(endTime, interval), floorOpenTime(now, interval));
  const rows = [];
  let t = ceilOpenTime(Math.max(startTime, o.listing ?? 0), interval);
  for (
    ;
    t <= last && t < (o.delisted ?? Infinity) && rows.length < limit;
    t = nextOpenTime(t, interval)
  ) {
    rows.push(row(t, interval));
  }
  return Response.json(rows, { headers: { "x-mbx-used-weight-1m": String(usedNow) } });
}

function startStub(options: StubOptions = {}): Stub {
  const requests: URL[] = [];
  const statuses: number[] = [];
  const used = new Map<number, number>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const url = new URL(request.url);
    requests.push(url);
    const response = await options.fault?.(requests.length, url, request) ??
      serveKlines(url, options, used);
    statuses.push(response.status);
    return response;
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    statuses,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

function client(stub: Stub, options: Partial<ConstructorParameters<typeof RestClient>[0]> = {}) {
  return new RestClient({
    market: "spot",
    hosts: [stub.url],
    marketDataHosts: [],
    retry: FAST_RETRY,
    now: () => NOW,
    scheduler: new WeightScheduler({ budget: 1_000_000 }),
    ...options,
  });
}

/** Asserts that the table holds exactly the stub's candles opening in `[first, stop)`. */
function assertCandles(table: Table, first: number, stop: number, interval: Interval) {
  const expected: number[] = [];
  for (let t = first; t < stop; t = nextOpenTime(t, interval)) expected.push(t);
  assert.equal(table.numRows, expected.length);
  let i = 0;
  for (const batch of table.batches) {
    const cols = klineColumnsOf(batch);
    for (let r = 0; r < batch.numRows; r++, i++) {
      const want = row(expected[i], interval);
      KLINE_COLUMN_KEYS.forEach((key, j) => {
        const value = typeof want[j] === "string" ? parseFloat(want[j] as string) : want[j];
        if (!Object.is(cols[key][r], value)) {
          assert.fail(`row ${i} ${key}: got ${cols[key][r]}, expected ${value}`);
        }
      });
    }
  }
}

Deno.test("RestClient pages every interval without gap or duplicate, misaligned bounds", async () => {
  await using stub = startStub({ now: Date.UTC(2099, 0, 1) });
  const c = client(stub, { now: () => Date.UTC(2099, 0, 1) });
  for (const interval of INTERVALS) {
    const step = nextOpenTime(Date.UTC(2020, 0, 1), interval) - Date.UTC(2020, 0, 1);
    const span = interval === "1M" ? 80 * 365 * DAY : Math.min(2345 * step, 80 * 365 * DAY);
    const start = Date.UTC(2018, 0, 1) + 12_345;
    const end = start + span + 777;
    const { table, stats } = await c.fetchKlinesTable({ symbol: "BTCUSDT", interval, start, end });
    assertCandles(table, ceilOpenTime(start, interval), end, interval);
    const pages = Math.ceil(table.numRows / 1000);
    assert.equal(stats.requests, pages, interval);
    assert.equal(stats.rows, table.numRows);
  }
});

Deno.test("RestClient sends limit explicitly, inclusive ends inside [start, end)", async () => {
  await using stub = startStub();
  const start = Date.UTC(2024, 0, 1);
  const { table } = await client(stub).fetchKlinesTable({
    symbol: "btcusdt",
    interval: "1h",
    start,
    end: start + 3 * 3_600_000,
  });
  assert.equal(table.numRows, 3);
  const q = stub.requests[0].searchParams;
  assert.equal(q.get("symbol"), "BTCUSDT");
  assert.equal(q.get("startTime"), String(start));
  assert.equal(q.get("endTime"), String(start + 3 * 3_600_000 - 1));
  assert.equal(q.get("limit"), "3");
});

Deno.test("RestClient excludes the still-open candle unless asked", async () => {
  await using stub = startStub();
  const c = client(stub);
  const request = { symbol: "BTCUSDT", interval: "1h", start: NOW - 5 * 3_600_000, end: NOW + DAY };
  const closed = await c.fetchKlinesTable(request);
  assertCandles(
    closed.table,
    ceilOpenTime(NOW - 5 * 3_600_000, "1h"),
    floorOpenTime(NOW, "1h"),
    "1h",
  );
  const open = await c.fetchKlinesTable({ ...request, includeOpenCandle: true });
  assert.equal(open.table.numRows, closed.table.numRows + 1);
  assert.equal(
    open.table.getChild("open_time")?.get(open.table.numRows - 1),
    floorOpenTime(NOW, "1h"),
  );
  // a range wholly in the future is empty and costs nothing
  const future = await c.fetchKlinesTable({ ...request, start: NOW + 3_600_000 });
  assert.equal(future.table.numRows, 0);
  assert.equal(future.stats.requests, 0);
});

Deno.test("RestClient starts at the listing and stops at the delisting", async () => {
  const listing = Date.UTC(2024, 2, 10, 7, 13);
  const delisted = Date.UTC(2024, 2, 12, 1, 0);
  await using stub = startStub({ listing, delisted });
  const c = client(stub);
  const { table, stats } = await c.fetchKlinesTable({
    symbol: "NEWUSDT",
    interval: "1m",
    start: Date.UTC(2024, 2, 1),
    end: Date.UTC(2024, 3, 1),
  });
  assertCandles(table, listing, delisted, "1m");
  // 3 full pages of data, plus doubling empty windows before the listing and
  // after the delisting, plus one question about the rows before a wide page.
  const pages = Math.ceil((delisted - listing) / 60_000 / 1000);
  assert.ok(stats.requests >= pages && stats.requests <= pages + 10, `${stats.requests} requests`);
  const before = await c.fetchKlinesTable({
    symbol: "NEWUSDT",
    interval: "1m",
    start: Date.UTC(2024, 0, 1),
    end: Date.UTC(2024, 1, 1),
  });
  assert.equal(before.table.numRows, 0);
  // A month before the listing: empty windows of 1000, 2000, 4000 ... minutes.
  assert.ok(before.stats.requests <= Math.ceil(Math.log2(31 * 1440 / 1000 + 1)));
});

Deno.test("RestClient splits cm requests at the 200-day span cap, across the listing", async () => {
  const listing = Date.UTC(2021, 3, 3);
  await using stub = startStub({ market: "cm", listing });
  const c = client(stub, { market: "cm" });
  for (const interval of ["1d", "1M", "12h"] as const) {
    stub.requests.length = 0;
    const start = Date.UTC(2020, 0, 1);
    const end = Date.UTC(2023, 6, 1, 5);
    const { table } = await c.fetchKlinesTable({ symbol: "BTCUSD_PERP", interval, start, end });
    assertCandles(table, ceilOpenTime(listing, interval), end, interval);
    for (const u of stub.requests) {
      const span = Number(u.searchParams.get("endTime")) - Number(u.searchParams.get("startTime"));
      assert.ok(span < 200 * DAY, `span ${span}`);
    }
    assert.ok(stub.statuses.every((s) => s === 200));
  }
});

Deno.test("RestClient raises HttpError with Binance's code and msg, without retrying", async () => {
  await using stub = startStub();
  const c = client(stub);
  const request = { symbol: "NOPE", interval: "1m", start: "2024-01-01", end: "2024-01-02" };
  await assert.rejects(c.fetchKlinesTable(request), (e) => {
    assert.ok(e instanceof HttpError);
    assert.equal(e.status, 400);
    assert.equal(e.binanceCode, -1121);
    assert.equal(e.binanceMsg, "Invalid symbol.");
    return true;
  });
  assert.equal(stub.requests.length, 1);
});

Deno.test("RestClient rejects bad input before any request", async () => {
  await using stub = startStub();
  const um = client(stub, { market: "um" });
  const base = { symbol: "BTCUSDT", interval: "1m", start: "2024-01-02", end: "2024-01-03" };
  assert.throws(() => um.klines({ ...base, interval: "1s" }), InvalidIntervalError);
  assert.throws(() => um.klines({ ...base, interval: "2m" }), InvalidIntervalError);
  assert.throws(() => um.klines({ ...base, end: "2024-01-02" }), InvalidRangeError);
  assert.throws(() => client(stub, { market: "cm" }).klines(base), InvalidSymbolError);
  assert.equal(stub.requests.length, 0);
});

const MONTH_1M = {
  symbol: "BTCUSDT",
  interval: "1m",
  start: Date.UTC(2024, 0, 1),
  end: Date.UTC(2024, 1, 1),
};

Deno.test("RestClient paces concurrent callers by the weight header: no 429", async () => {
  // 120 weight per 250 ms window; 4 clients, each needing 45 requests of weight 2
  await using stub = startStub({ budget: 120, windowMs: 250 });
  const scheduler = new WeightScheduler({ budget: 120, margin: 0.1, windowMs: 250, graceMs: 5 });
  const results = await Promise.all(
    ["BTCUSDT", "ETHUSDT", "BNBUSDT", "XRPUSDT"].map((symbol) =>
      client(stub, { scheduler }).fetchKlinesTable({ ...MONTH_1M, symbol })
    ),
  );
  for (const { table, stats } of results) {
    assertCandles(table, MONTH_1M.start, MONTH_1M.end, "1m");
    assert.equal(stats.rateLimited, 0);
    assert.equal(stats.requests, 45);
  }
  assert.ok(!stub.statuses.includes(429), "a 429 was produced");
  assert.equal(stub.statuses.length, 180);
});

Deno.test("RestClient uses the shared scheduler of the origin and API", async () => {
  await using stub = startStub({ budget: 40, windowMs: 200 });
  const key = `${stub.url}/api/v3/klines`;
  WeightScheduler.register(key, new WeightScheduler({ budget: 40, windowMs: 200, graceMs: 5 }));
  try {
    const make = () =>
      new RestClient({ market: "spot", hosts: [stub.url], retry: FAST_RETRY, now: () => NOW });
    const request = { ...MONTH_1M, end: Date.UTC(2024, 0, 8) };
    await Promise.all([make().fetchKlinesTable(request), make().fetchKlinesTable(request)]);
    assert.ok(!stub.statuses.includes(429));
  } finally {
    WeightScheduler.register(key, undefined);
  }
});

Deno.test("RestClient picks a cheaper futures limit tier when the budget is tight", async () => {
  await using stub = startStub({ market: "um" });
  const scheduler = new WeightScheduler({ budget: 100, margin: 0 });
  await scheduler.acquire(94);
  scheduler.settle(94, "94"); // 6 left: the 1500-row page (10) does not fit, 1000 (5) does
  const c = client(stub, { market: "um", scheduler });
  const { table } = await c.fetchKlinesTable({ ...MONTH_1M, end: Date.UTC(2024, 0, 1, 20) });
  assert.equal(table.numRows, 1200);
  assert.equal(stub.requests[0].searchParams.get("limit"), "1000");
  assert.equal(stub.requests[1].searchParams.get("limit"), "200");
});

Deno.test("RestClient honours Retry-After through a 429 storm and still returns every row", async () => {
  await using stub = startStub({
    fault: (n) =>
      n % 3 !== 0
        ? new Response(null, { status: 429, headers: { "retry-after": "0.01" } })
        : undefined,
  });
  const { table, stats } = await client(stub).fetchKlinesTable({
    ...MONTH_1M,
    end: Date.UTC(2024, 0, 3),
  });
  assertCandles(table, MONTH_1M.start, Date.UTC(2024, 0, 3), "1m");
  assert.equal(stats.rateLimited, 6);
  assert.equal(stats.requests, 9);
});

Deno.test("RestClient waits for the next window after a 429 without Retry-After", async () => {
  await using stub = startStub({
    fault: (n) => n === 1 ? new Response(null, { status: 429 }) : undefined,
  });
  const scheduler = new WeightScheduler({ budget: 6000, windowMs: 100, graceMs: 1 });
  const delays: number[] = [];
  const { table } = await client(stub, {
    scheduler,
    retry: { attempts: 2, baseDelayMs: 0 },
    onRequest: () => delays.push(Date.now()),
  }).fetchKlinesTable({ ...MONTH_1M, end: Date.UTC(2024, 0, 1, 1) });
  assert.equal(table.numRows, 60);
  assert.equal(delays.length, 2);
  // the retry went out in a later 100 ms window
  assert.ok(Math.floor(delays[1] / 100) > Math.floor(delays[0] / 100));
});

Deno.test("RestClient stops at a 418 and never calls the host again", async () => {
  await using stub = startStub({
    fault: (n) =>
      n === 2 ? new Response(null, { status: 418, headers: { "retry-after": "120" } }) : undefined,
  });
  const scheduler = new WeightScheduler({ budget: 6000 });
  const c = client(stub, { scheduler });
  await assert.rejects(c.fetchKlinesTable(MONTH_1M), (e) => {
    assert.ok(e instanceof RateLimitError);
    assert.equal(e.status, 418);
    assert.equal(e.retryAfterMs, 120_000);
    return true;
  });
  assert.equal(stub.requests.length, 2);
  await assert.rejects(client(stub, { scheduler }).fetchKlinesTable(MONTH_1M), RateLimitError);
  assert.equal(stub.requests.length, 2);
});

Deno.test("RestClient gives up after the attempts with the 429 as a RateLimitError", async () => {
  await using stub = startStub({
    fault: () => new Response(null, { status: 429, headers: { "retry-after": "0" } }),
  });
  const c = client(stub, { retry: { ...FAST_RETRY, attempts: 3 } });
  await assert.rejects(c.fetchKlinesTable(MONTH_1M), { name: "RateLimitError", status: 429 });
  assert.equal(stub.requests.length, 3);
});

Deno.test("RestClient moves to the market-data host, then backups, on 451", async () => {
  await using stub = startStub({
    fault: (_n, url) =>
      url.pathname.startsWith("/market-data") || url.pathname.startsWith("/primary")
        ? new Response("restricted", { status: 451 })
        : undefined,
  });
  const c = client(stub, {
    hosts: [`${stub.url}/primary`, `${stub.url}/backup1`],
    marketDataHosts: [`${stub.url}/market-data/`],
  });
  const { table, stats } = await c.fetchKlinesTable(MONTH_1M);
  assertCandles(table, MONTH_1M.start, MONTH_1M.end, "1m");
  assert.deepEqual(stats.hosts, [`${stub.url}/backup1`]);
  assert.deepEqual(stub.requests.slice(0, 3).map((u) => u.pathname), [
    "/primary/api/v3/klines",
    "/market-data/api/v3/klines",
    "/backup1/api/v3/klines",
  ]);
  assert.equal(stub.requests.length, 2 + 45); // the restricted hosts are not asked again
  const blocked = client(stub, { hosts: [`${stub.url}/primary`] });
  await assert.rejects(blocked.fetchKlinesTable(MONTH_1M), { name: "HttpError", status: 451 });
});

Deno.test("RestClient recovers from 5xx, resets and truncated JSON at high rates", async () => {
  let seed = 7;
  const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  await using stub = startStub({
    fault: (_n, url) => {
      const r = random();
      if (r < 0.15) return new Response("busy", { status: 503 });
      if (r < 0.25) return new Response("oops", { status: 500 });
      if (r > 0.85) {
        const text = JSON.stringify([row(Number(url.searchParams.get("startTime")), "1m")]);
        return new Response(text.slice(0, 37)); // truncated, with a matching length
      }
      if (r > 0.75) {
        // the connection closes after half of the promised Content-Length
        const part = new TextEncoder().encode('[[1704067200000,"1');
        const body = new ReadableStream({
          start(controller) {
            controller.enqueue(part);
            controller.close();
          },
        });
        return new Response(body, { headers: { "content-length": String(part.length * 2) } });
      }
      return undefined;
    },
  });
  const { table, stats } = await client(stub, { retry: { ...FAST_RETRY, attempts: 12 } })
    .fetchKlinesTable(MONTH_1M);
  assertCandles(table, MONTH_1M.start, MONTH_1M.end, "1m");
  assert.ok(stats.retries > 10, `${stats.retries} retries`);
  assert.equal(stats.requests, 45 + stats.retries);
});

Deno.test("RestClient raises the last typed error when retries run out", async () => {
  await using stub = startStub({ fault: () => new Response("busy", { status: 503 }) });
  await assert.rejects(client(stub).fetchKlinesTable(MONTH_1M), { name: "HttpError", status: 503 });
  assert.equal(stub.requests.length, FAST_RETRY.attempts);
  await using bad = startStub({ fault: () => new Response('[[1,"2"]]') });
  await assert.rejects(client(bad).fetchKlinesTable(MONTH_1M), (e) => {
    assert.ok(e instanceof NetworkError);
    assert.match(e.message, /row 0 has 2 elements/);
    return true;
  });
});

Deno.test("RestClient rejects pages out of order, before startTime or past endTime", async () => {
  const t = MONTH_1M.start;
  const pages = [
    [row(t + 60_000, "1m"), row(t, "1m")],
    [row(t - 60_000, "1m")],
    [row(MONTH_1M.end, "1m")],
  ];
  for (const [i, page] of pages.entries()) {
    await using stub = startStub({ fault: () => Response.json(page) });
    await assert.rejects(
      client(stub, { retry: { attempts: 2, baseDelayMs: 1 } }).fetchKlinesTable(MONTH_1M),
      (e) => {
        assert.ok(e instanceof NetworkError);
        assert.match(e.message, [/not increasing/, /before startTime/, /after endTime/][i]);
        return true;
      },
    );
  }
});

Deno.test("RestClient returns real irregular rows as printed, across page seams", async () => {
  // Two days of 1m (three pages of 1000): slots 990..1009 printed 14.789 s off the
  // grid after an outage (slots 980..989), a close_time before its open, one
  // equal to the next open, one cut short, a zero-volume halt row, a non-zero ignore.
  const start = Date.UTC(2018, 1, 8);
  const served: (string | number)[][] = [];
  for (let i = 0; i < 2880; i++) {
    if (i >= 980 && i < 990) continue;
    const t = start + i * 60_000 + (i >= 990 && i < 1010 ? 14_789 : 0);
    const r = row(t, "1m");
    r[6] = t + 59_999;
    if (i === 5) r[6] = t - 758_479;
    if (i === 6) r[6] = t + 60_000;
    if (i === 7) r[6] = t + 29_000;
    if (i === 8) {
      r.splice(1, 11, "1.5", "1.5", "1.5", "1.5", "0", t + 59_999, "0", 0, "0", "0", "0");
    }
    if (i < 20) r[11] = "17928899.62484339";
    served.push(r);
  }
  await using stub = startStub({
    fault: (_n, url) => {
      const p = url.searchParams;
      const from = Number(p.get("startTime")), to = Number(p.get("endTime"));
      const page = served.filter((r) => (r[0] as number) >= from && (r[0] as number) <= to)
        .slice(0, Number(p.get("limit")));
      return Response.json(page, { headers: { "x-mbx-used-weight-1m": "2" } });
    },
  });
  const { table } = await client(stub).fetchKlinesTable({
    symbol: "BTCUSDT",
    interval: "1m",
    start,
    end: start + 2 * DAY,
  });
  assert.equal(table.numRows, served.length);
  const cols = KLINE_COLUMN_KEYS.map((key) =>
    table.batches.flatMap((b) => [...klineColumnsOf(b)[key].subarray(0, b.numRows)])
  );
  for (let i = 0; i < served.length; i++) {
    for (let j = 0; j < 11; j++) {
      const v = served[i][j];
      assert.ok(
        Object.is(cols[j][i], typeof v === "string" ? parseFloat(v) : v),
        `row ${i} column ${j}`,
      );
    }
  }
  assert.ok(stub.requests.length >= 3);
});

Deno.test("RestClient times out a silent server and retries", async () => {
  await using stub = startStub({
    fault: async (n, _url, request) => {
      if (n !== 1) return undefined as unknown as Response;
      await new Promise((resolve) => request.signal.addEventListener("abort", resolve));
      return new Response("late");
    },
  });
  const { table, stats } = await client(stub, { timeoutMs: 100 }).fetchKlinesTable({
    ...MONTH_1M,
    end: Date.UTC(2024, 0, 1, 1),
  });
  assert.equal(table.numRows, 60);
  assert.equal(stats.retries, 1);
});

Deno.test("RestClient cancels the request in flight when the signal aborts", async () => {
  let aborted!: () => void;
  const serverSawAbort = new Promise<void>((resolve) => aborted = resolve);
  await using stub = startStub({
    fault: async (n, _url, request) => {
      if (n < 3) return undefined as unknown as Response;
      await new Promise((resolve) => request.signal.addEventListener("abort", resolve));
      aborted();
      return new Response("late");
    },
  });
  const controller = new AbortController();
  const c = client(stub, {
    onProgress: (s) => s.pages === 2 && setTimeout(() => controller.abort(new Error("stop")), 20),
  });
  await assert.rejects(
    c.fetchKlinesTable({ ...MONTH_1M, signal: controller.signal }),
    { message: "stop" },
  );
  await serverSawAbort;
});

Deno.test("RestClient stream cancellation aborts the request in flight", async () => {
  let aborted!: () => void;
  const serverSawAbort = new Promise<void>((resolve) => aborted = resolve);
  await using stub = startStub({
    fault: async (n, _url, request) => {
      if (n < 2) return undefined as unknown as Response;
      await new Promise((resolve) => request.signal.addEventListener("abort", resolve));
      aborted();
      return new Response("late");
    },
  });
  const stream = client(stub).klines(MONTH_1M);
  const reader = stream.getReader();
  const first = await reader.read();
  assert.equal(first.value?.numRows, 1000);
  const pending = reader.read();
  await new Promise((resolve) => setTimeout(resolve, 20));
  await reader.cancel("no more");
  assert.equal((await pending).done, true);
  await serverSawAbort;
  assert.equal(stream.stats.pages, 1);
});

Deno.test("RestClient can append the _data_source column", async () => {
  await using stub = startStub();
  const { table } = await client(stub).fetchKlinesTable({
    ...MONTH_1M,
    end: Date.UTC(2024, 0, 1, 0, 5),
    withSource: true,
  });
  assert.equal(table.getChild("_data_source")?.get(4), "REST");
  const empty = await client(stub).fetchKlinesTable({
    ...MONTH_1M,
    start: NOW + DAY,
    end: NOW + 2 * DAY,
    withSource: true,
  });
  assert.equal(empty.table.numRows, 0);
  assert.equal(empty.table.schema.fields.length, 12);
});

Deno.test("RestClient percent-encodes a non-ASCII symbol in the query, in NFC", async () => {
  await using stub = startStub();
  const sent: string[] = [];
  const spy: typeof fetch = (input, init) => {
    sent.push(String(input instanceof Request ? input.url : input));
    return fetch(input, init);
  };
  const start = Date.UTC(2024, 0, 1);
  const { table } = await client(stub, { fetch: spy }).fetchKlinesTable({
    symbol: "A\u0308币安usdt", // NFD and lower-case ASCII: sent as "Ä币安USDT"
    interval: "1h",
    start,
    end: start + 2 * 3_600_000,
  });
  assert.equal(table.numRows, 2);
  assert.equal(sent.length, 1);
  assert.match(sent[0], /[?&]symbol=%C3%84%E5%B8%81%E5%AE%89USDT&/);
  assert.match(sent[0], /^[\x21-\x7e]+$/); // the URL is ASCII
  assert.equal(stub.requests[0].searchParams.get("symbol"), "\u00c4币安USDT");
  assert.throws(
    () => client(stub).klines({ symbol: "币安/USDT", interval: "1h", start, end: start + 1 }),
    {
      code: "INVALID_SYMBOL",
    },
  );
  assert.throws(
    () =>
      client(stub, { market: "um" }).klines({
        symbol: "币安USDT",
        interval: "1h",
        start,
        end: start + 1,
      }),
    {
      code: "INVALID_SYMBOL",
    },
  );
  assert.equal(stub.requests.length, 1);
});

Deno.test("RestClient stats count the responses received apart from the requests sent", async () => {
  await using stub = startStub({
    fault: (n) => n <= 2 ? new Response("busy", { status: 503 }) : undefined,
  });
  const c = client(stub);
  const start = NOW - 2 * 3_600_000;
  const { table, stats } = await c.fetchKlinesTable({
    symbol: "BTCUSDT",
    interval: "1m",
    start,
    end: start + 3_600_000,
  });
  assert.equal(table.numRows, 60);
  assert.equal(stats.requests, 3);
  assert.equal(stats.responses, 3);
  assert.equal(stats.responseWeight, stats.weight);
  // A host that refuses connections: requests sent, no response received.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const dead = `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`;
  listener.close();
  const refused = new RestClient({
    market: "spot",
    hosts: [dead],
    marketDataHosts: [],
    retry: FAST_RETRY,
    now: () => NOW,
    scheduler: new WeightScheduler({ budget: 1_000_000 }),
    breaker: new HostCircuitBreaker(),
  });
  const stream = refused.klines({ symbol: "BTCUSDT", interval: "1m", start, end: start + 60_000 });
  await assert.rejects(Array.fromAsync(stream), { name: "HostUnreachableError" });
  // The circuit opened at the third refused connection, though 6 attempts were allowed.
  assert.equal(stream.stats.requests, 3);
  assert.equal(stream.stats.responses, 0);
  assert.equal(stream.stats.responseWeight, 0);
});

Deno.test("RestClient asks price klines of their endpoint, index prices by pair", async () => {
  await using stub = startStub({ market: "cm" });
  const start = Date.UTC(2024, 0, 1);
  const cm = client(stub, { market: "cm" });
  const index = await cm.fetchKlinesTable({
    dataset: "indexPriceKlines",
    symbol: "btcusd",
    interval: "1h",
    start,
    end: start + 3 * 3_600_000,
  });
  assert.equal(index.table.numRows, 3);
  const mark = await cm.fetchKlinesTable({
    dataset: "markPriceKlines",
    symbol: "BTCUSD_PERP",
    interval: "1h",
    start,
    end: start + 3_600_000,
  });
  assert.equal(mark.table.numRows, 1);
  assert.deepEqual(
    stub.requests.map((
      u,
    ) => [u.pathname, u.searchParams.get("pair"), u.searchParams.get("symbol")]),
    [["/dapi/v1/indexPriceKlines", "BTCUSD", null], [
      "/dapi/v1/markPriceKlines",
      null,
      "BTCUSD_PERP",
    ]],
  );
  const range = { interval: "1h", start, end: start + 1 } as const;
  assert.throws(() => cm.klines({ ...range, dataset: "indexPriceKlines", symbol: "BTCUSD_PERP" }), {
    code: "INVALID_SYMBOL",
    message: /did you mean BTCUSD\?/,
  });
  assert.throws(
    () => client(stub).klines({ ...range, dataset: "markPriceKlines", symbol: "BTCUSDT" }),
    {
      code: "INVALID_DATASET",
    },
  );
  assert.throws(() => cm.klines({ ...range, dataset: "fundingRate", symbol: "BTCUSD_PERP" }), {
    code: "INVALID_DATASET",
  });
  assert.equal(stub.requests.length, 2);
});
