import assert from "node:assert/strict";
import type { RecordBatch } from "apache-arrow";
import { partitionOf } from "../../src/core/partition.ts";
import { withDataSource } from "../../src/core/schema.ts";
import { CacheWriter } from "../../src/fcp/_cache_writer.ts";
import { PartitionFinalizer } from "../../src/fcp/_partition_finalizer.ts";
import { DISABLED_CACHE } from "../../src/fcp/cache_port.ts";
import type { EngineContext, PartitionOutcome } from "../../src/fcp/fetch_engine.ts";
import type { FetchReport, PartitionSource } from "../../src/fcp/fetch_report.ts";
import type { Anomaly } from "../../src/fcp/kline_checks.ts";
import { type KlineRequest, resolveRequest } from "../../src/fcp/kline_request.ts";
import { segmentOf } from "../../src/fcp/kline_segment.ts";
import type { CachedRows, CachePort } from "../../src/fcp/source_ports.ts";
import { rowsOf } from "./_ground_truth.ts";
import { candles, grid, StubCache, StubRest, StubVision } from "./_stub_ports.ts";

const NOW = Date.UTC(2025, 1, 10, 12, 30);
const H = 3_600_000;
const DAY = 86_400_000;
const D1 = Date.UTC(2024, 0, 1);

function emptyReport(): FetchReport {
  return {
    market: "spot",
    symbol: "BTCUSDT",
    interval: "1h",
    start: D1,
    end: D1 + DAY,
    rows: 0,
    partitions: [],
    gaps: [],
    anomalies: [],
    anomalyCount: 0,
    failures: [],
    partial: false,
    requests: { visionFiles: 0, listingPages: 0, restCalls: 0, restWeight: 0 },
    elapsedMs: 0,
  };
}

/**
 * A finalizer over a one-day 1h request without `_data_source` (overridable),
 * with its report, progress and cache writer.
 */
function setup(request: Partial<KlineRequest> = {}, cache: CachePort = DISABLED_CACHE) {
  const resolved = resolveRequest(
    {
      symbol: "BTCUSDT",
      interval: "1h",
      start: D1,
      end: D1 + DAY,
      includeSourceInfo: false,
      ...request,
    },
    { market: "spot", now: NOW },
  );
  const report = emptyReport();
  const progress = { rows: 0 };
  const ctx: EngineContext = {
    request: resolved,
    now: NOW,
    cache,
    vision: new StubVision({}),
    rest: new StubRest(() => assert.fail("REST must not be called")),
    signal: new AbortController().signal,
    failures: report.failures,
  };
  const writer = new CacheWriter(cache, resolved, report.failures);
  return {
    finalizer: new PartitionFinalizer(ctx, { report, progress, writer }),
    report,
    progress,
    writer,
  };
}

/** The outcome of day `D1` with one segment of rows at `times` from `source`. */
function outcome(times: number[], source: PartitionSource, cached?: CachedRows): PartitionOutcome {
  const code = source === "cache" ? "CACHE" : source === "rest" ? "REST" : "VISION";
  return {
    partition: partitionOf(D1, "day"),
    segments: times.length > 0 ? [segmentOf([candles(times, "1h")], code)] : [],
    report: { key: "2024-01-01", sources: [source], rows: 0, bytes: 0, ms: 0, cached: false },
    consulted: { vision: source.startsWith("vision"), rest: source === "rest" },
    unfetched: [],
    knownGaps: [],
    failed: false,
    cached,
  };
}

function anomalies(n: number): Anomaly[] {
  return Array.from({ length: n }, (_, i) => ({ kind: "ohlc", openTime: D1 + i, detail: "x" }));
}

function cachedDay(batches: RecordBatch[], extra: Partial<CachedRows> = {}): CachedRows {
  return {
    batches,
    origin: "VISION",
    gaps: [],
    rows: 24,
    first: D1,
    last: D1 + 23 * H,
    anomalies: { total: 0, items: [] },
    ...extra,
  };
}

Deno.test("PartitionFinalizer serves a cached partition inside the range as its own batches", async () => {
  const { finalizer, report, progress } = setup();
  const batch = candles(grid(D1, D1 + DAY, "1h"), "1h");
  const gap = { start: D1 + 30 * H, end: D1 + 32 * H };
  const o = outcome([], "cache", cachedDay([batch], { gaps: [gap] }));
  const out = await finalizer.finalize(o);
  assert.equal(out.length, 1);
  assert.equal(out[0], batch);
  assert.equal(o.report.rows, 24);
  assert.deepEqual(report.partitions, [o.report]);
  assert.equal(report.rows, 24);
  assert.equal(progress.rows, 24);
  assert.deepEqual(report.gaps, [{ ...gap, slots: 2, class: "exchange" }]);
  assert.deepEqual(
    [finalizer.first, finalizer.last, finalizer.seenFirst, finalizer.seenLast],
    [D1, D1 + 23 * H, D1, D1 + 23 * H],
  );
});

Deno.test("PartitionFinalizer tags cached batches CACHE when source info is asked for", async () => {
  const { finalizer } = setup({ includeSourceInfo: true });
  const batch = candles(grid(D1, D1 + DAY, "1h"), "1h");
  const out = await finalizer.finalize(outcome([], "cache", cachedDay([batch])));
  assert.deepEqual(new Set(rowsOf(out).sources), new Set(["CACHE"]));
});

Deno.test("PartitionFinalizer keeps the first hundred anomalies and counts them all", async () => {
  const { finalizer, report } = setup();
  const batch = candles(grid(D1, D1 + DAY, "1h"), "1h");
  const record = { total: 150, items: anomalies(150) };
  await finalizer.finalize(outcome([], "cache", cachedDay([batch], { anomalies: record })));
  assert.equal(report.anomalyCount, 150);
  assert.equal(report.anomalies.length, 100);
});

Deno.test("PartitionFinalizer reads the segments when a cached file lacks its records", async () => {
  // No anomaly record, or batches already carrying `_data_source`: not served as is.
  const times = grid(D1, D1 + DAY, "1h");
  for (
    const cached of [
      cachedDay([candles(times, "1h")], { anomalies: undefined }),
      cachedDay([withDataSource(candles(times, "1h"), "CACHE")]),
    ]
  ) {
    const { finalizer, report } = setup();
    const out = await finalizer.finalize(outcome(times, "cache", cached));
    assert.equal(rowsOf(out).length, 24);
    assert.equal(report.rows, 24);
    assert.deepEqual(report.gaps, []);
  }
});

Deno.test("PartitionFinalizer caches the whole partition even when the range clips it", async () => {
  const cache = new StubCache();
  const { finalizer, writer } = setup({ start: D1 + 2 * H, end: D1 + 5 * H }, cache);
  const o = outcome(grid(D1, D1 + DAY, "1h"), "vision-daily");
  await finalizer.finalize(o);
  await writer.settled();
  assert.deepEqual(cache.writes, ["2024-01-01"]);
  assert.equal(cache.stored.get("2024-01-01")!.rows, 24);
  assert.equal(o.report.cached, true);
});

Deno.test("PartitionFinalizer does not cache rows served from the cache", async () => {
  const cache = new StubCache();
  const { finalizer, writer } = setup({}, cache);
  const times = grid(D1, D1 + DAY, "1h");
  await finalizer.finalize(outcome(times, "cache", cachedDay([candles(times, "1h")])));
  await writer.settled();
  assert.deepEqual(cache.writes, []);
});
