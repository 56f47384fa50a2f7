import assert from "node:assert/strict";
import { startEmulator } from "../../src/emulator/emulator.ts";
import { klineTruth } from "../../src/emulator/kline_truth.ts";
import { type KlineText, MarketData } from "../../src/emulator/market_data.ts";
import { klineJson } from "../../src/emulator/rest_klines.ts";
import { groundTruth } from "../fcp/_ground_truth.ts";
import { get, NOW, visionKey, visionLines } from "./_helpers.ts";

type Row = (string | number)[];
const DAY = 86_400_000;
const H = 3_600_000;
const U = Date.UTC;

/** A CSV line as the REST array (spot ms files: no header, no µs before 2025). */
function fromCsv(line: string): Row {
  const f = line.split(",");
  return [
    Number(f[0]),
    f[1],
    f[2],
    f[3],
    f[4],
    f[5],
    Number(f[6]),
    f[7],
    Number(f[8]),
    f[9],
    f[10],
    f[11],
  ];
}

function fromText(k: KlineText): Row {
  return JSON.parse(klineJson(k));
}

async function rest(base: string, query: string): Promise<Row[]> {
  const { status, text } = await get(base, `/api/v3/klines?${query}`);
  assert.equal(status, 200, text);
  return JSON.parse(text);
}

/** Every REST row with open time in `[from, to)`, paged by the last open time + 1. */
async function restRange(
  base: string,
  symbol: string,
  interval: string,
  from: number,
  to: number,
): Promise<Row[]> {
  const rows: Row[] = [];
  for (let start = from;;) {
    const page = await rest(
      base,
      `symbol=${symbol}&interval=${interval}&startTime=${start}&endTime=${to - 1}&limit=1000`,
    );
    rows.push(...page);
    if (page.length < 1000) return rows;
    start = (page.at(-1)![0] as number) + 1;
  }
}

async function daily(base: string, symbol: string, interval: string, date: string) {
  return (await visionLines(base, visionKey("spot", "daily", symbol, interval, date))).map(fromCsv);
}

async function monthly(base: string, symbol: string, interval: string, month: string) {
  return (await visionLines(base, visionKey("spot", "monthly", symbol, interval, month)))
    .map(fromCsv);
}

// Days with an irregularity of each kind, in intervals that meet it.
const CASES: [string, string, string][] = [
  ["BTCUSDT", "1h", "2017-09-06"], // exact close, ignore
  ["BTCUSDT", "1m", "2017-09-06"],
  ["BTCUSDT", "1h", "2018-02-07"], // cut short before the outage
  ["BTCUSDT", "1h", "2018-02-09"], // off the grid after it
  ["BTCUSDT", "1m", "2018-02-09"],
  ["BTCUSDT", "15m", "2018-02-09"],
  ["BTCUSDT", "4h", "2018-02-10"],
  ["BTCUSDT", "1s", "2018-02-09"],
  ["BTCUSDT", "1h", "2018-09-04"], // close_time ending in 999000
  ["ETHUSDT", "1m", "2019-05-15"], // zero-volume halt rows
  ["BTCUSDT", "1h", "2020-12-21"], // close before open
  ["BTCUSDT", "1m", "2020-12-21"],
  ["BTCUSDT", "1d", "2020-12-21"],
];

