/**
 * `dsm sync`: keeps a set of series cached. Each run expands the manifest
 * into series (patterns resolved through the Vision listing), keeps this
 * shard's share, and per series fetches only the closed partitions the
 * cache lacks (so a run after a kill resumes, and a run the next day fetches
 * the new day); series run concurrently in one manager, so under one weight
 * budget. A series is complete when every closed partition of its range is
 * cached or confirmed absent by the exchange.
 *
 * @module
 */
import { DataNotAvailableError } from "../core/errors.ts";
import { type Dataset, datasetInfo, datasetPartitionPeriod } from "../core/dataset.ts";
import type { Interval } from "../core/interval.ts";
import type { Market } from "../core/market.ts";
import { type Partition, partitionOf } from "../core/partition.ts";
import type { FetchFailure } from "./fetch_report.ts";
import type { SyncEntry } from "./sync_manifest.ts";
import type { SeriesLease } from "./sync_lease.ts";

/** One series to keep cached. */
export interface SyncSeries {
  market: Market;
  dataset: Dataset;
  symbol: string;
  /** The interval of a grid dataset. */
  interval?: Interval;
}

/** What sync needs to know from the Vision listing. */
export interface SyncIndex {
  /** The symbols that have archives of a market's dataset (and interval). */
  symbols(market: Market, dataset: Dataset, interval?: Interval): Promise<string[]>;
  /** When a series' first archive starts, epoch ms; undefined when it has none. */
  firstArchive(series: SyncSeries): Promise<number | undefined>;
}

/** What sync needs from the cache and the fetch. */
export interface SyncSources {
  /** The closed partitions of a series already cached (keys). */
  cached(series: SyncSeries): Promise<Set<string>>;
  /**
   * Fetches `[start, end)` of a series into the cache (rows are dropped)
   * and says which spans the exchange confirmed empty.
   */
  fetch(
    series: SyncSeries,
    start: number,
    end: number,
    signal: AbortSignal,
  ): Promise<
    { rows: number; confirmedEmpty: { start: number; end: number }[]; failures: FetchFailure[] }
  >;
  /**
   * Takes a series for this process (undefined: another process that shares
   * the cache works on it now; the series is taken up again once it ends).
   * Without it, every series is this process's.
   */
  claim?(series: SyncSeries): Promise<SeriesLease | undefined>;
}

/** The outcome of one series. */
export interface SeriesSummary {
  /** `market/dataset/symbol[/interval]`. */
  series: string;
  market: Market;
  dataset: Dataset;
  symbol: string;
  interval?: Interval;
  /** First and end of the partitions kept, epoch ms. */
  start: number;
  end: number;
  /** Closed partitions in the range. */
  partitions: number;
  /** Of them, cached before this run. */
  cachedBefore: number;
  /** Of them, cached by this run. */
  fetched: number;
  /** Of them, confirmed absent (no trading, before the listing). */
  confirmedAbsent: number;
  /** Those still missing (the first 100). */
  missing: string[];
  /** Rows fetched. */
  rows: number;
  /** Why partitions are missing. */
  failures: FetchFailure[];
  /** Every closed partition cached or confirmed absent. */
  complete: boolean;
  /** The error that stopped the series, if one did. */
  error?: string;
  /** Wall time, ms. */
  elapsedMs: number;
}

/** The outcome of a sync. */
export interface SyncSummary {
  /** This process's shard, 1-based, of `count`. */
  shard: { index: number; count: number };
  /** Series of the manifest (every shard). */
  seriesTotal: number;
  /** This shard's series, in manifest order. */
  series: SeriesSummary[];
  /** Every series of this shard complete. */
  complete: boolean;
  /** Wall time, ms. */
  elapsedMs: number;
}

