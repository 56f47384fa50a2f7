/**
 * The results of cache maintenance that found nothing, shared by the fs
 * store (as starting totals) and the store that keeps nothing.
 *
 * @module
 */
import type { CacheStats, CacheTotals, VerifyReport } from "./kline_store.ts";

/** New zero totals, of a whole cache or of one series. */
export function zeroTotals(): CacheTotals {
  return { partitions: 0, rows: 0, bytes: 0, restPartitions: 0, unreadable: 0 };
}

/** New stats of an empty cache. */
export function emptyStats(): CacheStats {
  return { ...zeroTotals(), series: [] };
}

/** A new report of a verify that checked nothing. */
export function emptyVerifyReport(): VerifyReport {
  return { checked: 0, ok: 0, corrupt: [], stale: [], upgradable: [], removedTemp: 0, refused: [] };
}
