/**
 * Reading single-entry zip archives (PKWARE APPNOTE 6.3): signatures and
 * strict parsers for the local file header, the central directory, the data
 * descriptor and the whole archive, Zip64 included (`_zip64.ts`: sizes up to
 * {@linkcode MAX_ENTRY_SIZE}). Private.
 *
 * zip.js reads the same archives but takes 1.35 to 2.9 times as long to
 * decode a Vision file end to end (`bench/vision_decode_bench.ts`), so the
 * read path keeps these few records of its own; writing goes through zip.js.
 *
 * @module
 */

import { crc32, inflateRawSync } from "node:zlib";
import {
  findZip64Extra,
  MAX_ENTRY_SIZE,
  readZip64End,
  SATURATED,
  SATURATED_16,
  u16,
  u32,
  u64,
  ZIP64_END_MAX_SIZE,
  ZIP64_LOCATOR_SIZE,
  zip64Values,
  zipError,
} from "./_zip64.ts";

export { MAX_ENTRY_SIZE, u32, zipError };

export const LOCAL_HEADER_SIG = 0x04034b50;
const CENTRAL_HEADER_SIG = 0x02014b50;
const END_SIG = 0x06054b50;
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
/** Most bytes one byte of deflated data can inflate to (258-byte matches). */
const MAX_DEFLATE_RATIO = 1032;
/**
 * Largest possible central directory of one entry plus its end records
 * (Zip64 end record and locator included).
 */
export const MAX_TAIL_SIZE = CENTRAL_HEADER_SIZE + 3 * 0xffff + ZIP64_END_MAX_SIZE +
  ZIP64_LOCATOR_SIZE + END_SIZE + 0xffff;
/** Longest data descriptor: signature, CRC-32 and two 8-byte sizes. */
export const MAX_DESCRIPTOR_SIZE = 24;
/** Largest entry {@linkcode unzipBuffer} inflates into one buffer: 4 GiB - 1. */
const MAX_BUFFER_SIZE = 0xffffffff;

const decoder = new TextDecoder();

/** Formats a CRC-32 as `0x` and 8 hex digits. */
function hex32(value: number): string {
  return `0x${(value >>> 0).toString(16).padStart(8, "0")}`;
}

/** The fields of a local file header or central directory record we use. */
export interface ZipEntry {
  /** General purpose flags. */
  flags: number;
  /** Compression method (0 stored, 8 deflated). */
  method: number;
  /** CRC-32 of the uncompressed data (0 when deferred to a data descriptor). */
  crc: number;
  /** Compressed size in bytes (from the Zip64 extra field when saturated). */
  compressedSize: number;
  /** Uncompressed size in bytes (from the Zip64 extra field when saturated). */
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
  const nameEnd = LOCAL_HEADER_SIZE + u16(b, 26);
  const name = decoder.decode(b.subarray(LOCAL_HEADER_SIZE, nameEnd));
  const zip64 = findZip64Extra(b.subarray(nameEnd, localHeaderLength(b)), name, file);
  const flags = u16(b, 6);
  const sized = (flags & FLAG_DESCRIPTOR) === 0;
  // A local header that defers its sizes holds nothing to read in them.
  const [size, compressedSize] = sized
    ? zip64Values([u32(b, 22), u32(b, 18)], zip64, true, name, file)
    : [0, 0];
  const entry: ZipEntry = {
    flags,
    method: u16(b, 8),
    crc: u32(b, 14),
    compressedSize,
    size,
    name,
    recordSize: localHeaderLength(b),
    localOffset: 0,
  };
  checkEntry(entry, sized, file);
  return entry;
}

/**
 * Rejects encrypted entries, unsupported methods, and, when the record holds
 * the sizes (`sized`: not a local header deferring them to a data
 * descriptor), sizes that cannot be or are over {@linkcode MAX_ENTRY_SIZE}.
 */
