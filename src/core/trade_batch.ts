/**
 * Trade columns and the one way to build a RecordBatch of
 * {@linkcode AGG_TRADE_SCHEMA} or {@linkcode TRADE_SCHEMA} from them (used
 * by the Vision CSV parser and the REST aggTrades decoder): int64 columns
 * are 32-bit halves written without a BigInt per value, booleans Arrow
 * bitmaps, and a batch views the buffers (no copy, schema shared by identity).
 *
 * @module
 */
import { Data, DataType, type RecordBatch, Struct } from "apache-arrow";
import type { Market } from "./market.ts";
import { fixedColumn, recordBatchOf, structData } from "./schema.ts";
import { AGG_TRADE_SCHEMA, TRADE_SCHEMA, type TradeDataset } from "./trade_schema.ts";

const TWO_POW_32 = 4294967296;

/**
 * The buffers of up to `capacity` trade rows. Int64 columns hold two 32-bit
 * halves per row (little-endian, see {@linkcode setInt64}); booleans are
 * bitmaps of `ceil(capacity / 8)` bytes (a zero bit is false). Columns the
 * dataset lacks have length 0.
 */
export interface TradeColumns {
  /** `agg_trade_id` (aggTrades) or `id` (trades), as int64 halves. */
  id: Int32Array;
  /** `first_trade_id` (aggTrades only), as int64 halves. */
  first: Int32Array;
  /** `last_trade_id` (aggTrades only), as int64 halves. */
  last: Int32Array;
  /** `transact_time` / `time` in µs since the epoch, as int64 halves. */
  time: Int32Array;
  /** `price`. */
  price: Float64Array;
  /** `quantity` (aggTrades) or `qty` (trades). */
  qty: Float64Array;
  /** trades only: `quote_qty` (spot, um) or `base_qty` (cm). */
  third: Float64Array;
  /** `is_buyer_maker` bitmap. */
  maker: Uint8Array;
  /** `is_best_match` bitmap (used on spot only; null elsewhere). */
  best: Uint8Array;
}

/**
 * Zeroed buffers for `capacity` rows of a trade dataset.
 *
 * @param dataset `aggTrades` or `trades` (which columns get buffers).
 * @param capacity Rows.
 * @returns The columns.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { allocTradeColumns } from "./trade_batch.ts";
 * const c = allocTradeColumns("aggTrades", 10);
 * assert.equal(c.id.length, 20);
 * assert.equal(c.third.length, 0);
 * assert.equal(c.maker.length, 2);
 * ```
 */
export function allocTradeColumns(dataset: TradeDataset, capacity: number): TradeColumns {
  const agg = dataset === "aggTrades";
  const ints = (used: boolean) => new Int32Array(used ? 2 * capacity : 0);
  return {
    id: ints(true),
    first: ints(agg),
    last: ints(agg),
    time: ints(true),
    price: new Float64Array(capacity),
    qty: new Float64Array(capacity),
    third: new Float64Array(agg ? 0 : capacity),
    maker: new Uint8Array((capacity + 7) >>> 3),
    best: new Uint8Array((capacity + 7) >>> 3),
  };
}

/**
 * Copies the first `rows` rows into new buffers of exactly that size (so a
 * short last batch keeps no spare capacity alive).
 *
 * @param columns The columns.
 * @param rows Rows to keep.
 * @param dataset Their dataset.
 * @returns New columns of capacity `rows`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { allocTradeColumns, trimTradeColumns } from "./trade_batch.ts";
 * const c = allocTradeColumns("trades", 100);
 * c.price[1] = 2.5;
 * const t = trimTradeColumns(c, 2, "trades");
 * assert.deepEqual([...t.price], [0, 2.5]);
 * ```
 */
export function trimTradeColumns(
  columns: TradeColumns,
  rows: number,
  dataset: TradeDataset,
): TradeColumns {
  const out = allocTradeColumns(dataset, rows);
  for (const key of Object.keys(out) as (keyof TradeColumns)[]) {
    out[key].set(columns[key].subarray(0, out[key].length) as never);
  }
  return out;
}

/**
 * Writes a non-negative integer below 2^53 (an id, a time in µs) as int64
 * row `row` of a column of halves.
 *
 * @param halves An int64 column of {@linkcode TradeColumns}.
 * @param row The row.
 * @param value The integer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { setInt64 } from "./trade_batch.ts";
 * const halves = new Int32Array(4);
 * setInt64(halves, 1, 1735689600123456);
 * assert.equal(new BigInt64Array(halves.buffer)[1], 1735689600123456n);
 * ```
 */
export function setInt64(halves: Int32Array, row: number, value: number): void {
  const hi = Math.floor(value / TWO_POW_32);
  halves[2 * row] = (value - hi * TWO_POW_32) | 0;
  halves[2 * row + 1] = hi;
}

