/**
 * The cache and the fetch of `dsm sync`, over a {@linkcode DataSourceManager}
 * and the cache folder it uses.
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";
import { datasetField } from "../core/dataset.ts";
import type { CacheStores } from "../cache/open_cache_stores.ts";
import type { DataSourceManager } from "./data_source_manager.ts";
import type { FetchFailure } from "./fetch_report.ts";
import type { CandleDataset, KlineRequest } from "./kline_request.ts";
import { seriesKey, type SyncSeries, type SyncSources } from "./sync_run.ts";
import type { SyncLeases } from "./sync_lease.ts";

/** Gap classes that say the exchange has nothing there (not that a source failed). */
const CONFIRMED = new Set(["exchange", "not_listed", "off_grid"]);

async function drain(batches: ReadableStream<RecordBatch>): Promise<number> {
  let rows = 0;
  for await (const batch of batches) rows += batch.numRows;
  return rows;
}

/**
 * Sync's sources: cached partitions listed from the cache's stores (a
 * folder or an object store), fetches through the manager (rows dropped:
 * the cache is the product).
 *
 * @param dsm The manager (its cache option names the same cache as `stores`).
 * @param stores The stores of that cache.
 * @param leases Series leases in that cache (so that processes sharing it take turns).
 * @returns The sources.
 */
export function managerSyncSources(
  dsm: DataSourceManager,
  stores: CacheStores,
  leases?: SyncLeases,
): SyncSources {
  const { klines: store, funding, trades } = stores;
  return {
    ...(leases ? { claim: (series: SyncSeries) => leases.claim(seriesKey(series)) } : {}),
    async cached(series: SyncSeries): Promise<Set<string>> {
      const { market, dataset, symbol, interval } = series;
      if (dataset === "fundingRate") {
        if (!funding) return new Set();
        const files = await funding.list({ market, symbol });
        return new Set(files.map((f) => f.key.partition));
      }
      if (dataset === "aggTrades" || dataset === "trades") {
        return new Set(trades ? await trades.days({ market, dataset, symbol }) : []);
      }
      if (!store.enabled) return new Set();
      return await store.partitions({
        ...datasetField(dataset),
        market,
        symbol,
        interval: interval!,
      });
    },
    async fetch(series, start, end, signal) {
      const { market, dataset, symbol, interval } = series;
      const common = { market, symbol, start, end, includeSourceInfo: false };
      const failures: FetchFailure[] = [];
      const confirmedEmpty: { start: number; end: number }[] = [];
      if (dataset === "fundingRate") {
        const run = dsm.streamWithReport({ dataset, ...common }, { signal });
        const rows = await drain(run.batches);
        const report = await run.report;
        failures.push(...report.failures);
        return { rows, confirmedEmpty, failures };
      }
      if (dataset === "aggTrades" || dataset === "trades") {
        const run = dsm.streamWithReport({ dataset, ...common }, { signal });
        const rows = await drain(run.batches);
        const report = await run.report;
        failures.push(...report.failures);
        return { rows, confirmedEmpty, failures };
      }
      const request: KlineRequest = {
        ...(dataset === "klines" ? {} : { dataset: dataset as CandleDataset }),
        ...common,
        interval: interval!,
      };
      const run = dsm.streamWithReport(request, { signal });
      const rows = await drain(run.batches);
      const report = await run.report;
      failures.push(...report.failures);
      for (const gap of report.gaps) {
        if (CONFIRMED.has(gap.class)) confirmedEmpty.push({ start: gap.start, end: gap.end });
      }
      return { rows, confirmedEmpty, failures };
    },
  };
}
