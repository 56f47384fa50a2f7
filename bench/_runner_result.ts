/**
 * The result of a contender that collects its rows as arrays
 * (`[openTime, open, high, low, close, …]`), summed the way every contender
 * sums them so that their rows can be compared.
 *
 * @module
 */
import type { RunnerResult } from "./_contender.ts";

/**
 * Sums the close column in time order and takes the first and last open time.
 *
 * @param rows The rows, open time at index 0 and close at index 4.
 * @param requests HTTP requests the contender counted.
 * @returns What the runner returns.
 */
export function runnerResult(rows: readonly (readonly number[])[], requests: number): RunnerResult {
  let checksum = 0;
  for (const row of rows) checksum += row[4];
  return {
    rows: rows.length,
    checksum,
    requests,
    firstOpenTime: rows.length ? rows[0][0] : NaN,
    lastOpenTime: rows.length ? rows[rows.length - 1][0] : NaN,
  };
}
