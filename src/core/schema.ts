/**
 * The fixed Arrow schema of every kline table, and the columnar buffers that
 * parsers fill and turn into RecordBatches without copying.
 *
 * @module
 */
import { fromInt64, toInt64 } from "./_int64.ts";
import {
  Data,
  Dictionary,
  Field,
  Float64,
  Int64,
  Int8,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  TimestampMillisecond,
  Utf8,
  type Vector,
  vectorFromArray,
} from "apache-arrow";

/** Where a row came from, as stored in the `_data_source` column. */
export type DataSource = "CACHE" | "VISION" | "REST";

/** The `_data_source` dictionary, in code order: 0 CACHE, 1 VISION, 2 REST. */
export const DATA_SOURCES: readonly DataSource[] = ["CACHE", "VISION", "REST"];

/** Column names of the kline schema, in order (without `_data_source`). */
export const KLINE_COLUMN_NAMES = [
  "open_time",
  "open",
  "high",
  "low",
  "close",
  "volume",
  "close_time",
  "quote_asset_volume",
  "count",
  "taker_buy_volume",
  "taker_buy_quote_volume",
] as const;

/** Name of the optional provenance column. */
export const DATA_SOURCE_COLUMN = "_data_source";

const DATA_SOURCE_DICTIONARY_ID = 0;
const timestamp = () => new TimestampMillisecond("UTC");
const sourceType = () => new Dictionary(new Utf8(), new Int8(), DATA_SOURCE_DICTIONARY_ID, false);

/** An Arrow schema: apache-arrow's `Schema`. */
export type ArrowSchema = Schema;

/** The fixed kline schema (DESIGN.md section 2) without `_data_source`. */
export const KLINE_SCHEMA: ArrowSchema = new Schema([
  new Field("open_time", timestamp(), false),
  new Field("open", new Float64(), false),
  new Field("high", new Float64(), false),
  new Field("low", new Float64(), false),
  new Field("close", new Float64(), false),
  new Field("volume", new Float64(), false),
  new Field("close_time", timestamp(), false),
  new Field("quote_asset_volume", new Float64(), false),
  new Field("count", new Int64(), false),
  new Field("taker_buy_volume", new Float64(), false),
  new Field("taker_buy_quote_volume", new Float64(), false),
]);

/** The kline schema with the `_data_source` column appended. */
export const KLINE_SCHEMA_WITH_SOURCE: ArrowSchema = new Schema([
  ...KLINE_SCHEMA.fields,
  new Field(DATA_SOURCE_COLUMN, sourceType(), false),
]);

/**
 * Columnar kline values. Times and counts are held as float64 (exact below
 * 2^53) so that hot loops never allocate BigInts; they become Int64 /
 * Timestamp columns in {@linkcode klineBatch}.
 */
export interface KlineColumns {
  /** Open time, epoch ms UTC. */
  openTime: Float64Array;
  /** Open price. */
  open: Float64Array;
  /** High price. */
  high: Float64Array;
  /** Low price. */
  low: Float64Array;
  /** Close price. */
  close: Float64Array;
  /** Base asset volume (contracts on cm). */
  volume: Float64Array;
  /** Close time, epoch ms UTC (open time + interval - 1 ms). */
  closeTime: Float64Array;
  /** Quote asset volume (base asset on cm). */
  quoteAssetVolume: Float64Array;
  /** Number of trades. */
  count: Float64Array;
  /** Taker buy base volume. */
  takerBuyVolume: Float64Array;
  /** Taker buy quote volume. */
  takerBuyQuoteVolume: Float64Array;
}

/** Keys of {@linkcode KlineColumns} in schema order. */
export const KLINE_COLUMN_KEYS: readonly (keyof KlineColumns)[] = [
  "openTime",
  "open",
  "high",
  "low",
  "close",
  "volume",
  "closeTime",
  "quoteAssetVolume",
  "count",
  "takerBuyVolume",
  "takerBuyQuoteVolume",
];

/**
 * Allocates empty columns for `capacity` rows.
 *
 * @param capacity Number of rows.
 * @returns Zero-filled columns.
 */
export function allocKlineColumns(capacity: number): KlineColumns {
  const out = {} as Record<keyof KlineColumns, Float64Array>;
  for (const key of KLINE_COLUMN_KEYS) out[key] = new Float64Array(capacity);
  return out;
}

