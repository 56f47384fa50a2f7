/**
 * `FundingCsvStream`: Binance Vision funding rate CSV bytes in, Arrow
 * RecordBatches out.
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";
import { checkFundingBatchRows, FundingCsvParser } from "./_funding_csv_parser.ts";
import type { FundingCsvOptions } from "./funding_csv.ts";

/** Options of {@linkcode FundingCsvStream}: those of `decodeFundingCsv`. */
export type FundingCsvStreamOptions = FundingCsvOptions;

/**
 * Parses one Binance Vision funding rate CSV file, pushed in chunks of any
 * size, into RecordBatches of the fixed funding schema: the streaming form
 * of `decodeFundingCsv`, with the same columns, checks and errors. Rows may
 * straddle chunk boundaries. The first batches of a file are smaller (1024,
 * 2048, … rows, doubling up to `batchRows`) so that small files take little
 * memory and no rows are ever copied.
 *
 * Errors: a malformed row errors the stream with a `CsvFormatError` carrying
 * the file name and the 1-based line number; the writable side is errored
 * too, so a `pipeThrough` chain cancels its source. Cancelling the readable
 * side cancels the writable side (and with it the upstream source).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FundingCsvStream } from "./funding_csv_stream.ts";
 * const bytes = new TextEncoder().encode("1704067200000000,8,0.00010000\n1704096000002000,4,0.0001");
 * const batches = await Array.fromAsync(
 *   ReadableStream.from([bytes.subarray(0, 20), bytes.subarray(20)])
 *     .pipeThrough(new FundingCsvStream({ file: "BTCUSDT-fundingRate-2024-01.csv" })),
 * );
 * assert.equal(batches.length, 1);
 * assert.equal(batches[0].getChild("funding_time")?.get(1), 1704096000002);
 * assert.equal(batches[0].getChild("funding_interval_hours")?.get(1), 4n);
 * ```
 */
export class FundingCsvStream extends TransformStream<Uint8Array, RecordBatch> {
  /**
   * Creates the instance.
   *
   * @param options File name, batch size and source column.
   * @throws {InvalidRangeError} When `batchRows` is not a positive integer.
   */
  constructor(options: FundingCsvStreamOptions = {}) {
    const batchRows = checkFundingBatchRows(options.batchRows);
    let parser: FundingCsvParser;
    super({
      start(controller) {
        parser = new FundingCsvParser(
          { file: options.file, batchRows, source: options.source },
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
