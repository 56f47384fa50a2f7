/**
 * `dsm list`: what Vision holds for a market's dataset (the availability
 * index), as a table on stdout or JSON with `--json`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type Dataset, datasetInfo, parseDataset } from "../core/dataset.ts";
import { type Interval, parseInterval } from "../core/interval.ts";
import type { Market } from "../core/market.ts";
import { validateSymbol } from "../core/symbol.ts";
import {
  type AvailabilityEntry,
  availabilityIndex,
  type AvailabilityOk,
} from "../fcp/availability_index.ts";
import type { FileHole, PeriodAvailability } from "../source/availability_listing.ts";
import { cacheDirOf, httpUrl, marketOf, refuseSeparator, UsageError } from "./_fetch_args.ts";
import { table } from "./_cache_text.ts";

/** The parsed `dsm list` command. */
export interface ListArgs {
  /** The market. */
  market: Market;
  /** The dataset. */
  dataset: Dataset;
  /** The interval of klines and price klines. */
  interval?: Interval;
  /** One symbol, or a glob (`*`, `?`); all when absent. */
  symbol?: string;
  /** JSON on stdout instead of a table. */
  json: boolean;
  /** Series listed at once. */
  concurrency: number;
  /** The listing base URL, if not Binance's. */
  listingUrl?: string;
  /** Cache folder, or false for none (undefined: the default folder). */
  cache: { dir?: string } | false;
}

/** Where `dsm list` writes. */
export interface ListIo {
  /** Writes text to stdout. */
  print: (text: string) => Promise<void>;
  /** Writes text to stderr. */
  stderr: (text: string) => void;
  /** Cancels the listing. */
  signal?: AbortSignal;
  /** The clock, epoch ms (the cache's age). */
  now?: () => number;
}

/** Usage of `dsm list`, for the help text. */
export const LIST_USAGE =
  `dsm list options (what Vision holds: symbols, first and last archive, holes):
  --market spot|um|cm         market [spot]
  --dataset NAME              as dsm fetch [klines]
  --interval INTERVAL         required for klines and price klines
  --symbol NAME|GLOB          one symbol, or a pattern with * and ? [every listed symbol]
  --json                      the index as JSON (holes as {from, to} ranges)
  --concurrency N             series listed at once, 1..64 [8]
  --listing-url URL           S3 listing base [DSM_LISTING_URL, else DSM_VISION_URL]
  --cache-dir DIR             keep listings there for an hour [DSM_CACHE_DIR or the platform cache]
  --no-cache                  always list
  Table: FIRST/LAST the first and last day (or month) covered; DAILY/MONTHLY archives listed;
  HOLES missing days and months between the first and last archive. Exit 1 when a series'
  listing failed (its row says so)`;

