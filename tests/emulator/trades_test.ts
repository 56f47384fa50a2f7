import assert from "node:assert/strict";
import type { RecordBatch } from "apache-arrow";
import type { Market } from "../../src/core/market.ts";
import type { TradeDataset } from "../../src/core/trade_schema.ts";
import { decodeTradeCsv } from "../../src/codec/trade_csv.ts";
import { unzipSingleEntry } from "../../src/codec/unzip_stream.ts";
import { startEmulator } from "../../src/emulator/emulator.ts";
import type { EmulatorOptions } from "../../src/emulator/emulator_options.ts";
import { MarketData } from "../../src/emulator/market_data.ts";
import { TradeTape } from "../../src/emulator/trade_tape.ts";
import { type TradeTruth, tradeTruth } from "../../src/emulator/trade_truth.ts";
import { get, getBytes, NOW, sha256Hex, unzipText } from "./_helpers.ts";

const SCALE = 0.002;
const DAY = 86_400_000;
const OPTIONS: EmulatorOptions = { now: NOW, tradeScale: SCALE };
const PATH: Record<Market, string> = { spot: "spot", um: "futures/um", cm: "futures/cm" };
const API: Record<Market, string> = { spot: "api/v3", um: "fapi/v1", cm: "dapi/v1" };

function key(market: Market, period: string, dataset: TradeDataset, symbol: string, date: string) {
  return `data/${PATH[market]}/${period}/${dataset}/${symbol}/${symbol}-${dataset}-${date}.zip`;
}

/** The rows of decoded batches as the truth's columns. */
function columns(batches: RecordBatch[], dataset: TradeDataset): Record<string, unknown[]> {
  const names = dataset === "aggTrades"
    ? ["agg_trade_id", "price", "quantity", "first_trade_id", "last_trade_id", "transact_time"]
    : ["id", "price", "qty", "quote_qty", "base_qty", "time"];
  const out: Record<string, unknown[]> = {};
  for (const name of [...names, "is_buyer_maker", "is_best_match"]) {
    out[name] = batches.flatMap((b) => {
      const col = b.getChild(name)!;
      if (name.endsWith("time")) {
        return col.data.flatMap((d) =>
          Array.from(d.values.subarray(d.offset, d.offset + d.length) as BigInt64Array, Number)
        );
      }
      return Array.from(col, (v) => (typeof v === "bigint" ? Number(v) : v));
    });
  }
  return out;
}

function truthColumns(t: TradeTruth, dataset: TradeDataset): Record<string, unknown[]> {
  const bools = (a: Uint8Array | null) =>
    a === null ? new Array(t.numRows).fill(null) : Array.from(a, (v) => v === 1);
  const nums = (a: Float64Array | null) =>
    a === null ? new Array(t.numRows).fill(null) : Array.from(a);
  const common = { is_buyer_maker: bools(t.isBuyerMaker), is_best_match: bools(t.isBestMatch) };
  return dataset === "aggTrades"
    ? {
      agg_trade_id: nums(t.ids),
      price: nums(t.prices),
      quantity: nums(t.quantities),
      first_trade_id: nums(t.firstTradeIds),
      last_trade_id: nums(t.lastTradeIds),
      transact_time: nums(t.times),
      ...common,
    }
    : {
      id: nums(t.ids),
      price: nums(t.prices),
      qty: nums(t.quantities),
      quote_qty: nums(t.quoteQuantities),
      base_qty: nums(t.baseQuantities),
      time: nums(t.times),
      ...common,
    };
}

async function fileRows(base: string, market: Market, dataset: TradeDataset, k: string) {
  const zip = await getBytes(base, `/${k}`);
  const csv = await unzipSingleEntry(zip);
  return { zip, csv, rows: columns(decodeTradeCsv(csv, { dataset, market, file: k }), dataset) };
}

function truth(market: Market, dataset: TradeDataset, symbol: string, start: number, end: number) {
  return truthColumns(tradeTruth(OPTIONS, { market, dataset, symbol, start, end }), dataset);
}

