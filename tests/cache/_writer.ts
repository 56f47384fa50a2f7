/**
 * Subprocess of the cache process tests: writes partitions through
 * FsKlineStore. Argument: JSON `{ root, keys, interval, source, now, loop }`.
 * Prints "written" after the first round; with `loop`, writes forever.
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
  loop?: boolean;
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
let round = 0;
do {
  for (const { key, batch } of work) await store.write(key, [batch], meta);
  if (round++ === 0) console.log("written");
} while (job.loop);
