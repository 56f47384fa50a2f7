/**
 * What `runFetch` tells Vision's archives before it downloads: whether a
 * decode worker starts shows in no row, report or request of the manager,
 * so it is checked here on the manager's own `VisionArchives`. Every other
 * behaviour of the run loop is tested through the manager in
 * fetch_stream_test.ts and gap_classes_test.ts. The same holds for a cache
 * whose read fails with an I/O error, which no file on disk can cause for a
 * process that runs as root: a store that throws stands in for it.
 */
import assert from "node:assert/strict";
import { NullKlineStore } from "../../src/cache/null_kline_store.ts";
import { openKlineStore } from "../../src/cache/open_kline_store.ts";
import type { KlineStore, PartitionKey } from "../../src/cache/kline_store.ts";
import { CacheError } from "../../src/core/errors.ts";
import { startEmulator } from "../../src/emulator/emulator.ts";
import { runFetch } from "../../src/fcp/fetch_run.ts";
import { STREAM_ROWS_IN_FLIGHT } from "../../src/fcp/_fetch_window.ts";
import { resolveRequest } from "../../src/fcp/kline_request.ts";
import { VisionArchives } from "../../src/fcp/vision_archives.ts";
import { RestClient } from "../../src/source/rest_client.ts";

const NOW = Date.UTC(2025, 1, 10, 12, 30);
const DAY = 86_400_000;
const D1 = Date.UTC(2024, 0, 1);

Deno.test("A fetch of several archives starts one decode worker, a fetch of a few none", async () => {
  await using emulator = await startEmulator({ now: NOW });
  const cores = (globalThis.navigator?.hardwareConcurrency ?? 1) > 1;
  for (const days of [5, 2]) {
    const request = resolveRequest(
      { symbol: "BTCUSDT", interval: "1h", start: D1, end: D1 + days * DAY },
      { market: "spot", now: NOW },
    );
    const archives = new VisionArchives({
      endpoints: { vision: emulator.url, listing: emulator.url },
    });
    try {
      const run = runFetch(request, {
        cache: new NullKlineStore(),
        vision: archives,
        rest: new RestClient({
          market: "spot",
          hosts: ["http://127.0.0.1:1"],
          fetch: () => assert.fail("REST must not be called"),
        }),
        now: NOW,
        concurrency: 4,
        signal: new AbortController().signal,
      });
      // Read as a stream, as `stream()` does: the worker serves streams too.
      const batches = await Array.fromAsync(run.stream());
      assert.equal(batches.reduce((n, b) => n + b.numRows, 0), 24 * days);
      assert.deepEqual(
        (await run.report).partitions.map((p) => p.sources),
        Array(days).fill(["vision-daily"]),
      );
      // Five archives (the first, started while the listing is read, included) reach the threshold.
      assert.equal(archives.decodeWorkers, days >= 4 && cores ? 1 : 0, `${days} days`);
    } finally {
      archives.close();
    }
  }
});

Deno.test("A fetch of several archives starts its decode worker while the listing is read", async () => {
  await using emulator = await startEmulator({ now: NOW });
  const cores = (globalThis.navigator?.hardwareConcurrency ?? 1) > 1;
  const request = resolveRequest(
    { symbol: "BTCUSDT", interval: "1h", start: D1, end: D1 + 5 * DAY },
    { market: "spot", now: NOW },
  );
  const abort = new AbortController();
  const { promise: listed, resolve } = Promise.withResolvers<void>();
  // The listing never answers: a worker that runs now was started from the plan made before it.
  const held: typeof fetch = (input, init) => {
    if (!String(input).includes("prefix=")) return fetch(input, init);
    resolve();
    return new Promise<Response>((_, reject) => {
      init?.signal?.addEventListener("abort", () => reject(init.signal!.reason), { once: true });
    });
  };
  const archives = new VisionArchives({
    endpoints: { vision: emulator.url, listing: emulator.url },
    fetch: held,
  });
  try {
    const run = runFetch(request, {
      cache: new NullKlineStore(),
      vision: archives,
      rest: new RestClient({ market: "spot", hosts: ["http://127.0.0.1:1"] }),
      now: NOW,
      concurrency: 4,
      signal: abort.signal,
    });
    run.report.catch(() => {});
    const next = run.batches.next().catch(() => undefined);
    await listed;
    assert.equal(archives.decodeWorkers, cores ? 1 : 0);
    abort.abort(new DOMException("test over", "AbortError"));
    await next;
  } finally {
    archives.close();
  }
});

