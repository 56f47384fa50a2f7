/**
 * The emulator's command line: `deno task emulator --port N --seed S [fault flags]`.
 * Prints the base URL as the first line of stdout and serves until SIGINT or SIGTERM.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { startEmulator } from "./emulator.ts";
import type { EmulatorOptions } from "./emulator_options.ts";

const USAGE = `Usage: emulator [options]
  --port N              TCP port on 127.0.0.1 (0: any free port) [0]
  --seed S              seed of the market data and faults [1]
  --now T               fixed clock, epoch ms or ISO time [the system clock]
  --latency MS          added latency per response [0]
  --jitter MS           extra random latency [0]
  --error-rate R        share of 5xx answers [0]
  --reset-rate R        share of responses cut with the connection closed [0]
  --truncate-rate R     share of responses with a cut body [0]
  --missing-rate R      share of Vision files missing [0]
  --missing-status S    status of a missing file, 404 or 403 [404]
  --mismatch-rate R     share of CHECKSUM files not matching their zip [0]
  --partial-rate R      share of daily files holding only a prefix of their rows [0]
  --lag-days N          publication lag of Vision files, days [0]
  --data-descriptor     zips carry sizes in a trailing data descriptor
  --no-checksum-newline CHECKSUM files end without a newline
  --restrict-451        spot REST answers 451 except under /market-data
  --weight-window-ms MS length of the weight window [60000]
  --no-gaps             no exchange halts
  --history H           real (irregular history like Binance's before 2023) or clean [real]
  --trade-scale X       multiplies the trades a day (spot BTCUSDT ~1,000,000 at 1) [1]
  --klines-from-trades  1m klines aggregate the trades (other intervals stay generated)
  -h, --help            this help`;

function num(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) {
    throw new TypeError(`Cannot use --${name} "${value}": expected a number >= 0`);
  }
  return n;
}

function rate(value: string | undefined, name: string): number | undefined {
  const n = num(value, name);
  if (n !== undefined && n > 1) {
    throw new RangeError(`Cannot use --${name} "${value}": expected a share from 0 to 1`);
  }
  return n;
}

function port(value: string | undefined): number | undefined {
  const n = num(value, "port");
  if (n !== undefined && (!Number.isInteger(n) || n > 65_535)) {
    throw new RangeError(`Cannot use --port "${value}": expected an integer from 0 to 65535`);
  }
  return n;
}

/**
 * Parses the command line into emulator options.
 *
 * @param args The arguments.
 * @returns The options, or `"help"`.
 * @throws {TypeError} For unknown flags and bad values.
 * @throws {RangeError} For a fault rate outside 0..1, a port outside 0..65535 or a trade scale of 0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseEmulatorArgs } from "./main.ts";
 * const options = parseEmulatorArgs(["--port", "0", "--error-rate", "0.1", "--data-descriptor"]);
 * assert.deepEqual(options, { port: 0, errorRate: 0.1, dataDescriptor: true });
 * assert.throws(() => parseEmulatorArgs(["--error-rate", "2"]), RangeError);
 * assert.deepEqual(parseEmulatorArgs(["--trade-scale", "0.01"]), { tradeScale: 0.01 });
 * assert.deepEqual(parseEmulatorArgs(["--klines-from-trades"]), { klinesFromTrades: true });
 * ```
 */
