/**
 * The fixed Arrow schema of every funding rate table, and the columnar
 * buffers (values and validity bitmaps) that decoders fill and turn into
 * RecordBatches without copying the floats.
 *
 * @module
 */
import { fromInt64, toInt64 } from "./_int64.ts";
import {
  Data,
  Field,
  Float64,
  Int64,
  makeData,
  type RecordBatch,
  Schema,
  Struct,
  TimestampMillisecond,
  Utf8,
  type Vector,
  vectorFromArray,
} from "apache-arrow";
import {
  type ArrowSchema,
  DATA_SOURCE_COLUMN,
  DATA_SOURCES,
  type DataSource,
  dataSourceCode,
  KLINE_SCHEMA_WITH_SOURCE,
  recordBatchOf,
  structData,
} from "./schema.ts";

/** Columns of the funding rate schema, in order. */
export const FUNDING_COLUMNS = [
  "funding_time",
  "funding_rate",
  "funding_interval_hours",
  "mark_price",
] as const;

const [FUNDING_TIME, FUNDING_RATE, FUNDING_INTERVAL_HOURS, MARK_PRICE] = FUNDING_COLUMNS;

/**
 * The fixed funding rate schema without `_data_source`: `funding_time`
 * (Timestamp ms UTC) and `funding_rate` (Float64) are never null;
 * `funding_interval_hours` (Int64) is null where the source does not print
 * it (REST pages), and `mark_price` (Float64) where it does not print one
 * (Vision files never do; old REST rows print `""`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FUNDING_SCHEMA } from "./funding_schema.ts";
 * assert.deepEqual(
 *   FUNDING_SCHEMA.fields.map((f) => `${f.name} ${f.type} ${f.nullable}`),
 *   [
 *     "funding_time Timestamp<MILLISECOND, UTC> false",
 *     "funding_rate Float64 false",
 *     "funding_interval_hours Int64 true",
 *     "mark_price Float64 true",
 *   ],
 * );
 * ```
 */
export const FUNDING_SCHEMA: ArrowSchema = new Schema([
  new Field(FUNDING_TIME, new TimestampMillisecond("UTC"), false),
  new Field(FUNDING_RATE, new Float64(), false),
  new Field(FUNDING_INTERVAL_HOURS, new Int64(), true),
  new Field(MARK_PRICE, new Float64(), true),
]);

/**
 * The funding rate schema with the `_data_source` column appended (the same
 * field, dictionary id included, as the kline schema's).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FUNDING_SCHEMA_WITH_SOURCE } from "./funding_schema.ts";
 * assert.equal(FUNDING_SCHEMA_WITH_SOURCE.fields[4].name, "_data_source");
 * ```
 */
export const FUNDING_SCHEMA_WITH_SOURCE: ArrowSchema = new Schema([
  ...FUNDING_SCHEMA.fields,
  KLINE_SCHEMA_WITH_SOURCE.fields.find((f) => f.name === DATA_SOURCE_COLUMN)!,
]);

const STRUCT = new Struct(FUNDING_SCHEMA.fields);
const STRUCT_WITH_SOURCE = new Struct(FUNDING_SCHEMA_WITH_SOURCE.fields);

/**
 * Columnar funding rate values. Times and interval hours are held as
 * float64 (exact below 2^53) so that hot loops never allocate BigInts; they
 * become Timestamp / Int64 columns in {@linkcode fundingBatch}. The two
 * nullable columns have a validity bitmap each, in Arrow's layout: bit `i`
 * (byte `i >> 3`, bit `i & 7`, least significant first) is set when row `i`
 * has a value. Allocated bitmaps are zero: every row null until set (see
 * {@linkcode setValid}).
 */
export interface FundingColumns {
  /** Funding time (Vision `calc_time`, REST `fundingTime`), epoch ms UTC. */
  fundingTime: Float64Array;
  /** Funding rate (Vision `last_funding_rate`, REST `fundingRate`). */
  fundingRate: Float64Array;
  /** Hours between fundings (Vision `funding_interval_hours`); read where its bit is set. */
  fundingIntervalHours: Float64Array;
  /** Mark price (REST `markPrice`); read where its bit is set. */
  markPrice: Float64Array;
  /** Validity bitmap of `fundingIntervalHours`. */
  fundingIntervalHoursValid: Uint8Array;
  /** Validity bitmap of `markPrice`. */
  markPriceValid: Uint8Array;
}

/**
 * Allocates empty columns for `capacity` rows (values zero, every nullable
 * value null).
 *
 * @param capacity Number of rows.
 * @returns Zero-filled columns and bitmaps.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { allocFundingColumns } from "./funding_schema.ts";
 * const cols = allocFundingColumns(9);
 * assert.equal(cols.fundingRate.length, 9);
 * assert.equal(cols.markPriceValid.length, 2);
 * ```
 */
