import assert from "node:assert/strict";
import { startEmulator } from "../../src/emulator/emulator.ts";
import { FUNDING_ARCHIVE_HEADER } from "../../src/emulator/funding_archive_csv.ts";
import { FUNDING_SCHEDULE } from "../../src/emulator/funding_schedule.ts";
import { FUNDING_MARK_PRICE_FROM, fundingTruth } from "../../src/emulator/funding_truth.ts";
import { MarketData } from "../../src/emulator/market_data.ts";
import { get, getBytes, NOW, sha256Hex, unzipText, visionLines } from "./_helpers.ts";

type Row = { symbol: string; fundingRate: string; fundingTime: number; markPrice: string };
const FUTURES = { um: "futures/um", cm: "futures/cm" } as const;
const API = { um: "/fapi/v1", cm: "/dapi/v1" } as const;
const HOUR = 3_600_000;

function key(market: "um" | "cm", symbol: string, month: string): string {
  return `data/${FUTURES[market]}/monthly/fundingRate/${symbol}/${symbol}-fundingRate-${month}.zip`;
}

async function rest(base: string, market: "um" | "cm", query: string): Promise<Row[]> {
  const { status, text } = await get(base, `${API[market]}/fundingRate?${query}`);
  assert.equal(status, 200, text);
  return JSON.parse(text);
}

async function restRange(
  base: string,
  market: "um" | "cm",
  symbol: string,
  start: number,
  end: number,
): Promise<Row[]> {
  const rows: Row[] = [];
  for (let from = start;;) {
    const page = await rest(
      base,
      market,
      `symbol=${symbol}&startTime=${from}&endTime=${end - 1}&limit=1000`,
    );
    rows.push(...page);
    if (page.length < 1000) return rows;
    from = page.at(-1)!.fundingTime + 1;
  }
}

async function error(base: string, path: string): Promise<{ status: number; code: number }> {
  const { status, text } = await get(base, path);
  return { status, code: JSON.parse(text).code };
}

const CASES: ["um" | "cm", string, string, number][] = [
  ["um", "BTCUSDT", "2024-01", 93],
  ["um", "ETHUSDT", "2024-06", 14 * 3 + 16 * 6],
  ["um", "NEWUSDT", "2025-02", 28 * 24],
  ["cm", "BTCUSD_PERP", "2021-04", 90],
  ["cm", "ETHUSD_PERP", "2023-09", 90],
];

for (const [market, symbol, month, count] of CASES) {
  Deno.test(`same funding events in the monthly archive, REST and fundingTruth: ${market} ${symbol} ${month}`, async () => {
    await using emu = await startEmulator({ now: NOW, seed: 3 });
    const start = Date.parse(`${month}-01T00:00:00Z`);
    const end = Date.UTC(new Date(start).getUTCFullYear(), new Date(start).getUTCMonth() + 1);
    const lines = await visionLines(emu.url, key(market, symbol, month));
    assert.equal(lines[0], FUNDING_ARCHIVE_HEADER);
    const vision = lines.slice(1).map((l) => l.split(","));
    const rows = await restRange(emu.url, market, symbol, start, end);
    const truth = fundingTruth(new MarketData({ seed: 3 }), { market, symbol, start, end });
    assert.equal(truth.length, count);
    assert.deepEqual(
      vision,
      truth.map((e) => [String(e.fundingTime), String(e.fundingIntervalHours), e.fundingRateText]),
    );
    assert.deepEqual(
      rows,
      truth.map((e) => ({
        symbol,
        fundingRate: e.fundingRateText,
        fundingTime: e.fundingTime,
        markPrice: e.markPriceText ?? "",
      })),
    );
  });
}

