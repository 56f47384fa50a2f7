import assert from "node:assert/strict";
import { partitionOf, partitionsOf } from "../../src/core/partition.ts";

Deno.test("partitionsOf splits a range into UTC days for 1s..1d", () => {
  const parts = partitionsOf(Date.UTC(2024, 1, 28, 23), Date.UTC(2024, 2, 1, 0, 0, 0, 1), "1m");
  assert.deepEqual(parts.map((p) => p.key), ["2024-02-28", "2024-02-29", "2024-03-01"]);
  assert.equal(parts[0].start, Date.UTC(2024, 1, 28));
  assert.equal(parts[2].end, Date.UTC(2024, 2, 2));
  assert.ok(parts.every((p) => p.period === "day" && p.end - p.start === 86_400_000));
});

Deno.test("partitionsOf ends before a partition that starts exactly at end", () => {
  const parts = partitionsOf(Date.UTC(2024, 0, 1), Date.UTC(2024, 0, 3), "1h");
  assert.deepEqual(parts.map((p) => p.key), ["2024-01-01", "2024-01-02"]);
  assert.deepEqual(partitionsOf(5, 5, "1m"), []);
});

Deno.test("partitionsOf uses calendar months for 3d, 1w and 1M across a year end", () => {
  for (const i of ["3d", "1w", "1M"] as const) {
    const parts = partitionsOf(Date.UTC(2023, 10, 15), Date.UTC(2024, 1, 1), i);
    assert.deepEqual(parts.map((p) => p.key), ["2023-11", "2023-12", "2024-01"], i);
    assert.ok(parts.every((p) => p.period === "month"));
  }
});

Deno.test("partitionOf gives February 29 days in a leap year", () => {
  const feb = partitionOf(Date.UTC(2024, 1, 10), "month");
  assert.equal(feb.end - feb.start, 29 * 86_400_000);
  const feb23 = partitionOf(Date.UTC(2023, 1, 10), "month");
  assert.equal(feb23.end - feb23.start, 28 * 86_400_000);
});
