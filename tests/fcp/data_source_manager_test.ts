import assert from "node:assert/strict";
import { ceilOpenTime, floorOpenTime, type Interval } from "../../src/core/interval.ts";
import type { Market } from "../../src/core/market.ts";
import { HostFailingError } from "../../src/core/errors.ts";
import { partitionsOf } from "../../src/core/partition.ts";
import { type DataSource, KLINE_COLUMN_KEYS } from "../../src/core/schema.ts";
import type { RecordBatch, Table } from "apache-arrow";
import { findMissing } from "../../src/fcp/kline_checks.ts";
import { startEmulator } from "../../src/emulator/emulator.ts";
import type { EmulatorOptions } from "../../src/emulator/emulator_options.ts";
import {
  DataSourceManager,
  type DataSourceManagerOptions,
  type Endpoints,
} from "../../src/fcp/data_source_manager.ts";
import { Faults } from "../../src/emulator/faults.ts";
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
  endpoints: (url: string) => Partial<Endpoints> = () => ({}),
): Promise<void> {
  await using emu = await startEmulator({ latencyMs: 0, now: NOW, ...emulator });
  await using dsm = new DataSourceManager({
    cache: false,
    now: () => NOW,
    retry: RETRY,
    ...manager,
    endpoints: { vision: emu.url, listing: emu.url, rest: emu.url, ...endpoints(emu.url) },
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

// ---------------------------------------------------------------------------
// Recent days, missing and partial files, exchange gaps, checksum failures

const DEC10 = Date.UTC(2024, 11, 10);
const HALT = { start: DEC10 + 5 * 3_600_000 + 30 * 60_000, end: DEC10 + 7 * 3_600_000 };
const BTC: Omit<Case, "interval" | "start" | "end"> = { market: "spot", symbol: "BTCUSDT" };

Deno.test("DataSourceManager takes today from REST and every published day from Vision", async () => {
  await withManager({ symbols: LATE }, async (dsm) => {
    const c: Case = {
      ...BTC,
      interval: "1h",
      start: Date.UTC(2025, 1, 8),
      end: Date.UTC(2025, 1, 12),
    };
    const today = Date.UTC(2025, 1, 10);
    const report = await check(dsm, c, { source: (t) => (t < today ? "VISION" : "REST") }, {
      symbols: LATE,
    });
    assert.equal(report.end, Date.UTC(2025, 1, 10, 12));
    assert.deepEqual(report.partitions.map((p) => [p.key, p.sources.join(), p.rows]), [
      ["2025-02-08", "vision-daily", 24],
      ["2025-02-09", "vision-daily", 24],
      ["2025-02-10", "rest", 12],
    ]);
  });
});

Deno.test("DataSourceManager takes the days Vision has not published yet from REST", async () => {
  await withManager({ symbols: LATE, publicationLagDays: 3 }, async (dsm, emu) => {
    const c: Case = {
      ...BTC,
      interval: "1h",
      start: Date.UTC(2025, 1, 5),
      end: Date.UTC(2025, 1, 11),
    };
    const lagged = Date.UTC(2025, 1, 7);
    const report = await check(dsm, c, { source: (t) => (t < lagged ? "VISION" : "REST") }, {
      symbols: LATE,
    });
    assert.deepEqual(report.partitions.map((p) => p.sources.join()), [
      "vision-daily",
      "vision-daily",
      "rest",
      "rest",
      "rest",
      "rest",
    ]);
    assert.equal(emu.stats.requests.vision, 2);
    assert.deepEqual(report.failures, []);
  });
});

Deno.test("DataSourceManager serves a day missing from Vision from REST", async () => {
  await withManager({ symbols: LATE, missingFiles: ["BTCUSDT-1h-2024-12-10.zip"] }, async (dsm) => {
    const c: Case = { ...BTC, interval: "1h", start: DEC10 - DAY, end: DEC10 + 2 * DAY };
    const report = await check(
      dsm,
      c,
      { source: (t) => (t >= DEC10 && t < DEC10 + DAY ? "REST" : "VISION") },
      { symbols: LATE },
    );
    assert.deepEqual(report.partitions.map((p) => p.sources.join()), [
      "vision-daily",
      "rest",
      "vision-daily",
    ]);
    assert.equal(report.partial, false);
  });
});

Deno.test("DataSourceManager falls back to REST when a day 404s and the listing is unreachable", async () => {
  await withManager(
    { symbols: LATE, missingFiles: ["BTCUSDT-1h-2024-12-10.zip"] },
    async (dsm) => {
      const c: Case = { ...BTC, interval: "1h", start: DEC10 - DAY, end: DEC10 + DAY };
      const report = await check(dsm, c, { source: (t) => (t >= DEC10 ? "REST" : "VISION") }, {
        symbols: LATE,
      });
      assert.ok(report.requests.listingPages >= 1);
      assert.deepEqual(report.failures, []);
    },
    { endpoints: undefined },
    (url) => ({ listing: `${url}/no-listing` }),
  );
});

Deno.test("DataSourceManager falls back from a missing monthly archive to the daily ones", async () => {
  await withManager({ symbols: LATE, missingFiles: ["BTCUSDT-1h-2024-12.zip"] }, async (dsm) => {
    const c: Case = {
      ...BTC,
      interval: "1h",
      start: Date.UTC(2024, 11, 1),
      end: Date.UTC(2025, 0, 1),
    };
    const report = await check(dsm, c, { source: VISION }, { symbols: LATE });
    assert.equal(report.partitions.length, 31);
    assert.ok(report.partitions.every((p) => p.sources.join() === "vision-daily"));
  });
});

Deno.test("DataSourceManager fills the rest of a partial Vision file from REST", async () => {
  const name = "BTCUSDT-1m-2024-12-10.zip";
  const keep = new Faults({ partialFiles: [name] })
    .keepFraction(`data/spot/daily/klines/BTCUSDT/1m/${name}`);
  const cut = DEC10 + Math.floor(1440 * keep) * 60_000;
  assert.ok(cut > DEC10 && cut < DEC10 + DAY);
  await withManager({ symbols: LATE, partialFiles: [name] }, async (dsm) => {
    const c: Case = { ...BTC, interval: "1m", start: DEC10, end: DEC10 + DAY };
    const report = await check(dsm, c, { source: (t) => (t < cut ? "VISION" : "REST") }, {
      symbols: LATE,
    });
    assert.deepEqual(report.partitions[0].sources, ["vision-daily", "rest"]);
  });
});

Deno.test("DataSourceManager reports an exchange halt that both sources confirm", async () => {
  await withManager({ symbols: LATE, gaps: [HALT] }, async (dsm) => {
    for (const interval of ["1m", "5m", "1h"] as Interval[]) {
      const c: Case = { ...BTC, interval, start: DEC10, end: DEC10 + DAY };
      const report = await check(dsm, c, { source: VISION }, { symbols: LATE, gaps: [HALT] });
      assert.equal(report.gaps.length, 1);
      assert.equal(report.gaps[0].class, "exchange");
      assert.equal(report.partial, false);
    }
  });
});

Deno.test("DataSourceManager reports the default 2023-03-24 halt in a monthly archive", async () => {
  await withManager({}, async (dsm) => {
    const c: Case = {
      ...BTC,
      interval: "1h",
      start: Date.UTC(2023, 2, 1),
      end: Date.UTC(2023, 3, 1),
    };
    const report = await check(dsm, c, { source: VISION });
    assert.deepEqual(gapsOf(report), [{
      start: Date.UTC(2023, 2, 24, 13),
      end: Date.UTC(2023, 2, 24, 15),
      class: "exchange",
    }]);
    assert.ok(report.partitions.every((p) => p.sources[0] === "vision-monthly"));
  });
});

Deno.test("DataSourceManager replaces a file failing its checksum by REST and reports the failure", async () => {
  await withManager(
    { symbols: LATE, gaps: [HALT], checksumMismatch: ["BTCUSDT-1h-2024-12-10.zip"] },
    async (dsm) => {
      const c: Case = { ...BTC, interval: "1h", start: DEC10 - DAY, end: DEC10 + DAY };
      const report = await check(
        dsm,
        c,
        { source: (t) => (t >= DEC10 ? "REST" : "VISION"), gapClass: UNCONFIRMED },
        { symbols: LATE, gaps: [HALT] },
      );
      assert.deepEqual(report.failures.map((f) => [f.partition, f.code]), [[
        "2024-12-10",
        "CHECKSUM_MISMATCH",
      ]]);
      assert.equal(report.partitions[1].sha256, undefined);
      assert.equal(report.partial, false);
    },
  );
});

Deno.test("DataSourceManager reads the futures header rows (um from 2022-07, cm from 2020-09)", async () => {
  await withManager({}, async (dsm) => {
    await check(dsm, {
      market: "um",
      symbol: "BTCUSDT",
      interval: "1h",
      start: Date.UTC(2022, 5, 30),
      end: Date.UTC(2022, 6, 2),
    }, { source: VISION });
    await check(dsm, {
      market: "cm",
      symbol: "ETHUSD_PERP",
      interval: "4h",
      start: Date.UTC(2020, 7, 31),
      end: Date.UTC(2020, 8, 2),
    }, { source: VISION });
  });
});

// ---------------------------------------------------------------------------
// Listing and delisting

Deno.test("DataSourceManager reports the span before a mid-day listing as not_listed", async () => {
  await withManager({}, async (dsm) => {
    const c: Case = {
      market: "spot",
      symbol: "NEWUSDT",
      interval: "1h",
      start: Date.UTC(2024, 2, 14),
      end: Date.UTC(2024, 2, 16),
    };
    const report = await check(dsm, c, { source: VISION, gapClass: NOT_LISTED });
    assert.deepEqual(gapsOf(report), [{
      start: Date.UTC(2024, 2, 14),
      end: Date.UTC(2024, 2, 15, 12),
      class: "not_listed",
    }]);
  });
});

Deno.test("DataSourceManager reports the span after a delisting as not_listed", async () => {
  await withManager({}, async (dsm) => {
    const c: Case = {
      market: "spot",
      symbol: "OLDUSDT",
      interval: "1h",
      start: Date.UTC(2022, 5, 29),
      end: Date.UTC(2022, 6, 2),
    };
    const report = await check(dsm, c, { source: VISION, gapClass: NOT_LISTED });
    assert.equal(report.gaps.length, 1);
    assert.equal(report.gaps[0].start, Date.UTC(2022, 5, 30, 12));
  });
});

Deno.test("DataSourceManager throws DataNotAvailableError before the listing and after the delisting", async () => {
  await withManager({}, async (dsm) => {
    await assert.rejects(
      dsm.getData({ symbol: "NEWUSDT", interval: "1h", start: "2024-03-01", end: "2024-03-10" }),
      { name: "DataNotAvailableError", code: "DATA_NOT_AVAILABLE" },
    );
    await assert.rejects(
      dsm.getData({ symbol: "OLDUSDT", interval: "1d", start: "2022-08-01", end: "2022-10-01" }),
      { code: "DATA_NOT_AVAILABLE" },
    );
    await assert.rejects(
      dsm.getData({
        market: "um",
        symbol: "NEWUSDT",
        interval: "1w",
        start: "2024-01-01",
        end: "2024-03-01",
      }),
      { code: "DATA_NOT_AVAILABLE" },
    );
  });
});

// ---------------------------------------------------------------------------
// Storms: 5xx, 429, 418

/**
 * Asserts a possibly partial result: every row returned is the truth, every
 * slot missing from the result is covered by exactly one gap, a gap other
 * than `unfetched` holds no candle of the truth, and `partial` says whether
 * any slot is unfetched.
 */
function assertExplained(table: Table, report: FetchReport, c: Case, options: TruthOptions) {
  const { range, truth } = truthOf(c, options);
  const got = rowsOf(table);
  const index = new Map<number, number>();
  for (let i = 0; i < truth.length; i++) index.set(truth.columns.openTime[i], i);
  for (let i = 0; i < got.length; i++) {
    const j = index.get(got.columns.openTime[i]);
    assert.notEqual(j, undefined, `row ${got.columns.openTime[i]} is not in the truth`);
    for (const key of KLINE_COLUMN_KEYS) assert.equal(got.columns[key][i], truth.columns[key][j!]);
  }
  const missing = findMissing(got.columns.openTime, got.length, range.start, range.end, c.interval);
  const merged: { start: number; end: number }[] = [];
  for (const g of report.gaps) {
    const last = merged.at(-1);
    if (last && last.end === g.start) last.end = g.end;
    else merged.push({ start: g.start, end: g.end });
  }
  assert.deepEqual(merged, missing.map(({ start, end }) => ({ start, end })));
  for (const g of report.gaps) {
    if (g.class === "unfetched") continue;
    const inside = [...index.keys()].filter((t) => t >= g.start && t < g.end);
    assert.deepEqual(inside, [], `a ${g.class} gap hides candles`);
  }
  assert.equal(report.partial, report.gaps.some((g) => g.class === "unfetched"));
  assert.equal(report.rows, got.length);
}

Deno.test("DataSourceManager rides out a 5xx storm: retried rows are exact, failures explained", async () => {
  for (const seed of [1, 2, 3]) {
    await withManager({ symbols: LATE, errorRate: 0.3, seed }, async (dsm) => {
      const c: Case = {
        ...BTC,
        interval: "1h",
        start: Date.UTC(2025, 1, 3),
        end: Date.UTC(2025, 1, 11),
      };
      const { table, report } = await dsm.getDataWithReport(c);
      assertExplained(table, report, c, { symbols: LATE, seed });
      for (const f of report.failures) assert.match(f.code, /HTTP_ERROR|NETWORK_ERROR/);
    });
  }
});

Deno.test("DataSourceManager throws the sources' error, not an empty table, when every request fails", async () => {
  await withManager({ symbols: LATE, errorRate: 1 }, async (dsm) => {
    const c: Case = {
      ...BTC,
      interval: "1h",
      start: Date.UTC(2025, 1, 8),
      end: Date.UTC(2025, 1, 11),
    };
    // Every request fails: the circuit breaker stops the host after 10 failures in a row.
    for (const strict of [false, true]) {
      await assert.rejects(dsm.getDataWithReport({ ...c, strict }), (error: Error) => {
        assert.equal(error.name, "NetworkError");
        assert.match(
          error.message,
          /the sources kept failing .*10 failed requests in a row, the last: .*HTTP 5\d\d/,
        );
        assert.equal(error.cause instanceof HostFailingError, true);
        return true;
      });
    }
  });
});

Deno.test("DataSourceManager waits out 429s and returns every row", async () => {
  const started = Date.now();
  await withManager(
    {
      symbols: LATE,
      now: () => NOW + (Date.now() - started),
      weightBudget: { spot: 4 },
      weightWindowMs: 1_000,
      banAfter: 100,
    },
    async (dsm, emu) => {
      const c: Case = {
        ...BTC,
        interval: "1m",
        start: Date.UTC(2025, 1, 8),
        end: Date.UTC(2025, 1, 10),
      };
      const report = await check(dsm, c, { source: REST, request: { source: "rest" } }, {
        symbols: LATE,
      });
      assert.ok((emu.stats.statuses[429] ?? 0) >= 1);
      assert.ok(report.requests.restCalls >= 3);
      assert.ok(report.requests.restWeight >= 6);
      assert.deepEqual(report.failures, []);
    },
  );
});

Deno.test("DataSourceManager stops at a 418 ban and reports the rest unfetched", async () => {
  await withManager(
    { symbols: LATE, weightBudget: { spot: 2 }, banAfter: 0 },
    async (dsm) => {
      const c: Case = {
        ...BTC,
        interval: "1m",
        start: Date.UTC(2025, 1, 8),
        end: Date.UTC(2025, 1, 10),
      };
      const { table, report } = await dsm.getDataWithReport({ ...c, source: "rest" });
      assertExplained(table, report, c, { symbols: LATE });
      assert.equal(report.partial, true);
      assert.ok(report.failures.some((f) => f.code === "RATE_LIMITED"));
    },
  );
});

// ---------------------------------------------------------------------------
// Source modes

Deno.test("DataSourceManager with source rest never calls Vision", async () => {
  await withManager({ symbols: LATE }, async (dsm, emu) => {
    const c: Case = {
      ...BTC,
      interval: "1h",
      start: Date.UTC(2024, 11, 30),
      end: Date.UTC(2025, 0, 2),
    };
    const report = await check(dsm, c, { source: REST, request: { source: "rest" } }, {
      symbols: LATE,
    });
    assert.equal(emu.stats.requests.vision + emu.stats.requests.checksum, 0);
    assert.equal(emu.stats.requests.listing, 0);
    assert.ok(report.partitions.every((p) => p.sources.join() === "rest"));
  });
});

Deno.test("DataSourceManager with source vision never calls REST and reports today unfetched", async () => {
  await withManager({ symbols: LATE }, async (dsm, emu) => {
    const c: Case = {
      ...BTC,
      interval: "1h",
      start: Date.UTC(2025, 1, 8),
      end: Date.UTC(2025, 1, 11),
    };
    const { table, report } = await dsm.getDataWithReport({ ...c, source: "vision" });
    const today = Date.UTC(2025, 1, 10);
    assertRows(table, groundTruth("spot", "BTCUSDT", "1h", c.start, today, { symbols: LATE }));
    assertSources(table, VISION);
    assert.equal(emu.stats.requests.rest, 0);
    assert.deepEqual(gapsOf(report), [{
      start: today,
      end: Date.UTC(2025, 1, 10, 12),
      class: "unfetched",
    }]);
    assert.equal(report.partial, true);
    await assert.rejects(dsm.getData({ ...c, source: "vision", strict: true }), {
      code: "DATA_NOT_AVAILABLE",
    });
  });
});

Deno.test("DataSourceManager with source vision leaves holes unconfirmed", async () => {
  await withManager({ symbols: LATE, gaps: [HALT] }, async (dsm, emu) => {
    const c: Case = { ...BTC, interval: "1h", start: DEC10, end: DEC10 + DAY };
    const report = await check(
      dsm,
      c,
      { source: VISION, gapClass: UNCONFIRMED, request: { source: "vision" } },
      { symbols: LATE, gaps: [HALT] },
    );
    assert.equal(report.partial, false);
    assert.equal(emu.stats.requests.rest, 0);
  });
});

Deno.test("DataSourceManager with source cache and no cache makes no request at all", async () => {
  await withManager({ symbols: LATE }, async (dsm, emu) => {
    const c: Case = { ...BTC, interval: "1h", start: DEC10, end: DEC10 + DAY };
    const { table, report } = await dsm.getDataWithReport({ ...c, source: "cache" });
    assert.equal(table.numRows, 0);
    assert.deepEqual(gapsOf(report), [{ start: DEC10, end: DEC10 + DAY, class: "unfetched" }]);
    await assert.rejects(dsm.getData({ ...c, source: "cache", strict: true }), {
      code: "DATA_NOT_AVAILABLE",
    });
    const { requests } = emu.stats;
    assert.equal(requests.vision + requests.checksum + requests.listing + requests.rest, 0);
  });
});

// ---------------------------------------------------------------------------
// Output options

Deno.test("DataSourceManager null-fills the halt when asked", async () => {
  await withManager({ symbols: LATE, gaps: [HALT] }, async (dsm) => {
    const { table, report } = await dsm.getDataWithReport({
      ...BTC,
      interval: "30m",
      start: DEC10,
      end: DEC10 + DAY,
      fill: "null",
    });
    assert.equal(table.numRows, 48);
    const close = table.getChild("close")!;
    const source = table.getChild("_data_source")!;
    const nulls = [...Array(48).keys()].filter((i) => close.get(i) === null);
    assert.deepEqual(nulls, [11, 12, 13]);
    assert.equal(source.get(11), null);
    assert.equal(source.get(10), "VISION");
    assert.equal(report.rows, 45);
    assert.equal(table.getChild("open_time")!.get(12), DEC10 + 6 * 3_600_000);
  });
});

Deno.test("DataSourceManager leaves out _data_source when asked", async () => {
  await withManager({ symbols: LATE }, async (dsm) => {
    const c: Case = { ...BTC, interval: "1h", start: DEC10, end: DEC10 + DAY };
    const table = await dsm.getData({ ...c, includeSourceInfo: false });
    assert.equal(table.getChild("_data_source"), null);
    assert.equal(table.schema.fields.length, 11);
    assertRows(table, truthOf(c, { symbols: LATE }).truth);
  });
});

Deno.test("DataSourceManager returns an empty table for a range not yet open", async () => {
  await withManager({ symbols: LATE }, async (dsm) => {
    const { table, report } = await dsm.getDataWithReport({
      ...BTC,
      interval: "1h",
      start: "2025-02-10T12:10",
      end: "2025-03-01",
    });
    assert.equal(table.numRows, 0);
    assert.equal(report.start, report.end);
    assert.deepEqual(report.gaps, []);
  });
});

Deno.test({
  name: "DataSourceManager includes the open candle when asked",
  fn: async () => {
    await withManager({ symbols: LATE }, async (dsm) => {
      const { table, report } = await dsm.getDataWithReport({
        ...BTC,
        interval: "1h",
        start: "2025-02-10",
        end: "2025-02-11",
        includeOpenCandle: true,
      });
      assert.equal(table.numRows, 13);
      assert.deepEqual(report.gaps, []);
    });
  },
});

// ---------------------------------------------------------------------------
// Streaming and aborts

Deno.test("DataSourceManager streams one batch per partition in time order, then the report", async () => {
  await withManager({ symbols: LATE }, async (dsm) => {
    const c: Case = {
      ...BTC,
      interval: "1h",
      start: Date.UTC(2025, 1, 7),
      end: Date.UTC(2025, 1, 11),
    };
    const { batches, report } = dsm.streamWithReport(c);
    const got: RecordBatch[] = [];
    for await (const b of batches) got.push(b);
    assert.deepEqual(got.map((b) => b.numRows), [24, 24, 24, 12]);
    assertRows(got, truthOf(c, { symbols: LATE }).truth);
    assert.equal((await report).rows, 84);
  });
});

Deno.test("DataSourceManager rejects with the caller's abort reason mid-stream", async () => {
  await withManager({ symbols: LATE, latencyMs: 20 }, async (dsm) => {
    const controller = new AbortController();
    const reason = new Error("caller gave up");
    const c: Case = {
      ...BTC,
      interval: "1h",
      start: Date.UTC(2025, 0, 1),
      end: Date.UTC(2025, 0, 20),
    };
    const { batches, report } = dsm.streamWithReport(c, { signal: controller.signal });
    const reader = batches.getReader();
    assert.equal((await reader.read()).value?.numRows, 24);
    controller.abort(reason);
    await assert.rejects(reader.read(), (e) => e === reason);
    await assert.rejects(report, (e) => e === reason);
  }, { concurrency: 2 });
});

Deno.test("DataSourceManager refuses to start with an aborted signal", async () => {
  await withManager({ symbols: LATE }, async (dsm, emu) => {
    const reason = new Error("already");
    const c = { ...BTC, interval: "1h" as const, start: DEC10, end: DEC10 + DAY };
    await assert.rejects(
      dsm.getData(c, { signal: AbortSignal.abort(reason) }),
      (e) => e === reason,
    );
    assert.equal(emu.stats.requests.listing, 0);
  });
});

Deno.test("DataSourceManager close() stops a fetch in flight", async () => {
  await withManager({ symbols: LATE, latencyMs: 20 }, async (dsm) => {
    const c = {
      ...BTC,
      interval: "1h" as const,
      start: Date.UTC(2025, 0, 1),
      end: Date.UTC(2025, 0, 20),
    };
    const pending = dsm.getData(c);
    await new Promise((r) => setTimeout(r, 30));
    await dsm.close();
    await assert.rejects(pending, { name: "AbortError" });
  });
});

Deno.test("DataSourceManager stops downloading when the stream is cancelled", async () => {
  await withManager({ symbols: LATE, latencyMs: 20 }, async (dsm, emu) => {
    const c = {
      ...BTC,
      interval: "1h" as const,
      start: Date.UTC(2025, 0, 1),
      end: Date.UTC(2025, 1, 1),
    };
    const { batches, report } = dsm.streamWithReport(c);
    const reader = batches.getReader();
    await reader.read();
    await reader.cancel(new Error("enough"));
    await assert.rejects(report, { message: "enough" });
    const seen = emu.stats.requests.vision;
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(emu.stats.requests.vision, seen);
    assert.ok(seen < 31);
  }, { concurrency: 2 });
});

// ---------------------------------------------------------------------------
// Cold, warm and partially cached (Arrow IPC cache in a temporary folder)

async function withCacheDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dsm_fcp_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const netRequests = (emu: Emu) => {
  const r = emu.stats.requests;
  return r.vision + r.checksum + r.listing + r.rest;
};

Deno.test("DataSourceManager cold, warm and partially cached return the same exact rows", async () => {
  await withCacheDir(async (dir) => {
    await withManager({ symbols: LATE, gaps: [HALT] }, async (dsm, emu) => {
      const opts = { symbols: LATE, gaps: [HALT] };
      const cold: Case = { ...BTC, interval: "1h", start: DEC10 - DAY, end: DEC10 + 2 * DAY };
      const first = await check(dsm, cold, { source: VISION }, opts);
      assert.deepEqual(first.partitions.map((p) => p.cached), [true, true, true]);

      emu.reset();
      const warm = await check(dsm, cold, { source: () => "CACHE" }, opts);
      assert.equal(netRequests(emu), 0);
      assert.deepEqual(warm.partitions.map((p) => p.sources.join()), ["cache", "cache", "cache"]);
      assert.deepEqual(warm.partitions.map((p) => p.cached), [false, false, false]);
      // The halt was confirmed when the day was cached: still an exchange gap.
      assert.deepEqual(gapsOf(warm).map((g) => g.class), ["exchange"]);

      emu.reset();
      const wider: Case = { ...BTC, interval: "1h", start: DEC10 - 3 * DAY, end: DEC10 + 4 * DAY };
      const partly = await check(
        dsm,
        wider,
        { source: (t) => (t >= DEC10 - DAY && t < DEC10 + 2 * DAY ? "CACHE" : "VISION") },
        opts,
      );
      assert.deepEqual(partly.partitions.map((p) => p.sources.join()), [
        "vision-daily",
        "vision-daily",
        "cache",
        "cache",
        "cache",
        "vision-daily",
        "vision-daily",
      ]);
      assert.equal(emu.stats.requests.vision, 4);
    }, { cache: { dir } });
  });
});

Deno.test("DataSourceManager never caches today and serves the cache alone with source cache", async () => {
  await withCacheDir(async (dir) => {
    await withManager({ symbols: LATE }, async (dsm, emu) => {
      const c: Case = {
        ...BTC,
        interval: "1h",
        start: Date.UTC(2025, 1, 9),
        end: Date.UTC(2025, 1, 11),
      };
      const first = await check(dsm, c, {
        source: (t) => (t < Date.UTC(2025, 1, 10) ? "VISION" : "REST"),
      }, { symbols: LATE });
      assert.deepEqual(first.partitions.map((p) => p.cached), [true, false]);
      emu.reset();
      const { table, report } = await dsm.getDataWithReport({ ...c, source: "cache" });
      assertRows(
        table,
        groundTruth("spot", "BTCUSDT", "1h", c.start, Date.UTC(2025, 1, 10), { symbols: LATE }),
      );
      assertSources(table, () => "CACHE");
      assert.deepEqual(gapsOf(report), [{
        start: Date.UTC(2025, 1, 10),
        end: Date.UTC(2025, 1, 10, 12),
        class: "unfetched",
      }]);
      assert.equal(netRequests(emu), 0);
    }, { cache: { dir } });
  });
});

Deno.test("DataSourceManager caches a REST-served day and upgrades it to Vision once the archive exists", async () => {
  await withCacheDir(async (dir) => {
    const c: Case = { ...BTC, interval: "1h", start: DEC10, end: DEC10 + DAY };
    await withManager(
      { symbols: LATE, missingFiles: ["BTCUSDT-1h-2024-12-10.zip"] },
      async (dsm) => {
        const report = await check(dsm, c, { source: REST }, { symbols: LATE });
        assert.equal(report.partitions[0].cached, true);
      },
      { cache: { dir } },
    );
    await withManager({ symbols: LATE }, async (dsm, emu) => {
      const report = await check(dsm, c, { source: VISION }, { symbols: LATE });
      assert.deepEqual(report.partitions[0].sources, ["vision-daily"]);
      assert.equal(emu.stats.requests.vision, 1);
      emu.reset();
      await check(dsm, c, { source: () => "CACHE" }, { symbols: LATE });
      assert.equal(netRequests(emu), 0);
    }, { cache: { dir } });
  });
});

Deno.test("DataSourceManager with source rest refetches cached days from REST and keeps REST precedence", async () => {
  await withCacheDir(async (dir) => {
    await withManager({ symbols: LATE }, async (dsm, emu) => {
      const c: Case = { ...BTC, interval: "1h", start: DEC10, end: DEC10 + DAY };
      await check(dsm, c, { source: VISION }, { symbols: LATE });
      emu.reset();
      await check(dsm, c, { source: REST, request: { source: "rest" } }, { symbols: LATE });
      assert.ok(emu.stats.requests.rest >= 1);
    }, { cache: { dir } });
  });
});

Deno.test("DataSourceManager reports a halt at the start of the range as an exchange gap, not a listing", async () => {
  await withManager({ symbols: LATE, gaps: [HALT] }, async (dsm) => {
    const c: Case = { ...BTC, interval: "1m", start: HALT.start, end: HALT.end + 3_600_000 };
    const report = await check(dsm, c, { source: VISION }, { symbols: LATE, gaps: [HALT] });
    assert.deepEqual(gapsOf(report), [{ start: HALT.start, end: HALT.end, class: "exchange" }]);
  });
});

Deno.test("DataSourceManager pages REST across long ranges on every market (cm's 200-day cap)", async () => {
  await withManager({ symbols: LATE }, async (dsm) => {
    for (const [market, symbol] of MARKETS) {
      const c: Case = {
        market,
        symbol,
        interval: "4h",
        start: Date.UTC(2024, 5, 1),
        end: Date.UTC(2025, 1, 1),
      };
      const report = await check(dsm, c, { source: REST, request: { source: "rest" } }, {
        symbols: LATE,
      });
      assert.equal(report.rows, 245 * 6);
    }
  });
});

Deno.test("DataSourceManager reads zips with data descriptors, 403 for missing keys and CHECKSUMs without newline", async () => {
  await withManager(
    {
      symbols: LATE,
      dataDescriptor: true,
      missingStatus: 403,
      checksumNewline: false,
      missingFiles: ["BTCUSDT-15m-2024-12-11.zip"],
    },
    async (dsm) => {
      const c: Case = { ...BTC, interval: "15m", start: DEC10, end: DEC10 + 2 * DAY };
      await check(dsm, c, { source: (t) => (t < DEC10 + DAY ? "VISION" : "REST") }, {
        symbols: LATE,
      });
    },
    {},
    (url) => ({ listing: `${url}/no-listing` }),
  );
});

Deno.test("DataSourceManager explains every hole under connection resets and truncated bodies", async () => {
  for (const seed of [4, 5]) {
    await withManager({ symbols: LATE, resetRate: 0.3, truncateRate: 0.3, seed }, async (dsm) => {
      const c: Case = { ...BTC, interval: "5m", start: DEC10 - 2 * DAY, end: DEC10 + 3 * DAY };
      const { table, report } = await dsm.getDataWithReport(c);
      assertExplained(table, report, c, { symbols: LATE, seed });
    });
  }
});

Deno.test("DataSourceManager with decode workers returns the same rows, checksums verified, faults included", async () => {
  for (
    const emulator of [{}, { checksumMismatch: ["BTCUSDT-1m-2025-01-03.zip"], truncateRate: 0.2 }]
  ) {
    await withManager(emulator, async (dsm) => {
      const c: Case = {
        ...BTC,
        interval: "1m",
        start: Date.UTC(2025, 0, 1),
        end: Date.UTC(2025, 0, 5),
      };
      const { table, report } = await dsm.getDataWithReport(c);
      assertRows(table.batches, truthOf(c, {}).truth);
      const sources = report.partitions.map((p) => p.sources.join("+"));
      if ("checksumMismatch" in emulator) {
        assert.equal(sources[2], "rest");
        assert.ok(report.failures.some((f) => f.code === "CHECKSUM_MISMATCH"));
      } else assert.ok(sources.every((s) => s === "vision-daily"));
    }, { decodeWorkers: 1 });
  }
  // A 1s day (4 MB zip) is inflated in the worker while the main thread parses.
  await withManager({}, async (dsm) => {
    const c: Case = {
      ...BTC,
      interval: "1s",
      start: Date.UTC(2025, 0, 2),
      end: Date.UTC(2025, 0, 3),
    };
    const table = await dsm.getData(c);
    assertRows(table.batches, truthOf(c, {}).truth);
  }, { decodeWorkers: 1 });
  assert.throws(() => new DataSourceManager({ decodeWorkers: 1.5 }), { code: "INVALID_RANGE" });
});

Deno.test("DataSourceManager round-trips a non-ASCII spot symbol: Vision monthly and daily, REST, cache", async () => {
  const now = Date.UTC(2025, 11, 3, 12, 30);
  const symbol = "币安人生USDT";
  const dir = await Deno.makeTempDir({ prefix: "dsm-non-ascii-" });
  try {
    await using emu = await startEmulator({ latencyMs: 0, now });
    const options: DataSourceManagerOptions = {
      cache: { dir },
      now: () => now,
      retry: RETRY,
      endpoints: { vision: emu.url, listing: emu.url, rest: emu.url },
    };
    const c: Case = {
      market: "spot",
      symbol,
      interval: "1h",
      start: Date.UTC(2025, 9, 1),
      end: now,
    };
    const today = Date.UTC(2025, 11, 3);
    const source = (t: number) => (t >= today ? "REST" : "VISION") as DataSource;
    {
      await using dsm = new DataSourceManager(options);
      const report = await check(dsm, c, { source }, {}, now);
      const used = new Set(report.partitions.flatMap((p) => p.sources));
      for (const s of ["vision-monthly", "vision-daily", "rest"] as const) {
        assert.ok(used.has(s), s);
      }
      assert.equal(report.symbol, symbol);
      assert.ok(emu.stats.requests.checksum > 0); // every archive was checked against its CHECKSUM
      assert.equal(emu.stats.statuses[404] ?? 0, 0);
    }
    const klines = `${dir}/v1/binance/spot/klines`;
    assert.deepEqual([...Deno.readDirSync(klines)].map((e) => e.name), [
      "%E5%B8%81%E5%AE%89%E4%BA%BA%E7%94%9FUSDT",
    ]);
    const vision = emu.stats.requests.vision;
    {
      // a new manager reads the closed partitions back from the cache
      await using dsm = new DataSourceManager(options);
      const report = await check(
        dsm,
        c,
        {
          source: (t) => (t >= today ? "REST" : "CACHE") as DataSource,
          request: { symbol: "币安人生usdt" }, // ASCII lower case is upper-cased as for any symbol
        },
        {},
        now,
      );
      const closed = report.partitions.filter((p) => p.key !== "2025-12-03");
      assert.ok(closed.length > 0);
      for (const p of closed) assert.deepEqual(p.sources, ["cache"], p.key);
      assert.equal(emu.stats.requests.vision, vision);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
