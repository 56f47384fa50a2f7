import assert from "node:assert/strict";
import { join } from "node:path";
import { FsKlineStore } from "../../src/cache/fs_kline_store.ts";
import type { PartitionKey } from "../../src/cache/kline_store.ts";
import { candles, day, keyOf, LATER, tempDir } from "./_fixtures.ts";

const VISION = { source: "VISION", visionSha256: "ab".repeat(32), complete: true } as const;
const REST = { source: "REST", complete: true } as const;

async function filled(root: string): Promise<FsKlineStore> {
  const store = new FsKlineStore(root, { now: LATER });
  for (const p of ["2024-01-01", "2024-01-02", "2024-01-03"]) {
    await store.write(keyOf(p), [day(p)], p === "2024-01-02" ? REST : VISION);
  }
  await store.write(keyOf("2024-01-01", { symbol: "ETHUSDT" }), [day("2024-01-01")], VISION);
  const h = keyOf("2024-01-01", { market: "um", interval: "1h" });
  await store.write(h, [candles(Date.UTC(2024, 0, 1), Date.UTC(2024, 0, 2), "1h")], REST);
  return store;
}

function folder(root: string, symbol = "BTCUSDT", interval = "1m", market = "spot"): string {
  return join(root, "v1", "binance", market, "klines", symbol, interval);
}

const partitions = (keys: PartitionKey[]) => keys.map((k) => `${k.symbol}/${k.partition}`);

Deno.test("FsKlineStore.list filters by market, symbol, interval and range, ignoring other files", async () => {
  await using dir = await tempDir();
  const store = await filled(dir.path);
  const f = folder(dir.path);
  await Deno.writeFile(join(f, "2024-01-04.arrow.123.abcdef.tmp"), new Uint8Array(10));
  await Deno.writeFile(join(f, "2024-01-05.arrow.corrupt-1700000000000"), new Uint8Array(10));
  await Deno.writeFile(join(f, "notes.txt"), new Uint8Array(1));
  await Deno.writeFile(join(f, "2024-01.arrow"), new Uint8Array(1)); // wrong period for 1m
  await Deno.mkdir(join(dir.path, "v1", "binance", "spot", "klines", "bad..name", "1m"), {
    recursive: true,
  });
  const all = await store.list();
  assert.equal(all.length, 5);
  assert.ok(all.every((e) => e.bytes > 0 && e.path.endsWith(".arrow")));
  const btc = await store.list({ market: "spot", symbol: "BTCUSDT" });
  assert.deepEqual(partitions(btc.map((e) => e.key)), [
    "BTCUSDT/2024-01-01",
    "BTCUSDT/2024-01-02",
    "BTCUSDT/2024-01-03",
  ]);
  assert.equal((await store.list({ market: "um" })).length, 1);
  assert.equal((await store.list({ interval: "1h" })).length, 1);
  const range = await store.list({
    market: "spot",
    symbol: "BTCUSDT",
    start: "2024-01-01T12:00:00Z",
    end: "2024-01-03",
  });
  assert.deepEqual(partitions(range.map((e) => e.key)), [
    "BTCUSDT/2024-01-01",
    "BTCUSDT/2024-01-02",
  ]);
  assert.deepEqual(await store.list({ symbol: "XRPUSDT" }), []);
});

Deno.test("FsKlineStore.stats totals partitions, rows and bytes per series", async () => {
  await using dir = await tempDir();
  const store = await filled(dir.path);
  const stats = await store.stats();
  assert.equal(stats.partitions, 5);
  assert.equal(stats.rows, 4 * 1440 + 24);
  assert.equal(stats.restPartitions, 2);
  assert.equal(stats.unreadable, 0);
  const listed = await store.list();
  assert.equal(stats.bytes, listed.reduce((n, e) => n + e.bytes, 0));
  assert.deepEqual(
    stats.series.map((
      s,
    ) => [s.market, s.symbol, s.interval, s.partitions, s.rows, s.first, s.last]),
    [
      ["spot", "BTCUSDT", "1m", 3, 4320, "2024-01-01", "2024-01-03"],
      ["spot", "ETHUSDT", "1m", 1, 1440, "2024-01-01", "2024-01-01"],
      ["um", "BTCUSDT", "1h", 1, 24, "2024-01-01", "2024-01-01"],
    ],
  );
  await Deno.writeFile(join(folder(dir.path), "2024-01-03.arrow"), new Uint8Array(5));
  const damaged = await store.stats({ symbol: "BTCUSDT", market: "spot" });
  assert.equal(damaged.unreadable, 1);
  assert.equal(damaged.rows, 2880);
});

