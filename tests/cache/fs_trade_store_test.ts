import assert from "node:assert/strict";
import { join } from "node:path";
import type { RecordBatch } from "apache-arrow";
import { FsTradeStore, type TradePartitionKey } from "../../src/cache/fs_trade_store.ts";
import { decodeTradeCsv } from "../../src/codec/trade_csv.ts";
import type { Market } from "../../src/core/market.ts";
import type { TradeDataset } from "../../src/core/trade_schema.ts";
import { LATER, tempDir } from "./_fixtures.ts";

const DAY = Date.UTC(2024, 2, 5);
const KEY: TradePartitionKey = {
  market: "um",
  dataset: "aggTrades",
  symbol: "BTCUSDT",
  day: "2024-03-05",
};

/** `n` trades from `start` (ms), one per second, ids from `firstId`. */
function trades(
  start: number,
  n = 4,
  { dataset = "aggTrades", market = "um", firstId = 1 }: {
    dataset?: TradeDataset;
    market?: Market;
    firstId?: number;
  } = {},
): RecordBatch[] {
  const lines = Array.from({ length: n }, (_, i) => {
    const id = firstId + i;
    const best = market === "spot" ? ",True" : "";
    return dataset === "aggTrades"
      ? `${id},6${i}.5,0.${i + 1},${id},${id},${start + i * 1000},${i % 2 === 0}${best}`
      : `${id},6${i}.5,0.${i + 1},3.25,${start + i * 1000},${i % 2 === 0}${best}`;
  });
  const bytes = new TextEncoder().encode(lines.join("\n") + "\n");
  return decodeTradeCsv(bytes, { dataset, market });
}

function folderOf(root: string, key: Omit<TradePartitionKey, "day">): string {
  return join(root, "v1", "binance", key.market, key.dataset, key.symbol);
}

Deno.test("FsTradeStore writes day files atomically and reads them back", async () => {
  await using dir = await tempDir();
  const store = new FsTradeStore(dir.path, { now: LATER });
  const rows = trades(DAY + 5);
  assert.equal(
    await store.write(KEY, rows, { source: "VISION", visionSha256: "e".repeat(64) }),
    true,
  );
  const folder = folderOf(dir.path, KEY);
  // Only the partition file: the temporary file was renamed over it.
  assert.deepEqual([...Deno.readDirSync(folder)].map((e) => e.name), ["2024-03-05.arrow"]);
  const got = await store.read(KEY);
  assert.ok(got);
  assert.equal(got.metadata.source, "VISION");
  assert.equal(got.metadata.dataset, "aggTrades");
  assert.equal(got.metadata.rows, 4);
  assert.equal(got.metadata.firstTime, (DAY + 5) * 1000);
  assert.deepEqual([...got.batches[0].getChild("price")!], [60.5, 61.5, 62.5, 63.5]);
  assert.deepEqual([...got.batches[0].getChild("is_best_match")!], [null, null, null, null]);
  // Each dataset and market in its folder; spot trades with their booleans.
  const spot = { ...KEY, market: "spot", dataset: "trades", symbol: "币安人生USDT" } as const;
  const spotRows = trades(DAY, 3, { dataset: "trades", market: "spot" });
  assert.equal(await store.write(spot, spotRows, { source: "REST" }), true);
  const encoded = join(dir.path, "v1/binance/spot/trades/%E5%B8%81%E5%AE%89%E4%BA%BA%E7%94%9FUSDT");
  assert.ok((await Deno.stat(join(encoded, "2024-03-05.arrow"))).isFile);
  const back = await store.read(spot);
  assert.deepEqual([...back!.batches[0].getChild("is_best_match")!], [true, true, true]);
  assert.deepEqual([...back!.batches[0].getChild("base_qty")!], [null, null, null]);
  assert.equal(await store.read({ ...KEY, day: "2024-03-06" }), undefined);
});

