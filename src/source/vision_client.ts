/**
 * The Binance Vision client: download, verify and decode kline archives.
 *
 * @module
 */
import { ChecksumError, HttpError, InvalidRangeError, NetworkError } from "../core/errors.ts";
import type { DataSource } from "../core/schema.ts";
import { parseChecksumFile, verifyChecksum } from "../codec/checksum.ts";
import { unzipSingleEntry } from "../codec/unzip_stream.ts";
import type { KlineDecodePool } from "../codec/kline_decode_pool.ts";
import { Semaphore } from "./_pool.ts";
import { capBody, discard, maxArchiveBytes } from "./_vision_body.ts";
import { readBody } from "./_read_body.ts";
import { archiveBatchRows, archivePeriod, DAMAGED, decodeVisionZip } from "./_vision_decode.ts";
import type { VisionFileMissing, VisionFileResult, VisionProgress } from "./_vision_file_result.ts";
import {
  fetchOnce,
  type HostCircuitBreaker,
  isRetryable,
  type RetryOptions,
  withRetry,
} from "./http.ts";
import { listVisionFiles, type VisionListing } from "./vision_listing.ts";
import {
  DEFAULT_TRADE_MEMORY_BYTES,
  MAX_TRADE_ARCHIVE_BYTES,
  MIN_TRADE_BYTES_PER_SECOND,
  spoolVerified,
  tradeRows,
  type VisionTradeArchiveOk,
} from "./_vision_trade_archive.ts";
import {
  visionEventFile,
  type VisionEventFileRef,
  type VisionFile,
  visionFile,
  type VisionFileRef,
  type VisionSeries,
  visionTradeFile,
  type VisionTradeFileRef,
} from "./vision_url.ts";

export type {
  VisionFileMissing,
  VisionFileOk,
  VisionFileResult,
  VisionProgress,
} from "./_vision_file_result.ts";
export {
  DEFAULT_TRADE_MEMORY_BYTES,
  MAX_TRADE_ARCHIVE_BYTES,
  MIN_TRADE_BYTES_PER_SECOND,
  type VisionTradeArchiveOk,
} from "./_vision_trade_archive.ts";

/** A file to fetch: which archive, and a signal that cancels it. */
export interface VisionFileRequest extends VisionFileRef {
  /** Cancels the download; the promise then rejects with `signal.reason`. */
  signal?: AbortSignal;
}

/** An archive of an event dataset to fetch, and a signal that cancels it. */
export interface VisionEventArchiveRequest extends VisionEventFileRef {
  /** Cancels the download; the promise then rejects with `signal.reason`. */
  signal?: AbortSignal;
}

/** A verified archive of an event dataset: the bytes of its CSV entry. */
export interface VisionEventArchiveOk {
  /** Found and verified. */
  status: "ok";
  /** The archive's URL. */
  url: string;
  /** The CSV entry's bytes. */
  csv: Uint8Array;
  /** Size of the archive, in bytes. */
  bytes: number;
  /** SHA-256 of the archive (hex), equal to its `.CHECKSUM`. */
  sha256: string;
}

/** The result of {@linkcode VisionClient.fetchEventArchive}. */
export type VisionEventArchiveResult = VisionEventArchiveOk | VisionFileMissing;

/** An archive of a trade dataset to fetch, where to spool it, and a signal that cancels it. */
export interface VisionTradeArchiveRequest extends VisionTradeFileRef {
  /**
   * Cancels the download; the promise then rejects with `signal.reason`.
   * Once aborted, the rows stream errors with it at its next read.
   */
  signal?: AbortSignal;
  /**
   * A folder for the temporary file that holds the archive until its rows
   * are read (`.dsm-spool-*.zip`, removed when the rows end, fail, are
   * cancelled, or the result is disposed); nothing is written elsewhere.
   * Without it the archive is held in memory, up to `maxMemoryBytes`.
   * @default {undefined (memory)}
   */
  spoolDir?: string;
  /**
   * Largest archive held in memory without `spoolDir`, in bytes; a larger
   * one fails with `ResponseTooLargeError` (not retried).
   * @default {DEFAULT_TRADE_MEMORY_BYTES (256 MiB)}
   */
  maxMemoryBytes?: number;
}

