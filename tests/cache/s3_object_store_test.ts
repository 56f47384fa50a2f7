import assert from "node:assert/strict";
import { CacheError } from "../../src/core/errors.ts";
import { S3ObjectStore, type S3ObjectStoreOptions } from "../../src/cache/s3_object_store.ts";
import { ObjectStoreError } from "../../src/cache/object_store_error.ts";
import { EMPTY_SHA256, sha256Hex, signV4 } from "../../src/cache/_sigv4.ts";

/** A request as the fake S3 saw it. */
interface Seen {
  method: string;
  url: URL;
  headers: Headers;
  body: Uint8Array;
}

type Handler = (request: Seen, index: number) => Response | Promise<Response>;

/** A fetch that records every request and answers with `handler`. */
function fakeS3(handler: Handler): { fetch: typeof fetch; seen: Seen[] } {
  const seen: Seen[] = [];
  const fake: typeof fetch = async (input, init) => {
    const body = init?.body ? new Uint8Array(await new Response(init.body).arrayBuffer()) : null;
    const request: Seen = {
      method: init?.method ?? "GET",
      url: new URL(String(input)),
      headers: new Headers(init?.headers),
      body: body ?? new Uint8Array(0),
    };
    seen.push(request);
    return handler(request, seen.length - 1);
  };
  return { fetch: fake, seen };
}

const CREDENTIALS = { accessKeyId: "AKIDTEST", secretAccessKey: "s3cr3t/SECRET+key" };

function storeOf(fake: typeof fetch, options: Partial<S3ObjectStoreOptions> = {}) {
  return new S3ObjectStore({
    url: "s3://bucket/cache",
    endpoint: "http://127.0.0.1:9",
    region: "us-east-1",
    credentials: CREDENTIALS,
    fetch: fake,
    retry: { attempts: 3, baseDelayMs: 1 },
    ...options,
  });
}

function xmlError(status: number, code: string, message = "") {
  return new Response(
    `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code>` +
      `<Message>${message}</Message><RequestId>r</RequestId></Error>`,
    { status, headers: { "content-type": "application/xml" } },
  );
}

/** Asserts an ObjectStoreError with this reason whose message matches. */
async function rejectsWith(promise: Promise<unknown>, reason: string, message: RegExp) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ObjectStoreError, String(error));
    assert.ok(error instanceof CacheError);
    assert.equal(error.code, "CACHE_ERROR");
    assert.equal(error.reason, reason, error.message);
    assert.match(error.message, message);
    assert.doesNotMatch(error.message, /s3cr3t/);
    return true;
  });
}

const AWS_EXAMPLE = {
  accessKeyId: "AKIAIOSFODNN7EXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
};
const AWS_DATE = new Date(Date.UTC(2013, 4, 24));
const AWS_SCOPE = "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request";

