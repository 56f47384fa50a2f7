/**
 * Binance Vision addresses: archive file names, their URLs, the `.CHECKSUM`
 * siblings, and the S3 listing prefixes.
 *
 * @module
 */
import { type Dataset, datasetInfo, parseDataset } from "../core/dataset.ts";
import {
  InvalidDatasetError,
  InvalidIntervalError,
  InvalidSymbolError,
  InvalidTimeError,
} from "../core/errors.ts";
import {
  hasDailyFiles,
  type Interval,
  parseInterval,
  visionIntervalName,
} from "../core/interval.ts";
import { type Market, marketInfo, parseMarket, VISION_URL } from "../core/market.ts";
import { SYMBOL_PATTERN, validateSymbol } from "../core/symbol.ts";
import type { TradeDataset } from "../core/trade_schema.ts";

/** Vision publishes one file per UTC day (`daily`) or per calendar month (`monthly`). */
export type VisionPeriod = "daily" | "monthly";

/** What names a kline series on Vision: market, symbol, interval, and the dataset. */
export interface VisionSeries {
  /** The market. */
  market: Market;
  /**
   * The symbol, uppercase, e.g. `BTCUSDT` or `BTCUSD_PERP`; the pair for
   * `indexPriceKlines` (`BTCUSDT` on um, `BTCUSD` on cm).
   */
  symbol: string;
  /** The interval in REST spelling (`1M`; Vision's `1mo` is accepted too). */
  interval: Interval;
  /**
   * A dataset of candles on the interval grid: `klines` (the default),
   * `markPriceKlines`, `indexPriceKlines` or `premiumIndexKlines`.
   * @default {"klines"}
   */
  dataset?: Dataset;
}

/** One Vision archive: a series, a period and its date. */
export interface VisionFileRef extends VisionSeries {
  /** `daily` or `monthly`. */
  period: VisionPeriod;
  /** `YYYY-MM-DD` for daily files, `YYYY-MM` for monthly files. */
  date: string;
}

/** The names and URLs of one Vision archive, from {@linkcode visionFile}. */
export interface VisionFile {
  /** The archive's file name, e.g. `BTCUSDT-1m-2024-01-01.zip`. */
  zipName: string;
  /** The CSV entry inside it, e.g. `BTCUSDT-1m-2024-01-01.csv`. */
  csvName: string;
  /**
   * The S3 key of the archive, e.g.
   * `data/spot/daily/klines/BTCUSDT/1m/BTCUSDT-1m-2024-01-01.zip`: plain
   * (NFC) text, as the bucket listing spells it.
   */
  key: string;
  /** The archive's URL: the key with each path segment percent-encoded (UTF-8). */
  url: string;
  /** The URL of its `.CHECKSUM` sibling. */
  checksumUrl: string;
}

const DAY_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const MONTH_RE = /^(\d{4})-(\d{2})$/;

/**
 * Checks a series and returns it in canonical form.
 *
 * @param series Market, symbol and interval.
 * @returns The market id, symbol and Vision interval name.
 * @throws {InvalidMarketError | InvalidSymbolError | InvalidIntervalError} On misuse.
 */
function checkSeries(
  series: VisionSeries,
): { path: string; dataset: Dataset; symbol: string; interval: string } {
  const market = parseMarket(series.market);
  const dataset = parseDataset(series.dataset, market);
  if (datasetInfo(dataset).series !== "grid") {
    throw new TypeError(
      `Cannot build a Vision URL: dataset "${dataset}" has no interval folders`,
    );
  }
  const symbol = series.symbol;
  let canonical: string | undefined;
  try {
    canonical = validateSymbol(symbol);
  } catch {
    // reported below, with the rule
  }
  if (canonical !== symbol || (market !== "spot" && !SYMBOL_PATTERN.test(symbol))) {
    throw new InvalidSymbolError(
      symbol,
      `Cannot build a Vision URL: symbol ${JSON.stringify(symbol)} is not 1 to 30 of A-Z, ` +
        `0-9, "_" and "-" (on spot also letters and digits of any script, in NFC)`,
    );
  }
  const interval = parseInterval(series.interval, market);
  return {
    path: marketInfo(market).visionPath,
    dataset,
    symbol,
    interval: visionIntervalName(interval),
  };
}

