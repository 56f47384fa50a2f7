/**
 * Reading Binance Vision kline archives (or their CSV) held in memory or
 * streamed from anywhere: zip → CSV → Arrow, with an optional SHA-256 check.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { type RecordBatch, Table } from "apache-arrow";
import { KLINE_SCHEMA, KLINE_SCHEMA_WITH_SOURCE } from "../core/schema.ts";
import { verifyChecksum } from "./checksum.ts";
import { KlineCsvStream, type KlineCsvStreamOptions } from "./kline_csv_stream.ts";
import { checkBatchRows, KlineCsvParser } from "./_kline_csv_parser.ts";
import { Sha256Stream } from "./sha256_stream.ts";
import { unzipSingleEntry, UnzipStream } from "./unzip_stream.ts";

/** Options of {@linkcode readKlineZip} and its siblings. */
export interface ReadKlineOptions extends KlineCsvStreamOptions {
  /**
   * Expected lowercase or uppercase hex SHA-256 of the input bytes (the zip
   * archive for the zip readers, the CSV for the CSV readers), as published
   * in Vision's `.CHECKSUM` files. A mismatch raises a `ChecksumError`.
   * @default undefined
   */
  expectedSha256?: string;
}

/** Bytes in memory or a byte stream. */
export type KlineInput = Uint8Array | ReadableStream<Uint8Array>;

/** Chunk size used to feed in-memory input through streams. */
const CHUNK_BYTES = 1 << 20;
const SHA256_HEX = /^[0-9a-fA-F]{64}$/;

/**
 * Reads a Vision kline zip (one CSV entry) into an Arrow Table of the fixed
 * kline schema. In-memory input is checked against `expectedSha256` before
 * it is unpacked and is inflated in one native call.
 *
 * @param input The archive bytes or a stream of them (e.g. `response.body`).
 * @param options File name for errors, batch size, source column, expected
 *   SHA-256.
 * @returns The rows; an empty CSV gives an empty table of the fixed schema.
 * @throws {ChecksumError} The digest differs from `expectedSha256`.
 * @throws {ZipFormatError} The archive is malformed or truncated.
 * @throws {CsvFormatError} A row is malformed.
 * @throws {TypeError} The input or `expectedSha256` is not usable.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeZip } from "./zip_encoder.ts";
 * import { readKlineZip } from "./read_kline.ts";
 * const csv = "1672531200000,16541.77000000,16544.76000000,16538.45000000,16543.67000000," +
 *   "83.08143000,1672531259999,1374268.84886160,2687,40.18369000,664706.01106360,0\n";
 * const zip = await encodeZip("BTCUSDT-1m-2023-01-01.csv", new TextEncoder().encode(csv));
 * const table = await readKlineZip(zip, { file: "BTCUSDT-1m-2023-01-01.zip" });
 * assert.equal(table.numRows, 1);
 * assert.equal(table.getChild("close")?.get(0), 16543.67);
 * ```
 */
export async function readKlineZip(
  input: KlineInput,
  options: ReadKlineOptions = {},
): Promise<Table> {
  if (!(input instanceof Uint8Array)) return await toTable(streamKlineZip(input, options), options);
  checkOptions(input, options);
  if (options.expectedSha256 !== undefined) verifyBytes(input, options);
  const csv = await unzipSingleEntry(input, { file: options.file });
  return parseAll(csv, options);
}

/**
 * Streams a Vision kline zip as RecordBatches, unpacking while the bytes
 * arrive.
 *
 * Contract: with `expectedSha256`, the digest is known only once the whole
 * archive has passed, so a mismatch errors the stream after its last batch:
 * keep nothing until the stream closes without error. A corrupt archive may
 * also surface first as a `ZipFormatError` or `CsvFormatError`. Cancelling
 * the returned stream cancels `input`.
 *
 * @param input The archive bytes or a stream of them.
 * @param options As for {@linkcode readKlineZip}.
 * @returns A stream of RecordBatches (an async iterable).
 * @throws {TypeError} The input or `expectedSha256` is not usable.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeZip } from "./zip_encoder.ts";
 * import { streamKlineZip } from "./read_kline.ts";
 * const csv = "1735689600000,93422.4,93463.2,93390.2,93463.2,7349,1735689659999," +
 *   "7.86650390,154,6685,7.15560836,0\n";
 * const zip = await encodeZip("BTCUSD_PERP-1m-2025-01-01.csv", new TextEncoder().encode(csv));
 * let rows = 0;
 * for await (const batch of streamKlineZip(zip)) rows += batch.numRows;
 * assert.equal(rows, 1);
 * ```
 */
export function streamKlineZip(
  input: KlineInput,
  options: ReadKlineOptions = {},
): ReadableStream<RecordBatch> {
  checkOptions(input, options);
  const { bytes, sha } = hashed(byteStream(input), options);
  const out = bytes
    .pipeThrough(new UnzipStream({ file: options.file }))
    .pipeThrough(new KlineCsvStream(options));
  return sha ? out.pipeThrough(checksumGate(sha, options)) : out;
}

