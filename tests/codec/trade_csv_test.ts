import assert from "node:assert/strict";
import { type RecordBatch, Table, tableFromIPC, tableToIPC } from "apache-arrow";
import {
  CsvFormatError,
  InvalidDatasetError,
  InvalidMarketError,
  InvalidRangeError,
} from "../../src/core/errors.ts";
import { AGG_TRADE_SCHEMA, TRADE_SCHEMA } from "../../src/core/trade_schema.ts";
import {
  decodeTradeCsv,
  TradeCsvDecoderStream,
  type TradeCsvOptions,
} from "../../src/codec/trade_csv.ts";

const encoder = new TextEncoder();
const FILE = "BTCUSDT-aggTrades-2024-12-31.csv";
const AGG_HEADER = "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time," +
  "is_buyer_maker";
const UM_TRADES_HEADER = "id,price,qty,quote_qty,time,is_buyer_maker";
const CM_TRADES_HEADER = "id,price,qty,base_qty,time,is_buyer_maker";

type Value = bigint | number | boolean | null;
type Row = Record<string, Value>;

/** Every row as plain values: Int64 and Timestamp columns as their int64 (µs) values. */
function rowsOf(batches: RecordBatch[]): Row[] {
  const out: Row[] = [];
  for (const batch of batches) {
    const fields = batch.schema.fields;
    for (let i = 0; i < batch.numRows; i++) {
      const row: Row = {};
      fields.forEach((field, j) => {
        const child = batch.getChildAt(j)!;
        const int64 = child.data[0].values instanceof BigInt64Array;
        row[field.name] = child.isValid(i) && int64
          ? (child.data[0].values as BigInt64Array)[i]
          : child.get(i);
      });
      out.push(row);
    }
  }
  return out;
}

function decode(csv: string | Uint8Array, options: TradeCsvOptions): Row[] {
  return rowsOf(decodeTradeCsv(typeof csv === "string" ? encoder.encode(csv) : csv, options));
}

async function decodeChunks(chunks: Uint8Array[], options: TradeCsvOptions): Promise<Row[]> {
  const stream = ReadableStream.from(chunks).pipeThrough(new TradeCsvDecoderStream(options));
  return rowsOf(await Array.fromAsync(stream));
}

function csvError(csv: string | Uint8Array, options: TradeCsvOptions): CsvFormatError {
  try {
    decodeTradeCsv(typeof csv === "string" ? encoder.encode(csv) : csv, options);
  } catch (e) {
    assert.ok(e instanceof CsvFormatError, `expected CsvFormatError, got ${e}`);
    assert.equal(e.code, "CSV_FORMAT");
    return e;
  }
  return assert.fail("no error");
}

const SPOT_AGG: TradeCsvOptions = { dataset: "aggTrades", market: "spot", file: FILE };

Deno.test("decodeTradeCsv reads spot aggTrades in ms (before 2025) as µs", () => {
  const csv =
    "3357190001,93530.01000000,0.00530000,4320211801,4320211803,1735689599998,True,True\n" +
    "3357190002,93530.00000000,0.01069000,4320211804,4320211804,1735689599999,False,True\n";
  const batches = decodeTradeCsv(encoder.encode(csv), SPOT_AGG);
  assert.equal(batches.length, 1);
  assert.equal(batches[0].schema, AGG_TRADE_SCHEMA);
  assert.deepEqual(rowsOf(batches), [
    {
      agg_trade_id: 3357190001n,
      price: 93530.01,
      quantity: 0.0053,
      first_trade_id: 4320211801n,
      last_trade_id: 4320211803n,
      transact_time: 1735689599998000n,
      is_buyer_maker: true,
      is_best_match: true,
    },
    {
      agg_trade_id: 3357190002n,
      price: 93530,
      quantity: 0.01069,
      first_trade_id: 4320211804n,
      last_trade_id: 4320211804n,
      transact_time: 1735689599999000n,
      is_buyer_maker: false,
      is_best_match: true,
    },
  ]);
  assert.equal(batches[0].getChild("is_best_match")?.nullCount, 0);
});

