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
import type { PartitionOutcome } from "./fetch_engine.ts";

/**
 * Why a hole of a partition is missing: a source failed or was not asked
 * (`unfetched`), the cache or both sources confirm it (`exchange`), or only
 * one source could be asked (`unconfirmed`).
 *
 * @param o The partition's outcome.
 * @param hole The missing slots.
 * @returns The class.
 */
export function classify(o: PartitionOutcome, hole: MissingRange): GapClass {
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

/**
 * The holes before the first row and after the last one, contiguous with the
 * range's ends and all asked about (none unfetched), lie before the listing or
 * after the delisting: they become one `not_listed` gap at each end. Not when
 * a source showed a candle further out (a whole Vision day holds rows outside
 * the range): the symbol was trading then, so such a hole is a halt.
 */
export function markNotListed(
  gaps: Gap[],
  request: ResolvedRequest,
  rows: { first: number; last: number; seenFirst: number; seenLast: number },
) {
  const { first, last } = rows;
  const leading = rows.seenFirst >= first, trailing = rows.seenLast <= last;
  const known = (g: Gap) => g.class !== "unfetched";
  for (let i = 0, at = request.start; i < gaps.length; i++) {
    const g = gaps[i];
    if (!leading || g.start !== at || g.end > first || !known(g)) break;
    g.class = "not_listed";
    at = g.end;
  }
  for (let i = gaps.length - 1, at = request.end; i >= 0; i--) {
    const g = gaps[i];
    if (!trailing || g.end !== at || g.start <= last || !known(g)) break;
    g.class = "not_listed";
    at = g.start;
  }
  const merged: Gap[] = [];
  for (const g of gaps) appendGap(merged, g);
  gaps.splice(0, gaps.length, ...merged);
}
