/**
 * A small writer of Arrow IPC *files* made of fixed-width columns (64-bit
 * Int, FloatingPoint and Timestamp, and bit-packed Bool), nullable or not:
 * the layout of the cache's partition files, the mirror of
 * `_arrow_file_reader.ts`. The column values (and the validity bitmaps of
 * columns with nulls) are copied straight into the file's body; the
 * FlatBuffers headers (schema, record batch messages, footer) come from the
 * `flatbuffers` builder with the slots of Arrow's `Schema.fbs`,
 * `Message.fbs` and `File.fbs`.
 *
 * The output is a standard Arrow IPC file (format version V5): arrow-js,
 * pyarrow, Polars and DuckDB read it.
 *
 * @module
 */
import { Builder } from "flatbuffers";
import {
  type ArrowFieldInfo,
  HEADER_RECORD_BATCH,
  MAGIC,
  TYPE_BOOL,
  TYPE_FLOAT,
  TYPE_INT,
  TYPE_TIMESTAMP,
} from "./_arrow_file_reader.ts";

/** A record batch to write: its row count and one value array per field. */
export interface ArrowBatchOut {
  /** Rows. */
  length: number;
  /**
   * Per field: at least `length` values of 8 bytes; for a Bool field, its
   * bit-packed values (at least `ceil(length / 8)` bytes, bit `i` least
   * significant first; bits past `length` are written as 0).
   */
  values: (Float64Array | BigInt64Array | Uint8Array)[];
  /**
   * Per field: its nulls, undefined (or a count of 0) for a field without
   * any; the field must then be nullable.
   * @default undefined (no nulls)
   */
  nulls?: (ArrowNullsOut | undefined)[];
}

/** The nulls of a column to write. */
export interface ArrowNullsOut {
  /** How many of the `length` rows are null. */
  count: number;
  /**
   * The validity bitmap: at least `ceil(length / 8)` bytes, bit `i` (least
   * significant first) set when row `i` has a value. Bits past `length` are
   * written as 0.
   */
  bitmap: Uint8Array;
}

const VERSION_V5 = 4;
const HEADER_SCHEMA = 1;

function pad8(n: number): number {
  return (n + 7) & ~7;
}

/** Schema { endianness: 0, fields: 1, custom_metadata: 2 }. */
function schemaTable(b: Builder, fields: readonly ArrowFieldInfo[], meta: Map<string, string>) {
  const fieldOffsets = fields.map((f) => fieldTable(b, f));
  const fieldsVector = offsetVector(b, fieldOffsets);
  const pairs = [...meta].map(([key, value]) => {
    const k = b.createString(key);
    const v = b.createString(value);
    b.startObject(2); // KeyValue { key: 0, value: 1 }
    b.addFieldOffset(0, k, 0);
    b.addFieldOffset(1, v, 0);
    return b.endObject();
  });
  const metaVector = pairs.length > 0 ? offsetVector(b, pairs) : 0;
  b.startObject(4);
  b.addFieldOffset(1, fieldsVector, 0);
  if (metaVector) b.addFieldOffset(2, metaVector, 0);
  return b.endObject();
}

/** Field { name: 0, nullable: 1, type_type: 2, type: 3, dictionary: 4, children: 5, custom_metadata: 6 }. */
function fieldTable(b: Builder, f: ArrowFieldInfo): number {
  const name = b.createString(f.name);
  const type = typeTable(b, f);
  const children = offsetVector(b, []); // readers require the vector, even empty
  b.startObject(7);
  b.addFieldOffset(0, name, 0);
  b.addFieldInt8(1, f.nullable ? 1 : 0, 0);
  b.addFieldInt8(2, f.typeId, 0);
  b.addFieldOffset(3, type, 0);
  b.addFieldOffset(5, children, 0);
  return b.endObject();
}

/** Int { bitWidth: 0, is_signed: 1 }, FloatingPoint { precision: 0 }, Bool {}, Timestamp { unit: 0, timezone: 1 }. */
function typeTable(b: Builder, f: ArrowFieldInfo): number {
  switch (f.typeId) {
    case TYPE_INT:
      b.startObject(2);
      b.addFieldInt32(0, f.param, 0);
      b.addFieldInt8(1, f.flag ? 1 : 0, 0);
      return b.endObject();
    case TYPE_FLOAT:
      b.startObject(1);
      b.addFieldInt16(0, f.param, 0);
      return b.endObject();
    case TYPE_BOOL:
      b.startObject(0);
      return b.endObject();
    case TYPE_TIMESTAMP: {
      const zone = f.timezone === undefined ? 0 : b.createString(f.timezone);
      b.startObject(2);
      b.addFieldInt16(0, f.param, 0);
      if (zone) b.addFieldOffset(1, zone, 0);
      return b.endObject();
    }
    default:
      throw new TypeError(`Cannot write Arrow type id ${f.typeId}: not a 64-bit type or Bool`);
  }
}

