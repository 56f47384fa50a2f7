/**
 * What `runFetch` tells the Vision port before it downloads: not observable
 * through the manager (a decode worker's start shows in no row, report or
 * request), so it stays here on stub ports. Every other behaviour of the run
 * loop is tested through the manager in fetch_stream_test.ts and
 * gap_classes_test.ts.
 */
import assert from "node:assert/strict";
import { NullKlineStore } from "../../src/cache/null_kline_store.ts";
import { runFetch } from "../../src/fcp/fetch_run.ts";
import { resolveRequest } from "../../src/fcp/kline_request.ts";
import type { VisionPort } from "../../src/fcp/source_ports.ts";
import { RestClient } from "../../src/source/rest_client.ts";
import { grid, StubVision } from "./_stub_ports.ts";

const NOW = Date.UTC(2025, 1, 10, 12, 30);
const DAY = 86_400_000;
const D1 = Date.UTC(2024, 0, 1);

Deno.test("runFetch tells Vision how many archives a table fetch plans, never a stream", async () => {
  const days = Object.fromEntries(
    Array.from({ length: 5 }, (_, i) => {
      const d = D1 + i * DAY;
      return [`daily ${new Date(d).toISOString().slice(0, 10)}`, grid(d, d + DAY, "1h")];
    }),
  );
  for (const decodeWorkers of [true, false]) {
    const vision = new StubVision(days);
    const told: number[] = [];
    const port: VisionPort = {
      inventory: (series, signal) => vision.inventory(series, signal),
      file: (file, signal) => vision.file(file, signal),
      prepare: (files) => told.push(files),
    };
    const request = resolveRequest(
      { symbol: "BTCUSDT", interval: "1h", start: D1, end: D1 + 5 * DAY },
      { market: "spot", now: NOW },
    );
    const run = runFetch(request, {
      cache: new NullKlineStore(),
      vision: port,
      rest: new RestClient({
        market: "spot",
        hosts: ["http://127.0.0.1:1"],
        fetch: () => assert.fail("REST must not be called"),
      }),
      now: NOW,
      concurrency: 4,
      signal: new AbortController().signal,
      decodeWorkers,
    });
    const batches = await run.collect();
    assert.equal(batches.reduce((n, b) => n + b.numRows, 0), 120);
    // Every archive counts, the first (started while the listing is read) included.
    assert.deepEqual(told, decodeWorkers ? [5] : []);
  }
});
