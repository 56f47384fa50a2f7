/**
 * Pacing of REST requests by Binance's request weight: one scheduler per host
 * origin and market API, shared by every client of the process.
 *
 * @module
 */
import type { RateLimitError } from "../core/errors.ts";
import { sleep as defaultSleep } from "./http.ts";

/** Options of {@linkcode WeightScheduler}. */
export interface WeightSchedulerOptions {
  /** Request weight allowed per window (spot 6000, um and cm 2400). */
  budget: number;
  /**
   * Share of the budget kept free, for clock skew and requests landing in the
   * next window; should exceed concurrency × the largest request weight.
   * @default {0.1}
   */
  margin?: number;
  /**
   * Length of the exchange's window, aligned on multiples of it in UTC.
   * @default {60000}
   */
  windowMs?: number;
  /**
   * Extra wait after a window boundary before sending again, in ms.
   * @default {windowMs / 100}
   */
  graceMs?: number;
  /** The clock, epoch ms. @default {Date.now} */
  now?: () => number;
  /** How to wait; rejects with `signal.reason` on abort. @default {sleep from http.ts} */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/**
 * What a REST client needs from a weight budget: reserve a request's weight
 * before sending it, settle it when the answer (or failure) arrives, and
 * obey the exchange's 429 pauses and 418 bans. {@linkcode WeightScheduler}
 * paces one process; `SharedWeightBudget` every process sharing a cache
 * folder (so one IP).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type WeightBudget, WeightScheduler } from "./weight_scheduler.ts";
 * const budget: WeightBudget = new WeightScheduler({ budget: 10, margin: 0, now: () => 0 });
 * await budget.acquire(4);
 * budget.settle(4, "4");
 * assert.equal(budget.available(), 6);
 * ```
 */
export interface WeightBudget {
  /** The usable weight per window: `budget × (1 - margin)`, rounded down. */
  readonly limit: number;
  /** The 418 (or long 429) that stopped the host, while it lasts. */
  readonly ban: RateLimitError | undefined;
  /** Weight that may still be sent in the current window (may be negative). */
  available(): number;
  /** Milliseconds until the current window ends, grace included. */
  nextWindowIn(): number;
  /**
   * Reserves `weight`, waiting while the window's budget or a 429 pause does
   * not allow it; rejects with `signal.reason` on abort, with the
   * `RateLimitError` of a ban, with `RangeError` for a weight over `limit`.
   */
  acquire(weight: number, signal?: AbortSignal): Promise<void>;
  /** Ends one reservation, with the `X-MBX-USED-WEIGHT-1M` header when the exchange answered. */
  settle(weight: number, usedWeight?: string | number | null): void;
  /** Holds every request for `ms` (a 429's `Retry-After`). */
  pause(ms: number): void;
  /** Stops every request until the error's `retryAfterMs` has passed (a 418). */
  banned(error: RateLimitError): void;
}

const registry = new Map<string, WeightScheduler>();

/**
 * Paces requests so that the weight used in the exchange's current window
 * (the last `X-MBX-USED-WEIGHT-1M` reported, plus the weight of requests in
 * flight) never passes `budget × (1 - margin)`: a request that would pass it
 * waits for the next window. Also holds the pauses asked by 429 and the ban
 * of a 418.
 *
 * Usage: `await acquire(weight, signal)` before sending, then exactly one
 * `settle(weight, usedWeightHeader)` when the response (or failure) arrives.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { WeightScheduler } from "./weight_scheduler.ts";
 * const s = new WeightScheduler({ budget: 100, margin: 0.1, now: () => 0 });
 * await s.acquire(10);
 * assert.equal(s.available(), 80); // 90 usable, 10 in flight
 * s.settle(10, "35"); // the exchange reports 35 used this minute
 * assert.equal(s.available(), 55);
 * ```
 */
export class WeightScheduler implements WeightBudget {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #graceMs: number;
  readonly #now: () => number;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  #window = Number.NEGATIVE_INFINITY;
  #reported = 0;
  #inflight = 0;
  #pausedUntil = 0;
  #ban: RateLimitError | undefined;
  #banUntil = 0;
  #wakers = new Set<() => void>();

  /**
   * Creates a scheduler with a fresh window (prefer {@linkcode WeightScheduler.shared}).
   *
   * @param options Budget, margin, window and clock.
   * @throws {RangeError} For a budget or window that is not positive, or a margin outside [0, 1).
   */
  constructor(options: WeightSchedulerOptions) {
    const { budget, margin = 0.1, windowMs = 60_000 } = options;
    if (!(budget > 0)) throw new RangeError(`Cannot pace requests: budget "${budget}" must be > 0`);
    if (!(margin >= 0 && margin < 1)) {
      throw new RangeError(`Cannot pace requests: margin "${margin}" must lie in [0, 1)`);
    }
    if (!(windowMs > 0)) {
      throw new RangeError(`Cannot pace requests: window "${windowMs}" must be > 0`);
    }
    this.#limit = Math.floor(budget * (1 - margin));
    this.#windowMs = windowMs;
    this.#graceMs = options.graceMs ?? windowMs / 100;
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? defaultSleep;
  }

