/**
 * A small reader of Arrow IPC *files* made of fixed-width columns (64-bit
 * Int, FloatingPoint and Timestamp, and bit-packed Bool) without
 * dictionaries or compression: the layout of the cache's partition files.
 * It reads the footer and the record batch headers (FlatBuffers) directly,
 * with every offset bounds-checked, and returns where each column's values
 * (and, for the columns allowed to hold nulls, its validity bitmap) lie, so
 * a partition decodes without arrow-js's generic reader.
 *
 * Anything outside that layout (and any damage) returns undefined; the
 * caller then falls back to arrow-js, which reads the file or reports why
 * it cannot.
 *
 * @module
 */

/** A column of the schema: its name and its type, in arrow-js terms. */
export interface ArrowFieldInfo {
  /** Field name. */
  name: string;
  /** Type id (arrow-js `Type`, equal to the IPC type union id): 2 Int, 3 FloatingPoint, 6 Bool, 10 Timestamp. */
  typeId: number;
  /** Int bit width, FloatingPoint precision (2 = double), Timestamp unit (1 = ms, 2 = µs); 0 for Bool. */
  param: number;
  /** Int signedness; for Timestamp, whether a time zone is set. */
  flag: boolean;
  /** Timestamp time zone, else undefined. */
  timezone?: string;
  /**
   * Whether the schema lets the column hold nulls; absent means false. The
   * writer writes it; the footer reader leaves it out (which columns may
   * hold nulls is the caller's to say, see {@linkcode ReadArrowBatchOptions},
   * and the batches say which do).
   */
  nullable?: boolean;
}

/** Where a record batch lies in the file. */
export interface ArrowBlock {
  /** Offset of the message (from the file start). */
  offset: number;
  /** Length of the message header, prefix included. */
  metaDataLength: number;
  /** Length of the body that follows it. */
  bodyLength: number;
}

/** The footer of an Arrow IPC file. */
export interface ArrowFooter {
  /** The schema's columns. */
  fields: ArrowFieldInfo[];
  /** The schema's custom metadata. */
  metadata: Map<string, string>;
  /** The record batches. */
  blocks: ArrowBlock[];
}

/** A record batch: its row count and, per column, where its values lie in the file. */
export interface ArrowBatchLayout {
  /** Rows. */
  length: number;
  /**
   * Per column: byte offset of the values (from the file start) and their
   * byte length (bit-packed for a Bool column).
   */
  values: { offset: number; length: number }[];
  /**
   * Per column, when nullable columns were allowed (see
   * {@linkcode ReadArrowBatchOptions}): its nulls, undefined for a column
   * without any.
   */
  nulls?: (ArrowNulls | undefined)[];
}

/** The nulls of a column: how many, and where its validity bitmap lies. */
export interface ArrowNulls {
  /** Null count (1..rows). */
  count: number;
  /**
   * Byte offset of the validity bitmap (from the file start); it holds at
   * least `ceil(rows / 8)` bytes, bit `i` (least significant first) set when
   * row `i` has a value.
   */
  offset: number;
}

/** Options of {@linkcode readArrowBatch}. */
export interface ReadArrowBatchOptions {
  /**
   * Per column: whether it may hold nulls. A column with nulls that is not
   * allowed to makes the batch unreadable.
   * @default undefined (no column may hold nulls)
   */
  nullable?: readonly boolean[];
}

/** Raised inside the reader when the bytes leave the simple layout; never escapes. */
class OutOfLayout extends Error {}

/** The magic bytes at both ends of an Arrow IPC file. */
export const MAGIC = "ARROW1";
/** Type union ids of `Schema.fbs` (equal to arrow-js's `Type`). */
export const TYPE_INT = 2;
/** FloatingPoint. */
export const TYPE_FLOAT = 3;
/** Bool (bit-packed values, least significant bit first). */
export const TYPE_BOOL = 6;
/** Timestamp. */
export const TYPE_TIMESTAMP = 10;
/** MessageHeader union id of a record batch (`Message.fbs`). */
export const HEADER_RECORD_BATCH = 3;
const utf8 = new TextDecoder("utf-8", { fatal: true });
const latin1 = new TextDecoder("latin1");
/** Anything but printable ASCII and common whitespace: such strings go through the UTF-8 decoder. */
const NOT_PLAIN_ASCII = /[^ -~\t\n\r]/;

