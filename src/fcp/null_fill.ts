/**
 * The null-filled grid: every slot of a range as a row, missing candles as
 * null rows, never invented prices.
 *
 * @module
 */
import { Field, makeData, RecordBatch, Schema, Struct } from "apache-arrow";
import { ceilOpenTime, type Interval, nextOpenTime } from "../core/interval.ts";
import {
  allocKlineColumns,
  KLINE_COLUMN_KEYS,
  KLINE_SCHEMA_WITH_SOURCE,
  klineBatch,
} from "../core/schema.ts";
import type { MergedRows } from "./kline_segment.ts";

function nullable(schema: Schema): Schema {
  return new Schema(schema.fields.map((f) => new Field(f.name, f.type, true)));
}

/**
 * Spreads rows over every grid slot of `[start, end)`; slots without a row
 * are null in every column but `open_time` and `close_time`.
 *
 * @param rows Merged rows, strictly increasing, inside the range.
 * @param start First slot (rounded up to the grid).
 * @param end Exclusive end.
 * @param interval The interval.
 * @param includeSource Whether `_data_source` is appended (null on filled slots).
 * @returns A batch with one row per slot and nullable value columns.
 */
export function nullFilledBatch(
  rows: MergedRows,
  start: number,
  end: number,
  interval: Interval,
  includeSource: boolean,
): RecordBatch {
  start = ceilOpenTime(start, interval);
  let slots = 0;
  for (let t = start; t < end; t = nextOpenTime(t, interval)) slots++;
  const columns = allocKlineColumns(slots);
  const sources = new Int8Array(slots);
  const valid = new Uint8Array(Math.ceil(slots / 8));
  let r = 0, nulls = 0, i = 0;
  for (let t = start; t < end; t = nextOpenTime(t, interval), i++) {
    while (r < rows.length && rows.columns.openTime[r] < t) r++;
    if (r < rows.length && rows.columns.openTime[r] === t) {
      for (const key of KLINE_COLUMN_KEYS) columns[key][i] = rows.columns[key][r];
      sources[i] = rows.sources[r];
      valid[i >> 3] |= 1 << (i & 7);
    } else {
      columns.openTime[i] = t;
      columns.closeTime[i] = nextOpenTime(t, interval) - 1;
      nulls++;
    }
  }
  const dense = klineBatch(columns, slots, includeSource ? sources : undefined);
  const schema = nullable(includeSource ? KLINE_SCHEMA_WITH_SOURCE : dense.schema);
  const children = dense.data.children.map((child, c) => {
    const name = schema.fields[c].name;
    if (nulls === 0 || name === "open_time" || name === "close_time") return child;
    return makeData({
      type: child.type,
      length: slots,
      nullCount: nulls,
      nullBitmap: valid,
      data: child.values,
      dictionary: child.dictionary,
    } as never);
  });
  const data = makeData({ type: new Struct(schema.fields), length: slots, nullCount: 0, children });
  return new RecordBatch(schema, data);
}
