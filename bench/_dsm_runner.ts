/**
 * This module as an end-to-end contender: `getDataWithReport` into one
 * Table, or `stream()` with every batch dropped as soon as it is read; or a
 * Table while every HTTP request's start, headers and body end are timed
 * (`runDsmPhases`: where a cold fetch's time goes, in a run of its own); or,
 * in one process over a warm cache, the store's own reads of every partition
 * against `getData` called three times (`runDsmSameProcess`).
 *
 * @module
 */
import type { RecordBatch, Table } from "apache-arrow";
import { openKlineStore } from "../cache.ts";
import type { KlineStore } from "../src/cache/kline_store.ts";
import { DataSourceManager } from "../src/fcp/data_source_manager.ts";
import type { FetchReport } from "../src/fcp/fetch_report.ts";
import type { FetchProgress } from "../src/fcp/fetch_run.ts";
import type { ContenderJob, RunnerResult } from "./_contender.ts";
import { Tally } from "./_runner_result.ts";

function manager(
  job: ContenderJob,
  fetcher?: typeof fetch,
  onProgress?: (progress: FetchProgress) => void,
): DataSourceManager {
  return new DataSourceManager({
    market: job.market,
    cache: job.cacheDir === undefined ? false : { dir: job.cacheDir },
    endpoints: { vision: job.url, listing: job.url, rest: job.url },
    now: () => job.now,
    ...(fetcher ? { fetch: fetcher } : {}),
    ...(onProgress ? { onProgress } : {}),
  });
}

function request(job: ContenderJob) {
  return {
    symbol: job.symbol,
    interval: job.interval as "1m",
    start: job.start,
    end: job.end,
    includeSourceInfo: false,
  };
}

/** Times, ms since it was made, of the first or last event of each kind of request. */
class PhaseClock {
  readonly #t0 = performance.now();
  readonly #marks: Record<string, number> = {};

  /** Marks `name` now (the last time it happens). */
  mark(name: string): void {
    this.#marks[name] = performance.now() - this.#t0;
  }

  #first(name: string): void {
    this.#marks[name] ??= performance.now() - this.#t0;
  }

  /** The marks, earliest first. */
  phases(): Record<string, number> {
    return Object.fromEntries(Object.entries(this.#marks).sort((a, b) => a[1] - b[1]));
  }

  /** A progress callback that marks the first and the last partition finalized. */
  readonly progress = (progress: FetchProgress): void => {
    if (progress.partitionsDone === 1) this.mark("first partition done");
    if (progress.partitionsDone === progress.partitionsTotal) this.mark("partitions done");
  };

  /** A fetch that marks the first start, the last headers and last body end per kind. */
  readonly fetch: typeof fetch = async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    const kind = url.endsWith(".CHECKSUM")
      ? "checksum"
      : url.endsWith(".zip")
      ? "archive"
      : /\/(api|fapi|dapi)\//.test(url)
      ? "rest"
      : "listing";
    this.#first("first request");
    this.#first(`${kind} sent`);
    const res = await fetch(input, init);
    this.mark(`${kind} headers`);
    if (res.body === null) {
      this.mark(`${kind} done`);
      return res;
    }
    const body = res.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({ flush: () => this.mark(`${kind} done`) }),
    );
    return new Response(body, res);
  };
}

/** HTTP requests behind a report: each Vision file is a zip and its CHECKSUM. */
function httpRequests(report: FetchReport): number {
  const r = report.requests;
  return 2 * r.visionFiles + r.listingPages + r.restCalls;
}

/**
 * Fetches the job's range into one Table.
 *
 * @param job What to fetch and where.
 * @returns Rows, checksum and requests (from the report).
 */
export function runDsmTable(job: ContenderJob): Promise<RunnerResult> {
  return runDsmWith(job);
}

/**
 * Streams the job's range, reading and dropping each batch.
 *
 * @param job What to fetch and where.
 * @returns Rows, checksum and requests (from the report).
 */
export async function runDsmStream(job: ContenderJob): Promise<RunnerResult> {
  await using dsm = manager(job);
  const { batches, report } = dsm.streamWithReport(request(job));
  const tally = new Tally();
  for await (const batch of batches) tally.add(batch);
  const done = await report;
  if (done.partial) {
    throw new Error(`Cannot benchmark: the result is partial: ${JSON.stringify(done.failures)}`);
  }
  return tally.result(httpRequests(done));
}

