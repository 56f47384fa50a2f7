/**
 * Reading REST responses: the page size cap, and the typed error of a
 * non-2xx status (Binance's code and msg, Retry-After, bans).
 *
 * @module
 */
import { HttpError, RateLimitError } from "../core/errors.ts";
import { readBody } from "./_read_body.ts";
import type { WeightBudget } from "./weight_scheduler.ts";

/**
 * Bytes allowed per row of a klines page: a row is about 150 bytes of JSON
 * (`[1499040000000,"0.01634790",...,"0"]`), 300 with the widest numbers.
 */
const PAGE_BYTES_PER_ROW = 512;

/** The largest klines page body accepted for `limit` rows, in bytes (a few hundred KB). */
export function maxPageBytes(limit: number): number {
  return 4096 + limit * PAGE_BYTES_PER_ROW;
}

/** The largest error body read for Binance's code and msg, in bytes. */
export const MAX_ERROR_BODY_BYTES = 65_536;

/** Options of {@linkcode statusError}. */
export interface StatusErrorOptions {
  /** The host's weight scheduler: paused by a 429, banned by a 418. */
  scheduler: WeightBudget;
  /** Longest 429 `Retry-After` waited out; a longer one bans the host like a 418. */
  maxRetryAfterMs: number;
  /** Time allowed for the error body, in ms. */
  timeoutMs: number;
  /** Cancels the read of the error body. */
  signal?: AbortSignal;
}

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
 * The typed error of a non-2xx response, its body consumed (at most
 * {@linkcode MAX_ERROR_BODY_BYTES}, within `timeoutMs`). A 429 pauses the
 * scheduler for its Retry-After (or until the next window); a 418, or a 429
 * whose Retry-After is longer than `maxRetryAfterMs`, bans the host for it.
 *
 * @param response The response.
 * @param url The requested URL.
 * @param options The host's weight scheduler, the Retry-After cap, the body's deadline.
 * @returns RateLimitError for 429 and 418, else HttpError with Binance's code and msg.
 */
export async function statusError(
  response: Response,
  url: string,
  options: StatusErrorOptions,
): Promise<Error> {
  const { status } = response;
  const { scheduler } = options;
  if (status === 429 || status === 418) {
    await response.body?.cancel();
    const after = parseRetryAfter(response.headers.get("retry-after"), Date.now()) ??
      (status === 429 ? scheduler.nextWindowIn() : undefined);
    const error = new RateLimitError(status, url, after);
    if (status === 418 || after! > options.maxRetryAfterMs) scheduler.banned(error);
    else scheduler.pause(after!);
    return error;
  }
  if (status >= 500 || status === 451) {
    await response.body?.cancel();
    return new HttpError(status, url);
  }
  const { timeoutMs, signal } = options;
  const text = await readBody(response, url, { timeoutMs, maxBytes: MAX_ERROR_BODY_BYTES, signal })
    .then((bytes) => new TextDecoder().decode(bytes), () => "");
  try {
    const body = JSON.parse(text);
    if (typeof body?.code === "number") {
      return new HttpError(status, url, { binanceCode: body.code, binanceMsg: String(body.msg) });
    }
  } catch { /* not JSON: no Binance code */ }
  return new HttpError(status, url);
}