  /**
   * The scheduler shared by every client of the process for one host origin
   * and market API, created on first use.
   *
   * @param key The origin and API, e.g. `"https://fapi.binance.com um"`.
   * @param options Used only when the scheduler is created.
   * @returns The shared scheduler.
   */
  static shared(key: string, options: WeightSchedulerOptions): WeightScheduler {
    let scheduler = registry.get(key);
    if (!scheduler) registry.set(key, scheduler = new WeightScheduler(options));
    return scheduler;
  }

  /**
   * Installs a scheduler as the shared one for a key (tests), or removes it.
   *
   * @param key The origin and API.
   * @param scheduler The scheduler, or `undefined` to forget the key.
   */
  static register(key: string, scheduler: WeightScheduler | undefined): void {
    if (scheduler) registry.set(key, scheduler);
    else registry.delete(key);
  }

  /** The usable weight per window: `budget × (1 - margin)`, rounded down. */
  get limit(): number {
    return this.#limit;
  }

  /** The 418 that banned this host, while the ban lasts. */
  get ban(): RateLimitError | undefined {
    if (this.#ban && this.#now() >= this.#banUntil) this.#ban = undefined;
    return this.#ban;
  }

  /**
   * Time until the current window ends (and the budget renews).
   *
   * @returns Milliseconds, grace included.
   */
  nextWindowIn(): number {
    const now = this.#roll();
    return (this.#window + 1) * this.#windowMs + this.#graceMs - now;
  }

  #roll(): number {
    const now = this.#now();
    const window = Math.floor(now / this.#windowMs);
    if (window !== this.#window) {
      this.#window = window;
      this.#reported = 0;
    }
    return now;
  }

  /**
   * Weight that may still be sent in the current window.
   *
   * @returns The usable weight left (may be negative).
   */
  available(): number {
    this.#roll();
    return this.#limit - this.#reported - this.#inflight;
  }

  /**
   * Reserves `weight`, waiting while the window's budget or a 429 pause does
   * not allow it.
   *
   * @param weight The request's weight.
   * @param signal Stops waiting; the promise then rejects with `signal.reason`.
   * @throws {RateLimitError} When the host has banned us (418).
   * @throws {RangeError} When `weight` exceeds the usable budget.
   */
  async acquire(weight: number, signal?: AbortSignal): Promise<void> {
    if (weight > this.#limit) {
      throw new RangeError(
        `Cannot pace a request of weight "${weight}": the usable budget is ${this.#limit}`,
      );
    }
    for (;;) {
      signal?.throwIfAborted();
      const ban = this.ban;
      if (ban) throw ban;
      const now = this.#roll();
      let wait = this.#pausedUntil - now;
      if (wait <= 0 && this.#reported + this.#inflight + weight <= this.#limit) {
        this.#inflight += weight;
        return;
      }
      if (wait <= 0) wait = this.nextWindowIn();
      await this.#wait(Math.max(1, wait), signal);
    }
  }

  /** Waits `ms`, or less when a settle may have freed budget. */
  async #wait(ms: number, signal?: AbortSignal): Promise<void> {
    const stop = new AbortController();
    const combined = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
    let wake!: () => void;
    const woken = new Promise<void>((resolve) => wake = resolve);
    this.#wakers.add(wake);
    const slept = this.#sleep(ms, combined).catch((error) => {
      if (!stop.signal.aborted) throw error;
    });
    try {
      await Promise.race([slept, woken]);
    } finally {
      this.#wakers.delete(wake);
      stop.abort();
      await slept.catch(() => {});
    }
    signal?.throwIfAborted();
  }

  /**
   * Releases a reservation when its response or failure arrives, taking the
   * exchange's count of the window from the header.
   *
   * @param weight The weight given to {@linkcode acquire}.
   * @param usedWeight The `X-MBX-USED-WEIGHT-1M` header, when the exchange
   *   answered; without it the request is assumed to have been counted.
   */
  settle(weight: number, usedWeight?: string | number | null): void {
    this.#inflight = Math.max(0, this.#inflight - weight);
    this.#roll();
    const used = typeof usedWeight === "string" ? Number(usedWeight.trim()) : usedWeight;
    if (typeof used === "number" && Number.isFinite(used) && usedWeight !== "") {
      this.#reported = Math.max(this.#reported, used);
    } else {
      this.#reported += weight;
    }
    for (const wake of this.#wakers) wake();
  }

  /**
   * Holds every request until `ms` from now (a 429's `Retry-After`).
   *
   * @param ms The pause, in ms.
   */
  pause(ms: number): void {
    const now = this.#roll();
    this.#pausedUntil = Math.max(this.#pausedUntil, now + ms);
  }

  /**
   * Bans the host after a 418: every {@linkcode acquire} throws `error` until
   * its `retryAfterMs` has passed (for the rest of the process without one).
   *
   * @param error The 418 error.
   */
  banned(error: RateLimitError): void {
    const until = this.#now() + (error.retryAfterMs ?? Infinity);
    if (until > this.#banUntil) [this.#ban, this.#banUntil] = [error, until];
    for (const wake of this.#wakers) wake();
  }
}
