/**
 * The manager's stream and table against the emulator: order, equivalence,
 * strict mode, aborts and cancellation (no request after them), the listing
 * read beside the first archive, and the cache (what is written, what a warm
 * read reports).
 */
import assert from "node:assert/strict";
import type { RecordBatch } from "apache-arrow";
import type { PartitionKey } from "../../src/cache/kline_store.ts";
import { openKlineStore } from "../../src/cache/open_kline_store.ts";
import { startEmulator } from "../../src/emulator/emulator.ts";
import type { EmulatorOptions } from "../../src/emulator/emulator_options.ts";
import type { EmulatedGap } from "../../src/emulator/market_data.ts";
import type {
  DataSourceManager,
  DataSourceManagerOptions,
} from "../../src/fcp/data_source_manager.ts";
import type { FetchReport } from "../../src/fcp/fetch_report.ts";
import { D1, DAY, H, managerOn, NOW } from "./_source_chain_setup.ts";
import { assertRows, assertSources, groundTruth, type TruthOptions } from "./_ground_truth.ts";
import {
  isArchive,
  isListing,
  isRest,
  isZip,
  recordingFetch,
  restError,
} from "./_recording_fetch.ts";

const RETRY = { attempts: 2, baseDelayMs: 1, maxDelayMs: 2 };
const DAYS = (n: number) =>
  ({ symbol: "BTCUSDT", interval: "1h", start: D1, end: D1 + n * DAY }) as const;

type Emu = Awaited<ReturnType<typeof startEmulator>>;

/** Runs `fn` with an emulator at NOW and a manager on it (no cache unless given). */
async function withManager(
  emulator: EmulatorOptions,
  fn: (dsm: DataSourceManager, emu: Emu) => Promise<void>,
  manager: DataSourceManagerOptions = {},
): Promise<void> {
  await using emu = await startEmulator({ now: NOW, ...emulator });
  await using dsm = managerOn(emu.url, { retry: RETRY, ...manager });
  await fn(dsm, emu);
}

/** Runs `fn` with a temporary cache folder, removed afterwards. */
async function withCacheDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dsm_fetch_stream_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function truth(start: number, end: number, options: TruthOptions = {}) {
  return groundTruth("spot", "BTCUSDT", "1h", start, end, options);
}

function netRequests(emu: Emu): number {
  const r = emu.stats.requests;
  return r.vision + r.checksum + r.listing + r.rest;
}

const dayOf = (t: number) => new Date(t).toISOString().slice(0, 10);

Deno.test("stream yields Vision days in time order, one batch each, with a clean report", async () => {
  const rec = recordingFetch();
  await withManager({}, async (dsm) => {
    const { batches, report } = dsm.streamWithReport(DAYS(2));
    const got: RecordBatch[] = [];
    for await (const batch of batches) got.push(batch);
    assert.deepEqual(got.map((b) => b.numRows), [24, 24]);
    assertRows(got, truth(D1, D1 + 2 * DAY));
    assertSources(got, () => "VISION");
    const done = await report;
    assert.deepEqual(done.gaps, []);
    assert.equal(done.partial, false);
    assert.equal(done.rows, 48);
    assert.deepEqual(done.partitions.map((p) => [p.key, p.sources, p.rows]), [
      ["2024-01-01", ["vision-daily"], 24],
      ["2024-01-02", ["vision-daily"], 24],
    ]);
    assert.equal(done.requests.visionFiles, 2);
    assert.equal(rec.urls.filter(isRest).length, 0);
    assert.deepEqual(rec.urls.filter(isZip).map((u) => u.pathname.slice(-14, -4)), [
      "2024-01-01",
      "2024-01-02",
    ]);
  }, { fetch: rec.fetch });
});