/**
 * Views rows `[begin, end)` of the columns without copying.
 *
 * @param columns Source columns.
 * @param begin First row.
 * @param end Row after the last.
 * @returns Subarray views.
 */
export function sliceKlineColumns(columns: KlineColumns, begin: number, end: number): KlineColumns {
  const out = {} as Record<keyof KlineColumns, Float64Array>;
  for (const key of KLINE_COLUMN_KEYS) out[key] = columns[key].subarray(begin, end);
  return out;
}

let dictionary: Vector<Utf8> | undefined;
function sourceDictionary(): Vector<Utf8> {
  dictionary ??= vectorFromArray([...DATA_SOURCES], new Utf8());
  return dictionary;
}

/**
 * Code of a source in the `_data_source` dictionary.
 *
 * @param source The source.
 * @returns 0 for CACHE, 1 for VISION, 2 for REST.
 */
export function dataSourceCode(source: DataSource): number {
  return DATA_SOURCES.indexOf(source);
}

/**
 * Whether a RecordBatch can be assembled from its three own fields. arrow-js's
 * constructor re-derives and clones the schema for every batch (Maps and
 * field clones, tens of µs), which a cache read of 365 partitions pays 365
 * times. The layout is checked once against a batch the constructor built;
 * if it ever differs, the constructor is used.
 */
const DIRECT_BATCH = (() => {
  const probe = new RecordBatch(new Schema([]), makeData({ type: new Struct([]), length: 0 }));
  const own = Object.getOwnPropertyNames(probe);
  const metadata = (probe as unknown as { _metadata: unknown })._metadata;
  return own.length === 3 && own[0] === "schema" && own[1] === "data" &&
    own[2] === "_metadata" && metadata instanceof Map && metadata.size === 0;
})();

/**
 * A RecordBatch of `schema` over `data`, sharing `schema` itself (so tables
 * of these batches compare schemas by identity).
 *
 * @param schema The batch's schema.
 * @param data Struct data with one child per field, each `data.length` long and without
 *   nulls in non-nullable fields.
 * @returns The batch.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Float64, Struct } from "apache-arrow";
 * import { fixedColumn, KLINE_SCHEMA, recordBatchOf, structData } from "./schema.ts";
 * const columns = KLINE_SCHEMA.fields.map((f) =>
 *   fixedColumn(f.type, f.type instanceof Float64 ? new Float64Array(2) : new BigInt64Array(2), 2)
 * );
 * const batch = recordBatchOf(KLINE_SCHEMA, structData(new Struct(KLINE_SCHEMA.fields), 2, columns));
 * assert.equal(batch.schema, KLINE_SCHEMA);
 * assert.equal(batch.numRows, 2);
 * ```
 */
export function recordBatchOf(schema: Schema, data: Data<Struct>): RecordBatch {
  if (!DIRECT_BATCH) return new RecordBatch(schema, data);
  const batch = Object.create(RecordBatch.prototype);
  batch.schema = schema;
  batch.data = data;
  batch._metadata = new Map();
  return batch;
}

/**
 * Struct data of `length` rows over non-null children (a RecordBatch's
 * data), without arrow-js's type inference.
 *
 * @param type The struct type (one child per field).
 * @param length Row count of every child.
 * @param children The columns.
 * @returns The struct data.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Field, Float64, Struct } from "apache-arrow";
 * import { fixedColumn, structData } from "./schema.ts";
 * const x = fixedColumn(new Float64(), new Float64Array([1, 2, 3]), 3);
 * const data = structData(new Struct([new Field("x", new Float64(), false)]), 3, [x]);
 * assert.equal(data.length, 3);
 * assert.equal(data.children[0].values[2], 3);
 * ```
 */
export function structData(type: Struct, length: number, children: Data[]): Data<Struct> {
  return new Data(type, 0, length, 0, [undefined, undefined, undefined], children);
}

/**
 * A column of `length` non-null values, viewing `values` (which must be of
 * the type's array type).
 *
 * @param type Column type (fixed width).
 * @param values The values.
 * @param length Row count.
 * @returns The column data.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Int64 } from "apache-arrow";
 * import { fixedColumn } from "./schema.ts";
 * const count = fixedColumn(new Int64(), new BigInt64Array([7n, 8n]), 2);
 * assert.equal(count.nullCount, 0);
 * assert.equal(count.values[1], 8n);
 * ```
 */
