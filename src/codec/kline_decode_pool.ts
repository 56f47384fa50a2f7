/**
 * `KlineDecodePool`: Vision kline zips or CSV held in memory, decoded on the
 * main thread and long-lived workers at once.
 *
 * @module
 */
import { makeData, type RecordBatch, Struct } from "apache-arrow";
import { createHash } from "node:crypto";
import { ArchivePeriodError, ChecksumError, InvalidRangeError } from "../core/errors.ts";
import { KLINE_SCHEMA, recordBatchOf, withDataSource } from "../core/schema.ts";
import { recordIgnoreValues } from "./kline_ignore_values.ts";
import type { KlineCsvStreamOptions } from "./kline_csv_stream.ts";
import { unzipSingleEntry } from "./unzip_stream.ts";
import { checkBatchRows, checkPeriod, KlineCsvParser } from "./_kline_csv_parser.ts";
import {
  type BatchBuffers,
  CHUNKS_AHEAD,
  type DecodeReply,
  type DecodeRequest,
  STOP_ABANDONED,
  STOP_REFUSED,
} from "./_kline_decode_worker.ts";
import { checkInflated, type ZipEntry, zipError } from "./_zip_format.ts";
import { boundaries, deflatedEntry, sameTimeDigits } from "./_kline_decode_parts.ts";

/** Options of {@linkcode KlineDecodePool}. */
export interface KlineDecodePoolOptions {
  /**
   * Number of workers started next to the main thread (0: decode on the
   * main thread only).
   * @default 1
   */
  workers?: number;
}

/** Options of one decode: those of `KlineCsvStream`, an abort signal, a digest. */
export interface KlineDecodeOptions extends KlineCsvStreamOptions {
  /**
   * Rejects the decode with the signal's reason when aborted.
   * @default undefined
   */
  signal?: AbortSignal;
  /**
   * `decodeZip` only: the archive's SHA-256 (hex, as Vision's `.CHECKSUM`
   * prints it). The whole zip is hashed (by the worker that inflates it,
   * when one does, so this thread only parses), and on a mismatch the
   * decode rejects with `ChecksumError` and no rows; its `cause` is the
   * decode's own error when the bytes do not decode either (a damaged
   * transfer rather than a bad archive).
   * @default undefined (not checked)
   */
  expectedSha256?: string;
}

/** Inputs smaller than this are decoded on the main thread alone. */
const MIN_PARALLEL_BYTES = 1 << 19;
/** Size of the inflated chunks a worker sends while it inflates. */
const CHUNK_BYTES = 1 << 18;
const WORKER_URL = new URL("./_kline_decode_worker.ts", import.meta.url);

interface Job {
  reply(reply: DecodeReply): void;
  fail(reason: unknown): void;
}

interface Slot {
  worker: Worker;
  /** Settles true once the worker runs, false when it could not start. */
  ready: Promise<boolean>;
  inflate: boolean;
  jobs: Map<number, Job>;
}

/**
 * Decodes whole Vision kline zips or CSV files held in memory into
 * RecordBatches, using the main thread and long-lived module workers:
 * a worker inflates a zip in chunks while the main thread parses them, and a
 * large CSV is cut at line boundaries and its parts parsed at once.
 *
 * The rows and values are bit-identical to `KlineCsvStream` and the errors
 * are the same (a malformed row anywhere reports the file and its line
 * number in the whole file; a zip error wins over a CSV error, as when the
 * archive is unpacked first); batch boundaries may differ (each batch holds
 * at most `batchRows` rows). Where workers cannot run (no `Worker`, no read
 * permission for the worker module, a failed start), decoding happens on the
 * main thread alone, transparently. Close the pool to stop its workers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeZip } from "./zip_encoder.ts";
 * import { KlineDecodePool } from "./kline_decode_pool.ts";
 * const csv = "1672531200000,16541.77000000,16544.76000000,16538.45000000,16543.67000000," +
 *   "83.08143000,1672531259999,1374268.84886160,2687,40.18369000,664706.01106360,0\n";
 * using pool = new KlineDecodePool();
 * const zip = await encodeZip("BTCUSDT-1m-2023-01-01.csv", new TextEncoder().encode(csv));
 * const batches = await pool.decodeZip(zip, { file: "BTCUSDT-1m-2023-01-01.zip" });
 * assert.equal(batches[0].getChild("close")?.get(0), 16543.67);
 * ```
 */
