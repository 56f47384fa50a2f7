/**
 * The fault matrix: every fault the emulator injects × spot, um, cm. Each
 * result equals the fault-free run value by value, or is partial with every
 * missing row explained by an `unfetched` gap and a typed failure; the cache
 * left behind is valid and holds exactly the fault-free rows.
 */
import assert from "node:assert/strict";
import { RateLimitError } from "../../src/core/errors.ts";
import { startEmulator } from "../../src/emulator/emulator.ts";
import { DataSourceManager } from "../../src/fcp/data_source_manager.ts";
import { assertExplained, assertSameRows, DAY, MARKETS, NOW, RETRY } from "./_harness.ts";
import { baseline, type FaultRun, faultRun, type FaultRunOptions, RANGE } from "./_fault_run.ts";
import type { Rows } from "./_rows.ts";

const FEB = (day: number, hour = 0, minute = 0) => Date.UTC(2025, 1, day, hour, minute);
const TODAY = FEB(10);
const zip = (symbol: string, day: number) =>
  `${symbol}-1m-2025-02-${String(day).padStart(2, "0")}.zip`;

/** Asserts each row's `_data_source`. */
function assertSources(rows: Rows, expected: (t: number) => string, label: string): void {
  for (let i = 0; i < rows.length; i++) {
    const t = rows.columns.openTime[i];
    if (rows.sources[i] !== expected(t)) {
      assert.fail(
        `${label}: ${new Date(t).toISOString()} from ${rows.sources[i]}, not ${expected(t)}`,
      );
    }
  }
}

const visionThenRest = (t: number) => (t >= TODAY ? "REST" : "VISION");
/** Sources when one closed day (February `day`) comes from REST instead of Vision. */
const restOn = (day: number) => (t: number) =>
  t >= TODAY || (t >= FEB(day) && t < FEB(day + 1)) ? "REST" : "VISION";

/** What a complete run is checked against besides the fault-free rows. */
interface Expect {
  /** Each row's `_data_source` by open time. @default Vision for closed days, REST today */
  sources?: (t: number) => string;
  /** `[partition, code]` of each reported failure. @default none */
  failures?: [string, string][];
}

/** Asserts the run equals the fault-free run, complete, with the expected sources and failures. */
function assertFaultFree(run: FaultRun, base: Rows, label: string, expect: Expect = {}) {
  assertSameRows(run.rows, base, label);
  assertSources(run.rows, expect.sources ?? visionThenRest, label);
  assert.equal(run.report.partial, false, label);
  assert.deepEqual(run.report.gaps, [], label);
  assert.deepEqual(run.report.failures.map((f) => [f.partition, f.code]), expect.failures ?? []);
}

type MarketCase = (typeof MARKETS)[number];

/**
 * Runs the matrix on each market against its fault-free baseline (also passed
 * as `expected`, to check the cache with, unless the options override it).
 */
async function eachMarket(
  options: (m: MarketCase) => Partial<FaultRunOptions>,
  check: (run: FaultRun, base: Rows, m: MarketCase) => void,
): Promise<void> {
  for (const m of MARKETS) {
    const base = await baseline(m.market, m.symbol);
    check(await faultRun({ ...m, expected: base, ...options(m) }), base, m);
  }
}

/** The report's entry for a partition. */
const partition = (run: FaultRun, key: string) => run.report.partitions.find((p) => p.key === key)!;

Deno.test("Fault matrix: the fault-free run takes closed days from Vision, today from REST, and caches the closed days", () =>
  eachMarket(() => ({}), (run, base, { market }) => {
    assert.equal(base.length, 5 * 1440 + 750);
    assertFaultFree(run, base, market);
    assert.deepEqual(
      run.cache!.entries.map((e) => e.key.partition),
      ["2025-02-05", "2025-02-06", "2025-02-07", "2025-02-08", "2025-02-09"],
    );
  }));

Deno.test("Fault matrix: latency and jitter change nothing", () =>
  eachMarket(
    () => ({ emulator: { latencyMs: 2, jitterMs: 8 } }),
    (run, base, { market }) => assertFaultFree(run, base, market),
  ));

// A damaged transfer may end as a checksum or zip failure once its retries run out.
const TRANSIENT = ["HTTP_ERROR", "NETWORK_ERROR", "CHECKSUM_MISMATCH", "ZIP_FORMAT"];

/** A complete run under transient faults: exact rows; a day not from Vision names its failure. */
function assertRecovered(run: FaultRun, base: Rows, label: string) {
  assertSameRows(run.rows, base, label);
  const failed = new Set(run.report.failures.map((f) => f.partition));
  for (const p of run.report.partitions) {
    if (p.key === "2025-02-10") assert.deepEqual(p.sources, ["rest"]);
    else if (p.sources.join() !== "vision-daily") {
      assert.ok(failed.has(p.key), `${label}: ${p.key} came from ${p.sources} without a failure`);
    }
  }
  for (let i = 0; i < run.rows.length; i++) {
    assert.ok(["VISION", "REST"].includes(run.rows.sources[i]!));
  }
}