Deno.test("funding formats: calc_time jitter of 0-2 ms after the hour, 8-decimal rates, markPrice empty in old rows", async () => {
  await using emu = await startEmulator({ now: NOW });
  const lines = (await visionLines(emu.url, key("um", "BTCUSDT", "2023-08"))).slice(1);
  assert.equal(lines.length, 93);
  const jitters = new Set<number>();
  for (const line of lines) {
    const [time, hours, rate] = line.split(",");
    assert.match(time, /^\d{13}$/);
    assert.equal(Number(time) % (8 * HOUR) <= 2, true, time);
    jitters.add(Number(time) % HOUR);
    assert.equal(hours, "8");
    assert.match(rate, /^-?0\.\d{8}$/);
  }
  assert.deepEqual([...jitters].sort(), [0, 1, 2]);
  const rates = lines.map((l) => l.split(",")[2]);
  assert.ok(rates.filter((r) => r === "0.00010000").length > 40);
  // other rates occur too, negative ones among them (over the whole history)
  const all = fundingTruth(new MarketData(), {
    market: "um",
    symbol: "BTCUSDT",
    start: 0,
    end: NOW,
  });
  assert.ok(all.some((e) => e.fundingRate < 0));
  assert.ok(all.some((e) => e.fundingRate > 0.0001));
  // REST: markPrice "" before 2023-09-01, the mark price after
  const around = await rest(
    emu.url,
    "um",
    `symbol=BTCUSDT&startTime=${FUNDING_MARK_PRICE_FROM - 24 * HOUR}&limit=6`,
  );
  assert.deepEqual(around.map((r) => r.markPrice === ""), [true, true, true, false, false, false]);
  const after = around[3];
  assert.match(after.markPrice, /^\d+\.\d{8}$/);
  assert.equal(FUNDING_MARK_PRICE_FROM, Date.UTC(2023, 8, 1));
  // the mark price is the close of the 1m mark price candle ending at the funding hour
  const hour = after.fundingTime - (after.fundingTime % HOUR);
  const [candle] = JSON.parse(
    (await get(
      emu.url,
      `/fapi/v1/markPriceKlines?symbol=BTCUSDT&interval=1m&startTime=${hour - 60_000}&limit=1`,
    )).text,
  );
  assert.equal(after.markPrice, candle[4]);
});

Deno.test("funding interval: um ETHUSDT goes from 8 h to 4 h on 2024-06-15, NEWUSDT from 4 h to 1 h on 2025-02-01", async () => {
  assert.deepEqual(
    FUNDING_SCHEDULE.filter((e) => e.symbol === "ETHUSDT").map((e) => [e.from, e.hours]),
    [[Date.UTC(2024, 5, 15), 4]],
  );
  await using emu = await startEmulator({ now: NOW });
  const june = (await visionLines(emu.url, key("um", "ETHUSDT", "2024-06"))).slice(1)
    .map((l) => l.split(",").map(Number));
  const change = Date.UTC(2024, 5, 15);
  for (const [time, hours] of june) assert.equal(hours, time < change ? 8 : 4);
  const hours = june.map(([t]) => new Date(t).toISOString().slice(0, 13));
  const at = hours.indexOf("2024-06-15T00");
  assert.deepEqual(hours.slice(at - 2, at + 3), [
    "2024-06-14T08",
    "2024-06-14T16",
    "2024-06-15T00",
    "2024-06-15T04",
    "2024-06-15T08",
  ]);
  // REST has no interval column: the spacing tells it
  const rows = await rest(emu.url, "um", `symbol=ETHUSDT&startTime=${change - 24 * HOUR}&limit=6`);
  const gaps = rows.slice(1).map((r, i) =>
    Math.round((r.fundingTime - rows[i].fundingTime) / HOUR)
  );
  assert.deepEqual(gaps, [8, 8, 8, 4, 4]);
  const feb = (await visionLines(emu.url, key("um", "NEWUSDT", "2025-02"))).slice(1);
  assert.ok(feb.every((l) => l.split(",")[1] === "1"));
  assert.equal(feb[0].split(",")[2], "0.00001250");
  const jan = (await visionLines(emu.url, key("um", "NEWUSDT", "2025-01"))).slice(1);
  assert.equal(jan.length, 31 * 6);
  assert.ok(jan.every((l) => l.split(",")[1] === "4"));
});

