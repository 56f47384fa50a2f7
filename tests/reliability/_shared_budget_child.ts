/**
 * A process hammering REST klines through the library, for
 * `shared_budget_test.ts`: prints `{"ready":true}`, waits for a line on
 * stdin, runs `loops` concurrent loops of one-page requests, prints its
 * summary as one JSON line.
 *
 * @module
 */
import { RestClient, SharedWeightBudget, WeightScheduler } from "../../binance.ts";

/** What the child does. */
export interface BudgetJob {
  /** The emulator's URL. */
  url: string;
  /** The cache folder holding the shared budget. */
  dir: string;
  /** Pace with the shared budget (else a process-local scheduler). */
  shared: boolean;
  /** Concurrent request loops. */
  loops: number;
  /** Requests per loop. */
  requests: number;
  /** Spot weight budget per window. */
  budget: number;
  /** Window length, ms. */
  windowMs: number;
  /** How late a request may land after its reservation, ms. */
  graceMs: number;
}

const job: BudgetJob = JSON.parse(Deno.args[0]);
const logged: string[] = [];
const scheduler = job.shared
  ? new SharedWeightBudget({
    dir: job.dir,
    market: "spot",
    budget: job.budget,
    windowMs: job.windowMs,
    graceMs: job.graceMs,
    logger: (m) => logged.push(m),
  })
  : new WeightScheduler({ budget: job.budget, windowMs: job.windowMs, graceMs: job.graceMs });
const client = new RestClient({
  market: "spot",
  hosts: [job.url],
  scheduler,
  retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 },
});

// The first request of a process is slow to leave (HTTP client, compilation):
// warm up on a path that weighs nothing, so that the bursts leave together.
await (await fetch(`${job.url}/warm-up`)).body?.cancel();
console.log(JSON.stringify({ ready: true }));
const stdin = Deno.stdin.readable.getReader();
await stdin.read();
await stdin.cancel();

const totals = { requests: 0, weight: 0, rateLimited: 0, errors: [] as string[] };
const START = Date.UTC(2024, 0, 1);
await Promise.all(Array.from({ length: job.loops }, async (_, loop) => {
  for (let i = 0; i < job.requests; i++) {
    const start = START + (loop * job.requests + i) * 600_000;
    try {
      const { stats } = await client.fetchKlinesTable({
        symbol: "BTCUSDT",
        interval: "1m",
        start,
        end: start + 600_000,
      });
      totals.requests += stats.requests;
      totals.weight += stats.weight;
      totals.rateLimited += stats.rateLimited;
    } catch (error) {
      totals.errors.push(String(error));
    }
  }
}));
console.log(
  JSON.stringify({ ...totals, shared: "shared" in scheduler && scheduler.shared, logged }),
);
