/**
 * Validation of the manager's options and of a request's field names, before
 * any I/O: a wrong type or an unknown name is an `InvalidOptionError`, a
 * number out of range an `InvalidRangeError`, each naming the option. Private.
 *
 * @module
 */
import { InvalidOptionError, InvalidRangeError } from "../core/errors.ts";

/** The options of `DataSourceManager`. */
export const MANAGER_KEYS: readonly string[] = [
  "market",
  "cache",
  "endpoints",
  "concurrency",
  "decodeWorkers",
  "timeoutMs",
  "retry",
  "fetch",
  "now",
  "signal",
  "onProgress",
  "logger",
  "sharedBudget",
];

/** The fields of a `KlineRequest`. */
export const REQUEST_KEYS: readonly string[] = [
  "dataset",
  "symbol",
  "interval",
  "start",
  "end",
  "market",
  "source",
  "includeSourceInfo",
  "includeOpenCandle",
  "fill",
  "strict",
  "compareKlines",
];

const ENDPOINT_KEYS = ["vision", "listing", "rest", "restMarketData"];
const RETRY_KEYS = ["attempts", "baseDelayMs", "maxDelayMs", "maxRetryAfterMs"];
const CACHE_KEYS = ["dir", "url", "endpoint", "region", "credentials", "readOnly", "objectStore"];
const CREDENTIAL_KEYS = ["accessKeyId", "secretAccessKey", "sessionToken"];
const OBJECT_STORE_METHODS = ["get", "put", "head", "list", "delete"];
/** `s3://bucket` or `s3://bucket/prefix`. */
const S3_URL = /^s3:\/\/[A-Za-z0-9][A-Za-z0-9._-]{0,254}(\/.*)?$/;
/** setTimeout's largest delay. */
const MAX_DELAY_MS = 2 ** 31 - 1;
const MAX_ATTEMPTS = 100;
const CREATE = "Cannot create the manager";

/** `JSON.stringify` that also shows functions, NaN, Infinity and symbols. */
function shown(value: unknown): string {
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "symbol") {
    return String(value);
  }
  if (typeof value === "function") return "a function";
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Levenshtein distance, for "did you mean" hints. */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1;
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + cost);
    }
    row = next;
  }
  return row[b.length];
}

/**
 * Throws for the first own key of `value` not among `known`.
 *
 * @param value The object.
 * @param known The names allowed.
 * @param what `Cannot …` prefix of the message.
 * @param prefix Dotted path of the object (e.g. `endpoints.`).
 * @param kind What the keys are called (`option`, `request field`).
 */
export function checkKeys(
  value: object,
  known: readonly string[],
  what: string,
  prefix = "",
  kind = "option",
): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const near = known.find((k) => distance(key, k) <= 2);
    const hint = near ? ` (did you mean "${prefix}${near}"?)` : "";
    throw new InvalidOptionError(
      `${prefix}${key}`,
      (value as Record<string, unknown>)[key],
      `${what}: "${prefix}${key}" is not ${
        kind === "option" ? "an option" : `a ${kind}`
      }${hint}; known: ${known.join(", ")}`,
    );
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function optionError(name: string, value: unknown, want: string): InvalidOptionError {
  return new InvalidOptionError(name, value, `${CREATE}: ${name} ${shown(value)} is not ${want}`);
}

function checkFunction(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== "function") {
    throw optionError(name, value, "a function");
  }
}

/** A number of ms in `[min, MAX_DELAY_MS]`, when given. */
function checkMs(name: string, value: unknown, min: number): void {
  if (value === undefined) return;
  if (typeof value !== "number") throw optionError(name, value, "a number of milliseconds");
  if (!(value >= min && value <= MAX_DELAY_MS)) {
    throw new InvalidRangeError(
      `${CREATE}: ${name} ${
        shown(value)
      } is not a number of milliseconds from ${min} to ${MAX_DELAY_MS}`,
    );
  }
}

/**
 * Checks an endpoint base URL: an absolute `http:` or `https:` URL.
 *
 * @param name The option's dotted name.
 * @param value The value.
 */
function checkUrl(name: string, value: unknown): void {
  if (typeof value !== "string") throw optionError(name, value, "an http: or https: URL");
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw optionError(name, value, "an http: or https: URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw optionError(name, value, "an http: or https: URL");
  }
}

function checkUrls(name: string, value: unknown, oneAllowed: boolean): void {
  if (value === undefined) return;
  if (oneAllowed && typeof value === "string") return checkUrl(name, value);
  const want = oneAllowed ? "a URL or a non-empty array of URLs" : "an array of URLs";
  if (!Array.isArray(value) || (oneAllowed && value.length === 0)) {
    throw optionError(name, value, `${want} (http: or https:)`);
  }
  value.forEach((url, i) => checkUrl(`${name}[${i}]`, url));
}

function checkEndpoints(value: unknown): void {
  if (value === undefined) return;
  if (!isObject(value)) throw optionError("endpoints", value, "an object");
  checkKeys(value, ENDPOINT_KEYS, CREATE, "endpoints.");
  if (value.vision !== undefined) checkUrl("endpoints.vision", value.vision);
  if (value.listing !== undefined) checkUrl("endpoints.listing", value.listing);
  checkUrls("endpoints.rest", value.rest, true);
  checkUrls("endpoints.restMarketData", value.restMarketData, false);
}

function checkText(name: string, value: unknown, want: string): void {
  if (value !== undefined && (typeof value !== "string" || value.trim() === "")) {
    throw optionError(name, value, want);
  }
}

