/**
 * The trade partitions of a cache in an object store: one object per closed
 * UTC day at `v1/binance/{market}/{aggTrades|trades}/{SYMBOL}/{YYYY-MM-DD}.arrow`
 * under the store's prefix, the file cache's keys and bytes, with the rules
 * of {@linkcode ObjectPartitionStore}.
 *
 * @module
 */
import type { DecodedTradeIpc } from "../codec/trade_ipc.ts";
import {
  TRADE_KIND,
  type TradeDaysRange,
  type TradePartitionKey,
  type TradeSeries,
  type TradeStore,
} from "./fs_trade_store.ts";
import {
  ObjectPartitionStore,
  type ObjectPartitionStoreOptions,
} from "./object_partition_store.ts";
import type { ObjectStore } from "./object_store.ts";

/**
 * Trade partitions (aggTrades, trades) in an object store.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeTradeCsv } from "../codec/trade_csv.ts";
 * import { MemoryObjectStore } from "./object_store.ts";
 * import { ObjectTradeStore } from "./object_trade_store.ts";
 * const objects = new MemoryObjectStore("s3://bucket/dsm");
 * const store = new ObjectTradeStore(objects, { now: () => Date.UTC(2025, 0, 3) });
 * const csv = new TextEncoder().encode("7,93422.4,0.5,10,12,1735689600000,true\n");
 * const rows = decodeTradeCsv(csv, { dataset: "aggTrades", market: "um" });
 * const key = { market: "um", dataset: "aggTrades", symbol: "BTCUSDT", day: "2025-01-01" } as const;
 * assert.equal(await store.write(key, rows, { source: "VISION", visionSha256: "ab" }), true);
 * assert.ok(await objects.head("v1/binance/um/aggTrades/BTCUSDT/2025-01-01.arrow"));
 * assert.deepEqual(await store.days(key), ["2025-01-01"]);
 * assert.equal((await store.read(key))?.metadata.firstId, 7);
 * ```
 */
export class ObjectTradeStore extends ObjectPartitionStore<TradePartitionKey, DecodedTradeIpc>
  implements TradeStore {
  /**
   * Creates the instance (no I/O).
   *
   * @param store The object store (keys relative to its prefix).
   * @param options Read-only mode, clock, logger.
   */
  constructor(store: ObjectStore, options: ObjectPartitionStoreOptions = {}) {
    super(store, TRADE_KIND, options);
  }

  /**
   * The days of a series with an object, from one LIST (nothing is read).
   *
   * @param series Market, dataset, symbol.
   * @param range Only days overlapping `[start, end)` epoch ms.
   * @returns Day keys, `YYYY-MM-DD`, in order.
   * @throws {TypeError} When the series is invalid (before any I/O).
   */
  async days(series: TradeSeries, range: TradeDaysRange = {}): Promise<string[]> {
    const { market, dataset, symbol } = TRADE_KIND.place({ ...series, day: "" });
    const files = await this.list({ market, dataset, symbol, ...range });
    return files.map((f) => f.key.day);
  }
}
