/**
 * Decoding a Vision zip response into verified kline RecordBatches: streamed
 * through SHA-256, unzip and CSV while it arrives, or held whole and handed
 * to a {@linkcode KlineDecodePool} once its digest is known.
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";
import { ChecksumError, DsmError, ZipFormatError } from "../core/errors.ts";
import type { DataSource } from "../core/schema.ts";
import { KlineCsvStream } from "../codec/kline_csv_stream.ts";
import type { KlineDecodePool } from "../codec/kline_decode_pool.ts";
import { Sha256Stream } from "../codec/sha256_stream.ts";
import { UnzipStream } from "../codec/unzip_stream.ts";
import { bodyOf, checkContentLength, describe, noop, pump } from "./_vision_body.ts";
import type { VisionFileOk, VisionProgress } from "./_vision_file_result.ts";
import type { VisionFile, VisionFileRef } from "./vision_url.ts";
import { ceilOpenTime, intervalMs, nextOpenTime, parseInterval } from "../core/interval.ts";
import { DEFAULT_BATCH_ROWS, type KlinePeriod } from "../codec/_kline_csv_parser.ts";

/**
 * Rows an archive may hold beyond its period's grid slots. Off-grid rows
 * (after an outage, BINANCE.md) replace on-grid ones one for one, except
 * where a restart lands in a slot whose candle was already printed (a cut
 * short candle, then the first shifted one): one extra row per restart. No
 * real period has seen more than one; 16 leaves room without letting a bomb
 * grow past its period's size.
 */
export const EXTRA_ROWS = 16;

/**
 * The period of a Vision archive: open times in its UTC day or calendar
 * month, at most its grid slots + {@linkcode EXTRA_ROWS} rows.
 *
 * @param ref The archive.
 * @returns Its bounds, named by its date.
 */
export function archivePeriod(ref: VisionFileRef): KlinePeriod {
  const [y, m, d] = ref.date.split("-").map(Number);
  const daily = ref.period === "daily";
  const start = Date.UTC(y, m - 1, daily ? d : 1);
  const end = daily ? Date.UTC(y, m - 1, d + 1) : Date.UTC(y, m, 1);
  const interval = parseInterval(ref.interval);
  let slots = 0;
  if (intervalMs(interval) < 86_400_000) {
    slots = Math.ceil((end - start) / intervalMs(interval));
  } else {
    for (let t = ceilOpenTime(start, interval); t < end; t = nextOpenTime(t, interval)) slots++;
  }
  return { start, end, maxRows: slots + EXTRA_ROWS, name: ref.date };
}

/** Rows up to which an archive's rows are one RecordBatch by default (a day of 1s: 86,416). */
const ONE_BATCH_ROWS = 1 << 20;

/**
 * The default batch size of an archive: its whole period when that holds
 * at most {@linkcode ONE_BATCH_ROWS} rows (one batch per archive: no
 * growing batches, no copying them into one for the checks), else the
 * parser's default.
 *
 * @param period The archive's period.
 * @returns Rows per batch, or undefined for the parser's default.
 */
export function archiveBatchRows(period: KlinePeriod): number | undefined {
  return period.maxRows <= ONE_BATCH_ROWS
    ? Math.max(DEFAULT_BATCH_ROWS, period.maxRows)
    : undefined;
}

/** Checksum failures of bytes that also failed to decode: retried like resets. */
export const DAMAGED = new WeakSet<Error>();

/** Options of {@linkcode decodeVisionZip}. */
export interface VisionDecodeOptions {
  /** The digest the `.CHECKSUM` publishes. */
  expected: string;
  /** Cancels the body and the decode; the call then rejects with `signal.reason`. */
  signal: AbortSignal;
  /** Time allowed for each chunk of the body, in ms. */
  idleMs: number;
  /** Maximum rows per RecordBatch. */
  batchRows?: number;
  /** When set, batches carry the `_data_source` column with this value. */
  source?: DataSource;
  /** When set, rows must fit this period (see `archivePeriod`): else `ArchivePeriodError`. */
  period?: KlinePeriod;
  /** When set, the verified zip is decoded on two cores by this pool. */
  decodePool?: KlineDecodePool;
  /** Called as bytes arrive. */
  onProgress?: (progress: VisionProgress) => void;
}

/**
 * Decodes a zip response; returns its rows only if its digest matches.
 *
 * @param file The archive.
 * @param response Its successful response.
 * @param options Expected digest, signal, time-out, batch size, source, pool, progress.
 * @returns The verified rows and facts (`ms` and `attempts` left 0).
 * @throws {ChecksumError | ZipFormatError | CsvFormatError | NetworkError} As the client documents.
 */