Deno.test("trades files: layouts per market and year, rows equal the ground truth", async () => {
  await using emu = await startEmulator(OPTIONS);
  const cases: [Market, TradeDataset, string, string, RegExp][] = [
    [
      "spot",
      "aggTrades",
      "BTCUSDT",
      "2024-01-01",
      /^\d+,\d+\.\d{8},\d+\.\d{8},\d+,\d+,\d{13},(True|False),True$/,
    ],
    [
      "spot",
      "aggTrades",
      "BTCUSDT",
      "2025-01-01",
      /^\d+,\d+\.\d{8},\d+\.\d{8},\d+,\d+,\d{16},(True|False),True$/,
    ],
    [
      "spot",
      "trades",
      "BTCUSDT",
      "2024-06-30",
      /^\d+,\d+\.\d{8},\d+\.\d{8},\d+\.\d{8},\d{13},(True|False),True$/,
    ],
    [
      "spot",
      "trades",
      "ETHUSDT",
      "2025-03-01",
      /^\d+,\d+\.\d{8},\d+\.\d{8},\d+\.\d{8},\d{16},(True|False),True$/,
    ],
    [
      "um",
      "aggTrades",
      "BTCUSDT",
      "2021-05-01",
      /^\d+,\d+\.\d{2},\d+\.\d{3},\d+,\d+,\d{13},(true|false)$/,
    ],
    [
      "um",
      "trades",
      "BTCUSDT",
      "2022-08-10",
      /^\d+,\d+\.\d{2},\d+\.\d{3},\d+\.\d{5},\d{13},(true|false)$/,
    ],
    [
      "um",
      "trades",
      "BTCUSDT",
      "2022-08-11",
      /^\d+,\d+\.\d{2},\d+\.\d{3},\d+\.\d{5},\d{13},(true|false)$/,
    ],
    [
      "cm",
      "aggTrades",
      "BTCUSD_PERP",
      "2023-03-01",
      /^\d+,\d+\.\d,\d+,\d+,\d+,\d{13},(true|false)$/,
    ],
    [
      "cm",
      "trades",
      "BTCUSD_PERP",
      "2025-01-01",
      /^\d+,\d+\.\d,\d+,\d+\.\d{8},\d{13},(true|false)$/,
    ],
  ];
  const headers: Record<string, string | undefined> = {
    "spot aggTrades": undefined,
    "spot trades": undefined,
    "um aggTrades":
      "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker",
    "um trades 2022-08-10": undefined,
    "um trades 2022-08-11": "id,price,qty,quote_qty,time,is_buyer_maker",
    "cm aggTrades":
      "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker",
    "cm trades": "id,price,qty,base_qty,time,is_buyer_maker",
  };
  for (const [market, dataset, symbol, date, row] of cases) {
    const k = key(market, "daily", dataset, symbol, date);
    const { csv, rows } = await fileRows(emu.url, market, dataset, k);
    const lines = new TextDecoder().decode(csv).split("\n");
    assert.equal(lines.pop(), "", k);
    const header = headers[`${market} ${dataset} ${date}`] ?? headers[`${market} ${dataset}`];
    if (header !== undefined) assert.equal(lines.shift(), header, k);
    assert.ok(lines.length > 50, k);
    for (const line of [lines[0], lines[lines.length - 1]]) assert.match(line, row, k);
    const start = Date.parse(`${date}T00:00:00Z`);
    assert.deepEqual(rows, truth(market, dataset, symbol, start, start + DAY), k);
  }
});