/** A trade archive Vision does not (yet) serve; disposing it does nothing. */
export type VisionTradeArchiveMissing = VisionFileMissing & AsyncDisposable;

/**
 * The result of {@linkcode VisionClient.fetchTradeArchive}: both outcomes
 * are disposable, so `await using got = await client.fetchTradeArchive(...)`
 * always lets the spool go.
 */
export type VisionTradeArchiveResult = VisionTradeArchiveOk | VisionTradeArchiveMissing;

/** Largest event archive accepted (a monthly funding file is a few KB). */
const MAX_EVENT_ARCHIVE_BYTES = 4 * 1024 * 1024;

/** Options of {@linkcode VisionClient}. */
export interface VisionClientOptions {
  /**
   * Base URL of the archives.
   * @default {VISION_URL}
   */
  baseUrl?: string;
  /**
   * Base URL of the bucket listing.
   * @default {VISION_LISTING_URL}
   */
  listingUrl?: string;
  /**
   * The fetch implementation.
   * @default {globalThis.fetch}
   */
  fetch?: typeof fetch;
  /**
   * Time allowed for the response headers, for each chunk of a body, and for
   * a whole `.CHECKSUM` (at most 1 KiB), in ms.
   * @default {30000}
   */
  timeoutMs?: number;
  /**
   * Time allowed for one attempt at an archive, from the requests to its last
   * byte decoded, in ms; an attempt still running then fails with
   * `NetworkError` (retried). The zip's body is also capped by what its
   * period can hold (see the class docs).
   * @default {10 * timeoutMs (300000)}
   */
  deadlineMs?: number;
  /** Retry policy for 5xx, resets, time-outs and truncated bodies. */
  retry?: RetryOptions;
  /**
   * Downloads in flight at once, across every call of this client.
   * @default {8}
   */
  concurrency?: number;
  /**
   * Maximum rows per RecordBatch.
   * @default {65536, or an archive's whole period when it holds at most 2^20 rows (one batch per archive: a day of 1s is one batch, not two)}
   */
  batchRows?: number;
  /**
   * Decode each verified archive on two cores with this pool (the zip is
   * then held whole until its checksum is known, instead of being unpacked
   * while it arrives). The caller closes the pool.
   * @default {undefined (decode on the calling thread, while the bytes arrive)}
   */
  decodePool?: KlineDecodePool;
  /**
   * When set, batches carry the `_data_source` column with this value.
   * @default {undefined}
   */
  source?: DataSource;
  /** Called as bytes arrive and when a file is finished. */
  onProgress?: (progress: VisionProgress) => void;
  /**
   * Stops requests (archives and listing) to a host whose connections keep failing.
   * @default {undefined (no circuit breaker)}
   */
  breaker?: HostCircuitBreaker;
}

/** Options of {@linkcode VisionClient.streamFiles} and {@linkcode VisionClient.fetchFiles}. */
export interface VisionFilesOptions {
  /** Cancels every download; the call then rejects with `signal.reason`. */
  signal?: AbortSignal;
  /**
   * Files started but not yet yielded, at most (bounds memory while the consumer is slow).
   * @default {2 * concurrency} for streamFiles, all for fetchFiles
   */
  lookahead?: number;
}

