/**
 * Zip64 records of a single-entry archive (PKWARE APPNOTE 6.3, 4.3.14-4.3.15
 * and 4.5.3): the Zip64 extended information extra field (header id 0x0001)
 * that holds sizes and offsets beyond 32 bits, the Zip64 end of central
 * directory record and its locator. Strict: a truncated, duplicated or lying
 * record, or a value of 2^53 or more, is a `ZipFormatError`. Private; a leaf
 * module (`_zip_format.ts` builds on it).
 *
 * @module
 */

import { ZipFormatError } from "../core/errors.ts";

/** A 32-bit size or offset that defers to the Zip64 extra field. */
export const SATURATED = 0xffffffff;
/** A 16-bit count or disk number that defers to the Zip64 end record. */
export const SATURATED_16 = 0xffff;
/**
 * Largest entry accepted, compressed or not: 1 TiB. Binance Vision's biggest
 * monthly trade CSVs are tens of GiB; the cap keeps every size and offset
 * far below 2^53 (exact in a double, even times the deflate ratio bound).
 */
export const MAX_ENTRY_SIZE = 2 ** 40;
/** Length of the Zip64 end of central directory locator. */
export const ZIP64_LOCATOR_SIZE = 20;
/** Longest Zip64 end of central directory record accepted (56 fixed bytes, extensible data). */
export const ZIP64_END_MAX_SIZE = 56 + 0xffff;

const ZIP64_EXTRA_ID = 0x0001;
const ZIP64_END_SIG = 0x06064b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
/** Length of the fixed part of the Zip64 end record (version 1, APPNOTE 4.3.14). */
const ZIP64_END_MIN_SIZE = 56;

/** Unsigned 16-bit little-endian integer. */
export function u16(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8);
}

/** Unsigned 32-bit little-endian integer. */
export function u32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16)) + b[o + 3] * 0x1000000;
}

/** A {@linkcode ZipFormatError} whose message starts with "Cannot unzip: ". */
export function zipError(message: string, file?: string, cause?: unknown): ZipFormatError {
  return new ZipFormatError(`Cannot unzip: ${message}`, file, cause ? { cause } : undefined);
}

/**
 * Unsigned 64-bit little-endian integer, exact.
 *
 * @throws {ZipFormatError} When it is 2^53 or more (`what` names the field).
 */
export function u64(b: Uint8Array, o: number, what: string, file?: string): number {
  const high = u32(b, o + 4);
  if (high >= 0x200000) {
    const hex = `0x${high.toString(16)}${u32(b, o).toString(16).padStart(8, "0")}`;
    throw zipError(`zip64 ${what} ${hex} is beyond 2^53`, file);
  }
  return high * 0x100000000 + u32(b, o);
}

/**
 * The data of the Zip64 extra field among `extra` (a record's whole extra
 * block), or undefined when there is none.
 *
 * @throws {ZipFormatError} When the block is truncated or holds two Zip64 fields.
 */
export function findZip64Extra(
  extra: Uint8Array,
  name: string,
  file?: string,
): Uint8Array | undefined {
  let found: Uint8Array | undefined;
  let at = 0;
  while (at + 4 <= extra.length) {
    const id = u16(extra, at);
    const end = at + 4 + u16(extra, at + 2);
    if (end > extra.length) {
      throw zipError(
        `extra field 0x${id.toString(16).padStart(4, "0")} of entry "${name}" is truncated`,
        file,
      );
    }
    if (id === ZIP64_EXTRA_ID) {
      if (found) throw zipError(`entry "${name}" has two zip64 extra fields`, file);
      found = extra.subarray(at + 4, end);
    }
    at = end;
  }
  return found;
}

/**
 * The sizes (and local header offset) of an entry with the saturated ones
 * read from its Zip64 extra field, as 8-byte values in the order size,
 * compressed size, offset. A local header's field holds both sizes whenever
 * it holds either (APPNOTE 4.5.3); a central record's only the saturated ones.
 *
 * @param values `[size, compressedSize, localOffset]` as the record holds them.
 * @param zip64 The Zip64 extra field's data, if any.
 * @param local Whether the record is a local header.
 * @throws {ZipFormatError} When a saturated value is missing from the field.
 */
export function zip64Values(
  values: readonly number[],
  zip64: Uint8Array | undefined,
  local: boolean,
  name: string,
  file?: string,
): number[] {
  const out = values.slice();
  if (!values.includes(SATURATED)) return out;
  if (zip64 === undefined) {
    throw zipError(
      `entry "${name}" has 32-bit fields set to 0xffffffff but no zip64 extra field`,
      file,
    );
  }
  if (local && zip64.length >= 16) {
    for (let i = 0; i < 2; i++) {
      if (values[i] === SATURATED) out[i] = u64(zip64, i * 8, FIELDS[i], file);
    }
    return out;
  }
  let at = 0;
  for (let i = 0; i < values.length; i++) {
    if (values[i] !== SATURATED) continue;
    if (at + 8 > zip64.length) {
      throw zipError(`zip64 extra field of entry "${name}" is truncated: no ${FIELDS[i]}`, file);
    }
    out[i] = u64(zip64, at, FIELDS[i], file);
    at += 8;
  }
  return out;
}

const FIELDS = ["size", "compressed size", "local header offset"];

/** The central directory as the Zip64 end record describes it. */
export interface Zip64End {
  /** Entries in the central directory. */
  count: number;
  /** Size of the central directory in bytes. */
  size: number;
  /** Absolute offset of the central directory. */
  offset: number;
  /** Index in the buffer of the Zip64 end record, where the central directory must end. */
  at: number;
}

/**
 * Reads the Zip64 end record through the locator that precedes the end
 * record at `end` of `b` (whose byte 0 is at absolute offset `base`); the
 * record must sit right before the locator, on disk 0.
 *
 * @returns The record's fields, or undefined when there is no locator.
 * @throws {ZipFormatError} When the locator or the record is not right.
 */
export function readZip64End(
  b: Uint8Array,
  end: number,
  base: number,
  file?: string,
): Zip64End | undefined {
  const locator = end - ZIP64_LOCATOR_SIZE;
  if (locator < 0 || u32(b, locator) !== ZIP64_LOCATOR_SIG) return undefined;
  const total = u32(b, locator + 16);
  if (u32(b, locator + 4) !== 0 || total > 1) {
    throw zipError("multi-disk archives are not supported", file);
  }
  const offset = u64(b, locator + 8, "end record offset", file);
  const at = offset - base;
  const found = at >= 0 && at + ZIP64_END_MIN_SIZE <= locator && u32(b, at) === ZIP64_END_SIG &&
    u32(b, at + 8) === 0 && 12 + u32(b, at + 4) === locator - at;
  if (!found || locator - at > ZIP64_END_MAX_SIZE) {
    throw zipError(
      `no zip64 end of central directory record at offset ${offset}, right before its locator`,
      file,
    );
  }
  if (u32(b, at + 16) !== 0 || u32(b, at + 20) !== 0) {
    throw zipError("multi-disk archives are not supported", file);
  }
  const onDisk = u64(b, at + 24, "entry count", file);
  const count = u64(b, at + 32, "entry count", file);
  if (onDisk !== count) throw zipError("multi-disk archives are not supported", file);
  return {
    count,
    size: u64(b, at + 40, "central directory size", file),
    offset: u64(b, at + 48, "central directory offset", file),
    at,
  };
}
