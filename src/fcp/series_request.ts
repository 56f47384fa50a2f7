/**
 * The fields and checks every non-kline request shares (funding rates, trades): an
 * object with known fields, a market and symbol, a `[start, end)` range on
 * the rows' own time (clamped to now), a source mode and two flags. All of
 * it before any I/O.
 *
 * @module
 */
import { InvalidRangeError } from "../core/errors.ts";
import { type Market, type MarketInput, parseMarket } from "../core/market.ts";
import { validateSymbol } from "../core/symbol.ts";
import { type TimeInput, toEpochMs } from "../core/time.ts";
import { checkKeys } from "./_manager_options.ts";
import type { SourceMode } from "./kline_request.ts";

/** The fields every request other than a kline one has (funding rates, trades). */
export interface SeriesRequestFields {
  /** Symbol, e.g. `BTCUSDT` (spot, um) or `BTCUSD_PERP` (cm). */
  symbol: string;
  /** Inclusive start on the rows' time: Date, ISO 8601 string (UTC when zone-less) or epoch ms. */
  start: TimeInput;
  /** Exclusive end on the rows' time; clamped to now. */
  end: TimeInput;
  /**
   * Market; overrides the manager's.
   * @default {the manager's market}
   */
  market?: MarketInput;
  /**
   * `auto` uses the cache, then Vision, then REST; `cache` never touches
   * the network; `vision` never calls REST; `rest` never calls Vision.
   * @default {"auto"}
   */
  source?: SourceMode;
  /**
   * Append the `_data_source` column (CACHE, VISION, REST).
   * @default {true}
   */
  includeSourceInfo?: boolean;
  /**
   * Throw instead of returning a partial result when a source fails.
   * @default {false}
   */
  strict?: boolean;
}

/** Those fields resolved. */
export interface ResolvedSeriesFields {
  /** Market. */
  readonly market: Market;
  /** Uppercase (NFC) symbol. */
  readonly symbol: string;
  /** First time wanted, epoch ms. */
  readonly start: number;
  /** First time not wanted, after clamping to now, epoch ms. */
  readonly end: number;
  /** Source mode. */
  readonly source: SourceMode;
  /** Whether `_data_source` is appended. */
  readonly includeSourceInfo: boolean;
  /** Strict mode. */
  readonly strict: boolean;
}

/** The field names of {@linkcode SeriesRequestFields}, with `dataset`. */
export const SERIES_REQUEST_KEYS: readonly string[] = [
  "dataset",
  "symbol",
  "start",
  "end",
  "market",
  "source",
  "includeSourceInfo",
  "strict",
];

const SOURCES: readonly SourceMode[] = ["auto", "cache", "vision", "rest"];

function flag(value: unknown, name: string, what: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value === "boolean") return value;
  throw new InvalidRangeError(
    `${what}: ${name} must be true or false, got ${JSON.stringify(value)}`,
  );
}

/**
 * Validates the shared fields of a series request.
 *
 * @param request The request (an object is checked for).
 * @param options `what` starts every message (e.g. `Cannot fetch funding
 *   rates`); `keys` are the known fields; `market` the default market.
 * @returns The resolved fields.
 * @throws {TypeError} Not an object, an unknown field, an invalid market,
 *   symbol or time.
 * @throws {InvalidRangeError} When `start >= end`, `start` is after now, or
 *   `source` or a flag is not one of its values.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveSeriesFields, SERIES_REQUEST_KEYS } from "./series_request.ts";
 * const r = resolveSeriesFields(
 *   { symbol: "ethusdt", start: "2024-01-01", end: "2030-01-01" },
 *   { what: "Cannot fetch", keys: SERIES_REQUEST_KEYS, market: "spot", now: Date.UTC(2025, 0, 1) },
 * );
 * assert.equal(r.symbol, "ETHUSDT");
 * assert.equal(r.end, Date.UTC(2025, 0, 1));
 * assert.throws(() =>
 *   resolveSeriesFields(
 *     { symbol: "ETHUSDT", start: "2024-01-02", end: "2024-01-01" },
 *     { what: "Cannot fetch", keys: SERIES_REQUEST_KEYS, market: "spot", now: Date.UTC(2025, 0, 1) },
 *   ), RangeError);
 * ```
 */
export function resolveSeriesFields(
  request: SeriesRequestFields,
  options: { what: string; keys: readonly string[]; market: MarketInput; now: number },
): ResolvedSeriesFields {
  const { what, keys, now } = options;
  if (request === null || typeof request !== "object") {
    throw new TypeError(`${what}: the request must be an object, got ${request}`);
  }
  checkKeys(request, keys, what, "", "request field");
  const market = parseMarket(request.market ?? options.market);
  const symbol = validateSymbol(request.symbol, market);
  const start = toEpochMs(request.start, "start");
  const requestedEnd = toEpochMs(request.end, "end");
  const iso = (t: number) => new Date(t).toISOString();
  if (start >= requestedEnd) {
    throw new InvalidRangeError(
      `${what}: start ${iso(start)} is not before end ${iso(requestedEnd)}`,
    );
  }
  if (start > now) {
    throw new InvalidRangeError(`${what}: start ${iso(start)} is in the future (now ${iso(now)})`);
  }
  const source = request.source ?? "auto";
  if (!SOURCES.includes(source)) {
    throw new InvalidRangeError(
      `${what}: source ${JSON.stringify(source)} is not one of ${SOURCES.join(", ")}`,
    );
  }
  return {
    market,
    symbol,
    start,
    end: Math.min(requestedEnd, now),
    source,
    includeSourceInfo: flag(request.includeSourceInfo, "includeSourceInfo", what, true),
    strict: flag(request.strict, "strict", what, false),
  };
}
