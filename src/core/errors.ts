/**
 * The typed errors of the module. Each has a stable `code`, the offending
 * value in its message and data fields, and chains its `cause`.
 *
 * Misuse (bad market, symbol, interval, time or range) raises subclasses of
 * `TypeError` / `RangeError` before any I/O; expected failures of the sources
 * raise subclasses of {@linkcode DsmError}.
 *
 * @module
 */

/** Stable codes carried by every error of this module. */
export type ErrorCode =
  | "INVALID_MARKET"
  | "INVALID_SYMBOL"
  | "INVALID_INTERVAL"
  | "INVALID_DATASET"
  | "INVALID_TIME"
  | "INVALID_RANGE"
  | "INVALID_OPTION"
  | "HTTP_ERROR"
  | "RATE_LIMITED"
  | "NETWORK_ERROR"
  | "RESPONSE_TOO_LARGE"
  | "CHECKSUM_MISMATCH"
  | "ZIP_FORMAT"
  | "CSV_FORMAT"
  | "ARCHIVE_PERIOD"
  | "CACHE_ERROR"
  | "DATA_NOT_AVAILABLE";

/** Options common to every error constructor. */
export interface DsmErrorOptions {
  /** The error that caused this one. */
  cause?: unknown;
}

/**
 * Base class of the expected failures (network, formats, cache).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ChecksumError, DsmError } from "./errors.ts";
 * const err = new ChecksumError("a.zip", "00", "11");
 * assert.ok(err instanceof DsmError);
 * assert.equal(err.code, "CHECKSUM_MISMATCH");
 * ```
 */