function offsetVector(b: Builder, offsets: readonly number[]): number {
  b.startVector(4, offsets.length, 4);
  for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(offsets[i]);
  return b.endVector();
}

/** Message { version: 0, header_type: 1, header: 2, bodyLength: 3 }, finished. */
function message(b: Builder, kind: number, header: number, bodyLength: number): Uint8Array {
  b.startObject(5);
  b.addFieldInt16(0, VERSION_V5, 0);
  b.addFieldInt8(1, kind, 0);
  b.addFieldOffset(2, header, 0);
  b.addFieldInt64(3, BigInt(bodyLength), 0n);
  b.finish(b.endObject());
  return b.asUint8Array();
}

/** The nulls of column `c`, or undefined when it has none. */
function nullsOf(batch: ArrowBatchOut, c: number): ArrowNullsOut | undefined {
  const nulls = batch.nulls?.[c];
  return nulls !== undefined && nulls.count > 0 ? nulls : undefined;
}

/** Whether any column of the batch has nulls. */
function hasNulls(batch: ArrowBatchOut): boolean {
  return batch.nulls !== undefined && batch.values.some((_, c) => nullsOf(batch, c) !== undefined);
}

/** Bytes of a validity bitmap of `length` rows. */
function bitmapBytes(length: number): number {
  return Math.ceil(length / 8);
}

/** Bits per value of each field: 1 for Bool, else 64. */
type Widths = readonly number[];

/** Bytes of `length` values of `bits` bits (1 or 64). */
function valueBytes(bits: number, length: number): number {
  return bits === 1 ? bitmapBytes(length) : length * 8;
}

function bodyLength(batch: ArrowBatchOut, bits: Widths): number {
  let size = 0;
  for (let c = 0; c < bits.length; c++) size += pad8(valueBytes(bits[c], batch.length));
  if (batch.nulls === undefined) return size;
  for (let c = 0; c < batch.values.length; c++) {
    if (nullsOf(batch, c)) size += pad8(bitmapBytes(batch.length));
  }
  return size;
}

/**
 * RecordBatch { length: 0, nodes: 1, buffers: 2 } of fixed-width columns,
 * as a message. The body holds, per column, its validity bitmap when it has
 * nulls (else an empty buffer), then its values, each 8-byte aligned.
 */
function batchMessage(b: Builder, batch: ArrowBatchOut, bits: Widths): Uint8Array {
  const columns = batch.values.length;
  const bitmapSize = pad8(bitmapBytes(batch.length));
  // Where each column's buffers start in the body.
  const starts: number[] = [];
  for (let c = 0, at = 0; c < columns; c++) {
    starts.push(at);
    at += (nullsOf(batch, c) ? bitmapSize : 0) + pad8(valueBytes(bits[c], batch.length));
  }
  b.startVector(16, columns, 8);
  for (let c = columns - 1; c >= 0; c--) {
    b.prep(8, 16); // FieldNode { length, null_count }
    b.writeInt64(BigInt(nullsOf(batch, c)?.count ?? 0));
    b.writeInt64(BigInt(batch.length));
  }
  const nodes = b.endVector();
  b.startVector(16, 2 * columns, 8);
  for (let c = columns - 1; c >= 0; c--) {
    // Buffer { offset, length }: the validity bitmap (empty without nulls), then the values.
    const bitmap = nullsOf(batch, c) ? bitmapSize : 0;
    b.prep(8, 16);
    b.writeInt64(BigInt(valueBytes(bits[c], batch.length)));
    b.writeInt64(BigInt(starts[c] + bitmap));
    b.prep(8, 16);
    b.writeInt64(BigInt(bitmap && bitmapBytes(batch.length)));
    b.writeInt64(BigInt(starts[c]));
  }
  const buffers = b.endVector();
  b.startObject(5);
  b.addFieldInt64(0, BigInt(batch.length), 0n);
  b.addFieldOffset(1, nodes, 0);
  b.addFieldOffset(2, buffers, 0);
  return message(b, HEADER_RECORD_BATCH, b.endObject(), bodyLength(batch, bits));
}

/** A block: where a message and its body lie. */
interface Block {
  offset: number;
  metaDataLength: number;
  bodyLength: number;
}

