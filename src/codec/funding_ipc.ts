/**
 * The cache's funding rate partition file: one Arrow IPC *file* of the fixed
 * funding schema (without `_data_source`; `funding_interval_hours` and
 * `mark_price` with validity bitmaps where they hold nulls) whose schema
 * metadata (`dsm.*` keys, `dsm.dataset` = `fundingRate`) records where the
 * rows came from. Readable as is by arrow-js, pyarrow, Polars and DuckDB.
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";
import { CacheError } from "../core/errors.ts";
import { FUNDING_SCHEMA } from "../core/funding_schema.ts";
import {
  FORMAT_VERSION,
  META_PREFIX,
  type PartitionHeader,
  partitionMetadataFromMap,
  partitionMetadataToMap,
} from "./_partition_metadata.ts";
import {
  checkPartitionBatches,
  partitionLayout,
  readPartitionBatches,
  readPartitionFooter,
  type ReadPartitionOptions,
  writePartitionFile,
} from "./_partition_ipc.ts";

export type { PartitionHeader } from "./_partition_metadata.ts";

/**
 * What the writer of a funding rate partition file states about it: market,
 * symbol, partition (a month, `YYYY-MM`), source, the Vision archive's
 * SHA-256, write time.
 */
export type FundingIpcHeader = PartitionHeader;

/** Everything a funding rate partition file records about itself. */
export interface FundingIpcMetadata extends FundingIpcHeader {
  /** The dataset, `fundingRate`. */
  dataset: "fundingRate";
  /** Number of rows. */
  rows: number;
  /** First funding time, epoch ms; undefined when there are no rows. */
  firstFundingTime?: number;
  /** Last funding time, epoch ms; undefined when there are no rows. */
  lastFundingTime?: number;
  /** File layout version, `"1"`. */
  formatVersion: string;
}

/** A decoded and validated funding rate partition file. */
export interface DecodedFundingIpc {
  /** The rows, of `FUNDING_SCHEMA`, in funding_time order (views on the input bytes). */
  batches: RecordBatch[];
  /** The file's `dsm.*` metadata. */
  metadata: FundingIpcMetadata;
}

/** Options of {@linkcode decodeFundingIpc} and {@linkcode decodeFundingIpcMetadata}. */
export interface DecodeFundingIpcOptions {
  /**
   * File name, used in error messages and `CacheError.path`.
   * @default undefined
   */
  file?: string;
  /**
   * Check the CRC-32 of the record batch bytes against `dsm.body_crc32`.
   * Only {@linkcode decodeFundingIpc} uses it.
   * @default true
   */
  checkBody?: boolean;
}

const DATASET = "fundingRate";
const TIME_COLUMN = "funding_time";
/** Funding partition files: FUNDING_SCHEMA, funding_time first, two nullable columns. */
const LAYOUT = partitionLayout(FUNDING_SCHEMA, "funding rates");

function metadataFromMap(map: Map<string, string>, file?: string): FundingIpcMetadata {
  const read = partitionMetadataFromMap(
    map,
    TIME_COLUMN,
    ["dataset"],
    file,
  );
  const m = read.metadata;
  const dataset = read.values[0];
  if (dataset !== DATASET) {
    throw new CacheError(
      `Cannot read cache file: metadata "${META_PREFIX}dataset" is "${dataset}", expected "${DATASET}"`,
      file,
    );
  }
  const out: FundingIpcMetadata = {
    formatVersion: m.formatVersion,
    dataset: DATASET,
    source: m.source,
    market: m.market,
    symbol: m.symbol,
    partition: m.partition,
    rows: m.rows,
    firstFundingTime: m.first,
    lastFundingTime: m.last,
    writtenAt: m.writtenAt,
  };
  if (m.visionSha256 !== undefined) out.visionSha256 = m.visionSha256;
  return out;
}

