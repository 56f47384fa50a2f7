import assert from "node:assert/strict";
import {
  allocFundingColumns,
  type FundingColumns,
  setValid,
} from "../../src/core/funding_schema.ts";
import {
  deriveFundingIntervals,
  fundingGaps,
  fundingIntervalChanges,
} from "../../src/fcp/funding_series.ts";
import { resolveFundingRequest } from "../../src/fcp/funding_request.ts";

const H = 3_600_000;
const T0 = Date.UTC(2024, 5, 14);

/** Events at the given hours after T0 with jitter; intervals printed where given. */
function series(at: number[], hours?: (number | undefined)[]): FundingColumns {
  const c = allocFundingColumns(at.length);
  at.forEach((h, i) => {
    c.fundingTime[i] = T0 + h * H + (i % 3); // +0/+1/+2 ms, as Vision prints them
    c.fundingRate[i] = 0.0001;
    const printed = hours?.[i];
    if (printed !== undefined) {
      c.fundingIntervalHours[i] = printed;
      setValid(c.fundingIntervalHoursValid, i);
    }
  });
  return c;
}

Deno.test("An 8h to 4h change is one interval change, not a gap, whichever side prints it", () => {
  // 8h until 2024-06-15 00:00, then 4h.
  const at = [0, 8, 16, 24, 28, 32, 36];
  const vision = series(at, [8, 8, 8, 4, 4, 4, 4]);
  assert.deepEqual(fundingGaps(vision, at.length), []);
  assert.deepEqual(fundingIntervalChanges(vision, at.length), [
    { time: T0 + 24 * H, fromHours: 8, toHours: 4 },
  ]);
  const rest = series(at);
  assert.equal(deriveFundingIntervals(rest, at.length), at.length);
  // The event at 24h has spacings 8h before and 4h after: the shorter wins.
  assert.deepEqual([...rest.fundingIntervalHours], [8, 8, 8, 4, 4, 4, 4]);
  assert.deepEqual(fundingGaps(rest, at.length), []);
  assert.deepEqual(fundingIntervalChanges(rest, at.length).map((c) => c.time), [T0 + 24 * H]);
});

Deno.test("Missing events are gaps judged against the interval at the time", () => {
  const at = [0, 8, 32, 36, 48];
  const c = series(at, [8, 8, 4, 4, 4]);
  assert.deepEqual(fundingGaps(c, at.length), [
    { start: T0 + 16 * H, end: T0 + 32 * H + 2, missing: 2, class: "exchange" },
    { start: T0 + 40 * H, end: T0 + 48 * H + 1, missing: 2, class: "exchange" },
  ]);
});

Deno.test("A derived interval is left null when no neighbour spacing is a known interval", () => {
  const lone = series([0]);
  assert.equal(deriveFundingIntervals(lone, 1), 0);
  assert.equal(lone.fundingIntervalHoursValid[0], 0);
  const far = series([0, 24, 48]); // 24h apart: not an interval Binance uses
  assert.equal(deriveFundingIntervals(far, 3), 0);
  assert.deepEqual(fundingGaps(far, 3), []); // unknown intervals: nothing judged
  const printed = series([0, 1], [8, undefined]);
  assert.equal(deriveFundingIntervals(printed, 2), 1);
  assert.deepEqual([...printed.fundingIntervalHours], [8, 1]);
});

Deno.test("resolveFundingRequest refuses bad input with typed codes before any I/O", () => {
  const base = {
    dataset: "fundingRate",
    symbol: "BTCUSDT",
    start: "2024-01-01",
    end: "2024-02-01",
  } as const;
  const at = { market: "um" as const, now: Date.UTC(2025, 0, 1) };
  const bad: [Record<string, unknown>, string][] = [
    [{ market: "spot" }, "INVALID_DATASET"],
    [{ market: "cm" }, "INVALID_SYMBOL"],
    [{ symbol: "../x" }, "INVALID_SYMBOL"],
    [{ start: "2024-02-01" }, "INVALID_RANGE"],
    [{ start: "2026-01-01", end: "2026-02-01" }, "INVALID_RANGE"],
    [{ source: "s3" }, "INVALID_RANGE"],
    [{ strict: "yes" }, "INVALID_RANGE"],
    [{ interval: "8h" }, "INVALID_OPTION"],
    [{ dataset: "klines" }, "INVALID_DATASET"],
  ];
  for (const [patch, code] of bad) {
    assert.throws(
      () => resolveFundingRequest({ ...base, ...patch } as never, at),
      { code },
      JSON.stringify(patch),
    );
  }
  const cm = resolveFundingRequest({ ...base, market: "cm", symbol: "btcusd_perp" }, at);
  assert.equal(cm.symbol, "BTCUSD_PERP");
  assert.equal(cm.source, "auto");
});
