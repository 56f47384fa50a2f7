import assert from "node:assert/strict";
import { WeightScheduler } from "../../src/source/weight_scheduler.ts";
import { RateLimitError } from "../../src/core/errors.ts";

/** A manual clock whose sleep advances time instead of waiting. */
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

Deno.test("WeightScheduler grants requests within budget × (1 - margin) at once", async () => {
  const clock = fakeClock(5_000);
  const s = new WeightScheduler({ budget: 100, margin: 0.2, ...clock });
  assert.equal(s.limit, 80);
  for (let i = 0; i < 8; i++) await s.acquire(10);
  assert.equal(s.available(), 0);
  assert.deepEqual(clock.sleeps, []);
});

Deno.test("WeightScheduler waits for the next window boundary when the budget is spent", async () => {
  const clock = fakeClock(10_000);
  const s = new WeightScheduler({ budget: 100, margin: 0, graceMs: 50, ...clock });
  await s.acquire(60);
  s.settle(60, "60");
  await s.acquire(40);
  s.settle(40, "100");
  await s.acquire(1);
  assert.deepEqual(clock.sleeps, [50_050]);
  assert.equal(clock.t, 60_050);
  assert.equal(s.available(), 99);
});

Deno.test("WeightScheduler counts in-flight weight until it is settled", async () => {
  const clock = fakeClock();
  const s = new WeightScheduler({ budget: 50, margin: 0, windowMs: 1000, graceMs: 0, ...clock });
  await s.acquire(30);
  await s.acquire(20);
  assert.equal(s.available(), 0);
  const third = s.acquire(10); // waits: nothing reported yet, but 50 is in flight
  assert.deepEqual(clock.sleeps, [1000]);
  // the new window cleared the reported weight, not the weight still in flight
  s.settle(30, "12");
  s.settle(20, "25");
  await third;
  assert.equal(s.available(), 15);
  s.settle(10, "30");
  assert.equal(s.available(), 20);
});

Deno.test("WeightScheduler keeps the largest report of the window", async () => {
  const clock = fakeClock();
  const s = new WeightScheduler({ budget: 100, margin: 0, ...clock });
  await s.acquire(2);
  await s.acquire(2);
  s.settle(2, "40");
  s.settle(2, " 38 "); // a late response carries an older count
  assert.equal(s.available(), 60);
});

Deno.test("WeightScheduler assumes a request without header was counted", async () => {
  const clock = fakeClock();
  const s = new WeightScheduler({ budget: 100, margin: 0, ...clock });
  await s.acquire(10);
  s.settle(10);
  await s.acquire(10);
  s.settle(10, null);
  await s.acquire(10);
  s.settle(10, "");
  await s.acquire(10);
  s.settle(10, "garbage");
  assert.equal(s.available(), 60);
});

Deno.test("WeightScheduler holds every request during a 429 pause", async () => {
  const clock = fakeClock(1_000);
  const s = new WeightScheduler({ budget: 100, margin: 0, ...clock });
  s.pause(7_000);
  await s.acquire(1);
  assert.deepEqual(clock.sleeps, [7_000]);
  assert.equal(clock.t, 8_000);
});

Deno.test("WeightScheduler refuses every request after a 418", async () => {
  const s = new WeightScheduler({ budget: 100, margin: 0, windowMs: 3_600_000 });
  await s.acquire(100);
  const waiting = s.acquire(5); // waits for the window
  const ban = new RateLimitError(418, "http://h/api/v3/klines", 120_000);
  s.banned(ban);
  await assert.rejects(waiting, (e) => e === ban);
  await assert.rejects(s.acquire(1), (e) => e === ban);
  assert.equal(s.ban, ban);
});

Deno.test("WeightScheduler stops waiting when the signal aborts", async () => {
  const s = new WeightScheduler({ budget: 10, margin: 0, windowMs: 3_600_000 });
  await s.acquire(10);
  const controller = new AbortController();
  const waiting = s.acquire(5, controller.signal);
  const reason = new Error("stop");
  controller.abort(reason);
  await assert.rejects(waiting, (e) => e === reason);
  await assert.rejects(s.acquire(1, AbortSignal.abort(reason)), (e) => e === reason);
});

Deno.test("WeightScheduler wakes waiters when a report frees budget", async () => {
  const s = new WeightScheduler({ budget: 10, margin: 0, windowMs: 3_600_000 });
  await s.acquire(10);
  const waiting = s.acquire(5);
  s.settle(10, "0"); // the exchange says nothing is used: its minute has turned
  await waiting;
  assert.equal(s.available(), 5);
});

Deno.test("WeightScheduler never grants more than its limit per window to concurrent callers", async () => {
  const clock = fakeClock();
  const s = new WeightScheduler({ budget: 100, margin: 0.1, windowMs: 1000, graceMs: 0, ...clock });
  const perWindow = new Map<number, number>();
  await Promise.all(Array.from({ length: 6 }, async () => {
    for (let i = 0; i < 20; i++) {
      await s.acquire(7);
      const w = Math.floor(clock.t / 1000);
      perWindow.set(w, (perWindow.get(w) ?? 0) + 7);
      await Promise.resolve();
      s.settle(7);
    }
  }));
  assert.equal([...perWindow.values()].reduce((a, b) => a + b), 6 * 20 * 7);
  for (const used of perWindow.values()) assert.ok(used <= 90, `${used} > 90`);
});

Deno.test("WeightScheduler rejects impossible weights and options", async () => {
  const s = new WeightScheduler({ budget: 100 });
  await assert.rejects(s.acquire(91), RangeError);
  assert.throws(() => new WeightScheduler({ budget: 0 }), RangeError);
  assert.throws(() => new WeightScheduler({ budget: 10, margin: 1 }), RangeError);
  assert.throws(() => new WeightScheduler({ budget: 10, windowMs: 0 }), RangeError);
});

Deno.test("WeightScheduler.shared returns one scheduler per key, and register injects one", () => {
  const a = WeightScheduler.shared("http://127.0.0.1:1/api/v3/klines", { budget: 6000 });
  const b = WeightScheduler.shared("http://127.0.0.1:1/api/v3/klines", { budget: 1 });
  assert.equal(a, b);
  assert.equal(a.limit, 5400);
  const injected = new WeightScheduler({ budget: 50 });
  WeightScheduler.register("http://127.0.0.1:1/api/v3/klines", injected);
  assert.equal(WeightScheduler.shared("http://127.0.0.1:1/api/v3/klines", { budget: 1 }), injected);
  WeightScheduler.register("http://127.0.0.1:1/api/v3/klines", undefined);
  assert.notEqual(
    WeightScheduler.shared("http://127.0.0.1:1/api/v3/klines", { budget: 1 }),
    injected,
  );
  WeightScheduler.register("http://127.0.0.1:1/api/v3/klines", undefined);
});

Deno.test("WeightScheduler lifts a 418 ban after its Retry-After, never without one", async () => {
  const clock = fakeClock(1_000);
  const s = new WeightScheduler({ budget: 100, ...clock });
  s.banned(new RateLimitError(418, "u", 5_000));
  await assert.rejects(s.acquire(1), { status: 418 });
  clock.t += 5_000;
  assert.equal(s.ban, undefined);
  await s.acquire(1);
  s.banned(new RateLimitError(418, "u"));
  clock.t += 1e12;
  await assert.rejects(s.acquire(1), { status: 418 });
});

Deno.test("WeightScheduler tells the time left in the window", () => {
  const clock = fakeClock(61_500);
  const s = new WeightScheduler({ budget: 100, graceMs: 100, ...clock });
  assert.equal(s.nextWindowIn(), 58_600);
});
