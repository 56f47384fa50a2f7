import assert from "node:assert/strict";
import type { RecordBatch } from "apache-arrow";
import { decodeTradeCsv } from "../../src/codec/trade_csv.ts";
import { runTrades } from "../../src/fcp/trade_run.ts";
import type { CachedTradeDay, TradeSources } from "../../src/fcp/trade_fetch.ts";
import type { ResolvedTradeRequest } from "../../src/fcp/trade_request.ts";

const DAY = 86_400_000;
const D0 = Date.UTC(2024, 2, 1);
const NOW = D0 + 3 * DAY + 6 * 3_600_000;

/** um aggTrades rows of a day: `n` trades, ids from `firstId`, evenly spaced times. */
function dayCsv(day: number, firstId: number, n: number, skip: readonly number[] = []): Uint8Array {
  let text =
    "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker\n";
  for (let i = 0; i < n; i++) {
    const id = firstId + i;
    if (skip.includes(id)) continue;
    const t = D0 + day * DAY + Math.floor((i * DAY) / n);
    text += `${id},${(100 + i / 100).toFixed(2)},0.${i % 10 + 1},${2 * id},${2 * id + 1},${t},${
      i % 2 === 0
    }\n`;
  }
  return new TextEncoder().encode(text);
}

const PER_DAY = 100;

function archiveRows(day: number, skip: readonly number[] = []): RecordBatch[] {
  return decodeTradeCsv(dayCsv(day, 1 + day * PER_DAY, PER_DAY, skip), {
    dataset: "aggTrades",
    market: "um",
    batchRows: 32,
  });
}

function request(over: Partial<ResolvedTradeRequest> = {}): ResolvedTradeRequest {
  return {
    dataset: "aggTrades",
    market: "um",
    symbol: "BTCUSDT",
    source: "auto",
    start: D0,
    end: D0 + 3 * DAY,
    includeSourceInfo: true,
    strict: false,
    compareKlines: false,
    ...over,
  };
}

async function* yieldAll(batches: RecordBatch[]): AsyncGenerator<RecordBatch> {
  for (const b of batches) yield b;
}

interface Fakes {
  sources: TradeSources;
  written: Map<string, { rows: number; source: string }>;
  visionCalls: string[];
  restSpans: { start: number; end: number }[];
}

function fakes(
  options: {
    missing?: readonly string[];
    failing?: readonly string[];
    skip?: readonly number[];
    cached?: Map<string, CachedTradeDay>;
    rest?: boolean;
    failWrite?: boolean;
  } = {},
): Fakes {
  const written = new Map<string, { rows: number; source: string }>();
  const visionCalls: string[] = [];
  const restSpans: { start: number; end: number }[] = [];
  const dayIndex = (key: string) => (Date.parse(key) - D0) / DAY;
  const sources: TradeSources = {
    store: {
      read: (day) => Promise.resolve(options.cached?.get(day)),
      write: (day, batches, source) => {
        if (options.failWrite) return Promise.reject(new Error("disk full"));
        written.set(day, { rows: batches.reduce((n, b) => n + b.numRows, 0), source });
        return Promise.resolve(true);
      },
    },
    vision: (day) => {
      visionCalls.push(day);
      if (options.failing?.includes(day)) return Promise.reject(new Error(`reset on ${day}`));
      if (options.missing?.includes(day)) return Promise.resolve(undefined);
      return Promise.resolve({
        url: `https://v/${day}.zip`,
        bytes: 1234,
        sha256: "ab".repeat(32),
        batches: yieldAll(archiveRows(dayIndex(day), options.skip)),
      });
    },
    ...(options.rest === false ? {} : {
      rest: (span, _signal, counts) => {
        restSpans.push(span);
        counts.restCalls += 1;
        counts.restWeight += 20;
        const day = Math.floor((span.start - D0) / DAY);
        const rows = archiveRows(day).map((b) => b);
        // REST answers the span only.
        const lo = BigInt(span.start * 1000);
        const hi = BigInt(span.end * 1000);
        const kept = rows.flatMap((b) => {
          const t = b.getChild("transact_time")!.data[0].values as BigInt64Array;
          let i = 0;
          while (i < b.numRows && t[i] < lo) i++;
          let j = i;
          while (j < b.numRows && t[j] < hi) j++;
          return j > i ? [b.slice(i, j)] : [];
        });
        return yieldAll(kept);
      },
    }),
  };
  return { sources, written, visionCalls, restSpans };
}

