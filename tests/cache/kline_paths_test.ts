import assert from "node:assert/strict";
import { join } from "node:path";
import { FsKlineStore } from "../../src/cache/fs_kline_store.ts";
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
