/**
 * The availability index: for a market's dataset, which symbols Vision has
 * and, per series, each period's first and last archive, the number of
 * archives and the holes between them, read from the S3 listing alone, many
 * series at once, cached for a short while in the cache folder.
 *
 * @module
 */
import { type Dataset, datasetInfo, parseDataset } from "../core/dataset.ts";
import { InvalidRangeError } from "../core/errors.ts";
import { type Interval, parseInterval } from "../core/interval.ts";
import { type Market, type MarketInput, parseMarket, VISION_LISTING_URL } from "../core/market.ts";
import { validateSymbol } from "../core/symbol.ts";
import type { RetryOptions } from "../source/http.ts";
import { Semaphore } from "../source/_pool.ts";
import { listSeriesPlan, seriesPlan } from "../source/_availability_plan.ts";
import { listVisionSymbols, type SeriesAvailability } from "../source/availability_listing.ts";
import type { ListVisionOptions } from "../source/vision_listing.ts";
import { AvailabilityCache } from "./_availability_cache.ts";

/** Which series {@linkcode availabilityIndex} lists. */
export interface AvailabilityRequest {
  /** The market (`spot`, `um`, `cm`; also `futures_usdt`, `futures_coin`). */
  market: MarketInput;
  /** The dataset. @default {"klines"} */
  dataset?: Dataset;
  /** The interval: required for klines and price klines, refused for the others. */
  interval?: Interval;
  /**
   * Which symbols: names (listed as given, without reading the symbol
   * folders: a name Vision lacks has every count 0), a RegExp, or a glob
   * (`*` any run of characters, `?` one character, matched against the
   * whole name) over the symbols Vision lists.
   * @default {every symbol Vision lists}
   */
  symbols?: readonly string[] | RegExp | string;
}

/** Options of {@linkcode availabilityIndex}. */
export interface AvailabilityOptions {
  /** Base URL of the bucket listing. @default {VISION_LISTING_URL} */
  listingUrl?: string;
  /** The fetch implementation. @default {globalThis.fetch} */
  fetch?: typeof fetch;
  /** Series listed at once (each series' pages follow one another). @default {8} */
  concurrency?: number;
  /**
   * The cache folder and how long a listing stays fresh there, or false for
   * none. Read-only folders are read, not written.
   * @default {{ dir: DSM_CACHE_DIR or the platform cache folder, maxAgeMs: 3_600_000 }}
   */
  cache?: { dir?: string; maxAgeMs?: number } | false;
  /** The clock, epoch ms (the cache's age). @default {Date.now} */
  now?: () => number;
  /** Retry policy per listing page. */
  retry?: RetryOptions;
  /** Time allowed per page request, ms. @default {30000} */
  timeoutMs?: number;
  /** Cancels the index; the promise then rejects with `signal.reason`. */
  signal?: AbortSignal;
  /** Hears each series as it is listed (progress). */
  onSeries?: (entry: AvailabilityEntry) => void;
  /** Debug messages (cache off or read-only, a cache file not written). */
  logger?: (message: string) => void;
}

/** A series listed, from the listing or the cache. */
export interface AvailabilityOk extends SeriesAvailability {
  /** The symbol. */
  symbol: string;
  /** Listed. */
  status: "ok";
  /** When the listing was read, epoch ms (earlier than now when from the cache). */
  listedAt: number;
  /** Whether it came from the cache. */
  cached: boolean;
}

/** A series whose listing failed: nothing is known of it (not "no files"). */
export interface AvailabilityFailed {
  /** The symbol. */
  symbol: string;
  /** Not listed. */
  status: "failed";
  /** The error's `code` (`HTTP_ERROR`, `NETWORK_ERROR`, ...; `ERROR` without one). */
  code: string;
  /** The error's message. */
  message: string;
}

/** One series of the index. */
export type AvailabilityEntry = AvailabilityOk | AvailabilityFailed;

/** The availability index of a market's dataset, from {@linkcode availabilityIndex}. */
export interface AvailabilityIndex {
  /** The market. */
  market: Market;
  /** The dataset. */
  dataset: Dataset;
  /** The interval, for klines and price klines. */
  interval?: Interval;
  /** Every series asked for, by symbol. */
  series: AvailabilityEntry[];
  /** Series whose listing failed. */
  failed: number;
}

const GLOB_SPECIALS = /[\\^$.+()[\]{}|]/g;

function globToRegExp(glob: string): RegExp {
  const body = glob.replace(GLOB_SPECIALS, "\\$&").replaceAll("*", ".*").replaceAll("?", ".");
  return new RegExp(`^${body}$`, "u");
}

/** The names to list, or a test over the listed ones; checked before any I/O. */
function selection(
  symbols: AvailabilityRequest["symbols"],
  market: Market,
  dataset: Dataset,
): string[] | ((symbol: string) => boolean) {
  if (symbols === undefined) return () => true;
  if (symbols instanceof RegExp) return (s) => new RegExp(symbols.source, symbols.flags).test(s);
  if (typeof symbols === "string" && /[*?]/.test(symbols)) {
    const pattern = globToRegExp(symbols);
    return (s) => pattern.test(s);
  }
  const names = typeof symbols === "string" ? [symbols] : symbols;
  if (!Array.isArray(names)) {
    throw new TypeError("Cannot index availability: symbols is not a list, a RegExp or a glob");
  }
  const naming = datasetInfo(dataset).seriesParameter === "pair" ? "pair" : undefined;
  return [...new Set(names.map((s) => validateSymbol(s, market, naming)))].sort();
}

