/**
 * A pass-through stage that hashes the bytes flowing through it.
 *
 * @module
 */

import { createHash } from "node:crypto";

const noop = () => {};

/**
 * Passes its chunks through unchanged while computing their SHA-256, e.g. to
 * check a Vision download against its `.CHECKSUM` while it is being unzipped:
 * `body.pipeThrough(sha).pipeThrough(new UnzipStream())`.
 *
 * Contract:
 * - {@linkcode Sha256Stream.digest} resolves to the lowercase hex digest when
 *   the writable side closes (all bytes seen).
 * - When the stream is cancelled from the readable side or aborted from the
 *   writable side (e.g. an upstream error in a pipe), `digest` rejects with
 *   that reason. It never causes an unhandled rejection: await it only if you
 *   need it. A stream that is abandoned without closing never settles it.
 * - Chunks are not copied; errors pass through in both directions.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Sha256Stream } from "./sha256_stream.ts";
 * const sha = new Sha256Stream();
 * const bytes = new TextEncoder().encode("abc");
 * const out = await new Response(ReadableStream.from([bytes]).pipeThrough(sha)).text();
 * assert.equal(out, "abc");
 * assert.equal(
 *   await sha.digest,
 *   "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
 * );
 * ```
 */
export class Sha256Stream extends TransformStream<Uint8Array, Uint8Array> {
  readonly #digest: Promise<string>;

  constructor() {
    const hash = createHash("sha256");
    const { promise, resolve, reject } = Promise.withResolvers<string>();
    promise.catch(noop);
    super({
      transform(chunk, controller) {
        hash.update(chunk);
        controller.enqueue(chunk);
      },
      flush() {
        resolve(hash.digest("hex"));
      },
      cancel(reason) {
        reject(reason);
      },
    });
    this.#digest = promise;
  }

  /** The lowercase hex SHA-256 of every byte written, once the writable side closes. */
  get digest(): Promise<string> {
    return this.#digest;
  }
}
