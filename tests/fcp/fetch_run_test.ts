import assert from "node:assert/strict";
import type { RecordBatch } from "apache-arrow";
import { HttpError } from "../../src/core/errors.ts";
import { DISABLED_CACHE } from "../../src/fcp/cache_port.ts";
import { type FetchDeps, runFetch } from "../../src/fcp/fetch_run.ts";
import { type KlineRequest, resolveRequest } from "../../src/fcp/kline_request.ts";
import type { CachePort, RestPort, VisionPort } from "../../src/fcp/source_ports.ts";
import { rowsOf } from "./_ground_truth.ts";
import { candles, grid, StubCache, StubRest, StubVision } from "./_stub_ports.ts";

const NOW = Date.UTC(2025, 1, 10, 12, 30);
const H = 3_600_000;
const DAY = 86_400_000;
const D1 = Date.UTC(2024, 0, 1);

function start(
  request: Partial<KlineRequest>,
  ports: {
    vision?: VisionPort;
    rest?: RestPort;
    cache?: CachePort;
    signal?: AbortSignal;
    decodeWorkers?: boolean;
  },
) {
  const resolved = resolveRequest(
    { symbol: "BTCUSDT", interval: "1h", start: D1, end: D1 + 2 * DAY, ...request },
    { market: "spot", now: NOW },
  );
  const deps: FetchDeps = {
    cache: ports.cache ?? DISABLED_CACHE,
    vision: ports.vision ?? new StubVision({}),
    rest: ports.rest ?? new StubRest(() => assert.fail("REST must not be called")),
    now: NOW,
    concurrency: 4,
    signal: ports.signal ?? new AbortController().signal,
    decodeWorkers: ports.decodeWorkers,
  };
  return runFetch(resolved, deps);
}

async function collect(run: ReturnType<typeof start>) {
  const batches: RecordBatch[] = [];
  for await (const b of run.batches) batches.push(b);
  return { batches, rows: rowsOf(batches), report: await run.report };
}

const days = (n: number, from = D1) =>
  Object.fromEntries(
    Array.from({ length: n }, (_, i) => {
      const d = from + i * DAY;
      return [`daily ${new Date(d).toISOString().slice(0, 10)}`, grid(d, d + DAY, "1h")];
    }),
  );

Deno.test("runFetch streams Vision days in time order with a clean report", async () => {
  const vision = new StubVision(days(2));
  const { batches, rows, report } = await collect(start({}, { vision }));
  assert.equal(batches.length, 2);
  assert.deepEqual([...rows.columns.openTime], grid(D1, D1 + 2 * DAY, "1h"));
  assert.ok(rows.sources.every((s) => s === "VISION"));
  assert.deepEqual(report.gaps, []);
  assert.equal(report.partial, false);
  assert.equal(report.rows, 48);
  assert.deepEqual(report.partitions.map((p) => [p.key, p.sources, p.rows]), [
    ["2024-01-01", ["vision-daily"], 24],
    ["2024-01-02", ["vision-daily"], 24],
  ]);
  assert.deepEqual(vision.calls, ["inventory", "daily 2024-01-01", "daily 2024-01-02"]);
});

Deno.test("runFetch in strict mode rejects a partial result with DataNotAvailableError", async () => {
  const vision = new StubVision({ "daily 2024-01-01": grid(D1, D1 + DAY, "1h") });
  const rest = new StubRest(() => new HttpError(503, "http://127.0.0.1/api/v3/klines"));
  const run = start({ strict: true }, { vision, rest });
  await assert.rejects(collect(run), { code: "DATA_NOT_AVAILABLE", message: /HTTP 503/ });
  await assert.rejects(run.report, { code: "DATA_NOT_AVAILABLE" });
});

Deno.test("runFetch writes closed complete partitions to the cache and serves them back", async () => {
  const cache = new StubCache();
  const vision = new StubVision(days(2));
  await collect(start({}, { vision, cache }));
  assert.deepEqual(cache.writes.sort(), ["2024-01-01", "2024-01-02"]);
  assert.equal(cache.stored.get("2024-01-01")!.origin, "VISION");
  assert.equal(cache.stored.get("2024-01-01")!.sha256, "sha-2024-01-01");
  const again = new StubVision({});
  const { rows, report } = await collect(start({}, { vision: again, cache }));
  assert.deepEqual(again.calls, []);
  assert.equal(rows.length, 48);
  assert.ok(rows.sources.every((s) => s === "CACHE"));
  assert.deepEqual(report.partitions.map((p) => p.sources), [["cache"], ["cache"]]);
});

Deno.test("runFetch does not cache a partition with an unconfirmed hole or a failure", async () => {
  const cache = new StubCache();
  const vision = new StubVision({ "daily 2024-01-01": grid(D1, D1 + DAY, "1h", (t) => t === D1) });
  const rest = new StubRest(() => new HttpError(503, "http://127.0.0.1/x"));
  await collect(start({}, { vision, rest, cache }));
  assert.deepEqual(cache.writes, []);
});

