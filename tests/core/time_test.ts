import assert from "node:assert/strict";
import { EARLIEST_TIME, formatDay, formatMonth, toEpochMs } from "../../src/core/time.ts";
import { InvalidTimeError } from "../../src/core/errors.ts";

Deno.test("toEpochMs reads date-only and zone-less strings as UTC", () => {
  assert.equal(toEpochMs("2024-01-01"), Date.UTC(2024, 0, 1));
  assert.equal(toEpochMs("2024-01-01T12:30"), Date.UTC(2024, 0, 1, 12, 30));
  assert.equal(toEpochMs("2024-01-01T12:30:15.250"), Date.UTC(2024, 0, 1, 12, 30, 15, 250));
  assert.equal(toEpochMs("2024-01-01 12:30:00"), Date.UTC(2024, 0, 1, 12, 30));
  assert.equal(toEpochMs("2024-01-01T12:30:00Z"), Date.UTC(2024, 0, 1, 12, 30));
  assert.equal(toEpochMs("2024-01-01T12:30:00+02:00"), Date.UTC(2024, 0, 1, 10, 30));
  assert.equal(toEpochMs("2024-02-29"), Date.UTC(2024, 1, 29));
});

Deno.test("toEpochMs takes Dates, epoch ms numbers and digit strings", () => {
  const ms = Date.UTC(2023, 5, 1);
  assert.equal(toEpochMs(new Date(ms)), ms);
  assert.equal(toEpochMs(ms), ms);
  assert.equal(toEpochMs(String(ms)), ms);
});

Deno.test("toEpochMs refuses unparseable values with INVALID_TIME", () => {
  const bad: unknown[] = [
    "yesterday",
    "2024-13-01",
    "2023-02-29",
    "2024-02-30",
    "2024/01/01",
    "",
    "2024-01-01T25:00",
    NaN,
    Infinity,
    1.5e12 + 0.5,
    new Date("nope"),
    null,
    undefined,
    {},
    true,
  ];
  for (const value of bad) {
    assert.throws(() => toEpochMs(value as string, "start"), (e: unknown) => {
      assert.ok(e instanceof InvalidTimeError && e instanceof TypeError);
      assert.equal(e.code, "INVALID_TIME");
      assert.match(e.message, /start/);
      return true;
    }, String(value));
  }
});

Deno.test("toEpochMs refuses times before 2017 and hints at seconds", () => {
  assert.throws(() => toEpochMs("2016-12-31"), /between 2017-01-01 and 2099-12-31/);
  assert.throws(() => toEpochMs(1704067200), /looks like seconds/);
  assert.throws(() => toEpochMs(-1), InvalidTimeError);
  assert.throws(() => toEpochMs("2100-01-01"), InvalidTimeError);
  assert.equal(toEpochMs(EARLIEST_TIME), EARLIEST_TIME);
});

Deno.test("formatDay and formatMonth print UTC dates", () => {
  const t = Date.UTC(2024, 11, 31, 23, 59, 59, 999);
  assert.equal(formatDay(t), "2024-12-31");
  assert.equal(formatMonth(t), "2024-12");
  assert.equal(formatDay(t + 1), "2025-01-01");
});
