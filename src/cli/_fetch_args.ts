/**
 * The arguments of `dsm fetch`, parsed strictly and checked before any I/O.
 *
 * @module
 */
import { parseArgs } from "node:util";
import type { SourceMode } from "../fcp/kline_request.ts";

/** Output formats of `dsm fetch`. */
export type OutputFormat = "csv" | "ndjson" | "arrow" | "parquet";

/** A usage error: the caller prints the usage text and exits with 2. */
export class UsageError extends Error {
  /**
   * Creates the instance.
   *
   * @param message What is wrong with the command line.
   */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The parsed `dsm fetch` command. */
export interface FetchArgs {
  /** Market. */
  market: "spot" | "um" | "cm";
  /** Symbol as given. */
  symbol: string;
  /** Interval as given. */
  interval: string;
  /** Start: epoch ms when all digits, else the ISO text. */
  start: string | number;
  /** End: epoch ms when all digits, else the ISO text. */
  end: string | number;
  /** Sources allowed. */
  source: SourceMode;
  /** Cache folder, false for none, undefined for the default. */
  cache: { dir?: string } | false;
  /** Endpoints. */
  endpoints: { vision?: string; listing?: string; rest?: string };
  /** Output format. */
  format: OutputFormat;
  /** Output file; undefined for stdout. */
  out?: string;
  /** Report file. */
  report?: string;
  /** Append `_data_source`. */
  includeSourceInfo: boolean;
  /** No progress nor summary. */
  quiet: boolean;
}

const MARKETS = ["spot", "um", "cm"] as const;
const SOURCES = ["auto", "cache", "vision", "rest"] as const;
const FORMATS = ["csv", "ndjson", "arrow", "parquet"] as const;

function oneOf<T extends string>(value: string, allowed: readonly T[], flag: string): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(
      `Cannot use --${flag} "${value}": expected one of ${allowed.join(", ")}`,
    );
  }
  return value as T;
}

function required(value: string | undefined, flag: string): string {
  if (value === undefined || value === "") {
    throw new UsageError(`Cannot fetch: --${flag} is required`);
  }
  return value;
}

function time(value: string): string | number {
  return /^\d+$/.test(value) ? Number(value) : value;
}

function url(value: string | undefined, flag: string): string | undefined {
  if (value === undefined || value === "") return undefined;
  try {
    const parsed = new URL(value);
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new Error();
  } catch {
    throw new UsageError(`Cannot use --${flag} "${value}": expected an http or https URL`);
  }
  return value.replace(/\/+$/, "");
}

/**
 * Parses the arguments of `dsm fetch` (after the subcommand).
 *
 * @param args The arguments.
 * @param env Environment lookup for `DSM_CACHE_DIR`, `DSM_VISION_URL`, `DSM_REST_URL`, `DSM_LISTING_URL`.
 * @returns The command, or `"help"`.
 * @throws {UsageError} For unknown flags, missing or bad values.
 */
export function parseFetchArgs(
  args: string[],
  env: (name: string) => string | undefined,
): FetchArgs | "help" {
  let v;
  try {
    v = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        "market": { type: "string" },
        "symbol": { type: "string" },
        "interval": { type: "string" },
        "start": { type: "string" },
        "end": { type: "string" },
        "source": { type: "string" },
        "cache-dir": { type: "string" },
        "no-cache": { type: "boolean" },
        "vision-url": { type: "string" },
        "rest-url": { type: "string" },
        "listing-url": { type: "string" },
        "format": { type: "string" },
        "out": { type: "string" },
        "report": { type: "string" },
        "no-source-info": { type: "boolean" },
        "quiet": { type: "boolean" },
        "help": { type: "boolean", short: "h" },
      },
    }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (v.help) return "help";
  if (v["no-cache"] && v["cache-dir"] !== undefined) {
    throw new UsageError("Cannot use --cache-dir with --no-cache");
  }
  const format = oneOf(v.format ?? "csv", FORMATS, "format");
  const out = v.out === "-" || v.out === "" ? undefined : v.out;
  if (format === "parquet" && out === undefined) {
    throw new UsageError("Cannot write parquet to stdout: --out FILE is required");
  }
  const source = oneOf(v.source ?? "auto", SOURCES, "source");
  const cacheDir = v["cache-dir"] ?? env("DSM_CACHE_DIR");
  if (v["no-cache"] && source === "cache") {
    throw new UsageError('Cannot use --source "cache" with --no-cache');
  }
  const vision = url(v["vision-url"] ?? env("DSM_VISION_URL"), "vision-url");
  const listing = url(v["listing-url"] ?? env("DSM_LISTING_URL"), "listing-url") ?? vision;
  const rest = url(v["rest-url"] ?? env("DSM_REST_URL"), "rest-url");
  return {
    market: oneOf(v.market ?? "spot", MARKETS, "market"),
    symbol: required(v.symbol, "symbol"),
    interval: required(v.interval, "interval"),
    start: time(required(v.start, "start")),
    end: time(required(v.end, "end")),
    source,
    cache: v["no-cache"] ? false : cacheDir ? { dir: cacheDir } : {},
    endpoints: Object.fromEntries(
      Object.entries({ vision, listing, rest }).filter(([, x]) => x !== undefined),
    ),
    format,
    out,
    report: v.report,
    includeSourceInfo: !v["no-source-info"],
    quiet: v.quiet ?? false,
  };
}
