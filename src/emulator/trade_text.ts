/**
 * The printed text of trade values, per symbol: prices in whole ticks with
 * the symbol's price decimals, quantities with its volume decimals (cm:
 * integer contracts), quote quantities (spot, um) and base quantities (cm)
 * rounded to its quote decimals. Vision files, REST and the ground truth
 * print through it, so their text is the same.
 *
 * @module
 */
import type { EmulatedSymbol } from "./symbol_catalogue.ts";

/** A non-negative integer as decimal text with `decimals` places (`1234, 2` → `12.34`). */
function fixed(value: number, decimals: number): string {
  const digits = String(value);
  if (decimals === 0) return digits;
  const padded = digits.length > decimals ? digits : digits.padStart(decimals + 1, "0");
  return `${padded.slice(0, -decimals)}.${padded.slice(-decimals)}`;
}

/**
 * The number formats of one symbol's trades.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_SYMBOLS } from "./symbol_catalogue.ts";
 * import { TradeText } from "./trade_text.ts";
 * const btc = new TradeText(DEFAULT_SYMBOLS.find((s) => s.symbol === "BTCUSDT")!);
 * assert.equal(btc.price(4_231_055), "42310.55000000");
 * assert.equal(btc.qty(1_200_000), "0.01200000");
 * assert.equal(btc.quote(4_231_055, 1_200_000), "507.72660000");
 * const perp = new TradeText(DEFAULT_SYMBOLS.find((s) => s.symbol === "BTCUSD_PERP")!);
 * assert.equal(perp.qty(12), "12");
 * assert.equal(perp.base(500_000, 12), "0.02400000");
 * ```
 */
export class TradeText {
  #spec: EmulatedSymbol;
  #inv: number;
  #lot: number;
  #priceShift: number;

  /**
   * Creates the instance.
   *
   * @param spec The symbol.
   */
  constructor(spec: EmulatedSymbol) {
    this.#spec = spec;
    this.#inv = Math.round(1 / spec.tick);
    this.#lot = 10 ** spec.volumeDecimals;
    const tickDecimals = Math.round(Math.log10(this.#inv));
    const exact = 10 ** tickDecimals === this.#inv && tickDecimals <= spec.priceDecimals;
    this.#priceShift = exact ? 10 ** (spec.priceDecimals - tickDecimals) : NaN;
  }

  /**
   * A price.
   * @param ticks Price in ticks.
   * @returns The text.
   */
  price(ticks: number): string {
    const pd = this.#spec.priceDecimals;
    if (Number.isNaN(this.#priceShift)) return (ticks / this.#inv).toFixed(pd);
    return fixed(ticks * this.#priceShift, pd);
  }

  /**
   * A quantity.
   * @param lots Quantity in units of `10^-volumeDecimals`.
   * @returns The text.
   */
  qty(lots: number): string {
    return fixed(lots, this.#spec.volumeDecimals);
  }

  /**
   * Price × quantity (spot and um `quote_qty`).
   * @param ticks Price in ticks.
   * @param lots Quantity in lots.
   * @returns The text.
   */
  quote(ticks: number, lots: number): string {
    return ((ticks / this.#inv) * (lots / this.#lot)).toFixed(this.#spec.quoteDecimals);
  }

  /**
   * Quantity × contract size / price (cm `base_qty`).
   * @param ticks Price in ticks.
   * @param lots Contracts.
   * @returns The text.
   */
  base(ticks: number, lots: number): string {
    const size = this.#spec.contractSize ?? 1;
    return (((lots / this.#lot) * size) / (ticks / this.#inv)).toFixed(this.#spec.quoteDecimals);
  }
}
