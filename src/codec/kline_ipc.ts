/**
 * The cache's partition file: one Arrow IPC *file* of the fixed kline schema
 * (without `_data_source`) whose schema metadata (`dsm.*` keys) records where
 * the rows came from. Readable as is by arrow-js, pyarrow, Polars and DuckDB.
 *
 * @module
 */
import { type Data, type RecordBatch, type Schema, Struct } from "apache-arrow";
import { crc32 } from "node:zlib";
import { CacheError } from "../core/errors.ts";
import { fixedColumn, KLINE_SCHEMA, recordBatchOf, structData } from "../core/schema.ts";
import { writeArrowFile } from "./_arrow_file_writer.ts";
import {
  type ArrowFieldInfo,
  type ArrowFooter,
  hasMagic,
  readArrowBatch,
  readArrowFooter,
} from "./_arrow_file_reader.ts";
import {
  FORMAT_VERSION,
  type KlineIpcHeader,
  type KlineIpcMetadata,
  metadataFromMap,
  metadataToMap,
} from "./_kline_ipc_metadata.ts";

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

const CRC_KEY = "dsm.body_crc32";
/** CRC-32 of the other `dsm.*` entries: the footer lies outside the body CRC. */
const META_CRC_KEY = "dsm.metadata_crc32";
const COLUMNS = KLINE_SCHEMA.fields.length;
const STRUCT = new Struct(KLINE_SCHEMA.fields);

/** KLINE_SCHEMA's columns as the footer reader describes them. */
const EXPECTED_FIELDS: ArrowFieldInfo[] = KLINE_SCHEMA.fields.map((f) => {
  // deno-lint-ignore no-explicit-any
  const t = f.type as any;
  const param = t.bitWidth ?? t.precision ?? t.unit;
  const flag = t.isSigned ?? (t.timezone !== undefined && t.timezone !== null);
  return { name: f.name, typeId: t.typeId, param, flag, timezone: t.timezone ?? undefined };
});

function describeField(f: ArrowFieldInfo): string {
  const kind = f.typeId === 2
    ? `Int${f.param}${f.flag ? "" : " unsigned"}`
    : f.typeId === 3
    ? `FloatingPoint precision ${f.param}`
    : `Timestamp unit ${f.param}${f.timezone === undefined ? "" : ` ${f.timezone}`}`;
  return `"${f.name}" ${kind}`;
}

/** A reason when the columns are not KLINE_SCHEMA's, else undefined. */
function fieldsMismatch(fields: readonly ArrowFieldInfo[]): string | undefined {
  if (fields.length !== COLUMNS) return `has ${fields.length} columns, expected ${COLUMNS}`;
  for (let i = 0; i < COLUMNS; i++) {
    const got = fields[i];
    const want = EXPECTED_FIELDS[i];
    const same = got.name === want.name && got.typeId === want.typeId &&
      got.param === want.param && got.flag === want.flag && got.timezone === want.timezone;
    if (!same) return `column ${i} is ${describeField(got)}, expected ${describeField(want)}`;
  }
  return undefined;
}

/**
 * The batches of a partition file, straight from its batch headers: the
 * columns are views on `bytes` (8-byte aligned). Undefined when a header is
 * damaged or not of the layout (non-null 8-byte columns, no compression).
 */
function decodeBatches(bytes: Uint8Array, footer: ArrowFooter): RecordBatch[] | undefined {
  const batches: RecordBatch[] = [];
  for (const block of footer.blocks) {
    const layout = readArrowBatch(bytes, block, COLUMNS);
    if (!layout) return undefined;
    const length = layout.length;
    if (length === 0) continue;
    const children: Data[] = [];
    for (let c = 0; c < COLUMNS; c++) {
      const { offset, length: size } = layout.values[c];
      const at = bytes.byteOffset + offset;
      if (at % 8 !== 0 || size < length * 8) return undefined;
      const type = KLINE_SCHEMA.fields[c].type;
      children.push(fixedColumn(type, new type.ArrayType(bytes.buffer, at, length), length));
    }
    batches.push(recordBatchOf(KLINE_SCHEMA, structData(STRUCT, length, children)));
  }
  return batches;
}

