/**
 * A small least-recently-used map bounded by the total size of its values.
 *
 * @module
 */

/**
 * An LRU map bounded by total bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ByteLru } from "./_lru.ts";
 * const lru = new ByteLru<string>(10);
 * lru.set("a", "A", 6);
 * lru.set("b", "B", 6);
 * assert.equal(lru.get("a"), undefined);
 * assert.equal(lru.get("b"), "B");
 * ```
 */
export class ByteLru<V> {
  #max: number;
  #size = 0;
  #map = new Map<string, { value: V; bytes: number }>();

  /**
   * Creates the instance.
   *
   * @param maxBytes Largest total size kept.
   */
  constructor(maxBytes: number) {
    this.#max = maxBytes;
  }

  /**
   * Gets a value and marks it recently used.
   * @param key The key.
   * @returns The value, or undefined.
   */
  get(key: string): V | undefined {
    const hit = this.#map.get(key);
    if (hit === undefined) return undefined;
    this.#map.delete(key);
    this.#map.set(key, hit);
    return hit.value;
  }

  /**
   * Stores a value, evicting the least recently used ones beyond the bound.
   * @param key The key.
   * @param value The value.
   * @param bytes Its size.
   */
  set(key: string, value: V, bytes: number): void {
    const old = this.#map.get(key);
    if (old !== undefined) {
      this.#size -= old.bytes;
      this.#map.delete(key);
    }
    if (bytes > this.#max) return;
    this.#map.set(key, { value, bytes });
    this.#size += bytes;
    for (const [k, v] of this.#map) {
      if (this.#size <= this.#max) break;
      this.#map.delete(k);
      this.#size -= v.bytes;
    }
  }

  /** Empties the map. */
  clear(): void {
    this.#map.clear();
    this.#size = 0;
  }
}
