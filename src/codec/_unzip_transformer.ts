/**
 * The state machine behind `UnzipStream`: local header, streamed inflate of
 * the entry data, then the central directory; or, when the sizes are in a
 * data descriptor, the whole archive buffered and unpacked at the end.
 * Private.
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

type Phase = "header" | "data" | "tail" | "buffered" | "done";

const noop = () => {};

/** The transformer of `UnzipStream`. */
export class UnzipTransformer implements Transformer<Uint8Array, Uint8Array> {
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
