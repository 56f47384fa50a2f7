import assert from "node:assert/strict";
import type { Market } from "../../src/core/market.ts";
import { startEmulator } from "../../src/emulator/emulator.ts";
import type { EmulatorOptions } from "../../src/emulator/emulator_options.ts";
import { klineTruth } from "../../src/emulator/kline_truth.ts";
import { MarketData } from "../../src/emulator/market_data.ts";
import { get, NOW, visionKey, visionLines } from "./_helpers.ts";

const SCALE = 0.002;
const DAY = 86_400_000;
const MINUTE = 60_000;
const OPTIONS: EmulatorOptions = { now: NOW, tradeScale: SCALE, klinesFromTrades: true };
const PATH = { spot: "spot", um: "futures/um", cm: "futures/cm" } as const;

/** One minute rebuilt from aggTrades text: prices as printed, quantities in integer units. */
interface Minute {
  open: string;
  high: string;
  low: string;
  close: string;
  volume: bigint;
  takerVolume: bigint;
  quote: number;
  count: number;
}

/** One aggregate trade: [price, quantity, first id, last id, time ms, buyer is maker]. */
type Agg = [string, string, number, number, number, boolean];

const units = (text: string) => BigInt(text.replace(".", ""));
const ms = (text: string) => (text.length === 16 ? Math.floor(Number(text) / 1000) : Number(text));

function fromCsv(lines: string[]): Agg[] {
  return lines.filter((l) => /^\d/.test(l)).map((l) => {
    const c = l.split(",");
    return [c[1], c[2], Number(c[3]), Number(c[4]), ms(c[5]), c[6].toLowerCase() === "true"];
  });
}

function fromRest(rows: Record<string, string | number | boolean>[]): Agg[] {
  return rows.map((r) => [
    r.p as string,
    r.q as string,
    r.f as number,
    r.l as number,
    r.T as number,
    r.m as boolean,
  ]);
}

/** The minutes of a run of aggTrades (cm: with its contract size). */
function rebuild(trades: Agg[], contractSize?: number): Map<number, Minute> {
  const minutes = new Map<number, Minute>();
  for (const [price, qty, first, last, time, maker] of trades) {
    const t = Math.floor(time / MINUTE) * MINUTE;
    let m = minutes.get(t);
    if (m === undefined) {
      m = {
        open: price,
        high: price,
        low: price,
        close: price,
        volume: 0n,
        takerVolume: 0n,
        quote: 0,
        count: 0,
      };
      minutes.set(t, m);
    }
    if (Number(price) > Number(m.high)) m.high = price;
    if (Number(price) < Number(m.low)) m.low = price;
    m.close = price;
    m.volume += units(qty);
    if (!maker) m.takerVolume += units(qty);
    // cm: the quote volume is in the base asset
    m.quote += contractSize === undefined
      ? Number(price) * Number(qty)
      : (Number(qty) * contractSize) / Number(price);
    m.count += last - first + 1;
  }
  return minutes;
}

/** A kline row (CSV cells or REST array) against its minute's trades; quiet minutes flat at `previous`. */
function assertKline(row: (string | number)[], minute: Minute | undefined, previous: string) {
  const at = new Date(ms(String(row[0]))).toISOString();
  const [open, high, low, close, volume] = row.slice(1, 6).map(String);
  const [quote, count, takerVolume] = [String(row[7]), Number(row[8]), String(row[9])];
  assert.equal(ms(String(row[6])) - ms(String(row[0])), MINUTE - 1, at);
  if (minute === undefined) {
    assert.deepEqual([open, high, low, close], [previous, previous, previous, previous], at);
    assert.deepEqual([units(volume), units(takerVolume), Number(quote), count], [0n, 0n, 0, 0], at);
    return;
  }
  assert.deepEqual(
    [open, high, low, close, units(volume), count, units(takerVolume)],
    [
      minute.open,
      minute.high,
      minute.low,
      minute.close,
      minute.volume,
      minute.count,
      minute.takerVolume,
    ],
    at,
  );
  assert.ok(Math.abs(Number(quote) - minute.quote) <= 1e-6 * Math.max(1, minute.quote), at);
}

/** Checks every 1m kline of a run against the trades, and returns how many minutes were quiet. */
function assertKlines(
  rows: (string | number)[][],
  trades: Agg[],
  before: string,
  contractSize?: number,
): number {
  const minutes = rebuild(trades, contractSize);
  let previous = before;
  let quiet = 0;
  for (const row of rows) {
    const minute = minutes.get(ms(String(row[0])));
    assertKline(row, minute, previous);
    if (minute === undefined) quiet++;
    else previous = minute.close;
  }
  assert.equal(rows.length > 0, true);
  return quiet;
}

const DAYS: [Market, string, number][] = [
  ["spot", "ETHUSDT", Date.UTC(2025, 1, 3)], // µs times in both files
  ["um", "ETHUSDT", Date.UTC(2024, 5, 3)],
  ["cm", "BTCUSD_PERP", Date.UTC(2024, 5, 3)],
];

