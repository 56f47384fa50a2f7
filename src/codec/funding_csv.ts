/**
 * `decodeFundingCsv`: one Binance Vision funding rate CSV (the unzipped
 * entry's bytes) to Arrow RecordBatches.
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";
import type { DataSource } from "../core/schema.ts";
import { checkFundingBatchRows, FundingCsvParser } from "./_funding_csv_parser.ts";

/** Options of {@linkcode decodeFundingCsv} and `FundingCsvStream`. */
export interface FundingCsvOptions {
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
}

/**
 * Decodes one Binance Vision funding rate CSV file (`calc_time,
 * funding_interval_hours,last_funding_rate`, with or without that header
 * row, ms or µs times, LF or CRLF) into RecordBatches of the fixed funding
 * schema (`FUNDING_SCHEMA`).
 *
 * Columns: `funding_time` is `calc_time` in epoch ms (its unit is detected
 * per file from the digit count: 13 ms, 16 µs truncated to the ms);
 * `funding_rate` is bit-identical to `parseFloat` of `last_funding_rate`;
 * `funding_interval_hours` is the printed whole number of hours; Vision
 * prints no mark price, so `mark_price` is null in every row.
 *
 * Rows are returned as printed: funding times carry +1/+2 ms of jitter off
 * the hour, and the interval changes per symbol over time (8, 4, 1 hours);
 * none of it is an error. Only bytes that are not a funding row are: three
 * columns per row; a first line that starts with a letter must be Vision's
 * header exactly; `calc_time` of 13 or 16 digits (one unit per file) within
 * 2017-01-01 .. 2100-01-01 and strictly increasing from row to row (an event
 * series has no other key); `funding_interval_hours` a whole number in
 * 1..24; `last_funding_rate` a decimal number; no empty lines except a final
 * line break. An empty file (or a header alone) gives no batch.
 *
 * @param bytes The CSV bytes.
 * @param options File name, batch size and source column.
 * @returns The batches, in file order, each at most `batchRows` rows.
 * @throws {CsvFormatError} A row is malformed (with the file name and the 1-based line).
 * @throws {InvalidRangeError} `batchRows` is not a positive integer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeFundingCsv } from "./funding_csv.ts";
 * const csv = "calc_time,funding_interval_hours,last_funding_rate\n" +
 *   "1704067200000,8,0.00010000\n1704096000001,8,-0.00003750\n";
 * const [batch] = decodeFundingCsv(new TextEncoder().encode(csv), {
 *   file: "BTCUSDT-fundingRate-2024-01.csv",
 * });
 * assert.equal(batch.numRows, 2);
 * assert.equal(batch.getChild("funding_time")?.get(1), 1704096000001);
 * assert.equal(batch.getChild("funding_rate")?.get(1), parseFloat("-0.00003750"));
 * assert.equal(batch.getChild("funding_interval_hours")?.get(0), 8n);
 * assert.equal(batch.getChild("mark_price")?.get(0), null);
 * assert.throws(
 *   () => decodeFundingCsv(new TextEncoder().encode("1704067200000,8,x\n"), { file: "f.csv" }),
 *   { code: "CSV_FORMAT", line: 1, file: "f.csv" },
 * );
 * ```
 */
export function decodeFundingCsv(
  bytes: Uint8Array,
  options: FundingCsvOptions = {},
): RecordBatch[] {
  const batchRows = checkFundingBatchRows(options.batchRows);
  const batches: RecordBatch[] = [];
  const parser = new FundingCsvParser(
    { file: options.file, batchRows, source: options.source },
    (batch) => batches.push(batch),
  );
  parser.push(bytes);
  parser.finish();
  return batches;
}
