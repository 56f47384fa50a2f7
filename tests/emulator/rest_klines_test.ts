import assert from "node:assert/strict";
import { startEmulator } from "../../src/emulator/emulator.ts";
import { get, NOW } from "./_helpers.ts";

type Row = [
  number,
  string,
  string,
  string,
  string,
  string,
  number,
  string,
  number,
  string,
  string,
  string,
];
const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

async function klines(base: string, path: string, query: string): Promise<Row[]> {
  const { status, text } = await get(base, `${path}?${query}`);
  assert.equal(status, 200, text);
  return JSON.parse(text);
}

async function error(
  base: string,
  path: string,
  query: string,
): Promise<{ status: number; code: number }> {
  const { status, text } = await get(base, `${path}?${query}`);
  return { status, code: JSON.parse(text).code };
}

Deno.test("REST klines without times: latest 500 (default limit) ending with the open candle", async () => {
  await using emu = await startEmulator({ now: NOW });
  const rows = await klines(emu.url, "/api/v3/klines", "symbol=BTCUSDT&interval=1m");
  assert.equal(rows.length, 500);
  const open = Math.floor(NOW / MIN) * MIN;
  assert.equal(rows.at(-1)![0], open);
  assert.ok(rows.at(-1)![6] > NOW);
  assert.equal(rows[0][0], open - 499 * MIN);
  for (const r of rows) {
    assert.equal(r.length, 12);
    assert.equal(typeof r[0], "number");
    assert.equal(typeof r[1], "string");
    assert.equal(typeof r[8], "number");
    assert.equal(r[11], "0");
    assert.equal(r[6], r[0] + MIN - 1);
  }
});

Deno.test("REST open candle carries partial values that become the closed candle later", async () => {
  await using emu = await startEmulator({ now: NOW });
  await using later = await startEmulator({ now: NOW + 2 * HOUR });
  const q = `symbol=BTCUSDT&interval=1h&startTime=${Date.UTC(2026, 10, 25, 8)}&limit=1`;
  const [open] = await klines(emu.url, "/fapi/v1/klines", q);
  const [closed] = await klines(later.url, "/fapi/v1/klines", q);
  assert.ok(open[6] > NOW);
  assert.equal(open[1], closed[1]);
  assert.ok(Number(open[5]) < Number(closed[5]));
});

Deno.test("REST startTime rounds up, endTime rounds down, both inclusive", async () => {
  await using emu = await startEmulator({ now: NOW });
  const t = Date.UTC(2024, 0, 1);
  const a = await klines(
    emu.url,
    "/api/v3/klines",
    `symbol=BTCUSDT&interval=1m&startTime=${t + 30_000}&endTime=${t + 5 * MIN + 30_000}`,
  );
  assert.deepEqual(a.map((r) => r[0]), [1, 2, 3, 4, 5].map((i) => t + i * MIN));
  const b = await klines(
    emu.url,
    "/api/v3/klines",
    `symbol=BTCUSDT&interval=1m&startTime=${t}&endTime=${t + 5 * MIN}`,
  );
  assert.equal(b.length, 6);
  const c = await klines(
    emu.url,
    "/api/v3/klines",
    `symbol=BTCUSDT&interval=1m&startTime=${t}&endTime=${t}`,
  );
  assert.equal(c.length, 1);
  const d = await klines(
    emu.url,
    "/api/v3/klines",
    `symbol=BTCUSDT&interval=1m&startTime=${t + 1}&endTime=${t + MIN - 1}`,
  );
  assert.deepEqual(d, []);
  const e = await klines(
    emu.url,
    "/api/v3/klines",
    `symbol=BTCUSDT&interval=1h&endTime=${t + 30 * MIN}&limit=3`,
  );
  assert.deepEqual(e.map((r) => r[0]), [t - 2 * HOUR, t - HOUR, t]);
  const f = await klines(
    emu.url,
    "/api/v3/klines",
    `symbol=BTCUSDT&interval=1M&startTime=${t + 1}&limit=2`,
  );
  assert.deepEqual(f.map((r) => r[0]), [Date.UTC(2024, 1, 1), Date.UTC(2024, 2, 1)]);
  assert.equal(f[0][6], Date.UTC(2024, 2, 1) - 1);
  const w = await klines(
    emu.url,
    "/api/v3/klines",
    `symbol=BTCUSDT&interval=1w&startTime=${Date.UTC(2024, 0, 3)}&limit=1`,
  );
  assert.equal(w[0][0], Date.UTC(2024, 0, 8));
});