/**
 * Downloads Binance Vision kline archives, checks each against its
 * `.CHECKSUM` and decodes it into Arrow RecordBatches, with bounded
 * concurrency, retries and cancellation.
 *
 * Per attempt the `.CHECKSUM` and the zip are requested together; the zip
 * streams through SHA-256, unzip and the CSV parser, and its rows are
 * returned only once the digest matches. Outcomes:
 * - 404 or 403 on either file: `{ status: "missing" }`, not an error.
 * - A zip larger than its period's candles can make (384 bytes a row
 *   uncompressed, plus 64 KiB: 617 KB for a daily 1m file), or a
 *   `.CHECKSUM` over 1 KiB: {@linkcode ResponseTooLargeError}, not retried.
 * - An attempt not done within `deadlineMs` (a body that drips), or a
 *   `.CHECKSUM` not read within `timeoutMs`: retried like a time-out.
 * - 5xx, resets, time-outs, bodies shorter than their `Content-Length`:
 *   the whole file is retried with backoff (`retry`), then
 *   {@linkcode HttpError} or {@linkcode NetworkError}.
 * - Digest mismatch: retried once (both files downloaded again), then
 *   {@linkcode ChecksumError}; the rows are never returned. When the bytes
 *   do not even unzip and parse (a body cut short without a
 *   `Content-Length` to tell), or the `.CHECKSUM` is not one checksum
 *   line, the transfer was damaged: retried like a reset, and still a
 *   `ChecksumError` when the retries run out.
 * - `ZipFormatError` or `CsvFormatError` in a file whose digest matches: the
 *   published file itself is bad; thrown at once.
 * - `ArchivePeriodError` in a file whose digest matches: a row opens outside
 *   the archive's day or month (the file of another date), open times do not
 *   increase, or there are more rows than the period holds (a decompression
 *   bomb); the decode stops at that row and the error is thrown at once.
 * - Abort: in-flight bodies are cancelled and the call rejects with the
 *   signal's reason.
 *
 * The CSV stage is not asked to check `close_time` against the interval
 * (real archives contain irregular candles); that check belongs to the merge.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeZip } from "../codec/zip_encoder.ts";
 * import { VisionClient } from "./vision_client.ts";
 * const csv = "1704067200000,1,2,0.5,1.5,10,1704067259999,15,3,4,6,0\n";
 * const zip = await encodeZip("BTCUSDT-1m-2024-01-01.csv", new TextEncoder().encode(csv));
 * const hex = (b: ArrayBuffer) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, "0")).join("");
 * const sum = hex(await crypto.subtle.digest("SHA-256", zip as Uint8Array<ArrayBuffer>)) + "  BTCUSDT-1m-2024-01-01.zip";
 * const fake: typeof fetch = (input) =>
 *   Promise.resolve(new Response(String(input).endsWith(".CHECKSUM") ? sum : zip));
 * const client = new VisionClient({ baseUrl: "http://127.0.0.1:1", fetch: fake });
 * const result = await client.fetchFile({
 *   market: "spot", symbol: "BTCUSDT", interval: "1m", period: "daily", date: "2024-01-01",
 * });
 * assert.equal(result.status, "ok");
 * assert.equal(result.status === "ok" && result.rows, 1);
 * ```
 */
export class VisionClient {
  #options: VisionClientOptions;
  #pool: Semaphore;
  #timeoutMs: number;

