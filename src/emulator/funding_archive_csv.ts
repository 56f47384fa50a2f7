/**
 * The CSV text of a Binance Vision monthly funding rate archive
 * (`{SYMBOL}-fundingRate-{YYYY-MM}.csv`, BINANCE.md section 4).
 *
 * @module
 */
import type { FundingEvent } from "./funding_truth.ts";

/** The header row of a funding rate archive. */
export const FUNDING_ARCHIVE_HEADER = "calc_time,funding_interval_hours,last_funding_rate";

/**
 * The CSV of a funding rate archive: the header row, then one line per
 * event, `calc_time` (ms, with its jitter), the interval in hours and the
 * rate as printed; every line ends with `\n`. Vision carries no mark price.
 *
 * @param events The month's events, oldest first.
 * @returns The CSV text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fundingArchiveCsv } from "./funding_archive_csv.ts";
 * const csv = fundingArchiveCsv([{
 *   fundingTime: 1704067200001,
 *   fundingRateText: "-0.00003750",
 *   fundingRate: -0.0000375,
 *   fundingIntervalHours: 8,
 *   markPriceText: null,
 *   markPrice: null,
 * }]);
 * assert.equal(
 *   csv,
 *   "calc_time,funding_interval_hours,last_funding_rate\n1704067200001,8,-0.00003750\n",
 * );
 * ```
 */
export function fundingArchiveCsv(events: readonly FundingEvent[]): string {
  let text = `${FUNDING_ARCHIVE_HEADER}\n`;
  for (const e of events) {
    text += `${e.fundingTime},${e.fundingIntervalHours},${e.fundingRateText}\n`;
  }
  return text;
}