export function allocFundingColumns(capacity: number): FundingColumns {
  const bytes = (capacity + 7) >>> 3;
  return {
    fundingTime: new Float64Array(capacity),
    fundingRate: new Float64Array(capacity),
    fundingIntervalHours: new Float64Array(capacity),
    markPrice: new Float64Array(capacity),
    fundingIntervalHoursValid: new Uint8Array(bytes),
    markPriceValid: new Uint8Array(bytes),
  };
}

/**
 * Marks row `row` of a validity bitmap as holding a value.
 *
 * @param bitmap A validity bitmap of {@linkcode FundingColumns}.
 * @param row The row.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { allocFundingColumns, setValid } from "./funding_schema.ts";
 * const cols = allocFundingColumns(10);
 * setValid(cols.markPriceValid, 9);
 * assert.deepEqual([...cols.markPriceValid], [0, 2]);
 * ```
 */
export function setValid(bitmap: Uint8Array, row: number): void {
  bitmap[row >>> 3] |= 1 << (row & 7);
}

/** Number of set bits among the first `length` bits of `bitmap`. */
function countValid(bitmap: Uint8Array, length: number): number {
  let n = 0;
  const whole = length >>> 3;
  for (let i = 0; i < whole; i++) {
    let b = bitmap[i];
    b = b - ((b >>> 1) & 0x55);
    b = (b & 0x33) + ((b >>> 2) & 0x33);
    n += (b + (b >>> 4)) & 0x0f;
  }
  for (let i = whole << 3; i < length; i++) n += (bitmap[i >>> 3] >>> (i & 7)) & 1;
  return n;
}

let dictionary: Vector<Utf8> | undefined;
function sourceDictionary(): Vector<Utf8> {
  dictionary ??= vectorFromArray([...DATA_SOURCES], new Utf8());
  return dictionary;
}

/** A nullable column: without a bitmap when every row has a value. */
function nullableColumn(
  type: Int64 | Float64,
  values: BigInt64Array | Float64Array,
  bitmap: Uint8Array,
  length: number,
): Data {
  const nulls = length - countValid(bitmap, length);
  const nullBitmap = nulls === 0 ? undefined : bitmap.subarray(0, (length + 7) >>> 3);
  return new Data(type, 0, length, nulls, [undefined, values, nullBitmap]);
}

/**
 * Builds a RecordBatch of the funding schema from columns, sharing the
 * schema by identity. Rates and mark prices are viewed, times and interval
 * hours converted to int64 once; a nullable column without nulls gets no
 * bitmap.
 *
 * @param columns Column values and bitmaps (the first `length` rows are used).
 * @param length Row count; defaults to the length of `fundingTime`.
 * @param source When given, appends `_data_source`: one source for every
 *   row, or per-row codes (see `dataSourceCode`).
 * @returns A RecordBatch of {@linkcode FUNDING_SCHEMA} or {@linkcode FUNDING_SCHEMA_WITH_SOURCE}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { allocFundingColumns, FUNDING_SCHEMA, fundingBatch, setValid } from "./funding_schema.ts";
 * const cols = allocFundingColumns(2);
 * cols.fundingTime.set([1704067200000, 1704096000001]);
 * cols.fundingRate.set([0.0001, -0.00003750]);
 * cols.markPrice[1] = 42283.58;
 * setValid(cols.markPriceValid, 1);
 * const batch = fundingBatch(cols, 2);
 * assert.equal(batch.schema, FUNDING_SCHEMA);
 * assert.equal(batch.getChild("funding_time")?.get(1), 1704096000001);
 * assert.equal(batch.getChild("mark_price")?.get(0), null);
 * assert.equal(batch.getChild("mark_price")?.get(1), 42283.58);
 * assert.equal(batch.getChild("funding_interval_hours")?.nullCount, 2);
 * assert.equal(fundingBatch(cols, 2, "REST").getChild("_data_source")?.get(0), "REST");
 * ```
 */
export function fundingBatch(
  columns: FundingColumns,
  length: number = columns.fundingTime.length,
  source?: DataSource | Int8Array,
): RecordBatch {
  const fields = FUNDING_SCHEMA.fields;
  const children: Data[] = [
    makeData({
      type: fields[0].type,
      length,
      nullCount: 0,
      data: toInt64(columns.fundingTime, length),
    }),
    makeData({
      type: fields[1].type,
      length,
      nullCount: 0,
      data: columns.fundingRate.subarray(0, length),
    }),
    nullableColumn(
      fields[2].type,
      toInt64(columns.fundingIntervalHours, length),
      columns.fundingIntervalHoursValid,
      length,
    ),
    nullableColumn(
      fields[3].type,
      columns.markPrice.subarray(0, length),
      columns.markPriceValid,
      length,
    ),
  ];
  if (source === undefined) {
    return recordBatchOf(FUNDING_SCHEMA, structData(STRUCT, length, children));
  }
  const codes = typeof source === "string"
    ? new Int8Array(length).fill(dataSourceCode(source))
    : source.subarray(0, length);
  children.push(makeData({
    type: FUNDING_SCHEMA_WITH_SOURCE.fields[4].type,
    length,
    nullCount: 0,
    data: codes,
    dictionary: sourceDictionary(),
  }));
  return recordBatchOf(
    FUNDING_SCHEMA_WITH_SOURCE,
    structData(STRUCT_WITH_SOURCE, length, children),
  );
}