/** The object store fields of `cache`: `url` and what goes with it. */
function checkObjectCache(value: Record<string, unknown>): void {
  const { url, credentials, objectStore } = value;
  if (url !== undefined && (typeof url !== "string" || !S3_URL.test(url))) {
    throw optionError("cache.url", url, "an s3://bucket or s3://bucket/prefix URL");
  }
  if (value.endpoint !== undefined) checkUrl("cache.endpoint", value.endpoint);
  checkText("cache.region", value.region, "a region name (a non-empty string)");
  if (credentials !== undefined) {
    const want = "an object like { accessKeyId, secretAccessKey }";
    if (!isObject(credentials)) throw optionError("cache.credentials", "(hidden)", want);
    checkKeys(credentials, CREDENTIAL_KEYS, CREATE, "cache.credentials.");
    for (const key of CREDENTIAL_KEYS) {
      const v = credentials[key];
      const given = v !== undefined || key !== "sessionToken";
      if (given && (typeof v !== "string" || v === "")) {
        // The secret is never shown in a message.
        throw optionError(`cache.credentials.${key}`, "(hidden)", "a non-empty string");
      }
    }
  }
  if (objectStore !== undefined) {
    const store = objectStore as Record<string, unknown>;
    if (
      !isObject(objectStore) || OBJECT_STORE_METHODS.some((m) => typeof store[m] !== "function")
    ) {
      throw optionError(
        "cache.objectStore",
        objectStore,
        "an ObjectStore (get, put, head, list, delete)",
      );
    }
  }
  const remote = url !== undefined || objectStore !== undefined;
  for (const name of ["endpoint", "region", "credentials"]) {
    if (value[name] !== undefined && !remote) {
      throw new InvalidOptionError(
        `cache.${name}`,
        name === "credentials" ? "(hidden)" : value[name],
        `${CREATE}: cache.${name} goes with cache.url (an object store)`,
      );
    }
  }
}

function checkCache(value: unknown): void {
  if (value === undefined || value === false) return;
  if (!isObject(value)) {
    throw optionError("cache", value, "false or an object like { dir } or { url }");
  }
  checkKeys(value, CACHE_KEYS, CREATE, "cache.");
  const dir = value.dir;
  if (dir !== undefined && (typeof dir !== "string" || dir.trim() === "" || dir.includes("\0"))) {
    throw optionError("cache.dir", dir, "a folder path (a non-empty string)");
  }
  if (value.readOnly !== undefined && typeof value.readOnly !== "boolean") {
    throw optionError("cache.readOnly", value.readOnly, "a boolean");
  }
  checkObjectCache(value);
  if (dir !== undefined && (value.url !== undefined || value.objectStore !== undefined)) {
    throw new InvalidOptionError(
      "cache.url",
      value.url,
      `${CREATE}: cache.dir and cache.url are both set; the cache is a folder or an object store`,
    );
  }
}

function checkRetry(value: unknown): void {
  if (value === undefined) return;
  if (!isObject(value)) throw optionError("retry", value, "an object like { attempts }");
  checkKeys(value, RETRY_KEYS, CREATE, "retry.");
  const attempts = value.attempts;
  if (attempts !== undefined) {
    if (typeof attempts !== "number") throw optionError("retry.attempts", attempts, "a number");
    if (!Number.isInteger(attempts) || attempts < 1 || attempts > MAX_ATTEMPTS) {
      throw new InvalidRangeError(
        `${CREATE}: retry.attempts ${shown(attempts)} is not an integer from 1 to ${MAX_ATTEMPTS}`,
      );
    }
  }
  checkMs("retry.baseDelayMs", value.baseDelayMs, 0);
  checkMs("retry.maxDelayMs", value.maxDelayMs, 0);
  checkMs("retry.maxRetryAfterMs", value.maxRetryAfterMs, 0);
}

/**
 * Checks every option of the manager except `market`, `concurrency` and
 * `decodeWorkers` (checked where they are read).
 *
 * @param options The options.
 * @throws {InvalidOptionError} An unknown option, a wrong type, an endpoint
 *   that is not an `http:`/`https:` URL.
 * @throws {InvalidRangeError} `timeoutMs` outside 1 .. 2^31-1, `retry.attempts`
 *   outside 1 .. 100, a negative or huge delay.
 */
export function checkManagerOptions(options: unknown): void {
  if (!isObject(options)) throw optionError("options", options, "an object");
  checkKeys(options, MANAGER_KEYS, CREATE);
  checkCache(options.cache);
  checkEndpoints(options.endpoints);
  checkMs("timeoutMs", options.timeoutMs, 1);
  checkRetry(options.retry);
  for (const name of ["fetch", "now", "onProgress", "logger"]) {
    checkFunction(name, options[name]);
  }
  if (options.sharedBudget !== undefined && typeof options.sharedBudget !== "boolean") {
    throw optionError("sharedBudget", options.sharedBudget, "true or false");
  }
  const signal = options.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw optionError("signal", signal, "an AbortSignal");
  }
}

/**
 * Reads the clock, refusing a time that is not a finite epoch ms.
 *
 * @param now The clock.
 * @returns Its time.
 * @throws {InvalidRangeError} When it returns NaN, an infinity or a non-number.
 */
export function readClock(now: () => number): number {
  const t = now();
  if (typeof t !== "number" || !Number.isFinite(t)) {
    throw new InvalidRangeError(
      `Cannot fetch klines: now() returned ${shown(t)}, not a finite epoch ms`,
    );
  }
  return t;
}
