/**
 * The cache's trade partition file: one Arrow IPC *file* per UTC day of
 * `aggTrades` or `trades`, of the fixed schema (`AGG_TRADE_SCHEMA`,
 * `TRADE_SCHEMA`: Int64 ids, Float64, Timestamp µs UTC, bit-packed Bool,
 * validity bitmaps in the columns that hold nulls), whose schema metadata
 * (`dsm.*` keys, `dsm.dataset` = the dataset) records where the rows came
 * from and the first and last id and time. The id (the first column) is
 * strictly increasing; the time is non-decreasing (trades share
 * microseconds). Readable as is by arrow-js, pyarrow, Polars and DuckDB.
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";
import { CacheError, InvalidDatasetError } from "../core/errors.ts";
import { AGG_TRADE_SCHEMA, TRADE_SCHEMA, type TradeDataset } from "../core/trade_schema.ts";
import { readArrowFooter } from "./_arrow_file_reader.ts";
import {
  FORMAT_VERSION,
  integerMetadata,
  META_PREFIX,
  type PartitionHeader,
  partitionMetadataFromMap,
  partitionMetadataToMap,
} from "./_partition_metadata.ts";
import {
  checkPartitionBatches,
  type PartitionLayout,
  partitionLayout,
  readPartitionBatches,
  readPartitionFooter,
  writePartitionFile,
} from "./_partition_ipc.ts";

/**
 * What the writer of a trade partition file states about it: dataset,
 * market, symbol, partition (a day, `YYYY-MM-DD`), source, the Vision
 * archive's SHA-256, write time.
 */
export interface TradeIpcHeader extends PartitionHeader {
  /** `aggTrades` or `trades`. */
  dataset: TradeDataset;
}

/** Everything a trade partition file records about itself. */
export interface TradeIpcMetadata extends TradeIpcHeader {
  /** Number of rows. */
  rows: number;
  /** First id (`agg_trade_id` or `id`); undefined when there are no rows. */
  firstId?: number;
  /** Last id; undefined when there are no rows. */
  lastId?: number;
  /** First time (`transact_time` or `time`), epoch µs; undefined when there are no rows. */
  firstTime?: number;
  /** Last time, epoch µs; undefined when there are no rows. */
  lastTime?: number;
  /** File layout version, `"1"`. */
  formatVersion: string;
}

/** A decoded and validated trade partition file. */
export interface DecodedTradeIpc {
  /** The rows, of the dataset's schema, in id order (views on the input bytes). */
  batches: RecordBatch[];
  /** The file's `dsm.*` metadata. */
  metadata: TradeIpcMetadata;
}

/** Options of {@linkcode decodeTradeIpc} and {@linkcode decodeTradeIpcMetadata}. */
export interface DecodeTradeIpcOptions {
  /**
   * The dataset the file must hold; a file of the other one is refused.
   * @default the file's `dsm.dataset`
   */
  dataset?: TradeDataset;
  /**
   * File name, used in error messages and `CacheError.path`.
   * @default undefined
   */
  file?: string;
  /**
   * Check the CRC-32 of the record batch bytes against `dsm.body_crc32`.
   * Only {@linkcode decodeTradeIpc} uses it.
   * @default true
   */
  checkBody?: boolean;
}

/** Per dataset: its file layout and the names of its id and time columns. */
const KINDS: Record<TradeDataset, { layout: PartitionLayout; id: string; time: string }> = {
  aggTrades: {
    layout: partitionLayout(AGG_TRADE_SCHEMA, "aggTrades", { time: "transact_time" }),
    id: "agg_trade_id",
    time: "transact_time",
  },
  trades: {
    layout: partitionLayout(TRADE_SCHEMA, "trades", { time: "time" }),
    id: "id",
    time: "time",
  },
};

const DATASET_KEY = `${META_PREFIX}dataset`;

function isTradeDataset(value: unknown): value is TradeDataset {
  return value === "aggTrades" || value === "trades";
}

function checkDataset(value: unknown): TradeDataset {
  if (isTradeDataset(value)) return value;
  throw new InvalidDatasetError(
    value,
    `Cannot use dataset ${JSON.stringify(value)} for trade files: expected "aggTrades" or "trades"`,
  );
}