function checkEntry(entry: ZipEntry, sized: boolean, file?: string): void {
  const { flags, method, name } = entry;
  if (flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION) || method === METHOD_AES) {
    throw zipError(`entry "${name}" is encrypted`, file);
  }
  if (method !== METHOD_STORED && method !== METHOD_DEFLATED) {
    throw zipError(`entry "${name}" uses unsupported compression method ${method}`, file);
  }
  if (!sized) return;
  if (entry.size > MAX_ENTRY_SIZE || entry.compressedSize > MAX_ENTRY_SIZE) {
    throw zipError(
      `entry "${name}" declares ${
        Math.max(entry.size, entry.compressedSize)
      } bytes, more than the cap of ${MAX_ENTRY_SIZE}`,
      file,
    );
  }
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
  const { count, size, offset, cdEnd } = endFields(b, end, base, file);
  if (count !== 1) {
    throw zipError(
      count === 0 ? "the archive holds no entry" : `expected one entry, the archive holds ${count}`,
      file,
    );
  }
  const at = offset - base;
  if (at < 0 || offset + size !== base + cdEnd) {
    throw zipError(
      `central directory at offset ${offset} (${size} bytes) does not end at the end record (offset ${
        base + cdEnd
      })`,
      file,
    );
  }
  const entry = parseCentralRecord(b, at, size, file);
  return { entry, offset };
}

/**
 * The entry count, size and offset of the central directory from the end
 * record at `end`, or from the Zip64 end record when there is one (then the
 * end record's fields must be saturated or agree), and the index where the
 * central directory must end.
 */
function endFields(b: Uint8Array, end: number, base: number, file?: string) {
  const fields = [u16(b, end + 4), u16(b, end + 6), u16(b, end + 8), u16(b, end + 10)];
  const size = u32(b, end + 12);
  const offset = u32(b, end + 16);
  const zip64 = readZip64End(b, end, base, file);
  if (zip64 === undefined) {
    if (fields.includes(SATURATED_16) || size === SATURATED || offset === SATURATED) {
      throw zipError("the end record defers to a zip64 end record, which is missing", file);
    }
    if (fields[0] !== 0 || fields[1] !== 0 || fields[2] !== fields[3]) {
      throw zipError("multi-disk archives are not supported", file);
    }
    return { count: fields[3], size, offset, cdEnd: end };
  }
  const want = [0, 0, zip64.count, zip64.count];
  const agree = fields.every((v, i) => v === SATURATED_16 || v === want[i]) &&
    (size === SATURATED || size === zip64.size) &&
    (offset === SATURATED || offset === zip64.offset);
  if (!agree) throw zipError("the end record and the zip64 end record disagree", file);
  return { count: zip64.count, size: zip64.size, offset: zip64.offset, cdEnd: zip64.at };
}

function findEndRecord(b: Uint8Array): number {
  const last = b.length - END_SIZE;
  for (let i = last; i >= 0 && i >= last - 0xffff; i--) {
    if (b[i] === 0x50 && u32(b, i) === END_SIG && u16(b, i + 20) === last - i) return i;
  }
  return -1;
}

