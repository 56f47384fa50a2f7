import assert from "node:assert/strict";
import { partitionOf } from "../../src/core/partition.ts";
import { DISABLED_CACHE } from "../../src/fcp/cache_port.ts";
import { type EngineContext, isCacheable, runUnit } from "../../src/fcp/fetch_engine.ts";
import { findMissing } from "../../src/fcp/kline_checks.ts";
import { type KlineRequest, resolveRequest } from "../../src/fcp/kline_request.ts";
import { mergeSegments } from "../../src/fcp/kline_segment.ts";
import type { CachePort, RestPort, VisionPort } from "../../src/fcp/source_ports.ts";
import { grid, StubCache, StubRest, StubVision } from "./_stub_ports.ts";

const NOW = Date.UTC(2025, 1, 10, 12, 30);
const H = 3_600_000;
const D1 = Date.UTC(2024, 0, 1), D2 = Date.UTC(2024, 0, 2);
const day1 = partitionOf(D1, "day"), day2 = partitionOf(D2, "day");

function context(
  vision: VisionPort | undefined,
  rest: RestPort | undefined,
  options: { cache?: CachePort; request?: Partial<KlineRequest> } = {},
): EngineContext {
  return {
    request: resolveRequest(
      {
        symbol: "BTCUSDT",
        interval: "1h",
        start: D1,
        end: Date.UTC(2024, 0, 3),
        ...options.request,
      },
      { market: "spot", now: NOW },
    ),
    now: NOW,
    cache: options.cache ?? DISABLED_CACHE,
    vision,
    rest,
    signal: new AbortController().signal,
    failures: [],
  };
}

const full = (p: { start: number; end: number }) => grid(p.start, p.end, "1h");
const merged = (o: { segments: Parameters<typeof mergeSegments>[0] }) => mergeSegments(o.segments);

Deno.test("runUnit clips REST to the range when the partition cannot be cached", async () => {
  const rest = new StubRest((s, e) => grid(s, e, "1h"));
  const ctx = context(undefined, rest, { request: { start: D1 + 5 * H, end: D1 + 7 * H } });
  await runUnit(ctx, { kind: "rest", partitions: [day1] });
  assert.deepEqual(rest.calls, [[D1 + 5 * H, D1 + 7 * H]]);
});

Deno.test("runUnit fetches whole closed partitions from REST when they can be cached", async () => {
  const rest = new StubRest((s, e) => grid(s, e, "1h"));
  const ctx = context(undefined, rest, {
    cache: new StubCache(),
    request: { start: D1 + 5 * H, end: D1 + 7 * H },
  });
  await runUnit(ctx, { kind: "rest", partitions: [day1] });
  assert.deepEqual(rest.calls, [[day1.start, day1.end]]);
});

Deno.test("runUnit serves a failed Vision file from cached REST rows instead of REST", async () => {
  const vision = new StubVision({ [`daily ${day1.key}`]: new Error("boom") });
  const rest = new StubRest(() => assert.fail("REST must not be called"));
  const cached = { batches: [], origin: "REST" as const, gaps: [] };
  const stub = new StubVision({ [`daily ${day1.key}`]: full(day1) });
  const batches = await stub.file(
    { interval: "1h", period: "daily", date: day1.key },
    new AbortController().signal,
  );
  assert.equal(batches.status, "ok");
  if (batches.status === "ok") cached.batches = batches.batches as never;
  const cache = new StubCache();
  cache.stored.set(day1.key, cached);
  const [o] = await runUnit(context(vision, rest, { cache }), {
    kind: "vision-daily",
    partitions: [day1],
    fallback: new Set([day1.key]),
  });
  assert.deepEqual(o.report.sources, ["cache"]);
  assert.equal(merged(o).length, 24);
});

Deno.test("runUnit of a `none` unit leaves each partition unfetched", async () => {
  const outcomes = await runUnit(context(undefined, undefined), {
    kind: "none",
    partitions: [day1, day2],
  });
  assert.deepEqual(outcomes.map((o) => o.unfetched), [[{ start: day1.start, end: day1.end }], [{
    start: day2.start,
    end: day2.end,
  }]]);
  // No source contributed rows: none is named.
  assert.deepEqual(outcomes.map((o) => o.report.sources), [[], []]);
});

