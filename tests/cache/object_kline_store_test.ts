import assert from "node:assert/strict";
import { join } from "node:path";
import { FsKlineStore } from "../../src/cache/fs_kline_store.ts";
import type { CorruptPartition } from "../../src/cache/kline_store.ts";
import { ObjectKlineStore } from "../../src/cache/object_kline_store.ts";
import { MemoryObjectStore } from "../../src/cache/object_store.ts";
import { CacheError } from "../../src/core/errors.ts";
import { day, keyOf, LATER, tempDir } from "./_fixtures.ts";
import { FaultyObjectStore } from "./_object_faults.ts";

const VISION = { source: "VISION", visionSha256: "ab".repeat(32), complete: true } as const;
const REST = { source: "REST", complete: true } as const;
const KEY = "v1/binance/spot/klines/BTCUSDT/1m/2024-01-01.arrow";

Deno.test("ObjectKlineStore writes the file cache's bytes under the same key and reads them back", async () => {
  await using dir = await tempDir();
  const objects = new MemoryObjectStore("s3://bucket/dsm");
  const store = new ObjectKlineStore(objects, { now: LATER });
  const files = new FsKlineStore(dir.path, { now: LATER });
  const batch = day("2024-01-01");
  assert.equal(await store.write(keyOf("2024-01-01"), [batch], VISION), true);
  assert.equal(await files.write(keyOf("2024-01-01"), [batch], VISION), true);
  const file = await Deno.readFile(join(dir.path, ...KEY.split("/")));
  assert.deepEqual(await objects.get(KEY), file);
  // A non-ASCII symbol: the same percent-encoded folder.
  const odd = keyOf("2024-01-01", { symbol: "币安人生USDT" });
  assert.equal(await store.write(odd, [batch], REST), true);
  const keys = (await Array.fromAsync(objects.list("v1/"))).map((o) => o.key);
  assert.ok(
    keys.includes(
      "v1/binance/spot/klines/%E5%B8%81%E5%AE%89%E4%BA%BA%E7%94%9FUSDT/1m/2024-01-01.arrow",
    ),
    keys.join(" "),
  );
  const got = await store.read(keyOf("2024-01-01"));
  assert.equal(got?.metadata.rows, 1440);
  assert.equal(got?.bytes, file.length);
  assert.deepEqual(got?.key, keyOf("2024-01-01"));
  assert.equal(await store.read(keyOf("2024-01-02")), undefined);
  assert.equal(store.root, "s3://bucket/dsm");
  // A folder copied into the bucket object by object is read as it is.
  const copied = new MemoryObjectStore();
  await copied.put(KEY, file);
  assert.equal((await new ObjectKlineStore(copied).read(keyOf("2024-01-01")))?.metadata.rows, 1440);
});

Deno.test("ObjectKlineStore upgrades REST to Vision, never replaces Vision by REST nor by the same archive", async () => {
  const objects = new FaultyObjectStore();
  const store = new ObjectKlineStore(objects, { now: LATER });
  const key = keyOf("2024-01-01");
  assert.equal(await store.write(key, [day("2024-01-01")], REST), true);
  assert.deepEqual(objects.calls, [`put? ${KEY}`]); // a new partition: one create-only PUT
  assert.equal(await store.isUpgradable(key), true);
  objects.calls.length = 0;
  assert.equal(await store.write(key, [day("2024-01-01")], VISION), true);
  assert.deepEqual(objects.calls, [`put? ${KEY}`, `get ${KEY}`, `put ${KEY}`]);
  assert.equal((await store.info(key))?.source, "VISION");
  assert.equal(await store.isUpgradable(key), false);
  const before = await objects.inner.get(KEY);
  assert.equal(await store.write(key, [day("2024-01-01")], REST), false);
  assert.equal(await store.write(key, [day("2024-01-01")], VISION), false);
  assert.deepEqual(await objects.inner.get(KEY), before);
  // A re-uploaded archive (another digest) replaces it.
  assert.equal(
    await store.write(key, [day("2024-01-01")], { ...VISION, visionSha256: "cd".repeat(32) }),
    true,
  );
  assert.equal((await store.info(key))?.visionSha256, "cd".repeat(32));
});

