/**
 * The 12th kline value, which Binance names `ignore`, where a row carries
 * something other than `0` (real 2017 spot files carry a number there).
 * The value is not part of the output schema; the decoders record it next
 * to the RecordBatch holding the row, so that a fetch can report it.
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";

/** A row's non-zero `ignore` value. */
export interface IgnoreValue {
  /** Open time of the row, epoch ms. */
  openTime: number;
  /** The value as printed. */
  text: string;
}

const RECORDED = new WeakMap<RecordBatch, readonly IgnoreValue[]>();
const NONE: readonly IgnoreValue[] = Object.freeze([]);

/**
 * Whether an `ignore` value is worth reporting: anything but empty text or
 * a number equal to zero.
 *
 * @param text The value as printed.
 * @returns True when it is not zero.
 */
export function isNonZeroIgnore(text: string): boolean {
  return text !== "" && text !== "0" && Number(text) !== 0;
}

/**
 * Records the non-zero `ignore` values of a batch's rows.
 *
 * @param batch The batch holding the rows.
 * @param values The values, in row order (an empty list records nothing).
 * @returns The batch.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { allocKlineColumns, klineBatch } from "../core/schema.ts";
 * import { ignoreValuesOf, recordIgnoreValues } from "./kline_ignore_values.ts";
 * const batch = klineBatch(allocKlineColumns(1), 1);
 * assert.deepEqual(ignoreValuesOf(batch), []);
 * recordIgnoreValues(batch, [{ openTime: 0, text: "17928899.62484339" }]);
 * assert.equal(ignoreValuesOf(batch)[0].text, "17928899.62484339");
 * ```
 */
export function recordIgnoreValues(
  batch: RecordBatch,
  values: readonly IgnoreValue[],
): RecordBatch {
  if (values.length > 0) RECORDED.set(batch, values);
  return batch;
}

/**
 * The non-zero `ignore` values recorded for a batch's rows.
 *
 * @param batch A batch from a kline decoder.
 * @returns The values in row order; empty when none were recorded.
 */
export function ignoreValuesOf(batch: RecordBatch): readonly IgnoreValue[] {
  return RECORDED.get(batch) ?? NONE;
}
