/**
 * The incremental trade CSV parser behind `decodeTradeCsv` and
 * `TradeCsvDecoderStream`: Vision aggTrades / trades bytes in, Arrow columns
 * out (ids and times written straight into int64 buffers, booleans into
 * bitmaps; the batch is built by `core/trade_batch.ts`), one RecordBatch per
 * `batchRows` rows, no allocation per row.
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";
import {
  CsvFormatError,
  InvalidDatasetError,
  InvalidMarketError,
  InvalidRangeError,
} from "../core/errors.ts";
import type { Market } from "../core/market.ts";
import {
  aggTradeBatch,
  allocTradeColumns,
  setInt64 as put,
  tradeBatch,
  type TradeColumns,
  trimTradeColumns,
} from "../core/trade_batch.ts";
import type { TradeDataset } from "../core/trade_schema.ts";
import { CsvLines } from "./_csv_lines.ts";
import { fastDecimal, fastTimestamp, fieldText, scan, slowDecimal, viewOf } from "./_decimal.ts";

const NL = 10;
const CR = 13;
const COMMA = 44;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const MAX_LINE_BYTES = 65536;
const FIRST_CAPACITY = 4096;

/**
 * Default maximum rows per RecordBatch.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_TRADE_BATCH_ROWS } from "./_trade_csv_parser.ts";
 * assert.equal(DEFAULT_TRADE_BATCH_ROWS, 65536);
 * ```
 */
export const DEFAULT_TRADE_BATCH_ROWS = 65536;

/** The printed CSV columns of each data set and market (as Vision's headers name them). */
const CSV_COLUMNS: Record<TradeDataset, Record<Market, readonly string[]>> = (() => {
  const agg = "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time";
  const trade = "id,price,qty,quote_qty,time";
  return {
    aggTrades: {
      spot: `${agg},is_buyer_maker,is_best_match`.split(","),
      um: `${agg},is_buyer_maker`.split(","),
      cm: `${agg},is_buyer_maker`.split(","),
    },
    trades: {
      spot: `${trade},is_buyer_maker,is_best_match`.split(","),
      um: `${trade},is_buyer_maker`.split(","),
      cm: "id,price,qty,base_qty,time,is_buyer_maker".split(","),
    },
  };
})();

/** Settings of a {@linkcode TradeCsvParser} (as returned by {@linkcode checkTradeCsvOptions}). */
export interface TradeCsvParserOptions {
  dataset: TradeDataset;
  market: Market;
  file: string | undefined;
  batchRows: number;
}

/**
 * Validates the options of `decodeTradeCsv` and `TradeCsvDecoderStream`.
 *
 * @param options The options as given.
 * @returns The parser's settings, `batchRows` defaulted.
 * @throws {InvalidDatasetError} `dataset` is not `aggTrades` or `trades`.
 * @throws {InvalidMarketError} `market` is not `spot`, `um` or `cm`.
 * @throws {InvalidRangeError} `batchRows` is not a positive integer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkTradeCsvOptions } from "./_trade_csv_parser.ts";
 * assert.equal(checkTradeCsvOptions({ dataset: "trades", market: "um" }).batchRows, 65536);
 * assert.throws(() => checkTradeCsvOptions({ dataset: "trades", market: "eu" }), {
 *   code: "INVALID_MARKET",
 * });
 * ```
 */
export function checkTradeCsvOptions(
  options: { dataset: unknown; market: unknown; file?: string; batchRows?: number },
): TradeCsvParserOptions {
  const { dataset, market, file, batchRows = DEFAULT_TRADE_BATCH_ROWS } = options;
  if (dataset !== "aggTrades" && dataset !== "trades") {
    throw new InvalidDatasetError(
      dataset,
      `Cannot decode trades: dataset "${dataset}" is not "aggTrades" or "trades"`,
    );
  }
  if (market !== "spot" && market !== "um" && market !== "cm") {
    throw new InvalidMarketError(
      market,
      `Cannot decode ${dataset}: market "${market}" is not "spot", "um" or "cm"`,
    );
  }
  if (!Number.isSafeInteger(batchRows) || batchRows < 1) {
    throw new InvalidRangeError(
      `Cannot decode ${dataset}: batchRows "${batchRows}" is not a positive integer`,
    );
  }
  return { dataset, market, file, batchRows };
}

/**
 * Parses Vision aggTrades or trades CSV bytes pushed in arbitrary chunks and
 * emits RecordBatches (the checks are documented on `decodeTradeCsv`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { RecordBatch } from "apache-arrow";
 * import { TradeCsvParser } from "./_trade_csv_parser.ts";
 * const batches: RecordBatch[] = [];
 * const parser = new TradeCsvParser(
 *   { dataset: "aggTrades", market: "cm", file: undefined, batchRows: 10 },
 *   (batch) => batches.push(batch),
 * );
 * parser.push(new TextEncoder().encode("1,93422.4,7,1,2,1735689600000,false\n2,93422.5,1,3,3,17356"));
 * parser.push(new TextEncoder().encode("89600001,true"));
 * parser.finish();
 * assert.equal(batches[0].numRows, 2);
 * assert.equal(batches[0].getChild("transact_time")?.data[0].values[1], 1735689600001000n);
 * ```
 */
