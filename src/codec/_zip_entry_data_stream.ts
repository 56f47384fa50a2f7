/**
 * The first stage of `UnzipStream`: a single-entry zip archive in, the
 * stored or deflated bytes of its entry out, everything around them checked.
 * Private.
 *
 * @module
 */

import {
  checkDeferredTail,
  checkLocalSignature,
  checkTail,
  FLAG_DESCRIPTOR,
  LOCAL_HEADER_SIG,
  LOCAL_HEADER_SIZE,
  localHeaderLength,
  MAX_DESCRIPTOR_SIZE,
  MAX_ENTRY_SIZE,
  MAX_TAIL_SIZE,
  parseLocalHeader,
  u32,
  type ZipEntry,
  zipError,
} from "./_zip_format.ts";

const noop = () => {};
/**
 * Bytes held back while the data of an entry with a data descriptor streams:
 * the longest descriptor, central directory and end records that can follow
 * it. Whatever precedes the last `WINDOW` bytes is entry data.
 */
const WINDOW = MAX_DESCRIPTOR_SIZE + MAX_TAIL_SIZE;

/**
 * Passes on the entry's data of a single-entry archive as it arrives.
 *
 * With the sizes in the local header (Zip64 ones from its extra field), the
 * data is passed on as soon as the header is read, and what follows it (the
 * central directory of that one entry, Zip64 end records included) is held
 * and checked by {@linkcode ZipEntryDataStream.checkEnd}, once the consumer
 * has checked the data itself. With a data descriptor (flag bit 3), where
 * the data ends is known only from the records after it: the last
 * {@linkcode WINDOW} bytes (about 330 KB, the longest such records) are held
 * back and the rest passed on as data; when the archive ends, the held bytes
 * are parsed from the end (central directory, then descriptor), the entry's
 * crc and sizes filled in, and the last data bytes passed on. A smaller
 * archive is thus checked whole before its first data byte.
 *
 * Contract: errors are `ZipFormatError`s (bad signature, truncation at any
 * byte, a second entry, encryption, unsupported method, Zip64 fields that are
 * missing, truncated, over 2^53 or {@linkcode MAX_ENTRY_SIZE}, records that
 * disagree); an error or a cancellation in either direction rejects
 * {@linkcode ZipEntryDataStream.entry} with its reason. Output chunks may be
 * views of input chunks. Memory: at most `WINDOW` bytes plus one chunk.
 */
export class ZipEntryDataStream extends TransformStream<Uint8Array, Uint8Array> {
  /**
   * The entry as its records describe it (sizes, CRC-32, method, name):
   * known before its first data byte is passed on. With a data descriptor,
   * it resolves with the local header's method and name, `crc` 0 and both
   * sizes {@linkcode MAX_ENTRY_SIZE} (the running cap), and this same object
   * gets the crc and sizes of the records after the data before the
   * readable closes.
   */
  readonly entry: Promise<ZipEntry>;
  readonly #transformer: EntryDataTransformer;

  /**
   * Creates the instance.
   *
   * @param file File name or URL for error messages.
   */
  constructor(file: string | undefined) {
    const found = Promise.withResolvers<ZipEntry>();
    found.promise.catch(noop);
    const transformer = new EntryDataTransformer(file, found);
    // A readable queue of one chunk: the header is read before anyone pulls.
    super(transformer, undefined, { highWaterMark: 1 });
    this.entry = found.promise;
    this.#transformer = transformer;
  }

  /**
   * Checks what followed the entry data (once the readable has closed): the
   * central directory of that one entry, agreeing with the local header.
   *
   * @throws {ZipFormatError} When it does not.
   */
  checkEnd(): void {
    this.#transformer.checkEnd();
  }
}

type Phase = "header" | "data" | "tail" | "deferred";

class EntryDataTransformer implements Transformer<Uint8Array, Uint8Array> {
  #file: string | undefined;
  #found: PromiseWithResolvers<ZipEntry>;
  #phase: Phase = "header";
  /** The local header, then the bytes after the data (or the last `WINDOW` bytes when deferred). */
  #held: Uint8Array[] = [];
  #heldLength = 0;
  /** Bytes of the archive passed before `#held`. */
  #position = 0;
  #entry: ZipEntry | undefined;
  /** The local header of an entry with a data descriptor. */
  #local: ZipEntry | undefined;
  /** Whether the records after the data were checked at the end (data descriptor). */
  #checked = false;
  #remaining = 0;
  #ended = false;

  constructor(file: string | undefined, found: PromiseWithResolvers<ZipEntry>) {
    this.#file = file;
    this.#found = found;
  }

  transform(chunk: Uint8Array, controller: TransformStreamDefaultController<Uint8Array>): void {
    try {
      let off = 0;
      while (off < chunk.length) off = this.#step(chunk, off, controller);
    } catch (err) {
      throw this.#fail(err);
    }
  }

  flush(controller: TransformStreamDefaultController<Uint8Array>): void {
    try {
      this.#finish(controller);
    } catch (err) {
      throw this.#fail(err);
    }
  }

  cancel(reason: unknown): void {
    this.#fail(reason);
  }

