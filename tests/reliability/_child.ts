/**
 * Spawns `_fetch_child.ts` with chosen permissions and reads its JSON lines.
 *
 * @module
 */
import type { FetchJob } from "./_fetch_child.ts";

export type { FetchJob } from "./_fetch_child.ts";

/** Path of the child script. */
export const FETCH_CHILD = new URL("./_fetch_child.ts", import.meta.url).pathname;

/** A running child. */
export interface FetchChild {
  /** The process. */
  readonly process: Deno.ChildProcess;
  /** The next JSON line, or undefined at the end of its output. */
  next(): Promise<Record<string, unknown> | undefined>;
  /** Waits for the exit, draining the output; returns the status and stderr. */
  finish(): Promise<{ status: Deno.CommandStatus; stderr: string }>;
}

/**
 * Starts the fetch child.
 *
 * @param job What it fetches.
 * @param flags Permission flags (`--no-prompt` is always added).
 * @returns The child.
 */
export function spawnFetch(job: FetchJob, flags: readonly string[]): FetchChild {
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", ...flags, FETCH_CHILD, JSON.stringify(job)],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(process.stderr).text();
  const lines = process.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  async function next(): Promise<Record<string, unknown> | undefined> {
    while (!buffered.includes("\n")) {
      const { value, done } = await lines.read();
      if (done) return undefined;
      buffered += value;
    }
    const at = buffered.indexOf("\n");
    const line = buffered.slice(0, at);
    buffered = buffered.slice(at + 1);
    return JSON.parse(line);
  }
  return {
    process,
    next,
    async finish() {
      while ((await next()) !== undefined) { /* drain */ }
      return { status: await process.status, stderr: await stderr };
    },
  };
}

/**
 * A seeded PRNG (mulberry32) for reproducible kill points.
 *
 * @param seed The seed.
 * @returns Uniform draws in [0, 1).
 */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
