/**
 * The few operations the cache needs from an object store (S3, Cloudflare
 * R2, MinIO, Ceph RGW), and an in-memory store with the same semantics for
 * tests that need no server.
 *
 * @module
 */

/** An object's listing entry. */
export interface ObjectInfo {
  /** The full key. */
  key: string;
  /** Size, bytes. */
  size: number;
}

/** Options of {@linkcode ObjectStore.put}. */
export interface PutOptions {
  /**
   * Create only: the put does nothing (and resolves false) when the key
   * exists (`If-None-Match: *`, where the store supports it).
   * @default {false}
   */
  ifNoneMatch?: boolean;
}

/**
 * An object store. Keys are `/`-separated, without a leading `/`. Every
 * method rejects with a `CacheError` naming the store and key when the
 * store refuses (credentials, permissions) or cannot be reached; a missing
 * key is not an error.
 */
export interface ObjectStore {
  /** Where it is, for messages, e.g. `s3://bucket/prefix`. */
  readonly url: string;
  /** The object's bytes, or undefined when the key does not exist. */
  get(key: string, signal?: AbortSignal): Promise<Uint8Array | undefined>;
  /**
   * Writes the object whole (a PUT is atomic per object).
   * @returns False when `ifNoneMatch` was set and the key exists.
   */
  put(key: string, body: Uint8Array, options?: PutOptions, signal?: AbortSignal): Promise<boolean>;
  /** The object's size, or undefined when the key does not exist. */
  head(key: string, signal?: AbortSignal): Promise<ObjectInfo | undefined>;
  /** Every object whose key starts with `prefix`, in key order. */
  list(prefix: string, signal?: AbortSignal): AsyncIterable<ObjectInfo>;
  /** Deletes the object (nothing when it does not exist). */
  delete(key: string, signal?: AbortSignal): Promise<void>;
}

/**
 * An object store in memory, with S3's semantics for the operations above.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryObjectStore } from "./object_store.ts";
 * const store = new MemoryObjectStore();
 * assert.equal(await store.put("a/b.arrow", new Uint8Array([1, 2])), true);
 * assert.equal(await store.put("a/b.arrow", new Uint8Array([3]), { ifNoneMatch: true }), false);
 * assert.deepEqual(await store.get("a/b.arrow"), new Uint8Array([1, 2]));
 * assert.deepEqual(await Array.fromAsync(store.list("a/")), [{ key: "a/b.arrow", size: 2 }]);
 * await store.delete("a/b.arrow");
 * assert.equal(await store.head("a/b.arrow"), undefined);
 * ```
 */
export class MemoryObjectStore implements ObjectStore {
  readonly url: string;
  readonly #objects = new Map<string, Uint8Array>();

  /** @param url The name it gives itself in messages. */
  constructor(url = "memory://") {
    this.url = url;
  }

  /** Reads an object (a copy). */
  get(key: string): Promise<Uint8Array | undefined> {
    const body = this.#objects.get(key);
    return Promise.resolve(body && body.slice());
  }

  /** Writes an object (a copy). */
  put(key: string, body: Uint8Array, options: PutOptions = {}): Promise<boolean> {
    if (options.ifNoneMatch && this.#objects.has(key)) return Promise.resolve(false);
    this.#objects.set(key, body.slice());
    return Promise.resolve(true);
  }

  /** An object's size. */
  head(key: string): Promise<ObjectInfo | undefined> {
    const body = this.#objects.get(key);
    return Promise.resolve(body && { key, size: body.length });
  }

  /** Objects under a prefix, in key order. */
  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const keys = [...this.#objects.keys()].filter((k) => k.startsWith(prefix)).sort();
    for (const key of keys) {
      const body = this.#objects.get(key);
      if (body) yield { key, size: body.length };
    }
  }

  /** Deletes an object. */
  delete(key: string): Promise<void> {
    this.#objects.delete(key);
    return Promise.resolve();
  }
}
