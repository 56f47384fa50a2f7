/**
 * Where a large archive waits while its checksum is computed: in memory up
 * to a cap, or in a temporary file of a given folder (nothing is written
 * anywhere else). Read back as a stream once verified; removed by
 * {@linkcode ArchiveSpool.dispose}.
 *
 * @module
 */
import { ResponseTooLargeError } from "../core/errors.ts";

/** Bytes read from a spool file at a time. */
const READ_CHUNK = 256 * 1024;

/** Options of {@linkcode ArchiveSpool.open}. */
export interface ArchiveSpoolOptions {
  /** The archive's URL, for errors. */
  url: string;
  /** A folder to write the temporary file in; none: hold the bytes in memory. */
  spoolDir?: string;
  /** Most bytes held in memory when there is no `spoolDir`. */
  maxMemoryBytes: number;
}

/**
 * The error of an archive too large to hold in memory without a spool folder.
 *
 * @param url The archive's URL.
 * @param limit The memory cap, in bytes.
 * @returns A {@linkcode ResponseTooLargeError} (code `RESPONSE_TOO_LARGE`) saying to give `spoolDir`.
 */
export function tooLargeForMemory(url: string, limit: number): ResponseTooLargeError {
  const error = new ResponseTooLargeError(url, limit, "bytes");
  error.message = `Cannot hold "${url}" in memory: more than ${limit} bytes ` +
    `(give spoolDir to spool it to a temporary file)`;
  return error;
}

/**
 * The bytes of one archive download, in memory or in a temporary file.
 * Written chunk by chunk, then read back once; `dispose` (idempotent)
 * closes the file and removes it.
 */
export class ArchiveSpool {
  readonly #url: string;
  readonly #maxMemoryBytes: number;
  readonly #chunks: Uint8Array[] = [];
  /** The temporary file, or undefined for a memory spool. */
  readonly path: string | undefined;
  #writer: Deno.FsFile | undefined;
  #reader: Deno.FsFile | undefined;
  #bytes = 0;
  #disposed: Promise<void> | undefined;

  private constructor(options: ArchiveSpoolOptions, path?: string, writer?: Deno.FsFile) {
    this.#url = options.url;
    this.#maxMemoryBytes = options.maxMemoryBytes;
    this.path = path;
    this.#writer = writer;
  }

  /**
   * Opens a spool: a new temporary file in `spoolDir` (`.dsm-spool-*.zip`),
   * or memory.
   *
   * @param options URL, folder, memory cap.
   * @returns The spool.
   */
  static async open(options: ArchiveSpoolOptions): Promise<ArchiveSpool> {
    if (options.spoolDir === undefined) return new ArchiveSpool(options);
    const path = await Deno.makeTempFile({
      dir: options.spoolDir,
      prefix: ".dsm-spool-",
      suffix: ".zip",
    });
    try {
      return new ArchiveSpool(options, path, await Deno.open(path, { write: true }));
    } catch (error) {
      await Deno.remove(path).catch(() => {});
      throw error;
    }
  }

  /** Bytes written so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Appends a chunk.
   *
   * @param chunk The bytes.
   * @throws {ResponseTooLargeError} In memory, past `maxMemoryBytes`.
   */
  async write(chunk: Uint8Array): Promise<void> {
    this.#bytes += chunk.length;
    if (this.#writer === undefined) {
      if (this.#bytes > this.#maxMemoryBytes) {
        this.#chunks.length = 0;
        throw tooLargeForMemory(this.#url, this.#maxMemoryBytes);
      }
      this.#chunks.push(chunk);
      return;
    }
    for (let n = 0; n < chunk.length;) n += await this.#writer.write(chunk.subarray(n));
  }

  /** Ends the writing (closes the file's write handle). */
  finish(): void {
    this.#writer?.close();
    this.#writer = undefined;
  }

  /**
   * The bytes written, as a stream (read once). Memory chunks are let go as
   * they are read; a file is read in 256 KiB chunks and closed at its end
   * or on cancel.
   *
   * @returns The stream.
   */
  readable(): ReadableStream<Uint8Array> {
    const chunks = this.#chunks;
    if (this.path === undefined) {
      return new ReadableStream<Uint8Array>({
        pull(controller) {
          const chunk = chunks.shift();
          if (chunk === undefined) controller.close();
          else controller.enqueue(chunk);
        },
        cancel() {
          chunks.length = 0;
        },
      }, { highWaterMark: 0 });
    }
    const path = this.path;
    return new ReadableStream<Uint8Array>({
      start: async () => {
        this.#reader = await Deno.open(path, { read: true });
      },
      pull: async (controller) => {
        const buffer = new Uint8Array(READ_CHUNK);
        const n = await this.#reader!.read(buffer);
        if (n === null) {
          this.#closeReader();
          controller.close();
        } else {
          controller.enqueue(buffer.subarray(0, n));
        }
      },
      cancel: () => this.#closeReader(),
    }, { highWaterMark: 0 });
  }

  /** Lets the bytes go: closes any handle and removes the file. Idempotent. */
  dispose(): Promise<void> {
    this.#disposed ??= (async () => {
      this.#chunks.length = 0;
      try {
        this.#writer?.close();
      } catch { /* already closed */ }
      this.#writer = undefined;
      this.#closeReader();
      if (this.path !== undefined) {
        await Deno.remove(this.path).catch((error) => {
          if (!(error instanceof Deno.errors.NotFound)) throw error;
        });
      }
    })();
    return this.#disposed;
  }

  #closeReader(): void {
    try {
      this.#reader?.close();
    } catch { /* already closed */ }
    this.#reader = undefined;
  }
}
