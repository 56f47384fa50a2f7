/**
 * What a futures symbol's name says about its contract: the pair it tracks
 * and whether it is a perpetual. Private to the emulator.
 *
 * @module
 */
import type { EmulatedSymbol } from "./symbol_catalogue.ts";

/**
 * The pair of a futures symbol: `BTCUSD_PERP` → `BTCUSD`, `BTCUSDT_240628` →
 * `BTCUSDT`, `BTCUSDT` → `BTCUSDT`.
 */
export function pairOf(symbol: string): string {
  const cut = symbol.indexOf("_");
  return cut < 0 ? symbol : symbol.slice(0, cut);
}

/** Whether a futures symbol is a perpetual: cm `…_PERP`, um without a delivery suffix. */
export function isPerpetual(spec: EmulatedSymbol): boolean {
  if (spec.market === "spot") return false;
  return spec.market === "cm" ? spec.symbol.endsWith("_PERP") : !spec.symbol.includes("_");
}
