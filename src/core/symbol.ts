/**
 * Symbols: the safe forms (symbols become URL and path segments) and the
 * market-specific forms, with a hint for the common mistakes.
 *
 * Futures symbols are ASCII (`^[A-Z0-9][A-Z0-9_-]{0,29}$`). Since 2025-12 spot
 * symbols may also hold letters and digits of any script (`币安人生USDT`);
 * {@linkcode validateSymbol} accepts those and guards against lookalikes.
 *
 * @module
 */
import { InvalidSymbolError } from "./errors.ts";
import type { Market } from "./market.ts";

/** The ASCII form of a symbol: every futures symbol and most spot ones. */
export const SYMBOL_PATTERN: RegExp = /^[A-Z0-9][A-Z0-9_-]{0,29}$/;

const CM_FORM = /^[A-Z0-9]+USD_(PERP|\d{6})$/;
const UM_DELIVERY = /^[A-Z0-9]+_\d{6}$/;
const CM_PAIR = /^[A-Z0-9]+USD$/;
const QUOTES = ["USDT", "USDC", "BUSD", "FDUSD", "TUSD", "USD"];

/** Most characters (code points) of a symbol. */
const MAX_CHARS = 30;
/**
 * Most UTF-8 bytes of a symbol: a non-ASCII symbol's cache folder spells
 * each byte as `%XX`, and 3 × 85 = 255 is the file-name limit of common
 * file systems.
 */
const MAX_BYTES = 85;
const ASCII_CHAR = /\p{ASCII}/u;
const ASCII_ALLOWED = /^[A-Za-z0-9_-]$/;
const WORD_CHAR = /^[\p{L}\p{N}\p{M}]$/u;
const MARK = /^\p{M}/u;
const ASCII_RULE = 'expected 1 to 30 of A-Z, 0-9, "_" and "-", starting with a letter or digit';
const utf8 = new TextEncoder();

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
  if (!SYMBOL_PATTERN.test(symbol)) return undefined;
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

/** A futures pair (index prices are named by pair): `BTCUSDT` on um, `BTCUSD` on cm. */
function checkPair(value: unknown, symbol: string, market: Market): string {
  const form = market === "cm" ? CM_PAIR : market === "um" ? /^[A-Z0-9]+$/ : undefined;
  if (form?.test(symbol)) return symbol;
  const pair = /^([A-Z0-9]+)_(?:PERP|\d{6})$/.exec(symbol)?.[1];
  const hint = pair !== undefined && form?.test(pair) ? pair : undefined;
  throw new InvalidSymbolError(
    value,
    `Cannot use pair ${JSON.stringify(value)} on market "${market}": index prices are named ` +
      `by pair, like ${market === "cm" ? "BTCUSD" : "BTCUSDT"}${
        hint ? `; did you mean ${hint}?` : ""
      }`,
    hint,
  );
}

/** `"ſ" (U+017F)`: a character quoted, with its code point. */
function described(char: string): string {
  const code = char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0");
  return `${JSON.stringify(char)} (U+${code})`;
}

/**
 * Whether every code unit is ASCII. A loop, not a Unicode regex: this runs
 * on every cache read, and compiling a `\p{…}` regex costs a fresh process
 * a few tenths of a millisecond.
 */
function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** Why a non-ASCII text is not a symbol, or undefined; `nfc` is its NFC form. */
function nonAsciiFault(text: string, nfc: string): string | undefined {
  if (!text.isWellFormed()) return "it holds an unpaired surrogate";
  for (const char of text) {
    if (char.length === 1 && char.charCodeAt(0) < 0x80) {
      if (!ASCII_ALLOWED.test(char)) {
        return `character ${described(char)} is not a letter, a digit, "_" or "-"`;
      }
    } else if (!WORD_CHAR.test(char)) {
      return `character ${described(char)} is not a letter, a digit, "_" or "-"`;
    }
  }
  for (const char of nfc) {
    if (char.charCodeAt(0) < 0x80) continue;
    const upper = char.toUpperCase();
    if (upper !== char) {
      return `character ${described(char)} upper-cases to ${JSON.stringify(upper)}, ` +
        "so the symbol could turn into another; write it as listed";
    }
  }
  for (const char of text) {
    if (char.charCodeAt(0) < 0x80) continue;
    const plain = char.normalize("NFKC");
    if (ASCII_CHAR.test(plain)) {
      return `character ${described(char)} is a variant of ASCII ${JSON.stringify(plain)}; ` +
        "write it in ASCII";
    }
  }
  if (MARK.test(nfc)) return "it starts with a combining mark";
  if (!/^[\p{L}\p{N}]/u.test(nfc)) return "it does not start with a letter or digit";
  return undefined;
}

