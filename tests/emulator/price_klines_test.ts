import assert from "node:assert/strict";
import type { Interval } from "../../src/core/interval.ts";
import { startEmulator } from "../../src/emulator/emulator.ts";
import { klineTruth } from "../../src/emulator/kline_truth.ts";
import { MarketData } from "../../src/emulator/market_data.ts";
import { VISION_HEADER } from "../../src/emulator/vision_files.ts";
import { get, getBytes, NOW, sha256Hex, unzipText, visionLines } from "./_helpers.ts";

type Row = (string | number)[];
type PriceDataset = "markPriceKlines" | "indexPriceKlines" | "premiumIndexKlines";
const FUTURES = { um: "futures/um", cm: "futures/cm" } as const;
const API = { um: "/fapi/v1", cm: "/dapi/v1" } as const;
const DAY = 86_400_000;

function key(
  market: "um" | "cm",
  period: "daily" | "monthly",
  dataset: PriceDataset,
  name: string,
  interval: string,
  date: string,
): string {
  return `data/${FUTURES[market]}/${period}/${dataset}/${name}/${interval}/` +
    `${name}-${interval}-${date}.zip`;
}

function param(dataset: PriceDataset): string {
  return dataset === "indexPriceKlines" ? "pair" : "symbol";
}

function fromCsv(line: string): Row {
  const f = line.split(",");
  return [+f[0], f[1], f[2], f[3], f[4], f[5], +f[6], f[7], +f[8], f[9], f[10], f[11]];
}

async function restDay(
  base: string,
  market: "um" | "cm",
  dataset: PriceDataset,
  name: string,
  interval: string,
  day: number,
): Promise<Row[]> {
  const rows: Row[] = [];
  let start = day;
  for (;;) {
    const q = `${param(dataset)}=${name}&interval=${interval}&startTime=${start}` +
      `&endTime=${day + DAY - 1}&limit=1500`;
    const { status, text } = await get(base, `${API[market]}/${dataset}?${q}`);
    assert.equal(status, 200, text);
    const page: Row[] = JSON.parse(text);
    rows.push(...page);
    if (page.length < 1500) return rows;
    start = (page.at(-1)![0] as number) + 1;
  }
}

const CASES: [PriceDataset, "um" | "cm", string, Interval, string][] = [
  ["markPriceKlines", "um", "BTCUSDT", "1m", "2024-06-14"],
  ["markPriceKlines", "cm", "ETHUSD_PERP", "1h", "2021-04-25"],
  ["indexPriceKlines", "um", "ETHUSDT", "15m", "2022-07-01"],
  ["indexPriceKlines", "cm", "BTCUSD", "1m", "2025-01-01"],
  ["premiumIndexKlines", "um", "NEWUSDT", "5m", "2024-03-20"],
  ["premiumIndexKlines", "cm", "BTCUSD_PERP", "1d", "2020-09-30"],
];

for (const [dataset, market, name, interval, date] of CASES) {
  Deno.test(`same ${dataset} in the daily zip, the monthly zip, REST and klineTruth: ${market} ${name} ${interval} ${date}`, async () => {
    await using emu = await startEmulator({ now: NOW, seed: 5 });
    const day = Date.parse(`${date}T00:00:00Z`);
    const noHeader = (lines: string[]) => lines.filter((l) => l !== VISION_HEADER);
    const daily = noHeader(
      await visionLines(emu.url, key(market, "daily", dataset, name, interval, date)),
    ).map(fromCsv);
    const monthly = noHeader(
      await visionLines(emu.url, key(market, "monthly", dataset, name, interval, date.slice(0, 7))),
    ).map(fromCsv).filter((r) => (r[0] as number) >= day && (r[0] as number) < day + DAY);
    const rest = await restDay(emu.url, market, dataset, name, interval, day);
    assert.ok(daily.length > 0);
    assert.deepEqual(monthly, daily);
    assert.deepEqual(rest, daily);
    const truth = klineTruth(new MarketData({ seed: 5 }), {
      market,
      symbol: name,
      dataset,
      interval,
      start: day,
      end: day + DAY,
    });
    assert.deepEqual(
      truth.returned.map((k) => [k.openTime, k.open, k.close, k.count]),
      daily.map((r) => [r[0], r[1], r[4], r[8]]),
    );
  });
}