export class TradeCsvParser {
  readonly #file: string | undefined;
  readonly #dataset: TradeDataset;
  readonly #market: Market;
  readonly #agg: boolean;
  readonly #spot: boolean;
  readonly #names: readonly string[];
  readonly #batchRows: number;
  readonly #emit: (batch: RecordBatch) => void;
  readonly #lines: CsvLines;
  readonly #parseLines = (buf: Uint8Array, p: number, end: number) => this.#parse(buf, p, end);
  #cols: TradeColumns;
  #capacity: number;
  #rows = 0;
  /** Lines consumed so far (1-based number of the current line while parsing). */
  #line = 0;
  /** Id of the last row (each must be greater). */
  #prev = -1;

  constructor(options: TradeCsvParserOptions, emit: (batch: RecordBatch) => void) {
    this.#file = options.file;
    this.#dataset = options.dataset;
    this.#market = options.market;
    this.#agg = options.dataset === "aggTrades";
    this.#spot = options.market === "spot";
    this.#names = CSV_COLUMNS[options.dataset][options.market];
    this.#batchRows = options.batchRows;
    this.#emit = emit;
    this.#capacity = Math.min(FIRST_CAPACITY, this.#batchRows);
    this.#cols = allocTradeColumns(this.#dataset, this.#capacity);
    this.#lines = new CsvLines(MAX_LINE_BYTES, () => {
      this.#line++;
      return this.#tooLong();
    });
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

  /**
   * Emits the batch. A full one is followed by one twice as large, up to
   * `batchRows` (small files stay small, nothing is copied); the last one
   * gets buffers of its own size, so that it keeps no spare capacity alive.
   */
  #flush(last: boolean): void {
    const rows = this.#rows;
    let cols = this.#cols;
    if (last && rows < this.#capacity) cols = trimTradeColumns(cols, rows, this.#dataset);
    this.#rows = 0;
    if (!last) {
      this.#capacity = Math.min(this.#batchRows, this.#capacity * 2);
      this.#cols = allocTradeColumns(this.#dataset, this.#capacity);
    }
    this.#emit(
      this.#agg ? aggTradeBatch(cols, rows, this.#market) : tradeBatch(cols, rows, this.#market),
    );
  }

  /** Parses the complete lines in `buf[p, end)`; `buf[end - 1]` is a newline. */
  #parse(buf: Uint8Array, p: number, end: number): void {
    if (this.#line === 0) p = this.#header(buf, p);
    const view = viewOf(buf);
    while (p < end) {
      if (this.#rows === this.#capacity) this.#flush(false);
      p = this.#fill(buf, view, p, end);
    }
  }

  /**
   * The hot loop: parses rows from `p` until `end` or a full batch; returns
   * where it stopped. Called once per batch at least, so that it is compiled
   * as a whole function rather than only entered on the stack.
   */
  #fill(buf: Uint8Array, view: DataView, p: number, end: number): number {
    const agg = this.#agg;
    const spot = this.#spot;
    // Column index of the time in the CSV (the booleans follow it).
    const timeCol = agg ? 5 : 4;
    const c = this.#cols;
    const capacity = this.#capacity;
    let row = this.#rows;
    let prev = this.#prev;
    while (p < end && row < capacity) {
      this.#line++;
      const start = p;
      const id = this.#int(buf, view, p, 0);
      if (id <= prev) this.#notIncreasing(buf, p, scan.end - 1, prev);
      put(c.id, row, prev = id);
      c.price[row] = this.#dec(buf, view, scan.end, 1);
      c.qty[row] = this.#dec(buf, view, scan.end, 2);
      if (agg) {
        put(c.first, row, this.#int(buf, view, scan.end, 3));
        put(c.last, row, this.#int(buf, view, scan.end, 4));
      } else {
        c.third[row] = this.#dec(buf, view, scan.end, 3);
      }
      put(c.time, row, this.#time(buf, view, scan.end, timeCol));
      const bit = 1 << (row & 7);
      if (this.#bool(buf, scan.end, timeCol + 1, !spot)) c.maker[row >>> 3] |= bit;
      if (spot && this.#bool(buf, scan.end, timeCol + 2, true)) c.best[row >>> 3] |= bit;
      p = scan.end;
      if (p - start > MAX_LINE_BYTES) this.#tooLong();
      row++;
    }
    this.#rows = row;
    this.#prev = prev;
    return p;
  }

  /** Skips a BOM and a header line (a first line starting with a letter) of the right width. */
  #header(buf: Uint8Array, p: number): number {
    if (buf[p] === 0xef && buf[p + 1] === 0xbb && buf[p + 2] === 0xbf) p += 3;
    const first = buf[p] | 0x20;
    if (!((first >= 97 && first <= 122) || buf[p] === 95)) return p;
    this.#line++;
    let commas = 0;
    for (let c = buf[p]; c !== NL; c = buf[++p]) if (c === COMMA) commas++;
    if (commas + 1 !== this.#names.length) {
      this.#fail(
        `Invalid ${this.#dataset} header: expected ${this.#names.length} columns, found ${
          commas + 1
        }`,
      );
    }
    return p + 1;
  }

  /** An id column: digits, below 2^53. */
  #int(buf: Uint8Array, view: DataView, p: number, col: number): number {
    // Ids have 9-11 digits today: the first 8 are read 4 at a time.
    const v = fastTimestamp(buf, view, p);
    const e = scan.end;
    if (buf[e] !== COMMA || e === p || !(v <= MAX_SAFE)) {
      const fe = this.#fieldEnd(buf, p, col);
      const digits = fe > p && e === fe;
      this.#badField(buf, p, fe, col, digits ? "is above 2^53 - 1" : "is not a whole number");
    }
    scan.end = e + 1;
    return v;
  }

  #dec(buf: Uint8Array, view: DataView, p: number, col: number): number {
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

  /** A time of 13 (ms) or 16 (µs) digits, detected per value; returns µs. */
  #time(buf: Uint8Array, view: DataView, p: number, col: number): number {
    const v = fastTimestamp(buf, view, p);
    const e = scan.end;
    const n = e - p;
    if (buf[e] === COMMA) {
      scan.end = e + 1;
      if (n === 16 && v <= MAX_SAFE) return v;
      // Below 2^53 / 1000 the product is exact.
      if (n === 13) return v * 1000;
    }
    const fe = this.#fieldEnd(buf, p, col);
    const why = fe !== e || n === 0
      ? "is not a whole number"
      : n === 16
      ? "is above 2^53 - 1"
      : `has ${n} digits, expected 13 (ms) or 16 (µs)`;
    return this.#badField(buf, p, fe, col, why);
  }

  /**
   * A boolean (`True`/`False` on spot, `true`/`false` on futures; either is
   * read in every market): 1 or 0. The last column ends the line, and sets
   * `scan.end` to the next line.
   */
  #bool(buf: Uint8Array, p: number, col: number, last: boolean): number {
    const c = buf[p] | 0x20;
    let v = -1;
    let e = p;
    if (c === 116) { // t
      if (buf[p + 1] === 114 && buf[p + 2] === 117 && buf[p + 3] === 101) {
        v = 1;
        e = p + 4;
      }
    } else if (c === 102) { // f
      if (buf[p + 1] === 97 && buf[p + 2] === 108 && buf[p + 3] === 115 && buf[p + 4] === 101) {
        v = 0;
        e = p + 5;
      }
    }
    const t = buf[e];
    if (v >= 0) {
      if (!last) {
        if (t === COMMA) {
          scan.end = e + 1;
          return v;
        }
      } else if (t === NL) {
        scan.end = e + 1;
        return v;
      } else if (t === CR && buf[e + 1] === NL) {
        scan.end = e + 2;
        return v;
      }
    }
    return this.#badBool(buf, p, col, last);
  }

  #badBool(buf: Uint8Array, p: number, col: number, last: boolean): never {
    if (!last) this.#fieldEnd(buf, p, col);
    let e = p;
    let c = buf[e];
    while (c !== NL && c !== COMMA && c !== CR) c = buf[++e];
    if (last && c === COMMA) this.#columnCount(buf, e);
    if (c === CR && buf[e + 1] !== NL) {
      this.#fail(`Invalid ${this.#dataset} row: stray carriage return`);
    }
    return this.#badField(buf, p, e, col, "is not a boolean (True, False, true or false)");
  }

  #notIncreasing(buf: Uint8Array, p: number, e: number, prev: number): never {
    const why = `does not follow the row before (${prev}): ids must increase`;
    return this.#badField(buf, p, e, 0, why);
  }

  /** End of the field starting at `start`; fails when the line ends before column `col` ends. */
  #fieldEnd(buf: Uint8Array, start: number, col: number): number {
    let p = start;
    let c = buf[p];
    while (c !== COMMA && c !== NL && c !== CR) c = buf[++p];
    if (c === COMMA) return p;
    if (col === 0 && p === start) {
      return this.#fail(`Invalid ${this.#dataset} row: the line is empty`);
    }
    return this.#fail(
      `Invalid ${this.#dataset} row: expected ${this.#names.length} columns, found ${col + 1}`,
    );
  }

  #columnCount(buf: Uint8Array, p: number): never {
    let n = this.#names.length;
    for (let c = buf[p]; c !== NL && c !== undefined; c = buf[++p]) if (c === COMMA) n++;
    return this.#fail(
      `Invalid ${this.#dataset} row: expected ${this.#names.length} columns, found ${n}`,
    );
  }

  #tooLong(): never {
    return this.#fail(
      `Invalid ${this.#dataset} row: the line is longer than ${MAX_LINE_BYTES} bytes`,
    );
  }

  #badField(buf: Uint8Array, p: number, e: number, col: number, why: string): never {
    const text = JSON.stringify(fieldText(buf, p, e));
    return this.#fail(`Invalid ${this.#dataset} row: ${this.#names[col]} ${text} ${why}`);
  }

  #fail(message: string): never {
    throw new CsvFormatError(message, this.#file, this.#line);
  }
}
