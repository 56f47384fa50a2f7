/**
 * Reading single-entry zip archives (PKWARE APPNOTE 6.3): signatures,
 * little-endian readers, and strict parsers for the local file header, the
 * central directory, the data descriptor and the whole archive. Private.
 *
 * zip.js reads the same archives but takes 1.35 to 2.9 times as long to
 * decode a Vision file end to end (`bench/vision_decode_bench.ts`), so the
 * read path keeps these few records of its own; writing goes through zip.js.
 *
 * @module
 */

import { crc32, inflateRawSync } from "node:zlib";
import { ZipFormatError } from "../core/errors.ts";

export const LOCAL_HEADER_SIG = 0x04034b50;
const CENTRAL_HEADER_SIG = 0x02014b50;
const END_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const DESCRIPTOR_SIG = 0x08074b50;
export const LOCAL_HEADER_SIZE = 30;
const CENTRAL_HEADER_SIZE = 46;
const END_SIZE = 22;
/** Flag bit 0: the entry is encrypted. */
const FLAG_ENCRYPTED = 0x0001;
/** Flag bit 3: crc and sizes follow the data in a data descriptor. */
export const FLAG_DESCRIPTOR = 0x0008;
/** Flag bit 6: strong encryption. */
const FLAG_STRONG_ENCRYPTION = 0x0040;
export const METHOD_STORED = 0;
export const METHOD_DEFLATED = 8;
const METHOD_AES = 99;
const SATURATED = 0xffffffff;
/** Most bytes one byte of deflated data can inflate to (258-byte matches). */
const MAX_DEFLATE_RATIO = 1032;
/** Largest possible central directory of one entry plus its end record. */
export const MAX_TAIL_SIZE = CENTRAL_HEADER_SIZE + 3 * 0xffff + END_SIZE + 0xffff;

const decoder = new TextDecoder();

/** Reads an unsigned 16-bit little-endian integer. */
function u16(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8);
}

/** Reads an unsigned 32-bit little-endian integer. */
export function u32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16)) + b[o + 3] * 0x1000000;
}

/** Formats a CRC-32 as `0x` and 8 hex digits. */
function hex32(value: number): string {
  return `0x${(value >>> 0).toString(16).padStart(8, "0")}`;
}

/** A {@linkcode ZipFormatError} whose message starts with "Cannot unzip: ". */
export function zipError(message: string, file?: string, cause?: unknown): ZipFormatError {
  return new ZipFormatError(`Cannot unzip: ${message}`, file, cause ? { cause } : undefined);
}

/** The fields of a local file header or central directory record we use. */
export interface ZipEntry {
  /** General purpose flags. */
  flags: number;
  /** Compression method (0 stored, 8 deflated). */
  method: number;
  /** CRC-32 of the uncompressed data (0 when deferred to a data descriptor). */
  crc: number;
  /** Compressed size in bytes. */
  compressedSize: number;
  /** Uncompressed size in bytes. */
  size: number;
  /** Entry name. */
  name: string;
  /** Length of the whole record (fixed part, name, extra, comment). */
  recordSize: number;
  /** Offset of the local header (central directory records only, else 0). */
  localOffset: number;
}

/** Rejects a buffer that does not start with a local file header. */
export function checkLocalSignature(b: Uint8Array, file?: string): void {
  const sig = u32(b, 0);
  if (sig === LOCAL_HEADER_SIG) return;
  if (sig === END_SIG) throw zipError("the archive holds no entry", file);
  const head = Array.from(b.subarray(0, 4), (x) => x.toString(16).padStart(2, "0")).join(" ");
  throw zipError(`not a zip archive: it starts with bytes "${head}"`, file);
}

/** Total length of the local header that starts `b` (needs 30 bytes). */
export function localHeaderLength(b: Uint8Array): number {
  return LOCAL_HEADER_SIZE + u16(b, 26) + u16(b, 28);
}

/** Parses the local header that starts `b` (needs {@linkcode localHeaderLength} bytes). */
export function parseLocalHeader(b: Uint8Array, file?: string): ZipEntry {
  checkLocalSignature(b, file);
  const nameLength = u16(b, 26);
  const entry: ZipEntry = {
    flags: u16(b, 6),
    method: u16(b, 8),
    crc: u32(b, 14),
    compressedSize: u32(b, 18),
    size: u32(b, 22),
    name: decoder.decode(b.subarray(LOCAL_HEADER_SIZE, LOCAL_HEADER_SIZE + nameLength)),
    recordSize: localHeaderLength(b),
    localOffset: 0,
  };
  checkEntry(entry, (entry.flags & FLAG_DESCRIPTOR) === 0, file);
  return entry;
}

/**
 * Rejects encrypted entries, unsupported methods, zip64 sizes, and, when the
 * record holds the sizes (`sized`: not a local header deferring them to a
 * data descriptor), sizes that cannot be.
 */
