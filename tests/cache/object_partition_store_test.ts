import assert from "node:assert/strict";
import { join } from "node:path";
import { FsFundingStore, FUNDING_KIND } from "../../src/cache/fs_funding_store.ts";
import { GuardedObjectStore } from "../../src/cache/_guarded_object_store.ts";
import { ObjectPartitionStore } from "../../src/cache/object_partition_store.ts";
import { ObjectTradeStore } from "../../src/cache/object_trade_store.ts";
import { decodeTradeCsv } from "../../src/codec/trade_csv.ts";
import { allocFundingColumns, fundingBatch } from "../../src/core/funding_schema.ts";
import { CacheError } from "../../src/core/errors.ts";
import { LATER, tempDir } from "./_fixtures.ts";
import { FaultyObjectStore } from "./_object_faults.ts";

const JAN = { market: "um", symbol: "BTCUSDT", partition: "2024-01" } as const;
const JAN_KEY = "v1/binance/um/fundingRate/BTCUSDT/2024-01.arrow";

function month(start: number, rate = 0.0001) {
  const c = allocFundingColumns(3);
  c.fundingTime.set([start + 1, start + 8 * 3_600_000 + 2, start + 16 * 3_600_000]);
  c.fundingRate.fill(rate);
  return fundingBatch(c, 3);
}

Deno.test("ObjectPartitionStore keeps funding months as the file cache's bytes, Vision never replaced by REST", async () => {
  await using dir = await tempDir();
  const objects = new FaultyObjectStore();
  const store = new ObjectPartitionStore(objects, FUNDING_KIND, { now: LATER });
  const files = new FsFundingStore(dir.path, { now: LATER });
  const vision = { source: "VISION", visionSha256: "ab".repeat(32) } as const;
  assert.equal(await store.write(JAN, [month(Date.UTC(2024, 0, 1))], vision), true);
  assert.equal(await files.write(JAN, [month(Date.UTC(2024, 0, 1))], vision), true);
  const file = await Deno.readFile(join(dir.path, ...JAN_KEY.split("/")));
  assert.deepEqual(await objects.inner.get(JAN_KEY), file);
  objects.calls.length = 0;
  assert.equal(
    await store.write(JAN, [month(Date.UTC(2024, 0, 1), 0.2)], { source: "REST" }),
    false,
  );
  assert.deepEqual(objects.calls, [`put? ${JAN_KEY}`, `get ${JAN_KEY}`]);
  assert.equal((await store.read(JAN))?.batches[0].getChild("funding_rate")?.get(0), 0.0001);
  // A REST month is upgraded by replacing the object.
  const feb = { ...JAN, partition: "2024-02" };
  assert.equal(await store.write(feb, [month(Date.UTC(2024, 1, 1))], { source: "REST" }), true);
  assert.equal(await store.write(feb, [month(Date.UTC(2024, 1, 1))], vision), true);
  assert.equal((await store.info(feb))?.source, "VISION");
  assert.equal(await store.has(feb), true);
  const readOnly = new ObjectPartitionStore(objects, FUNDING_KIND, { now: LATER, readOnly: true });
  assert.equal(
    await readOnly.write({ ...JAN, partition: "2024-03" }, [month(Date.UTC(2024, 2, 1))], vision),
    false,
  );
  assert.equal(await readOnly.clear(), 0);
  await assert.rejects(store.read({ ...JAN, market: "spot" }), { code: "INVALID_DATASET" });
});

Deno.test("ObjectPartitionStore quarantines a damaged month, and maintenance sees partitions only", async () => {
  const objects = new FaultyObjectStore();
  const messages: string[] = [];
  const store = new ObjectPartitionStore(objects, FUNDING_KIND, {
    now: LATER,
    logger: (m) => messages.push(m),
  });
  await store.write(JAN, [month(Date.UTC(2024, 0, 1))], { source: "REST" });
  const bytes = (await objects.inner.get(JAN_KEY))!;
  await objects.inner.put(JAN_KEY, bytes.subarray(0, bytes.length - 20));
  assert.equal(await store.read(JAN), undefined);
  assert.match(
    messages[0],
    /moved to "s3:\/\/bucket\/dsm\/quarantine\/v1\/binance\/um\/fundingRate\/BTCUSDT\/2024-01\.arrow\.\d+"/,
  );
  assert.equal(await objects.inner.head(JAN_KEY), undefined);
  assert.deepEqual(await store.list(), []);
  await store.write(JAN, [month(Date.UTC(2024, 0, 1))], { source: "REST" });
  await objects.inner.put(JAN_KEY.replace("01", "02"), new Uint8Array([1, 2]));
  const report = await store.verify({}, true);
  assert.deepEqual([report.checked, report.ok, report.corrupt.length], [2, 1, 1]);
  assert.match(report.corrupt[0].movedTo!, /^s3:\/\/bucket\/dsm\/quarantine\//);
  assert.equal(await store.clear(), 1);
  assert.deepEqual(await Array.fromAsync(objects.inner.list("")), []); // quarantined copies too
});

Deno.test("ObjectTradeStore lists a series' days and reads them back", async () => {
  const objects = new FaultyObjectStore();
  const store = new ObjectTradeStore(objects, { now: LATER });
  const key = { market: "um", dataset: "aggTrades", symbol: "BTCUSDT", day: "2024-03-05" } as const;
  const start = Date.UTC(2024, 2, 5);
  const csv = new TextEncoder().encode(`1,60.5,0.1,1,1,${start + 5},true\n`);
  const rows = decodeTradeCsv(csv, { dataset: "aggTrades", market: "um" });
  assert.equal(await store.write(key, rows, { source: "REST" }), true);
  assert.deepEqual(await store.days(key), ["2024-03-05"]);
  assert.deepEqual(await store.days(key, { start: start + 86_400_000 }), []);
  assert.equal((await store.read(key))?.metadata.firstTime, (start + 5) * 1000);
  assert.equal(await store.read({ ...key, day: "2024-03-06" }), undefined);
});

Deno.test("GuardedObjectStore bounds the requests in flight and pauses a store failing in a row", async () => {
  const objects = new FaultyObjectStore();
  let now = 0;
  const messages: string[] = [];
  const guarded = new GuardedObjectStore(objects, {
    concurrency: 3,
    now: () => now,
    logger: (m) => messages.push(m),
  });
  let release!: () => void;
  objects.hold = new Promise((resolve) => release = resolve);
  const reads = Array.from({ length: 10 }, (_, i) => guarded.get(`k${i}`));
  assert.equal(objects.calls.length, 3);
  objects.hold = undefined;
  release();
  await Promise.all(reads);
  assert.equal(objects.peak, 3);
  objects.fail = { get: true };
  for (let i = 0; i < 3; i++) await assert.rejects(guarded.get("x"), /connection refused/);
  assert.match(messages[0], /failed 3 times in a row .* not asked for 30 s/);
  const calls = objects.calls.length;
  await assert.rejects(
    guarded.put("y", new Uint8Array(1)),
    (e) => e instanceof CacheError && /not asked until/.test(e.message),
  );
  assert.equal(objects.calls.length, calls); // answered without a request
  now += 30_000;
  objects.fail = {};
  assert.equal(await guarded.put("y", new Uint8Array(1)), true);
});