  /** Consumes bytes of `chunk` from `off`; returns the new offset. */
  #step(
    chunk: Uint8Array,
    off: number,
    controller: TransformStreamDefaultController<Uint8Array>,
  ): number {
    switch (this.#phase) {
      case "header":
        return this.#readHeader(chunk, off);
      case "data": {
        const n = Math.min(this.#remaining, chunk.length - off);
        controller.enqueue(chunk.subarray(off, off + n));
        this.#remaining -= n;
        this.#position += n;
        if (this.#remaining === 0) this.#phase = "tail";
        return off + n;
      }
      case "tail": {
        const before = this.#heldLength;
        this.#hold(chunk.subarray(off));
        if (this.#heldLength > MAX_TAIL_SIZE) {
          throw zipError(
            `more than ${MAX_TAIL_SIZE} bytes follow the entry data: not a single-entry archive`,
            this.#file,
          );
        }
        if (before < 4 && this.#heldLength >= 4 && u32(this.#joined(), 0) === LOCAL_HEADER_SIG) {
          throw zipError("the archive holds more than one entry", this.#file);
        }
        return chunk.length;
      }
      default:
        this.#hold(chunk.subarray(off));
        this.#release(controller);
        return chunk.length;
    }
  }

  /** Passes on what precedes the last {@linkcode WINDOW} held bytes: entry data. */
  #release(controller: TransformStreamDefaultController<Uint8Array>): void {
    let excess = this.#heldLength - WINDOW;
    if (excess <= 0) return;
    if (this.#position + excess - this.#local!.recordSize > MAX_ENTRY_SIZE) {
      throw zipError(
        `entry "${this.#entry!.name}" has more than ${MAX_ENTRY_SIZE} compressed bytes`,
        this.#file,
      );
    }
    this.#heldLength -= excess;
    this.#position += excess;
    while (excess > 0) {
      const first = this.#held[0];
      if (first.length <= excess) {
        this.#held.shift();
        controller.enqueue(first);
        excess -= first.length;
      } else {
        controller.enqueue(first.subarray(0, excess));
        this.#held[0] = first.subarray(excess);
        excess = 0;
      }
    }
  }

  #readHeader(chunk: Uint8Array, off: number): number {
    const held = this.#heldLength;
    const need = held < LOCAL_HEADER_SIZE ? LOCAL_HEADER_SIZE : localHeaderLength(this.#joined());
    const take = Math.min(need - held, chunk.length - off);
    this.#hold(chunk.subarray(off, off + take));
    const header = this.#joined();
    if (header.length >= 4) checkLocalSignature(header, this.#file);
    if (header.length < need || localHeaderLength(header) > header.length) return off + take;
    const entry = parseLocalHeader(header, this.#file);
    this.#position = header.length;
    this.#held = [];
    this.#heldLength = 0;
    if (entry.flags & FLAG_DESCRIPTOR) {
      this.#local = entry;
      this.#entry = { ...entry, size: MAX_ENTRY_SIZE, compressedSize: MAX_ENTRY_SIZE };
      this.#found.resolve(this.#entry);
      this.#phase = "deferred";
      return off + take;
    }
    this.#entry = entry;
    this.#found.resolve(entry);
    this.#remaining = entry.compressedSize;
    this.#phase = this.#remaining === 0 ? "tail" : "data";
    return off + take;
  }

  #finish(controller: TransformStreamDefaultController<Uint8Array>): void {
    const file = this.#file;
    const held = this.#joined();
    switch (this.#phase) {
      case "header":
        if (held.length === 0) throw zipError("the archive is empty", file);
        if (held.length >= 4) checkLocalSignature(held, file);
        throw zipError(`the archive is truncated at byte ${held.length} (local header)`, file);
      case "data": {
        const { name, compressedSize } = this.#entry!;
        const got = compressedSize - this.#remaining;
        throw zipError(
          `the archive is truncated at byte ${this.#position} (data of entry "${name}", ${got} of ${compressedSize} compressed bytes)`,
          file,
        );
      }
      case "tail":
        this.#ended = true;
        return;
      default: {
        const { entry, data } = checkDeferredTail(held, this.#position, this.#local!, file);
        const { crc, size, compressedSize } = entry;
        Object.assign(this.#entry!, { crc, size, compressedSize });
        this.#phase = "tail";
        this.#ended = true;
        this.#checked = true;
        if (data > 0) controller.enqueue(held.subarray(0, data));
      }
    }
  }

  checkEnd(): void {
    if (this.#phase !== "tail" || this.#checked) return;
    if (!this.#ended) throw new TypeError("Cannot check the end of an archive before it ends");
    checkTail(this.#joined(), this.#position, this.#entry!, this.#file);
  }

  #hold(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.#held.push(bytes);
    this.#heldLength += bytes.length;
  }

  /** The held bytes as one array (joined in place once there are several). */
  #joined(): Uint8Array {
    if (this.#held.length === 1) return this.#held[0];
    const out = new Uint8Array(this.#heldLength);
    let at = 0;
    for (const part of this.#held) {
      out.set(part, at);
      at += part.length;
    }
    this.#held = out.length > 0 ? [out] : [];
    return out;
  }

  /** Rejects the entry promise, drops what is held; returns `reason`. */
  #fail(reason: unknown): unknown {
    this.#found.reject(reason);
    this.#held = [];
    this.#heldLength = 0;
    return reason;
  }
}
