/**
 * Subprocess of the cache process tests: writes partitions through
 * FsKlineStore. Argument: JSON `{ root, partitions, interval, source, now,
 * pauseMidWrite }`. Prints "written" after the first round. With
 * `pauseMidWrite`, it then writes the partitions again, and in the middle of
 * the first temporary file (half its bytes written, not renamed) prints
 * "paused <temp file name>" and blocks forever, waiting to be killed.
 *
 * @module
 */
import { FsKlineStore } from "../../src/cache/fs_kline_store.ts";
import type { PartitionKey } from "../../src/cache/kline_store.ts";
import type { Interval } from "../../src/core/interval.ts";
import { candles } from "./_fixtures.ts";

interface Job {
  root: string;
  partitions: string[];
  interval: Interval;
  source: "VISION" | "REST";
  now: number;
  pauseMidWrite?: boolean;
}

/** Makes the next temporary file's first write stop halfway and block the process. */
function pauseInNextTempFile(): void {
  const openSync = Deno.openSync;
  Deno.openSync = (path, options) => {
    const file = openSync(path, options);
    const name = String(path).split(/[\\/]/).at(-1)!;
    if (!name.endsWith(".tmp")) return file;
    Deno.openSync = openSync;
    const writeSync = file.writeSync.bind(file);
    file.writeSync = (bytes) => {
      let at = 0;
      const half = Math.floor(bytes.length / 2);
      while (at < half) at += writeSync(bytes.subarray(at, half));
      console.log(`paused ${name}`);
      // Block the thread (no event loop turn, no rename) until the parent kills us.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
      return at;
    };
    return file;
  };
}

const job: Job = JSON.parse(Deno.args[0]);
const store = new FsKlineStore(job.root, { now: () => job.now });
const work = job.partitions.map((partition) => {
  const start = Date.parse(`${partition}T00:00:00Z`);
  const key: PartitionKey = {
    market: "spot",
    symbol: "BTCUSDT",
    interval: job.interval,
    partition,
  };
  return { key, batch: candles(start, start + 86_400_000, job.interval) };
});
const meta = { source: job.source, visionSha256: "ab".repeat(32), complete: true } as const;
for (const { key, batch } of work) await store.write(key, [batch], meta);
console.log("written");
if (job.pauseMidWrite) {
  pauseInNextTempFile();
  for (const { key, batch } of work) await store.write(key, [batch], meta);
  throw new Error("The write went on past the pause");
}