/**
 * Reads kline CSV bytes (one Vision file, unpacked) into an Arrow Table.
 *
 * @param input The CSV bytes or a stream of them.
 * @param options As for {@linkcode readKlineZip}; `expectedSha256` applies
 *   to the CSV bytes.
 * @returns The rows; an empty file gives an empty table of the fixed schema.
 * @throws {ChecksumError} The digest differs from `expectedSha256`.
 * @throws {CsvFormatError} A row is malformed.
 * @throws {TypeError} The input or `expectedSha256` is not usable.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readKlineCsv } from "./read_kline.ts";
 * const table = await readKlineCsv(new Uint8Array(0));
 * assert.equal(table.numRows, 0);
 * assert.equal(table.schema.fields.length, 11);
 * ```
 */
export async function readKlineCsv(
  input: KlineInput,
  options: ReadKlineOptions = {},
): Promise<Table> {
  if (!(input instanceof Uint8Array)) return await toTable(streamKlineCsv(input, options), options);
  checkOptions(input, options);
  if (options.expectedSha256 !== undefined) verifyBytes(input, options);
  return parseAll(input, options);
}

/**
 * Streams kline CSV bytes as RecordBatches.
 *
 * Contract: as {@linkcode streamKlineZip}, without the unzip stage.
 *
 * @param input The CSV bytes or a stream of them.
 * @param options As for {@linkcode readKlineCsv}.
 * @returns A stream of RecordBatches (an async iterable).
 * @throws {TypeError} The input or `expectedSha256` is not usable.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { streamKlineCsv } from "./read_kline.ts";
 * const csv = "1672531200000,1.5,1.5,1.5,1.5,2,1672531259999,3,4,1,1.5,0\n";
 * const batches = await Array.fromAsync(streamKlineCsv(new TextEncoder().encode(csv)));
 * assert.equal(batches[0].getChild("volume")?.get(0), 2);
 * ```
 */
export function streamKlineCsv(
  input: KlineInput,
  options: ReadKlineOptions = {},
): ReadableStream<RecordBatch> {
  checkOptions(input, options);
  const { bytes, sha } = hashed(byteStream(input), options);
  const out = bytes.pipeThrough(new KlineCsvStream(options));
  return sha ? out.pipeThrough(checksumGate(sha, options)) : out;
}

function checkOptions(input: unknown, options: ReadKlineOptions): void {
  if (!(input instanceof Uint8Array) && !(input instanceof ReadableStream)) {
    throw new TypeError("Cannot read klines: input is neither a Uint8Array nor a ReadableStream");
  }
  const expected = options.expectedSha256;
  if (expected !== undefined && (typeof expected !== "string" || !SHA256_HEX.test(expected))) {
    throw new TypeError(
      `Cannot read klines: expectedSha256 "${expected}" is not 64 hexadecimal digits`,
    );
  }
}

function byteStream(input: KlineInput): ReadableStream<Uint8Array> {
  if (!(input instanceof Uint8Array)) return input;
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < input.length; i += CHUNK_BYTES) {
    chunks.push(input.subarray(i, i + CHUNK_BYTES));
  }
  return ReadableStream.from(chunks);
}

function hashed(
  bytes: ReadableStream<Uint8Array>,
  options: ReadKlineOptions,
): { bytes: ReadableStream<Uint8Array>; sha?: Sha256Stream } {
  if (options.expectedSha256 === undefined) return { bytes };
  const sha = new Sha256Stream();
  return { bytes: bytes.pipeThrough(sha), sha };
}

/** Passes batches through; at the end, errors the stream if the digest differs. */
function checksumGate(
  sha: Sha256Stream,
  options: ReadKlineOptions,
): TransformStream<RecordBatch, RecordBatch> {
  return new TransformStream({
    async flush() {
      verifyChecksum(options.file ?? "input", options.expectedSha256!, await sha.digest);
    },
  });
}

function verifyBytes(bytes: Uint8Array, options: ReadKlineOptions): void {
  const actual = createHash("sha256").update(bytes).digest("hex");
  verifyChecksum(options.file ?? "input", options.expectedSha256!, actual);
}

/** Parses a whole CSV in memory with no stream in between. */
function parseAll(csv: Uint8Array, options: ReadKlineOptions): Table {
  const batches: RecordBatch[] = [];
  const batchRows = checkBatchRows(options.batchRows);
  const parser = new KlineCsvParser(
    { file: options.file, batchRows, source: options.source },
    (batch) => batches.push(batch),
  );
  parser.push(csv);
  parser.finish();
  return tableOf(batches, options);
}

async function toTable(
  batches: ReadableStream<RecordBatch>,
  options: ReadKlineOptions,
): Promise<Table> {
  return tableOf(await Array.fromAsync(batches), options);
}

function tableOf(batches: RecordBatch[], options: ReadKlineOptions): Table {
  const schema = options.source === undefined ? KLINE_SCHEMA : KLINE_SCHEMA_WITH_SOURCE;
  return new Table(schema, batches);
}
