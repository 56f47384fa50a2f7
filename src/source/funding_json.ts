/**
 * Decoder of one REST funding rate page (`GET /fapi/v1/fundingRate`,
 * `/dapi/v1/fundingRate`: a JSON array of objects, oldest first):
 * `JSON.parse`, a strict check of every row's shape and of the page against
 * its query, and `parseFloat` of the quoted decimals, written straight into
 * {@linkcode FundingColumns}.
 *
 * @module
 */
import { brief, jsonRows } from "./_json_rows.ts";
import { slowDecimal } from "../codec/_decimal.ts";
import { InvalidRangeError } from "../core/errors.ts";
import { allocFundingColumns, type FundingColumns, setValid } from "../core/funding_schema.ts";

/** What a page was asked for: its rows must answer it. */
export interface FundingJsonQuery {
  /** The `symbol` sent: every row must name it. */
  symbol: string;
  /**
   * The `startTime` sent, epoch ms: no row may be earlier.
   * @default undefined (no lower bound)
   */
  startTime?: number;
  /**
   * The `endTime` sent, epoch ms: no row may be later.
   * @default undefined (no upper bound)
   */
  endTime?: number;
  /**
   * The URL the page came from, for error messages.
   * @default {"fundingRate response"}
   */
  url?: string;
}

/** A decoded funding rate page. */
export interface FundingJsonPage {
  /**
   * The columns; only the first `length` rows are meaningful.
   * `fundingIntervalHours` is null in every row (REST does not give it);
   * `markPrice` is null where the row prints `""` or no `markPrice`.
   */
  columns: FundingColumns;
  /** Number of rows decoded. */
  length: number;
}

/** The value of a quoted decimal, or NaN for anything else (numbers, empty text, `Infinity`). */
function decimal(v: unknown): number {
  return typeof v === "string" ? slowDecimal(v) : NaN;
}

function checkQuery(query: FundingJsonQuery): void {
  if (typeof query?.symbol !== "string" || query.symbol === "") {
    throw new TypeError(
      `Cannot decode funding rates: symbol ${brief(query?.symbol)} is not a symbol`,
    );
  }
  for (const key of ["startTime", "endTime"] as const) {
    const v = query[key];
    if (v !== undefined && !Number.isSafeInteger(v)) {
      throw new InvalidRangeError(`Cannot decode funding rates: ${key} "${v}" is not an integer`);
    }
  }
}

/**
 * Decodes the body of a REST fundingRate response into columns.
 *
 * Each row must be an object with `symbol` equal to the one asked for,
 * `fundingTime` a non-negative integer (epoch ms), `fundingRate` a quoted
 * decimal (digits with an optional sign, point and exponent) and
 * `markPrice` a quoted decimal, `""` or absent (both null: old rows print no
 * mark price); other keys are ignored. Rates and prices are `parseFloat` of
 * the strings. The page must answer its query: funding times strictly
 * increasing (oldest first) within `[startTime, endTime]`. Times are kept
 * as printed (+1/+2 ms of jitter off the hour is real). REST does not give
 * the funding interval: `fundingIntervalHours` is null in every row.
 *
 * @param bytes The response body (UTF-8 JSON).
 * @param query The symbol and times sent, and the URL for messages.
 * @returns The columns and the row count.
 * @throws {NetworkError} When the body is truncated, not a fundingRate
 *   array, or does not answer the query (transient: the same request may
 *   succeed again).
 * @throws {TypeError} When `symbol` is not a non-empty string.
 * @throws {InvalidRangeError} When `startTime` or `endTime` is not an integer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeFundingJson } from "./funding_json.ts";
 * const body = new TextEncoder().encode(JSON.stringify([
 *   { symbol: "BTCUSDT", fundingRate: "-0.03750000", fundingTime: 1570608000000, markPrice: "" },
 *   { symbol: "BTCUSDT", fundingRate: "0.00010000", fundingTime: 1570636800002, markPrice: "34287.54619963" },
 * ]));
 * const { columns, length } = decodeFundingJson(body, { symbol: "BTCUSDT" });
 * assert.equal(length, 2);
 * assert.equal(columns.fundingTime[1], 1570636800002);
 * assert.equal(columns.fundingRate[0], parseFloat("-0.03750000"));
 * assert.equal(columns.markPrice[1], parseFloat("34287.54619963"));
 * assert.deepEqual([...columns.markPriceValid], [0b10]);
 * assert.deepEqual([...columns.fundingIntervalHoursValid], [0]);
 * assert.throws(() => decodeFundingJson(body, { symbol: "ETHUSDT" }), { code: "NETWORK_ERROR" });
 * assert.throws(
 *   () => decodeFundingJson(body, { symbol: "BTCUSDT", endTime: 1570636800000 }),
 *   /fundingTime 1570636800002 of row 1 is after endTime/,
 * );
 * ```
 */
export function decodeFundingJson(bytes: Uint8Array, query: FundingJsonQuery): FundingJsonPage {
  checkQuery(query);
  const url = query.url ?? "fundingRate response";
  const { rows, fail } = jsonRows(bytes, url, "funding rates");
  const length = rows.length;
  const columns = allocFundingColumns(length);
  const { symbol, startTime = -Infinity, endTime = Infinity } = query;
  let prev = -Infinity;
  for (let r = 0; r < length; r++) {
    const row = rows[r];
    if (typeof row !== "object" || row === null || Array.isArray(row)) {
      fail(`row ${r} is not an object: ${brief(row)}`);
    }
    const { symbol: named, fundingTime: t, fundingRate, markPrice } = row as Record<
      string,
      unknown
    >;
    if (named !== symbol) {
      fail(`row ${r} is for symbol ${brief(named)}, expected ${JSON.stringify(symbol)}`);
    }
    if (!Number.isSafeInteger(t) || (t as number) < 0) {
      fail(`expected a non-negative integer for fundingTime of row ${r}, got ${brief(t)}`);
    }
    const time = t as number;
    if (time <= prev) fail(`fundingTime ${time} of row ${r} does not follow the row before`);
    if (time < startTime) fail(`fundingTime ${time} of row ${r} is before startTime ${startTime}`);
    if (time > endTime) fail(`fundingTime ${time} of row ${r} is after endTime ${endTime}`);
    const rate = decimal(fundingRate);
    if (rate !== rate) {
      fail(`expected a quoted decimal for fundingRate of row ${r}, got ${brief(fundingRate)}`);
    }
    if (markPrice !== undefined && markPrice !== "") {
      const price = decimal(markPrice);
      if (price !== price) {
        fail(`expected a quoted decimal or "" for markPrice of row ${r}, got ${brief(markPrice)}`);
      }
      columns.markPrice[r] = price;
      setValid(columns.markPriceValid, r);
    }
    columns.fundingTime[r] = prev = time;
    columns.fundingRate[r] = rate;
  }
  return { columns, length };
}