for (const [symbol, interval, date] of CASES) {
  Deno.test(`Real history is served identically by the daily zip, the monthly zip, REST and the truth: ${symbol} ${interval} ${date}`, async () => {
    await using emu = await startEmulator({ now: NOW });
    const day = Date.parse(`${date}T00:00:00Z`);
    const fromDaily = await daily(emu.url, symbol, interval, date);
    // a monthly 1s file holds 2.6 M rows: the daily one stands for it
    const fromMonthly = interval === "1s"
      ? fromDaily
      : (await monthly(emu.url, symbol, interval, date.slice(0, 7)))
        .filter((r) => (r[0] as number) >= day && (r[0] as number) < day + DAY);
    const fromRest = await restRange(emu.url, symbol, interval, day, day + DAY);
    const truth = klineTruth(new MarketData(), {
      market: "spot",
      symbol,
      interval: interval as "1h",
      start: day,
      end: day + DAY,
    });
    assert.ok(fromDaily.length > 0);
    const irregular = Object.values(truth.irregular).reduce((n, list) => n + list.length, 0);
    assert.ok(irregular > 0, "the day carries an irregularity");
    assert.equal(JSON.stringify(fromMonthly), JSON.stringify(fromDaily));
    assert.equal(JSON.stringify(fromRest), JSON.stringify(fromDaily));
    assert.equal(JSON.stringify(truth.served.map(fromText)), JSON.stringify(fromDaily));
  });
}

Deno.test("Real history: the off-grid rows after the 2018-02-08/09 outage, as on Binance", async () => {
  await using emu = await startEmulator({ now: NOW });
  assert.equal((await daily(emu.url, "BTCUSDT", "1h", "2018-02-08")).length, 0);
  const hours = await daily(emu.url, "BTCUSDT", "1h", "2018-02-09");
  assert.equal(hours.length, 15); // 09:28:14.789 .. 23:28:14.789
  assert.equal(hours[0][0], 1518168494789);
  for (const r of hours) {
    assert.equal(((r[0] as number) - U(2018, 1, 9)) % H, 1_694_789);
    assert.equal(r[6], (r[0] as number) + H - 1);
  }
  const next = await daily(emu.url, "BTCUSDT", "1h", "2018-02-11");
  assert.deepEqual(next.slice(0, 5).map((r) => r[0]), [
    U(2018, 1, 11, 0, 28, 14, 789),
    U(2018, 1, 11, 1, 28, 14, 789),
    U(2018, 1, 11, 2, 28, 14, 789),
    U(2018, 1, 11, 3, 28, 14, 789), // the 43rd
    U(2018, 1, 11, 4), // back on the grid
  ]);
  const minutes = await daily(emu.url, "BTCUSDT", "1m", "2018-02-09");
  assert.equal(minutes[0][0], U(2018, 1, 9, 9, 28, 14, 789));
  assert.equal(minutes[42][0], U(2018, 1, 9, 10, 10, 14, 789));
  assert.equal(minutes[42][6], U(2018, 1, 9, 10, 11, 14, 788));
  assert.equal(minutes[43][0], U(2018, 1, 9, 10, 11));
  const seconds = await daily(emu.url, "BTCUSDT", "1s", "2018-02-09");
  assert.equal(seconds[0][0], U(2018, 1, 9, 9, 28, 14, 789));
  assert.equal(seconds[43][0], U(2018, 1, 9, 9, 28, 57));
  // 1d stays on the grid: the days opening inside the outage are missing
  const days = await monthly(emu.url, "BTCUSDT", "1d", "2018-02");
  assert.deepEqual(
    days.slice(6, 9).map((r) => r[0]),
    [U(2018, 1, 7), U(2018, 1, 10), U(2018, 1, 11)],
  );
});

