/**
 * A minimal single-entry zip writer (deflate), used by the emulator to build
 * Vision-like archives. Private to the emulator.
 *
 * @module
 */
import { crc32, deflateRawSync } from "node:zlib";

/** Options of {@linkcode encodeZip}. */
export interface EncodeZipOptions {
  /**
   * Write sizes and CRC in a trailing data descriptor (flag bit 3) instead of
   * the local header.
   * @default false
   */
  dataDescriptor?: boolean;
  /**
   * Modification time of the entry, epoch ms (stored as DOS time, UTC).
   * @default 2020-01-01T00:00:00Z
   */
  modified?: number;
}

function dosTime(ms: number): [number, number] {
  const d = new Date(ms);
  const time = (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1);
  const date = ((d.getUTCFullYear() - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate();
  return [time, date];
}

/**
 * Encodes one file as a deflated zip archive.
 *
 * @param name The entry name.
 * @param data The entry bytes.
 * @param options Layout options.
 * @returns The zip bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeZip } from "./_zip.ts";
 * const zip = encodeZip("a.csv", new TextEncoder().encode("1,2\n"));
 * assert.equal(new DataView(zip.buffer).getUint32(0, true), 0x04034b50);
 * ```
 */
export function encodeZip(
  name: string,
  data: Uint8Array,
  options: EncodeZipOptions = {},
): Uint8Array {
  const dd = options.dataDescriptor ?? false;
  const nameBytes = new TextEncoder().encode(name);
  const body = deflateRawSync(data, { level: 3 });
  const crc = crc32(data) >>> 0;
  const [time, date] = dosTime(options.modified ?? Date.UTC(2020, 0, 1));
  const flags = dd ? 0x0008 : 0;
  const localLen = 30 + nameBytes.length;
  const ddLen = dd ? 16 : 0;
  const cdOffset = localLen + body.length + ddLen;
  const cdLen = 46 + nameBytes.length;
  const out = new Uint8Array(cdOffset + cdLen + 22);
  const v = new DataView(out.buffer);
  v.setUint32(0, 0x04034b50, true);
  v.setUint16(4, 20, true);
  v.setUint16(6, flags, true);
  v.setUint16(8, 8, true);
  v.setUint16(10, time, true);
  v.setUint16(12, date, true);
  v.setUint32(14, dd ? 0 : crc, true);
  v.setUint32(18, dd ? 0 : body.length, true);
  v.setUint32(22, dd ? 0 : data.length, true);
  v.setUint16(26, nameBytes.length, true);
  out.set(nameBytes, 30);
  out.set(body, localLen);
  if (dd) {
    const p = localLen + body.length;
    v.setUint32(p, 0x08074b50, true);
    v.setUint32(p + 4, crc, true);
    v.setUint32(p + 8, body.length, true);
    v.setUint32(p + 12, data.length, true);
  }
  const c = cdOffset;
  v.setUint32(c, 0x02014b50, true);
  v.setUint16(c + 4, 20, true);
  v.setUint16(c + 6, 20, true);
  v.setUint16(c + 8, flags, true);
  v.setUint16(c + 10, 8, true);
  v.setUint16(c + 12, time, true);
  v.setUint16(c + 14, date, true);
  v.setUint32(c + 16, crc, true);
  v.setUint32(c + 20, body.length, true);
  v.setUint32(c + 24, data.length, true);
  v.setUint16(c + 28, nameBytes.length, true);
  v.setUint32(c + 42, 0, true);
  out.set(nameBytes, c + 46);
  const e = c + cdLen;
  v.setUint32(e, 0x06054b50, true);
  v.setUint16(e + 8, 1, true);
  v.setUint16(e + 10, 1, true);
  v.setUint32(e + 12, cdLen, true);
  v.setUint32(e + 16, cdOffset, true);
  return out;
}
