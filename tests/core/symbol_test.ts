import assert from "node:assert/strict";
import { symbolHint, validateSymbol } from "../../src/core/symbol.ts";
import { InvalidSymbolError } from "../../src/core/errors.ts";

Deno.test("validateSymbol accepts each market's forms and uppercases", () => {
  assert.equal(validateSymbol("BTCUSDT", "spot"), "BTCUSDT");
  assert.equal(validateSymbol("ethbtc", "spot"), "ETHBTC");
  assert.equal(validateSymbol("BTCUSDT", "um"), "BTCUSDT");
  assert.equal(validateSymbol("BTCUSDT_250627", "um"), "BTCUSDT_250627");
  assert.equal(validateSymbol("BTCUSD_PERP", "cm"), "BTCUSD_PERP");
  assert.equal(validateSymbol("btcusd_250627", "cm"), "BTCUSD_250627");
  assert.equal(validateSymbol("1000SHIBUSDT", "um"), "1000SHIBUSDT");
});

Deno.test("validateSymbol rejects unsafe text that could escape a path or URL", () => {
  const hostile = [
    "",
    "../BTCUSDT",
    "BTC/USDT",
    "BTC\\USDT",
    "BTC USDT",
    "BTCUSDT\n",
    "BTC%2FUSDT",
    "BTC.USDT",
    "..",
    "A".repeat(31),
    "BTCUSDT?x=1",
    "BTC\u0000",
    "äBC",
  ];
  for (const bad of hostile) {
    assert.throws(() => validateSymbol(bad, "spot"), (e: unknown) => {
      assert.ok(e instanceof InvalidSymbolError && e instanceof TypeError);
      assert.equal(e.code, "INVALID_SYMBOL");
      assert.equal(e.value, bad);
      return true;
    }, JSON.stringify(bad));
  }
  for (const bad of [42, null, undefined, ["BTCUSDT"]]) {
    assert.throws(() => validateSymbol(bad, "spot"), InvalidSymbolError);
  }
});

Deno.test("validateSymbol hints BTCUSD_PERP for BTCUSDT on cm", () => {
  assert.throws(() => validateSymbol("BTCUSDT", "cm"), (e: unknown) => {
    assert.ok(e instanceof InvalidSymbolError);
    assert.equal(e.hint, "BTCUSD_PERP");
    assert.match(
      e.message,
      /Cannot use symbol "BTCUSDT" on market "cm".*did you mean BTCUSD_PERP\?/,
    );
    return true;
  });
  assert.equal(symbolHint("ETHUSDC", "cm"), "ETHUSD_PERP");
  assert.equal(symbolHint("ETH", "cm"), "ETHUSD_PERP");
});

Deno.test("validateSymbol hints the USDT pair for a cm symbol on spot and um", () => {
  assert.throws(() => validateSymbol("BTCUSD_PERP", "spot"), /did you mean BTCUSDT\?/);
  assert.throws(() => validateSymbol("BTCUSD_PERP", "um"), /did you mean BTCUSDT\?/);
  assert.throws(() => validateSymbol("BTC_USDT", "um"), { code: "INVALID_SYMBOL" });
  assert.equal(symbolHint("BTCUSDT", "spot"), undefined);
});

Deno.test("validateSymbol accepts non-ASCII spot symbols in NFC", () => {
  assert.equal(validateSymbol("币安人生USDT", "spot"), "币安人生USDT");
  assert.equal(validateSymbol("币安人生usdt", "spot"), "币安人生USDT");
  assert.equal(validateSymbol("这是测试币456", "spot"), "这是测试币456");
  assert.equal(validateSymbol("ÄBCUSDT", "spot"), "ÄBCUSDT");
  assert.equal(validateSymbol("ΑΒΓUSDT", "spot"), "ΑΒΓUSDT");
  assert.equal(validateSymbol("٣USDT", "spot"), "٣USDT"); // Arabic-Indic digit
  // NFD input (as macOS file names give it) becomes NFC
  assert.equal(validateSymbol("A\u0308BCUSDT", "spot"), "\u00c4BCUSDT");
  assert.equal(validateSymbol("\u212bUSDT", "spot"), "\u00c5USDT"); // Ångström sign → Å
  // 30 characters, 85 UTF-8 bytes at most
  assert.equal(validateSymbol("币".repeat(28), "spot"), "币".repeat(28));
  assert.equal(validateSymbol("币" + "A".repeat(29), "spot"), "币" + "A".repeat(29));
  // without a market, only the characters are checked
  assert.equal(validateSymbol("币安人生usdt"), "币安人生USDT");
  assert.equal(validateSymbol("btcusd_perp"), "BTCUSD_PERP");
});

function rejected(value: string, market: "spot" | "um" | "cm", message: RegExp): void {
  assert.throws(() => validateSymbol(value, market), (e: unknown) => {
    assert.ok(e instanceof InvalidSymbolError && e instanceof TypeError);
    assert.equal(e.code, "INVALID_SYMBOL");
    assert.equal(e.value, value);
    assert.ok(e.message.startsWith(`Cannot use symbol ${JSON.stringify(value)}`), e.message);
    assert.match(e.message, message);
    assert.ok(!e.message.endsWith("."), e.message);
    return true;
  }, JSON.stringify(value));
}