export class DsmError extends Error {
  /** Stable machine-readable code. */
  readonly code: ErrorCode;
  /**
   * Creates the instance.
   *
   * @param code Stable code.
   * @param message Sentence-case message without final period.
   * @param options The cause, if any.
   */
  constructor(code: ErrorCode, message: string, options?: DsmErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The market is not one of spot, um, cm (or an alias). */
export class InvalidMarketError extends TypeError {
  /** Stable code. */
  readonly code: ErrorCode = "INVALID_MARKET";
  /** The rejected value. */
  readonly value: unknown;
  /**
   * Creates the instance.
   *
   * @param value The rejected value. @param message Explanation.
   */
  constructor(value: unknown, message: string) {
    super(message);
    this.name = "InvalidMarketError";
    this.value = value;
  }
}

/** The symbol is malformed or not of the market's form. */
export class InvalidSymbolError extends TypeError {
  /** Stable code. */
  readonly code: ErrorCode = "INVALID_SYMBOL";
  /** The rejected value. */
  readonly value: unknown;
  /** A suggested symbol, when the mistake is a common one. */
  readonly hint: string | undefined;
  /**
   * Creates the instance.
   *
   * @param value The rejected value.
   * @param message Explanation.
   * @param hint A suggested correct symbol.
   */
  constructor(value: unknown, message: string, hint?: string) {
    super(message);
    this.name = "InvalidSymbolError";
    this.value = value;
    this.hint = hint;
  }
}

/** The interval is unknown, or not available on the market. */
export class InvalidIntervalError extends TypeError {
  /** Stable code. */
  readonly code: ErrorCode = "INVALID_INTERVAL";
  /** The rejected value. */
  readonly value: unknown;
  /**
   * Creates the instance.
   *
   * @param value The rejected value. @param message Explanation.
   */
  constructor(value: unknown, message: string) {
    super(message);
    this.name = "InvalidIntervalError";
    this.value = value;
  }
}

/** A dataset name is unknown, or the market does not publish it. */
export class InvalidDatasetError extends TypeError {
  /** Stable code. */
  readonly code: ErrorCode = "INVALID_DATASET";
  /** The rejected value. */
  readonly value: unknown;
  /**
   * Creates the instance.
   *
   * @param value The rejected value. @param message Explanation.
   */
  constructor(value: unknown, message: string) {
    super(message);
    this.name = "InvalidDatasetError";
    this.value = value;
  }
}

/** A time value could not be parsed or lies outside the supported span. */
export class InvalidTimeError extends TypeError {
  /** Stable code. */
  readonly code: ErrorCode = "INVALID_TIME";
  /** The rejected value. */
  readonly value: unknown;
  /**
   * Creates the instance.
   *
   * @param value The rejected value. @param message Explanation.
   */
  constructor(value: unknown, message: string) {
    super(message);
    this.name = "InvalidTimeError";
    this.value = value;
  }
}

/** The `[start, end)` range is empty or reversed, or an option is out of range. */
export class InvalidRangeError extends RangeError {
  /** Stable code. */
  readonly code: ErrorCode = "INVALID_RANGE";
  /**
   * Creates the instance.
   *
   * @param message Explanation.
   */
  constructor(message: string) {
    super(message);
    this.name = "InvalidRangeError";
  }
}

/**
 * An option of the manager (or of `fetchMarketData`) has the wrong type, is
 * not a known option, or an endpoint is not an `http:`/`https:` URL.
 * Numbers outside their range raise {@linkcode InvalidRangeError} instead.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { InvalidOptionError } from "./errors.ts";
 * const err = new InvalidOptionError("sorce", "rest", 'Cannot create the manager: "sorce" is not an option');
 * assert.ok(err instanceof TypeError);
 * assert.equal(err.code, "INVALID_OPTION");
 * assert.equal(err.option, "sorce");
 * ```
 */
export class InvalidOptionError extends TypeError {
  /** Stable code. */
  readonly code: ErrorCode = "INVALID_OPTION";
  /** The option's name, dotted when nested (e.g. `endpoints.vision`). */
  readonly option: string;
  /** The rejected value. */
  readonly value: unknown;
  /**
   * Creates the instance.
   *
   * @param option The option's name. @param value The rejected value. @param message Explanation.
   */
  constructor(option: string, value: unknown, message: string) {
    super(message);
    this.name = "InvalidOptionError";
    this.option = option;
    this.value = value;
  }
}

/** Fields of an {@linkcode HttpError}. */
export interface HttpErrorOptions extends DsmErrorOptions {
  /** Binance's error code from the JSON body, e.g. -1121. */
  binanceCode?: number;
  /** Binance's error message from the JSON body. */
  binanceMsg?: string;
}

/** A non-retryable HTTP status, or retries exhausted on a retryable one. */
export class HttpError extends DsmError {
  /** HTTP status. */
  readonly status: number;
  /** The requested URL. */
  readonly url: string;
  /** Binance's `code` from the error body, if any. */
  readonly binanceCode: number | undefined;
  /** Binance's `msg` from the error body, if any. */
  readonly binanceMsg: string | undefined;
  /**
   * Creates the instance.
   *
   * @param status HTTP status.
   * @param url The requested URL.
   * @param options Binance code and message, cause.
   */
  constructor(status: number, url: string, options: HttpErrorOptions = {}) {
    const detail = options.binanceCode !== undefined
      ? `: Binance code ${options.binanceCode} "${options.binanceMsg ?? ""}"`
      : "";
    super("HTTP_ERROR", `Request to ${url} failed with HTTP ${status}${detail}`, options);
    this.status = status;
    this.url = url;
    this.binanceCode = options.binanceCode;
    this.binanceMsg = options.binanceMsg;
  }
}

/** HTTP 429 (request weight exceeded) or 418 (IP banned). */
export class RateLimitError extends DsmError {
  /** 429 or 418. */
  readonly status: number;
  /** The requested URL. */
  readonly url: string;
  /** Milliseconds the server asked us to wait (`Retry-After`), if given. */
  readonly retryAfterMs: number | undefined;
  /**
   * Creates the instance.
   *
   * @param status 429 or 418.
   * @param url The requested URL.
   * @param retryAfterMs The server's `Retry-After`, in ms.
   * @param options Cause.
   */
  constructor(status: number, url: string, retryAfterMs?: number, options?: DsmErrorOptions) {
    const what = status === 418 ? "the IP is banned (HTTP 418)" : "rate limited (HTTP 429)";
    const after = retryAfterMs !== undefined ? `, retry after ${retryAfterMs} ms` : "";
    super("RATE_LIMITED", `Request to ${url} refused: ${what}${after}`, options);
    this.status = status;
    this.url = url;
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * Connection failure (DNS, refused, TLS), reset, time-out or truncated body,
 * after the retries ran out. `cause` keeps the runtime's error.
 */
export class NetworkError extends DsmError {
  /** The requested URL. */
  readonly url: string;
  /**
   * Creates the instance.
   *
   * @param url The requested URL. @param message Explanation. @param options Cause.
   */
  constructor(url: string, message: string, options?: DsmErrorOptions) {
    super("NETWORK_ERROR", message, options);
    this.url = url;
  }
}

/**
 * A host refused or failed to establish connections (DNS, refused, TLS)
 * several times in a row: its requests now fail at once, without retries,
 * for a while (see `HostCircuitBreaker`). `cause` is the runtime's error of
 * the last connection attempt (e.g. `dns error: failed to lookup address
 * information`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HostUnreachableError, NetworkError } from "./errors.ts";
 * const err = new HostUnreachableError("https://example.invalid", 3, 30_000, {
 *   cause: new TypeError("dns error: failed to lookup address information"),
 * });
 * assert.ok(err instanceof NetworkError);
 * assert.equal(err.code, "NETWORK_ERROR");
 * assert.match(err.message, /"https:\/\/example\.invalid".*dns error/);
 * ```
 */
export class HostUnreachableError extends NetworkError {
  /** The origin (scheme, host and port) that cannot be reached. */
  readonly host: string;
  /** Connection failures in a row that opened the circuit. */
  readonly failures: number;
  /**
   * Creates the instance.
   *
   * @param host The origin. @param failures Failures in a row. @param openMs How long
   * requests fail at once, ms. @param options The runtime's error of the last attempt.
   */
  constructor(host: string, failures: number, openMs: number, options?: DsmErrorOptions) {
    const why = causeMessage(options?.cause);
    super(
      host,
      `Cannot reach "${host}": ${failures} connection failures in a row${
        why ? `, the last: ${why}` : ""
      }; its requests fail at once for ${Math.round(openMs / 1000)} s`,
      options,
    );
    this.host = host;
    this.failures = failures;
  }
}

/**
 * A host answered a run of requests with failures (HTTP 5xx, resets,
 * time-outs) and no good answer in between: its requests now fail at once,
 * without retries, for a while (see `HostCircuitBreaker`). `cause` is the
 * last failure (e.g. the `HttpError` of a 500).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HostFailingError, HostUnreachableError, HttpError } from "./errors.ts";
 * const err = new HostFailingError("http://127.0.0.1:8080", 10, 30_000, {
 *   cause: new HttpError(500, "http://127.0.0.1:8080/x"),
 * });
 * assert.ok(err instanceof HostUnreachableError);
 * assert.equal(err.failures, 10);
 * assert.match(err.message, /10 failed requests in a row, the last: .*HTTP 500/);
 * ```
 */
export class HostFailingError extends HostUnreachableError {
  /**
   * Creates the instance.
   *
   * @param host The origin. @param failures Failures in a row. @param openMs How long
   * requests fail at once, ms. @param options The last failure.
   */
  constructor(host: string, failures: number, openMs: number, options?: DsmErrorOptions) {
    super(host, failures, openMs, options);
    const why = causeMessage(options?.cause);
    this.message = `Cannot use "${host}": ${failures} failed requests in a row${
      why ? `, the last: ${why}` : ""
    }; its requests fail at once for ${Math.round(openMs / 1000)} s`;
  }
}

/**
 * A response (or a listing of many pages) is larger than what it can hold:
 * reading stopped at the limit. Not retried: the server sends what it sends.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ResponseTooLargeError } from "./errors.ts";
 * const err = new ResponseTooLargeError("http://h/x.CHECKSUM", 1024, "bytes");
 * assert.equal(err.code, "RESPONSE_TOO_LARGE");
 * assert.equal(err.limit, 1024);
 * assert.equal(err.message, 'Cannot read "http://h/x.CHECKSUM": more than 1024 bytes');
 * ```
 */
export class ResponseTooLargeError extends DsmError {
  /** The requested URL. */
  readonly url: string;
  /** The limit that was passed. */
  readonly limit: number;
  /** What the limit counts: `bytes` or `pages`. */
  readonly unit: "bytes" | "pages";
  /**
   * Creates the instance.
   *
   * @param url The requested URL. @param limit The limit. @param unit What it counts.
   * @param options Cause.
   */
  constructor(url: string, limit: number, unit: "bytes" | "pages", options?: DsmErrorOptions) {
    super("RESPONSE_TOO_LARGE", `Cannot read "${url}": more than ${limit} ${unit}`, options);
    this.url = url;
    this.limit = limit;
    this.unit = unit;
  }
}

/**
 * The messages of an error and its causes, joined (`fetch failed: error
 * sending request ...: dns error ...`), without repeats.
 *
 * @param error Any thrown value.
 * @returns The joined messages, or an empty string.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { causeMessage } from "./errors.ts";
 * const err = new TypeError("fetch failed", { cause: new Error("dns error: failed to lookup") });
 * assert.equal(causeMessage(err), "fetch failed: dns error: failed to lookup");
 * ```
 */
export function causeMessage(error: unknown): string {
  const parts: string[] = [];
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    const text = e instanceof Error ? e.message : String(e);
    if (text && !parts.some((p) => p.includes(text))) parts.push(text);
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join(": ");
}

/** The SHA-256 of a Vision archive does not match its `.CHECKSUM` file. */
export class ChecksumError extends DsmError {
  /** File name or URL of the archive. */
  readonly file: string;
  /** Expected hex digest. */
  readonly expected: string;
  /** Computed hex digest. */
  readonly actual: string;
  /**
   * Creates the instance.
   *
   * @param file File name or URL.
   * @param expected Expected hex digest.
   * @param actual Computed hex digest.
   * @param options Cause.
   */
  constructor(file: string, expected: string, actual: string, options?: DsmErrorOptions) {
    super(
      "CHECKSUM_MISMATCH",
      `Checksum mismatch for "${file}": expected ${expected}, got ${actual}`,
      options,
    );
    this.file = file;
    this.expected = expected;
    this.actual = actual;
  }
}

/** A zip archive is malformed, truncated, or does not hold exactly one entry. */
export class ZipFormatError extends DsmError {
  /** File name, when known. */
  readonly file: string | undefined;
  /**
   * Creates the instance.
   *
   * @param message Explanation. @param file File name. @param options Cause.
   */
  constructor(message: string, file?: string, options?: DsmErrorOptions) {
    super("ZIP_FORMAT", file ? `${message} in "${file}"` : message, options);
    this.file = file;
  }
}

/** A kline CSV row is malformed. */
export class CsvFormatError extends DsmError {
  /** File name, when known. */
  readonly file: string | undefined;
  /** 1-based line number. */
  readonly line: number;
  /**
   * Creates the instance.
   *
   * @param message Explanation.
   * @param file File name.
   * @param line 1-based line number.
   * @param options Cause.
   */
  constructor(message: string, file: string | undefined, line: number, options?: DsmErrorOptions) {
    super("CSV_FORMAT", `${message} at ${file ? `"${file}" ` : ""}line ${line}`, options);
    this.file = file;
    this.line = line;
  }
}

/**
 * The rows of a Vision archive cannot all belong to it: an open time outside
 * the archive's day or month (e.g. the file of another day), open times that
 * do not increase (e.g. one row repeated), or more rows than the period has
 * candles. The decode stops at the first such row; the archive counts as
 * failed and none of its rows is used or cached.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ArchivePeriodError, DsmError } from "./errors.ts";
 * const err = new ArchivePeriodError(
 *   "an open time outside its period 2024-01-02",
 *   "BTCUSDT-1m-2024-01-02.csv",
 *   1,
 *   Date.UTC(2024, 0, 1),
 * );
 * assert.ok(err instanceof DsmError);
 * assert.equal(err.code, "ARCHIVE_PERIOD");
 * assert.match(err.message, /2024-01-01T00:00:00.000Z/);
 * ```
 */
export class ArchivePeriodError extends DsmError {
  /** File name, when known. */
  readonly file: string | undefined;
  /** 1-based line number of the first row that does not fit. */
  readonly line: number;
  /** Its open time, epoch ms. */
  readonly openTime: number;
  /**
   * Creates the instance.
   *
   * @param what What is wrong, e.g. `an open time outside its period 2024-01-02`.
   * @param file File name.
   * @param line 1-based line number.
   * @param openTime The row's open time, epoch ms.
   * @param options Cause.
   */
  constructor(
    what: string,
    file: string | undefined,
    line: number,
    openTime: number,
    options?: DsmErrorOptions,
  ) {
    super(
      "ARCHIVE_PERIOD",
      `Cannot use the archive${file ? ` "${file}"` : ""}: it holds ${what}: open time ${
        new Date(openTime).toISOString()
      } (${openTime}) at line ${line}`,
      options,
    );
    this.file = file;
    this.line = line;
    this.openTime = openTime;
  }
}

/** The cache could not be read or written. */
export class CacheError extends DsmError {
  /** The path involved, when known. */
  readonly path: string | undefined;
  /**
   * Creates the instance.
   *
   * @param message Explanation. @param path Path. @param options Cause.
   */
  constructor(message: string, path?: string, options?: DsmErrorOptions) {
    super("CACHE_ERROR", message, options);
    this.path = path;
  }
}

/** No source holds data for the requested range (e.g. before the listing). */
export class DataNotAvailableError extends DsmError {
  /**
   * Creates the instance.
   *
   * @param message Explanation. @param options Cause.
   */
  constructor(message: string, options?: DsmErrorOptions) {
    super("DATA_NOT_AVAILABLE", message, options);
  }
}
