/**
 * Binance markets: spot, USDT-margined futures (`um`) and coin-margined
 * futures (`cm`), with their Vision paths, REST hosts, limits and weights.
 *
 * @module
 */
import { InvalidMarketError } from "./errors.ts";

/** A Binance market. */
export type Market = "spot" | "um" | "cm";

/** A market as users may spell it: the id or an alias. */
export type MarketInput = Market | "futures_usdt" | "futures_coin";

/** Every market, in a stable order. */
export const MARKETS: readonly Market[] = ["spot", "um", "cm"];

/** Static facts about a market (BINANCE.md sections 1 and 2). */
export interface MarketInfo {
  /** The market id. */
  readonly market: Market;
  /** Path segment on data.binance.vision: `spot`, `futures/um`, `futures/cm`. */
  readonly visionPath: "spot" | "futures/um" | "futures/cm";
  /** REST base URLs, the primary first, then backups. */
  readonly restHosts: readonly string[];
  /** Market-data-only hosts, tried when the primary answers 451. */
  readonly marketDataHosts: readonly string[];
  /** Path of the klines endpoint. */
  readonly klinesPath: string;
  /** Largest `limit` accepted by the klines endpoint. */
  readonly maxLimit: number;
  /** Request weight budget per IP and minute. */
  readonly weightBudget: number;
  /** Largest startTime..endTime span of one klines request, if capped. */
  readonly maxSpanMs: number | undefined;
}

const DAY_MS = 86_400_000;

const INFO: Record<Market, MarketInfo> = {
  spot: {
    market: "spot",
    visionPath: "spot",
    restHosts: [
      "https://api.binance.com",
      "https://api-gcp.binance.com",
      "https://api1.binance.com",
      "https://api2.binance.com",
      "https://api3.binance.com",
      "https://api4.binance.com",
    ],
    marketDataHosts: ["https://data-api.binance.vision"],
    klinesPath: "/api/v3/klines",
    maxLimit: 1000,
    weightBudget: 6000,
    maxSpanMs: undefined,
  },
  um: {
    market: "um",
    visionPath: "futures/um",
    restHosts: ["https://fapi.binance.com"],
    marketDataHosts: [],
    klinesPath: "/fapi/v1/klines",
    maxLimit: 1500,
    weightBudget: 2400,
    maxSpanMs: undefined,
  },
  cm: {
    market: "cm",
    visionPath: "futures/cm",
    restHosts: ["https://dapi.binance.com"],
    marketDataHosts: [],
    klinesPath: "/dapi/v1/klines",
    maxLimit: 1500,
    weightBudget: 2400,
    maxSpanMs: 200 * DAY_MS,
  },
};

const ALIASES: Record<string, Market> = {
  spot: "spot",
  um: "um",
  cm: "cm",
  futures_usdt: "um",
  futures_coin: "cm",
};

/** Base URL of Binance Vision's archives. */
export const VISION_URL = "https://data.binance.vision";

/** Base URL of the S3 bucket listing behind Binance Vision. */
export const VISION_LISTING_URL = "https://s3-ap-northeast-1.amazonaws.com/data.binance.vision";

/**
 * Parses a market id or alias.
 *
 * @param value `spot`, `um`, `cm`, `futures_usdt` or `futures_coin`.
 * @returns The market id.
 * @throws {InvalidMarketError} For anything else.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseMarket } from "./market.ts";
 * assert.equal(parseMarket("futures_coin"), "cm");
 * assert.throws(() => parseMarket("margin"), { code: "INVALID_MARKET" });
 * ```
 */
export function parseMarket(value: unknown): Market {
  if (typeof value === "string" && Object.hasOwn(ALIASES, value)) return ALIASES[value];
  throw new InvalidMarketError(
    value,
    `Cannot use market ${JSON.stringify(value)}: expected one of spot, um, cm ` +
      `(aliases futures_usdt, futures_coin)`,
  );
}

/**
 * Static facts about a market.
 *
 * @param market The market.
 * @returns Its hosts, paths, limits and budget.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { marketInfo } from "./market.ts";
 * assert.equal(marketInfo("um").klinesPath, "/fapi/v1/klines");
 * ```
 */
export function marketInfo(market: Market): MarketInfo {
  return INFO[market];
}

/**
 * Request weight of one klines call.
 *
 * Spot costs 2 whatever the limit; futures cost 1, 2, 5 or 10 for limits
 * below 100, below 500, up to 1000 and above 1000.
 *
 * @param market The market.
 * @param limit The `limit` sent.
 * @returns The weight the exchange charges.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { klinesWeight } from "./market.ts";
 * assert.equal(klinesWeight("spot", 1000), 2);
 * assert.equal(klinesWeight("um", 1500), 10);
 * assert.equal(klinesWeight("cm", 99), 1);
 * ```
 */
export function klinesWeight(market: Market, limit: number): number {
  if (market === "spot") return 2;
  if (limit < 100) return 1;
  if (limit < 500) return 2;
  if (limit <= 1000) return 5;
  return 10;
}
