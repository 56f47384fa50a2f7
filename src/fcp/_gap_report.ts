/**
 * Classes of the holes of a fetch: why slots are missing, merged across
 * partitions, with the leading and trailing ones before a listing or after
 * a delisting.
 *
 * @module
 */
import type { MissingRange } from "./kline_checks.ts";
import type { ResolvedRequest } from "./kline_request.ts";
import type { Gap, GapClass } from "./fetch_report.ts";
import type { FetchedPartition } from "./fetch_partition.ts";

/**
 * Why a hole of a partition is missing: a source failed or was not asked
 * (`unfetched`), the cache or both sources confirm it (`exchange`), or only
 * one source could be asked (`unconfirmed`).
 *
 * @param o The partition's outcome.
 * @param hole The missing slots.
 * @returns The class.
 */
export function classify(o: FetchedPartition, hole: MissingRange): GapClass {
  const overlaps = (r: { start: number; end: number }) => r.start < hole.end && hole.start < r.end;
  if (o.unfetched.some(overlaps)) return "unfetched";
  if (o.knownGaps.some(overlaps)) return "exchange";
  if (o.consulted.vision && o.consulted.rest) return "exchange";
  return "unconfirmed";
}

/**
 * Appends a gap, merging it with the previous one when they touch and share a class.
 *
 * @param gaps Gaps in time order (appended to).
 * @param gap The next gap.
 */
export function appendGap(gaps: Gap[], gap: Gap): void {
  const last = gaps.at(-1);
  if (last && last.end === gap.start && last.class === gap.class) {
    last.end = gap.end;
    last.slots += gap.slots;
  } else gaps.push(gap);
}

/** Which ends of the result may border the symbol's listing or delisting. */
export interface EdgeCandidates {
  /** A known hole runs from the range's start to the first row. */
  leading: boolean;
  /** A known hole runs from the last row to the range's end. */
  trailing: boolean;
}

/**
 * The ends where a hole runs from the range's edge to the first (last) row,
 * every part of it asked about (none unfetched), and no source showed a
 * candle further out (a whole Vision day can hold rows outside the range:
 * then the symbol was trading, and the hole is a halt).
 *
 * @param gaps Gaps in time order.
 * @param request The request.
 * @param rows First and last open time returned, and first and last seen in any source.
 * @returns The candidate ends.
 */
export function edgeCandidates(
  gaps: readonly Gap[],
  request: ResolvedRequest,
  rows: { first: number; last: number; seenFirst: number; seenLast: number },
): EdgeCandidates {
  const known = (g: Gap) => g.class !== "unfetched";
  const head = edgeRun(gaps, request.start, rows.first, 1);
  const tail = edgeRun([...gaps].reverse(), request.end, rows.last, -1);
  return {
    leading: rows.seenFirst >= rows.first && head.length > 0 && head.every(known),
    trailing: rows.seenLast <= rows.last && tail.length > 0 && tail.every(known),
  };
}

/** The gaps contiguous from `edge` up to (or down to) the first (last) row. */
function edgeRun(gaps: readonly Gap[], edge: number, row: number, direction: 1 | -1): Gap[] {
  const run: Gap[] = [];
  let at = edge;
  for (const g of gaps) {
    const touches = direction === 1
      ? g.start === at && g.end <= row
      : g.end === at && g.start > row;
    if (!touches) break;
    run.push(g);
    at = direction === 1 ? g.end : g.start;
  }
  return run;
}

/**
 * Turns the edge holes confirmed to lie before the listing or after the
 * delisting into one `not_listed` gap at each end.
 *
 * @param gaps Gaps in time order (rewritten in place).
 * @param request The request.
 * @param rows First and last open time returned.
 * @param confirmed The ends where a source confirmed there is no candle further out.
 */
export function markNotListed(
  gaps: Gap[],
  request: ResolvedRequest,
  rows: { first: number; last: number },
  confirmed: EdgeCandidates,
): void {
  if (confirmed.leading) {
    for (const g of edgeRun(gaps, request.start, rows.first, 1)) g.class = "not_listed";
  }
  if (confirmed.trailing) {
    for (const g of edgeRun([...gaps].reverse(), request.end, rows.last, -1)) {
      g.class = "not_listed";
    }
  }
  const merged: Gap[] = [];
  for (const g of gaps) appendGap(merged, g);
  gaps.splice(0, gaps.length, ...merged);
}
