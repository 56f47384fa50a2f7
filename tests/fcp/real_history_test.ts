/**
 * Real-like irregular history (BINANCE.md, "Real history is irregular"):
 * every path returns the same rows, the same anomalies and the same gaps.
 */
import assert from "node:assert/strict";
import type { RecordBatch, Table } from "apache-arrow";
import type { Anomaly, AnomalyKind } from "../../src/core/anomaly.ts";
import { floorOpenTime } from "../../src/core/interval.ts";
import { startEmulator } from "../../src/emulator/emulator.ts";
import { klineTruth } from "../../src/emulator/kline_truth.ts";
import { MarketData } from "../../src/emulator/market_data.ts";
import { DataSourceManager } from "../../src/fcp/data_source_manager.ts";
import type { FetchReport, Gap } from "../../src/fcp/fetch_report.ts";
import type { KlineRequest } from "../../src/fcp/kline_request.ts";
import { assertRows, groundTruth, rowsOf } from "./_ground_truth.ts";

const NOW = Date.UTC(2025, 1, 10, 12, 30);
const HOUR = 3_600_000;
const RETRY = { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 };
/** Spot BTCUSDT 1h from its first day to the end of 2022: every irregularity of the emulated history. */
const RANGE = {
  symbol: "BTCUSDT",
  interval: "1h" as const,
  start: Date.UTC(2017, 7, 17),
  end: Date.UTC(2023, 0, 1),
};
/** A manager on the emulator at `url`, with the test's clock. */
function managerOf(url: string, cache: { dir: string } | false): DataSourceManager {
  return new DataSourceManager({
    cache,
    now: () => NOW,
    retry: RETRY,
    endpoints: { vision: url, listing: url, rest: url },
  });
}

/** The order in which a row's broken rules are listed. */
const RULES: AnomalyKind[] = ["off_grid", "close_time", "ohlc", "zero_volume", "ignore"];

/** The anomalies a client must report for the range: every irregular row, rules in order. */
function expectedAnomalies(): { kind: AnomalyKind; openTime: number }[] {
  const truth = klineTruth(new MarketData(), { market: "spot", ...RANGE });
  const out: { kind: AnomalyKind; openTime: number }[] = [];
  for (const kind of RULES) {
    for (const openTime of truth.irregular[kind]) out.push({ kind, openTime });
  }
  return out.sort((a, b) =>
    a.openTime - b.openTime || RULES.indexOf(a.kind) - RULES.indexOf(b.kind)
  );
}

/** The gap spans a client must report: missing slots, split where off-grid rows fill them. */
function expectedGaps(): { start: number; end: number; offGrid: boolean }[] {
  const truth = groundTruth("spot", RANGE.symbol, RANGE.interval, RANGE.start, RANGE.end);
  const offGrid = new Set(truth.offGrid.map((t) => floorOpenTime(t, RANGE.interval)));
  const out: { start: number; end: number; offGrid: boolean }[] = [];
  for (const m of truth.missing) {
    for (let t = m.start; t < m.end; t += HOUR) {
      const isOff = offGrid.has(t);
      const last = out.at(-1);
      if (last && last.end === t && last.offGrid === isOff) last.end = t + HOUR;
      else out.push({ start: t, end: t + HOUR, offGrid: isOff });
    }
  }
  return out;
}

function spans(report: FetchReport): { start: number; end: number; offGrid: boolean }[] {
  return report.gaps.map((g) => ({ start: g.start, end: g.end, offGrid: g.class === "off_grid" }));
}

function kinds(anomalies: readonly Anomaly[]) {
  return anomalies.map(({ kind, openTime }) => ({ kind, openTime }));
}

/** Asserts rows, anomalies and gap spans against the truth; returns the gap classes met. */
function assertHistory(
  rows: Table | RecordBatch[],
  report: FetchReport,
  what: string,
): Set<string> {
  assertRows(rows, groundTruth("spot", RANGE.symbol, RANGE.interval, RANGE.start, RANGE.end));
  assert.equal(report.partial, false, `${what}: ${JSON.stringify(report.failures)}`);
  assert.deepEqual(report.failures, [], what);
  const anomalies = expectedAnomalies();
  assert.equal(report.anomalyCount, anomalies.length, what);
  assert.deepEqual(kinds(report.anomalies), anomalies.slice(0, 100), what);
  assert.deepEqual(spans(report), expectedGaps(), what);
  return new Set(report.gaps.map((g: Gap) => g.class));
}

