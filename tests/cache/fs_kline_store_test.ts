import assert from "node:assert/strict";
import { join } from "node:path";
import { Table, tableFromArrays, tableFromIPC, tableToIPC } from "apache-arrow";
import pl from "nodejs-polars";
import { FsKlineStore } from "../../src/cache/fs_kline_store.ts";
import type { CorruptPartition } from "../../src/cache/kline_store.ts";
import { encodeKlineIpc } from "../../src/codec/kline_ipc.ts";
import { CacheError } from "../../src/core/errors.ts";
import { ceilOpenTime } from "../../src/core/interval.ts";
import { candles, day, keyOf, LATER, tempDir } from "./_fixtures.ts";

const VISION = { source: "VISION", visionSha256: "ab".repeat(32), complete: true } as const;
const REST = { source: "REST", complete: true } as const;
const D1 = Date.UTC(2024, 0, 1);
const path1m = (root: string, p: string) =>
  join(root, "v1", "binance", "spot", "klines", "BTCUSDT", "1m", `${p}.arrow`);

Deno.test("FsKlineStore writes and reads a day back identically, under the documented path", async () => {
  await using dir = await tempDir();
  const store = new FsKlineStore(dir.path, { now: LATER });
  const batch = day("2024-01-01");
  assert.equal(await store.write(keyOf("2024-01-01"), [batch], VISION), true);
  const stat = await Deno.stat(path1m(dir.path, "2024-01-01"));
  assert.ok(stat.isFile);
  const got = await store.read(keyOf("2024-01-01"));
  assert.ok(got);
  assert.equal(got.bytes, stat.size);
  assert.deepEqual(got.key, keyOf("2024-01-01"));
  assert.equal(got.metadata.source, "VISION");
  assert.equal(got.metadata.visionSha256, VISION.visionSha256);
  assert.equal(got.metadata.rows, 1440);
  assert.equal(got.metadata.writtenAt, LATER());
  const a = new Table(got.batches);
  const b = new Table([batch]);
  for (const name of ["open_time", "close", "count", "taker_buy_quote_volume"]) {
    assert.deepEqual(a.getChild(name)?.toArray(), b.getChild(name)?.toArray(), name);
  }
  // an independent reader: arrow-js straight from the file
  const direct = tableFromIPC(await Deno.readFile(path1m(dir.path, "2024-01-01")));
  assert.equal(direct.numRows, 1440);
  assert.equal(direct.schema.metadata.get("dsm.symbol"), "BTCUSDT");
  assert.equal(await store.read(keyOf("2024-01-02")), undefined);
});

Deno.test("FsKlineStore files read as one frame with nodejs-polars scanIPC over a folder", async () => {
  await using dir = await tempDir();
  const store = new FsKlineStore(dir.path, { now: LATER });
  for (const p of ["2024-01-01", "2024-01-02", "2024-01-03"]) {
    await store.write(keyOf(p), [day(p)], REST);
  }
  const folder = join(dir.path, "v1", "binance", "spot", "klines", "BTCUSDT", "1m");
  const df = pl.scanIPC(join(folder, "*.arrow")).collectSync();
  assert.equal(df.height, 3 * 1440);
  const times = df.getColumn("open_time").toArray().map(Number);
  assert.equal(times[0], D1);
  assert.equal(times[times.length - 1], D1 + 3 * 86_400_000 - 60_000);
  assert.ok(times.every((t, i) => i === 0 || t > times[i - 1]));
  // The whole symbol folder (every interval) as one frame
  await store.write(keyOf("2024-01", { interval: "1w" }), [
    candles(Date.UTC(2024, 0, 1), Date.UTC(2024, 1, 1), "1w"),
  ], REST);
  const symbol = join(dir.path, "v1", "binance", "spot", "klines", "BTCUSDT");
  const all = pl.scanIPC(join(symbol, "**", "*.arrow")).collectSync();
  assert.equal(all.height, 3 * 1440 + 5);
});

Deno.test("FsKlineStore refuses partitions that are not closed or not complete", async () => {
  await using dir = await tempDir();
  const store = new FsKlineStore(dir.path, { now: () => D1 + 86_400_000 - 1 });
  await assert.rejects(
    store.write(keyOf("2024-01-01"), [day("2024-01-01")], VISION),
    (err: unknown) => err instanceof CacheError && /not closed until 2024-01-02/.test(err.message),
  );
  const later = new FsKlineStore(dir.path, { now: LATER });
  const missing = candles(D1, D1 + 86_400_000, "1m", (t) => t === D1 + 600_000);
  await assert.rejects(
    later.write(keyOf("2024-01-01"), [missing], VISION),
    /candle opening at 2024-01-01T00:10:00.000Z is missing/,
  );
  await assert.rejects(later.write(keyOf("2024-01-01"), [], VISION), /is missing/);
  const outside = candles(D1, D1 + 86_400_000 + 60_000);
  await assert.rejects(later.write(keyOf("2024-01-01"), [outside], VISION), /outside partition/);
  const offGrid = candles(D1 + 1, D1 + 86_400_000);
  await assert.rejects(later.write(keyOf("2024-01-01"), [offGrid], VISION), /not on the 1m grid/);
  const notComplete = { source: "REST", complete: false } as unknown as typeof REST;
  await assert.rejects(later.write(keyOf("2024-01-01"), [day("2024-01-01")], notComplete));
  assert.deepEqual(await later.list(), []);
});