Deno.test("trades ids are contiguous across a day and a month boundary, aggTrades cover the trades", async () => {
  await using emu = await startEmulator(OPTIONS);
  for (
    const [market, symbol] of [["spot", "BTCUSDT"], ["um", "ETHUSDT"], [
      "cm",
      "BTCUSD_PERP",
    ]] as const
  ) {
    const days = ["2024-01-30", "2024-01-31", "2024-02-01"];
    let nextAgg: number | undefined;
    let nextTrade: number | undefined;
    for (const date of days) {
      const agg = (await fileRows(
        emu.url,
        market,
        "aggTrades",
        key(market, "daily", "aggTrades", symbol, date),
      )).rows;
      const trades =
        (await fileRows(emu.url, market, "trades", key(market, "daily", "trades", symbol, date)))
          .rows;
      const ids = agg.agg_trade_id as number[];
      if (nextAgg !== undefined) assert.equal(ids[0], nextAgg, `${market} ${date}`);
      if (nextTrade !== undefined) assert.equal((trades.id as number[])[0], nextTrade);
      ids.forEach((id, i) => assert.equal(id, ids[0] + i));
      // each aggregate trade covers the next plain trades, with its price, time and side
      const first = agg.first_trade_id as number[];
      const last = agg.last_trade_id as number[];
      assert.equal(first[0], (trades.id as number[])[0]);
      assert.equal(last[last.length - 1], (trades.id as number[]).at(-1));
      let t = 0;
      for (let i = 0; i < ids.length; i++) {
        assert.ok(i === 0 || first[i] === last[i - 1] + 1);
        let qty = 0;
        for (let id = first[i]; id <= last[i]; id++, t++) {
          assert.equal((trades.price as number[])[t], (agg.price as number[])[i]);
          assert.equal((trades.time as number[])[t], (agg.transact_time as number[])[i]);
          assert.equal(
            (trades.is_buyer_maker as boolean[])[t],
            (agg.is_buyer_maker as boolean[])[i],
          );
          qty += (trades.qty as number[])[t];
        }
        assert.ok(Math.abs(qty - (agg.quantity as number[])[i]) <= 1e-9 * qty);
      }
      const times = agg.transact_time as number[];
      const dayStart = Date.parse(`${date}T00:00:00Z`) * 1000;
      assert.ok(times[0] >= dayStart && times.at(-1)! < dayStart + DAY * 1000);
      times.forEach((x, i) => assert.ok(i === 0 || x >= times[i - 1]));
      nextAgg = ids.at(-1)! + 1;
      nextTrade = (trades.id as number[]).at(-1)! + 1;
    }
  }
});

Deno.test("trades start at id 0 on the listing day and stop at the delisting", () => {
  const tape = new TradeTape(new MarketData(), { tradeScale: SCALE });
  const fresh = tape.data.find("spot", "NEWUSDT")!;
  const listing = tape.day(fresh, fresh.listedAt);
  assert.equal(listing.firstAggId, 0);
  assert.equal(listing.firstTradeId, 0);
  assert.ok(listing.time[0] >= fresh.listedAt * 1000);
  assert.equal(tape.day(fresh, fresh.listedAt - DAY).aggCount, 0);
  const old = tape.data.find("spot", "OLDUSDT")!;
  const last = tape.day(old, old.delistedAt!);
  assert.ok(last.aggCount > 0 && last.time[last.aggCount - 1] < old.delistedAt! * 1000);
  assert.equal(tape.day(old, old.delistedAt! + DAY).aggCount, 0);
  assert.equal(tape.day(old, old.delistedAt! + DAY).firstAggId, last.firstAggId + last.aggCount);
});

