/**
 * Gap classes through the manager against the emulator: which missing slots
 * are `exchange`, `unconfirmed`, `unfetched`, `not_listed` or `off_grid`, and
 * what the rows, the report and strict mode show for them.
 */
import assert from "node:assert/strict";
import type { Interval } from "../../src/core/interval.ts";
import { startEmulator } from "../../src/emulator/emulator.ts";
import type { EmulatorOptions } from "../../src/emulator/emulator_options.ts";
import type { EmulatedGap } from "../../src/emulator/market_data.ts";
import { DEFAULT_SYMBOLS, type EmulatedSymbol } from "../../src/emulator/symbol_catalogue.ts";
import type {
  DataSourceManager,
  DataSourceManagerOptions,
} from "../../src/fcp/data_source_manager.ts";
import type { KlineRequest } from "../../src/fcp/kline_request.ts";
import { D1, DAY, H, managerOn, NOW } from "./_source_chain_setup.ts";
import { assertRows, assertSources, groundTruth, type TruthOptions } from "./_ground_truth.ts";
import { isRest, isZip, recordingFetch, restError } from "./_recording_fetch.ts";

const RETRY = { attempts: 2, baseDelayMs: 1, maxDelayMs: 2 };
/** Two days of spot BTCUSDT 1h. */
const TWO_DAYS = { symbol: "BTCUSDT", interval: "1h", start: D1, end: D1 + 2 * DAY } as const;

/** Spot BTCUSDT's settings under another name, listed (and delisted) when given. */
function symbolOf(symbol: string, listedAt: number, delistedAt?: number): EmulatedSymbol[] {
  const btc = DEFAULT_SYMBOLS.find((s) => s.market === "spot" && s.symbol === "BTCUSDT")!;
  return [...DEFAULT_SYMBOLS, { ...btc, symbol, listedAt, delistedAt }];
}

/** Runs `fn` with an emulator at NOW and a manager on it, without a cache. */
async function withManager(
  emulator: EmulatorOptions,
  fn: (dsm: DataSourceManager) => Promise<void>,
  manager: DataSourceManagerOptions = {},
): Promise<void> {
  await using emu = await startEmulator({ now: NOW, ...emulator });
  await using dsm = managerOn(emu.url, { retry: RETRY, ...manager });
  await fn(dsm);
}

/** The truth of a request's range with the emulator's settings. */
function truthOf(request: KlineRequest, options: TruthOptions) {
  const start = request.start as number, end = request.end as number;
  return groundTruth("spot", request.symbol, request.interval as Interval, start, end, options);
}

/** The REST request spans `[startTime, endTime]` a recording fetch saw. */
function restSpans(urls: URL[]): [number, number][] {
  return urls.filter(isRest).map((u) => [
    Number(u.searchParams.get("startTime")),
    Number(u.searchParams.get("endTime")),
  ]);
}

Deno.test("A halt both Vision and REST lack is an exchange gap, asked of REST alone", async () => {
  const gaps: EmulatedGap[] = [{ start: D1 + 30 * H, end: D1 + 33 * H }];
  const rec = recordingFetch();
  await withManager({ gaps }, async (dsm) => {
    const { table, report } = await dsm.getDataWithReport(TWO_DAYS);
    assertRows(table, truthOf(TWO_DAYS, { gaps }));
    assert.equal(table.numRows, 45);
    assertSources(table, () => "VISION");
    assert.deepEqual(report.gaps, [{ ...gaps[0], slots: 3, class: "exchange" }]);
    assert.equal(report.partial, false);
    // REST was asked about the hole only, never about the rows Vision had.
    const spans = restSpans(rec.urls);
    assert.ok(spans.length > 0);
    for (const [s] of spans) assert.equal(s, D1 + 30 * H);
  }, { fetch: rec.fetch });
});

Deno.test("A hole only REST could be asked about is unconfirmed", async () => {
  const gaps: EmulatedGap[] = [{ start: D1 + 30 * H, end: D1 + 31 * H }];
  await withManager({ gaps, missingFiles: ["BTCUSDT-1h-2024-01-02.zip"] }, async (dsm) => {
    const { table, report } = await dsm.getDataWithReport(TWO_DAYS);
    assertRows(table, truthOf(TWO_DAYS, { gaps }));
    assertSources(table, (t) => t < D1 + DAY ? "VISION" : "REST");
    assert.deepEqual(report.gaps, [{ ...gaps[0], slots: 1, class: "unconfirmed" }]);
    assert.deepEqual(report.partitions.map((p) => p.sources), [["vision-daily"], ["rest"]]);
  });
});

