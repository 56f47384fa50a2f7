/**
 * {@linkcode ObjectStore} on S3-compatible storage (AWS S3, Cloudflare R2,
 * MinIO, Ceph RGW): path-style requests signed with AWS Signature V4 (Web
 * Crypto, no SDK), each attempt within a deadline and a size cap, retried on
 * 5xx, 429 and network failures, refusals turned into
 * {@linkcode ObjectStoreError}s that say why.
 *
 * @module
 */
import { type RetryOptions, withRetry } from "../source/http.ts";
import { parseListObjectsV2 } from "../source/_s3_xml.ts";
import type { ObjectInfo, ObjectStore, PutOptions } from "./object_store.ts";
import { ObjectStoreError } from "./object_store_error.ts";
import { type S3Answer, type S3Call, s3Request, type S3Target } from "./_s3_request.ts";
import { sha256Hex } from "./_sigv4.ts";
import type { S3Credentials } from "./_s3_location.ts";

export type { S3Credentials };
import { failure, refusal, retryable } from "./_s3_refusal.ts";
import { checkKey, resolveLocation } from "./_s3_location.ts";

/** Options of {@linkcode S3ObjectStore}. */
export interface S3ObjectStoreOptions {
  /** The bucket and key prefix, `s3://bucket` or `s3://bucket/prefix`. */
  url: string;
  /**
   * The S3 endpoint (`http://127.0.0.1:7480`, `https://ACCOUNT.r2.cloudflarestorage.com`);
   * requests are path-style, `{endpoint}/{bucket}/{key}`.
   * @default {AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, else `https://s3.{region}.amazonaws.com`}
   */
  endpoint?: string;
  /**
   * The signing region.
   * @default {AWS_REGION, else "us-east-1"}
   */
  region?: string;
  /**
   * The key pair. Without one (and without AWS_ACCESS_KEY_ID and
   * AWS_SECRET_ACCESS_KEY), requests go unsigned (a public bucket).
   * @default {AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN}
   */
  credentials?: S3Credentials;
  /**
   * The fetch implementation.
   * @default {globalThis.fetch}
   */
  fetch?: typeof fetch;
  /**
   * Deadline of one attempt, from the request until the last byte of the answer, ms.
   * @default {60000}
   */
  timeoutMs?: number;
  /** Cancels every request of the store; they reject with `signal.reason`. */
  signal?: AbortSignal;
  /**
   * Retries of 5xx, 429 and network failures.
   * @default {{ attempts: 5, baseDelayMs: 250 }}
   */
  retry?: RetryOptions;
  /**
   * The largest object `get` reads, bytes.
   * @default {1073741824 (1 GiB)}
   */
  maxObjectBytes?: number;
  /**
   * Keys per listing page (`max-keys`), 1 to 1000.
   * @default {1000}
   */
  listPageSize?: number;
}

/** The largest listing page read: 1000 keys of up to 1024 bytes, escaped, and their fields. */
const MAX_PAGE_BYTES = 8 * 1024 * 1024;
/** The largest answer read to a PUT or DELETE. */
const MAX_SMALL_BYTES = 64 * 1024;

/** What a call does, for messages: `Cannot {verb}`. */
type Verb = string;

/**
 * An {@linkcode ObjectStore} over S3's REST API: GET, PUT (with
 * `If-None-Match: *` when asked), HEAD, ListObjectsV2 (paged, streamed) and
 * DELETE. Keys are relative to the URL's prefix.
 *
 * Create-only puts: a store that honours `If-None-Match: *` answers 412 when
 * the key exists (the put resolves false; of concurrent creators exactly one
 * wins). A store that answers 501 (NotImplemented) is asked no more: the put
 * becomes HEAD, then a plain PUT when the key is missing (atomic per object,
 * but two writers racing may both write: the cache writes identical, validated
 * bytes). A store that ignores the header and answers 200 overwrites.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { S3ObjectStore } from "./s3_object_store.ts";
 * // A fake S3: remembers PUTs, answers GETs; checks that requests are signed.
 * const objects = new Map<string, Uint8Array<ArrayBuffer>>();
 * const fake: typeof fetch = async (input, init) => {
 *   const url = new URL(String(input));
 *   const headers = new Headers(init?.headers);
 *   assert.match(headers.get("authorization")!, /^AWS4-HMAC-SHA256 Credential=AKID\//);
 *   if (init?.method === "PUT") {
 *     objects.set(url.pathname, new Uint8Array(await new Response(init.body).arrayBuffer()));
 *     return new Response(null, { status: 200 });
 *   }
 *   const body = objects.get(url.pathname);
 *   return body ? new Response(body) : new Response("<Error><Code>NoSuchKey</Code></Error>", { status: 404 });
 * };
 * const store = new S3ObjectStore({
 *   url: "s3://bucket/cache",
 *   endpoint: "http://127.0.0.1:7480",
 *   credentials: { accessKeyId: "AKID", secretAccessKey: "secret" },
 *   fetch: fake,
 * });
 * assert.equal(await store.put("v1/a.arrow", new Uint8Array([1, 2, 3])), true);
 * assert.deepEqual(objects.get("/bucket/cache/v1/a.arrow"), new Uint8Array([1, 2, 3]));
 * assert.deepEqual(await store.get("v1/a.arrow"), new Uint8Array([1, 2, 3]));
 * assert.equal(await store.get("v1/b.arrow"), undefined);
 * ```
 */