Deno.test("monthly trades zip is streamed: data descriptor, its CHECKSUM matches, rows equal the daily files and the truth", async () => {
  await using emu = await startEmulator(OPTIONS);
  for (
    const [market, symbol, dataset] of [["cm", "BTCUSD_PERP", "aggTrades"], [
      "spot",
      "ETHUSDT",
      "trades",
    ]] as const
  ) {
    const k = key(market, "monthly", dataset, symbol, "2026-10");
    const sum = await get(emu.url, `/${k}.CHECKSUM`);
    const { zip, rows } = await fileRows(emu.url, market, dataset, k);
    assert.equal(sum.text, `${await sha256Hex(zip)}  ${symbol}-${dataset}-2026-10.zip\n`);
    const res = await fetch(`${emu.url}/${k}`);
    assert.equal(res.headers.get("content-length"), String(zip.length));
    assert.deepEqual(new Uint8Array(await res.arrayBuffer()), zip);
    assert.equal(unzipText(zip).flags & 8, 8);
    assert.deepEqual(
      rows,
      truth(market, dataset, symbol, Date.UTC(2026, 9, 1), Date.UTC(2026, 10, 1)),
    );
    const day = (await fileRows(
      emu.url,
      market,
      dataset,
      key(market, "daily", dataset, symbol, "2026-10-15"),
    )).rows;
    const ids = rows[dataset === "aggTrades" ? "agg_trade_id" : "id"] as number[];
    const from = ids.indexOf((day[dataset === "aggTrades" ? "agg_trade_id" : "id"] as number[])[0]);
    const n = (day.price as number[]).length;
    for (const [name, values] of Object.entries(day)) {
      assert.deepEqual(values, rows[name].slice(from, from + n), name);
    }
  }
});

async function restRows(base: string, market: Market, query: string, headers: HeadersInit = {}) {
  const res = await fetch(`${base}/${API[market]}/aggTrades?${query}`, { headers });
  const body = await res.json();
  return { status: res.status, weight: res.headers.get("x-mbx-used-weight-1m"), body };
}

type AggJson = {
  a: number;
  p: string;
  q: string;
  f: number;
  l: number;
  T: number;
  m: boolean;
  M?: boolean;
};

function restColumns(rows: AggJson[], micros: boolean): Record<string, unknown[]> {
  return {
    agg_trade_id: rows.map((r) => r.a),
    price: rows.map((r) => parseFloat(r.p)),
    quantity: rows.map((r) => parseFloat(r.q)),
    first_trade_id: rows.map((r) => r.f),
    last_trade_id: rows.map((r) => r.l),
    transact_time: rows.map((r) => (micros ? r.T : r.T * 1000)),
    is_buyer_maker: rows.map((r) => r.m),
    is_best_match: rows.map((r) => r.M ?? null),
  };
}

Deno.test("REST aggTrades pages by fromId and by time windows to the Vision rows", async () => {
  await using emu = await startEmulator(OPTIONS);
  for (
    const [market, symbol, date] of [["spot", "BTCUSDT", "2024-03-01"], [
      "um",
      "BTCUSDT",
      "2026-10-02",
    ], ["cm", "BTCUSD_PERP", "2026-10-02"]] as const
  ) {
    const start = Date.parse(`${date}T00:00:00Z`);
    const vision = (await fileRows(
      emu.url,
      market,
      "aggTrades",
      key(market, "daily", "aggTrades", symbol, date),
    )).rows;
    const ids = vision.agg_trade_id as number[];
    // by fromId, 1000 a page, across the day boundary
    const byId: AggJson[] = [];
    for (let from = ids[0]; byId.length < ids.length + 10;) {
      const page = await restRows(emu.url, market, `symbol=${symbol}&fromId=${from}&limit=1000`);
      assert.equal(page.status, 200);
      byId.push(...page.body);
      from = page.body.at(-1).a + 1;
    }
    const rest = restColumns(byId.slice(0, ids.length), false);
    // ms REST times are the file's: before 2025 (spot) and on futures, times are whole ms
    assert.deepEqual(rest, vision);
    assert.equal(byId[ids.length].a, ids.at(-1)! + 1);
    assert.ok(byId[ids.length].T >= start + DAY);
    // by one-hour windows (both bounds inclusive)
    const byTime: AggJson[] = [];
    for (let t = start; t < start + 6 * 3_600_000; t += 3_600_000) {
      const page = await restRows(
        emu.url,
        market,
        `symbol=${symbol}&startTime=${t}&endTime=${t + 3_599_999}&limit=1000`,
      );
      assert.equal(page.status, 200);
      byTime.push(...page.body);
    }
    assert.deepEqual(
      restColumns(byTime, false),
      truth(market, "aggTrades", symbol, start, start + 6 * 3_600_000) as never,
    );
  }
});