const AGG_STRUCT = new Struct(AGG_TRADE_SCHEMA.fields);
const TRADE_STRUCT = new Struct(TRADE_SCHEMA.fields);
const AGG_TYPES = AGG_TRADE_SCHEMA.fields.map((field) => field.type);
const TRADE_TYPES = TRADE_SCHEMA.fields.map((field) => field.type);

/** An Int64 or Timestamp column viewing the halves' buffer. */
function int64(type: DataType, halves: Int32Array, rows: number): Data {
  const values = new BigInt64Array(halves.buffer, halves.byteOffset, rows);
  return new Data(type, 0, rows, 0, [undefined, values, undefined]);
}

/** A column with values, or a column of nulls when `values` is undefined. */
function column(type: DataType, rows: number, values?: Uint8Array | Float64Array): Data {
  if (values) return new Data(type, 0, rows, 0, [undefined, values, undefined]);
  const bits = new Uint8Array((rows + 7) >>> 3);
  const zeros = DataType.isBool(type) ? bits : new Float64Array(rows);
  return new Data(type, 0, rows, rows, [undefined, zeros, bits]);
}

/**
 * A RecordBatch of {@linkcode AGG_TRADE_SCHEMA} viewing the first `rows`
 * rows of aggTrades columns; `is_best_match` is null unless `market` is spot.
 *
 * @param columns The columns (from `allocTradeColumns("aggTrades", n)`, n ≥ rows).
 * @param rows Row count.
 * @param market The market that printed them.
 * @returns The batch (its schema is `AGG_TRADE_SCHEMA` itself).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AGG_TRADE_SCHEMA } from "./trade_schema.ts";
 * import { aggTradeBatch, allocTradeColumns, setInt64 } from "./trade_batch.ts";
 * const c = allocTradeColumns("aggTrades", 4);
 * setInt64(c.id, 0, 26129);
 * setInt64(c.time, 0, 1498793709153000);
 * c.price[0] = 0.01633102;
 * c.maker[0] |= 1;
 * const spot = aggTradeBatch(c, 1, "spot");
 * assert.equal(spot.schema, AGG_TRADE_SCHEMA);
 * assert.equal(spot.getChild("agg_trade_id")?.get(0), 26129n);
 * assert.equal(spot.getChild("is_buyer_maker")?.get(0), true);
 * assert.equal(spot.getChild("is_best_match")?.get(0), false);
 * assert.equal(aggTradeBatch(c, 1, "um").getChild("is_best_match")?.get(0), null);
 * ```
 */
export function aggTradeBatch(columns: TradeColumns, rows: number, market: Market): RecordBatch {
  const f = AGG_TYPES;
  const c = columns;
  return recordBatchOf(
    AGG_TRADE_SCHEMA,
    structData(AGG_STRUCT, rows, [
      int64(f[0], c.id, rows),
      fixedColumn(f[1], c.price.subarray(0, rows), rows),
      fixedColumn(f[2], c.qty.subarray(0, rows), rows),
      int64(f[3], c.first, rows),
      int64(f[4], c.last, rows),
      int64(f[5], c.time, rows),
      column(f[6], rows, c.maker),
      column(f[7], rows, market === "spot" ? c.best : undefined),
    ]),
  );
}

/**
 * A RecordBatch of {@linkcode TRADE_SCHEMA} viewing the first `rows` rows of
 * trades columns: `third` is `quote_qty` (spot, um; `base_qty` null) or
 * `base_qty` (cm; `quote_qty` null); `is_best_match` is null unless spot.
 *
 * @param columns The columns (from `allocTradeColumns("trades", n)`, n ≥ rows).
 * @param rows Row count.
 * @param market The market that printed them.
 * @returns The batch (its schema is `TRADE_SCHEMA` itself).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { allocTradeColumns, setInt64, tradeBatch } from "./trade_batch.ts";
 * const c = allocTradeColumns("trades", 1);
 * setInt64(c.id, 0, 5);
 * c.third[0] = 0.00321122;
 * const cm = tradeBatch(c, 1, "cm");
 * assert.equal(cm.getChild("base_qty")?.get(0), 0.00321122);
 * assert.equal(cm.getChild("quote_qty")?.get(0), null);
 * assert.equal(tradeBatch(c, 1, "um").getChild("quote_qty")?.get(0), 0.00321122);
 * ```
 */
export function tradeBatch(columns: TradeColumns, rows: number, market: Market): RecordBatch {
  const f = TRADE_TYPES;
  const c = columns;
  const third = c.third.subarray(0, rows);
  return recordBatchOf(
    TRADE_SCHEMA,
    structData(TRADE_STRUCT, rows, [
      int64(f[0], c.id, rows),
      fixedColumn(f[1], c.price.subarray(0, rows), rows),
      fixedColumn(f[2], c.qty.subarray(0, rows), rows),
      column(f[3], rows, market === "cm" ? undefined : third),
      column(f[4], rows, market === "cm" ? third : undefined),
      int64(f[5], c.time, rows),
      column(f[6], rows, c.maker),
      column(f[7], rows, market === "spot" ? c.best : undefined),
    ]),
  );
}