function parseCentralRecord(b: Uint8Array, at: number, length: number, file?: string): ZipEntry {
  if (length < CENTRAL_HEADER_SIZE || u32(b, at) !== CENTRAL_HEADER_SIG) {
    throw zipError(`no central directory record at offset ${at}`, file);
  }
  const nameLength = u16(b, at + 28);
  const recordSize = CENTRAL_HEADER_SIZE + nameLength + u16(b, at + 30) + u16(b, at + 32);
  if (recordSize !== length) {
    throw zipError(
      `central directory is ${length} bytes but its one record is ${recordSize} bytes`,
      file,
    );
  }
  const nameStart = at + CENTRAL_HEADER_SIZE;
  const extraStart = nameStart + nameLength;
  const name = decoder.decode(b.subarray(nameStart, extraStart));
  const zip64 = findZip64Extra(b.subarray(extraStart, extraStart + u16(b, at + 30)), name, file);
  const [size, compressedSize, localOffset] = zip64Values(
    [u32(b, at + 24), u32(b, at + 20), u32(b, at + 42)],
    zip64,
    false,
    name,
    file,
  );
  const entry: ZipEntry = {
    flags: u16(b, at + 8),
    method: u16(b, at + 10),
    crc: u32(b, at + 16),
    compressedSize,
    size,
    name,
    recordSize,
    localOffset,
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
 * Checks the last bytes of a streamed archive whose entry defers its sizes to
 * a data descriptor: `tail` (byte 0 at absolute offset `position`) must hold
 * the end of the entry data, its descriptor and the central directory of that
 * one entry, agreeing with the local header `local`.
 *
 * @returns The entry as the central directory describes it, and how many
 * bytes that start `tail` are entry data.
 */
export function checkDeferredTail(
  tail: Uint8Array,
  position: number,
  local: ZipEntry,
  file?: string,
): { entry: ZipEntry; data: number } {
  const { entry, offset } = readCentralDirectory(tail, position, file);
  if (entry.localOffset !== 0) {
    throw zipError(`the entry starts at offset ${entry.localOffset}, expected 0`, file);
  }
  checkAgreement(local, entry, file);
  const end = local.recordSize + entry.compressedSize;
  if (end < position) {
    throw zipError(
      `the central directory says entry "${entry.name}" ends at byte ${end}, before byte ${position} already passed on as its data`,
      file,
    );
  }
  checkBetween(tail, end - position, offset - end, entry, true, file);
  return { entry, data: end - position };
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
  checkBetween(bytes, end, offset - end, entry, (local.flags & FLAG_DESCRIPTOR) !== 0, file);
  return { entry, data: bytes.subarray(start, end) };
}

/**
 * Unpacks the single entry of a whole archive held in memory, in one native
 * inflate into a buffer of the entry's declared size (which caps it).
 */
export function unzipBuffer(bytes: Uint8Array, file?: string): Uint8Array {
  const { entry, data } = locateEntry(bytes, file);
  if (entry.size > MAX_BUFFER_SIZE) {
    throw zipError(
      `entry "${entry.name}" is ${entry.size} bytes, more than one buffer holds (${MAX_BUFFER_SIZE}): stream it`,
      file,
    );
  }
  const out = entry.method === METHOD_STORED ? data : inflate(data, entry, file);
  checkInflated(entry, out.length, crc32(out), file);
  return out;
}

/**
 * Checks the `gap` bytes of `b` from `at`, between the entry data and the
 * central directory: none, or (`deferred`) a data descriptor that agrees with
 * the central record `entry`. Its length tells its layout: 12 or 16 bytes
 * (4-byte sizes), 20 or 24 (Zip64's 8-byte sizes), 16 and 24 with a signature.
 */
export function checkBetween(
  b: Uint8Array,
  at: number,
  gap: number,
  entry: ZipEntry,
  deferred: boolean,
  file?: string,
): void {
  if (gap < (deferred ? 12 : 0)) {
    throw zipError(`entry "${entry.name}" overlaps the central directory`, file);
  }
  const signed = gap === 16 || gap === 24;
  if (!deferred || !(signed || gap === 12 || gap === 20)) {
    if (gap === 0 && !deferred) return;
    const after = deferred ? at + (u32(b, at) === DESCRIPTOR_SIG ? 16 : 12) : at;
    throw zipError(
      `unexpected ${gap - (after - at)} bytes between the entry and the central directory` +
        (after + 4 <= b.length && u32(b, after) === LOCAL_HEADER_SIG ? " (a second entry)" : ""),
      file,
    );
  }
  if (signed && u32(b, at) !== DESCRIPTOR_SIG) {
    throw zipError(`no data descriptor after entry "${entry.name}"`, file);
  }
  const o = signed ? at + 4 : at;
  const wide = gap >= 20;
  const compressedSize = wide ? u64(b, o + 4, "compressed size", file) : u32(b, o + 4);
  const size = wide ? u64(b, o + 12, "size", file) : u32(b, o + 8);
  if (u32(b, o) !== entry.crc || compressedSize !== entry.compressedSize || size !== entry.size) {
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