export class KlineDecodePool {
  #slots: Slot[] = [];
  /** Shared chunk rings of finished inflates, reused by the next ones. */
  #rings: Uint8Array[] = [];
  #closed = false;
  #nextId = 1;

  /**
   * Creates the pool and starts its workers.
   *
   * @param options Number of workers.
   * @throws {InvalidRangeError} When `workers` is not a non-negative integer.
   */
  constructor(options: KlineDecodePoolOptions = {}) {
    const n = options.workers ?? 1;
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new InvalidRangeError(
        `Cannot create a decode pool: workers "${n}" is not a non-negative integer`,
      );
    }
    for (let i = 0; i < n; i++) {
      const slot = startWorker((dead) => {
        this.#slots = this.#slots.filter((s) => s !== dead);
      });
      if (slot) this.#slots.push(slot);
    }
  }

  /**
   * Waits until the workers have started.
   *
   * @returns How many workers run (0 when decoding falls back to the main thread).
   */
  async ready(): Promise<number> {
    return (await this.#running()).length;
  }

  /**
   * Decodes a whole kline CSV file.
   *
   * @param csv The CSV bytes (not modified).
   * @param options File name, batch size, source column, signal.
   * @returns The batches in row order; none for an empty file.
   * @throws {CsvFormatError} A row is malformed.
   * @throws {TypeError} The pool is closed or `csv` is not a Uint8Array.
   */
  async decodeCsv(csv: Uint8Array, options: KlineDecodeOptions = {}): Promise<RecordBatch[]> {
    this.#check(csv, options);
    const slots = csv.length >= MIN_PARALLEL_BYTES ? await this.#running() : [];
    options.signal?.throwIfAborted();
    return await this.#parseParts(csv, slots, options);
  }

  /**
   * Decodes a whole Vision kline zip (one CSV entry).
   *
   * @param zip The archive bytes (not modified).
   * @param options File name, batch size, source column, signal, expected SHA-256.
   * @returns The batches in row order; none for an empty CSV.
   * @throws {ChecksumError} The zip's digest is not `expectedSha256`.
   * @throws {ZipFormatError} The archive is malformed, truncated or corrupt.
   * @throws {CsvFormatError} A row is malformed.
   * @throws {TypeError} The pool is closed or `zip` is not a Uint8Array.
   */
  async decodeZip(zip: Uint8Array, options: KlineDecodeOptions = {}): Promise<RecordBatch[]> {
    this.#check(zip, options);
    const whole = deflatedEntry(zip, options.file);
    const slots = whole && whole.entry.size >= MIN_PARALLEL_BYTES ? await this.#running() : [];
    options.signal?.throwIfAborted();
    const inflater = slots.find((slot) => slot.inflate);
    if (whole && inflater) return await this.#inflateAndParse(inflater, zip, whole, options);
    const expected = options.expectedSha256;
    const actual = expected === undefined
      ? undefined
      : createHash("sha256").update(zip).digest("hex");
    const decode = async () => {
      const csv = await unzipSingleEntry(zip, { file: options.file });
      return await this.#parseParts(csv, slots, options);
    };
    if (actual === expected?.toLowerCase()) return await decode();
    const cause = await decode().then(() => undefined, (error) => error);
    options.signal?.throwIfAborted();
    throw mismatch(options, actual!, cause);
  }

  /** Terminates the workers; decodes in progress reject with an `AbortError`. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const reason = new DOMException("Cannot decode klines: the pool was closed", "AbortError");
    for (const slot of this.#slots) {
      for (const job of [...slot.jobs.values()]) job.fail(reason);
      slot.worker.terminate();
    }
    this.#slots = [];
  }

  /** Same as {@linkcode KlineDecodePool.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  #check(input: Uint8Array, options: KlineDecodeOptions): void {
    if (this.#closed) throw new TypeError("Cannot decode klines: the pool is closed");
    if (!(input instanceof Uint8Array)) {
      throw new TypeError("Cannot decode klines: input is not a Uint8Array");
    }
    checkBatchRows(options.batchRows);
    checkPeriod(options.period);
    options.signal?.throwIfAborted();
  }

  async #running(): Promise<Slot[]> {
    const slots = this.#slots;
    const ok = await Promise.all(slots.map((slot) => slot.ready));
    return this.#closed ? [] : slots.filter((_, i) => ok[i]);
  }

  /** Parses part 0 here and the other parts on workers; any doubt: on here, in order. */
  async #parseParts(
    csv: Uint8Array,
    slots: Slot[],
    options: KlineDecodeOptions,
  ): Promise<RecordBatch[]> {
    const batches: RecordBatch[] = [];
    const parser = newParser(options, batches);
    const cuts = slots.length > 0 ? boundaries(csv, slots.length + 1) : [0, csv.length];
    if (cuts.length === 2) {
      parser.push(csv);
      parser.finish();
      return batches;
    }
    const parts = cuts.slice(1).map((cut, i) => csv.subarray(cuts[i], cut));
    const jobs = parts.slice(1).map((part, i) => this.#parseJob(slots[i], part, options));
    for (const job of jobs) job.catch(() => {});
    parser.push(parts[0]);
    const results = await Promise.allSettled(jobs);
    if (this.#closed || options.signal?.aborted) {
      const failed = results.find((r) => r.status === "rejected");
      if (failed) throw (failed as PromiseRejectedResult).reason;
    }
    const exact = results.every((r) => r.status === "fulfilled" && r.value !== undefined) &&
      parts.slice(1).every((part) => sameTimeDigits(csv, part)) &&
      (options.period === undefined ||
        partsFit(
          parser,
          results.map((r) => (r as PromiseFulfilledResult<BatchBuffers[]>).value),
          options.period.maxRows,
        ));
    if (!exact) {
      for (const part of parts.slice(1)) parser.push(part);
      parser.finish();
      return batches;
    }
    parser.finish();
    for (const r of results) {
      const buffers = (r as PromiseFulfilledResult<BatchBuffers[]>).value;
      for (const b of buffers) batches.push(rebuild(b, options));
    }
    return batches;
  }

  /** Resolves the part's buffers, or undefined when the worker found it malformed. */
  #parseJob(
    slot: Slot,
    part: Uint8Array,
    options: KlineDecodeOptions,
  ): Promise<BatchBuffers[] | undefined> {
    const csv = part.slice();
    const request: DecodeRequest = {
      op: "parse",
      id: this.#nextId++,
      csv,
      file: options.file,
      batchRows: checkBatchRows(options.batchRows),
      period: options.period,
    };
    return this.#job(slot, request, [csv.buffer], options.signal, (reply, done) => {
      if (reply.op === "parsed") done(reply.batches);
      else if (reply.op === "error") done(undefined);
    });
  }

  /** A worker inflates the entry in chunks; this thread parses each as it comes. */
  #inflateAndParse(
    slot: Slot,
    zip: Uint8Array,
    { entry, data }: { entry: ZipEntry; data: Uint8Array },
    options: KlineDecodeOptions,
  ): Promise<RecordBatch[]> {
    const file = options.file;
    const batches: RecordBatch[] = [];
    const parser = newParser(options, batches);
    let csvError: unknown;
    const expected = options.expectedSha256?.toLowerCase();
    // With a digest to check, the worker gets the whole zip (hashed there) and inflates its entry.
    const from = data.byteOffset - zip.byteOffset;
    const raw = expected === undefined
      ? data.slice()
      : zip.slice().subarray(from, from + data.length);
    const shared = typeof SharedArrayBuffer === "function";
    const control = shared ? new Int32Array(new SharedArrayBuffer(8)) : undefined;
    // Chunks come through shared memory, reused from inflate to inflate: no buffer per chunk.
    const ring = shared
      ? this.#rings.pop() ?? new Uint8Array(new SharedArrayBuffer(CHUNKS_AHEAD * CHUNK_BYTES))
      : undefined;
    const stop = (word: number) => {
      if (control) Atomics.store(control, 0, word), Atomics.notify(control, 1);
    };
    const consumed = () => {
      if (control === undefined) return;
      // The worker, CHUNKS_AHEAD ahead, is woken once half of its places are free, not per chunk.
      const read = Atomics.add(control, 1, 1) + 1;
      if (read % (CHUNKS_AHEAD / 2) === 0) Atomics.notify(control, 1);
    };
    const push = (bytes: Uint8Array) => {
      if (csvError !== undefined) return;
      try {
        parser.push(bytes);
      } catch (err) {
        csvError = err;
        // Rows that cannot belong to the archive: no need to inflate the rest.
        if (err instanceof ArchivePeriodError) stop(STOP_REFUSED);
      }
    };
    const verify = (actual: string | undefined, cause: unknown) =>
      expected === undefined || actual === expected
        ? undefined
        : mismatch(options, actual ?? "(not computed)", cause);
    // The worker's last message says it is done with the ring: the next inflate may use it.
    const recycle = () => {
      if (ring && this.#rings.length < 2) this.#rings.push(ring);
    };
    const request: DecodeRequest = {
      op: "inflate",
      id: this.#nextId++,
      raw,
      size: entry.size,
      chunkBytes: CHUNK_BYTES,
      control,
      ring,
      sha256: expected !== undefined,
    };
    const job = this.#job<RecordBatch[]>(
      slot,
      request,
      [raw.buffer],
      options.signal,
      (reply, done, fail) => {
        if (reply.op === "ring") {
          // Counted consumed once read: the worker then writes over its place.
          push(ring!.subarray(reply.place * CHUNK_BYTES, reply.place * CHUNK_BYTES + reply.length));
          consumed();
        } else if (reply.op === "chunk") {
          consumed();
          push(reply.bytes);
        } else if (reply.op === "error") {
          recycle();
          const error = zipError(
            `entry "${entry.name}" cannot be inflated (${reply.message})`,
            file,
          );
          // Without a digest (the worker failed before hashing) no rows come anyway.
          fail((reply.sha256 !== undefined && verify(reply.sha256, error)) || error);
        } else if (reply.op === "inflated") {
          recycle();
          let failed = false;
          let error: unknown;
          try {
            if (reply.stopped) throw csvError;
            if (reply.tooLarge) {
              throw zipError(
                `entry "${entry.name}" inflates to more than its ${entry.size} bytes`,
                file,
              );
            }
            checkInflated(entry, reply.size, reply.crc, file);
            if (csvError !== undefined) throw csvError;
            parser.finish();
          } catch (err) {
            [failed, error] = [true, err];
          }
          // A wrong digest wins: no rows, the decode's own error as its cause.
          const wrong = verify(reply.sha256, failed ? error : undefined);
          if (wrong) fail(wrong);
          else if (failed) fail(error);
          else done(batches);
        }
      },
    );
    // An abort or a closed pool: the worker must not wait for chunks nobody reads.
    job.catch(() => stop(STOP_ABANDONED));
    return job;
  }

  #job<T>(
    slot: Slot,
    request: DecodeRequest,
    transfer: Transferable[],
    signal: AbortSignal | undefined,
    handle: (reply: DecodeReply, done: (value: T) => void, fail: (reason: unknown) => void) => void,
  ): Promise<T> {
    const { promise, resolve, reject } = Promise.withResolvers<T>();
    const id = request.id;
    const onAbort = () => job.fail(signal!.reason);
    const finish = () => {
      slot.jobs.delete(id);
      signal?.removeEventListener("abort", onAbort);
    };
    const job: Job = {
      reply: (reply) =>
        handle(reply, (value) => {
          finish();
          resolve(value);
        }, job.fail),
      fail: (reason) => {
        finish();
        reject(reason);
      },
    };
    slot.jobs.set(id, job);
    signal?.addEventListener("abort", onAbort, { once: true });
    slot.worker.postMessage(request, transfer);
    return promise;
  }
}