Deno.test("decodeTradeCsv reads spot aggTrades in µs (from 2025) as printed", () => {
  const csv =
    "3357190003,93576.00000000,0.00006000,4320211805,4320211805,1735689600000000,False,True\n" +
    "3357190004,93576.01000000,0.12345678,4320211806,4320211809,1735689600123457,True,False";
  const rows = decode(csv, SPOT_AGG);
  assert.deepEqual(rows.map((r) => r.transact_time), [1735689600000000n, 1735689600123457n]);
  assert.deepEqual(rows.map((r) => r.quantity), [0.00006, 0.12345678]);
  assert.deepEqual(rows.map((r) => r.is_best_match), [true, false]);
});

Deno.test("decodeTradeCsv detects the time unit per value (ms then µs in one file)", () => {
  const csv = "1,1.0,1.0,1,1,1735689599999,True,True\n2,1.0,1.0,2,2,1735689600000001,True,True\n";
  assert.deepEqual(
    decode(csv, SPOT_AGG).map((r) => r.transact_time),
    [1735689599999000n, 1735689600000001n],
  );
});

Deno.test("decodeTradeCsv scales ms to µs exactly, up to 13-digit times and ids near 2^53", () => {
  const ms = ["1000000000000", "1500000000001", "4102444799999", "9999999999999"];
  const csv = ms.map((t, i) => `${i + 1},1.5,2.5,${2 ** 52 + i},${2 ** 53 - 4 + i},${t},false\n`);
  const rows = decode(csv.join(""), { dataset: "aggTrades", market: "um" });
  assert.deepEqual(rows.map((r) => r.transact_time), ms.map((t) => BigInt(t) * 1000n));
  assert.deepEqual(rows.map((r) => r.first_trade_id), ms.map((_, i) => 2n ** 52n + BigInt(i)));
  assert.deepEqual(rows.map((r) => r.last_trade_id), ms.map((_, i) => 2n ** 53n - 4n + BigInt(i)));
  const micros = decode("1,1,1,1,1,9007199254740991,true\n", {
    dataset: "aggTrades",
    market: "cm",
  });
  assert.equal(micros[0].transact_time, 9007199254740991n);
});

Deno.test("decodeTradeCsv reads um aggTrades with and without a header, is_best_match null", () => {
  const body = "2089000001,42283.50,0.012,3001,3003,1704067200001,true\n" +
    "2089000002,42283.4,10,3004,3004,1704067200002,false\n";
  const options: TradeCsvOptions = { dataset: "aggTrades", market: "um" };
  const withHeader = decodeTradeCsv(encoder.encode(`${AGG_HEADER}\n${body}`), options);
  const without = decode(body, options);
  assert.deepEqual(rowsOf(withHeader), without);
  assert.deepEqual(without.map((r) => r.is_best_match), [null, null]);
  assert.deepEqual(without.map((r) => r.is_buyer_maker), [true, false]);
  assert.deepEqual(without.map((r) => r.price), [42283.5, 42283.4]);
  assert.deepEqual(without.map((r) => r.transact_time), [1704067200001000n, 1704067200002000n]);
  assert.equal(withHeader[0].getChild("is_best_match")?.nullCount, 2);
});

Deno.test("decodeTradeCsv reads cm aggTrades (header, integer contract quantities)", () => {
  const csv = `${AGG_HEADER}\n523000001,93422.4,7,900001,900002,1735689600000,false\n`;
  assert.deepEqual(decode(csv, { dataset: "aggTrades", market: "cm" }), [{
    agg_trade_id: 523000001n,
    price: 93422.4,
    quantity: 7,
    first_trade_id: 900001n,
    last_trade_id: 900002n,
    transact_time: 1735689600000000n,
    is_buyer_maker: false,
    is_best_match: null,
  }]);
});

Deno.test("decodeTradeCsv reads spot trades: quote_qty set, base_qty null", () => {
  const csv = "4320211801,93530.01000000,0.00530000,495.70905300,1735689599998,True,True\n" +
    "4320211802,93576.00000000,0.00006000,5.61456000,1735689600000000,False,True\n";
  const batches = decodeTradeCsv(encoder.encode(csv), { dataset: "trades", market: "spot" });
  assert.equal(batches[0].schema, TRADE_SCHEMA);
  assert.deepEqual(rowsOf(batches), [
    {
      id: 4320211801n,
      price: 93530.01,
      qty: 0.0053,
      quote_qty: 495.709053,
      base_qty: null,
      time: 1735689599998000n,
      is_buyer_maker: true,
      is_best_match: true,
    },
    {
      id: 4320211802n,
      price: 93576,
      qty: 0.00006,
      quote_qty: 5.61456,
      base_qty: null,
      time: 1735689600000000n,
      is_buyer_maker: false,
      is_best_match: true,
    },
  ]);
});

