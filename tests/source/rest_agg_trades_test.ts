import assert from "node:assert/strict";
import type { RecordBatch } from "apache-arrow";
import { HttpError, NetworkError } from "../../src/core/errors.ts";
import type { Market } from "../../src/core/market.ts";
import { AGG_TRADE_SCHEMA } from "../../src/core/trade_schema.ts";
import { newRestStats, RestClient } from "../../src/source/rest_client.ts";
import { WeightScheduler } from "../../src/source/weight_scheduler.ts";

const HOUR = 3_600_000;
const T0 = Date.UTC(2024, 0, 1);
const FAST = { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 };

/** One aggregate trade of the stub; `us` is its time in µs. */
interface Trade {
  a: number;
  us: number;
  p: string;
  q: string;
  m: boolean;
  M: boolean;
}

/** Trades `a = firstId + i` at `startUs + i * stepUs`. */
function trades(firstId: number, startUs: number, count: number, stepUs: number): Trade[] {
  return Array.from({ length: count }, (_, i) => ({
    a: firstId + i,
    us: startUs + i * stepUs,
    p: `${42000 + (i % 977)}.${String((i * 7919) % 1e8).padStart(8, "0")}`,
    q: `0.${String((i * 104729) % 1e8).padStart(8, "0")}`,
    m: i % 3 === 0,
    M: i % 5 !== 0,
  }));
}

interface Seen {
  query: URLSearchParams;
  timeUnit: string | null;
}

/**
 * A loopback aggTrades endpoint after BINANCE.md: both times → the window's
 * first `limit` rows (a span of an hour or more → 400 -1127); `fromId` →
 * the first `limit` rows from that id; µs times on spot when asked, else ms.
 */
function serveAggTrades(
  market: Market,
  book: Trade[],
  fault?: (n: number) => Response | undefined,
) {
  const seen: Seen[] = [];
  const path =
    { spot: "/api/v3/aggTrades", um: "/fapi/v1/aggTrades", cm: "/dapi/v1/aggTrades" }[market];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const url = new URL(req.url);
    const q = url.searchParams;
    const timeUnit = req.headers.get("x-mbx-time-unit");
    seen.push({ query: q, timeUnit });
    const faulty = fault?.(seen.length);
    if (faulty) return faulty;
    assert.equal(url.pathname, path);
    const limit = Number(q.get("limit") ?? 500);
    let rows: Trade[];
    if (q.has("fromId")) {
      rows = book.filter((t) => t.a >= Number(q.get("fromId")));
    } else {
      const s = Number(q.get("startTime")), e = Number(q.get("endTime"));
      if (e - s >= HOUR) {
        return Response.json({
          code: -1127,
          msg: "More than 1 hours between startTime and endTime.",
        }, {
          status: 400,
        });
      }
      rows = book.filter((t) => t.us >= s * 1000 && t.us < (e + 1) * 1000);
    }
    const micro = market === "spot" && timeUnit?.toUpperCase() === "MICROSECOND";
    const body = rows.slice(0, limit).map((t) => ({
      a: t.a,
      p: t.p,
      q: t.q,
      f: 2 * t.a,
      l: 2 * t.a + 1,
      T: micro ? t.us : Math.floor(t.us / 1000),
      m: t.m,
      ...(market === "spot" ? { M: t.M } : {}),
    }));
    return Response.json(body, { headers: { "x-mbx-used-weight-1m": "1" } });
  });
  const client = new RestClient({
    market,
    hosts: [`http://127.0.0.1:${server.addr.port}`],
    scheduler: new WeightScheduler({ budget: 100_000 }),
    retry: FAST,
  });
  return { server, client, seen };
}

function ids(batches: RecordBatch[]): number[] {
  return batches.flatMap((b) => [...b.getChild("agg_trade_id")!].map(Number));
}

function times(batches: RecordBatch[]): bigint[] {
  return batches.flatMap((
    b,
  ) => [...b.getChild("transact_time")!.data.flatMap((d) => [...d.values])]);
}

