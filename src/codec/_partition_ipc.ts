/**
 * What the cache's partition files share, whatever their dataset: one Arrow
 * IPC *file* of the dataset's fixed schema (without `_data_source`; 64-bit
 * and Bool columns, nullable where the schema says), written and read by the
 * module's own fixed-layout writer and reader, with the CRC-32 of the record
 * batch bytes and of the `dsm.*` metadata in the footer, the schema's first
 * column (a time, or a trade's id) strictly increasing and, where the
 * layout names one, a time column non-decreasing. `kline_ipc.ts`,
 * `funding_ipc.ts` and `trade_ipc.ts` add their metadata.
 *
 * @module
 */
import { Data, type RecordBatch, type Schema, Struct, util } from "apache-arrow";
import { crc32 } from "node:zlib";
import { CacheError } from "../core/errors.ts";
import { fixedColumn, recordBatchOf, structData } from "../core/schema.ts";
import { type ArrowBatchOut, type ArrowNullsOut, writeArrowFile } from "./_arrow_file_writer.ts";
import {
  type ArrowFieldInfo,
  type ArrowFooter,
  hasMagic,
  readArrowBatch,
  type ReadArrowBatchOptions,
  readArrowFooter,
  TYPE_BOOL,
} from "./_arrow_file_reader.ts";

/** A dataset's partition files: their schema and what the reader needs to know of it. */
export interface PartitionLayout {
  /** The schema of the batches, without `_data_source`; its first column is strictly increasing. */
  readonly schema: Schema;
  /** The rows' name in messages, e.g. `klines`. */
  readonly what: string;
  /** The struct type of a batch of the schema. */
  readonly struct: Struct;
  /** The schema's columns as the footer reader describes them. */
  readonly fields: readonly ArrowFieldInfo[];
  /** Which columns may hold nulls, for the batch reader; undefined when none may. */
  readonly read: ReadArrowBatchOptions | undefined;
  /** Per column, whether it is a Bool (bit-packed values); undefined when none is. */
  readonly bools: readonly boolean[] | undefined;
  /** Index of the non-decreasing time column after the first, when the layout has one. */
  readonly time: number | undefined;
}

/** Options of {@linkcode partitionLayout}. */
export interface PartitionLayoutOptions {
  /**
   * A second ordered column (Int64 or Timestamp), non-decreasing, whose
   * first and last values the scans report: a trade's time, when the first
   * column is its id.
   * @default undefined (the first column is the time)
   */
  time?: string;
}

/**
 * The layout of partition files of a schema of 64-bit and Bool columns.
 *
 * @param schema The schema, without `_data_source`; its first column
 *   (Int64 or Timestamp) strictly increases.
 * @param what The rows' name in messages, e.g. `klines`.
 * @param options The time column, when it is not the first.
 * @returns The layout.
 * @throws {TypeError} When `options.time` is not a column of the schema.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KLINE_SCHEMA } from "../core/schema.ts";
 * import { partitionLayout } from "./_partition_ipc.ts";
 * const layout = partitionLayout(KLINE_SCHEMA, "klines");
 * assert.equal(layout.fields[0].name, "open_time");
 * assert.equal(layout.read, undefined);
 * assert.equal(layout.time, undefined);
 * ```
 */
export function partitionLayout(
  schema: Schema,
  what: string,
  options: PartitionLayoutOptions = {},
): PartitionLayout {
  const fields = schema.fields.map((f): ArrowFieldInfo => {
    // deno-lint-ignore no-explicit-any
    const t = f.type as any;
    const param = t.bitWidth ?? t.precision ?? t.unit ?? 0;
    const flag = t.isSigned ?? (t.timezone !== undefined && t.timezone !== null);
    const info = { name: f.name, typeId: t.typeId, param, flag, timezone: t.timezone ?? undefined };
    return f.nullable ? { ...info, nullable: true } : info;
  });
  const nullable = schema.fields.map((f) => f.nullable);
  const bools = fields.map((f) => f.typeId === TYPE_BOOL);
  const time = options.time === undefined
    ? undefined
    : schema.fields.findIndex((f) => f.name === options.time);
  if (time !== undefined && time < 1) {
    throw new TypeError(`Cannot lay out ${what}: "${options.time}" is not a later column`);
  }
  return {
    schema,
    what,
    struct: new Struct(schema.fields),
    fields,
    read: nullable.some(Boolean) ? { nullable } : undefined,
    bools: bools.some(Boolean) ? bools : undefined,
    time,
  };
}

