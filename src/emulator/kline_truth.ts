/**
 * The ground truth of the emulated market for a range of a grid dataset
 * (klines, or mark, index and premium index price klines): what the exchange
 * serves, which rows a client must return (the ones on the interval's grid),
 * the grid slots without a row, and the irregular rows by kind.
 *
 * @module
 */
import type { Dataset } from "../core/dataset.ts";
import {
  ceilOpenTime,
  closeTimeOf,
  type Interval,
  isOnGrid,
  nextOpenTime,
} from "../core/interval.ts";
import type { AnomalyKind } from "../core/anomaly.ts";
import type { Market } from "../core/market.ts";
import { klineSeries } from "./dataset_series.ts";
import type { KlineText, MarketData } from "./market_data.ts";

/** The series and range of {@linkcode klineTruth}. */
export interface KlineTruthQuery {
  /** The market. */
  market: Market;
  /** The symbol, or the pair of index price klines. */
  symbol: string;
  /** A grid dataset. @default "klines" */
  dataset?: Dataset;
  /** The interval. */
  interval: Interval;
  /** First open time, epoch ms, inclusive. */
  start: number;
  /** Exclusive end, epoch ms. */
  end: number;
  /** The clock: a candle still open at `asOf` has partial values. @default Infinity */
  asOf?: number;
}

/** A run of grid slots without an on-grid row, `[start, end)`. */
export interface MissingSlots {
  /** First empty slot. */
  start: number;
  /** The slot after the last empty one. */
  end: number;
  /** Number of empty slots. */
  slots: number;
}

/** What {@linkcode klineTruth} finds. */
export interface KlineTruth {
  /** The rows the exchange serves with open time in `[start, end)`, off-grid ones included. */
  served: KlineText[];
  /** The rows a client must return: the served rows on the interval's grid. */
  returned: KlineText[];
  /**
   * Runs of grid slots in `[start, end)` (start rounded up to the grid)
   * without an on-grid row; a slot holding only an off-grid row is one of them.
   */
  missing: MissingSlots[];
  /** Open times of the off-grid rows (left out by a client and reported as anomalies). */
  offGrid: number[];
  /**
   * Open times of the irregular served rows, by kind: `off_grid` open time
   * off the grid; `close_time` an on-grid row whose close_time is not next
   * open - 1; `zero_volume` volume 0 (the halt rows, flat at the previous
   * close; never for price klines, whose volume columns print 0 and mean
   * nothing); `ohlc` low above open or close, or high below them (the
   * emulated history has none: its halt rows are flat, not broken);
   * `ignore` a 12th column other than `0`. A row may have several kinds.
   */
  irregular: Record<AnomalyKind, number[]>;
}

/**
 * The ground truth of a range of one series.
 *
 * @param data The market.
 * @param query Series and `[start, end)`.
 * @returns Served and returned rows, missing slots, off-grid and irregular rows.
 * @throws {RangeError} When the symbol is not in the catalogue.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MarketData } from "./market_data.ts";
 * import { klineTruth } from "./kline_truth.ts";
 * const truth = klineTruth(new MarketData(), {
 *   market: "spot",
 *   symbol: "BTCUSDT",
 *   interval: "1h",
 *   start: Date.UTC(2018, 1, 7),
 *   end: Date.UTC(2018, 1, 12),
 * });
 * assert.equal(truth.offGrid.length, 43);
 * assert.equal(truth.offGrid[0], 1518168494789); // 2018-02-09 09:28:14.789
 * assert.equal(truth.served.length, truth.returned.length + 43);
 * assert.deepEqual(truth.missing[0], {
 *   start: Date.UTC(2018, 1, 8),
 *   end: Date.UTC(2018, 1, 11, 4),
 *   slots: 76,
 * });
 * assert.deepEqual(truth.irregular.close_time, [Date.UTC(2018, 1, 7, 23)]);
 * const mark = klineTruth(new MarketData(), {
 *   market: "um",
 *   symbol: "BTCUSDT",
 *   dataset: "markPriceKlines",
 *   interval: "1h",
 *   start: Date.UTC(2024, 0, 1),
 *   end: Date.UTC(2024, 0, 2),
 * });
 * assert.equal(mark.returned.length, 24);
 * assert.deepEqual(mark.irregular.zero_volume, []);
 * ```
 */
export function klineTruth(data: MarketData, query: KlineTruthQuery): KlineTruth {
  const { market, symbol, interval, start, end } = query;
  const dataset = query.dataset ?? "klines";
  const series = klineSeries(data, dataset);
  const spec = series.find(market, symbol);
  if (spec === undefined) {
    throw new RangeError(
      `Cannot build the truth: ${dataset} series "${symbol}" is not listed on ${market}`,
    );
  }
  const served = series.klines(spec, interval, start, end, query.asOf);
  const returned: KlineText[] = [];
  const offGrid: number[] = [];
  const irregular: Record<AnomalyKind, number[]> = {
    off_grid: offGrid,
    close_time: [],
    zero_volume: [],
    ohlc: [],
    ignore: [],
  };
  for (const k of served) {
    const t = k.openTime;
    if (isOnGrid(t, interval)) {
      returned.push(k);
      if (k.closeTime !== closeTimeOf(t, interval)) irregular.close_time.push(t);
    } else offGrid.push(t);
    if (dataset === "klines" && Number(k.volume) === 0) irregular.zero_volume.push(t);
    const [open, high, low, close] = [k.open, k.high, k.low, k.close].map(Number);
    if (!(low <= open && low <= close && high >= open && high >= close)) irregular.ohlc.push(t);
    if (k.ignore !== "0") irregular.ignore.push(t);
  }
  const missing: MissingSlots[] = [];
  let row = 0;
  for (let t = ceilOpenTime(start, interval); t < end; t = nextOpenTime(t, interval)) {
    if (row < returned.length && returned[row].openTime === t) {
      row++;
      continue;
    }
    const last = missing.at(-1);
    const next = nextOpenTime(t, interval);
    if (last !== undefined && last.end === t) {
      last.end = next;
      last.slots++;
    } else missing.push({ start: t, end: next, slots: 1 });
  }
  return { served, returned, missing, offGrid, irregular };
}
