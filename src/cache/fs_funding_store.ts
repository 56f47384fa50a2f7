/**
 * The funding rate partitions of the file cache: one Arrow IPC file per
 * closed month at `{root}/v1/binance/{um|cm}/fundingRate/{SYMBOL}/{YYYY-MM}.arrow`,
 * beside the kline folders, with the same guarantees: validated on read (a
 * damaged or foreign file is set aside and fetched again), written
 * atomically, never through a link out of the root, Vision never replaced
 * by REST.
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";
import {
  type DecodedFundingIpc,
  decodeFundingIpc,
  decodeFundingIpcMetadata,
  encodeFundingIpc,
  type FundingIpcMetadata,
} from "../codec/funding_ipc.ts";
import { InvalidDatasetError } from "../core/errors.ts";
import { type Market, parseMarket } from "../core/market.ts";
import { checkSymbol } from "./_kline_paths.ts";
import {
  FsPartitionStore,
  type FsPartitionStoreOptions,
  type PartitionEntry,
  type PartitionKind,
  type PartitionVerifyReport,
  type PartitionWriteMeta,
  type PlacedMetadata,
} from "./fs_partition_store.ts";

/** One month of one symbol's funding rates. */
export interface FundingPartitionKey {
  /** Market, `um` or `cm`. */
  market: Market;
  /** Symbol, canonical (upper case). */
  symbol: string;
  /** The month, `YYYY-MM`. */
  partition: string;
}

/** What the writer states about a funding partition: source and Vision checksum. */
export type FundingPartitionMeta = PartitionWriteMeta;

/** The funding partitions of a cache: read, and write closed months. */
export interface FundingStore {
  /** Reads a month; undefined when absent, or found damaged (then set aside). */
  read(key: FundingPartitionKey): Promise<DecodedFundingIpc | undefined>;
  /** Writes a closed month atomically; false when read-only or a Vision file is kept. */
  write(
    key: FundingPartitionKey,
    batches: readonly RecordBatch[],
    meta: FundingPartitionMeta,
  ): Promise<boolean>;
}

/** Options of {@linkcode FsFundingStore}: read-only mode, clock, logger. */
export type FsFundingStoreOptions = FsPartitionStoreOptions;

/** Which funding partitions a maintenance call selects. */
export interface FundingFilter {
  /** Only this market. */
  market?: "um" | "cm";
  /** Only this symbol (canonical). */
  symbol?: string;
  /** Only months ending after this epoch ms. */
  start?: number;
  /** Only months starting before this epoch ms. */
  end?: number;
}

/** A funding partition file found by {@linkcode FsFundingStore.list}. */
export type FundingCacheEntry = PartitionEntry<FundingPartitionKey>;

/** What {@linkcode FsFundingStore.verify} found. */
export type FundingVerifyReport = PartitionVerifyReport<FundingPartitionKey>;

const DATASET = "fundingRate";

function placed(m: FundingIpcMetadata): PlacedMetadata {
  return { ...m, firstTime: m.firstFundingTime, lastTime: m.lastFundingTime };
}

/**
 * Funding partitions for {@linkcode FsPartitionStore}: `fundingRate`
 * folders of um and cm, one file per month, times in ms.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FUNDING_KIND } from "./fs_funding_store.ts";
 * assert.equal(FUNDING_KIND.period, "month");
 * assert.deepEqual(FUNDING_KIND.datasets, { fundingRate: ["um", "cm"] });
 * assert.throws(
 *   () => FUNDING_KIND.place({ market: "spot", symbol: "BTCUSDT", partition: "2024-01" }),
 *   { code: "INVALID_DATASET" },
 * );
 * ```
 */
export const FUNDING_KIND: PartitionKind<FundingPartitionKey, DecodedFundingIpc> = {
  rows: "events",
  period: "month",
  timeScale: 1,
  datasets: { [DATASET]: ["um", "cm"] },
  place(key) {
    const market = parseMarket(key.market);
    if (market === "spot") {
      throw new InvalidDatasetError(
        DATASET,
        `Invalid dataset "${DATASET}": not published for spot (markets: um, cm)`,
      );
    }
    const symbol = checkSymbol(key.symbol, market);
    return { market, dataset: DATASET, symbol, partition: key.partition };
  },
  keyOf: ({ market, symbol, partition }) => ({ market, symbol, partition }),
  describe: (p) => `funding rates ${p.market} ${p.symbol} "${p.partition}"`,
  decode(bytes, _place, file) {
    const decoded = decodeFundingIpc(bytes, { file });
    return { decoded, meta: placed(decoded.metadata) };
  },
  metadata: (bytes) => placed(decodeFundingIpcMetadata(bytes)),
  encode: (batches, place, meta, writtenAt) =>
    encodeFundingIpc(batches, {
      market: place.market,
      symbol: place.symbol,
      partition: place.partition,
      ...meta,
      writtenAt,
    }),
};

/**
 * Funding rate partitions in a cache folder.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { allocFundingColumns, fundingBatch } from "../core/funding_schema.ts";
 * import { FsFundingStore } from "./fs_funding_store.ts";
 * const root = await Deno.makeTempDir();
 * const store = new FsFundingStore(root, { now: () => Date.UTC(2025, 0, 1) });
 * const cols = allocFundingColumns(1);
 * cols.fundingTime[0] = Date.UTC(2024, 0, 1) + 1;
 * cols.fundingRate[0] = 0.0001;
 * const key = { market: "um", symbol: "BTCUSDT", partition: "2024-01" } as const;
 * assert.equal(await store.write(key, [fundingBatch(cols, 1)], { source: "REST" }), true);
 * const got = await store.read(key);
 * assert.equal(got?.metadata.rows, 1);
 * assert.equal(got?.batches[0].getChild("funding_rate")?.get(0), 0.0001);
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export class FsFundingStore extends FsPartitionStore<FundingPartitionKey, DecodedFundingIpc>
  implements FundingStore {
  /**
   * Creates the instance (no I/O).
   *
   * @param root The cache root (the folder holding `v1/`).
   * @param options Read-only mode, clock, logger.
   */
  constructor(root: string, options: FsFundingStoreOptions = {}) {
    super(root, FUNDING_KIND, options);
  }
}
