/**
 * Seeded, reproducible fault decisions: per request (latency, 5xx, resets,
 * truncated bodies) keyed by the request's URL and how many times it was
 * asked, and per file (missing, checksum mismatch, partial) keyed by its name.
 *
 * @module
 */
import { unit } from "./_price_path.ts";

/** A set of files: explicit names (zip names or keys) or a share of all files. */
export type FileSelection = number | readonly string[];

/** Options of {@linkcode Faults}. */
export interface FaultOptions {
  /** Seed of every decision. @default 1 */
  seed?: number;
  /** Added latency per response, ms. @default 0 */
  latencyMs?: number;
  /** Extra random latency, uniform in [0, jitterMs). @default 0 */
  jitterMs?: number;
  /** Share of requests answered with a 5xx. @default 0 */
  errorRate?: number;
  /** Share of responses cut mid-body with the connection closed. @default 0 */
  resetRate?: number;
  /** Share of responses whose body is cut short (with a matching Content-Length). @default 0 */
  truncateRate?: number;
  /** Files whose CHECKSUM does not match the zip. @default 0 */
  checksumMismatch?: FileSelection;
  /** Files that do not exist (404 or 403, and absent from the listing). @default 0 */
  missingFiles?: FileSelection;
  /** Daily files holding only a prefix of their rows. @default 0 */
  partialFiles?: FileSelection;
}

/** Faults drawn for one request. */
export interface RequestFaults {
  /** Delay before answering, ms. */
  readonly delayMs: number;
  /** A 5xx status to answer with, or 0. */
  readonly errorStatus: number;
  /** Close the connection mid-body. */
  readonly reset: boolean;
  /** Cut the body short. */
  readonly truncate: boolean;
}

const MAX_TRACKED_URLS = 100_000;

function hash(text: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) | 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return unit(h);
}

/**
 * The fault plan of one emulator run.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Faults } from "./faults.ts";
 * const a = new Faults({ seed: 3, errorRate: 0.5 });
 * const b = new Faults({ seed: 3, errorRate: 0.5 });
 * const urls = Array.from({ length: 20 }, (_, i) => `/x?${i}`);
 * assert.deepEqual(urls.map((u) => a.forRequest(u)), urls.map((u) => b.forRequest(u)));
 * ```
 */
export class Faults {
  #o: FaultOptions;
  #seed: number;
  #attempts = new Map<string, number>();

  /**
   * Creates the instance.
   *
   * @param options Rates, file selections and seed.
   */
  constructor(options: FaultOptions = {}) {
    this.#o = options;
    this.#seed = (options.seed ?? 1) | 0;
  }

  /**
   * Draws the faults of one request; asking again for the same URL draws anew.
   *
   * @param url Path and query of the request.
   * @returns The faults to apply.
   */
  forRequest(url: string): RequestFaults {
    if (this.#attempts.size >= MAX_TRACKED_URLS) this.#attempts.clear();
    const n = this.#attempts.get(url) ?? 0;
    this.#attempts.set(url, n + 1);
    const u = (k: number) => hash(`${k}|${n}|${url}`, this.#seed);
    const error = u(1) < (this.#o.errorRate ?? 0);
    return {
      delayMs: (this.#o.latencyMs ?? 0) + Math.floor(u(2) * (this.#o.jitterMs ?? 0)),
      errorStatus: error ? [500, 502, 503][Math.floor(u(3) * 3)] : 0,
      reset: !error && u(4) < (this.#o.resetRate ?? 0),
      truncate: !error && u(5) < (this.#o.truncateRate ?? 0),
    };
  }

  /**
   * Whether a file is missing.
   * @param key The zip's key.
   * @returns True for a 404/403.
   */
  isMissing(key: string): boolean {
    return this.#selects(this.#o.missingFiles, key, "missing");
  }

  /**
   * Whether a file's CHECKSUM is wrong.
   * @param key The zip's key.
   * @returns True when the CHECKSUM must not match.
   */
  isMismatched(key: string): boolean {
    return this.#selects(this.#o.checksumMismatch, key, "mismatch");
  }

  /**
   * Share of rows a daily file keeps: 1, or between 0.2 and 0.8 for a partial file.
   * @param key The zip's key.
   * @returns The fraction kept.
   */
  keepFraction(key: string): number {
    if (!key.includes("/daily/") || !this.#selects(this.#o.partialFiles, key, "partial")) return 1;
    return 0.2 + Math.floor(hash(`keep|${key}`, this.#seed) * 60) / 100;
  }

  /** Forgets the per-URL attempt counts. */
  reset(): void {
    this.#attempts.clear();
  }

  #selects(selection: FileSelection | undefined, key: string, kind: string): boolean {
    if (selection === undefined) return false;
    if (typeof selection === "number") return hash(`${kind}|${key}`, this.#seed) < selection;
    const name = key.slice(key.lastIndexOf("/") + 1);
    return selection.includes(key) || selection.includes(name) || selection.includes(`/${key}`);
  }
}
