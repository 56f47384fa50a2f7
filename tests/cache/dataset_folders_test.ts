import assert from "node:assert/strict";
import { join } from "node:path";
import { FsKlineStore } from "../../src/cache/fs_kline_store.ts";
import { day, keyOf, LATER, tempDir } from "./_fixtures.ts";

const VISION = { source: "VISION", visionSha256: "cd".repeat(32), complete: true } as const;

Deno.test("FsKlineStore keeps each price klines dataset in its own folder beside klines", async () => {
  await using dir = await tempDir();
  const store = new FsKlineStore(dir.path, { now: LATER });
  const klines = keyOf("2024-01-01", { market: "um" });
  const mark = keyOf("2024-01-01", { market: "um", dataset: "markPriceKlines" });
  const index = keyOf("2024-01-01", {
    market: "cm",
    symbol: "BTCUSD",
    dataset: "indexPriceKlines",
  });
  for (const key of [klines, mark, index]) {
    assert.equal(await store.write(key, [day("2024-01-01")], VISION), true);
  }
  const base = join(dir.path, "v1", "binance");
  assert.ok(
    (await Deno.stat(join(base, "um", "klines", "BTCUSDT", "1m", "2024-01-01.arrow"))).isFile,
  );
  assert.ok(
    (await Deno.stat(join(base, "um", "markPriceKlines", "BTCUSDT", "1m", "2024-01-01.arrow")))
      .isFile,
  );
  assert.ok(
    (await Deno.stat(join(base, "cm", "indexPriceKlines", "BTCUSD", "1m", "2024-01-01.arrow")))
      .isFile,
  );
  assert.deepEqual((await store.read(mark))?.key, mark);
  assert.equal(
    await store.read(keyOf("2024-01-01", { market: "um", dataset: "premiumIndexKlines" })),
    undefined,
  );
  assert.deepEqual([...await store.partitions({ ...mark })], ["2024-01-01"]);

  const all = await store.list();
  assert.deepEqual(all.map((e) => e.key), [klines, mark, index]);
  const marks = await store.list({ dataset: "markPriceKlines" });
  assert.deepEqual(marks.map((e) => e.key), [mark]);
  const stats = await store.stats();
  assert.deepEqual(stats.series.map((s) => [s.dataset ?? "klines", s.market, s.symbol]), [
    ["klines", "um", "BTCUSDT"],
    ["markPriceKlines", "um", "BTCUSDT"],
    ["indexPriceKlines", "cm", "BTCUSD"],
  ]);
  assert.equal(await store.clear({ dataset: "indexPriceKlines" }), 1);
  assert.equal((await store.list()).length, 2);
});

Deno.test("FsKlineStore refuses a dataset a market does not publish, or one off the grid, before I/O", async () => {
  await using dir = await tempDir();
  const store = new FsKlineStore(dir.path, { now: LATER });
  await assert.rejects(
    store.write(keyOf("2024-01-01", { dataset: "markPriceKlines" }), [day("2024-01-01")], VISION),
    { code: "INVALID_DATASET" },
  );
  await assert.rejects(store.read(keyOf("2024-01-01", { market: "um", dataset: "fundingRate" })), {
    code: "INVALID_DATASET",
  });
  await assert.rejects(
    store.read(
      keyOf("2024-01-01", { market: "cm", symbol: "BTCUSD_PERP", dataset: "indexPriceKlines" }),
    ),
    { code: "INVALID_SYMBOL", message: /did you mean BTCUSD\?/ },
  );
  await assert.rejects(store.list({ dataset: "nope" as "klines" }), { code: "INVALID_DATASET" });
  assert.deepEqual([...Deno.readDirSync(dir.path)], []);
});
