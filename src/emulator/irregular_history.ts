/**
 * The irregular rows of the emulated history (BINANCE.md, "Real history is
 * irregular"): outages, open times off the grid after some restarts, cut-short,
 * exact and backward close times, flat zero-volume halt rows and a non-zero
 * `ignore` column. The schedule is fixed (the same for every seed) so tests can
 * name the instants; it applies to spot `BTCUSDT` and `ETHUSDT` before 2023.
 *
 * @module
 */
import { type Interval, intervalMs } from "../core/interval.ts";
import type { Market } from "../core/market.ts";

/**
 * Which history the emulator serves: `"real"`, irregular like genuine Binance
 * history (the {@linkcode REAL_HISTORY} schedule), or `"clean"`, every candle
 * regular (only the configured halts remain).
 */
export type HistoryMode = "real" | "clean";

/** What an event does to the candles it touches. */
export type HistoryEventKind =
  | "outage"
  | "short_close"
  | "exact_close"
  | "close_999000"
  | "backward_close"
  | "halt"
  | "ignore";

/**
 * One irregularity of the history, over `[start, end)`.
 *
 * - `outage`: no candle opens inside `[start, end)`. With `offGridRestart`,
 *   the {@linkcode OFF_GRID_SLOTS} candles of each interval from 1s to 12h
 *   that follow open at grid + {@linkcode offGridShift} (the first at or after
 *   `end`), with close_time = open_time + interval - 1.
 * - every other kind marks each candle overlapping `[start, end)` (an instant
 *   is `[t, t + 1)`: the candle containing it, in every interval):
 *   `short_close` close = open + floor(29/60 × length) (an hour closes 29
 *   minutes after it opens); `exact_close` close = open + length (no -1 ms);
 *   `close_999000` close = next open - 1000; `backward_close` close = open -
 *   759,479 ms (before the open); `halt` volumes, taker volumes and count 0,
 *   open = high = low = close = the price when the halt began (the close of
 *   the candle before it; a candle opening before `start` keeps its open);
 *   `ignore` the 12th column carries a decimal number instead of `0`.
 */
export interface HistoryEvent {
  /** What it does. */
  readonly kind: HistoryEventKind;
  /** First ms. */
  readonly start: number;
  /** First ms after. */
  readonly end: number;
  /** The market. */
  readonly market: Market;
  /** The symbols it applies to. */
  readonly symbols: readonly string[];
  /** `outage` only: the candles after it open off the grid. @default false */
  readonly offGridRestart?: boolean;
}

/** Candles off the grid after an off-grid restart, per interval (real: 43 hourly rows). */
export const OFF_GRID_SLOTS = 43;

/** Shift of real off-grid open times: `…:28:14.789` on the hourly grid. */
const OFF_GRID_MS = 1_694_789;

/** close_time - open_time of a `backward_close` row (real: 2020-12-21 14:00 1h). */
export const BACKWARD_CLOSE_MS = -759_479;

/**
 * The shift of off-grid open times for an interval: 1,694,789 ms (28 min
 * 14.789 s) modulo the interval, so 1m rows open at `…:14.789` and 1s rows at
 * `….789`; 0 for 1d, 3d, 1w and 1M (they stay on the grid).
 *
 * @param interval The interval.
 * @returns The shift in ms, in `[0, interval)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { offGridShift } from "./irregular_history.ts";
 * assert.equal(offGridShift("1h"), 1_694_789);
 * assert.equal(offGridShift("15m"), 794_789);
 * assert.equal(offGridShift("1m"), 14_789);
 * assert.equal(offGridShift("1s"), 789);
 * assert.equal(offGridShift("1d"), 0);
 * ```
 */
export function offGridShift(interval: Interval): number {
  const step = intervalMs(interval);
  return step >= 86_400_000 ? 0 : OFF_GRID_MS % step;
}

const MAJORS = ["BTCUSDT", "ETHUSDT"];
const U = Date.UTC;

function ev(
  kind: HistoryEventKind,
  start: number,
  end = start + 1,
  offGridRestart = false,
): HistoryEvent {
  return { kind, start, end, market: "spot", symbols: MAJORS, offGridRestart };
}

