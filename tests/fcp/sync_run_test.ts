import assert from "node:assert/strict";
import { DataNotAvailableError, NetworkError } from "../../src/core/errors.ts";
import { parseSyncManifest } from "../../src/fcp/sync_manifest.ts";
import {
  runSync,
  seriesKey,
  type SyncIndex,
  type SyncSeries,
  type SyncSources,
} from "../../src/fcp/sync_run.ts";

const DAY = 86_400_000;
const D0 = Date.UTC(2024, 0, 1);
const NOW = D0 + 10 * DAY + 3_600_000;

const index: SyncIndex = {
  symbols: (market) =>
    Promise.resolve(market === "um" ? ["BTCUSDT", "ETHUSDT", "XRPUSDT", "BTCUSD_240628"] : []),
  firstArchive: (s) => Promise.resolve(s.symbol === "XRPUSDT" ? D0 + 4 * DAY : D0),
};

/** A cache in memory that the fake fetch fills; `fail` makes chosen series throw. */
function fakeSources(options: { fail?: string; emptyBefore?: number } = {}) {
  const cache = new Map<string, Set<string>>();
  const fetched: string[] = [];
  const sources: SyncSources = {
    cached: (s) => Promise.resolve(new Set(cache.get(seriesKey(s)) ?? [])),
    fetch: (s: SyncSeries, start, end) => {
      const key = seriesKey(s);
      if (options.fail === s.symbol) return Promise.reject(new NetworkError("u", "reset"));
      const from = Math.max(start, options.emptyBefore ?? 0);
      if (from >= end) return Promise.reject(new DataNotAvailableError("nothing"));
      const set = cache.get(key) ?? new Set<string>();
      for (let t = start; t < end; t += DAY) {
        fetched.push(`${key}@${new Date(t).toISOString().slice(0, 10)}`);
        if (t >= from) set.add(new Date(t).toISOString().slice(0, 10));
      }
      cache.set(key, set);
      const confirmedEmpty = from > start ? [{ start, end: from }] : [];
      return Promise.resolve({ rows: 10, confirmedEmpty, failures: [] });
    },
  };
  return { sources, cache, fetched };
}

const manifest = parseSyncManifest({
  markets: ["um"],
  datasets: ["klines"],
  intervals: ["1m"],
  symbols: ["*USDT"],
  start: "listing",
});

Deno.test("runSync: patterns resolved through the index, every closed day fetched once, then nothing", async () => {
  const f = fakeSources();
  const first = await runSync(manifest, { index, sources: f.sources, now: NOW });
  assert.deepEqual(first.series.map((s) => s.symbol), ["BTCUSDT", "ETHUSDT", "XRPUSDT"]);
  assert.equal(first.complete, true);
  assert.deepEqual(first.series.map((s) => [s.partitions, s.fetched, s.cachedBefore]), [
    [10, 10, 0],
    [10, 10, 0],
    [6, 6, 0],
  ]);
  assert.equal(f.fetched.length, 26);
  const second = await runSync(manifest, { index, sources: f.sources, now: NOW });
  assert.equal(f.fetched.length, 26, "a second run fetches nothing");
  assert.deepEqual(second.series.map((s) => s.cachedBefore), [10, 10, 6]);
  // The next day: only the new day.
  const third = await runSync(manifest, { index, sources: f.sources, now: NOW + DAY });
  assert.equal(f.fetched.length, 29);
  assert.deepEqual(third.series.map((s) => s.fetched), [1, 1, 1]);
});

Deno.test("runSync: resumes a series half cached without refetching what is there", async () => {
  const f = fakeSources();
  f.cache.set("um/klines/BTCUSDT/1m", new Set(["2024-01-01", "2024-01-02", "2024-01-05"]));
  const got = await runSync(parseSyncManifest({ ...manifestInput(), symbols: ["BTCUSDT"] }), {
    index,
    sources: f.sources,
    now: NOW,
  });
  assert.equal(got.series[0].cachedBefore, 3);
  assert.equal(got.series[0].fetched, 7);
  assert.ok(!f.fetched.some((k) => k.endsWith("2024-01-05") || k.endsWith("2024-01-01")));
});

function manifestInput() {
  return {
    markets: ["um"],
    datasets: ["klines"],
    intervals: ["1m"],
    symbols: ["*USDT"],
    start: "listing",
  };
}