async function run(req: ResolvedTradeRequest, sources: TradeSources) {
  const r = runTrades(req, sources, {
    now: NOW,
    signal: new AbortController().signal,
    concurrency: 4,
  });
  const batches = await Array.fromAsync(r.batches);
  return { batches, report: await r.report };
}

function ids(batches: RecordBatch[]): number[] {
  return batches.flatMap((b) =>
    [...(b.getChildAt(0)!.data[0].values as BigInt64Array)].map(Number)
  );
}

Deno.test("runTrades: closed days from Vision, cached whole, returned in id order with their source", async () => {
  const f = fakes();
  const { batches, report } = await run(request(), f.sources);
  assert.deepEqual(ids(batches), Array.from({ length: 300 }, (_, i) => i + 1));
  assert.equal(report.rows, 300);
  assert.equal(report.partial, false);
  assert.deepEqual(report.partitions.map((p) => [p.key, p.sources, p.rows, p.cached]), [
    ["2024-03-01", ["vision-daily"], 100, true],
    ["2024-03-02", ["vision-daily"], 100, true],
    ["2024-03-03", ["vision-daily"], 100, true],
  ]);
  assert.equal(report.requests.visionFiles, 3);
  assert.equal(report.idGapCount, 0);
  assert.deepEqual([...f.written.values()].map((w) => w.source), ["VISION", "VISION", "VISION"]);
  assert.equal(batches[0].getChild("_data_source")!.get(0), "VISION");
});

Deno.test("runTrades: a range inside days is clipped on time, [start, end) exact, the days still cached whole", async () => {
  const f = fakes();
  // Day 0 rows are 864 s apart: [start, end) keeps rows 50..149 of the run.
  const start = D0 + 50 * 864_000;
  const end = D0 + DAY + 50 * 864_000;
  const { batches, report } = await run(request({ start, end }), f.sources);
  assert.deepEqual(ids(batches), Array.from({ length: 100 }, (_, i) => i + 51));
  const times = batches.flatMap((
    b,
  ) => [...(b.getChild("transact_time")!.data[0].values as BigInt64Array)]);
  assert.ok(times.every((t) => t >= BigInt(start * 1000) && t < BigInt(end * 1000)));
  assert.deepEqual([...f.written.values()].map((w) => w.rows), [100, 100]);
  assert.equal(report.rows, 100);
});

Deno.test("runTrades: id holes inside and between days are reported with their ids and times", async () => {
  const f = fakes({ skip: [10, 11, 101] });
  const { report } = await run(request(), f.sources);
  assert.equal(report.idGapCount, 2);
  assert.equal(report.missingIds, 3);
  assert.deepEqual(report.idGaps.map((g) => [g.fromId, g.toId]), [[10, 11], [101, 101]]);
  assert.ok(report.idGaps[0].after < report.idGaps[0].before);
  assert.equal(report.partial, false);
});

Deno.test("runTrades: a day missing on Vision falls back to REST (aggTrades) and is cached as REST", async () => {
  const f = fakes({ missing: ["2024-03-02"] });
  const { batches, report } = await run(request(), f.sources);
  assert.equal(ids(batches).length, 300);
  assert.deepEqual(report.partitions[1].sources, ["rest"]);
  assert.equal(f.written.get("2024-03-02")?.source, "REST");
  assert.equal(report.requests.restCalls, 1);
  assert.equal(report.requests.restWeight, 20);
  assert.equal(report.partial, false);
});

Deno.test("runTrades: plain trades missing on Vision are unfetched and the result partial, with the reason", async () => {
  const f = fakes({ missing: ["2024-03-02"], rest: false });
  const { batches, report } = await run(request({ dataset: "trades" as const }), f.sources);
  assert.equal(ids(batches).length, 200);
  assert.equal(report.partial, true);
  assert.deepEqual(report.gaps, [{ start: D0 + DAY, end: D0 + 2 * DAY, class: "unfetched" }]);
  assert.equal(report.failures[0].code, "NOT_PUBLISHED");
  assert.match(report.failures[0].message, /no REST fallback/);
  // The hole across the unfetched day is explained by it, not reported as an id gap.
  assert.equal(report.idGapCount, 0);
});

Deno.test("runTrades: a failing archive is a failure of its day; REST serves it; the run is not partial", async () => {
  const f = fakes({ failing: ["2024-03-01"] });
  const { report } = await run(request(), f.sources);
  assert.equal(report.failures[0].partition, "2024-03-01");
  assert.match(report.failures[0].message, /reset on 2024-03-01/);
  assert.deepEqual(report.partitions[0].sources, ["rest"]);
  assert.equal(report.partial, false);
});