function checkEntry(entry: ZipEntry, sized: boolean, file?: string): void {
  const { flags, method, name } = entry;
  if (flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION) || method === METHOD_AES) {
    throw zipError(`entry "${name}" is encrypted`, file);
  }
  if (method !== METHOD_STORED && method !== METHOD_DEFLATED) {
    throw zipError(`entry "${name}" uses unsupported compression method ${method}`, file);
  }
  if (
    entry.compressedSize === SATURATED || entry.size === SATURATED ||
    entry.localOffset === SATURATED
  ) {
    throw zipError(`entry "${name}" needs zip64, which is not supported`, file);
  }
  if (!sized) return;
  if (method === METHOD_STORED && entry.compressedSize !== entry.size) {
    throw zipError(
      `stored entry "${name}" has compressed size ${entry.compressedSize} but size ${entry.size}`,
      file,
    );
  }
  if (method === METHOD_DEFLATED && entry.size > entry.compressedSize * MAX_DEFLATE_RATIO) {
    throw zipError(
      `entry "${name}" declares ${entry.size} bytes, more than its ${entry.compressedSize} deflated bytes can hold`,
      file,
    );
  }
}

/** Where the central directory and its single entry are. */
interface CentralDirectory {
  /** The single entry's central directory record. */
  entry: ZipEntry;
  /** Absolute offset of the central directory. */
  offset: number;
}

/**
 * Finds the end record at the end of `b` (whose byte 0 is at absolute offset
 * `base`) and parses the central directory, which must hold exactly one entry.
 */
function readCentralDirectory(b: Uint8Array, base: number, file?: string): CentralDirectory {
  const end = findEndRecord(b);
  if (end < 0) {
    throw zipError("end of central directory not found: the archive is truncated", file);
  }
  if (end >= 20 && u32(b, end - 20) === ZIP64_LOCATOR_SIG) {
    throw zipError("zip64 archives are not supported", file);
  }
  if (u16(b, end + 4) !== 0 || u16(b, end + 6) !== 0) {
    throw zipError("multi-disk archives are not supported", file);
  }
  const count = u16(b, end + 10);
  const size = u32(b, end + 12);
  const offset = u32(b, end + 16);
  if (count === 0xffff || size === SATURATED || offset === SATURATED) {
    throw zipError("zip64 archives are not supported", file);
  }
  if (count !== 1 || u16(b, end + 8) !== 1) {
    throw zipError(
      count === 0 ? "the archive holds no entry" : `expected one entry, the archive holds ${count}`,
      file,
    );
  }
  const at = offset - base;
  if (at < 0 || offset + size !== base + end) {
    throw zipError(
      `central directory at offset ${offset} (${size} bytes) does not end at the end record (offset ${
        base + end
      })`,
      file,
    );
  }
  const entry = parseCentralRecord(b, at, size, file);
  return { entry, offset };
}

function findEndRecord(b: Uint8Array): number {
  const last = b.length - END_SIZE;
  for (let i = last; i >= 0 && i >= last - 0xffff; i--) {
    if (b[i] === 0x50 && u32(b, i) === END_SIG && u16(b, i + 20) === last - i) return i;
  }
  return -1;
}

function parseCentralRecord(b: Uint8Array, at: number, size: number, file?: string): ZipEntry {
  if (size < CENTRAL_HEADER_SIZE || u32(b, at) !== CENTRAL_HEADER_SIG) {
    throw zipError(`no central directory record at offset ${at}`, file);
  }
  const nameLength = u16(b, at + 28);
  const recordSize = CENTRAL_HEADER_SIZE + nameLength + u16(b, at + 30) + u16(b, at + 32);
  if (recordSize !== size) {
    throw zipError(
      `central directory is ${size} bytes but its one record is ${recordSize} bytes`,
      file,
    );
  }
  const nameStart = at + CENTRAL_HEADER_SIZE;
  const entry: ZipEntry = {
    flags: u16(b, at + 8),
    method: u16(b, at + 10),
    crc: u32(b, at + 16),
    compressedSize: u32(b, at + 20),
    size: u32(b, at + 24),
    name: decoder.decode(b.subarray(nameStart, nameStart + nameLength)),
    recordSize,
    localOffset: u32(b, at + 42),
  };
  checkEntry(entry, true, file);
  return entry;
}

/** Rejects a local header that disagrees with the central directory. */
function checkAgreement(local: ZipEntry, central: ZipEntry, file?: string): void {
  const deferred = (local.flags & FLAG_DESCRIPTOR) !== 0;
  if (
    local.method !== central.method ||
    (!deferred && (local.crc !== central.crc || local.compressedSize !== central.compressedSize ||
      local.size !== central.size))
  ) {
    throw zipError(
      `local header and central directory disagree on entry "${central.name}"`,
      file,
    );
  }
}