/** The error of a zip whose digest is not the expected one. */
function mismatch(options: KlineDecodeOptions, actual: string, cause: unknown): ChecksumError {
  const file = options.file ?? "input";
  return new ChecksumError(file, options.expectedSha256!, actual, cause ? { cause } : undefined);
}

/** Starts a worker, or returns undefined where none can run. */
function startWorker(onDead: (slot: Slot) => void): Slot | undefined {
  if (typeof Worker === "undefined" || !readable(WORKER_URL)) return undefined;
  let worker: Worker;
  try {
    worker = new Worker(WORKER_URL, { type: "module" });
  } catch {
    return undefined;
  }
  const { promise, resolve } = Promise.withResolvers<boolean>();
  const slot: Slot = { worker, ready: promise, inflate: false, jobs: new Map() };
  worker.onmessage = (event: MessageEvent<DecodeReply>) => {
    const reply = event.data;
    if (reply.op === "ready") {
      slot.inflate = reply.inflate;
      return resolve(true);
    }
    slot.jobs.get(reply.id)?.reply(reply);
  };
  worker.onerror = (event) => {
    event.preventDefault();
    resolve(false);
    const reason = new Error(`Cannot decode klines: a decode worker failed (${event.message})`);
    for (const job of [...slot.jobs.values()]) job.fail(reason);
    worker.terminate();
    // Later decodes must not be posted to a terminated worker: they would never settle.
    onDead(slot);
  };
  return slot;
}

