import assert from "node:assert/strict";
import {
  ceilOpenTime,
  closeTimeOf,
  floorOpenTime,
  hasDailyFiles,
  intervalMs,
  INTERVALS,
  isIntervalAvailable,
  isOnGrid,
  nextOpenTime,
  parseInterval,
  partitionPeriod,
  visionIntervalName,
} from "../../src/core/interval.ts";
import { InvalidIntervalError } from "../../src/core/errors.ts";

Deno.test("parseInterval accepts every REST name and Vision's 1mo", () => {
  for (const i of INTERVALS) assert.equal(parseInterval(i), i);
  assert.equal(parseInterval("1mo"), "1M");
  assert.equal(parseInterval("1mo", "cm"), "1M");
});

Deno.test("parseInterval rejects unknown names and wrong types with INVALID_INTERVAL", () => {
  for (const bad of ["1y", "1H", "60m", "", " 1m", "1m ", 1, null, undefined, {}]) {
    assert.throws(() => parseInterval(bad), (e: unknown) => {
      assert.ok(e instanceof InvalidIntervalError);
      assert.ok(e instanceof TypeError);
      assert.equal(e.code, "INVALID_INTERVAL");
      assert.equal(e.value, bad);
      return true;
    });
  }
});

Deno.test("parseInterval allows 1s only on spot", () => {
  assert.equal(parseInterval("1s", "spot"), "1s");
  assert.throws(() => parseInterval("1s", "um"), /only available on spot/);
  assert.throws(() => parseInterval("1s", "cm"), /only available on spot/);
  assert.equal(isIntervalAvailable("1m", "cm"), true);
});

Deno.test("visionIntervalName spells the month 1mo and leaves the rest", () => {
  assert.equal(visionIntervalName("1M"), "1mo");
  assert.equal(visionIntervalName("1m"), "1m");
  assert.equal(visionIntervalName("1w"), "1w");
});

Deno.test("floorOpenTime aligns weeks on Monday 00:00 UTC", () => {
  const monday = Date.UTC(2024, 0, 1);
  for (let d = 0; d < 7; d++) {
    assert.equal(floorOpenTime(monday + d * 86_400_000 + 12345, "1w"), monday);
  }
  assert.equal(floorOpenTime(monday - 1, "1w"), Date.UTC(2023, 11, 25));
  assert.equal(new Date(floorOpenTime(Date.UTC(2017, 7, 17), "1w")).getUTCDay(), 1);
});

Deno.test("floorOpenTime and nextOpenTime follow calendar months, leap years included", () => {
  assert.equal(floorOpenTime(Date.UTC(2024, 1, 29, 23, 59), "1M"), Date.UTC(2024, 1, 1));
  assert.equal(nextOpenTime(Date.UTC(2024, 1, 1), "1M"), Date.UTC(2024, 2, 1));
  assert.equal(nextOpenTime(Date.UTC(2023, 11, 1), "1M"), Date.UTC(2024, 0, 1));
  assert.equal(closeTimeOf(Date.UTC(2024, 1, 1), "1M"), Date.UTC(2024, 2, 1) - 1);
  assert.equal(closeTimeOf(Date.UTC(2023, 1, 1), "1M"), Date.UTC(2023, 2, 1) - 1);
});

Deno.test("fixed intervals are epoch-aligned and close one ms before the next open", () => {
  const t = Date.UTC(2024, 4, 17, 13, 47, 31, 250);
  for (const i of INTERVALS.filter((i) => i !== "1M" && i !== "1w")) {
    const open = floorOpenTime(t, i);
    assert.equal(open % intervalMs(i), 0, i);
    assert.ok(open <= t && t < nextOpenTime(open, i), i);
    assert.equal(closeTimeOf(open, i), open + intervalMs(i) - 1, i);
    assert.ok(isOnGrid(open, i));
    assert.ok(!isOnGrid(open + 1, i));
  }
  assert.equal(closeTimeOf(1672531200000, "1m"), 1672531259999);
  assert.equal(closeTimeOf(1735689600000, "1s"), 1735689600999);
});

Deno.test("ceilOpenTime returns aligned inputs unchanged and rounds others up", () => {
  const open = Date.UTC(2024, 0, 1, 5);
  assert.equal(ceilOpenTime(open, "1h"), open);
  assert.equal(ceilOpenTime(open + 1, "1h"), open + 3_600_000);
  assert.equal(ceilOpenTime(Date.UTC(2024, 0, 3), "1w"), Date.UTC(2024, 0, 8));
  assert.equal(ceilOpenTime(Date.UTC(2024, 0, 1, 0, 0, 0, 1), "1M"), Date.UTC(2024, 1, 1));
});

Deno.test("partitionPeriod uses days up to 1d and months for 3d, 1w, 1M", () => {
  for (const i of INTERVALS) {
    const monthly = i === "3d" || i === "1w" || i === "1M";
    assert.equal(partitionPeriod(i), monthly ? "month" : "day", i);
    assert.equal(hasDailyFiles(i), !monthly, i);
  }
});
