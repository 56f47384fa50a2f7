/**
 * The request of a funding rate fetch, and its validation into a resolved
 * request before any I/O.
 *
 * @module
 */
import { InvalidDatasetError } from "../core/errors.ts";
import type { MarketInput } from "../core/market.ts";
import {
  type ResolvedSeriesFields,
  resolveSeriesFields,
  SERIES_REQUEST_KEYS,
  type SeriesRequestFields,
} from "./series_request.ts";

/**
 * What to fetch: the funding events of a futures symbol (um or cm) in
 * `[start, end)` of funding time.
 */
export interface FundingRateRequest extends SeriesRequestFields {
  /** The dataset: funding rates. */
  dataset: "fundingRate";
}

/** A validated funding request: every field checked, times as epoch ms. */
export interface ResolvedFundingRequest extends ResolvedSeriesFields {
  /** The dataset. */
  readonly dataset: "fundingRate";
}

/**
 * Validates a funding request and resolves its range against the clock.
 * Everything a user can get wrong is refused here, before any I/O.
 *
 * @param request The request.
 * @param defaults The manager's market and clock.
 * @returns The resolved request.
 * @throws {TypeError} Invalid market (not um or cm: `INVALID_DATASET`),
 *   symbol, time, or an unknown field.
 * @throws {InvalidRangeError} When `start >= end`, `start` is after now, or
 *   `source` or a flag is not one of its values.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveFundingRequest } from "./funding_request.ts";
 * const r = resolveFundingRequest(
 *   { dataset: "fundingRate", symbol: "btcusdt", start: "2024-01-01", end: "2030-01-01" },
 *   { market: "um", now: Date.UTC(2025, 0, 1) },
 * );
 * assert.equal(r.symbol, "BTCUSDT");
 * assert.equal(r.end, Date.UTC(2025, 0, 1));
 * assert.throws(() =>
 *   resolveFundingRequest(
 *     { dataset: "fundingRate", symbol: "BTCUSDT", start: "2024-01-01", end: "2024-02-01" },
 *     { market: "spot", now: Date.UTC(2025, 0, 1) },
 *   ), { code: "INVALID_DATASET" });
 * ```
 */
export function resolveFundingRequest(
  request: FundingRateRequest,
  defaults: { market?: MarketInput; now: number },
): ResolvedFundingRequest {
  const what = "Cannot fetch funding rates";
  if (request !== null && typeof request === "object" && request.dataset !== "fundingRate") {
    throw new InvalidDatasetError(
      request.dataset,
      `${what}: dataset ${JSON.stringify(request.dataset)} is not "fundingRate"`,
    );
  }
  const fields = resolveSeriesFields(request, {
    what,
    keys: SERIES_REQUEST_KEYS,
    market: defaults.market ?? "um",
    now: defaults.now,
  });
  if (fields.market === "spot") {
    throw new InvalidDatasetError(
      request.dataset,
      `Invalid dataset "fundingRate": not published for spot (markets: um, cm)`,
    );
  }
  return { dataset: "fundingRate", ...fields };
}