/** Footer { version: 0, schema: 1, dictionaries: 2, recordBatches: 3 }, finished. */
function footer(
  b: Builder,
  fields: readonly ArrowFieldInfo[],
  meta: Map<string, string>,
  blocks: readonly Block[],
): Uint8Array {
  const schema = schemaTable(b, fields, meta);
  b.startVector(24, blocks.length, 8);
  for (let i = blocks.length - 1; i >= 0; i--) {
    b.prep(8, 24);
    b.writeInt64(BigInt(blocks[i].bodyLength));
    b.pad(4);
    b.writeInt32(blocks[i].metaDataLength);
    b.writeInt64(BigInt(blocks[i].offset));
  }
  const batches = b.endVector();
  b.startObject(5);
  b.addFieldInt16(0, VERSION_V5, 0);
  b.addFieldOffset(1, schema, 0);
  b.addFieldOffset(3, batches, 0);
  b.finish(b.endObject());
  return b.asUint8Array();
}

/** Writes 0xFFFFFFFF, the padded header length and the header at `at`; returns the bytes used. */
function putMessage(out: Uint8Array, view: DataView, at: number, header: Uint8Array): number {
  const length = pad8(header.length);
  view.setInt32(at, -1, true);
  view.setInt32(at + 4, length, true);
  out.set(header, at + 8);
  return 8 + length;
}

/** Files smaller than this are copied when their footer's size was guessed wrong. */
const COPY_BELOW_BYTES = 1 << 20;

/** The size of the last footer written per column layout (the next one is often the same). */
const footerSizes = new Map<string, number>();

/** Finished headers that depend only on the schema's columns or a batch's length. */
const headerCache = new Map<string, Uint8Array>();

function cachedHeader(key: string, build: (b: Builder) => Uint8Array): Uint8Array {
  let header = headerCache.get(key);
  if (header === undefined) {
    header = build(new Builder(1024)).slice();
    if (headerCache.size >= 256) headerCache.clear();
    headerCache.set(key, header);
  }
  return header;
}

/** Copies the first `length` bits of a bitmap (validity or Bool values) to `at` (later bits 0); returns the padded size. */
function putBitmap(out: Uint8Array, at: number, bitmap: Uint8Array, length: number): number {
  const bytes = bitmapBytes(length);
  out.set(bitmap.subarray(0, bytes), at);
  if (length % 8 !== 0) out[at + bytes - 1] &= (1 << (length % 8)) - 1;
  return pad8(bytes);
}

function checkNulls(fields: readonly ArrowFieldInfo[], batch: ArrowBatchOut): void {
  fields.forEach((field, c) => {
    const nulls = nullsOf(batch, c);
    if (nulls === undefined) return;
    const why = !field.nullable
      ? "it is not nullable"
      : nulls.count > batch.length
      ? `${nulls.count} nulls in ${batch.length} rows`
      : nulls.bitmap.length < bitmapBytes(batch.length)
      ? "its validity bitmap is short"
      : undefined;
    if (why !== undefined) {
      throw new RangeError(`Cannot write nulls in Arrow column "${field.name}": ${why}`);
    }
  });
}

/** What the writer derives from a schema's columns: their cache key and value widths. */
interface Columns {
  /** Key of the schema header. */
  key: string;
  /** Bits per value of each column. */
  bits: Widths;
  /** Key part of batch headers without nulls (they depend on the widths and the length). */
  widths: string;
}

/**
 * Per column array: derived once (a layout passes the same, never changed,
 * array each time; a new array is derived anew).
 */
const columnsCache = new WeakMap<readonly ArrowFieldInfo[], Columns>();

function columnsOf(fields: readonly ArrowFieldInfo[]): Columns {
  let columns = columnsCache.get(fields);
  if (columns === undefined) {
    const bits = fields.map((f) => f.typeId === TYPE_BOOL ? 1 : 64);
    columns = { key: JSON.stringify(fields), bits, widths: bits.join(",") };
    columnsCache.set(fields, columns);
  }
  return columns;
}

/**
 * Encodes an Arrow IPC file of 64-bit and Bool columns, with validity
 * bitmaps in the columns that have nulls.
 *
 * The schema message at the start carries the columns only; the schema
 * metadata lives in the footer, where file readers (arrow-js, pyarrow,
 * Polars, DuckDB) take the schema from. Headers that depend only on the
 * columns or on a batch's length are built once per process.
 *
 * @param fields The schema's columns (Int 64, FloatingPoint double, Timestamp or Bool);
 *   what is derived from them is kept per array, which must then not change.
 * @param footerMetadata Schema metadata for the footer, given the body bytes
 *   (from the first byte after the leading magic to the last body byte). It
 *   is also called once with no bytes to size the file: metadata whose size
 *   does not depend on the body (fixed-width checksums) lets the body be
 *   written once, in place; any other costs one more copy.
 * @param batches The record batches, each with one value array per field
 *   and the nulls of the fields that have any.
 * @returns The file.
 * @throws {RangeError} When a batch has the wrong number of columns or a
 *   short one, or nulls in a field that is not nullable, a null count
 *   above its length or a short bitmap.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tableFromIPC } from "apache-arrow";
 * import { writeArrowFile } from "./_arrow_file_writer.ts";
 * const bytes = writeArrowFile(
 *   [{ name: "x", typeId: 3, param: 2, flag: false, nullable: true }],
 *   () => new Map([["k", "v"]]),
 *   [{ length: 3, values: [new Float64Array([1.5, 0, 3])], nulls: [{ count: 1, bitmap: new Uint8Array([0b101]) }] }],
 * );
 * const table = tableFromIPC(bytes);
 * assert.deepEqual([...table.getChild("x")!], [1.5, null, 3]);
 * assert.equal(table.schema.metadata.get("k"), "v");
 * const flags = writeArrowFile([{ name: "b", typeId: 6, param: 0, flag: false }], () => new Map(), [
 *   { length: 3, values: [new Uint8Array([0b110])] },
 * ]);
 * assert.deepEqual([...tableFromIPC(flags).getChild("b")!], [false, true, true]);
 * ```
 */
