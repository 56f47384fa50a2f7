/**
 * `KlineCsvStream`: Binance kline CSV bytes in, Arrow RecordBatches out.
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";
import type { DataSource } from "../core/schema.ts";
import { checkBatchRows, checkPeriod, KlineCsvParser } from "./_kline_csv_parser.ts";

/** Options of {@linkcode KlineCsvStream}. */
export interface KlineCsvStreamOptions {
  /**
   * File name quoted in error messages.
   * @default undefined
   */
  file?: string;
  /**
   * Maximum number of rows per RecordBatch.
   * @default 65536
   */
  batchRows?: number;
  /**
   * When set, batches carry the `_data_source` column with this value.
   * @default undefined
   */
  source?: DataSource;
  /**
   * The period the file covers (a Vision archive's day or month): every row
   * must open in `[start, end)`, after the row before it, and there may be
   * at most `maxRows` rows. The first row that breaks this errors the stream
   * with an `ArchivePeriodError` at once, so that a file of another period,
   * or a decompression bomb of repeated rows, is never decoded in full.
   * @default undefined (rows are not checked against a period)
   */
  period?: {
    /** First open time of the period, epoch ms. */
    start: number;
    /** First open time after it, epoch ms. */
    end: number;
    /** Most rows the period can hold. */
    maxRows: number;
    /** The period's name in messages, e.g. `2024-01-02`. */
    name: string;
  };
}

/**
 * Parses one Binance kline CSV file (12 columns, spot or futures, with or
 * without a header row, ms or µs timestamps, LF or CRLF) into RecordBatches
 * of the fixed kline schema.
 *
 * Numbers are read straight from the bytes into float64 columns and are
 * bit-identical to `parseFloat` of their text. Timestamps become epoch ms;
 * their unit is detected per file and column from the digit count (13: ms,
 * 16: µs). Rows may straddle chunk boundaries. Each batch holds at most
 * `batchRows` rows; the first batches of a file are smaller (4096, 8192, …
 * rows, doubling) so that small files take little memory and no rows are
 * ever copied. An empty file (or a header alone) yields no batch.
 *
 * Checks (only bytes that are not a kline row are errors): 12 columns per
 * row (the 12th, `ignore`, is skipped); a first line that starts with a
 * letter is a header (12 columns too); timestamps of 13 or 16 digits within
 * 2017-01-01 .. 2100-01-01, one unit per column and file; `count` a
 * non-negative integer; no empty lines except a final line break.
 *
 * Rows are returned as the exchange printed them. Real history holds
 * well-formed irregular rows (a `close_time` before its open, cut short or
 * equal to the next open; open times off the interval grid; zero-volume
 * halts; a non-zero `ignore`): none of them is an error here. Which rows a
 * fetch keeps, and which it reports as anomalies, is decided once, after
 * the merge, for every source alike.
 *
 * With a `period`, rows must also open inside it, in strictly increasing
 * order, and be no more than it can hold; the first row that does not fit
 * errors the stream with an `ArchivePeriodError` (file, line, open time).
 *
 * Errors: a malformed row errors the stream with a `CsvFormatError` carrying
 * the file name and the 1-based line number; the writable side is errored
 * too, so a `pipeThrough` chain cancels its source. Cancelling the readable
 * side cancels the writable side (and with it the upstream source).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KlineCsvStream } from "./kline_csv_stream.ts";
 *
 * const csv = "1735689600000000,93576.00000000,93610.93000000,93537.50000000," +
 *   "93610.93000000,8.21827000,1735689659999999,768978.75522470,2631," +
 *   "3.95157000,369757.32652890,0\n";
 * const batches = await Array.fromAsync(
 *   ReadableStream.from([new TextEncoder().encode(csv)])
 *     .pipeThrough(new KlineCsvStream({ file: "BTCUSDT-1m-2025-01-01.csv" })),
 * );
 * assert.equal(batches.length, 1);
 * assert.equal(batches[0].getChild("open_time")?.get(0), 1735689600000);
 * assert.equal(batches[0].getChild("close_time")?.get(0), 1735689659999);
 * assert.equal(batches[0].getChild("high")?.get(0), 93610.93);
 * assert.equal(batches[0].getChild("count")?.get(0), 2631n);
 * ```
 */
export class KlineCsvStream extends TransformStream<Uint8Array, RecordBatch> {
  /**
   * Creates the instance.
   *
   * @param options File name, batch size and source column.
   * @throws {InvalidRangeError} When `batchRows` is not a positive integer, or
   *   `period` not a range with a positive `maxRows`.
   */
  constructor(options: KlineCsvStreamOptions = {}) {
    const batchRows = checkBatchRows(options.batchRows);
    const period = checkPeriod(options.period);
    let parser: KlineCsvParser;
    super({
      start(controller) {
        parser = new KlineCsvParser(
          {
            file: options.file,
            batchRows,
            source: options.source,
            period,
          },
          (batch) => controller.enqueue(batch),
        );
      },
      transform(chunk) {
        parser.push(chunk);
      },
      flush() {
        parser.finish();
      },
    });
  }
}
