/**
 * The cache's partition file: one Arrow IPC *file* of the fixed kline schema
 * (without `_data_source`) whose schema metadata (`dsm.*` keys) records where
 * the rows came from. Readable as is by arrow-js, pyarrow, Polars and DuckDB.
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";
import { KLINE_SCHEMA } from "../core/schema.ts";
import {
  FORMAT_VERSION,
  type KlineIpcHeader,
  type KlineIpcMetadata,
  metadataFromMap,
  metadataToMap,
} from "./_kline_ipc_metadata.ts";
import {
  checkPartitionBatches,
  partitionLayout,
  readPartitionBatches,
  readPartitionFooter,
  writePartitionFile,
} from "./_partition_ipc.ts";

export type {
  KlineAnomalies,
  KlineGap,
  KlineIpcHeader,
  KlineIpcMetadata,
} from "./_kline_ipc_metadata.ts";

/** A decoded and validated partition file. */
export interface DecodedKlineIpc {
  /** The rows, of {@linkcode KLINE_SCHEMA}, in open_time order (views on the input bytes). */
  batches: RecordBatch[];
  /** The file's `dsm.*` metadata. */
  metadata: KlineIpcMetadata;
}

/** Options of {@linkcode decodeKlineIpc}. */
export interface DecodeKlineIpcOptions {
  /**
   * File name, used in error messages and {@linkcode CacheError.path}.
   * @default undefined
   */
  file?: string;
  /**
   * Check the CRC-32 of the record batch bytes against `dsm.body_crc32`
   * (catches damage inside values, and protects the parser from damaged
   * message headers). Only {@linkcode decodeKlineIpc} uses it.
   * @default true
   */
  checkBody?: boolean;
}

/** Kline partition files: KLINE_SCHEMA, non-null columns, open_time first. */
const LAYOUT = partitionLayout(KLINE_SCHEMA, "klines");

/**
 * Encodes kline batches as an Arrow IPC file with `dsm.*` schema metadata.
 *
 * A trailing `_data_source` column is dropped (provenance lives in the
 * metadata); rows, first and last open_time are computed.
 *
 * @param batches Batches of {@linkcode KLINE_SCHEMA} (optionally with `_data_source`), in time order.
 * @param header Market, symbol, interval, partition, source, checksum, gaps, write time.
 * @returns The file bytes.
 * @throws {TypeError} When a batch is not of the kline schema or has nulls.
 * @throws {RangeError} When open_time is not strictly increasing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { allocKlineColumns, klineBatch } from "../core/schema.ts";
 * import { decodeKlineIpc, encodeKlineIpc } from "./kline_ipc.ts";
 * const cols = allocKlineColumns(2);
 * cols.openTime.set([1704067200000, 1704067260000]);
 * const bytes = encodeKlineIpc([klineBatch(cols)], {
 *   market: "spot", symbol: "BTCUSDT", interval: "1m", partition: "2024-01-01",
 *   source: "REST", writtenAt: Date.UTC(2024, 0, 2),
 * });
 * const { batches, metadata } = decodeKlineIpc(bytes);
 * assert.equal(batches[0].numRows, 2);
 * assert.equal(metadata.source, "REST");
 * assert.equal(metadata.lastOpenTime, 1704067260000);
 * ```
 */
export function encodeKlineIpc(
  batches: readonly RecordBatch[],
  header: KlineIpcHeader,
): Uint8Array {
  const scan = checkPartitionBatches(LAYOUT, batches);
  const metadata: KlineIpcMetadata = {
    ...header,
    gaps: [...(header.gaps ?? [])],
    rows: scan.rows,
    firstOpenTime: scan.first,
    lastOpenTime: scan.last,
    formatVersion: FORMAT_VERSION,
  };
  return writePartitionFile(LAYOUT, batches, metadataToMap(metadata));
}

/**
 * Reads and checks only the schema metadata of a partition file.
 *
 * Only the footer is decoded, so `bytes` may be the whole file or its first
 * 8 bytes followed by its last bytes (footer, footer length, magic).
 *
 * @param bytes The file, or its head and tail.
 * @param options File name for messages.
 * @returns The metadata.
 * @throws {CacheError} When the magic, footer, schema or metadata is wrong.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeKlineIpcMetadata, encodeKlineIpc } from "./kline_ipc.ts";
 * const bytes = encodeKlineIpc([], {
 *   market: "um", symbol: "ETHUSDT", interval: "1d", partition: "2024-01-01",
 *   source: "VISION", visionSha256: "ab", writtenAt: 0,
 *   gaps: [{ start: 1704067200000, end: 1704153600000 }],
 * });
 * const meta = decodeKlineIpcMetadata(bytes);
 * assert.equal(meta.rows, 0);
 * assert.equal(meta.visionSha256, "ab");
 * assert.equal(meta.gaps.length, 1);
 * ```
 */
export function decodeKlineIpcMetadata(
  bytes: Uint8Array,
  options: DecodeKlineIpcOptions = {},
): KlineIpcMetadata {
  return metadataFromMap(readPartitionFooter(LAYOUT, bytes, options.file).metadata, options.file);
}

/**
 * Decodes and validates a partition file without copying its columns.
 *
 * Checks: magic bytes at both ends, a readable footer, the schema equal to
 * {@linkcode KLINE_SCHEMA} (names and types), the CRC-32 of the metadata
 * (when the file has one) and of the record batch bytes, readable record
 * batches of non-null columns, the metadata, open_time strictly increasing,
 * and row count, first and last open_time equal to the metadata. The file
 * is read by this module's own bounds-checked reader, never by arrow-js's
 * (which can loop forever on a damaged footer).
 *
 * @param bytes The whole file.
 * @param options File name for messages.
 * @returns Batches of {@linkcode KLINE_SCHEMA} and the metadata.
 * @throws {CacheError} On any problem (corrupt, truncated, foreign file).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeKlineIpc } from "./kline_ipc.ts";
 * assert.throws(() => decodeKlineIpc(new Uint8Array(0)), { code: "CACHE_ERROR" });
 * ```
 */
export function decodeKlineIpc(
  bytes: Uint8Array,
  options: DecodeKlineIpcOptions = {},
): DecodedKlineIpc {
  const file = options.file;
  const footer = readPartitionFooter(LAYOUT, bytes, file);
  const metadata = metadataFromMap(footer.metadata, file);
  const expected = {
    rows: metadata.rows,
    first: metadata.firstOpenTime,
    last: metadata.lastOpenTime,
  };
  const batches = readPartitionBatches(LAYOUT, bytes, footer, expected, options);
  return { batches, metadata };
}