Deno.test("FsKlineStore accepts holes and empty partitions explained by confirmed gaps", async () => {
  await using dir = await tempDir();
  const store = new FsKlineStore(dir.path, { now: LATER });
  const gap = { start: D1 + 3_600_000, end: D1 + 7_200_000 };
  const rows = candles(D1, D1 + 86_400_000, "1m", (t) => t >= gap.start && t < gap.end);
  assert.equal(await store.write(keyOf("2024-01-01"), [rows], { ...REST, gaps: [gap] }), true);
  const got = await store.read(keyOf("2024-01-01"));
  assert.equal(got?.metadata.rows, 1380);
  assert.deepEqual(got?.metadata.gaps, [gap]);
  const whole = { start: D1 + 86_400_000, end: D1 + 2 * 86_400_000 };
  assert.equal(await store.write(keyOf("2024-01-02"), [], { ...VISION, gaps: [whole] }), true);
  const empty = await store.read(keyOf("2024-01-02"));
  assert.equal(empty?.metadata.rows, 0);
  assert.deepEqual(empty?.batches, []);
});

Deno.test("FsKlineStore never replaces VISION with REST, and upgrades REST to VISION", async () => {
  await using dir = await tempDir();
  const store = new FsKlineStore(dir.path, { now: LATER });
  const key = keyOf("2024-01-01");
  assert.equal(await store.write(key, [day("2024-01-01")], REST), true);
  assert.equal(await store.isUpgradable(key), true);
  assert.equal(await store.write(key, [day("2024-01-01")], VISION), true);
  assert.equal(await store.isUpgradable(key), false);
  assert.equal(await store.write(key, [day("2024-01-01")], REST), false);
  assert.equal((await store.info(key))?.source, "VISION");
  assert.equal(await store.write(key, [day("2024-01-01")], VISION), false, "same archive");
  const reuploaded = { ...VISION, visionSha256: "cd".repeat(32) };
  assert.equal(await store.write(key, [day("2024-01-01")], reuploaded), true);
  assert.equal((await store.info(key))?.visionSha256, reuploaded.visionSha256);
});

async function corrupted(bytes: Uint8Array | ((good: Uint8Array) => Uint8Array), why: RegExp) {
  await using dir = await tempDir();
  const logs: string[] = [];
  const events: CorruptPartition[] = [];
  const store = new FsKlineStore(dir.path, {
    now: LATER,
    logger: (m) => logs.push(m),
    onCorrupt: (e) => events.push(e),
  });
  await store.write(keyOf("2024-01-01"), [day("2024-01-01")], VISION);
  const path = path1m(dir.path, "2024-01-01");
  const good = await Deno.readFile(path);
  await Deno.writeFile(path, typeof bytes === "function" ? bytes(good) : bytes);
  assert.equal(await store.read(keyOf("2024-01-01")), undefined);
  assert.equal(logs.length, 1);
  assert.match(logs[0], why);
  assert.equal(events.length, 1);
  assert.equal(events[0].movedTo, `${path}.corrupt-${LATER()}`);
  await assert.rejects(Deno.stat(path), Deno.errors.NotFound);
  assert.ok((await Deno.stat(events[0].movedTo!)).isFile);
  // treated as missing: list ignores the set-aside file, a new write works
  assert.deepEqual(await store.list(), []);
  assert.equal(await store.write(keyOf("2024-01-01"), [day("2024-01-01")], VISION), true);
  assert.ok(await store.read(keyOf("2024-01-01")));
}

Deno.test("FsKlineStore sets aside zero-length files", async () => {
  await corrupted(new Uint8Array(0), /0 bytes long/);
});

Deno.test("FsKlineStore sets aside truncated files", async () => {
  await corrupted((good) => good.subarray(0, good.length >> 1), /magic bytes are missing/);
  await corrupted((good) => good.subarray(0, good.length - 1), /magic bytes are missing/);
});

Deno.test("FsKlineStore sets aside files with damaged values", async () => {
  await corrupted((good) => {
    const bad = good.slice();
    bad[good.length >> 1] ^= 1;
    return bad;
  }, /body CRC-32/);
});

