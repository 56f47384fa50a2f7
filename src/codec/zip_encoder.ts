/**
 * Writes zip archives like Binance Vision's: one deflated CSV entry, with its
 * sizes in the local header or in a trailing data descriptor.
 *
 * @module
 */

import { crc32, deflateRawSync } from "node:zlib";
import {
  CENTRAL_HEADER_SIG,
  CENTRAL_HEADER_SIZE,
  DESCRIPTOR_SIG,
  END_SIG,
  END_SIZE,
  FLAG_DESCRIPTOR,
  FLAG_UTF8,
  LOCAL_HEADER_SIG,
  LOCAL_HEADER_SIZE,
  METHOD_DEFLATED,
  METHOD_STORED,
} from "./_zip_format.ts";

/** Options of {@linkcode encodeZip} and {@linkcode encodeZipEntries}. */
export interface ZipEncodeOptions {
  /**
   * Defer the CRC-32 and sizes to a data descriptor after the data (flag bit
   * 3, local header sizes 0), as streaming writers do.
   * @default {false}
   */
  dataDescriptor?: boolean;
  /**
   * Compression method: `"deflate"` (8) or `"store"` (0).
   * @default {"deflate"}
   */
  method?: "deflate" | "store";
  /**
   * Deflate level, 0 (fastest) to 9 (smallest).
   * @default {6}
   */
  level?: number;
  /**
   * Modification time written to the headers (DOS time, 2 s precision, read as UTC).
   * @default {new Date("2000-01-01T00:00:00Z")}
   */
  modified?: Date;
}

/** One entry of {@linkcode encodeZipEntries}. */
export interface ZipEntryInput {
  /** Entry name (UTF-8). */
  name: string;
  /** Entry bytes. */
  data: Uint8Array;
}

const encoder = new TextEncoder();
const DEFAULT_MODIFIED = new Date("2000-01-01T00:00:00Z");
const MAX_U32 = 0xfffffffe;

/**
 * Writes a zip archive holding one entry.
 *
 * @param name Entry name, e.g. `"BTCUSDT-1m-2024-01-01.csv"`.
 * @param data Entry bytes.
 * @param options Layout, method, level and timestamp.
 * @returns The archive bytes, readable by `unzip`, Python's `zipfile` and {@linkcode UnzipStream}.
 * @throws {RangeError} If the data, name or archive needs zip64 (4 GiB and more), or the level is not 0..9.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeZip } from "./zip_encoder.ts";
 * import { unzipSingleEntry } from "./unzip_stream.ts";
 * const data = new TextEncoder().encode("hello");
 * const zip = encodeZip("hello.txt", data, { dataDescriptor: true });
 * assert.equal(new DataView(zip.buffer).getUint32(0, true), 0x04034b50);
 * assert.deepEqual(await unzipSingleEntry(zip), data);
 * ```
 */
export function encodeZip(
  name: string,
  data: Uint8Array,
  options: ZipEncodeOptions = {},
): Uint8Array<ArrayBuffer> {
  return encodeZipEntries([{ name, data }], options);
}

/**
 * Writes a zip archive holding the given entries, in order (tests use it for
 * archives with several entries, which the unzip stage must reject).
 *
 * @param entries Names and bytes.
 * @param options Layout, method, level and timestamp, the same for every entry.
 * @returns The archive bytes.
 * @throws {RangeError} If the archive needs zip64, or the level is not 0..9.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeZipEntries } from "./zip_encoder.ts";
 * const zip = encodeZipEntries([
 *   { name: "a.csv", data: new Uint8Array([1]) },
 *   { name: "b.csv", data: new Uint8Array([2]) },
 * ]);
 * const view = new DataView(zip.buffer);
 * assert.equal(view.getUint16(zip.length - 12, true), 2); // entries in the end record
 * ```
 */
