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
    "ÄBC",
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
