import assert from "node:assert/strict";
import { join } from "node:path";
import { FsFundingStore } from "../../src/cache/fs_funding_store.ts";
import { allocFundingColumns, fundingBatch } from "../../src/core/funding_schema.ts";
import { tempDir } from "./_fixtures.ts";

const LATER = () => Date.UTC(2030, 0, 1);
const JAN = { market: "um", symbol: "BTCUSDT", partition: "2024-01" } as const;

function month(start: number, rate = 0.0001) {
  const c = allocFundingColumns(3);
  c.fundingTime.set([start + 1, start + 8 * 3_600_000 + 2, start + 16 * 3_600_000]);
  c.fundingRate.fill(rate);
  return fundingBatch(c, 3);
}

Deno.test("FsFundingStore keeps Vision months, refuses open months and events outside the month", async () => {
  await using dir = await tempDir();
  const store = new FsFundingStore(dir.path, { now: LATER });
  const jan = month(Date.UTC(2024, 0, 1));
  assert.equal(
    await store.write(JAN, [jan], { source: "VISION", visionSha256: "ab".repeat(32) }),
    true,
  );
  const path = join(dir.path, "v1", "binance", "um", "fundingRate", "BTCUSDT", "2024-01.arrow");
  assert.ok((await Deno.stat(path)).isFile);
  // Vision is never replaced by REST.
  assert.equal(
    await store.write(JAN, [month(Date.UTC(2024, 0, 1), 0.0002)], { source: "REST" }),
    false,
  );
  assert.equal((await store.read(JAN))?.batches[0].getChild("funding_rate")?.get(0), 0.0001);
  await assert.rejects(
    store.write({ ...JAN, partition: "2024-02" }, [jan], { source: "REST" }),
    /events outside the month/,
  );
  const early = new FsFundingStore(dir.path, { now: () => Date.UTC(2024, 0, 15) });
  await assert.rejects(early.write(JAN, [jan], { source: "REST" }), /not closed until/);
  const readOnly = new FsFundingStore(dir.path, { now: LATER, readOnly: true });
  assert.equal(
    await readOnly.write({ ...JAN, partition: "2024-03" }, [month(Date.UTC(2024, 2, 1))], {
      source: "REST",
    }),
    false,
  );
  await assert.rejects(store.read({ ...JAN, market: "spot" }), { code: "INVALID_DATASET" });
  await assert.rejects(store.read({ ...JAN, partition: "2024-1" }), { code: "INVALID_TIME" });
  await assert.rejects(store.read({ ...JAN, symbol: "../x" }), { code: "INVALID_SYMBOL" });
});

Deno.test("FsFundingStore sets aside a damaged file, a foreign one and a non-file, and reads them as absent", async () => {
  await using dir = await tempDir();
  const messages: string[] = [];
  const store = new FsFundingStore(dir.path, { now: LATER, logger: (m) => messages.push(m) });
  const folder = join(dir.path, "v1", "binance", "um", "fundingRate", "BTCUSDT");
  assert.equal(await store.write(JAN, [month(Date.UTC(2024, 0, 1))], { source: "REST" }), true);
  // A January file copied in as February: foreign.
  await Deno.copyFile(join(folder, "2024-01.arrow"), join(folder, "2024-02.arrow"));
  assert.equal(await store.read({ ...JAN, partition: "2024-02" }), undefined);
  assert.match(messages.at(-1)!, /holds um BTCUSDT 2024-01; moved to/);
  // A damaged body.
  const bytes = await Deno.readFile(join(folder, "2024-01.arrow"));
  bytes[bytes.length >> 1] ^= 0xff;
  await Deno.writeFile(join(folder, "2024-01.arrow"), bytes);
  assert.equal(await store.read(JAN), undefined);
  // A folder where a month goes.
  await Deno.mkdir(join(folder, "2024-03.arrow"));
  assert.equal(await store.read({ ...JAN, partition: "2024-03" }), undefined);
  const names = [...Deno.readDirSync(folder)].map((e) => e.name).sort();
  assert.equal(names.filter((n) => /\.corrupt-\d+$/.test(n)).length, 3, names.join(" "));
  assert.deepEqual(names.filter((n) => n.endsWith(".arrow")), []);
  // verify judges files as read does: a folder where a month goes is corrupt.
  await Deno.mkdir(join(folder, "2024-04.arrow"));
  await store.write({ ...JAN, partition: "2024-05" }, [month(Date.UTC(2024, 4, 1))], {
    source: "REST",
  });
  const report = await store.verify();
  assert.deepEqual(report.corrupt.map((c) => c.key.partition), ["2024-04"]);
  assert.equal(report.ok, 1);
  // Written again after: the month is fetched and cached anew.
  assert.equal(await store.write(JAN, [month(Date.UTC(2024, 0, 1))], { source: "REST" }), true);
  assert.equal((await store.read(JAN))?.metadata.rows, 3);
});