/** A reason when a batch to encode is not of KLINE_SCHEMA (an extra `_data_source` is allowed). */
function schemaMismatch(schema: Schema): string | undefined {
  const fields = schema.fields;
  if (fields.length < COLUMNS) {
    return `has ${fields.length} columns, expected ${COLUMNS}`;
  }
  for (let i = 0; i < COLUMNS; i++) {
    const want = KLINE_SCHEMA.fields[i];
    const got = fields[i];
    if (got.name !== want.name || String(got.type) !== String(want.type)) {
      return `column ${i} is "${got.name}" ${got.type}, expected "${want.name}" ${want.type}`;
    }
  }
  if (fields.length > COLUMNS + 1) return `has ${fields.length} columns`;
  return undefined;
}

/** An int64 from its four little-endian 16-bit words (exact below 2^53 in magnitude). */
function fromWords(w3: number, w2: number, w1: number, w0: number): number {
  return ((w3 * 65536 + w2) * 65536 + w1) * 65536 + w0;
}

/**
 * Strict open_time order over all batches; returns rows, first and last.
 *
 * Compares the int64 values as four 16-bit words (the top one signed), so
 * that no step makes a heap number even before the loop is optimized: the
 * scan allocates nothing per row.
 */
function scanOpenTimes(batches: readonly RecordBatch[]): {
  rows: number;
  first?: number;
  last?: number;
  error?: string;
} {
  let rows = 0;
  let first: number | undefined;
  let [p3, p2, p1, p0] = [-32769, 0, 0, 0]; // below every int64
  for (const batch of batches) {
    const n = batch.numRows;
    const children = batch.data.children;
    for (let c = 0; c < COLUMNS; c++) {
      if (children[c].nullCount > 0) return { rows, error: `column ${c} has nulls` };
      if (children[c].values.length < n) {
        return { rows, error: `column ${c} is shorter than the batch` };
      }
    }
    if (n === 0) continue;
    const values = children[0].values as BigInt64Array;
    const w = new Uint16Array(values.buffer, values.byteOffset, n * 4);
    for (let k = 0; k < 4 * n; k += 4) {
      const w3 = (w[k + 3] << 16) >> 16;
      const w2 = w[k + 2];
      const w1 = w[k + 1];
      const w0 = w[k];
      const later = w3 !== p3 ? w3 > p3 : w2 !== p2 ? w2 > p2 : w1 !== p1 ? w1 > p1 : w0 > p0;
      if (!later) {
        const t = fromWords(w3, w2, w1, w0);
        const prev = fromWords(p3, p2, p1, p0);
        return { rows, error: `open_time ${t} at row ${rows + k / 4} does not follow ${prev}` };
      }
      p3 = w3;
      p2 = w2;
      p1 = w1;
      p0 = w0;
    }
    first ??= fromWords((w[3] << 16) >> 16, w[2], w[1], w[0]);
    rows += n;
  }
  return { rows, first, last: rows > 0 ? fromWords(p3, p2, p1, p0) : undefined };
}

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
  for (const batch of batches) {
    const mismatch = schemaMismatch(batch.schema);
    if (mismatch) throw new TypeError(`Cannot encode klines: the batch ${mismatch}`);
  }
  const scan = scanOpenTimes(batches);
  if (scan.error !== undefined) throw new RangeError(`Cannot encode klines: ${scan.error}`);
  const metadata: KlineIpcMetadata = {
    ...header,
    gaps: [...(header.gaps ?? [])],
    rows: scan.rows,
    firstOpenTime: scan.first,
    lastOpenTime: scan.last,
    formatVersion: FORMAT_VERSION,
  };
  const map = metadataToMap(metadata);
  const out = batches.filter((b) => b.numRows > 0).map((b) => ({
    length: b.numRows,
    values: b.data.children.slice(0, COLUMNS).map((d) => d.values as Float64Array | BigInt64Array),
  }));
  // The CRC of the body lives in the footer's metadata only, after the body.
  const withCrc = (body: Uint8Array) =>
    new Map([...map, [CRC_KEY, crcOf(body)], [META_CRC_KEY, metadataCrc(map)]]);
  return writeArrowFile(EXPECTED_FIELDS, withCrc, out);
}