for (
  const [name, emulator, counter] of [
    ["5xx responses", { errorRate: 0.25 }, "errors"],
    ["connection resets mid-body", { resetRate: 0.25 }, "resets"],
    ["truncated bodies", { truncateRate: 0.25 }, "truncations"],
  ] as const
) {
  Deno.test(`Fault matrix: ${name} are retried; what still fails is reported`, async () => {
    let injected = 0;
    let complete = 0;
    for (const { market, symbol } of MARKETS) {
      for (const seed of [1, 2]) {
        const base = await baseline(market, symbol, seed);
        const run = await faultRun({
          market,
          symbol,
          expected: base,
          emulator: { ...emulator, seed },
        });
        injected += run.stats.faults[counter];
        const left = assertExplained(run.rows, run.report, base, TRANSIENT);
        if (left === 0) {
          complete++;
          assertRecovered(run, base, `${market} seed ${seed}`);
        }
      }
    }
    assert.ok(injected > 0, `no ${counter} were injected`);
    assert.ok(complete > 0, "retries never completed a run");
  });
}

Deno.test("Fault matrix: a checksum mismatch drops the archive; the day comes from REST and is reported", () =>
  eachMarket(
    ({ symbol }) => ({ emulator: { checksumMismatch: [zip(symbol, 7)] } }),
    (run, base, { market }) => {
      assertFaultFree(run, base, market, {
        sources: restOn(7),
        failures: [["2025-02-07", "CHECKSUM_MISMATCH"]],
      });
      const day = partition(run, "2025-02-07");
      assert.deepEqual([day.sources, day.sha256], [["rest"], undefined]);
      assert.ok(run.stats.faults.mismatches >= 1);
    },
  ));

Deno.test("Fault matrix: a missing archive is replaced by REST for that day", () =>
  eachMarket(
    ({ symbol }) => ({ emulator: { missingFiles: [zip(symbol, 6)] } }),
    (run, base, { market }) => {
      assertFaultFree(run, base, market, { sources: restOn(6) });
      assert.deepEqual(partition(run, "2025-02-06").sources, ["rest"]);
    },
  ));

Deno.test("Fault matrix: days not published yet (publication lag) come from REST", () =>
  eachMarket(
    () => ({ emulator: { publicationLagDays: 2 } }),
    (run, base, { market }) =>
      assertFaultFree(run, base, market, { sources: (t) => (t >= FEB(8) ? "REST" : "VISION") }),
  ));

Deno.test("Fault matrix: a partial archive is completed from REST and cached whole", () =>
  eachMarket(
    ({ symbol }) => ({ emulator: { partialFiles: [zip(symbol, 8)] } }),
    (run, base, { market }) => {
      assertSameRows(run.rows, base, market);
      assert.equal(run.report.partial, false);
      assert.deepEqual(run.report.gaps, []);
      assert.equal(run.stats.faults.partial >= 1, true);
      // the day starts from Vision and switches to REST once, where the file stops
      const day = run.rows.sources.filter((_, i) => {
        const t = run.rows.columns.openTime[i];
        return t >= FEB(8) && t < FEB(9);
      });
      const cut = day.indexOf("REST");
      assert.ok(cut > 0 && day.slice(cut).every((s) => s === "REST"), `${market}: ${cut}`);
      assert.ok(day.slice(0, cut).every((s) => s === "VISION"));
      assert.deepEqual(partition(run, "2025-02-08").sources, ["vision-daily", "rest"]);
      assert.ok(run.cache!.entries.some((e) => e.key.partition === "2025-02-08"));
    },
  ));

Deno.test("Fault matrix: exchange halts are reported as gaps, every other row unchanged", async () => {
  const halts = [
    { start: FEB(6, 10), end: FEB(6, 11, 30) }, // in a Vision day
    { start: FEB(10, 3), end: FEB(10, 3, 20) }, // today, REST only
  ];
  const inHalt = (t: number) => halts.some((h) => t >= h.start && t < h.end);
  // the halted rows are not the baseline's, so the cache is checked without it
  await eachMarket(() => ({ expected: undefined, emulator: { gaps: halts } }), (run, base, m) => {
    const kept = base.columns.openTime.filter((t) => !inHalt(t)).length;
    assert.equal(run.rows.length, kept);
    assertExplained(run.rows, run.report, base, [], ["exchange", "unconfirmed"]);
    const got = new Set(run.rows.columns.openTime);
    for (const t of base.columns.openTime) assert.equal(got.has(t), !inHalt(t));
    assert.deepEqual(
      run.report.gaps.map((g) => [g.start, g.end, g.slots]),
      halts.map((h) => [h.start, h.end, (h.end - h.start) / 60_000]),
    );
    assert.equal(run.report.gaps[0].class, "exchange");
    assert.ok(["exchange", "unconfirmed"].includes(run.report.gaps[1].class));
    assert.equal(run.report.partial, false);
    // the halted Vision day is cached with its confirmed gap
    const halted = run.cache!.entries.find((e) => e.key.partition === "2025-02-06");
    assert.ok(halted, `${m.market}: the halted day is cached`);
  });
});