/** Rejects inflated data whose length or CRC-32 differs from the entry's. */
export function checkInflated(entry: ZipEntry, size: number, crc: number, file?: string): void {
  if (size !== entry.size) {
    throw zipError(`entry "${entry.name}" inflated to ${size} bytes, expected ${entry.size}`, file);
  }
  if ((crc >>> 0) !== entry.crc) {
    throw zipError(
      `CRC-32 mismatch in entry "${entry.name}": expected ${hex32(entry.crc)}, got ${hex32(crc)}`,
      file,
    );
  }
}

/**
 * Checks the bytes that follow the entry data of a streamed archive (whose
 * byte 0 is at absolute offset `position`): the central directory of one
 * entry, right after the data, agreeing with the local header `local`.
 */
export function checkTail(
  tail: Uint8Array,
  position: number,
  local: ZipEntry,
  file?: string,
): void {
  if (tail.length === 0) {
    throw zipError(
      `the archive is truncated at byte ${position} (central directory missing)`,
      file,
    );
  }
  const { entry, offset } = readCentralDirectory(tail, position, file);
  if (offset !== position) {
    throw zipError(
      `central directory at offset ${offset}, expected ${position} after the entry`,
      file,
    );
  }
  if (entry.localOffset !== 0) {
    throw zipError(`the entry starts at offset ${entry.localOffset}, expected 0`, file);
  }
  checkAgreement(local, entry, file);
}

/**
 * Finds the single entry of a whole archive held in memory: central
 * directory first, then the local header and the optional data descriptor.
 * Everything but the entry data itself is checked.
 *
 * @returns The entry (as the central directory describes it) and its stored
 * or deflated bytes, a view of `bytes`.
 */
export function locateEntry(
  bytes: Uint8Array,
  file?: string,
): { entry: ZipEntry; data: Uint8Array } {
  if (bytes.length === 0) throw zipError("the archive is empty", file);
  if (bytes.length >= 4) checkLocalSignature(bytes, file);
  if (bytes.length < LOCAL_HEADER_SIZE) {
    throw zipError(`the archive is truncated at byte ${bytes.length}`, file);
  }
  const { entry, offset } = readCentralDirectory(bytes, 0, file);
  if (entry.localOffset !== 0) {
    throw zipError(`the entry starts at offset ${entry.localOffset}, expected 0`, file);
  }
  const local = parseLocalHeader(bytes, file);
  checkAgreement(local, entry, file);
  const start = local.recordSize;
  const end = start + entry.compressedSize;
  const after = (local.flags & FLAG_DESCRIPTOR) ? end + descriptorLength(bytes, end) : end;
  if (after > offset) {
    throw zipError(`entry "${entry.name}" overlaps the central directory`, file);
  }
  if (local.flags & FLAG_DESCRIPTOR) checkDescriptor(bytes, end, entry, file);
  if (after !== offset) {
    throw zipError(
      `unexpected ${offset - after} bytes between the entry and the central directory` +
        (u32(bytes, after) === LOCAL_HEADER_SIG ? " (a second entry)" : ""),
      file,
    );
  }
  return { entry, data: bytes.subarray(start, end) };
}

/**
 * Unpacks the single entry of a whole archive held in memory, in one native
 * inflate into a buffer of the entry's declared size (which caps it).
 */
export function unzipBuffer(bytes: Uint8Array, file?: string): Uint8Array {
  const { entry, data } = locateEntry(bytes, file);
  const out = entry.method === METHOD_STORED ? data : inflate(data, entry, file);
  checkInflated(entry, out.length, crc32(out), file);
  return out;
}

function descriptorLength(b: Uint8Array, at: number): number {
  return at + 4 <= b.length && u32(b, at) === DESCRIPTOR_SIG ? 16 : 12;
}

function checkDescriptor(b: Uint8Array, at: number, entry: ZipEntry, file?: string): void {
  const o = u32(b, at) === DESCRIPTOR_SIG ? at + 4 : at;
  if (
    u32(b, o) !== entry.crc || u32(b, o + 4) !== entry.compressedSize ||
    u32(b, o + 8) !== entry.size
  ) {
    throw zipError(
      `data descriptor and central directory disagree on entry "${entry.name}"`,
      file,
    );
  }
}

function inflate(data: Uint8Array, entry: ZipEntry, file?: string): Uint8Array {
  try {
    const out = inflateRawSync(data, {
      chunkSize: Math.max(64, entry.size),
      maxOutputLength: Math.max(1, entry.size),
    });
    return new Uint8Array(out.buffer, out.byteOffset, out.length);
  } catch (err) {
    const code = (err as { code?: string }).code;
    const why = code === "ERR_BUFFER_TOO_LARGE"
      ? `inflates to more than its ${entry.size} bytes`
      : `cannot be inflated (${(err as Error).message})`;
    throw zipError(`entry "${entry.name}" ${why}`, file, err);
  }
}
