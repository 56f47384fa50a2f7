/**
 * The symbols the emulator lists, per market, with their listing and
 * delisting times and the number formats their files and responses print.
 *
 * @module
 */
import type { Market } from "../core/market.ts";

/** One emulated symbol on one market. */
export interface EmulatedSymbol {
  /** The market. */
  readonly market: Market;
  /** The symbol, e.g. `BTCUSDT` or `BTCUSD_PERP`. */
  readonly symbol: string;
  /** Base asset: symbols sharing it share their slow price moves across markets. */
  readonly base: string;
  /** First trading instant, epoch ms: the first candle is the one containing it. */
  readonly listedAt: number;
  /** Instant trading stopped, epoch ms; no candle opens at or after it. */
  readonly delistedAt?: number;
  /**
   * First day Vision archives, epoch ms (a UTC midnight): no daily or monthly
   * file before its day or month, and the files hold the candles from the one
   * containing it; REST serves from `listedAt`. @default listedAt
   */
  readonly visionFrom?: number;
  /** Price level relative to the BTC-like anchor path (BTC is 1). */
  readonly priceScale: number;
  /** Price tick, e.g. 0.01. Prices are whole ticks. */
  readonly tick: number;
  /** Decimals printed for prices (spot prints 8). */
  readonly priceDecimals: number;
  /** Decimals printed for volume and taker buy volume (cm prints 0: contracts). */
  readonly volumeDecimals: number;
  /** Decimals printed for quote volume and taker buy quote volume. */
  readonly quoteDecimals: number;
  /** Mean traded volume per minute, base units or contracts. */
  readonly volumePerMinute: number;
  /** Mean number of trades per unit of volume. */
  readonly tradesPerUnit: number;
  /** cm only: USD value of one contract; quote volume is then in the base asset. */
  readonly contractSize?: number;
  /**
   * Aggregate trades a day in recent years (from 2023; fewer before, see
   * `trade_tape.ts`), before the emulator's `tradeScale`.
   * @default spot 20_000, um 30_000, cm 10_000
   */
  readonly aggTradesPerDay?: number;
  /** Mean number of plain trades an aggregate trade covers (at least 1). @default 2.4 */
  readonly tradesPerAggTrade?: number;
}

/** Default aggregate trades a day of a market's symbols without `aggTradesPerDay`. */
export const DEFAULT_AGG_TRADES_PER_DAY: Readonly<Record<Market, number>> = {
  spot: 20_000,
  um: 30_000,
  cm: 10_000,
};

const T0 = Date.UTC(2017, 7, 17, 4);

function spot(symbol: string, base: string, rest: Partial<EmulatedSymbol>): EmulatedSymbol {
  return {
    market: "spot",
    symbol,
    base,
    listedAt: T0,
    priceScale: 1,
    tick: 0.01,
    priceDecimals: 8,
    volumeDecimals: 8,
    quoteDecimals: 8,
    volumePerMinute: 40,
    tradesPerUnit: 30,
    aggTradesPerDay: DEFAULT_AGG_TRADES_PER_DAY.spot,
    ...rest,
  };
}

function um(symbol: string, base: string, rest: Partial<EmulatedSymbol>): EmulatedSymbol {
  return {
    market: "um",
    symbol,
    base,
    listedAt: Date.UTC(2019, 11, 31),
    priceScale: 1,
    tick: 0.1,
    priceDecimals: 2,
    volumeDecimals: 3,
    quoteDecimals: 5,
    volumePerMinute: 200,
    tradesPerUnit: 5,
    aggTradesPerDay: DEFAULT_AGG_TRADES_PER_DAY.um,
    ...rest,
  };
}

function cm(symbol: string, base: string, rest: Partial<EmulatedSymbol>): EmulatedSymbol {
  return {
    market: "cm",
    symbol,
    base,
    listedAt: Date.UTC(2020, 7, 11),
    priceScale: 1,
    tick: 0.1,
    priceDecimals: 1,
    volumeDecimals: 0,
    quoteDecimals: 8,
    volumePerMinute: 8000,
    tradesPerUnit: 0.02,
    contractSize: 100,
    aggTradesPerDay: DEFAULT_AGG_TRADES_PER_DAY.cm,
    tradesPerAggTrade: 1.8,
    ...rest,
  };
}