Deno.test("REST aggTrades parameter rules: -1127, limits, -1121, most recent, endTime alone, weights", async () => {
  await using emu = await startEmulator(OPTIONS);
  const t = Date.UTC(2026, 9, 1);
  const wide = await restRows(
    emu.url,
    "spot",
    `symbol=BTCUSDT&startTime=${t}&endTime=${t + 3_600_001}`,
  );
  assert.equal(wide.status, 400);
  assert.deepEqual(wide.body, {
    code: -1127,
    msg: "More than 1 hours between startTime and endTime.",
  });
  assert.equal(
    (await restRows(emu.url, "cm", `symbol=BTCUSD_PERP&startTime=${t}&endTime=${t + 7_200_000}`))
      .body.code,
    -1127,
  );
  assert.equal(
    (await restRows(emu.url, "spot", `symbol=BTCUSDT&startTime=${t}&endTime=${t + 3_600_000}`))
      .status,
    200,
  );
  assert.equal((await restRows(emu.url, "spot", "symbol=NOPE")).body.code, -1121);
  assert.equal((await restRows(emu.url, "spot", "limit=5")).body.code, -1102);
  assert.equal((await restRows(emu.url, "um", "symbol=BTCUSDT&limit=1001")).body.code, -1100);
  assert.equal((await restRows(emu.url, "um", "symbol=BTCUSDT&limit=0")).body.code, -1100);
  assert.equal((await restRows(emu.url, "um", "symbol=BTCUSDT&fromId=x")).body.code, -1100);
  assert.equal((await restRows(emu.url, "spot", `symbol=BTCUSDT&startTime=${t}`)).body.length, 500);
  assert.equal(
    (await restRows(emu.url, "spot", `symbol=BTCUSDT&startTime=${t}&limit=1000`)).body.length,
    1000,
  );
  // no parameters: the most recent rows, the newest at or before the clock
  const recent = await restRows(emu.url, "um", "symbol=BTCUSDT&limit=20");
  assert.equal(recent.body.length, 20);
  const last = tradeTruth(OPTIONS, {
    market: "um",
    dataset: "aggTrades",
    symbol: "BTCUSDT",
    start: NOW - DAY,
    end: NOW + DAY,
  });
  assert.equal(recent.body.at(-1).a, last.ids[last.numRows - 1]);
  assert.ok(recent.body.at(-1).T <= NOW);
  // endTime alone: the most recent rows up to it
  const upTo = await restRows(emu.url, "spot", `symbol=BTCUSDT&endTime=${t}&limit=3`);
  const before = tradeTruth(OPTIONS, {
    market: "spot",
    dataset: "aggTrades",
    symbol: "BTCUSDT",
    start: t - DAY,
    end: t + 1,
  });
  assert.deepEqual(upTo.body.map((r: AggJson) => r.a), Array.from(before.ids.slice(-3)));
  // fromId with a later startTime starts at the later one
  const both = await restRows(emu.url, "spot", `symbol=BTCUSDT&fromId=0&startTime=${t}&limit=1`);
  assert.equal(
    both.body[0].a,
    tradeTruth(OPTIONS, {
      market: "spot",
      dataset: "aggTrades",
      symbol: "BTCUSDT",
      start: t,
      end: t + DAY,
    }).ids[0],
  );
  // futures serve only the last year; before the listing is empty
  const old = Date.UTC(2024, 0, 1);
  const window = `symbol=BTCUSDT&startTime=${old}&endTime=${old + 3_600_000}`;
  assert.deepEqual((await restRows(emu.url, "um", window)).body, []);
  assert.ok((await restRows(emu.url, "spot", window)).body.length > 0);
  const oldest = await restRows(emu.url, "um", `symbol=BTCUSDT&startTime=${old}&limit=1`);
  assert.ok(oldest.body[0].T >= NOW - 365 * DAY && oldest.body[0].T < NOW - 364 * DAY);
  assert.deepEqual(
    (await restRows(emu.url, "spot", `symbol=NEWUSDT&endTime=${Date.UTC(2024, 0, 1)}`)).body,
    [],
  );
  // weights: spot 4, futures 20 a call, whatever the limit
  emu.reset();
  assert.equal((await restRows(emu.url, "spot", "symbol=BTCUSDT&limit=1")).weight, "4");
  assert.equal((await restRows(emu.url, "spot", "symbol=BTCUSDT&limit=1000")).weight, "8");
  assert.equal((await restRows(emu.url, "um", "symbol=BTCUSDT&limit=1")).weight, "20");
  assert.equal((await restRows(emu.url, "cm", "symbol=BTCUSD_PERP")).weight, "20");
});