/** The dataset asked for, else the one the file names (the footer is read bounds-checked). */
function datasetOf(bytes: Uint8Array, options: DecodeTradeIpcOptions): TradeDataset {
  if (options.dataset !== undefined) return checkDataset(options.dataset);
  const named = readArrowFooter(bytes)?.metadata.get(DATASET_KEY);
  if (isTradeDataset(named)) return named;
  // Not a trade file: the footer check says why (damage, another schema), else the dataset.
  readPartitionFooter(KINDS.trades.layout, bytes, options.file);
  throw new CacheError(
    `Cannot read cache file: metadata "${DATASET_KEY}" is "${named}", expected "aggTrades" or "trades"`,
    options.file,
  );
}

function metadataFromMap(
  map: Map<string, string>,
  dataset: TradeDataset,
  file?: string,
): TradeIpcMetadata {
  const kind = KINDS[dataset];
  const read = partitionMetadataFromMap(map, kind.id, ["dataset"], file);
  const m = read.metadata;
  if (read.values[0] !== dataset) {
    throw new CacheError(
      `Cannot read cache file: metadata "${DATASET_KEY}" is "${
        read.values[0]
      }", expected "${dataset}"`,
      file,
    );
  }
  const firstTime = integerMetadata(map, `first_${kind.time}`, file);
  const lastTime = integerMetadata(map, `last_${kind.time}`, file);
  if ((m.rows > 0) !== (firstTime !== undefined && lastTime !== undefined)) {
    throw new CacheError(
      `Cannot read cache file: first and last ${kind.time} do not fit rows`,
      file,
    );
  }
  const out: TradeIpcMetadata = {
    formatVersion: m.formatVersion,
    dataset,
    source: m.source,
    market: m.market,
    symbol: m.symbol,
    partition: m.partition,
    rows: m.rows,
    firstId: m.first,
    lastId: m.last,
    firstTime,
    lastTime,
    writtenAt: m.writtenAt,
  };
  if (m.visionSha256 !== undefined) out.visionSha256 = m.visionSha256;
  return out;
}

/**
 * Encodes aggTrades or trades batches as an Arrow IPC file with `dsm.*`
 * schema metadata.
 *
 * A trailing `_data_source` column is dropped (provenance lives in the
 * metadata); rows, first and last id and time are computed. Columns with
 * nulls get a validity bitmap; the others none. Bool columns are written
 * bit-packed, their bits past the last row as 0.
 *
 * @param batches Batches of the dataset's schema (optionally with `_data_source`), in id order.
 * @param header Dataset, market, symbol, partition, source, checksum, write time.
 * @returns The file bytes.
 * @throws {InvalidDatasetError} When `header.dataset` is not a trade dataset.
 * @throws {TypeError} When a batch is not of the dataset's schema.
 * @throws {RangeError} When a column that may not hold nulls has some, the
 *   id is not strictly increasing or the time decreases.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeTradeCsv } from "./trade_csv.ts";
 * import { decodeTradeIpc, encodeTradeIpc } from "./trade_ipc.ts";
 * const csv = "7,93422.4,0.5,10,12,1735689600000,true\n8,93422.5,1,13,13,1735689600000,false\n";
 * const rows = decodeTradeCsv(new TextEncoder().encode(csv), { dataset: "aggTrades", market: "um" });
 * const bytes = encodeTradeIpc(rows, {
 *   dataset: "aggTrades", market: "um", symbol: "BTCUSDT", partition: "2025-01-01",
 *   source: "VISION", visionSha256: "ab".repeat(32), writtenAt: Date.UTC(2025, 0, 2),
 * });
 * const { batches, metadata } = decodeTradeIpc(bytes);
 * assert.deepEqual([...batches[0].getChild("is_buyer_maker")!], [true, false]);
 * assert.deepEqual([...batches[0].getChild("is_best_match")!], [null, null]);
 * assert.equal(metadata.lastId, 8);
 * assert.equal(metadata.firstTime, 1735689600000000);
 * ```
 */