Deno.test("signV4 gives the signatures of AWS's published S3 examples", async () => {
  // The four examples of "Signature Calculations for the Authorization Header" in the S3 API docs.
  const sign = (method: string, url: string, payloadHash: string, headers = {}) =>
    signV4(
      { method, url: new URL(url), headers, payloadHash, region: "us-east-1", date: AWS_DATE },
      AWS_EXAMPLE,
    ).then((h) => h.authorization);
  const host = "https://examplebucket.s3.amazonaws.com";
  assert.equal(
    await sign("GET", `${host}/test.txt`, EMPTY_SHA256, { Range: "bytes=0-9" }),
    `AWS4-HMAC-SHA256 ${AWS_SCOPE},SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,` +
      "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
  );
  const payload = await sha256Hex("Welcome to Amazon S3.");
  assert.equal(payload, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  assert.equal(
    await sign("PUT", `${host}/test%24file.text`, payload, {
      Date: "Fri, 24 May 2013 00:00:00 GMT",
      "x-amz-storage-class": "REDUCED_REDUNDANCY",
    }),
    `AWS4-HMAC-SHA256 ${AWS_SCOPE},` +
      "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class," +
      "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
  );
  assert.match(
    await sign("GET", `${host}/?lifecycle`, EMPTY_SHA256),
    /Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543$/,
  );
  // Query parameters are signed sorted, whatever their order in the URL.
  assert.match(
    await sign("GET", `${host}/?prefix=J&max-keys=2`, EMPTY_SHA256),
    /Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7$/,
  );
  const withToken = await signV4(
    {
      method: "GET",
      url: new URL(`${host}/test.txt`),
      payloadHash: "UNSIGNED-PAYLOAD",
      region: "us-east-1",
      date: AWS_DATE,
    },
    { ...AWS_EXAMPLE, sessionToken: "TOKEN" },
  );
  assert.equal(withToken["x-amz-security-token"], "TOKEN");
  assert.equal(withToken["x-amz-date"], "20130524T000000Z");
  assert.match(
    withToken.authorization,
    /SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,/,
  );
});

Deno.test("S3ObjectStore sends path-style, signed requests with encoded keys", async () => {
  const s3 = fakeS3((request) =>
    request.method === "PUT" ? new Response(null, { status: 200 }) : new Response("body")
  );
  const store = storeOf(s3.fetch, { region: "eu-west-3" });
  assert.equal(store.url, "s3://bucket/cache");
  const body = new TextEncoder().encode("partition bytes");
  assert.equal(await store.put("v1/a b+c=é.arrow", body, { ifNoneMatch: true }), true);
  assert.deepEqual(await store.get("v1/a b+c=é.arrow"), new TextEncoder().encode("body"));
  const [put, get] = s3.seen;
  assert.equal(put.method, "PUT");
  assert.equal(put.url.href, "http://127.0.0.1:9/bucket/cache/v1/a%20b%2Bc%3D%C3%A9.arrow");
  assert.deepEqual(put.body, body);
  assert.equal(put.headers.get("if-none-match"), "*");
  assert.equal(put.headers.get("x-amz-content-sha256"), await sha256Hex(body));
  assert.match(put.headers.get("x-amz-date")!, /^\d{8}T\d{6}Z$/);
  const scope = new RegExp(
    `^AWS4-HMAC-SHA256 Credential=AKIDTEST/\\d{8}/eu-west-3/s3/aws4_request,` +
      "SignedHeaders=host;if-none-match;x-amz-content-sha256;x-amz-date,Signature=[0-9a-f]{64}$",
  );
  assert.match(put.headers.get("authorization")!, scope);
  assert.equal(get.method, "GET");
  assert.equal(get.url.href, put.url.href);
  assert.equal(get.headers.get("x-amz-content-sha256"), "UNSIGNED-PAYLOAD");
  assert.equal(get.headers.get("if-none-match"), null);
});

Deno.test({
  name:
    "S3ObjectStore: the default endpoint is the region's, without a prefix keys are the bucket's",
  ignore: Deno.env.has("AWS_ENDPOINT_URL") || Deno.env.has("AWS_ENDPOINT_URL_S3"),
  fn: async () => {
    const s3 = fakeS3(() => new Response(null, { status: 204 }));
    const store = new S3ObjectStore({
      url: "s3://my-bucket",
      region: "ap-south-1",
      endpoint: undefined,
      credentials: CREDENTIALS,
      fetch: s3.fetch,
    });
    assert.equal(store.endpoint, "https://s3.ap-south-1.amazonaws.com");
    await store.delete("k/x.arrow");
    assert.equal(s3.seen[0].url.href, "https://s3.ap-south-1.amazonaws.com/my-bucket/k/x.arrow");
    assert.equal(s3.seen[0].method, "DELETE");
  },
});

Deno.test("S3ObjectStore refuses bad URLs, keys and limits before any request", () => {
  const s3 = fakeS3(() => new Response());
  for (const url of ["bucket/x", "s3://", "s3:///x", "s3://b/a//b", "s3://b/./x", "http://b/x"]) {
    assert.throws(() => storeOf(s3.fetch, { url }), TypeError, url);
  }
  assert.throws(() => storeOf(s3.fetch, { endpoint: "ftp://x" }), TypeError);
  assert.throws(() => storeOf(s3.fetch, { endpoint: "http://x/?a=1" }), TypeError);
  assert.throws(() => storeOf(s3.fetch, { timeoutMs: 0 }), RangeError);
  assert.throws(() => storeOf(s3.fetch, { listPageSize: 1001 }), RangeError);
  const store = storeOf(s3.fetch);
  for (const key of ["", "/a", "a//b", "a/../b", "a/.", "a/"]) {
    assert.throws(() => store.get(key), TypeError, key);
  }
  assert.throws(() => store.list("/a"), TypeError);
  assert.equal(s3.seen.length, 0);
});

Deno.test("S3ObjectStore: a missing key is undefined, a missing bucket a clear error", async () => {
  let bucket = true;
  const s3 = fakeS3((request) => {
    if (!bucket) return xmlError(404, "NoSuchBucket", "The specified bucket does not exist");
    if (request.method === "HEAD") return new Response(null, { status: 404 });
    if (request.url.searchParams.get("max-keys") === "0") {
      return new Response("<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>");
    }
    return request.method === "DELETE"
      ? new Response(null, { status: 204 })
      : xmlError(404, "NoSuchKey");
  });
  const store = storeOf(s3.fetch);
  assert.equal(await store.get("a.arrow"), undefined);
  assert.equal(await store.head("a.arrow"), undefined);
  // The bucket answered already: a body-less 404 needs no probe.
  assert.equal(s3.seen.length, 2);
  const fresh = storeOf(s3.fetch);
  assert.equal(await fresh.head("a.arrow"), undefined);
  assert.equal(s3.seen.length, 4);
  assert.equal(s3.seen[3].url.search, "?list-type=2&max-keys=0");
  await fresh.delete("a.arrow");
  bucket = false;
  const gone = /the bucket "bucket" does not exist at http:\/\/127\.0\.0\.1:9$/;
  const none = storeOf(s3.fetch);
  await rejectsWith(none.get("a.arrow"), "no-bucket", gone);
  await rejectsWith(none.head("a.arrow"), "no-bucket", gone);
  await rejectsWith(none.put("a.arrow", new Uint8Array(1)), "no-bucket", gone);
  await rejectsWith(none.delete("a.arrow"), "no-bucket", gone);
  await rejectsWith(Array.fromAsync(none.list("")), "no-bucket", gone);
});

Deno.test("S3ObjectStore.put with ifNoneMatch: 412 is false; a store without it falls back to HEAD + PUT", async () => {
  const s3 = fakeS3((request) =>
    request.headers.has("if-none-match")
      ? xmlError(412, "PreconditionFailed")
      : new Response(null, { status: 200 })
  );
  const store = storeOf(s3.fetch);
  assert.equal(await store.put("a.arrow", new Uint8Array([1]), { ifNoneMatch: true }), false);
  assert.equal(await store.put("a.arrow", new Uint8Array([1])), true);

  const objects = new Set<string>();
  const old = fakeS3((request) => {
    if (request.headers.has("if-none-match")) return xmlError(501, "NotImplemented");
    if (request.method === "HEAD") {
      return new Response(null, {
        status: objects.has(request.url.pathname) ? 200 : 404,
        headers: { "content-length": "1" },
      });
    }
    if (request.method === "GET") return page([]); // the probe: the bucket exists
    objects.add(request.url.pathname);
    return new Response(null, { status: 200 });
  });
  const plain = storeOf(old.fetch);
  assert.equal(await plain.put("a.arrow", new Uint8Array([1]), { ifNoneMatch: true }), true);
  // A body-less 404 on a bucket not seen yet: the probe tells a missing key from a missing bucket.
  assert.deepEqual(old.seen.map((r) => r.method), ["PUT", "HEAD", "GET", "PUT"]);
  assert.equal(await plain.put("a.arrow", new Uint8Array([1]), { ifNoneMatch: true }), false);
  assert.deepEqual(old.seen.map((r) => r.method), ["PUT", "HEAD", "GET", "PUT", "HEAD"]);
});

Deno.test("S3ObjectStore.head gives the size", async () => {
  const s3 = fakeS3(() => new Response(null, { headers: { "content-length": "1234" } }));
  assert.deepEqual(await storeOf(s3.fetch).head("k/a.arrow"), { key: "k/a.arrow", size: 1234 });
  assert.equal(s3.seen[0].method, "HEAD");
});

function page(keys: string[], token?: string, size = 7): Response {
  const contents = keys.map((k) => `<Contents><Key>${k}</Key><Size>${size}</Size></Contents>`);
  const next = token ? `<NextContinuationToken>${token}</NextContinuationToken>` : "";
  return new Response(
    `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>bucket</Name>` +
      `<IsTruncated>${token !== undefined}</IsTruncated>${contents.join("")}${next}` +
      `</ListBucketResult>`,
  );
}

Deno.test("S3ObjectStore.list follows continuation tokens, a page at a time, keys relative to the prefix", async () => {
  const s3 = fakeS3((request) => {
    const token = request.url.searchParams.get("continuation-token");
    if (token === null) return page(["cache/v1/a", "cache/v1/b"], "t/1 +");
    if (token === "t/1 +") return page(["cache/v1/c"], "t2");
    return page([]);
  });
  const store = storeOf(s3.fetch, { listPageSize: 2 });
  assert.deepEqual(await Array.fromAsync(store.list("v1/")), [
    { key: "v1/a", size: 7 },
    { key: "v1/b", size: 7 },
    { key: "v1/c", size: 7 },
  ]);
  const queries = s3.seen.map((r) => Object.fromEntries(r.url.searchParams));
  assert.deepEqual(queries, [
    { "list-type": "2", prefix: "cache/v1/", "max-keys": "2" },
    { "list-type": "2", prefix: "cache/v1/", "max-keys": "2", "continuation-token": "t/1 +" },
    { "list-type": "2", prefix: "cache/v1/", "max-keys": "2", "continuation-token": "t2" },
  ]);
  assert.match(s3.seen[1].url.search, /continuation-token=t%2F1%20%2B/);
  // Streamed: stopping after the first object makes no further request.
  for await (const _ of store.list("v1/")) break;
  assert.equal(s3.seen.length, 4);
});

Deno.test("S3ObjectStore.list retries a cut page and refuses a listing that repeats or strays", async () => {
  let cut = 1;
  const s3 = fakeS3(() =>
    cut-- > 0 ? new Response("<ListBucketResult><IsTruncated>fa") : page(["cache/x"])
  );
  assert.deepEqual(await Array.fromAsync(storeOf(s3.fetch).list("")), [{ key: "x", size: 7 }]);
  assert.equal(s3.seen.length, 2);
  const loop = fakeS3(() => page(["cache/x"], "same"));
  await rejectsWith(Array.fromAsync(storeOf(loop.fetch).list("")), "failed", /repeats/);
  const stray = fakeS3(() => page(["other/x"]));
  await rejectsWith(Array.fromAsync(storeOf(stray.fetch).list("")), "failed", /"other\/x"/);
  const bad = fakeS3(() =>
    new Response("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>")
  );
  await rejectsWith(
    Array.fromAsync(storeOf(bad.fetch).list("")),
    "unreachable",
    /without NextContinuationToken/,
  );
});

Deno.test("S3ObjectStore: refused credentials are a clear error naming the key id, never the secret", async () => {
  for (const code of ["InvalidAccessKeyId", "SignatureDoesNotMatch", "RequestTimeTooSkewed"]) {
    const s3 = fakeS3(() => xmlError(403, code, "refused"));
    const store = storeOf(s3.fetch);
    const message = new RegExp(
      `^Cannot read "a\\.arrow" from s3://bucket/cache: the store refused the credentials of ` +
        `access key "AKIDTEST" \\(${code}: refused\\)$`,
    );
    await rejectsWith(store.get("a.arrow"), "credentials", message);
    assert.equal(s3.seen.length, 1, "not retried");
  }
  // A HEAD has no body: a probe tells why.
  const head = fakeS3((request) =>
    request.method === "HEAD"
      ? new Response(null, { status: 403 })
      : xmlError(403, "SignatureDoesNotMatch")
  );
  await rejectsWith(storeOf(head.fetch).head("a.arrow"), "credentials", /SignatureDoesNotMatch/);
  const denied = fakeS3(() => xmlError(403, "AccessDenied", "Access Denied"));
  await rejectsWith(
    storeOf(denied.fetch).put("a.arrow", new Uint8Array(1)),
    "denied",
    /^Cannot write "a\.arrow" to s3:\/\/bucket\/cache: access key "AKIDTEST" is not allowed to \(HTTP 403 AccessDenied\)$/,
  );
});

Deno.test({
  name: "S3ObjectStore without credentials sends unsigned requests and says so when refused",
  ignore: Deno.env.has("AWS_ACCESS_KEY_ID") || Deno.env.has("AWS_SECRET_ACCESS_KEY"),
  fn: async () => {
    const s3 = fakeS3(() => xmlError(403, "AccessDenied"));
    const store = storeOf(s3.fetch, { credentials: undefined });
    await rejectsWith(store.get("a"), "credentials", /no credentials were given/);
    assert.equal(s3.seen[0].headers.has("authorization"), false);
  },
});

Deno.test("S3ObjectStore retries 5xx, 429 and resets, then fails as unreachable with the cause", async () => {
  const flaky = fakeS3((_, i) =>
    i < 2 ? xmlError(i === 0 ? 503 : 429, "SlowDown") : new Response("ok")
  );
  assert.deepEqual(await storeOf(flaky.fetch).get("a"), new TextEncoder().encode("ok"));
  assert.equal(flaky.seen.length, 3);
  const down = fakeS3(() => new Response("oops", { status: 500 }));
  await rejectsWith(
    storeOf(down.fetch).get("a"),
    "unreachable",
    /^Cannot read "a" from s3:\/\/bucket\/cache: the store at http:\/\/127\.0\.0\.1:9 kept failing \(HTTP 500\)$/,
  );
  assert.equal(down.seen.length, 3);
  const refused = fakeS3(() => {
    throw new TypeError(
      "error sending request: client error (Connect): Connection refused (os error 111)",
    );
  });
  await rejectsWith(
    storeOf(refused.fetch).put("a", new Uint8Array(1)),
    "unreachable",
    /^Cannot write "a" to s3:\/\/bucket\/cache: the store at http:\/\/127\.0\.0\.1:9 cannot be reached \(.*Connection refused/,
  );
  assert.equal(refused.seen.length, 3);
});

Deno.test("S3ObjectStore: each attempt has a deadline for the whole answer and a size cap", async () => {
  const cancelled: unknown[] = [];
  const dripping = fakeS3(() =>
    new Response(
      new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new Uint8Array(1));
        },
        cancel(reason) {
          cancelled.push(reason);
        },
      }),
    )
  );
  const slow = storeOf(dripping.fetch, { timeoutMs: 30, retry: { attempts: 2, baseDelayMs: 1 } });
  await rejectsWith(slow.get("a"), "unreachable", /not complete within/);
  assert.equal(dripping.seen.length, 2);
  assert.equal(cancelled.length, 2);
  const big = fakeS3(() => new Response(new Uint8Array(101)));
  await rejectsWith(
    storeOf(big.fetch, { maxObjectBytes: 100 }).get("a"),
    "failed",
    /larger than 100 bytes/,
  );
  assert.equal(big.seen.length, 1, "not retried");
});

Deno.test("S3ObjectStore: an abort rejects with the signal's reason, unwrapped", async () => {
  const controller = new AbortController();
  const s3 = fakeS3(() => {
    controller.abort(new Error("stop"));
    return new Response(null, { status: 503 });
  });
  await assert.rejects(storeOf(s3.fetch).get("a", controller.signal), { message: "stop" });
  const stopped = new AbortController();
  stopped.abort(new Error("store closed"));
  const store = storeOf(s3.fetch, { signal: stopped.signal });
  await assert.rejects(store.head("a"), { message: "store closed" });
});

Deno.test("S3ObjectStore: a redirect (wrong region) is reported, not followed", async () => {
  const s3 = fakeS3((request) => {
    assert.equal(request.method, "GET");
    return xmlError(301, "PermanentRedirect", "Use the eu-west-1 endpoint");
  });
  await rejectsWith(
    storeOf(s3.fetch).get("a"),
    "failed",
    /HTTP 301 \(PermanentRedirect: Use the eu-west-1 endpoint\)$/,
  );
});