Deno.test("A day REST fails to serve is an unfetched gap and the result is partial", async () => {
  const rec = recordingFetch((url) => isRest(url) ? restError(503) : undefined);
  await withManager({ missingFiles: ["BTCUSDT-1h-2024-01-02.zip"] }, async (dsm) => {
    const { table, report } = await dsm.getDataWithReport(TWO_DAYS);
    assertRows(table, truthOf({ ...TWO_DAYS, end: D1 + DAY }, {}));
    assert.deepEqual(report.gaps, [{
      start: D1 + DAY,
      end: D1 + 2 * DAY,
      slots: 24,
      class: "unfetched",
    }]);
    assert.equal(report.partial, true);
    assert.deepEqual(report.failures.map((f) => [f.partition, f.code]), [[
      "2024-01-02",
      "HTTP_ERROR",
    ]]);
  }, { fetch: rec.fetch });
});

Deno.test("A leading day no source could serve stays unfetched, not not_listed", async () => {
  const rec = recordingFetch((url) => isRest(url) ? restError(500) : undefined);
  await withManager({ missingFiles: ["BTCUSDT-1h-2024-01-01.zip"] }, async (dsm) => {
    const { table, report } = await dsm.getDataWithReport(TWO_DAYS);
    assertRows(table, truthOf({ ...TWO_DAYS, start: D1 + DAY }, {}));
    assert.deepEqual(report.gaps.map((g) => [g.start, g.end, g.class]), [
      [D1, D1 + DAY, "unfetched"],
    ]);
    assert.equal(report.partial, true);
  }, { fetch: rec.fetch });
});

Deno.test("Strict mode accepts a result whose only gaps are confirmed exchange halts", async () => {
  const gaps: EmulatedGap[] = [{ start: D1 + 3 * H, end: D1 + 4 * H }];
  await withManager({ gaps }, async (dsm) => {
    const request = { ...TWO_DAYS, end: D1 + DAY, strict: true };
    const { table, report } = await dsm.getDataWithReport(request);
    assertRows(table, truthOf(request, { gaps }));
    assert.deepEqual(report.gaps.map((g) => g.class), ["exchange"]);
  });
});

Deno.test("A range wholly before the listing throws DataNotAvailableError, by table and by stream", async () => {
  const symbols = symbolOf("LATEUSDT", D1 + 3 * DAY);
  await withManager({ symbols }, async (dsm) => {
    const request = { ...TWO_DAYS, symbol: "LATEUSDT" };
    const expected = { name: "DataNotAvailableError", code: "DATA_NOT_AVAILABLE" };
    await assert.rejects(dsm.getDataWithReport(request), expected);
    const { batches, report } = dsm.streamWithReport(request);
    await assert.rejects(Array.fromAsync(batches), expected);
    await assert.rejects(report, expected);
  });
});

Deno.test("The span before a mid-day listing is one not_listed gap across partitions and sources", async () => {
  // No archive for the first day, half a day in the second.
  const listed = D1 + DAY + 12 * H;
  const symbols = symbolOf("LATEUSDT", listed);
  await withManager({ symbols }, async (dsm) => {
    const request = { ...TWO_DAYS, symbol: "LATEUSDT" };
    const { table, report } = await dsm.getDataWithReport(request);
    assertRows(table, truthOf(request, { symbols }));
    assert.equal(table.numRows, 12);
    assert.deepEqual(report.gaps, [{ start: D1, end: listed, slots: 36, class: "not_listed" }]);
    assert.equal(report.partial, false);
  });
});

Deno.test("The span after a mid-day delisting is one not_listed gap across partitions", async () => {
  const delisted = D1 + 12 * H;
  const symbols = symbolOf("GONEUSDT", Date.UTC(2023, 0, 1), delisted);
  await withManager({ symbols }, async (dsm) => {
    const request = { ...TWO_DAYS, symbol: "GONEUSDT", end: D1 + 3 * DAY };
    const { table, report } = await dsm.getDataWithReport(request);
    assertRows(table, truthOf(request, { symbols }));
    assert.deepEqual(report.gaps, [{
      start: delisted,
      end: D1 + 3 * DAY,
      slots: 60,
      class: "not_listed",
    }]);
  });
});