Deno.test("getDataWithReport returns the rows and report the stream of the same request gives", async () => {
  const gaps: EmulatedGap[] = [{ start: D1 + 30 * H, end: D1 + 32 * H }];
  await withManager({ gaps }, async (dsm) => {
    const { table, report } = await dsm.getDataWithReport(DAYS(2));
    const streamed = dsm.streamWithReport(DAYS(2));
    const batches = await Array.fromAsync(streamed.batches);
    const streamedReport = await streamed.report;
    const expected = truth(D1, D1 + 2 * DAY, { gaps });
    assertRows(table, expected);
    assertRows(batches, expected);
    assert.equal(table.batches.length, batches.length);
    const parts = (r: FetchReport) => r.partitions.map((p) => [p.key, p.sources, p.rows, p.sha256]);
    assert.deepEqual(parts(report), parts(streamedReport));
    assert.ok(report.partitions.every((p) => p.sha256?.length === 64));
    assert.deepEqual(report.gaps, streamedReport.gaps);
    assert.equal(report.rows, streamedReport.rows);
  });
});

Deno.test("Strict mode rejects a partial result with DataNotAvailableError: table, stream and report", async () => {
  const rec = recordingFetch((url) => isRest(url) ? restError(503) : undefined);
  await withManager({ missingFiles: ["BTCUSDT-1h-2024-01-02.zip"] }, async (dsm) => {
    const request = { ...DAYS(2), strict: true };
    const expected = { name: "DataNotAvailableError", code: "DATA_NOT_AVAILABLE" };
    await assert.rejects(dsm.getDataWithReport(request), { ...expected, message: /HTTP 503/ });
    const { batches, report } = dsm.streamWithReport(request);
    await assert.rejects(Array.fromAsync(batches), { ...expected, message: /HTTP 503/ });
    await assert.rejects(report, expected);
  }, { fetch: rec.fetch });
});

Deno.test("Aborting mid-stream rejects the read and the report with the reason and stops every request", async () => {
  // The second day's archive never answers until aborted.
  const rec = recordingFetch((url, signal) =>
    isArchive(url, "2024-01-02") ? rec.hang(url, signal) : undefined
  );
  await withManager({}, async (dsm) => {
    const controller = new AbortController();
    const reason = new Error("stopped by the caller");
    const { batches, report } = dsm.streamWithReport(DAYS(2), { signal: controller.signal });
    const reader = batches.getReader();
    assert.equal((await reader.read()).value?.numRows, 24);
    await rec.sent((u) => isArchive(u, "2024-01-02"));
    const second = reader.read();
    const asked = rec.urls.length;
    controller.abort(reason);
    await assert.rejects(second, (e) => e === reason);
    await assert.rejects(report, (e) => e === reason);
    await dsm.close();
    assert.equal(rec.urls.length, asked, "no request after the abort");
    assert.ok(rec.hung.length >= 1);
    assert.deepEqual(rec.aborted, rec.hung.map(() => reason));
  }, { fetch: rec.fetch });
});

Deno.test("Cancelling the stream aborts every download in flight and sends nothing more", async () => {
  const rec = recordingFetch((url, signal) => isArchive(url) ? rec.hang(url, signal) : undefined);
  await withManager({}, async (dsm) => {
    const { batches, report } = dsm.streamWithReport(DAYS(2));
    const reader = batches.getReader();
    const read = reader.read();
    await rec.sent((u) => isArchive(u, "2024-01-01"));
    await rec.sent((u) => isArchive(u, "2024-01-02"));
    const asked = rec.urls.length;
    const reason = new Error("enough");
    await reader.cancel(reason);
    assert.deepEqual(await read, { done: true, value: undefined });
    await assert.rejects(report, { message: "enough" });
    await dsm.close();
    assert.equal(rec.urls.length, asked, "no request after the cancel");
    assert.ok(rec.hung.length >= 2, `${rec.hung.length} hung`);
    assert.equal(rec.aborted.length, rec.hung.length);
  }, { fetch: rec.fetch });
});

Deno.test("After an abort the stream emits nothing more, not even days already downloaded", async () => {
  const rec = recordingFetch();
  await withManager({}, async (dsm) => {
    const controller = new AbortController();
    const reason = new Error("stop now");
    const { batches, report } = dsm.streamWithReport(DAYS(3), { signal: controller.signal });
    const reader = batches.getReader();
    assert.equal((await reader.read()).value?.numRows, 24);
    await rec.answered((u) => isZip(u) && isArchive(u, "2024-01-03"));
    controller.abort(reason);
    await assert.rejects(reader.read(), (e) => e === reason);
    await assert.rejects(report, (e) => e === reason);
  }, { fetch: rec.fetch });
});

