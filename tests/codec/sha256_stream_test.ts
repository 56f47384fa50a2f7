import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Sha256Stream } from "../../src/codec/sha256_stream.ts";

function chunks(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += size) out.push(bytes.subarray(at, at + size));
  return out;
}

async function run(parts: Uint8Array[]): Promise<[string, number]> {
  const sha = new Sha256Stream();
  let length = 0;
  await ReadableStream.from(parts).pipeThrough(sha).pipeTo(
    new WritableStream({ write: (c) => void (length += c.length) }),
  );
  return [await sha.digest, length];
}

Deno.test("Sha256Stream matches the FIPS 180-2 vectors", async () => {
  const enc = new TextEncoder();
  assert.deepEqual(await run([]), [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    0,
  ]);
  assert.equal(
    (await run([enc.encode("ab"), enc.encode("c")]))[0],
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  const million = enc.encode("a".repeat(1_000_000));
  assert.equal(
    (await run(chunks(million, 65536)))[0],
    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
  );
});

Deno.test("Sha256Stream equals a one-shot node:crypto hash whatever the chunking", async () => {
  const bytes = new Uint8Array(300_001);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2654435761) >>> 24;
  const expected = createHash("sha256").update(bytes).digest("hex");
  for (const size of [1_000, 7_919, 65_536, bytes.length]) {
    assert.deepEqual(await run(chunks(bytes, size)), [expected, bytes.length]);
  }
});

Deno.test("Sha256Stream passes chunks through untouched", async () => {
  const input = [new Uint8Array([1, 2]), new Uint8Array([3])];
  const seen: Uint8Array[] = [];
  const sha = new Sha256Stream();
  await ReadableStream.from(input).pipeThrough(sha).pipeTo(
    new WritableStream({ write: (c) => void seen.push(c) }),
  );
  assert.equal(seen[0], input[0]);
  assert.equal(seen[1], input[1]);
});

Deno.test("Sha256Stream rejects its digest when the upstream errors", async () => {
  const boom = new Error("connection reset");
  const sha = new Sha256Stream();
  const input = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new Uint8Array(10));
      controller.error(boom);
    },
  });
  await assert.rejects(input.pipeThrough(sha).pipeTo(new WritableStream()), (e) => e === boom);
  await assert.rejects(sha.digest, (e) => e === boom);
});

Deno.test("Sha256Stream rejects its digest when the readable is cancelled", async () => {
  const sha = new Sha256Stream();
  const reader = sha.readable.getReader();
  await reader.cancel("stop");
  await assert.rejects(sha.digest, (e) => e === "stop");
});

Deno.test("Sha256Stream cancelled without awaiting the digest leaves no unhandled rejection", async () => {
  const sha = new Sha256Stream();
  await sha.writable.abort(new Error("unused"));
  // The test passes if no unhandled rejection is reported before it ends.
  await new Promise((resolve) => setTimeout(resolve, 0));
});