Deno.test("FsTradeStore keeps Vision days, refuses open days, trades outside the day and bad keys", async () => {
  await using dir = await tempDir();
  const store = new FsTradeStore(dir.path, { now: LATER });
  assert.equal(await store.write(KEY, trades(DAY), { source: "VISION" }), true);
  // REST never replaces Vision.
  assert.equal(await store.write(KEY, trades(DAY, 2), { source: "REST" }), false);
  assert.equal((await store.read(KEY))?.metadata.rows, 4);
  await assert.rejects(
    store.write({ ...KEY, day: "2024-03-04" }, trades(DAY), { source: "REST" }),
    /Cannot cache aggTrades um BTCUSDT "2024-03-04": trades outside the day/,
  );
  // The last trade one microsecond before the next day is inside; the next day's first is not.
  assert.equal(
    await store.write({ ...KEY, day: "2024-03-04" }, trades(DAY - 1, 1), { source: "REST" }),
    true,
  );
  const early = new FsTradeStore(dir.path, { now: () => DAY + 3_600_000 });
  await assert.rejects(
    early.write(KEY, trades(DAY), { source: "REST" }),
    /not closed until 2024-03-06/,
  );
  await assert.rejects(
    store.write(KEY, [...trades(DAY, 2), ...trades(DAY + 9, 2)], { source: "REST" }),
    /agg_trade_id 1 at row 2 does not follow 2/,
  );
  const readOnly = new FsTradeStore(dir.path, { now: LATER, readOnly: true });
  assert.equal(
    await readOnly.write({ ...KEY, day: "2024-03-07" }, trades(DAY + 2 * 86_400_000), {
      source: "REST",
    }),
    false,
  );
  assert.equal(await readOnly.read(KEY).then((p) => p?.metadata.rows), 4);
  await assert.rejects(store.read({ ...KEY, dataset: "klines" as TradeDataset }), {
    code: "INVALID_DATASET",
  });
  await assert.rejects(store.read({ ...KEY, market: "eu" as Market }), { code: "INVALID_MARKET" });
  await assert.rejects(store.read({ ...KEY, day: "2024-03" }), { code: "INVALID_TIME" });
  await assert.rejects(store.read({ ...KEY, day: "2024-02-30" }), { code: "INVALID_TIME" });
  await assert.rejects(store.has({ ...KEY, symbol: "../x" }), { code: "INVALID_SYMBOL" });
  await assert.rejects(store.days({ ...KEY, symbol: "btcusdt" }), { code: "INVALID_SYMBOL" });
  await assert.rejects(store.list({ symbol: "../../x" }), { code: "INVALID_SYMBOL" });
  // Nothing was written outside the root's layout.
  assert.deepEqual([...Deno.readDirSync(dir.path)].map((e) => e.name), ["v1"]);
});