Deno.test("REST limit: startTime takes the first `limit` rows; max per market; over max is -1100", async () => {
  await using emu = await startEmulator({ now: NOW });
  const t = Date.UTC(2024, 0, 1);
  assert.equal(
    (await klines(
      emu.url,
      "/api/v3/klines",
      `symbol=BTCUSDT&interval=1m&startTime=${t}&limit=1000`,
    )).length,
    1000,
  );
  assert.equal(
    (await klines(
      emu.url,
      "/fapi/v1/klines",
      `symbol=BTCUSDT&interval=1m&startTime=${t}&limit=1500`,
    )).length,
    1500,
  );
  assert.equal(
    (await klines(
      emu.url,
      "/dapi/v1/klines",
      `symbol=BTCUSD_PERP&interval=1m&startTime=${t}&limit=1500`,
    )).length,
    1500,
  );
  const first = await klines(
    emu.url,
    "/api/v3/klines",
    `symbol=BTCUSDT&interval=1m&startTime=${t}&endTime=${t + DAY}&limit=3`,
  );
  assert.deepEqual(first.map((r) => r[0]), [t, t + MIN, t + 2 * MIN]);
  for (
    const [path, q] of [
      ["/api/v3/klines", "limit=1001"],
      ["/fapi/v1/klines", "limit=1501"],
      ["/dapi/v1/klines", "limit=1501"],
      ["/api/v3/klines", "limit=0"],
      ["/api/v3/klines", "limit=ten"],
      ["/api/v3/klines", "startTime=abc"],
      ["/api/v3/klines", "endTime=-5"],
    ]
  ) {
    const symbol = path.startsWith("/dapi") ? "BTCUSD_PERP" : "BTCUSDT";
    assert.deepEqual(await error(emu.url, path, `symbol=${symbol}&interval=1m&${q}`), {
      status: 400,
      code: -1100,
    }, q);
  }
});

Deno.test("REST before listing is [], rows start at listing, stop at delisting", async () => {
  await using emu = await startEmulator({ now: NOW });
  const listed = Date.UTC(2024, 2, 15, 12);
  assert.deepEqual(
    await klines(
      emu.url,
      "/api/v3/klines",
      `symbol=NEWUSDT&interval=1h&startTime=${listed - DAY}&endTime=${listed - 1}`,
    ),
    [],
  );
  assert.deepEqual(
    await klines(emu.url, "/api/v3/klines", `symbol=NEWUSDT&interval=1h&endTime=${listed - 1}`),
    [],
  );
  const from = await klines(
    emu.url,
    "/api/v3/klines",
    `symbol=NEWUSDT&interval=1h&startTime=${listed - DAY}&limit=2`,
  );
  assert.deepEqual(from.map((r) => r[0]), [listed, listed + HOUR]);
  const daily = await klines(
    emu.url,
    "/api/v3/klines",
    `symbol=NEWUSDT&interval=1d&startTime=0&limit=1`,
  );
  assert.equal(daily[0][0], Date.UTC(2024, 2, 15));
  const delisted = Date.UTC(2022, 5, 30, 12);
  assert.deepEqual(
    await klines(emu.url, "/api/v3/klines", `symbol=OLDUSDT&interval=1h&startTime=${delisted}`),
    [],
  );
  const last = await klines(emu.url, "/api/v3/klines", "symbol=OLDUSDT&interval=1h&limit=2");
  assert.deepEqual(last.map((r) => r[0]), [delisted - 2 * HOUR, delisted - HOUR]);
  const future = await klines(
    emu.url,
    "/api/v3/klines",
    `symbol=BTCUSDT&interval=1m&startTime=${NOW + DAY}`,
  );
  assert.deepEqual(future, []);
});

Deno.test("REST exchange gaps: candles opening inside a halt are absent", async () => {
  await using emu = await startEmulator({ now: NOW });
  const t = Date.UTC(2023, 2, 24, 12);
  const m = await klines(
    emu.url,
    "/api/v3/klines",
    `symbol=BTCUSDT&interval=1m&startTime=${t}&endTime=${t + 3 * HOUR - 1}`,
  );
  assert.equal(m.length, 180 - 120);
  assert.equal(m[29][0], t + 29 * MIN);
  assert.equal(m[30][0], t + 150 * MIN);
  const h = await klines(
    emu.url,
    "/fapi/v1/klines",
    `symbol=BTCUSDT&interval=1h&startTime=${t}&limit=3`,
  );
  assert.deepEqual(h.map((r) => r[0]), [t, t + 3 * HOUR, t + 4 * HOUR]);
  await using none = await startEmulator({ now: NOW, gaps: [] });
  const all = await klines(
    none.url,
    "/api/v3/klines",
    `symbol=BTCUSDT&interval=1m&startTime=${t}&endTime=${t + 3 * HOUR - 1}`,
  );
  assert.equal(all.length, 180);
});

