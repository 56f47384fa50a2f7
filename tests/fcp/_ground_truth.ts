/**
 * Expected rows of the emulated market, straight from its generator: the
 * oracle of the Failover Control Protocol tests.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { RecordBatch, Table } from "apache-arrow";
import type { Interval } from "../../src/core/interval.ts";
import type { Market } from "../../src/core/market.ts";
import {
  allocKlineColumns,
  DATA_SOURCES,
  type DataSource,
  KLINE_COLUMN_KEYS,
  type KlineColumns,
  klineColumnsOf,
} from "../../src/core/schema.ts";
import type { HistoryMode } from "../../src/emulator/irregular_history.ts";
import type { Dataset } from "../../src/core/dataset.ts";
import { klineTruth } from "../../src/emulator/kline_truth.ts";
import { DEFAULT_GAPS, type EmulatedGap, MarketData } from "../../src/emulator/market_data.ts";
import type { EmulatedSymbol } from "../../src/emulator/symbol_catalogue.ts";

/** The emulator's market settings the oracle must share. */
export interface TruthOptions {
  /** Seed. @default 1 */
  seed?: number;
  /** Catalogue. @default DEFAULT_SYMBOLS */
  symbols?: readonly EmulatedSymbol[];
  /** Halts. @default DEFAULT_GAPS */
  gaps?: readonly EmulatedGap[];
  /** History. @default "real" */
  history?: HistoryMode;
  /** A grid dataset (price klines are named by symbol, index prices by pair). @default "klines" */
  dataset?: Dataset;
}

/** Expected rows and missing slots of a range. */
export interface Truth {
  /** The rows, as the schema's float64 columns. */
  columns: KlineColumns;
  /** Row count. */
  length: number;
  /**
   * Runs of grid slots without an on-grid candle, `[start, end)`; a slot
   * whose candle opens off the grid is one of them (see `offGrid`).
   */
  missing: { start: number; end: number; slots: number }[];
  /** Open times of the served rows off the grid (left out, reported as anomalies). */
  offGrid: number[];
}

const cache = new Map<string, MarketData>();

function marketData(options: TruthOptions): MarketData {
  const key = `${options.seed ?? 1}|${options.symbols ? "custom" : "default"}|${
    JSON.stringify(options.gaps ?? DEFAULT_GAPS)
  }|${options.history ?? "real"}`;
  let data = cache.get(key);
  if (!data) {
    data = new MarketData({
      seed: options.seed,
      symbols: options.symbols,
      gaps: options.gaps,
      history: options.history,
    });
    if (!options.symbols) cache.set(key, data);
  }
  return data;
}

/**
 * The candles the emulator's exchange produced on the interval's grid with
 * open time in `[start, end)`, as the columns a client must return (each
 * value `parseFloat` of the served text). Off-grid rows are served but left
 * out by the client: their open times are in `offGrid`, their slots in
 * `missing`.
 *
 * @param market The market.
 * @param symbol The symbol.
 * @param interval The interval.
 * @param start First open time.
 * @param end Exclusive end.
 * @param options Seed, catalogue, halts, history of the emulator.
 * @returns Rows, missing runs and off-grid open times.
 */
export function groundTruth(
  market: Market,
  symbol: string,
  interval: Interval,
  start: number,
  end: number,
  options: TruthOptions = {},
): Truth {
  const data = marketData(options);
  const truth = klineTruth(data, {
    market,
    symbol,
    interval,
    start,
    end,
    dataset: options.dataset,
  });
  const klines = truth.returned;
  const columns = allocKlineColumns(klines.length);
  klines.forEach((k, i) => {
    columns.openTime[i] = k.openTime;
    columns.open[i] = parseFloat(k.open);
    columns.high[i] = parseFloat(k.high);
    columns.low[i] = parseFloat(k.low);
    columns.close[i] = parseFloat(k.close);
    columns.volume[i] = parseFloat(k.volume);
    columns.closeTime[i] = k.closeTime;
    columns.quoteAssetVolume[i] = parseFloat(k.quoteVolume);
    columns.count[i] = k.count;
    columns.takerBuyVolume[i] = parseFloat(k.takerBuyVolume);
    columns.takerBuyQuoteVolume[i] = parseFloat(k.takerBuyQuoteVolume);
  });
  return { columns, length: klines.length, missing: truth.missing, offGrid: truth.offGrid };
}

/** Rows of a table or of batches, as float64 columns, and each row's source. */
export function rowsOf(
  input: Table | readonly RecordBatch[],
): { columns: KlineColumns; length: number; sources: (DataSource | null)[] } {
  const batches = Array.isArray(input) ? input : (input as Table).batches;
  const length = batches.reduce((n: number, b: RecordBatch) => n + b.numRows, 0);
  const columns = allocKlineColumns(length);
  const sources: (DataSource | null)[] = [];
  let at = 0;
  for (const batch of batches as RecordBatch[]) {
    const part = klineColumnsOf(batch);
    for (const key of KLINE_COLUMN_KEYS) {
      columns[key].set(part[key].subarray(0, batch.numRows), at);
    }
    const src = batch.getChild("_data_source");
    for (let i = 0; i < batch.numRows; i++) {
      sources.push(src ? (src.get(i) as DataSource | null) : null);
    }
    at += batch.numRows;
  }
  return { columns, length, sources };
}

/**
 * Asserts that the table holds exactly the expected rows, bit for bit.
 *
 * @param actual The table or batches.
 * @param expected The truth.
 */
export function assertRows(input: Table | readonly RecordBatch[], expected: Truth): void {
  const actual = rowsOf(input);
  if (actual.length !== expected.length) {
    const first = (c: KlineColumns, n: number) =>
      n > 0
        ? `${new Date(c.openTime[0]).toISOString()}..${new Date(c.openTime[n - 1]).toISOString()}`
        : "none";
    assert.fail(
      `Expected ${expected.length} rows (${
        first(expected.columns, expected.length)
      }), got ${actual.length} (${first(actual.columns, actual.length)})`,
    );
  }
  for (const key of KLINE_COLUMN_KEYS) {
    const a = actual.columns[key], e = expected.columns[key];
    for (let i = 0; i < expected.length; i++) {
      if (!Object.is(a[i], e[i])) {
        assert.fail(
          `Row ${i} (${new Date(expected.columns.openTime[i]).toISOString()}) ${key}: expected ${
            e[i]
          }, got ${a[i]}`,
        );
      }
    }
  }
}

/**
 * Asserts each row's `_data_source`.
 *
 * @param input The table or batches.
 * @param expected Expected source of a row by open time.
 */
export function assertSources(
  input: Table | readonly RecordBatch[],
  expected: (openTime: number) => DataSource,
): void {
  const actual = rowsOf(input);
  for (let i = 0; i < actual.length; i++) {
    const t = actual.columns.openTime[i];
    const want = expected(t);
    if (actual.sources[i] !== want) {
      assert.fail(
        `Row ${i} (${new Date(t).toISOString()}): expected source ${want}, got ${
          actual.sources[i]
        }`,
      );
    }
  }
}

/** Counts of each source in a table. */
export function sourceCounts(input: Table | readonly RecordBatch[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const s of rowsOf(input).sources) counts[String(s)] = (counts[String(s)] ?? 0) + 1;
  return counts;
}

/** Every known source name (re-exported for the tests). */
export const SOURCES: readonly DataSource[] = DATA_SOURCES;