export function fixedColumn(
  type: Float64 | Int64 | TimestampMillisecond,
  values: Float64Array | BigInt64Array,
  length: number,
): Data {
  return new Data(type, 0, length, 0, [undefined, values, undefined]);
}

/**
 * Builds a RecordBatch of the fixed schema from columns.
 *
 * @param columns Column values (the first `length` rows are used).
 * @param length Row count; defaults to the length of `openTime`.
 * @param source When given, appends `_data_source`: one source for every
 *   row, or per-row codes (see {@linkcode dataSourceCode}).
 * @returns A RecordBatch of {@linkcode KLINE_SCHEMA} or {@linkcode KLINE_SCHEMA_WITH_SOURCE}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { allocKlineColumns, klineBatch } from "./schema.ts";
 * const cols = allocKlineColumns(1);
 * cols.openTime[0] = 1704067200000;
 * cols.closeTime[0] = 1704067259999;
 * const batch = klineBatch(cols, 1, "VISION");
 * assert.equal(batch.numRows, 1);
 * assert.equal(batch.getChild("open_time")?.get(0), 1704067200000);
 * assert.equal(batch.getChild("_data_source")?.get(0), "VISION");
 * ```
 */
export function klineBatch(
  columns: KlineColumns,
  length: number = columns.openTime.length,
  source?: DataSource | Int8Array,
): RecordBatch {
  const schema = source === undefined ? KLINE_SCHEMA : KLINE_SCHEMA_WITH_SOURCE;
  const children: Data[] = KLINE_COLUMN_KEYS.map((key, i) => {
    const type = schema.fields[i].type;
    const values = columns[key];
    if (key === "openTime" || key === "closeTime" || key === "count") {
      return makeData({ type, length, nullCount: 0, data: toInt64(values, length) });
    }
    return makeData({ type, length, nullCount: 0, data: values.subarray(0, length) });
  });
  if (source !== undefined) {
    const codes = typeof source === "string"
      ? new Int8Array(length).fill(dataSourceCode(source))
      : source.subarray(0, length);
    children.push(makeData({
      type: sourceType(),
      length,
      nullCount: 0,
      data: codes,
      dictionary: sourceDictionary(),
    }));
  }
  const data = makeData({ type: new Struct(schema.fields), length, nullCount: 0, children });
  return recordBatchOf(schema, data);
}

/**
 * Appends `_data_source` to a batch without copying its columns.
 *
 * @param batch A batch without `_data_source`.
 * @param source One source for every row, or per-row codes.
 * @param schema The schema with `_data_source` last, whose other fields
 *   are the batch's.
 * @returns A batch of `schema`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { allocKlineColumns, klineBatch, withDataSource } from "./schema.ts";
 * const batch = withDataSource(klineBatch(allocKlineColumns(2)), "CACHE");
 * assert.deepEqual([...batch.getChild("_data_source")!], ["CACHE", "CACHE"]);
 * ```
 */
export function withDataSource(
  batch: RecordBatch,
  source: DataSource | Int8Array,
  schema: Schema = KLINE_SCHEMA_WITH_SOURCE,
): RecordBatch {
  const length = batch.numRows;
  const codes = typeof source === "string"
    ? new Int8Array(length).fill(dataSourceCode(source))
    : source.subarray(0, length);
  const children = [
    ...batch.data.children.slice(0, schema.fields.length - 1),
    makeData({
      type: sourceType(),
      length,
      nullCount: 0,
      data: codes,
      dictionary: sourceDictionary(),
    }),
  ];
  const data = makeData({ type: new Struct(schema.fields), length, nullCount: 0, children });
  return recordBatchOf(schema, data);
}

/**
 * Reads a kline RecordBatch back into float64 columns (copying times and
 * counts, viewing floats).
 *
 * @param batch A batch of the kline schema (with or without `_data_source`).
 * @returns The columns.
 */
export function klineColumnsOf(batch: RecordBatch): KlineColumns {
  const out = {} as Record<keyof KlineColumns, Float64Array>;
  KLINE_COLUMN_KEYS.forEach((key, i) => {
    const child = batch.getChildAt(i);
    if (!child) throw new TypeError(`Cannot read klines: column ${i} is missing`);
    const values = child.data[0].values;
    out[key] = values instanceof BigInt64Array ? fromInt64(values) : values as Float64Array;
  });
  return out;
}
