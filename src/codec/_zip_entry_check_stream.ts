/**
 * The last stage of `UnzipStream`: a pass-through tap on an entry's
 * unpacked bytes that caps them at the entry's declared size (the bound
 * against decompression bombs) and checks their length and CRC-32 at the
 * end. Private.
 *
 * @module
 */

import { crc32 } from "node:zlib";
import { checkInflated, type ZipEntry, zipError } from "./_zip_format.ts";

/**
 * Passes the unpacked bytes of `entry` through unchanged.
 *
 * Contract: a chunk that would take the total past the entry's declared size
 * errors the stream with a `ZipFormatError` instead of being passed on (and
 * cancels the writable side, so the inflater upstream stops); at the end, a
 * length or CRC-32 that differs from the entry's is a `ZipFormatError` too.
 */
export class ZipEntryCheckStream extends TransformStream<Uint8Array, Uint8Array> {
  /**
   * Creates the instance.
   *
   * @param entry The entry, with its declared size and CRC-32.
   * @param file File name or URL for error messages.
   */
  constructor(entry: ZipEntry, file: string | undefined) {
    let size = 0;
    let crc = 0;
    super({
      transform(chunk, controller) {
        size += chunk.length;
        if (size > entry.size) {
          throw zipError(
            `entry "${entry.name}" inflates to more than its ${entry.size} bytes`,
            file,
          );
        }
        crc = crc32(chunk, crc);
        controller.enqueue(chunk);
      },
      flush() {
        checkInflated(entry, size, crc, file);
      },
    });
  }
}
