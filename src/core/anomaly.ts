/**
 * The rules a well-formed kline row can break. Real Binance history holds
 * such rows (BINANCE.md, "Real history is irregular"); they are never an
 * error: a row off the interval grid is left out of the output, every other
 * one is kept as printed, and each is reported.
 *
 * @module
 */

/**
 * A rule a row breaks:
 * - `off_grid`: its open time is not on the interval's grid (left out);
 * - `close_time`: its close time is not the next open time - 1 ms (before
 *   the open, cut short, equal to the next open…);
 * - `ohlc`: low above open or close, or high below them;
 * - `zero_volume`: nothing traded (a halt row);
 * - `ignore`: its 12th value, which Binance names `ignore`, is not zero (the
 *   value is not part of the output schema; `detail` quotes it).
 */
export type AnomalyKind = "off_grid" | "close_time" | "ohlc" | "zero_volume" | "ignore";

/**
 * Every {@linkcode AnomalyKind}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ANOMALY_KINDS } from "./anomaly.ts";
 * assert.ok(ANOMALY_KINDS.includes("off_grid"));
 * ```
 */
export const ANOMALY_KINDS: readonly AnomalyKind[] = [
  "off_grid",
  "close_time",
  "ohlc",
  "zero_volume",
  "ignore",
];

/** A row that breaks a rule: kept (left out when off the grid) and reported. */
export interface Anomaly {
  /** The rule broken. */
  kind: AnomalyKind;
  /** Open time of the row, epoch ms. */
  openTime: number;
  /** What was found. */
  detail: string;
}
