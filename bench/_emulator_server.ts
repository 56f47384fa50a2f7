/**
 * The emulator process of the end-to-end benchmark: serves on 127.0.0.1 with
 * a fixed clock, a per-response latency and a generated-file cache large
 * enough to hold every file the benchmark asks for, so that after one
 * warm-up pass no contender is charged for generating archives.
 *
 * Protocol: prints the base URL as its first stdout line, then answers each
 * stdin line `stats` with one JSON line of the request counters since the
 * last `stats` (and resets them, with the weight windows); stops on `quit`
 * or at the end of stdin.
 *
 * Run: `deno run -A bench/_emulator_server.ts --latency 20 --now <epoch ms>`
 *
 * @module
 */
import { parseArgs } from "node:util";
import { startEmulator } from "../src/emulator/emulator.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    latency: { type: "string", default: "20" },
    now: { type: "string" },
    "cache-mb": { type: "string", default: "1024" },
  },
});
const now = values.now === undefined ? Date.now() : Number(values.now);
const emulator = await startEmulator({
  now,
  latencyMs: Number(values.latency),
  cacheBytes: Number(values["cache-mb"]) * 1024 * 1024,
});
const encoder = new TextEncoder();
const out = (line: string) => Deno.stdout.writeSync(encoder.encode(line + "\n"));
out(emulator.url);

const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream());
let pending = "";
loop: for await (const chunk of lines) {
  pending += chunk;
  let nl: number;
  while ((nl = pending.indexOf("\n")) >= 0) {
    const command = pending.slice(0, nl).trim();
    pending = pending.slice(nl + 1);
    if (command === "quit") break loop;
    if (command === "stats") {
      out(JSON.stringify(emulator.stats));
      emulator.reset();
    }
  }
}
await emulator.close();