/** Options of {@linkcode runSync}. */
export interface SyncOptions {
  /** The Vision listing. */
  index: SyncIndex;
  /** The cache and the fetch. */
  sources: SyncSources;
  /** Current time, epoch ms. */
  now: number;
  /** This process's share: `{ index: i, count: n }`, 1 ≤ i ≤ n. @default {{ index: 1, count: 1 }} */
  shard?: { index: number; count: number };
  /** Series fetched at once. @default {4} */
  concurrency?: number;
  /** Hears each series when it ends. */
  onSeries?: (summary: SeriesSummary, done: number, total: number) => void;
  /** Stops the sync (series in flight end with the abort). */
  signal?: AbortSignal;
  /** How often a series another process holds is asked for again, ms. @default {1000} */
  pollMs?: number;
}

/** `market/dataset/symbol[/interval]`. */
export function seriesKey(s: SyncSeries): string {
  return `${s.market}/${s.dataset}/${s.symbol}${s.interval ? `/${s.interval}` : ""}`;
}

/**
 * A stable share of the series: FNV-1a of the series key, modulo the shard count.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inShard } from "./sync_run.ts";
 * const s = { market: "um" as const, dataset: "klines" as const, symbol: "BTCUSDT", interval: "1m" as const };
 * const owners = [1, 2, 3].filter((index) => inShard(s, { index, count: 3 }));
 * assert.equal(owners.length, 1);
 * ```
 */
export function inShard(series: SyncSeries, shard: { index: number; count: number }): boolean {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(seriesKey(series))) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % shard.count === shard.index - 1;
}

/** Expands the manifest into series, patterns resolved, in manifest order, without repeats. */
export async function expandSeries(
  entries: readonly SyncEntry[],
  index: SyncIndex,
): Promise<{ series: SyncSeries; entry: SyncEntry }[]> {
  const out: { series: SyncSeries; entry: SyncEntry }[] = [];
  const seen = new Set<string>();
  for (const entry of entries) {
    for (const market of entry.markets) {
      for (const dataset of entry.datasets) {
        const grid = datasetInfo(dataset).series === "grid";
        for (const interval of grid ? entry.intervals : [undefined]) {
          let listed: string[] | undefined;
          for (const symbol of entry.symbols) {
            const names = symbol.name !== undefined
              ? [symbol.name]
              : (listed ??= await index.symbols(market, dataset, interval))
                .filter((s) => symbol.pattern!.test(s)).sort();
            for (const name of names) {
              const series: SyncSeries = {
                market,
                dataset,
                symbol: name,
                ...(interval ? { interval } : {}),
              };
              const key = seriesKey(series);
              if (seen.has(key)) continue;
              seen.add(key);
              out.push({ series, entry });
            }
          }
        }
      }
    }
  }
  return out;
}

/** The closed partitions of `[start, end)` (aligned to whole partitions). */
function closedPartitions(
  series: SyncSeries,
  start: number,
  end: number,
  now: number,
): Partition[] {
  const period = datasetPartitionPeriod(series.dataset, series.interval);
  const out: Partition[] = [];
  for (
    let p = partitionOf(start, period);
    p.start < end && p.end <= now;
    p = partitionOf(p.end, period)
  ) {
    out.push(p);
  }
  return out;
}

/** Consecutive partitions as `[start, end)` runs. */
function runsOf(partitions: readonly Partition[]): { start: number; end: number }[] {
  const runs: { start: number; end: number }[] = [];
  for (const p of partitions) {
    const last = runs.at(-1);
    if (last && last.end === p.start) last.end = p.end;
    else runs.push({ start: p.start, end: p.end });
  }
  return runs;
}

const within = (p: Partition, spans: readonly { start: number; end: number }[]) =>
  spans.some((s) => s.start <= p.start && s.end >= p.end);