Deno.test("decodeTradeCsv reads um trades with a header (since 2022-08-11) and without", () => {
  const body = "2600000001,23950.10,0.005,119.75050,1660176000123,true\n";
  const options: TradeCsvOptions = { dataset: "trades", market: "um" };
  const rows = decode(body, options);
  assert.deepEqual(decode(`${UM_TRADES_HEADER}\n${body}`, options), rows);
  assert.deepEqual(rows, [{
    id: 2600000001n,
    price: 23950.1,
    qty: 0.005,
    quote_qty: 119.7505,
    base_qty: null,
    time: 1660176000123000n,
    is_buyer_maker: true,
    is_best_match: null,
  }]);
});

Deno.test("decodeTradeCsv reads cm trades with and without a header: base_qty set, quote_qty null", () => {
  const body = "310000001,93422.4,3,0.00321122,1735689600000,false\n" +
    "310000002,93422.5,1,0.00107040,1735689600001,true\n";
  const options: TradeCsvOptions = { dataset: "trades", market: "cm" };
  const rows = decode(body, options);
  assert.deepEqual(decode(`${CM_TRADES_HEADER}\n${body}`, options), rows);
  assert.deepEqual(rows.map((r) => [r.quote_qty, r.base_qty, r.is_best_match]), [
    [null, 0.00321122, null],
    [null, 0.0010704, null],
  ]);
  assert.deepEqual(rows.map((r) => r.qty), [3, 1]);
});

Deno.test("decodeTradeCsv reads booleans in both spellings in every market", () => {
  const spot = decode(
    "1,1,1,1,1,1704067200000,true,false\n2,1,1,2,2,1704067200000,False,TRUE\n"
      .replace("TRUE", "True"),
    SPOT_AGG,
  );
  assert.deepEqual(spot.map((r) => [r.is_buyer_maker, r.is_best_match]), [
    [true, false],
    [false, true],
  ]);
  const um = decode("1,1,1,1,1704067200000,True\n2,1,1,1,1704067200000,false\n", {
    dataset: "trades",
    market: "um",
  });
  assert.deepEqual(um.map((r) => r.is_buyer_maker), [true, false]);
});

Deno.test("decodeTradeCsv reads prices and quantities bit-identical to parseFloat", () => {
  let state = 12345;
  const random = () => {
    state = (Math.imul(state, 1103515245) + 12345) | 0;
    return (state >>> 8) / 16777216;
  };
  const digits = (n: number) => Array.from({ length: n }, () => Math.floor(random() * 10)).join("");
  const texts: string[] = [
    "0.1",
    "0.30000000",
    "97123.45000000",
    "0.00000001",
    "123456789.123456789",
    "9007199254740993",
    "1e-7",
    "2.5E+3",
    "-0.00000000",
    ".5",
    "7.",
    "00012.3400",
    "0.12345678901234567890",
  ];
  for (let i = 0; i < 3000; i++) {
    const int = digits(1 + Math.floor(random() * 12)).replace(/^0+(?=\d)/, "");
    const frac = digits(Math.floor(random() * 14));
    texts.push(frac ? `${int}.${frac}` : int);
  }
  const csv = texts.map((t, i) =>
    `${i},${t},${texts[texts.length - 1 - i]},1,1704067200000,true\n`
  );
  const rows = decode(csv.join(""), { dataset: "trades", market: "cm" });
  assert.equal(rows.length, texts.length);
  rows.forEach((row, i) => {
    assert.ok(Object.is(row.price, parseFloat(texts[i])), `price ${texts[i]}`);
    assert.ok(Object.is(row.qty, parseFloat(texts[texts.length - 1 - i])), `qty of row ${i}`);
  });
});