Deno.test("price klines print 8-decimal prices, 0 volumes, and count the price samples", async () => {
  await using emu = await startEmulator({ now: NOW });
  const day = Date.UTC(2024, 0, 2);
  const expect: [PriceDataset, string, number][] = [
    ["markPriceKlines", "BTCUSDT", 60],
    ["indexPriceKlines", "BTCUSDT", 60],
    ["premiumIndexKlines", "BTCUSDT", 12],
  ];
  for (const [dataset, name, count] of expect) {
    const lines = await visionLines(emu.url, key("um", "daily", dataset, name, "1m", "2024-01-02"));
    assert.equal(lines[0], VISION_HEADER);
    assert.equal(lines.length, 1441);
    for (const line of lines.slice(1)) {
      const f = line.split(",");
      for (const i of [1, 2, 3, 4]) assert.match(f[i], /^-?\d+\.\d{8}$/);
      assert.deepEqual([f[5], f[7], f[9], f[10], f[11]], ["0", "0", "0", "0", "0"]);
      assert.equal(Number(f[8]), count);
      assert.equal(Number(f[6]), Number(f[0]) + 59_999);
      assert.ok(Number(f[2]) >= Math.max(Number(f[1]), Number(f[4])));
      assert.ok(Number(f[3]) <= Math.min(Number(f[1]), Number(f[4])));
    }
    const hourly = await visionLines(
      emu.url,
      key("um", "daily", dataset, name, "1h", "2024-01-02"),
    );
    assert.equal(Number(hourly[1].split(",")[8]), count * 60);
  }
  // mark and index follow the trade price within a small basis; the premium stays near 0
  const trade = JSON.parse(
    (await get(emu.url, `/fapi/v1/klines?symbol=BTCUSDT&interval=1h&startTime=${day}&limit=24`))
      .text,
  ) as Row[];
  for (const dataset of ["markPriceKlines", "indexPriceKlines"] as const) {
    const q = `${param(dataset)}=BTCUSDT&interval=1h&startTime=${day}&limit=24`;
    const rows = JSON.parse((await get(emu.url, `/fapi/v1/${dataset}?${q}`)).text) as Row[];
    rows.forEach((r, i) => {
      const basis = Number(r[4]) / Number(trade[i][4]) - 1;
      assert.ok(Math.abs(basis) < 0.002, `${dataset} ${basis}`);
    });
  }
  const premium = JSON.parse(
    (await get(emu.url, `/fapi/v1/premiumIndexKlines?symbol=BTCUSDT&interval=1m&limit=1500`)).text,
  ) as Row[];
  assert.ok(premium.every((r) => Math.abs(Number(r[4])) < 0.001));
  assert.ok(premium.some((r) => Number(r[4]) !== 0.0001));
  const anyNegative = await visionLines(
    emu.url,
    key("um", "monthly", "premiumIndexKlines", "BTCUSDT", "1h", "2024-01"),
  );
  assert.ok(anyNegative.some((l) => l.split(",")[4].startsWith("-0.000")));
});

Deno.test("price klines files have the futures header only in newer files (um 2022-07, cm 2020-09)", async () => {
  await using emu = await startEmulator({ now: NOW });
  const um = (date: string) =>
    visionLines(emu.url, key("um", "daily", "markPriceKlines", "BTCUSDT", "1h", date));
  assert.match((await um("2022-06-30"))[0], /^1656547200000,/);
  assert.equal((await um("2022-07-01"))[0], VISION_HEADER);
  const cm = (date: string) =>
    visionLines(emu.url, key("cm", "monthly", "indexPriceKlines", "BTCUSD", "1d", date));
  assert.match((await cm("2020-08"))[0], /^1597104000000,/);
  assert.equal((await cm("2020-09"))[0], VISION_HEADER);
});