export function decodeVisionZip(
  file: VisionFile,
  response: Response,
  options: VisionDecodeOptions,
): Promise<VisionFileOk> {
  return options.decodePool
    ? decodeBuffered(file, response, options, options.decodePool)
    : decodeStreaming(file, response, options);
}

/** The ok result of a verified archive. */
function verified(
  file: VisionFile,
  batches: RecordBatch[],
  bytes: number,
  sha256: string,
): VisionFileOk {
  const rows = batches.reduce((n, batch) => n + batch.numRows, 0);
  return { status: "ok", batches, rows, bytes, sha256, url: file.url, ms: 0, attempts: 0 };
}

/** Streams the zip through SHA-256, unzip and CSV; returns the rows only if the digest matches. */
async function decodeStreaming(
  file: VisionFile,
  response: Response,
  options: VisionDecodeOptions,
): Promise<VisionFileOk> {
  const { expected, signal, batchRows, source, onProgress, period } = options;
  const sha = new Sha256Stream();
  const unzip = new UnzipStream({ file: file.zipName });
  const writer = unzip.writable.getWriter();
  let decodeError: unknown = undefined;
  let decodeFailed = false;
  const onDecodeError = (error: unknown) => {
    if (!decodeFailed) [decodeFailed, decodeError] = [true, error];
  };
  const collecting = Array.fromAsync(
    unzip.readable.pipeThrough(
      new KlineCsvStream({ file: file.csvName, batchRows, source, period }),
    ),
  ).catch((error): RecordBatch[] => (onDecodeError(error), []));
  let bytes: number;
  let progressBytes = 0;
  try {
    // The whole body is hashed even when decoding fails, to tell a bad
    // transfer (digest mismatch) from a bad published file (digest match).
    bytes = await pump(bodyOf(response).pipeThrough(sha), file.url, {
      signal,
      idleMs: options.idleMs,
      onChunk: async (chunk) => {
        if (!decodeFailed) await writer.write(chunk).catch(onDecodeError);
        onProgress?.({ url: file.url, bytes: progressBytes += chunk.byteLength, done: false });
      },
    });
    if (!decodeFailed) await writer.close().catch(onDecodeError);
  } catch (error) {
    if (!decodeFailed) await writer.abort(error).catch(noop);
    await collecting;
    throw error;
  }
  const batches = await collecting;
  const actual = await sha.digest;
  checkContentLength(file.url, response, bytes);
  if (actual !== expected.toLowerCase()) {
    const error = new ChecksumError(file.url, expected, actual, { cause: decodeError });
    // A digest mismatch in bytes that do not even unzip and parse is a damaged
    // transfer (e.g. a body cut short without a Content-Length to tell).
    if (decodeFailed) DAMAGED.add(error);
    throw error;
  }
  if (decodeFailed) {
    throw decodeError instanceof DsmError
      ? decodeError
      : new ZipFormatError(`Cannot decode: ${describe(decodeError)}`, file.zipName, {
        cause: decodeError,
      });
  }
  return verified(file, batches, bytes, actual);
}

/**
 * Holds the body whole, then decodes it on both cores: the worker hashes
 * the zip and inflates it while this thread parses; the rows are returned
 * only if the digest matched.
 */
async function decodeBuffered(
  file: VisionFile,
  response: Response,
  options: VisionDecodeOptions,
  pool: KlineDecodePool,
): Promise<VisionFileOk> {
  const { expected, signal, batchRows, source, onProgress, period } = options;
  const chunks: Uint8Array[] = [];
  let received = 0;
  const bytes = await pump(bodyOf(response), file.url, {
    signal,
    idleMs: options.idleMs,
    onChunk: (chunk) => {
      chunks.push(chunk);
      onProgress?.({ url: file.url, bytes: received += chunk.byteLength, done: false });
      return Promise.resolve();
    },
  });
  checkContentLength(file.url, response, bytes);
  const zip = new Uint8Array(bytes);
  chunks.reduce((at, chunk) => (zip.set(chunk, at), at + chunk.byteLength), 0);
  chunks.length = 0;
  let batches: RecordBatch[];
  try {
    batches = await pool.decodeZip(zip, {
      file: file.csvName,
      batchRows,
      source,
      signal,
      period,
      expectedSha256: expected,
    });
  } catch (cause) {
    if (signal.aborted) throw signal.reason;
    if (!(cause instanceof ChecksumError)) throw cause;
    const damage = cause.cause;
    const why = damage === undefined ? undefined : { cause: damage };
    const error = new ChecksumError(file.url, expected, cause.actual, why);
    // Bytes that do not even unzip and parse are a damaged transfer, not a bad archive.
    if (damage !== undefined) DAMAGED.add(error);
    throw error;
  }
  return verified(file, batches, bytes, expected.toLowerCase());
}