Deno.test("decodeTradeCsv reads CRLF lines, a BOM, and gives no batch for an empty file or a header alone", () => {
  const csv =
    `\ufeff${AGG_HEADER}\r\n1,2.5,3,1,1,1704067200000,true\r\n2,2.5,3,2,2,1704067200000,false\r\n`;
  const rows = decode(csv, { dataset: "aggTrades", market: "um" });
  assert.deepEqual(rows.map((r) => r.agg_trade_id), [1n, 2n]);
  assert.deepEqual(rows.map((r) => r.is_buyer_maker), [true, false]);
  assert.deepEqual(decodeTradeCsv(new Uint8Array(0), SPOT_AGG), []);
  assert.deepEqual(
    decodeTradeCsv(encoder.encode(`${AGG_HEADER}\n`), { ...SPOT_AGG, market: "um" }),
    [],
  );
});

/** `n` spot aggTrades rows with increasing ids. */
function spotAggRows(n: number): string {
  let out = "";
  for (let i = 0; i < n; i++) {
    const t = 1735689600000000 + i * 137;
    out += `${1000 + i},${(93500 + (i % 97) / 100).toFixed(8)},${(i % 1000 / 1e5).toFixed(8)},` +
      `${5000 + 2 * i},${5001 + 2 * i},${t},${i % 3 === 0 ? "True" : "False"},${
        i % 5 === 0 ? "False" : "True"
      }\n`;
  }
  return out;
}

Deno.test("decodeTradeCsv bounds batches by batchRows, growing 4096 rows doubling, the last trimmed", () => {
  const bytes = encoder.encode(spotAggRows(20000));
  const grown = decodeTradeCsv(bytes, SPOT_AGG);
  assert.deepEqual(grown.map((b) => b.numRows), [4096, 8192, 7712]);
  const last = grown[2];
  for (const name of ["agg_trade_id", "price", "transact_time"]) {
    assert.equal(last.getChild(name)!.data[0].values.length, 7712, `${name} is trimmed`);
  }
  const small = decodeTradeCsv(bytes.subarray(0, bytes.indexOf(10, 5000) + 1), {
    ...SPOT_AGG,
    batchRows: 10,
  });
  assert.ok(small.every((b) => b.numRows <= 10));
  const capped = decodeTradeCsv(bytes, { ...SPOT_AGG, batchRows: 5000 });
  assert.deepEqual(capped.map((b) => b.numRows), [4096, 5000, 5000, 5000, 904]);
  assert.deepEqual(rowsOf(capped), rowsOf(grown));
  assert.equal(rowsOf(grown).length, 20000);
});

Deno.test("decodeTradeCsv batches survive an Arrow IPC round trip through arrow-js", () => {
  const um = decodeTradeCsv(
    encoder.encode("1,1.5,2,3,1704067200000,true\n2,1.25,2,3,1704067200001,false\n"),
    {
      dataset: "trades",
      market: "um",
    },
  );
  const spot = decodeTradeCsv(encoder.encode(spotAggRows(20)), SPOT_AGG);
  for (const batches of [um, spot]) {
    const back = tableFromIPC(tableToIPC(new Table(batches)));
    assert.deepEqual(rowsOf(back.batches), rowsOf(batches));
  }
});

Deno.test("TradeCsvDecoderStream gives the rows of decodeTradeCsv at every chunk boundary", async () => {
  const cases: [string, TradeCsvOptions][] = [
    [spotAggRows(6), SPOT_AGG],
    [
      `${AGG_HEADER}\r\n1,42283.5,0.012,1,3,1704067200001,true\r\n2,42283.4,10,4,4,1704067200002,false`,
      {
        dataset: "aggTrades",
        market: "um",
      },
    ],
    [
      `${CM_TRADES_HEADER}\n1,93422.4,3,0.00321122,1735689600000,false\n2,93422.5,1,0.0010704,1735689600001,true\n`,
      {
        dataset: "trades",
        market: "cm",
      },
    ],
  ];
  for (const [csv, options] of cases) {
    const bytes = encoder.encode(csv);
    const whole = decode(bytes, options);
    assert.ok(whole.length >= 2);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const rows = await decodeChunks([bytes.subarray(0, cut), bytes.subarray(cut)], options);
      assert.deepEqual(rows, whole, `cut at ${cut}`);
    }
    const bytewise = Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
    assert.deepEqual(await decodeChunks(bytewise, { ...options, batchRows: 1 }), whole);
  }
});

