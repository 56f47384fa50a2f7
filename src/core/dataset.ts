/**
 * Binance datasets and what the pipeline needs to know about each
 * (BINANCE.md section 4): which markets publish it, how Vision names its
 * archives, which periods exist, the REST endpoint and its limits, how the
 * cache partitions it, and whether its rows sit on an interval grid
 * (klines) or are events at their own times (funding rates).
 *
 * @module
 */
import { InvalidDatasetError } from "./errors.ts";
import { type Interval, partitionPeriod } from "./interval.ts";
import { klinesWeight, type Market } from "./market.ts";
import {
  type ArrowSchema,
  KLINE_COLUMN_NAMES,
  KLINE_SCHEMA,
  KLINE_SCHEMA_WITH_SOURCE,
} from "./schema.ts";
import { FUNDING_COLUMNS, FUNDING_SCHEMA, FUNDING_SCHEMA_WITH_SOURCE } from "./funding_schema.ts";
import {
  AGG_TRADE_COLUMNS,
  AGG_TRADE_SCHEMA,
  AGG_TRADE_SCHEMA_WITH_SOURCE,
  TRADE_COLUMNS,
  TRADE_SCHEMA,
  TRADE_SCHEMA_WITH_SOURCE,
} from "./trade_schema.ts";

const KLINE_SCHEMAS = { plain: KLINE_SCHEMA, withSource: KLINE_SCHEMA_WITH_SOURCE };

/** A Binance dataset this module fetches. */
export type Dataset =
  | "klines"
  | "markPriceKlines"
  | "indexPriceKlines"
  | "premiumIndexKlines"
  | "fundingRate"
  | "aggTrades"
  | "trades";

/** Every dataset, in a stable order. */
export const DATASETS: readonly Dataset[] = [
  "klines",
  "markPriceKlines",
  "indexPriceKlines",
  "premiumIndexKlines",
  "fundingRate",
  "aggTrades",
  "trades",
];

/** Vision archive periods. */
export type ArchivePeriod = "daily" | "monthly";

/** Static facts about a dataset. */
export interface DatasetInfo {
  /** The dataset id, also its Vision path segment and cache folder name. */
  readonly dataset: Dataset;
  /** Markets that publish it. */
  readonly markets: readonly Market[];
  /**
   * `grid`: one row per interval slot, named `{SYMBOL}-{interval}-{date}`
   * on Vision under an interval folder (klines and the price klines);
   * `events`: rows at their own times, named `{SYMBOL}-{dataset}-{date}`
   * (funding rates);
   * `trades`: one row per trade (aggTrades, trades), ordered by a
   * contiguous id, named `{SYMBOL}-{dataset}-{date}` without an interval
   * folder, cached by UTC day.
   */
  readonly series: "grid" | "events" | "trades";
  /** Vision publishes these periods. */
  readonly archivePeriods: readonly ArchivePeriod[];
  /** REST endpoint path per market. */
  readonly restPaths: Readonly<Partial<Record<Market, string>>>;
  /** The REST parameter that names the series: `symbol`, or `pair` for index prices. */
  readonly seriesParameter: "symbol" | "pair";
  /** Largest REST `limit` per market. */
  readonly maxLimit: Readonly<Partial<Record<Market, number>>>;
  /**
   * Column names of its Arrow schema, in order. The price klines keep the
   * kline names; their volume columns are printed as 0 and carry no
   * meaning, and `count` is the number of price samples in the candle.
   */
  readonly columns: readonly string[];
  /**
   * Whether the rows carry traded volumes (klines). The price klines print
   * 0 in their volume columns: a zero volume there is not an anomaly.
   */
  readonly tradeVolumes: boolean;
  /** Its Arrow schema, without and with the `_data_source` column. */
  readonly schema: { readonly plain: ArrowSchema; readonly withSource: ArrowSchema };
}

const KLINE_COLUMNS = KLINE_COLUMN_NAMES;

/** Columns of the funding rate schema (defined with the schema). */
export { FUNDING_COLUMNS };

