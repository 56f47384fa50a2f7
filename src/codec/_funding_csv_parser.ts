/**
 * The incremental funding rate CSV parser behind `FundingCsvStream` and
 * `decodeFundingCsv`: bytes in, float64 columns out, one RecordBatch per
 * `batchRows` rows.
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";
import { CsvFormatError, InvalidRangeError } from "../core/errors.ts";
import {
  allocFundingColumns,
  fundingBatch,
  type FundingColumns,
  setValid,
} from "../core/funding_schema.ts";
import type { DataSource } from "../core/schema.ts";
import { CsvLines } from "./_csv_lines.ts";
import { fastDecimal, fastTimestamp, fieldText, scan, slowDecimal, viewOf } from "./_decimal.ts";

const NL = 10;
const CR = 13;
const COMMA = 44;
const MIN_MS = Date.UTC(2017, 0, 1);
const MAX_MS = Date.UTC(2100, 0, 1);
const MAX_LINE_BYTES = 4096;
const FIRST_CAPACITY = 1024;
/** The CSV columns, as Vision's header names them. */
const CSV_COLUMNS = ["calc_time", "funding_interval_hours", "last_funding_rate"] as const;
const HEADER = CSV_COLUMNS.join(",");

/** Default maximum rows per RecordBatch. */
export const DEFAULT_FUNDING_BATCH_ROWS = 65536;

/**
 * Validates a `batchRows` option.
 *
 * @param batchRows The option; undefined means {@linkcode DEFAULT_FUNDING_BATCH_ROWS}.
 * @returns The rows per batch.
 * @throws {InvalidRangeError} When it is not a positive integer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkFundingBatchRows } from "./_funding_csv_parser.ts";
 * assert.equal(checkFundingBatchRows(undefined), 65536);
 * assert.throws(() => checkFundingBatchRows(0), { code: "INVALID_RANGE" });
 * ```
 */
export function checkFundingBatchRows(batchRows: number = DEFAULT_FUNDING_BATCH_ROWS): number {
  if (!Number.isSafeInteger(batchRows) || batchRows < 1) {
    throw new InvalidRangeError(
      `Cannot parse funding rates: batchRows "${batchRows}" is not a positive integer`,
    );
  }
  return batchRows;
}

/** Settings of a {@linkcode FundingCsvParser}. */
export interface FundingCsvParserOptions {
  file: string | undefined;
  batchRows: number;
  source: DataSource | undefined;
}

/** Copies the first `rows` rows into new columns of exactly that length. */
function trimmed(cols: FundingColumns, rows: number): FundingColumns {
  const out = allocFundingColumns(rows);
  out.fundingTime.set(cols.fundingTime.subarray(0, rows));
  out.fundingRate.set(cols.fundingRate.subarray(0, rows));
  out.fundingIntervalHours.set(cols.fundingIntervalHours.subarray(0, rows));
  out.fundingIntervalHoursValid.set(
    cols.fundingIntervalHoursValid.subarray(0, out.fundingIntervalHoursValid.length),
  );
  return out;
}

/**
 * Parses funding rate CSV bytes pushed in arbitrary chunks and emits
 * RecordBatches (the checks are documented on `decodeFundingCsv`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { RecordBatch } from "apache-arrow";
 * import { FundingCsvParser } from "./_funding_csv_parser.ts";
 * const batches: RecordBatch[] = [];
 * const parser = new FundingCsvParser(
 *   { file: undefined, batchRows: 10, source: undefined },
 *   (batch) => batches.push(batch),
 * );
 * parser.push(new TextEncoder().encode("1704067200000,8,0.0001\n17040960"));
 * parser.push(new TextEncoder().encode("00001,8,-0.0002"));
 * assert.equal(parser.rowCount, 1);
 * parser.finish();
 * assert.equal(parser.lastFundingTime, 1704096000001);
 * assert.equal(batches[0].numRows, 2);
 * ```
 */
export class FundingCsvParser {
  #file: string | undefined;
  #batchRows: number;
  #source: DataSource | undefined;
  #emit: (batch: RecordBatch) => void;
  #lines: CsvLines;
  #parseLines = (buf: Uint8Array, p: number, end: number) => this.#parse(buf, p, end);
  #cols: FundingColumns;
  #capacity: number;
  #rows = 0;
  /** Lines consumed so far (1-based number of the current line while parsing). */
  #line = 0;
  /** Digit count of calc_time in this file (0: not seen yet). */
  #timeDigits = 0;
  /** Funding time of the last row (each must be greater). */
  #prev = -Infinity;
  /** Rows emitted in batches so far. */
  #emitted = 0;

