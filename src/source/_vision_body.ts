/**
 * Reading HTTP bodies for the Vision client: chunk by chunk, with an idle
 * time-out, cancelled on abort; the size an archive can have.
 *
 * @module
 */
import { NetworkError, ResponseTooLargeError } from "../core/errors.ts";
import { intervalMs, parseInterval } from "../core/interval.ts";
import { ByteCounterStream } from "../codec/byte_counter_stream.ts";
import type { VisionFileRef } from "./vision_url.ts";

/** Does nothing; swallows the rejections of best-effort cancels. */
export const noop = () => {};

/** The message of an error, or the value as a string. */
export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Options of {@linkcode pump}. */
export interface PumpOptions {
  /** Cancels the body; the call then rejects with `signal.reason`. */
  signal: AbortSignal;
  /** Time allowed for each chunk, in ms. */
  idleMs: number;
  /** Called with each chunk, awaited before the next read. */
  onChunk: (chunk: Uint8Array) => Promise<void>;
}

/**
 * Reads a body chunk by chunk, with an idle time-out, cancelling it on abort.
 * Failures of the body become {@linkcode NetworkError}; an abort rethrows `signal.reason`.
 *
 * @param body The body.
 * @param url Its URL, for the messages.
 * @param options Signal, idle time-out and chunk callback.
 * @returns The bytes read.
 */
export async function pump(
  body: ReadableStream<Uint8Array>,
  url: string,
  options: PumpOptions,
): Promise<number> {
  const { signal, idleMs } = options;
  const reader = body.getReader();
  const onAbort = () => reader.cancel(signal.reason).catch(noop);
  signal.addEventListener("abort", onAbort, { once: true });
  let bytes = 0;
  // One timer for the whole body, moved on when it fires early, not one per chunk.
  let timedOut = false;
  let reading = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const watch = (after: number) => {
    timer = setTimeout(() => {
      const idle = performance.now() - reading;
      if (reading === 0 || idle < idleMs) return watch(reading === 0 ? idleMs : idleMs - idle);
      timedOut = true;
      reader.cancel(new DOMException("timed out", "TimeoutError")).catch(noop);
    }, after);
  };
  try {
    watch(idleMs);
    for (;;) {
      reading = performance.now();
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await reader.read();
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        if (timedOut) {
          throw new NetworkError(url, `Cannot download ${url}: no data for ${idleMs} ms`);
        }
        throw new NetworkError(
          url,
          `Cannot download ${url}: the body failed after ${bytes} bytes (${describe(error)})`,
          { cause: error },
        );
      }
      // Time spent handling a chunk is not the server's: the clock restarts at the next read.
      reading = 0;
      signal.throwIfAborted();
      if (timedOut) throw new NetworkError(url, `Cannot download ${url}: no data for ${idleMs} ms`);
      if (result.done) return bytes;
      bytes += result.value.byteLength;
      await options.onChunk(result.value);
    }
  } catch (error) {
    await reader.cancel(error).catch(noop);
    throw error;
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", onAbort);
  }
}

/** Cancels a response's body, ignoring failures. */
export async function discard(response: Response): Promise<void> {
  await response.body?.cancel().catch(noop);
}

/** A response's body, or an empty stream when it has none. */
export function bodyOf(response: Response): ReadableStream<Uint8Array> {
  return response.body ?? ReadableStream.from([]);
}

/**
 * Checks the bytes received against the response's `Content-Length`, when it
 * declares one.
 *
 * @param url The URL, for the message.
 * @param response The response.
 * @param bytes The bytes received.
 * @throws {NetworkError} When the body was shorter or longer than declared.
 */
export function checkContentLength(url: string, response: Response, bytes: number): void {
  const declared = Number(response.headers.get("content-length") ?? NaN);
  if (Number.isFinite(declared) && declared !== bytes) {
    throw new NetworkError(
      url,
      `Cannot download ${url}: the body was cut off at ${bytes} of ${declared} bytes`,
    );
  }
}

/**
 * Bytes allowed per CSV row of an archive: a row is 100-200 bytes (spot µs
 * rows with 8-decimal volumes are the longest); the zip of a CSV is never
 * much larger than the CSV.
 */
const ARCHIVE_BYTES_PER_ROW = 384;

/** Room for the zip structure and a header row, in bytes. */
const ARCHIVE_OVERHEAD = 65_536;

/**
 * The largest archive body accepted for a file: the candles its period can
 * hold (a daily 1m file 1,440, a monthly 1s file 2,678,400) at
 * {@linkcode ARCHIVE_BYTES_PER_ROW} bytes each, uncompressed, plus 64 KiB.
 * A daily 1m zip (50-70 KB in practice) may have 617 KB.
 *
 * @param ref The archive's interval and period.
 * @returns Bytes.
 */
export function maxArchiveBytes(ref: Pick<VisionFileRef, "interval" | "period">): number {
  const periodMs = (ref.period === "daily" ? 1 : 31) * 86_400_000;
  const rows = Math.max(1, Math.ceil(periodMs / intervalMs(parseInterval(ref.interval))));
  return ARCHIVE_OVERHEAD + rows * ARCHIVE_BYTES_PER_ROW;
}

/** Options of {@linkcode capBody}. */
export interface CapBodyOptions {
  /** Largest body accepted, in bytes. */
  maxBytes: number;
  /** Called with the error when the body passes the cap, before the body errors with it. */
  onExceeded: (error: ResponseTooLargeError) => void;
}

/**
 * The response with its body capped at `maxBytes` (a pass-through counter):
 * a `Content-Length` above the cap fails at once; a body that passes it calls
 * `onExceeded` with the {@linkcode ResponseTooLargeError} (abort the transfer
 * with it), then errors with it.
 *
 * @param response The response.
 * @param url Its URL, for the error.
 * @param options The cap, and what to do when it is passed.
 * @returns A response with the same status and headers and the capped body.
 * @throws {ResponseTooLargeError} When the declared length passes the cap.
 */
export async function capBody(
  response: Response,
  url: string,
  options: CapBodyOptions,
): Promise<Response> {
  const { maxBytes, onExceeded } = options;
  if (Number(response.headers.get("content-length") ?? NaN) > maxBytes) {
    await discard(response);
    throw new ResponseTooLargeError(url, maxBytes, "bytes");
  }
  if (!response.body) return response;
  const counter = new ByteCounterStream({
    onProgress: (bytes) => {
      if (bytes <= maxBytes) return;
      const error = new ResponseTooLargeError(url, maxBytes, "bytes");
      onExceeded(error);
      throw error;
    },
  });
  const { status, statusText, headers } = response;
  return new Response(response.body.pipeThrough(counter), { status, statusText, headers });
}