Deno.test("REST cm caps the startTime..endTime span at 200 days", async () => {
  await using emu = await startEmulator({ now: NOW });
  const t = Date.UTC(2024, 0, 1);
  const ok = await klines(
    emu.url,
    "/dapi/v1/klines",
    `symbol=BTCUSD_PERP&interval=1d&startTime=${t}&endTime=${t + 200 * DAY}`,
  );
  assert.equal(ok.length, 201);
  assert.deepEqual(
    await error(
      emu.url,
      "/dapi/v1/klines",
      `symbol=BTCUSD_PERP&interval=1d&startTime=${t}&endTime=${t + 201 * DAY}`,
    ),
    { status: 400, code: -1127 },
  );
  assert.equal(
    (await klines(
      emu.url,
      "/fapi/v1/klines",
      `symbol=BTCUSDT&interval=1d&startTime=${t}&endTime=${t + 201 * DAY}`,
    )).length,
    202,
  );
});

Deno.test("REST errors: -1121 unknown symbol, -1120 bad interval or 1s on futures, -1102 missing, -1100 lowercase, -1023 reversed", async () => {
  await using emu = await startEmulator({ now: NOW });
  const cases: [string, string, number][] = [
    ["/api/v3/klines", "symbol=NOPEUSDT&interval=1m", -1121],
    ["/dapi/v1/klines", "symbol=BTCUSDT&interval=1m", -1121],
    ["/fapi/v1/klines", "symbol=BTCUSD_PERP&interval=1m", -1121],
    ["/api/v3/klines", "symbol=btcusdt&interval=1m", -1100],
    ["/api/v3/klines", "symbol=BTCUSDT&interval=2m", -1120],
    ["/api/v3/klines", "symbol=BTCUSDT&interval=1mo", -1120],
    ["/fapi/v1/klines", "symbol=BTCUSDT&interval=1s", -1120],
    ["/dapi/v1/klines", "symbol=BTCUSD_PERP&interval=1s", -1120],
    ["/api/v3/klines", "interval=1m", -1102],
    ["/api/v3/klines", "symbol=BTCUSDT", -1102],
    ["/api/v3/klines", "symbol=BTCUSDT&interval=1m&startTime=2000&endTime=1000", -1023],
  ];
  for (const [path, q, code] of cases) {
    const res = await fetch(`${emu.url}${path}?${q}`);
    assert.equal(res.status, 400, q);
    assert.match(res.headers.get("content-type") ?? "", /application\/json/);
    const body = await res.json();
    assert.equal(body.code, code, q);
    assert.equal(typeof body.msg, "string");
  }
  const invalid = await get(emu.url, "/api/v3/klines?symbol=NOPE&interval=1m");
  assert.equal(invalid.text, '{"code":-1121,"msg":"Invalid symbol."}');
  const ok = await klines(emu.url, "/api/v3/klines", "symbol=BTCUSDT&interval=1s&limit=5");
  assert.equal(ok.at(-1)![0], Math.floor(NOW / 1000) * 1000);
});

Deno.test("REST time and ping endpoints answer with the emulator clock", async () => {
  await using emu = await startEmulator({ now: NOW });
  for (const path of ["/api/v3/time", "/fapi/v1/time", "/dapi/v1/time"]) {
    assert.deepEqual(JSON.parse((await get(emu.url, path)).text), { serverTime: NOW });
  }
  assert.equal((await get(emu.url, "/api/v3/ping")).text, "{}");
  assert.equal((await get(emu.url, "/api/v3/nothing")).status, 404);
});

Deno.test("REST klines on cm answer the most recent limit candles of the span, as dapi documents", async () => {
  await using emu = await startEmulator({ now: NOW });
  const start = Date.UTC(2024, 0, 1), end = start + 3000 * MIN - 1;
  const q = `symbol=BTCUSD_PERP&interval=1m&startTime=${start}&endTime=${end}&limit=1500`;
  const cm = await klines(emu.url, "/dapi/v1/klines", q);
  assert.equal(cm.length, 1500);
  assert.equal(cm[0][0], start + 1500 * MIN);
  assert.equal(cm.at(-1)![0], start + 2999 * MIN);
  // um and spot answer the first limit candles from startTime.
  const um = await klines(emu.url, "/fapi/v1/klines", q.replace("BTCUSD_PERP", "BTCUSDT"));
  assert.equal(um[0][0], start);
  // startTime alone on cm: endTime is startTime + 200 days, then the most recent.
  const alone = await klines(
    emu.url,
    "/dapi/v1/klines",
    `symbol=BTCUSD_PERP&interval=1d&startTime=${start}&limit=10`,
  );
  assert.deepEqual(
    alone.map((r) => r[0]),
    Array.from({ length: 10 }, (_, i) => start + (191 + i) * DAY),
  );
});
