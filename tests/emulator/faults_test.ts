import assert from "node:assert/strict";
import { startEmulator } from "../../src/emulator/emulator.ts";
import { Faults } from "../../src/emulator/faults.ts";
import { get, getBytes, NOW, sha256Hex, unzipText, visionKey, visionLines } from "./_helpers.ts";

const KEY = visionKey("spot", "daily", "BTCUSDT", "1h", "2024-01-01");
const REST = "/api/v3/klines?symbol=BTCUSDT&interval=1h&limit=3";

Deno.test("errorRate 1: every answer is a 5xx, JSON on REST and S3 XML on Vision", async () => {
  await using emu = await startEmulator({ now: NOW, errorRate: 1 });
  const rest = await get(emu.url, REST);
  assert.ok(rest.status >= 500 && rest.status <= 503);
  assert.equal(JSON.parse(rest.text).code, -1001);
  const vision = await get(emu.url, `/${KEY}`);
  assert.ok(vision.status >= 500);
  assert.match(vision.text, /<Code>InternalError<\/Code>/);
  assert.ok((await get(emu.url, "/?prefix=data/")).status >= 500);
  assert.equal(emu.stats.faults.errors, 3);
});

Deno.test("faults are seeded: the same seed and requests give the same statuses, retries draw anew", async () => {
  const run = async (seed: number) => {
    await using emu = await startEmulator({ now: NOW, seed, errorRate: 0.5 });
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      statuses.push((await get(emu.url, `${REST}&startTime=${i}`)).status);
    }
    for (let i = 0; i < 12; i++) statuses.push((await get(emu.url, REST)).status);
    return statuses;
  };
  const a = await run(9);
  assert.deepEqual(await run(9), a);
  assert.notDeepEqual(await run(10), a);
  const retries = a.slice(12);
  assert.ok(retries.includes(200) && retries.some((s) => s >= 500), String(retries));
});

Deno.test("resetRate 1: the connection closes mid-body under a full Content-Length", async () => {
  await using emu = await startEmulator({ now: NOW, resetRate: 1 });
  for (const path of [`/${KEY}`, REST]) {
    const res = await fetch(emu.url + path);
    assert.equal(res.status, 200);
    await assert.rejects(res.arrayBuffer());
  }
  assert.equal(emu.stats.faults.resets, 2);
});

Deno.test("truncateRate 1: bodies are cut short, zips lose their end and JSON does not parse", async () => {
  await using plain = await startEmulator({ now: NOW });
  await using emu = await startEmulator({ now: NOW, truncateRate: 1 });
  const full = await getBytes(plain.url, `/${KEY}`);
  const cut = await getBytes(emu.url, `/${KEY}`);
  assert.equal(cut.length, Math.floor(full.length / 2));
  assert.deepEqual(cut, full.subarray(0, cut.length));
  assert.throws(() => unzipText(cut));
  const rest = await get(emu.url, REST);
  assert.throws(() => JSON.parse(rest.text), SyntaxError);
  assert.equal(emu.stats.faults.truncations, 2);
});

Deno.test("checksumMismatch: named files get a CHECKSUM that does not match; others match", async () => {
  const other = visionKey("spot", "daily", "BTCUSDT", "1h", "2024-01-02");
  await using emu = await startEmulator({
    now: NOW,
    checksumMismatch: ["BTCUSDT-1h-2024-01-01.zip"],
  });
  const check = async (key: string) => {
    const sha = await sha256Hex(await getBytes(emu.url, `/${key}`));
    const line = (await get(emu.url, `/${key}.CHECKSUM`)).text;
    assert.match(line, /^[0-9a-f]{64} {2}\S+\.zip\n$/);
    return line.slice(0, 64) === sha;
  };
  assert.equal(await check(KEY), false);
  assert.equal(await check(other), true);
  await using all = await startEmulator({ now: NOW, checksumMismatch: 1 });
  const line = (await get(all.url, `/${other}.CHECKSUM`)).text;
  assert.notEqual(line.slice(0, 64), await sha256Hex(await getBytes(all.url, `/${other}`)));
  assert.equal(all.stats.faults.mismatches, 1);
});