Deno.test("validateSymbol rejects each unsafe class of non-ASCII text", () => {
  const not = /is not a letter, a digit, "_" or "-"/;
  rejected("币安/USDT", "spot", not); // separator
  rejected("币安\\USDT", "spot", not);
  rejected("币安.USDT", "spot", not); // dot
  rejected("币安。USDT", "spot", not); // ideographic full stop
  rejected("币安％USDT", "spot", not); // fullwidth percent
  rejected("币安%E5USDT", "spot", not);
  rejected("币安 USDT", "spot", not); // whitespace
  rejected("币安\u3000USDT", "spot", not); // ideographic space
  rejected("币安\u2028USDT", "spot", not); // line separator
  rejected("币安\u0085USDT", "spot", not); // C1 control
  rejected("币安\u0000USDT", "spot", not);
  rejected("币安\u200dUSDT", "spot", not); // zero-width joiner (format)
  rejected("币安\u202eUSDT", "spot", not); // right-to-left override (format)
  rejected("币安\ufeffUSDT", "spot", not); // byte order mark
  rejected("币安\ue000USDT", "spot", not); // private use
  rejected("币安\u{f0000}USDT", "spot", not); // supplementary private use
  rejected("币安\u0378USDT", "spot", not); // unassigned
  rejected("币安🚀USDT", "spot", not); // symbol, not a letter
  rejected("币安\ud800USDT", "spot", /unpaired surrogate/);
  rejected("\u0301币安USDT", "spot", /starts with a combining mark/);
  rejected("币".repeat(29), "spot", /87 UTF-8 bytes, more than 85/);
  rejected("币" + "A".repeat(30), "spot", /31 characters, more than 30/);
  rejected("..", "spot", /expected 1 to 30 of A-Z/);
  rejected("", "spot", /expected 1 to 30 of A-Z/);
});

Deno.test("validateSymbol never lets a lookalike become another symbol", () => {
  const cases: [string, RegExp][] = [
    ["btcuſdt", /"ſ" \(U\+017F\) upper-cases to "S"/], // long s
    ["ıNCHUSDT", /"ı" \(U\+0131\) upper-cases to "I"/], // dotless i
    ["ﬀUSDT", /"ﬀ" \(U\+FB00\) upper-cases to "FF"/], // ligature
    ["ßUSDT", /upper-cases to "SS"/],
    ["\u03b2TCUSDT", /upper-cases to "Β"/], // Greek beta
    ["äBCUSDT", /upper-cases to "Ä"/],
    ["j\u030cUSDT", /"ǰ" \(U\+01F0\) upper-cases/], // composes under NFC, then changes
    ["\u212aUSDT", /"\u212a" \(U\+212A\) is a variant of ASCII "K"/], // Kelvin sign: NFC is "K"
    ["ＢTCUSDT", /"Ｂ" \(U\+FF22\) is a variant of ASCII "B"/], // fullwidth
    ["\u{1d401}TCUSDT", /is a variant of ASCII "B"/], // mathematical bold B
    ["BTCUSDT²", /is a variant of ASCII "2"/], // superscript
    ["ⅫUSDT", /is a variant of ASCII "XII"/], // roman numeral
  ];
  for (const [value, message] of cases) rejected(value, "spot", message);
});

Deno.test("validateSymbol keeps futures symbols ASCII, with the cm hint", () => {
  rejected("币安人生USDT", "um", /on market "um": non-ASCII symbols exist on spot only$/);
  rejected("币安人生USDT", "cm", /on market "cm": non-ASCII symbols exist on spot only$/);
  rejected("币安人生_PERP", "cm", /spot only/);
  rejected("币安_USDT", "spot", /spot symbols look like BTCUSDT/);
  assert.equal(symbolHint("币安人生USDT", "cm"), undefined);
  assert.throws(() => validateSymbol("ETHUSDT", "cm"), /did you mean ETHUSD_PERP\?/);
});

Deno.test("validateSymbol's canonical form is a fixed point", () => {
  for (let cp = 0x80; cp < 0x3000; cp++) {
    for (const text of [String.fromCodePoint(cp) + "USDT", "a" + String.fromCodePoint(cp)]) {
      let symbol: string;
      try {
        symbol = validateSymbol(text, "spot");
      } catch {
        continue;
      }
      assert.equal(validateSymbol(symbol, "spot"), symbol, text);
      assert.equal(symbol.normalize("NFC"), symbol, text);
      assert.match(symbol, /\P{ASCII}/u, `${text} became ASCII`);
    }
  }
});

Deno.test("validateSymbol refuses a symbol that does not start with a letter or digit", () => {
  for (const bad of ["-", "--", "-BTC", "_BTCUSDT", "-币安", "_"]) {
    for (const market of ["spot", "um"] as const) {
      assert.throws(() => validateSymbol(bad, market), { code: "INVALID_SYMBOL" }, bad);
    }
  }
  assert.equal(validateSymbol("1INCHUSDT", "spot"), "1INCHUSDT");
  assert.equal(validateSymbol("BTC-USD", "spot"), "BTC-USD");
});
