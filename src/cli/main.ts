/**
 * The `dsm` command line: `dsm fetch`, `dsm cache ls|stats|verify|clear`,
 * `dsm sync`, `dsm list`, `dsm emulator`. Exit codes: 0 ok, 1 failure (including a partial result:
 * the rows that could be fetched are written, the failures printed), 2 usage
 * error, 130 interrupted.
 *
 * @module
 */
import { runEmulatorCli } from "../emulator/main.ts";
import { checkOutputFolders, type FetchArgs, parseFetchArgs, UsageError } from "./_fetch_args.ts";
import { runFetchCommand } from "./_fetch_command.ts";
import { CACHE_USAGE, parseCacheArgs, runCacheCommand } from "./_cache_command.ts";
import { parseSyncArgs, runSyncCommand, SYNC_USAGE } from "./_sync_command.ts";
import { LIST_USAGE, parseListArgs, runListCommand } from "./_list_command.ts";

const USAGE = `Usage: dsm <command> [options]

Commands:
  dsm fetch     Fetch klines (or mark, index, premium price klines, funding rates,
                aggTrades, trades) to CSV, NDJSON, Arrow IPC or Parquet
  dsm cache     ls | stats | verify | clear: list, total, check or delete cached partitions
  dsm sync      Keep a manifest's series cached (incremental, resumable, --shard I/N)
  dsm list      What Vision holds: symbols, each series' first and last archive, holes
  dsm emulator  Run the local Binance emulator (dsm emulator --help)

dsm fetch options:
  --market spot|um|cm         market [spot]; also futures_usdt, futures_coin, any case
  --dataset NAME              klines, or on um and cm markPriceKlines, indexPriceKlines (named
                              by pair: BTCUSDT on um, BTCUSD on cm), premiumIndexKlines, and
                              fundingRate (events: no --interval); on every market
                              aggTrades and trades (no --interval; times in epoch µs)
                              [klines]
  --symbol SYMBOL             e.g. BTCUSDT, BTCUSD_PERP (required)
  --interval INTERVAL         1s .. 1M (required for klines and price klines)
  --start TIME                inclusive start, ISO 8601 or epoch ms (required)
  --end TIME                  exclusive end, ISO 8601 or epoch ms (required)
  --source auto|cache|vision|rest   sources allowed [auto]
  --cache-dir DIR             cache folder [DSM_CACHE_DIR or the platform cache]
  --cache-url s3://BUCKET/PREFIX   the cache in an object store (S3, R2, MinIO, Ceph RGW);
                              credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
  --cache-endpoint URL        the object store's S3 endpoint [AWS_ENDPOINT_URL or AWS S3]
  --cache-region REGION       the object store's region [AWS_REGION or us-east-1]
  --cache-read-only           read the cache, never write it
  --no-cache                  no cache
  --vision-url URL            Binance Vision base [DSM_VISION_URL]
  --listing-url URL           S3 listing base [DSM_LISTING_URL, else the Vision URL if given]
  --rest-url URL              REST base [DSM_REST_URL]
  --rest-market-data-url URL  REST base tried after a 451 [with --rest-url: none;
                              else Binance's data-api.binance.vision]
  --format csv|ndjson|arrow|parquet   output format [csv]
  --out FILE                  output file, - for stdout [stdout]; required for parquet
  --report FILE               write the fetch report as JSON
  --no-source-info            leave out the _data_source column
  --fill none|null            null: every grid slot, missing candles as null rows [none]
  --strict                    fail (exit 1) instead of writing a partial result
  --include-open-candle       include the candle still open now
  --compare-klines            aggTrades: rebuild 1m klines from the trades and report the
                              minutes that differ from the official ones (--report)
  --quiet                     no progress, no summary
  -h, --help                  this help

${CACHE_USAGE}

${SYNC_USAGE}

${LIST_USAGE}

Exit codes: 0 ok, 1 failure, 2 usage error, 130 interrupted`;

/** Where `dsm` reads and writes; every field defaults to the process's. */
export interface CliIo {
  /** Standard output (data and help). @default {Deno.stdout.writable} */
  stdout?: WritableStream<Uint8Array>;
  /** Writes diagnostics. @default {synchronous writes to Deno.stderr} */
  stderr?: (text: string) => void;
  /** Whether stderr is a terminal (progress line). @default {Deno.stderr.isTerminal()} */
  stderrIsTerminal?: boolean;
  /** Environment lookup. @default {Deno.env.get where permission is granted, else undefined} */
  env?: (name: string) => string | undefined;
  /** Interrupts the command (exit 130). @default {SIGINT} */
  signal?: AbortSignal;
  /** The clock, epoch ms. @default {Date.now} */
  now?: () => number;
}

const encoder = new TextEncoder();

function writeStderr(text: string): void {
  let bytes = encoder.encode(text);
  while (bytes.length > 0) bytes = bytes.subarray(Deno.stderr.writeSync(bytes));
}

async function writeOut(stdout: WritableStream<Uint8Array>, text: string): Promise<void> {
  const writer = stdout.getWriter();
  try {
    await writer.write(encoder.encode(text));
  } finally {
    writer.releaseLock();
  }
}

/**
 * Reads a variable only where `--allow-env` grants it, so that the
 * least-privilege flags (`--allow-env=DSM_CACHE_DIR,HOME,XDG_CACHE_HOME`)
 * neither fail nor prompt on the optional `DSM_*_URL` variables.
 */
