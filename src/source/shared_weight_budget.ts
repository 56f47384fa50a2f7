/**
 * One Binance weight budget for every process of a host: the processes
 * (`dsm` commands, library users) that share a cache folder share one IP, so
 * they reserve weight in one small lock-protected file per market.
 *
 * @module
 */
import { join } from "node:path";
import { RateLimitError } from "../core/errors.ts";
import { type Market, marketInfo } from "../core/market.ts";
import { sleep as defaultSleep } from "./http.ts";
import { BudgetFile, type BudgetState, freshState } from "./_budget_file.ts";
import { type WeightBudget, WeightScheduler } from "./weight_scheduler.ts";

/** Options of {@linkcode SharedWeightBudget}. */
export interface SharedWeightBudgetOptions {
  /**
   * The cache root, or a function called on the first request that returns
   * it: the state lives in `{dir}/v1/budget/{market}.json`. `undefined` (no
   * writable cache folder) paces this process alone, with `fallback`.
   */
  dir: string | undefined | (() => Promise<string | undefined>);
  /** The market whose budget this is. */
  market: Market;
  /** Weight allowed per window and IP. @default {spot 6000, um and cm 2400} */
  budget?: number;
  /**
   * Share of the budget kept free, for requests reserved at the end of a
   * window that the exchange counts in the next; should exceed processes ×
   * concurrency × the largest request weight.
   * @default {0.1}
   */
  margin?: number;
  /** Length of the exchange's window, aligned on multiples of it in UTC. @default {60000} */
  windowMs?: number;
  /**
   * How late a request may land after its reservation, in ms: requests
   * reserved this close to a window's end also count in the next window,
   * and a process waiting for the next window waits this long after its
   * start. Raise it when a request may take longer to reach the exchange.
   * @default {windowMs / 100}
   */
  graceMs?: number;
  /** The clock, epoch ms (the processes of a host share it). @default {Date.now} */
  now?: () => number;
  /** How to wait; rejects with `signal.reason` on abort. @default {sleep from http.ts} */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /**
   * The budget used when the file cannot be: no folder, no permission, a
   * read-only file system, a runtime without files (Deno Deploy).
   * @default {a new WeightScheduler with the same budget, margin, window and clock}
   */
  fallback?: WeightBudget;
  /** Told once, when the budget falls back to pacing this process alone. */
  logger?: (message: string) => void;
}

/** How long a ban without `Retry-After` stops the other processes. */
const UNKNOWN_BAN_MS = 120_000;

