/**
 * One REST walk of a span of the request's series, collected: the rows and,
 * when the walk stopped early, its error with the rows fetched before it.
 * The responses received and their weight are added to the fetch's own
 * counts. Private.
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";
import type { RestClient } from "../source/rest_client.ts";
import type { RequestCounts } from "./fetch_report.ts";
import type { ResolvedRequest } from "./kline_request.ts";

/** Rows fetched from REST for a span. */
export interface RestRange {
  /** Rows with open time in the span, in time order. */
  batches: RecordBatch[];
  /**
   * Set when the walk stopped early (rate limit, ban, failures past the
   * retries): `batches` then hold the rows fetched before it.
   */
  error?: unknown;
}

/**
 * Fetches every candle of the request's series with open time in `[start, end)`.
 *
 * @param client The REST client of the request's market.
 * @param request The request (dataset, symbol, interval, open-candle choice).
 * @param span The open times wanted.
 * @param signal Cancels the walk.
 * @param counts The fetch's own counts, added to.
 * @returns The rows, and the error that stopped the walk after some rows.
 * @throws The walk's error when it stopped before any row, or the abort reason.
 */
export async function restRange(
  client: RestClient,
  request: ResolvedRequest,
  span: { start: number; end: number },
  signal: AbortSignal,
  counts?: RequestCounts,
): Promise<RestRange> {
  const stream = client.klines({
    dataset: request.dataset,
    symbol: request.symbol,
    interval: request.interval,
    start: span.start,
    end: span.end,
    includeOpenCandle: request.includeOpenCandle,
    signal,
  });
  const batches: RecordBatch[] = [];
  let error: unknown;
  try {
    for await (const batch of stream) batches.push(batch);
  } catch (caught) {
    if (signal.aborted || batches.length === 0) throw caught;
    error = caught;
  } finally {
    // This walk's own counts: responses received, not requests sent.
    if (counts) {
      counts.restCalls += stream.stats.responses;
      counts.restWeight += stream.stats.responseWeight;
    }
  }
  return { batches, error };
}