function parse(args: string[]) {
  try {
    return parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        market: { type: "string" },
        dataset: { type: "string" },
        interval: { type: "string" },
        symbol: { type: "string" },
        json: { type: "boolean" },
        concurrency: { type: "string" },
        "listing-url": { type: "string" },
        "cache-dir": { type: "string" },
        "no-cache": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/**
 * Parses `dsm list` arguments; everything the listing would refuse is
 * refused here, before any file or request.
 *
 * @param args The arguments after `list`.
 * @param env Environment lookup (`DSM_LISTING_URL`, `DSM_VISION_URL`, `DSM_CACHE_DIR`).
 * @returns The command, or `"help"`.
 * @throws {UsageError | InvalidMarketError | InvalidDatasetError | InvalidIntervalError | InvalidSymbolError}
 */
export function parseListArgs(
  args: string[],
  env: (name: string) => string | undefined,
): ListArgs | "help" {
  const v = parse(args);
  if (v.help) return "help";
  if (v["no-cache"] && v["cache-dir"] !== undefined) {
    throw new UsageError("Cannot use --cache-dir with --no-cache");
  }
  const market = marketOf(v.market ?? "spot");
  const dataset = parseDataset(v.dataset ?? "klines", market);
  let interval: Interval | undefined;
  if (datasetInfo(dataset).series === "grid") {
    if (v.interval === undefined || v.interval === "") {
      throw new UsageError(`Cannot list ${dataset}: --interval is required`);
    }
    interval = parseInterval(v.interval, market);
  } else if (v.interval !== undefined) {
    throw new UsageError(`Cannot use --interval with --dataset ${dataset} (no intervals)`);
  }
  const symbol = v.symbol === "" ? undefined : v.symbol;
  if (symbol !== undefined && !/[*?]/.test(symbol)) {
    refuseSeparator(symbol, market);
    const naming = datasetInfo(dataset).seriesParameter === "pair" ? "pair" : undefined;
    validateSymbol(symbol, market, naming);
  }
  const concurrency = Number(v.concurrency ?? 8);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    throw new UsageError(
      `Cannot use --concurrency "${v.concurrency}": expected an integer from 1 to 64`,
    );
  }
  const dir = cacheDirOf(v["cache-dir"]) ?? env("DSM_CACHE_DIR");
  return {
    market,
    dataset,
    ...(interval === undefined ? {} : { interval }),
    ...(symbol === undefined ? {} : { symbol }),
    json: v.json ?? false,
    concurrency,
    listingUrl: httpUrl(
      v["listing-url"] ?? env("DSM_LISTING_URL") ?? env("DSM_VISION_URL"),
      "listing-url",
    ),
    cache: v["no-cache"] ? false : dir ? { dir } : {},
  };
}

/** The first and last date covered: the daily file when it is as precise, else the month. */
function span(entry: AvailabilityOk): [string, string] {
  const { daily: d, monthly: m } = entry;
  const first = m.first !== undefined && !(d.first && d.first.slice(0, 7) <= m.first)
    ? m.first
    : d.first;
  const last = m.last !== undefined && !(d.last && d.last.slice(0, 7) >= m.last) ? m.last : d.last;
  return [first ?? "-", last ?? "-"];
}

function holesText(days: PeriodAvailability, months: PeriodAvailability, unsummed: number) {
  const range = (h: FileHole) => (h.from === h.to ? h.from : `${h.from}..${h.to}`);
  const part = (p: PeriodAvailability, unit: string) => {
    if (p.holes.length === 0) return [];
    const shown = p.holes.slice(0, 3).map(range).join(", ");
    const more = p.holes.length > 3 ? ` +${p.holes.length - 3} more` : "";
    return [`${unit}: ${shown}${more}`];
  };
  const parts = [...part(days, "days"), ...part(months, "months")];
  if (unsummed > 0) parts.push(`${unsummed} without CHECKSUM`);
  return parts.length === 0 ? "-" : parts.join("; ");
}

function row(entry: AvailabilityEntry): (string | number)[] {
  if (entry.status === "failed") {
    return [entry.symbol, "-", "-", "-", "-", `failed: ${entry.message} (${entry.code})`];
  }
  const [first, last] = span(entry);
  const holes = holesText(entry.daily, entry.monthly, entry.checksumsMissing.length);
  return [entry.symbol, first, last, entry.daily.count, entry.monthly.count, holes];
}

/**
 * Runs `dsm list`: the availability index, printed.
 *
 * @param args The parsed command.
 * @param io Output, signal, clock.
 * @returns The exit code: 0, or 1 when a series' listing failed.
 * @throws {HttpError | NetworkError | ResponseTooLargeError} When the symbol folders cannot be listed.
 */
export async function runListCommand(args: ListArgs, io: ListIo): Promise<number> {
  const symbols = args.symbol;
  const index = await availabilityIndex(
    {
      market: args.market,
      dataset: args.dataset,
      interval: args.interval,
      ...(symbols === undefined ? {} : { symbols }),
    },
    {
      listingUrl: args.listingUrl,
      concurrency: args.concurrency,
      cache: args.cache,
      now: io.now,
      signal: io.signal,
    },
  );
  if (args.json) await io.print(JSON.stringify(index, null, 2) + "\n");
  else {
    const header = ["SYMBOL", "FIRST", "LAST", "DAILY", "MONTHLY", "HOLES"];
    await io.print(table(header, index.series.map(row)));
  }
  const cached = index.series.filter((s) => s.status === "ok" && s.cached).length;
  const series = `${index.series.length} series`;
  io.stderr(
    `dsm: ${series} of ${args.market} ${args.dataset}${args.interval ? ` ${args.interval}` : ""}` +
      (cached > 0 ? ` (${cached} from the cache)` : "") +
      (index.failed > 0 ? `; ${index.failed} could not be listed` : "") + "\n",
  );
  return index.failed > 0 ? 1 : 0;
}
