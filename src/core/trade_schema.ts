/**
 * The fixed Arrow schemas of the two trade data sets of Binance Vision:
 * aggregate trades (`aggTrades`) and plain trades (`trades`).
 *
 * Times are microseconds in every market and year (Vision prints ms before
 * 2025 and on futures, µs on spot from 2025-01-01); ids are Int64; prices
 * and quantities Float64, bit-identical to `parseFloat` of the printed text.
 * A column one market does not print is null in that market's rows.
 *
 * @module
 */
import { Bool, Field, Float64, Int64, Schema, TimestampMicrosecond } from "apache-arrow";
import { type ArrowSchema, DATA_SOURCE_COLUMN, KLINE_SCHEMA_WITH_SOURCE } from "./schema.ts";

/** The two trade data sets, as Vision names their folders. */
export type TradeDataset = "aggTrades" | "trades";

/**
 * The trade data sets, in a fixed order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TRADE_DATASETS } from "./trade_schema.ts";
 * assert.deepEqual(TRADE_DATASETS, ["aggTrades", "trades"]);
 * ```
 */
export const TRADE_DATASETS: readonly TradeDataset[] = ["aggTrades", "trades"];

/**
 * Column names of {@linkcode AGG_TRADE_SCHEMA}, in order (Vision's CSV
 * column names: spot prints all eight, futures all but `is_best_match`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AGG_TRADE_COLUMNS } from "./trade_schema.ts";
 * assert.equal(AGG_TRADE_COLUMNS.length, 8);
 * assert.equal(AGG_TRADE_COLUMNS[5], "transact_time");
 * ```
 */
export const AGG_TRADE_COLUMNS = [
  "agg_trade_id",
  "price",
  "quantity",
  "first_trade_id",
  "last_trade_id",
  "transact_time",
  "is_buyer_maker",
  "is_best_match",
] as const;

/**
 * Column names of {@linkcode TRADE_SCHEMA}, in order. Vision prints
 * `id,price,qty,quote_qty,time,is_buyer_maker[,is_best_match]` on spot and
 * um, and `base_qty` in place of `quote_qty` on cm; the schema has both.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TRADE_COLUMNS } from "./trade_schema.ts";
 * assert.deepEqual(TRADE_COLUMNS.slice(3, 5), ["quote_qty", "base_qty"]);
 * ```
 */
export const TRADE_COLUMNS = [
  "id",
  "price",
  "qty",
  "quote_qty",
  "base_qty",
  "time",
  "is_buyer_maker",
  "is_best_match",
] as const;

const micros = () => new TimestampMicrosecond("UTC");

/**
 * The aggregate trade schema: `agg_trade_id`, `first_trade_id`,
 * `last_trade_id` (Int64), `price`, `quantity` (Float64), `transact_time`
 * (Timestamp µs UTC), `is_buyer_maker` (Bool), and `is_best_match` (Bool),
 * which is null on um and cm (futures files do not print it).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AGG_TRADE_SCHEMA } from "./trade_schema.ts";
 * assert.deepEqual(
 *   AGG_TRADE_SCHEMA.fields.map((f) => `${f.name} ${f.type} ${f.nullable}`),
 *   [
 *     "agg_trade_id Int64 false",
 *     "price Float64 false",
 *     "quantity Float64 false",
 *     "first_trade_id Int64 false",
 *     "last_trade_id Int64 false",
 *     "transact_time Timestamp<MICROSECOND, UTC> false",
 *     "is_buyer_maker Bool false",
 *     "is_best_match Bool true",
 *   ],
 * );
 * ```
 */
export const AGG_TRADE_SCHEMA: ArrowSchema = new Schema([
  new Field("agg_trade_id", new Int64(), false),
  new Field("price", new Float64(), false),
  new Field("quantity", new Float64(), false),
  new Field("first_trade_id", new Int64(), false),
  new Field("last_trade_id", new Int64(), false),
  new Field("transact_time", micros(), false),
  new Field("is_buyer_maker", new Bool(), false),
  new Field("is_best_match", new Bool(), true),
]);

/**
 * The trade schema: `id` (Int64), `price`, `qty` (Float64), `quote_qty`
 * (Float64, null on cm), `base_qty` (Float64, null on spot and um), `time`
 * (Timestamp µs UTC), `is_buyer_maker` (Bool) and `is_best_match` (Bool,
 * null on um and cm).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TRADE_SCHEMA } from "./trade_schema.ts";
 * assert.deepEqual(
 *   TRADE_SCHEMA.fields.map((f) => `${f.name} ${f.type} ${f.nullable}`),
 *   [
 *     "id Int64 false",
 *     "price Float64 false",
 *     "qty Float64 false",
 *     "quote_qty Float64 true",
 *     "base_qty Float64 true",
 *     "time Timestamp<MICROSECOND, UTC> false",
 *     "is_buyer_maker Bool false",
 *     "is_best_match Bool true",
 *   ],
 * );
 * ```
 */
export const TRADE_SCHEMA: ArrowSchema = new Schema([
  new Field("id", new Int64(), false),
  new Field("price", new Float64(), false),
  new Field("qty", new Float64(), false),
  new Field("quote_qty", new Float64(), true),
  new Field("base_qty", new Float64(), true),
  new Field("time", micros(), false),
  new Field("is_buyer_maker", new Bool(), false),
  new Field("is_best_match", new Bool(), true),
]);

/**
 * The schema of a trade data set.
 *
 * @param dataset `aggTrades` or `trades`.
 * @returns {@linkcode AGG_TRADE_SCHEMA} or {@linkcode TRADE_SCHEMA}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TRADE_SCHEMA, tradeSchemaOf } from "./trade_schema.ts";
 * assert.equal(tradeSchemaOf("trades"), TRADE_SCHEMA);
 * ```
 */
export function tradeSchemaOf(dataset: TradeDataset): ArrowSchema {
  return dataset === "aggTrades" ? AGG_TRADE_SCHEMA : TRADE_SCHEMA;
}

const SOURCE_FIELD = KLINE_SCHEMA_WITH_SOURCE.fields.find((f) => f.name === DATA_SOURCE_COLUMN)!;

/**
 * {@linkcode AGG_TRADE_SCHEMA} with the `_data_source` column last.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AGG_TRADE_SCHEMA_WITH_SOURCE } from "./trade_schema.ts";
 * assert.equal(AGG_TRADE_SCHEMA_WITH_SOURCE.fields[8].name, "_data_source");
 * ```
 */
export const AGG_TRADE_SCHEMA_WITH_SOURCE: ArrowSchema = new Schema([
  ...AGG_TRADE_SCHEMA.fields,
  SOURCE_FIELD,
]);

/**
 * {@linkcode TRADE_SCHEMA} with the `_data_source` column last.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TRADE_SCHEMA_WITH_SOURCE } from "./trade_schema.ts";
 * assert.equal(TRADE_SCHEMA_WITH_SOURCE.fields.length, 9);
 * ```
 */
export const TRADE_SCHEMA_WITH_SOURCE: ArrowSchema = new Schema([
  ...TRADE_SCHEMA.fields,
  SOURCE_FIELD,
]);
