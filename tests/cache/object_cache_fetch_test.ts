/**
 * The cache in an object store, at the manager's seam: a `MemoryObjectStore`
 * (through the `objectStore` test option) behind `DataSourceManager`, against
 * the emulated Binance.
 */
import assert from "node:assert/strict";
import {
  DataSourceManager,
  type DataSourceManagerOptions,
} from "../../src/fcp/data_source_manager.ts";
import { startEmulator } from "../../src/emulator/emulator.ts";
import { fundingTruth } from "../../src/emulator/funding_truth.ts";
import { MarketData } from "../../src/emulator/market_data.ts";
import { tradeTruth } from "../../src/emulator/trade_truth.ts";
import { assertRows, groundTruth, sourceCounts } from "../fcp/_ground_truth.ts";
import { FaultyObjectStore } from "./_object_faults.ts";
import { tempDir } from "./_fixtures.ts";

const NOW = Date.UTC(2025, 1, 10, 12, 30);
const START = Date.UTC(2025, 0, 1);
const END = Date.UTC(2025, 0, 11);
const REQUEST = { symbol: "BTCUSDT", interval: "1h", start: START, end: END } as const;
const SERIES = "v1/binance/spot/klines/BTCUSDT/1h/";
const SCALE = 0.002;

async function fetchWith(
  cache: DataSourceManagerOptions["cache"],
  fn: (dsm: DataSourceManager) => Promise<void>,
  logger?: (m: string) => void,
) {
  await using emu = await startEmulator({ latencyMs: 0, now: NOW, tradeScale: SCALE });
  await using dsm = new DataSourceManager({
    cache,
    now: () => NOW,
    logger,
    retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 2 },
    endpoints: { vision: emu.url, listing: emu.url, rest: emu.url },
  });
  await fn(dsm);
}

const truth = () => groundTruth("spot", "BTCUSDT", "1h", START, END);

Deno.test("An object store cache fills on a cold fetch, then serves a warm one from one LIST and a GET per partition", async () => {
  const objects = new FaultyObjectStore();
  await fetchWith({ objectStore: objects }, async (dsm) => {
    const { table, report } = await dsm.getDataWithReport(REQUEST);
    assertRows(table, truth());
    assert.deepEqual(report.failures, []);
  });
  const keys = (await Array.fromAsync(objects.inner.list(SERIES))).map((o) => o.key);
  assert.equal(keys.length, 10);
  objects.calls.length = 0;
  await fetchWith({ objectStore: objects }, async (dsm) => {
    const { table, report } = await dsm.getDataWithReport(REQUEST);
    assertRows(table, truth());
    assert.deepEqual(sourceCounts(table), { CACHE: truth().length });
    assert.deepEqual(report.failures, []);
  });
  assert.deepEqual(objects.calls.filter((c) => c.startsWith("list")), [`list ${SERIES}`]);
  assert.equal(objects.count("get"), 10);
  assert.equal(objects.count("head") + objects.count("put"), 0);
});

Deno.test("A corrupt object is quarantined, reported as CACHE_ERROR and fetched again", async () => {
  const objects = new FaultyObjectStore();
  await fetchWith({ objectStore: objects }, (dsm) => dsm.getData(REQUEST).then(() => {}));
  const key = `${SERIES}2025-01-05.arrow`;
  const bytes = (await objects.inner.get(key))!;
  bytes[bytes.length >> 1] ^= 0xff;
  await objects.inner.put(key, bytes);
  await fetchWith({ objectStore: objects }, async (dsm) => {
    const { table, report } = await dsm.getDataWithReport(REQUEST);
    assertRows(table, truth());
    assert.deepEqual(report.failures.map((f) => [f.code, f.partition]), [[
      "CACHE_ERROR",
      "2025-01-05",
    ]]);
    assert.match(report.failures[0].message, /was corrupt .*set aside and fetched again/);
  });
  const quarantined = await Array.fromAsync(objects.inner.list(`quarantine/${key}.`));
  assert.equal(quarantined.length, 1);
  assert.notDeepEqual(await objects.inner.get(key), bytes); // written anew, valid
});