/** Rows, and the first and last values of the ordered columns, of a partition's batches. */
export interface PartitionScan {
  /** Number of rows. */
  rows: number;
  /** First value of the first column (a time, epoch ms, or an id); undefined without rows. */
  first?: number;
  /** Last value of the first column; undefined without rows. */
  last?: number;
  /** First value of the layout's time column, when it has one; undefined without rows. */
  firstTime?: number;
  /** Last value of the layout's time column, when it has one; undefined without rows. */
  lastTime?: number;
}

const CRC_KEY = "dsm.body_crc32";
/** CRC-32 of the other `dsm.*` entries: the footer lies outside the body CRC. */
const META_CRC_KEY = "dsm.metadata_crc32";

function describeField(f: ArrowFieldInfo): string {
  const kind = f.typeId === 2
    ? `Int${f.param}${f.flag ? "" : " unsigned"}`
    : f.typeId === 3
    ? `FloatingPoint precision ${f.param}`
    : f.typeId === TYPE_BOOL
    ? "Bool"
    : `Timestamp unit ${f.param}${f.timezone === undefined ? "" : ` ${f.timezone}`}`;
  return `"${f.name}" ${kind}`;
}

/** A reason when the columns are not the layout's (nullability aside: the data is checked), else undefined. */
function fieldsMismatch(
  layout: PartitionLayout,
  fields: readonly ArrowFieldInfo[],
): string | undefined {
  const expected = layout.fields;
  const columns = expected.length;
  if (fields.length !== columns) return `has ${fields.length} columns, expected ${columns}`;
  for (let i = 0; i < columns; i++) {
    const got = fields[i];
    const want = expected[i];
    const same = got.name === want.name && got.typeId === want.typeId &&
      got.param === want.param && got.flag === want.flag && got.timezone === want.timezone;
    if (!same) return `column ${i} is ${describeField(got)}, expected ${describeField(want)}`;
  }
  return undefined;
}

/** Zero bits among the first `length` bits of a validity bitmap. */
function zeroBits(bitmap: Uint8Array, length: number): number {
  return length - util.popcnt_bit_range(bitmap, 0, length);
}

/**
 * The batches of a partition file, straight from its batch headers: the
 * columns (and validity bitmaps) are views on `bytes` (64-bit columns 8-byte
 * aligned). Undefined when a header is damaged or not of the layout (8-byte
 * or bit-packed Bool columns, nulls only where allowed and as many as the
 * bitmap says, no compression).
 */
function decodeBatches(
  layout: PartitionLayout,
  bytes: Uint8Array,
  footer: ArrowFooter,
): RecordBatch[] | undefined {
  const batches: RecordBatch[] = [];
  const { schema, struct, bools } = layout;
  const columns = schema.fields.length;
  for (const block of footer.blocks) {
    const batch = readArrowBatch(bytes, block, columns, layout.read);
    if (!batch) return undefined;
    const length = batch.length;
    if (length === 0) continue;
    const children: Data[] = [];
    for (let c = 0; c < columns; c++) {
      const { offset, length: size } = batch.values[c];
      const at = bytes.byteOffset + offset;
      const type = schema.fields[c].type;
      let values;
      if (bools !== undefined && bools[c]) {
        const bitBytes = Math.ceil(length / 8);
        if (size < bitBytes) return undefined;
        values = new Uint8Array(bytes.buffer, at, bitBytes);
      } else {
        if (at % 8 !== 0 || size < length * 8) return undefined;
        values = new type.ArrayType(bytes.buffer, at, length);
      }
      const nulls = batch.nulls?.[c];
      if (nulls === undefined) {
        children.push(fixedColumn(type, values, length));
        continue;
      }
      const bitmap = bytes.subarray(nulls.offset, nulls.offset + Math.ceil(length / 8));
      if (zeroBits(bitmap, length) !== nulls.count) return undefined;
      children.push(new Data(type, 0, length, nulls.count, [undefined, values, bitmap]));
    }
    batches.push(recordBatchOf(schema, structData(struct, length, children)));
  }
  return batches;
}