/** False when Deno would refuse to read a local worker module. */
function readable(url: URL): boolean {
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  if (url.protocol !== "file:" || !deno?.permissions?.querySync) return true;
  return deno.permissions.querySync({ name: "read", path: url }).state === "granted";
}

function newParser(options: KlineDecodeOptions, batches: RecordBatch[]): KlineCsvParser {
  return new KlineCsvParser(
    {
      file: options.file,
      batchRows: checkBatchRows(options.batchRows),
      source: options.source,
      period: options.period,
    },
    (batch) => batches.push(batch),
  );
}

/**
 * Whether the parts parsed by workers continue the rows `parser` parsed:
 * each part opens after the one before, and all hold at most `maxRows`.
 */
function partsFit(parser: KlineCsvParser, parts: BatchBuffers[][], maxRows: number): boolean {
  let prev = parser.lastOpenTime;
  let rows = parser.rowCount;
  for (const part of parts) {
    for (const b of part) {
      if (b.length === 0) continue;
      const times = b.values[0];
      if (Number(times[0]) <= prev) return false;
      prev = Number(times[b.length - 1]);
      rows += b.length;
    }
  }
  return rows <= maxRows;
}

/** Builds a batch from a worker's buffers, with the source column when asked. */
function rebuild(b: BatchBuffers, options: KlineDecodeOptions): RecordBatch {
  const fields = KLINE_SCHEMA.fields;
  const length = b.length;
  const children = fields.map((field, i) =>
    makeData({ type: field.type, length, nullCount: 0, data: b.values[i] })
  );
  const data = makeData({ type: new Struct(fields), length, nullCount: 0, children });
  const batch = recordBatchOf(KLINE_SCHEMA, data);
  const out = options.source === undefined ? batch : withDataSource(batch, options.source);
  return recordIgnoreValues(out, b.ignored);
}