Deno.test("getDataWithReport aborted after it started rejects with the abort reason", async () => {
  await withManager({}, async (dsm) => {
    const controller = new AbortController();
    const pending = dsm.getDataWithReport(DAYS(2), { signal: controller.signal });
    controller.abort(new DOMException("stop", "AbortError"));
    await assert.rejects(pending, { name: "AbortError", message: "stop" });
  });
});

Deno.test("The first archive downloads while the listing is read; the listing plans the rest", async () => {
  // The listing answers only once an archive was asked for; the third day
  // is not on Vision (not listed) and must go to REST without a try on Vision.
  const { promise: archiveAsked, resolve } = Promise.withResolvers<void>();
  const beforeListing: string[] = [];
  let listed = false;
  const rec = recordingFetch((url, signal) => {
    if (isArchive(url)) {
      if (!listed) beforeListing.push(url.pathname);
      resolve();
    }
    if (!isListing(url)) return undefined;
    return archiveAsked.then(() => {
      listed = true;
      return fetch(url, { signal });
    });
  });
  await withManager({ missingFiles: ["BTCUSDT-1h-2024-01-03.zip"] }, async (dsm) => {
    const { table, report } = await dsm.getDataWithReport(DAYS(3));
    assertRows(table, truth(D1, D1 + 3 * DAY));
    assertSources(table, (t) => t < D1 + 2 * DAY ? "VISION" : "REST");
    assert.deepEqual(report.partitions.map((p) => p.sources), [
      ["vision-daily"],
      ["vision-daily"],
      ["rest"],
    ]);
    assert.ok(beforeListing.length > 0);
    assert.ok(beforeListing.every((p) => p.includes("-2024-01-01.zip")), `${beforeListing}`);
    assert.equal(rec.urls.filter((u) => isArchive(u, "2024-01-03")).length, 0);
  }, { fetch: rec.fetch });
});

// ---------------------------------------------------------------------------
// The cache

Deno.test("Closed complete days are cached from Vision and served back whole, gaps included, without a request", async () => {
  const gaps: EmulatedGap[] = [{ start: D1 + 30 * H, end: D1 + 32 * H }];
  const expected = truth(D1, D1 + 2 * DAY, { gaps });
  await withCacheDir(async (dir) => {
    await withManager({ gaps }, async (dsm, emu) => {
      const cold = await dsm.getDataWithReport(DAYS(2));
      assertRows(cold.table, expected);
      assert.deepEqual(cold.report.partitions.map((p) => p.cached), [true, true]);
      const stats = await (await openKlineStore({ dir })).stats();
      assert.deepEqual([stats.partitions, stats.rows, stats.restPartitions], [2, 46, 0]);
      emu.reset();
      const { batches, report } = dsm.streamWithReport(DAYS(2));
      const warm = await Array.fromAsync(batches);
      const done = await report;
      assert.equal(netRequests(emu), 0);
      assert.deepEqual(warm.map((b) => b.numRows), [24, 22]);
      assertRows(warm, expected);
      assertSources(warm, () => "CACHE");
      assert.deepEqual(done.partitions.map((p) => [p.sources, p.cached]), [
        [["cache"], false],
        [["cache"], false],
      ]);
      // Each cached day names the archive it was verified against when written.
      assert.deepEqual(
        done.partitions.map((p) => p.sha256),
        cold.report.partitions.map((p) => p.sha256),
      );
      assert.ok(done.partitions.every((p) => /^[0-9a-f]{64}$/.test(p.sha256 ?? "")));
      // The halt was confirmed when the day was cached: still an exchange gap.
      assert.deepEqual(done.gaps, cold.report.gaps);
      assert.deepEqual(done.gaps.map((g) => g.class), ["exchange"]);
    }, { cache: { dir } });
  });
});