Deno.test("ObjectKlineStore loses a create race to another writer's Vision object and keeps it", async () => {
  const objects = new FaultyObjectStore();
  const other = new ObjectKlineStore(objects.inner, { now: LATER });
  const store = new ObjectKlineStore(objects, { now: LATER });
  const key = keyOf("2024-01-01");
  // Both start; the other writer's PUT lands first.
  let release!: () => void;
  objects.hold = new Promise((resolve) => release = resolve);
  const mine = store.write(key, [day("2024-01-01")], REST);
  assert.equal(await other.write(key, [day("2024-01-01")], VISION), true);
  objects.hold = undefined;
  release();
  assert.equal(await mine, false);
  assert.deepEqual(objects.calls, [`put? ${KEY}`, `get ${KEY}`]); // read back once, not replaced
  assert.equal((await store.read(key))?.metadata.source, "VISION");
});

Deno.test("ObjectKlineStore refuses open and incomplete partitions before any request", async () => {
  const objects = new FaultyObjectStore();
  const store = new ObjectKlineStore(objects, { now: () => Date.UTC(2024, 0, 1, 12) });
  await assert.rejects(
    store.write(keyOf("2024-01-01"), [day("2024-01-01")], REST),
    /not closed until/,
  );
  const late = new ObjectKlineStore(objects, { now: LATER });
  await assert.rejects(late.write(keyOf("2024-01-02"), [day("2024-01-01")], REST), /lies outside/);
  await assert.rejects(late.read(keyOf("2024-01-01", { symbol: "../x" })), {
    code: "INVALID_SYMBOL",
  });
  assert.deepEqual(objects.calls, []);
});

