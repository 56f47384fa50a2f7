/**
 * One weight budget for the processes of a host: three processes hammer the
 * emulator's REST klines at once, each with its own permissions
 * (`--allow-net=127.0.0.1 --allow-read=<dir> --allow-write=<dir>`). With the
 * budget shared through the cache folder the emulator never answers 429;
 * with a scheduler per process the same load earns 429s (so the check can
 * fail). Only what the emulator counted is asserted, no timings.
 *
 * @module
 */
import assert from "node:assert/strict";
import { startEmulator } from "../../src/emulator/emulator.ts";
import type { BudgetJob } from "./_shared_budget_child.ts";

const CHILD = new URL("./_shared_budget_child.ts", import.meta.url).pathname;
/** Spot weight per window of the emulator (and of the clients' budgets). */
const BUDGET = 100;
const WINDOW_MS = 500;
/** Reservations this close to a window's end also count in the next (loaded CI machines). */
const GRACE_MS = 100;
/** Per process: 24 requests of weight 2 in flight at once, 48 > BUDGET / 3. */
const LOOPS = 24;
const REQUESTS = 3;

interface Summary {
  requests: number;
  weight: number;
  rateLimited: number;
  errors: string[];
  shared: boolean;
  logged: string[];
}

/** Runs `count` children on the job, released together once all are ready. */
async function runChildren(job: BudgetJob, flags: string[], count: number): Promise<Summary[]> {
  const children = Array.from({ length: count }, () =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", ...flags, CHILD, JSON.stringify(job)],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn());
  const outputs = children.map((child) => ({
    lines: child.stdout.pipeThrough(new TextDecoderStream()).getReader(),
    stderr: new Response(child.stderr).text(),
    text: "",
  }));
  // Wait for every child to be ready, then release them at once.
  for (const out of outputs) {
    while (!out.text.includes("\n")) {
      const { value, done } = await out.lines.read();
      if (done) break;
      out.text += value;
    }
  }
  for (const child of children) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode("go\n"));
    await writer.close();
  }
  const summaries: Summary[] = [];
  for (const [i, out] of outputs.entries()) {
    for (;;) {
      const { value, done } = await out.lines.read();
      if (done) break;
      out.text += value;
    }
    const status = await children[i].status;
    const stderr = await out.stderr;
    assert.equal(status.code, 0, stderr);
    const lines = out.text.trim().split("\n");
    assert.deepEqual(JSON.parse(lines[0]), { ready: true });
    summaries.push(JSON.parse(lines.at(-1)!));
  }
  return summaries;
}

Deno.test({
  name: "Shared weight budget: three processes stay under the emulator's budget together",
  // The children run for a few windows; the emulator runs on the real clock.
  fn: async (t) => {
    const dir = await Deno.makeTempDir();
    await using emu = await startEmulator({
      weightBudget: { spot: BUDGET },
      weightWindowMs: WINDOW_MS,
      banAfter: 1_000_000, // count 429s, never ban
    });
    const flags = ["--allow-net=127.0.0.1", `--allow-read=${dir}`, `--allow-write=${dir}`];
    const job: BudgetJob = {
      url: emu.url,
      dir,
      shared: true,
      loops: LOOPS,
      requests: REQUESTS,
      budget: BUDGET,
      windowMs: WINDOW_MS,
      graceMs: GRACE_MS,
    };
    try {
      await t.step("shared through the cache folder: never a 429", async () => {
        emu.reset();
        const summaries = await runChildren(job, flags, 3);
        for (const s of summaries) {
          assert.deepEqual(s.errors, []);
          assert.equal(s.shared, true);
          assert.equal(s.rateLimited, 0);
          assert.equal(s.requests, LOOPS * REQUESTS);
        }
        const { statuses, requests } = emu.stats;
        assert.equal(statuses[429] ?? 0, 0, JSON.stringify(statuses));
        assert.equal(statuses[418] ?? 0, 0, JSON.stringify(statuses));
        // Every request the emulator admitted, and together several windows' budget:
        // without a 429, no window's weight passed the budget.
        assert.equal(requests.rest, 3 * LOOPS * REQUESTS);
        const weight = summaries.reduce((sum, s) => sum + s.weight, 0);
        assert.ok(weight >= 4 * BUDGET, `${weight}`);
        const state = JSON.parse(await Deno.readTextFile(`${dir}/v1/budget/spot.json`));
        assert.equal(state.v, 2);
      });

      await t.step("a scheduler per process: the same load earns 429s", async () => {
        emu.reset();
        const summaries = await runChildren({ ...job, shared: false }, flags, 3);
        const { statuses } = emu.stats;
        assert.ok((statuses[429] ?? 0) > 0, JSON.stringify(statuses));
        assert.ok(summaries.some((s) => s.rateLimited > 0 || s.errors.length > 0));
      });

      await t.step("without write permission: paced alone, said once", async () => {
        emu.reset();
        const readOnly = ["--allow-net=127.0.0.1", `--allow-read=${dir}`];
        const [s] = await runChildren({ ...job, loops: 1, requests: 2 }, readOnly, 1);
        assert.equal(s.shared, false);
        assert.deepEqual(s.errors, []);
        assert.equal(s.logged.length, 1, String(s.logged));
        assert.match(s.logged[0], /^Weight budget of spot is per process: cannot use /);
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
