/**
 * The request of a kline fetch, and its validation into a resolved request
 * before any I/O.
 *
 * @module
 */
import { type Dataset, datasetField, datasetInfo, parseDataset } from "../core/dataset.ts";
import { InvalidDatasetError, InvalidRangeError } from "../core/errors.ts";
import {
  ceilOpenTime,
  floorOpenTime,
  type Interval,
  nextOpenTime,
  parseInterval,
} from "../core/interval.ts";
import { type Market, type MarketInput, parseMarket } from "../core/market.ts";
import { validateSymbol } from "../core/symbol.ts";
import { type TimeInput, toEpochMs } from "../core/time.ts";
import { checkKeys, REQUEST_KEYS } from "./_manager_options.ts";

/** Which sources a request may use. */
export type SourceMode = "auto" | "cache" | "vision" | "rest";

/** The datasets of candles on the interval grid that a kline request can name. */
export type CandleDataset =
  | "klines"
  | "markPriceKlines"
  | "indexPriceKlines"
  | "premiumIndexKlines";

/** What to fetch. */
export interface KlineRequest {
  /**
   * Symbol, e.g. `BTCUSDT` (spot, um) or `BTCUSD_PERP` (cm); for
   * `indexPriceKlines` the pair (`BTCUSDT` on um, `BTCUSD` on cm).
   */
  symbol: string;
  /**
   * Which candles: trade `klines`, or on um and cm `markPriceKlines`,
   * `indexPriceKlines` (by pair) and `premiumIndexKlines`. The price klines
   * share the kline schema; their `volume`, `quote_asset_volume`,
   * `taker_buy_volume` and `taker_buy_quote_volume` are printed as 0 and
   * carry no meaning, and `count` is the number of price samples.
   * @default {"klines"}
   */
  dataset?: CandleDataset;
  /** Interval, `1s` .. `1M` (`1mo` accepted). */
  interval: Interval | "1mo";
  /** Inclusive start on open_time: Date, ISO 8601 string (UTC when zone-less) or epoch ms. */
  start: TimeInput;
  /** Exclusive end on open_time; clamped to now (a start after now is a `RangeError`). */
  end: TimeInput;
  /**
   * Market; overrides the manager's.
   * @default {the manager's market}
   */
  market?: MarketInput;
  /**
   * `auto` uses cache, then Vision, then REST; `cache` never touches the
   * network; `vision` never calls REST; `rest` never calls Vision. Forced
   * network sources do not read the cache (they still fill it).
   * @default {"auto"}
   */
  source?: SourceMode;
  /**
   * Append the `_data_source` column (CACHE, VISION, REST).
   * @default {true}
   */
  includeSourceInfo?: boolean;
  /**
   * Include the still-open candle when the range reaches now.
   * @default {false}
   */
  includeOpenCandle?: boolean;
  /**
   * `"null"` returns every grid slot of the range, missing ones as null rows.
   * @default {"none"}
   */
  fill?: "none" | "null";
  /**
   * Throw instead of returning a partial result when a source fails.
   * @default {false}
   */
  strict?: boolean;
}

/** A validated request: every field checked, times as aligned epoch ms. */
export interface ResolvedRequest {
  /** The dataset; absent for `klines`. */
  readonly dataset?: Dataset;
  /** Market. */
  readonly market: Market;
  /** Uppercase symbol. */
  readonly symbol: string;
  /** Interval, REST spelling. */
  readonly interval: Interval;
  /** First open time wanted (on the grid). */
  readonly start: number;
  /** First open time not wanted (on the grid), after clamping to now. */
  readonly end: number;
  /** The start as asked, epoch ms. */
  readonly requestedStart: number;
  /** The end as asked, epoch ms. */
  readonly requestedEnd: number;
  /** Open time of the candle open at `now`. */
  readonly openCandle: number;
  /** Source mode. */
  readonly source: SourceMode;
  /** Whether `_data_source` is appended. */
  readonly includeSourceInfo: boolean;
  /** Whether the open candle may be returned. */
  readonly includeOpenCandle: boolean;
  /** Null-fill mode. */
  readonly fill: "none" | "null";
  /** Strict mode. */
  readonly strict: boolean;
}

const SOURCES: readonly SourceMode[] = ["auto", "cache", "vision", "rest"];

