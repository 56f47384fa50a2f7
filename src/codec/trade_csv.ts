/**
 * `decodeTradeCsv` and `TradeCsvDecoderStream`: one Binance Vision aggTrades
 * or trades CSV file (the unzipped entry's bytes) to Arrow RecordBatches of
 * `AGG_TRADE_SCHEMA` / `TRADE_SCHEMA`, whole or streamed.
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";
import type { Market } from "../core/market.ts";
import type { TradeDataset } from "../core/trade_schema.ts";
import { checkTradeCsvOptions, TradeCsvParser } from "./_trade_csv_parser.ts";

/** Options of {@linkcode decodeTradeCsv} and {@linkcode TradeCsvDecoderStream}. */
export interface TradeCsvOptions {
  /** Which data set the file belongs to: `aggTrades` or `trades`. */
  dataset: TradeDataset;
  /** Which market printed it: `spot`, `um` or `cm` (the columns differ). */
  market: Market;
  /**
   * File name quoted in error messages.
   * @default undefined
   */
  file?: string;
  /**
   * Maximum number of rows per RecordBatch. The first batches of a file are
   * smaller (4,096 rows, doubling up to this).
   * @default 65536
   */
  batchRows?: number;
}

/**
 * Decodes one Binance Vision aggTrades or trades CSV file into RecordBatches
 * of `AGG_TRADE_SCHEMA` (aggTrades) or `TRADE_SCHEMA` (trades).
 *
 * Layouts, by data set and market (a header row is detected per file: a
 * first line starting with a letter, which must have the layout's column
 * count; LF or CRLF line ends; a final newline is optional):
 * - aggTrades spot `agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker,is_best_match`;
 *   um and cm the same without `is_best_match` (null in the output).
 * - trades spot `id,price,qty,quote_qty,time,is_buyer_maker,is_best_match`; um the same
 *   without `is_best_match`; cm `id,price,qty,base_qty,time,is_buyer_maker`.
 *   `quote_qty` is null on cm, `base_qty` on spot and um, `is_best_match` on um and cm.
 *
 * Values: ids exactly (below 2^53); prices and quantities bit-identical to
 * `parseFloat` of the text; times in µs, read per value as 13 digits (ms,
 * multiplied by 1000 exactly) or 16 digits (µs, as printed); booleans
 * `True`/`False` (spot) or `true`/`false` (futures), either spelling read
 * in every market.
 *
 * Errors: a row whose column count, number, time or boolean is malformed, a
 * line longer than 64 KiB, an empty line (other than a final newline), or an
 * id (`agg_trade_id` / `id`) not greater than the row before's. An empty
 * file, or a header alone, gives no batch.
 *
 * @param bytes The CSV bytes.
 * @param options Data set, market, file name and batch size.
 * @returns The batches, in file order, each at most `batchRows` rows.
 * @throws {CsvFormatError} A row is malformed (with the file name and the 1-based line).
 * @throws {InvalidDatasetError} `dataset` is not `aggTrades` or `trades`.
 * @throws {InvalidMarketError} `market` is not `spot`, `um` or `cm`.
 * @throws {InvalidRangeError} `batchRows` is not a positive integer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeTradeCsv } from "./trade_csv.ts";
 * const spot = "3000000001,97123.45000000,0.00120000,4000000001,4000000003,1735689600123456,True,True\n" +
 *   "3000000002,97123.46000000,0.50000000,4000000004,4000000004,1735689600200000,False,True\n";
 * const [batch] = decodeTradeCsv(new TextEncoder().encode(spot), {
 *   dataset: "aggTrades",
 *   market: "spot",
 *   file: "BTCUSDT-aggTrades-2025-01-01.csv",
 * });
 * assert.equal(batch.numRows, 2);
 * assert.equal(batch.getChild("agg_trade_id")?.get(1), 3000000002n);
 * assert.equal(batch.getChild("price")?.get(0), parseFloat("97123.45000000"));
 * // arrow-js's get() gives epoch ms for every Timestamp unit; the int64 values are µs.
 * assert.equal(batch.getChild("transact_time")?.data[0].values[0], 1735689600123456n);
 * assert.equal(batch.getChild("is_buyer_maker")?.get(1), false);
 * assert.equal(batch.getChild("is_best_match")?.get(0), true);
 *
 * // cm trades: a header, ms times (scaled to µs), base_qty instead of quote_qty.
 * const cm = "id,price,qty,base_qty,time,is_buyer_maker\n1,93422.4,3,0.00321122,1704067200000,true\n";
 * const [trades] = decodeTradeCsv(new TextEncoder().encode(cm), { dataset: "trades", market: "cm" });
 * assert.equal(trades.getChild("time")?.data[0].values[0], 1704067200000000n);
 * assert.equal(trades.getChild("quote_qty")?.get(0), null);
 * assert.equal(trades.getChild("base_qty")?.get(0), 0.00321122);
 * assert.equal(trades.getChild("is_best_match")?.nullCount, 1);
 * assert.throws(
 *   () => decodeTradeCsv(new TextEncoder().encode("2,1.0,1.0,1,2,1,x\n"), {
 *     dataset: "aggTrades",
 *     market: "um",
 *     file: "f.csv",
 *   }),
 *   { code: "CSV_FORMAT", line: 1, file: "f.csv" },
 * );
 * ```
 */
