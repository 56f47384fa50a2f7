/**
 * Decoder of one REST klines page (the JSON array of 12-element arrays) from
 * its response bytes straight into {@linkcode KlineColumns}, without building
 * JavaScript objects or per-value strings.
 *
 * @module
 */
import { fastDecimal, fieldText, scan, slowDecimal, viewOf } from "../codec/_decimal.ts";
import { type IgnoreValue, isNonZeroIgnore } from "../codec/kline_ignore_values.ts";
import { NetworkError } from "../core/errors.ts";
import { allocKlineColumns, KLINE_COLUMN_KEYS, type KlineColumns } from "../core/schema.ts";

/** Options of {@linkcode decodeKlineJson}. */
export interface DecodeKlineJsonOptions {
  /**
   * The URL the page came from, for error messages.
   * @default {"klines response"}
   */
  url?: string;
}

/** A decoded klines page. */
export interface KlineJsonPage {
  /** The columns; only the first `length` rows are meaningful. */
  columns: KlineColumns;
  /** Number of rows decoded. */
  length: number;
  /** Rows whose 12th element (`ignore`) is not zero, in row order. */
  ignored: IgnoreValue[];
}

const QUOTE = 34;
const COMMA = 44;
const OPEN = 91;
const CLOSE = 93;
const BACKSLASH = 92;
const ZERO = 48;
const MAX_TIME_DIGITS = 15;

/** Whether each of the first 11 elements (in schema order) is an integer (else a quoted decimal). */
const INTEGER = [true, false, false, false, false, false, true, false, true, false, false];

class Cursor {
  p = 0;
  readonly view: DataView;
  constructor(readonly buf: Uint8Array, readonly url: string) {
    this.view = viewOf(buf);
  }

  fail(what: string): never {
    const at = this.p >= this.buf.length ? "at the end of the data" : `at byte ${this.p}`;
    throw new NetworkError(this.url, `Cannot decode klines from ${this.url}: ${what} ${at}`);
  }

  /** Skips JSON whitespace and returns the next byte (NaN at the end). */
  peek(): number {
    const buf = this.buf;
    let p = this.p;
    let c = buf[p];
    while (c === 32 || c === 10 || c === 13 || c === 9) c = buf[++p];
    this.p = p;
    return p < buf.length ? c : NaN;
  }

  expect(byte: number, what: string): void {
    if (this.peek() !== byte) this.fail(`expected ${what}`);
    this.p++;
  }
}

function countRows(buf: Uint8Array): number {
  let n = -1;
  for (let i = buf.indexOf(OPEN); i !== -1; i = buf.indexOf(OPEN, i + 1)) n++;
  return Math.max(0, n);
}

function readInteger(cur: Cursor, field: number): number {
  const start = cur.p;
  const buf = cur.buf;
  let p = start;
  let v = 0;
  let d = buf[p] - 48;
  while (d >= 0 && d <= 9) {
    v = v * 10 + d; // exact: at most 15 digits
    d = buf[++p] - 48;
  }
  const digits = p - start;
  if (digits === 0 || digits > MAX_TIME_DIGITS) {
    cur.fail(`expected an integer for element ${field}`);
  }
  cur.p = p;
  return v;
}

function readDecimal(cur: Cursor, field: number): number {
  const buf = cur.buf;
  if (buf[cur.p] !== QUOTE) cur.fail(`expected a quoted number for element ${field}`);
  const start = cur.p + 1;
  let v = fastDecimal(buf, cur.view, start);
  let end = scan.end;
  if (!(v === v && buf[end] === QUOTE)) {
    end = buf.indexOf(QUOTE, start);
    if (end === -1) cur.fail(`unterminated string for element ${field}`);
    v = slowDecimal(fieldText(buf, start, end));
    if (v !== v) {
      cur.p = start;
      cur.fail(
        `expected a decimal number for element ${field}, got "${fieldText(buf, start, end)}"`,
      );
    }
  }
  cur.p = end + 1;
  return v;
}