function checkDate(period: VisionPeriod, date: string): void {
  const match = period === "daily" ? DAY_RE.exec(date) : MONTH_RE.exec(date);
  const ok = match !== null && (() => {
    const [y, m, d] = [Number(match[1]), Number(match[2]), Number(match[3] ?? 1)];
    const t = new Date(Date.UTC(y, m - 1, d));
    return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
  })();
  if (!ok) {
    const want = period === "daily" ? "a YYYY-MM-DD day" : "a YYYY-MM month";
    throw new InvalidTimeError(
      date,
      `Cannot build a Vision URL: date ${JSON.stringify(date)} is not ${want} (period "${period}")`,
    );
  }
}

function checkPeriod(period: unknown, interval: Interval): VisionPeriod {
  if (period !== "daily" && period !== "monthly") {
    throw new TypeError(
      `Cannot build a Vision URL: period ${JSON.stringify(period)} is not "daily" or "monthly"`,
    );
  }
  if (period === "daily" && !hasDailyFiles(parseInterval(interval))) {
    throw new InvalidIntervalError(
      interval,
      `Cannot build a Vision URL: interval "${interval}" has monthly files only`,
    );
  }
  return period;
}

function trimBase(baseUrl: string | undefined): string {
  return (baseUrl ?? VISION_URL).replace(/\/+$/, "");
}

/**
 * The S3 key prefix under which Vision lists a series' files for a period.
 *
 * @param series Market, symbol and interval.
 * @param period `daily` or `monthly`.
 * @returns The prefix, ending with `/`.
 * @throws {InvalidMarketError | InvalidDatasetError | InvalidSymbolError | InvalidIntervalError | TypeError} On misuse.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { visionListingPrefix } from "./vision_url.ts";
 * assert.equal(
 *   visionListingPrefix({ market: "spot", symbol: "BTCUSDT", interval: "1m" }, "daily"),
 *   "data/spot/daily/klines/BTCUSDT/1m/",
 * );
 * assert.equal(
 *   visionListingPrefix({ market: "cm", symbol: "BTCUSD_PERP", interval: "1M" }, "monthly"),
 *   "data/futures/cm/monthly/klines/BTCUSD_PERP/1mo/",
 * );
 * assert.equal(
 *   visionListingPrefix(
 *     { market: "cm", symbol: "BTCUSD", interval: "1h", dataset: "indexPriceKlines" },
 *     "daily",
 *   ),
 *   "data/futures/cm/daily/indexPriceKlines/BTCUSD/1h/",
 * );
 * ```
 */
export function visionListingPrefix(series: VisionSeries, period: VisionPeriod): string {
  const { path, dataset, symbol, interval } = checkSeries(series);
  checkPeriod(period, series.interval);
  return `data/${path}/${period}/${dataset}/${symbol}/${interval}/`;
}

/**
 * The names, key and URLs of one Vision archive.
 *
 * @param baseUrl The Vision base URL; `undefined` means {@linkcode VISION_URL}.
 * @param ref Market, symbol, interval, period and date.
 * @returns File names, S3 key, URL and checksum URL.
 * @throws {InvalidMarketError | InvalidDatasetError | InvalidSymbolError | InvalidIntervalError | InvalidTimeError | TypeError}
 * On misuse: unknown market, malformed symbol, `1s` on futures, a daily file
 * of a monthly-only interval, a date not of the period's form.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { visionFile } from "./vision_url.ts";
 * const file = visionFile(undefined, {
 *   market: "cm", symbol: "BTCUSD_PERP", interval: "1M", period: "monthly", date: "2024-01",
 * });
 * assert.equal(file.zipName, "BTCUSD_PERP-1mo-2024-01.zip");
 * assert.equal(
 *   file.checksumUrl,
 *   "https://data.binance.vision/data/futures/cm/monthly/klines/BTCUSD_PERP/1mo/BTCUSD_PERP-1mo-2024-01.zip.CHECKSUM",
 * );
 * // A non-ASCII symbol: plain in the key, percent-encoded (UTF-8) in the URL
 * const cn = visionFile(undefined, {
 *   market: "spot", symbol: "币安人生USDT", interval: "1d", period: "daily", date: "2025-12-01",
 * });
 * assert.equal(cn.key, "data/spot/daily/klines/币安人生USDT/1d/币安人生USDT-1d-2025-12-01.zip");
 * assert.equal(
 *   cn.url,
 *   "https://data.binance.vision/data/spot/daily/klines/%E5%B8%81%E5%AE%89%E4%BA%BA%E7%94%9FUSDT/1d/" +
 *     "%E5%B8%81%E5%AE%89%E4%BA%BA%E7%94%9FUSDT-1d-2025-12-01.zip",
 * );
 * ```
 */
