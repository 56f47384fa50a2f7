/**
 * A pass-through stage that counts bytes, reports progress and enforces a
 * size limit.
 *
 * @module
 */

import { InvalidRangeError } from "../core/errors.ts";

/** Options of {@linkcode ByteCounterStream}. */
export interface ByteCounterOptions {
  /**
   * Called after each chunk with the number of bytes passed so far. An error
   * it throws errors the stream.
   * @default {undefined}
   */
  onProgress?: (bytes: number) => void;
  /**
   * Largest number of bytes allowed through; a chunk that would pass it
   * errors the stream instead of being passed on.
   * @default {Infinity}
   */
  maxBytes?: number;
  /**
   * What is being counted (file name or URL), quoted in the limit error.
   * @default {"stream"}
   */
  label?: string;
}

/**
 * Passes its chunks through unchanged while counting their bytes, e.g. for a
 * download progress bar or to stop a download (or an inflated entry) that is
 * larger than any real file could be.
 *
 * Contract: when more than `maxBytes` bytes arrive, the readable side errors
 * with an {@linkcode InvalidRangeError} (code `INVALID_RANGE`) and the
 * writable side (and a piped upstream) is cancelled with the same error; the
 * chunk that crossed the limit is not passed on. Cancelling the readable
 * cancels the writable side; an upstream error errors the readable side.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ByteCounterStream } from "./byte_counter_stream.ts";
 * const seen: number[] = [];
 * const counter = new ByteCounterStream({ onProgress: (n) => seen.push(n) });
 * const chunks = [new Uint8Array(3), new Uint8Array(4)];
 * await ReadableStream.from(chunks).pipeThrough(counter).pipeTo(new WritableStream());
 * assert.equal(counter.bytes, 7);
 * assert.deepEqual(seen, [3, 7]);
 * ```
 */
export class ByteCounterStream extends TransformStream<Uint8Array, Uint8Array> {
  readonly #count: { bytes: number };

  /**
   * Creates the instance.
   *
   * @param options Progress callback, limit and label.
   * @throws {InvalidRangeError} If `maxBytes` is negative or not an integer.
   */
  constructor(options: ByteCounterOptions = {}) {
    const { onProgress, maxBytes = Infinity, label = "stream" } = options;
    if (maxBytes !== Infinity && (!Number.isSafeInteger(maxBytes) || maxBytes < 0)) {
      throw new InvalidRangeError(
        `Cannot count bytes: maxBytes "${maxBytes}" is not a non-negative integer`,
      );
    }
    const count = { bytes: 0 };
    super({
      transform(chunk, controller) {
        const bytes = count.bytes + chunk.length;
        if (bytes > maxBytes) {
          throw new InvalidRangeError(
            `Cannot read "${label}": it exceeds the limit of ${maxBytes} bytes`,
          );
        }
        count.bytes = bytes;
        controller.enqueue(chunk);
        onProgress?.(bytes);
      },
    });
    this.#count = count;
  }

  /** Bytes passed through so far. */
  get bytes(): number {
    return this.#count.bytes;
  }
}
