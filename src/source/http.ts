/**
 * HTTP plumbing shared by the Vision and REST clients: one attempt with a
 * timeout, jittered exponential backoff, and a retry loop that honours an
 * `AbortSignal`.
 *
 * @module
 */
import {
  causeMessage,
  HostFailingError,
  HostUnreachableError,
  HttpError,
  NetworkError,
  RateLimitError,
} from "../core/errors.ts";

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
  /**
   * Longest `Retry-After` (of a 429) waited out, in ms. A longer one is not
   * waited: the host is stopped for that long (as after a 418) and the
   * {@linkcode RateLimitError}, carrying `retryAfterMs`, is thrown.
   * @default {120000}
   */
  maxRetryAfterMs?: number;
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
  /**
   * Stops requests to a host whose connections keep failing.
   * @default {undefined (no circuit breaker)}
   */
  breaker?: HostCircuitBreaker;
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

const DEFAULT_RETRY: Required<RetryOptions> = {
  attempts: 5,
  baseDelayMs: 250,
  maxDelayMs: 10_000,
  maxRetryAfterMs: 120_000,
};

/**
 * The longest `Retry-After` a retry policy waits out (its `maxRetryAfterMs`).
 *
 * @param retry The policy.
 * @returns Milliseconds.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { maxRetryAfter } from "./http.ts";
 * assert.equal(maxRetryAfter(), 120_000);
 * assert.equal(maxRetryAfter({ maxRetryAfterMs: 5000 }), 5000);
 * ```
 */