/**
 * Lists what Vision holds for a market's dataset: the symbols (the symbol
 * folders of every period the dataset is published in, or the names asked
 * for) and, per series, each period's first and last archive, count, holes
 * and archives without a `.CHECKSUM` (see {@linkcode seriesAvailability}).
 * Series are listed `concurrency` at a time (a series' own pages follow one
 * another: each page's marker comes from the one before).
 *
 * Listings are cached under `{cache}/v1/index/{market}/{dataset}/` (JSON,
 * written atomically) and reused while younger than `maxAgeMs` for the same
 * listing URL; failed listings are never cached. A series whose listing
 * failed (after the retries) is reported as `failed`, never as empty.
 *
 * @param request Market, dataset, interval, symbols.
 * @param options Listing URL, concurrency, cache, clock, signal, progress.
 * @returns The series, sorted by symbol, and the number that failed.
 * @throws {InvalidMarketError | InvalidDatasetError | InvalidIntervalError | InvalidSymbolError | InvalidRangeError | TypeError}
 *   On misuse, before any I/O.
 * @throws {HttpError | NetworkError | ResponseTooLargeError} When the symbol folders cannot be listed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { availabilityIndex } from "./availability_index.ts";
 * import { startEmulator } from "../emulator/emulator.ts";
 * await using binance = await startEmulator({ now: Date.UTC(2024, 5, 1) });
 * const index = await availabilityIndex(
 *   { market: "um", dataset: "klines", interval: "1d", symbols: "*USDT" },
 *   { listingUrl: binance.url, cache: false },
 * );
 * assert.deepEqual(index.series.map((s) => s.symbol), ["BTCUSDT", "ETHUSDT", "NEWUSDT"]);
 * const btc = index.series[0];
 * assert.ok(btc.status === "ok");
 * assert.equal(btc.daily.first, "2019-12-31");
 * assert.equal(btc.monthly.last, "2024-05");
 * assert.equal(index.failed, 0);
 * ```
 */
export async function availabilityIndex(
  request: AvailabilityRequest,
  options: AvailabilityOptions = {},
): Promise<AvailabilityIndex> {
  const market = parseMarket(request.market);
  const dataset = parseDataset(request.dataset ?? "klines", market);
  const interval = request.interval === undefined
    ? undefined
    : parseInterval(request.interval, market);
  seriesPlan(market, dataset, "X", interval); // the interval fits the dataset
  const wanted = selection(request.symbols, market, dataset);
  const concurrency = options.concurrency ?? 8;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    throw new InvalidRangeError(
      `Cannot index availability: concurrency ${concurrency} is not an integer from 1 to 64`,
    );
  }
  const maxAgeMs = options.cache === false ? 0 : options.cache?.maxAgeMs ?? 3_600_000;
  if (!(maxAgeMs >= 0)) {
    throw new InvalidRangeError(`Cannot index availability: maxAgeMs ${maxAgeMs} is not >= 0`);
  }
  options.signal?.throwIfAborted();
  const now = options.now ?? Date.now;
  const listingUrl = options.listingUrl ?? VISION_LISTING_URL;
  const cache = await AvailabilityCache.open(
    options.cache === false ? false : options.cache?.dir,
    { market, dataset },
    { listingUrl, maxAgeMs, now, log: options.logger ?? (() => {}) },
  );
  const listing: ListVisionOptions = {
    listingUrl,
    fetch: options.fetch,
    retry: options.retry,
    timeoutMs: options.timeoutMs,
    signal: options.signal,
  };
  const symbols = Array.isArray(wanted)
    ? wanted
    : (await symbolsOf(market, dataset, cache, listing, now)).filter(wanted);
  const pool = new Semaphore(concurrency);
  const series = await Promise.all(symbols.map((symbol) =>
    pool.run(async () => {
      const entry = await seriesEntry(symbol, { market, dataset, interval }, cache, listing, now);
      options.onSeries?.(entry);
      return entry;
    }, options.signal)
  ));
  return {
    market,
    dataset,
    ...(interval === undefined ? {} : { interval }),
    series,
    failed: series.filter((s) => s.status === "failed").length,
  };
}

async function symbolsOf(
  market: Market,
  dataset: Dataset,
  cache: AvailabilityCache,
  listing: ListVisionOptions,
  now: () => number,
): Promise<string[]> {
  const cached = await cache.symbols();
  if (cached !== undefined) return cached.symbols;
  const listedAt = now();
  const symbols = await listVisionSymbols({ market, dataset }, listing);
  await cache.putSymbols(symbols, listedAt);
  return symbols;
}

async function seriesEntry(
  symbol: string,
  series: { market: Market; dataset: Dataset; interval: Interval | undefined },
  cache: AvailabilityCache,
  listing: ListVisionOptions,
  now: () => number,
): Promise<AvailabilityEntry> {
  const cached = await cache.series(symbol, series.interval);
  if (cached !== undefined) {
    return {
      symbol,
      status: "ok",
      listedAt: cached.listedAt,
      cached: true,
      ...cached.availability,
    };
  }
  const listedAt = now();
  try {
    const plan = seriesPlan(series.market, series.dataset, symbol, series.interval);
    const availability = await listSeriesPlan(plan, listing);
    await cache.putSeries(symbol, series.interval, availability, listedAt);
    return { symbol, status: "ok", listedAt, cached: false, ...availability };
  } catch (error) {
    if (listing.signal?.aborted) throw listing.signal.reason;
    const code = (error as { code?: unknown })?.code;
    return {
      symbol,
      status: "failed",
      code: typeof code === "string" ? code : "ERROR",
      message: error instanceof Error ? error.message : String(error),
    };
  }
}
