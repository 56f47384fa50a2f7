/**
 * The cache of the engine: the Arrow IPC partition store, or a disabled
 * cache when there is none (switched off, or no filesystem permission).
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";
import type { KlineStore } from "../cache/kline_store.ts";
import { openKlineStore } from "../cache/open_kline_store.ts";
import type { CachedRows, CachePort, CacheWriteMeta, SeriesPartition } from "./source_ports.ts";

/** Where the cache lives. */
export interface CacheOptions {
  /** Cache root. @default {DSM_CACHE_DIR, else the platform cache folder + "/dsm"} */
  dir?: string;
}

/** A cache that holds nothing and writes nothing. */
export const DISABLED_CACHE: CachePort = {
  enabled: false,
  present: () => Promise.resolve(new Set()),
  read: () => Promise.resolve(undefined),
  write: () => Promise.resolve(false),
};

/** Adapts a {@linkcode KlineStore} to the engine's {@linkcode CachePort}. */
export class StoreCachePort implements CachePort {
  readonly #store: KlineStore;

  /**
   * Creates the instance.
   *
   * @param store The partition store.
   */
  constructor(store: KlineStore) {
    this.#store = store;
  }

  /** The store behind the port (for maintenance). */
  get store(): KlineStore {
    return this.#store;
  }

  /** Whether anything is cached. */
  get enabled(): boolean {
    return this.#store.enabled;
  }

  /** The partition keys with a file in the series' folder. */
  present(series: Omit<SeriesPartition, "partition">): Promise<Set<string>> {
    const { market, symbol, interval } = series;
    return this.#store.partitions({ market, symbol, interval });
  }

  /** Reads and validates a partition. */
  async read(key: SeriesPartition): Promise<CachedRows | undefined> {
    const hit = await this.#store.read(key);
    if (!hit) return undefined;
    const { source, gaps, rows, firstOpenTime, lastOpenTime, anomalies } = hit.metadata;
    return {
      batches: hit.batches,
      origin: source,
      gaps,
      rows,
      first: firstOpenTime,
      last: lastOpenTime,
      anomalies,
    };
  }

  /** Writes a closed, complete partition atomically. */
  write(
    key: SeriesPartition,
    batches: RecordBatch[],
    meta: CacheWriteMeta,
  ): Promise<boolean> {
    return this.#store.write(key, batches, {
      source: meta.origin,
      visionSha256: meta.origin === "VISION" ? meta.sha256 : undefined,
      complete: true,
      gaps: meta.gaps,
      anomalies: meta.anomalies,
    });
  }
}

/**
 * Opens the cache port for a manager.
 *
 * @param options Cache options, or false for none.
 * @param logger Debug messages (cache switched off, files set aside).
 * @param now The clock.
 * @returns The port; disabled when `false` or without filesystem permission.
 */
export async function openCachePort(
  options: CacheOptions | false | undefined,
  logger?: (message: string) => void,
  now?: () => number,
): Promise<CachePort> {
  if (options === false) return DISABLED_CACHE;
  const store = await openKlineStore({ dir: options?.dir, logger, now });
  return store.enabled ? new StoreCachePort(store) : DISABLED_CACHE;
}
