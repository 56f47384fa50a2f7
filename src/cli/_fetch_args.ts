/**
 * The arguments of `dsm fetch`, parsed strictly and checked before any I/O.
 *
 * @module
 */
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { InvalidSymbolError } from "../core/errors.ts";
import { type Market, parseMarket } from "../core/market.ts";
import { symbolHint, validateSymbol } from "../core/symbol.ts";
import { type CandleDataset, resolveRequest, type SourceMode } from "../fcp/kline_request.ts";
import { resolveFundingRequest } from "../fcp/funding_request.ts";
import { resolveTradeRequest } from "../fcp/trade_request.ts";
import type { TradeDataset } from "../core/trade_schema.ts";
import type { CacheOptions } from "../fcp/open_cache.ts";

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
  /** Dataset: klines, a price klines dataset of um and cm, funding rates, aggTrades or trades. */
  dataset: CandleDataset | "fundingRate" | TradeDataset;
  /** Market (an alias such as `futures_usdt` resolved). */
  market: Market;
  /** Symbol as given. */
  symbol: string;
  /** Interval as given (empty for funding rates). */
  interval: string;
  /** Start: epoch ms when all digits, else the ISO text. */
  start: string | number;
  /** End: epoch ms when all digits, else the ISO text. */
  end: string | number;
  /** Sources allowed. */
  source: SourceMode;
  /** The cache: a folder (`dir`, else the default) or an object store (`url`), or false for none. */
  cache: CacheOptions | false;
  /** Endpoints; `restMarketData` is tried after the REST base answers 451. */
  endpoints: { vision?: string; listing?: string; rest?: string; restMarketData?: string[] };
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
  /** `null`: every grid slot, missing candles as null rows. */
  fill: "none" | "null";
  /** Fail instead of returning a partial result. */
  strict: boolean;
  /** Include the still-open candle when the range reaches now. */
  includeOpenCandle: boolean;
  /** aggTrades: compare 1m klines rebuilt from the trades with the official ones. */
  compareKlines: boolean;
}

const SOURCES = ["auto", "cache", "vision", "rest"] as const;
const FORMATS = ["csv", "ndjson", "arrow", "parquet"] as const;
const FILLS = ["none", "null"] as const;

/**
 * A market id or alias in any case (`UM`, `Futures_USDT`).
 *
 * @throws {InvalidMarketError} For anything else.
 */
export function marketOf(value: string): Market {
  try {
    return parseMarket(value.toLowerCase());
  } catch {
    return parseMarket(value); // the error quotes the value as given
  }
}

/**
 * Refuses what a command line may pass for a symbol but no market lists: a
 * value that does not begin with a letter or digit (`-`, which is not
 * stdin here, or `-BTC`), and a symbol written with a separator
 * (`BTC-USDT`, `BTC/USDT`, `btc usdt`): Binance symbols have none, and a
 * REST call would only answer "invalid symbol". The hint is the joined
 * symbol in the market's form.
 *
 * @throws {InvalidSymbolError} With the hint, if any.
 */
export function refuseSeparator(symbol: string, market: Market): void {
  if (!/^[\p{L}\p{N}]/u.test(symbol)) {
    throw new InvalidSymbolError(
      symbol,
      `Cannot use symbol ${JSON.stringify(symbol)} on market "${market}": ` +
        "a symbol begins with a letter or digit (--symbol does not read stdin)",
    );
  }
  const parts = /^([^\s/-]+)[\s/-]+([^\s/-]+)$/u.exec(symbol.trim());
  if (parts === null) return;
  let joined: string;
  try {
    joined = validateSymbol(parts[1] + parts[2], market);
  } catch (error) {
    if (!(error instanceof InvalidSymbolError) || error.hint === undefined) return;
    joined = error.hint;
  }
  const hint = symbolHint(joined, market) ?? joined;
  throw new InvalidSymbolError(
    symbol,
    `Cannot use symbol ${JSON.stringify(symbol)} on market "${market}": ` +
      `Binance symbols have no separator; did you mean ${hint}?`,
    hint,
  );
}

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

/**
 * An http(s) URL flag's value without trailing slashes, or undefined when absent or empty.
 *
 * @throws {UsageError} When it is not an http or https URL.
 */
