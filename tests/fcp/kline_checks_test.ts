import assert from "node:assert/strict";
import { closeTimeOf, nextOpenTime } from "../../src/core/interval.ts";
import { allocKlineColumns } from "../../src/core/schema.ts";
import { countSlots, findAnomalies, findMissing } from "../../src/fcp/kline_checks.ts";

const H = 3_600_000;
const DAY = 86_400_000;

Deno.test("findMissing finds nothing in a complete run", () => {
  const t = new Float64Array([0, H, 2 * H]);
  assert.deepEqual(findMissing(t, 3, 0, 3 * H, "1h"), []);
});

Deno.test("findMissing reports leading, inner and trailing runs with their slot counts", () => {
  const t = new Float64Array([2 * H, 3 * H, 6 * H]);
  assert.deepEqual(findMissing(t, 3, 0, 9 * H, "1h"), [
    { start: 0, end: 2 * H, slots: 2 },
    { start: 4 * H, end: 6 * H, slots: 2 },
    { start: 7 * H, end: 9 * H, slots: 2 },
  ]);
});

Deno.test("findMissing reports the whole range when there are no rows", () => {
  assert.deepEqual(findMissing(new Float64Array(0), 0, 0, DAY, "1h"), [
    { start: 0, end: DAY, slots: 24 },
  ]);
});

Deno.test("findMissing ignores rows outside the range and uses only `length` rows", () => {
  const t = new Float64Array([-H, 0, H, 5 * H, 99]);
  assert.deepEqual(findMissing(t, 4, 0, 3 * H, "1h"), [{ start: 2 * H, end: 3 * H, slots: 1 }]);
});

Deno.test("findMissing does not count an off-grid row as filling a slot", () => {
  const t = new Float64Array([0, H + 5, 2 * H]);
  assert.deepEqual(findMissing(t, 3, 0, 3 * H, "1h"), [{ start: H, end: 2 * H, slots: 1 }]);
});

Deno.test("findMissing walks calendar months for 1M", () => {
  const jan = Date.UTC(2024, 0, 1), feb = Date.UTC(2024, 1, 1), mar = Date.UTC(2024, 2, 1);
  const may = Date.UTC(2024, 4, 1);
  const t = new Float64Array([jan, Date.UTC(2024, 3, 1)]);
  assert.deepEqual(findMissing(t, 2, jan, may, "1M"), [{
    start: feb,
    end: Date.UTC(2024, 3, 1),
    slots: 2,
  }]);
  assert.equal(countSlots(jan, may, "1M"), 4);
  assert.equal(nextOpenTime(feb, "1M"), mar);
});

Deno.test("findMissing rounds off-grid month bounds up to the weekly grid", () => {
  // November 2024 holds the weeks opening Mon 4, 11, 18, 25; the month starts on a Friday.
  const nov = Date.UTC(2024, 10, 1), dec = Date.UTC(2024, 11, 1);
  const weeks = [4, 11, 18, 25].map((d) => Date.UTC(2024, 10, d));
  assert.deepEqual(findMissing(new Float64Array(weeks), 4, nov, dec, "1w"), []);
  assert.deepEqual(findMissing(new Float64Array(weeks.slice(0, 3)), 3, nov, dec, "1w"), [
    { start: weeks[3], end: Date.UTC(2024, 11, 2), slots: 1 },
  ]);
  assert.equal(countSlots(nov, dec, "1w"), 4);
});

Deno.test("findMissing rounds off-grid month bounds up to the 3d grid", () => {
  const jan = Date.UTC(2025, 0, 1), feb = Date.UTC(2025, 1, 1);
  const opens: number[] = [];
  for (let t = Date.UTC(2025, 0, 3); t < feb; t += 3 * DAY) opens.push(t);
  assert.equal(opens[0] % (3 * DAY), 0);
  assert.deepEqual(findMissing(new Float64Array(opens), opens.length, jan, feb, "3d"), []);
  assert.equal(countSlots(jan, feb, "3d"), opens.length);
});

function rows(n: number, step: number) {
  const c = allocKlineColumns(n);
  for (let i = 0; i < n; i++) {
    c.openTime[i] = i * step;
    c.closeTime[i] = i * step + step - 1;
    c.open[i] = 10;
    c.high[i] = 12;
    c.low[i] = 9;
    c.close[i] = 11;
    c.volume[i] = 1;
    c.count[i] = 1;
  }
  return c;
}

Deno.test("findAnomalies accepts well-formed rows", () => {
  assert.deepEqual(findAnomalies(rows(5, H), 5, "1h"), {
    anomalies: [],
    total: 0,
    offGrid: 0,
  });
});

Deno.test("findAnomalies reports off-grid rows, wrong close times and broken OHLC", () => {
  const c = rows(4, H);
  c.openTime[1] = H + 1;
  c.closeTime[2] = 3 * H;
  c.low[3] = 11.5;
  c.volume[3] = 0;
  const { anomalies, total, offGrid } = findAnomalies(c, 4, "1h");
  assert.equal(total, 4);
  assert.equal(offGrid, 1);
  assert.deepEqual(anomalies.map((a) => [a.kind, a.openTime]), [
    ["off_grid", H + 1],
    ["close_time", 2 * H],
    ["ohlc", 3 * H],
    ["zero_volume", 3 * H],
  ]);
  assert.match(anomalies[2].detail, /low 11.5/);
});

Deno.test("findAnomalies keeps the count past the limit", () => {
  const c = rows(10, H);
  c.high.fill(0);
  const { anomalies, total } = findAnomalies(c, 10, "1h", 3);
  assert.equal(anomalies.length, 3);
  assert.equal(total, 10);
});

Deno.test("findAnomalies checks the 1M close time against the calendar", () => {
  const c = rows(1, H);
  c.openTime[0] = Date.UTC(2024, 1, 1);
  c.closeTime[0] = closeTimeOf(Date.UTC(2024, 1, 1), "1M");
  assert.equal(c.closeTime[0], Date.UTC(2024, 2, 1) - 1);
  assert.equal(findAnomalies(c, 1, "1M").total, 0);
  c.closeTime[0] = Date.UTC(2024, 1, 1) + 31 * DAY - 1;
  assert.equal(findAnomalies(c, 1, "1M").anomalies[0].kind, "close_time");
});

Deno.test("findMissing keeps to the grid after an off-grid row", () => {
  const t = new Float64Array([H + 5, 3 * H]);
  assert.deepEqual(findMissing(t, 2, 0, 4 * H, "1h"), [{ start: 0, end: 3 * H, slots: 3 }]);
});