Deno.test("Real history: cut-short, exact, …999000 and backward close times; halt rows; ignore", async () => {
  await using emu = await startEmulator({ now: NOW });
  const at = async (interval: string, t: number) => {
    const date = new Date(t).toISOString().slice(0, 10);
    const rows = await daily(emu.url, "BTCUSDT", interval, date);
    const i = rows.findIndex((r) => r[0] === t);
    assert.ok(i >= 0, `a row at ${new Date(t).toISOString()}`);
    return { row: rows[i], before: rows[i - 1] };
  };
  const short = (await at("1h", U(2018, 1, 7, 23))).row;
  assert.equal(short[6], U(2018, 1, 7, 23, 29)); // 29 minutes after the open
  assert.equal((await at("1m", U(2018, 1, 7, 23, 59))).row[6], U(2018, 1, 7, 23, 59, 29));
  assert.equal((await at("1h", U(2017, 8, 6, 1))).row[6], U(2017, 8, 6, 2)); // no -1 ms
  const nines = (await at("1h", U(2018, 8, 4, 7))).row;
  assert.equal(nines[6], 1536047999000);
  assert.equal((await at("1m", U(2018, 8, 4, 7))).row[6], U(2018, 8, 4, 7, 0, 59));
  // the real zero-volume row whose close_time is before its open_time
  const { row, before } = await at("1h", 1608559200000);
  assert.equal(row[6], 1608558440521);
  assert.deepEqual([row[5], row[7], row[8], row[9], row[10]], [
    "0.00000000",
    "0.00000000",
    0,
    "0.00000000",
    "0.00000000",
  ]);
  assert.deepEqual([row[1], row[2], row[3], row[4]], Array(4).fill(before[4]));
  assert.equal((await at("1m", 1608559200000)).row[6], 1608558440521);
  // halt rows after the 2019-05-15 restart: flat at the previous close, count 0
  const halt = await at("1m", U(2019, 4, 15, 9, 5));
  assert.equal(halt.row[8], 0);
  assert.equal(halt.row[1], halt.before[4]);
  assert.equal(new Set(halt.row.slice(1, 5)).size, 1);
  // a decimal ignore column through 2017, 0 from 2018
  const old = await daily(emu.url, "BTCUSDT", "1h", "2017-12-31");
  for (const r of old) assert.match(r[11] as string, /^[1-9]\d*\.\d{8}$/);
  const later = await rest(emu.url, `symbol=BTCUSDT&interval=1h&startTime=${U(2017, 11, 31)}`);
  assert.equal(later[23][11], old[23][11]);
  assert.equal(later[24][0], U(2018, 0, 1));
  assert.equal(later[24][11], "0");
});

Deno.test("REST with off-grid rows: startTime <= open_time <= endTime, limit counts rows", async () => {
  await using emu = await startEmulator({ now: NOW });
  const q = (params: string) => rest(emu.url, `symbol=BTCUSDT&interval=1h&${params}`);
  const first = 1518168494789; // 2018-02-09 09:28:14.789
  const opens = (rows: Row[]) => rows.map((r) => r[0]);
  assert.deepEqual(opens(await q(`startTime=${first}&limit=2`)), [first, first + H]);
  assert.deepEqual(opens(await q(`startTime=${first + 1}&limit=1`)), [first + H]);
  // a grid startTime in the slot before the shifted open time
  assert.deepEqual(opens(await q(`startTime=${U(2018, 1, 9, 9)}&limit=1`)), [first]);
  // startTime inside the outage: the next row is the first off-grid one
  assert.deepEqual(opens(await q(`startTime=${U(2018, 1, 8, 5)}&limit=3`)), [
    first,
    first + H,
    first + 2 * H,
  ]);
  assert.deepEqual(opens(await q(`endTime=${first}&limit=2`)), [U(2018, 1, 7, 23), first]);
  assert.deepEqual(opens(await q(`endTime=${first - 1}&limit=1`)), [U(2018, 1, 7, 23)]);
  assert.deepEqual(
    opens(await q(`startTime=${first}&endTime=${first + 2 * H - 1}&limit=1000`)),
    [first, first + H],
  );
  // back on the grid after 43 rows
  const last = first + 42 * H;
  assert.deepEqual(opens(await q(`endTime=${U(2018, 1, 11, 5)}&limit=3`)), [
    last,
    U(2018, 1, 11, 4),
    U(2018, 1, 11, 5),
  ]);
  assert.deepEqual(opens(await q(`startTime=${U(2018, 1, 11, 3)}&limit=2`)), [
    last,
    U(2018, 1, 11, 4),
  ]);
  assert.deepEqual(opens(await q(`startTime=${U(2018, 1, 11, 3)}&endTime=${last - 1}`)), []);
});

