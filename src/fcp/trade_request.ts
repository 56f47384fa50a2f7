/**
 * The request of a trade fetch (`aggTrades` or `trades`), and its
 * validation into a resolved request before any I/O.
 *
 * @module
 */
import { InvalidDatasetError, InvalidOptionError } from "../core/errors.ts";
import type { MarketInput } from "../core/market.ts";
import type { TradeDataset } from "../core/trade_schema.ts";
import {
  type ResolvedSeriesFields,
  resolveSeriesFields,
  SERIES_REQUEST_KEYS,
  type SeriesRequestFields,
} from "./series_request.ts";

/**
 * What to fetch: the aggregate trades (`aggTrades`) or the trades (`trades`)
 * of a symbol whose time lies in `[start, end)`. Times come out in µs.
 */
export interface TradeRequest extends SeriesRequestFields {
  /** `aggTrades` (spot, um, cm; Vision, then REST) or `trades` (Vision only). */
  dataset: TradeDataset;
  /**
   * aggTrades only: rebuild 1m klines (open, high, low, close, volume,
   * count) from the trades fetched and compare them with the official 1m
   * klines of the same minutes; the report's `klineCheck` says where they
   * differ.
   * @default {false}
   */
  compareKlines?: boolean;
}

/** A validated trade request. */
export interface ResolvedTradeRequest extends ResolvedSeriesFields {
  /** The dataset. */
  readonly dataset: TradeDataset;
  /** Whether 1m klines rebuilt from the trades are compared with the official ones. */
  readonly compareKlines: boolean;
}

const KEYS = [...SERIES_REQUEST_KEYS, "compareKlines"];

/**
 * Whether a request names a trade dataset.
 *
 * @param request Any request.
 * @returns True for `dataset: "aggTrades"` or `"trades"`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isTradeRequest } from "./trade_request.ts";
 * assert.equal(isTradeRequest({ dataset: "aggTrades" }), true);
 * assert.equal(isTradeRequest({ dataset: "klines" }), false);
 * ```
 */
export function isTradeRequest(request: unknown): request is TradeRequest {
  const dataset = (request as { dataset?: unknown } | null)?.dataset;
  return dataset === "aggTrades" || dataset === "trades";
}

/**
 * Validates a trade request and resolves its range against the clock.
 *
 * @param request The request.
 * @param defaults The manager's market and clock.
 * @returns The resolved request.
 * @throws {TypeError} Invalid dataset, market, symbol or time, an unknown
 *   field, `compareKlines` on `trades` or not a boolean, or `source: "rest"`
 *   for `trades` (`INVALID_OPTION`).
 * @throws {InvalidRangeError} When `start >= end`, `start` is after now, or
 *   `source` or a flag is not one of its values.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveTradeRequest } from "./trade_request.ts";
 * const r = resolveTradeRequest(
 *   { dataset: "aggTrades", symbol: "btcusdt", start: "2024-01-01", end: "2030-01-01" },
 *   { market: "spot", now: Date.UTC(2025, 0, 1) },
 * );
 * assert.equal(r.symbol, "BTCUSDT");
 * assert.equal(r.end, Date.UTC(2025, 0, 1));
 * assert.equal(r.compareKlines, false);
 * assert.throws(() =>
 *   resolveTradeRequest(
 *     { dataset: "trades", symbol: "BTCUSDT", start: "2024-01-01", end: "2024-01-02", compareKlines: true },
 *     { market: "spot", now: Date.UTC(2025, 0, 1) },
 *   ), { code: "INVALID_OPTION" });
 * ```
 */
export function resolveTradeRequest(
  request: TradeRequest,
  defaults: { market?: MarketInput; now: number },
): ResolvedTradeRequest {
  const dataset = (request as { dataset?: unknown } | null)?.dataset;
  const what = `Cannot fetch ${typeof dataset === "string" ? dataset : "trades"}`;
  if (!isTradeRequest(request)) {
    throw new InvalidDatasetError(
      dataset,
      `${what}: dataset ${JSON.stringify(dataset)} is not "aggTrades" or "trades"`,
    );
  }
  const fields = resolveSeriesFields(request, {
    what,
    keys: KEYS,
    market: defaults.market ?? "spot",
    now: defaults.now,
  });
  const compare = request.compareKlines ?? false;
  if (typeof compare !== "boolean" || (compare && request.dataset !== "aggTrades")) {
    throw new InvalidOptionError(
      "compareKlines",
      compare,
      `${what}: compareKlines ${JSON.stringify(compare)} is allowed only as a boolean on aggTrades`,
    );
  }
  if (request.dataset === "trades" && fields.source === "rest") {
    throw new InvalidOptionError(
      "source",
      fields.source,
      `${what}: source "rest" cannot serve plain trades (Vision is their only source: ` +
        `historicalTrades costs 25 weight a call); use "auto" or "vision", or aggTrades`,
    );
  }
  return { dataset: request.dataset, ...fields, compareKlines: compare };
}
