/**
 * The series each dataset of the emulated market publishes: which symbols
 * (or pairs) a market lists for it, and, for the grid datasets, their
 * candles. Vision files, the S3 listing, REST and the ground truth all look
 * series up here, so a dataset's names and rows are the same everywhere.
 *
 * @module
 */
import type { Dataset } from "../core/dataset.ts";
import type { Interval } from "../core/interval.ts";
import type { Market } from "../core/market.ts";
import { isPerpetual } from "./_futures_contract.ts";
import type { KlineText, MarketData } from "./market_data.ts";
import { PriceKlineSeries } from "./price_kline_series.ts";
import type { EmulatedSymbol } from "./symbol_catalogue.ts";
import { TradeKlineSeries } from "./trade_kline_series.ts";

/** The series a dataset publishes on each market. */
export interface SeriesCatalog {
  /**
   * Looks a series up.
   *
   * @param market The market.
   * @param name The symbol, or the pair of index prices.
   * @returns Its entry (listing, delisting, Vision start), or undefined.
   */
  find(market: Market, name: string): EmulatedSymbol | undefined;
  /**
   * The series of a market, sorted by name.
   *
   * @param market The market.
   * @returns Entries.
   */
  list(market: Market): EmulatedSymbol[];
}

/** The series of a grid dataset (klines, price klines) and their candles. */
export interface KlineSeries extends SeriesCatalog {
  /**
   * Every candle opening in `[start, end)`, in time order.
   *
   * @param spec The series.
   * @param interval The interval.
   * @param start Inclusive epoch ms.
   * @param end Exclusive epoch ms.
   * @param asOf The clock: a candle still open has partial values.
   * @returns The candles.
   */
  klines(
    spec: EmulatedSymbol,
    interval: Interval,
    start: number,
    end: number,
    asOf?: number,
  ): KlineText[];
  /**
   * The candle of one grid slot, when it exists.
   *
   * @param spec The series.
   * @param interval The interval.
   * @param slot A grid open time.
   * @param asOf The clock.
   * @returns The candle, or undefined.
   */
  row(spec: EmulatedSymbol, interval: Interval, slot: number, asOf?: number): KlineText | undefined;
}

/**
 * The candles of a grid dataset: the trade klines themselves (the market,
 * or with `klinesFromTrades` a {@linkcode TradeKlineSeries} whose 1m candles
 * aggregate the trade tape), or the mark, index or premium index price
 * klines derived from the generated ones.
 *
 * @param data The market.
 * @param dataset A grid dataset.
 * @returns Its series.
 * @throws {RangeError} For `fundingRate`, whose rows are events.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { klineSeries } from "./dataset_series.ts";
 * import { MarketData } from "./market_data.ts";
 * const data = new MarketData();
 * assert.equal(klineSeries(data, "klines"), data);
 * const fromTrades = new MarketData({ klinesFromTrades: true });
 * assert.notEqual(klineSeries(fromTrades, "klines"), fromTrades);
 * assert.equal(klineSeries(data, "indexPriceKlines").find("cm", "BTCUSD")?.symbol, "BTCUSD");
 * assert.throws(() => klineSeries(data, "fundingRate"), RangeError);
 * ```
 */
export function klineSeries(data: MarketData, dataset: Dataset): KlineSeries {
  if (dataset === "klines") return data.klinesFromTrades ? TradeKlineSeries.of(data) : data;
  if (dataset === "fundingRate" || dataset === "aggTrades" || dataset === "trades") {
    throw new RangeError(`Cannot serve "${dataset}" as klines: its rows are not candles`);
  }
  return PriceKlineSeries.of(data, dataset);
}

/**
 * The series of any dataset: those of {@linkcode klineSeries} for the grid
 * datasets; for funding rates the perpetual futures symbols (delivery
 * contracts pay no funding); for aggTrades and trades every symbol.
 *
 * @param data The market.
 * @param dataset The dataset.
 * @returns Its catalogue.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { datasetSeries } from "./dataset_series.ts";
 * import { MarketData } from "./market_data.ts";
 * const funding = datasetSeries(new MarketData(), "fundingRate");
 * assert.deepEqual(funding.list("cm").map((s) => s.symbol), ["BTCUSD_PERP", "ETHUSD_PERP"]);
 * assert.equal(funding.find("spot", "BTCUSDT"), undefined);
 * assert.equal(datasetSeries(new MarketData(), "aggTrades").find("spot", "BTCUSDT")?.symbol, "BTCUSDT");
 * ```
 */
export function datasetSeries(data: MarketData, dataset: Dataset): SeriesCatalog {
  if (dataset === "aggTrades" || dataset === "trades") return data;
  if (dataset !== "fundingRate") return klineSeries(data, dataset);
  return {
    find(market, name) {
      const spec = data.find(market, name);
      return spec !== undefined && isPerpetual(spec) ? spec : undefined;
    },
    list: (market) => data.list(market).filter(isPerpetual),
  };
}