Deno.test("TradeCsvDecoderStream errors the stream on a malformed row and cancels its source", async () => {
  let cancelled: unknown;
  const bytes = encoder.encode(
    "1,1,1,1,1,1704067200000,True,True\n2,x,1,2,2,1704067200000,True,True\n",
  );
  const source = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.enqueue(bytes);
    },
    cancel(reason) {
      cancelled = reason;
    },
  });
  await assert.rejects(
    Array.fromAsync(source.pipeThrough(new TradeCsvDecoderStream(SPOT_AGG))),
    (e: unknown) =>
      e instanceof CsvFormatError &&
      e.message === `Invalid aggTrades row: price "x" is not a decimal number at "${FILE}" line 2`,
  );
  assert.ok(cancelled instanceof CsvFormatError);
});

Deno.test("decodeTradeCsv fails on a wrong column count with the file and line", () => {
  const few = csvError(
    "1,1,1,1,1,1704067200000,True,True\n2,1,1,2,2,1704067200000,True\n",
    SPOT_AGG,
  );
  assert.equal(
    few.message,
    `Invalid aggTrades row: expected 8 columns, found 7 at "${FILE}" line 2`,
  );
  assert.equal(few.line, 2);
  assert.equal(few.file, FILE);
  const many = csvError("1,1,1,1,1704067200000,true,true\n", { dataset: "trades", market: "um" });
  assert.equal(many.message, "Invalid trades row: expected 6 columns, found 7 at line 1");
  const short = csvError("1,1,1\n", { dataset: "trades", market: "cm" });
  assert.equal(short.message, "Invalid trades row: expected 6 columns, found 3 at line 1");
  const header = csvError(`${AGG_HEADER}\n`, SPOT_AGG);
  assert.equal(
    header.message,
    `Invalid aggTrades header: expected 8 columns, found 7 at "${FILE}" line 1`,
  );
});

Deno.test("decodeTradeCsv fails on a bad number, id or time, quoting the value", () => {
  const um: TradeCsvOptions = { dataset: "aggTrades", market: "um", file: "f.csv" };
  const cases: [string, string][] = [
    ["1,abc,1,1,1,1704067200000,true", 'price "abc" is not a decimal number'],
    ["1,1,1e,1,1,1704067200000,true", 'quantity "1e" is not a decimal number'],
    ["1,1,,1,1,1704067200000,true", 'quantity "" is not a decimal number'],
    ["12a,1,1,1,1,1704067200000,true", 'agg_trade_id "12a" is not a whole number'],
    ["-1,1,1,1,1,1704067200000,true", 'agg_trade_id "-1" is not a whole number'],
    ["1,1,1,1.5,1,1704067200000,true", 'first_trade_id "1.5" is not a whole number'],
    [
      "1,1,1,1,9007199254740992,1704067200000,true",
      'last_trade_id "9007199254740992" is above 2^53 - 1',
    ],
    [
      "1,1,1,1,1,12345678901234567890,true",
      'transact_time "12345678901234567890" has 20 digits, expected 13 (ms) or 16 (µs)',
    ],
    [
      "1,1,1,1,1,17040672000001,true",
      'transact_time "17040672000001" has 14 digits, expected 13 (ms) or 16 (µs)',
    ],
    ["1,1,1,1,1,9007199254740993,true", 'transact_time "9007199254740993" is above 2^53 - 1'],
    ["1,1,1,1,1,2024-01-01,true", 'transact_time "2024-01-01" is not a whole number'],
  ];
  for (const [line, why] of cases) {
    const err = csvError(`0,1,1,0,0,1704067200000,true\n${line}\n`, um);
    assert.equal(err.message, `Invalid aggTrades row: ${why} at "f.csv" line 2`);
  }
  const id = csvError("90071992547409930,1,1,1,1704067200000,true\n", {
    dataset: "trades",
    market: "cm",
  });
  assert.equal(
    id.message,
    'Invalid trades row: id "90071992547409930" is above 2^53 - 1 at line 1',
  );
});

