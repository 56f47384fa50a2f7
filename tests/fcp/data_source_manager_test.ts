import assert from "node:assert/strict";
import { ceilOpenTime, floorOpenTime, type Interval } from "../../src/core/interval.ts";
import type { Market } from "../../src/core/market.ts";
import { partitionsOf } from "../../src/core/partition.ts";
import type { DataSource } from "../../src/core/schema.ts";
import { startEmulator } from "../../src/emulator/emulator.ts";
import type { EmulatorOptions } from "../../src/emulator/emulator_options.ts";
import {
  DataSourceManager,
  type DataSourceManagerOptions,
} from "../../src/fcp/data_source_manager.ts";
import type { FetchReport, Gap } from "../../src/fcp/fetch_report.ts";
import type { KlineRequest } from "../../src/fcp/kline_request.ts";
import {
  assertRows,
  assertSources,
  groundTruth,
  rowsOf,
  type TruthOptions,
} from "./_ground_truth.ts";
import { DEFAULT_SYMBOLS, type EmulatedSymbol } from "../../src/emulator/symbol_catalogue.ts";

const NOW = Date.UTC(2025, 1, 10, 12, 30);
const DAY = 86_400_000;
const RETRY = { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 };

type Emu = Awaited<ReturnType<typeof startEmulator>>;

async function withManager(
  emulator: EmulatorOptions,
  fn: (dsm: DataSourceManager, emu: Emu) => Promise<void>,
  manager: DataSourceManagerOptions = {},
): Promise<void> {
  const now = (emulator.now as number | undefined) ?? NOW;
  await using emu = await startEmulator({ latencyMs: 0, ...emulator, now });
  await using dsm = new DataSourceManager({
    cache: false,
    now: () => now,
    retry: RETRY,
    endpoints: { vision: emu.url, listing: emu.url, rest: emu.url },
    ...manager,
  });
  await fn(dsm, emu);
}

/** The request's range as the manager resolves it (closed candles only). */
function resolvedRange(
  interval: Interval,
  start: number,
  end: number,
  now = NOW,
): { start: number; end: number } {
  const open = floorOpenTime(now, interval);
  const s = Math.min(ceilOpenTime(start, interval), open);
  return { start: s, end: Math.max(s, Math.min(ceilOpenTime(end, interval), open)) };
}

interface Case {
  market: Market;
  symbol: string;
  interval: Interval;
  start: number;
  end: number;
}

function truthOf(c: Case, options: TruthOptions = {}, now = NOW) {
  const r = resolvedRange(c.interval, c.start, c.end, now);
  return { range: r, truth: groundTruth(c.market, c.symbol, c.interval, r.start, r.end, options) };
}

function gapsOf(report: FetchReport): Omit<Gap, "slots">[] {
  return report.gaps.map(({ start, end, class: cls }) => ({ start, end, class: cls }));
}

/** Asserts rows, sources and that the report explains exactly the missing slots. */
async function check(
  dsm: DataSourceManager,
  c: Case,
  expect: {
    source: (t: number) => DataSource;
    gapClass?: (gap: { start: number; end: number }) => Gap["class"];
    request?: Partial<KlineRequest>;
  },
  options: TruthOptions = {},
  now = NOW,
): Promise<FetchReport> {
  const { table, report } = await dsm.getDataWithReport({
    market: c.market,
    symbol: c.symbol,
    interval: c.interval,
    start: c.start,
    end: c.end,
    ...expect.request,
  });
  const { range, truth } = truthOf(c, options, now);
  assertRows(table, truth);
  assertSources(table, expect.source);
  assert.equal(report.rows, truth.length);
  assert.equal(report.start, range.start);
  assert.equal(report.end, range.end);
  assert.deepEqual(
    report.gaps,
    truth.missing.map((m) => ({ ...m, class: expect.gapClass?.(m) ?? "exchange" })),
  );
  assert.equal(report.anomalyCount, 0);
  return report;
}

const VISION = () => "VISION" as const;

const REST = () => "REST" as const;
const NOT_LISTED = () => "not_listed" as const;
const UNCONFIRMED = () => "unconfirmed" as const;

