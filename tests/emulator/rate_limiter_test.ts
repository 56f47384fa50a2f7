import assert from "node:assert/strict";
import { startEmulator } from "../../src/emulator/emulator.ts";
import { RateLimiter } from "../../src/emulator/rate_limiter.ts";
import { get, NOW } from "./_helpers.ts";

const T0 = Date.UTC(2024, 0, 1, 0, 0, 10);

Deno.test("X-MBX-USED-WEIGHT-1M follows the weight table and resets each window", async () => {
  let now = T0;
  await using emu = await startEmulator({ now: () => now });
  const weight = async (path: string) =>
    (await get(emu.url, path)).headers.get("x-mbx-used-weight-1m");
  assert.equal(await weight("/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1000"), "2");
  assert.equal(await weight("/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1"), "4");
  let um = 0;
  for (
    const [limit, w] of [[99, 1], [100, 2], [499, 2], [500, 5], [1000, 5], [1001, 10], [1500, 10]]
  ) {
    um += w;
    assert.equal(
      await weight(`/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=${limit}`),
      String(um),
    );
  }
  assert.equal(await weight("/fapi/v1/klines?symbol=BTCUSDT&interval=1m"), String(um + 5));
  assert.equal(await weight("/dapi/v1/klines?symbol=BTCUSD_PERP&interval=1m&limit=99"), "1");
  assert.equal(await weight("/api/v3/klines?symbol=NOPE&interval=1m"), "6");
  now += 50_000;
  assert.equal(await weight("/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1"), "2");
});

Deno.test("over budget: 429 with Retry-After to the window end, then 418 bans with a longer Retry-After", async () => {
  let now = T0;
  await using emu = await startEmulator({
    now: () => now,
    weightBudget: { spot: 10 },
    banAfter: 2,
    banMs: 300_000,
  });
  const q = "/api/v3/klines?symbol=BTCUSDT&interval=1d&limit=1";
  for (let i = 1; i <= 5; i++) assert.equal((await get(emu.url, q)).status, 200);
  const first = await get(emu.url, q);
  assert.equal(first.status, 429);
  assert.equal(first.headers.get("retry-after"), "50");
  assert.equal(first.headers.get("x-mbx-used-weight-1m"), "10");
  assert.equal(JSON.parse(first.text).code, -1003);
  assert.equal((await get(emu.url, q)).status, 429);
  const ban = await get(emu.url, q);
  assert.equal(ban.status, 418);
  assert.equal(ban.headers.get("retry-after"), "300");
  now += 60_000;
  const still = await get(emu.url, q);
  assert.equal(still.status, 418);
  assert.equal(still.headers.get("retry-after"), "240");
  assert.equal((await get(emu.url, "/fapi/v1/klines?symbol=BTCUSDT&interval=1d")).status, 200);
  now += 240_000;
  assert.equal((await get(emu.url, q)).status, 200);
  assert.equal(emu.stats.statuses[429], 2);
  assert.equal(emu.stats.statuses[418], 2);
  emu.reset();
  assert.deepEqual(emu.stats.statuses, {});
});

Deno.test("a short weight window makes fast tests: weightWindowMs", async () => {
  let now = 1_000;
  await using emu = await startEmulator({
    now: () => now,
    weightWindowMs: 1_000,
    weightBudget: { cm: 1 },
  });
  const q = "/dapi/v1/klines?symbol=BTCUSD_PERP&interval=1m&limit=5&startTime=1704067200000";
  assert.equal((await get(emu.url, q)).status, 200);
  const limited = await get(emu.url, q);
  assert.equal(limited.status, 429);
  assert.equal(limited.headers.get("retry-after"), "1");
  now += 1_000;
  assert.equal((await get(emu.url, q)).status, 200);
});

Deno.test("451: restrict451 blocks spot on the primary and backup hosts, not on market-data", async () => {
  await using emu = await startEmulator({ now: NOW, restrict451: true });
  const q = "api/v3/klines?symbol=BTCUSDT&interval=1h&limit=1";
  for (const prefix of ["", "backup1/", "backup5/"]) {
    const res = await get(emu.url, `/${prefix}${q}`);
    assert.equal(res.status, 451, prefix);
    assert.match(JSON.parse(res.text).msg, /restricted location/);
  }
  assert.equal((await get(emu.url, `/market-data/${q}`)).status, 200);
  assert.equal(
    (await get(emu.url, "/fapi/v1/klines?symbol=BTCUSDT&interval=1h&limit=1")).status,
    200,
  );
  await using one = await startEmulator({ now: NOW, blocked451Hosts: ["primary"] });
  assert.equal((await get(one.url, `/${q}`)).status, 451);
  assert.equal((await get(one.url, `/backup1/${q}`)).status, 200);
});

Deno.test("RateLimiter charges per market and bans after the allowed 429s", () => {
  let now = 0;
  const limiter = new RateLimiter({
    budgets: { spot: 2, um: 2, cm: 2 },
    now: () => now,
    banAfter: 1,
    banMs: 10_000,
  });
  assert.equal(limiter.charge("spot", 2).status, 200);
  assert.equal(limiter.charge("um", 2).status, 200);
  assert.deepEqual(limiter.charge("spot", 1), { status: 429, used: 2, retryAfter: 60 });
  assert.deepEqual(limiter.charge("spot", 1), { status: 418, used: 2, retryAfter: 10 });
  now = 10_000;
  assert.equal(limiter.used("spot"), 2);
  assert.equal(limiter.charge("spot", 1).status, 418, "still over budget after the ban");
  now = 70_000;
  assert.deepEqual(limiter.charge("spot", 1), { status: 200, used: 1 });
  limiter.reset();
  assert.equal(limiter.used("spot"), 0);
});