Deno.test("A halt at the start of the range is an exchange gap: the day shows earlier trading", async () => {
  const gaps: EmulatedGap[] = [{ start: D1 + 5 * H, end: D1 + 8 * H }];
  await withManager({ gaps }, async (dsm) => {
    const request = { ...TWO_DAYS, start: D1 + 5 * H, end: D1 + 12 * H };
    const { table, report } = await dsm.getDataWithReport(request);
    // Clipped to the range: the rows before it were fetched, not returned.
    assertRows(table, truthOf(request, { gaps }));
    assert.equal(table.numRows, 4);
    assert.deepEqual(report.gaps, [{ ...gaps[0], slots: 3, class: "exchange" }]);
  });
});

Deno.test("A halt at the end of the range is an exchange gap: the day shows later trading", async () => {
  const gaps: EmulatedGap[] = [{ start: D1 + 5 * H, end: D1 + 8 * H }];
  await withManager({ gaps }, async (dsm) => {
    const request = { ...TWO_DAYS, start: D1, end: D1 + 7 * H };
    const { table, report } = await dsm.getDataWithReport(request);
    assertRows(table, truthOf(request, { gaps }));
    assert.deepEqual(report.gaps, [{
      start: D1 + 5 * H,
      end: D1 + 7 * H,
      slots: 2,
      class: "exchange",
    }]);
  });
});

Deno.test("An edge hole is not_listed only when REST confirms no candle beyond the range", async () => {
  const listed = D1 + DAY + 12 * H;
  // Vision alone cannot tell a listing from a halt: the hole stays unconfirmed.
  const symbols = symbolOf("LATEUSDT", listed);
  await withManager({ symbols }, async (dsm) => {
    const request = { ...TWO_DAYS, symbol: "LATEUSDT", source: "vision" } as const;
    const { report } = await dsm.getDataWithReport(request);
    assert.deepEqual(report.gaps.map((g) => [g.start, g.end, g.class]), [
      [D1, D1 + DAY, "unfetched"],
      [D1 + DAY, listed, "unconfirmed"],
    ]);
  });
  // REST shows candles before the range: the hole at its start is a halt.
  const gaps: EmulatedGap[] = [{ start: D1, end: listed }];
  const rec = recordingFetch();
  await withManager({ gaps, missingFiles: ["BTCUSDT-1h-2024-01-01.zip"] }, async (dsm) => {
    const { report } = await dsm.getDataWithReport(TWO_DAYS);
    // The first day had no archive (REST alone saw the hole), the second had one.
    assert.deepEqual(report.gaps, [
      { start: D1, end: D1 + DAY, slots: 24, class: "unconfirmed" },
      { start: D1 + DAY, end: listed, slots: 12, class: "exchange" },
    ]);
    assert.ok(restSpans(rec.urls).some(([s]) => s < D1), "asked REST before the range");
  }, { fetch: rec.fetch });
});

Deno.test("Weekly candles across month partitions have no false gaps at the month edges", async () => {
  const rec = recordingFetch();
  await withManager({}, async (dsm) => {
    const request = {
      symbol: "BTCUSDT",
      interval: "1w",
      start: Date.UTC(2024, 9, 1),
      end: Date.UTC(2025, 1, 1),
    } as const;
    const { table, report } = await dsm.getDataWithReport(request);
    assertRows(
      table,
      groundTruth("spot", "BTCUSDT", "1w", report.start, report.end),
    );
    assert.equal(table.numRows, 17);
    assert.deepEqual(report.gaps, []);
    assertSources(table, () => "VISION");
    assert.equal(rec.urls.filter(isRest).length, 0);
    assert.deepEqual(
      rec.urls.filter(isZip).map((u) => u.pathname.slice(-11, -4)).sort(),
      ["2024-10", "2024-11", "2024-12", "2025-01"],
    );
  }, { fetch: rec.fetch });
});

Deno.test("fill null returns every slot of the range, the halt as nulls, and counts real rows", async () => {
  const gaps: EmulatedGap[] = [{ start: D1 + 3 * H, end: D1 + 4 * H }];
  await withManager({ gaps }, async (dsm) => {
    const request = { ...TWO_DAYS, end: D1 + DAY, fill: "null" } as const;
    const { batches, report } = dsm.streamWithReport(request);
    const got = await Array.fromAsync(batches);
    assert.equal(got.length, 1);
    assert.equal(got[0].numRows, 24);
    assert.equal(got[0].getChild("open_time")!.get(3), D1 + 3 * H);
    assert.equal(got[0].getChild("close")!.get(3), null);
    assert.notEqual(got[0].getChild("close")!.get(4), null);
    const done = await report;
    assert.equal(done.rows, 23);
    assert.deepEqual(done.gaps.map((g) => g.class), ["exchange"]);
  });
});