Deno.test("REST aggTrades: spot T in µs with X-MBX-TIME-UNIT, µs time parameters; futures stay in ms", async () => {
  await using emu = await startEmulator(OPTIONS);
  const t = Date.UTC(2026, 9, 1, 12);
  const ms = await restRows(emu.url, "spot", `symbol=BTCUSDT&startTime=${t}&limit=5`);
  const us = await restRows(emu.url, "spot", `symbol=BTCUSDT&startTime=${t}&limit=5`, {
    "X-MBX-TIME-UNIT": "MICROSECOND",
  });
  const rows = truth("spot", "aggTrades", "BTCUSDT", t, t + 3_600_000);
  assert.deepEqual(us.body.map((r: AggJson) => r.T), (rows.transact_time as number[]).slice(0, 5));
  assert.deepEqual(
    ms.body.map((r: AggJson) => r.T),
    us.body.map((r: AggJson) => Math.floor(r.T / 1000)),
  );
  assert.ok(us.body.some((r: AggJson) => r.T % 1000 !== 0));
  const lower = await restRows(
    emu.url,
    "spot",
    `symbol=BTCUSDT&startTime=${us.body[1].T}&limit=1`,
    { "X-MBX-TIME-UNIT": "microsecond" },
  );
  assert.equal(lower.body[0].a, us.body[1].a);
  const um = await restRows(emu.url, "um", `symbol=BTCUSDT&startTime=${t}&limit=2`, {
    "X-MBX-TIME-UNIT": "MICROSECOND",
  });
  assert.equal(String(um.body[0].T).length, 13);
  assert.equal(um.body[0].M, undefined);
});

Deno.test("trades files go through the faults: missing day, checksum mismatch, partial file, lag", async () => {
  const missing = "BTCUSDT-aggTrades-2024-01-02.zip";
  await using emu = await startEmulator({
    ...OPTIONS,
    missingFiles: [missing],
    checksumMismatch: ["BTCUSDT-trades-2024-01-03.zip", "BTCUSD_PERP-aggTrades-2026-09.zip"],
    partialFiles: ["BTCUSDT-trades-2024-01-04.zip"],
  });
  assert.equal(
    (await get(emu.url, `/${key("spot", "daily", "aggTrades", "BTCUSDT", "2024-01-02")}`)).status,
    404,
  );
  const listing = (await get(
    emu.url,
    "/?prefix=data/spot/daily/aggTrades/BTCUSDT/&marker=data/spot/daily/aggTrades/BTCUSDT/BTCUSDT-aggTrades-2024-01-01.zip.CHECKSUM&max-keys=2",
  )).text;
  assert.deepEqual(
    [...listing.matchAll(/<Key>([^<]+)<\/Key>/g)].map((m) => m[1].split("/").pop()),
    [
      "BTCUSDT-aggTrades-2024-01-03.zip",
      "BTCUSDT-aggTrades-2024-01-03.zip.CHECKSUM",
    ],
  );
  for (
    const k of [
      key("spot", "daily", "trades", "BTCUSDT", "2024-01-03"),
      key("cm", "monthly", "aggTrades", "BTCUSD_PERP", "2026-09"),
    ]
  ) {
    const zip = await getBytes(emu.url, `/${k}`);
    assert.notEqual((await get(emu.url, `/${k}.CHECKSUM`)).text.slice(0, 64), await sha256Hex(zip));
  }
  const partial = key("spot", "daily", "trades", "BTCUSDT", "2024-01-04");
  const rows = (await fileRows(emu.url, "spot", "trades", partial)).rows.id as number[];
  const full = tradeTruth(OPTIONS, {
    market: "spot",
    dataset: "trades",
    symbol: "BTCUSDT",
    start: Date.UTC(2024, 0, 4),
    end: Date.UTC(2024, 0, 5),
  });
  assert.ok(rows.length > 0 && rows.length < full.numRows);
  assert.deepEqual(rows, Array.from(full.ids.slice(0, rows.length)));
  await using lagging = await startEmulator({ ...OPTIONS, publicationLagDays: 2 });
  const yesterday = new Date(NOW - DAY).toISOString().slice(0, 10);
  assert.equal(
    (await get(lagging.url, `/${key("um", "daily", "trades", "BTCUSDT", yesterday)}`)).status,
    404,
  );
  assert.equal(
    (await get(emu.url, `/${key("um", "daily", "trades", "BTCUSDT", yesterday)}`)).status,
    200,
  );
  assert.equal(
    (await get(emu.url, `/${key("um", "monthly", "trades", "BTCUSDT", "2026-11")}`)).status,
    404,
  );
});

