/**
 * Trade archives for the Vision client: the download hashed as it arrives
 * into a spool (memory or a temporary file), verified, then decoded as a
 * stream of RecordBatches. Types re-exported by `vision_client.ts`.
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";
import { verifyChecksum } from "../codec/checksum.ts";
import { Sha256Stream } from "../codec/sha256_stream.ts";
import { TradeCsvDecoderStream } from "../codec/trade_csv.ts";
import { UnzipStream } from "../codec/unzip_stream.ts";
import type { Market } from "../core/market.ts";
import type { TradeDataset } from "../core/trade_schema.ts";
import { ArchiveSpool, tooLargeForMemory } from "./_archive_spool.ts";
import { bodyOf, capBody, checkContentLength, discard, noop, pump } from "./_vision_body.ts";
import type { VisionProgress } from "./_vision_file_result.ts";
import type { VisionFile, VisionPeriod } from "./vision_url.ts";

/** Largest trade archive accepted, by period, in bytes: daily 1 GiB, monthly 16 GiB. */
export const MAX_TRADE_ARCHIVE_BYTES: Readonly<Record<VisionPeriod, number>> = {
  daily: 1024 ** 3,
  monthly: 16 * 1024 ** 3,
};

/** Most bytes of a trade archive held in memory without a `spoolDir`: 256 MiB. */
export const DEFAULT_TRADE_MEMORY_BYTES = 256 * 1024 ** 2;

/**
 * Slowest transfer a trade archive's deadline allows for, in bytes per
 * second (512 KiB/s): an attempt may take `deadlineMs` plus its size at
 * this rate (a 1 GB archive about 32 minutes more).
 */
export const MIN_TRADE_BYTES_PER_SECOND = 512 * 1024;

/** A verified trade archive: its rows as a stream, read from the spool. */
export interface VisionTradeArchiveOk extends AsyncDisposable {
  /** Found and verified. */
  status: "ok";
  /** The archive's URL. */
  url: string;
  /** `aggTrades` or `trades`. */
  dataset: TradeDataset;
  /** Size of the archive, in bytes. */
  bytes: number;
  /** SHA-256 of the archive (lowercase hex), equal to its `.CHECKSUM`. */
  sha256: string;
  /** The temporary file holding the archive until the rows are read, or undefined in memory. */
  spoolPath: string | undefined;
  /**
   * The rows: RecordBatches of `AGG_TRADE_SCHEMA` / `TRADE_SCHEMA`, decoded
   * while read (at most `batchRows` rows each). Read it to its end, cancel
   * it, or dispose the result: each lets the spool go (the temporary file
   * is removed). A malformed archive errors it with `ZipFormatError` or
   * `CsvFormatError`.
   */
  rows: ReadableStream<RecordBatch>;
}

/** Options of {@linkcode spoolVerified}. */
export interface SpoolVerifiedOptions {
  /** The archive. */
  file: VisionFile;
  /** Its period (for the size cap). */
  period: VisionPeriod;
  /** The expected digest, from the `.CHECKSUM`. */
  expected: string;
  /** Aborts the transfer (also by the cap). */
  abort: AbortController;
  /** Time allowed for each chunk, in ms. */
  idleMs: number;
  /** Folder of the temporary file; none: memory. */
  spoolDir?: string;
  /** Memory cap without `spoolDir`. */
  maxMemoryBytes: number;
  /** Hears bytes as they arrive. */
  onProgress?: (progress: VisionProgress) => void;
}

/**
 * Reads the archive's body into a spool, hashing it on the way, and checks
 * the digest: the spool is returned only when it matches (else it is
 * disposed and the error thrown).
 *
 * @param response The zip's response (2xx).
 * @param options Archive, expected digest, limits, spool folder, progress.
 * @returns The verified spool, its size and digest.
 * @throws {ChecksumError | ResponseTooLargeError | NetworkError} When it cannot be verified.
 */
export async function spoolVerified(
  response: Response,
  options: SpoolVerifiedOptions,
): Promise<{ spool: ArchiveSpool; bytes: number; sha256: string }> {
  const { file, abort, spoolDir, maxMemoryBytes, onProgress } = options;
  const declared = Number(response.headers.get("content-length") ?? NaN);
  if (spoolDir === undefined && declared > maxMemoryBytes) {
    await discard(response);
    throw tooLargeForMemory(file.url, maxMemoryBytes);
  }
  const capped = await capBody(response, file.url, {
    maxBytes: MAX_TRADE_ARCHIVE_BYTES[options.period],
    onExceeded: (error) => abort.abort(error),
  });
  let spool: ArchiveSpool | undefined;
  try {
    spool = await ArchiveSpool.open({ url: file.url, spoolDir, maxMemoryBytes });
    const sha = new Sha256Stream();
    const into = spool;
    const bytes = await pump(bodyOf(capped).pipeThrough(sha), file.url, {
      signal: abort.signal,
      idleMs: options.idleMs,
      onChunk: async (chunk) => {
        await into.write(chunk);
        onProgress?.({ url: file.url, bytes: into.bytes, done: false });
      },
    });
    spool.finish();
    checkContentLength(file.url, response, bytes);
    const sha256 = await sha.digest;
    verifyChecksum(file.zipName, options.expected, sha256);
    return { spool, bytes, sha256 };
  } catch (error) {
    await discard(capped);
    await spool?.dispose();
    throw error;
  }
}

/** Options of {@linkcode tradeRows}. */
export interface TradeRowsOptions {
  /** The verified spool (disposed when the rows end, fail or are cancelled). */
  spool: ArchiveSpool;
  /** The archive (its zip and CSV names are quoted in errors). */
  file: VisionFile;
  /** Data set and market of the CSV. */
  dataset: TradeDataset;
  /** The market. */
  market: Market;
  /** Rows per batch, at most. */
  batchRows?: number;
  /** Errors the stream at its next read once aborted. */
  signal?: AbortSignal;
}

/**
 * The rows of a verified spool: unzipped and decoded while read, one batch
 * per read (no read-ahead). The end, an error or a cancel dispose the spool.
 *
 * @param options Spool, names, dataset, market, batch size, signal.
 * @returns The stream of RecordBatches.
 */
export function tradeRows(options: TradeRowsOptions): ReadableStream<RecordBatch> {
  const { spool, file, dataset, market, batchRows, signal } = options;
  let reader: ReadableStreamDefaultReader<RecordBatch> | undefined;
  return new ReadableStream<RecordBatch>({
    async pull(controller) {
      try {
        signal?.throwIfAborted();
        reader ??= spool.readable()
          .pipeThrough(new UnzipStream({ file: file.zipName }))
          .pipeThrough(
            new TradeCsvDecoderStream({ dataset, market, file: file.csvName, batchRows }),
          )
          .getReader();
        const { done, value } = await reader.read();
        if (!done) return controller.enqueue(value);
        await spool.dispose();
        controller.close();
      } catch (error) {
        await reader?.cancel(error).catch(noop);
        await spool.dispose();
        throw error;
      }
    },
    async cancel(reason) {
      await reader?.cancel(reason).catch(noop);
      await spool.dispose();
    },
  }, { highWaterMark: 0 });
}