Deno.test("A day wholly halted inside the range emits no batch and is one exchange gap", async () => {
  const gaps: EmulatedGap[] = [{ start: D1 + DAY, end: D1 + 2 * DAY }];
  await withManager({ gaps }, async (dsm) => {
    const request = { ...TWO_DAYS, end: D1 + 3 * DAY };
    const { batches, report } = dsm.streamWithReport(request);
    const got = await Array.fromAsync(batches);
    assert.deepEqual(got.map((b) => b.numRows), [24, 24]);
    assertRows(got, truthOf(request, { gaps }));
    const done = await report;
    assert.equal(done.rows, 48);
    assert.deepEqual(done.partitions.map((p) => p.rows), [24, 0, 24]);
    assert.deepEqual(done.gaps, [{ ...gaps[0], slots: 24, class: "exchange" }]);
  });
});

/** Runs `fn` with a temporary cache folder, removed afterwards. */
async function withCacheDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dsm_gap_classes_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("A hole only Vision was asked about is unconfirmed and its day is not cached", async () => {
  const gaps: EmulatedGap[] = [{ start: D1 + 7 * H, end: D1 + 8 * H }];
  await withCacheDir(async (dir) => {
    await withManager({ gaps }, async (dsm) => {
      const request = { ...TWO_DAYS, end: D1 + DAY, source: "vision" } as const;
      const { table, report } = await dsm.getDataWithReport(request);
      assertRows(table, truthOf(request, { gaps }));
      assert.deepEqual(report.gaps, [{ ...gaps[0], slots: 1, class: "unconfirmed" }]);
      assert.deepEqual(report.partitions.map((p) => p.cached), [false]);
      const cached = await dsm.getDataWithReport({ ...request, source: "cache" });
      assert.equal(cached.table.numRows, 0);
    }, { cache: { dir } });
  });
});

Deno.test("A halt at the start of the range stays exchange when the next day comes from the cache", async () => {
  // Trading halted at noon of the first day; the range starts at that noon.
  // The rows seen before the range show the market was listed.
  const gaps: EmulatedGap[] = [{ start: D1 + 12 * H, end: D1 + DAY }];
  await withCacheDir(async (dir) => {
    await withManager({ gaps }, async (dsm) => {
      await dsm.getData({ ...TWO_DAYS, start: D1 + DAY });
      const request = { ...TWO_DAYS, start: D1 + 12 * H };
      const { table, report } = await dsm.getDataWithReport(request);
      assertRows(table, truthOf(request, { gaps }));
      assertSources(table, () => "CACHE");
      assert.deepEqual(report.partitions.map((p) => p.sources), [["vision-daily"], ["cache"]]);
      assert.deepEqual(report.gaps, [{ ...gaps[0], slots: 12, class: "exchange" }]);
    }, { cache: { dir } });
  });
});

Deno.test("A row printed off the grid is left out and reported, and its day is still cached", async () => {
  // 2018-02-11 in the real-like history: the first four hours open at :28.
  const day = Date.UTC(2018, 1, 11);
  const request = { symbol: "BTCUSDT", interval: "1h", start: day, end: day + DAY } as const;
  const truth = truthOf(request, {});
  assert.equal(truth.offGrid.length, 4);
  await withCacheDir(async (dir) => {
    await withManager({}, async (dsm) => {
      const cold = await dsm.getDataWithReport(request);
      assertRows(cold.table, truth);
      assert.equal(cold.report.anomalyCount, 4);
      assert.deepEqual(
        cold.report.anomalies.map((a) => [a.kind, a.openTime]),
        truth.offGrid.map((t) => ["off_grid", t]),
      );
      assert.deepEqual(cold.report.gaps, [{
        start: day,
        end: day + 4 * H,
        slots: 4,
        class: "off_grid",
      }]);
      assert.deepEqual(cold.report.partitions.map((p) => p.cached), [true]);
      const warm = await dsm.getDataWithReport({ ...request, source: "cache" });
      assertRows(warm.table, truth);
      assert.deepEqual(warm.report.gaps, cold.report.gaps);
      assert.deepEqual(warm.report.anomalies, cold.report.anomalies);
    }, { cache: { dir } });
  });
});