Deno.test("trades S3 listing: folders per market, daily and monthly files with CHECKSUM from the Vision start", async () => {
  await using emu = await startEmulator(OPTIONS);
  const prefixes = async (prefix: string) =>
    [...(await get(emu.url, `/?prefix=${prefix}&delimiter=/`)).text.matchAll(
      /<Prefix>([^<]+)<\/Prefix>/g,
    )].map((m) => m[1]).slice(1);
  assert.ok((await prefixes("data/spot/daily/")).includes("data/spot/daily/aggTrades/"));
  assert.ok(
    (await prefixes("data/futures/cm/monthly/")).includes("data/futures/cm/monthly/trades/"),
  );
  const keys = [
    ...(await get(emu.url, "/?prefix=data/futures/um/monthly/aggTrades/BTCUSDT/&max-keys=2")).text
      .matchAll(/<Key>([^<]+)<\/Key>/g),
  ].map((m) => m[1]);
  assert.deepEqual(keys, [
    "data/futures/um/monthly/aggTrades/BTCUSDT/BTCUSDT-aggTrades-2019-12.zip",
    "data/futures/um/monthly/aggTrades/BTCUSDT/BTCUSDT-aggTrades-2019-12.zip.CHECKSUM",
  ]);
  // the first Vision file starts at visionFrom, with the ids the trades had by then
  const { rows } = await fileRows(emu.url, "um", "aggTrades", keys[0]);
  assert.equal(
    rows.transact_time.length,
    truth("um", "aggTrades", "BTCUSDT", Date.UTC(2019, 11, 31), Date.UTC(2020, 0, 1)).transact_time
      .length,
  );
  assert.ok((rows.agg_trade_id[0] as number) > 0);
});

Deno.test("streamed monthly zip: a truncated body is its first half, a cancelled download stops", async () => {
  const k = key("cm", "monthly", "trades", "BTCUSD_PERP", "2026-08");
  await using clean = await startEmulator(OPTIONS);
  const whole = await getBytes(clean.url, `/${k}`);
  await using cut = await startEmulator({ ...OPTIONS, truncateRate: 1 });
  const res = await fetch(`${cut.url}/${k}`);
  const half = Math.floor(whole.length / 2);
  assert.equal(res.headers.get("content-length"), String(half));
  assert.deepEqual(new Uint8Array(await res.arrayBuffer()), whole.subarray(0, half));
  assert.equal(cut.stats.faults.truncations, 1);
  const reader = (await fetch(`${clean.url}/${k}`)).body!.getReader();
  assert.equal((await reader.read()).done, false);
  await reader.cancel();
});