Deno.test("index klines are named by pair; mark and premium by symbol", async () => {
  await using emu = await startEmulator({ now: NOW });
  const t = `interval=1h&startTime=${Date.UTC(2024, 0, 1)}&limit=2`;
  const ok = async (path: string) => {
    const { status, text } = await get(emu.url, path);
    assert.equal(status, 200, `${path} ${text}`);
    return JSON.parse(text) as Row[];
  };
  const error = async (path: string) => {
    const { status, text } = await get(emu.url, path);
    return { status, code: JSON.parse(text).code, msg: JSON.parse(text).msg };
  };
  assert.equal((await ok(`/dapi/v1/indexPriceKlines?pair=BTCUSD&${t}`)).length, 2);
  assert.equal((await ok(`/fapi/v1/indexPriceKlines?pair=BTCUSDT&${t}`)).length, 2);
  assert.equal((await ok(`/dapi/v1/markPriceKlines?symbol=BTCUSD_PERP&${t}`)).length, 2);
  assert.equal((await ok(`/dapi/v1/premiumIndexKlines?symbol=ETHUSD_PERP&${t}`)).length, 2);
  assert.equal((await error(`/dapi/v1/indexPriceKlines?pair=BTCUSD_PERP&${t}`)).code, -1121);
  assert.deepEqual(await error(`/dapi/v1/indexPriceKlines?symbol=BTCUSD&${t}`), {
    status: 400,
    code: -1102,
    msg: "Mandatory parameter 'pair' was not sent, was empty/null, or malformed.",
  });
  assert.equal((await error(`/dapi/v1/markPriceKlines?symbol=BTCUSD&${t}`)).code, -1121);
  assert.equal((await error(`/fapi/v1/markPriceKlines?symbol=btcusdt&${t}`)).code, -1100);
  assert.equal((await error(`/fapi/v1/markPriceKlines?symbol=BTCUSDT&interval=1s`)).code, -1120);
  const spot = await get(emu.url, `/api/v3/markPriceKlines?symbol=BTCUSDT&${t}`);
  assert.equal(spot.status, 404);
  const vision = await get(
    emu.url,
    `/${key("um", "daily", "indexPriceKlines", "BTCUSDX", "1h", "2024-01-01")}`,
  );
  assert.equal(vision.status, 404);
  const spotVision = await get(
    emu.url,
    "/data/spot/daily/markPriceKlines/BTCUSDT/1h/BTCUSDT-1h-2024-01-01.zip",
  );
  assert.equal(spotVision.status, 404);
});

Deno.test("price klines REST: limit up to 1500 with futures weights, cm 200-day span, listing bounds", async () => {
  await using emu = await startEmulator({ now: NOW });
  const path = "/fapi/v1/premiumIndexKlines?symbol=BTCUSDT&interval=1m";
  for (const [limit, weight] of [[99, 1], [499, 2], [1000, 5], [1500, 10]]) {
    const res = await get(emu.url, `${path}&limit=${limit}`);
    assert.equal(JSON.parse(res.text).length, limit);
    emu.reset();
    const again = await get(emu.url, `${path}&limit=${limit}`);
    assert.equal(again.headers.get("x-mbx-used-weight-1m"), String(weight));
    emu.reset();
  }
  const over = await get(emu.url, `${path}&limit=1501`);
  assert.equal(over.status, 400);
  assert.equal(JSON.parse(over.text).code, -1100);
  const span = await get(
    emu.url,
    `/dapi/v1/markPriceKlines?symbol=BTCUSD_PERP&interval=1d&startTime=${
      Date.UTC(2023, 0, 1)
    }&endTime=${Date.UTC(2023, 0, 1) + 201 * DAY}`,
  );
  assert.equal(JSON.parse(span.text).code, -1127);
  // before the listing: []; um BTCUSDT on REST from 2019-09-08 17:57, the 17:00 candle first
  const early = await get(
    emu.url,
    `/fapi/v1/markPriceKlines?symbol=BTCUSDT&interval=1h&startTime=${Date.UTC(2019, 0, 1)}&limit=2`,
  );
  assert.deepEqual(JSON.parse(early.text).map((r: Row) => r[0]), [
    Date.UTC(2019, 8, 8, 17),
    Date.UTC(2019, 8, 8, 18),
  ]);
  // the open candle counts the samples so far (08:30:15 → 15 one-second samples in 08:30)
  const open = JSON.parse(
    (await get(emu.url, "/fapi/v1/markPriceKlines?symbol=BTCUSDT&interval=1m&limit=1")).text,
  ) as Row[];
  assert.equal(open[0][0], Date.UTC(2026, 10, 25, 8, 30));
  assert.equal(open[0][8], 15);
});

