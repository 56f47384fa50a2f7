/**
 * What Vision holds, read from its S3 listing alone (nothing downloaded):
 * the symbol folders of a market's dataset, and per series each period's
 * first and last archive, how many there are, and the holes between them.
 *
 * @module
 */
import { type Dataset, datasetInfo, parseDataset } from "../core/dataset.ts";
import type { Interval } from "../core/interval.ts";
import { type Market, marketInfo, type MarketInput, parseMarket } from "../core/market.ts";
import { validateSymbol } from "../core/symbol.ts";
import { listVisionFolder, type ListVisionOptions } from "./vision_listing.ts";
import type { VisionPeriod } from "./vision_url.ts";
import { listSeriesPlan, seriesPlan } from "./_availability_plan.ts";

/** Which folder of symbols {@linkcode listVisionSymbols} reads. */
export interface VisionSymbolsRequest {
  /** The market (`spot`, `um`, `cm`; also `futures_usdt`, `futures_coin`). */
  market: MarketInput;
  /** The dataset. @default {"klines"} */
  dataset?: Dataset;
  /**
   * One period's folder only.
   * @default {every period the dataset is published in: the union of their symbols}
   */
  period?: VisionPeriod;
}

/** Which series {@linkcode seriesAvailability} lists. */
export interface AvailabilitySeries {
  /** The market. */
  market: MarketInput;
  /** The dataset. @default {"klines"} */
  dataset?: Dataset;
  /** The symbol (the pair for `indexPriceKlines`). */
  symbol: string;
  /** The interval: required for klines and price klines, refused for the others. */
  interval?: Interval;
}

/** Missing files between a period's first and last archive: `from` to `to`, both included. */
export interface FileHole {
  /** First missing date (`YYYY-MM-DD` daily, `YYYY-MM` monthly). */
  from: string;
  /** Last missing date, included. */
  to: string;
}

/** One period of a series as listed. */
export interface PeriodAvailability {
  /** The first archive's date; absent when there is none. */
  first?: string;
  /** The last archive's date; absent when there is none. */
  last?: string;
  /** Archives (`.zip`) listed. */
  count: number;
  /** Runs of dates without an archive between `first` and `last`, in order. */
  holes: FileHole[];
}

/** What Vision lists for one series, from {@linkcode seriesAvailability}. */
export interface SeriesAvailability {
  /** Daily archives (`YYYY-MM-DD`); count 0 for a dataset or interval without daily files. */
  daily: PeriodAvailability;
  /** Monthly archives (`YYYY-MM`). */
  monthly: PeriodAvailability;
  /** Dates (a day or a month) with a `.zip` but no `.CHECKSUM` yet: not published yet. */
  checksumsMissing: string[];
}

/** Whether a folder name read from the listing is usable as a symbol (canonical, safe). */
function isSafeName(name: string): boolean {
  try {
    return validateSymbol(name) === name;
  } catch {
    return false;
  }
}

/**
 * Lists the symbols Vision has folders for, for a market's dataset: the
 * `CommonPrefixes` of `data/{market}/{period}/{dataset}/` (delimiter `/`,
 * every page). Folder names that are not safe symbol names (not NFC, a
 * separator, a control character) are left out.
 *
 * @param request Market, dataset, period.
 * @param options Listing URL, fetch, timeout, retry policy, signal.
 * @returns The symbols, sorted (each once, across periods).
 * @throws {InvalidMarketError | InvalidDatasetError} On misuse, before any I/O.
 * @throws {HttpError | NetworkError | ResponseTooLargeError} When the listing fails.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { listVisionSymbols } from "./availability_listing.ts";
 * import { startEmulator } from "../emulator/emulator.ts";
 * await using binance = await startEmulator({ now: Date.UTC(2024, 5, 1) });
 * const symbols = await listVisionSymbols({ market: "cm" }, { listingUrl: binance.url });
 * assert.deepEqual(symbols, ["BTCUSD_PERP", "ETHUSD_PERP"]);
 * ```
 */
export async function listVisionSymbols(
  request: VisionSymbolsRequest,
  options: ListVisionOptions = {},
): Promise<string[]> {
  const market = parseMarket(request.market);
  const dataset = checkedDataset(market, request.dataset);
  const published = datasetInfo(dataset).archivePeriods;
  if (request.period !== undefined && !published.includes(request.period)) {
    throw new TypeError(
      `Cannot list ${dataset} symbols: period ${JSON.stringify(request.period)} is not one of ` +
        published.join(", "),
    );
  }
  const periods = request.period === undefined ? published : [request.period];
  const folders = await Promise.all(periods.map((period) => {
    const prefix = `data/${marketInfo(market).visionPath}/${period}/${dataset}/`;
    return listVisionFolder(prefix, options).then((f) =>
      f.prefixes.map((p) => p.slice(prefix.length, -1))
    );
  }));
  const names = new Set(folders.flat().filter((n) => !n.includes("/") && isSafeName(n)));
  return [...names].sort();
}

function checkedDataset(market: Market, dataset: Dataset | undefined): Dataset {
  return parseDataset(dataset ?? "klines", market);
}

/**
 * Lists one series on Vision: for each period its first and last archive,
 * the number of archives and the holes (dates without an archive between
 * the first and the last), and the archives without a `.CHECKSUM`. Both
 * periods are listed concurrently, every page of each (marker paging).
 * Intervals with monthly files only (3d, 1w, 1M) list no daily folder.
 *
 * @param series Market, dataset, symbol, interval.
 * @param options Listing URL, fetch, timeout, retry policy, signal.
 * @returns The series' availability; every count 0 when Vision has nothing.
 * @throws {InvalidMarketError | InvalidDatasetError | InvalidSymbolError | InvalidIntervalError | TypeError}
 *   On misuse (also an interval missing for a grid dataset or given for another), before any I/O.
 * @throws {HttpError | NetworkError | ResponseTooLargeError} When the listing fails.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { seriesAvailability } from "./availability_listing.ts";
 * import { startEmulator } from "../emulator/emulator.ts";
 * await using binance = await startEmulator({ now: Date.UTC(2024, 5, 1) });
 * const funding = await seriesAvailability(
 *   { market: "um", dataset: "fundingRate", symbol: "BTCUSDT" },
 *   { listingUrl: binance.url },
 * );
 * assert.equal(funding.monthly.last, "2024-05");
 * assert.deepEqual(funding.monthly.holes, []);
 * assert.equal(funding.daily.count, 0);
 * ```
 */
export async function seriesAvailability(
  series: AvailabilitySeries,
  options: ListVisionOptions = {},
): Promise<SeriesAvailability> {
  const market = parseMarket(series.market);
  const dataset = checkedDataset(market, series.dataset);
  const naming = datasetInfo(dataset).seriesParameter === "pair" ? "pair" : undefined;
  const symbol = validateSymbol(series.symbol, market, naming);
  const plan = seriesPlan(market, dataset, symbol, series.interval);
  options.signal?.throwIfAborted();
  return await listSeriesPlan(plan, options);
}
