import assert from "node:assert/strict";
import { decodeKlineJson } from "../../src/source/kline_json.ts";
import { KLINE_COLUMN_KEYS } from "../../src/core/schema.ts";
import { NetworkError } from "../../src/core/errors.ts";

const encoder = new TextEncoder();
const bytes = (text: string) => encoder.encode(text);

const SPOT_ROW =
  '[1499040000000,"0.01634790","0.80000000","0.01575800","0.01577100","148976.11427815",' +
  '1499644799999,"2434.19055334",308,"1756.87402397","28.46694368","0"]';

/** Decodes with JSON.parse + parseFloat: the oracle. */
function oracle(text: string): number[][] {
  return (JSON.parse(text) as unknown[][]).map((row) =>
    row.slice(0, 11).map((v) => typeof v === "string" ? parseFloat(v) : v as number)
  );
}

function assertSame(text: string): void {
  const { columns, length } = decodeKlineJson(bytes(text));
  const rows = oracle(text);
  assert.equal(length, rows.length);
  rows.forEach((row, i) => {
    KLINE_COLUMN_KEYS.forEach((key, j) => {
      assert.ok(
        Object.is(columns[key][i], row[j]),
        `row ${i} ${key}: ${columns[key][i]} ${row[j]}`,
      );
    });
  });
}

function randomDecimal(random: () => number): string {
  const kind = random();
  const intPart = String(Math.floor(random() * 10 ** Math.floor(random() * 12)));
  const fracDigits = Math.floor(random() * 14);
  let frac = "";
  for (let i = 0; i < fracDigits; i++) frac += String(Math.floor(random() * 10));
  if (kind < 0.05) return `${intPart}e${Math.floor(random() * 20) - 10}`;
  if (kind < 0.1) return `-${intPart}.${frac || "0"}`;
  return frac ? `${intPart}.${frac}` : intPart;
}

function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("decodeKlineJson decodes Binance's documented sample exactly", () => {
  assertSame(`[${SPOT_ROW}]`);
});

Deno.test("decodeKlineJson decodes an empty page", () => {
  assert.equal(decodeKlineJson(bytes("[]")).length, 0);
  assert.equal(decodeKlineJson(bytes(" [ ] \n")).length, 0);
});

Deno.test("decodeKlineJson accepts JSON whitespace anywhere", () => {
  const spaced = `\n[ ${SPOT_ROW.replaceAll(",", " ,\t").replace("[", "[ \r\n")} ,${SPOT_ROW} ]\n`;
  assertSame(spaced);
});

Deno.test("decodeKlineJson is bit-identical to parseFloat on random decimals", () => {
  const random = mulberry32(42);
  const rows: string[] = [];
  for (let i = 0; i < 3000; i++) {
    const d = () => JSON.stringify(randomDecimal(random));
    const t = 1500000000000 + i * 60000;
    rows.push(
      `[${t},${d()},${d()},${d()},${d()},${d()},${t + 59999},${d()},${i},${d()},${d()},"0"]`,
    );
  }
  assertSame(`[${rows.join(",")}]`);
});

Deno.test("decodeKlineJson decodes futures formats (few decimals, integer cm volumes)", () => {
  assertSame(
    '[[1735689600000,"93422.4","93463.2","93390.2","93463.2","7349",1735689659999,' +
      '"7.86650390",154,"6685","7.15560836","0"],[1672531200000,"16537.50","16538.00",' +
      '"16534.30","16538.00","170.576",1672531259999,"2820697.45580",946,"103.782",' +
      '"1716164.80590","0"]]',
  );
});

Deno.test("decodeKlineJson accepts any string or number as the ignored element", () => {
  const { length } = decodeKlineJson(bytes(`[${SPOT_ROW.replace('"0"]', '"a\\"b"]')}]`));
  assert.equal(length, 1);
  assert.equal(decodeKlineJson(bytes(`[${SPOT_ROW.replace('"0"]', "0]")}]`)).length, 1);
});