/** The first `length` bits of `data`'s validity, whatever its bit offset (all set without nulls). */
function validityOf(data: Data, length: number): Uint8Array {
  const out = new Uint8Array((length + 7) >>> 3);
  const bitmap = data.nullBitmap;
  if (data.nullCount === 0 || !bitmap || bitmap.length === 0) {
    out.fill(255);
    if (length & 7) out[out.length - 1] = (1 << (length & 7)) - 1;
    return out;
  }
  for (let i = 0, p = data.offset; i < length; i++, p++) {
    if ((bitmap[p >>> 3] >>> (p & 7)) & 1) out[i >>> 3] |= 1 << (i & 7);
  }
  return out;
}

/**
 * Reads a funding RecordBatch back into columns (copying times, interval
 * hours and bitmaps, viewing rates and mark prices). A null row's value is
 * whatever its buffer holds: read values where their bit is set.
 *
 * @param batch A batch of the funding schema (with or without `_data_source`).
 * @returns The columns.
 * @throws {TypeError} When a column is missing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { allocFundingColumns, fundingBatch, fundingColumnsOf, setValid } from "./funding_schema.ts";
 * const cols = allocFundingColumns(3);
 * cols.fundingTime.set([1, 2, 3]);
 * cols.fundingIntervalHours[2] = 8;
 * setValid(cols.fundingIntervalHoursValid, 2);
 * const back = fundingColumnsOf(fundingBatch(cols));
 * assert.deepEqual([...back.fundingTime], [1, 2, 3]);
 * assert.equal(back.fundingIntervalHours[2], 8);
 * assert.deepEqual([...back.fundingIntervalHoursValid], [4]);
 * ```
 */
export function fundingColumnsOf(batch: RecordBatch): FundingColumns {
  const length = batch.numRows;
  const data = [0, 1, 2, 3].map((i) => {
    const child = batch.getChildAt(i);
    if (!child) throw new TypeError(`Cannot read funding rates: column ${i} is missing`);
    return child.data[0];
  });
  const valid = (d: Data) => validityOf(d, length);
  return {
    fundingTime: fromInt64(data[0].values as BigInt64Array, length),
    fundingRate: (data[1].values as Float64Array).subarray(0, length),
    fundingIntervalHours: fromInt64(data[2].values as BigInt64Array, length),
    markPrice: (data[3].values as Float64Array).subarray(0, length),
    fundingIntervalHoursValid: valid(data[2]),
    markPriceValid: valid(data[3]),
  };
}

/**
 * The rows of several parts in one set of columns (values and validity
 * bits, realigned); a single part from its first row is returned as it is.
 *
 * @param parts Columns, row counts and first rows (default 0), in order.
 * @returns The concatenation.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { allocFundingColumns, concatFunding, setValid } from "./funding_schema.ts";
 * const a = allocFundingColumns(1), b = allocFundingColumns(2);
 * a.fundingTime[0] = 1;
 * b.fundingTime.set([2, 3]);
 * b.markPrice[1] = 42;
 * setValid(b.markPriceValid, 1);
 * const { columns, length } = concatFunding([{ columns: a, length: 1 }, { columns: b, length: 2 }]);
 * assert.equal(length, 3);
 * assert.deepEqual([...columns.fundingTime], [1, 2, 3]);
 * assert.equal(columns.markPriceValid[0], 0b100);
 * // Row 1 of `b` alone: its validity bit moves with it.
 * const tail = concatFunding([{ columns: b, start: 1, length: 1 }]).columns;
 * assert.deepEqual([...tail.fundingTime], [3]);
 * assert.equal(tail.markPriceValid[0], 0b1);
 * ```
 */
export function concatFunding(
  parts: readonly { columns: FundingColumns; length: number; start?: number }[],
): { columns: FundingColumns; length: number } {
  if (parts.length === 1 && !parts[0].start) return parts[0];
  const length = parts.reduce((n, p) => n + p.length, 0);
  const columns = allocFundingColumns(length);
  let at = 0;
  for (const { columns: from, length: n, start = 0 } of parts) {
    const end = start + n;
    columns.fundingTime.set(from.fundingTime.subarray(start, end), at);
    columns.fundingRate.set(from.fundingRate.subarray(start, end), at);
    columns.fundingIntervalHours.set(from.fundingIntervalHours.subarray(start, end), at);
    columns.markPrice.set(from.markPrice.subarray(start, end), at);
    for (let i = 0; i < n; i++) {
      const j = start + i;
      const bit = 1 << (j & 7);
      if (from.fundingIntervalHoursValid[j >>> 3] & bit) {
        setValid(columns.fundingIntervalHoursValid, at + i);
      }
      if (from.markPriceValid[j >>> 3] & bit) setValid(columns.markPriceValid, at + i);
    }
    at += n;
  }
  return { columns, length };
}
