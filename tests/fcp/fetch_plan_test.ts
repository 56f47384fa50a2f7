import assert from "node:assert/strict";
import { planFetch, type PlanUnit, requestPartitions } from "../../src/fcp/fetch_plan.ts";
import { type KlineRequest, resolveRequest } from "../../src/fcp/kline_request.ts";
import type { VisionInventory } from "../../src/fcp/vision_archives.ts";

const NOW = Date.UTC(2025, 1, 10, 12, 30);

function plan(
  request: Partial<KlineRequest>,
  options: {
    cached?: Record<string, "VISION" | "REST">;
    inventory?: VisionInventory;
    now?: number;
  } = {},
): string[] {
  const now = options.now ?? NOW;
  const resolved = resolveRequest(
    { symbol: "BTCUSDT", interval: "1h", start: "2024-12-30", end: "2025-01-02", ...request },
    { market: "spot", now },
  );
  const units = planFetch({
    request: resolved,
    now,
    cached: new Set(Object.keys(options.cached ?? {})),
    inventory: options.inventory,
  });
  return units.map(describe);
}

function describe(u: PlanUnit): string {
  const keys = u.partitions.map((p) => p.key);
  const first = keys[0], last = keys.at(-1);
  const span = keys.length > 2 ? `${first}..${last}` : keys.join(",");
  if (u.kind === "vision-monthly") return `vision-monthly ${u.month.key} [${span}]`;
  if (u.kind === "vision-daily" && u.fallback.size > 0) return `vision-daily ${span} (fallback)`;
  return `${u.kind} ${span}`;
}

/** An inventory of every day and month from 2024-01-01 up to (excluding) `until`. */
function inventory(until: number, except: string[] = []): VisionInventory {
  const daily = new Set<string>(), monthly = new Set<string>();
  for (let t = Date.UTC(2024, 0, 1); t < until; t += 86_400_000) {
    const day = new Date(t).toISOString().slice(0, 10);
    if (!except.includes(day)) daily.add(day);
    const end = new Date(t);
    if (Date.UTC(end.getUTCFullYear(), end.getUTCMonth() + 1, 1) <= until) {
      const month = day.slice(0, 7);
      if (!except.includes(month)) monthly.add(month);
    }
  }
  return { daily, monthly };
}

const ALL = inventory(Date.UTC(2025, 1, 10));

Deno.test("planFetch takes closed days from daily archives when the month is not whole", () => {
  assert.deepEqual(plan({}, { inventory: ALL }), [
    "vision-daily 2024-12-30",
    "vision-daily 2024-12-31",
    "vision-daily 2025-01-01",
  ]);
});

Deno.test("planFetch takes a whole closed month from its monthly archive", () => {
  assert.deepEqual(plan({ start: "2024-11-30", end: "2025-01-01" }, { inventory: ALL }), [
    "vision-daily 2024-11-30",
    "vision-monthly 2024-12 [2024-12-01..2024-12-31]",
  ]);
});

Deno.test("planFetch takes a whole month day by day when its monthly archive is absent", () => {
  const units = plan({ start: "2024-12-01", end: "2025-01-01" }, {
    inventory: inventory(Date.UTC(2025, 1, 10), ["2024-12"]),
  });
  assert.equal(units.length, 31);
  assert.ok(units.every((u) => u.startsWith("vision-daily")));
});

Deno.test("planFetch without a listing still tries the monthly archive", () => {
  assert.deepEqual(plan({ start: "2024-12-01", end: "2025-01-01" }), [
    "vision-monthly 2024-12 [2024-12-01..2024-12-31]",
  ]);
});

Deno.test("planFetch never uses a monthly archive for 1s", () => {
  const units = plan({ interval: "1s", start: "2024-12-01", end: "2025-01-01" }, {
    inventory: ALL,
  });
  assert.equal(units.length, 31);
  assert.ok(units.every((u) => u.startsWith("vision-daily")));
});

Deno.test("planFetch sends days absent from the listing, and today, to REST in runs", () => {
  const inv = inventory(Date.UTC(2025, 1, 7), ["2025-02-03"]);
  assert.deepEqual(plan({ start: "2025-02-02", end: "2025-02-11" }, { inventory: inv }), [
    "vision-daily 2025-02-02",
    "rest 2025-02-03",
    "vision-daily 2025-02-04",
    "vision-daily 2025-02-05",
    "vision-daily 2025-02-06",
    "rest 2025-02-07..2025-02-10",
  ]);
});