Deno.test("FsTradeStore sets aside damaged, truncated, foreign and non-file days and reads them as absent", async () => {
  await using dir = await tempDir();
  const messages: string[] = [];
  const store = new FsTradeStore(dir.path, { now: LATER, logger: (m) => messages.push(m) });
  const folder = folderOf(dir.path, KEY);
  const at = (day: string) => join(folder, `${day}.arrow`);
  assert.equal(await store.write(KEY, trades(DAY), { source: "REST" }), true);
  const good = await Deno.readFile(at("2024-03-05"));
  // A flipped byte in the body.
  const flipped = good.slice();
  flipped[good.length >> 1] ^= 0x10;
  await Deno.writeFile(at("2024-03-06"), flipped);
  assert.equal(await store.read({ ...KEY, day: "2024-03-06" }), undefined);
  assert.match(messages.at(-1)!, /CRC-32|unreadable|holds|spans/);
  // A truncated file.
  await Deno.writeFile(at("2024-03-07"), good.subarray(0, good.length - 20));
  assert.equal(await store.read({ ...KEY, day: "2024-03-07" }), undefined);
  assert.match(messages.at(-1)!, /magic bytes are missing.*; moved to/);
  // The 5th copied in as the 8th: foreign.
  await Deno.writeFile(at("2024-03-08"), good);
  assert.equal(await store.read({ ...KEY, day: "2024-03-08" }), undefined);
  assert.match(messages.at(-1)!, /it holds um BTCUSDT 2024-03-05; moved to/);
  // An aggTrades file in the trades folder: another schema.
  const tradesKey = { ...KEY, dataset: "trades" } as const;
  await Deno.mkdir(folderOf(dir.path, tradesKey), { recursive: true });
  await Deno.writeFile(join(folderOf(dir.path, tradesKey), "2024-03-05.arrow"), good);
  assert.equal(await store.read(tradesKey), undefined);
  assert.match(messages.at(-1)!, /column 0 is "agg_trade_id" Int64, expected "id" Int64/);
  // A folder where a day goes.
  await Deno.mkdir(at("2024-03-09"));
  assert.equal(await store.read({ ...KEY, day: "2024-03-09" }), undefined);
  assert.match(messages.at(-1)!, /it is a folder, not a file; moved to/);
  const names = [...Deno.readDirSync(folder)].map((e) => e.name).sort();
  assert.equal(names.filter((n) => /\.corrupt-\d+$/.test(n)).length, 4, names.join(" "));
  assert.deepEqual(names.filter((n) => n.endsWith(".arrow")), ["2024-03-05.arrow"]);
  assert.deepEqual((await store.read(KEY))?.metadata.rows, 4);
  // A read-only store leaves a damaged file in place.
  await Deno.writeFile(at("2024-03-10"), flipped);
  const reader = new FsTradeStore(dir.path, { readOnly: true, logger: (m) => messages.push(m) });
  assert.equal(await reader.read({ ...KEY, day: "2024-03-10" }), undefined);
  assert.match(messages.at(-1)!, /left in place$/);
  assert.ok((await Deno.stat(at("2024-03-10"))).isFile);
});

Deno.test("FsTradeStore lists cached days without reading them", async () => {
  await using dir = await tempDir();
  const store = new FsTradeStore(dir.path, { now: LATER });
  for (const d of [1, 2, 5, 29]) {
    const start = Date.UTC(2024, 1, d);
    const day = new Date(start).toISOString().slice(0, 10);
    assert.equal(await store.write({ ...KEY, day }, trades(start + 1), { source: "REST" }), true);
  }
  await store.write({ ...KEY, day: "2024-03-01" }, trades(Date.UTC(2024, 2, 1)), {
    source: "REST",
  });
  const folder = folderOf(dir.path, KEY);
  // Not days: a set-aside copy, a temporary file, a foreign name.
  await Deno.writeTextFile(join(folder, "2024-02-03.arrow.corrupt-1"), "x");
  await Deno.writeTextFile(join(folder, "2024-02-04.arrow.1.abc.tmp"), "x");
  await Deno.writeTextFile(join(folder, "notes.txt"), "x");
  const series = { market: "um", dataset: "aggTrades", symbol: "BTCUSDT" } as const;
  const feb = { start: Date.UTC(2024, 1, 1), end: Date.UTC(2024, 2, 1) };
  assert.deepEqual(await store.days(series, feb), [
    "2024-02-01",
    "2024-02-02",
    "2024-02-05",
    "2024-02-29",
  ]);
  assert.deepEqual((await store.days(series)).length, 5);
  assert.deepEqual(await store.days({ ...series, dataset: "trades" }, feb), []);
  assert.deepEqual(await store.days({ ...series, market: "cm", symbol: "BTCUSD_PERP" }), []);
  assert.equal(await store.has({ ...KEY, day: "2024-02-05" }), true);
  assert.equal(await store.has({ ...KEY, day: "2024-02-03" }), false);
  assert.equal(await store.has({ ...KEY, day: "2024-02-04" }), false);
});

