/**
 * Decoder of one REST aggregate trades page (`GET /api/v3/aggTrades`,
 * `/fapi/v1/aggTrades`, `/dapi/v1/aggTrades`: a JSON array of
 * `{"a","p","q","f","l","T","m","M"}` objects, oldest first): `JSON.parse`,
 * a strict check of every row and of the page against its query, written
 * straight into {@linkcode TradeColumns} (times as µs).
 *
 * @module
 */
import { brief, jsonRows } from "./_json_rows.ts";
import { slowDecimal } from "../codec/_decimal.ts";
import { allocTradeColumns, setInt64, type TradeColumns } from "../core/trade_batch.ts";

/** What a page was asked for, and where its rows go. */
export interface AggTradeJsonOptions {
  /**
   * Whether rows carry `M` (`is_best_match`, spot only): then it must be a boolean.
   * @default {false}
   */
  bestMatch?: boolean;
  /**
   * The `fromId` sent: the first row's `a` must not be lower.
   * @default undefined (no lower bound)
   */
  fromId?: number;
  /**
   * The `startTime` sent, epoch ms: no row may be earlier.
   * @default undefined (no lower bound)
   */
  startTime?: number;
  /**
   * The `endTime` sent, epoch ms (inclusive): no row may be later.
   * @default undefined (no upper bound)
   */
  endTime?: number;
  /**
   * `a` of the row before this page (pages continue it): every `a` must be greater.
   * @default {-1}
   */
  after?: number;
  /**
   * Columns to write into, from row `at` (they must have room for the page).
   * @default undefined (new columns of the page's size, from row 0)
   */
  into?: { columns: TradeColumns; at: number };
  /**
   * Rows from the first whose time is at or after this (epoch µs) are
   * counted out of `kept` (they are still checked and written).
   * @default {Infinity}
   */
  beforeUs?: number;
  /**
   * The URL the page came from, for error messages.
   * @default {"aggTrades response"}
   */
  url?: string;
}

/** A decoded aggTrades page. */
export interface AggTradeJsonPage {
  /** The columns written (the given ones, or new ones). */
  columns: TradeColumns;
  /** Rows decoded, written from row `at` of `columns`. */
  length: number;
  /** Rows before the first at or after `beforeUs`. */
  kept: number;
  /** `a` of the last row, or `after` when the page is empty. */
  lastId: number;
}

/** Times below this are ms (13 digits), at or above µs (16 digits). */
const MICROS_FROM = 1e14;

function isId(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}

/**
 * Decodes the body of a REST aggTrades response into trade columns.
 *
 * Each row must be an object with `a`, `f`, `l` non-negative integers (ids
 * below 2^53), `p` and `q` quoted decimals (values `parseFloat` of the text),
 * `T` a non-negative integer, `m` a boolean and, when `bestMatch`, `M` a
 * boolean; other keys are ignored. `T` is read per value as ms (below
 * 10^14, multiplied by 1000 exactly) or µs (spot asked with
 * `X-MBX-TIME-UNIT: MICROSECOND`). The page must answer its query: `a`
 * strictly increasing from above `after` and at least `fromId`, times
 * within `[startTime, endTime]` (ms, inclusive, as Binance reads them).
 *
 * @param bytes The response body (UTF-8 JSON).
 * @param options The query sent, where to write, and the URL for messages.
 * @returns The columns, rows written, rows kept, last id.
 * @throws {NetworkError} When the body is truncated, not an aggTrades array,
 *   or does not answer the query (transient: the same request may succeed again).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeAggTradeJson } from "./agg_trade_json.ts";
 * const body = new TextEncoder().encode(JSON.stringify([
 *   { a: 26129, p: "0.01633102", q: "4.70443515", f: 27781, l: 27781, T: 1498793709153, m: true, M: true },
 *   { a: 26130, p: "0.01633103", q: "1.00000000", f: 27782, l: 27783, T: 1498793709154, m: false, M: true },
 * ]));
 * const page = decodeAggTradeJson(body, { bestMatch: true, fromId: 26129 });
 * assert.equal(page.length, 2);
 * assert.equal(page.lastId, 26130);
 * assert.equal(page.columns.price[0], parseFloat("0.01633102"));
 * assert.equal(new BigInt64Array(page.columns.time.buffer)[1], 1498793709154000n);
 * assert.equal(page.columns.maker[0], 0b01);
 * assert.equal(decodeAggTradeJson(body, { beforeUs: 1498793709154000 }).kept, 1);
 * assert.throws(() => decodeAggTradeJson(body, { fromId: 26130 }), { code: "NETWORK_ERROR" });
 * assert.throws(
 *   () => decodeAggTradeJson(body, { endTime: 1498793709153 }),
 *   /T 1498793709154 of row 1 is after endTime/,
 * );
 * ```
 */
