/**
 * The trade partitions of the file cache: one Arrow IPC file per closed UTC
 * day at `{root}/v1/binance/{spot|um|cm}/{aggTrades|trades}/{SYMBOL}/{YYYY-MM-DD}.arrow`,
 * beside the kline folders, with the guarantees of every partition store
 * ({@linkcode FsPartitionStore}): validated on read (a damaged or foreign
 * file is set aside and fetched again), written atomically, never through a
 * link out of the root, Vision never replaced by REST. The fetch asks which
 * days of a month are cached ({@linkcode FsTradeStore.days}) without
 * reading them.
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";
import {
  type DecodedTradeIpc,
  decodeTradeIpc,
  decodeTradeIpcMetadata,
  encodeTradeIpc,
} from "../codec/trade_ipc.ts";
import { InvalidDatasetError } from "../core/errors.ts";
import { type Market, MARKETS, parseMarket } from "../core/market.ts";
import { TRADE_DATASETS, type TradeDataset } from "../core/trade_schema.ts";
import { checkSymbol } from "./_kline_paths.ts";
import {
  FsPartitionStore,
  type FsPartitionStoreOptions,
  type PartitionEntry,
  type PartitionKind,
  type PartitionVerifyReport,
  type PartitionWriteMeta,
} from "./fs_partition_store.ts";

/** The trades of one symbol in one dataset and market: a series of day files. */
export interface TradeSeries {
  /** Market. */
  market: Market;
  /** `aggTrades` or `trades`. */
  dataset: TradeDataset;
  /** Symbol, canonical (upper case; spot names may be non-ASCII, NFC). */
  symbol: string;
}

/** One UTC day of a trade series. */
export interface TradePartitionKey extends TradeSeries {
  /** The day, `YYYY-MM-DD`. */
  day: string;
}

/** What the writer states about a trade partition: source and Vision checksum. */
export type TradePartitionMeta = PartitionWriteMeta;

/** Options of {@linkcode FsTradeStore}: read-only mode, clock, logger. */
export type FsTradeStoreOptions = FsPartitionStoreOptions;

/** Which trade partitions a maintenance call selects; every field narrows the selection. */
export interface TradeFilter {
  /** Only this market. */
  market?: Market;
  /** Only this dataset. */
  dataset?: TradeDataset;
  /** Only this symbol (canonical). */
  symbol?: string;
  /** Only days ending after this epoch ms. */
  start?: number;
  /** Only days starting before this epoch ms. */
  end?: number;
}

/** A trade partition file found by {@linkcode FsTradeStore.list}. */
export type TradeCacheEntry = PartitionEntry<TradePartitionKey>;

/** What {@linkcode FsTradeStore.verify} found. */
export type TradeVerifyReport = PartitionVerifyReport<TradePartitionKey>;

/** The days of a series to look for, `[start, end)` epoch ms. */
export interface TradeDaysRange {
  /** Days ending after this time. @default {-Infinity} */
  start?: number;
  /** Days starting before this time. @default {Infinity} */
  end?: number;
}

/** The trade partitions of a cache: read, look up and write closed days. */
export interface TradeStore {
  /** Reads a day; undefined when absent, or found damaged (then set aside). */
  read(key: TradePartitionKey): Promise<DecodedTradeIpc | undefined>;
  /** Whether a day's file is there (not read). */
  has(key: TradePartitionKey): Promise<boolean>;
  /** The days of a series with a file, `YYYY-MM-DD` in order (not read). */
  days(series: TradeSeries, range?: TradeDaysRange): Promise<string[]>;
  /** Writes a closed day atomically; false when read-only or a Vision file is kept. */
  write(
    key: TradePartitionKey,
    batches: readonly RecordBatch[],
    meta: TradePartitionMeta,
  ): Promise<boolean>;
}