  /**
   * Creates the instance.
   *
   * @param options Endpoints, fetch, time-out, retry policy, concurrency, batch size, progress.
   * @throws {InvalidRangeError} When `concurrency` is not a positive integer.
   */
  constructor(options: VisionClientOptions = {}) {
    this.#options = { ...options };
    this.#pool = new Semaphore(options.concurrency ?? 8);
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  /**
   * Lists which daily and monthly archives of a series exist (see {@linkcode listVisionFiles}).
   *
   * @param series Market, symbol and interval.
   * @param options A signal that cancels the listing; `from`/`to` days limit the span
   *   listed; `onPage` hears each listing page received.
   * @returns Dates with a zip, dates with a checksum, first and last day.
   */
  list(
    series: VisionSeries,
    options: { signal?: AbortSignal; from?: string; to?: string; onPage?: () => void } = {},
  ): Promise<VisionListing> {
    const { listingUrl, fetch, retry, breaker } = this.#options;
    return listVisionFiles(series, {
      listingUrl,
      fetch,
      retry,
      breaker,
      timeoutMs: this.#timeoutMs,
      signal: options.signal,
      from: options.from,
      to: options.to,
      onPage: options.onPage,
    });
  }

  /**
   * Downloads, verifies and decodes one archive.
   *
   * @param request The archive, and a signal.
   * @returns Its batches and facts, or `missing`.
   * @throws {InvalidMarketError | InvalidSymbolError | InvalidIntervalError | InvalidTimeError} On misuse, before any I/O.
   * @throws {ChecksumError | ZipFormatError | CsvFormatError | HttpError | NetworkError} See the class docs.
   */
  async fetchFile(request: VisionFileRequest): Promise<VisionFileResult> {
    const file = visionFile(this.#options.baseUrl, request);
    const { batchRows, source, decodePool, onProgress } = this.#options;
    const tries = { attempts: 0, started: 0 };
    const period = archivePeriod(request);
    const result = await this.#fetchVerified(
      file,
      request.signal,
      tries,
      (response, expected, abort) =>
        capBody(response, file.url, {
          maxBytes: maxArchiveBytes(request),
          onExceeded: (error) => abort.abort(error),
        }).then((capped) =>
          decodeVisionZip(file, capped, {
            expected,
            // Rows outside the archive's day or month, out of order or too many: refused at once.
            period,
            signal: abort.signal,
            idleMs: this.#timeoutMs,
            batchRows: batchRows ?? archiveBatchRows(period),
            source,
            decodePool,
            onProgress,
          })
        ),
    );
    if (result.status === "ok") {
      result.ms = performance.now() - tries.started;
      result.attempts = tries.attempts;
    }
    this.#options.onProgress?.({
      url: file.url,
      bytes: result.status === "ok" ? result.bytes : 0,
      done: true,
      status: result.status,
      rows: result.status === "ok" ? result.rows : undefined,
    });
    return result;
  }

  /**
   * Downloads and verifies one archive of an event dataset (funding rates:
   * small monthly files) and returns the bytes of its CSV entry, SHA-256
   * checked against the `.CHECKSUM` sibling and CRC-32 checked by the unzip.
   * Retried like {@linkcode VisionClient.fetchFile}; never returns
   * unverified bytes.
   *
   * @param request The archive (`visionEventFile` naming), and a signal.
   * @returns The CSV bytes and facts, or `missing`.
   * @throws {InvalidMarketError | InvalidDatasetError | InvalidSymbolError | InvalidTimeError | TypeError} On misuse, before any I/O.
   * @throws {ChecksumError | ZipFormatError | ResponseTooLargeError | HttpError | NetworkError} See the class docs.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { startEmulator } from "../emulator/emulator.ts";
   * import { VisionClient } from "./vision_client.ts";
   * await using emu = await startEmulator({ now: Date.UTC(2025, 0, 1) });
   * const client = new VisionClient({ baseUrl: emu.url });
   * const got = await client.fetchEventArchive({
   *   market: "um", dataset: "fundingRate", symbol: "BTCUSDT", period: "monthly", date: "2024-01",
   * });
   * assert.equal(got.status, "ok");
   * if (got.status === "ok") {
   *   assert.match(new TextDecoder().decode(got.csv), /^calc_time,funding_interval_hours,last_funding_rate\r?\n/);
   * }
   * ```
   */
  async fetchEventArchive(request: VisionEventArchiveRequest): Promise<VisionEventArchiveResult> {
    const file = visionEventFile(this.#options.baseUrl, request);
    const tries = { attempts: 0, started: 0 };
    return await this.#fetchVerified(
      file,
      request.signal,
      tries,
      async (response, expected, abort) => {
        const zip = await readBody(response, file.url, {
          timeoutMs: this.#timeoutMs,
          maxBytes: MAX_EVENT_ARCHIVE_BYTES,
          signal: abort.signal,
        });
        const digest = new Uint8Array(
          await crypto.subtle.digest("SHA-256", zip as Uint8Array<ArrayBuffer>),
        );
        const sha256 = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
        verifyChecksum(file.zipName, expected, sha256);
        const csv = await unzipSingleEntry(zip, { file: file.zipName });
        return { status: "ok" as const, url: file.url, csv, bytes: zip.length, sha256 };
      },
    );
  }

  /**
   * Downloads one aggTrades or trades archive, verifies its SHA-256 against
   * its `.CHECKSUM`, and returns its rows as a stream decoded while read.
   *
   * The body is hashed as it arrives into a spool: memory (up to
   * `maxMemoryBytes`, default 256 MiB) or a temporary file in `spoolDir`
   * (needed for archives beyond the memory cap: monthly ones reach
   * gigabytes). Only a verified archive gives a result, so no row of an
   * unverified archive is ever handed out. Retried like
   * {@linkcode VisionClient.fetchFile} (transient failures with backoff, one
   * checksum mismatch). Limits: the zip may have at most
   * `MAX_TRADE_ARCHIVE_BYTES` (daily 1 GiB, monthly 16 GiB); an attempt may
   * take `deadlineMs` plus the zip's `Content-Length` (else the period's
   * cap) at `MIN_TRADE_BYTES_PER_SECOND` (512 KiB/s): a 1 GB archive gets
   * 300 s + 32 min; each chunk must come within `timeoutMs`.
   *
   * Consume `rows` to its end, cancel it, or dispose the result
   * (`await using`): each removes the temporary file. Decode errors of the
   * verified archive (`ZipFormatError`, `CsvFormatError`) error `rows`.
   *
   * @param request Market, dataset, symbol, period, date, spool folder, memory cap, signal.
   * @returns The verified archive's facts and rows, or `missing` (404/403 on the zip or checksum).
   * @throws {InvalidMarketError | InvalidDatasetError | InvalidSymbolError | InvalidTimeError | InvalidRangeError | TypeError} On misuse, before any I/O.
   * @throws {ChecksumError | ResponseTooLargeError | HttpError | NetworkError} When the archive cannot be downloaded and verified.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { encodeZip } from "../codec/zip_encoder.ts";
   * import { VisionClient } from "./vision_client.ts";
   * const csv = "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker\n" +
   *   "1,42283.5,0.012,10,11,1704067200001,true\n2,42283.6,0.5,12,12,1704067200002,false\n";
   * const zip = await encodeZip("BTCUSDT-aggTrades-2024-01-01.csv", new TextEncoder().encode(csv));
   * const hex = (b: ArrayBuffer) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, "0")).join("");
   * const sum = hex(await crypto.subtle.digest("SHA-256", zip as Uint8Array<ArrayBuffer>)) + "  BTCUSDT-aggTrades-2024-01-01.zip";
   * const fake: typeof fetch = (input) =>
   *   Promise.resolve(new Response(String(input).endsWith(".CHECKSUM") ? sum : zip));
   * const client = new VisionClient({ baseUrl: "http://127.0.0.1:1", fetch: fake });
   * await using got = await client.fetchTradeArchive({
   *   market: "um", dataset: "aggTrades", symbol: "BTCUSDT", period: "daily", date: "2024-01-01",
   * });
   * assert.equal(got.status, "ok");
   * if (got.status === "ok") {
   *   const batches = await Array.fromAsync(got.rows);
   *   assert.deepEqual([...batches[0].getChild("agg_trade_id")!], [1n, 2n]);
   *   assert.equal(batches[0].getChild("transact_time")?.data[0].values[1], 1704067200002000n);
   * }
   * ```
   */
  async fetchTradeArchive(request: VisionTradeArchiveRequest): Promise<VisionTradeArchiveResult> {
    const file = visionTradeFile(this.#options.baseUrl, request);
    const { market, dataset, period, spoolDir, signal } = request;
    const maxMemoryBytes = request.maxMemoryBytes ?? DEFAULT_TRADE_MEMORY_BYTES;
    if (!Number.isSafeInteger(maxMemoryBytes) || maxMemoryBytes < 1) {
      throw new InvalidRangeError(
        `Cannot fetch ${dataset}: maxMemoryBytes "${maxMemoryBytes}" is not a positive integer`,
      );
    }
    if (spoolDir !== undefined && (typeof spoolDir !== "string" || spoolDir === "")) {
      throw new TypeError(
        `Cannot fetch ${dataset}: spoolDir ${JSON.stringify(spoolDir)} is not a folder`,
      );
    }
    const { onProgress, batchRows } = this.#options;
    const tries = { attempts: 0, started: 0 };
    const got = await this.#fetchVerified(
      file,
      signal,
      tries,
      async (response, expected, abort) => ({
        status: "ok" as const,
        ...await spoolVerified(response, {
          file,
          period,
          expected,
          abort,
          idleMs: this.#timeoutMs,
          spoolDir,
          maxMemoryBytes,
          onProgress,
        }),
      }),
      (response) => {
        const declared = Number(response.headers.get("content-length") ?? NaN);
        const size = Number.isFinite(declared) ? declared : MAX_TRADE_ARCHIVE_BYTES[period];
        return (1000 * size) / MIN_TRADE_BYTES_PER_SECOND;
      },
    );
    const ok = got.status === "ok";
    onProgress?.({ url: file.url, bytes: ok ? got.bytes : 0, done: true, status: got.status });
    if (got.status !== "ok") return { ...got, [Symbol.asyncDispose]: () => Promise.resolve() };
    const { spool, bytes, sha256 } = got;
    const rows = tradeRows({ spool, file, dataset, market, batchRows, signal });
    return {
      status: "ok",
      url: file.url,
      dataset,
      bytes,
      sha256,
      spoolPath: spool.path,
      rows,
      async [Symbol.asyncDispose]() {
        if (!rows.locked) await rows.cancel().catch(() => {});
        await spool.dispose();
      },
    };
  }

  /**
   * Fetches one archive and its checksum, retrying transient failures and
   * one checksum mismatch, and hands the response with the expected digest
   * to `verify` (which must check it); `missing` when either is 404/403.
   * `tries` hears the attempts made and when the first began.
   */
  async #fetchVerified<R>(
    file: VisionFile,
    signal: AbortSignal | undefined,
    tries: { attempts: number; started: number },
    verify: (response: Response, expected: string, abort: AbortController) => Promise<R>,
    extraMs?: (response: Response) => number,
  ): Promise<R | VisionFileMissing> {
    let mismatches = 0;
    return await withRetry(async () => {
      const release = await this.#pool.acquire(signal);
      if (tries.attempts++ === 0) tries.started = performance.now();
      try {
        return await this.#attempt(file, signal, verify, extraMs);
      } catch (error) {
        if (error instanceof ChecksumError && !DAMAGED.has(error)) mismatches++;
        throw error;
      } finally {
        release();
      }
    }, {
      retry: this.#options.retry,
      signal,
      isRetryable: (error) =>
        error instanceof ChecksumError && !DAMAGED.has(error)
          ? mismatches < 2
          : isRetryable(error) || DAMAGED.has(error as Error),
    });
  }

  /**
   * Downloads many archives (at most `concurrency` at once) and yields their
   * results in request order, each as soon as it and those before it are done.
   * The first failure cancels the other downloads and is thrown; so is an
   * abort. Leaving the loop early cancels what is still running.
   *
   * @param requests The archives.
   * @param options Signal and look-ahead.
   * @returns The results, in request order.
   * @throws {InvalidMarketError | InvalidSymbolError | InvalidIntervalError | InvalidTimeError} On misuse, before any I/O.
   */
  async *streamFiles(
    requests: readonly VisionFileRef[],
    options: VisionFilesOptions = {},
  ): AsyncGenerator<VisionFileResult, void, undefined> {
    for (const request of requests) visionFile(this.#options.baseUrl, request);
    const outer = options.signal;
    outer?.throwIfAborted();
    const lookahead = Math.max(1, options.lookahead ?? 2 * (this.#options.concurrency ?? 8));
    const controller = new AbortController();
    const onAbort = () => controller.abort(outer!.reason);
    outer?.addEventListener("abort", onAbort, { once: true });
    const pending: Promise<VisionFileResult>[] = [];
    let next = 0;
    try {
      while (next < requests.length || pending.length > 0) {
        while (next < requests.length && pending.length < lookahead) {
          const promise = this.fetchFile({ ...requests[next++], signal: controller.signal });
          promise.catch((error) => controller.abort(error));
          pending.push(promise);
        }
        yield await pending.shift()!;
      }
    } finally {
      outer?.removeEventListener("abort", onAbort);
      if (pending.length > 0) {
        controller.abort(new DOMException("The download was cancelled", "AbortError"));
        await Promise.allSettled(pending);
      }
    }
  }

  /**
   * Downloads many archives (at most `concurrency` at once) and returns their
   * results in request order. The first failure cancels the rest and is thrown.
   *
   * @param requests The archives.
   * @param options Signal.
   * @returns The results, in request order.
   */
  async fetchFiles(
    requests: readonly VisionFileRef[],
    options: VisionFilesOptions = {},
  ): Promise<VisionFileResult[]> {
    return await Array.fromAsync(
      this.streamFiles(requests, { lookahead: requests.length, ...options }),
    );
  }

  /**
   * One attempt: both requests, then `verify` (a verified decode), within
   * `deadlineMs`, plus `extraMs(response)` once the zip's headers are known.
   */
  async #attempt<R>(
    file: VisionFile,
    signal: AbortSignal | undefined,
    verify: (response: Response, expected: string, abort: AbortController) => Promise<R>,
    extraMs?: (response: Response) => number,
  ): Promise<R | VisionFileMissing> {
    signal?.throwIfAborted();
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal!.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    const started = performance.now();
    let deadlineMs = this.#options.deadlineMs ?? 10 * this.#timeoutMs;
    const expire = () => {
      const why = `Cannot download ${file.url}: not complete within ${Math.round(deadlineMs)} ms`;
      controller.abort(new NetworkError(file.url, why));
    };
    let deadline = setTimeout(expire, deadlineMs);
    const http = {
      fetch: this.#options.fetch,
      timeoutMs: this.#timeoutMs,
      signal: controller.signal,
      breaker: this.#options.breaker,
    };
    const fail = (error: unknown): never => {
      controller.abort(error);
      throw error;
    };
    try {
      const [sum, zip] = await Promise.allSettled([
        this.#fetchChecksum(file, controller.signal).catch(fail),
        fetchOnce(file.url, http).catch(fail),
      ]);
      if (sum.status === "rejected" || zip.status === "rejected") {
        if (zip.status === "fulfilled") await discard(zip.value);
        throw controller.signal.reason;
      }
      const response = zip.value;
      if (response.status === 404 || response.status === 403 || sum.value === undefined) {
        await discard(response);
        const missing = sum.value === undefined && response.ok ? "checksum" : "zip";
        return { status: "missing", url: file.url, missing };
      }
      if (!response.ok) {
        await discard(response);
        throw new HttpError(response.status, file.url);
      }
      if (extraMs) {
        // A large archive gets time in proportion to its size.
        deadlineMs += extraMs(response);
        clearTimeout(deadline);
        deadline = setTimeout(expire, Math.max(0, started + deadlineMs - performance.now()));
      }
      return await verify(response, sum.value, controller);
    } finally {
      clearTimeout(deadline);
      signal?.removeEventListener("abort", onAbort);
    }
  }

  /** The expected digest, or `undefined` when the `.CHECKSUM` is 404/403. */
  async #fetchChecksum(file: VisionFile, signal: AbortSignal): Promise<string | undefined> {
    const url = file.checksumUrl;
    const { fetch, breaker } = this.#options;
    const response = await fetchOnce(url, { fetch, timeoutMs: this.#timeoutMs, signal, breaker });
    if (response.status === 404 || response.status === 403) {
      await discard(response);
      return undefined;
    }
    if (!response.ok) {
      await discard(response);
      throw new HttpError(response.status, url);
    }
    // `<64 hex>  <zip name>\n`: under 200 bytes.
    const bytes = await readBody(response, url, {
      timeoutMs: this.#timeoutMs,
      maxBytes: 1024,
      signal,
    });
    const text = new TextDecoder().decode(bytes);
    try {
      return parseChecksumFile(text, file.zipName);
    } catch (error) {
      // A CHECKSUM that is not one checksum line was most likely cut short.
      if (error instanceof ChecksumError) DAMAGED.add(error);
      throw error;
    }
  }
}
