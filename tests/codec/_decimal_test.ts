import assert from "node:assert/strict";
import {
  fastInteger,
  fastTimestamp,
  parseDecimal,
  scan,
  slowDecimal,
  viewOf,
} from "../../src/codec/_decimal.ts";

const encoder = new TextEncoder();

function parse(text: string): number {
  const bytes = encoder.encode(text + ",");
  return parseDecimal(bytes, 0, bytes.length - 1);
}

/** xorshift32, deterministic. */
function prng(seed: number): () => number {
  let s = seed | 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

function digits(random: () => number, n: number): string {
  let out = "";
  for (let i = 0; i < n; i++) out += String.fromCharCode(48 + Math.floor(random() * 10));
  return out;
}

/** A random decimal string of varied shape (always valid for parseFloat). */
function randomDecimal(random: () => number): string {
  const r = random();
  const sign = random() < 0.2 ? "-" : random() < 0.02 ? "+" : "";
  const zeros = random() < 0.1 ? "0".repeat(1 + Math.floor(random() * 4)) : "";
  const intDigits = Math.floor(random() * (r < 0.5 ? 8 : 21));
  const fracDigits = Math.floor(random() * (r < 0.3 ? 9 : r < 0.8 ? 12 : 21));
  let int = zeros + digits(random, intDigits);
  let frac = random() < 0.15 ? "" : "." + digits(random, fracDigits);
  if (int === "" && frac.length < 2) int = "0";
  if (random() < 0.03) frac = frac === "" ? "." : frac; // "12." form
  const exp = random() < 0.1
    ? (random() < 0.5 ? "e" : "E") + (random() < 0.5 ? "-" : random() < 0.5 ? "+" : "") +
      String(Math.floor(random() * 40))
    : "";
  return sign + int + frac + exp;
}

Deno.test("parseDecimal matches parseFloat bit for bit on 250k random decimals", () => {
  const random = prng(20240101);
  const texts: string[] = [];
  for (let i = 0; i < 250_000; i++) texts.push(randomDecimal(random));
  const bytes = encoder.encode(texts.join(",") + ",");
  let start = 0;
  let fast = 0;
  for (const text of texts) {
    const end = start + text.length;
    const actual = parseDecimal(bytes, start, end);
    const expected = parseFloat(text);
    if (!Object.is(actual, expected)) {
      assert.fail(`parseDecimal("${text}") = ${actual}, parseFloat = ${expected}`);
    }
    if (/^-?\d{0,9}(\.\d{0,9})?$/.test(text)) fast++;
    start = end + 1;
  }
  assert.ok(fast > 100_000, `only ${fast} inputs took the fast path shape`);
});

Deno.test("parseDecimal matches parseFloat on spot-like 8-decimal values", () => {
  const random = prng(7);
  for (let i = 0; i < 100_000; i++) {
    const text = (Math.floor(random() * 1e13) / 1e8).toFixed(8);
    assert.ok(Object.is(parse(text), parseFloat(text)), text);
  }
});

Deno.test("parseDecimal handles edge cases exactly", () => {
  const cases = [
    "0",
    "-0",
    "-0.0",
    "0.1",
    "0.3",
    "5.",
    ".5",
    "-.5",
    "+1.25",
    "9007199254740991",
    "9007199254740993",
    "900719925.4740993",
    "999999999.999999999",
    "123456789.12345678",
    "0.000000001",
    "0.0000000001",
    "1e22",
    "1e-7",
    "2.2250738585072014e-308",
    "4.9e-324",
    "1.7976931348623157e308",
    "00000000000000000001.5",
    "16541.77000000",
    "1374268.84886160",
  ];
  for (const text of cases) assert.ok(Object.is(parse(text), parseFloat(text)), text);
});

Deno.test("parseDecimal rejects text that is not a finite decimal", () => {
  for (const text of ["", "-", ".", "+", "abc", "1.2.3", "1e", "1e+", "--1", "1,5", " 1", "0x10"]) {
    assert.ok(Number.isNaN(parse(text)), JSON.stringify(text));
  }
  for (const text of ["NaN", "Infinity", "-Infinity", "1e400", "1.5x"]) {
    assert.ok(Number.isNaN(slowDecimal(text)), text);
  }
});

Deno.test("fastInteger reads up to 18 digits and reports where it stopped", () => {
  for (const text of ["0", "7", "123456789", "1672531200000", "1735689659999999", "2631"]) {
    const bytes = encoder.encode(text + ",");
    assert.equal(fastInteger(bytes, 0), Number(text));
    assert.equal(scan.end, text.length);
  }
  assert.ok(Number.isNaN(fastInteger(encoder.encode("1234567890123456789,"), 0)));
});

Deno.test("fastTimestamp agrees with fastInteger up to 17 digits", () => {
  const random = prng(99);
  for (let n = 0; n <= 19; n++) {
    for (let i = 0; i < 200; i++) {
      const text = digits(random, n);
      for (const tail of [",", "", "x"]) {
        const bytes = encoder.encode(text + tail);
        const expected = fastInteger(bytes, 0);
        const end = scan.end;
        const actual = fastTimestamp(bytes, viewOf(bytes), 0);
        if (n <= 17) assert.ok(Object.is(actual, expected), `${text}${tail}`);
        assert.equal(scan.end, end);
      }
    }
  }
  const bytes = encoder.encode("x1735689659999999,");
  assert.equal(fastTimestamp(bytes.subarray(1), viewOf(bytes.subarray(1)), 0), 1735689659999999);
});
