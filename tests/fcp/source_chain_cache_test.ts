/**
 * The source chain with a cache, through the manager against the emulator:
 * what is fetched so that a day can be cached, which days are cached, and
 * how a day cached from REST is served or upgraded to Vision.
 */
import assert from "node:assert/strict";
import { openKlineStore } from "../../src/cache/open_kline_store.ts";
import { assertRows, assertSources } from "./_ground_truth.ts";
import {
  archives,
  binanceError,
  BTC,
  D1,
  D2,
  D3,
  DAY,
  DAY1,
  emulator,
  H,
  managerOn,
  NOW,
  restSpans,
  tempDir,
  truth,
} from "./_source_chain_setup.ts";
import { recordingFetch } from "./_recording_fetch.ts";

/** The partitions in the cache at `dir` (one series in these tests), and the source of each. */
async function cachedDays(dir: string): Promise<Record<string, string | undefined>> {
  const store = await openKlineStore({ dir, readOnly: true });
  const out: Record<string, string | undefined> = {};
  for (const { key } of await store.list()) {
    out[key.partition] = (await store.info(key))?.source;
  }
  return out;
}

const requestsTo = (emu: { stats: { requests: Record<string, number> } }) =>
  Object.values(emu.stats.requests).reduce((a, b) => a + b, 0);

Deno.test("Without a cache REST is asked only for the hours requested, and for an open day with one", async () => {
  await using emu = await emulator();
  await using dir = await tempDir();
  const rec = recordingFetch();
  await using dsm = managerOn(emu.url, { fetch: rec.fetch });
  const hours = { ...BTC, start: D1 + 5 * H, end: D1 + 7 * H, source: "rest" as const };
  const { table, report } = await dsm.getDataWithReport(hours);
  assertRows(table, truth(hours.start, hours.end));
  assert.deepEqual(restSpans(rec.urls), [[hours.start, hours.end]]);
  assert.equal(report.partitions[0].cached, false);
  // Today cannot be cached: only the hours requested are asked, with a cache too.
  const today = Date.UTC(2025, 1, 10);
  const open = { ...BTC, start: today + 2 * H, end: today + 4 * H };
  const cachedRec = recordingFetch();
  await using cached = managerOn(emu.url, { fetch: cachedRec.fetch, cache: { dir: dir.path } });
  const live = await cached.getDataWithReport(open);
  assertRows(live.table, truth(open.start, open.end));
  assertSources(live.table, () => "REST");
  assert.deepEqual(restSpans(cachedRec.urls), [[open.start, open.end]]);
  assert.equal(live.report.partitions[0].cached, false);
  assert.deepEqual(await cachedDays(dir.path), {});
});

Deno.test("With a cache a closed day is fetched whole from REST for a few hours of it, and cached", async () => {
  await using emu = await emulator();
  await using dir = await tempDir();
  const rec = recordingFetch();
  await using dsm = managerOn(emu.url, { fetch: rec.fetch, cache: { dir: dir.path } });
  const hours = { ...BTC, start: D1 + 5 * H, end: D1 + 7 * H, source: "rest" as const };
  const { table, report } = await dsm.getDataWithReport(hours);
  assertRows(table, truth(hours.start, hours.end));
  assert.deepEqual(restSpans(rec.urls), [[D1, D2]]);
  assert.equal(report.partitions[0].cached, true);
  assert.deepEqual(await cachedDays(dir.path), { "2024-01-01": "REST" });
  emu.reset();
  const whole = await dsm.getDataWithReport({ ...BTC, start: D1, end: D2, source: "cache" });
  assertRows(whole.table, truth(D1, D2));
  assertSources(whole.table, () => "CACHE");
  assert.equal(requestsTo(emu), 0);
});

