/**
 * Why an S3 store refused a request, from its status and error code: the
 * {@linkcode ObjectStoreError} callers see. An answer without a body (a HEAD)
 * is explained by a probe: a bucket-level request whose answer has one.
 *
 * @module
 */
import { causeMessage, HttpError, NetworkError, ResponseTooLargeError } from "../core/errors.ts";
import { isRetryable } from "../source/http.ts";
import { ObjectStoreError, type ObjectStoreFailure } from "./object_store_error.ts";
import type { S3Answer } from "./_s3_request.ts";

/** What the refused request was. */
export interface RefusalContext {
  /** `read "key" from s3://bucket/prefix`: the message says `Cannot {verb}`. */
  verb: string;
  /** The key, when the request was about one. */
  key: string | undefined;
  /** The store's URL. */
  store: string;
  /** The endpoint, for messages. */
  endpoint: string;
  /** The bucket. */
  bucket: string;
  /** The access key id used; undefined when requests go unsigned. */
  accessKeyId: string | undefined;
  /** A bucket-level request answered with a body (`max-keys=0` listing). */
  probe: () => Promise<S3Answer>;
}

/** Codes of a refused signature or key: wrong credentials, not a missing permission. */
const CREDENTIAL_CODES = new Set([
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "ExpiredToken",
  "InvalidToken",
  "TokenRefreshRequired",
  "RequestTimeTooSkewed",
  "AuthorizationHeaderMalformed",
  "InvalidClientTokenId",
]);

/**
 * The error of a refused request.
 *
 * @param answer The answer (status 300 or more, below 500).
 * @param context The request, the store, and the probe.
 * @returns The error to throw.
 */
export async function refusal(
  answer: S3Answer,
  context: RefusalContext,
): Promise<ObjectStoreError> {
  let explained = answer;
  if (answer.error === undefined && (answer.status === 403 || answer.status === 404)) {
    const probe = await context.probe();
    if (probe.error !== undefined) explained = probe;
  }
  const { status } = answer;
  const code = explained.error?.code;
  const detail = explained.error?.message ? `: ${explained.error.message}` : "";
  const keyId = context.accessKeyId;
  let reason: ObjectStoreFailure = "failed";
  let why = `the store answered HTTP ${status}${code ? ` (${code}${detail})` : ""}`;
  if (code === "NoSuchBucket") {
    reason = "no-bucket";
    why = `the bucket "${context.bucket}" does not exist at ${context.endpoint}`;
  } else if (keyId === undefined && (status === 403 || code === "AccessDenied")) {
    reason = "credentials";
    why = `access refused (HTTP ${status}${code ? ` ${code}` : ""}) and no credentials were ` +
      "given (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are unset)";
  } else if (code !== undefined && CREDENTIAL_CODES.has(code)) {
    reason = "credentials";
    why = `the store refused the credentials of access key "${keyId}" (${code}${detail})`;
  } else if (code === "AccessDenied" || status === 403) {
    reason = "denied";
    why = `access key "${keyId}" is not allowed to (HTTP ${status}${code ? ` ${code}` : ""})`;
  }
  return new ObjectStoreError(reason, context.store, `Cannot ${context.verb}: ${why}`, {
    key: context.key,
    status,
    storeCode: code,
  });
}

/** Whether a failed attempt is worth another: 5xx, 429, network failures. */
export function retryable(error: unknown): boolean {
  return isRetryable(error) || (error instanceof HttpError && error.status === 429);
}

/** The ObjectStoreError of a failure after the retries (no answer, 5xx, too large). */
export function failure(
  error: unknown,
  verb: string,
  store: string,
  endpoint: string,
  key: string | undefined,
): ObjectStoreError {
  if (error instanceof ResponseTooLargeError) {
    const why = `the answer is larger than ${error.limit} bytes`;
    return new ObjectStoreError("failed", store, `Cannot ${verb}: ${why}`, { key, cause: error });
  }
  const status = error instanceof HttpError ? error.status : undefined;
  const why = status !== undefined
    ? `the store at ${endpoint} kept failing (HTTP ${status})`
    : error instanceof NetworkError
    ? `the store at ${endpoint} cannot be reached (${causeMessage(error)})`
    : causeMessage(error);
  const reason = status !== undefined || error instanceof NetworkError ? "unreachable" : "failed";
  return new ObjectStoreError(reason, store, `Cannot ${verb}: ${why}`, {
    key,
    status,
    cause: error,
  });
}
