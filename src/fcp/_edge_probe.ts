/**
 * Evidence for `not_listed`: whether REST shows candles beyond the range's
 * ends, so that a halt at the first or last slots of a range is not taken
 * for a listing or delisting date.
 *
 * @module
 */
import { restRange } from "./_rest_range.ts";
import { intervalMs } from "../core/interval.ts";
import { EARLIEST_TIME } from "../core/time.ts";
import type { RestClient } from "../source/rest_client.ts";
import type { ResolvedRequest } from "./kline_request.ts";
import type { Gap, RequestCounts } from "./fetch_report.ts";

/** What the edge probes run on: the request, REST when allowed, the fetch's signal and counts. */
export interface EdgeProbeContext {
  /** The request. */
  request: ResolvedRequest;
  /** REST, when the request allows it. */
  rest: RestClient | undefined;
  /** Cancels the probes. */
  signal: AbortSignal;
  /** The fetch's own counts, added to. */
  requests: RequestCounts;
}

/** Slots REST is asked about beyond a range's edge. */
const PROBE_SLOTS = 1000;

/**
 * Whether REST shows a candle in `[start, end)` (one page at most); undefined
 * when REST may not be asked or did not answer.
 */
async function traded(
  ctx: EdgeProbeContext,
  start: number,
  end: number,
): Promise<boolean | undefined> {
  if (!ctx.rest) return undefined;
  const from = Math.max(start, EARLIEST_TIME);
  if (from >= end) return false;
  try {
    const found = await restRange(
      ctx.rest,
      ctx.request,
      { start: from, end },
      ctx.signal,
      ctx.requests,
    );
    if (found.batches.some((b) => b.numRows > 0)) return true;
    return found.error === undefined ? false : undefined;
  } catch {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    return undefined;
  }
}

/**
 * Whether the hole at the range's start lies before the listing: REST shows
 * no candle in the `PROBE_SLOTS` before the range.
 *
 * @param ctx The fetch's request, REST, signal and counts.
 * @returns True when confirmed.
 */
export async function confirmLeadingEdge(ctx: EdgeProbeContext): Promise<boolean> {
  const look = PROBE_SLOTS * intervalMs(ctx.request.interval);
  return await traded(ctx, ctx.request.start - look, ctx.request.start) === false;
}

/**
 * Whether the hole at the range's end lies after a delisting: REST shows no
 * candle after the range or, for a range reaching the present, the hole is
 * longer than a day.
 *
 * @param ctx The fetch's request, REST, signal and counts.
 * @param gaps The gaps in time order.
 * @returns True when confirmed.
 */
export async function confirmTrailingEdge(
  ctx: EdgeProbeContext,
  gaps: readonly Gap[],
): Promise<boolean> {
  const { request } = ctx;
  if (request.end < request.openCandle) {
    const until = Math.min(
      request.end + PROBE_SLOTS * intervalMs(request.interval),
      request.openCandle,
    );
    return await traded(ctx, request.end, until) === false;
  }
  // The range reaches the present: a hole of more than a day up to now is a delisting.
  const tail = gaps.at(-1)!;
  return tail.end - tail.start > 86_400_000 && ctx.rest !== undefined;
}