// A catalogue listing every symbol from 2024-06-01, so that the listings are
// short and the interval matrix runs fast; prices do not depend on the listing.
const LATE: readonly EmulatedSymbol[] = DEFAULT_SYMBOLS.filter((s) => s.delistedAt === undefined)
  .map((s) => ({ ...s, listedAt: Math.max(s.listedAt, Date.UTC(2024, 5, 1)) }));

const DAILY: Interval[] = [
  "1m",
  "3m",
  "5m",
  "15m",
  "30m",
  "1h",
  "2h",
  "4h",
  "6h",
  "8h",
  "12h",
  "1d",
];
const MARKETS: [Market, string][] = [["spot", "BTCUSDT"], ["um", "ETHUSDT"], ["cm", "BTCUSD_PERP"]];

Deno.test("DataSourceManager matrix: every daily interval on every market across the 2025 year, month and µs boundary", async () => {
  await withManager({ symbols: LATE }, async (dsm) => {
    for (const [market, symbol] of MARKETS) {
      for (const interval of DAILY) {
        const c = {
          market,
          symbol,
          interval,
          start: Date.UTC(2024, 11, 31, 13),
          end: Date.UTC(2025, 0, 1, 11),
        };
        const report = await check(dsm, c, { source: VISION }, { symbols: LATE });
        const r = resolvedRange(interval, c.start, c.end);
        assert.deepEqual(
          report.partitions.map((p) => [p.key, p.sources.join()]),
          partitionsOf(r.start, r.end, interval).map((p) => [p.key, "vision-daily"]),
        );
        assert.equal(report.partial, false);
      }
    }
  });
});

Deno.test("DataSourceManager matrix: 3d, 1w and 1M on every market, closed months from Vision, the open month from REST", async () => {
  await withManager({ symbols: LATE }, async (dsm) => {
    for (const [market, symbol] of MARKETS) {
      for (const interval of ["3d", "1w", "1M"] as Interval[]) {
        const c = {
          market,
          symbol,
          interval,
          start: Date.UTC(2024, 9, 15),
          end: Date.UTC(2025, 2, 1),
        };
        const report = await check(
          dsm,
          c,
          { source: (t) => (t < Date.UTC(2025, 1, 1) ? "VISION" : "REST") },
          { symbols: LATE },
        );
        const months = report.partitions.map((p) => [p.key, p.sources.join()]);
        const closed = [["2024-10", "vision-monthly"], ["2024-11", "vision-monthly"], [
          "2024-12",
          "vision-monthly",
        ], ["2025-01", "vision-monthly"]];
        assert.deepEqual(
          months,
          interval === "1M" ? closed.slice(1) : [...closed, ["2025-02", "rest"]],
        );
      }
    }
  });
});

Deno.test("DataSourceManager matrix: 1s on spot across the µs switch at 2025-01-01", async () => {
  await withManager({ symbols: LATE }, async (dsm) => {
    const c: Case = {
      market: "spot",
      symbol: "BTCUSDT",
      interval: "1s",
      start: Date.UTC(2024, 11, 31, 23, 58),
      end: Date.UTC(2025, 0, 1, 0, 2),
    };
    const report = await check(dsm, c, { source: VISION }, { symbols: LATE });
    assert.equal(report.rows, 240);
  });
});

Deno.test("DataSourceManager serves whole closed months from the monthly archives, ms then µs", async () => {
  await withManager({ symbols: LATE }, async (dsm, emu) => {
    const c: Case = {
      market: "spot",
      symbol: "BTCUSDT",
      interval: "1h",
      start: Date.UTC(2024, 11, 1),
      end: Date.UTC(2025, 1, 1),
    };
    const report = await check(dsm, c, { source: VISION }, { symbols: LATE });
    assert.equal(report.rows, 62 * 24);
    assert.ok(report.partitions.every((p) => p.sources.join() === "vision-monthly"));
    assert.equal(emu.stats.requests.vision, 2);
    assert.equal(report.requests.visionFiles, 2);
    assert.equal(report.requests.restCalls, 0);
  });
});
