/**
 * S3ObjectStore against a real S3 server (Ceph RGW on 127.0.0.1), run by
 * `deno task test:s3` only:
 *
 *   eval "$(scripts/ceph_rgw.sh start)" && deno task test:s3; scripts/ceph_rgw.sh stop
 *
 * Reads DSM_TEST_S3_URL, AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_REGION; each run writes under its own prefix and
 * removes what it wrote.
 */
import assert from "node:assert/strict";
import { CacheError } from "../../src/core/errors.ts";
import { ObjectStoreError } from "../../src/cache/object_store_error.ts";
import { S3ObjectStore, type S3ObjectStoreOptions } from "../../src/cache/s3_object_store.ts";

const NEEDED = [
  "DSM_TEST_S3_URL",
  "AWS_ENDPOINT_URL",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
] as const;
const unset = NEEDED.filter((name) => !Deno.env.get(name));
const RUN = `run-${crypto.randomUUID().slice(0, 8)}`;

/** A store under this run's own prefix. */
function store(options: Partial<S3ObjectStoreOptions> = {}): S3ObjectStore {
  return new S3ObjectStore({
    url: `${Deno.env.get("DSM_TEST_S3_URL")}/${RUN}`,
    retry: { attempts: 3, baseDelayMs: 50 },
    ...options,
  });
}

/** Deletes every object of the run under `prefix`. */
async function clean(prefix: string): Promise<void> {
  const s3 = store();
  const keys = (await Array.fromAsync(s3.list(prefix))).map((o) => o.key);
  await inParallel(keys, 16, (key) => s3.delete(key));
}

async function inParallel<T>(items: T[], width: number, run: (item: T) => Promise<unknown>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await run(items[next++]);
  };
  await Promise.all(Array.from({ length: width }, worker));
}

/** S3's key order: by UTF-8 bytes. */
function byUtf8(a: string, b: string): number {
  const [x, y] = [new TextEncoder().encode(a), new TextEncoder().encode(b)];
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

function bytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0, x = seed; i < length; i++) out[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  return out;
}

async function rejectsWith(promise: Promise<unknown>, reason: string, message: RegExp) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ObjectStoreError, String(error));
    assert.ok(error instanceof CacheError);
    assert.equal(error.reason, reason, error.message);
    assert.match(error.message, message);
    assert.doesNotMatch(error.message, new RegExp(Deno.env.get("AWS_SECRET_ACCESS_KEY")!));
    return true;
  });
}