export class S3ObjectStore implements ObjectStore {
  /** `s3://bucket/prefix`. */
  readonly url: string;
  /** The bucket. */
  readonly bucket: string;
  /** The key prefix, without slashes around it (`""` for none). */
  readonly prefix: string;
  /** The endpoint requests go to. */
  readonly endpoint: string;
  /** The signing region. */
  readonly region: string;
  readonly #target: S3Target;
  readonly #signal: AbortSignal | undefined;
  readonly #retry: RetryOptions | undefined;
  readonly #maxObjectBytes: number;
  readonly #pageSize: number;
  /** Whether the store honours `If-None-Match: *` (false after a 501). */
  #conditional = true;
  /** Whether the bucket answered once (a body-less 404 is then a missing key). */
  #bucketSeen = false;

  /**
   * Checks the options; makes no request.
   *
   * @param options URL, endpoint, region, credentials, fetch, deadline, signal, limits.
   * @throws {TypeError} On a URL that is not `s3://bucket[/prefix]` or an endpoint that is not http(s).
   * @throws {RangeError} On a deadline, size cap or page size out of range.
   */
  constructor(options: S3ObjectStoreOptions) {
    const location = resolveLocation(options);
    this.bucket = location.bucket;
    this.prefix = location.prefix;
    this.url = location.url;
    this.region = location.region;
    this.endpoint = location.endpoint;
    const timeoutMs = options.timeoutMs ?? 60_000;
    this.#maxObjectBytes = options.maxObjectBytes ?? 2 ** 30;
    this.#pageSize = options.listPageSize ?? 1000;
    if (!(timeoutMs > 0) || !(this.#maxObjectBytes > 0)) {
      throw new RangeError(`Cannot open ${this.url}: timeoutMs and maxObjectBytes must be above 0`);
    }
    if (!Number.isInteger(this.#pageSize) || this.#pageSize < 1 || this.#pageSize > 1000) {
      throw new RangeError(`Cannot open ${this.url}: listPageSize ${this.#pageSize} is not 1-1000`);
    }
    this.#target = {
      endpoint: this.endpoint,
      bucket: this.bucket,
      region: this.region,
      credentials: location.credentials,
      fetch: options.fetch ?? fetch,
      timeoutMs,
    };
    this.#signal = options.signal;
    this.#retry = options.retry;
  }

  /** The object's bytes, or undefined when the key does not exist. */
  get(key: string, signal?: AbortSignal): Promise<Uint8Array | undefined> {
    const verb = `read "${key}" from ${this.url}`;
    const call: S3Call = { method: "GET", key: this.#full(key), maxBytes: this.#maxObjectBytes };
    return this.#run(verb, key, call, signal, async (answer) => {
      if (answer.status === 200) return answer.body;
      if (await this.#missing(answer, verb, key, signal)) return undefined;
      throw await this.#refused(answer, verb, key, signal);
    });
  }

  /**
   * Writes the object whole.
   * @returns False when `ifNoneMatch` was set and the key exists.
   */
  async put(
    key: string,
    body: Uint8Array,
    options: PutOptions = {},
    signal?: AbortSignal,
  ): Promise<boolean> {
    const verb = `write "${key}" to ${this.url}`;
    const conditional = options.ifNoneMatch === true && this.#conditional;
    if (options.ifNoneMatch && !conditional && await this.head(key, signal)) return false;
    const call: S3Call = {
      method: "PUT",
      key: this.#full(key),
      body,
      payloadHash: await sha256Hex(body),
      headers: conditional ? { "if-none-match": "*" } : {},
      maxBytes: MAX_SMALL_BYTES,
    };
    const written = await this.#run(verb, key, call, signal, async (answer) => {
      if (answer.status === 200 || answer.status === 201 || answer.status === 204) return true;
      if (conditional && answer.status === 412) return false;
      if (conditional && (answer.status === 501 || answer.error?.code === "NotImplemented")) {
        return "unsupported" as const;
      }
      throw await this.#refused(answer, verb, key, signal);
    });
    if (written !== "unsupported") return written;
    this.#conditional = false;
    return this.put(key, body, options, signal);
  }

  /** The object's size, or undefined when the key does not exist. */
  head(key: string, signal?: AbortSignal): Promise<ObjectInfo | undefined> {
    const verb = `look up "${key}" in ${this.url}`;
    const call: S3Call = { method: "HEAD", key: this.#full(key), maxBytes: 0 };
    return this.#run(verb, key, call, signal, async (answer) => {
      const size = Number(answer.headers.get("content-length") ?? NaN);
      if (answer.status === 200 && Number.isSafeInteger(size) && size >= 0) return { key, size };
      if (await this.#missing(answer, verb, key, signal)) return undefined;
      throw await this.#refused(answer, verb, key, signal);
    });
  }

  /** Every object whose key starts with `prefix`, in key order, a page at a time. */
  list(prefix: string, signal?: AbortSignal): AsyncIterable<ObjectInfo> {
    if (prefix.startsWith("/")) {
      throw new TypeError(`Cannot list ${JSON.stringify(prefix)}: a prefix has no leading "/"`);
    }
    return this.#list(prefix, signal);
  }

  async *#list(prefix: string, signal: AbortSignal | undefined): AsyncIterable<ObjectInfo> {
    const verb = `list "${prefix}" in ${this.url}`;
    const base = this.prefix === "" ? "" : `${this.prefix}/`;
    let token: string | undefined;
    const seen = new Set<string>();
    do {
      const query: Record<string, string> = {
        "list-type": "2",
        prefix: base + prefix,
        "max-keys": String(this.#pageSize),
      };
      if (token !== undefined) query["continuation-token"] = token;
      const call: S3Call = { method: "GET", query, maxBytes: MAX_PAGE_BYTES };
      const page = await this.#run(verb, undefined, call, signal, async (answer) => {
        if (answer.status !== 200) throw await this.#refused(answer, verb, undefined, signal);
        return parseListObjectsV2(new TextDecoder().decode(answer.body), answer.url);
      });
      for (const { key, size } of page.objects) {
        if (!key.startsWith(base + prefix)) {
          throw new ObjectStoreError("failed", this.url, `Cannot ${verb}: it listed "${key}"`);
        }
        yield { key: key.slice(base.length), size };
      }
      token = page.nextContinuationToken;
      if (token !== undefined && seen.has(token)) {
        throw new ObjectStoreError("failed", this.url, `Cannot ${verb}: the listing repeats`);
      }
      if (token !== undefined) seen.add(token);
    } while (token !== undefined);
  }

  /** Deletes the object (nothing when it does not exist). */
  delete(key: string, signal?: AbortSignal): Promise<void> {
    const verb = `delete "${key}" from ${this.url}`;
    const call: S3Call = { method: "DELETE", key: this.#full(key), maxBytes: MAX_SMALL_BYTES };
    return this.#run(verb, key, call, signal, async (answer) => {
      if (answer.status === 204 || answer.status === 200) return;
      if (answer.status === 404 && answer.error?.code === "NoSuchKey") return;
      throw await this.#refused(answer, verb, key, signal);
    });
  }

  /** The key in the bucket. */
  #full(key: string): string {
    checkKey(key, "key");
    return this.prefix === "" ? key : `${this.prefix}/${key}`;
  }

  /**
   * Whether an answer is a missing key: a 404 NoSuchKey, or a body-less 404
   * (a HEAD) while the bucket exists. A missing bucket is thrown.
   */
  async #missing(
    answer: S3Answer,
    verb: Verb,
    key: string,
    signal: AbortSignal | undefined,
  ): Promise<boolean> {
    if (answer.status !== 404) return false;
    if (answer.error?.code === "NoSuchKey") return this.#bucketSeen = true;
    if (answer.error !== undefined) return false;
    if (this.#bucketSeen) return true;
    const probe = await this.#probe(signal);
    if (probe.status === 200) return true;
    throw await this.#refused(probe, verb, key, signal);
  }

  /** The error of an answer that is neither success nor a missing key. */
  async #refused(
    answer: S3Answer,
    verb: Verb,
    key: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<ObjectStoreError> {
    return await refusal(answer, {
      verb,
      key,
      store: this.url,
      endpoint: this.endpoint,
      bucket: this.bucket,
      accessKeyId: this.#target.credentials?.accessKeyId,
      probe: () => this.#probe(signal),
    });
  }

  /** A bucket-level request that tells a body-less 403 or 404 apart: `max-keys=0` listing. */
  async #probe(signal: AbortSignal | undefined): Promise<S3Answer> {
    const call: S3Call = {
      method: "GET",
      query: { "list-type": "2", "max-keys": "0" },
      maxBytes: MAX_PAGE_BYTES,
    };
    const answer = await s3Request(this.#target, call, signal);
    if (answer.status === 200) this.#bucketSeen = true;
    return answer;
  }

  /** Runs a call with retries; everything but an abort becomes an ObjectStoreError. */
  async #run<T>(
    verb: Verb,
    key: string | undefined,
    call: S3Call,
    signal: AbortSignal | undefined,
    settle: (answer: S3Answer) => Promise<T>,
  ): Promise<T> {
    const signals = [this.#signal, signal].filter((s) => s !== undefined);
    const any = signals.length < 2 ? signals[0] : AbortSignal.any(signals);
    try {
      return await withRetry(async () => {
        const answer = await s3Request(this.#target, call, any);
        if (answer.status < 300) this.#bucketSeen = true;
        return await settle(answer);
      }, { retry: this.#retry, signal: any, isRetryable: retryable });
    } catch (error) {
      if (any?.aborted) throw any.reason;
      if (error instanceof ObjectStoreError) throw error;
      throw failure(error, verb, this.url, this.endpoint, key);
    }
  }
}