Deno.test("RestClient.aggTrades searches empty hours, then pages by fromId to exactly [start, end)", async () => {
  // Nothing for 3 h 10 min, then 2,500 trades 1 s apart; one trade before start.
  const first = (T0 + 3 * HOUR + 600_000) * 1000;
  const book = [...trades(90, (T0 - 1) * 1000, 1, 1), ...trades(100, first, 2500, 1_000_000)];
  const { server, client, seen } = serveAggTrades("um", book);
  await using _ = server;
  const stats = newRestStats();
  // end is exactly the time of trade 2299 (excluded).
  const end = T0 + 3 * HOUR + 600_000 + 2199 * 1000;
  const batches = await Array.fromAsync(
    client.aggTrades({ symbol: "BTCUSDT", start: T0, end, stats }),
  );
  assert.deepEqual(ids(batches), Array.from({ length: 2199 }, (_, i) => 100 + i));
  assert.ok(batches.every((b) => b.schema === AGG_TRADE_SCHEMA && b.numRows <= 16_384));
  // Three empty windows, the window holding the first trade, then fromId pages.
  const windows = seen.filter((s) => s.query.has("startTime"));
  assert.deepEqual(
    windows.map((
      s,
    ) => [Number(s.query.get("startTime")) - T0, Number(s.query.get("endTime")) - T0]),
    [[0, HOUR - 1], [HOUR, 2 * HOUR - 1], [2 * HOUR, 3 * HOUR - 1], [3 * HOUR, end - 1 - T0]],
  );
  const pages = seen.filter((s) => s.query.has("fromId")).map((s) => Number(s.query.get("fromId")));
  assert.deepEqual(pages, [1100, 2100]);
  assert.ok(seen.every((s) => s.query.get("limit") === "1000" && s.timeUnit === null));
  // ms times scaled to µs exactly; futures print no M.
  assert.equal(times(batches)[5], BigInt(first + 5_000_000));
  assert.equal(batches[0].getChild("is_best_match")?.nullCount, batches[0].numRows);
  assert.equal(batches[0].getChild("price")?.get(7), parseFloat(book[8].p));
  assert.equal(batches[0].getChild("first_trade_id")?.get(3), 2n * 103n);
  // Counters: every request and its weight (20 on um).
  assert.equal(stats.requests, 6);
  assert.equal(stats.responses, 6);
  assert.equal(stats.weight, 6 * 20);
  assert.equal(stats.pages, 6);
  assert.equal(stats.rows, 2199);
});