Deno.test("funding archives: listed monthly only, for perpetuals, with CHECKSUM; no daily files", async () => {
  await using emu = await startEmulator({ now: NOW });
  const prefixes = async (prefix: string) => {
    const { text } = await get(emu.url, `/?delimiter=/&prefix=${prefix}`);
    return [...text.matchAll(/<Prefix>([^<]*)<\/Prefix><\/CommonPrefixes>/g)].map((m) => m[1]);
  };
  assert.deepEqual(await prefixes("data/futures/um/monthly/"), [
    "data/futures/um/monthly/aggTrades/",
    "data/futures/um/monthly/fundingRate/",
    "data/futures/um/monthly/indexPriceKlines/",
    "data/futures/um/monthly/klines/",
    "data/futures/um/monthly/markPriceKlines/",
    "data/futures/um/monthly/premiumIndexKlines/",
    "data/futures/um/monthly/trades/",
  ]);
  assert.ok(!(await prefixes("data/futures/cm/daily/")).some((p) => p.includes("fundingRate")));
  assert.deepEqual(await prefixes("data/spot/monthly/"), [
    "data/spot/monthly/aggTrades/",
    "data/spot/monthly/klines/",
    "data/spot/monthly/trades/",
  ]);
  assert.deepEqual(await prefixes("data/futures/cm/monthly/fundingRate/"), [
    "data/futures/cm/monthly/fundingRate/BTCUSD_PERP/",
    "data/futures/cm/monthly/fundingRate/ETHUSD_PERP/",
  ]);
  const folder = "data/futures/um/monthly/fundingRate/BTCUSDT/";
  const { text } = await get(emu.url, `/?delimiter=/&prefix=${folder}`);
  const keys = [...text.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]);
  assert.equal(keys[0], `${folder}BTCUSDT-fundingRate-2019-12.zip`);
  assert.equal(keys[1], `${folder}BTCUSDT-fundingRate-2019-12.zip.CHECKSUM`);
  assert.equal(keys.at(-1), `${folder}BTCUSDT-fundingRate-2026-10.zip.CHECKSUM`);
  assert.equal(keys.length, 2 * (12 * 6 + 11));
  const zip = await getBytes(emu.url, `/${keys[0]}`);
  assert.equal(
    (await get(emu.url, `/${keys[1]}`)).text,
    `${await sha256Hex(zip)}  BTCUSDT-fundingRate-2019-12.zip\n`,
  );
  const { name, text: csv } = unzipText(zip);
  assert.equal(name, "BTCUSDT-fundingRate-2019-12.csv");
  // the archive starts at the Vision start (2019-12-31), REST at the listing
  assert.deepEqual(
    csv.split("\n").slice(1, -1).map((l) => new Date(+l.split(",")[0]).getUTCHours()),
    [0, 8, 16],
  );
  const early = await rest(emu.url, "um", `symbol=BTCUSDT&startTime=0&limit=1`);
  assert.equal(early[0].fundingTime - (early[0].fundingTime % HOUR), Date.UTC(2019, 8, 9));
  for (
    const missing of [
      "data/futures/um/daily/fundingRate/BTCUSDT/BTCUSDT-fundingRate-2024-01-01.zip",
      "data/spot/monthly/fundingRate/BTCUSDT/BTCUSDT-fundingRate-2024-01.zip",
      key("um", "BTCUSDT", "2026-11"),
      key("um", "NOPEUSDT", "2024-01"),
      "data/futures/um/monthly/fundingRate/BTCUSDT/BTCUSDT-fundingRate-2024-1.zip",
    ]
  ) assert.equal((await get(emu.url, `/${missing}`)).status, 404, missing);
});