function checkDataset(value: unknown): TradeDataset {
  if ((TRADE_DATASETS as readonly unknown[]).includes(value)) return value as TradeDataset;
  throw new InvalidDatasetError(
    value,
    `Invalid dataset ${JSON.stringify(value)}: expected one of ${TRADE_DATASETS.join(", ")}`,
  );
}

/**
 * Trade partitions for {@linkcode FsPartitionStore}: `aggTrades` and
 * `trades` folders of every market, one file per UTC day, times in µs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TRADE_KIND } from "./fs_trade_store.ts";
 * assert.equal(TRADE_KIND.timeScale, 1000);
 * const key = { market: "um", dataset: "trades", symbol: "BTCUSDT", day: "2024-01-01" } as const;
 * assert.equal(TRADE_KIND.place(key).partition, "2024-01-01");
 * assert.deepEqual(TRADE_KIND.keyOf(TRADE_KIND.place(key)), key);
 * assert.throws(() => TRADE_KIND.place({ ...key, dataset: "klines" as "trades" }), {
 *   code: "INVALID_DATASET",
 * });
 * ```
 */
export const TRADE_KIND: PartitionKind<TradePartitionKey, DecodedTradeIpc> = {
  rows: "trades",
  period: "day",
  timeScale: 1000,
  datasets: { aggTrades: MARKETS, trades: MARKETS },
  place(key) {
    const dataset = checkDataset(key.dataset);
    const market = parseMarket(key.market);
    return { market, dataset, symbol: checkSymbol(key.symbol, market), partition: key.day };
  },
  keyOf: ({ market, dataset, symbol, partition }) => ({
    market,
    dataset: dataset as TradeDataset,
    symbol,
    day: partition,
  }),
  describe: (p) => `${p.dataset} ${p.market} ${p.symbol} "${p.partition}"`,
  decode(bytes, place, file) {
    const decoded = decodeTradeIpc(bytes, { dataset: place.dataset as TradeDataset, file });
    return { decoded, meta: decoded.metadata };
  },
  metadata: (bytes, place) =>
    decodeTradeIpcMetadata(bytes, { dataset: place.dataset as TradeDataset }),
  encode: (batches, place, meta, writtenAt) =>
    encodeTradeIpc(batches, {
      dataset: place.dataset as TradeDataset,
      market: place.market,
      symbol: place.symbol,
      partition: place.partition,
      ...meta,
      writtenAt,
    }),
};

/**
 * Trade partitions (aggTrades, trades) in a cache folder.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeTradeCsv } from "../codec/trade_csv.ts";
 * import { FsTradeStore } from "./fs_trade_store.ts";
 * const root = await Deno.makeTempDir();
 * const store = new FsTradeStore(root, { now: () => Date.UTC(2025, 0, 3) });
 * const csv = new TextEncoder().encode("7,93422.4,0.5,10,12,1735689600000,true\n");
 * const rows = decodeTradeCsv(csv, { dataset: "aggTrades", market: "um" });
 * const key = { market: "um", dataset: "aggTrades", symbol: "BTCUSDT", day: "2025-01-01" } as const;
 * assert.equal(await store.write(key, rows, { source: "VISION", visionSha256: "ab" }), true);
 * assert.equal(await store.has(key), true);
 * assert.deepEqual(await store.days(key), ["2025-01-01"]);
 * const got = await store.read(key);
 * assert.equal(got?.metadata.firstId, 7);
 * assert.equal(got?.batches[0].getChild("is_buyer_maker")?.get(0), true);
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export class FsTradeStore extends FsPartitionStore<TradePartitionKey, DecodedTradeIpc>
  implements TradeStore {
  /**
   * Creates the instance (no I/O).
   *
   * @param root The cache root (the folder holding `v1/`).
   * @param options Read-only mode, clock, logger.
   */
  constructor(root: string, options: FsTradeStoreOptions = {}) {
    super(root, TRADE_KIND, options);
  }

  /**
   * The days of a series with a partition file, without reading them: what
   * the fetch needs to plan a month.
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
