/**
 * Leases on series, so that sync processes that share a cache (a folder, or
 * a bucket several machines write) do not fetch the same series at once: a
 * small file `v1/sync/leases/<series>.json` names its holder and when the
 * lease ends; the holder renews it while it works and removes it when done;
 * a lease that ended (a killed holder) can be taken over.
 *
 * @module
 */
import type { CacheFiles } from "../cache/cache_files.ts";

/** A lease held by this process. */
export interface SeriesLease {
  /** Gives the series back (the file is removed if still ours). */
  release(): Promise<void>;
}

interface LeaseFile {
  owner: string;
  expires: number;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

function parse(bytes: Uint8Array): LeaseFile | undefined {
  try {
    const v = JSON.parse(decoder.decode(bytes));
    return typeof v?.owner === "string" && typeof v?.expires === "number" ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Series leases in a cache.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openCacheStores } from "../cache/open_cache_stores.ts";
 * import { SyncLeases } from "./sync_lease.ts";
 * const dir = await Deno.makeTempDir();
 * const { files } = await openCacheStores({ dir });
 * const a = new SyncLeases(files!, { ttlMs: 60_000 });
 * const b = new SyncLeases(files!, { ttlMs: 60_000 });
 * const held = await a.claim("um/klines/BTCUSDT/1m");
 * assert.ok(held);
 * assert.equal(await b.claim("um/klines/BTCUSDT/1m"), undefined);
 * await held.release();
 * const again = await b.claim("um/klines/BTCUSDT/1m");
 * assert.ok(again);
 * await again.release();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class SyncLeases {
  readonly #files: CacheFiles;
  readonly #owner = crypto.randomUUID();
  readonly #ttlMs: number;
  readonly #now: () => number;

  /**
   * @param files The cache's files.
   * @param options How long a lease lasts unless renewed (renewed every third of it), the clock.
   */
  constructor(files: CacheFiles, options: { ttlMs?: number; now?: () => number } = {}) {
    this.#files = files;
    this.#ttlMs = options.ttlMs ?? 30_000;
    this.#now = options.now ?? Date.now;
  }

  #key(series: string): string {
    return `v1/sync/leases/${encodeURIComponent(series).replaceAll("%2F", "~")}.json`;
  }

  async #write(key: string): Promise<boolean> {
    const body = encoder.encode(JSON.stringify({
      owner: this.#owner,
      expires: this.#now() + this.#ttlMs,
    }));
    // Another live holder's lease is kept; an ended one (or ours) is replaced.
    await this.#files.write(key, body, (existing) => {
      const lease = parse(existing);
      return lease !== undefined && lease.owner !== this.#owner && lease.expires > this.#now();
    });
    // Read back: of two processes that wrote at once, one file stands.
    const read = await this.#files.read(key);
    return read !== undefined && parse(read.bytes)?.owner === this.#owner;
  }

  /**
   * Takes a series' lease.
   *
   * @param series The series key.
   * @returns The lease, or undefined when another process holds it.
   */
  async claim(series: string): Promise<SeriesLease | undefined> {
    const key = this.#key(series);
    if (!await this.#write(key)) return undefined;
    let renewing: Promise<unknown> = Promise.resolve();
    const timer = setInterval(() => {
      renewing = this.#write(key).catch(() => false);
    }, Math.max(1, Math.floor(this.#ttlMs / 3)));
    return {
      release: async () => {
        clearInterval(timer);
        await renewing;
        const read = await this.#files.read(key).catch(() => undefined);
        if (read && parse(read.bytes)?.owner === this.#owner) await this.#files.remove(key);
      },
    };
  }
}
