import assert from "node:assert/strict";
import { startEmulator } from "../../src/emulator/emulator.ts";
import { VISION_HEADER } from "../../src/emulator/vision_files.ts";
import { get, getBytes, NOW, sha256Hex, unzipText, visionKey, visionLines } from "./_helpers.ts";

const ROW =
  /^(\d+),([\d.]+),([\d.]+),([\d.]+),([\d.]+),([\d.]+),(\d+),([\d.]+),(\d+),([\d.]+),([\d.]+),0$/;

Deno.test("Vision spot 2023 file: no header, 13-digit ms, 8 decimals, close_time = open + 59999", async () => {
  await using emu = await startEmulator({ now: NOW });
  const lines = await visionLines(
    emu.url,
    visionKey("spot", "daily", "BTCUSDT", "1m", "2023-01-01"),
  );
  assert.equal(lines.length, 1440);
  const m = ROW.exec(lines[0])!;
  assert.ok(m, lines[0]);
  assert.equal(m[1], "1672531200000");
  assert.equal(m[7], "1672531259999");
  for (const i of [2, 3, 4, 5, 6, 8, 10, 11]) assert.match(m[i], /^\d+\.\d{8}$/);
  assert.equal(lines[0].split(",").length, 12);
  assert.equal(lines[1439].split(",")[0], "1672617540000");
});

Deno.test("Vision spot 2025 file: µs timestamps (16 digits), close_time = open + 60 s - 1 µs", async () => {
  await using emu = await startEmulator({ now: NOW });
  const lines = await visionLines(
    emu.url,
    visionKey("spot", "daily", "BTCUSDT", "1m", "2025-01-01"),
  );
  const f = lines[0].split(",");
  assert.equal(f[0], "1735689600000000");
  assert.equal(f[6], "1735689659999999");
  const monthly = await visionLines(
    emu.url,
    visionKey("spot", "monthly", "BTCUSDT", "1d", "2025-01"),
  );
  assert.equal(monthly.length, 31);
  assert.equal(monthly[0].split(",")[6], "1735775999999999");
  const old = await visionLines(emu.url, visionKey("spot", "monthly", "BTCUSDT", "1d", "2024-12"));
  assert.equal(old[0].split(",")[0].length, 13);
});

Deno.test("Vision um file: header from 2022-07-01, prices 2 decimals, volume 3, quote 5", async () => {
  await using emu = await startEmulator({ now: NOW });
  const before = await visionLines(
    emu.url,
    visionKey("futures/um", "daily", "BTCUSDT", "1h", "2022-06-30"),
  );
  assert.equal(before.length, 24);
  assert.match(before[0], /^1656547200000,/);
  const after = await visionLines(
    emu.url,
    visionKey("futures/um", "daily", "BTCUSDT", "1h", "2022-07-01"),
  );
  assert.equal(after.length, 25);
  assert.equal(after[0], VISION_HEADER);
  assert.equal(
    after[0],
    "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore",
  );
  const f = after[1].split(",");
  assert.equal(f[0], "1656633600000");
  assert.equal(f[6], "1656637199999");
  for (const i of [1, 2, 3, 4]) assert.match(f[i], /^\d+\.\d{2}$/);
  assert.match(f[5], /^\d+\.\d{3}$/);
  assert.match(f[7], /^\d+\.\d{5}$/);
  assert.match(f[9], /^\d+\.\d{3}$/);
  assert.match(f[10], /^\d+\.\d{5}$/);
  const monthly = await visionLines(
    emu.url,
    visionKey("futures/um", "monthly", "BTCUSDT", "1d", "2022-06"),
  );
  assert.notEqual(monthly[0], VISION_HEADER);
});

Deno.test("Vision cm file: header from 2020-09-01, 1-decimal prices, integer contracts, 8-decimal base quote volume", async () => {
  await using emu = await startEmulator({ now: NOW });
  const aug = await visionLines(
    emu.url,
    visionKey("futures/cm", "daily", "BTCUSD_PERP", "1m", "2020-08-31"),
  );
  assert.equal(aug.length, 1440);
  const sep = await visionLines(
    emu.url,
    visionKey("futures/cm", "daily", "BTCUSD_PERP", "1m", "2020-09-01"),
  );
  assert.equal(sep.length, 1441);
  assert.equal(sep[0], VISION_HEADER);
  const f = (await visionLines(
    emu.url,
    visionKey("futures/cm", "daily", "BTCUSD_PERP", "1m", "2025-01-01"),
  ))[1]
    .split(",");
  assert.equal(f[0], "1735689600000");
  assert.equal(f[6], "1735689659999");
  for (const i of [1, 2, 3, 4]) assert.match(f[i], /^\d+\.\d$/);
  assert.match(f[5], /^\d+$/);
  assert.match(f[9], /^\d+$/);
  assert.match(f[7], /^\d+\.\d{8}$/);
  // quote volume in BASE: contracts * 100 USD / price, a small number of BTC
  const base = Number(f[7]);
  assert.ok(
    base > Number(f[5]) * 100 / Number(f[2]) * 0.99 &&
      base < Number(f[5]) * 100 / Number(f[3]) * 1.01,
  );
});