Deno.test("Fault matrix: 429 with a small weight budget is waited out, never a failure", () =>
  eachMarket(
    ({ market }) => {
      const started = Date.now();
      return {
        request: { source: "rest" },
        emulator: {
          now: () => NOW + (Date.now() - started),
          weightBudget: { [market]: market === "spot" ? 4 : 20 },
          weightWindowMs: 400,
          banAfter: 1_000,
        },
      };
    },
    (run, base, { market }) => {
      assertFaultFree(run, base, market, { sources: () => "REST" });
      assert.ok((run.stats.statuses[429] ?? 0) >= 1, `${market}: the budget was never hit`);
      assert.equal(run.stats.statuses[418] ?? 0, 0);
    },
  ));

Deno.test("Fault matrix: a 418 ban stops REST and leaves an explained partial result", () =>
  eachMarket(
    ({ market }) => ({
      emulator: { weightBudget: { [market]: 1 }, banAfter: 0, banMs: 60_000 },
    }),
    (run, base, { market }) => {
      // The closed days come from Vision; today's REST span is banned.
      const left = assertExplained(run.rows, run.report, base, ["RATE_LIMITED"]);
      assert.ok(left > 0);
      assert.ok(run.rows.length > 0);
      assert.equal(run.report.partial, true);
      assert.deepEqual(partition(run, "2025-02-10").sources, []);
      assert.ok(
        run.report.failures.some((f) => f.code === "RATE_LIMITED" && /418/.test(f.message)),
      );
      assert.equal(run.stats.statuses[418], 1, `${market}: requests after the ban`);
    },
  ));

Deno.test("Fault matrix: a 418 ban with strict: true rejects with a typed error", async () => {
  for (const { market, symbol } of MARKETS) {
    await using emu = await startEmulator({
      now: NOW,
      weightBudget: { [market]: 1 },
      banAfter: 0,
      banMs: 60_000,
    });
    await using dsm = new DataSourceManager({
      market,
      cache: false,
      now: () => NOW,
      retry: RETRY,
      endpoints: { vision: emu.url, listing: emu.url, rest: emu.url },
    });
    const error = await dsm.getData({ symbol, ...RANGE, source: "rest", strict: true }).then(
      () => assert.fail("strict must reject"),
      (e) => e,
    );
    assert.ok(
      error instanceof RateLimitError || error?.code === "DATA_NOT_AVAILABLE",
      `${market}: ${error}`,
    );
    assert.match(String(error.message), /418|banned/);
    // Without strict too: a ban that leaves no row at all is an error, not an empty table.
    await assert.rejects(dsm.getData({ symbol, ...RANGE, source: "rest" }), (e: unknown) => {
      assert.ok(e instanceof RateLimitError, `${market}: ${e}`);
      assert.equal(e.status, 418);
      return true;
    });
  }
});

Deno.test("Fault matrix: 451 on spot switches to the market-data host; futures are not restricted", () =>
  eachMarket(
    () => ({
      emulator: { restrict451: true },
      endpoints: (url) => ({
        vision: url,
        listing: url,
        rest: url,
        restMarketData: [`${url}/market-data`],
      }),
    }),
    (run, base, { market }) => {
      assertFaultFree(run, base, market);
      assert.equal((run.stats.statuses[451] ?? 0) >= 1, market === "spot", market);
    },
  ));

Deno.test("Fault matrix: 451 with no market-data host fails today with a typed HTTP error", async () => {
  const base = await baseline("spot", "BTCUSDT");
  const run = await faultRun({
    market: "spot",
    symbol: "BTCUSDT",
    expected: base,
    emulator: { restrict451: true },
    endpoints: (url) => ({ vision: url, listing: url, rest: url, restMarketData: [] }),
  });
  const left = assertExplained(run.rows, run.report, base, ["HTTP_ERROR"]);
  assert.equal(left, 750);
  assert.ok(run.report.failures.some((f) => /451/.test(f.message)));
  assert.equal(run.rows.columns.openTime[run.rows.length - 1], TODAY - 60_000);
  assert.equal(run.report.end - run.report.start, 5 * DAY + 750 * 60_000);
});
