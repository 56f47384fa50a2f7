/**
 * Reading REST responses: the body with a time limit and abort, and the typed
 * error of a non-2xx status (Binance's code and msg, Retry-After, bans).
 *
 * @module
 */
import { HttpError, NetworkError, RateLimitError } from "../core/errors.ts";
import type { WeightScheduler } from "./weight_scheduler.ts";

/**
 * Parses `Retry-After`: seconds (fractions accepted) or an HTTP date.
 *
 * @param value The header.
 * @param now The clock, epoch ms.
 * @returns Milliseconds, or undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.round(seconds * 1000));
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * The typed error of a non-2xx response, its body consumed. A 429 pauses the
 * scheduler for its Retry-After (or until the next window); a 418 bans the host.
 *
 * @param response The response.
 * @param url The requested URL.
 * @param scheduler The host's weight scheduler.
 * @returns RateLimitError for 429 and 418, else HttpError with Binance's code and msg.
 */
export async function statusError(
  response: Response,
  url: string,
  scheduler: WeightScheduler,
): Promise<Error> {
  const { status } = response;
  if (status === 429 || status === 418) {
    await response.body?.cancel();
    const after = parseRetryAfter(response.headers.get("retry-after"), Date.now()) ??
      (status === 429 ? scheduler.nextWindowIn() : undefined);
    const error = new RateLimitError(status, url, after);
    if (status === 418) scheduler.banned(error);
    else scheduler.pause(after!);
    return error;
  }
  if (status >= 500 || status === 451) {
    await response.body?.cancel();
    return new HttpError(status, url);
  }
  const text = await response.text().catch(() => "");
  try {
    const body = JSON.parse(text);
    if (typeof body?.code === "number") {
      return new HttpError(status, url, { binanceCode: body.code, binanceMsg: String(body.msg) });
    }
  } catch { /* not JSON: no Binance code */ }
  return new HttpError(status, url);
}

/**
 * Reads a whole body, within `timeoutMs`, cancelled by `signal`.
 *
 * @param response The response.
 * @param url The requested URL, for errors.
 * @param timeoutMs Time allowed for the body.
 * @param signal Cancels the read; then rejects with `signal.reason`.
 * @returns The bytes.
 * @throws {NetworkError} On a reset, a cut connection or the time-out.
 */
export async function readBody(
  response: Response,
  url: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Uint8Array> {
  if (!response.body) return new Uint8Array(0);
  const reader = response.body.getReader();
  let timedOut = false;
  const stop = (reason?: unknown) => reader.cancel(reason).catch(() => {});
  const timer = setTimeout(() => (timedOut = true, stop()), timeoutMs);
  const onAbort = () => stop(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } catch (error) {
    signal.throwIfAborted();
    const why = error instanceof Error ? error.message : String(error);
    throw new NetworkError(url, `Cannot read the body of ${url}: ${why}`, { cause: error });
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", onAbort);
  }
  signal.throwIfAborted();
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