Deno.test("S3 listing shows the price klines folders, pairs and files", async () => {
  await using emu = await startEmulator({ now: NOW });
  const prefixes = async (prefix: string) => {
    const { text } = await get(emu.url, `/?delimiter=/&prefix=${prefix}`);
    return [...text.matchAll(/<Prefix>([^<]*)<\/Prefix><\/CommonPrefixes>/g)].map((m) => m[1]);
  };
  assert.deepEqual(await prefixes("data/futures/um/daily/"), [
    "data/futures/um/daily/aggTrades/",
    "data/futures/um/daily/indexPriceKlines/",
    "data/futures/um/daily/klines/",
    "data/futures/um/daily/markPriceKlines/",
    "data/futures/um/daily/premiumIndexKlines/",
    "data/futures/um/daily/trades/",
  ]);
  assert.deepEqual(await prefixes("data/spot/daily/"), [
    "data/spot/daily/aggTrades/",
    "data/spot/daily/klines/",
    "data/spot/daily/trades/",
  ]);
  assert.deepEqual(await prefixes("data/futures/cm/daily/indexPriceKlines/"), [
    "data/futures/cm/daily/indexPriceKlines/BTCUSD/",
    "data/futures/cm/daily/indexPriceKlines/ETHUSD/",
  ]);
  assert.deepEqual(await prefixes("data/futures/cm/monthly/markPriceKlines/"), [
    "data/futures/cm/monthly/markPriceKlines/BTCUSD_PERP/",
    "data/futures/cm/monthly/markPriceKlines/ETHUSD_PERP/",
  ]);
  const prefix = "data/futures/um/monthly/markPriceKlines/BTCUSDT/1d/";
  const { text } = await get(emu.url, `/?delimiter=/&prefix=${prefix}`);
  const keys = [...text.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]);
  assert.equal(keys[0], `${prefix}BTCUSDT-1d-2019-12.zip`);
  assert.equal(keys[1], `${prefix}BTCUSDT-1d-2019-12.zip.CHECKSUM`);
  assert.equal(keys.at(-1), `${prefix}BTCUSDT-1d-2026-10.zip.CHECKSUM`);
  const zip = await getBytes(emu.url, `/${keys[0]}`);
  const checksum = (await get(emu.url, `/${keys[1]}`)).text;
  assert.equal(checksum, `${await sha256Hex(zip)}  BTCUSDT-1d-2019-12.zip\n`);
  assert.equal(unzipText(zip).name, "BTCUSDT-1d-2019-12.csv");
  // the month file starts at the Vision start, 2019-12-31, as the klines do
  assert.equal(unzipText(zip).text.split("\n").length - 1, 1);
});

Deno.test("price klines go through the faults: missing, mismatched, partial, lagging files and REST errors", async () => {
  const missing = key("um", "daily", "markPriceKlines", "BTCUSDT", "1h", "2024-01-01");
  const mismatch = key("cm", "monthly", "indexPriceKlines", "BTCUSD", "1h", "2024-01");
  const partial = key("um", "daily", "premiumIndexKlines", "ETHUSDT", "1m", "2024-01-01");
  await using emu = await startEmulator({
    now: NOW,
    missingFiles: [missing],
    checksumMismatch: [mismatch],
    partialFiles: [partial],
    publicationLagDays: 3,
  });
  assert.equal((await get(emu.url, `/${missing}`)).status, 404);
  const listed = await get(
    emu.url,
    `/?prefix=${missing.slice(0, missing.lastIndexOf("/") + 1)}BTCUSDT-1h-2024-01-0`,
  );
  assert.ok(!listed.text.includes(`<Key>${missing}</Key>`));
  assert.ok(listed.text.includes("BTCUSDT-1h-2024-01-02.zip"));
  const zip = await getBytes(emu.url, `/${mismatch}`);
  const sum = (await get(emu.url, `/${mismatch}.CHECKSUM`)).text.slice(0, 64);
  assert.notEqual(sum, await sha256Hex(zip));
  const rows = (await visionLines(emu.url, partial)).length - 1;
  assert.ok(rows > 0 && rows < 1440, String(rows));
  assert.deepEqual(emu.stats.faults, {
    errors: 0,
    resets: 0,
    truncations: 0,
    mismatches: 1,
    partial: 1,
  });
  // lag 3: 2026-11-24 and -22 are not out yet, 2026-11-21 is
  const lagged = (date: string) =>
    get(emu.url, `/${key("um", "daily", "indexPriceKlines", "BTCUSDT", "1d", date)}`);
  assert.equal((await lagged("2026-11-22")).status, 404);
  assert.equal((await lagged("2026-11-21")).status, 200);
  await using failing = await startEmulator({ now: NOW, errorRate: 1 });
  const rest = await get(failing.url, "/dapi/v1/premiumIndexKlines?symbol=BTCUSD_PERP&interval=1h");
  assert.ok(rest.status >= 500);
  assert.equal(JSON.parse(rest.text).code, -1001);
  await using cutting = await startEmulator({ now: NOW, truncateRate: 1 });
  const cut = await get(cutting.url, "/fapi/v1/markPriceKlines?symbol=BTCUSDT&interval=1h");
  assert.throws(() => JSON.parse(cut.text), SyntaxError);
});