Deno.test("A day with an unconfirmed hole or a failed source is not cached", async () => {
  // REST fails: the halt in the first day cannot be confirmed, the second
  // day (not on Vision) cannot be fetched.
  const gaps: EmulatedGap[] = [{ start: D1 + 5 * H, end: D1 + 6 * H }];
  const rec = recordingFetch((url) => isRest(url) ? restError(503) : undefined);
  await withCacheDir(async (dir) => {
    await withManager({ gaps, missingFiles: ["BTCUSDT-1h-2024-01-02.zip"] }, async (dsm) => {
      const { report } = await dsm.getDataWithReport(DAYS(2));
      assert.equal(report.partial, true);
      assert.deepEqual(report.partitions.map((p) => p.cached), [false, false]);
      assert.equal((await (await openKlineStore({ dir })).stats()).partitions, 0);
      const cached = await dsm.getDataWithReport({ ...DAYS(2), source: "cache" });
      assert.equal(cached.table.numRows, 0);
    }, { cache: { dir }, fetch: rec.fetch });
  });
});

Deno.test("A day cached from REST is upgraded to Vision once the archive exists", async () => {
  const request = DAYS(1);
  await withCacheDir(async (dir) => {
    await withManager({ missingFiles: ["BTCUSDT-1h-2024-01-01.zip"] }, async (dsm) => {
      const { table, report } = await dsm.getDataWithReport(request);
      assertSources(table, () => "REST");
      assert.equal(report.partitions[0].cached, true);
    }, { cache: { dir } });
    assert.equal((await (await openKlineStore({ dir })).stats()).restPartitions, 1);
    await withManager({}, async (dsm, emu) => {
      const { table, report } = await dsm.getDataWithReport(request);
      assertRows(table, truth(D1, D1 + DAY));
      assertSources(table, () => "VISION");
      assert.deepEqual(report.partitions[0].sources, ["vision-daily"]);
      assert.equal(emu.stats.requests.vision, 1);
      // Stored from Vision now: nothing is left to upgrade, nothing is asked.
      const stats = await (await openKlineStore({ dir })).stats();
      assert.deepEqual([stats.partitions, stats.restPartitions], [1, 0]);
      emu.reset();
      assertSources(await dsm.getData(request), () => "CACHE");
      assert.equal(netRequests(emu), 0);
    }, { cache: { dir } });
  });
});

Deno.test("source cache on an empty cache returns nothing, unfetched, without a request", async () => {
  const rec = recordingFetch();
  await withCacheDir(async (dir) => {
    await withManager({}, async (dsm, emu) => {
      const { table, report } = await dsm.getDataWithReport({ ...DAYS(2), source: "cache" });
      assert.equal(table.numRows, 0);
      assert.equal(report.partial, true);
      assert.deepEqual(report.gaps.map((g) => [g.start, g.end, g.class]), [
        [D1, D1 + 2 * DAY, "unfetched"],
      ]);
      assert.equal(netRequests(emu), 0);
      assert.deepEqual(rec.urls, []);
    }, { cache: { dir }, fetch: rec.fetch });
  });
});

Deno.test("A range inside a day caches the whole day and returns only the range", async () => {
  await withCacheDir(async (dir) => {
    await withManager({}, async (dsm) => {
      const inside = { ...DAYS(1), start: D1 + 2 * H, end: D1 + 5 * H };
      const { table, report } = await dsm.getDataWithReport(inside);
      assertRows(table, truth(D1 + 2 * H, D1 + 5 * H));
      assert.deepEqual(report.partitions.map((p) => [p.rows, p.cached]), [[3, true]]);
      const whole = await dsm.getData({ ...DAYS(1), source: "cache" });
      assertRows(whole, truth(D1, D1 + DAY));
    }, { cache: { dir } });
  });
});

