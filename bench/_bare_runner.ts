/**
 * The bare client as an end-to-end contender: the least a fresh Deno process
 * does to return a month of klines from Vision. The listing, the monthly
 * archive's CHECKSUM and the archive itself are requested at once (one round
 * trip), and the archive is decoded with this module's codec
 * (`streamKlineZip`, SHA-256 checked). Nothing else: no plan, no cache, no
 * checks, no report, no Table. It tells what a fresh process costs beyond
 * the floor (its first fetch, the JIT) for any client written in Deno.
 *
 * @module
 */
import { streamKlineZip } from "../src/codec/read_kline.ts";
import type { ContenderJob, RunnerResult } from "./_contender.ts";
import { Tally } from "./_runner_result.ts";

const VISION_MARKET = { spot: "spot", um: "futures/um", cm: "futures/cm" } as const;

async function ok(url: string): Promise<Response> {
  const response = await fetch(url);
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`Cannot download "${url}": HTTP ${response.status}`);
  }
  return response;
}

/**
 * Fetches and decodes the monthly archive of the job's month.
 *
 * @param job What to fetch and where; start and end must bound one calendar month (UTC).
 * @returns Rows, checksum of closes, and the three requests.
 */
export async function runBareMonth(job: ContenderJob): Promise<RunnerResult> {
  const start = new Date(job.start);
  const next = Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1);
  if (start.getUTCDate() !== 1 || job.start % 86_400_000 !== 0 || job.end !== next) {
    throw new TypeError("Cannot run the bare client: the range is not one calendar month");
  }
  const folder = `data/${VISION_MARKET[job.market]}/monthly/klines/${job.symbol}/${job.interval}/`;
  const name = `${job.symbol}-${job.interval}-${start.toISOString().slice(0, 7)}.zip`;
  const archive = `${job.url}/${folder}${name}`;
  const [listing, checksum, zip] = await Promise.all([
    ok(`${job.url}/?delimiter=/&prefix=${folder}`).then((r) => r.text()),
    ok(`${archive}.CHECKSUM`).then((r) => r.text()),
    ok(archive).then((r) => r.arrayBuffer()),
  ]);
  if (!listing.includes(name)) throw new Error(`Cannot find "${name}" in its folder's listing`);
  const expectedSha256 = checksum.trim().split(/\s+/)[0];
  const tally = new Tally();
  for await (const batch of streamKlineZip(new Uint8Array(zip), { expectedSha256 })) {
    tally.add(batch);
  }
  return tally.result(3);
}