Deno.test("runFetch upgrades a cached REST partition to Vision when the archive exists", async () => {
  const cache = new StubCache();
  cache.stored.set("2024-01-01", {
    batches: [candles(grid(D1, D1 + DAY, "1h"), "1h")],
    origin: "REST",
    gaps: [],
  });
  const vision = new StubVision({ "daily 2024-01-01": grid(D1, D1 + DAY, "1h") });
  const { rows, report } = await collect(start({ end: D1 + DAY }, { vision, cache }));
  assert.deepEqual(vision.calls, ["inventory", "daily 2024-01-01"]);
  assert.ok(rows.sources.every((s) => s === "VISION"));
  assert.deepEqual(report.partitions[0].sources, ["vision-daily"]);
  assert.equal(cache.stored.get("2024-01-01")!.origin, "VISION");
});

Deno.test("runFetch with source cache never touches the network", async () => {
  const vision = new StubVision({});
  const { rows, report } = await collect(start({ source: "cache" }, { vision }));
  assert.deepEqual(vision.calls, []);
  assert.equal(rows.length, 0);
  assert.equal(report.partial, true);
  assert.deepEqual(report.gaps.map((g) => g.class), ["unfetched"]);
});

Deno.test("runFetch rejects with the abort reason when aborted mid-stream", async () => {
  const controller = new AbortController();
  const reason = new Error("stopped by the caller");
  const pending: Promise<void>[] = [];
  const vision = new StubVision({
    "daily 2024-01-01": grid(D1, D1 + DAY, "1h"),
    "daily 2024-01-02": (signal) => {
      const { promise, reject } = Promise.withResolvers<never>();
      const timer = setTimeout(() => reject(new Error("not aborted")), 10_000);
      signal.addEventListener("abort", () => {
        clearTimeout(timer);
        reject(signal.reason);
      });
      pending.push(promise.catch(() => {}));
      return promise;
    },
  });
  const run = start({}, { vision, signal: controller.signal });
  const reader = run.batches.getReader();
  const first = await reader.read();
  assert.equal(first.value?.numRows, 24);
  const second = reader.read();
  controller.abort(reason);
  await assert.rejects(second, (e) => e === reason);
  await assert.rejects(run.report, (e) => e === reason);
  await Promise.all(pending);
});

Deno.test("runFetch stops every download when the stream is cancelled", async () => {
  const aborted: unknown[] = [];
  const hang = (signal: AbortSignal) =>
    new Promise<never>((_, reject) => {
      signal.addEventListener("abort", () => {
        aborted.push(signal.reason);
        reject(signal.reason);
      });
    });
  const vision = new StubVision({ "daily 2024-01-01": hang, "daily 2024-01-02": hang });
  const run = start({}, { vision });
  const reader = run.batches.getReader();
  const read = reader.read();
  await new Promise((r) => setTimeout(r, 10));
  await reader.cancel(new Error("enough"));
  await read;
  await assert.rejects(run.report, { message: "enough" });
  assert.equal(aborted.length, 2);
});

Deno.test("runFetch emits nothing more after an abort, even partitions already fetched", async () => {
  const controller = new AbortController();
  const reason = new Error("stop now");
  const vision = new StubVision(days(3));
  const run = start({ end: D1 + 3 * DAY }, { vision, signal: controller.signal });
  const reader = run.batches.getReader();
  assert.equal((await reader.read()).value?.numRows, 24);
  await new Promise((r) => setTimeout(r, 5));
  controller.abort(reason);
  await assert.rejects(reader.read(), (e) => e === reason);
  await assert.rejects(run.report, (e) => e === reason);
});

Deno.test("runFetch downloads the first archive while the listing is read, then plans the rest from it", async () => {
  const vision = new StubVision(days(3));
  let fileAsked!: () => void;
  const asked = new Promise<void>((resolve) => fileAsked = resolve);
  const listingDone = { value: false };
  const inventory = vision.inventory.bind(vision);
  const file = vision.file.bind(vision);
  const ports: VisionPort = {
    // The listing answers only after the first archive was requested.
    inventory: async (series, signal) => {
      await asked;
      listingDone.value = true;
      // The third day is not listed: it must go to REST, not Vision.
      const known = await inventory(series, signal);
      const daily = new Set([...known!.daily].filter((d) => d !== "2024-01-03"));
      return { daily, monthly: known!.monthly };
    },
    file: (request, signal) => {
      if (!listingDone.value) assert.equal(request.date, "2024-01-01");
      fileAsked();
      return file(request, signal);
    },
  };
  const rest = new StubRest((s, e) => grid(s, e, "1h"));
  const { rows, report } = await collect(start({ end: D1 + 3 * DAY }, { vision: ports, rest }));
  assert.equal(rows.length, 72);
  assert.deepEqual(report.partitions.map((p) => p.sources), [
    ["vision-daily"],
    ["vision-daily"],
    ["rest"],
  ]);
  assert.deepEqual(vision.calls.filter((c) => c !== "inventory"), [
    "daily 2024-01-01",
    "daily 2024-01-02",
  ]);
});