/** A reason when a batch to encode is not of the layout's schema (an extra `_data_source` is allowed). */
function schemaMismatch(layout: PartitionLayout, schema: Schema): string | undefined {
  const fields = schema.fields;
  const expected = layout.schema.fields;
  const columns = expected.length;
  if (fields.length < columns) return `has ${fields.length} columns, expected ${columns}`;
  for (let i = 0; i < columns; i++) {
    const want = expected[i];
    const got = fields[i];
    if (got.name !== want.name || String(got.type) !== String(want.type)) {
      return `column ${i} is "${got.name}" ${got.type}, expected "${want.name}" ${want.type}`;
    }
  }
  if (fields.length > columns + 1) return `has ${fields.length} columns`;
  return undefined;
}

/** An int64 from its four little-endian 16-bit words (exact below 2^53 in magnitude). */
function fromWords(w3: number, w2: number, w1: number, w0: number): number {
  return ((w3 * 65536 + w2) * 65536 + w1) * 65536 + w0;
}

/** The int64 at row `i`, from its four 16-bit words. */
function valueAt(values: BigInt64Array, i: number): number {
  const w = new Uint16Array(values.buffer, values.byteOffset + 8 * i, 4);
  return fromWords((w[3] << 16) >> 16, w[2], w[1], w[0]);
}

/**
 * Checks that `n` int64 values follow `prev` (the last value seen, as four
 * 16-bit words, the top one signed) and each other: strictly increasing, or
 * non-decreasing. Returns the row of the first value out of order (`prev`
 * then holds the value before it), or -1 (`prev` then holds the last value).
 *
 * Compares the values as words, so that no step makes a heap number even
 * before the loop is optimized: the scan allocates nothing per row.
 */
function scanOrder(values: BigInt64Array, n: number, prev: number[], strict: boolean): number {
  const w = new Uint16Array(values.buffer, values.byteOffset, n * 4);
  let p3 = prev[0], p2 = prev[1], p1 = prev[2], p0 = prev[3];
  let bad = -1;
  for (let k = 0; k < 4 * n; k += 4) {
    const w3 = (w[k + 3] << 16) >> 16;
    const w2 = w[k + 2];
    const w1 = w[k + 1];
    const w0 = w[k];
    const later = w3 !== p3
      ? w3 > p3
      : w2 !== p2
      ? w2 > p2
      : w1 !== p1
      ? w1 > p1
      : strict
      ? w0 > p0
      : w0 >= p0;
    if (!later) {
      bad = k / 4;
      break;
    }
    p3 = w3;
    p2 = w2;
    p1 = w1;
    p0 = w0;
  }
  prev[0] = p3;
  prev[1] = p2;
  prev[2] = p1;
  prev[3] = p0;
  return bad;
}

/** Below every int64, as four 16-bit words. */
const BEFORE_ALL = [-32769, 0, 0, 0];

/** The message of a value out of order. */
function disorder(name: string, values: BigInt64Array, row: number, prev: number[], at: number) {
  const [p3, p2, p1, p0] = prev;
  return `${name} ${valueAt(values, row)} at row ${at + row} does not follow ${
    fromWords(p3, p2, p1, p0)
  }`;
}

/** Whether column `c` of a batch holds fewer than `n` values. */
function isShort(layout: PartitionLayout, data: Data, c: number, n: number): boolean {
  const bools = layout.bools;
  const values = data.values.length;
  return bools !== undefined && bools[c] ? values * 8 - data.offset < n : values < n;
}

/**
 * Order over all batches (nulls only where the schema allows them): the
 * first column strictly increasing, the layout's time column (when it has
 * one) non-decreasing; returns rows, first and last values.
 */
