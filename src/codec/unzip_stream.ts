/**
 * The unzip stage of the Vision pipeline: zip bytes in, the bytes of its
 * single entry out.
 *
 * @module
 */

import { ZipFormatError } from "../core/errors.ts";
import { ZipEntryCheckStream } from "./_zip_entry_check_stream.ts";
import { ZipEntryDataStream } from "./_zip_entry_data_stream.ts";
import { METHOD_STORED, unzipBuffer, type ZipEntry, zipError } from "./_zip_format.ts";

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
 * encrypted, unsupported method, Zip64 records that are missing or lie, an
 * entry over 4 GiB - 1 (one buffer; stream it), or a CRC-32 or size mismatch.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeZip } from "./zip_encoder.ts";
 * import { unzipSingleEntry } from "./unzip_stream.ts";
 * const csv = new TextEncoder().encode("1,2,3\n");
 * const out = await unzipSingleEntry(await encodeZip("a.csv", csv));
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
 * A `pipeThrough` chain of three stages: the archive's records are read and
 * checked and the entry's data passed on, inflated by the platform's
 * `DecompressionStream("deflate-raw")` (stored entries are copied through),
 * then counted and CRC-checked by a tap that caps them at the entry's declared
 * size. When the local file header carries the sizes (as on Binance Vision),
 * the entry is inflated while the archive streams, and the central directory
 * that follows must describe the same, single entry. When the sizes are
 * deferred to a data descriptor (flag bit 3), the entry streams too, about
 * 330 KB behind the input (the longest records that can follow the data are
 * held back): an archive that small is checked whole before it is inflated;
 * for a bigger one the declared size and CRC-32 are known, and checked, at
 * its end, and until then the output is capped at the 1 TiB entry cap
 * (deflate itself yields at most 1,032 bytes per input byte).
 *
 * Zip64 (entries of 4 GiB and more, e.g. Vision's monthly trades of busy
 * symbols) is read in both layouts: sizes from the Zip64 extra field, 8-byte
 * descriptor sizes, the Zip64 end record and locator; entries over 1 TiB
 * (2^40 bytes, compressed or not) are refused.
 *
 * Contract:
 * - Output chunks are emitted before the archive is fully checked: a CRC,
 *   size or format error arrives as an error of the readable side after some
 *   chunks. Commit nothing until the readable closes without error.
 * - Input that ends early (truncated at any byte) errors the readable with a
 *   {@linkcode ZipFormatError}; so do a bad signature, a second entry,
 *   encryption, methods other than stored and deflated, Zip64 fields that
 *   are missing, truncated or over 2^53, data that does not inflate, more
 *   bytes than the entry declares, and CRC-32 or size mismatches. Errors carry `options.file` in their message. An upstream
 *   error (an aborted writable) reaches the readable unchanged.
 * - Cancelling the readable cancels the writable side (and the upstream when
 *   piped) and the inflater; aborting the writable errors the readable.
 *   Either way no inflater is left running.
 * - Output chunks of stored entries may be views of input chunks.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeZip } from "./zip_encoder.ts";
 * import { UnzipStream } from "./unzip_stream.ts";
 * const csv = new TextEncoder().encode("1,2,3\n".repeat(1000));
 * const zip = await encodeZip("a.csv", csv);
 * const body = new Response(zip).body!.pipeThrough(new UnzipStream({ file: "a.zip" }));
 * const out = new Uint8Array(await new Response(body).arrayBuffer());
 * assert.deepEqual(out, csv);
 * ```
 */
export class UnzipStream implements TransformStream<Uint8Array, Uint8Array> {
  /** The entry's bytes. */
  readonly readable: ReadableStream<Uint8Array>;
  /** The archive's bytes. */
  readonly writable: WritableStream<Uint8Array>;

  /**
   * Creates the instance.
   *
   * @param options File name for error messages.
   */
  constructor(options: UnzipOptions = {}) {
    const file = options.file;
    const records = new ZipEntryDataStream(file);
    const input = records.writable.getWriter();
    let upstream: { reason: unknown } | undefined;
    this.writable = new WritableStream<Uint8Array>({
      start(controller) {
        // A cancelled readable errors the records stage: error this side too.
        input.closed.catch((reason) => controller.error(reason));
      },
      write: (chunk) => input.write(chunk),
      close: () => input.close(),
      abort(reason) {
        upstream = { reason };
        return input.abort(reason);
      },
    });
    let entry: ZipEntry | undefined;
    let output: ReadableStreamDefaultReader<Uint8Array> | undefined;
    this.readable = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          if (output === undefined) {
            entry = await records.entry;
            output = unpacked(records.readable, entry, file).getReader();
          }
          const { done, value } = await output.read();
          if (!done) return controller.enqueue(value);
          records.checkEnd();
          controller.close();
        } catch (err) {
          if (err instanceof ZipFormatError || (upstream && err === upstream.reason)) throw err;
          const why = err instanceof Error ? err.message : String(err);
          throw zipError(`entry "${entry?.name}" cannot be inflated (${why})`, file, err);
        }
      },
      cancel: (reason) => output ? output.cancel(reason) : records.readable.cancel(reason),
    }, { highWaterMark: 0 });
  }
}

/** The entry's data inflated (unless stored), through the size and CRC-32 tap. */
function unpacked(
  data: ReadableStream<Uint8Array>,
  entry: ZipEntry,
  file: string | undefined,
): ReadableStream<Uint8Array> {
  const inflated = entry.method === METHOD_STORED || entry.compressedSize === 0
    ? data
    : data.pipeThrough<Uint8Array>(
      new DecompressionStream("deflate-raw") as ReadableWritablePair<Uint8Array, Uint8Array>,
    );
  return inflated.pipeThrough(new ZipEntryCheckStream(entry, file));
}
