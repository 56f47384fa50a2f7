/**
 * The Vision listing as `dsm sync` needs it: the symbols of a market's
 * dataset, and when a series' first archive starts.
 *
 * @module
 */
import type { Dataset } from "../core/dataset.ts";
import type { Interval } from "../core/interval.ts";
import type { Market } from "../core/market.ts";
import { listVisionSymbols, seriesAvailability } from "../source/availability_listing.ts";
import type { ListVisionOptions } from "../source/vision_listing.ts";
import type { SyncIndex, SyncSeries } from "./sync_run.ts";

/**
 * A {@linkcode SyncIndex} over the Vision listing.
 *
 * @param options Listing URL, fetch, time-out, retry, signal.
 * @returns The index (symbol lists are listed once per market and dataset).
 */
export function visionSyncIndex(options: ListVisionOptions = {}): SyncIndex {
  const symbols = new Map<string, Promise<string[]>>();
  return {
    symbols(market: Market, dataset: Dataset, _interval?: Interval): Promise<string[]> {
      const key = `${market}/${dataset}`;
      let listed = symbols.get(key);
      if (!listed) symbols.set(key, listed = listVisionSymbols({ market, dataset }, options));
      return listed;
    },
    async firstArchive(series: SyncSeries): Promise<number | undefined> {
      const got = await seriesAvailability(series, options);
      const firsts = [
        got.daily.first && Date.parse(`${got.daily.first}T00:00:00Z`),
        got.monthly.first && Date.parse(`${got.monthly.first}-01T00:00:00Z`),
      ].filter((t): t is number => typeof t === "number" && Number.isFinite(t));
      return firsts.length === 0 ? undefined : Math.min(...firsts);
    },
  };
}
