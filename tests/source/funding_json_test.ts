import assert from "node:assert/strict";
import { InvalidRangeError, NetworkError } from "../../src/core/errors.ts";
import { FUNDING_SCHEMA, fundingBatch } from "../../src/core/funding_schema.ts";
import { decodeFundingJson, type FundingJsonQuery } from "../../src/source/funding_json.ts";

const encoder = new TextEncoder();
const URL = "http://127.0.0.1:1/fapi/v1/fundingRate?symbol=BTCUSDT";
const T0 = 1570608000000;

interface Row {
  symbol?: unknown;
  fundingRate?: unknown;
  fundingTime?: unknown;
  markPrice?: unknown;
  [key: string]: unknown;
}

function rows(n: number): Row[] {
  return Array.from({ length: n }, (_, i) => ({
    symbol: "BTCUSDT",
    fundingRate: (((i % 5) - 2) * 0.0000125).toFixed(8),
    fundingTime: T0 + i * 28_800_000 + (i % 3),
    markPrice: i < 2 ? "" : (34_000 + i / 4).toFixed(8),
  }));
}

function body(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

function bad(value: unknown, query: Partial<FundingJsonQuery> = {}): NetworkError {
  const bytes = value instanceof Uint8Array ? value : body(value);
  try {
    decodeFundingJson(bytes, { symbol: "BTCUSDT", url: URL, ...query });
  } catch (e) {
    assert.ok(e instanceof NetworkError, `expected NetworkError, got ${e}`);
    assert.equal(e.code, "NETWORK_ERROR");
    assert.equal(e.url, URL);
    return e;
  }
  return assert.fail(`no error for ${JSON.stringify(value)?.slice(0, 80)}`);
}

Deno.test("decodeFundingJson reads BINANCE.md's sample row exactly", () => {
  const page = decodeFundingJson(
    encoder.encode(
      '[{"symbol":"BTCUSDT","fundingRate":"-0.03750000","fundingTime":1570608000000,' +
        '"markPrice":"34287.54619963"}]',
    ),
    { symbol: "BTCUSDT" },
  );
  assert.equal(page.length, 1);
  assert.equal(page.columns.fundingTime[0], 1570608000000);
  assert.ok(Object.is(page.columns.fundingRate[0], parseFloat("-0.03750000")));
  assert.ok(Object.is(page.columns.markPrice[0], parseFloat("34287.54619963")));
  assert.equal(page.columns.markPriceValid[0], 1);
  assert.equal(page.columns.fundingIntervalHoursValid[0], 0);
});

Deno.test('decodeFundingJson makes "" and absent mark prices null, interval hours always null', () => {
  const page = rows(4);
  delete page[3].markPrice;
  const { columns, length } = decodeFundingJson(body(page), { symbol: "BTCUSDT" });
  assert.equal(length, 4);
  const batch = fundingBatch(columns, length, "REST");
  assert.deepEqual(batch.schema.fields.slice(0, 4), FUNDING_SCHEMA.fields);
  assert.deepEqual([...batch.getChild("mark_price")!], [null, null, 34_000.5, null]);
  assert.deepEqual([...batch.getChild("funding_interval_hours")!], [null, null, null, null]);
  assert.deepEqual([...batch.getChild("funding_time")!], page.map((r) => r.fundingTime));
  assert.deepEqual(
    [...batch.getChild("funding_rate")!],
    page.map((r) => parseFloat(r.fundingRate as string)),
  );
});

Deno.test("decodeFundingJson reads random decimals exactly as parseFloat", () => {
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const decimal = () => {
    const int = String(Math.floor(random() * 10 ** Math.floor(random() * 6)));
    const frac = String(Math.floor(random() * 1e14)).padStart(14, "0").slice(0, random() * 15);
    const exp = random() > 0.9 ? `e-${Math.floor(random() * 9)}` : "";
    return (random() < 0.5 ? "-" : "") + int + (frac ? "." + frac : "") + exp;
  };
  const page = Array.from({ length: 5000 }, (_, i) => ({
    symbol: "BTCUSD_PERP",
    fundingTime: T0 + i * 3_600_000,
    fundingRate: decimal(),
    markPrice: decimal().replace("-", ""),
  }));
  const { columns } = decodeFundingJson(body(page), { symbol: "BTCUSD_PERP" });
  page.forEach((row, i) => {
    if (!Object.is(columns.fundingRate[i], parseFloat(row.fundingRate))) {
      assert.fail(row.fundingRate);
    }
    if (!Object.is(columns.markPrice[i], parseFloat(row.markPrice))) assert.fail(row.markPrice);
  });
});

Deno.test("decodeFundingJson accepts an empty page, extra keys and rows on the query's bounds", () => {
  assert.equal(decodeFundingJson(body([]), { symbol: "BTCUSDT" }).length, 0);
  const page = rows(3).map((r) => ({ ...r, extra: [1, { x: null }] }));
  const first = page[0].fundingTime as number;
  const last = page[2].fundingTime as number;
  const query = { symbol: "BTCUSDT", startTime: first, endTime: last };
  assert.equal(decodeFundingJson(body(page), query).length, 3);
  assert.equal(decodeFundingJson(encoder.encode(` \n${JSON.stringify(page)}\n `), query).length, 3);
});

Deno.test("decodeFundingJson rejects malformed pages with a NetworkError naming the row", () => {
  const ok = rows(3);
  const withRow = (i: number, patch: Row) => ok.map((r, j) => j === i ? { ...r, ...patch } : r);
  const cases: [unknown, RegExp][] = [
    [encoder.encode(JSON.stringify(ok).slice(0, 50)), /the body is not JSON/],
    [encoder.encode(""), /the body is not JSON/],
    [{ code: -1121, msg: "Invalid symbol." }, /expected an array of rows, got \{"code":-1121/],
    [[...ok, null], /row 3 is not an object: null/],
    [[["BTCUSDT", "0.1", T0]], /row 0 is not an object/],
    [[ok[0], "row"], /row 1 is not an object: "row"/],
    [withRow(1, { symbol: "ETHUSDT" }), /row 1 is for symbol "ETHUSDT", expected "BTCUSDT"/],
    [withRow(1, { symbol: "btcusdt" }), /row 1 is for symbol "btcusdt"/],
    [withRow(0, { symbol: undefined }), /row 0 is for symbol undefined/],
    [withRow(2, { fundingTime: String(T0 + 1e8) }), /integer for fundingTime of row 2, got "/],
    [withRow(2, { fundingTime: T0 + 1e8 + 0.5 }), /fundingTime of row 2, got 1570708000000\.5/],
    [withRow(0, { fundingTime: -1 }), /fundingTime of row 0, got -1/],
    [withRow(1, { fundingTime: undefined }), /fundingTime of row 1, got undefined/],
    [withRow(1, { fundingTime: 2 ** 53 }), /fundingTime of row 1/],
    [withRow(1, { fundingTime: T0 }), /fundingTime 1570608000000 of row 1 does not follow/],
    [withRow(2, { fundingTime: T0 + 1 }), /of row 2 does not follow the row before/],
    [withRow(0, { fundingRate: 0.0001 }), /quoted decimal for fundingRate of row 0, got 0\.0001/],
    [withRow(1, { fundingRate: "" }), /fundingRate of row 1, got ""/],
    [withRow(1, { fundingRate: "abc" }), /fundingRate of row 1, got "abc"/],
    [withRow(1, { fundingRate: "Infinity" }), /fundingRate of row 1/],
    [withRow(1, { fundingRate: " 0.1" }), /fundingRate of row 1/],
    [withRow(1, { fundingRate: "0x10" }), /fundingRate of row 1/],
    [withRow(1, { fundingRate: "1e999" }), /fundingRate of row 1/],
    [withRow(1, { fundingRate: null }), /fundingRate of row 1, got null/],
    [withRow(2, { markPrice: 34_000 }), /quoted decimal or "" for markPrice of row 2, got 34000/],
    [withRow(2, { markPrice: null }), /markPrice of row 2, got null/],
    [withRow(2, { markPrice: "n/a" }), /markPrice of row 2, got "n\/a"/],
  ];
  for (const [value, message] of cases) {
    const err = bad(value);
    assert.match(err.message, message);
    assert.match(
      err.message,
      new RegExp(`^Cannot decode funding rates from ${URL.replace(/\?/, "\\?")}`),
    );
  }
  const t = ok.map((r) => r.fundingTime as number);
  assert.match(bad(ok, { startTime: t[0] + 1 }).message, /of row 0 is before startTime/);
  assert.match(bad(ok, { endTime: t[2] - 1 }).message, /of row 2 is after endTime/);
  assert.ok(bad(encoder.encode("[")).cause instanceof SyntaxError);
});

Deno.test("decodeFundingJson refuses a query it cannot check against, before decoding", () => {
  const bytes = body(rows(1));
  assert.throws(() => decodeFundingJson(bytes, { symbol: "" }), TypeError);
  assert.throws(() => decodeFundingJson(bytes, {} as FundingJsonQuery), TypeError);
  assert.throws(
    () => decodeFundingJson(bytes, undefined as unknown as FundingJsonQuery),
    TypeError,
  );
  assert.throws(() => decodeFundingJson(bytes, { symbol: "X", startTime: 1.5 }), InvalidRangeError);
  assert.throws(() => decodeFundingJson(bytes, { symbol: "X", endTime: NaN }), InvalidRangeError);
});

Deno.test("decodeFundingJson throws only NetworkError on random damage to a page", () => {
  let seed = 5;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const base = body(rows(20));
  const alphabet = [...'0123456789-.,:"{}[] eEnul'].map((c) => c.charCodeAt(0));
  let failed = 0;
  for (let round = 0; round < 3000; round++) {
    const damaged = [...base];
    for (let k = 1 + Math.floor(random() * 3); k > 0; k--) {
      const at = Math.floor(random() * damaged.length);
      const op = random();
      const byte = alphabet[Math.floor(random() * alphabet.length)];
      if (op < 0.5) damaged[at] = byte;
      else if (op < 0.75) damaged.splice(at, 0, byte);
      else damaged.splice(at, 1);
    }
    try {
      const { columns, length } = decodeFundingJson(Uint8Array.from(damaged), {
        symbol: "BTCUSDT",
        url: URL,
      });
      for (let i = 0; i < length; i++) {
        assert.ok(Number.isSafeInteger(columns.fundingTime[i]));
        assert.ok(i === 0 || columns.fundingTime[i] > columns.fundingTime[i - 1]);
        assert.ok(Number.isFinite(columns.fundingRate[i]));
      }
    } catch (e) {
      if (!(e instanceof NetworkError)) throw e;
      failed++;
    }
  }
  assert.ok(failed > 1000, `${failed} of 3000 damaged pages failed`);
});
