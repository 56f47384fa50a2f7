/**
 * Subprocess of the reliability tests: one `DataSourceManager` fetch against
 * the parent's emulator. Argument: a JSON {@linkcode FetchJob}. Prints JSON
 * lines: `{"event":"ready"}` just before the fetch starts, then
 * `{"event":"done", rows, digest, partial, sources, cacheEnabled}`.
 *
 * Needs only `--allow-net=127.0.0.1`, plus read and write on the cache
 * folder when one is given.
 *
 * @module
 */
import {
  DataSourceManager,
  type DataSourceManagerOptions,
} from "../../src/fcp/data_source_manager.ts";
import type { Interval } from "../../src/core/interval.ts";
import type { MarketInput } from "../../src/core/market.ts";
import { digestRows, rowsOf } from "./_rows.ts";

/** What the child fetches. */
export interface FetchJob {
  /** The emulator's base URL. */
  url: string;
  /** Market. */
  market: MarketInput;
  /** Symbol. */
  symbol: string;
  /** Interval. */
  interval: Interval;
  /** Start, ISO or epoch ms. */
  start: string | number;
  /** End, ISO or epoch ms. */
  end: string | number;
  /** Cache folder; `false` for none; `"default"` leaves the option out. */
  cache: string | false | "default";
  /** The clock, epoch ms. */
  now: number;
  /** Units fetched at once. @default 8 */
  concurrency?: number;
}

const job: FetchJob = JSON.parse(Deno.args[0]);
const say = (line: Record<string, unknown>) => console.log(JSON.stringify(line));
const options: DataSourceManagerOptions = {
  market: job.market,
  now: () => job.now,
  concurrency: job.concurrency ?? 8,
  retry: { attempts: 4, baseDelayMs: 1, maxDelayMs: 10 },
  endpoints: { vision: job.url, listing: job.url, rest: job.url },
};
if (job.cache !== "default") options.cache = job.cache === false ? false : { dir: job.cache };
await using dsm = new DataSourceManager(options);
say({ event: "ready" });
const { table, report } = await dsm.getDataWithReport({
  symbol: job.symbol,
  interval: job.interval,
  start: job.start,
  end: job.end,
});
const rows = rowsOf(table);
const sources: Record<string, number> = {};
for (const s of rows.sources) sources[String(s)] = (sources[String(s)] ?? 0) + 1;
say({
  event: "done",
  rows: rows.length,
  digest: await digestRows(rows),
  partial: report.partial,
  sources,
  cached: report.partitions.filter((p) => p.cached).length,
});