/** Reads element 11 (`ignore`): its text when it is not zero, else undefined. */
function readIgnore(cur: Cursor): string | undefined {
  const buf = cur.buf;
  let p = cur.p;
  if (buf[p] === QUOTE) {
    p++;
    if (buf[p] === ZERO && buf[p + 1] === QUOTE) {
      cur.p = p + 2;
      return undefined;
    }
    const start = p;
    while (p < buf.length && buf[p] !== QUOTE) p += buf[p] === BACKSLASH ? 2 : 1;
    if (p >= buf.length) cur.fail("unterminated string for element 11");
    cur.p = p + 1;
    const text = fieldText(buf, start, p);
    return isNonZeroIgnore(text) ? text : undefined;
  }
  const v = fastDecimal(buf, cur.view, p);
  if (v !== v) cur.fail("expected a number or string for element 11");
  cur.p = scan.end;
  return v === 0 ? undefined : fieldText(buf, p, scan.end);
}

/** Consumes the "," before element `field`; fast when no whitespace surrounds it. */
function separator(cur: Cursor, row: number, field: number): void {
  const buf = cur.buf;
  let c = buf[cur.p];
  if (c !== COMMA) {
    c = cur.peek();
    if (c !== COMMA) {
      cur.fail(c === CLOSE ? `row ${row} has ${field} elements, expected 12` : `expected ","`);
    }
  }
  c = buf[++cur.p];
  if (c === 32 || c === 10 || c === 13 || c === 9) cur.peek();
}

function readRow(cur: Cursor, columns: Float64Array[], row: number, ignored: IgnoreValue[]) {
  if (cur.buf[cur.p] === OPEN) cur.p++;
  else cur.expect(OPEN, `"[" opening row ${row}`);
  cur.peek();
  for (let field = 0; field < 11; field++) {
    if (field > 0) separator(cur, row, field);
    columns[field][row] = INTEGER[field] ? readInteger(cur, field) : readDecimal(cur, field);
  }
  separator(cur, row, 11);
  const ignore = readIgnore(cur);
  if (ignore !== undefined) ignored.push({ openTime: columns[0][row], text: ignore });
  if (cur.buf[cur.p] === CLOSE) cur.p++;
  else if (cur.peek() === CLOSE) cur.p++;
  else cur.fail(`row ${row} has more than 12 elements, expected "]"`);
}

/**
 * Decodes the body of a REST klines response into columns.
 *
 * Floats are bit-identical to `parseFloat` of the JSON strings. Each row must
 * have 12 elements: integer open time, close time and count, quoted decimal
 * prices and volumes, and any last element (Binance's "ignore", noted in
 * `ignored` when not zero). Rows are returned as printed: irregular close
 * times and open times off the grid are real history, not decoding errors.
 *
 * @param bytes The response body (UTF-8 JSON).
 * @param options The URL for error messages.
 * @returns The columns and the row count.
 * @throws {NetworkError} When the body is truncated or not a klines array
 *   (transient: the same request may succeed again).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeKlineJson } from "./kline_json.ts";
 * const body = new TextEncoder().encode(
 *   '[[1499040000000,"0.01634790","0.80000000","0.01575800","0.01577100",' +
 *     '"148976.11427815",1499644799999,"2434.19055334",308,"1756.87402397","28.46694368","0"]]',
 * );
 * const { columns, length } = decodeKlineJson(body);
 * assert.equal(length, 1);
 * assert.equal(columns.openTime[0], 1499040000000);
 * assert.equal(columns.open[0], parseFloat("0.01634790"));
 * assert.equal(columns.count[0], 308);
 * assert.throws(() => decodeKlineJson(body.subarray(0, 40)), { code: "NETWORK_ERROR" });
 * ```
 */
export function decodeKlineJson(
  bytes: Uint8Array,
  options: DecodeKlineJsonOptions = {},
): KlineJsonPage {
  const cur = new Cursor(bytes, options.url ?? "klines response");
  const columns = allocKlineColumns(countRows(bytes));
  const targets = KLINE_COLUMN_KEYS.map((key) => columns[key]);
  cur.expect(OPEN, `"[" opening the page`);
  let length = 0;
  const ignored: IgnoreValue[] = [];
  if (cur.peek() === CLOSE) cur.p++;
  else {
    for (;;) {
      readRow(cur, targets, length++, ignored);
      const c = cur.buf[cur.p] === COMMA ? COMMA : cur.peek();
      cur.p++;
      if (c === CLOSE) break;
      if (c !== COMMA) {
        cur.p--;
        cur.fail(`expected "," or "]" after row ${length - 1}`);
      }
    }
  }
  cur.peek();
  if (cur.p < bytes.length) cur.fail("unexpected data after the page");
  return { columns, length, ignored };
}