/**
 * The default catalogue.
 *
 * - spot: `BTCUSDT` and `ETHUSDT` from 2017-08-17 04:00 UTC; `NEWUSDT` listed
 *   late, 2024-03-15 12:00 UTC (mid-day); `OLDUSDT` from 2018-01-01 until its
 *   delisting on 2022-06-30 12:00 UTC (mid-day); `币安人生USDT` (a non-ASCII
 *   name, as spot has had since 2025) from 2025-10-01 00:00 UTC.
 * - um: `BTCUSDT` on REST from 2019-09-08 17:57 UTC but on Vision from
 *   2019-12-31 (as on Binance); `ETHUSDT` from 2019-12-31 00:00 UTC;
 *   `NEWUSDT` from 2024-03-20 08:00 UTC.
 * - cm: `BTCUSD_PERP` from 2020-08-11 00:00 UTC; `ETHUSD_PERP` from
 *   2020-08-14 00:00 UTC.
 *
 * Aggregate trades a day (recent years, `tradeScale` 1): spot BTCUSDT
 * 1,000,000, ETHUSDT 600,000, NEWUSDT 30,000, OLDUSDT 8,000, 币安人生USDT
 * 50,000; um BTCUSDT 1,500,000, ETHUSDT 1,000,000, NEWUSDT 40,000; cm
 * BTCUSD_PERP 100,000, ETHUSD_PERP 40,000.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_SYMBOLS } from "./symbol_catalogue.ts";
 * const perp = DEFAULT_SYMBOLS.find((s) => s.market === "cm" && s.symbol === "BTCUSD_PERP");
 * assert.equal(perp?.listedAt, Date.UTC(2020, 7, 11));
 * const um = DEFAULT_SYMBOLS.find((s) => s.market === "um" && s.symbol === "BTCUSDT");
 * assert.equal(um?.visionFrom, Date.UTC(2019, 11, 31));
 * ```
 */
export const DEFAULT_SYMBOLS: readonly EmulatedSymbol[] = [
  spot("BTCUSDT", "BTC", { aggTradesPerDay: 1_000_000 }),
  spot("ETHUSDT", "ETH", {
    priceScale: 0.06,
    volumePerMinute: 500,
    tradesPerUnit: 3,
    aggTradesPerDay: 600_000,
  }),
  spot("NEWUSDT", "NEW", {
    listedAt: Date.UTC(2024, 2, 15, 12),
    priceScale: 1.2e-5,
    tick: 0.0001,
    volumePerMinute: 20_000,
    tradesPerUnit: 0.05,
    aggTradesPerDay: 30_000,
  }),
  spot("OLDUSDT", "OLD", {
    listedAt: Date.UTC(2018, 0, 1),
    delistedAt: Date.UTC(2022, 5, 30, 12),
    priceScale: 1.5e-4,
    tick: 0.001,
    volumePerMinute: 5_000,
    tradesPerUnit: 0.1,
    aggTradesPerDay: 8_000,
  }),
  spot("币安人生USDT", "币安人生", {
    listedAt: Date.UTC(2025, 9, 1),
    priceScale: 1.5e-6,
    tick: 0.0001,
    volumePerMinute: 100_000,
    tradesPerUnit: 0.01,
    aggTradesPerDay: 50_000,
  }),
  um("BTCUSDT", "BTC", {
    listedAt: Date.UTC(2019, 8, 8, 17, 57),
    visionFrom: Date.UTC(2019, 11, 31),
    aggTradesPerDay: 1_500_000,
  }),
  um("ETHUSDT", "ETH", {
    priceScale: 0.06,
    tick: 0.01,
    volumePerMinute: 2_000,
    tradesPerUnit: 0.5,
    aggTradesPerDay: 1_000_000,
  }),
  um("NEWUSDT", "NEW", {
    listedAt: Date.UTC(2024, 2, 20, 8),
    priceScale: 1.2e-5,
    tick: 0.0001,
    priceDecimals: 4,
    volumeDecimals: 0,
    quoteDecimals: 5,
    volumePerMinute: 50_000,
    tradesPerUnit: 0.02,
    aggTradesPerDay: 40_000,
  }),
  cm("BTCUSD_PERP", "BTC", { aggTradesPerDay: 100_000 }),
  cm("ETHUSD_PERP", "ETH", {
    listedAt: Date.UTC(2020, 7, 14),
    priceScale: 0.06,
    tick: 0.01,
    priceDecimals: 2,
    volumePerMinute: 5_000,
    tradesPerUnit: 0.03,
    contractSize: 10,
    aggTradesPerDay: 40_000,
  }),
];