function out(): never {
  throw new OutOfLayout();
}

/** Bounds-checked FlatBuffers access over one byte array. */
class Flat {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  /** The bytes as Latin-1 text, decoded on the first string read: strings are slices of it. */
  #text?: string;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  check(at: number, size: number): number {
    if (!(at >= 0 && at + size <= this.bytes.length)) out();
    return at;
  }

  u8(at: number): number {
    return this.view.getUint8(this.check(at, 1));
  }

  i16(at: number): number {
    return this.view.getInt16(this.check(at, 2), true);
  }

  u16(at: number): number {
    return this.view.getUint16(this.check(at, 2), true);
  }

  i32(at: number): number {
    return this.view.getInt32(this.check(at, 4), true);
  }

  u32(at: number): number {
    return this.view.getUint32(this.check(at, 4), true);
  }

  /** A non-negative 64-bit integer below 2^53. */
  i64(at: number): number {
    const low = this.u32(at);
    const high = this.i32(at + 4);
    if (high < 0 || high >= 0x200000) out();
    return high * 4294967296 + low;
  }

  /** The table a root offset at `at` points to. */
  root(at: number): number {
    return at + this.u32(at);
  }

  /** Position of field `index` of the table at `table`, or 0 when absent. */
  field(table: number, index: number): number {
    const vtable = table - this.i32(table);
    const size = this.u16(vtable);
    if (size < 4 || size % 2 !== 0) out();
    const slot = 4 + 2 * index;
    if (slot >= size) return 0;
    const offset = this.u16(vtable + slot);
    return offset === 0 ? 0 : table + offset;
  }

  /** The table, vector or string an offset field points to, or 0 when absent. */
  ref(table: number, index: number): number {
    const at = this.field(table, index);
    return at === 0 ? 0 : at + this.u32(at);
  }

  /** Length of the vector {@linkcode vector} found last (no tuple to allocate per call). */
  count = 0;

  /**
   * Position of the first element of a vector of `size`-byte elements, or 0
   * when absent; its length goes to {@linkcode count}.
   */
  vector(table: number, index: number, size: number): number {
    const at = this.ref(table, index);
    if (at === 0) return this.count = 0;
    this.count = this.u32(at);
    this.check(at + 4, this.count * size);
    return at + 4;
  }

  /** The string an offset field points to, or undefined when absent. */
  string(table: number, index: number): string | undefined {
    const start = this.vector(table, index, 1);
    const length = this.count;
    if (start === 0) return undefined;
    // Names and metadata are nearly always ASCII, where Latin-1 and UTF-8
    // agree: one decode per footer, then slices.
    const text = (this.#text ??= latin1.decode(this.bytes)).slice(start, start + length);
    if (!NOT_PLAIN_ASCII.test(text)) return text;
    return utf8.decode(this.bytes.subarray(start, start + length));
  }
}

function readField(fb: Flat, table: number): ArrowFieldInfo {
  const name = fb.string(table, 0) ?? "";
  if (fb.field(table, 4) !== 0) out(); // dictionary-encoded
  fb.vector(table, 5, 4);
  if (fb.count !== 0) out(); // nested
  const typeAt = fb.field(table, 2);
  const typeId = typeAt === 0 ? 0 : fb.u8(typeAt);
  const type = fb.ref(table, 3);
  if (type === 0) out();
  switch (typeId) {
    case TYPE_INT: {
      const width = fb.field(type, 0);
      const signed = fb.field(type, 1);
      return {
        name,
        typeId,
        param: width === 0 ? 0 : fb.i32(width),
        flag: signed !== 0 && fb.u8(signed) !== 0,
      };
    }
    case TYPE_FLOAT: {
      const precision = fb.field(type, 0);
      return { name, typeId, param: precision === 0 ? 0 : fb.i16(precision), flag: false };
    }
    case TYPE_BOOL:
      return { name, typeId, param: 0, flag: false };
    case TYPE_TIMESTAMP: {
      const unit = fb.field(type, 0);
      const timezone = fb.string(type, 1);
      return {
        name,
        typeId,
        param: unit === 0 ? 0 : fb.i16(unit),
        flag: timezone !== undefined,
        timezone,
      };
    }
    default:
      return out();
  }
}