function scanTimes(layout: PartitionLayout, batches: readonly RecordBatch[]): PartitionScan & {
  error?: string;
} {
  const columns = layout.schema.fields.length;
  const nullable = layout.read?.nullable;
  const time = layout.time;
  let rows = 0;
  let first: number | undefined;
  let firstTime: number | undefined;
  const prev = [...BEFORE_ALL];
  const prevTime = [...BEFORE_ALL];
  for (const batch of batches) {
    const n = batch.numRows;
    const children = batch.data.children;
    for (let c = 0; c < columns; c++) {
      if (children[c].nullCount > 0 && nullable?.[c] !== true) {
        return { rows, error: `column ${c} has nulls` };
      }
      if (isShort(layout, children[c], c, n)) {
        return { rows, error: `column ${c} is shorter than the batch` };
      }
    }
    if (n === 0) continue;
    const keys = children[0].values as BigInt64Array;
    const bad = scanOrder(keys, n, prev, true);
    if (bad >= 0) {
      return { rows, error: disorder(layout.schema.fields[0].name, keys, bad, prev, rows) };
    }
    first ??= valueAt(keys, 0);
    if (time !== undefined) {
      const times = children[time].values as BigInt64Array;
      const late = scanOrder(times, n, prevTime, false);
      if (late >= 0) {
        return {
          rows,
          error: disorder(layout.schema.fields[time].name, times, late, prevTime, rows),
        };
      }
      firstTime ??= valueAt(times, 0);
    }
    rows += n;
  }
  const scan: PartitionScan = { rows, first, last: lastOf(rows, prev) };
  if (time === undefined) return scan;
  return { ...scan, firstTime, lastTime: lastOf(rows, prevTime) };
}

/** The last value scanned, undefined without rows. */
function lastOf(rows: number, prev: number[]): number | undefined {
  return rows > 0 ? fromWords(prev[0], prev[1], prev[2], prev[3]) : undefined;
}

/**
 * Checks batches to encode: the layout's schema (an extra trailing
 * `_data_source` allowed), nulls only where allowed, the first column
 * strictly increasing and the layout's time column (when it has one)
 * non-decreasing.
 *
 * @param layout The dataset's layout.
 * @param batches The batches.
 * @returns Rows, first and last values of the ordered columns.
 * @throws {TypeError} When a batch is not of the schema.
 * @throws {RangeError} When a column has nulls it may not hold, a null
 *   count its bitmap does not have, is short, or is out of order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { allocKlineColumns, KLINE_SCHEMA, klineBatch } from "../core/schema.ts";
 * import { checkPartitionBatches, partitionLayout } from "./_partition_ipc.ts";
 * const cols = allocKlineColumns(2);
 * cols.openTime.set([10, 20]);
 * const layout = partitionLayout(KLINE_SCHEMA, "klines");
 * assert.deepEqual(checkPartitionBatches(layout, [klineBatch(cols)]), { rows: 2, first: 10, last: 20 });
 * assert.throws(() => checkPartitionBatches(layout, [klineBatch(cols), klineBatch(cols)]), RangeError);
 * ```
 */
export function checkPartitionBatches(
  layout: PartitionLayout,
  batches: readonly RecordBatch[],
): PartitionScan {
  for (const batch of batches) {
    const mismatch = schemaMismatch(layout, batch.schema);
    if (mismatch) throw new TypeError(`Cannot encode ${layout.what}: the batch ${mismatch}`);
  }
  const scan = scanTimes(layout, batches);
  if (scan.error !== undefined) {
    throw new RangeError(`Cannot encode ${layout.what}: ${scan.error}`);
  }
  if (layout.read !== undefined) {
    for (const batch of batches) {
      batch.data.children.forEach((d, c) => {
        const n = batch.numRows;
        if (c >= layout.fields.length || d.nullCount === 0) return;
        const zeros = zeroBits(bitmapOf(d, n), n);
        if (zeros === d.nullCount) return;
        throw new RangeError(
          `Cannot encode ${layout.what}: column ${c} says ${d.nullCount} nulls, its bitmap ${zeros}`,
        );
      });
    }
  }
  const { error: _, ...out } = scan;
  return out;
}

/** The first `length` bits of a column's validity, at bit offset 0. */
function bitmapOf(data: Data, length: number): Uint8Array {
  return bitsFrom(data.nullBitmap!, data.offset, length);
}

