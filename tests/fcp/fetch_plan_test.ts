import assert from "node:assert/strict";
import { type PartitionJob, planFetch, requestPartitions } from "../../src/fcp/fetch_plan.ts";
import { type KlineRequest, resolveRequest } from "../../src/fcp/kline_request.ts";
import type { VisionInventory } from "../../src/fcp/vision_archives.ts";

const NOW = Date.UTC(2025, 1, 10, 12, 30);

/** What a test plans with: cached partitions, the listing, the clock, whether a cache is on. */
interface PlanOptions {
  cached?: Record<string, "VISION" | "REST">;
  inventory?: VisionInventory;
  now?: number;
  cacheEnabled?: boolean;
}

/** The plan as `partition: step step ...` lines (`rest*N`: a walk shared by N partitions). */
function plan(request: Partial<KlineRequest>, options: PlanOptions = {}): string[] {
  return jobs(request, options).map(describe);
}

function jobs(
  request: Partial<KlineRequest>,
  options: PlanOptions = {},
): PartitionJob[] {
  const now = options.now ?? NOW;
  const resolved = resolveRequest(
    { symbol: "BTCUSDT", interval: "1h", start: "2024-12-30", end: "2025-01-02", ...request },
    { market: "spot", now },
  );
  return planFetch({
    request: resolved,
    now,
    cacheEnabled: options.cacheEnabled ?? true,
    cached: new Set(Object.keys(options.cached ?? {})),
    inventory: options.inventory,
  });
}

function describe(job: PartitionJob): string {
  const steps = job.chain.map((s) => {
    if (s.kind === "cache") return "cache";
    if (s.kind === "vision") return `${s.period}:${s.archive}`;
    return s.sharedBy > 1 ? `rest*${s.sharedBy}` : "rest";
  });
  return `${job.partition.key}: ${steps.join(" ")}`.trimEnd();
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
    "2024-12-30: daily:2024-12-30 rest",
    "2024-12-31: daily:2024-12-31 rest",
    "2025-01-01: daily:2025-01-01 rest",
  ]);
});

Deno.test("planFetch takes a whole closed month from its monthly archive", () => {
  const planned = plan({ start: "2024-11-30", end: "2025-01-01" }, { inventory: ALL });
  assert.equal(planned.length, 32);
  assert.equal(planned[0], "2024-11-30: daily:2024-11-30 rest");
  // Every day of December awaits the one monthly archive, then its own daily one, then REST.
  assert.equal(planned[1], "2024-12-01: monthly:2024-12 daily:2024-12-01 rest");
  assert.equal(planned[31], "2024-12-31: monthly:2024-12 daily:2024-12-31 rest");
  const december = jobs({ start: "2024-12-01", end: "2025-01-01" }, { inventory: ALL });
  assert.ok(december.every((j) => j.chain[0].kind === "vision" && j.chain[0].sharedBy === 31));
});

Deno.test("planFetch takes a whole month day by day when its monthly archive is absent", () => {
  const units = plan({ start: "2024-12-01", end: "2025-01-01" }, {
    inventory: inventory(Date.UTC(2025, 1, 10), ["2024-12"]),
  });
  assert.equal(units.length, 31);
  assert.ok(units.every((u) => /^2024-12-\d\d: daily:2024-12-\d\d rest$/.test(u)), units[0]);
});

Deno.test("planFetch without a listing still tries the monthly archive", () => {
  const units = plan({ start: "2024-12-01", end: "2025-01-01" });
  assert.equal(units[0], "2024-12-01: monthly:2024-12 daily:2024-12-01 rest");
});

Deno.test("planFetch never uses a monthly archive for 1s", () => {
  const units = plan({ interval: "1s", start: "2024-12-01", end: "2025-01-01" }, {
    inventory: ALL,
  });
  assert.equal(units.length, 31);
  assert.ok(units.every((u) => !u.includes("monthly")));
});

Deno.test("planFetch sends days absent from the listing, and today, to REST in runs", () => {
  const inv = inventory(Date.UTC(2025, 1, 7), ["2025-02-03"]);
  assert.deepEqual(plan({ start: "2025-02-02", end: "2025-02-11" }, { inventory: inv }), [
    "2025-02-02: daily:2025-02-02 rest",
    "2025-02-03: rest",
    "2025-02-04: daily:2025-02-04 rest",
    "2025-02-05: daily:2025-02-05 rest",
    "2025-02-06: daily:2025-02-06 rest",
    "2025-02-07: rest*4",
    "2025-02-08: rest*4",
    "2025-02-09: rest*4",
    "2025-02-10: rest*4",
  ]);
});

