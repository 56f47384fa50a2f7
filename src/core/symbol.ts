/**
 * Symbols: the safe pattern (symbols become URL and path segments) and the
 * market-specific forms, with a hint for the common mistakes.
 *
 * @module
 */
import { InvalidSymbolError } from "./errors.ts";
import type { Market } from "./market.ts";

/** Characters and length a symbol may have. */
export const SYMBOL_PATTERN: RegExp = /^[A-Z0-9_-]{1,30}$/;

const CM_FORM = /^[A-Z0-9]+USD_(PERP|\d{6})$/;
const UM_DELIVERY = /^[A-Z0-9]+_\d{6}$/;
const QUOTES = ["USDT", "USDC", "BUSD", "FDUSD", "TUSD", "USD"];

/**
 * A corrected symbol for the common mistakes: a spot-style symbol on cm, or a
 * cm symbol on spot/um.
 *
 * @param symbol The (uppercase) symbol.
 * @param market The market it was used on.
 * @returns The suggestion, or undefined.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { symbolHint } from "./symbol.ts";
 * assert.equal(symbolHint("BTCUSDT", "cm"), "BTCUSD_PERP");
 * assert.equal(symbolHint("BTCUSD_PERP", "um"), "BTCUSDT");
 * ```
 */
export function symbolHint(symbol: string, market: Market): string | undefined {
  if (market === "cm") {
    if (symbol.includes("_")) return undefined;
    const quote = QUOTES.find((q) => symbol.endsWith(q) && symbol.length > q.length);
    return quote ? `${symbol.slice(0, -quote.length)}USD_PERP` : `${symbol}USD_PERP`;
  }
  const perp = /^([A-Z0-9]+)USD_PERP$/.exec(symbol);
  return perp ? `${perp[1]}USDT` : undefined;
}

function reject(value: unknown, symbol: string, market: Market, why: string): never {
  const hint = symbolHint(symbol, market);
  const suffix = hint ? `; did you mean ${hint}?` : "";
  throw new InvalidSymbolError(
    value,
    `Cannot use symbol ${JSON.stringify(value)} on market "${market}": ${why}${suffix}`,
    hint,
  );
}

/**
 * Validates a symbol for a market and returns it uppercased.
 *
 * spot: `{BASE}{QUOTE}` (`BTCUSDT`); um: the same, or a delivery contract
 * `BTCUSDT_250627`; cm: `BTCUSD_PERP` or `BTCUSD_250627`.
 *
 * @param value The symbol; lowercase is accepted and uppercased.
 * @param market The market.
 * @returns The symbol in uppercase.
 * @throws {InvalidSymbolError} For a malformed symbol or one of another market's form.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateSymbol } from "./symbol.ts";
 * assert.equal(validateSymbol("btcusdt", "spot"), "BTCUSDT");
 * assert.throws(() => validateSymbol("BTCUSDT", "cm"), /did you mean BTCUSD_PERP\?/);
 * assert.throws(() => validateSymbol("../etc", "spot"), { code: "INVALID_SYMBOL" });
 * ```
 */
export function validateSymbol(value: unknown, market: Market): string {
  if (typeof value !== "string") {
    throw new InvalidSymbolError(value, `Cannot use symbol ${String(value)}: expected a string`);
  }
  const symbol = value.toUpperCase();
  if (!SYMBOL_PATTERN.test(symbol)) {
    throw new InvalidSymbolError(
      value,
      `Cannot use symbol ${JSON.stringify(value)}: expected 1 to 30 of A-Z, 0-9, "_" and "-"`,
    );
  }
  if (market === "cm" && !CM_FORM.test(symbol)) {
    reject(value, symbol, market, "coin-margined symbols look like BTCUSD_PERP or BTCUSD_250627");
  }
  if (market === "um" && symbol.includes("_") && !UM_DELIVERY.test(symbol)) {
    reject(value, symbol, market, "USDT-margined symbols look like BTCUSDT or BTCUSDT_250627");
  }
  if (market === "spot" && symbol.includes("_")) {
    reject(value, symbol, market, "spot symbols look like BTCUSDT");
  }
  return symbol;
}