function oneOf<T extends string>(value: unknown, allowed: readonly T[], name: string): T {
  if (typeof value === "string" && (allowed as readonly string[]).includes(value)) {
    return value as T;
  }
  throw new InvalidRangeError(
    `Cannot fetch klines: ${name} ${JSON.stringify(value)} is not one of ${allowed.join(", ")}`,
  );
}

function flag(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value === "boolean") return value;
  throw new InvalidRangeError(
    `Cannot fetch klines: ${name} must be true or false, got ${JSON.stringify(value)}`,
  );
}

/**
 * Validates a request and resolves its range against the clock. Everything a
 * user can get wrong is refused here, before any I/O.
 *
 * The range is aligned outward-in: `start` rounds up to the grid, `end`
 * rounds up too (a candle opening before `end` is wanted), then `end` is
 * clamped to the open candle (excluded unless asked for).
 *
 * @param request The request.
 * @param defaults The manager's market and clock.
 * @returns The resolved request; `start === end` when the range starts in the
 *   past but holds no closed candle yet.
 * @throws {TypeError} Invalid market, dataset, symbol, interval or time (each
 *   with its `code`); an unknown field (`InvalidOptionError`, code `INVALID_OPTION`).
 * @throws {InvalidRangeError} When `start >= end`, when `start` is after now
 *   (the range is wholly in the future), or `source`, `fill` or a flag is not
 *   one of its values (code `INVALID_RANGE`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveRequest } from "./kline_request.ts";
 * const r = resolveRequest(
 *   { symbol: "btcusdt", interval: "1h", start: "2024-01-01T00:30", end: "2024-01-02" },
 *   { market: "spot", now: Date.UTC(2025, 0, 1) },
 * );
 * assert.equal(r.symbol, "BTCUSDT");
 * assert.equal(r.start, Date.UTC(2024, 0, 1, 1));
 * assert.equal(r.end, Date.UTC(2024, 0, 2));
 * ```
 */
export function resolveRequest(
  request: KlineRequest,
  defaults: { market?: MarketInput; now: number },
): ResolvedRequest {
  if (request === null || typeof request !== "object") {
    throw new TypeError(`Cannot fetch klines: the request must be an object, got ${request}`);
  }
  checkKeys(request, REQUEST_KEYS, "Cannot fetch klines", "", "request field");
  const market = parseMarket(request.market ?? defaults.market ?? "spot");
  const dataset = parseDataset(request.dataset, market);
  if (datasetInfo(dataset).series !== "grid") {
    throw new InvalidDatasetError(
      request.dataset,
      `Cannot fetch klines: dataset "${dataset}" is an event series, not candles on an interval grid`,
    );
  }
  const by = datasetInfo(dataset).seriesParameter;
  const symbol = validateSymbol(request.symbol, market, by === "pair" ? "pair" : undefined);
  const interval = parseInterval(request.interval, market);
  const requestedStart = toEpochMs(request.start, "start");
  const requestedEnd = toEpochMs(request.end, "end");
  if (requestedStart >= requestedEnd) {
    throw new InvalidRangeError(
      `Cannot fetch klines: start ${new Date(requestedStart).toISOString()} is not before end ${
        new Date(requestedEnd).toISOString()
      }`,
    );
  }
  if (requestedStart > defaults.now) {
    throw new InvalidRangeError(
      `Cannot fetch klines: start ${new Date(requestedStart).toISOString()} is in the future (now ${
        new Date(defaults.now).toISOString()
      })`,
    );
  }
  const source = oneOf(request.source ?? "auto", SOURCES, "source");
  const fill = oneOf(request.fill ?? "none", ["none", "null"] as const, "fill");
  const includeOpenCandle = flag(request.includeOpenCandle, "includeOpenCandle", false);
  const openCandle = floorOpenTime(defaults.now, interval);
  const limit = includeOpenCandle ? nextOpenTime(openCandle, interval) : openCandle;
  const start = Math.min(ceilOpenTime(requestedStart, interval), limit);
  const end = Math.max(start, Math.min(ceilOpenTime(requestedEnd, interval), limit));
  return {
    ...datasetField(dataset),
    market,
    symbol,
    interval,
    start,
    end,
    requestedStart,
    requestedEnd,
    openCandle,
    source,
    includeSourceInfo: flag(request.includeSourceInfo, "includeSourceInfo", true),
    includeOpenCandle,
    fill,
    strict: flag(request.strict, "strict", false),
  };
}
