/**
 * Binance Vision kline archives and CSV files to Apache Arrow, without the
 * network: whole-file readers, the stream stages they are built from, the
 * checksum helpers and the two-core decode pool. Use these for archives you
 * already have on disk; the manager (`.`) runs the same decoders on what it
 * downloads.
 *
 * - {@linkcode readKlineZip}, {@linkcode readKlineCsv}: a zip or CSV to a Table;
 *   {@linkcode streamKlineZip}, {@linkcode streamKlineCsv}: to RecordBatches.
 * - {@linkcode UnzipStream}, {@linkcode KlineCsvStream}, {@linkcode Sha256Stream}:
 *   the stages (zip bytes → CSV bytes → RecordBatches; a SHA-256 tap).
 * - {@linkcode parseChecksumFile}, {@linkcode verifyChecksum}: Vision `.CHECKSUM` files.
 * - {@linkcode KlineDecodePool}: inflates archives in a worker thread.
 *
 * Rows keep every value as printed (bit-identical to `parseFloat`), µs
 * timestamps become ms, and the header row is detected per file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KlineCsvStream, readKlineCsv, Sha256Stream } from "./codec.ts";
 *
 * const csv = new TextEncoder().encode(
 *   "1704067200000,42283.58,42298.62,42261.02,42298.61,35.92724,1704067259999," +
 *     "1519270.68197950,1327,23.13294,978251.67546700,0\n",
 * );
 * const table = await readKlineCsv(csv);
 * assert.equal(table.numRows, 1);
 * assert.equal(table.getChild("close")?.get(0), 42298.61);
 *
 * // The same rows as a stream, with the bytes' SHA-256 taken on the way.
 * const sha = new Sha256Stream();
 * const batches = await Array.fromAsync(
 *   ReadableStream.from([csv]).pipeThrough(sha).pipeThrough(new KlineCsvStream()),
 * );
 * assert.equal(batches[0].numRows, 1);
 * assert.match(await sha.digest, /^[0-9a-f]{64}$/);
 * ```
 *
 * @module
 */

export {
  type KlineInput,
  readKlineCsv,
  type ReadKlineOptions,
  readKlineZip,
  streamKlineCsv,
  streamKlineZip,
} from "./src/codec/read_kline.ts";
export { KlineCsvStream, type KlineCsvStreamOptions } from "./src/codec/kline_csv_stream.ts";
export { type UnzipOptions, unzipSingleEntry, UnzipStream } from "./src/codec/unzip_stream.ts";
export { Sha256Stream } from "./src/codec/sha256_stream.ts";
export { decodeFundingCsv, type FundingCsvOptions } from "./src/codec/funding_csv.ts";
export { FundingCsvStream, type FundingCsvStreamOptions } from "./src/codec/funding_csv_stream.ts";
export {
  decodeTradeCsv,
  TradeCsvDecoderStream,
  type TradeCsvOptions,
} from "./src/codec/trade_csv.ts";
export { parseChecksumFile, verifyChecksum } from "./src/codec/checksum.ts";
export {
  type KlineDecodeOptions,
  KlineDecodePool,
  type KlineDecodePoolOptions,
} from "./src/codec/kline_decode_pool.ts";
