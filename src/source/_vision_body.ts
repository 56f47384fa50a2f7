/**
 * Reading HTTP bodies for the Vision client: chunk by chunk, with an idle
 * time-out, cancelled on abort.
 *
 * @module
 */
import { NetworkError } from "../core/errors.ts";

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
  try {
    for (;;) {
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        reader.cancel(new DOMException("timed out", "TimeoutError")).catch(noop);
      }, idleMs);
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await reader.read();
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        throw new NetworkError(
          url,
          `Cannot download ${url}: the body failed after ${bytes} bytes (${describe(error)})`,
          { cause: error },
        );
      } finally {
        clearTimeout(timer);
      }
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