Deno.test("Without a cache only the holes inside the range are asked of REST; with one, the whole day's", async () => {
  const halt = [{ start: D1 + 20 * H, end: D1 + 21 * H }];
  await using emu = await emulator({ gaps: halt });
  const morning = { ...BTC, start: D1, end: D1 + 6 * H };
  {
    await using dsm = managerOn(emu.url);
    const { table, report } = await dsm.getDataWithReport(morning);
    assertRows(table, truth(morning.start, morning.end, halt));
    assertSources(table, () => "VISION");
    assert.equal(emu.stats.requests.rest, 0);
    assert.deepEqual(report.gaps, []);
  }
  // With a cache, every hole of the day must be confirmed before it is written.
  await using dir = await tempDir();
  const rec = recordingFetch();
  await using dsm = managerOn(emu.url, { fetch: rec.fetch, cache: { dir: dir.path } });
  const { table, report } = await dsm.getDataWithReport(morning);
  assertRows(table, truth(morning.start, morning.end, halt));
  assert.deepEqual(restSpans(rec.urls), [[halt[0].start, halt[0].end]]);
  assert.equal(report.partitions[0].cached, true);
  emu.reset();
  const day = await dsm.getDataWithReport({ ...BTC, start: D1, end: D2, source: "cache" });
  assertRows(day.table, truth(D1, D2, halt));
  assert.deepEqual(day.report.gaps, [{ ...halt[0], slots: 1, class: "exchange" }]);
  assert.equal(requestsTo(emu), 0);
});

Deno.test("Only closed days fetched whole, with every hole confirmed by both sources, are cached", async () => {
  const D4 = D3 + DAY, D5 = D4 + DAY;
  const hole = (day: number) => ({ start: day + 3 * H, end: day + 4 * H });
  const halts = [hole(D1), hole(D3)];
  await using emu = await emulator({
    gaps: halts,
    checksumMismatch: ["BTCUSDT-1h-2024-01-03.zip"],
    missingFiles: ["BTCUSDT-1h-2024-01-04.zip"],
  });
  {
    // Vision alone: a day with a hole is unconfirmed and not cached, a whole day is.
    await using dir = await tempDir();
    await using dsm = managerOn(emu.url, { cache: { dir: dir.path } });
    const { report } = await dsm.getDataWithReport({
      ...BTC,
      start: D1,
      end: D3,
      source: "vision",
    });
    assert.deepEqual(report.gaps.map((g) => g.class), ["unconfirmed"]);
    assert.deepEqual(report.partitions.map((p) => p.cached), [false, true]);
    assert.deepEqual(await cachedDays(dir.path), { "2024-01-02": "VISION" });
  }
  {
    // Day 1: a hole both sources lack; day 2: whole; day 3: its archive fails, REST
    // alone lacks the hour; day 4: no archive, and REST fails.
    await using dir = await tempDir();
    const rec = recordingFetch((url) =>
      url.pathname.endsWith("/klines") && Number(url.searchParams.get("startTime")) >= D4
        ? binanceError(503, -1001, "Internal error")
        : undefined
    );
    await using dsm = managerOn(emu.url, { fetch: rec.fetch, cache: { dir: dir.path } });
    const { table, report } = await dsm.getDataWithReport({ ...BTC, start: D1, end: D5 });
    assertRows(table, truth(D1, D4, halts));
    assert.deepEqual(report.gaps.map((g) => [g.start, g.class]), [
      [halts[0].start, "exchange"],
      [halts[1].start, "unconfirmed"],
      [D4, "unfetched"],
    ]);
    assert.deepEqual(report.partitions.map((p) => p.cached), [true, true, false, false]);
    assert.deepEqual(await cachedDays(dir.path), {
      "2024-01-01": "VISION",
      "2024-01-02": "VISION",
    });
  }
  {
    // Today is open: never cached.
    await using dir = await tempDir();
    await using dsm = managerOn(emu.url, { cache: { dir: dir.path } });
    const { report } = await dsm.getDataWithReport({ ...BTC, start: NOW - DAY, end: NOW });
    assert.deepEqual(report.partitions.map((p) => [p.key, p.cached]), [
      ["2025-02-09", true],
      ["2025-02-10", false],
    ]);
    assert.deepEqual(Object.keys(await cachedDays(dir.path)), ["2025-02-09"]);
  }
});