export function decodeAggTradeJson(
  bytes: Uint8Array,
  options: AggTradeJsonOptions = {},
): AggTradeJsonPage {
  const url = options.url ?? "aggTrades response";
  const { rows, fail } = jsonRows(bytes, url, "aggTrades");
  const length = rows.length;
  const { bestMatch = false, fromId = 0, beforeUs = Infinity } = options;
  const from = (options.startTime ?? -Infinity) * 1000;
  const to = (options.endTime ?? Infinity) * 1000 + 999;
  const columns = options.into?.columns ?? allocTradeColumns("aggTrades", length);
  const at = options.into?.at ?? 0;
  if (columns.price.length - at < length) {
    fail(`${length} rows do not fit the ${columns.price.length - at} left in the batch`);
  }
  let prev = options.after ?? -1;
  let kept = -1;
  for (let r = 0; r < length; r++) {
    const row = rows[r];
    if (typeof row !== "object" || row === null || Array.isArray(row)) {
      fail(`row ${r} is not an object: ${brief(row)}`);
    }
    const { a, p, q, f, l, T, m, M } = row as Record<string, unknown>;
    for (const [key, v] of [["a", a], ["f", f], ["l", l], ["T", T]] as const) {
      if (!isId(v)) fail(`expected a non-negative integer for ${key} of row ${r}, got ${brief(v)}`);
    }
    const id = a as number;
    if (id <= prev) fail(`a ${id} of row ${r} does not follow the row before (${prev})`);
    if (id < fromId) fail(`a ${id} of row ${r} is below fromId ${fromId}`);
    const t = T as number;
    const us = t < MICROS_FROM ? t * 1000 : t;
    if (us < from) fail(`T ${t} of row ${r} is before startTime ${options.startTime}`);
    if (us > to) fail(`T ${t} of row ${r} is after endTime ${options.endTime}`);
    const price = typeof p === "string" ? slowDecimal(p) : NaN;
    if (price !== price) fail(`expected a quoted decimal for p of row ${r}, got ${brief(p)}`);
    const qty = typeof q === "string" ? slowDecimal(q) : NaN;
    if (qty !== qty) fail(`expected a quoted decimal for q of row ${r}, got ${brief(q)}`);
    if (typeof m !== "boolean") fail(`expected a boolean for m of row ${r}, got ${brief(m)}`);
    if (bestMatch && typeof M !== "boolean") {
      fail(`expected a boolean for M of row ${r}, got ${brief(M)}`);
    }
    if (kept < 0 && us >= beforeUs) kept = r;
    const i = at + r;
    setInt64(columns.id, i, prev = id);
    setInt64(columns.first, i, f as number);
    setInt64(columns.last, i, l as number);
    setInt64(columns.time, i, us);
    columns.price[i] = price;
    columns.qty[i] = qty;
    const bit = 1 << (i & 7);
    if (m) columns.maker[i >>> 3] |= bit;
    else columns.maker[i >>> 3] &= ~bit;
    if (bestMatch && M) columns.best[i >>> 3] |= bit;
    else columns.best[i >>> 3] &= ~bit;
  }
  return { columns, length, kept: kept < 0 ? length : kept, lastId: prev };
}
