import assert from "node:assert/strict";
import { join } from "node:path";
import { FsKlineStore } from "../../src/cache/fs_kline_store.ts";
import { symbolFolder, symbolOfFolder } from "../../src/cache/_kline_paths.ts";
import { NullKlineStore } from "../../src/cache/null_kline_store.ts";
import {
  InvalidIntervalError,
  InvalidMarketError,
  InvalidSymbolError,
  InvalidTimeError,
} from "../../src/core/errors.ts";
import { day, keyOf, LATER, tempDir } from "./_fixtures.ts";
import type { PartitionKey } from "../../src/cache/kline_store.ts";

const REST = { source: "REST", complete: true } as const;

const ESCAPES: [Partial<PartitionKey>, new (...args: never[]) => Error][] = [
  [{ symbol: "../../../../etc" }, InvalidSymbolError],
  [{ symbol: "..%2F..%2Fx" }, InvalidSymbolError],
  [{ symbol: "BTC/USDT" }, InvalidSymbolError],
  [{ symbol: "BTC\\USDT" }, InvalidSymbolError],
  [{ symbol: "btcusdt" }, InvalidSymbolError],
  [{ symbol: "" }, InvalidSymbolError],
  [{ symbol: "A".repeat(31) }, InvalidSymbolError],
  [{ symbol: "BTCUSDT\0" }, InvalidSymbolError],
  [{ symbol: "BTCUSD_PERP" }, InvalidSymbolError], // not a spot symbol
  [{ symbol: "%2e%2e" }, InvalidSymbolError],
  [{ symbol: "%E5%B8%81USDT" }, InvalidSymbolError], // a folder name is not a symbol
  [{ symbol: "a/b" }, InvalidSymbolError],
  [{ symbol: "a\\b" }, InvalidSymbolError],
  [{ symbol: "币安/../USDT" }, InvalidSymbolError],
  [{ symbol: "币安人生usdt" }, InvalidSymbolError], // not canonical (ASCII lower case)
  [{ symbol: "A\u0308BCUSDT" }, InvalidSymbolError], // not canonical (NFD)
  [{ symbol: "币安\u202eUSDT" }, InvalidSymbolError],
  [{ symbol: "btcuſdt" }, InvalidSymbolError],
  [{ interval: "../1m" as never }, InvalidIntervalError],
  [{ interval: "1mo" as never }, InvalidIntervalError],
  [{ interval: "2m" as never }, InvalidIntervalError],
  [{ market: "../spot" as never }, InvalidMarketError],
  [{ market: "futures_usdt" as never }, InvalidMarketError],
  [{ partition: "../../2024-01-01" }, InvalidTimeError],
  [{ partition: "2024-01-01/../../x" }, InvalidTimeError],
  [{ partition: "2024-02-30" }, InvalidTimeError],
  [{ partition: "2024-13" }, InvalidTimeError],
  [{ partition: "2024-01" }, InvalidTimeError], // 1m is partitioned by day
  [{ partition: "24-01-01" }, InvalidTimeError],
];

Deno.test("FsKlineStore rejects keys that could escape the root, before any I/O", async () => {
  await using dir = await tempDir();
  const store = new FsKlineStore(join(dir.path, "root"), { now: LATER });
  for (const [bad, type] of ESCAPES) {
    const key = keyOf("2024-01-01", bad);
    const label = JSON.stringify(bad);
    await assert.rejects(store.read(key), type, label);
    await assert.rejects(store.write(key, [day("2024-01-01")], REST), type, label);
    await assert.rejects(store.info(key), type, label);
    await assert.rejects(new NullKlineStore().read(key), type, label);
    if (bad.partition !== undefined) continue; // a series has no partition
    await assert.rejects(store.partitions(key), type, label);
    await assert.rejects(new NullKlineStore().partitions(key), type, label);
  }
  await assert.rejects(store.read(null as never), TypeError);
  // nothing was created, inside or outside the root
  assert.deepEqual([...Deno.readDirSync(dir.path)], []);
});

Deno.test("FsKlineStore rejects filters that could escape the root", async () => {
  await using dir = await tempDir();
  const store = new FsKlineStore(dir.path, { now: LATER });
  await assert.rejects(store.list({ symbol: "../.." }), InvalidSymbolError);
  await assert.rejects(store.clear({ interval: ".." as never }), InvalidIntervalError);
  await assert.rejects(store.stats({ market: "../" as never }), InvalidMarketError);
  await assert.rejects(store.verify({ filter: { start: "yesterday" } }), InvalidTimeError);
});

Deno.test("FsKlineStore accepts every market's symbol forms and intervals", async () => {
  await using dir = await tempDir();
  const store = new FsKlineStore(dir.path, { now: LATER });
  const keys: PartitionKey[] = [
    keyOf("2024-01-01", { market: "cm", symbol: "BTCUSD_PERP" }),
    keyOf("2024-01-01", { market: "um", symbol: "BTCUSDT_250627" }),
    keyOf("2024-01-01", { market: "spot", symbol: "1000SATSUSDT" }),
  ];
  for (const key of keys) assert.equal(await store.write(key, [day("2024-01-01")], REST), true);
  assert.deepEqual((await store.list()).map((e) => e.key.symbol).sort(), [
    "1000SATSUSDT",
    "BTCUSDT_250627",
    "BTCUSD_PERP",
  ]);
  await assert.rejects(
    store.read(keyOf("2024-01-01", { market: "um", interval: "1s" })),
    /only available on spot/,
  );
});