Deno.test("An unreachable object store: klines, funding rates and trades come from the sources, each cache failure a CACHE_ERROR", async () => {
  const objects = new FaultyObjectStore();
  objects.fail = { get: true, put: true, head: true, list: true, delete: true };
  const messages: string[] = [];
  await fetchWith({ objectStore: objects }, async (dsm) => {
    const { table, report } = await dsm.getDataWithReport(REQUEST);
    assertRows(table, truth());
    assert.ok(report.failures.length > 0);
    assert.ok(
      report.failures.every((f) => f.code === "CACHE_ERROR"),
      JSON.stringify(report.failures),
    );
    assert.match(report.failures[0].message, /connection refused|not asked until/);
    const funding = await dsm.getDataWithReport({
      dataset: "fundingRate",
      market: "um",
      symbol: "BTCUSDT",
      start: Date.UTC(2024, 9, 1),
      end: Date.UTC(2024, 11, 1),
    });
    const events = fundingTruth(new MarketData(), {
      market: "um",
      symbol: "BTCUSDT",
      start: Date.UTC(2024, 9, 1),
      end: Date.UTC(2024, 11, 1),
    });
    assert.equal(funding.table.numRows, events.length);
    assert.ok(funding.report.failures.some((f) => f.code === "CACHE_ERROR"));
    const day = { start: Date.UTC(2025, 0, 2), end: Date.UTC(2025, 0, 3) };
    const trades = await dsm.getDataWithReport({ dataset: "aggTrades", symbol: "BTCUSDT", ...day });
    const expected = tradeTruth({ now: NOW, tradeScale: SCALE }, {
      dataset: "aggTrades",
      market: "spot",
      symbol: "BTCUSDT",
      ...day,
    });
    assert.equal(trades.table.numRows, expected.numRows);
    assert.ok(trades.report.failures.some((f) => f.code === "CACHE_ERROR"));
  }, (m) => messages.push(m));
  assert.equal(messages.filter((m) => /not asked for 30 s/.test(m)).length, 1);
  assert.deepEqual(await Array.fromAsync(objects.inner.list("")), []);
});

Deno.test("A read-only cache reads and never writes, and says so once (object store and folder)", async () => {
  const objects = new FaultyObjectStore();
  await fetchWith(
    { objectStore: objects },
    (dsm) => dsm.getData({ ...REQUEST, end: START + 2 * 86_400_000 }).then(() => {}),
  );
  objects.calls.length = 0;
  const messages: string[] = [];
  await fetchWith({ objectStore: objects, readOnly: true }, async (dsm) => {
    const { table, report } = await dsm.getDataWithReport(REQUEST);
    assertRows(table, truth());
    assert.deepEqual(report.failures, []);
    assert.equal(sourceCounts(table).CACHE, 48);
    await dsm.getDataWithReport({ ...REQUEST, symbol: "ETHUSDT" });
  }, (m) => messages.push(m));
  assert.deepEqual(objects.calls.filter((c) => /^(put|delete)/.test(c)), []);
  assert.equal(messages.filter((m) => m.startsWith("Cache is read-only: ")).length, 1);
  await using dir = await tempDir();
  const said: string[] = [];
  await fetchWith({ dir: dir.path, readOnly: true }, async (dsm) => {
    assertRows(await dsm.getData(REQUEST), truth());
  }, (m) => said.push(m));
  assert.deepEqual([...Deno.readDirSync(dir.path)], []);
  assert.equal(said.filter((m) => m.startsWith("Cache is read-only: ")).length, 1);
});

Deno.test("The cache option is checked before any I/O: URL, endpoint, credentials, dir or url", () => {
  const bad: [unknown, RegExp][] = [
    [{ url: "https://bucket/x" }, /cache\.url "https:\/\/bucket\/x" is not an s3:\/\/bucket/],
    [{ url: "s3://bucket", endpoint: "ftp://x" }, /cache\.endpoint/],
    [
      { url: "s3://bucket", credentials: { accessKeyId: "A" } },
      /cache\.credentials\.secretAccessKey/,
    ],
    [{ url: "s3://bucket", credentials: { accessKeyId: "A", secretAccessKey: 5 } }, /"\(hidden\)"/],
    [{ dir: "/tmp/x", url: "s3://bucket" }, /cache\.dir and cache\.url are both set/],
    [{ region: "eu-west-1" }, /cache\.region goes with cache\.url/],
    [{ dir: "/tmp/x", readOnly: "yes" }, /cache\.readOnly "yes" is not a boolean/],
    [{ url: "s3://bucket", readonly: true }, /did you mean "cache\.readOnly"/],
    [{ objectStore: {} }, /cache\.objectStore/],
  ];
  for (const [cache, message] of bad) {
    assert.throws(
      () => new DataSourceManager({ cache: cache as never }),
      (e: Error) => e.name === "InvalidOptionError" && message.test(e.message),
      JSON.stringify(cache),
    );
  }
  new DataSourceManager({
    cache: { url: "s3://bucket/dsm", endpoint: "http://127.0.0.1:9", region: "x", readOnly: true },
  });
});