for (const [market, symbol, day] of DAYS) {
  const date = new Date(day).toISOString().slice(0, 10);
  Deno.test(`klinesFromTrades: ${market} ${symbol} ${date} Vision 1m klines are the day's aggTrades, quiet minutes flat`, async () => {
    await using emu = await startEmulator(OPTIONS);
    const aggKey = (d: string) =>
      `data/${PATH[market]}/daily/aggTrades/${symbol}/${symbol}-aggTrades-${d}.zip`;
    const yesterday = fromCsv(
      await visionLines(emu.url, aggKey(new Date(day - DAY).toISOString().slice(0, 10))),
    );
    const trades = fromCsv(await visionLines(emu.url, aggKey(date)));
    assert.ok(trades.length > 100);
    const daily = (await visionLines(emu.url, visionKey(PATH[market], "daily", symbol, "1m", date)))
      .filter((l) => /^\d/.test(l));
    assert.equal(daily.length, 1440);
    const size = market === "cm" ? 100 : undefined;
    const rows = daily.map((l) => l.split(","));
    const quiet = assertKlines(rows, trades, yesterday.at(-1)![0], size);
    assert.ok(quiet > 0 && quiet < 1440, `${quiet} quiet minutes`);
    // the monthly archive prints the same rows
    const month = date.slice(0, 7);
    const monthly = await visionLines(
      emu.url,
      visionKey(PATH[market], "monthly", symbol, "1m", month),
    );
    const first = monthly.findIndex((l) => l === daily[0]);
    assert.ok(first >= 0);
    assert.deepEqual(monthly.slice(first, first + 1440), daily);
  });
}

Deno.test("klinesFromTrades: REST 1m klines are REST aggTrades, up to the still-open minute", async () => {
  await using emu = await startEmulator(OPTIONS);
  // the last hour before the clock (08:30:15.250): 60 whole minutes and the open one
  const start = Math.floor(NOW / MINUTE) * MINUTE - 60 * MINUTE;
  const hourBefore = `startTime=${start - 3_599_999}&endTime=${start - 1}`;
  const before = await get(emu.url, `/api/v3/aggTrades?symbol=ETHUSDT&${hourBefore}&limit=1000`);
  const previous = fromRest(JSON.parse(before.text)).at(-1)![0];
  const aggs = await get(
    emu.url,
    `/api/v3/aggTrades?symbol=ETHUSDT&startTime=${start}&limit=1000`, // until the clock
  );
  const trades = fromRest(JSON.parse(aggs.text));
  assert.ok(trades.length > 20 && trades.length < 1000);
  const res = await get(
    emu.url,
    `/api/v3/klines?symbol=ETHUSDT&interval=1m&startTime=${start}&limit=1000`,
  );
  const rows: (string | number)[][] = JSON.parse(res.text);
  assert.equal(rows.length, 61);
  assert.equal(rows.at(-1)![0], Math.floor(NOW / MINUTE) * MINUTE);
  const quiet = assertKlines(rows, trades, previous);
  assert.ok(quiet > 0, "a quiet minute");
  // the ground truth of a market built alike serves the same text
  const data = new MarketData({ klinesFromTrades: true, tradeScale: SCALE });
  const truth = klineTruth(data, {
    market: "spot",
    symbol: "ETHUSDT",
    interval: "1m",
    start,
    end: NOW,
    asOf: NOW,
  });
  assert.deepEqual(
    truth.served.map((k) => [
      k.openTime,
      k.open,
      k.high,
      k.low,
      k.close,
      k.volume,
      k.closeTime,
      k.quoteVolume,
      k.count,
      k.takerBuyVolume,
      k.takerBuyQuoteVolume,
      k.ignore,
    ]),
    rows,
  );
});

Deno.test("klinesFromTrades: the other intervals stay generated", async () => {
  await using emu = await startEmulator(OPTIONS);
  const day = Date.UTC(2024, 5, 3);
  const hours = await get(
    emu.url,
    `/api/v3/klines?symbol=ETHUSDT&interval=1h&startTime=${day}&limit=24`,
  );
  const generated = klineTruth(new MarketData(), {
    market: "spot",
    symbol: "ETHUSDT",
    interval: "1h",
    start: day,
    end: day + DAY,
  });
  assert.deepEqual(
    JSON.parse(hours.text).map((r: unknown[]) => [r[0], r[1], r[5], r[8]]),
    generated.served.map((k) => [k.openTime, k.open, k.volume, k.count]),
  );
});

Deno.test("klinesFromTrades: a bad tradeScale is refused before anything is served", () => {
  assert.throws(() => new MarketData({ klinesFromTrades: true, tradeScale: 0 }), RangeError);
  assert.throws(() => new MarketData({ klinesFromTrades: true, tradeScale: NaN }), RangeError);
});