Deno.test("Real-like history: auto, vision, rest and the cache return the same rows, anomalies and gaps", async () => {
  await using emulator = await startEmulator({ latencyMs: 0, now: NOW });
  const dir = await Deno.makeTempDir();
  try {
    await using dsm = managerOf(emulator.url, { dir });
    await using noCache = managerOf(emulator.url, false);
    // Cold through every source, each path by table and by stream.
    const runs: [string, DataSourceManager, KlineRequest["source"]][] = [
      ["auto", dsm, "auto"],
      ["vision", noCache, "vision"],
      ["rest", noCache, "rest"],
      ["cache", dsm, "cache"],
    ];
    const classes = new Map<string, Set<string>>();
    for (const [what, manager, source] of runs) {
      const { table, report } = await manager.getDataWithReport({ ...RANGE, source });
      classes.set(what, assertHistory(table, report, `${what} getData`));
      const streamed = manager.streamWithReport({ ...RANGE, source });
      const batches = await Array.fromAsync(streamed.batches);
      assertHistory(batches, await streamed.report, `${what} stream`);
      const sources = new Set(rowsOf(table).sources);
      const expected = { auto: "VISION", vision: "VISION", rest: "REST", cache: "CACHE" }[what];
      assert.deepEqual([...sources], [expected], what);
    }
    // Off-grid slots are off_grid on every path; the other holes are confirmed
    // where both sources were asked (auto, and the cache that recorded them).
    assert.deepEqual(classes.get("auto"), new Set(["not_listed", "exchange", "off_grid"]));
    assert.deepEqual(classes.get("cache"), new Set(["exchange", "off_grid"]));
    assert.deepEqual(classes.get("vision"), new Set(["unconfirmed", "off_grid"]));
    assert.deepEqual(classes.get("rest"), new Set(["not_listed", "unconfirmed", "off_grid"]));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Real-like history: a range starting or ending mid-day reads the same anomalies from the cache", async () => {
  await using emulator = await startEmulator({ latencyMs: 0, now: NOW });
  const dir = await Deno.makeTempDir();
  try {
    await using dsm = managerOf(emulator.url, { dir });
    // 2018-02-09: the outage ends and 1h candles open at …:28:14.789 for 43 rows.
    const day = { symbol: "BTCUSDT", interval: "1h" as const };
    await dsm.getData({ ...day, start: "2018-02-07", end: "2018-02-13" });
    const part = { ...day, start: "2018-02-09T12:00", end: "2018-02-11T02:00" };
    await using noCache = managerOf(emulator.url, false);
    const cold = await noCache.getDataWithReport(part);
    const warm = await dsm.getDataWithReport({ ...part, source: "cache" });
    assert.equal(cold.table.numRows, 0);
    assert.equal(warm.table.numRows, 0);
    assert.equal(cold.report.anomalyCount, 38);
    assert.deepEqual(kinds(warm.report.anomalies), kinds(cold.report.anomalies));
    assert.deepEqual(warm.report.gaps.map((g) => g.class), ["off_grid"]);
    assert.deepEqual(spans(warm.report), spans(cold.report));
    assert.equal(warm.report.partial, false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("um BTCUSDT: REST candles before Vision's first archive are kept, and only REST confirms not_listed", async () => {
  await using emulator = await startEmulator({ latencyMs: 0, now: NOW });
  await using dsm = managerOf(emulator.url, false);
  const range = {
    market: "um" as const,
    symbol: "BTCUSDT",
    interval: "1h" as const,
    start: Date.UTC(2019, 8, 1),
    end: Date.UTC(2020, 0, 3),
  };
  const listed = Date.UTC(2019, 8, 8, 17); // the hour holding the first trade, 17:57
  const truth = groundTruth("um", range.symbol, range.interval, range.start, range.end);
  assert.equal(truth.columns.openTime[0], listed);
  const auto = await dsm.getDataWithReport(range);
  assertRows(auto.table, truth);
  assert.equal(auto.report.partial, false);
  assert.deepEqual(auto.report.gaps[0], {
    start: range.start,
    end: listed,
    slots: (listed - range.start) / HOUR,
    class: "not_listed",
  });
  const sources = rowsOf(auto.table).sources;
  const firstVision = sources.indexOf("VISION");
  assert.equal(rowsOf(auto.table).columns.openTime[firstVision], Date.UTC(2019, 11, 31));
  assert.ok(sources.slice(0, firstVision).every((s) => s === "REST"));
  // Vision alone cannot tell a listing from a missing archive: nothing is called not_listed.
  const vision = await dsm.getDataWithReport({ ...range, source: "vision" });
  assert.equal(vision.table.numRows, 3 * 24);
  assert.equal(vision.report.partial, true);
  assert.ok(vision.report.gaps.every((g) => g.class !== "not_listed"));
  // Days without an archive are unfetched (REST not allowed); the December archive's
  // empty days are unconfirmed.
  assert.deepEqual(vision.report.gaps.map((g) => [g.start, g.end, g.class]), [
    [range.start, Date.UTC(2019, 11, 1), "unfetched"],
    [Date.UTC(2019, 11, 1), Date.UTC(2019, 11, 31), "unconfirmed"],
  ]);
});