export function visionFile(baseUrl: string | undefined, ref: VisionFileRef): VisionFile {
  const prefix = visionListingPrefix(ref, checkPeriod(ref.period, ref.interval));
  checkDate(ref.period, ref.date);
  const stem = `${ref.symbol}-${visionIntervalName(parseInterval(ref.interval))}-${ref.date}`;
  return fileAt(baseUrl, prefix, stem);
}

function fileAt(baseUrl: string | undefined, prefix: string, stem: string): VisionFile {
  const zipName = `${stem}.zip`;
  const key = `${prefix}${zipName}`;
  const url = `${trimBase(baseUrl)}/${key.split("/").map(encodeURIComponent).join("/")}`;
  return { zipName, csvName: `${stem}.csv`, key, url, checksumUrl: `${url}.CHECKSUM` };
}

/** One Vision archive of an event dataset (no interval folder), e.g. funding rates. */
export interface VisionEventFileRef {
  /** The market. */
  market: Market;
  /** An event dataset: `fundingRate`. */
  dataset: Dataset;
  /** The symbol, e.g. `BTCUSDT` or `BTCUSD_PERP`. */
  symbol: string;
  /** A period the dataset is published in (`monthly` for funding rates). */
  period: VisionPeriod;
  /** `YYYY-MM-DD` for daily files, `YYYY-MM` for monthly files. */
  date: string;
}

/**
 * The names, key and URLs of one archive of an event dataset:
 * `data/{market}/{period}/{dataset}/{SYMBOL}/{SYMBOL}-{dataset}-{date}.zip`.
 *
 * @param baseUrl The Vision base URL; `undefined` means {@linkcode VISION_URL}.
 * @param ref Market, dataset, symbol, period and date.
 * @returns File names, S3 key, URL and checksum URL.
 * @throws {InvalidMarketError | InvalidDatasetError | InvalidSymbolError | InvalidTimeError | TypeError}
 * On misuse: a dataset with interval folders, one the market lacks, a
 * period it is not published in, a malformed symbol or date.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { visionEventFile } from "./vision_url.ts";
 * const file = visionEventFile(undefined, {
 *   market: "um", dataset: "fundingRate", symbol: "BTCUSDT", period: "monthly", date: "2024-01",
 * });
 * assert.equal(
 *   file.url,
 *   "https://data.binance.vision/data/futures/um/monthly/fundingRate/BTCUSDT/BTCUSDT-fundingRate-2024-01.zip",
 * );
 * assert.equal(file.csvName, "BTCUSDT-fundingRate-2024-01.csv");
 * assert.throws(() =>
 *   visionEventFile(undefined, {
 *     market: "um", dataset: "fundingRate", symbol: "BTCUSDT", period: "daily", date: "2024-01-01",
 *   }), /published monthly only/);
 * ```
 */
export function visionEventFile(baseUrl: string | undefined, ref: VisionEventFileRef): VisionFile {
  const market = parseMarket(ref.market);
  const dataset = parseDataset(ref.dataset, market);
  const info = datasetInfo(dataset);
  if (info.series !== "events") {
    throw new TypeError(
      `Cannot build a Vision URL: dataset "${dataset}" has interval folders (use visionFile)`,
    );
  }
  if (!info.archivePeriods.includes(ref.period)) {
    throw new TypeError(
      `Cannot build a Vision URL: period ${JSON.stringify(ref.period)}: "${dataset}" is ` +
        `published ${info.archivePeriods.join(" and ")} only`,
    );
  }
  return datasetFileAt(baseUrl, market, dataset, ref);
}

/**
 * An archive named `{SYMBOL}-{dataset}-{date}` in its dataset's folder (no
 * interval folder): the symbol must be canonical, the date of the period.
 */
function datasetFileAt(
  baseUrl: string | undefined,
  market: Market,
  dataset: Dataset,
  ref: { symbol: string; period: VisionPeriod; date: string },
): VisionFile {
  const symbol = validateSymbol(ref.symbol, market);
  if (symbol !== ref.symbol) {
    throw new InvalidSymbolError(
      ref.symbol,
      `Cannot build a Vision URL: symbol ${JSON.stringify(ref.symbol)} is not in canonical form ` +
        JSON.stringify(symbol),
    );
  }
  checkDate(ref.period, ref.date);
  const prefix = `data/${marketInfo(market).visionPath}/${ref.period}/${dataset}/${symbol}/`;
  return fileAt(baseUrl, prefix, `${symbol}-${dataset}-${ref.date}`);
}