Deno.test("A day cached from REST is served from the cache until Vision lists its archive, then upgraded", async () => {
  await using dir = await tempDir();
  const day = { ...BTC, start: D1, end: D2 };
  {
    await using emu = await emulator({ missingFiles: [DAY1] });
    await using dsm = managerOn(emu.url, { cache: { dir: dir.path } });
    const { table, report } = await dsm.getDataWithReport(day);
    assertSources(table, () => "REST");
    assert.equal(report.partitions[0].cached, true);
    assert.deepEqual(await cachedDays(dir.path), { "2024-01-01": "REST" });
  }
  {
    // Still not listed: the cached rows serve, no archive is asked for, REST neither.
    await using emu = await emulator({ missingFiles: [DAY1] });
    const rec = recordingFetch();
    await using dsm = managerOn(emu.url, { fetch: rec.fetch, cache: { dir: dir.path } });
    const { table, report } = await dsm.getDataWithReport(day);
    assertRows(table, truth(D1, D2));
    assertSources(table, () => "CACHE");
    assert.deepEqual(report.partitions[0].sources, ["cache"]);
    assert.ok(rec.urls.some((u) => u.pathname === "/"), "the listing decides");
    assert.deepEqual(archives(rec.urls), []);
    assert.equal(emu.stats.requests.rest, 0);
  }
  {
    // Listed, but the archive fails its checksum: the cached rows serve, not REST.
    await using emu = await emulator({ checksumMismatch: [DAY1] });
    const rec = recordingFetch();
    await using dsm = managerOn(emu.url, { fetch: rec.fetch, cache: { dir: dir.path } });
    const { table, report } = await dsm.getDataWithReport(day);
    assertRows(table, truth(D1, D2));
    assertSources(table, () => "CACHE");
    assert.deepEqual(report.partitions[0].sources, ["cache"]);
    assert.ok(archives(rec.urls).includes(DAY1));
    assert.deepEqual(report.failures.map((f) => f.code), ["CHECKSUM_MISMATCH"]);
    assert.equal(report.partial, false);
    assert.equal(emu.stats.requests.rest, 0);
    assert.deepEqual(await cachedDays(dir.path), { "2024-01-01": "REST" });
  }
  {
    // Listed and verified: Vision's rows replace the cached ones.
    await using emu = await emulator();
    await using dsm = managerOn(emu.url, { cache: { dir: dir.path } });
    const { table, report } = await dsm.getDataWithReport(day);
    assertRows(table, truth(D1, D2));
    assertSources(table, () => "VISION");
    assert.deepEqual(report.partitions[0].sources, ["vision-daily"]);
    assert.equal(emu.stats.requests.rest, 0);
    assert.deepEqual(await cachedDays(dir.path), { "2024-01-01": "VISION" });
  }
});

Deno.test("With source cache, days not in the cache are unfetched, named by no source, and not requested", async () => {
  await using emu = await emulator();
  await using dir = await tempDir();
  await using dsm = managerOn(emu.url, { cache: { dir: dir.path } });
  await dsm.getData({ ...BTC, start: D1, end: D2 });
  emu.reset();
  const { table, report } = await dsm.getDataWithReport({
    ...BTC,
    start: D1,
    end: D3,
    source: "cache",
  });
  assertRows(table, truth(D1, D2));
  assertSources(table, () => "CACHE");
  assert.deepEqual(report.partitions.map((p) => p.sources), [["cache"], []]);
  // A day served from the cache is not written again.
  assert.deepEqual(report.partitions.map((p) => p.cached), [false, false]);
  assert.deepEqual(report.gaps, [{ start: D2, end: D3, slots: 24, class: "unfetched" }]);
  assert.equal(report.partial, true);
  assert.deepEqual(report.failures.map((f) => [f.partition, f.code]), [[
    "2024-01-02",
    "SOURCE_NOT_ALLOWED",
  ]]);
  assert.equal(requestsTo(emu), 0);
});
