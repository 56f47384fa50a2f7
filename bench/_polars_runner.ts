/**
 * nodejs-polars as an end-to-end contender on a warm cache: the partition
 * files of one series read with `pl.scanIPC(glob).collect()`, one DataFrame.
 *
 * The glob is not guessed: the store lists the series' partition files in
 * the range (`list`, the module's own walk of the cache folder), they must
 * all lie in one folder, and that folder's `*.arrow` files must be exactly
 * those (a temporary or set-aside file is named `….arrow.…` and is not
 * matched). Only the collect is timed (`workMs`); the rows are then summed
 * as every contender sums them: the close column in time order, the first
 * and last open time. Polars reads the files without the module's checks
 * (no CRC-32, no key or range check); their schema metadata is not a column.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import pl from "nodejs-polars";
import { openKlineStore } from "../cache.ts";
import type { ContenderJob, RunnerResult } from "./_contender.ts";

/** The glob of the series' partition files in the range, checked against its folder. */
async function seriesGlob(job: ContenderJob): Promise<{ glob: string; files: number }> {
  if (job.cacheDir === undefined) throw new TypeError("Cannot benchmark: --cache-dir is missing");
  const store = await openKlineStore({ dir: job.cacheDir, now: () => job.now, readOnly: true });
  const entries = await store.list({
    market: job.market,
    symbol: job.symbol,
    interval: job.interval as "1m",
    start: job.start,
    end: job.end,
  });
  const folders = new Set(entries.map((e) => dirname(e.path)));
  if (folders.size !== 1) {
    throw new Error(
      `Cannot benchmark Polars: the series' ${entries.length} files lie in ${folders.size} ` +
        `folders: ${[...folders].join(", ")}`,
    );
  }
  const [folder] = folders;
  const listed = entries.map((e) => basename(e.path)).sort();
  const matched = [...Deno.readDirSync(folder)].map((e) => e.name)
    .filter((name) => name.endsWith(".arrow")).sort();
  if (listed.join() !== matched.join()) {
    throw new Error(
      `Cannot benchmark Polars: "${folder}/*.arrow" matches ${matched.length} files, ` +
        `the store lists ${listed.length} in the range`,
    );
  }
  if (/[*?[\]{}]/.test(folder)) {
    throw new Error(`Cannot benchmark Polars: the folder "${folder}" holds glob characters`);
  }
  return { glob: join(folder, "*.arrow"), files: listed.length };
}

/**
 * Reads the job's range from its warm cache folder with nodejs-polars.
 *
 * @param job The range; `cacheDir` must hold every partition of it.
 * @returns Rows, checksum and edges of the DataFrame; the collect's time as `workMs`.
 */
export async function runPolarsIpc(job: ContenderJob): Promise<RunnerResult> {
  const { glob, files } = await seriesGlob(job);
  const t0 = performance.now();
  const df = await pl.scanIPC(glob).collect();
  const workMs = performance.now() - t0;
  const laterMs: number[] = [];
  for (let i = 0; i < 2; i++) {
    const t1 = performance.now();
    await pl.scanIPC(glob).collect();
    laterMs.push(performance.now() - t1);
  }
  const close = df.getColumn("close").toTypedArray() as Float64Array;
  let checksum = 0;
  for (let i = 0; i < close.length; i++) checksum += close[i];
  const openTime = df.getColumn("open_time").cast(pl.Int64);
  const rows = df.height;
  return {
    rows,
    checksum,
    firstOpenTime: rows ? Number(openTime.head(1).toArray()[0]) : NaN,
    lastOpenTime: rows ? Number(openTime.tail(1).toArray()[0]) : NaN,
    requests: 0,
    workMs,
    polars: { glob, files, columns: df.columns, laterMs },
  };
}
