/**
 * This module as an end-to-end contender: `getDataWithReport` into one
 * Table, or `stream()` with every batch dropped as soon as it is read; or a
 * Table while every HTTP request's start, headers and body end are timed
 * (`runDsmPhases`: where a cold fetch's time goes, in a run of its own).
 *
 * @module
 */
import type { RecordBatch, Table, Vector } from "apache-arrow";
import { DataSourceManager } from "../src/fcp/data_source_manager.ts";
import type { FetchReport } from "../src/fcp/fetch_report.ts";
import type { ContenderJob, RunnerResult } from "./_contender.ts";

function manager(job: ContenderJob, fetcher?: typeof fetch): DataSourceManager {
  return new DataSourceManager({
    market: job.market,
    cache: job.cacheDir === undefined ? false : { dir: job.cacheDir },
    endpoints: { vision: job.url, listing: job.url, rest: job.url },
    now: () => job.now,
    ...(fetcher ? { fetch: fetcher } : {}),
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

/** Sums rows, closes and edge open times batch by batch. */
class Tally {
  rows = 0;
  checksum = 0;
  firstOpenTime = NaN;
  lastOpenTime = NaN;

  add(batch: RecordBatch): void {
    this.addColumns(batch.getChild("open_time")!, batch.getChild("close")!);
  }

  /** A whole table: one column vector each, read chunk by chunk. */
  addTable(table: Table): void {
    this.addColumns(table.getChild("open_time")!, table.getChild("close")!);
  }

  addColumns(openTime: Vector, close: Vector): void {
    const n = close.length;
    if (n === 0) return;
    let sum = this.checksum;
    for (const chunk of close.data) {
      const values = chunk.values as Float64Array;
      for (let i = 0; i < chunk.length; i++) sum += values[i];
    }
    this.checksum = sum;
    if (this.rows === 0) this.firstOpenTime = Number(openTime.get(0));
    this.lastOpenTime = Number(openTime.get(n - 1));
    this.rows += n;
  }

  result(requests: number): RunnerResult {
    const { rows, checksum, firstOpenTime, lastOpenTime } = this;
    return { rows, checksum, firstOpenTime, lastOpenTime, requests };
  }
}

/**
 * Fetches the job's range into one Table.
 *
 * @param job What to fetch and where.
 * @returns Rows, checksum and requests (from the report).
 */
export async function runDsmTable(job: ContenderJob): Promise<RunnerResult> {
  await using dsm = manager(job);
  const { table, report } = await dsm.getDataWithReport(request(job));
  if (report.partial) {
    throw new Error(`Cannot benchmark: the result is partial: ${JSON.stringify(report.failures)}`);
  }
  const tally = new Tally();
  tally.addTable(table);
  return tally.result(httpRequests(report));
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
 * REST. The timing wraps every body in one more stream stage: this run is
 * not one of the timed runs.
 *
 * @param job What to fetch and where.
 * @returns Rows, checksum, requests and the phases, ms since the call.
 */
export async function runDsmPhases(job: ContenderJob): Promise<RunnerResult> {
  const clock = new PhaseClock();
  const result = await runDsmWith(job, clock.fetch);
  clock.mark("result");
  return { ...result, phases: clock.phases() };
}

async function runDsmWith(job: ContenderJob, fetcher: typeof fetch): Promise<RunnerResult> {
  await using dsm = manager(job, fetcher);
  const { table, report } = await dsm.getDataWithReport(request(job));
  if (report.partial) {
    throw new Error(`Cannot benchmark: the result is partial: ${JSON.stringify(report.failures)}`);
  }
  const tally = new Tally();
  tally.addTable(table);
  return tally.result(httpRequests(report));
}