Deno.test("funding REST: limit default 100 and at most 1000, newest without startTime, errors", async () => {
  await using emu = await startEmulator({ now: NOW });
  const start = Date.UTC(2023, 0, 1);
  assert.equal((await rest(emu.url, "um", `symbol=BTCUSDT&startTime=${start}`)).length, 100);
  const max = await rest(emu.url, "cm", `symbol=BTCUSD_PERP&startTime=${start}&limit=1000`);
  assert.equal(max.length, 1000);
  assert.ok(max.every((r, i) => i === 0 || r.fundingTime > max[i - 1].fundingTime));
  assert.equal(max[0].fundingTime - (max[0].fundingTime % HOUR), start);
  for (const limit of ["1001", "0", "x"]) {
    assert.deepEqual(await error(emu.url, `/fapi/v1/fundingRate?symbol=BTCUSDT&limit=${limit}`), {
      status: 400,
      code: -1100,
    });
  }
  // without startTime: the most recent events up to endTime (or now)
  const latest = await rest(emu.url, "um", "symbol=BTCUSDT&limit=3");
  assert.equal(latest.length, 3);
  assert.ok(latest[2].fundingTime <= NOW && NOW - latest[2].fundingTime < 8 * HOUR);
  const before = await rest(emu.url, "um", `symbol=BTCUSDT&endTime=${start}&limit=2`);
  assert.deepEqual(before.map((r) => new Date(r.fundingTime).toISOString().slice(0, 13)), [
    "2022-12-31T08",
    "2022-12-31T16",
  ]);
  // startTime and endTime are inclusive on the printed funding time
  const t = latest[0].fundingTime;
  assert.equal((await rest(emu.url, "um", `symbol=BTCUSDT&startTime=${t}&endTime=${t}`)).length, 1);
  assert.equal(
    (await rest(emu.url, "um", `symbol=BTCUSDT&startTime=${t + 1}&endTime=${t + 1000}`)).length,
    0,
  );
  assert.deepEqual(
    await rest(emu.url, "um", `symbol=BTCUSDT&startTime=0&endTime=${Date.UTC(2019, 0)}`),
    [],
  );
  // fapi without a symbol: every perpetual, merged by time
  const merged = await rest(emu.url, "um", `startTime=${Date.UTC(2024, 5, 15)}&limit=8`);
  assert.ok(merged.every((r, i) => i === 0 || r.fundingTime >= merged[i - 1].fundingTime));
  const byHour = merged.map((r) => `${new Date(r.fundingTime).getUTCHours()} ${r.symbol}`).sort();
  assert.deepEqual(byHour, [
    "0 BTCUSDT",
    "0 ETHUSDT",
    "0 NEWUSDT",
    "4 ETHUSDT",
    "4 NEWUSDT",
    "8 BTCUSDT",
    "8 ETHUSDT",
    "8 NEWUSDT",
  ]);
  assert.deepEqual(await error(emu.url, "/dapi/v1/fundingRate?limit=5"), {
    status: 400,
    code: -1102,
  });
  assert.deepEqual(await error(emu.url, "/fapi/v1/fundingRate?symbol=NOPEUSDT"), {
    status: 400,
    code: -1121,
  });
  assert.deepEqual(await error(emu.url, "/dapi/v1/fundingRate?symbol=btcusd_perp"), {
    status: 400,
    code: -1100,
  });
  assert.deepEqual(
    await error(
      emu.url,
      `/fapi/v1/fundingRate?symbol=BTCUSDT&startTime=${start}&endTime=${start - 1}`,
    ),
    { status: 400, code: -1023 },
  );
  assert.equal((await get(emu.url, "/api/v3/fundingRate?symbol=BTCUSDT")).status, 404);
  // weight 1 a call, errors included (3 dapi calls above)
  const weighted = await get(emu.url, "/dapi/v1/fundingRate?symbol=ETHUSD_PERP&limit=1000");
  assert.equal(weighted.headers.get("x-mbx-used-weight-1m"), "4");
});