export function encodeZipEntries(
  entries: readonly ZipEntryInput[],
  options: ZipEncodeOptions = {},
): Uint8Array<ArrayBuffer> {
  const level = options.level ?? 6;
  if (!Number.isInteger(level) || level < 0 || level > 9) {
    throw new RangeError(`Cannot write zip: level "${level}" is not an integer from 0 to 9`);
  }
  if (entries.length > 0xfffe) {
    throw new RangeError(`Cannot write zip: ${entries.length} entries need zip64`);
  }
  const descriptor = options.dataDescriptor === true;
  const method = options.method === "store" ? METHOD_STORED : METHOD_DEFLATED;
  const [time, date] = dosDateTime(options.modified ?? DEFAULT_MODIFIED);
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  for (const { name, data } of entries) {
    const nameBytes = encoder.encode(name);
    if (nameBytes.length > 0xffff) {
      throw new RangeError(`Cannot write zip: entry name "${name.slice(0, 40)}…" is too long`);
    }
    const body = method === METHOD_STORED ? data : deflateRawSync(data, { level });
    if (data.length > MAX_U32 || body.length > MAX_U32) {
      throw new RangeError(`Cannot write zip: entry "${name}" needs zip64`);
    }
    const fields: Fields = {
      flags: (descriptor ? FLAG_DESCRIPTOR : 0) | (/[^\x20-\x7e]/.test(name) ? FLAG_UTF8 : 0),
      method,
      time,
      date,
      crc: crc32(data) >>> 0,
      compressedSize: body.length,
      size: data.length,
    };
    const local = localHeader(nameBytes, fields, descriptor);
    locals.push(local, body);
    if (descriptor) locals.push(dataDescriptor(fields));
    centrals.push(centralHeader(nameBytes, fields, offset));
    offset += local.length + body.length + (descriptor ? 16 : 0);
  }
  const centralSize = centrals.reduce((n, b) => n + b.length, 0);
  if (offset + centralSize > MAX_U32) {
    throw new RangeError("Cannot write zip: the archive needs zip64");
  }
  const end = new Uint8Array(END_SIZE);
  const view = new DataView(end.buffer);
  view.setUint32(0, END_SIG, true);
  view.setUint16(8, entries.length, true);
  view.setUint16(10, entries.length, true);
  view.setUint32(12, centralSize, true);
  view.setUint32(16, offset, true);
  return concat([...locals, ...centrals, end]);
}

interface Fields {
  flags: number;
  method: number;
  time: number;
  date: number;
  crc: number;
  compressedSize: number;
  size: number;
}

function localHeader(name: Uint8Array, f: Fields, deferred: boolean): Uint8Array {
  const out = new Uint8Array(LOCAL_HEADER_SIZE + name.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, LOCAL_HEADER_SIG, true);
  view.setUint16(4, f.method === METHOD_STORED ? 10 : 20, true);
  view.setUint16(6, f.flags, true);
  view.setUint16(8, f.method, true);
  view.setUint16(10, f.time, true);
  view.setUint16(12, f.date, true);
  if (!deferred) {
    view.setUint32(14, f.crc, true);
    view.setUint32(18, f.compressedSize, true);
    view.setUint32(22, f.size, true);
  }
  view.setUint16(26, name.length, true);
  out.set(name, LOCAL_HEADER_SIZE);
  return out;
}

function dataDescriptor(f: Fields): Uint8Array {
  const out = new Uint8Array(16);
  const view = new DataView(out.buffer);
  view.setUint32(0, DESCRIPTOR_SIG, true);
  view.setUint32(4, f.crc, true);
  view.setUint32(8, f.compressedSize, true);
  view.setUint32(12, f.size, true);
  return out;
}

function centralHeader(name: Uint8Array, f: Fields, offset: number): Uint8Array {
  const out = new Uint8Array(CENTRAL_HEADER_SIZE + name.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, CENTRAL_HEADER_SIG, true);
  view.setUint16(4, 20, true); // made by: MS-DOS, spec 2.0
  view.setUint16(6, f.method === METHOD_STORED ? 10 : 20, true);
  view.setUint16(8, f.flags, true);
  view.setUint16(10, f.method, true);
  view.setUint16(12, f.time, true);
  view.setUint16(14, f.date, true);
  view.setUint32(16, f.crc, true);
  view.setUint32(20, f.compressedSize, true);
  view.setUint32(24, f.size, true);
  view.setUint16(28, name.length, true);
  view.setUint32(42, offset, true);
  out.set(name, CENTRAL_HEADER_SIZE);
  return out;
}

function dosDateTime(d: Date): [number, number] {
  const year = Math.min(Math.max(d.getUTCFullYear(), 1980), 2107);
  const time = (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1);
  const date = ((year - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate();
  return [time, date];
}

function concat(parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