export function writeArrowFile(
  fields: readonly ArrowFieldInfo[],
  footerMetadata: (body: Uint8Array) => Map<string, string>,
  batches: readonly ArrowBatchOut[],
): Uint8Array {
  const { key, bits, widths } = columnsOf(fields);
  for (const batch of batches) {
    const short = batch.values.length !== fields.length ||
      batch.values.some((v, c) =>
        bits[c] === 1 ? v.length < bitmapBytes(batch.length) : v.length < batch.length
      );
    if (short) {
      throw new RangeError(
        `Cannot write an Arrow batch of ${batch.length} rows: a column is short`,
      );
    }
    if (batch.nulls !== undefined) checkNulls(fields, batch);
  }
  const schema = cachedHeader(
    `schema ${key}`,
    (b) => message(b, HEADER_SCHEMA, schemaTable(b, fields, new Map()), 0),
  );
  const headers = batches.map((batch) =>
    hasNulls(batch)
      ? batchMessage(new Builder(1024), batch, bits)
      : cachedHeader(`batch ${batch.length} ${widths}`, (b) => batchMessage(b, batch, bits))
  );
  const bodies = batches.map((batch) => bodyLength(batch, bits));
  let size = 8 + 8 + pad8(schema.length);
  batches.forEach((_, i) => size += 8 + pad8(headers[i].length) + bodies[i]);
  const bodyEnd = size;
  const blocks: Block[] = [];
  let at = 8 + 8 + pad8(schema.length);
  batches.forEach((_, i) => {
    blocks.push({ offset: at, metaDataLength: 8 + pad8(headers[i].length), bodyLength: bodies[i] });
    at += 8 + pad8(headers[i].length) + bodies[i];
  });
  // The footer holds the body's CRC, so it is built after the body. A small
  // file is allocated for the size of the last footer of these columns (the
  // same but for its metadata) and copied once more when this one differs; a
  // large one, for a footer built over an empty body first (its size does not
  // depend on the body: fixed-width checksums), which costs less than a copy.
  const sized = bodyEnd < COPY_BELOW_BYTES
    ? footerSizes.get(key) ?? 0
    : footer(new Builder(4096), fields, footerMetadata(new Uint8Array(0)), blocks).length;
  let out = new Uint8Array(bodyEnd + sized + 10);
  const view = new DataView(out.buffer);
  for (let i = 0; i < MAGIC.length; i++) out[i] = MAGIC.charCodeAt(i);
  at = 8 + putMessage(out, view, 8, schema);
  batches.forEach((batch, i) => {
    at += putMessage(out, view, at, headers[i]);
    const size = pad8(batch.length * 8);
    const withNulls = batch.nulls !== undefined;
    batch.values.forEach((values, c) => {
      const nulls = withNulls ? nullsOf(batch, c) : undefined;
      if (nulls) at += putBitmap(out, at, nulls.bitmap, batch.length);
      if (bits[c] === 1) {
        at += putBitmap(out, at, values as Uint8Array, batch.length);
        return;
      }
      out.set(new Uint8Array(values.buffer, values.byteOffset, batch.length * 8), at);
      at += size;
    });
  });
  const foot = footer(new Builder(4096), fields, footerMetadata(out.subarray(8, bodyEnd)), blocks);
  if (footerSizes.size >= 256) footerSizes.clear();
  footerSizes.set(key, foot.length);
  if (foot.length !== sized) {
    const exact = new Uint8Array(bodyEnd + foot.length + 10);
    exact.set(out.subarray(0, bodyEnd));
    out = exact;
  }
  out.set(foot, bodyEnd);
  new DataView(out.buffer).setInt32(bodyEnd + foot.length, foot.length, true);
  for (let i = 0; i < MAGIC.length; i++) out[out.length - 6 + i] = MAGIC.charCodeAt(i);
  return out;
}