function readEnv(name: string): string | undefined {
  try {
    if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") {
      return undefined;
    }
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/**
 * A bad value on the command line that the library refuses before any I/O
 * (market, symbol, interval, time, range): a usage error too.
 */
function isMisuse(error: unknown): error is TypeError | RangeError {
  const code = (error as { code?: unknown } | undefined)?.code;
  return (error instanceof TypeError || error instanceof RangeError) &&
    typeof code === "string" && code.startsWith("INVALID_");
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? `${error.message} (${code})` : error.message;
}

/** Runs `fn` with a signal that SIGINT aborts (unless the caller brings one). */
async function interruptible<T>(
  signal: AbortSignal | undefined,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  if (signal) return await fn(signal);
  const controller = new AbortController();
  const onSignal = () => controller.abort(new DOMException("Interrupted", "AbortError"));
  Deno.addSignalListener("SIGINT", onSignal);
  try {
    return await fn(controller.signal);
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
  }
}

/**
 * Runs the `dsm` command line in this process.
 *
 * @param args The arguments, e.g. `["fetch", "--symbol", "BTCUSDT", ...]`.
 * @param io Streams, environment and signal; the process's by default.
 * @returns The exit code: 0 ok (also when stdout is closed early, as by
 *   `| head`), 1 failure, 2 usage error (a bad flag or value: market,
 *   symbol, interval, time, range), 130 interrupted.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { main } from "./main.ts";
 * let stderr = "";
 * const code = await main(["fetch", "--bogus"], { stderr: (text) => stderr += text });
 * assert.equal(code, 2);
 * assert.match(stderr, /Usage: dsm/);
 * const args = ["fetch", "--symbol", "BTC-USDT", "--interval", "1h", "--start", "2024-01-01"];
 * stderr = "";
 * assert.equal(await main([...args, "--end", "2024-01-02"], { stderr: (t) => stderr += t }), 2);
 * assert.match(stderr, /did you mean BTCUSDT\?/);
 * ```
 */
export async function main(args: string[], io: CliIo = {}): Promise<number> {
  const stderr = io.stderr ?? writeStderr;
  const stdout = io.stdout ?? Deno.stdout.writable;
  const env = io.env ?? readEnv;
  const [command, ...rest] = args;
  let signal: AbortSignal | undefined;
  try {
    switch (command) {
      case "-h":
      case "--help":
      case "help":
        await writeOut(stdout, USAGE + "\n");
        return 0;
      case "fetch": {
        const parsed: FetchArgs | "help" = parseFetchArgs(rest, env);
        if (parsed === "help") {
          await writeOut(stdout, USAGE + "\n");
          return 0;
        }
        checkOutputFolders(parsed);
        return await interruptible(io.signal, async (s) => {
          signal = s;
          const report = await runFetchCommand(parsed, {
            stdout,
            stderr,
            stderrIsTerminal: io.stderrIsTerminal ?? Deno.stderr.isTerminal(),
            signal: s,
            now: io.now,
          });
          if (!report.partial) return 0;
          for (const f of report.failures.slice(0, 5)) {
            stderr(`dsm: ${f.partition ? `${f.partition}: ` : ""}${f.message} (${f.code})\n`);
          }
          stderr("dsm: The result is partial: some ranges could not be fetched\n");
          return 1;
        });
      }
      case "cache": {
        const parsed = parseCacheArgs(rest, env);
        if (parsed === "help") {
          await writeOut(stdout, USAGE + "\n");
          return 0;
        }
        return await interruptible(io.signal, (s) => {
          signal = s;
          return runCacheCommand(parsed, {
            print: (text) => writeOut(stdout, text),
            stderr,
            signal: s,
          });
        });
      }
      case "sync": {
        const parsed = await parseSyncArgs(rest, env);
        if (parsed === "help") {
          await writeOut(stdout, USAGE + "\n");
          return 0;
        }
        return await interruptible(io.signal, async (s) => {
          signal = s;
          const summary = await runSyncCommand(parsed, {
            print: (text) => writeOut(stdout, text),
            stderr,
            signal: s,
            now: io.now,
          });
          return summary.complete ? 0 : 1;
        });
      }
      case "list": {
        const parsed = parseListArgs(rest, env);
        if (parsed === "help") {
          await writeOut(stdout, USAGE + "\n");
          return 0;
        }
        return await interruptible(io.signal, (s) => {
          signal = s;
          return runListCommand(parsed, {
            print: (text) => writeOut(stdout, text),
            stderr,
            signal: s,
            now: io.now,
          });
        });
      }
      case "emulator": {
        let printed = Promise.resolve();
        const code = await runEmulatorSignals(io.signal, (s) =>
          runEmulatorCli(rest, {
            signal: s,
            print: (line) => printed = printed.then(() => writeOut(stdout, line + "\n")),
            printError: (line) => stderr(line + "\n"),
          }));
        await printed;
        return code;
      }
      case undefined:
        throw new UsageError("Cannot run dsm: a command is required");
      default:
        throw new UsageError(`Cannot run dsm: unknown command "${command}"`);
    }
  } catch (error) {
    if (error instanceof UsageError || isMisuse(error)) {
      stderr(`dsm: ${describe(error)}\n${USAGE}\n`);
      return 2;
    }
    if (error instanceof Deno.errors.BrokenPipe) return 0;
    if ((signal as AbortSignal | undefined)?.aborted) {
      stderr("\ndsm: interrupted\n");
      return 130;
    }
    stderr(`dsm: ${describe(error)}\n`);
    return 1;
  }
}

async function runEmulatorSignals(
  signal: AbortSignal | undefined,
  fn: (signal: AbortSignal) => Promise<number>,
): Promise<number> {
  if (signal) return await fn(signal);
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    return await fn(controller.signal);
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