Deno.test("FsKlineStore.verify reports corrupt, stale and upgradable partitions", async () => {
  await using dir = await tempDir();
  const store = await filled(dir.path);
  const f = folder(dir.path);
  const bytes = await Deno.readFile(join(f, "2024-01-03.arrow"));
  bytes[bytes.length >> 1] ^= 0x80;
  await Deno.writeFile(join(f, "2024-01-03.arrow"), bytes);
  const old = join(f, "2024-01-04.arrow.1.abc.tmp");
  await Deno.writeFile(old, new Uint8Array(3));
  await Deno.utime(old, new Date(LATER() - 7_200_000), new Date(LATER() - 7_200_000));
  const fresh = join(f, "2024-01-05.arrow.1.abd.tmp");
  await Deno.writeFile(fresh, new Uint8Array(3));
  await Deno.utime(fresh, new Date(LATER() - 60_000), new Date(LATER() - 60_000));
  const asked: string[] = [];
  const report = await store.verify({
    checksumLookup: (key) => {
      asked.push(`${key.symbol}/${key.partition}`);
      return Promise.resolve(key.symbol === "ETHUSDT" ? "ef".repeat(32) : undefined);
    },
  });
  assert.equal(report.checked, 5);
  assert.equal(report.ok, 4);
  assert.equal(report.corrupt.length, 1);
  assert.equal(report.corrupt[0].key.partition, "2024-01-03");
  assert.match(report.corrupt[0].reason, /CRC-32/);
  assert.equal(report.corrupt[0].movedTo, undefined);
  assert.deepEqual(report.stale.map((s) => [s.key.symbol, s.cached, s.current]), [
    ["ETHUSDT", "ab".repeat(32), "ef".repeat(32)],
  ]);
  assert.deepEqual(partitions(report.upgradable), ["BTCUSDT/2024-01-02", "BTCUSDT/2024-01-01"]);
  assert.deepEqual(asked.sort(), ["BTCUSDT/2024-01-01", "ETHUSDT/2024-01-01"]);
  assert.equal(report.removedTemp, 1);
  await assert.rejects(Deno.stat(old), Deno.errors.NotFound);
  assert.ok(await Deno.stat(fresh));
  // quarantine moves it aside; the next verify is clean
  const moved = await store.verify({ quarantine: true });
  assert.match(moved.corrupt[0].movedTo ?? "", /2024-01-03\.arrow\.corrupt-\d+$/);
  assert.equal((await store.verify()).corrupt.length, 0);
});

Deno.test("FsKlineStore.verify stops when its signal aborts", async () => {
  await using dir = await tempDir();
  const store = await filled(dir.path);
  const controller = new AbortController();
  controller.abort(new Error("stop"));
  await assert.rejects(store.verify({ signal: controller.signal }), /stop/);
});

Deno.test("FsKlineStore.clear deletes by filter, set-aside copies with them, and empty folders", async () => {
  await using dir = await tempDir();
  const store = await filled(dir.path);
  const f = folder(dir.path);
  await Deno.writeFile(join(f, "2024-01-02.arrow.corrupt-1"), new Uint8Array(1));
  assert.equal(await store.clear({ symbol: "BTCUSDT", start: "2024-01-02", end: "2024-01-03" }), 1);
  assert.deepEqual(
    (await store.list({ symbol: "BTCUSDT", market: "spot" })).map((e) => e.key.partition),
    ["2024-01-01", "2024-01-03"],
  );
  await assert.rejects(Deno.stat(join(f, "2024-01-02.arrow.corrupt-1")), Deno.errors.NotFound);
  assert.equal(await store.clear({ market: "um" }), 1);
  await assert.rejects(Deno.stat(folder(dir.path, "BTCUSDT", "1h", "um")), Deno.errors.NotFound);
  assert.equal(await store.clear(), 3);
  assert.deepEqual(await store.list(), []);
  assert.equal(await store.clear(), 0);
});
