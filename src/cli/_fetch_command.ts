/**
 * `dsm fetch`: streams a request into CSV, NDJSON or Arrow IPC, or collects
 * it into Parquet, and writes the JSON report.
 *
 * @module
 */
import { type RecordBatch, RecordBatchStreamWriter, Table } from "apache-arrow";
import { DataSourceManager } from "../fcp/data_source_manager.ts";
import type { FetchReport } from "../fcp/fetch_report.ts";
import type { FundingReport } from "../fcp/funding_fetch.ts";
import type { TradeReport } from "../fcp/trade_run.ts";
import type { KlineRequest } from "../fcp/kline_request.ts";
import { datasetInfo } from "../core/dataset.ts";
import type { FetchArgs } from "./_fetch_args.ts";
import { csvHeader, csvRows, ndjsonRows } from "./_row_text.ts";
import { formatSummary, ProgressLine } from "./_progress.ts";

/** What a fetch command runs with. */
export interface FetchIo {
  /** Standard output. */
  stdout: WritableStream<Uint8Array>;
  /** Writes text to stderr. */
  stderr: (text: string) => void;
  /** Whether stderr is a terminal. */
  stderrIsTerminal: boolean;
  /** Aborts the fetch. */
  signal: AbortSignal;
  /** The clock. */
  now?: () => number;
}

/** The library's messages about a cache that is off or read-only (a missing permission, a file). */
const CACHE_STATE = /^Cache is (?:off|read-only): /;
/** The cache's message about a series folder it refuses (a link out of the root). */
const CACHE_REFUSED = /^Cannot use cache folder /;
/** The object store cache failing in a row (unreachable, refused): paused, said once. */
const CACHE_PAUSED = /^Cache at ".*" failed \d+ times in a row /;

const encoder = new TextEncoder();

/** The schema of the output: the dataset's. */
function schemaOf(args: FetchArgs) {
  const { schema } = datasetInfo(args.dataset);
  return args.includeSourceInfo ? schema.withSource : schema.plain;
}

async function writeText(
  batches: ReadableStream<RecordBatch>,
  out: WritableStreamDefaultWriter<Uint8Array>,
  args: FetchArgs,
): Promise<void> {
  if (args.format === "csv") await out.write(encoder.encode(csvHeader(schemaOf(args))));
  for await (const batch of batches) {
    const text = args.format === "csv" ? csvRows(batch) : ndjsonRows(batch);
    if (text) await out.write(encoder.encode(text));
  }
}

async function writeArrow(
  batches: ReadableStream<RecordBatch>,
  out: WritableStreamDefaultWriter<Uint8Array>,
  args: FetchArgs,
): Promise<void> {
  const writer = new RecordBatchStreamWriter();
  const chunks = writer[Symbol.asyncIterator]();
  const reader = batches.getReader();
  // A failed output (a closed pipe) stops the fetch at once, and is what this throws.
  let failed: { error: unknown } | undefined;
  const draining = (async () => {
    while (true) {
      const { value, done } = await chunks.next();
      if (done) return;
      await out.write(value);
    }
  })().catch(async (error) => {
    failed = { error };
    await reader.cancel(error).catch(() => {});
  });
  try {
    let any = false;
    while (true) {
      const { value, done } = await reader.read();
      if (done || failed) break;
      writer.write(value);
      any = true;
    }
    if (!any && !failed) {
      writer.write(new Table(schemaOf(args)));
    }
  } finally {
    writer.close();
    await draining;
    reader.releaseLock();
  }
  if (failed) throw failed.error;
}

async function writeParquet(batches: ReadableStream<RecordBatch>, args: FetchArgs) {
  const collected: RecordBatch[] = [];
  for await (const batch of batches) collected.push(batch);
  const schema = collected[0]?.schema ?? schemaOf(args);
  const { toPolars } = await import("../polars.ts");
  toPolars(new Table(schema, collected)).writeParquet(args.out!);
}

async function openOut(args: FetchArgs, io: FetchIo) {
  if (args.out === undefined) return { writer: io.stdout.getWriter(), file: undefined };
  const file = await Deno.open(args.out, { write: true, create: true, truncate: true });
  return { writer: file.writable.getWriter(), file };
}

/**
 * Runs `dsm fetch`.
 *
 * @param args The parsed command.
 * @param io Streams, terminal, signal.
 * @returns The report.
 * @throws The typed errors of the manager; an `AbortError` when interrupted.
 */
export async function runFetchCommand(
  args: FetchArgs,
  io: FetchIo,
): Promise<FetchReport | FundingReport | TradeReport> {
  const started = performance.now();
  const progress = io.stderrIsTerminal && !args.quiet ? new ProgressLine(io.stderr) : undefined;
  await using dsm = new DataSourceManager({
    market: args.market,
    cache: args.cache,
    endpoints: args.endpoints,
    signal: io.signal,
    now: io.now,
    onProgress: progress ? (p) => progress.update(p) : undefined,
    // The cache never switches off (or to read-only) silently: say so once, with the fix.
    logger: (message) => {
      if (CACHE_REFUSED.test(message) || CACHE_PAUSED.test(message)) {
        progress?.end();
        io.stderr(`dsm: ${message}\n`);
      }
      if (!CACHE_STATE.test(message)) return;
      progress?.end();
      // Read-only as asked (--cache-read-only): no fix to suggest.
      const asked = args.cache !== false && args.cache.readOnly === true;
      io.stderr(`dsm: ${message}${asked ? "" : "; or use --cache-dir DIR, or --no-cache"}\n`);
    },
  });
  const dataset = args.dataset;
  const common = {
    symbol: args.symbol,
    start: args.start,
    end: args.end,
    source: args.source,
    includeSourceInfo: args.includeSourceInfo,
    strict: args.strict,
  };
  const { batches, report } = dataset === "aggTrades" || dataset === "trades"
    ? dsm.streamWithReport({
      dataset,
      ...common,
      ...(args.compareKlines ? { compareKlines: true } : {}),
    })
    : dataset === "fundingRate"
    ? dsm.streamWithReport({ dataset, ...common })
    : dsm.streamWithReport({
      ...(dataset === "klines" ? {} : { dataset }),
      ...common,
      interval: args.interval as KlineRequest["interval"],
      fill: args.fill,
      includeOpenCandle: args.includeOpenCandle,
    });
  try {
    if (args.format === "parquet") await writeParquet(batches, args);
    else {
      const { writer, file } = await openOut(args, io).catch(async (error) => {
        await batches.cancel(error);
        throw error;
      });
      try {
        if (args.format === "arrow") await writeArrow(batches, writer, args);
        else await writeText(batches, writer, args);
      } finally {
        if (file) await writer.close().catch(() => {});
        else writer.releaseLock();
      }
    }
  } catch (error) {
    await batches.cancel(error).catch(() => {});
    throw error;
  } finally {
    progress?.end();
  }
  const result = await report;
  if (args.report !== undefined) {
    await Deno.writeTextFile(args.report, JSON.stringify(result, null, 2) + "\n");
  }
  if (!args.quiet) io.stderr(formatSummary(result, performance.now() - started) + "\n");
  return result;
}
