/**
 * Writes zip archives like Binance Vision's: one deflated CSV entry, with its
 * sizes in the local header or in a trailing data descriptor, by zip.js's
 * `ZipWriter` (no web workers; the platform's `CompressionStream` at the
 * default level, zip.js's own deflate at the others).
 *
 * @module
 */

import { Uint8ArrayReader, Uint8ArrayWriter, ZipWriter } from "@zip.js/zip.js";

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
   * Deflate level, 0 (fastest) to 9 (smallest). Level 6 uses the platform's
   * `CompressionStream`; the others zip.js's slower WebAssembly deflate.
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

const DEFAULT_MODIFIED = new Date("2000-01-01T00:00:00Z");
const METHOD = { deflate: 8, store: 0 } as const;

/**
 * Writes a zip archive holding one entry.
 *
 * @param name Entry name, e.g. `"BTCUSDT-1m-2024-01-01.csv"`.
 * @param data Entry bytes.
 * @param options Layout, method, level and timestamp.
 * @returns The archive bytes, readable by `unzip`, Python's `zipfile` and {@linkcode UnzipStream}.
 * @throws {RangeError} If the level is not an integer from 0 to 9.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeZip } from "./zip_encoder.ts";
 * import { unzipSingleEntry } from "./unzip_stream.ts";
 * const data = new TextEncoder().encode("hello");
 * const zip = await encodeZip("hello.txt", data, { dataDescriptor: true });
 * assert.equal(new DataView(zip.buffer).getUint32(0, true), 0x04034b50);
 * assert.deepEqual(await unzipSingleEntry(zip), data);
 * ```
 */
export function encodeZip(
  name: string,
  data: Uint8Array,
  options: ZipEncodeOptions = {},
): Promise<Uint8Array<ArrayBuffer>> {
  return encodeZipEntries([{ name, data }], options);
}

/**
 * Writes a zip archive holding the given entries, in order (tests use it for
 * archives with several entries, which the unzip stage must reject).
 *
 * @param entries Names and bytes.
 * @param options Layout, method, level and timestamp, the same for every entry.
 * @returns The archive bytes.
 * @throws {RangeError} If the level is not an integer from 0 to 9.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeZipEntries } from "./zip_encoder.ts";
 * const zip = await encodeZipEntries([
 *   { name: "a.csv", data: new Uint8Array([1]) },
 *   { name: "b.csv", data: new Uint8Array([2]) },
 * ]);
 * const view = new DataView(zip.buffer);
 * assert.equal(view.getUint16(zip.length - 12, true), 2); // entries in the end record
 * ```
 */
export async function encodeZipEntries(
  entries: readonly ZipEntryInput[],
  options: ZipEncodeOptions = {},
): Promise<Uint8Array<ArrayBuffer>> {
  const level = options.level ?? 6;
  if (!Number.isInteger(level) || level < 0 || level > 9) {
    throw new RangeError(`Cannot write zip: level "${level}" is not an integer from 0 to 9`);
  }
  const writer = new ZipWriter(new Uint8ArrayWriter(), {
    useWebWorkers: false,
    extendedTimestamp: false,
    dataDescriptor: options.dataDescriptor === true,
    dataDescriptorSignature: true,
    compressionMethod: METHOD[options.method ?? "deflate"],
    level,
    rawLastModDate: dosDateTime(options.modified ?? DEFAULT_MODIFIED),
  });
  for (const { name, data } of entries) {
    await writer.add(name, new Uint8ArrayReader(data));
  }
  return await writer.close();
}

/** The DOS date (high 16 bits) and time (low 16 bits) of `d` in UTC. */
function dosDateTime(d: Date): number {
  const year = Math.min(Math.max(d.getUTCFullYear(), 1980), 2107);
  const time = (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1);
  const date = ((year - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate();
  return (date << 16 | time) >>> 0;
}