/** The canonical form of a symbol's text, or why it has none. */
function canonical(text: string): { symbol: string } | { fault: string } {
  if (isAscii(text)) {
    const symbol = text.toUpperCase();
    return SYMBOL_PATTERN.test(symbol) ? { symbol } : { fault: ASCII_RULE };
  }
  const nfc = text.normalize("NFC");
  const fault = nonAsciiFault(text, nfc);
  if (fault !== undefined) return { fault };
  // Only ASCII letters change: every other character is upper-case invariant.
  const symbol = nfc.replace(/[a-z]+/g, (s) => s.toUpperCase());
  if (symbol.normalize("NFC") !== symbol) return { fault: "its upper case is not in NFC" };
  const chars = [...symbol].length;
  if (chars > MAX_CHARS) return { fault: `it has ${chars} characters, more than ${MAX_CHARS}` };
  const bytes = utf8.encode(symbol).length;
  if (bytes > MAX_BYTES) {
    return { fault: `it takes ${bytes} UTF-8 bytes, more than ${MAX_BYTES}` };
  }
  return { symbol };
}

/**
 * Validates a symbol for a market and returns it in canonical form.
 *
 * spot: `{BASE}{QUOTE}` (`BTCUSDT`); um: the same, or a delivery contract
 * `BTCUSDT_250627`; cm: `BTCUSD_PERP` or `BTCUSD_250627`.
 *
 * Futures symbols are 1 to 30 of `A-Z`, `0-9`, `_` and `-`, starting with a
 * letter or digit. Spot symbols may
 * also hold non-ASCII letters, digits and combining marks of any script
 * (Unicode `L`, `N`, `M`), normalized to NFC, 1 to 30 characters and at most
 * 85 UTF-8 bytes. Separators, dots, whitespace, control, format, private-use
 * and unassigned characters, `%` and other punctuation are refused, so a
 * symbol can never be a path or URL syntax element. Only ASCII letters are
 * upper-cased (`btcusdt` → `BTCUSDT`). A non-ASCII character that
 * upper-casing would change (`ſ` → `S`, `ı` → `I`, `ﬀ` → `FF`, `β` → `Β`),
 * or that is a variant of an ASCII character (the Kelvin sign, fullwidth
 * `Ｂ`, `𝐁`), is refused rather than guessed: a lookalike never silently
 * becomes another symbol. The check is done on the NFC form, before
 * upper-casing.
 *
 * @param value The symbol; ASCII lowercase is accepted and uppercased.
 * @param market The market; omitted, only the characters are checked (the
 *   spot alphabet, with `_` allowed).
 * @param naming `"pair"` for series named by pair (index price klines):
 *   `BTCUSDT` on um, `BTCUSD` on cm, with a hint for a contract symbol.
 * @returns The symbol in canonical form (NFC, ASCII letters uppercase).
 * @throws {InvalidSymbolError} For a malformed symbol or one of another market's form.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateSymbol } from "./symbol.ts";
 * assert.equal(validateSymbol("btcusdt", "spot"), "BTCUSDT");
 * assert.equal(validateSymbol("币安人生usdt", "spot"), "币安人生USDT");
 * assert.throws(() => validateSymbol("BTCUSDT", "cm"), /did you mean BTCUSD_PERP\?/);
 * assert.throws(() => validateSymbol("../etc", "spot"), { code: "INVALID_SYMBOL" });
 * assert.throws(() => validateSymbol("btcuſdt", "spot"), /upper-cases to "S"/);
 * assert.throws(() => validateSymbol("币安人生USDT", "um"), /spot only/);
 * assert.equal(validateSymbol("btcusd", "cm", "pair"), "BTCUSD");
 * assert.throws(() => validateSymbol("BTCUSD_PERP", "cm", "pair"), /did you mean BTCUSD\?/);
 * ```
 */
export function validateSymbol(value: unknown, market?: Market, naming?: "pair"): string {
  if (typeof value !== "string") {
    throw new InvalidSymbolError(value, `Cannot use symbol ${String(value)}: expected a string`);
  }
  const result = canonical(value);
  if ("fault" in result) {
    const spot = market === undefined || market === "spot";
    const why = result.fault === ASCII_RULE && spot
      ? `${ASCII_RULE}, or letters and digits of any script`
      : result.fault;
    throw new InvalidSymbolError(value, `Cannot use symbol ${JSON.stringify(value)}: ${why}`);
  }
  const symbol = result.symbol;
  if (market === undefined) return symbol;
  if (market !== "spot" && !SYMBOL_PATTERN.test(symbol)) {
    reject(value, symbol, market, "non-ASCII symbols exist on spot only");
  }
  if (naming === "pair") return checkPair(value, symbol, market);
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
