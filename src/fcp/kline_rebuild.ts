/**
 * The check users ask for: do the exchange's trades and its klines agree?
 * 1m klines are rebuilt from aggTrades (open = first price, close = last,
 * high, low, volume = the sum of quantities, count = the trades the
 * aggregates cover) and compared minute by minute with the official 1m
 * klines.
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";
import { klineColumnsOf } from "../core/schema.ts";
import { int64At, int64Halves } from "./_trade_rows.ts";

const MINUTE = 60_000;

/** The fields compared. */
export type KlineCheckField = "open" | "high" | "low" | "close" | "volume" | "count";

/** A minute where the rebuilt kline and the official one differ. */
export interface KlineMismatch {
  /** The minute's open time, epoch ms. */
  openTime: number;
  /** Each differing field: rebuilt from the trades, and printed in the official kline. */
  fields: Partial<Record<KlineCheckField, { trades: number; kline: number }>>;
}

/** What the comparison found. */
export interface KlineCheckReport {
  /** Minutes compared: whole minutes of the range on days whose trades were fetched. */
  minutes: number;
  /** Minutes where every field agrees. */
  matching: number;
  /** Minutes that differ (the first 1,000). */
  mismatches: KlineMismatch[];
  /** Minutes that differ, listed or not. */
  mismatchCount: number;
  /** Minutes with trades but no official kline. */
  missingKlines: number;
  /** Minutes whose official kline counts trades, but no trade was fetched. */
  missingTrades: number;
  /**
   * Relative tolerance of the volume: the rebuilt volume is a sum of
   * floats, the official one the exchange's decimal.
   */
  volumeTolerance: number;
}

const MAX_LISTED = 1000;
const VOLUME_TOLERANCE = 1e-9;

/**
 * 1m klines rebuilt from aggTrades as they stream past, for the whole
 * minutes of `[start, end)`; `compare` then checks them against official
 * 1m klines.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeTradeCsv } from "../codec/trade_csv.ts";
 * import { allocKlineColumns, klineBatch } from "../core/schema.ts";
 * import { KlineRebuild } from "./kline_rebuild.ts";
 * const t = Date.UTC(2024, 0, 1);
 * const trades = decodeTradeCsv(new TextEncoder().encode(
 *   `1,10.5,2,1,2,${t + 1},true,True\n2,11,1,3,3,${t + 2},false,True\n3,10,1,4,4,${t + 3},false,True\n`,
 * ), { dataset: "aggTrades", market: "spot" });
 * const rebuild = new KlineRebuild(t, t + 60_000);
 * for (const b of trades) rebuild.feed(b);
 * const k = allocKlineColumns(1);
 * Object.assign(k.openTime, [t]);
 * Object.assign(k.open, [10.5]);
 * Object.assign(k.high, [11]);
 * Object.assign(k.low, [10]);
 * Object.assign(k.close, [10]);
 * Object.assign(k.volume, [4]);
 * Object.assign(k.count, [5]);
 * const klines = [klineBatch(k)];
 * const report = rebuild.compare(klines, [{ start: t, end: t + 60_000 }]);
 * assert.equal(report.matching, 0);
 * assert.deepEqual(report.mismatches[0].fields, { count: { trades: 4, kline: 5 } });
 * ```
 */
export class KlineRebuild {
  readonly #start: number;
  readonly #open: Float64Array;
  readonly #high: Float64Array;
  readonly #low: Float64Array;
  readonly #close: Float64Array;
  readonly #volume: Float64Array;
  readonly #count: Float64Array;

