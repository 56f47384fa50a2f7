/**
 * Reading a whole small body (a REST page, a listing page, a `.CHECKSUM`, an
 * error body): within a total deadline, up to a size cap, cancelled on abort.
 *
 * @module
 */
import { NetworkError, ResponseTooLargeError } from "../core/errors.ts";

/** Options of {@linkcode readBody}. */
export interface ReadBodyOptions {
  /** Time allowed for the whole body, in ms (however it drips). */
  timeoutMs: number;
  /** Largest body accepted, in bytes. */
  maxBytes: number;
  /** Cancels the read; the call then rejects with `signal.reason`. */
  signal?: AbortSignal;
}

/**
 * Reads a whole body, within `timeoutMs` from the call, at most `maxBytes`
 * (a `Content-Length` above it fails before any byte is read; a body that
 * passes it is cancelled at the chunk that does), cancelled by `signal`.
 *
 * @param response The response.
 * @param url The requested URL, for errors.
 * @param options Deadline, size cap, signal.
 * @returns The bytes.
 * @throws {NetworkError} On a reset, a cut connection or the deadline.
 * @throws {ResponseTooLargeError} When the body is larger than `maxBytes`.
 */
export async function readBody(
  response: Response,
  url: string,
  options: ReadBodyOptions,
): Promise<Uint8Array> {
  const { timeoutMs, maxBytes, signal } = options;
  if (!response.body) return new Uint8Array(0);
  const declared = Number(response.headers.get("content-length") ?? NaN);
  if (declared > maxBytes) {
    await response.body.cancel().catch(() => {});
    throw new ResponseTooLargeError(url, maxBytes, "bytes");
  }
  const reader = response.body.getReader();
  let timedOut = false;
  const stop = (reason?: unknown) => reader.cancel(reason).catch(() => {});
  const timer = setTimeout(() => (timedOut = true, stop()), timeoutMs);
  const onAbort = () => stop(signal!.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
      if (size > maxBytes) break;
    }
  } catch (error) {
    signal?.throwIfAborted();
    const why = error instanceof Error ? error.message : String(error);
    throw new NetworkError(url, `Cannot read the body of ${url}: ${why}`, { cause: error });
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
  signal?.throwIfAborted();
  if (size > maxBytes) {
    await stop();
    throw new ResponseTooLargeError(url, maxBytes, "bytes");
  }
  if (timedOut) {
    throw new NetworkError(
      url,
      `Cannot read the body of ${url}: not complete within ${timeoutMs} ms`,
    );
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(size);
  for (let i = 0, at = 0; i < chunks.length; at += chunks[i++].length) out.set(chunks[i], at);
  return out;
}