export function decodeTradeCsv(bytes: Uint8Array, options: TradeCsvOptions): RecordBatch[] {
  const batches: RecordBatch[] = [];
  const parser = new TradeCsvParser(checkTradeCsvOptions(options), (b) => batches.push(b));
  parser.push(bytes);
  parser.finish();
  return batches;
}

/**
 * Decodes one Binance Vision aggTrades or trades CSV file, pushed in chunks
 * of any size, into RecordBatches: the streaming form of
 * {@linkcode decodeTradeCsv}, with the same columns, checks and errors, for
 * files too large to hold (a spot day is millions of rows). Rows may
 * straddle chunks; memory stays bounded by the chunk size, one batch
 * being filled and one line of at most 64 KiB carried between chunks.
 *
 * Errors: a malformed row errors the stream with a `CsvFormatError` carrying
 * the file name and the 1-based line number; the writable side is errored
 * too, so a `pipeThrough` chain cancels its source. Cancelling the readable
 * side cancels the writable side (and with it the upstream source).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TradeCsvDecoderStream } from "./trade_csv.ts";
 * const bytes = new TextEncoder().encode(
 *   "id,price,qty,quote_qty,time,is_buyer_maker\n" +
 *     "5,42283.5,0.012,507.402,1704067200001,true\n6,42283.6,0.5,21141.8,1704067200002,false\n",
 * );
 * const batches = await Array.fromAsync(
 *   ReadableStream.from([bytes.subarray(0, 50), bytes.subarray(50)])
 *     .pipeThrough(new TradeCsvDecoderStream({ dataset: "trades", market: "um" })),
 * );
 * assert.equal(batches.length, 1);
 * assert.deepEqual([...batches[0].getChild("id")!], [5n, 6n]);
 * assert.equal(batches[0].getChild("time")?.data[0].values[1], 1704067200002000n);
 * assert.equal(batches[0].getChild("is_buyer_maker")?.get(0), true);
 * ```
 */
export class TradeCsvDecoderStream extends TransformStream<Uint8Array, RecordBatch> {
  /**
   * Creates the instance.
   *
   * @param options Data set, market, file name and batch size.
   * @throws {InvalidDatasetError} `dataset` is not `aggTrades` or `trades`.
   * @throws {InvalidMarketError} `market` is not `spot`, `um` or `cm`.
   * @throws {InvalidRangeError} `batchRows` is not a positive integer.
   */
  constructor(options: TradeCsvOptions) {
    const checked = checkTradeCsvOptions(options);
    let parser: TradeCsvParser;
    super({
      start(controller) {
        parser = new TradeCsvParser(checked, (batch) => controller.enqueue(batch));
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