Deno.test("A stream holds fewer days of 1s in flight than a table", async () => {
  await using emulator = await startEmulator({ now: NOW });
  const request = resolveRequest(
    { symbol: "BTCUSDT", interval: "1s", start: D1, end: D1 + 8 * DAY },
    { market: "spot", now: NOW },
  );
  const started: string[] = [];
  for (const rowsInFlight of [STREAM_ROWS_IN_FLIGHT, undefined]) {
    const abort = new AbortController();
    const checksums: string[] = [];
    // The first day comes; the others' CHECKSUMs never answer: what is asked is what is in flight.
    const held: typeof fetch = (input, init) => {
      const url = String(input);
      if (!url.endsWith(".CHECKSUM")) return fetch(input, init);
      checksums.push(url);
      if (url.includes("2024-01-01")) return fetch(input, init);
      return new Promise<Response>((_, reject) => {
        init?.signal?.addEventListener("abort", () => reject(init.signal!.reason), { once: true });
      });
    };
    const archives = new VisionArchives({
      endpoints: { vision: emulator.url, listing: emulator.url },
      fetch: held,
      decodeWorkers: 0,
    });
    try {
      const run = runFetch(request, {
        cache: new NullKlineStore(),
        vision: archives,
        rest: new RestClient({ market: "spot", hosts: ["http://127.0.0.1:1"] }),
        now: NOW,
        concurrency: 8,
        signal: abort.signal,
        rowsInFlight,
      });
      run.report.catch(() => {});
      const first = await run.batches.next();
      assert.equal(first.value?.numRows, 86_400);
      // The requests of the jobs the window started are sent within microtasks: one macrotask on.
      await new Promise((resolve) => setTimeout(resolve, 0));
      started.push(`${checksums.length}`);
    } finally {
      abort.abort(new DOMException("test over", "AbortError"));
      archives.close();
    }
  }
  // Three days of 86,400 rows, then the next once the first is out: 4; a table's 400,000 rows: 5.
  assert.deepEqual(started, ["4", "5"]);
});

Deno.test("A cached partition that cannot be read is fetched from the next source, the failure reported", async () => {
  await using emulator = await startEmulator({ now: NOW });
  const dir = await Deno.makeTempDir();
  try {
    const store = await openKlineStore({ dir });
    const request = resolveRequest(
      { symbol: "BTCUSDT", interval: "1h", start: D1, end: D1 + 2 * DAY },
      { market: "spot", now: NOW },
    );
    const archives = new VisionArchives({
      endpoints: { vision: emulator.url, listing: emulator.url },
      decodeWorkers: 0,
    });
    const rest = new RestClient({ market: "spot", hosts: [emulator.url] });
    const deps = (cache: KlineStore) => ({
      cache,
      vision: archives,
      rest,
      now: NOW,
      concurrency: 4,
      signal: new AbortController().signal,
    });
    const cold = runFetch(request, deps(store));
    const coldRows = await Array.fromAsync(cold.batches);
    assert.deepEqual((await cold.report).partitions.map((p) => p.cached), [true, true]);
    // The second day's file cannot be read: an I/O error of the store, not a corrupt file.
    const failing = new Proxy(store, {
      get(target, prop) {
        if (prop === "read") {
          return (key: PartitionKey, options?: Parameters<KlineStore["read"]>[1]) =>
            key.partition === "2024-01-02"
              ? Promise.reject(new CacheError('Cannot read cache file "x"', "x"))
              : target.read(key, options);
        }
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const warm = runFetch(request, deps(failing));
    const warmRows = await Array.fromAsync(warm.batches);
    const report = await warm.report;
    assert.deepEqual(
      warmRows.flatMap((b) => [...b.getChild("close")!]),
      coldRows.flatMap((b) => [...b.getChild("close")!]),
    );
    assert.deepEqual(report.partitions.map((p) => p.sources), [["cache"], ["vision-daily"]]);
    assert.deepEqual(report.failures.map((f) => [f.partition, f.code]), [[
      "2024-01-02",
      "CACHE_ERROR",
    ]]);
    assert.equal(report.partial, false);
    archives.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