/**
 * Encodes funding rate batches as an Arrow IPC file with `dsm.*` schema
 * metadata.
 *
 * A trailing `_data_source` column is dropped (provenance lives in the
 * metadata); rows, first and last funding_time are computed. Columns with
 * nulls get a validity bitmap; the others none.
 *
 * @param batches Batches of `FUNDING_SCHEMA` (optionally with `_data_source`), in time order.
 * @param header Market, symbol, partition, source, checksum, write time.
 * @returns The file bytes.
 * @throws {TypeError} When a batch is not of the funding schema.
 * @throws {RangeError} When funding_time or funding_rate has nulls, or
 *   funding_time is not strictly increasing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { allocFundingColumns, fundingBatch, setValid } from "../core/funding_schema.ts";
 * import { decodeFundingIpc, encodeFundingIpc } from "./funding_ipc.ts";
 * const cols = allocFundingColumns(2);
 * cols.fundingTime.set([1704067200000, 1704096000001]);
 * cols.fundingRate.set([0.0001, -0.0000375]);
 * cols.markPrice[1] = 42283.58;
 * setValid(cols.markPriceValid, 1);
 * const bytes = encodeFundingIpc([fundingBatch(cols)], {
 *   market: "um", symbol: "BTCUSDT", partition: "2024-01", source: "REST",
 *   writtenAt: Date.UTC(2024, 1, 1),
 * });
 * const { batches, metadata } = decodeFundingIpc(bytes);
 * assert.deepEqual([...batches[0].getChild("mark_price")!], [null, 42283.58]);
 * assert.equal(metadata.dataset, "fundingRate");
 * assert.equal(metadata.lastFundingTime, 1704096000001);
 * ```
 */
export function encodeFundingIpc(
  batches: readonly RecordBatch[],
  header: FundingIpcHeader,
): Uint8Array {
  const scan = checkPartitionBatches(LAYOUT, batches);
  const map = partitionMetadataToMap(
    {
      ...header,
      rows: scan.rows,
      first: scan.first,
      last: scan.last,
      formatVersion: FORMAT_VERSION,
    },
    TIME_COLUMN,
    [["dataset", DATASET]],
  );
  return writePartitionFile(LAYOUT, batches, map);
}

/**
 * Reads and checks only the schema metadata of a funding rate partition
 * file.
 *
 * Only the footer is decoded, so `bytes` may be the whole file or its first
 * 8 bytes followed by its last bytes (footer, footer length, magic).
 *
 * @param bytes The file, or its head and tail.
 * @param options File name for messages.
 * @returns The metadata.
 * @throws {CacheError} When the magic, footer, schema or metadata is wrong
 *   (a kline file among them).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeFundingIpcMetadata, encodeFundingIpc } from "./funding_ipc.ts";
 * const bytes = encodeFundingIpc([], {
 *   market: "cm", symbol: "BTCUSD_PERP", partition: "2024-01", source: "VISION",
 *   visionSha256: "ab", writtenAt: 0,
 * });
 * const meta = decodeFundingIpcMetadata(bytes);
 * assert.equal(meta.rows, 0);
 * assert.equal(meta.visionSha256, "ab");
 * assert.equal(meta.firstFundingTime, undefined);
 * ```
 */
export function decodeFundingIpcMetadata(
  bytes: Uint8Array,
  options: DecodeFundingIpcOptions = {},
): FundingIpcMetadata {
  return metadataFromMap(readPartitionFooter(LAYOUT, bytes, options.file).metadata, options.file);
}

/**
 * Decodes and validates a funding rate partition file without copying its
 * columns.
 *
 * Checks: magic bytes at both ends, a readable footer, the schema equal to
 * `FUNDING_SCHEMA` (names and types), the CRC-32 of the metadata and of the
 * record batch bytes, readable record batches (nulls only in
 * `funding_interval_hours` and `mark_price`, as many as their bitmaps
 * say), the metadata (`dsm.dataset` = `fundingRate`), funding_time strictly
 * increasing, and row count, first and last funding_time equal to the
 * metadata. The file is read by this module's own bounds-checked reader,
 * never by arrow-js's (which can loop forever on a damaged footer).
 *
 * @param bytes The whole file.
 * @param options File name for messages, body CRC check.
 * @returns Batches of `FUNDING_SCHEMA` and the metadata.
 * @throws {CacheError} On any problem (corrupt, truncated, foreign file).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeFundingIpc } from "./funding_ipc.ts";
 * assert.throws(() => decodeFundingIpc(new Uint8Array(0)), { code: "CACHE_ERROR" });
 * ```
 */
export function decodeFundingIpc(
  bytes: Uint8Array,
  options: DecodeFundingIpcOptions = {},
): DecodedFundingIpc {
  const footer = readPartitionFooter(LAYOUT, bytes, options.file);
  const metadata = metadataFromMap(footer.metadata, options.file);
  const expected = {
    rows: metadata.rows,
    first: metadata.firstFundingTime,
    last: metadata.lastFundingTime,
  };
  const read: ReadPartitionOptions = options;
  const batches = readPartitionBatches(LAYOUT, bytes, footer, expected, read);
  return { batches, metadata };
}