const CN = "币安人生USDT";
const CN_FOLDER = "%E5%B8%81%E5%AE%89%E4%BA%BA%E7%94%9FUSDT";

Deno.test("symbolFolder keeps ASCII symbols and percent-encodes the rest reversibly", () => {
  for (const symbol of ["BTCUSDT", "BTCUSD_PERP", "1000SATSUSDT", "A-B", "CONUSDT", "COM10"]) {
    assert.equal(symbolFolder(symbol), symbol); // existing caches stay valid
    assert.equal(symbolOfFolder(symbol), symbol);
  }
  assert.equal(symbolFolder(CN), CN_FOLDER);
  const symbols = [CN, "这是测试币456", "ÄBCUSDT", "ΑΒΓUSDT", "币".repeat(28), "٣USDT", "𠀀USDT"];
  for (const symbol of symbols) {
    const folder = symbolFolder(symbol);
    assert.match(folder, /^(?:[A-Z0-9_-]|%[0-9A-F]{2})+$/, symbol); // ASCII, upper case
    assert.ok(folder.length <= 255, symbol);
    assert.equal(folder.normalize("NFD"), folder);
    assert.equal(symbolOfFolder(folder), symbol);
  }
  // distinct under case folding (and NFD), which every common file system does at most
  const folders = [...symbols, "BTCUSDT", "CON", "ÅUSDT", "AUSDT"].map(symbolFolder);
  const folded = new Set(folders.map((f) => f.toLowerCase().normalize("NFD")));
  assert.equal(folded.size, folders.length);
});

Deno.test("symbolFolder encodes Windows device names", () => {
  const devices = ["CON", "PRN", "AUX", "NUL", "COM1", "COM9", "LPT1", "LPT9", "COM0", "LPT0"];
  for (const symbol of devices) {
    const folder = symbolFolder(symbol);
    assert.notEqual(folder, symbol);
    assert.match(folder, /^(%[0-9A-F]{2})+$/);
    assert.equal(symbolOfFolder(folder), symbol);
    assert.equal(symbolOfFolder(symbol), undefined); // never stored under its own name
  }
  assert.equal(symbolFolder("CON"), "%43%4F%4E");
});

Deno.test("symbolOfFolder refuses names that are not a symbol's one encoding", () => {
  const foreign = [
    "..",
    ".",
    "%2e%2e",
    "%2E%2E",
    "a/b",
    "a\\b",
    "%2F",
    "A%2FB",
    "%5C",
    "%00",
    "btcusdt", // lower case
    "%42TCUSDT", // BTCUSDT's folder is BTCUSDT
    CN_FOLDER.toLowerCase().replace("usdt", "USDT"), // lower-case hex
    "%E5%B8", // not UTF-8
    "%E5%B8%81USDT%",
    CN, // the plain name: not how it is stored
    "%C3%A4BCUSDT", // "äBCUSDT": not a valid symbol
    "%E2%80%AEUSDT", // right-to-left override
    "%41%CC%88BC", // NFD
    "",
    "BTCUSDT.tmp",
  ];
  for (const name of foreign) assert.equal(symbolOfFolder(name), undefined, name);
});

Deno.test("FsKlineStore stores a non-ASCII symbol in an encoded folder and lists it decoded", async () => {
  await using dir = await tempDir();
  const store = new FsKlineStore(dir.path, { now: LATER });
  const key = keyOf("2024-01-01", { symbol: CN });
  assert.equal(await store.write(key, [day("2024-01-01")], REST), true);
  const klines = join(dir.path, "v1", "binance", "spot", "klines");
  assert.deepEqual([...Deno.readDirSync(klines)].map((e) => e.name), [CN_FOLDER]);
  const read = await store.read(key);
  assert.equal(read?.metadata.rows, 1440);
  assert.equal(read?.metadata.symbol, CN);
  const [entry] = await store.list();
  assert.equal(entry.key.symbol, CN);
  assert.ok(entry.path.includes(`${CN_FOLDER}`));
  assert.deepEqual((await store.list({ symbol: CN })).length, 1);
  assert.equal((await store.stats()).series[0].symbol, CN);
  assert.equal((await store.verify()).ok, 1);
  // a stray folder next to it is ignored, like any foreign folder
  Deno.mkdirSync(join(klines, "%2e%2e", "1m"), { recursive: true });
  Deno.copyFileSync(entry.path, join(klines, "%2e%2e", "1m", "2024-01-01.arrow"));
  Deno.mkdirSync(join(klines, CN, "1m"), { recursive: true });
  Deno.copyFileSync(entry.path, join(klines, CN, "1m", "2024-01-01.arrow"));
  assert.deepEqual((await store.list()).map((e) => e.key.symbol), [CN]);
  assert.equal(await store.clear({ symbol: CN }), 1);
  assert.deepEqual((await store.list()).length, 0);
  assert.ok(Deno.statSync(join(klines, CN)).isDirectory); // not ours: left alone
});
