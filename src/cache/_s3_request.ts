/**
 * One signed S3 request (path-style), its whole answer read within one
 * deadline and a size cap: the attempt that {@linkcode S3ObjectStore} retries.
 *
 * @module
 */
import { HttpError } from "../core/errors.ts";
import { fetchOnce } from "../source/http.ts";
import { readBody } from "../source/_read_body.ts";
import { parseS3Error, type S3ErrorBody } from "../source/_s3_xml.ts";
import { signV4, type SigV4Credentials, uriEncode } from "./_sigv4.ts";

/** Where requests go and how they are made. */
export interface S3Target {
  /** The endpoint, without a trailing `/` (it may have a base path). */
  endpoint: string;
  /** The bucket. */
  bucket: string;
  /** The signing region. */
  region: string;
  /** The key pair; requests go unsigned without one. */
  credentials: SigV4Credentials | undefined;
  /** The fetch implementation. */
  fetch: typeof fetch;
  /** Deadline of one attempt, headers and body, ms. */
  timeoutMs: number;
}

/** One request. */
export interface S3Call {
  /** The method. */
  method: "GET" | "PUT" | "HEAD" | "DELETE";
  /** The object's full key in the bucket; the bucket itself when undefined. */
  key?: string;
  /** Query parameters. */
  query?: Record<string, string>;
  /** The body of a PUT. */
  body?: Uint8Array;
  /** The hex SHA-256 of `body` (computed once for every attempt). */
  payloadHash?: string;
  /** Further headers, signed too. */
  headers?: Record<string, string>;
  /** The largest body read from a 2xx answer. */
  maxBytes: number;
}

/** An answer below 500. */
export interface S3Answer {
  /** The status. */
  status: number;
  /** The headers. */
  headers: Headers;
  /** The whole body (an error's cut at {@linkcode MAX_ERROR_BYTES}). */
  body: Uint8Array;
  /** The error body's code and message, for an answer of 300 or more. */
  error?: S3ErrorBody;
  /** The URL requested, for messages. */
  url: string;
}

/** The largest error body read. */
const MAX_ERROR_BYTES = 64 * 1024;

/** `UNSIGNED-PAYLOAD`: the hash claimed by requests without a body. */
const UNSIGNED = "UNSIGNED-PAYLOAD";

/**
 * The URL of a call: `{endpoint}/{bucket}/{key}`, the key percent-encoded
 * as SigV4 wants it (every byte but `A-Z a-z 0-9 - . _ ~ /`).
 */
export function s3Url(target: S3Target, call: Pick<S3Call, "key" | "query">): URL {
  const path = call.key === undefined ? "" : `/${uriEncode(call.key, true)}`;
  const url = new URL(`${target.endpoint}/${uriEncode(target.bucket)}${path}`);
  for (const [name, value] of Object.entries(call.query ?? {})) {
    url.searchParams.set(name, value);
  }
  // URLSearchParams writes a space as `+`; S3 reads `+` as a plus sign.
  url.search = url.search.replaceAll("+", "%20");
  return url;
}

/**
 * Makes one attempt: signs, sends, reads the whole body within
 * `target.timeoutMs` from the start.
 *
 * @param target Endpoint, bucket, region, credentials, fetch, deadline.
 * @param call Method, key, query, body, headers, size cap.
 * @param signal Cancels the attempt.
 * @returns The answer, whatever its status below 500.
 * @throws {HttpError} On a 5xx but 501, or a 429 (worth retrying).
 * @throws {NetworkError} On a refused connection, a reset, the deadline.
 * @throws {ResponseTooLargeError} On a body over the cap.
 */
export async function s3Request(
  target: S3Target,
  call: S3Call,
  signal?: AbortSignal,
): Promise<S3Answer> {
  const started = performance.now();
  const url = s3Url(target, call);
  const headers: Record<string, string> = { ...call.headers };
  if (target.credentials) {
    const request = {
      method: call.method,
      url,
      headers,
      payloadHash: call.payloadHash ?? UNSIGNED,
      region: target.region,
      date: new Date(),
    };
    Object.assign(headers, await signV4(request, target.credentials));
  }
  const { method } = call;
  const body = call.body as Uint8Array<ArrayBuffer> | undefined;
  // A redirect is answered, not followed: its signature would not fit the new host.
  const send: typeof fetch = (input, init) =>
    target.fetch(input, { ...init, method, body, redirect: "manual" });
  const href = url.href;
  const response = await fetchOnce(href, {
    fetch: send,
    timeoutMs: target.timeoutMs,
    signal,
    headers,
  });
  const timeoutMs = Math.max(1, target.timeoutMs - (performance.now() - started));
  const ok = response.status < 300;
  // 501 (a header the store does not implement) is an answer; other 5xx and 429 are retried.
  if ((response.status >= 500 && response.status !== 501) || response.status === 429) {
    await response.body?.cancel().catch(() => {});
    throw new HttpError(response.status, href);
  }
  const maxBytes = ok ? call.maxBytes : MAX_ERROR_BYTES;
  const bytes = method === "HEAD"
    ? (await response.body?.cancel().catch(() => {}), new Uint8Array(0))
    : await readBody(response, href, { timeoutMs, maxBytes, signal }).catch((error) => {
      if (ok || signal?.aborted) throw error;
      return new Uint8Array(0); // an error body cut or too long: the status still tells
    });
  const answer: S3Answer = {
    status: response.status,
    headers: response.headers,
    body: bytes,
    url: href,
  };
  if (!ok && bytes.length > 0) answer.error = parseS3Error(new TextDecoder().decode(bytes));
  return answer;
}