Deno.test("A warm day reports the gaps and anomalies recorded with it, as the cold fetch did", async () => {
  // 2019-05-15 in the real-like history: 8 halted hours (both sources lack
  // them), an irregular close time and a zero-volume row.
  const day = Date.UTC(2019, 4, 15);
  const request = { symbol: "BTCUSDT", interval: "1h", start: day, end: day + DAY } as const;
  await withCacheDir(async (dir) => {
    await withManager({}, async (dsm, emu) => {
      const cold = await dsm.getDataWithReport(request);
      assertRows(cold.table, truth(day, day + DAY));
      assert.deepEqual(cold.report.partitions.map((p) => p.cached), [true]);
      assert.deepEqual(cold.report.anomalies.map((a) => a.kind), ["close_time", "zero_volume"]);
      assert.deepEqual(cold.report.gaps.map((g) => [g.start, g.slots, g.class]), [
        [day + H, 8, "exchange"],
      ]);
      emu.reset();
      const warm = await dsm.getDataWithReport(request);
      assert.equal(netRequests(emu), 0);
      assertRows(warm.table, truth(day, day + DAY));
      assertSources(warm.table, () => "CACHE");
      assert.deepEqual(warm.report.gaps, cold.report.gaps);
      assert.deepEqual(warm.report.anomalies, cold.report.anomalies);
      assert.equal(warm.report.anomalyCount, 2);
      // A range inside the day agrees: the halt at its start is still a halt.
      const part = await dsm.getDataWithReport({
        ...request,
        start: day + 2 * H,
        end: day + 10 * H,
      });
      assertRows(part.table, truth(day + 2 * H, day + 10 * H));
      assert.deepEqual(part.report.anomalies.map((a) => a.kind), ["zero_volume"]);
      assert.deepEqual(part.report.gaps.map((g) => [g.start, g.end, g.class]), [
        [day + 2 * H, day + 9 * H, "exchange"],
      ]);
      assert.equal(netRequests(emu), 0);
    }, { cache: { dir } });
  });
});

Deno.test("A cached day with hundreds of anomalies reports the first hundred and counts them all", async () => {
  // 2017-09-01 in the real-like history: every 1m row has a non-zero `ignore`.
  const start = Date.UTC(2017, 8, 1), end = start + DAY;
  const request = { symbol: "BTCUSDT", interval: "1m", start, end } as const;
  await withCacheDir(async (dir) => {
    await withManager({}, async (dsm, emu) => {
      const cold = await dsm.getDataWithReport(request);
      assert.equal(cold.report.anomalyCount, 1440);
      assert.equal(cold.report.anomalies.length, 100);
      assert.deepEqual(cold.report.partitions.map((p) => [p.key, p.cached]), [[
        "2017-09-01",
        true,
      ]]);
      emu.reset();
      const warm = await dsm.getDataWithReport(request);
      assert.equal(netRequests(emu), 0);
      assertRows(warm.table, groundTruth("spot", "BTCUSDT", "1m", start, end));
      assert.equal(warm.report.anomalyCount, 1440);
      assert.deepEqual(warm.report.anomalies, cold.report.anomalies);
    }, { cache: { dir } });
  });
});

Deno.test("A cached day written without its anomaly record, or with _data_source, still reads exact", async () => {
  // Files of earlier versions: no anomaly record; batches carrying `_data_source`.
  const request = DAYS(1);
  await withCacheDir(async (dir) => {
    await withManager({}, async (dsm) => {
      const plain = await dsm.getData({ ...request, includeSourceInfo: false });
      const tagged = await dsm.getData(request);
      for (const table of [plain, tagged]) {
        const store = await openKlineStore({ dir, now: () => NOW });
        const key: PartitionKey = {
          market: "spot",
          symbol: "BTCUSDT",
          interval: "1h",
          partition: dayOf(D1),
        };
        // The manager's own file of the day goes: the read below is of this one.
        assert.equal(await store.clear(), 1);
        assert.ok(await store.write(key, table.batches, { source: "VISION", complete: true }));
        assert.equal((await store.info(key))?.anomalies, undefined);
        const { table: warm, report } = await dsm.getDataWithReport({
          ...request,
          source: "cache",
        });
        assertRows(warm, truth(D1, D1 + DAY));
        assertSources(warm, () => "CACHE");
        assert.equal(report.rows, 24);
        assert.deepEqual(report.gaps, []);
        assert.equal(report.partial, false);
      }
    }, { cache: { dir } });
  });
});