Deno.test("Vision file text ends with exactly one newline and uses LF only", async () => {
  await using emu = await startEmulator({ now: NOW });
  const { text, name } = unzipText(
    await getBytes(emu.url, `/${visionKey("spot", "daily", "ETHUSDT", "1h", "2024-02-29")}`),
  );
  assert.equal(name, "ETHUSDT-1h-2024-02-29.csv");
  assert.ok(text.endsWith("0\n") && !text.endsWith("\n\n") && !text.includes("\r"));
});

Deno.test("CHECKSUM is '<sha256>  <zip name>\\n' and matches the zip; option without newline", async () => {
  await using emu = await startEmulator({ now: NOW });
  const key = visionKey("spot", "daily", "BTCUSDT", "1m", "2025-04-11");
  const zip = await getBytes(emu.url, `/${key}`);
  const { status, text } = await get(emu.url, `/${key}.CHECKSUM`);
  assert.equal(status, 200);
  assert.equal(text, `${await sha256Hex(zip)}  BTCUSDT-1m-2025-04-11.zip\n`);
  assert.match(text, /^[0-9a-f]{64} {2}BTCUSDT-1m-2025-04-11\.zip\n$/);
  await using bare = await startEmulator({ now: NOW, checksumNewline: false });
  const other = await get(bare.url, `/${key}.CHECKSUM`);
  assert.equal(other.text, text.trimEnd());
});

Deno.test("zips carry sizes in the local header by default, in a data descriptor on option", async () => {
  const key = `/${visionKey("futures/um", "daily", "BTCUSDT", "1h", "2024-01-01")}`;
  await using plain = await startEmulator({ now: NOW });
  await using dd = await startEmulator({ now: NOW, dataDescriptor: true });
  const a = await getBytes(plain.url, key);
  const b = await getBytes(dd.url, key);
  const flags = (z: Uint8Array) => new DataView(z.buffer).getUint16(6, true);
  assert.equal(flags(a) & 8, 0);
  assert.equal(flags(b) & 8, 8);
  assert.equal(new DataView(b.buffer).getUint32(18, true), 0);
  assert.notEqual(new DataView(a.buffer).getUint32(18, true), 0);
  assert.equal(unzipText(a).text, unzipText(b).text);
});

Deno.test("Vision 404s: unknown symbol, bad interval, today, before listing, after delisting, 3d daily", async () => {
  await using emu = await startEmulator({ now: NOW });
  const missing = [
    visionKey("spot", "daily", "NOPEUSDT", "1m", "2024-01-01"),
    visionKey("futures/um", "daily", "BTCUSDT", "1s", "2024-01-01"),
    visionKey("spot", "daily", "BTCUSDT", "1m", "2026-11-25"),
    visionKey("spot", "monthly", "BTCUSDT", "1m", "2026-11"),
    visionKey("spot", "daily", "BTCUSDT", "1m", "2017-08-16"),
    visionKey("spot", "daily", "NEWUSDT", "1m", "2024-03-14"),
    visionKey("spot", "daily", "OLDUSDT", "1m", "2022-07-01"),
    visionKey("spot", "daily", "BTCUSDT", "3d", "2024-01-01"),
    visionKey("futures/cm", "daily", "BTCUSDT", "1m", "2024-01-01"),
    "data/spot/daily/klines/BTCUSDT/1m/BTCUSDT-1m-2024-02-30.zip",
    "data/spot/daily/klines/BTCUSDT/1M/BTCUSDT-1M-2024-02.zip",
    "data/spot/monthly/klines/BTCUSDT/1M/BTCUSDT-1M-2024-02.zip",
    "data/spot/daily/klines/BTCUSDT/1m/BTCUSDT-1h-2024-01-01.zip",
  ];
  for (const key of missing) {
    const { status, text } = await get(emu.url, `/${key}`);
    assert.equal(status, 404, key);
    assert.match(text, /<Code>NoSuchKey<\/Code>/);
  }
  assert.equal((await get(emu.url, "/data/spot/%E0%A4%A.zip")).status, 400);
  const yesterday = await get(
    emu.url,
    `/${visionKey("spot", "daily", "BTCUSDT", "1h", "2026-11-24")}`,
  );
  assert.equal(yesterday.status, 200);
  const lastMonth = await fetch(
    `${emu.url}/${visionKey("spot", "monthly", "BTCUSDT", "1mo", "2026-10")}`,
  );
  assert.equal(lastMonth.status, 200);
  assert.equal(unzipText(new Uint8Array(await lastMonth.arrayBuffer())).text.split("\n").length, 2);
});