Deno.test("fapi fundingRate: 500 requests per 5 minutes, then 429 with Retry-After, then 418; dapi unaffected", async () => {
  let clock = Date.UTC(2026, 10, 25, 8, 1);
  await using emu = await startEmulator({ now: () => clock, weightBudget: { um: 100_000 } });
  const q = `symbol=BTCUSDT&startTime=${Date.UTC(2026, 0, 1)}&endTime=${
    Date.UTC(2026, 0, 2)
  }&limit=1`;
  for (let i = 1; i <= 500; i++) {
    const res = await get(emu.url, `/fapi/v1/fundingRate?${q}`);
    assert.equal(res.status, 200, `request ${i}`);
    assert.equal(res.headers.get("x-mbx-used-weight-1m"), String(i));
  }
  const refused = await get(emu.url, `/fapi/v1/fundingRate?${q}`);
  assert.equal(refused.status, 429);
  assert.equal(refused.headers.get("retry-after"), "240");
  assert.equal(refused.headers.get("x-mbx-used-weight-1m"), "500");
  assert.equal(JSON.parse(refused.text).code, -1003);
  assert.match(JSON.parse(refused.text).msg, /500 requests per 5 MINUTE/);
  // other fapi endpoints still answer: the limit is the endpoint's own
  assert.equal(
    (await get(emu.url, "/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=1")).status,
    200,
  );
  for (let i = 0; i < 501; i++) {
    assert.equal(
      (await get(emu.url, `/dapi/v1/fundingRate?symbol=BTCUSD_PERP&limit=1`)).status,
      200,
    );
  }
  assert.equal((await get(emu.url, `/fapi/v1/fundingRate?${q}`)).status, 429);
  assert.equal((await get(emu.url, `/fapi/v1/fundingRate?${q}`)).status, 429);
  const banned = await get(emu.url, `/fapi/v1/fundingRate?${q}`);
  assert.equal(banned.status, 418);
  assert.ok(Number(banned.headers.get("retry-after")) > 0);
  clock += 10 * 60_000;
  assert.equal((await get(emu.url, `/fapi/v1/fundingRate?${q}`)).status, 200);
});

Deno.test("funding archives and REST go through the faults", async () => {
  const missing = key("um", "BTCUSDT", "2024-01");
  const mismatch = key("cm", "BTCUSD_PERP", "2024-01");
  await using emu = await startEmulator({
    now: Date.UTC(2024, 2, 4),
    missingFiles: [missing],
    checksumMismatch: [mismatch],
    publicationLagDays: 5,
  });
  assert.equal((await get(emu.url, `/${missing}`)).status, 404);
  const listed = await get(emu.url, "/?prefix=data/futures/um/monthly/fundingRate/BTCUSDT/");
  assert.ok(!listed.text.includes(`<Key>${missing}</Key>`));
  assert.ok(listed.text.includes("BTCUSDT-fundingRate-2023-12.zip"));
  const zip = await getBytes(emu.url, `/${mismatch}`);
  assert.notEqual(
    (await get(emu.url, `/${mismatch}.CHECKSUM`)).text.slice(0, 64),
    await sha256Hex(zip),
  );
  // lag 5: February's archive appears on 2024-03-06
  assert.equal((await get(emu.url, `/${key("um", "ETHUSDT", "2024-02")}`)).status, 404);
  assert.equal((await get(emu.url, `/${key("um", "ETHUSDT", "2024-01")}`)).status, 200);
  assert.equal(emu.stats.faults.mismatches, 1);
  await using failing = await startEmulator({ now: NOW, errorRate: 1 });
  const five = await get(failing.url, "/fapi/v1/fundingRate?symbol=BTCUSDT");
  assert.ok(five.status >= 500);
  assert.equal(JSON.parse(five.text).code, -1001);
  assert.ok((await get(failing.url, `/${key("um", "BTCUSDT", "2024-01")}`)).status >= 500);
  await using cutting = await startEmulator({ now: NOW, truncateRate: 1 });
  const cut = await get(cutting.url, "/dapi/v1/fundingRate?symbol=BTCUSD_PERP");
  assert.throws(() => JSON.parse(cut.text), SyntaxError);
  const res = await fetch(`${cutting.url}/${key("cm", "BTCUSD_PERP", "2024-01")}`);
  const half = new Uint8Array(await res.arrayBuffer());
  assert.throws(() => unzipText(half));
});