  constructor(options: FundingCsvParserOptions, emit: (batch: RecordBatch) => void) {
    this.#file = options.file;
    this.#batchRows = options.batchRows;
    this.#source = options.source;
    this.#emit = emit;
    this.#capacity = Math.min(FIRST_CAPACITY, this.#batchRows);
    this.#cols = allocFundingColumns(this.#capacity);
    this.#lines = new CsvLines(MAX_LINE_BYTES, () => {
      this.#line++;
      return this.#fail(`Invalid funding row: the line is longer than ${MAX_LINE_BYTES} bytes`);
    });
  }

  /** Funding time of the last row parsed (-Infinity before the first). */
  get lastFundingTime(): number {
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
    if (last && rows * 4 < this.#capacity) cols = trimmed(cols, rows);
    this.#rows = 0;
    this.#emitted += rows;
    if (!last) {
      // The next batch twice as large up to batchRows: small files stay small, nothing is copied.
      this.#capacity = Math.min(this.#batchRows, this.#capacity * 2);
      this.#cols = allocFundingColumns(this.#capacity);
    }
    this.#emit(fundingBatch(cols, rows, this.#source));
  }

  /** Parses the complete lines in `buf[p, end)`; `buf[end - 1]` is a newline. */
  #parse(buf: Uint8Array, p: number, end: number): void {
    if (this.#line === 0) p = this.#header(buf, p);
    const view = viewOf(buf);
    let row = this.#rows;
    let c = this.#cols;
    let prev = this.#prev;
    while (p < end) {
      this.#line++;
      if (row === this.#capacity) {
        this.#rows = row;
        this.#flush(false);
        row = 0;
        c = this.#cols;
      }
      const t = this.#time(buf, view, p);
      if (t <= prev) {
        this.#fail(
          `Invalid funding row: calc_time ${t} does not follow the row before (${prev}): ` +
            "times must increase",
        );
      }
      c.fundingTime[row] = prev = t;
      c.fundingIntervalHours[row] = this.#interval(buf, scan.end);
      setValid(c.fundingIntervalHoursValid, row);
      c.fundingRate[row] = this.#rate(buf, view, scan.end);
      p = scan.end;
      row++;
    }
    this.#rows = row;
    this.#prev = prev;
  }

  /** Skips a BOM and a header line (a first line starting with a letter), which must be Vision's. */
  #header(buf: Uint8Array, p: number): number {
    if (buf[p] === 0xef && buf[p + 1] === 0xbb && buf[p + 2] === 0xbf) p += 3;
    const first = buf[p] | 0x20;
    if (!((first >= 97 && first <= 122) || buf[p] === 95)) return p;
    this.#line++;
    const nl = buf.indexOf(NL, p);
    const text = fieldText(buf, p, buf[nl - 1] === CR ? nl - 1 : nl);
    if (text !== HEADER) {
      this.#fail(`Invalid funding header: expected "${HEADER}", found ${JSON.stringify(text)}`);
    }
    return nl + 1;
  }

  /** calc_time: 13 (ms) or 16 (µs) digits, one unit per file; returns ms. */
  #time(buf: Uint8Array, view: DataView, p: number): number {
    const v = fastTimestamp(buf, view, p);
    const e = scan.end;
    const n = e - p;
    if (buf[e] !== COMMA || n === 0) {
      this.#badField(buf, p, this.#fieldEnd(buf, p, 0), 0, "is not an integer timestamp");
    }
    if (n !== this.#timeDigits) {
      if (this.#timeDigits === 0 && (n === 13 || n === 16)) this.#timeDigits = n;
      else {
        const expected = this.#timeDigits === 0
          ? "13 (ms) or 16 (µs)"
          : `${this.#timeDigits} like the rows before`;
        this.#badField(buf, p, e, 0, `has ${n} digits, expected ${expected}`);
      }
    }
    // Below 2^53 the remainder and the quotient are exact: µs truncate to their ms.
    const ms = n === 16 ? (v - v % 1000) / 1000 : v;
    if (!(ms >= MIN_MS && ms < MAX_MS)) {
      this.#badField(buf, p, e, 0, "lies outside 2017-01-01 .. 2100-01-01");
    }
    scan.end = e + 1;
    return ms;
  }

  /** funding_interval_hours: a whole number of hours in 1..24. */
  #interval(buf: Uint8Array, p: number): number {
    let e = p;
    let v = 0;
    for (let d = buf[e] - 48; d >= 0 && d <= 9 && e - p < 2; d = buf[++e] - 48) v = v * 10 + d;
    if (buf[e] !== COMMA || e === p || v < 1 || v > 24) {
      const fe = this.#fieldEnd(buf, p, 1);
      this.#badField(buf, p, fe, 1, "is not a whole number of hours in 1..24");
    }
    scan.end = e + 1;
    return v;
  }

  /** last_funding_rate, the last column: a decimal; sets `scan.end` to the next line. */
  #rate(buf: Uint8Array, view: DataView, p: number): number {
    const v = fastDecimal(buf, view, p);
    let e = scan.end;
    if (v === v && buf[e] === NL) {
      scan.end = e + 1;
      return v;
    }
    e = p;
    let c = buf[e];
    while (c !== NL && c !== COMMA && c !== CR) c = buf[++e];
    if (c === COMMA) this.#columnCount(buf, e);
    if (c === CR && buf[e + 1] !== NL) this.#fail("Invalid funding row: stray carriage return");
    const exact = v === v && scan.end === e ? v : slowDecimal(fieldText(buf, p, e));
    if (exact !== exact) this.#badField(buf, p, e, 2, "is not a decimal number");
    scan.end = c === CR ? e + 2 : e + 1;
    return exact;
  }

  /** End of the field starting at `start`; fails when the line ends before column `col` ends. */
  #fieldEnd(buf: Uint8Array, start: number, col: number): number {
    let p = start;
    let c = buf[p];
    while (c !== COMMA && c !== NL && c !== CR) c = buf[++p];
    if (c === COMMA) return p;
    if (col === 0 && p === start) return this.#fail("Invalid funding row: the line is empty");
    return this.#fail(`Invalid funding row: expected 3 columns, found ${col + 1}`);
  }

  #columnCount(buf: Uint8Array, p: number): never {
    let n = 3;
    for (let c = buf[p]; c !== NL && c !== undefined; c = buf[++p]) if (c === COMMA) n++;
    return this.#fail(`Invalid funding row: expected 3 columns, found ${n}`);
  }

  #badField(buf: Uint8Array, p: number, e: number, col: number, why: string): never {
    const text = JSON.stringify(fieldText(buf, p, e));
    return this.#fail(`Invalid funding row: ${CSV_COLUMNS[col]} ${text} ${why}`);
  }

  #fail(message: string): never {
    throw new CsvFormatError(message, this.#file, this.#line);
  }
}
