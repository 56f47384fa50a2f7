/**
 * Request-weight accounting per market and time window, as Binance does per
 * IP and minute: the used weight for `X-MBX-USED-WEIGHT-1M`, 429 past the
 * budget, 418 (a ban) for a client that keeps going.
 *
 * @module
 */
import type { Market } from "../core/market.ts";

/** Options of {@linkcode RateLimiter}. */
export interface RateLimiterOptions {
  /** Weight budget per window and market. */
  budgets: Record<Market, number>;
  /** The clock, epoch ms. */
  now: () => number;
  /** Window length (Binance: one minute). @default 60_000 */
  windowMs?: number;
  /** 429 answers a market gives within one window before the next over-budget request earns a 418. @default 3 */
  banAfter?: number;
  /** Length of a ban. @default 120_000 */
  banMs?: number;
}

/** The outcome of charging one request. */
export interface RateDecision {
  /** 200 when admitted, else 429 or 418. */
  readonly status: 200 | 429 | 418;
  /** Weight used in the current window (after this request when admitted). */
  readonly used: number;
  /** Seconds to wait, for 429 and 418. */
  readonly retryAfter?: number;
}

interface WindowState {
  window: number;
  used: number;
  rejected: number;
  bannedUntil: number;
}

/**
 * Per-market weight windows.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RateLimiter } from "./rate_limiter.ts";
 * const limiter = new RateLimiter({ budgets: { spot: 4, um: 10, cm: 10 }, now: () => 0 });
 * assert.equal(limiter.charge("spot", 2).used, 2);
 * assert.equal(limiter.charge("spot", 2).used, 4);
 * assert.equal(limiter.charge("spot", 2).status, 429);
 * ```
 */
export class RateLimiter {
  #budgets: Record<Market, number>;
  #now: () => number;
  #windowMs: number;
  #banAfter: number;
  #banMs: number;
  #state = new Map<Market, WindowState>();

  /**
   * Creates the instance.
   *
   * @param options Budgets, clock, window and ban settings.
   */
  constructor(options: RateLimiterOptions) {
    this.#budgets = options.budgets;
    this.#now = options.now;
    this.#windowMs = options.windowMs ?? 60_000;
    this.#banAfter = options.banAfter ?? 3;
    this.#banMs = options.banMs ?? 120_000;
  }

  /**
   * Charges a request's weight to its market's current window.
   *
   * @param market The market.
   * @param weight The request weight.
   * @returns Admitted (200), or 429 / 418 with Retry-After seconds.
   */
  charge(market: Market, weight: number): RateDecision {
    const now = this.#now();
    const s = this.#window(market, now);
    if (now < s.bannedUntil) {
      return { status: 418, used: s.used, retryAfter: Math.ceil((s.bannedUntil - now) / 1000) };
    }
    if (s.used + weight <= this.#budgets[market]) {
      s.used += weight;
      return { status: 200, used: s.used };
    }
    if (s.rejected >= this.#banAfter) {
      s.bannedUntil = now + this.#banMs;
      return { status: 418, used: s.used, retryAfter: Math.ceil(this.#banMs / 1000) };
    }
    s.rejected++;
    const retryAfter = Math.max(1, Math.ceil((s.window + this.#windowMs - now) / 1000));
    return { status: 429, used: s.used, retryAfter };
  }

  /**
   * The weight used in a market's current window.
   *
   * @param market The market.
   * @returns The used weight.
   */
  used(market: Market): number {
    return this.#window(market, this.#now()).used;
  }

  /**
   * The weight budget of a market.
   *
   * @param market The market.
   * @returns Weight per window.
   */
  budget(market: Market): number {
    return this.#budgets[market];
  }

  /** Forgets every window and ban. */
  reset(): void {
    this.#state.clear();
  }

  #window(market: Market, now: number): WindowState {
    const window = Math.floor(now / this.#windowMs) * this.#windowMs;
    let s = this.#state.get(market);
    if (s === undefined) {
      s = { window, used: 0, rejected: 0, bannedUntil: -Infinity };
      this.#state.set(market, s);
    } else if (s.window !== window) {
      s.window = window;
      s.used = 0;
      s.rejected = 0;
    }
    return s;
  }
}
