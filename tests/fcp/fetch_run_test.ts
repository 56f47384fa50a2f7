/**
 * What `runFetch` tells Vision's archives before it downloads: whether a
 * decode worker starts shows in no row, report or request of the manager,
 * so it is checked here on the manager's own `VisionArchives`. Every other
 * behaviour of the run loop is tested through the manager in
 * fetch_stream_test.ts and gap_classes_test.ts.
 */
import assert from "node:assert/strict";
import { NullKlineStore } from "../../src/cache/null_kline_store.ts";
import { startEmulator } from "../../src/emulator/emulator.ts";
import { runFetch } from "../../src/fcp/fetch_run.ts";
import { resolveRequest } from "../../src/fcp/kline_request.ts";
import { VisionArchives } from "../../src/fcp/vision_archives.ts";
import { RestClient } from "../../src/source/rest_client.ts";

const NOW = Date.UTC(2025, 1, 10, 12, 30);
const DAY = 86_400_000;
const D1 = Date.UTC(2024, 0, 1);

Deno.test("A table fetch of several archives starts one decode worker, a stream never", async () => {
  await using emulator = await startEmulator({ now: NOW });
  const cores = (globalThis.navigator?.hardwareConcurrency ?? 1) > 1;
  const request = resolveRequest(
    { symbol: "BTCUSDT", interval: "1h", start: D1, end: D1 + 5 * DAY },
    { market: "spot", now: NOW },
  );
  for (const table of [true, false]) {
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
        decodeWorkers: table,
      });
      const batches = await Array.fromAsync(run.batches);
      assert.equal(batches.reduce((n, b) => n + b.numRows, 0), 120);
      assert.deepEqual(
        (await run.report).partitions.map((p) => p.sources),
        Array(5).fill(["vision-daily"]),
      );
      // Five archives (the first, started while the listing is read, included) reach the threshold.
      assert.equal(archives.decodeWorkers, table && cores ? 1 : 0, `table ${table}`);
    } finally {
      archives.close();
    }
  }
});