const MALFORMED: [string, string, RegExp][] = [
  ["truncated", `[${SPOT_ROW}`, /expected "," or "\]" after row 0 at the end of the data/],
  ["cut mid-row", `[${SPOT_ROW.slice(0, 60)}`, /unterminated string for element 4/],
  ["not an array", '{"code":-1121,"msg":"Invalid symbol."}', /expected "\[" opening the page/],
  ["11 elements", `[${SPOT_ROW.replace(',"0"]', "]")}]`, /row 0 has 11 elements, expected 12/],
  ["13 elements", `[${SPOT_ROW.replace('"0"]', '"0","1"]')}]`, /more than 12 elements/],
  ["time as string", `[${SPOT_ROW.replace("1499040000000", '"1499040000000"')}]`, /integer/],
  ["fractional time", `[${SPOT_ROW.replace("1499040000000", "1499040000000.5")}]`, /","/],
  ["negative count", `[${SPOT_ROW.replace(",308,", ",-308,")}]`, /integer for element 8/],
  ["price as number", `[${SPOT_ROW.replace('"0.80000000"', "0.8")}]`, /quoted number/],
  ["non-numeric price", `[${SPOT_ROW.replace('"0.80000000"', '"abc"')}]`, /got "abc"/],
  ["empty price", `[${SPOT_ROW.replace('"0.80000000"', '""')}]`, /got ""/],
  ["trailing data", `[${SPOT_ROW}]x`, /unexpected data after the page/],
  ["empty body", "", /expected "\[" opening the page at the end of the data/],
  ["row not an array", `[${SPOT_ROW},1]`, /expected "\[" opening row 1/],
  ["unsafe time", `[${SPOT_ROW.replace("1499040000000", "9007199254740993")}]`, /element 0/],
  ["NaN price", `[${SPOT_ROW.replace('"0.80000000"', '"NaN"')}]`, /got "NaN"/],
  ["padded price", `[${SPOT_ROW.replace('"0.80000000"', '" 0.8"')}]`, /got " 0.8"/],
  ["hex price", `[${SPOT_ROW.replace('"0.80000000"', '"0x10"')}]`, /got "0x10"/],
  ["infinite price", `[${SPOT_ROW.replace('"0.80000000"', '"1e999"')}]`, /got "1e999"/],
  ["null ignore", `[${SPOT_ROW.replace('"0"]', "null]")}]`, /number or string for element 11/],
];

for (const [name, text, message] of MALFORMED) {
  Deno.test(`decodeKlineJson rejects a page: ${name}`, () => {
    assert.throws(
      () => decodeKlineJson(bytes(text), { url: "http://x/api/v3/klines" }),
      (error: unknown) => {
        assert.ok(error instanceof NetworkError);
        assert.equal(error.code, "NETWORK_ERROR");
        assert.equal(error.url, "http://x/api/v3/klines");
        assert.match(error.message, message);
        assert.match(error.message, /^Cannot decode klines from http:\/\/x\/api\/v3\/klines: /);
        return true;
      },
    );
  });
}

Deno.test("decodeKlineJson accepts exactly the finite decimals, as parseFloat reads them", () => {
  const grammar = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
  const alphabet = "0123456789.+-eE xXoObBInfity_";
  const random = mulberry32(7);
  for (let i = 0; i < 20_000; i++) {
    let text = "";
    const n = Math.floor(random() * 7);
    for (let k = 0; k < n; k++) text += alphabet[Math.floor(random() * alphabet.length)];
    const expected = grammar.test(text) && Number.isFinite(parseFloat(text));
    const page = `[${SPOT_ROW.replace('"0.80000000"', JSON.stringify(text))}]`;
    let high: number | undefined;
    try {
      high = decodeKlineJson(bytes(page)).columns.high[0];
    } catch (error) {
      assert.ok(error instanceof NetworkError);
    }
    assert.equal(high !== undefined, expected, `"${text}"`);
    if (expected) assert.ok(Object.is(high, parseFloat(text)), `"${text}"`);
  }
});

Deno.test("decodeKlineJson reads from a subarray with a byte offset", () => {
  const text = `[${SPOT_ROW}]`;
  const padded = bytes(`xxx${text}yyy`);
  const { columns, length } = decodeKlineJson(padded.subarray(3, 3 + text.length));
  assert.equal(length, 1);
  assert.equal(columns.takerBuyQuoteVolume[0], 28.46694368);
});

Deno.test("decodeKlineJson returns real irregular rows as printed and notes non-zero ignore values", () => {
  const hour = 3_600_000;
  const rows = [
    // close_time before open_time, zero volume (spot BTCUSDT 1h 2020-12-21 14:00)
    '[1608559200000,"23450.00","23450.00","23450.00","23450.00","0.00000000",1608558440521,' +
    '"0.00000000",0,"0.00000000","0.00000000","0"]',
    // off the grid (…:28:14.789) with close = open + interval exactly and a numeric ignore
    `[1518168494789,"8200","8300","8100","8250","100",${1518168494789 + hour},"820000",500,"50",` +
    '"410000",17928899.62484339]',
    // cut short, with an ignore string
    `[1608562800000,"1","2","0.5","1.5","10",${1608562800000 + 29 * 60_000},"15",3,"4","6",` +
    '"17928899.62484339"]',
    // zeros written as a number and as "0.0"
    '[1608566400000,"1","1","1","1","1",1608569999999,"1",1,"1","1",0]',
    '[1608570000000,"1","1","1","1","1",1608573599999,"1",1,"1","1","0.0"]',
  ];
  const text = `[${rows.join(",")}]`;
  assertSame(text);
  assert.deepEqual(decodeKlineJson(bytes(text)).ignored, [
    { openTime: 1518168494789, text: "17928899.62484339" },
    { openTime: 1608562800000, text: "17928899.62484339" },
  ]);
});
