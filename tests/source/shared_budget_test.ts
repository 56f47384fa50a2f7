import assert from "node:assert/strict";
import { join } from "node:path";
import { SharedWeightBudget } from "../../src/source/shared_weight_budget.ts";
import { WeightScheduler } from "../../src/source/weight_scheduler.ts";
import { InvalidOptionError, RateLimitError } from "../../src/core/errors.ts";
import { DataSourceManager } from "../../src/fcp/data_source_manager.ts";
import { startEmulator } from "../../src/emulator/emulator.ts";

/** A manual clock shared by the "processes" of a test; sleeping advances it. */
function fakeClock(start = 0) {
  const clock = {
    t: start,
    sleeps: [] as number[],
    now: () => clock.t,
    sleep: (ms: number, signal?: AbortSignal) => {
      signal?.throwIfAborted();
      clock.sleeps.push(ms);
      clock.t += ms;
      return Promise.resolve();
    },
  };
  return clock;
}

/** Two budgets on one folder, as two processes of a host would have. */
async function twoProcesses(clock: ReturnType<typeof fakeClock>, budget = 100) {
  const dir = await Deno.makeTempDir();
  const options = { dir, market: "um" as const, budget, margin: 0, graceMs: 0, ...clock };
  return {
    dir,
    a: new SharedWeightBudget(options),
    b: new SharedWeightBudget(options),
    state: async () => JSON.parse(await Deno.readTextFile(join(dir, "v1/budget/um.json"))),
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

Deno.test("SharedWeightBudget: reservations of every process count against one budget", async () => {
  const clock = fakeClock(120_000);
  await using p = await twoProcesses(clock);
  await p.a.acquire(60);
  await p.b.acquire(40);
  assert.deepEqual(clock.sleeps, []);
  assert.equal((await p.state()).reserved, 100);
  // b is full: a's next request waits for the next window, where it is the first
  await p.a.acquire(10);
  assert.deepEqual(clock.sleeps, [60_000]);
  const state = await p.state();
  assert.equal(state.windowStart, 180_000);
  assert.equal(state.reserved, 10);
  assert.equal(p.a.shared, true);
  assert.equal(p.a.path, join(p.dir, "v1", "budget", "um.json"));
});

Deno.test("SharedWeightBudget: the exchange's count raises the shared one past the reservations", async () => {
  const clock = fakeClock(60_000);
  await using p = await twoProcesses(clock);
  await p.a.acquire(10);
  p.a.settle(10, "70"); // another client of the IP used 60
  let state = await p.state();
  assert.equal(state.excess, 60);
  assert.equal(state.usedWeight, 70);
  assert.equal(state.usedAt, 60_000);
  await p.b.acquire(30); // 10 + 60 + 30 = 100
  assert.equal(p.b.available(), 0);
  p.b.settle(30, "90"); // lower than reserved + excess: nothing written
  state = await p.state();
  assert.equal(state.excess, 60);
  await p.b.acquire(1);
  assert.deepEqual(clock.sleeps, [60_000]);
  assert.equal((await p.state()).excess, 0); // a new window forgets it
});

Deno.test("SharedWeightBudget: a header answering a request of an earlier window is not counted", async () => {
  const clock = fakeClock(59_000);
  await using p = await twoProcesses(clock);
  await p.a.acquire(50);
  clock.t = 60_500; // answered in the next window: its header may count either
  p.a.settle(50, "95");
  assert.equal(p.a.available(), 100);
  await p.a.acquire(20);
  p.a.settle(20, "20"); // one of this window: counted
  assert.equal((await p.state()).usedWeight, 0); // not above the reservations
  assert.equal(p.a.available(), 80);
});

Deno.test("SharedWeightBudget: a reservation in the last graceMs of a window also counts in the next", async () => {
  const clock = fakeClock(59_000);
  await using p = await twoProcesses(clock);
  const late = {
    dir: p.dir,
    market: "um" as const,
    budget: 100,
    margin: 0,
    graceMs: 500,
    ...clock,
  };
  const a = new SharedWeightBudget(late);
  await a.acquire(20); // at 59,000: not in the tail
  clock.t = 59_600;
  await a.acquire(30); // in the tail: may land after 60,000
  assert.equal((await p.state()).carried, 30);
  clock.t = 60_500;
  assert.equal(a.available(), 70); // from what it last read (no file access)
  await a.acquire(10);
  assert.equal((await p.state()).reserved, 40);
  assert.equal(a.available(), 60);
  clock.t = 180_000; // a window later than the next: nothing carried
  await a.acquire(10);
  assert.equal((await p.state()).reserved, 10);
});

Deno.test("SharedWeightBudget: a 429 pause seen by one process holds the others", async () => {
  const clock = fakeClock(1_000);
  await using p = await twoProcesses(clock);
  await p.a.acquire(1);
  p.a.settle(1);
  p.a.pause(5_000);
  await p.b.acquire(1);
  assert.deepEqual(clock.sleeps, [5_000]);
});

Deno.test("SharedWeightBudget: a 418 ban seen by one process stops the others until it ends", async () => {
  const clock = fakeClock(1_000);
  await using p = await twoProcesses(clock);
  await p.a.acquire(1);
  p.a.settle(1);
  p.a.banned(new RateLimitError(418, "http://127.0.0.1/api/v3/klines", 90_000));
  clock.t += 1;
  const error = await p.b.acquire(1).catch((e) => e);
  assert.ok(error instanceof RateLimitError, String(error));
  assert.equal(error.status, 418);
  assert.equal(error.url, "http://127.0.0.1/api/v3/klines");
  assert.equal(p.b.ban?.status, 418);
  clock.t = 91_000;
  assert.equal(p.b.ban, undefined);
  await p.b.acquire(1);
});

Deno.test("SharedWeightBudget: a ban without Retry-After stops this process for good, the others for 2 minutes", async () => {
  const clock = fakeClock(0);
  await using p = await twoProcesses(clock);
  await p.a.acquire(1);
  await p.b.acquire(1);
  p.a.banned(new RateLimitError(418, "http://127.0.0.1/x"));
  assert.equal((await p.state()).banUntil, 120_000);
  clock.t = 130_000;
  await p.b.acquire(1);
  await assert.rejects(p.a.acquire(1), RateLimitError);
});

Deno.test("SharedWeightBudget: abort while waiting rejects with the reason; too heavy a request is a RangeError", async () => {
  const clock = fakeClock(0);
  await using p = await twoProcesses(clock);
  await p.a.acquire(100);
  const controller = new AbortController();
  controller.abort(new Error("stop"));
  await assert.rejects(p.b.acquire(1, controller.signal), /stop/);
  await assert.rejects(p.b.acquire(101), RangeError);
  assert.throws(() => new SharedWeightBudget({ dir: p.dir, market: "um", budget: 0 }), RangeError);
});

Deno.test("SharedWeightBudget: a damaged state file starts afresh", async () => {
  const clock = fakeClock(0);
  await using p = await twoProcesses(clock);
  await Deno.mkdir(join(p.dir, "v1", "budget"), { recursive: true });
  await Deno.writeTextFile(join(p.dir, "v1", "budget", "um.json"), '{"v":1,"reserved":"x"');
  await p.a.acquire(5);
  const state = await p.state();
  assert.equal(state.reserved, 5);
  assert.equal(state.v, 2);
});

Deno.test("SharedWeightBudget falls back to the local scheduler, said once, without a usable folder", async () => {
  const clock = fakeClock(0);
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "file");
    await Deno.writeTextFile(file, "");
    for (const from of [undefined, file, () => Promise.resolve(undefined)]) {
      const logged: string[] = [];
      const fallback = new WeightScheduler({ budget: 10, margin: 0, ...clock });
      const budget = new SharedWeightBudget({
        dir: from,
        market: "spot",
        fallback,
        logger: (m) => logged.push(m),
        ...clock,
      });
      await budget.acquire(4);
      await budget.acquire(4);
      assert.equal(budget.shared, false);
      assert.equal(budget.limit, 10);
      assert.equal(fallback.available(), 2);
      budget.settle(4, "4");
      assert.equal(logged.length, 1, String(logged));
      assert.match(logged[0], /^Weight budget of spot is per process: /);
      if (from === file) assert.match(logged[0], /cannot use ".*file.v1.budget"/);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("DataSourceManager shares the weight budget through a writable cache folder (sharedBudget)", async () => {
  const NOW = Date.UTC(2024, 5, 1);
  await using emu = await startEmulator({ now: NOW });
  const dir = await Deno.makeTempDir();
  try {
    const request = {
      symbol: "BTCUSDT",
      interval: "1h",
      start: NOW - 3 * 86_400_000,
      end: NOW - 86_400_000,
      source: "rest",
    } as const;
    const endpoints = { vision: emu.url, listing: emu.url, rest: emu.url };
    const file = join(dir, "v1", "budget", "spot.json");
    {
      await using dsm = new DataSourceManager({ cache: { dir }, now: () => NOW, endpoints });
      await dsm.getData(request);
      const state = JSON.parse(await Deno.readTextFile(file));
      assert.ok(state.reserved >= 2, JSON.stringify(state));
    }
    await Deno.remove(file);
    {
      await using dsm = new DataSourceManager({
        cache: { dir },
        now: () => NOW,
        endpoints,
        sharedBudget: false,
      });
      await dsm.getData({ ...request, start: NOW - 5 * 86_400_000 });
      await assert.rejects(Deno.stat(file), Deno.errors.NotFound);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assert.throws(
    () => new DataSourceManager({ sharedBudget: "yes" as unknown as boolean }),
    InvalidOptionError,
  );
});
