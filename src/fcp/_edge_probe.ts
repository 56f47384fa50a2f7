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
import type { EdgeCandidates } from "./_gap_report.ts";
import type { EngineContext } from "./fetch_engine.ts";
import type { Gap } from "./fetch_report.ts";

/** Slots REST is asked about beyond a range's edge. */
const PROBE_SLOTS = 1000;

/**
 * Whether REST shows a candle in `[start, end)` (one page at most); undefined
 * when REST may not be asked or did not answer.
 */
async function traded(
  ctx: EngineContext,
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
 * Confirms the candidate ends: a leading hole is `not_listed` when REST shows
 * no candle in the `PROBE_SLOTS` before the range; a trailing one when REST
 * shows none after it, or, for a range reaching the present, when the hole
 * is longer than a day.
 *
 * @param ctx The fetch's context (request, REST, signal).
 * @param candidates The ends that may border a listing or delisting.
 * @param gaps The gaps in time order.
 * @returns The ends confirmed.
 */
export async function confirmEdges(
  ctx: EngineContext,
  candidates: EdgeCandidates,
  gaps: readonly Gap[],
): Promise<EdgeCandidates> {
  const { request } = ctx;
  const look = PROBE_SLOTS * intervalMs(request.interval);
  const leading = candidates.leading &&
    await traded(ctx, request.start - look, request.start) === false;
  let trailing = false;
  if (candidates.trailing) {
    if (request.end < request.openCandle) {
      const until = Math.min(request.end + look, request.openCandle);
      trailing = await traded(ctx, request.end, until) === false;
    } else {
      // The range reaches the present: a hole of more than a day up to now is a delisting.
      const tail = gaps.at(-1)!;
      trailing = tail.end - tail.start > 86_400_000 && ctx.rest !== undefined;
    }
  }
  return { leading, trailing };
}
