/**
 * The incremental kline CSV parser behind `KlineCsvStream`: bytes in,
 * float64 columns out, one RecordBatch per `batchRows` rows.
 *
 * @module
 */
import { ArchivePeriodError, CsvFormatError, InvalidRangeError } from "../core/errors.ts";
import {
  allocKlineColumns,
  type DataSource,
  KLINE_COLUMN_KEYS,
  KLINE_COLUMN_NAMES,
  klineBatch,
  type KlineColumns,
} from "../core/schema.ts";
import type { RecordBatch } from "apache-arrow";
import {
  fastDecimal,
  fastInteger,
  fastTimestamp,
  fieldText,
  scan,
  slowDecimal,
  viewOf,
} from "./_decimal.ts";
import { isNonZeroIgnore, recordIgnoreValues } from "./kline_ignore_values.ts";
import { CsvLines } from "./_csv_lines.ts";

const NL = 10;
const CR = 13;
const COMMA = 44;
const ZERO = 48;
const MIN_MS = Date.UTC(2017, 0, 1);
const MAX_MS = Date.UTC(2100, 0, 1);
const MAX_LINE_BYTES = 65536;
const FIRST_CAPACITY = 4096;
/** The largest first batch of a parser with a period (2^20 rows: 88 MiB of columns). */
const FIRST_PERIOD_CAPACITY = 1 << 20;

/** Copies the first `rows` rows into new columns of exactly that length. */
function trimmed(cols: KlineColumns, rows: number): KlineColumns {
  const out = allocKlineColumns(rows);
  for (const key of KLINE_COLUMN_KEYS) out[key].set(cols[key].subarray(0, rows));
  return out;
}

/** Default maximum rows per RecordBatch. */
export const DEFAULT_BATCH_ROWS = 65536;

/**
 * Validates a `batchRows` option.
 *
 * @throws {InvalidRangeError} When it is not a positive integer.
 */
export function checkBatchRows(batchRows: number = DEFAULT_BATCH_ROWS): number {
  if (!Number.isSafeInteger(batchRows) || batchRows < 1) {
    throw new InvalidRangeError(
      `Cannot parse klines: batchRows "${batchRows}" is not a positive integer`,
    );
  }
  return batchRows;
}

/**
 * The period an archive covers: its rows must open in `[start, end)`, in
 * strictly increasing order, and be at most `maxRows`.
 */
export interface KlinePeriod {
  /** First open time of the period, epoch ms. */
  start: number;
  /** First open time after it, epoch ms. */
  end: number;
  /** Most rows the period can hold. */
  maxRows: number;
  /** The period's name in messages, e.g. `2024-01-02`. */
  name: string;
}

/**
 * Validates a `period` option.
 *
 * @throws {InvalidRangeError} When its bounds are not integers with `start < end`
 *   and `maxRows` a positive integer.
 */
export function checkPeriod(period: KlinePeriod | undefined): KlinePeriod | undefined {
  if (period === undefined) return undefined;
  const { start, end, maxRows } = period;
  if (
    !Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start >= end ||
    !Number.isSafeInteger(maxRows) || maxRows < 1
  ) {
    throw new InvalidRangeError(
      `Cannot parse klines: period "${start} .. ${end}, ${maxRows} rows" is not a range of open times with a positive row count`,
    );
  }
  return period;
}

/** Settings of a {@linkcode KlineCsvParser}. */
export interface KlineCsvParserOptions {
  file: string | undefined;
  batchRows: number;
  source: DataSource | undefined;
  /** When set, rows must fit the period (see {@linkcode KlinePeriod}). */
  period?: KlinePeriod;
}

/** Parses kline CSV bytes pushed in arbitrary chunks and emits RecordBatches. */
export class KlineCsvParser {
  #file: string | undefined;
  #batchRows: number;
  #source: DataSource | undefined;
  #emit: (batch: RecordBatch) => void;
  #cols: KlineColumns;
  #capacity: number;
  #rows = 0;
  /** Lines consumed so far (1-based number of the current line while parsing). */
  #line = 0;
  /** Rows of the current batch with a non-zero `ignore`, and its text. */
  #ignored: { row: number; text: string }[] = [];
  #lines: CsvLines;
  #parseLines = (buf: Uint8Array, p: number, end: number) => this.#parse(buf, p, end);
  /** Digit count of the timestamps per column (0: not seen yet). */
  #openDigits = 0;
  #closeDigits = 0;
  #period: KlinePeriod | undefined;
  /** Open time of the last row (each must be greater), or one before the period. */
  #prev = -Infinity;
  /** First open time not allowed. */
  #end = Infinity;
  /** Rows still allowed, counted from the start of the current batch. */
  #budget = Infinity;
  /** Rows emitted in batches so far. */
  #emitted = 0;