if (unset.length > 0) {
  Deno.test("S3 integration tests need a running S3 server", () => {
    throw new Error(
      `Cannot run the S3 tests: ${unset.join(", ")} unset; start Ceph RGW first: ` +
        `eval "$(scripts/ceph_rgw.sh start)" (after scripts/ceph_rgw.sh install), ` +
        `then scripts/ceph_rgw.sh stop`,
    );
  });
} else {
  Deno.test("S3ObjectStore on RGW: put, get, head, delete round trip", async () => {
    const s3 = store();
    const objects: [string, Uint8Array][] = [
      ["rt/v1/binance/spot/klines/BTCUSDT/1m/2024-01-01.arrow", bytes(150_000, 1)],
      ["rt/币安人生USDT/a b+c=d&e.arrow", bytes(10, 2)],
      ["rt/empty.arrow", new Uint8Array(0)],
      ["rt/large.arrow", bytes(6 * 1024 * 1024 + 7, 3)],
    ];
    for (const [key, body] of objects) {
      assert.equal(await s3.head(key), undefined);
      assert.equal(await s3.get(key), undefined);
      assert.equal(await s3.put(key, body), true);
      assert.deepEqual(await s3.get(key), body);
      assert.deepEqual(await s3.head(key), { key, size: body.length });
    }
    // A plain PUT replaces the object whole (a REST partition upgraded to Vision).
    const [key] = objects[0];
    assert.equal(await s3.put(key, bytes(99, 9)), true);
    assert.deepEqual(await s3.get(key), bytes(99, 9));
    const listed = await Array.fromAsync(s3.list("rt/"));
    assert.deepEqual(
      listed.map((o) => o.key),
      objects.map(([k]) => k).sort(byUtf8),
    );
    for (const [key] of objects) {
      await s3.delete(key);
      assert.equal(await s3.head(key), undefined);
      await s3.delete(key); // deleting a missing key is no error
    }
    assert.deepEqual(await Array.fromAsync(s3.list("rt/")), []);
  });

  Deno.test("S3ObjectStore on RGW: list follows continuation tokens across pages", async () => {
    const s3 = store();
    const keys = Array.from({ length: 1001 }, (_, i) => `ls/k${String(i).padStart(4, "0")}.arrow`);
    try {
      await inParallel(keys, 16, (key) => s3.put(key, new TextEncoder().encode(key)));
      await s3.put("lsx/outside.arrow", new Uint8Array(1));
      // Two pages at the default 1000 keys per page.
      const all = await Array.fromAsync(s3.list("ls/"));
      assert.deepEqual(all.map((o) => o.key), keys);
      assert.ok(all.every((o) => o.size === o.key.length));
      // 143 pages of 7, and a prefix inside a name.
      const small = store({ listPageSize: 7 });
      assert.deepEqual((await Array.fromAsync(small.list("ls/k"))).map((o) => o.key), keys);
      const ninth = (await Array.fromAsync(small.list("ls/k09"))).map((o) => o.key);
      assert.deepEqual(ninth, keys.slice(900, 1000));
    } finally {
      await clean("ls");
    }
  });

  Deno.test("S3ObjectStore on RGW: of 8 concurrent If-None-Match creators exactly one wins", async () => {
    const key = "race/2024-01-01.arrow";
    try {
      for (let round = 0; round < 3; round++) {
        const bodies = Array.from({ length: 8 }, (_, i) => bytes(50_000 + i, round * 8 + i));
        // Each writer its own store, as separate processes would be.
        const won = await Promise.all(
          bodies.map((body) => store().put(key, body, { ifNoneMatch: true })),
        );
        assert.equal(won.filter((w) => w).length, 1, `round ${round}: ${won}`);
        assert.deepEqual(await store().get(key), bodies[won.indexOf(true)]);
        await store().delete(key);
      }
    } finally {
      await clean("race");
    }
  });

  Deno.test("S3ObjectStore on RGW: wrong credentials are a clear CacheError", async () => {
    const keyId = Deno.env.get("AWS_ACCESS_KEY_ID")!;
    const wrongSecret = store({ credentials: { accessKeyId: keyId, secretAccessKey: "wrong" } });
    const refused = new RegExp(
      `the store refused the credentials of access key "${keyId}" \\(SignatureDoesNotMatch`,
    );
    await rejectsWith(wrongSecret.get("a.arrow"), "credentials", refused);
    await rejectsWith(wrongSecret.head("a.arrow"), "credentials", refused);
    await rejectsWith(wrongSecret.put("a.arrow", new Uint8Array(1)), "credentials", refused);
    await rejectsWith(Array.fromAsync(wrongSecret.list("")), "credentials", refused);
    await rejectsWith(wrongSecret.delete("a.arrow"), "credentials", refused);
    const unknown = store({ credentials: { accessKeyId: "NOSUCHKEY", secretAccessKey: "x" } });
    await rejectsWith(
      unknown.get("a.arrow"),
      "credentials",
      /^Cannot read "a\.arrow" from s3:\/\/.*: the store refused the credentials of access key "NOSUCHKEY" \(InvalidAccessKeyId/,
    );
  });

  Deno.test("S3ObjectStore on RGW: a missing bucket is a clear CacheError", async () => {
    const none = new S3ObjectStore({ url: `s3://no-such-bucket-${RUN}/x` });
    const gone =
      /the bucket "no-such-bucket-run-[0-9a-f]+" does not exist at http:\/\/127\.0\.0\.1:\d+$/;
    await rejectsWith(none.get("a"), "no-bucket", gone);
    await rejectsWith(none.head("a"), "no-bucket", gone);
    await rejectsWith(none.put("a", new Uint8Array(1)), "no-bucket", gone);
    await rejectsWith(Array.fromAsync(none.list("")), "no-bucket", gone);
  });

  Deno.test("S3ObjectStore: an unreachable endpoint is a clear CacheError with the cause", async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = listener.addr.port;
    listener.close(); // nothing listens there now
    const off = store({
      endpoint: `http://127.0.0.1:${port}`,
      retry: { attempts: 2, baseDelayMs: 1 },
    });
    await rejectsWith(
      off.put("a.arrow", new Uint8Array(1)),
      "unreachable",
      new RegExp(`the store at http://127\\.0\\.0\\.1:${port} cannot be reached \\(.*refused`, "i"),
    );
    await assert.rejects(off.get("a.arrow"), (error: unknown) => {
      assert.ok(error instanceof CacheError && error.cause !== undefined);
      return true;
    });
  });
}
