/**
 * Options of the emulated Binance server.
 *
 * @module
 */
import type { Market } from "../core/market.ts";
import type { FaultOptions } from "./faults.ts";
import type { EmulatedGap } from "./market_data.ts";
import type { HistoryMode } from "./irregular_history.ts";
import type { EmulatedSymbol } from "./symbol_catalogue.ts";

/**
 * A REST host of the emulator. Everything is served from one origin; the
 * real hosts map onto path prefixes of the emulator's `url`:
 *
 * | real host | emulator base | label |
 * |---|---|---|
 * | `https://api.binance.com`, `https://fapi.binance.com`, `https://dapi.binance.com` | `${url}` | `primary` |
 * | `https://api-gcp.binance.com` | `${url}/backup1` | `backup1` |
 * | `https://api1.binance.com` .. `https://api4.binance.com` | `${url}/backup2` .. `${url}/backup5` | `backup2` .. `backup5` |
 * | `https://data-api.binance.vision` | `${url}/market-data` | `market-data` |
 *
 * Vision (`https://data.binance.vision`) and its listing
 * (`https://s3-ap-northeast-1.amazonaws.com/data.binance.vision`) are both `${url}`.
 */
export type RestHost =
  | "primary"
  | "backup1"
  | "backup2"
  | "backup3"
  | "backup4"
  | "backup5"
  | "market-data";

/** Every REST host label. */
export const REST_HOSTS: readonly RestHost[] = [
  "primary",
  "backup1",
  "backup2",
  "backup3",
  "backup4",
  "backup5",
  "market-data",
];

/** Options of `startEmulator`. */
export interface EmulatorOptions extends FaultOptions {
  /** TCP port on 127.0.0.1; 0 picks a free one. @default 0 */
  port?: number;
  /** Seed of the market data and of every fault. @default 1 */
  seed?: number;
  /**
   * The clock, epoch ms, or a function returning it (tests pass a fixed or
   * stepping clock). Drives "yesterday", the open candle and the weight windows.
   * @default Date.now
   */
  now?: number | (() => number);
  /** The symbol catalogue (spread `DEFAULT_SYMBOLS` to extend it). @default DEFAULT_SYMBOLS */
  symbols?: readonly EmulatedSymbol[];
  /** Exchange halts: no candle opens inside them, in any source or interval. @default DEFAULT_GAPS */
  gaps?: readonly EmulatedGap[];
  /**
   * `"real"`: spot BTCUSDT and ETHUSDT history before 2023 is irregular like
   * genuine Binance history, in every source (outages, off-grid open times,
   * irregular close times, zero-volume halt rows, a non-zero `ignore`; see
   * `REAL_HISTORY`); `"clean"`: every candle is regular (the halts remain).
   * @default "real"
   */
  history?: HistoryMode;
  /**
   * Publication lag in days: the daily files of the newest N days (before
   * yesterday inclusive) are not published yet, and a month's monthly file
   * appears N days after the month ends.
   * @default 0
   */
  publicationLagDays?: number;
  /** Status of a missing file: 404 `NoSuchKey` or 403 `AccessDenied`. @default 404 */
  missingStatus?: 404 | 403;
  /** Zips store sizes and CRC in a trailing data descriptor (flag bit 3). @default false */
  dataDescriptor?: boolean;
  /** CHECKSUM files end with a newline. @default true */
  checksumNewline?: boolean;
  /** Spot REST answers 451 on every host but `market-data`. @default false */
  restrict451?: boolean;
  /** REST hosts answering 451 on spot (added to those of `restrict451`). @default [] */
  blocked451Hosts?: readonly RestHost[];
  /** Weight budget per window, per market. @default { spot: 6000, um: 2400, cm: 2400 } */
  weightBudget?: Partial<Record<Market, number>>;
  /** Length of a weight window. @default 60_000 */
  weightWindowMs?: number;
  /** 429s a market gives within one window before answering 418. @default 3 */
  banAfter?: number;
  /** Length of a 418 ban. @default 120_000 */
  banMs?: number;
  /** Bound of the generated-zip cache, bytes. @default 67_108_864 */
  cacheBytes?: number;
  /**
   * Multiplies every day's number of aggregate and plain trades (the
   * catalogue's `aggTradesPerDay`: spot BTCUSDT about 1,000,000 at 1); tests
   * use e.g. 0.002 for about 2,000 aggregate trades a BTCUSDT day.
   * @default 1
   */
  tradeScale?: number;
  /**
   * Every 1m kline (spot, um, cm `klines`; Vision daily and monthly 1m
   * archives and REST alike) is aggregated from that minute's trades, as on
   * Binance: klines rebuilt from the served aggTrades or trades match them.
   * Only 1m: the other intervals and the price klines stay generated (see
   * `TradeKlineSeries`).
   * @default false
   */
  klinesFromTrades?: boolean;
}