Deno.test('history: "clean" serves every candle regular, and changes no regular candle', async () => {
  await using real = await startEmulator({ now: NOW });
  await using clean = await startEmulator({ now: NOW, history: "clean" });
  const hours = await daily(clean.url, "BTCUSDT", "1h", "2018-02-09");
  assert.equal(hours.length, 24);
  for (const [i, r] of hours.entries()) {
    assert.equal(r[0], U(2018, 1, 9, i));
    assert.equal(r[6], U(2018, 1, 9, i + 1) - 1);
  }
  assert.equal((await daily(clean.url, "BTCUSDT", "1h", "2018-02-08")).length, 24);
  const halt = (await daily(clean.url, "BTCUSDT", "1h", "2020-12-21"))[14];
  assert.equal(halt[6], 1608559200000 + H - 1);
  assert.ok(Number(halt[5]) > 0 && (halt[8] as number) > 0);
  for (const r of await daily(clean.url, "BTCUSDT", "1h", "2017-09-06")) {
    assert.equal(r[11], "0");
    assert.equal(r[6], (r[0] as number) + H - 1);
  }
  // the default halts remain
  assert.equal((await daily(clean.url, "BTCUSDT", "1h", "2020-02-19")).length, 22);
  for (const date of ["2018-03-15", "2023-05-01"]) {
    assert.deepEqual(
      await daily(real.url, "ETHUSDT", "1m", date),
      await daily(clean.url, "ETHUSDT", "1m", date),
    );
  }
  assert.deepEqual(
    await daily(real.url, "BTCUSDT", "1h", "2018-02-12"),
    await daily(clean.url, "BTCUSDT", "1h", "2018-02-12"),
  );
});

Deno.test("klineTruth over 2017-2022: the irregular 1h rows of spot BTCUSDT", () => {
  const truth = klineTruth(new MarketData(), {
    market: "spot",
    symbol: "BTCUSDT",
    interval: "1h",
    start: U(2017, 7, 17),
    end: U(2023, 0, 1),
  });
  assert.equal(truth.offGrid.length, 3 * 43);
  assert.deepEqual(
    [truth.offGrid[0], truth.offGrid[43], truth.offGrid[86]],
    [1518168494789, U(2019, 10, 26, 13, 28, 14, 789), U(2021, 8, 8, 2, 28, 14, 789)],
  );
  assert.equal(truth.served.length, truth.returned.length + 129);
  assert.ok(truth.returned.every((k) => k.openTime % H === 0));
  const closes = new Map(truth.served.map((k) => [k.openTime, k.closeTime - k.openTime]));
  assert.deepEqual(
    truth.irregular.close_time.map((t) => [new Date(t).toISOString(), closes.get(t)]),
    [
      ["2017-09-06T00:00:00.000Z", H],
      ["2017-09-06T01:00:00.000Z", H],
      ["2017-09-06T02:00:00.000Z", H],
      ["2017-12-19T21:00:00.000Z", 1_740_000],
      ["2018-02-07T23:00:00.000Z", 1_740_000],
      ["2018-06-07T04:00:00.000Z", 1_740_000],
      ["2018-09-04T07:00:00.000Z", H - 1000],
      ["2019-05-15T00:00:00.000Z", 1_740_000],
      ["2020-03-13T02:00:00.000Z", H - 1000],
      ["2020-10-21T16:00:00.000Z", 1_740_000],
      ["2020-12-21T14:00:00.000Z", -759_479],
      ["2022-06-01T10:00:00.000Z", H],
      ["2022-10-03T17:00:00.000Z", 1_740_000],
    ],
  );
  const halts = [U(2019, 4, 15, 9), U(2020, 5, 28, 7), U(2020, 11, 21, 14), U(2021, 11, 5, 8)];
  assert.deepEqual(truth.irregular.zero_volume, halts);
  assert.deepEqual(truth.irregular.ohlc, []); // halt rows are flat, not broken
  for (const t of halts) {
    const k = truth.served.find((k) => k.openTime === t)!;
    assert.deepEqual([k.high, k.low, k.close, k.count], [k.open, k.open, k.open, 0]);
  }
  // every 2017 hour but the 13 in the 2017 outages
  assert.equal(truth.irregular.ignore.length, (U(2018, 0, 1) - U(2017, 7, 17, 4)) / H - 13);
  const outages = truth.missing.map((m) => [new Date(m.start).toISOString(), m.slots]);
  assert.deepEqual(outages.slice(0, 4), [
    ["2017-08-17T00:00:00.000Z", 4], // before the listing
    ["2017-10-11T03:00:00.000Z", 7],
    ["2017-12-19T22:00:00.000Z", 6],
    ["2018-02-08T00:00:00.000Z", 33 + 43], // the outage and the off-grid slots
  ]);
  assert.equal(truth.missing.length, 15);
  // the test oracle keeps the on-grid rows only and names the off-grid ones
  const oracle = groundTruth("spot", "BTCUSDT", "1h", U(2018, 1, 1), U(2018, 2, 1));
  assert.equal(oracle.offGrid.length, 43);
  assert.equal(oracle.length, 28 * 24 - 33 - 43);
  assert.deepEqual(oracle.missing, [{ start: U(2018, 1, 8), end: U(2018, 1, 11, 4), slots: 76 }]);
  assert.ok(oracle.columns.openTime.every((t) => t % H === 0));
});

