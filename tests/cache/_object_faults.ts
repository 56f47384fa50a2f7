/**
 * An object store for tests: a `MemoryObjectStore` that counts its calls,
 * can fail chosen operations (with the `CacheError` a real store throws),
 * hold them until released, and say how many ran at once.
 */
import { CacheError } from "../../src/core/errors.ts";
import {
  MemoryObjectStore,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
} from "../../src/cache/object_store.ts";

export type Operation = "get" | "put" | "head" | "list" | "delete";

export class FaultyObjectStore implements ObjectStore {
  readonly url: string;
  readonly inner: MemoryObjectStore;
  /** Calls made, in order: `put v1/...` (`put? v1/...` for create-only). */
  readonly calls: string[] = [];
  /** Operations that reject (every key, or those the predicate picks). */
  fail: Partial<Record<Operation, boolean | ((key: string) => boolean)>> = {};
  /** While set, every call waits for it. */
  hold: Promise<void> | undefined;
  /** Most calls in flight at once. */
  peak = 0;
  #active = 0;

  constructor(url = "s3://bucket/dsm", inner = new MemoryObjectStore(url)) {
    this.url = url;
    this.inner = inner;
  }

  count(op: Operation): number {
    return this.calls.filter((c) => c.split(/[? ]/)[0] === op).length;
  }

  async #run<T>(op: Operation, key: string, call: () => Promise<T>, create = false): Promise<T> {
    this.calls.push(`${op}${create ? "?" : ""} ${key}`);
    this.peak = Math.max(this.peak, ++this.#active);
    try {
      if (this.hold) await this.hold;
      const rule = this.fail[op];
      if (rule === true || (typeof rule === "function" && rule(key))) {
        throw new CacheError(`Cannot ${op} "${key}" at ${this.url}: connection refused`, key);
      }
      return await call();
    } finally {
      this.#active--;
    }
  }

  get(key: string): Promise<Uint8Array | undefined> {
    return this.#run("get", key, () => this.inner.get(key));
  }

  put(key: string, body: Uint8Array, options?: PutOptions): Promise<boolean> {
    return this.#run("put", key, () => this.inner.put(key, body, options), options?.ifNoneMatch);
  }

  head(key: string): Promise<ObjectInfo | undefined> {
    return this.#run("head", key, () => this.inner.head(key));
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const all = await this.#run("list", prefix, () => Array.fromAsync(this.inner.list(prefix)));
    yield* all;
  }

  delete(key: string): Promise<void> {
    return this.#run("delete", key, () => this.inner.delete(key));
  }
}