Deno.test("missingFiles: 404 (or 403) for the zip and its CHECKSUM, absent from the listing", async () => {
  await using emu = await startEmulator({ now: NOW, missingFiles: [KEY] });
  assert.equal((await get(emu.url, `/${KEY}`)).status, 404);
  assert.equal((await get(emu.url, `/${KEY}.CHECKSUM`)).status, 404);
  const listing = (await get(
    emu.url,
    "/?delimiter=/&prefix=data/spot/daily/klines/BTCUSDT/1h/BTCUSDT-1h-2024-01-0",
  )).text;
  assert.ok(!listing.includes("BTCUSDT-1h-2024-01-01.zip"));
  assert.ok(listing.includes("BTCUSDT-1h-2024-01-02.zip"));
  await using denied = await startEmulator({ now: NOW, missingFiles: 1, missingStatus: 403 });
  const res = await get(denied.url, `/${KEY}`);
  assert.equal(res.status, 403);
  assert.match(res.text, /<Code>AccessDenied<\/Code>/);
  const rate = await startEmulator({ now: NOW, missingFiles: 0.3, seed: 4 });
  try {
    let missing = 0;
    for (let d = 1; d <= 20; d++) {
      const key = visionKey(
        "spot",
        "daily",
        "BTCUSDT",
        "1d",
        `2024-03-${String(d).padStart(2, "0")}`,
      );
      if ((await get(rate.url, `/${key}`)).status === 404) missing++;
    }
    assert.ok(missing > 0 && missing < 20, String(missing));
  } finally {
    await rate.close();
  }
});

Deno.test("partialFiles: a daily file holds a prefix of its rows, its CHECKSUM matches, the month is whole", async () => {
  await using plain = await startEmulator({ now: NOW });
  await using emu = await startEmulator({ now: NOW, partialFiles: ["BTCUSDT-1h-2024-01-01.zip"] });
  const full = await visionLines(plain.url, KEY);
  const part = await visionLines(emu.url, KEY);
  assert.ok(part.length > 0 && part.length < full.length, String(part.length));
  assert.deepEqual(part, full.slice(0, part.length));
  const line = (await get(emu.url, `/${KEY}.CHECKSUM`)).text;
  assert.equal(line.slice(0, 64), await sha256Hex(await getBytes(emu.url, `/${KEY}`)));
  const month = visionKey("spot", "monthly", "BTCUSDT", "1h", "2024-01");
  assert.equal((await visionLines(emu.url, month)).length, 31 * 24);
  assert.ok(emu.stats.faults.partial >= 1);
});

Deno.test("custom gaps remove candles from every source of their market only", async () => {
  const gap = {
    start: Date.UTC(2024, 0, 1, 5),
    end: Date.UTC(2024, 0, 1, 7),
    market: "um" as const,
  };
  await using emu = await startEmulator({ now: NOW, gaps: [gap] });
  const um = await visionLines(
    emu.url,
    visionKey("futures/um", "daily", "BTCUSDT", "1h", "2024-01-01"),
  );
  assert.equal(um.length, 1 + 22, "header and 22 hours");
  const spot = await visionLines(emu.url, KEY);
  assert.equal(spot.length, 24);
  const rest = JSON.parse(
    (await get(
      emu.url,
      `/fapi/v1/klines?symbol=BTCUSDT&interval=1h&startTime=${gap.start - 3_600_000}&limit=3`,
    )).text,
  );
  assert.deepEqual(rest.map((r: number[]) => r[0]), [
    gap.start - 3_600_000,
    gap.end,
    gap.end + 3_600_000,
  ]);
});

Deno.test("latency and jitter are drawn per request, reproducibly, within bounds", () => {
  const a = new Faults({ seed: 2, latencyMs: 100, jitterMs: 50 });
  const b = new Faults({ seed: 2, latencyMs: 100, jitterMs: 50 });
  const delays = Array.from({ length: 50 }, (_, i) => a.forRequest(`/x${i}`).delayMs);
  assert.deepEqual(delays, Array.from({ length: 50 }, (_, i) => b.forRequest(`/x${i}`).delayMs));
  assert.ok(delays.every((d) => d >= 100 && d < 150));
  assert.ok(new Set(delays).size > 10);
});

Deno.test("a response held by latency is released when the emulator closes", async () => {
  const emu = await startEmulator({ now: NOW, latencyMs: 60_000 });
  const pending = fetch(emu.url + REST).then((r) => r.text()).catch((e) => e);
  await new Promise((resolve) => setTimeout(resolve, 50));
  await emu.close();
  await pending;
});
