/**
 * The irregular history of one series (market, symbol, interval), compiled
 * from the event schedule into lookups the candle generator can afford per
 * row. Private to the emulator.
 *
 * @module
 */
import { floorOpenTime, type Interval, nextOpenTime } from "../core/interval.ts";
import type { Market } from "../core/market.ts";
import {
  type HistoryEvent,
  type HistoryEventKind,
  OFF_GRID_SLOTS,
  offGridShift,
} from "./irregular_history.ts";

/** What the history does to the candle of one grid slot. */
export interface RowMark {
  /** Added to the grid open time (an off-grid row); 0 on the grid. */
  shift: number;
  /** A close_time rule other than next open - 1, if any. */
  close?: "short_close" | "exact_close" | "close_999000" | "backward_close";
  /** A flat zero-volume halt row. */
  halt: boolean;
  /** Start of the halt: the row is flat at the price of `min(open time, haltFrom)`. */
  haltFrom: number;
}

/**
 * The compiled history of a series.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SeriesHistory } from "./_series_history.ts";
 * import { REAL_HISTORY } from "./irregular_history.ts";
 * const h = new SeriesHistory("spot", "BTCUSDT", "1h", REAL_HISTORY);
 * assert.equal(h.inOutage(Date.UTC(2018, 1, 8, 12)), true);
 * assert.equal(h.mark(Date.UTC(2018, 1, 9, 9))?.shift, 1_694_789);
 * assert.equal(new SeriesHistory("um", "BTCUSDT", "1h", REAL_HISTORY).empty, true);
 * ```
 */
export class SeriesHistory {
  /** Sorted outage starts. */
  #starts: number[] = [];
  /** Outage ends, by the same index. */
  #ends: number[] = [];
  #marks = new Map<number, RowMark>();
  /** Slots in `[from, to)` may carry a mark or lie in an outage. */
  readonly from: number = Infinity;
  /** See `from`. */
  readonly to: number = -Infinity;
  /** Candles opening in `[ignoreFrom, ignoreUntil)` carry a non-zero `ignore`. */
  readonly ignoreFrom: number = Infinity;
  /** See `ignoreFrom`. */
  readonly ignoreUntil: number = -Infinity;

  /**
   * Compiles the events of one series.
   *
   * @param market The market.
   * @param symbol The symbol.
   * @param interval The interval.
   * @param events The schedule (events of other series are skipped).
   */
  constructor(
    market: Market,
    symbol: string,
    interval: Interval,
    events: readonly HistoryEvent[],
  ) {
    const mine = events.filter((e) => e.market === market && e.symbols.includes(symbol));
    const outages = mine.filter((e) => e.kind === "outage").sort((a, b) => a.start - b.start);
    let from = Infinity, to = -Infinity;
    const cover = (a: number, b: number) => {
      from = Math.min(from, a);
      to = Math.max(to, b);
    };
    for (const e of outages) {
      this.#starts.push(e.start);
      this.#ends.push(e.end);
      cover(floorOpenTime(e.start, interval), e.end);
    }
    for (const e of mine) {
      if (e.kind === "ignore") {
        this.ignoreFrom = Math.min(this.ignoreFrom, e.start);
        this.ignoreUntil = Math.max(this.ignoreUntil, e.end);
      } else if (e.kind !== "outage") {
        for (let t = floorOpenTime(e.start, interval); t < e.end; t = nextOpenTime(t, interval)) {
          const m = this.#mark(t, e.kind);
          if (e.kind === "halt") m.haltFrom = Math.min(m.haltFrom, e.start);
          cover(t, t + 1);
        }
      }
    }
    const shift = offGridShift(interval);
    for (const e of outages) {
      if (!e.offGridRestart || shift === 0) continue;
      let t = floorOpenTime(e.end - shift, interval);
      if (t + shift < e.end) t = nextOpenTime(t, interval);
      for (let k = 0; k < OFF_GRID_SLOTS; k++, t = nextOpenTime(t, interval)) {
        this.#mark(t, "shift").shift = shift;
        cover(t, t + 1);
      }
    }
    this.from = from;
    this.to = to;
  }

  /** True when nothing is irregular. */
  get empty(): boolean {
    return this.from === Infinity && this.ignoreFrom === Infinity;
  }

  /**
   * The mark of a grid slot.
   *
   * @param slot A grid open time.
   * @returns Its mark, or undefined for a regular candle.
   */
  mark(slot: number): RowMark | undefined {
    return slot >= this.from && slot < this.to ? this.#marks.get(slot) : undefined;
  }

  /**
   * Whether a candle opening at `t` falls inside an outage.
   *
   * @param t An open time (on or off the grid).
   * @returns True when no candle may open there.
   */
  inOutage(t: number): boolean {
    if (t < this.from || t >= this.to) return false;
    const starts = this.#starts;
    let lo = 0, hi = starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid] <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo > 0 && t < this.#ends[lo - 1];
  }

  #mark(slot: number, kind: HistoryEventKind | "shift"): RowMark {
    let m = this.#marks.get(slot);
    if (m === undefined) this.#marks.set(slot, m = { shift: 0, halt: false, haltFrom: Infinity });
    if (kind === "halt") m.halt = true;
    else if (kind !== "shift" && kind !== "outage" && kind !== "ignore") m.close = kind;
    return m;
  }
}