Deno.test("runTrades: every source failing is an error, not an empty result", async () => {
  const f = fakes({ failing: ["2024-03-01", "2024-03-02", "2024-03-03"], rest: false });
  const r = runTrades(request(), f.sources, {
    now: NOW,
    signal: new AbortController().signal,
    concurrency: 2,
  });
  await assert.rejects(Array.fromAsync(r.batches), /reset on 2024-03-01/);
  await assert.rejects(r.report, /reset on 2024-03-01/);
});

Deno.test("runTrades: strict refuses a partial result", async () => {
  const f = fakes({ missing: ["2024-03-02"], rest: false });
  const r = runTrades(request({ dataset: "trades" as const, strict: true }), f.sources, {
    now: NOW,
    signal: new AbortController().signal,
    concurrency: 2,
  });
  await assert.rejects(Array.fromAsync(r.batches), { code: "DATA_NOT_AVAILABLE" });
});

Deno.test("runTrades: a cache write that fails is reported; the rows are still returned", async () => {
  const f = fakes({ failWrite: true });
  const { report } = await run(request({ end: D0 + DAY }), f.sources);
  assert.equal(report.rows, 100);
  assert.equal(report.partitions[0].cached, false);
  assert.match(report.failures[0].message, /not cached: disk full/);
  assert.equal(report.partial, false);
});

Deno.test("runTrades: a day cached from REST is upgraded to its Vision archive; one cached from Vision is not fetched", async () => {
  const cached = new Map<string, CachedTradeDay>([
    ["2024-03-01", { batches: archiveRows(0), source: "REST" }],
    ["2024-03-02", { batches: archiveRows(1), source: "VISION", sha256: "cd".repeat(32) }],
  ]);
  const f = fakes({ cached });
  const { report } = await run(request({ end: D0 + 2 * DAY }), f.sources);
  assert.deepEqual(f.visionCalls, ["2024-03-01"]);
  assert.deepEqual(report.partitions.map((p) => p.sources), [["vision-daily"], ["cache"]]);
  assert.equal(report.partitions[1].sha256, "cd".repeat(32));
  assert.equal(f.written.get("2024-03-01")?.source, "VISION");
});

Deno.test("runTrades: today comes from REST over the part in range and is not cached", async () => {
  const f = fakes();
  const { report } = await run(request({ start: D0 + 3 * DAY, end: NOW }), f.sources);
  assert.deepEqual(f.restSpans, [{ start: D0 + 3 * DAY, end: NOW }]);
  assert.equal(report.partitions[0].cached, false);
  assert.equal(f.written.size, 0);
  assert.equal(report.rows, 25);
});

Deno.test("runTrades: rows outside their day make the source's rows unusable", async () => {
  const f = fakes();
  const vision = f.sources.vision!;
  f.sources.vision = async (day, signal) => {
    const got = await vision(day, signal);
    // Serve day 1's rows as day 0's archive.
    return got && day === "2024-03-01" ? { ...got, batches: yieldAll(archiveRows(1)) } : got;
  };
  const { report } = await run(request({ end: D0 + 2 * DAY }), { ...f.sources, rest: undefined });
  assert.match(report.failures[0].message, /lies outside 2024-03-01/);
  assert.deepEqual(report.partitions.map((p) => p.rows), [0, 100]);
  assert.equal(report.partial, true);
});

Deno.test("runTrades: leaving the loop early stops the days in flight", async () => {
  const f = fakes();
  const r = runTrades(request(), f.sources, {
    now: NOW,
    signal: new AbortController().signal,
    concurrency: 4,
  });
  for await (const _ of r.batches) break;
  await assert.rejects(r.report, { name: "AbortError" });
});

Deno.test("runTrades: compareKlines rebuilds 1m klines from the aggTrades and reports the minutes that differ", async () => {
  const f = fakes();
  const { allocKlineColumns, klineBatch } = await import("../../src/core/schema.ts");
  // Day 0 holds one aggTrade every 864 s: minute 0 (id 1) and minute 14 (id 2).
  const official = allocKlineColumns(2);
  official.openTime.set([D0, D0 + 14 * 60_000]);
  official.open.set([100, 100.01]);
  official.high.set([100, 100.01]);
  official.low.set([100, 100.01]);
  official.close.set([100, 100.01]);
  official.volume.set([0.1, 0.2]);
  official.count.set([2, 3]); // the second minute's aggTrade covers 2 trades, not 3
  const asked: [number, number][] = [];
  const r = runTrades(request({ end: D0 + 15 * 60_000, compareKlines: true }), f.sources, {
    now: NOW,
    signal: new AbortController().signal,
    concurrency: 2,
    klines: (start, end) => {
      asked.push([start, end]);
      return yieldAll([klineBatch(official)]);
    },
  });
  await Array.fromAsync(r.batches);
  const report = await r.report;
  assert.deepEqual(asked, [[D0, D0 + 15 * 60_000]]);
  const check = report.klineCheck!;
  assert.equal(check.minutes, 2);
  assert.equal(check.matching, 1);
  assert.deepEqual(check.mismatches, [
    { openTime: D0 + 14 * 60_000, fields: { count: { trades: 2, kline: 3 } } },
  ]);
});