/**
 * A {@linkcode WeightBudget} shared through a file: each request reserves
 * its weight in the market's state file before it is sent (waiting for the
 * next window when the reservations of every process, plus what the
 * exchange counted beyond them, would pass `budget × (1 - margin)`); the
 * `X-MBX-USED-WEIGHT-1M` header raises the shared count when the exchange
 * counted more than was reserved; a reservation in the last `graceMs` of a
 * window also counts in the next, where its request may land; a 429 pause and a 418 ban seen by one
 * process hold the others until they end. Each step is one read-modify-write
 * of the file under `flock` (about 10 µs on a 2-core EPYC), so it needs read
 * and write permission of the cache folder. Without them (or any file
 * system) it says so once through `logger` and paces this process alone.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SharedWeightBudget } from "./shared_weight_budget.ts";
 * const dir = await Deno.makeTempDir();
 * const now = () => 0;
 * const a = new SharedWeightBudget({ dir, market: "spot", budget: 100, margin: 0, now });
 * const b = new SharedWeightBudget({ dir, market: "spot", budget: 100, margin: 0, now });
 * await a.acquire(60);
 * a.settle(60, "60");
 * await b.acquire(30); // another process would see the same file
 * assert.equal(b.available(), 10);
 * assert.equal(a.shared, true);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class SharedWeightBudget implements WeightBudget {
  readonly #dir: SharedWeightBudgetOptions["dir"];
  readonly #market: Market;
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #graceMs: number;
  readonly #now: () => number;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly #fallback: WeightBudget;
  readonly #logger: ((message: string) => void) | undefined;
  /** The file; `null` once fallen back; `undefined` before the first request. */
  #file: BudgetFile | null | undefined;
  #opening: Promise<BudgetFile | null> | undefined;
  /** The state as last read or written. */
  #seen: BudgetState = freshState(0);
  /** Reservations in flight by the window they were made in. */
  #inflight = new Map<number, number>();
  #ban: RateLimitError | undefined;
  #banUntil = 0;

  /**
   * Creates the budget; the file is opened by the first {@linkcode acquire}.
   *
   * @param options Folder, market, budget, margin, window, clock, fallback, logger.
   * @throws {RangeError} For a budget or window that is not positive, or a margin outside [0, 1).
   */
  constructor(options: SharedWeightBudgetOptions) {
    const { market, margin = 0.1, windowMs = 60_000 } = options;
    const budget = options.budget ?? marketInfo(market).weightBudget;
    const now = options.now ?? Date.now;
    const sleep = options.sleep ?? defaultSleep;
    const fallback = options.fallback ??
      new WeightScheduler({ budget, margin, windowMs, graceMs: options.graceMs, now, sleep });
    if (!(budget > 0)) throw new RangeError(`Cannot pace requests: budget "${budget}" must be > 0`);
    this.#dir = options.dir;
    this.#market = market;
    this.#limit = Math.floor(budget * (1 - margin));
    this.#windowMs = windowMs;
    this.#graceMs = options.graceMs ?? windowMs / 100;
    this.#now = now;
    this.#sleep = sleep;
    this.#fallback = fallback;
    this.#logger = options.logger;
  }

  /** True while the budget is shared through its file (false before the first request and after a fall back). */
  get shared(): boolean {
    return this.#file instanceof BudgetFile;
  }

  /** The state file, once opened. */
  get path(): string | undefined {
    return this.#file?.path;
  }

  /** The usable weight per window: `budget × (1 - margin)`, rounded down. */
  get limit(): number {
    return this.#file === null ? this.#fallback.limit : this.#limit;
  }

  /** The ban (418, or a long 429) seen by any process, while it lasts. */
  get ban(): RateLimitError | undefined {
    if (!this.shared) return this.#fallback.ban;
    const now = this.#now();
    if (this.#ban && now < this.#banUntil) return this.#ban;
    const s = this.#seen;
    if (now >= s.banUntil) return undefined;
    return new RateLimitError(s.banStatus, s.banUrl, s.banUntil - now);
  }

  /** Milliseconds until the current window ends, grace included. */
  nextWindowIn(): number {
    if (this.#file === null) return this.#fallback.nextWindowIn();
    const now = this.#now();
    return this.#windowStart(now) + this.#windowMs + this.#graceMs - now;
  }

  /**
   * Weight that may still be sent in the current window, as last read from
   * the file (no file access).
   *
   * @returns The usable weight left (may be negative).
   */
  available(): number {
    if (!this.shared) return this.#fallback.available();
    const s = this.#seen;
    const window = this.#windowStart(this.#now());
    if (s.windowStart === window - this.#windowMs) return this.#limit - s.carried;
    if (s.windowStart < window) return this.#limit;
    return this.#limit - s.reserved - Math.max(0, s.excess);
  }

  /**
   * Reserves `weight` in the shared file, waiting for the next window while
   * every process's reservations leave no room, and while a 429 pause lasts.
   *
   * @param weight The request's weight.
   * @param signal Stops waiting; the promise then rejects with `signal.reason`.
   * @throws {RateLimitError} While a process of the host is banned (418).
   * @throws {RangeError} When `weight` exceeds the usable budget.
   */
  async acquire(weight: number, signal?: AbortSignal): Promise<void> {
    const file = this.#file === undefined ? await this.#open() : this.#file;
    if (file === null) return await this.#fallback.acquire(weight, signal);
    if (weight > this.#limit) {
      throw new RangeError(
        `Cannot pace a request of weight "${weight}": the usable budget is ${this.#limit}`,
      );
    }
    for (;;) {
      signal?.throwIfAborted();
      const ban = this.ban;
      if (ban) throw ban;
      const now = this.#now();
      let wait = 0;
      const state = this.#update(now, (s) => {
        if (now < s.banUntil) return false;
        wait = s.pausedUntil - now;
        if (wait > 0) return false;
        if (s.reserved + Math.max(0, s.excess) + weight > this.#limit) {
          wait = this.nextWindowIn();
          return false;
        }
        s.reserved += weight;
        if (now >= s.windowStart + this.#windowMs - this.#graceMs) s.carried += weight;
        return true;
      });
      if (state === undefined) return await this.#fallback.acquire(weight, signal);
      if (now < state.banUntil) continue; // thrown by `ban` at the top
      if (wait <= 0) {
        const window = this.#windowStart(now);
        this.#inflight.set(window, (this.#inflight.get(window) ?? 0) + 1);
        return;
      }
      await this.#sleep(Math.max(1, wait), signal);
    }
  }

  /**
   * Ends a reservation. The exchange's count raises the shared one when it
   * passes the reservations (weight used by other clients of the IP); it is
   * ignored while a reservation of an earlier window is in flight, whose
   * answer may count that window.
   *
   * @param weight The weight given to {@linkcode acquire}.
   * @param usedWeight The `X-MBX-USED-WEIGHT-1M` header, when the exchange answered.
   */
  settle(weight: number, usedWeight?: string | number | null): void {
    if (!this.shared) return this.#fallback.settle(weight, usedWeight);
    const now = this.#now();
    const window = this.#windowStart(now);
    const oldest = Math.min(...this.#inflight.keys());
    const left = (this.#inflight.get(oldest) ?? 1) - 1;
    if (left > 0) this.#inflight.set(oldest, left);
    else this.#inflight.delete(oldest);
    const used = typeof usedWeight === "string" ? Number(usedWeight.trim()) : usedWeight;
    if (typeof used !== "number" || !Number.isFinite(used) || usedWeight === "") return;
    if (oldest < window) return;
    const seen = this.#seen;
    // The file's reservations only grow within a window: no write can raise it.
    if (seen.windowStart === window && used - seen.reserved <= seen.excess) return;
    this.#update(now, (s) => {
      if (used - s.reserved <= s.excess) return false;
      [s.excess, s.usedWeight, s.usedAt] = [used - s.reserved, Math.max(s.usedWeight, used), now];
      return true;
    });
  }

  /**
   * Holds every process's requests until `ms` from now (a 429's `Retry-After`).
   *
   * @param ms The pause, in ms.
   */
  pause(ms: number): void {
    if (!this.shared) return this.#fallback.pause(ms);
    const now = this.#now();
    const until = now + ms;
    this.#update(now, (s) => until > s.pausedUntil && ((s.pausedUntil = until), true));
  }

  /**
   * Bans the host for every process until the error's `retryAfterMs` has
   * passed (this process: for its life without one; the others: 2 minutes).
   *
   * @param error The 418 (or long 429) error.
   */
  banned(error: RateLimitError): void {
    if (!this.shared) return this.#fallback.banned(error);
    const now = this.#now();
    const local = now + (error.retryAfterMs ?? Infinity);
    if (local > this.#banUntil) [this.#ban, this.#banUntil] = [error, local];
    const until = now + (error.retryAfterMs ?? UNKNOWN_BAN_MS);
    this.#update(now, (s) => {
      if (until <= s.banUntil) return false;
      [s.banUntil, s.banStatus, s.banUrl] = [until, error.status, error.url];
      return true;
    });
  }

  #windowStart(now: number): number {
    return Math.floor(now / this.#windowMs) * this.#windowMs;
  }

  /** One locked read-modify-write, the window rolled first; undefined once fallen back. */
  #update(now: number, change: (s: BudgetState) => boolean): BudgetState | undefined {
    const file = this.#file;
    if (!file) return undefined;
    const window = this.#windowStart(now);
    try {
      this.#seen = file.update((s) => {
        let rolled = false;
        if (s.windowStart < window) {
          // What the window before reserved in its last moments may land in this one.
          const carried = s.windowStart === window - this.#windowMs ? s.carried : 0;
          [s.windowStart, s.reserved, s.carried] = [window, carried, 0];
          [s.excess, s.usedWeight, s.usedAt] = [0, 0, 0];
          rolled = true;
        }
        return change(s) || rolled;
      });
      return this.#seen;
    } catch (error) {
      this.#fallBack(`cannot update "${file.path}" (${messageOf(error)})`);
      return undefined;
    }
  }

  #open(): Promise<BudgetFile | null> {
    this.#opening ??= (async () => {
      const from = this.#dir;
      const dir = typeof from === "function" ? await from().catch(() => undefined) : from;
      if (dir === undefined) {
        this.#fallBack("no writable cache folder to share it through");
        return null;
      }
      const folder = join(dir, "v1", "budget");
      try {
        Deno.mkdirSync(folder, { recursive: true });
        const file = new BudgetFile(join(folder, `${this.#market}.json`));
        this.#seen = file.update(() => false);
        this.#file = file;
        return file;
      } catch (error) {
        this.#fallBack(`cannot use "${folder}" (${messageOf(error)})`);
        return null;
      }
    })();
    return this.#opening;
  }

  #fallBack(why: string): void {
    this.#file = null;
    this.#logger?.(
      `Weight budget of ${this.#market} is per process: ${why}; ` +
        "other processes on this host are not counted",
    );
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
