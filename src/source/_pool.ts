/**
 * A counting semaphore that bounds how many downloads run at once.
 *
 * @module
 */
import { InvalidRangeError } from "../core/errors.ts";

interface Waiter {
  grant: () => void;
  onAbort: () => void;
}

/**
 * Grants at most `limit` permits at a time, first come first served. A waiter
 * whose signal aborts leaves the queue and rejects with the signal's reason.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Semaphore } from "./_pool.ts";
 * const pool = new Semaphore(2);
 * let running = 0, peak = 0;
 * await Promise.all([1, 2, 3, 4, 5].map(() =>
 *   pool.run(async () => {
 *     peak = Math.max(peak, ++running);
 *     await new Promise((r) => setTimeout(r, 1));
 *     running--;
 *   })
 * ));
 * assert.equal(peak, 2);
 * ```
 */
export class Semaphore {
  #free: number;
  #queue: Waiter[] = [];

  /**
   * Creates the instance.
   *
   * @param limit Permits available, a positive integer.
   * @throws {InvalidRangeError} When `limit` is not a positive integer.
   */
  constructor(limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new InvalidRangeError(`Cannot bound concurrency: "${limit}" is not a positive integer`);
    }
    this.#free = limit;
  }

  /**
   * Waits for a permit.
   *
   * @param signal Stops waiting; the promise then rejects with `signal.reason`.
   * @returns A function that gives the permit back (idempotent).
   */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve(this.#releaser());
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        grant: () => {
          signal?.removeEventListener("abort", waiter.onAbort);
          resolve(this.#releaser());
        },
        onAbort: () => {
          this.#queue.splice(this.#queue.indexOf(waiter), 1);
          reject(signal!.reason);
        },
      };
      signal?.addEventListener("abort", waiter.onAbort, { once: true });
      this.#queue.push(waiter);
    });
  }

  /**
   * Runs `fn` holding a permit, and gives it back when `fn` settles.
   *
   * @param fn The work.
   * @param signal Stops waiting for a permit.
   * @returns What `fn` returned.
   */
  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const release = await this.acquire(signal);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#queue.shift();
      if (next) next.grant();
      else this.#free++;
    };
  }
}