Deno.test("runTrades: a klines check that cannot fetch its klines is a failure, the trades stand", async () => {
  const f = fakes();
  const r = runTrades(request({ end: D0 + DAY, compareKlines: true }), f.sources, {
    now: NOW,
    signal: new AbortController().signal,
    concurrency: 2,
    klines: () => {
      throw new Error("klines host down");
    },
  });
  await Array.fromAsync(r.batches);
  const report = await r.report;
  assert.equal(report.klineCheck, undefined);
  assert.match(report.failures[0].message, /klines check could not run: klines host down/);
  assert.equal(report.partial, false);
});

const APRIL = Date.UTC(2024, 3, 1);

function monthSource(options: { failAfterDay?: number; missing?: boolean } = {}) {
  const downloads: string[] = [];
  const visionMonth: TradeSources["visionMonth"] = (month) => {
    downloads.push(month);
    if (options.missing) return Promise.resolve(undefined);
    async function* rows() {
      for (let day = 0; day < 31; day++) {
        if (day === options.failAfterDay) throw new Error("inflate failed");
        if (day === 4) continue; // a day without trades in the month's archive
        yield* archiveRows(day);
      }
    }
    return Promise.resolve({
      url: `https://v/${month}.zip`,
      bytes: 5000,
      sha256: "ef".repeat(32),
      batches: rows(),
    });
  };
  return { visionMonth, downloads };
}

async function runMonth(sources: TradeSources) {
  const r = runTrades(request({ start: D0, end: APRIL }), sources, {
    now: APRIL + DAY,
    signal: new AbortController().signal,
    concurrency: 4,
  });
  const batches = await Array.fromAsync(r.batches);
  return { batches, report: await r.report };
}

Deno.test("runTrades: a whole closed month comes from its monthly archive, downloaded once and split by day", async () => {
  const f = fakes();
  const m = monthSource();
  const { batches, report } = await runMonth({ ...f.sources, visionMonth: m.visionMonth });
  assert.deepEqual(m.downloads, ["2024-03"]);
  assert.equal(f.visionCalls.length, 0);
  assert.equal(ids(batches).length, 30 * PER_DAY);
  assert.equal(report.requests.visionFiles, 1);
  assert.ok(report.partitions.every((p) => p.sources[0] === "vision-monthly"));
  assert.deepEqual(report.partitions.map((p) => p.bytes).filter((b) => b > 0), [5000]);
  // The day the archive holds no trade: served (empty) and cached, its ids a reported hole.
  assert.equal(report.partitions[4].rows, 0);
  assert.equal(f.written.get("2024-03-05")?.rows, 0);
  assert.deepEqual(report.idGaps.map((g) => [g.fromId, g.toId]), [[401, 500]]);
  assert.equal(report.partial, false);
});

Deno.test("runTrades: a monthly archive that is not published sends its days to their daily archives", async () => {
  const f = fakes();
  const m = monthSource({ missing: true });
  const { report } = await runMonth({ ...f.sources, visionMonth: m.visionMonth });
  assert.equal(f.visionCalls.length, 31);
  assert.ok(report.partitions.every((p) => p.sources[0] === "vision-daily"));
  assert.equal(report.requests.visionFiles, 31);
});

Deno.test("runTrades: a monthly archive failing mid-way keeps the days it completed and sends the rest to daily archives", async () => {
  const f = fakes();
  const m = monthSource({ failAfterDay: 10 });
  const { report } = await runMonth({ ...f.sources, visionMonth: m.visionMonth });
  const sources = report.partitions.map((p) => p.sources[0]);
  // Day 10's rows were read to the failure, but not known complete: it goes to its daily archive too.
  assert.deepEqual(sources.slice(0, 9), Array(9).fill("vision-monthly"));
  assert.deepEqual(sources.slice(9), Array(22).fill("vision-daily"));
  assert.match(report.failures[0].message, /inflate failed/);
  assert.equal(report.partial, false);
});
