/**
 * Concurrency: 8 processes fetching overlapping ranges into one cache at
 * the same time produce the fault-free tables (identical for identical
 * ranges) and leave only valid files.
 */
import assert from "node:assert/strict";
import { startEmulator } from "../../src/emulator/emulator.ts";
import { DataSourceManager } from "../../src/fcp/data_source_manager.ts";
import { assertCacheValid, DAY, filesUnder, NOW, RETRY, tempDir } from "./_harness.ts";
import { type FetchJob, spawnFetch } from "./_child.ts";
import { digestRows, rowsOf, sliceRows } from "./_rows.ts";

const FIRST = Date.UTC(2025, 0, 20);
const END = Date.UTC(2025, 1, 11);
const OPEN = Date.UTC(2025, 1, 10, 12, 30); // the open 1m candle at NOW is excluded
const SERIES = "spot/BTCUSDT/1m";

/** Four overlapping ranges, each asked by two processes. */
const RANGES = [0, 1, 2, 3].map((k) => ({
  start: FIRST + k * 3 * DAY,
  end: END - k * 2 * DAY,
}));

Deno.test("Concurrency: 8 processes fetching overlapping ranges into one cache agree and leave valid files", async () => {
  await using emu = await startEmulator({ now: NOW, latencyMs: 2, jitterMs: 10 });
  await using dir = await tempDir();
  const base = await (async () => {
    await using dsm = new DataSourceManager({
      cache: false,
      now: () => NOW,
      retry: RETRY,
      endpoints: { vision: emu.url, listing: emu.url, rest: emu.url },
    });
    return rowsOf(await dsm.getData({ symbol: "BTCUSDT", interval: "1m", start: FIRST, end: END }));
  })();
  const children = Array.from({ length: 8 }, (_, i) => {
    const job: FetchJob = {
      url: emu.url,
      market: "spot",
      symbol: "BTCUSDT",
      interval: "1m",
      ...RANGES[i % 4],
      cache: dir.path,
      now: NOW,
    };
    return spawnFetch(job, [
      "--allow-net=127.0.0.1",
      `--allow-read=${dir.path}`,
      `--allow-write=${dir.path}`,
    ]);
  });
  const results = await Promise.all(children.map(async (child) => {
    const lines = [await child.next(), await child.next()];
    const { status, stderr } = await child.finish();
    assert.equal(status.code, 0, stderr);
    return lines[1]!;
  }));
  for (let i = 0; i < 8; i++) {
    const { start, end } = RANGES[i % 4];
    const expected = sliceRows(base, start, Math.min(end, OPEN));
    assert.equal(results[i].rows, expected.length, `process ${i}`);
    assert.equal(results[i].digest, await digestRows(expected), `process ${i}`);
    assert.equal(results[i].partial, false);
    assert.equal(results[i].digest, results[(i + 4) % 8].digest);
  }
  // every closed day of the union is cached once, valid and exact; no temp file is left
  // (beside the partitions: the weight budget the processes shared)
  const check = await assertCacheValid(dir.path, { [SERIES]: base });
  assert.equal(check.entries.length, 21);
  const files = await filesUnder(dir.path);
  assert.ok(files.every((f) => f.endsWith(".arrow") || f === "v1/budget/spot.json"), `${files}`);
  // and the cache alone now serves the whole union
  await using dsm = new DataSourceManager({
    cache: { dir: dir.path },
    now: () => NOW,
    retry: RETRY,
    endpoints: { vision: emu.url, listing: emu.url, rest: emu.url },
  });
  const cached = await dsm.getDataWithReport({
    symbol: "BTCUSDT",
    interval: "1m",
    start: FIRST,
    end: Date.UTC(2025, 1, 10),
    source: "cache",
  });
  const rows = rowsOf(cached.table);
  assert.equal(
    await digestRows(rows),
    await digestRows(sliceRows(base, FIRST, Date.UTC(2025, 1, 10))),
  );
  assert.ok(rows.sources.every((s) => s === "CACHE"));
  assert.equal(cached.report.partial, false);
});