/** `length` bits of a bitmap from bit `offset`, at bit offset 0 (a view when byte-aligned). */
function bitsFrom(bitmap: Uint8Array, offset: number, length: number): Uint8Array {
  if (offset % 8 === 0) return bitmap.subarray(offset / 8);
  const out = new Uint8Array(Math.ceil(length / 8));
  for (let i = 0, p = offset; i < length; i++, p++) {
    if ((bitmap[p >>> 3] >>> (p & 7)) & 1) out[i >>> 3] |= 1 << (i & 7);
  }
  return out;
}

/** A batch's columns (and, in a layout with nullable columns, their nulls) for the writer. */
function batchOut(layout: PartitionLayout, batch: RecordBatch): ArrowBatchOut {
  const length = batch.numRows;
  const children = batch.data.children.slice(0, layout.schema.fields.length);
  const bools = layout.bools;
  const values = children.map((d, c): Float64Array | BigInt64Array | Uint8Array =>
    bools !== undefined && bools[c] ? bitsFrom(d.values, d.offset, length) : d.values
  );
  if (layout.read === undefined) return { length, values };
  const nulls = children.map((d): ArrowNullsOut | undefined =>
    d.nullCount > 0 ? { count: d.nullCount, bitmap: bitmapOf(d, length) } : undefined
  );
  return { length, values, nulls };
}

/**
 * Encodes checked batches (see {@linkcode checkPartitionBatches}) as a
 * partition file: the `_data_source` column is dropped, the metadata goes
 * in the footer with the CRC-32 of the body and of the metadata.
 *
 * @param layout The dataset's layout.
 * @param batches The batches, checked.
 * @param metadata The `dsm.*` metadata.
 * @returns The file bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KLINE_SCHEMA } from "../core/schema.ts";
 * import { partitionLayout, readPartitionFooter, writePartitionFile } from "./_partition_ipc.ts";
 * const layout = partitionLayout(KLINE_SCHEMA, "klines");
 * const bytes = writePartitionFile(layout, [], new Map([["dsm.x", "1"]]));
 * assert.equal(readPartitionFooter(layout, bytes).metadata.get("dsm.x"), "1");
 * ```
 */