function readMetadata(fb: Flat, schema: Schema): Map<string, string> {
  const map = new Map<string, string>();
  const start = fb.vector(schema, 2, 4);
  const count = fb.count;
  for (let i = 0; i < count; i++) {
    const kv = fb.root(start + 4 * i);
    const key = fb.string(kv, 0);
    if (key === undefined) out();
    map.set(key, fb.string(kv, 1) ?? "");
  }
  return map;
}

type Schema = number;

/** Whether the Arrow magic bytes stand at `at`. */
export function hasMagic(bytes: Uint8Array, at: number): boolean {
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[at + i] !== MAGIC.charCodeAt(i)) return false;
  }
  return true;
}

function readFooterOrThrow(bytes: Uint8Array): ArrowFooter {
  if (bytes.length < 18 || !hasMagic(bytes, 0) || !hasMagic(bytes, bytes.length - 6)) out();
  const footerLength = new DataView(bytes.buffer, bytes.byteOffset).getInt32(
    bytes.length - 10,
    true,
  );
  const start = bytes.length - 10 - footerLength;
  if (footerLength <= 0 || start < 8) out();
  // The footer is a FlatBuffer of its own: every offset must stay inside it.
  const fb = new Flat(bytes.subarray(start, bytes.length - 10));
  const footer = fb.root(0);
  const schema = fb.ref(footer, 1);
  if (schema === 0) out();
  const endianness = fb.field(schema, 0);
  if (endianness !== 0 && fb.i16(endianness) !== 0) out(); // big-endian
  const fieldsAt = fb.vector(schema, 1, 4);
  const fieldCount = fb.count;
  const fields: ArrowFieldInfo[] = [];
  for (let i = 0; i < fieldCount; i++) fields.push(readField(fb, fb.root(fieldsAt + 4 * i)));
  fb.vector(footer, 2, 24);
  if (fb.count !== 0) out(); // dictionaries
  const blocksAt = fb.vector(footer, 3, 24);
  const blockCount = fb.count;
  const blocks: ArrowBlock[] = [];
  for (let i = 0; i < blockCount; i++) {
    const at = blocksAt + 24 * i;
    blocks.push({
      offset: fb.i64(at),
      metaDataLength: fb.i32(at + 8),
      bodyLength: fb.i64(at + 16),
    });
  }
  return { fields, metadata: readMetadata(fb, schema), blocks };
}

/**
 * Reads the footer of an Arrow IPC file: schema, custom metadata, batches.
 *
 * Only the end of the file is read, so `bytes` may be the file's first
 * 8 bytes followed by its last bytes (footer, its length, magic).
 *
 * @param bytes The file, or its head and tail.
 * @returns The footer, or undefined when the file is not of the simple layout or is damaged.
 */
export function readArrowFooter(bytes: Uint8Array): ArrowFooter | undefined {
  try {
    return readFooterOrThrow(bytes);
  } catch (e) {
    if (e instanceof OutOfLayout || e instanceof RangeError || e instanceof TypeError) {
      return undefined;
    }
    throw e;
  }
}