Deno.test("FsKlineStore sets aside files of a wrong schema or another partition", async () => {
  await corrupted(new TextEncoder().encode("open_time,open\n1,2\n3,4\n"), /magic/);
  const foreign = tableToIPC(tableFromArrays({ open_time: new Float64Array([1, 2]) }), "file");
  await corrupted(foreign, /schema has 1 columns/);
  const other = encodeKlineIpc([day("2024-01-01")], {
    market: "spot",
    symbol: "ETHUSDT",
    interval: "1m",
    partition: "2024-01-01",
    source: "VISION",
    writtenAt: 0,
  });
  await corrupted(other, /holds spot ETHUSDT 1m 2024-01-01/);
  const shifted = encodeKlineIpc([day("2024-01-02")], {
    market: "spot",
    symbol: "BTCUSDT",
    interval: "1m",
    partition: "2024-01-01",
    source: "VISION",
    writtenAt: 0,
  });
  await corrupted(shifted, /rows lie outside partition "2024-01-01"/);
});

Deno.test("FsKlineStore reports I/O errors other than absence as CacheError", async () => {
  await using dir = await tempDir();
  const store = new FsKlineStore(dir.path, { now: LATER });
  // a file where the series folder belongs (a folder in place of a partition is set aside instead)
  const series = join(dir.path, "v1", "binance", "spot", "klines", "BTCUSDT");
  await Deno.mkdir(series, { recursive: true });
  await Deno.writeTextFile(join(series, "1m"), "not a folder");
  await assert.rejects(store.read(keyOf("2024-01-01")), CacheError);
  await assert.rejects(store.write(keyOf("2024-01-01"), [day("2024-01-01")], REST), CacheError);
});

Deno.test("FsKlineStore uses month partitions for 3d, 1w and 1M, with 1M under 1mo", async () => {
  await using dir = await tempDir();
  const store = new FsKlineStore(dir.path, { now: LATER });
  const jan = [Date.UTC(2024, 0, 1), Date.UTC(2024, 1, 1)] as const;
  for (const interval of ["3d", "1w", "1M"] as const) {
    const key = keyOf("2024-01", { interval, market: "um" });
    const first = ceilOpenTime(jan[0], interval); // 3d is epoch-aligned: 2024-01-03
    assert.equal(await store.write(key, [candles(first, jan[1], interval)], REST), true);
    assert.ok(await store.read(key), interval);
  }
  const base = join(dir.path, "v1", "binance", "um", "klines", "BTCUSDT");
  assert.ok((await Deno.stat(join(base, "1mo", "2024-01.arrow"))).isFile);
  assert.equal(
    (await store.read(keyOf("2024-01", { interval: "1M", market: "um" })))?.metadata.rows,
    1,
  );
  await assert.rejects(store.read(keyOf("2024-01-01", { interval: "1w" })), /partitioned by month/);
});

Deno.test("FsKlineStore partitions lists a series' files from one folder read", async () => {
  await using dir = await tempDir();
  const store = new FsKlineStore(dir.path, { now: LATER });
  const series = { market: "spot", symbol: "BTCUSDT", interval: "1m" } as const;
  assert.deepEqual(await store.partitions(series), new Set());
  await store.write(keyOf("2024-01-01"), [day("2024-01-01")], VISION);
  await store.write(keyOf("2024-01-03"), [day("2024-01-03")], REST);
  const folder = join(dir.path, "v1", "binance", "spot", "klines", "BTCUSDT", "1m");
  await Deno.writeTextFile(join(folder, "2024-01-02.arrow.123.abc.tmp"), "partial");
  await Deno.writeTextFile(join(folder, "2024-01-04.arrow.corrupt-5"), "set aside");
  await Deno.mkdir(join(folder, "2024-01-05.arrow"));
  // a folder in place of a partition is listed: its read sets it aside, so it is fetched again
  assert.deepEqual(
    await store.partitions(series),
    new Set(["2024-01-01", "2024-01-03", "2024-01-05"]),
  );
  assert.equal(await store.read(keyOf("2024-01-05")), undefined);
  assert.deepEqual(await store.partitions(series), new Set(["2024-01-01", "2024-01-03"]));
  assert.deepEqual(
    await store.partitions({ ...series, interval: "1h" }),
    new Set(),
    "another interval's folder is absent",
  );
});

Deno.test("FsKlineStore partitions rejects a bad series before any I/O", async () => {
  const store = new FsKlineStore("/nonexistent/never/created", { now: LATER });
  const good = { market: "spot", symbol: "BTCUSDT", interval: "1m" } as const;
  await assert.rejects(() => store.partitions({ ...good, symbol: "../../etc" }), TypeError);
  await assert.rejects(() => store.partitions({ ...good, market: "xx" as "spot" }), TypeError);
  await assert.rejects(
    () => store.partitions({ ...good, market: "um", interval: "1s" }),
    TypeError,
  );
  await assert.rejects(() => store.partitions(null as unknown as typeof good), TypeError);
});

