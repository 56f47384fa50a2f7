/**
 * The unzip stage of the Vision pipeline: zip bytes in, the bytes of its
 * single entry out.
 *
 * @module
 */

import { crc32 } from "node:zlib";
import { ZipFormatError } from "../core/errors.ts";
import {
  checkAgreement,
  checkInflated,
  checkLocalSignature,
  FLAG_DESCRIPTOR,
  LOCAL_HEADER_SIG,
  LOCAL_HEADER_SIZE,
  localHeaderLength,
  MAX_TAIL_SIZE,
  METHOD_STORED,
  parseLocalHeader,
  readCentralDirectory,
  u32,
  unzipBuffer,
  type ZipEntry,
  zipError,
} from "./_zip_format.ts";

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

type Phase = "header" | "data" | "tail" | "buffered" | "done";

const noop = () => {};

/** The state machine behind {@linkcode UnzipStream}. */
class UnzipTransformer implements Transformer<Uint8Array, Uint8Array> {
  #file: string | undefined;
  #phase: Phase = "header";
  /** Bytes of the local header or of the tail, accumulated. */
  #acc = new Uint8Array(256);
  #accLength = 0;
  /** Absolute offset of the next byte not yet in `#acc` nor inflated. */
  #position = 0;
  #entry: ZipEntry | undefined;
  #remaining = 0;
  #crc = 0;
  #size = 0;
  #writer: WritableStreamDefaultWriter<BufferSource> | undefined;
  #pump: Promise<void> | undefined;
  #pumpError: unknown;
  #chunks: Uint8Array[] = [];

  constructor(file: string | undefined) {
    this.#file = file;
  }

  async transform(chunk: Uint8Array, controller: TransformStreamDefaultController<Uint8Array>) {
    try {
      let off = 0;
      while (off < chunk.length) off = await this.#step(chunk, off, controller);
    } catch (err) {
      this.#phase = "done";
      await this.#dispose(err);
      throw err;
    }
  }