Deno.test("runFetch serves a warm partition from its recorded gaps and anomalies, same report as cold", async () => {
  const cache = new StubCache();
  const hole = D1 + 5 * H;
  // An archive with one hole (REST confirms it) and one row whose high is below its close.
  const withAnomaly = (signal: AbortSignal) => {
    signal.throwIfAborted();
    const batch = candles(grid(D1, D1 + DAY, "1h", (t) => t === hole), "1h");
    (batch.getChild("high")!.data[0].values as Float64Array)[2] -= 5;
    return Promise.resolve({ status: "ok" as const, batches: [batch], bytes: 100, sha256: "sha" });
  };
  const vision = new StubVision({ "daily 2024-01-01": withAnomaly });
  const rest = new StubRest(() => []);
  const cold = await collect(start({ end: D1 + DAY }, { vision, rest, cache }));
  assert.deepEqual(cache.writes, ["2024-01-01"]);
  assert.equal(cold.report.anomalyCount, 1);
  assert.equal(cold.report.anomalies[0].kind, "ohlc");
  assert.deepEqual(cold.report.gaps, [{ start: hole, end: hole + H, slots: 1, class: "exchange" }]);
  const offline = new StubVision({});
  const warm = await collect(start({ end: D1 + DAY }, { vision: offline, cache }));
  assert.deepEqual(offline.calls, []);
  assert.deepEqual(warm.report.gaps, cold.report.gaps);
  assert.deepEqual(warm.report.anomalies, cold.report.anomalies);
  assert.equal(warm.report.anomalyCount, 1);
  assert.equal(warm.report.rows, 23);
  assert.deepEqual([...warm.rows.columns.openTime], [...cold.rows.columns.openTime]);
  assert.deepEqual([...warm.rows.columns.high], [...cold.rows.columns.high]);
  assert.ok(warm.rows.sources.every((s) => s === "CACHE"));
  // A range inside the partition takes the checked path and agrees.
  const part = await collect(
    start({ start: D1 + 2 * H, end: D1 + 8 * H }, { vision: offline, cache }),
  );
  assert.equal(part.report.rows, 5);
  assert.equal(part.report.anomalyCount, 1);
  assert.deepEqual(part.report.gaps, cold.report.gaps);
});

Deno.test("runFetch tells Vision how many archives a table fetch plans, never a stream", async () => {
  for (const decodeWorkers of [true, false]) {
    const vision = new StubVision(days(5));
    const told: number[] = [];
    const port: VisionPort = {
      inventory: (series, signal) => vision.inventory(series, signal),
      file: (file, signal) => vision.file(file, signal),
      prepare: (files) => told.push(files),
    };
    const { rows } = await collect(start({ end: D1 + 5 * DAY }, { vision: port, decodeWorkers }));
    assert.equal(rows.length, 120);
    // Every archive counts, the first (started while the listing is read) included.
    assert.deepEqual(told, decodeWorkers ? [5] : []);
  }
});

Deno.test("runFetch collect() returns the stream's batches and resolves the same report", async () => {
  const streamed = await collect(start({}, { vision: new StubVision(days(2)) }));
  const run = start({}, { vision: new StubVision(days(2)) });
  const batches = await run.collect();
  const report = await run.report;
  assert.equal(batches.length, streamed.batches.length);
  assert.deepEqual(rowsOf(batches).columns.openTime, streamed.rows.columns.openTime);
  assert.deepEqual(rowsOf(batches).columns.close, streamed.rows.columns.close);
  assert.equal(report.rows, streamed.report.rows);
  const parts = (r: typeof report) => r.partitions.map((p) => [p.key, p.sources, p.rows, p.sha256]);
  assert.deepEqual(parts(report), parts(streamed.report));
});

Deno.test("runFetch collect() rejects with the run's error, and so does the report", async () => {
  const vision = new StubVision({ "daily 2024-01-01": grid(D1, D1 + DAY, "1h") });
  const rest = new StubRest(() => new HttpError(503, "http://127.0.0.1/api/v3/klines"));
  const run = start({ strict: true }, { vision, rest });
  await assert.rejects(run.collect(), { code: "DATA_NOT_AVAILABLE", message: /HTTP 503/ });
  await assert.rejects(run.report, { code: "DATA_NOT_AVAILABLE" });
});

Deno.test("runFetch collect() stops on abort with the abort reason", async () => {
  const abort = new AbortController();
  const vision = new StubVision(days(2));
  const run = start({}, { vision, signal: abort.signal });
  abort.abort(new DOMException("stop", "AbortError"));
  await assert.rejects(run.collect(), { name: "AbortError" });
  await assert.rejects(run.report, { name: "AbortError" });
});
