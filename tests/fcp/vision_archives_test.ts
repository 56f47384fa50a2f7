import assert from "node:assert/strict";
import { startEmulator } from "../../src/emulator/emulator.ts";
import { AUTO_WORKER_FILES, VisionArchives } from "../../src/fcp/vision_archives.ts";

const NOW = Date.UTC(2025, 1, 10, 12, 30);

Deno.test("VisionArchives starts a decode worker only for a bulk fetch in auto mode", () => {
  const auto = new VisionArchives({});
  try {
    auto.prepare(AUTO_WORKER_FILES - 1);
    assert.equal(auto.decodeWorkers, 0);
    auto.prepare(AUTO_WORKER_FILES);
    const cores = (navigator.hardwareConcurrency ?? 1) > 1;
    assert.equal(auto.decodeWorkers, cores ? 1 : 0);
  } finally {
    auto.close();
  }
  const off = new VisionArchives({ decodeWorkers: 0 });
  off.prepare(100);
  assert.equal(off.decodeWorkers, 0);
  off.close();
  const two = new VisionArchives({ decodeWorkers: 2 });
  assert.equal(two.decodeWorkers, 2);
  two.close();
});

Deno.test("VisionArchives decodes the same archive with and without a worker", async () => {
  await using emu = await startEmulator({ now: NOW });
  const file = {
    market: "spot",
    symbol: "BTCUSDT",
    interval: "1s",
    period: "daily",
    date: "2025-01-02",
  } as const;
  const signal = new AbortController().signal;
  const results = [];
  for (const decodeWorkers of [0, 1]) {
    const port = new VisionArchives({ endpoints: { vision: emu.url }, decodeWorkers });
    try {
      results.push(await port.file({ ...file, signal }));
    } finally {
      port.close();
    }
  }
  const [plain, pooled] = results;
  assert.equal(plain.status, "ok");
  assert.equal(pooled.status, "ok");
  if (plain.status !== "ok" || pooled.status !== "ok") return;
  assert.equal(plain.sha256, pooled.sha256);
  const rows = (r: typeof plain) => r.batches.reduce((n, b) => n + b.numRows, 0);
  assert.equal(rows(pooled), 86_400);
  assert.equal(rows(plain), rows(pooled));
  const close = (r: typeof plain) => r.batches.flatMap((b) => [...b.getChild("close")!]);
  assert.deepEqual(close(pooled), close(plain));
});
