/**
 * HTTP plumbing shared by the Vision and REST clients: one attempt with a
 * timeout, jittered exponential backoff, and a retry loop that honours an
 * `AbortSignal`.
 *
 * @module
 */
import { HttpError, NetworkError, RateLimitError } from "../core/errors.ts";

/** Retry policy for transient failures. */
export interface RetryOptions {
  /**
   * Total attempts, the first included.
   * @default {5}
   */
  attempts?: number;
  /**
   * Delay before the first retry, in ms; doubled on each further retry.
   * @default {250}
   */
  baseDelayMs?: number;
  /**
   * Largest delay between attempts, in ms.
   * @default {10000}
   */
  maxDelayMs?: number;
}

/** Options of {@linkcode fetchOnce}. */
export interface FetchOnceOptions {
  /**
   * The fetch implementation.
   * @default {globalThis.fetch}
   */
  fetch?: typeof fetch;
  /**
   * Time allowed until the response headers arrive, in ms.
   * @default {30000}
   */
  timeoutMs?: number;
  /** Cancels the request; the promise then rejects with `signal.reason`. */
  signal?: AbortSignal;
  /** Extra request headers. */
  headers?: HeadersInit;
}

/** Options of {@linkcode withRetry}. */
export interface WithRetryOptions {
  /** The retry policy. */
  retry?: RetryOptions;
  /** Stops waiting and retrying; the promise then rejects with `signal.reason`. */
  signal?: AbortSignal;
  /**
   * Which errors are worth another attempt.
   * @default {isRetryable}
   */
  isRetryable?: (error: unknown) => boolean;
  /** Called before each wait with the failed attempt (1-based), the error and the delay. */
  onRetry?: (attempt: number, error: unknown, delayMs: number) => void;
  /** Random source in [0, 1) for the jitter. @default {Math.random} */
  random?: () => number;
}

const DEFAULT_RETRY: Required<RetryOptions> = { attempts: 5, baseDelayMs: 250, maxDelayMs: 10_000 };

/**
 * The jittered exponential delay before retry number `attempt` ("full
 * jitter": uniform in [d/2, d] where d = base * 2^(attempt-1), capped).
 *
 * @param attempt The attempt that failed, 1-based.
 * @param retry The policy.
 * @param random Random source in [0, 1).
 * @returns Delay in ms.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { backoffDelay } from "./http.ts";
 * assert.equal(backoffDelay(1, { baseDelayMs: 100 }, () => 0.999999), 100);
 * assert.equal(backoffDelay(3, { baseDelayMs: 100 }, () => 0), 200);
 * assert.equal(backoffDelay(30, { maxDelayMs: 1000 }, () => 0.999999), 1000);
 * ```
 */
export function backoffDelay(
  attempt: number,
  retry: RetryOptions = {},
  random: () => number = Math.random,
): number {
  const base = retry.baseDelayMs ?? DEFAULT_RETRY.baseDelayMs;
  const max = retry.maxDelayMs ?? DEFAULT_RETRY.maxDelayMs;
  const ceiling = Math.min(max, base * 2 ** Math.min(attempt - 1, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/**
 * Resolves after `ms`, or rejects with `signal.reason` as soon as the signal aborts.
 *
 * @param ms Delay in ms.
 * @param signal Cancels the wait.
 * @returns A promise of the wait.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * One HTTP GET with a timeout on the response headers. Network failures and
 * time-outs become {@linkcode NetworkError}; the response is returned
 * whatever its status.
 *
 * @param url The URL.
 * @param options Fetch, timeout, signal, headers.
 * @returns The response (body not yet read).
 * @throws {NetworkError} On a reset, refused connection or time-out.
 */
export async function fetchOnce(url: string, options: FetchOnceOptions = {}): Promise<Response> {
  const { signal } = options;
  signal?.throwIfAborted();
  const timeoutMs = options.timeoutMs ?? 30_000;
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal!.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException("timed out", "TimeoutError"));
  }, timeoutMs);
  try {
    return await (options.fetch ?? fetch)(url, {
      signal: controller.signal,
      headers: options.headers,
    });
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    // A missing --allow-net is the caller's setup, not a network failure: never retried.
    if (isPermissionError(error)) throw error;
    const why = timedOut ? `no response within ${timeoutMs} ms` : describeError(error);
    throw new NetworkError(url, `Cannot fetch ${url}: ${why}`, { cause: error });
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * Whether an error is Deno's refusal of a permission (`NotCapable`, or
 * `PermissionDenied` in older releases).
 *
 * @param error The error.
 * @returns True for a permission refusal.
 */
export function isPermissionError(error: unknown): boolean {
  const errors = (globalThis as { Deno?: { errors?: Record<string, unknown> } }).Deno?.errors;
  for (const name of ["NotCapable", "PermissionDenied"]) {
    const type = errors?.[name];
    if (typeof type === "function" && error instanceof type) return true;
  }
  return false;
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Whether an error is transient: network failures and HTTP 5xx.
 *
 * @param error The error.
 * @returns True when another attempt may succeed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isRetryable } from "./http.ts";
 * import { HttpError } from "../core/errors.ts";
 * assert.equal(isRetryable(new HttpError(503, "u")), true);
 * assert.equal(isRetryable(new HttpError(400, "u")), false);
 * ```
 */
export function isRetryable(error: unknown): boolean {
  if (error instanceof NetworkError) return true;
  if (error instanceof HttpError) return error.status >= 500;
  return false;
}

/**
 * Runs `fn` until it succeeds, an error is not retryable, the attempts run
 * out (the last error is thrown) or the signal aborts (`signal.reason` is thrown).
 *
 * @param fn The operation; receives the attempt number, 1-based.
 * @param options Policy, signal, classification, hook.
 * @returns What `fn` returned.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { withRetry } from "./http.ts";
 * import { NetworkError } from "../core/errors.ts";
 * let calls = 0;
 * const value = await withRetry(() => {
 *   if (++calls < 3) throw new NetworkError("u", "reset");
 *   return Promise.resolve("ok");
 * }, { retry: { baseDelayMs: 1 } });
 * assert.equal(value, "ok");
 * assert.equal(calls, 3);
 * ```
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  options: WithRetryOptions = {},
): Promise<T> {
  const wanted = options.retry?.attempts ?? DEFAULT_RETRY.attempts;
  const attempts = Number.isNaN(wanted) ? DEFAULT_RETRY.attempts : Math.max(1, wanted);
  const retryable = options.isRetryable ?? isRetryable;
  for (let attempt = 1;; attempt++) {
    options.signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (attempt >= attempts || !retryable(error)) throw error;
      const delay = error instanceof RateLimitError && error.retryAfterMs !== undefined
        ? error.retryAfterMs
        : backoffDelay(attempt, options.retry, options.random);
      options.onRetry?.(attempt, error, delay);
      await sleep(delay, options.signal);
    }
  }
}