function priceKlines(dataset: Dataset, endpoint: string, by: "symbol" | "pair"): DatasetInfo {
  return {
    dataset,
    markets: ["um", "cm"],
    series: "grid",
    archivePeriods: ["daily", "monthly"],
    restPaths: { um: `/fapi/v1/${endpoint}`, cm: `/dapi/v1/${endpoint}` },
    seriesParameter: by,
    maxLimit: { um: 1500, cm: 1500 },
    columns: KLINE_COLUMNS,
    tradeVolumes: false,
    schema: KLINE_SCHEMAS,
  };
}

const INFO: Record<Dataset, DatasetInfo> = {
  klines: {
    dataset: "klines",
    markets: ["spot", "um", "cm"],
    series: "grid",
    archivePeriods: ["daily", "monthly"],
    restPaths: { spot: "/api/v3/klines", um: "/fapi/v1/klines", cm: "/dapi/v1/klines" },
    seriesParameter: "symbol",
    maxLimit: { spot: 1000, um: 1500, cm: 1500 },
    columns: KLINE_COLUMNS,
    tradeVolumes: true,
    schema: KLINE_SCHEMAS,
  },
  markPriceKlines: priceKlines("markPriceKlines", "markPriceKlines", "symbol"),
  indexPriceKlines: priceKlines("indexPriceKlines", "indexPriceKlines", "pair"),
  premiumIndexKlines: priceKlines("premiumIndexKlines", "premiumIndexKlines", "symbol"),
  fundingRate: {
    dataset: "fundingRate",
    markets: ["um", "cm"],
    series: "events",
    archivePeriods: ["monthly"],
    restPaths: { um: "/fapi/v1/fundingRate", cm: "/dapi/v1/fundingRate" },
    seriesParameter: "symbol",
    maxLimit: { um: 1000, cm: 1000 },
    columns: FUNDING_COLUMNS,
    tradeVolumes: false,
    schema: { plain: FUNDING_SCHEMA, withSource: FUNDING_SCHEMA_WITH_SOURCE },
  },
  aggTrades: {
    dataset: "aggTrades",
    markets: ["spot", "um", "cm"],
    series: "trades",
    archivePeriods: ["daily", "monthly"],
    restPaths: { spot: "/api/v3/aggTrades", um: "/fapi/v1/aggTrades", cm: "/dapi/v1/aggTrades" },
    seriesParameter: "symbol",
    maxLimit: { spot: 1000, um: 1000, cm: 1000 },
    columns: AGG_TRADE_COLUMNS,
    tradeVolumes: false,
    schema: { plain: AGG_TRADE_SCHEMA, withSource: AGG_TRADE_SCHEMA_WITH_SOURCE },
  },
  trades: {
    dataset: "trades",
    markets: ["spot", "um", "cm"],
    series: "trades",
    archivePeriods: ["daily", "monthly"],
    // Plain trades over REST need `historicalTrades` (weight 25 a call on
    // spot): too costly to be a fallback. Vision is their source.
    restPaths: {},
    seriesParameter: "symbol",
    maxLimit: {},
    columns: TRADE_COLUMNS,
    tradeVolumes: false,
    schema: { plain: TRADE_SCHEMA, withSource: TRADE_SCHEMA_WITH_SOURCE },
  },
};

/**
 * Facts about a dataset.
 *
 * @param dataset The dataset.
 * @returns Its descriptor.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { datasetInfo } from "./dataset.ts";
 * assert.deepEqual(datasetInfo("fundingRate").archivePeriods, ["monthly"]);
 * assert.equal(datasetInfo("indexPriceKlines").seriesParameter, "pair");
 * assert.equal(datasetInfo("markPriceKlines").restPaths.cm, "/dapi/v1/markPriceKlines");
 * ```
 */
export function datasetInfo(dataset: Dataset): DatasetInfo {
  return INFO[dataset];
}

