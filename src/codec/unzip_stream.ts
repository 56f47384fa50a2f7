/**
 * The unzip stage of the Vision pipeline: zip bytes in, the bytes of its
 * single entry out.
 *
 * @module
 */

import { UnzipTransformer } from "./_unzip_transformer.ts";
import { unzipBuffer } from "./_zip_format.ts";

/** Options of {@linkcode UnzipStream} and {@linkcode unzipSingleEntry}. */
export interface UnzipOptions {
  /**
   * File name or URL of the archive, quoted in error messages.
   * @default {undefined}
   */
  file?: string;
}

/**
 * Unpacks the bytes of the single entry of a zip archive held in memory.
 * Faster than {@linkcode UnzipStream} when the whole archive is already
 * there (one native inflate into a buffer of the exact size). The result of a
 * stored entry shares memory with `bytes`.
 *
 * @param bytes The whole archive.
 * @param options File name for error messages.
 * @returns The entry's bytes, length and CRC-32 verified.
 * @throws {ZipFormatError} Not a zip, truncated, not exactly one entry,
 * encrypted, unsupported method, zip64, or a CRC-32 or size mismatch.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeZip } from "./zip_encoder.ts";
 * import { unzipSingleEntry } from "./unzip_stream.ts";
 * const csv = new TextEncoder().encode("1,2,3\n");
 * const out = await unzipSingleEntry(encodeZip("a.csv", csv));
 * assert.deepEqual(out, csv);
 * ```
 */
export function unzipSingleEntry(
  bytes: Uint8Array,
  options: UnzipOptions = {},
): Promise<Uint8Array> {
  try {
    return Promise.resolve(unzipBuffer(bytes, options.file));
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * Unpacks a single-entry zip archive as its bytes arrive, e.g. a Binance
 * Vision download: `response.body.pipeThrough(new UnzipStream())`.
 *
 * When the local file header carries the entry's sizes, the entry is inflated
 * while the archive streams (`DecompressionStream("deflate-raw")`, or copied
 * through if stored) and its CRC-32 and size are checked as soon as its data
 * ends; the central directory that follows must describe the same, single
 * entry. When the sizes are deferred to a data descriptor (flag bit 3), the
 * archive is buffered and unpacked from its central directory at the end.
 *
 * Contract:
 * - Output chunks are emitted before the archive is fully checked: a CRC,
 *   size or format error arrives as an error of the readable side after some
 *   chunks. Commit nothing until the readable closes without error.
 * - Input that ends early (truncated at any byte) errors the readable with a
 *   {@linkcode ZipFormatError}; so do a bad signature, a second entry,
 *   encryption, methods other than stored and deflated, zip64, and CRC-32 or
 *   size mismatches. Errors carry `options.file` in their message.
 * - Cancelling the readable cancels the writable side (and the upstream when
 *   piped) and stops the inflater; aborting the writable errors the readable.
 *   Either way no inflater is left running.
 * - Output chunks of stored entries may be views of input chunks.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeZip } from "./zip_encoder.ts";
 * import { UnzipStream } from "./unzip_stream.ts";
 * const csv = new TextEncoder().encode("1,2,3\n".repeat(1000));
 * const zip = encodeZip("a.csv", csv);
 * const body = new Response(zip).body!.pipeThrough(new UnzipStream({ file: "a.zip" }));
 * const out = new Uint8Array(await new Response(body).arrayBuffer());
 * assert.deepEqual(out, csv);
 * ```
 */
export class UnzipStream extends TransformStream<Uint8Array, Uint8Array> {
  /**
   * Creates the instance.
   *
   * @param options File name for error messages.
   */
  constructor(options: UnzipOptions = {}) {
    super(new UnzipTransformer(options.file));
  }
}