export function httpUrl(value: string | undefined, flag: string): string | undefined {
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
 * The Vision, listing and REST bases of `--vision-url`, `--listing-url` and
 * `--rest-url` (else `DSM_VISION_URL`, `DSM_LISTING_URL`, `DSM_REST_URL`; the
 * listing defaults to the Vision base), only those given.
 *
 * @throws {UsageError} When one is not an http or https URL.
 */
export function endpointsOf(
  v: { "vision-url"?: string; "listing-url"?: string; "rest-url"?: string },
  env: (name: string) => string | undefined,
): { vision?: string; listing?: string; rest?: string } {
  const vision = httpUrl(v["vision-url"] ?? env("DSM_VISION_URL"), "vision-url");
  const listing = httpUrl(v["listing-url"] ?? env("DSM_LISTING_URL"), "listing-url") ?? vision;
  const rest = httpUrl(v["rest-url"] ?? env("DSM_REST_URL"), "rest-url");
  return Object.fromEntries(
    Object.entries({ vision, listing, rest }).filter(([, x]) => x !== undefined),
  );
}

/**
 * A `--cache-dir` value: an empty one is a mistake (an unset variable in a
 * script), never the default cache.
 *
 * @throws {UsageError} For an empty value.
 */
export function cacheDirOf(value: string | undefined): string | undefined {
  if (value === "") {
    throw new UsageError(
      'Cannot use --cache-dir "": expected a folder (leave the flag out for the default cache)',
    );
  }
  return value;
}

/** The cache flags of `dsm fetch` and `dsm cache`, for `parseArgs`. */
export const CACHE_FLAGS = {
  "cache-dir": { type: "string" },
  "cache-url": { type: "string" },
  "cache-endpoint": { type: "string" },
  "cache-region": { type: "string" },
  "cache-read-only": { type: "boolean" },
} as const;

/** The values of {@linkcode CACHE_FLAGS}. */
export interface CacheFlagValues {
  /** `--cache-dir`. */
  "cache-dir"?: string;
  /** `--cache-url`. */
  "cache-url"?: string;
  /** `--cache-endpoint`. */
  "cache-endpoint"?: string;
  /** `--cache-region`. */
  "cache-region"?: string;
  /** `--cache-read-only`. */
  "cache-read-only"?: boolean;
}

/** `s3://bucket` or `s3://bucket/prefix`. */
const S3_URL = /^s3:\/\/[A-Za-z0-9][A-Za-z0-9._-]{0,254}(\/.*)?$/;

/**
 * The cache a command line names: an object store (`--cache-url`, with
 * `--cache-endpoint` and `--cache-region`; credentials from the AWS_*
 * variables), else a folder (`--cache-dir`, else `DSM_CACHE_DIR`, else the
 * default); read-only with `--cache-read-only`.
 *
 * @throws {UsageError} For an empty `--cache-dir`, a URL that is not
 *   `s3://bucket[/prefix]`, an endpoint that is not http(s), `--cache-dir`
 *   with `--cache-url`, or an endpoint or region without `--cache-url`.
 */
export function cacheOptionsOf(
  v: CacheFlagValues,
  env: (name: string) => string | undefined,
): CacheOptions {
  const dir = cacheDirOf(v["cache-dir"]);
  const url = v["cache-url"];
  const readOnly = v["cache-read-only"] ? { readOnly: true } : {};
  if (url === undefined) {
    for (const flag of ["cache-endpoint", "cache-region"] as const) {
      if (v[flag] !== undefined) throw new UsageError(`Cannot use --${flag} without --cache-url`);
    }
    const folder = dir ?? (env("DSM_CACHE_DIR") || undefined);
    return { ...(folder ? { dir: folder } : {}), ...readOnly };
  }
  if (dir !== undefined) throw new UsageError("Cannot use --cache-dir with --cache-url");
  if (!S3_URL.test(url)) {
    throw new UsageError(
      `Cannot use --cache-url "${url}": expected s3://bucket or s3://bucket/prefix`,
    );
  }
  const endpoint = httpUrl(v["cache-endpoint"], "cache-endpoint");
  const region = v["cache-region"];
  if (region === "") throw new UsageError('Cannot use --cache-region "": expected a region name');
  return {
    url,
    ...(endpoint ? { endpoint } : {}),
    ...(region ? { region } : {}),
    ...readOnly,
  };
}

/**
 * Checks that the folders of `--out` and `--report` exist, so that a typo
 * fails before anything is fetched or cached (a missing permission is left
 * for the write to report).
 *
 * @throws {UsageError} When a folder is missing or is not a folder.
 */
export function checkOutputFolders(args: Pick<FetchArgs, "out" | "report">): void {
  for (const [flag, file] of [["out", args.out], ["report", args.report]] as const) {
    if (file === undefined) continue;
    const folder = dirname(resolve(file));
    let isFolder: boolean;
    try {
      isFolder = Deno.statSync(folder).isDirectory;
    } catch (error) {
      const absent = error instanceof Deno.errors.NotFound ||
        error instanceof Deno.errors.NotADirectory;
      if (!absent) continue;
      isFolder = false;
    }
    if (!isFolder) {
      throw new UsageError(
        `Cannot write --${flag} ${JSON.stringify(file)}: folder ${
          JSON.stringify(folder)
        } does not exist`,
      );
    }
  }
}

/**
 * Parses the arguments of `dsm fetch` (after the subcommand).
 *
 * @param args The arguments.
 * @param env Environment lookup for `DSM_CACHE_DIR`, `DSM_VISION_URL`, `DSM_REST_URL`, `DSM_LISTING_URL`.
 * @returns The command, or `"help"`.
 * @throws {UsageError} For unknown flags, missing or bad values (an empty `--cache-dir`).
 * @throws {TypeError} A bad market, symbol (including a separator), interval
 *   or time, with its `code` (usage errors too: checked before any I/O).
 * @throws {RangeError} When the start is not before the end (`INVALID_RANGE`).
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
        "dataset": { type: "string" },
        "market": { type: "string" },
        "symbol": { type: "string" },
        "interval": { type: "string" },
        "start": { type: "string" },
        "end": { type: "string" },
        "source": { type: "string" },
        ...CACHE_FLAGS,
        "no-cache": { type: "boolean" },
        "vision-url": { type: "string" },
        "rest-url": { type: "string" },
        "listing-url": { type: "string" },
        "rest-market-data-url": { type: "string" },
        "format": { type: "string" },
        "out": { type: "string" },
        "report": { type: "string" },
        "no-source-info": { type: "boolean" },
        "quiet": { type: "boolean" },
        "fill": { type: "string" },
        "strict": { type: "boolean" },
        "include-open-candle": { type: "boolean" },
        "compare-klines": { type: "boolean" },
        "help": { type: "boolean", short: "h" },
      },
    }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (v.help) return "help";
  for (const flag of Object.keys(CACHE_FLAGS) as (keyof typeof CACHE_FLAGS)[]) {
    if (v["no-cache"] && v[flag] !== undefined) {
      throw new UsageError(`Cannot use --${flag} with --no-cache`);
    }
  }
  const format = oneOf(v.format ?? "csv", FORMATS, "format");
  const out = v.out === "-" || v.out === "" ? undefined : v.out;
  if (format === "parquet" && out === undefined) {
    throw new UsageError("Cannot write parquet to stdout: --out FILE is required");
  }
  const source = oneOf(v.source ?? "auto", SOURCES, "source");
  const cache = v["no-cache"] ? false : cacheOptionsOf(v, env);
  if (v["no-cache"] && source === "cache") {
    throw new UsageError('Cannot use --source "cache" with --no-cache');
  }
  const { vision, listing, rest } = endpointsOf(v, env);
  const marketData = httpUrl(v["rest-market-data-url"], "rest-market-data-url");
  const restMarketData = marketData === undefined ? undefined : [marketData];
  const market = marketOf(v.market ?? "spot");
  const symbol = required(v.symbol, "symbol");
  refuseSeparator(symbol, market);
  const start = time(required(v.start, "start"));
  const end = time(required(v.end, "end"));
  const fill = oneOf(v.fill ?? "none", FILLS, "fill");
  const dataset = (v.dataset ?? "klines") as FetchArgs["dataset"];
  let interval = "";
  const compareKlines = v["compare-klines"] ?? false;
  const gridOnly = (why: string) => {
    for (const flag of ["interval", "fill", "include-open-candle"] as const) {
      if (v[flag] !== undefined) {
        throw new UsageError(`Cannot use --${flag} with --dataset ${dataset} (${why})`);
      }
    }
  };
  // Everything the library would refuse, refused now: before any file or request.
  if (dataset === "fundingRate") {
    gridOnly("events, no grid");
    resolveFundingRequest({ dataset, symbol, start, end, market }, { now: Date.now() });
  } else if (dataset === "aggTrades" || dataset === "trades") {
    gridOnly("trades, no grid");
    resolveTradeRequest({ dataset, symbol, start, end, market, compareKlines }, {
      now: Date.now(),
    });
  } else {
    interval = required(v.interval, "interval");
    resolveRequest({ dataset, symbol, interval: interval as "1h", start, end, market, fill }, {
      now: Date.now(),
    });
  }
  if (compareKlines && dataset !== "aggTrades") {
    throw new UsageError(`Cannot use --compare-klines with --dataset ${dataset} (aggTrades only)`);
  }
  return {
    dataset,
    market,
    symbol,
    interval,
    start,
    end,
    source,
    cache,
    endpoints: Object.fromEntries(
      Object.entries({ vision, listing, rest, restMarketData }).filter(([, x]) => x !== undefined),
    ),
    format,
    out,
    report: v.report,
    includeSourceInfo: !v["no-source-info"],
    quiet: v.quiet ?? false,
    fill,
    strict: v.strict ?? false,
    includeOpenCandle: v["include-open-candle"] ?? false,
    compareKlines,
  };
}