Deno.test("planFetch serves cached partitions from the cache and plans the rest", () => {
  const cached = { "2024-12-30": "VISION", "2025-01-01": "REST" } as const;
  assert.deepEqual(plan({}, { cached, inventory: inventory(Date.UTC(2025, 0, 1)) }), [
    "cache 2024-12-30",
    "vision-daily 2024-12-31",
    "cache 2025-01-01",
  ]);
});

Deno.test("planFetch plans a cached REST day as cache: the upgrade is decided when it is read", () => {
  const cached = { "2024-12-31": "REST" } as const;
  assert.deepEqual(plan({}, { cached, inventory: ALL }), [
    "vision-daily 2024-12-30",
    "cache 2024-12-31",
    "vision-daily 2025-01-01",
  ]);
});

Deno.test("requestPartitions skips a month that holds no open time of a 1w range", () => {
  const r = resolveRequest(
    { symbol: "BTCUSD_PERP", interval: "1w", start: "2024-02-01", end: "2024-03-01" },
    { market: "cm", now: NOW },
  );
  assert.equal(r.end, Date.UTC(2024, 2, 4)); // the end rounds up to the Monday after
  assert.deepEqual(requestPartitions(r).map((p) => p.key), ["2024-02"]);
});

Deno.test("planFetch keeps a cached day out of a whole-month archive", () => {
  const units = plan({ start: "2024-12-01", end: "2025-01-01" }, {
    cached: { "2024-12-15": "VISION" },
    inventory: ALL,
  });
  assert.equal(units.length, 31);
  assert.equal(units[14], "cache 2024-12-15");
});

Deno.test("planFetch with source cache plans no network unit", () => {
  assert.deepEqual(
    plan({ source: "cache" }, { cached: { "2024-12-31": "REST" }, inventory: ALL }),
    [
      "none 2024-12-30",
      "cache 2024-12-31",
      "none 2025-01-01",
    ],
  );
});

Deno.test("planFetch with source rest plans one REST run for everything", () => {
  assert.deepEqual(plan({ source: "rest" }, { inventory: ALL }), ["rest 2024-12-30..2025-01-01"]);
});

Deno.test("planFetch with source vision plans nothing for days without an archive", () => {
  assert.deepEqual(
    plan({ source: "vision", start: "2025-02-08", end: "2025-02-11" }, {
      inventory: inventory(Date.UTC(2025, 1, 9)),
    }),
    ["vision-daily 2025-02-08", "none 2025-02-09,2025-02-10"],
  );
});

Deno.test("planFetch plans month partitions for 3d, 1w and 1M", () => {
  for (const interval of ["3d", "1w", "1M"] as const) {
    const units = plan({ interval, start: "2024-11-01", end: "2025-03-01" }, {
      inventory: inventory(Date.UTC(2025, 1, 10), ["2024-12"]),
    });
    const expected = [
      "vision-monthly 2024-11 [2024-11]",
      "rest 2024-12",
      "vision-monthly 2025-01 [2025-01]",
      "rest 2025-02",
    ];
    // 1M: the open candle (2025-02) is excluded.
    assert.deepEqual(units, interval === "1M" ? expected.slice(0, 3) : expected, interval);
  }
});

Deno.test("planFetch of an empty range plans nothing", () => {
  // Starts in the past, but no candle of it has closed yet.
  assert.deepEqual(plan({ start: "2025-02-10T12:10", end: "2025-04-01" }), []);
});

Deno.test("requestPartitions lists the days or months of the range", () => {
  const r = resolveRequest(
    { symbol: "BTCUSDT", interval: "1h", start: "2024-02-28T12:00", end: "2024-03-01T01:00" },
    { now: NOW },
  );
  assert.deepEqual(requestPartitions(r).map((p) => p.key), [
    "2024-02-28",
    "2024-02-29",
    "2024-03-01",
  ]);
  const w = resolveRequest(
    { symbol: "BTCUSDT", interval: "1w", start: "2024-10-01", end: "2025-01-01" },
    { now: NOW },
  );
  assert.deepEqual(requestPartitions(w).map((p) => p.key), ["2024-10", "2024-11", "2024-12"]);
});