async function syncOne(
  series: SyncSeries,
  entry: SyncEntry,
  options: SyncOptions,
  signal: AbortSignal,
): Promise<SeriesSummary> {
  const started = performance.now();
  const summary: SeriesSummary = {
    series: seriesKey(series),
    ...series,
    start: 0,
    end: 0,
    partitions: 0,
    cachedBefore: 0,
    fetched: 0,
    confirmedAbsent: 0,
    missing: [],
    rows: 0,
    failures: [],
    complete: false,
    elapsedMs: 0,
  };
  try {
    const first = entry.start === "listing"
      ? await options.index.firstArchive(series)
      : entry.start;
    const end = Math.min(entry.end ?? options.now, options.now);
    if (first === undefined) {
      // No archive at all: nothing the exchange publishes to keep.
      summary.complete = true;
      return summary;
    }
    const partitions = closedPartitions(series, first, end, options.now);
    summary.start = partitions[0]?.start ?? first;
    summary.end = partitions.at(-1)?.end ?? first;
    summary.partitions = partitions.length;
    const before = await options.sources.cached(series);
    const lacking = partitions.filter((p) => !before.has(p.key));
    summary.cachedBefore = partitions.length - lacking.length;
    const confirmed: { start: number; end: number }[] = [];
    for (const run of runsOf(lacking)) {
      try {
        const got = await options.sources.fetch(series, run.start, run.end, signal);
        summary.rows += got.rows;
        confirmed.push(...got.confirmedEmpty);
        summary.failures.push(...got.failures);
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        // Nothing exists in the run: the exchange confirms it empty.
        if (error instanceof DataNotAvailableError && !error.cause) confirmed.push(run);
        else throw error;
      }
    }
    const after = await options.sources.cached(series);
    const still = lacking.filter((p) => !after.has(p.key));
    const absent = still.filter((p) => within(p, confirmed));
    const missing = still.filter((p) => !within(p, confirmed));
    summary.fetched = lacking.length - still.length;
    summary.confirmedAbsent = absent.length;
    summary.missing = missing.slice(0, 100).map((p) => p.key);
    summary.complete = missing.length === 0;
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    summary.error = error instanceof Error ? error.message : String(error);
  } finally {
    summary.elapsedMs = Math.round(performance.now() - started);
  }
  return summary;
}

/** Waits `ms`, or rejects with the signal's reason. */
function abortable(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    signal.throwIfAborted();
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Runs a sync.
 *
 * @param entries The validated manifest.
 * @param options Listing, cache and fetch, clock, shard, concurrency.
 * @returns The summary of this shard's series.
 */
export async function runSync(
  entries: readonly SyncEntry[],
  options: SyncOptions,
): Promise<SyncSummary> {
  const started = performance.now();
  const shard = options.shard ?? { index: 1, count: 1 };
  const signal = options.signal ?? new AbortController().signal;
  const all = await expandSeries(entries, options.index);
  const mine = all.filter((s) => inShard(s.series, shard));
  const results: SeriesSummary[] = new Array(mine.length);
  const claimOf = options.sources.claim?.bind(options.sources);
  // A lease that cannot be written (a store refusing it) does not stop the series: it runs unleased.
  const unleased: SeriesLease = { release: () => Promise.resolve() };
  const claim = claimOf &&
    ((s: SyncSeries) => claimOf(s).catch((): SeriesLease => unleased));
  // Series another process holds, taken up once the free ones are done.
  const held: number[] = [];
  let next = 0;
  let done = 0;
  const one = async (i: number, lease: SeriesLease | undefined) => {
    try {
      results[i] = await syncOne(mine[i].series, mine[i].entry, options, signal);
    } finally {
      await lease?.release();
    }
    options.onSeries?.(results[i], ++done, mine.length);
  };
  const worker = async () => {
    while (next < mine.length) {
      const i = next++;
      const lease = claim ? await claim(mine[i].series) : undefined;
      if (claim && !lease) held.push(i);
      else await one(i, lease);
    }
    while (held.length > 0) {
      const i = held.shift()!;
      const lease = await claim!(mine[i].series);
      if (lease) await one(i, lease);
      else {
        held.push(i);
        await abortable(options.pollMs ?? 1000, signal);
      }
    }
  };
  const workers = Math.max(1, Math.min(options.concurrency ?? 4, mine.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return {
    shard,
    seriesTotal: all.length,
    series: results,
    complete: results.every((r) => r.complete),
    elapsedMs: Math.round(performance.now() - started),
  };
}