/** One Vision archive of a trade dataset: `aggTrades` or `trades`, daily or monthly. */
export interface VisionTradeFileRef {
  /** The market: `spot`, `um` or `cm`. */
  market: Market;
  /** `aggTrades` or `trades`. */
  dataset: TradeDataset;
  /** The symbol, e.g. `BTCUSDT` or `BTCUSD_PERP`. */
  symbol: string;
  /** `daily` or `monthly`. */
  period: VisionPeriod;
  /** `YYYY-MM-DD` for daily files, `YYYY-MM` for monthly files. */
  date: string;
}

/**
 * The names, key and URLs of one trade archive:
 * `data/{spot|futures/um|futures/cm}/{daily|monthly}/{aggTrades|trades}/{SYMBOL}/{SYMBOL}-{dataset}-{date}.zip`.
 *
 * @param baseUrl The Vision base URL; `undefined` means {@linkcode VISION_URL}.
 * @param ref Market, dataset, symbol, period and date.
 * @returns File names, S3 key, URL and checksum URL.
 * @throws {InvalidMarketError | InvalidDatasetError | InvalidSymbolError | InvalidTimeError | TypeError}
 * On misuse: an unknown market or dataset, a period other than daily or
 * monthly, a malformed symbol or date.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { visionTradeFile } from "./vision_url.ts";
 * const file = visionTradeFile(undefined, {
 *   market: "um", dataset: "aggTrades", symbol: "BTCUSDT", period: "daily", date: "2024-01-01",
 * });
 * assert.equal(
 *   file.url,
 *   "https://data.binance.vision/data/futures/um/daily/aggTrades/BTCUSDT/BTCUSDT-aggTrades-2024-01-01.zip",
 * );
 * assert.equal(file.csvName, "BTCUSDT-aggTrades-2024-01-01.csv");
 * assert.equal(
 *   visionTradeFile(undefined, {
 *     market: "spot", dataset: "trades", symbol: "BTCUSDT", period: "monthly", date: "2024-01",
 *   }).checksumUrl,
 *   "https://data.binance.vision/data/spot/monthly/trades/BTCUSDT/BTCUSDT-trades-2024-01.zip.CHECKSUM",
 * );
 * assert.throws(() =>
 *   visionTradeFile(undefined, {
 *     market: "spot", dataset: "trades", symbol: "BTCUSDT", period: "monthly", date: "2024-01-01",
 *   }), { code: "INVALID_TIME" });
 * ```
 */
export function visionTradeFile(baseUrl: string | undefined, ref: VisionTradeFileRef): VisionFile {
  const market = parseMarket(ref.market);
  const dataset = ref.dataset;
  if (dataset !== "aggTrades" && dataset !== "trades") {
    throw new InvalidDatasetError(
      dataset,
      `Cannot build a Vision URL: dataset ${
        JSON.stringify(dataset)
      } is not "aggTrades" or "trades"`,
    );
  }
  if (ref.period !== "daily" && ref.period !== "monthly") {
    throw new TypeError(
      `Cannot build a Vision URL: period ${JSON.stringify(ref.period)} is not "daily" or "monthly"`,
    );
  }
  return datasetFileAt(baseUrl, market, dataset, ref);
}

/**
 * The URL of one Vision archive.
 *
 * @param baseUrl The Vision base URL; `undefined` means {@linkcode VISION_URL}.
 * @param ref Market, symbol, interval, period and date.
 * @returns The archive's URL (append `.CHECKSUM` for its checksum).
 * @throws {InvalidMarketError | InvalidDatasetError | InvalidSymbolError | InvalidIntervalError | InvalidTimeError | TypeError} On misuse.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { visionFileUrl } from "./vision_url.ts";
 * assert.equal(
 *   visionFileUrl("http://127.0.0.1:8080/", {
 *     market: "spot", symbol: "BTCUSDT", interval: "1m", period: "daily", date: "2024-01-01",
 *   }),
 *   "http://127.0.0.1:8080/data/spot/daily/klines/BTCUSDT/1m/BTCUSDT-1m-2024-01-01.zip",
 * );
 * ```
 */
export function visionFileUrl(baseUrl: string | undefined, ref: VisionFileRef): string {
  return visionFile(baseUrl, ref).url;
}
