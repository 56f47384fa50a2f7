/**
 * The failure of an object store request, with why it failed in a field a
 * caller can branch on.
 *
 * @module
 */
import { CacheError, type DsmErrorOptions } from "../core/errors.ts";

/**
 * Why an object store request failed:
 * - `credentials`: the store refused the credentials (unknown access key,
 *   wrong secret, expired token, a clock too far off), or none were given;
 * - `denied`: the credentials were accepted but lack the permission;
 * - `no-bucket`: the bucket does not exist;
 * - `unreachable`: no answer (connection refused, DNS, time-out, resets,
 *   repeated 5xx), after the retries;
 * - `failed`: any other refusal or malformed answer.
 */
export type ObjectStoreFailure = "credentials" | "denied" | "no-bucket" | "unreachable" | "failed";

/** Fields of {@linkcode ObjectStoreError}. */
export interface ObjectStoreErrorOptions extends DsmErrorOptions {
  /** The object's key, when the request was about one. */
  key?: string;
  /** The HTTP status of the answer, when there was one. */
  status?: number;
  /** The store's error code (`<Code>` of an S3 error body), when it sent one. */
  storeCode?: string;
}

/**
 * A request to an object store failed: a {@linkcode CacheError} (code
 * `CACHE_ERROR`) whose `reason` says why, with the store's URL, the key, the
 * HTTP status and the store's own error code. Messages name the access key
 * id, never the secret.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ObjectStoreError } from "./object_store_error.ts";
 * import { CacheError } from "../core/errors.ts";
 * const error = new ObjectStoreError(
 *   "credentials",
 *   "s3://bucket/cache",
 *   'Cannot read "a.arrow" from s3://bucket/cache: the store refused the credentials',
 *   { key: "a.arrow", status: 403, storeCode: "SignatureDoesNotMatch" },
 * );
 * assert.ok(error instanceof CacheError);
 * assert.equal(error.code, "CACHE_ERROR");
 * assert.equal(error.reason, "credentials");
 * assert.equal(error.path, "s3://bucket/cache/a.arrow");
 * ```
 */
export class ObjectStoreError extends CacheError {
  /** Why the request failed. */
  readonly reason: ObjectStoreFailure;
  /** The store, e.g. `s3://bucket/prefix`. */
  readonly store: string;
  /** The object's key, when the request was about one. */
  readonly key: string | undefined;
  /** The HTTP status of the answer, when there was one. */
  readonly status: number | undefined;
  /** The store's error code, when it sent one (e.g. `InvalidAccessKeyId`). */
  readonly storeCode: string | undefined;

  /**
   * Creates the instance.
   *
   * @param reason Why. @param store The store's URL. @param message Explanation.
   * @param options Key, status, store code, cause.
   */
  constructor(
    reason: ObjectStoreFailure,
    store: string,
    message: string,
    options: ObjectStoreErrorOptions = {},
  ) {
    const path = options.key === undefined ? store : `${store}/${options.key}`;
    super(message, path, { cause: options.cause });
    this.reason = reason;
    this.store = store;
    this.key = options.key;
    this.status = options.status;
    this.storeCode = options.storeCode;
  }
}
