/**
 * Mark, index and premium index price klines through the pipeline: exact
 * against the emulator's exchange through auto, vision, rest and the cache,
 * for um and cm.
 */
import assert from "node:assert/strict";
import { startEmulator } from "../../src/emulator/emulator.ts";
import { DataSourceManager } from "../../src/fcp/data_source_manager.ts";
import type { CandleDataset } from "../../src/fcp/kline_request.ts";
import { assertRows, groundTruth, sourceCounts } from "./_ground_truth.ts";

const NOW = Date.UTC(2024, 6, 3, 12);
const RETRY = { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 };
/** A closed month (its monthly archive), days of the next month (daily archives), and today (REST). */
const START = Date.UTC(2024, 5, 1);
const END = NOW;

const SERIES: [CandleDataset, "um" | "cm", string][] = [
  ["markPriceKlines", "um", "BTCUSDT"],
  ["indexPriceKlines", "um", "BTCUSDT"],
  ["premiumIndexKlines", "um", "ETHUSDT"],
  ["markPriceKlines", "cm", "BTCUSD_PERP"],
  ["indexPriceKlines", "cm", "BTCUSD"],
  ["premiumIndexKlines", "cm", "BTCUSD_PERP"],
];

for (const [dataset, market, symbol] of SERIES) {
  Deno.test(`Price klines: ${market} ${dataset} ${symbol} exact through auto, vision, rest and the cache`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      await using emulator = await startEmulator({ now: NOW });
      const url = emulator.url;
      await using dsm = new DataSourceManager({
        market,
        cache: { dir },
        now: () => NOW,
        retry: RETRY,
        endpoints: { vision: url, listing: url, rest: url },
      });
      const request = { dataset, symbol, interval: "1h", start: START, end: END } as const;
      const truth = groundTruth(market, symbol, "1h", START, END, { dataset });
      assert.ok(truth.length > 700);
      const first = await dsm.getDataWithReport(request);
      assertRows(first.table, truth);
      assert.equal(first.report.dataset, dataset);
      assert.deepEqual(first.report.anomalies, [], "price klines print volume 0: not an anomaly");
      assert.deepEqual(first.report.gaps, []);
      const sources = sourceCounts(first.table);
      assert.ok(sources.VISION > 0 && sources.REST > 0, JSON.stringify(sources));
      for (const source of ["vision", "rest"] as const) {
        const t = await dsm.getData({ ...request, end: Date.UTC(2024, 6, 2), source });
        assertRows(t, groundTruth(market, symbol, "1h", START, Date.UTC(2024, 6, 2), { dataset }));
      }
      const cached = await dsm.getDataWithReport({
        ...request,
        end: Date.UTC(2024, 6, 2),
        source: "cache",
      });
      assertRows(
        cached.table,
        groundTruth(market, symbol, "1h", START, Date.UTC(2024, 6, 2), { dataset }),
      );
      assert.deepEqual(Object.keys(sourceCounts(cached.table)), ["CACHE"]);
      // The klines of the same symbol are another series: not in this cache.
      if (dataset !== "indexPriceKlines") {
        const klines = await dsm.getDataWithReport({
          symbol,
          interval: "1h",
          start: START,
          end: Date.UTC(2024, 5, 2),
          source: "cache",
        });
        assert.equal(klines.table.numRows, 0);
        assert.equal(klines.report.partial, true);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