/**
 * Fetches the job's range into one Table through a fetch that times each
 * request (start, headers, end of body) by kind: listing, CHECKSUM, archive,
 * REST, and through the progress callback the first and the last partition
 * finalized (checked, cached, handed out). The timing wraps every body in
 * one more stream stage: this run is not one of the timed runs.
 *
 * @param job What to fetch and where.
 * @returns Rows, checksum, requests and the phases, ms since the call.
 */
export async function runDsmPhases(job: ContenderJob): Promise<RunnerResult> {
  const clock = new PhaseClock();
  const result = await runDsmWith(job, clock.fetch, clock.progress);
  clock.mark("result");
  return { ...result, phases: clock.phases() };
}

/** Fetches the job's range into one Table, with a fetch and a progress callback of its own. */
async function runDsmWith(
  job: ContenderJob,
  fetcher?: typeof fetch,
  onProgress?: (progress: FetchProgress) => void,
): Promise<RunnerResult> {
  await using dsm = manager(job, fetcher, onProgress);
  const { table, report } = await dsm.getDataWithReport(request(job));
  if (report.partial) {
    throw new Error(`Cannot benchmark: the result is partial: ${JSON.stringify(report.failures)}`);
  }
  const tally = new Tally();
  tally.addTable(table);
  return tally.result(httpRequests(report));
}

/** Timed store reads of the whole range (after two untimed ones). */
const STORE_READS = 5;

/**
 * The range's partitions read with the store's own API, as the manager reads
 * a warm cache: one listing of the series (`partitions`, which also spares
 * each read its `lstat`), then `read` of every closed partition of the range
 * in order, each file read whole and validated (structure, both CRC-32s, its
 * key, its rows inside it). Only the batches are kept: no Table, no report.
 */
async function readRange(
  store: KlineStore,
  job: ContenderJob,
): Promise<{ batches: RecordBatch[]; partitions: number }> {
  const series = { market: job.market, symbol: job.symbol, interval: job.interval as "1m" };
  const keys = [...await store.partitions(series)].filter((key) => {
    const t = Date.parse(`${key}T00:00:00Z`);
    return t >= job.start && t < job.end;
  }).sort();
  const batches: RecordBatch[] = [];
  for (const partition of keys) {
    const cached = await store.read({ ...series, partition }, {
      onSetAside: (reason) => {
        throw new Error(`Cannot benchmark: cached partition "${partition}" is corrupt: ${reason}`);
      },
    });
    if (cached === undefined) {
      throw new Error(`Cannot benchmark: partition "${partition}" is not in the cache`);
    }
    for (const batch of cached.batches) batches.push(batch);
  }
  return { batches, partitions: keys.length };
}

/**
 * In one process over a warm cache (nothing fetched, nothing filled): the
 * range read with the store's own `partitions` + `read` (two untimed, then
 * {@linkcode STORE_READS} timed), then `getData` of the same range three
 * times on one manager. Both must return the same rows.
 *
 * @param job The range; `cacheDir` must hold every partition of it.
 * @returns The rows of the third `getData`; its time as `workMs`; every time.
 */
export async function runDsmSameProcess(job: ContenderJob): Promise<RunnerResult> {
  if (job.cacheDir === undefined) throw new TypeError("Cannot benchmark: --cache-dir is missing");
  // Opened as the manager opens its own (read-write): reads are the same either way.
  const store = await openKlineStore({ dir: job.cacheDir, now: () => job.now });
  const storeReadMs: number[] = [];
  let read = { batches: [] as RecordBatch[], partitions: 0 };
  for (let i = 0; i < 2 + STORE_READS; i++) {
    const t0 = performance.now();
    read = await readRange(store, job);
    if (i >= 2) storeReadMs.push(performance.now() - t0);
  }
  const fromStore = new Tally();
  for (const batch of read.batches) fromStore.add(batch);
  await using dsm = manager(job);
  const getDataMs: number[] = [];
  let table: Table | undefined;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    table = await dsm.getData(request(job));
    getDataMs.push(performance.now() - t0);
  }
  const tally = new Tally();
  tally.addTable(table!);
  const a = fromStore.result(0), b = tally.result(0);
  for (const key of ["rows", "checksum", "firstOpenTime", "lastOpenTime"] as const) {
    if (!Object.is(a[key], b[key])) {
      throw new Error(`Cannot benchmark: the store read ${key} ${a[key]}, getData ${b[key]}`);
    }
  }
  return {
    ...b,
    workMs: getDataMs[2],
    sameProcess: { partitions: read.partitions, storeReadMs, getDataMs },
  };
}
