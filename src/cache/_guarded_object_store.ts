/**
 * An object store as the cache uses it: at most a few requests in flight
 * (a year of 1m is 365 GETs: they overlap, boundedly), and a store that
 * keeps failing answered at once for a while (a fetch with an unreachable
 * cache goes on with its sources instead of waiting out a time-out per
 * partition).
 *
 * @module
 */
import { CacheError } from "../core/errors.ts";
import type { ObjectInfo, ObjectStore, PutOptions } from "./object_store.ts";

/** Options of {@linkcode GuardedObjectStore}. */
export interface GuardOptions {
  /** Requests in flight at once. @default {16} */
  concurrency?: number;
  /** Failures in a row after which the store is not asked for {@linkcode GuardOptions.pauseMs}. @default {3} */
  failures?: number;
  /** How long a failing store is answered at once, ms. @default {30000} */
  pauseMs?: number;
  /** The clock, epoch ms. @default {Date.now} */
  now?: () => number;
  /** Hears when the store is paused. */
  logger?: (message: string) => void;
}

/** Bounds the requests in flight and pauses a failing store. */
export class GuardedObjectStore implements ObjectStore {
  readonly url: string;
  readonly #store: ObjectStore;
  readonly #limit: number;
  readonly #threshold: number;
  readonly #pauseMs: number;
  readonly #now: () => number;
  readonly #log: (message: string) => void;
  #active = 0;
  readonly #waiting: (() => void)[] = [];
  #failed = 0;
  #pausedUntil = -Infinity;
  #lastError: CacheError | undefined;

  /**
   * @param store The store.
   * @param options Concurrency, failure threshold, pause, clock, logger.
   */
  constructor(store: ObjectStore, options: GuardOptions = {}) {
    this.url = store.url;
    this.#store = store;
    this.#limit = Math.max(1, options.concurrency ?? 16);
    this.#threshold = options.failures ?? 3;
    this.#pauseMs = options.pauseMs ?? 30_000;
    this.#now = options.now ?? Date.now;
    this.#log = options.logger ?? (() => {});
  }

  async #run<T>(key: string, op: () => Promise<T>): Promise<T> {
    this.#refuseWhilePaused(key);
    if (this.#active >= this.#limit) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
    this.#active++;
    try {
      this.#refuseWhilePaused(key);
      const value = await op();
      this.#failed = 0;
      return value;
    } catch (cause) {
      if ((cause as Error)?.name === "AbortError") throw cause;
      const error = cause instanceof CacheError ? cause : new CacheError(
        `Cannot use the cache at "${this.url}" for "${key}": ${(cause as Error)?.message}`,
        `${this.url}/${key}`,
        { cause },
      );
      this.#lastError = error;
      if (++this.#failed >= this.#threshold && this.#pausedUntil < this.#now()) {
        this.#pausedUntil = this.#now() + this.#pauseMs;
        this.#log(
          `Cache at "${this.url}" failed ${this.#failed} times in a row (${error.message}); ` +
            `not asked for ${this.#pauseMs / 1000} s`,
        );
      }
      throw error;
    } finally {
      this.#active--;
      this.#waiting.shift()?.();
    }
  }

  #refuseWhilePaused(key: string): void {
    if (this.#now() >= this.#pausedUntil) return;
    throw new CacheError(
      `Cannot use the cache at "${this.url}" for "${key}": it failed ${this.#threshold} times ` +
        `in a row and is not asked until ${new Date(this.#pausedUntil).toISOString()} ` +
        `(last: ${this.#lastError?.message})`,
      `${this.url}/${key}`,
      { cause: this.#lastError },
    );
  }

  get(key: string, signal?: AbortSignal): Promise<Uint8Array | undefined> {
    return this.#run(key, () => this.#store.get(key, signal));
  }

  put(key: string, body: Uint8Array, options?: PutOptions, signal?: AbortSignal): Promise<boolean> {
    return this.#run(key, () => this.#store.put(key, body, options, signal));
  }

  head(key: string, signal?: AbortSignal): Promise<ObjectInfo | undefined> {
    return this.#run(key, () => this.#store.head(key, signal));
  }

  /** Lists under a prefix (pages are not bounded: a listing holds one slot throughout). */
  async *list(prefix: string, signal?: AbortSignal): AsyncIterable<ObjectInfo> {
    const all = await this.#run(prefix, () => Array.fromAsync(this.#store.list(prefix, signal)));
    yield* all;
  }

  delete(key: string, signal?: AbortSignal): Promise<void> {
    return this.#run(key, () => this.#store.delete(key, signal));
  }
}