Deno.test("FsTradeStore maintenance: list, verify (with quarantine) and clear by filter", async () => {
  await using dir = await tempDir();
  const store = new FsTradeStore(dir.path, { now: LATER });
  const keys: TradePartitionKey[] = [
    KEY,
    { ...KEY, day: "2024-03-06" },
    { ...KEY, dataset: "trades" },
    { market: "spot", dataset: "aggTrades", symbol: "ETHUSDT", day: "2024-03-05" },
  ];
  for (const key of keys) {
    const start = Date.parse(`${key.day}T00:00:00Z`);
    const rows = trades(start, 3, { dataset: key.dataset, market: key.market });
    assert.equal(await store.write(key, rows, { source: "REST" }), true);
  }
  assert.deepEqual((await store.list()).map((e) => e.key), [
    keys[3],
    keys[0],
    keys[1],
    keys[2],
  ]);
  assert.deepEqual((await store.list({ dataset: "trades" })).map((e) => e.key), [keys[2]]);
  const march6 = { start: Date.UTC(2024, 2, 6), end: Date.UTC(2024, 2, 7) };
  assert.deepEqual((await store.list(march6)).map((e) => e.key), [keys[1]]);
  const [entry] = await store.list({ market: "spot" });
  assert.ok(
    entry.bytes > 0 &&
      entry.path.endsWith(join("spot", "aggTrades", "ETHUSDT", "2024-03-05.arrow")),
  );
  // Damage one file: verify finds it, quarantine sets it aside.
  const bytes = await Deno.readFile(entry.path);
  bytes[40] ^= 1;
  await Deno.writeFile(entry.path, bytes);
  const report = await store.verify();
  assert.equal(report.checked, 4);
  assert.equal(report.ok, 3);
  assert.deepEqual(report.corrupt.map((c) => [c.key, c.movedTo]), [[keys[3], undefined]]);
  const moved = await store.verify({ market: "spot" }, true);
  assert.match(moved.corrupt[0].movedTo!, /2024-03-05\.arrow\.corrupt-\d+$/);
  assert.equal((await store.verify()).checked, 3);
  // Clear by filter: the files, their set-aside copies, emptied folders.
  assert.equal(await store.clear({ market: "spot" }), 0);
  await assert.rejects(Deno.stat(join(dir.path, "v1/binance/spot/aggTrades/ETHUSDT")));
  assert.equal(await store.clear({ dataset: "aggTrades", ...march6 }), 1);
  assert.deepEqual((await store.list()).map((e) => e.key), [keys[0], keys[2]]);
  assert.equal(await new FsTradeStore(dir.path, { readOnly: true }).clear(), 0);
  assert.equal(await store.clear(), 2);
  assert.deepEqual(await store.list(), []);
});

Deno.test("openTradeStore is off without read permission and read-only without write permission", async () => {
  await using dir = await tempDir();
  const script = new URL("./_no_fs_trades.ts", import.meta.url).pathname;
  const run = async (flags: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", ...flags, script, join(dir.path, "cache")],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    return JSON.parse(new TextDecoder().decode(out.stdout));
  };
  const off = await run(["--allow-net"]);
  assert.equal(off.open, false);
  assert.equal(off.logs.length, 1);
  assert.match(off.logs[0], /^Cache is off: no read permission/);
  assert.deepEqual([...Deno.readDirSync(dir.path)], []);
  await Deno.mkdir(join(dir.path, "cache"));
  const readOnly = await run([`--allow-read=${dir.path}`]);
  assert.deepEqual(
    { open: readOnly.open, writable: readOnly.writable, written: readOnly.written },
    { open: true, writable: false, written: false },
  );
  assert.match(readOnly.logs[0], /^Cache is read-only: no write permission/);
  assert.deepEqual([...Deno.readDirSync(join(dir.path, "cache"))], []);
  const both = await run([`--allow-read=${dir.path}`, `--allow-write=${dir.path}`]);
  assert.deepEqual(
    { open: both.open, writable: both.writable, written: both.written, rows: both.rows },
    { open: true, writable: true, written: true, rows: 1 },
  );
});
