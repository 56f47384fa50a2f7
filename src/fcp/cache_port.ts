/**
 * The cache of the engine: the Arrow IPC partition store, or a disabled
 * cache when there is none (switched off, or no filesystem permission).
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";
import type { CorruptPartition, KlineStore, PartitionKey } from "../cache/kline_store.ts";
import { openKlineStore } from "../cache/open_kline_store.ts";
import type {
  CachedRows,
  CachePort,
  CacheReadEvents,
  CacheWriteMeta,
  SeriesPartition,
} from "./source_ports.ts";

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
  readonly #setAside: Map<string, string>;

  /**
   * Creates the instance.
   *
   * @param store The partition store.
   * @param setAside Why files were set aside by reads, by `"market symbol interval
   *   partition"` (filled by the store's `onCorrupt`), so that a read can tell its caller.
   */
  constructor(store: KlineStore, setAside: Map<string, string> = new Map()) {
    this.#store = store;
    this.#setAside = setAside;
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
    const { dataset, market, symbol, interval } = series;
    return this.#store.partitions({ ...(dataset ? { dataset } : {}), market, symbol, interval });
  }

  /** Reads and validates a partition; a corrupt file is set aside and `events` hears why. */
  async read(key: SeriesPartition, events?: CacheReadEvents): Promise<CachedRows | undefined> {
    const hit = await this.#store.read(key);
    if (!hit) {
      const id = corruptKey(key);
      const reason = this.#setAside.get(id);
      if (reason !== undefined) {
        this.#setAside.delete(id);
        events?.onSetAside?.(reason);
      }
      return undefined;
    }
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
  const setAside = new Map<string, string>();
  const onCorrupt = (event: CorruptPartition) => setAside.set(corruptKey(event.key), event.reason);
  const store = await openKlineStore({ dir: options?.dir, logger, now, onCorrupt });
  return store.enabled ? new StoreCachePort(store, setAside) : DISABLED_CACHE;
}

/** The identity of a partition in the set-aside record: `market symbol interval partition`. */
function corruptKey(key: PartitionKey): string {
  const dataset = key.dataset ? `${key.dataset} ` : "";
  return `${dataset}${key.market} ${key.symbol.normalize("NFC")} ${key.interval} ${key.partition}`;
}