Deno.test("um BTCUSDT: REST from 2019-09-08 17:57, Vision files and listing from 2019-12-31", async () => {
  await using emu = await startEmulator({ now: NOW });
  const fapi = async (params: string): Promise<Row[]> =>
    JSON.parse((await get(emu.url, `/fapi/v1/klines?symbol=BTCUSDT&${params}`)).text);
  const since = `startTime=${U(2019, 0, 1)}&limit=2`;
  assert.deepEqual((await fapi(`interval=1m&${since}`)).map((r) => r[0]), [
    U(2019, 8, 8, 17, 57),
    U(2019, 8, 8, 17, 58),
  ]);
  assert.equal((await fapi(`interval=1h&${since}`))[0][0], U(2019, 8, 8, 17));
  assert.equal((await fapi(`interval=1d&${since}`))[0][0], U(2019, 8, 8));
  const key = (period: "daily" | "monthly", interval: string, date: string) =>
    `/${visionKey("futures/um", period, "BTCUSDT", interval, date)}`;
  for (
    const path of [
      key("daily", "1m", "2019-12-30"),
      key("daily", "1h", "2019-09-08"),
      key("monthly", "1m", "2019-11"),
      key("monthly", "1d", "2019-09"),
    ]
  ) {
    assert.equal((await get(emu.url, path)).status, 404, path);
    assert.equal((await get(emu.url, `${path}.CHECKSUM`)).status, 404, path);
  }
  const first = await visionLines(emu.url, key("daily", "1m", "2019-12-31").slice(1));
  assert.equal(first.length, 1440);
  assert.equal(first[0].split(",")[0], String(U(2019, 11, 31)));
  // the month's file holds the archived days only; the month candle contains the first one
  const month = await visionLines(emu.url, key("monthly", "1m", "2019-12").slice(1));
  assert.deepEqual(month, first);
  const mo = await visionLines(emu.url, key("monthly", "1mo", "2019-12").slice(1));
  assert.deepEqual(mo.map((l) => Number(l.split(",")[0])), [U(2019, 11, 1)]);
  const listed = async (prefix: string) =>
    [...(await get(emu.url, `/?prefix=${prefix}`)).text.matchAll(/<Key>([^<]*)<\/Key>/g)]
      .map((m) => m[1]);
  const days = await listed("data/futures/um/daily/klines/BTCUSDT/1h/");
  assert.equal(days[0], "data/futures/um/daily/klines/BTCUSDT/1h/BTCUSDT-1h-2019-12-31.zip");
  const months = await listed("data/futures/um/monthly/klines/BTCUSDT/1h/");
  assert.equal(months[0], "data/futures/um/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2019-12.zip");
});