Deno.test("planFetch serves cached partitions from the cache and plans the rest", () => {
  const cached = { "2024-12-30": "VISION", "2025-01-01": "REST" } as const;
  assert.deepEqual(plan({}, { cached, inventory: inventory(Date.UTC(2025, 0, 1)) }), [
    "2024-12-30: cache daily:2024-12-30 rest",
    "2024-12-31: daily:2024-12-31 rest",
    "2025-01-01: cache rest",
  ]);
});

Deno.test("planFetch plans a cached REST day as cache: the upgrade is decided when it is read", () => {
  const cached = { "2024-12-31": "REST" } as const;
  assert.deepEqual(plan({}, { cached, inventory: ALL }), [
    "2024-12-30: daily:2024-12-30 rest",
    "2024-12-31: cache daily:2024-12-31 rest",
    "2025-01-01: daily:2025-01-01 rest",
  ]);
  // The walk reads the cached file first; its daily archive replaces it only when listed.
  assert.deepEqual(jobs({}, { cached, inventory: ALL })[1].chain[1], {
    kind: "vision",
    period: "daily",
    archive: "2024-12-31",
    listed: true,
    sharedBy: 1,
  });
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
  assert.equal(units[14], "2024-12-15: cache daily:2024-12-15 rest");
  assert.ok(units.every((u) => !u.includes("monthly")));
});

Deno.test("planFetch with source cache plans no network unit", () => {
  assert.deepEqual(
    plan({ source: "cache" }, { cached: { "2024-12-31": "REST" }, inventory: ALL }),
    [
      "2024-12-30:",
      "2024-12-31: cache",
      "2025-01-01:",
    ],
  );
});

Deno.test("planFetch with source rest plans one REST run for everything", () => {
  assert.deepEqual(plan({ source: "rest" }, { inventory: ALL }), [
    "2024-12-30: rest*3",
    "2024-12-31: rest*3",
    "2025-01-01: rest*3",
  ]);
});

Deno.test("planFetch with source vision plans nothing for days without an archive", () => {
  assert.deepEqual(
    plan({ source: "vision", start: "2025-02-08", end: "2025-02-11" }, {
      inventory: inventory(Date.UTC(2025, 1, 9)),
    }),
    ["2025-02-08: daily:2025-02-08", "2025-02-09:", "2025-02-10:"],
  );
});

Deno.test("planFetch plans month partitions for 3d, 1w and 1M", () => {
  for (const interval of ["3d", "1w", "1M"] as const) {
    const units = plan({ interval, start: "2024-11-01", end: "2025-03-01" }, {
      inventory: inventory(Date.UTC(2025, 1, 10), ["2024-12"]),
    });
    const expected = [
      "2024-11: monthly:2024-11 rest",
      "2024-12: rest",
      "2025-01: monthly:2025-01 rest",
      "2025-02: rest",
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

Deno.test("planFetch: a closed partition is fetched whole when it may be cached, else only the range", () => {
  const range = { start: "2024-12-30T06:00", end: "2024-12-30T18:00" };
  const [cached] = jobs(range);
  assert.equal(cached.mayCache, true);
  assert.deepEqual(cached.span, { start: Date.UTC(2024, 11, 30), end: Date.UTC(2024, 11, 31) });
  const [uncached] = jobs(range, { cacheEnabled: false });
  assert.equal(uncached.mayCache, false);
  assert.deepEqual(uncached.span, {
    start: Date.UTC(2024, 11, 30, 6),
    end: Date.UTC(2024, 11, 30, 18),
  });
  // Today is open: never cached, fetched up to the range's end.
  const [today] = jobs({ start: "2025-02-10", end: "2025-02-10T06:00" });
  assert.equal(today.mayCache, false);
  assert.deepEqual(today.span, { start: Date.UTC(2025, 1, 10), end: Date.UTC(2025, 1, 10, 6) });
});

Deno.test("planFetch shares a REST walk among at most 50,000 rows of consecutive partitions", () => {
  const planned = jobs({ source: "rest", interval: "1m", start: "2024-11-01", end: "2025-01-01" });
  assert.equal(planned.length, 61);
  const walks = new Map<string, number>();
  for (const job of planned) {
    const step = job.chain[0];
    assert.equal(step.kind, "rest");
    if (step.kind !== "rest") continue;
    walks.set(`${step.span.start}-${step.span.end}`, step.sharedBy);
  }
  // 34 days of 1,440 rows fit in 50,000 rows; the other 27 days share a second walk.
  assert.deepEqual([...walks.values()], [34, 27]);
  const [first] = planned;
  assert.ok(first.chain[0].kind === "rest" && first.chain[0].span.end === Date.UTC(2024, 11, 5));
});
