/**
 * The result of a contender, summed the way every contender sums its rows
 * so that they can be compared: from rows collected as arrays
 * (`[openTime, open, high, low, close, …]`) or from Arrow batches as they come.
 *
 * @module
 */
import type { RecordBatch, Table, Vector } from "apache-arrow";
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

/** Sums rows, closes and edge open times batch by batch. */
export class Tally {
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