export function parseEmulatorArgs(args: string[]): EmulatorOptions | "help" {
  const { values: v } = parseArgs({
    args,
    strict: true,
    options: {
      "port": { type: "string" },
      "seed": { type: "string" },
      "now": { type: "string" },
      "latency": { type: "string" },
      "jitter": { type: "string" },
      "error-rate": { type: "string" },
      "reset-rate": { type: "string" },
      "truncate-rate": { type: "string" },
      "missing-rate": { type: "string" },
      "missing-status": { type: "string" },
      "mismatch-rate": { type: "string" },
      "partial-rate": { type: "string" },
      "lag-days": { type: "string" },
      "weight-window-ms": { type: "string" },
      "data-descriptor": { type: "boolean" },
      "no-checksum-newline": { type: "boolean" },
      "restrict-451": { type: "boolean" },
      "no-gaps": { type: "boolean" },
      "history": { type: "string" },
      "trade-scale": { type: "string" },
      "klines-from-trades": { type: "boolean" },
      "help": { type: "boolean", short: "h" },
    },
  });
  if (v.help) return "help";
  let now: number | undefined;
  if (v.now !== undefined) {
    now = /^\d+$/.test(v.now) ? Number(v.now) : Date.parse(v.now);
    if (Number.isNaN(now)) {
      throw new TypeError(`Cannot use --now "${v.now}": expected epoch ms or an ISO time`);
    }
  }
  const status = num(v["missing-status"], "missing-status");
  if (status !== undefined && status !== 404 && status !== 403) {
    throw new TypeError(`Cannot use --missing-status "${status}": expected 404 or 403`);
  }
  const history = v.history;
  if (history !== undefined && history !== "real" && history !== "clean") {
    throw new TypeError(`Cannot use --history "${history}": expected real or clean`);
  }
  const tradeScale = num(v["trade-scale"], "trade-scale");
  if (tradeScale === 0) {
    throw new RangeError(`Cannot use --trade-scale "0": expected a number above 0`);
  }
  const options: EmulatorOptions = {
    port: port(v.port),
    seed: num(v.seed, "seed"),
    now,
    latencyMs: num(v.latency, "latency"),
    jitterMs: num(v.jitter, "jitter"),
    errorRate: rate(v["error-rate"], "error-rate"),
    resetRate: rate(v["reset-rate"], "reset-rate"),
    truncateRate: rate(v["truncate-rate"], "truncate-rate"),
    missingFiles: rate(v["missing-rate"], "missing-rate"),
    missingStatus: status as 404 | 403 | undefined,
    checksumMismatch: rate(v["mismatch-rate"], "mismatch-rate"),
    partialFiles: rate(v["partial-rate"], "partial-rate"),
    publicationLagDays: num(v["lag-days"], "lag-days"),
    weightWindowMs: num(v["weight-window-ms"], "weight-window-ms"),
    dataDescriptor: v["data-descriptor"],
    checksumNewline: v["no-checksum-newline"] ? false : undefined,
    restrict451: v["restrict-451"],
    gaps: v["no-gaps"] ? [] : undefined,
    history,
    tradeScale,
    klinesFromTrades: v["klines-from-trades"],
  };
  return Object.fromEntries(Object.entries(options).filter(([, x]) => x !== undefined));
}

/**
 * Runs the emulator until the signal aborts (the CLI wires SIGINT and SIGTERM to it).
 *
 * @param args The command line.
 * @param options Where to print, and the stop signal.
 * @returns The exit code: 0; 1 when the server cannot start (a busy port:
 *   one line on `printError`); 2 for a usage error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runEmulatorCli } from "./main.ts";
 * const stop = new AbortController();
 * const lines: string[] = [];
 * const code = await runEmulatorCli(["--port", "0"], {
 *   signal: stop.signal,
 *   print: (line) => { lines.push(line); stop.abort(); },
 * });
 * assert.equal(code, 0);
 * assert.match(lines[0], /^http:\/\/127\.0\.0\.1:\d+$/);
 * ```
 */
export async function runEmulatorCli(
  args: string[],
  options: {
    signal: AbortSignal;
    print?: (line: string) => void;
    printError?: (line: string) => void;
  },
): Promise<number> {
  const print = options.print ?? console.log;
  const printError = options.printError ?? console.error;
  let parsed: EmulatorOptions | "help";
  try {
    parsed = parseEmulatorArgs(args);
  } catch (err) {
    printError(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (parsed === "help") {
    print(USAGE);
    return 0;
  }
  let emulator;
  try {
    emulator = await startEmulator(parsed);
  } catch (err) {
    const where = `127.0.0.1:${parsed.port ?? 0}`;
    printError(
      err instanceof Deno.errors.AddrInUse
        ? `Cannot start the emulator: port ${parsed.port} on 127.0.0.1 is in use; ` +
          "pick another with --port, or --port 0 for any free one"
        : `Cannot start the emulator on ${where}: ${err instanceof Error ? err.message : err}`,
    );
    return 1;
  }
  print(emulator.url);
  if (!options.signal.aborted) {
    await new Promise((resolve) =>
      options.signal.addEventListener("abort", resolve, { once: true })
    );
  }
  await emulator.close();
  return 0;
}

if (import.meta.main) {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const code = await runEmulatorCli(Deno.args, { signal: stop.signal });
  Deno.removeSignalListener("SIGINT", onSignal);
  Deno.removeSignalListener("SIGTERM", onSignal);
  Deno.exit(code);
}