function readBatchOrThrow(
  bytes: Uint8Array,
  block: ArrowBlock,
  columns: number,
  nullable: readonly boolean[] | undefined,
): ArrowBatchLayout {
  const fb = new Flat(bytes);
  const bodyStart = block.offset + block.metaDataLength;
  const bodyEnd = bodyStart + block.bodyLength;
  if (block.offset < 8 || block.metaDataLength < 8 || bodyEnd > bytes.length) out();
  // A message: 0xFFFFFFFF, the header length, the header (FlatBuffers).
  if (fb.i32(block.offset) !== -1) out();
  const headerLength = fb.i32(block.offset + 4);
  if (headerLength <= 0 || 8 + headerLength > block.metaDataLength) out();
  const header = new Flat(bytes.subarray(block.offset + 8, block.offset + 8 + headerLength));
  const message = header.root(0);
  const kind = header.field(message, 1);
  if (kind === 0 || header.u8(kind) !== HEADER_RECORD_BATCH) out();
  const batch = header.ref(message, 2);
  if (batch === 0) out();
  if (header.field(batch, 3) !== 0) out(); // compressed buffers
  const lengthAt = header.field(batch, 0);
  const length = lengthAt === 0 ? 0 : header.i64(lengthAt);
  const nodesAt = header.vector(batch, 1, 16);
  const nodeCount = header.count;
  const buffersAt = header.vector(batch, 2, 16);
  const bufferCount = header.count;
  if (nodeCount !== columns || bufferCount !== 2 * columns) out();
  const values: ArrowBatchLayout["values"] = [];
  const nulls: ArrowBatchLayout["nulls"] = nullable && [];
  for (let c = 0; c < columns; c++) {
    const node = nodesAt + 16 * c;
    if (header.i64(node) !== length) out();
    const nullCount = header.i64(node + 8);
    if (nullCount !== 0 && (nulls === undefined || nullable?.[c] !== true)) out();
    nulls?.push(
      nullCount === 0
        ? undefined
        : validity(header, buffersAt + 32 * c, block.bodyLength, bodyStart, length, nullCount),
    );
    const data = buffersAt + 16 * (2 * c + 1);
    const offset = header.i64(data);
    const size = header.i64(data + 8);
    if (offset + size > block.bodyLength) out();
    values.push({ offset: bodyStart + offset, length: size });
  }
  return nulls === undefined ? { length, values } : { length, values, nulls };
}

/** The validity bitmap of a column with `count` nulls, its Buffer at `at`. */
function validity(
  header: Flat,
  at: number,
  bodyLength: number,
  bodyStart: number,
  length: number,
  count: number,
): ArrowNulls {
  const offset = header.i64(at);
  const size = header.i64(at + 8);
  if (count > length || size < Math.ceil(length / 8) || offset + size > bodyLength) out();
  return { count, offset: bodyStart + offset };
}

/**
 * Reads the header of one record batch of fixed-width columns, without
 * nulls except in the columns allowed to hold them.
 *
 * @param bytes The whole file.
 * @param block The batch, from {@linkcode readArrowFooter}.
 * @param columns Expected column count.
 * @param options Which columns may hold nulls.
 * @returns Rows, value ranges and (when nulls are allowed) the nulls, or
 *   undefined when the batch is not of the simple layout or is damaged.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Float64, Table, tableToIPC, vectorFromArray } from "apache-arrow";
 * import { readArrowBatch, readArrowFooter } from "./_arrow_file_reader.ts";
 * const bytes = tableToIPC(new Table({ x: vectorFromArray([1.5, null], new Float64()) }), "file");
 * const block = readArrowFooter(bytes)!.blocks[0];
 * assert.equal(readArrowBatch(bytes, block, 1), undefined);
 * const batch = readArrowBatch(bytes, block, 1, { nullable: [true] })!;
 * assert.equal(batch.length, 2);
 * assert.equal(batch.nulls![0]!.count, 1);
 * assert.equal(bytes[batch.nulls![0]!.offset] & 3, 0b01);
 * ```
 */
export function readArrowBatch(
  bytes: Uint8Array,
  block: ArrowBlock,
  columns: number,
  options?: ReadArrowBatchOptions,
): ArrowBatchLayout | undefined {
  try {
    return readBatchOrThrow(bytes, block, columns, options?.nullable);
  } catch (e) {
    if (e instanceof OutOfLayout || e instanceof RangeError || e instanceof TypeError) {
      return undefined;
    }
    throw e;
  }
}