Deno.test("FsKlineStore readOnly reads, and creates, renames or removes nothing", async () => {
  await using dir = await tempDir();
  const writer = new FsKlineStore(dir.path, { now: LATER });
  assert.equal(writer.writable, true);
  assert.equal(await writer.write(keyOf("2024-01-01"), [day("2024-01-01")], VISION), true);
  assert.equal(await writer.write(keyOf("2024-01-02"), [day("2024-01-02")], REST), true);
  const damaged = path1m(dir.path, "2024-01-02");
  await Deno.writeFile(damaged, (await Deno.readFile(damaged)).subarray(0, 100));
  const stale = join(dir.path, "v1/binance/spot/klines/BTCUSDT/1m/2024-01-01.arrow.1.ab.tmp");
  await Deno.writeFile(stale, new Uint8Array(1));
  await Deno.utime(stale, 0, 0);
  const tree = async () =>
    (await Array.fromAsync(Deno.readDir(join(dir.path, "v1/binance/spot/klines/BTCUSDT/1m"))))
      .map((e) => e.name).sort();
  const before = await tree();

  const corrupt: CorruptPartition[] = [];
  const store = new FsKlineStore(dir.path, {
    now: LATER,
    readOnly: true,
    onCorrupt: (e) => corrupt.push(e),
  });
  assert.equal(store.writable, false);
  assert.equal((await store.read(keyOf("2024-01-01")))?.metadata.rows, 1440);
  assert.equal(await store.read(keyOf("2024-01-02")), undefined);
  assert.deepEqual(corrupt.map((e) => [e.key.partition, e.movedTo]), [["2024-01-02", undefined]]);
  assert.equal(await store.write(keyOf("2024-01-03"), [day("2024-01-03")], VISION), false);
  // misuse is still refused before any I/O
  await assert.rejects(store.write(keyOf("2024-13-01"), [], VISION), TypeError);
  const report = await store.verify({ quarantine: true });
  assert.deepEqual([report.checked, report.ok, report.corrupt.length], [2, 1, 1]);
  assert.equal(report.corrupt[0].movedTo, undefined);
  assert.equal(report.removedTemp, 0);
  assert.equal(await store.clear(), 0);
  assert.deepEqual(await tree(), before);
});

Deno.test("FsKlineStore write removes the folder's abandoned temporary files, not live ones", async () => {
  await using dir = await tempDir();
  const logged: string[] = [];
  const store = new FsKlineStore(dir.path, { now: LATER, logger: (m) => logged.push(m) });
  const folder = join(dir.path, "v1", "binance", "spot", "klines", "BTCUSDT", "1m");
  await Deno.mkdir(folder, { recursive: true });
  // by the wall clock, as the files' mtime: abandoned after ten minutes, not an hour
  const abandoned = new Date(Date.now() - 1_200_000);
  const old = join(folder, "2024-01-01.arrow.4242.abcdef.tmp");
  await Deno.writeFile(old, new Uint8Array(100));
  await Deno.utime(old, abandoned, abandoned);
  const live = join(folder, "2024-01-02.arrow.4243.abcdef.tmp");
  await Deno.writeFile(live, new Uint8Array(100));
  const foreign = join(folder, "notes.tmp");
  await Deno.writeFile(foreign, new Uint8Array(1));
  await Deno.utime(foreign, abandoned, abandoned);
  assert.equal(await store.write(keyOf("2024-01-03"), [day("2024-01-03")], REST), true);
  const names = (await Array.fromAsync(Deno.readDir(folder), (e) => e.name)).sort();
  assert.deepEqual(names, ["2024-01-02.arrow.4243.abcdef.tmp", "2024-01-03.arrow", "notes.tmp"]);
  assert.deepEqual(logged, [`Removed abandoned temporary cache file "${old}"`]);
});

Deno.test("FsKlineStore.read tells its caller why a corrupt file was set aside", async () => {
  await using dir = await tempDir();
  const store = new FsKlineStore(dir.path, { now: LATER });
  await store.write(keyOf("2024-01-01"), [day("2024-01-01")], VISION);
  const path = path1m(dir.path, "2024-01-01");
  const bytes = await Deno.readFile(path);
  bytes[bytes.length >> 1] ^= 0xff;
  await Deno.writeFile(path, bytes);
  const heard: string[] = [];
  assert.equal(
    await store.read(keyOf("2024-01-01"), { onSetAside: (r) => heard.push(r) }),
    undefined,
  );
  assert.equal(heard.length, 1);
  assert.match(heard[0], /2024-01-01\.arrow/);
  assert.equal(
    await store.read(keyOf("2024-01-01"), { onSetAside: (r) => heard.push(r) }),
    undefined,
  );
  assert.equal(heard.length, 1); // set aside once: now simply absent
});