/**
 * Checks a dataset name, and that the market publishes it.
 *
 * @param value The dataset name; `undefined` means `klines`.
 * @param market The market, when known.
 * @returns The dataset.
 * @throws {InvalidDatasetError} For an unknown name or a market without it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseDataset } from "./dataset.ts";
 * assert.equal(parseDataset(undefined), "klines");
 * assert.equal(parseDataset("fundingRate", "um"), "fundingRate");
 * assert.throws(() => parseDataset("fundingRate", "spot"), /not published for spot/);
 * assert.throws(() => parseDataset("funding"), /Invalid dataset "funding"/);
 * ```
 */
export function parseDataset(value: unknown, market?: Market): Dataset {
  if (value === undefined) return "klines";
  if (typeof value !== "string" || !Object.hasOwn(INFO, value)) {
    throw new InvalidDatasetError(
      value,
      `Invalid dataset ${JSON.stringify(value)}: expected one of ${DATASETS.join(", ")}`,
    );
  }
  const dataset = value as Dataset;
  if (market !== undefined && !INFO[dataset].markets.includes(market)) {
    throw new InvalidDatasetError(
      value,
      `Invalid dataset "${dataset}": not published for ${market} ` +
        `(markets: ${INFO[dataset].markets.join(", ")})`,
    );
  }
  return dataset;
}

/**
 * How the cache and the planner split a series: by UTC day or by calendar
 * month. Grid datasets follow their interval (1s..1d by day; 3d, 1w, 1M by
 * month); funding rates, published monthly, by month; trades by day.
 *
 * @param dataset The dataset.
 * @param interval The interval of a grid dataset.
 * @returns `"day"` or `"month"`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { datasetPartitionPeriod } from "./dataset.ts";
 * assert.equal(datasetPartitionPeriod("markPriceKlines", "1h"), "day");
 * assert.equal(datasetPartitionPeriod("fundingRate"), "month");
 * assert.equal(datasetPartitionPeriod("aggTrades"), "day");
 * ```
 */
export function datasetPartitionPeriod(dataset: Dataset, interval?: Interval): "day" | "month" {
  if (INFO[dataset].series === "events") return "month";
  if (INFO[dataset].series === "trades") return "day";
  if (interval === undefined) {
    throw new TypeError(`Cannot partition ${dataset} without an interval`);
  }
  return partitionPeriod(interval);
}

/**
 * The request weight of one REST call. Klines and price klines are charged
 * by `limit` (spot klines 2; futures 1, 2, 5 or 10); a funding rate call is
 * counted as 1 here, and is also bound by its own limit of 500 requests per
 * 5 minutes and IP ({@linkcode FUNDING_RATE_REQUESTS_PER_5_MIN}); an
 * aggTrades call weighs 4 on spot and 20 on futures, whatever its limit.
 *
 * @param dataset The dataset.
 * @param market The market.
 * @param limit The `limit` sent.
 * @returns The weight.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { restWeight } from "./dataset.ts";
 * assert.equal(restWeight("klines", "spot", 1000), 2);
 * assert.equal(restWeight("markPriceKlines", "um", 1500), 10);
 * assert.equal(restWeight("fundingRate", "cm", 1000), 1);
 * assert.equal(restWeight("aggTrades", "spot", 1000), 4);
 * assert.equal(restWeight("aggTrades", "um", 1000), 20);
 * ```
 */
export function restWeight(dataset: Dataset, market: Market, limit: number): number {
  const series = INFO[dataset].series;
  if (series === "trades") return market === "spot" ? 4 : 20;
  return series === "events" ? 1 : klinesWeight(market, limit);
}

/** fapi's own limit on `fundingRate` (shared with `fundingInfo`): requests per 5 minutes and IP. */
export const FUNDING_RATE_REQUESTS_PER_5_MIN = 500;

/**
 * `{ dataset }` for datasets other than klines, `{}` for klines: spread into
 * keys and requests so that klines ones keep their shape.
 *
 * @param dataset The dataset.
 * @returns The field, or none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { datasetField } from "./dataset.ts";
 * assert.deepEqual(datasetField("klines"), {});
 * assert.deepEqual(datasetField("markPriceKlines"), { dataset: "markPriceKlines" });
 * ```
 */
export function datasetField(dataset: Dataset): { dataset?: Dataset } {
  return dataset === "klines" ? {} : { dataset };
}