Deno.test("ObjectKlineStore quarantines a corrupt object, reports it, and takes the partition again", async () => {
  const objects = new FaultyObjectStore();
  const events: CorruptPartition[] = [];
  const messages: string[] = [];
  const store = new ObjectKlineStore(objects, {
    now: LATER,
    onCorrupt: (e) => events.push(e),
    logger: (m) => messages.push(m),
  });
  const key = keyOf("2024-01-01");
  await store.write(key, [day("2024-01-01")], VISION);
  const bytes = (await objects.inner.get(KEY))!;
  bytes[bytes.length >> 1] ^= 0xff;
  await objects.inner.put(KEY, bytes);
  const heard: string[] = [];
  assert.equal(await store.read(key, { onSetAside: (r) => heard.push(r) }), undefined);
  const quarantined = `quarantine/${KEY}.${LATER()}`;
  assert.deepEqual(await objects.inner.get(quarantined), bytes);
  assert.equal(await objects.inner.head(KEY), undefined);
  assert.equal(events.length, 1);
  assert.equal(events[0].path, `s3://bucket/dsm/${KEY}`);
  assert.equal(events[0].movedTo, `s3://bucket/dsm/${quarantined}`);
  assert.match(heard[0], /CRC|checksum|corrupt|damaged/i);
  assert.match(messages[0], /moved to "s3:\/\/bucket\/dsm\/quarantine\//);
  // Fetched again: written anew; maintenance does not see the quarantined copy.
  assert.equal(await store.write(key, [day("2024-01-01")], VISION), true);
  assert.equal((await store.read(key))?.metadata.rows, 1440);
  assert.deepEqual((await store.list()).map((e) => e.key.partition), ["2024-01-01"]);
  // A foreign object (another day's file) is judged so too.
  await objects.inner.put(KEY.replace("01-01", "01-02"), (await objects.inner.get(KEY))!);
  assert.equal(await store.read(keyOf("2024-01-02")), undefined);
  assert.match(events[1].reason, /holds spot BTCUSDT 1m 2024-01-01/);
  // clear removes partitions and their quarantined copies.
  assert.equal(await store.clear({ symbol: "BTCUSDT" }), 1);
  assert.deepEqual(await Array.fromAsync(objects.inner.list("")), []);
});

Deno.test("ObjectKlineStore read-only reads, never writes, copies or deletes", async () => {
  const objects = new FaultyObjectStore();
  await new ObjectKlineStore(objects.inner, { now: LATER }).write(keyOf("2024-01-01"), [
    day("2024-01-01"),
  ], REST);
  await objects.inner.put(KEY.replace("01-01", "01-02"), new Uint8Array([1, 2, 3]));
  const events: CorruptPartition[] = [];
  const store = new ObjectKlineStore(objects, {
    now: LATER,
    readOnly: true,
    onCorrupt: (e) => events.push(e),
  });
  assert.equal(store.writable, false);
  assert.equal((await store.read(keyOf("2024-01-01")))?.metadata.rows, 1440);
  assert.equal(await store.read(keyOf("2024-01-02")), undefined);
  assert.equal(events[0].movedTo, undefined); // left in place
  assert.equal(await store.write(keyOf("2024-01-03"), [day("2024-01-03")], REST), false);
  assert.equal(await store.clear(), 0);
  const report = await store.verify({ quarantine: true });
  assert.deepEqual([report.checked, report.ok, report.corrupt.length], [2, 1, 1]);
  assert.deepEqual(objects.calls.filter((c) => /^(put|delete)/.test(c)), []);
});

Deno.test("ObjectKlineStore lists a series with one LIST and maintains the store like the file cache", async () => {
  const objects = new FaultyObjectStore();
  const store = new ObjectKlineStore(objects, { now: LATER });
  for (const p of ["2024-01-01", "2024-01-02", "2024-01-03"]) {
    await store.write(keyOf(p), [day(p)], p === "2024-01-02" ? REST : VISION);
  }
  await store.write(keyOf("2024-01-01", { market: "um" }), [day("2024-01-01")], REST);
  objects.calls.length = 0;
  const series = { market: "spot", symbol: "BTCUSDT", interval: "1m" } as const;
  assert.deepEqual([...await store.partitions(series)], ["2024-01-01", "2024-01-02", "2024-01-03"]);
  assert.deepEqual(objects.calls, ["list v1/binance/spot/klines/BTCUSDT/1m/"]);
  assert.deepEqual(await store.partitions({ ...series, symbol: "ETHUSDT" }), new Set());
  const stats = await store.stats();
  assert.deepEqual([stats.partitions, stats.rows, stats.restPartitions], [4, 4 * 1440, 2]);
  assert.deepEqual(stats.series.map((s) => [s.market, s.first, s.last]), [
    ["spot", "2024-01-01", "2024-01-03"],
    ["um", "2024-01-01", "2024-01-01"],
  ]);
  const entries = await store.list({ market: "spot", start: "2024-01-02" });
  assert.deepEqual(entries.map((e) => e.key.partition), ["2024-01-02", "2024-01-03"]);
  assert.equal(
    entries[0].path,
    "s3://bucket/dsm/v1/binance/spot/klines/BTCUSDT/1m/2024-01-02.arrow",
  );
  const checked = await store.verify({ checksumLookup: () => Promise.resolve("ef".repeat(32)) });
  assert.deepEqual([checked.checked, checked.ok, checked.stale.length, checked.upgradable.length], [
    4,
    4,
    2,
    2,
  ]);
  assert.equal(await store.clear({ market: "um" }), 1);
  assert.equal((await store.stats()).partitions, 3);
});

Deno.test("ObjectKlineStore reports an unreachable store as a CacheError naming it", async () => {
  const objects = new FaultyObjectStore();
  objects.fail = { get: true, put: true, list: true, head: true };
  const store = new ObjectKlineStore(objects, { now: LATER });
  const key = keyOf("2024-01-01");
  await assert.rejects(
    store.read(key),
    (e) => e instanceof CacheError && /connection refused/.test(e.message),
  );
  await assert.rejects(store.write(key, [day("2024-01-01")], REST), CacheError);
  await assert.rejects(store.partitions(key), CacheError);
  assert.equal(await store.info(key), undefined);
});