  async flush(controller: TransformStreamDefaultController<Uint8Array>) {
    const file = this.#file;
    const phase = this.#phase;
    this.#phase = "done";
    if (phase === "header") {
      if (this.#position + this.#accLength === 0) throw zipError("the archive is empty", file);
      if (this.#accLength >= 4) checkLocalSignature(this.#acc, file);
      throw zipError(`the archive is truncated at byte ${this.#accLength} (local header)`, file);
    }
    if (phase === "data") {
      const entry = this.#entry!;
      const got = entry.compressedSize - this.#remaining;
      const err = zipError(
        `the archive is truncated at byte ${this.#position} (data of entry "${entry.name}", ${got} of ${entry.compressedSize} compressed bytes)`,
        file,
      );
      await this.#dispose(err);
      throw err;
    }
    if (phase === "tail") return this.#checkTail();
    if (phase === "buffered") {
      const bytes = concat(this.#chunks, this.#position);
      this.#chunks = [];
      const out = unzipBuffer(bytes, file);
      if (out.length > 0) controller.enqueue(out);
    }
  }

  async cancel(reason: unknown) {
    this.#phase = "done";
    await this.#dispose(reason);
  }

  /** Consumes bytes of `chunk` from `off`; returns the new offset. */
  async #step(
    chunk: Uint8Array,
    off: number,
    controller: TransformStreamDefaultController<Uint8Array>,
  ) {
    switch (this.#phase) {
      case "header":
        return this.#readHeader(chunk, off, controller);
      case "data": {
        const n = Math.min(this.#remaining, chunk.length - off);
        await this.#feed(chunk.subarray(off, off + n), controller);
        this.#remaining -= n;
        this.#position += n;
        if (this.#remaining === 0) await this.#endData();
        return off + n;
      }
      case "tail":
        this.#append(chunk.subarray(off), MAX_TAIL_SIZE);
        if (this.#accLength >= 4 && u32(this.#acc, 0) === LOCAL_HEADER_SIG) {
          throw zipError("the archive holds more than one entry", this.#file);
        }
        return chunk.length;
      case "buffered":
        this.#chunks.push(chunk.subarray(off));
        this.#position += chunk.length - off;
        return chunk.length;
      default:
        return chunk.length;
    }
  }

  async #readHeader(
    chunk: Uint8Array,
    off: number,
    controller: TransformStreamDefaultController<Uint8Array>,
  ) {
    const need = this.#accLength < LOCAL_HEADER_SIZE
      ? LOCAL_HEADER_SIZE
      : localHeaderLength(this.#acc);
    const take = Math.min(need - this.#accLength, chunk.length - off);
    this.#append(chunk.subarray(off, off + take), Infinity);
    off += take;
    if (this.#accLength >= 4) checkLocalSignature(this.#acc, this.#file);
    if (
      this.#accLength < need || need === LOCAL_HEADER_SIZE && localHeaderLength(this.#acc) > need
    ) {
      return off;
    }
    const header = this.#acc.slice(0, this.#accLength);
    const entry = parseLocalHeader(header, this.#file);
    this.#entry = entry;
    this.#accLength = 0;
    if (entry.flags & FLAG_DESCRIPTOR) {
      this.#phase = "buffered";
      this.#chunks.push(header);
      this.#position = header.length;
      return off;
    }
    this.#position = header.length;
    this.#remaining = entry.compressedSize;
    this.#phase = "data";
    if (entry.method !== METHOD_STORED) this.#startInflater(controller);
    if (this.#remaining === 0) await this.#endData();
    return off;
  }

  #startInflater(controller: TransformStreamDefaultController<Uint8Array>) {
    const inflater = new DecompressionStream("deflate-raw");
    this.#writer = inflater.writable.getWriter();
    const reader = inflater.readable.getReader();
    const limit = this.#entry!.size;
    const name = this.#entry!.name;
    const run = async () => {
      while (true) {
        const { done, value } = await reader.read();
        if (done) return;
        this.#size += value.length;
        if (this.#size > limit) {
          throw zipError(`entry "${name}" inflates to more than its ${limit} bytes`, this.#file);
        }
        this.#crc = crc32(value, this.#crc);
        controller.enqueue(value);
      }
    };
    this.#pump = run().catch((err) => {
      this.#pumpError ??= err;
      reader.cancel(err).catch(noop);
    });
  }

  async #feed(piece: Uint8Array, controller: TransformStreamDefaultController<Uint8Array>) {
    if (!this.#writer) {
      this.#size += piece.length;
      this.#crc = crc32(piece, this.#crc);
      if (piece.length > 0) controller.enqueue(piece);
      return;
    }
    try {
      await this.#writer.write(piece as Uint8Array<ArrayBuffer>);
    } catch (err) {
      throw this.#inflateFailure(err);
    }
  }

  async #endData() {
    if (this.#writer) {
      try {
        await this.#writer.close();
      } catch (err) {
        throw this.#inflateFailure(err);
      }
      await this.#pump;
      this.#writer = undefined;
      if (this.#pumpError !== undefined) throw this.#inflateFailure(this.#pumpError);
    }
    checkInflated(this.#entry!, this.#size, this.#crc, this.#file);
    this.#phase = "tail";
  }

  #inflateFailure(err: unknown): unknown {
    const cause = this.#pumpError ?? err;
    if (cause instanceof ZipFormatError) return cause;
    const name = this.#entry!.name;
    const why = cause instanceof Error ? cause.message : String(cause);
    return zipError(`entry "${name}" cannot be inflated (${why})`, this.#file, cause);
  }

  #checkTail() {
    const file = this.#file;
    const tail = this.#acc.subarray(0, this.#accLength);
    if (tail.length === 0) {
      throw zipError(
        `the archive is truncated at byte ${this.#position} (central directory missing)`,
        file,
      );
    }
    const { entry, offset } = readCentralDirectory(tail, this.#position, file);
    if (offset !== this.#position) {
      throw zipError(
        `central directory at offset ${offset}, expected ${this.#position} after the entry`,
        file,
      );
    }
    if (entry.localOffset !== 0) {
      throw zipError(`the entry starts at offset ${entry.localOffset}, expected 0`, file);
    }
    checkAgreement(this.#entry!, entry, file);
  }

  #append(bytes: Uint8Array, max: number) {
    const length = this.#accLength + bytes.length;
    if (length > max) {
      throw zipError(
        `more than ${max} bytes follow the entry data: not a single-entry archive`,
        this.#file,
      );
    }
    if (length > this.#acc.length) {
      const grown = new Uint8Array(Math.max(length, this.#acc.length * 2));
      grown.set(this.#acc.subarray(0, this.#accLength));
      this.#acc = grown;
    }
    this.#acc.set(bytes, this.#accLength);
    this.#accLength = length;
  }

  /** Stops the inflater, if running, and waits for its pump to end. */
  async #dispose(reason: unknown) {
    this.#chunks = [];
    const writer = this.#writer;
    if (!writer) return;
    this.#writer = undefined;
    await writer.abort(reason).catch(noop);
    await this.#pump;
  }
}

function concat(chunks: Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
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
  /** @param options File name for error messages. */
  constructor(options: UnzipOptions = {}) {
    super(new UnzipTransformer(options.file));
  }
}