export function writePartitionFile(
  layout: PartitionLayout,
  batches: readonly RecordBatch[],
  metadata: Map<string, string>,
): Uint8Array {
  const out = batches.filter((b) => b.numRows > 0).map((b) => batchOut(layout, b));
  // The CRC of the body lives in the footer's metadata only, after the body.
  const withCrc = (body: Uint8Array) =>
    new Map([...metadata, [CRC_KEY, crcOf(body)], [META_CRC_KEY, metadataCrc(metadata)]]);
  return writeArrowFile(layout.fields, withCrc, out);
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

function fail(reason: string, file?: string, cause?: unknown): never {
  const where = file === undefined ? "" : ` "${file}"`;
  throw new CacheError(`Cannot read cache file${where}: ${reason}`, file, { cause });
}

/**
 * Reads and checks the footer of a partition file without arrow-js (whose
 * reader can loop forever on a damaged footer, which the body CRC does not
 * cover): magic bytes, footer, the layout's columns, the metadata CRC (when
 * the file has one: files written before it existed have none).
 *
 * @param layout The dataset's layout.
 * @param bytes The file, or its first 8 bytes followed by its last bytes.
 * @param file File name for messages.
 * @returns The footer.
 * @throws {CacheError} When the magic, footer, schema or metadata CRC is wrong.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KLINE_SCHEMA } from "../core/schema.ts";
 * import { partitionLayout, readPartitionFooter } from "./_partition_ipc.ts";
 * const layout = partitionLayout(KLINE_SCHEMA, "klines");
 * assert.throws(() => readPartitionFooter(layout, new Uint8Array(4), "x.arrow"), {
 *   code: "CACHE_ERROR",
 *   path: "x.arrow",
 * });
 * ```
 */
export function readPartitionFooter(
  layout: PartitionLayout,
  bytes: Uint8Array,
  file?: string,
): ArrowFooter {
  if (bytes.length < 18) fail(`it is ${bytes.length} bytes long`, file);
  if (!hasMagic(bytes, 0) || !hasMagic(bytes, bytes.length - 6)) {
    fail("the ARROW1 magic bytes are missing (not an Arrow IPC file, or truncated)", file);
  }
  if (bodyOf(bytes) === undefined) fail("the footer length is out of bounds", file);
  const footer = readArrowFooter(bytes);
  if (!footer) {
    const columns = layout.read ? "64-bit or Bool columns" : "non-null 64-bit or Bool columns";
    fail(`the Arrow footer is unreadable (damaged, or not of ${columns})`, file);
  }
  const mismatch = fieldsMismatch(layout, footer.fields);
  if (mismatch) fail(`the schema ${mismatch}`, file);
  const metaCrc = footer.metadata.get(META_CRC_KEY);
  if (metaCrc !== undefined && metaCrc !== metadataCrc(footer.metadata)) {
    fail(`the metadata CRC-32 is ${metadataCrc(footer.metadata)}, the file says ${metaCrc}`, file);
  }
  return footer;
}

/** Options of {@linkcode readPartitionBatches}. */
export interface ReadPartitionOptions {
  /**
   * File name, used in error messages.
   * @default undefined
   */
  file?: string;
  /**
   * Check the CRC-32 of the record batch bytes against `dsm.body_crc32`.
   * @default true
   */
  checkBody?: boolean;
}

/**
 * Reads the batches of a partition file whose footer and metadata were
 * read, without copying its columns: the body CRC, readable batches of the
 * layout, the first column strictly increasing (the time column, when the
 * layout has one, non-decreasing), and rows and first and last values equal
 * to what the metadata says.
 *
 * @param layout The dataset's layout.
 * @param bytes The whole file.
 * @param footer Its footer, from {@linkcode readPartitionFooter}.
 * @param expected Rows, first and last values from the metadata.
 * @param options File name, and whether to check the body CRC.
 * @returns Batches of the layout's schema (views on `bytes`, or on an aligned copy).
 * @throws {CacheError} On any problem (corrupt, truncated, foreign file).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KLINE_SCHEMA } from "../core/schema.ts";
 * import {
 *   partitionLayout,
 *   readPartitionBatches,
 *   readPartitionFooter,
 *   writePartitionFile,
 * } from "./_partition_ipc.ts";
 * const layout = partitionLayout(KLINE_SCHEMA, "klines");
 * const bytes = writePartitionFile(layout, [], new Map());
 * const footer = readPartitionFooter(layout, bytes);
 * assert.deepEqual(readPartitionBatches(layout, bytes, footer, { rows: 0 }), []);
 * assert.throws(() => readPartitionBatches(layout, bytes, footer, { rows: 1 }), /holds 0 rows/);
 * ```
 */
export function readPartitionBatches(
  layout: PartitionLayout,
  bytes: Uint8Array,
  footer: ArrowFooter,
  expected: PartitionScan,
  options: ReadPartitionOptions = {},
): RecordBatch[] {
  const file = options.file;
  const crc = footer.metadata.get(CRC_KEY);
  if (crc === undefined) fail(`metadata "${CRC_KEY}" is missing`, file);
  if (options.checkBody !== false) {
    const actual = crcOf(bodyOf(bytes) ?? new Uint8Array(0));
    if (actual !== crc) fail(`the body CRC-32 is ${actual}, metadata says ${crc}`, file);
  }
  // Columns are views on the bytes, which must then be 8-byte aligned: copy once if not.
  const aligned = bytes.byteOffset % 8 === 0 ? bytes : bytes.slice();
  const batches = decodeBatches(layout, aligned, footer) ??
    fail("a record batch is unreadable (truncated or corrupt)", file);
  const scan = scanTimes(layout, batches);
  if (scan.error !== undefined) fail(scan.error, file);
  if (scan.rows !== expected.rows) {
    fail(`it holds ${scan.rows} rows, metadata says ${expected.rows}`, file);
  }
  if (scan.first !== expected.first || scan.last !== expected.last) {
    fail(
      `${layout.schema.fields[0].name} spans ${scan.first}..${scan.last}, metadata says ` +
        `${expected.first}..${expected.last}`,
      file,
    );
  }
  if (scan.firstTime !== expected.firstTime || scan.lastTime !== expected.lastTime) {
    fail(
      `${layout.schema.fields[layout.time!].name} spans ${scan.firstTime}..${scan.lastTime}, ` +
        `metadata says ${expected.firstTime}..${expected.lastTime}`,
      file,
    );
  }
  return batches;
}