  constructor(options: KlineCsvParserOptions, emit: (batch: RecordBatch) => void) {
    this.#file = options.file;
    this.#batchRows = options.batchRows;
    this.#source = options.source;
    const period = options.period;
    if (period) {
      this.#period = period;
      this.#prev = period.start - 1;
      this.#end = period.end;
      this.#budget = period.maxRows;
    }
    this.#emit = emit;
    // A period bounds the rows: its first batch can hold them all (no growing, no copies),
    // up to FIRST_PERIOD_CAPACITY (a larger batchRows then grows from there).
    const first = period ? Math.min(period.maxRows, FIRST_PERIOD_CAPACITY) : FIRST_CAPACITY;
    this.#capacity = Math.min(first, this.#batchRows);
    this.#cols = allocKlineColumns(this.#capacity);
    this.#lines = new CsvLines(MAX_LINE_BYTES, () => {
      this.#line++;
      return this.#fail(`Invalid kline row: the line is longer than ${MAX_LINE_BYTES} bytes`);
    });
  }

  /** Open time of the last row parsed (-Infinity before the first, without a period). */
  get lastOpenTime(): number {
    return this.#prev;
  }

  /** Rows parsed so far. */
  get rowCount(): number {
    return this.#emitted + this.#rows;
  }

  /** Parses every complete line of `chunk`, keeping the incomplete tail. */
  push(chunk: Uint8Array): void {
    this.#lines.push(chunk, this.#parseLines);
  }

  /** Parses the last line (if it has no newline) and emits the remaining rows. */
  finish(): void {
    this.#lines.finish(this.#parseLines);
    if (this.#rows > 0) this.#flush(true);
  }

  #flush(last: boolean): void {
    let cols = this.#cols;
    const rows = this.#rows;
    // The last batch gets columns of its own size: a table (or a slice of it)
    // must not keep much unused capacity alive (a period's few spare rows may stay).
    if (last && rows < this.#capacity - (this.#capacity >>> 6)) cols = trimmed(cols, rows);
    this.#rows = 0;
    this.#budget -= rows;
    this.#emitted += rows;
    if (!last) this.#cols = allocKlineColumns(this.#capacity);
    const batch = klineBatch(cols, rows, this.#source);
    if (this.#ignored.length > 0) {
      const times = cols.openTime;
      recordIgnoreValues(
        batch,
        this.#ignored.map((v) => ({ openTime: times[v.row], text: v.text })),
      );
      this.#ignored = [];
    }
    this.#emit(batch);
  }

  /**
   * Makes room for one more row: emits the full batch and starts the next one,
   * twice as large up to `batchRows` (small files stay small, no copying).
   */
  #makeRoom(): void {
    this.#capacity = Math.min(this.#batchRows, this.#capacity * 2);
    this.#flush(false);
  }

  /** Parses the complete lines in `buf[p, end)`; `buf[end - 1]` is a newline. */
  #parse(buf: Uint8Array, p: number, end: number): void {
    if (this.#line === 0) p = this.#header(buf, p);
    let row = this.#rows;
    // A batch ends at its capacity, or earlier at the period's row budget.
    let limit = Math.min(this.#capacity, this.#budget);
    let c = this.#cols;
    let prev = this.#prev;
    const last = this.#end;
    const view = viewOf(buf);
    while (p < end) {
      this.#line++;
      if (row === limit) {
        this.#rows = row;
        if (row >= this.#budget) this.#outOfPeriod(this.#time(buf, view, p, 0), "rows");
        this.#makeRoom();
        row = this.#rows;
        limit = Math.min(this.#capacity, this.#budget);
        c = this.#cols;
      }
      const t = this.#time(buf, view, p, 0);
      // Without a period `last` is Infinity and only the order is compared, to no effect.
      if ((t <= prev || t >= last) && this.#period) this.#outOfPeriod(t, prev);
      c.openTime[row] = prev = t;
      c.open[row] = this.#num(buf, view, scan.end, 1);
      c.high[row] = this.#num(buf, view, scan.end, 2);
      c.low[row] = this.#num(buf, view, scan.end, 3);
      c.close[row] = this.#num(buf, view, scan.end, 4);
      c.volume[row] = this.#num(buf, view, scan.end, 5);
      c.closeTime[row] = this.#time(buf, view, scan.end, 6);
      c.quoteAssetVolume[row] = this.#num(buf, view, scan.end, 7);
      c.count[row] = this.#count(buf, scan.end);
      c.takerBuyVolume[row] = this.#num(buf, view, scan.end, 9);
      c.takerBuyQuoteVolume[row] = this.#num(buf, view, scan.end, 10);
      p = this.#ignore(buf, scan.end, row);
      row++;
    }
    this.#rows = row;
    this.#prev = prev;
  }

  /** Fails on a row that cannot belong to the period: `why` is the previous open time or "rows". */
  #outOfPeriod(t: number, why: number | "rows"): never {
    const period = this.#period!;
    const what = why === "rows"
      ? `more rows than its period ${period.name} can hold (${period.maxRows})`
      : t < period.start || t >= period.end
      ? `an open time outside its period ${period.name}`
      : `open times that do not increase (the row before opens at ${new Date(why).toISOString()})`;
    throw new ArchivePeriodError(what, this.#file, this.#line, t);
  }

  /** Skips a BOM and a header line (a first line starting with a letter). */
  #header(buf: Uint8Array, p: number): number {
    if (buf[p] === 0xef && buf[p + 1] === 0xbb && buf[p + 2] === 0xbf) p += 3;
    const first = buf[p] | 0x20;
    if (!((first >= 97 && first <= 122) || buf[p] === 95)) return p;
    this.#line++;
    let commas = 0;
    let c = buf[p];
    for (; c !== NL; c = buf[++p]) if (c === COMMA) commas++;
    if (commas !== 11) this.#fail(`Invalid kline header: expected 12 columns, found ${commas + 1}`);
    return p + 1;
  }

  #num(buf: Uint8Array, view: DataView, p: number, col: number): number {
    const v = fastDecimal(buf, view, p);
    const e = scan.end;
    if (buf[e] === COMMA && v === v) {
      scan.end = e + 1;
      return v;
    }
    const fe = this.#fieldEnd(buf, p, col);
    const slow = slowDecimal(fieldText(buf, p, fe));
    if (slow !== slow) this.#badField(buf, p, fe, col, "is not a decimal number");
    scan.end = fe + 1;
    return slow;
  }

  #count(buf: Uint8Array, p: number): number {
    const v = fastInteger(buf, p);
    const e = scan.end;
    const n = e - p;
    if (buf[e] !== COMMA || n === 0 || n > 15) {
      const fe = this.#fieldEnd(buf, p, 8);
      this.#badField(buf, p, fe, 8, "is not a non-negative integer");
    }
    scan.end = e + 1;
    return v;
  }

  #time(buf: Uint8Array, view: DataView, p: number, col: 0 | 6): number {
    const v = fastTimestamp(buf, view, p);
    const e = scan.end;
    const n = e - p;
    if (buf[e] !== COMMA || n === 0) {
      const fe = this.#fieldEnd(buf, p, col);
      this.#badField(buf, p, fe, col, "is not an integer timestamp");
    }
    const seen = col === 0 ? this.#openDigits : this.#closeDigits;
    if (n !== seen) this.#timeDigits(buf, p, e, col, seen);
    const ms = n === 16 ? (v - v % 1000) / 1000 : v;
    if (!(ms >= MIN_MS && ms < MAX_MS)) {
      this.#badField(buf, p, e, col, "lies outside 2017-01-01 .. 2100-01-01");
    }
    scan.end = e + 1;
    return ms;
  }

  /** First sight of a timestamp column fixes its unit for the file. */
  #timeDigits(buf: Uint8Array, p: number, e: number, col: 0 | 6, seen: number): void {
    const n = e - p;
    if (seen === 0 && (n === 13 || n === 16)) {
      if (col === 0) this.#openDigits = n;
      else this.#closeDigits = n;
      return;
    }
    const expected = seen === 0 ? "13 (ms) or 16 (µs)" : `${seen} like the rows before`;
    this.#badField(buf, p, e, col, `has ${n} digits, expected ${expected}`);
  }

  /** Reads the 12th column (noting it when not zero); returns the start of the next line. */
  #ignore(buf: Uint8Array, p: number, row: number): number {
    const start = p;
    let c = buf[p];
    if (!(c === ZERO && (buf[p + 1] === NL || buf[p + 1] === CR))) {
      while (c !== NL && c !== COMMA && c !== CR) c = buf[++p];
      const text = fieldText(buf, start, p);
      if (isNonZeroIgnore(text)) this.#ignored.push({ row, text });
      p = start;
      c = buf[p];
    }
    while (c !== NL && c !== COMMA && c !== CR) c = buf[++p];
    if (c === NL) return p + 1;
    if (c === CR && buf[p + 1] === NL) return p + 2;
    if (c === COMMA) this.#columnCount(buf, p);
    return this.#fail("Invalid kline row: stray carriage return");
  }

  /** End of the field starting at `p`; fails when the line ends before column 12. */
  #fieldEnd(buf: Uint8Array, start: number, col: number): number {
    let p = start;
    let c = buf[p];
    while (c !== COMMA && c !== NL && c !== CR) c = buf[++p];
    if (c === COMMA) return p;
    if (col === 0 && p === start) return this.#fail("Invalid kline row: the line is empty");
    return this.#fail(`Invalid kline row: expected 12 columns, found ${col + 1}`);
  }

  #columnCount(buf: Uint8Array, p: number): never {
    let n = 12;
    for (let c = buf[p]; c !== NL && c !== undefined; c = buf[++p]) if (c === COMMA) n++;
    return this.#fail(`Invalid kline row: expected 12 columns, found ${n}`);
  }

  // CSV columns 0..10 are the schema's columns in order (the 12th, `ignore`, is never checked).
  #badField(buf: Uint8Array, p: number, e: number, col: number, why: string): never {
    const text = JSON.stringify(fieldText(buf, p, e));
    return this.#fail(`Invalid kline row: ${KLINE_COLUMN_NAMES[col]} ${text} ${why}`);
  }

  #fail(message: string): never {
    throw new CsvFormatError(message, this.#file, this.#line);
  }
}