Deno.test("runSync: shards are disjoint, stable, and together the whole", async () => {
  const all = await runSync(manifest, { index, sources: fakeSources().sources, now: NOW });
  const keys = (n: number) =>
    Promise.all(
      Array.from({ length: n }, (_, i) =>
        runSync(manifest, {
          index,
          sources: fakeSources().sources,
          now: NOW,
          shard: { index: i + 1, count: n },
        })),
    ).then((r) => r.map((s) => s.series.map((x) => x.series)));
  for (const n of [2, 3]) {
    const parts = await keys(n);
    assert.deepEqual(parts.flat().sort(), all.series.map((s) => s.series).sort());
    assert.equal(new Set(parts.flat()).size, parts.flat().length);
    assert.deepEqual(await keys(n), parts, "stable");
  }
});

Deno.test("runSync: days the exchange confirms empty count as complete; a failing series does not", async () => {
  const f = fakeSources({ emptyBefore: D0 + 2 * DAY, fail: "ETHUSDT" });
  const got = await runSync(manifest, { index, sources: f.sources, now: NOW });
  const [btc, eth] = got.series;
  assert.equal(btc.complete, true);
  assert.equal(btc.confirmedAbsent, 2);
  assert.equal(eth.complete, false);
  assert.match(eth.error!, /reset/);
  assert.equal(got.complete, false);
});

Deno.test("runSync: a run with nothing at all is confirmed empty by DataNotAvailableError", async () => {
  const f = fakeSources({ emptyBefore: NOW + DAY });
  const got = await runSync(parseSyncManifest({ ...manifestInput(), symbols: ["BTCUSDT"] }), {
    index,
    sources: f.sources,
    now: NOW,
  });
  assert.equal(got.series[0].confirmedAbsent, 10);
  assert.equal(got.series[0].complete, true);
});

Deno.test("parseSyncManifest: names the field and why", () => {
  const bad = (input: unknown, field: RegExp) =>
    assert.throws(() => parseSyncManifest(input), (e: Error) => field.test(e.message));
  bad({ ...manifestInput(), markets: ["eu"] }, /manifest\.markets\[0\] "eu"/);
  bad({ ...manifestInput(), intervals: ["7m"] }, /intervals\[0\]/);
  bad(
    { ...manifestInput(), datasets: ["fundingRate"], markets: ["spot"] },
    /not published for spot/,
  );
  bad({ ...manifestInput(), colour: 1 }, /manifest\.colour/);
  bad({ entries: [] }, /entries/);
  bad({ ...manifestInput(), start: "2024-02-01", end: "2024-01-01" }, /not before end/);
  const two = parseSyncManifest({
    entries: [manifestInput(), {
      markets: ["um"],
      datasets: ["fundingRate"],
      symbols: ["BTCUSDT"],
      start: "2024-01-01",
    }],
  });
  assert.equal(two.length, 2);
  assert.deepEqual(two[1].intervals, []);
});

Deno.test("runSync: two runs sharing leases take turns: no series fetched by both", async () => {
  const f = fakeSources();
  const held = new Set<string>();
  const claim = (s: SyncSeries) => {
    const key = seriesKey(s);
    if (held.has(key)) return Promise.resolve(undefined);
    held.add(key);
    return Promise.resolve({ release: () => Promise.resolve(void held.delete(key)) });
  };
  const sources = { ...f.sources, claim };
  const [a, b] = await Promise.all([
    runSync(manifest, { index, sources, now: NOW, pollMs: 5 }),
    runSync(manifest, { index, sources, now: NOW, pollMs: 5 }),
  ]);
  assert.equal(a.complete && b.complete, true);
  const fetched = (s: typeof a) => s.series.reduce((n, x) => n + x.fetched, 0);
  assert.equal(fetched(a) + fetched(b), 26);
  assert.equal(f.fetched.length, 26, "every day fetched once");
});

Deno.test("runSync: a lease that cannot be written does not stop the series", async () => {
  const f = fakeSources();
  const claim = () => Promise.reject(new Error("store refused the lease"));
  const got = await runSync(manifest, { index, sources: { ...f.sources, claim }, now: NOW });
  assert.equal(got.complete, true);
  assert.equal(f.fetched.length, 26);
});