Deno.test("decodeTradeCsv fails on a bad boolean, an empty line and a stray carriage return", () => {
  const cases: [string, string][] = [
    [
      "1,1,1,1,1,1704067200000,yes,True",
      'is_buyer_maker "yes" is not a boolean (True, False, true or false)',
    ],
    [
      "1,1,1,1,1,1704067200000,True,TRUE",
      'is_best_match "TRUE" is not a boolean (True, False, true or false)',
    ],
    [
      "1,1,1,1,1,1704067200000,True,",
      'is_best_match "" is not a boolean (True, False, true or false)',
    ],
    [
      "1,1,1,1,1,1704067200000,1,True",
      'is_buyer_maker "1" is not a boolean (True, False, true or false)',
    ],
    ["", "the line is empty"],
    ["1,1,1,1,1,1704067200000,True,True\rx", "stray carriage return"],
  ];
  for (const [line, why] of cases) {
    const err = csvError(`0,1,1,0,0,1704067200000,True,True\n${line}\n`, SPOT_AGG);
    assert.equal(err.message, `Invalid aggTrades row: ${why} at "${FILE}" line 2`);
  }
});

Deno.test("decodeTradeCsv fails on ids that do not increase", () => {
  const csv = (a: number, b: number) =>
    `${a},1,1,1,1704067200000,true\n${b},1,1,1,1704067200001,false\n`;
  const options: TradeCsvOptions = { dataset: "trades", market: "um", file: "t.csv" };
  assert.equal(
    csvError(csv(7, 7), options).message,
    'Invalid trades row: id "7" does not follow the row before (7): ids must increase at "t.csv" line 2',
  );
  assert.equal(
    csvError(csv(7, 5), options).message,
    'Invalid trades row: id "5" does not follow the row before (7): ids must increase at "t.csv" line 2',
  );
  assert.equal(decode(csv(0, 9), options).length, 2);
});

Deno.test("decodeTradeCsv and TradeCsvDecoderStream fail on a line over 64 KiB", async () => {
  // A valid row but for its length: a quantity of 70,000 fraction digits parses with parseFloat.
  const long = `2,1,1.${"0".repeat(70000)},2,2,1704067200000,True,True\n`;
  const csv = `1,1,1,1,1,1704067200000,True,True\n${long}`;
  const message = `Invalid aggTrades row: the line is longer than 65536 bytes at "${FILE}" line 2`;
  assert.equal(csvError(csv, SPOT_AGG).message, message);
  const bytes = encoder.encode(csv);
  const chunks = [];
  for (let i = 0; i < bytes.length; i += 4096) chunks.push(bytes.subarray(i, i + 4096));
  await assert.rejects(
    decodeChunks(chunks, SPOT_AGG),
    (e: unknown) => e instanceof CsvFormatError && e.message === message,
  );
  // At the limit (65,536 bytes with its newline) the row is read.
  const fits = `2,1,1.${"0".repeat(65536 - long.length + 70000)},2,2,1704067200000,True,True\n`;
  assert.equal(encoder.encode(fits).length, 65536);
  assert.equal(decode(`1,1,1,1,1,1704067200000,True,True\n${fits}`, SPOT_AGG).length, 2);
});

Deno.test("decodeTradeCsv and TradeCsvDecoderStream reject bad options before reading", () => {
  const bytes = encoder.encode("1,1,1,1,1,1704067200000,True,True\n");
  const bad = (options: unknown) => options as TradeCsvOptions;
  assert.throws(
    () => decodeTradeCsv(bytes, bad({ dataset: "bookTicker", market: "spot" })),
    (e: unknown) =>
      e instanceof InvalidDatasetError && e.code === "INVALID_DATASET" &&
      e.message === 'Cannot decode trades: dataset "bookTicker" is not "aggTrades" or "trades"',
  );
  assert.throws(
    () => new TradeCsvDecoderStream(bad({ dataset: "trades", market: "futures" })),
    (e: unknown) =>
      e instanceof InvalidMarketError && e.code === "INVALID_MARKET" &&
      e.message === 'Cannot decode trades: market "futures" is not "spot", "um" or "cm"',
  );
  for (const batchRows of [0, 1.5, -1, NaN]) {
    assert.throws(
      () => decodeTradeCsv(bytes, { ...SPOT_AGG, batchRows }),
      (e: unknown) =>
        e instanceof InvalidRangeError && e.code === "INVALID_RANGE" &&
        e.message === `Cannot decode aggTrades: batchRows "${batchRows}" is not a positive integer`,
    );
  }
});