Deno.test("listing day and delisting day files hold only the traded part of the day", async () => {
  await using emu = await startEmulator({ now: NOW });
  const first = await visionLines(
    emu.url,
    visionKey("spot", "daily", "NEWUSDT", "1h", "2024-03-15"),
  );
  assert.equal(first.length, 12);
  assert.equal(first[0].split(",")[0], String(Date.UTC(2024, 2, 15, 12)));
  const last = await visionLines(
    emu.url,
    visionKey("spot", "daily", "OLDUSDT", "1h", "2022-06-30"),
  );
  assert.equal(last.length, 12);
  assert.equal(last.at(-1)!.split(",")[0], String(Date.UTC(2022, 5, 30, 11)));
  const btc = await visionLines(emu.url, visionKey("spot", "daily", "BTCUSDT", "1h", "2017-08-17"));
  assert.equal(btc.length, 20);
});

Deno.test("publication lag: the newest N days and the month just ended are not published", async () => {
  await using emu = await startEmulator({ now: Date.UTC(2026, 11, 2, 9), publicationLagDays: 2 });
  const day = (d: string) => get(emu.url, `/${visionKey("spot", "daily", "BTCUSDT", "1d", d)}`);
  assert.equal((await day("2026-11-29")).status, 200);
  assert.equal((await day("2026-11-30")).status, 404);
  assert.equal((await day("2026-12-01")).status, 404);
  const nov = await get(emu.url, `/${visionKey("spot", "monthly", "BTCUSDT", "1d", "2026-11")}`);
  assert.equal(nov.status, 404);
  await using later = await startEmulator({ now: Date.UTC(2026, 11, 3, 0), publicationLagDays: 2 });
  const nov2 = await get(later.url, `/${visionKey("spot", "monthly", "BTCUSDT", "1d", "2026-11")}`);
  assert.equal(nov2.status, 200);
});

Deno.test("Vision, S3 listing and REST serve a non-ASCII spot symbol under percent-encoded names", async () => {
  await using emu = await startEmulator({ now: NOW });
  const symbol = "币安人生USDT";
  const enc = encodeURIComponent(symbol);
  const key = visionKey("spot", "daily", symbol, "1h", "2025-12-01");
  const zip = await getBytes(emu.url, `/${key.split("/").map(encodeURIComponent).join("/")}`);
  const entry = unzipText(zip);
  assert.equal(entry.name, `${symbol}-1h-2025-12-01.csv`);
  assert.equal(entry.flags & 0x800, 0x800); // the entry name is flagged UTF-8
  assert.equal(entry.text.split("\n").length, 25);
  const sum = await get(
    emu.url,
    `/data/spot/daily/klines/${enc}/1h/${enc}-1h-2025-12-01.zip.CHECKSUM`,
  );
  assert.equal(sum.text, `${await sha256Hex(zip)}  ${symbol}-1h-2025-12-01.zip\n`);
  // the listing takes the prefix percent-encoded and answers keys as UTF-8 text
  const listing = await get(
    emu.url,
    `/?delimiter=/&prefix=${encodeURIComponent(`data/spot/monthly/klines/${symbol}/1h/`)}`,
  );
  const keys = [...listing.text.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]);
  assert.equal(keys[0], `data/spot/monthly/klines/${symbol}/1h/${symbol}-1h-2025-10.zip`);
  const symbols = await get(emu.url, `/?delimiter=/&prefix=data/spot/daily/klines/`);
  assert.match(symbols.text, new RegExp(`<Prefix>data/spot/daily/klines/${symbol}/</Prefix>`));
  // REST decodes the query; rows start at the listing
  const rest = await get(
    emu.url,
    `/api/v3/klines?symbol=${enc}&interval=1d&startTime=${Date.UTC(2025, 8, 29)}&limit=3`,
  );
  assert.equal(rest.status, 200, rest.text);
  assert.deepEqual(JSON.parse(rest.text).map((k: unknown[]) => k[0]), [
    Date.UTC(2025, 9, 1),
    Date.UTC(2025, 9, 2),
    Date.UTC(2025, 9, 3),
  ]);
  // a lowercase ASCII part or an unknown non-ASCII symbol stays an error, as for ASCII symbols
  const lower = await get(
    emu.url,
    `/api/v3/klines?symbol=${encodeURIComponent("币安人生usdt")}&interval=1d`,
  );
  assert.equal(JSON.parse(lower.text).code, -1100);
  const unknown = await get(
    emu.url,
    `/api/v3/klines?symbol=${encodeURIComponent("币安USDT")}&interval=1d`,
  );
  assert.equal(JSON.parse(unknown.text).code, -1121);
});
