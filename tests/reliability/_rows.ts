/**
 * Rows of a kline table as float64 columns, and a digest of them, shared by
 * the reliability tests and their subprocesses (no permission needed).
 *
 * @module
 */
import type { RecordBatch, Table } from "apache-arrow";
import {
  allocKlineColumns,
  KLINE_COLUMN_KEYS,
  type KlineColumns,
  klineColumnsOf,
} from "../../src/core/schema.ts";

/** The rows of a result: every column as float64, and each row's `_data_source`. */
export interface Rows {
  /** Row count. */
  length: number;
  /** The schema's columns. */
  columns: KlineColumns;
  /** `_data_source` per row (null without the column). */
  sources: (string | null)[];
}

/**
 * Copies the rows of a table or of batches into columns.
 *
 * @param input Table or batches of the kline schema.
 * @returns The rows.
 */
export function rowsOf(input: Table | readonly RecordBatch[]): Rows {
  const batches = (Array.isArray(input) ? input : (input as Table).batches) as RecordBatch[];
  const length = batches.reduce((n, b) => n + b.numRows, 0);
  const columns = allocKlineColumns(length);
  const sources: (string | null)[] = [];
  let at = 0;
  for (const batch of batches) {
    if (batch.numRows === 0) continue;
    const part = klineColumnsOf(batch);
    for (const key of KLINE_COLUMN_KEYS) {
      columns[key].set(part[key].subarray(0, batch.numRows), at);
    }
    const src = batch.getChild("_data_source");
    for (let i = 0; i < batch.numRows; i++) sources.push(src ? (src.get(i) as string) : null);
    at += batch.numRows;
  }
  return { length, columns, sources };
}

/**
 * The rows whose open time lies in `[start, end)`.
 *
 * @param rows Rows in open_time order.
 * @param start First open time kept.
 * @param end Open time after the last one kept.
 * @returns A copy of those rows.
 */
export function sliceRows(rows: Rows, start: number, end: number): Rows {
  const t = rows.columns.openTime;
  let a = 0;
  while (a < rows.length && t[a] < start) a++;
  let b = a;
  while (b < rows.length && t[b] < end) b++;
  const columns = allocKlineColumns(b - a);
  for (const key of KLINE_COLUMN_KEYS) columns[key].set(rows.columns[key].subarray(a, b));
  return { length: b - a, columns, sources: rows.sources.slice(a, b) };
}

/**
 * SHA-256 of the rows' values (every column's float64 bits, in schema
 * order), independent of how they were batched and of `_data_source`.
 *
 * @param rows The rows.
 * @returns Lowercase hex digest.
 */
export async function digestRows(rows: Rows): Promise<string> {
  const bytes = new Uint8Array(8 * rows.length * KLINE_COLUMN_KEYS.length);
  KLINE_COLUMN_KEYS.forEach((key, i) => {
    const col = rows.columns[key].subarray(0, rows.length);
    bytes.set(new Uint8Array(col.buffer, col.byteOffset, col.byteLength), 8 * rows.length * i);
  });
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
}