/**
 * The irregularities of the `"real"` history: spot `BTCUSDT` and `ETHUSDT`,
 * 2017-08 to 2022-12 (nothing from 2023 on; other symbols and markets are
 * regular). In UTC:
 *
 * | kind | when |
 * |---|---|
 * | ignore | every candle opening before 2018-01-01 |
 * | exact_close | 2017-09-06 00:00 - 03:00 |
 * | outage | 2017-10-11 03:00 - 09:30 |
 * | short_close, outage | 2017-12-19 21:59:59.999; 2017-12-19 22:00 - 12-20 04:00 |
 * | short_close, outage, off grid | 2018-02-07 23:59:59.999; 2018-02-08 00:00 - 02-09 09:28:14.789, then off the grid (1h from 1518168494789 to 2018-02-11 03:28:14.789) |
 * | short_close, outage | 2018-06-07 04:59:59.999; 2018-06-07 05:00 - 13:00 |
 * | close_999000 | 2018-09-04 07:00:30 |
 * | outage | 2018-11-14 08:00 - 11:45 |
 * | short_close, outage, halt | 2019-05-15 00:59:59.999; 01:00 - 09:00; halt 09:00 - 09:10 |
 * | outage, off grid | 2019-11-25 02:00 - 11-26 13:28:14.789, then off the grid |
 * | close_999000 | 2020-03-13 02:15 |
 * | outage, halt | 2020-06-28 03:00 - 07:00; halt 07:00 - 07:05 |
 * | short_close | 2020-10-21 16:45 |
 * | halt, backward_close | 2020-12-21 14:00 (1h: open 1608559200000, close 1608558440521) |
 * | outage, off grid | 2021-09-07 12:00 - 09-08 02:28:14.789, then off the grid |
 * | outage, halt | 2021-12-05 06:00 - 08:00; halt 08:00 - 08:15 |
 * | outage | 2022-03-10 01:00 - 05:30 |
 * | exact_close | 2022-06-01 10:00 - 11:00 |
 * | short_close, outage | 2022-10-03 17:59:59.999; 18:00 - 10-04 03:00 |
 *
 * The default halts (`DEFAULT_GAPS`) come on top of these.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { REAL_HISTORY } from "./irregular_history.ts";
 * const restart = REAL_HISTORY.find((e) => e.offGridRestart)!;
 * assert.equal(restart.end, 1518168494789);
 * assert.ok(REAL_HISTORY.every((e) => e.end <= Date.UTC(2023, 0, 1)));
 * ```
 */
export const REAL_HISTORY: readonly HistoryEvent[] = [
  ev("ignore", U(2017, 0, 1), U(2018, 0, 1)),
  ev("exact_close", U(2017, 8, 6), U(2017, 8, 6, 3)),
  ev("outage", U(2017, 9, 11, 3), U(2017, 9, 11, 9, 30)),
  ev("short_close", U(2017, 11, 19, 22) - 1),
  ev("outage", U(2017, 11, 19, 22), U(2017, 11, 20, 4)),
  ev("short_close", U(2018, 1, 8) - 1),
  ev("outage", U(2018, 1, 8), U(2018, 1, 9, 9, 28, 14, 789), true),
  ev("short_close", U(2018, 5, 7, 5) - 1),
  ev("outage", U(2018, 5, 7, 5), U(2018, 5, 7, 13)),
  ev("close_999000", U(2018, 8, 4, 7, 0, 30)),
  ev("outage", U(2018, 10, 14, 8), U(2018, 10, 14, 11, 45)),
  ev("short_close", U(2019, 4, 15, 1) - 1),
  ev("outage", U(2019, 4, 15, 1), U(2019, 4, 15, 9)),
  ev("halt", U(2019, 4, 15, 9), U(2019, 4, 15, 9, 10)),
  ev("outage", U(2019, 10, 25, 2), U(2019, 10, 26, 13, 28, 14, 789), true),
  ev("close_999000", U(2020, 2, 13, 2, 15)),
  ev("outage", U(2020, 5, 28, 3), U(2020, 5, 28, 7)),
  ev("halt", U(2020, 5, 28, 7), U(2020, 5, 28, 7, 5)),
  ev("short_close", U(2020, 9, 21, 16, 45)),
  ev("halt", U(2020, 11, 21, 14)),
  ev("backward_close", U(2020, 11, 21, 14)),
  ev("outage", U(2021, 8, 7, 12), U(2021, 8, 8, 2, 28, 14, 789), true),
  ev("outage", U(2021, 11, 5, 6), U(2021, 11, 5, 8)),
  ev("halt", U(2021, 11, 5, 8), U(2021, 11, 5, 8, 15)),
  ev("outage", U(2022, 2, 10, 1), U(2022, 2, 10, 5, 30)),
  ev("exact_close", U(2022, 5, 1, 10), U(2022, 5, 1, 11)),
  ev("short_close", U(2022, 9, 3, 18) - 1),
  ev("outage", U(2022, 9, 3, 18), U(2022, 9, 4, 3)),
];