export function encodeTradeIpc(
  batches: readonly RecordBatch[],
  header: TradeIpcHeader,
): Uint8Array {
  const dataset = checkDataset(header.dataset);
  const kind = KINDS[dataset];
  const scan = checkPartitionBatches(kind.layout, batches);
  const map = partitionMetadataToMap(
    {
      ...header,
      rows: scan.rows,
      first: scan.first,
      last: scan.last,
      formatVersion: FORMAT_VERSION,
    },
    kind.id,
    [["dataset", dataset]],
  );
  if (scan.rows > 0) {
    map.set(`${META_PREFIX}first_${kind.time}`, String(scan.firstTime));
    map.set(`${META_PREFIX}last_${kind.time}`, String(scan.lastTime));
  }
  return writePartitionFile(kind.layout, batches, map);
}

/**
 * Reads and checks only the schema metadata of a trade partition file.
 *
 * Only the footer is decoded, so `bytes` may be the whole file or its first
 * 8 bytes followed by its last bytes (footer, footer length, magic).
 *
 * @param bytes The file, or its head and tail.
 * @param options The dataset it must hold, file name for messages.
 * @returns The metadata.
 * @throws {CacheError} When the magic, footer, schema or metadata is wrong
 *   (a kline or funding file among them, or the other trade dataset).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TRADE_SCHEMA } from "../core/trade_schema.ts";
 * import { decodeTradeIpcMetadata, encodeTradeIpc } from "./trade_ipc.ts";
 * const bytes = encodeTradeIpc([], {
 *   dataset: "trades", market: "cm", symbol: "BTCUSD_PERP", partition: "2024-01-01",
 *   source: "REST", writtenAt: 0,
 * });
 * const meta = decodeTradeIpcMetadata(bytes);
 * assert.equal(meta.dataset, "trades");
 * assert.equal(meta.rows, 0);
 * assert.equal(meta.firstTime, undefined);
 * assert.throws(() => decodeTradeIpcMetadata(bytes, { dataset: "aggTrades" }), {
 *   code: "CACHE_ERROR",
 * });
 * assert.equal(TRADE_SCHEMA.fields[0].name, "id");
 * ```
 */
export function decodeTradeIpcMetadata(
  bytes: Uint8Array,
  options: DecodeTradeIpcOptions = {},
): TradeIpcMetadata {
  const dataset = datasetOf(bytes, options);
  const footer = readPartitionFooter(KINDS[dataset].layout, bytes, options.file);
  return metadataFromMap(footer.metadata, dataset, options.file);
}

/**
 * Decodes and validates a trade partition file without copying its
 * columns.
 *
 * Checks: magic bytes at both ends, a readable footer, the schema equal to
 * the dataset's (names and types), the CRC-32 of the metadata and of the
 * record batch bytes, readable record batches (nulls only in the nullable
 * columns, as many as their bitmaps say), the metadata (`dsm.dataset`), the
 * id strictly increasing and the time non-decreasing, and row count, first
 * and last id and time equal to the metadata. The file is read by this
 * module's own bounds-checked reader, never by arrow-js's (which can loop
 * forever on a damaged footer).
 *
 * @param bytes The whole file.
 * @param options The dataset it must hold, file name for messages, body CRC check.
 * @returns Batches of the dataset's schema and the metadata.
 * @throws {CacheError} On any problem (corrupt, truncated, foreign file).
 * @throws {InvalidDatasetError} When `options.dataset` is not a trade dataset.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeTradeIpc } from "./trade_ipc.ts";
 * assert.throws(() => decodeTradeIpc(new Uint8Array(0)), { code: "CACHE_ERROR" });
 * assert.throws(() => decodeTradeIpc(new Uint8Array(0), { dataset: "trades", file: "x.arrow" }), {
 *   code: "CACHE_ERROR",
 *   path: "x.arrow",
 * });
 * ```
 */
export function decodeTradeIpc(
  bytes: Uint8Array,
  options: DecodeTradeIpcOptions = {},
): DecodedTradeIpc {
  const dataset = datasetOf(bytes, options);
  const { layout } = KINDS[dataset];
  const footer = readPartitionFooter(layout, bytes, options.file);
  const metadata = metadataFromMap(footer.metadata, dataset, options.file);
  const expected = {
    rows: metadata.rows,
    first: metadata.firstId,
    last: metadata.lastId,
    firstTime: metadata.firstTime,
    lastTime: metadata.lastTime,
  };
  const batches = readPartitionBatches(layout, bytes, footer, expected, options);
  return { batches, metadata };
}