/** Bytes between the leading magic and the footer: the record batch messages. */
function bodyOf(bytes: Uint8Array): Uint8Array | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const footerLength = view.getInt32(bytes.length - 10, true);
  const footerStart = bytes.length - 10 - footerLength;
  if (footerLength <= 0 || footerStart < 8) return undefined;
  return bytes.subarray(8, footerStart);
}

/** CRC-32 of the metadata entries other than the two CRCs, in key order. */
function metadataCrc(map: ReadonlyMap<string, string>): string {
  // JSON of the [key, value] pairs in key order, CRC'd as UTF-8 (as in the file).
  const keys: string[] = [];
  map.forEach((_, key) => key !== CRC_KEY && key !== META_CRC_KEY && keys.push(key));
  keys.sort();
  let json = "[";
  for (let i = 0; i < keys.length; i++) {
    json += `${i > 0 ? "," : ""}[${JSON.stringify(keys[i])},${JSON.stringify(map.get(keys[i]))}]`;
  }
  return crc32(json + "]").toString(16).padStart(8, "0");
}

function crcOf(body: Uint8Array): string {
  return crc32(body).toString(16).padStart(8, "0");
}

function bodyCrc(bytes: Uint8Array): string {
  return crcOf(bodyOf(bytes) ?? new Uint8Array(0));
}

function fail(reason: string, file?: string, cause?: unknown): never {
  const where = file === undefined ? "" : ` "${file}"`;
  throw new CacheError(`Cannot read cache file${where}: ${reason}`, file, { cause });
}

/**
 * Reads the footer of a partition file without arrow-js (whose reader can
 * loop forever on a damaged footer, which the body CRC does not cover).
 */
function openFooter(bytes: Uint8Array, file?: string): ArrowFooter {
  if (bytes.length < 18) fail(`it is ${bytes.length} bytes long`, file);
  if (!hasMagic(bytes, 0) || !hasMagic(bytes, bytes.length - 6)) {
    fail("the ARROW1 magic bytes are missing (not an Arrow IPC file, or truncated)", file);
  }
  if (bodyOf(bytes) === undefined) fail("the footer length is out of bounds", file);
  const footer = readArrowFooter(bytes);
  if (!footer) {
    fail("the Arrow footer is unreadable (damaged, or not of non-null 64-bit columns)", file);
  }
  const mismatch = fieldsMismatch(footer.fields);
  if (mismatch) fail(`the schema ${mismatch}`, file);
  // Files written before the metadata CRC existed have none; every newer one is checked.
  const metaCrc = footer.metadata.get(META_CRC_KEY);
  if (metaCrc !== undefined && metaCrc !== metadataCrc(footer.metadata)) {
    fail(`the metadata CRC-32 is ${metadataCrc(footer.metadata)}, the file says ${metaCrc}`, file);
  }
  return footer;
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
  return metadataFromMap(openFooter(bytes, options.file).metadata, options.file);
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
  const footer = openFooter(bytes, file);
  const metadata = metadataFromMap(footer.metadata, file);
  const crc = footer.metadata.get(CRC_KEY);
  if (crc === undefined) fail(`metadata "${CRC_KEY}" is missing`, file);
  if (options.checkBody !== false) {
    const actual = bodyCrc(bytes);
    if (actual !== crc) fail(`the body CRC-32 is ${actual}, metadata says ${crc}`, file);
  }
  // Columns are views on the bytes, which must then be 8-byte aligned: copy once if not.
  const aligned = bytes.byteOffset % 8 === 0 ? bytes : bytes.slice();
  const batches = decodeBatches(aligned, footer) ??
    fail("a record batch is unreadable (truncated or corrupt)", file);
  const scan = scanOpenTimes(batches);
  if (scan.error !== undefined) fail(scan.error, file);
  if (scan.rows !== metadata.rows) {
    fail(`it holds ${scan.rows} rows, metadata says ${metadata.rows}`, file);
  }
  if (scan.first !== metadata.firstOpenTime || scan.last !== metadata.lastOpenTime) {
    fail(
      `open_time spans ${scan.first}..${scan.last}, metadata says ` +
        `${metadata.firstOpenTime}..${metadata.lastOpenTime}`,
      file,
    );
  }
  return { batches, metadata };
}