Deno.test("isCacheable needs a closed, whole, confirmed partition and an enabled cache", async () => {
  const halt = (t: number) => t === D1 + 3 * H;
  const vision = new StubVision({ [`daily ${day1.key}`]: grid(D1, day1.end, "1h", halt) });
  const rest = new StubRest((s, e) => grid(s, e, "1h", halt));
  const cache = new StubCache();
  const ctx = context(vision, rest, { cache });
  const [o] = await runUnit(ctx, { kind: "vision-daily", partitions: [day1], fallback: new Set() });
  const m = merged(o);
  const holes = findMissing(m.columns.openTime, m.length, day1.start, day1.end, "1h");
  assert.equal(holes.length, 1);
  assert.equal(isCacheable(ctx, o, holes), true);
  assert.equal(isCacheable({ ...ctx, cache: DISABLED_CACHE }, o, holes), false);
  assert.equal(isCacheable({ ...ctx, now: day1.end - 1 }, o, holes), false);
  assert.equal(isCacheable(ctx, { ...o, failed: true }, holes), false);
  assert.equal(isCacheable(ctx, { ...o, consulted: { vision: true, rest: false } }, holes), false);
  assert.equal(isCacheable(ctx, { ...o, consulted: { vision: true, rest: false } }, []), true);
});

Deno.test("runUnit of a cached REST day fetches Vision once the listing shows the archive", async () => {
  const rest = new StubRest(() => assert.fail("REST must not be called"));
  const restRows = await new StubRest((s, e) => grid(s, e, "1h")).range(
    { interval: "1h", start: day1.start, end: day1.end },
    new AbortController().signal,
  );
  const listed = { daily: new Set([day1.key]), monthly: new Set<string>() };
  for (
    const [answer, expected] of [[full(day1), "vision-daily"], [
      new Error("boom"),
      "cache",
    ]] as const
  ) {
    const cache = new StubCache();
    cache.stored.set(day1.key, { batches: restRows.batches, origin: "REST", gaps: [] });
    const vision = new StubVision({ [`daily ${day1.key}`]: answer });
    const ctx = { ...context(vision, rest, { cache }), inventory: () => Promise.resolve(listed) };
    const [o] = await runUnit(ctx, { kind: "cache", partitions: [day1] });
    assert.deepEqual(o.report.sources, [expected]);
    assert.equal(merged(o).length, 24);
  }
  // Without a listing that shows it, the cached REST day is served as it is.
  const cache = new StubCache();
  cache.stored.set(day1.key, { batches: restRows.batches, origin: "REST", gaps: [] });
  const vision = new StubVision({});
  const [o] = await runUnit(context(vision, rest, { cache }), {
    kind: "cache",
    partitions: [day1],
  });
  assert.deepEqual(o.report.sources, ["cache"]);
  assert.deepEqual(vision.calls, []);
});

Deno.test("runUnit without a cache asks REST only about holes inside the requested range", async () => {
  const vision = new StubVision({
    [`daily ${day1.key}`]: grid(D1, D2, "1h", (t) => t === D1 + 20 * H),
  });
  const rest = new StubRest(() =>
    assert.fail("REST must not be called for a hole outside the range")
  );
  const ctx = context(vision, rest, { request: { start: D1, end: D1 + 6 * H } });
  const [o] = await runUnit(ctx, { kind: "vision-daily", partitions: [day1], fallback: new Set() });
  assert.deepEqual(rest.calls, []);
  assert.equal(merged(o).length, 23);
  // With a cache, the whole day must be confirmed before it is written.
  const asked = new StubRest(() => []);
  const cached = context(vision, asked, {
    request: { start: D1, end: D1 + 6 * H },
    cache: new StubCache(),
  });
  await runUnit(cached, { kind: "vision-daily", partitions: [day1], fallback: new Set() });
  assert.deepEqual(asked.calls, [[D1 + 20 * H, D1 + 21 * H]]);
});