export function maxRetryAfter(retry: RetryOptions = {}): number {
  const cap = retry.maxRetryAfterMs;
  return cap !== undefined && cap >= 0 ? cap : DEFAULT_RETRY.maxRetryAfterMs;
}

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
 * time-outs become {@linkcode NetworkError} (its message and `cause` keep the
 * runtime's reason); the response is returned whatever its status. With a
 * `breaker`, a host whose circuit is open fails at once with
 * {@linkcode HostUnreachableError}, and so does the attempt that opens it
 * (a 5xx that opens it has its body cancelled).
 *
 * @param url The URL.
 * @param options Fetch, timeout, signal, headers, circuit breaker.
 * @returns The response (body not yet read).
 * @throws {NetworkError} On a reset, refused connection or time-out.
 * @throws {HostUnreachableError} When the host's circuit is open.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fetchOnce } from "./http.ts";
 * const offline: typeof fetch = () =>
 *   Promise.reject(new TypeError("error sending request: dns error: failed to lookup address"));
 * await assert.rejects(fetchOnce("https://example.invalid/x", { fetch: offline }), {
 *   code: "NETWORK_ERROR",
 *   message: /dns error/,
 * });
 * ```
 */
export async function fetchOnce(url: string, options: FetchOnceOptions = {}): Promise<Response> {
  const { signal, breaker } = options;
  signal?.throwIfAborted();
  breaker?.check(url);
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
    const response = await (options.fetch ?? fetch)(url, {
      signal: controller.signal,
      headers: options.headers,
    });
    const stopped = breaker?.answered(url, response.status);
    if (stopped) {
      await response.body?.cancel().catch(() => {});
      throw stopped;
    }
    return response;
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    // A missing --allow-net is the caller's setup, not a network failure: never retried.
    if (isPermissionError(error)) throw error;
    const why = timedOut ? `no response within ${timeoutMs} ms` : causeMessage(error);
    const failure = new NetworkError(url, `Cannot fetch ${url}: ${why}`, { cause: error });
    throw breaker?.failed(url, timedOut ? failure : error) ?? failure;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
}

/** Options of {@linkcode HostCircuitBreaker}. */
export interface HostCircuitBreakerOptions {
  /**
   * Connection failures in a row (no response in between) that open a host's circuit.
   * @default {3}
   */
  threshold?: number;
  /**
   * Failed requests in a row of any kind (HTTP 5xx, resets, time-outs,
   * connection failures; no answer below 500 in between) that open a host's circuit.
   * @default {10}
   */
  failureThreshold?: number;
  /**
   * How long an open circuit fails requests at once, in ms; after it, requests
   * go out again, and one more failure opens it again.
   * @default {30000}
   */
  openMs?: number;
  /**
   * Monotonic clock, ms.
   * @default {performance.now}
   */
  now?: () => number;
  /** Called once each time a host's circuit opens, with the error its requests now fail with. */
  onOpen?: (error: HostUnreachableError) => void;
}

/**
 * Whether an error is a failure to establish a connection: DNS lookup,
 * connection refused, TLS handshake (Deno's `client error (Connect)`), as
 * opposed to a reset, a time-out or a cut body, which retries may overcome.
 *
 * @param error The error (its causes are looked at too).
 * @returns True for a connection-level failure.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isConnectionError } from "./http.ts";
 * const dns = new TypeError("fetch failed", {
 *   cause: new Error("client error (Connect): dns error: failed to lookup address information"),
 * });
 * assert.equal(isConnectionError(dns), true);
 * assert.equal(isConnectionError(new Error("connection reset by peer")), false);
 * ```
 */
export function isConnectionError(error: unknown): boolean {
  return CONNECT_FAILURE.test(causeMessage(error));
}

const CONNECT_FAILURE =
  /client error \(Connect\)|dns error|failed to lookup address|connection refused|os error 111|ECONNREFUSED|ENOTFOUND|EAI_AGAIN|invalid peer certificate|certificate verify|tls handshake/i;

interface HostState {
  connects: number;
  failures: number;
  openUntil: number;
  error?: HostUnreachableError;
}

/**
 * A circuit breaker per host (origin): after `threshold` connection-level
 * failures in a row (DNS, refused, TLS; see {@linkcode isConnectionError})
 * with no response in between, requests to that host fail at once with one
 * {@linkcode HostUnreachableError} (not retried) for `openMs`; after
 * `failureThreshold` failures in a row of any kind (HTTP 5xx, resets,
 * time-outs) with no answer below 500 in between, with one
 * {@linkcode HostFailingError}. Any answer below 500 (429 and 418 included:
 * the weight scheduler handles those) closes the circuit. Share one breaker
 * between the clients that reach the same hosts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fetchOnce, HostCircuitBreaker } from "./http.ts";
 * let calls = 0;
 * const offline: typeof fetch = () => {
 *   calls++;
 *   return Promise.reject(new TypeError("error sending request: dns error: failed to lookup"));
 * };
 * const breaker = new HostCircuitBreaker({ threshold: 2 });
 * for (let i = 0; i < 5; i++) {
 *   await fetchOnce("https://example.invalid/x", { fetch: offline, breaker }).catch(() => {});
 * }
 * assert.equal(calls, 2);
 * assert.equal(breaker.isOpen("https://example.invalid/y"), true);
 * ```
 */
export class HostCircuitBreaker {
  readonly #threshold: number;
  readonly #failureThreshold: number;
  readonly #openMs: number;
  readonly #now: () => number;
  readonly #onOpen: ((error: HostUnreachableError) => void) | undefined;
  readonly #hosts = new Map<string, HostState>();

  /**
   * Creates the instance.
   *
   * @param options Threshold, open time, clock, hook.
   */
  constructor(options: HostCircuitBreakerOptions = {}) {
    this.#threshold = Math.max(1, options.threshold ?? 3);
    this.#failureThreshold = Math.max(1, options.failureThreshold ?? 10);
    this.#openMs = options.openMs ?? 30_000;
    this.#now = options.now ?? (() => performance.now());
    this.#onOpen = options.onOpen;
  }

  /**
   * Whether requests to the URL's host fail at once now.
   *
   * @param url Any URL of the host.
   * @returns True while its circuit is open.
   */
  isOpen(url: string): boolean {
    const state = this.#hosts.get(originOf(url));
    return state?.error !== undefined && this.#now() < state.openUntil;
  }

  /**
   * Throws the host's {@linkcode HostUnreachableError} while its circuit is open.
   *
   * @param url The URL about to be requested.
   * @throws {HostUnreachableError} When the circuit is open.
   */
  check(url: string): void {
    const state = this.#hosts.get(originOf(url));
    if (state?.error && this.#now() < state.openUntil) throw state.error;
  }

  /**
   * Records a response from the URL's host: its circuit closes.
   *
   * @param url The URL that answered.
   */
  succeeded(url: string): void {
    this.#hosts.delete(originOf(url));
  }

  /**
   * Records a response's status: below 500 the host's circuit closes; a 5xx
   * counts as a failed request.
   *
   * @param url The URL that answered.
   * @param status Its HTTP status.
   * @returns The error requests to the host now fail with, when its circuit is open.
   */
  answered(url: string, status: number): HostUnreachableError | undefined {
    if (status < 500) {
      this.succeeded(url);
      return undefined;
    }
    return this.failed(url, new HttpError(status, url));
  }

  /**
   * Records a failed request: connection-level failures count towards
   * `threshold`, every failure towards `failureThreshold`.
   *
   * @param url The URL requested.
   * @param error What the runtime threw, or the request's error.
   * @returns The error requests to the host now fail with, when its circuit is open.
   */
  failed(url: string, error: unknown): HostUnreachableError | undefined {
    const host = originOf(url);
    const state = this.#hosts.get(host) ?? { connects: 0, failures: 0, openUntil: 0 };
    this.#hosts.set(host, state);
    const connect = isConnectionError(error);
    if (connect) state.connects++;
    state.failures++;
    const now = this.#now();
    if (state.error && now < state.openUntil) return state.error;
    if (connect && state.connects >= this.#threshold) {
      state.error = new HostUnreachableError(host, state.connects, this.#openMs, { cause: error });
    } else if (state.failures >= this.#failureThreshold) {
      state.error = new HostFailingError(host, state.failures, this.#openMs, { cause: error });
    } else {
      return undefined;
    }
    state.openUntil = now + this.#openMs;
    this.#onOpen?.(state.error);
    return state.error;
  }
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
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

/**
 * Whether an error is transient: network failures and HTTP 5xx (not a host
 * whose circuit is open: {@linkcode HostUnreachableError}).
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
  if (error instanceof HostUnreachableError) return false;
  if (error instanceof NetworkError) return true;
  if (error instanceof HttpError) return error.status >= 500;
  return false;
}

/**
 * Runs `fn` until it succeeds, an error is not retryable, the attempts run
 * out (the last error is thrown) or the signal aborts (`signal.reason` is thrown).
 * A {@linkcode RateLimitError} is waited out for its `retryAfterMs`, unless
 * that is longer than `retry.maxRetryAfterMs`: it is then thrown at once.
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
      if (attempt >= attempts || !retryable(error) || tooLongToWait(error, options.retry)) {
        throw error;
      }
      const delay = error instanceof RateLimitError && error.retryAfterMs !== undefined
        ? error.retryAfterMs
        : backoffDelay(attempt, options.retry, options.random);
      options.onRetry?.(attempt, error, delay);
      await sleep(delay, options.signal);
    }
  }
}

/** Whether the server asked for a wait longer than the policy waits out. */
function tooLongToWait(error: unknown, retry: RetryOptions | undefined): boolean {
  return error instanceof RateLimitError && error.retryAfterMs !== undefined &&
    error.retryAfterMs > maxRetryAfter(retry);
}
