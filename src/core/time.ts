/**
 * Time values: parsing `Date | ISO string | epoch ms` into UTC epoch ms, and
 * formatting partition dates.
 *
 * @module
 */
import { InvalidTimeError } from "./errors.ts";

/** A point in time as users give it: a Date, an ISO 8601 string or epoch ms. */
export type TimeInput = Date | string | number;

/** 2017-01-01T00:00:00Z: nothing on Binance is older. */
export const EARLIEST_TIME: number = Date.UTC(2017, 0, 1);

/** 2100-01-01T00:00:00Z: the latest time accepted. */
export const LATEST_TIME: number = Date.UTC(2100, 0, 1);

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const ZONED = /(Z|[+-]\d{2}:?\d{2})$/i;
const ISO_LIKE = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}:?\d{2})?$/i;
const DIGITS = /^\d{1,16}$/;

function parseIso(text: string): number {
  if (!ISO_LIKE.test(text)) return NaN;
  let iso = text.replace(" ", "T");
  if (DATE_ONLY.test(iso)) iso += "T00:00:00Z";
  else if (!ZONED.test(iso)) iso += "Z";
  const ms = Date.parse(iso);
  // Date.parse rolls 2023-02-30 over to March: reject dates that do not round-trip.
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== iso.slice(0, 10)) {
    return ZONED.test(text) ? ms : NaN;
  }
  return ms;
}

/**
 * Parses a time into UTC epoch milliseconds.
 *
 * A date-only string is 00:00Z; a date-time string without a zone is UTC; a
 * string of digits is epoch ms. Times before 2017 (where a value in seconds
 * lands) and after 2099 are refused.
 *
 * @param value A Date, an ISO 8601 string, or epoch ms.
 * @param name What the value is, for the error message.
 * @returns Epoch ms.
 * @throws {InvalidTimeError} When the value cannot be parsed or is out of span.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toEpochMs } from "./time.ts";
 * assert.equal(toEpochMs("2024-01-01"), 1704067200000);
 * assert.equal(toEpochMs("2024-01-01T00:01:00"), 1704067260000);
 * assert.throws(() => toEpochMs(1704067200), { code: "INVALID_TIME" });
 * ```
 */
export function toEpochMs(value: TimeInput, name = "time"): number {
  let ms: number;
  if (value instanceof Date) ms = value.getTime();
  else if (typeof value === "number") ms = value;
  else if (typeof value === "string") {
    const text = value.trim();
    ms = DIGITS.test(text) ? Number(text) : parseIso(text);
  } else {
    throw new InvalidTimeError(
      value,
      `Cannot parse ${name} ${describe(value)}: expected a Date, an ISO 8601 string or epoch ms`,
    );
  }
  if (!Number.isFinite(ms) || !Number.isInteger(ms)) {
    throw new InvalidTimeError(
      value,
      `Cannot parse ${name} ${describe(value)}: expected a Date, an ISO 8601 string or epoch ms`,
    );
  }
  if (ms < EARLIEST_TIME || ms >= LATEST_TIME) {
    const hint = ms > 1e9 && ms < 1e11 ? " (it looks like seconds; epoch ms are expected)" : "";
    throw new InvalidTimeError(
      value,
      `Cannot use ${name} ${describe(value)}: it must lie between 2017-01-01 and 2099-12-31${hint}`,
    );
  }
  return ms;
}

function describe(value: unknown): string {
  if (value instanceof Date) {
    return Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString();
  }
  if (typeof value === "string") return JSON.stringify(value);
  return String(value);
}

/**
 * Formats epoch ms as a UTC day, `YYYY-MM-DD`.
 *
 * @param ms Epoch ms.
 * @returns The day.
 */
export function formatDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/**
 * Formats epoch ms as a UTC month, `YYYY-MM`.
 *
 * @param ms Epoch ms.
 * @returns The month.
 */
export function formatMonth(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}
