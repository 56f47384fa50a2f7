import assert from "node:assert/strict";
import { InvalidRangeError } from "../../src/core/errors.ts";
import { ByteCounterStream } from "../../src/codec/byte_counter_stream.ts";

const parts = () => [new Uint8Array(10), new Uint8Array(0), new Uint8Array(5), new Uint8Array(7)];

Deno.test("ByteCounterStream counts bytes and reports progress per chunk", async () => {
  const seen: number[] = [];
  const counter = new ByteCounterStream({ onProgress: (n) => seen.push(n) });
  let out = 0;
  await ReadableStream.from(parts()).pipeThrough(counter).pipeTo(
    new WritableStream({ write: (c) => void (out += c.length) }),
  );
  assert.equal(counter.bytes, 22);
  assert.equal(out, 22);
  assert.deepEqual(seen, [10, 10, 15, 22]);
});

Deno.test("ByteCounterStream allows exactly maxBytes", async () => {
  const counter = new ByteCounterStream({ maxBytes: 22 });
  await ReadableStream.from(parts()).pipeThrough(counter).pipeTo(new WritableStream());
  assert.equal(counter.bytes, 22);
});

Deno.test("ByteCounterStream errors both sides past maxBytes and withholds the chunk", async () => {
  const received: number[] = [];
  const cancelled = Promise.withResolvers<unknown>();
  const input = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.enqueue(new Uint8Array(8));
    },
    cancel: (reason) => cancelled.resolve(reason),
  });
  const counter = new ByteCounterStream({ maxBytes: 20, label: "a.zip" });
  await assert.rejects(
    input.pipeThrough(counter).pipeTo(
      new WritableStream({ write: (c) => void received.push(c.length) }),
    ),
    (err: unknown) => {
      assert.ok(err instanceof InvalidRangeError);
      assert.equal(err.code, "INVALID_RANGE");
      assert.equal(err.message, 'Cannot read "a.zip": it exceeds the limit of 20 bytes');
      return true;
    },
  );
  assert.deepEqual(received, [8, 8]);
  assert.equal(counter.bytes, 16);
  assert.ok((await cancelled.promise) instanceof InvalidRangeError);
});

Deno.test("ByteCounterStream errors the stream when onProgress throws", async () => {
  const boom = new Error("progress failed");
  const counter = new ByteCounterStream({
    onProgress: () => {
      throw boom;
    },
  });
  await assert.rejects(
    ReadableStream.from(parts()).pipeThrough(counter).pipeTo(new WritableStream()),
    (e) => e === boom,
  );
});

Deno.test("ByteCounterStream propagates cancellation and upstream errors", async () => {
  const cancelled = Promise.withResolvers<unknown>();
  const input = new ReadableStream<Uint8Array>({
    pull: (controller) => controller.enqueue(new Uint8Array(4)),
    cancel: (reason) => cancelled.resolve(reason),
  });
  const reader = input.pipeThrough(new ByteCounterStream()).getReader();
  await reader.read();
  await reader.cancel("done");
  assert.equal(await cancelled.promise, "done");

  const boom = new Error("reset");
  const failing = new ReadableStream<Uint8Array>({ start: (c) => c.error(boom) });
  await assert.rejects(
    failing.pipeThrough(new ByteCounterStream()).pipeTo(new WritableStream()),
    (e) => e === boom,
  );
});

Deno.test("ByteCounterStream rejects an invalid maxBytes before any I/O", () => {
  for (const maxBytes of [-1, 1.5, NaN]) {
    assert.throws(() => new ByteCounterStream({ maxBytes }), InvalidRangeError);
  }
});