Deno.test("RestClient.aggTrades includes a trade exactly at start and stops at the one at end", async () => {
  const book = trades(1, T0 * 1000, 50, 1_000_000);
  const { server, client, seen } = serveAggTrades("cm", book);
  await using _ = server;
  const stats = newRestStats();
  const got = await Array.fromAsync(
    client.aggTrades({ symbol: "BTCUSD_PERP", start: T0 + 10_000, end: T0 + 20_000, stats }),
  );
  assert.deepEqual(ids(got), [11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
  // One window (up to end - 1 ms), then one fromId page whose first row is at end.
  assert.equal(seen.length, 2);
  assert.equal(seen[0].query.get("endTime"), String(T0 + 19_999));
  assert.equal(seen[1].query.get("fromId"), "21");
  assert.equal(stats.weight, 40);
});

Deno.test("RestClient.aggTrades on spot asks for µs times and keeps M", async () => {
  const book = trades(7, T0 * 1000 + 123_456, 3, 1);
  const { server, client, seen } = serveAggTrades("spot", book);
  await using _ = server;
  const stats = newRestStats();
  const got = await Array.fromAsync(
    client.aggTrades({ symbol: "BTCUSDT", start: T0, end: T0 + 1000, stats }),
  );
  assert.deepEqual(
    times(got),
    [T0 * 1000 + 123_456, T0 * 1000 + 123_457, T0 * 1000 + 123_458].map(BigInt),
  );
  assert.deepEqual([...got[0].getChild("is_best_match")!], book.map((t) => t.M));
  assert.deepEqual([...got[0].getChild("is_buyer_maker")!], book.map((t) => t.m));
  assert.ok(seen.every((s) => s.timeUnit === "MICROSECOND"));
  assert.equal(stats.weight, 4 * seen.length);
});

Deno.test("RestClient.aggTrades with no trade in range asks one window per hour and yields nothing", async () => {
  const { server, client, seen } = serveAggTrades(
    "um",
    trades(1, (T0 + 10 * HOUR) * 1000, 5, 1000),
  );
  await using _ = server;
  const got = await Array.fromAsync(
    client.aggTrades({ symbol: "BTCUSDT", start: T0, end: T0 + 2.5 * HOUR }),
  );
  assert.equal(got.length, 0);
  assert.deepEqual(seen.map((s) => Number(s.query.get("endTime")) - T0), [
    HOUR - 1,
    2 * HOUR - 1,
    2.5 * HOUR - 1,
  ]);
});

Deno.test("RestClient.aggTrades hands out batches of at most batchRows, one request per batch asked", async () => {
  const { server, client, seen } = serveAggTrades("um", trades(1, T0 * 1000, 5500, 1000));
  await using _ = server;
  const batches: number[] = [];
  for await (
    const batch of client.aggTrades({
      symbol: "BTCUSDT",
      start: T0,
      end: T0 + HOUR,
      batchRows: 2000,
    })
  ) {
    batches.push(batch.numRows);
    if (batches.length === 2) break;
  }
  // A batch is handed out when the next page might not fit: two pages a batch.
  assert.deepEqual(batches, [2000, 2000]);
  // The window and three fromId pages; nothing after leaving the loop.
  assert.equal(seen.length, 4);
});

Deno.test("RestClient.aggTrades surfaces Binance's -1127 without retrying", async () => {
  const reply = () =>
    Response.json({ code: -1127, msg: "More than 1 hours between startTime and endTime." }, {
      status: 400,
    });
  const { server, client, seen } = serveAggTrades("um", [], reply);
  await using _ = server;
  const stats = newRestStats();
  await assert.rejects(
    Array.fromAsync(client.aggTrades({ symbol: "BTCUSDT", start: T0, end: T0 + HOUR, stats })),
    (error: unknown) =>
      error instanceof HttpError && error.status === 400 && error.binanceCode === -1127,
  );
  assert.equal(seen.length, 1);
  assert.equal(stats.responses, 1);
  assert.equal(stats.weight, 20);
});

Deno.test("RestClient.aggTrades retries a malformed page, then fails with NetworkError", async () => {
  const bad = () => Response.json([{ a: 1, p: 42000, q: "1", f: 1, l: 1, T: T0, m: true }]);
  const { server, client, seen } = serveAggTrades("um", [], bad);
  await using _ = server;
  await assert.rejects(
    Array.fromAsync(client.aggTrades({ symbol: "BTCUSDT", start: T0, end: T0 + 1000 })),
    (error: unknown) =>
      error instanceof NetworkError && /quoted decimal for p of row 0/.test(error.message),
  );
  assert.equal(seen.length, FAST.attempts);
});

Deno.test("RestClient.aggTrades refuses misuse before any I/O", async () => {
  const { server, client, seen } = serveAggTrades("um", []);
  await using _ = server;
  assert.throws(() => client.aggTrades({ symbol: "BTC/USDT", start: T0, end: T0 + 1 }), {
    code: "INVALID_SYMBOL",
  });
  assert.throws(() => client.aggTrades({ symbol: "BTCUSDT", start: T0, end: T0 }), {
    code: "INVALID_RANGE",
  });
  assert.throws(
    () => client.aggTrades({ symbol: "BTCUSDT", start: T0, end: T0 + 1, batchRows: 10 }),
    {
      code: "INVALID_RANGE",
    },
  );
  assert.equal(seen.length, 0);
});

Deno.test("RestClient.aggTrades waits out a 429 and retries a 5xx like klines", async () => {
  const faults = (n: number) =>
    n === 1
      ? new Response("", { status: 429, headers: { "retry-after": "0" } })
      : n === 2
      ? new Response("", { status: 503 })
      : undefined;
  const { server, client, seen } = serveAggTrades("um", trades(1, T0 * 1000, 3, 1000), faults);
  await using _ = server;
  const stats = newRestStats();
  const got = await Array.fromAsync(
    client.aggTrades({ symbol: "BTCUSDT", start: T0, end: T0 + 1000, stats }),
  );
  assert.deepEqual(ids(got), [1, 2, 3]);
  assert.equal(stats.rateLimited, 1);
  assert.equal(stats.retries, 2);
  assert.equal(stats.requests, seen.length);
  assert.equal(stats.weight, 20 * seen.length);
});