  /**
   * @param start First time of the range, epoch ms.
   * @param end End of the range (exclusive), epoch ms.
   */
  constructor(start: number, end: number) {
    this.#start = Math.ceil(start / MINUTE) * MINUTE;
    const minutes = Math.max(0, Math.floor(end / MINUTE) - this.#start / MINUTE);
    this.#open = new Float64Array(minutes);
    this.#high = new Float64Array(minutes).fill(-Infinity);
    this.#low = new Float64Array(minutes).fill(Infinity);
    this.#close = new Float64Array(minutes);
    this.#volume = new Float64Array(minutes);
    this.#count = new Float64Array(minutes);
  }

  /** Adds a batch of aggTrades (in id order). */
  feed(batch: RecordBatch): void {
    const n = batch.numRows;
    const price = batch.getChildAt(1)!.data[0].values as Float64Array;
    const qty = batch.getChildAt(2)!.data[0].values as Float64Array;
    const first = int64Halves(batch, 3);
    const last = int64Halves(batch, 4);
    const time = int64Halves(batch, 5);
    const minutes = this.#count.length;
    for (let i = 0; i < n; i++) {
      const m = Math.floor(int64At(time, i) / 1000 / MINUTE) - this.#start / MINUTE;
      if (m < 0 || m >= minutes) continue;
      const p = price[i];
      if (this.#count[m] === 0) this.#open[m] = p;
      if (p > this.#high[m]) this.#high[m] = p;
      if (p < this.#low[m]) this.#low[m] = p;
      this.#close[m] = p;
      this.#volume[m] += qty[i];
      this.#count[m] += int64At(last, i) - int64At(first, i) + 1;
    }
  }

  /**
   * Compares the rebuilt minutes with official 1m klines.
   *
   * @param klines Official 1m klines (of the kline schema, any order).
   * @param covered Spans whose trades were fetched, epoch ms: only their
   *   whole minutes are compared.
   * @returns The report.
   */
  compare(
    klines: Iterable<RecordBatch>,
    covered: readonly { start: number; end: number }[],
  ): KlineCheckReport {
    const minutes = this.#count.length;
    const inScope = new Uint8Array(minutes);
    for (const span of covered) {
      const from = Math.max(0, Math.ceil((span.start - this.#start) / MINUTE));
      const to = Math.min(minutes, Math.floor((span.end - this.#start) / MINUTE));
      inScope.fill(1, from, Math.max(from, to));
    }
    // Where each minute's official kline is: its batch (-1: none) and row.
    const officialBatch = new Int32Array(minutes).fill(-1);
    const officialRow = new Int32Array(minutes);
    const columns: ReturnType<typeof klineColumnsOf>[] = [];
    for (const batch of klines) {
      const c = klineColumnsOf(batch);
      for (let i = 0; i < batch.numRows; i++) {
        const m = (c.openTime[i] - this.#start) / MINUTE;
        if (Number.isInteger(m) && m >= 0 && m < minutes) {
          officialBatch[m] = columns.length;
          officialRow[m] = i;
        }
      }
      columns.push(c);
    }
    const report: KlineCheckReport = {
      minutes: 0,
      matching: 0,
      mismatches: [],
      mismatchCount: 0,
      missingKlines: 0,
      missingTrades: 0,
      volumeTolerance: VOLUME_TOLERANCE,
    };
    for (let m = 0; m < minutes; m++) {
      if (!inScope[m]) continue;
      const traded = this.#count[m] > 0;
      if (officialBatch[m] < 0) {
        if (traded) report.missingKlines++;
        continue;
      }
      const c = columns[officialBatch[m]];
      const i = officialRow[m];
      if (!traded) {
        if (c.count[i] > 0) report.missingTrades++;
        continue;
      }
      report.minutes++;
      const fields: KlineMismatch["fields"] = {};
      const same = (a: number, b: number) => a === b;
      const near = (a: number, b: number) =>
        Math.abs(a - b) <= VOLUME_TOLERANCE * Math.max(1, Math.abs(b));
      const check = (name: KlineCheckField, mine: number, theirs: number, eq = same) => {
        if (!eq(mine, theirs)) fields[name] = { trades: mine, kline: theirs };
      };
      check("open", this.#open[m], c.open[i]);
      check("high", this.#high[m], c.high[i]);
      check("low", this.#low[m], c.low[i]);
      check("close", this.#close[m], c.close[i]);
      check("volume", this.#volume[m], c.volume[i], near);
      check("count", this.#count[m], c.count[i]);
      if (Object.keys(fields).length === 0) {
        report.matching++;
        continue;
      }
      report.mismatchCount++;
      if (report.mismatches.length < MAX_LISTED) {
        report.mismatches.push({ openTime: this.#start + m * MINUTE, fields });
      }
    }
    return report;
  }
}
