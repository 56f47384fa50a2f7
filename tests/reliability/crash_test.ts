/**
 * Crash safety: a fetch process killed with SIGKILL at seeded random points
 * leaves a valid cache (every file verifies and holds exact rows), and the
 * next run over that cache completes with the fault-free rows.
 */
import assert from "node:assert/strict";
import { startEmulator } from "../../src/emulator/emulator.ts";
import { DataSourceManager } from "../../src/fcp/data_source_manager.ts";
import { assertCacheValid, NOW, RETRY, tempDir } from "./_harness.ts";
import { type FetchJob, prng, spawnFetch } from "./_child.ts";
import { digestRows, type Rows, rowsOf } from "./_rows.ts";

const unix = Deno.build.os !== "windows";
const REQUEST = {
  market: "spot",
  symbol: "BTCUSDT",
  interval: "1m",
  start: "2025-01-20",
  end: "2025-02-11",
} as const;
const SERIES = "spot/BTCUSDT/1m";
const PARTITIONS = 21; // 2025-01-20 .. 2025-02-09; today is not cached
const TRIALS = 10;
const KILL_WINDOW_MS = 500;

async function fetchInProcess(url: string, cache: string | false) {
  await using dsm = new DataSourceManager({
    market: REQUEST.market,
    cache: cache === false ? false : { dir: cache },
    now: () => NOW,
    retry: RETRY,
    endpoints: { vision: url, listing: url, rest: url },
  });
  const { table, report } = await dsm.getDataWithReport(REQUEST);
  return { rows: rowsOf(table), report };
}

function sourceCounts(rows: Rows): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of rows.sources) out[String(s)] = (out[String(s)] ?? 0) + 1;
  return out;
}

Deno.test({
  name:
    "Crash: a fetch killed with SIGKILL at 10 random points leaves a valid cache that the next run completes",
  ignore: !unix,
  async fn() {
    // latency spreads the fetch over a few hundred ms, so that kills land inside it
    await using emu = await startEmulator({ now: NOW, latencyMs: 15, jitterMs: 30 });
    const base = await fetchInProcess(emu.url, false);
    assert.equal(base.report.partial, false);
    assert.equal(base.rows.length, PARTITIONS * 1440 + 750);
    const baseDigest = await digestRows(base.rows);
    const random = prng(20250210);
    let killedMidway = 0;
    const cachedAtKill: number[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      await using dir = await tempDir();
      const job: FetchJob = { ...REQUEST, url: emu.url, cache: dir.path, now: NOW, concurrency: 4 };
      const child = spawnFetch(job, [
        "--allow-net=127.0.0.1",
        `--allow-read=${dir.path}`,
        `--allow-write=${dir.path}`,
      ]);
      const delay = Math.floor(random() * KILL_WINDOW_MS);
      let done: Record<string, unknown> | undefined;
      try {
        assert.deepEqual(await child.next(), { event: "ready" });
        const finished = child.next();
        const winner = await Promise.race([
          finished,
          new Promise<"timer">((resolve) => setTimeout(() => resolve("timer"), delay)),
        ]);
        if (winner !== "timer") done = winner;
      } finally {
        try {
          child.process.kill("SIGKILL");
        } catch { /* it exited already */ }
      }
      const { status, stderr } = await child.finish();
      if (status.signal === "SIGKILL") killedMidway++;
      else {
        assert.equal(status.code, 0, stderr);
        assert.equal(done?.digest, baseDigest);
      }
      // the cache as the kill left it: every file valid and exact, temp files invisible
      const left = await assertCacheValid(dir.path, { [SERIES]: base.rows }, { allowTemp: true });
      cachedAtKill.push(left.entries.length);
      // the next run completes from that cache, value by value
      const next = await fetchInProcess(emu.url, dir.path);
      assert.equal(await digestRows(next.rows), baseDigest, `trial ${trial}`);
      assert.equal(next.report.partial, false);
      assert.deepEqual(next.report.failures, []);
      const counts = sourceCounts(next.rows);
      assert.equal(
        counts.CACHE ?? 0,
        left.entries.length * 1440,
        `trial ${trial}: ${JSON.stringify(counts)}`,
      );
      assert.equal(counts.REST, 750);
      const after = await assertCacheValid(dir.path, { [SERIES]: base.rows }, { allowTemp: true });
      assert.equal(after.entries.length, PARTITIONS);
    }
    assert.ok(killedMidway >= 1, "no trial was killed before it finished");
    console.log(
      `killed mid-fetch: ${killedMidway}/${TRIALS}; partitions cached at the kill: ${
        cachedAtKill.join(" ")
      }`,
    );
  },
});
