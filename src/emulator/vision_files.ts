/**
 * Binance Vision files of the emulated market: which daily and monthly zips
 * exist per dataset (klines, the price klines, the monthly funding rates,
 * aggTrades and trades, BINANCE.md sections 1 and 4), their CSV text per
 * market and date, the zips and their `.CHECKSUM` siblings.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { type Dataset, datasetInfo } from "../core/dataset.ts";
import {
  floorOpenTime,
  type Interval,
  intervalMs,
  parseInterval,
  visionIntervalName,
} from "../core/interval.ts";
import type { Market } from "../core/market.ts";
import { partitionOf } from "../core/partition.ts";
import { formatDay, formatMonth } from "../core/time.ts";
import { ByteLru } from "./_lru.ts";
import { encodeZip } from "../codec/zip_encoder.ts";
import { datasetSeries, klineSeries } from "./dataset_series.ts";
import { fundingArchiveCsv } from "./funding_archive_csv.ts";
import { fundingTruth } from "./funding_truth.ts";
import type { KlineText, MarketData } from "./market_data.ts";
import type { EmulatedSymbol } from "./symbol_catalogue.ts";
import { isTradeDataset, TradeArchives } from "./trade_archives.ts";
import { TradeTape } from "./trade_tape.ts";

/** One Vision file. */
export interface VisionFile {
  /** The symbol (the pair for index price klines). */
  readonly spec: EmulatedSymbol;
  /** The dataset, its folder in the key. */
  readonly dataset: Dataset;
  /** Daily or monthly. */
  readonly period: "daily" | "monthly";
  /** The interval of a grid dataset; undefined for events (funding rates). */
  readonly interval: Interval | undefined;
  /** `YYYY-MM-DD` or `YYYY-MM`. */
  readonly date: string;
  /** First ms covered. */
  readonly start: number;
  /** First ms after. */
  readonly end: number;
  /** The zip's name, e.g. `BTCUSDT-1m-2024-01-01.zip`. */
  readonly name: string;
  /** The zip's key, e.g. `data/spot/daily/klines/BTCUSDT/1m/BTCUSDT-1m-2024-01-01.zip`. */
  readonly key: string;
}

/** What names a file besides its symbol (see {@linkcode VisionFiles.file}). */
export interface VisionFileParts {
  /** The dataset. @default "klines" */
  dataset?: Dataset;
  /** Daily or monthly. */
  period: VisionFile["period"];
  /** The interval; required by grid datasets, absent for events. */
  interval?: Interval;
  /** `YYYY-MM-DD` or `YYYY-MM`. */
  date: string;
}

/** Options of {@linkcode VisionFiles}. */
export interface VisionFilesOptions {
  /** The clock, epoch ms. */
  now: () => number;
  /** Newest days whose daily files are not yet published. @default 0 */
  publicationLagDays?: number;
  /** Zip layout: sizes in a trailing data descriptor. @default false */
  dataDescriptor?: boolean;
  /** End CHECKSUM text with a newline. @default true */
  checksumNewline?: boolean;
  /** Bound of the zip cache. @default 64 MiB */
  cacheBytes?: number;
  /**
   * The trade tape of the aggTrades and trades files (give it the market
   * data's seed). @default a tape of seed 1 and tradeScale 1 over `data`
   */
  trades?: TradeTape;
}

/** Column names of the futures header row. */
export const VISION_HEADER =
  "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume," +
  "taker_buy_quote_volume,ignore";

const DAY_MS = 86_400_000;
const VISION_PATH: Record<Market, string> = { spot: "spot", um: "futures/um", cm: "futures/cm" };
const MARKET_OF: Record<string, Market> = {
  "spot": "spot",
  "futures/um": "um",
  "futures/cm": "cm",
};
const DAILY = ["1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d"];
const MONTHLY_ONLY = ["3d", "1w", "1M"];
const KEY =
  /^data\/(spot|futures\/um|futures\/cm)\/(daily|monthly)\/(klines|markPriceKlines|indexPriceKlines|premiumIndexKlines)\/([^/]+)\/([^/]+)\/([^/]+)$/;
const EVENT_KEY = /^data\/(futures\/um|futures\/cm)\/(monthly)\/(fundingRate)\/([^/]+)\/([^/]+)$/;
const TRADE_KEY =
  /^data\/(spot|futures\/um|futures\/cm)\/(daily|monthly)\/(aggTrades|trades)\/([^/]+)\/([^/]+)$/;
const HEADER_FROM: Record<Market, number> = {
  spot: Infinity,
  um: Date.UTC(2022, 6, 1),
  cm: Date.UTC(2020, 8, 1),
};
const MICROS_FROM = Date.UTC(2025, 0, 1);

/** A built zip and its SHA-256. */
export interface VisionZip {
  /** The zip bytes. */
  readonly bytes: Uint8Array<ArrayBuffer>;
  /** Lowercase hex SHA-256 of the bytes. */
  readonly sha256: string;
}

/**
 * The emulated Vision file tree.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MarketData } from "./market_data.ts";
 * import { VisionFiles } from "./vision_files.ts";
 * const files = new VisionFiles(new MarketData(), { now: () => Date.UTC(2024, 5, 1) });
 * const file = files.parse("data/spot/daily/klines/BTCUSDT/1h/BTCUSDT-1h-2024-01-01.zip")!;
 * assert.equal(files.csv(file).split("\n").length, 25);
 * ```
 */
export class VisionFiles {
  #data: MarketData;
  #now: () => number;
  #lag: number;
  #dd: boolean;
  #newline: boolean;
  #cache: ByteLru<VisionZip>;
  #writing = new Map<string, Promise<VisionZip>>();
  #trades: TradeArchives;

  /**
   * Creates the instance.
   *
   * @param data The market.
   * @param options Clock, lag, zip layout, cache bound.
   */
  constructor(data: MarketData, options: VisionFilesOptions) {
    this.#data = data;
    this.#now = options.now;
    this.#lag = options.publicationLagDays ?? 0;
    this.#dd = options.dataDescriptor ?? false;
    this.#newline = options.checksumNewline ?? true;
    this.#cache = new ByteLru(options.cacheBytes ?? 64 * 1024 * 1024);
    this.#trades = new TradeArchives(options.trades ?? new TradeTape(data));
  }

  /** The market data behind the files. */
  get data(): MarketData {
    return this.#data;
  }

  /** The aggTrades and trades archives. */
  get trades(): TradeArchives {
    return this.#trades;
  }

  /**
   * Whether a file is served as a stream ({@linkcode TradeArchives.stream}):
   * the monthly aggTrades and trades files, too large to build in memory.
   *
   * @param file The file.
   * @returns True for a monthly trade file.
   */
  isStreamed(file: VisionFile): boolean {
    return file.period === "monthly" && isTradeDataset(file.dataset);
  }

  /**
   * Parses a zip key into a file, if it names an existing, published file.
   *
   * @param key The key without leading slash and without `.CHECKSUM`.
   * @returns The file, or undefined (a 404).
   */
  parse(key: string): VisionFile | undefined {
    const event = EVENT_KEY.exec(key) ?? TRADE_KEY.exec(key);
    if (event !== null) return this.#parseEvents(event, key);
    const m = KEY.exec(key);
    if (m === null) return undefined;
    const [, path, period, folder, symbol, ivName] = m;
    const dataset = folder as Dataset;
    const spec = datasetSeries(this.#data, dataset).find(MARKET_OF[path], symbol);
    let interval: Interval;
    try {
      interval = parseInterval(ivName, spec?.market);
    } catch {
      return undefined;
    }
    if (spec === undefined || visionIntervalName(interval) !== ivName) return undefined;
    if (!this.intervals(spec.market, period as VisionFile["period"]).includes(interval)) {
      return undefined;
    }
    const date = m[6].slice(symbol.length + ivName.length + 2, -4);
    const file = this.file(spec, {
      dataset,
      period: period as VisionFile["period"],
      interval,
      date,
    });
    if (file === undefined || file.key !== key) return undefined;
    return this.dates(spec, file.period).includes(date) ? file : undefined;
  }

  // Files named `SYMBOL-dataset-date.zip`: funding rates (monthly), aggTrades and trades.
  #parseEvents(m: RegExpExecArray, key: string): VisionFile | undefined {
    const [, path, periodText, folder, symbol, name] = m;
    const dataset = folder as Dataset;
    const period = periodText as VisionFile["period"];
    const spec = datasetSeries(this.#data, dataset).find(MARKET_OF[path], symbol);
    if (spec === undefined) return undefined;
    const date = name.slice(symbol.length + dataset.length + 2, -4);
    const file = this.file(spec, { dataset, period, date });
    if (file === undefined || file.key !== key) return undefined;
    return this.dates(spec, period).includes(date) ? file : undefined;
  }

  /**
   * The intervals Vision publishes for a market and period.
   *
   * @param market The market.
   * @param period Daily or monthly.
   * @returns Intervals in REST spelling.
   */
  intervals(market: Market, period: VisionFile["period"]): Interval[] {
    const all = period === "daily" ? DAILY : [...DAILY, ...MONTHLY_ONLY];
    return all.filter((i) => market === "spot" || i !== "1s") as Interval[];
  }

  /**
   * The published dates of a symbol's files, oldest first.
   *
   * @param spec The symbol.
   * @param period Daily or monthly.
   * @returns `YYYY-MM-DD` or `YYYY-MM` keys.
   */
  dates(spec: EmulatedSymbol, period: VisionFile["period"]): string[] {
    const today = Math.floor(this.#now() / DAY_MS) * DAY_MS;
    const last = spec.delistedAt === undefined ? Infinity : spec.delistedAt - 1;
    const out: string[] = [];
    const kind = period === "daily" ? "day" : "month";
    const first = Math.max(spec.listedAt, spec.visionFrom ?? -Infinity);
    for (let p = partitionOf(first, kind); p.start <= last; p = partitionOf(p.end, kind)) {
      if (p.end + this.#lag * DAY_MS > today) break;
      out.push(p.key);
    }
    return out;
  }

  /**
   * Describes a file from its parts (whether or not it is published): grid
   * datasets `{dataset}/{SYMBOL}/{interval}/{SYMBOL}-{interval}-{date}.zip`,
   * events `{dataset}/{SYMBOL}/{SYMBOL}-{dataset}-{date}.zip`.
   *
   * @param spec The symbol (the pair for index price klines).
   * @param parts Dataset, period, interval and date.
   * @returns The file, or undefined for a malformed date.
   * @throws {RangeError} For a grid dataset without an interval.
   */
  file(spec: EmulatedSymbol, parts: VisionFileParts): VisionFile | undefined {
    const { period, interval, date } = parts;
    const dataset = parts.dataset ?? "klines";
    const daily = period === "daily";
    if (!(daily ? /^\d{4}-\d{2}-\d{2}$/ : /^\d{4}-\d{2}$/).test(date)) return undefined;
    const start = Date.parse(daily ? `${date}T00:00:00Z` : `${date}-01T00:00:00Z`);
    if (Number.isNaN(start) || (daily ? formatDay(start) : formatMonth(start)) !== date) {
      return undefined;
    }
    const end = partitionOf(start, daily ? "day" : "month").end;
    const folder = `data/${VISION_PATH[spec.market]}/${period}/${dataset}/${spec.symbol}/`;
    if (datasetInfo(dataset).series !== "grid") {
      const name = `${spec.symbol}-${dataset}-${date}.zip`;
      return {
        spec,
        dataset,
        period,
        interval: undefined,
        date,
        start,
        end,
        name,
        key: folder + name,
      };
    }
    if (interval === undefined) {
      throw new RangeError(`Cannot name a ${dataset} file without an interval`);
    }
    const iv = visionIntervalName(interval);
    const name = `${spec.symbol}-${iv}-${date}.zip`;
    return {
      spec,
      dataset,
      period,
      interval,
      date,
      start,
      end,
      name,
      key: `${folder}${iv}/${name}`,
    };
  }

  /**
   * The rows of a grid file: the candles opening in its day or month, from
   * the symbol's first archived candle on (the one containing `visionFrom`).
   *
   * @param file The file.
   * @returns Its candles, in time order.
   */
  rows(file: VisionFile): KlineText[] {
    return this.#series(file).klines(file.spec, gridInterval(file), this.#first(file), file.end);
  }

  #series(file: VisionFile) {
    return klineSeries(this.#data, file.dataset);
  }

  #first(file: VisionFile): number {
    const from = file.spec.visionFrom;
    if (from === undefined) return file.start;
    return Math.max(file.start, file.interval ? floorOpenTime(from, file.interval) : from);
  }

  /**
   * The CSV text of a file, in its market's and date's format.
   *
   * @param file The file.
   * @param keepFraction Share of the rows kept (a partial file keeps a prefix).
   * @returns The CSV, every line ending with `\n`.
   */
  csv(file: VisionFile, keepFraction = 1): string {
    return new TextDecoder().decode(this.csvBytes(file, keepFraction));
  }

  /**
   * The CSV bytes of a file, built a day at a time (a monthly 1s file holds
   * 2.6 M rows).
   *
   * @param file The file.
   * @param keepFraction Share of the rows kept (a partial file keeps a prefix).
   * @returns The UTF-8 CSV.
   */
  csvBytes(file: VisionFile, keepFraction = 1): Uint8Array {
    const encoder = new TextEncoder();
    if (isTradeDataset(file.dataset)) {
      return this.#trades.csvBytes({ ...file, dataset: file.dataset }, keepFraction);
    }
    if (file.interval === undefined) return encoder.encode(this.#eventsCsv(file, keepFraction));
    const micros = file.spec.market === "spot" && file.start >= MICROS_FROM;
    const parts: Uint8Array[] = [];
    if (file.start >= HEADER_FROM[file.spec.market]) {
      parts.push(encoder.encode(`${VISION_HEADER}\n`));
    }
    let keep = keepFraction >= 1 ? Infinity : Math.floor(this.rows(file).length * keepFraction);
    const first = this.#first(file);
    const interval = gridInterval(file);
    for (let t = file.start; t < file.end && keep > 0; t += DAY_MS) {
      const from = Math.max(t, first);
      const to = Math.min(t + DAY_MS, file.end);
      const rows = from < to ? this.#series(file).klines(file.spec, interval, from, to) : [];
      const lines: string[] = [];
      for (let i = 0; i < rows.length && keep > 0; i++, keep--) {
        const k = rows[i];
        const open = micros ? `${k.openTime}000` : `${k.openTime}`;
        const close = micros ? `${k.closeTime}999` : `${k.closeTime}`;
        lines.push(
          `${open},${k.open},${k.high},${k.low},${k.close},${k.volume},${close},` +
            `${k.quoteVolume},${k.count},${k.takerBuyVolume},${k.takerBuyQuoteVolume},${k.ignore}\n`,
        );
      }
      parts.push(encoder.encode(lines.join("")));
    }
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let offset = 0;
    for (const p of parts) {
      out.set(p, offset);
      offset += p.length;
    }
    return out;
  }

  // A funding rate archive: the events of its month from the Vision start on.
  #eventsCsv(file: VisionFile, keepFraction: number): string {
    const { market, symbol } = file.spec;
    const events = fundingTruth(this.#data, {
      market,
      symbol,
      start: this.#first(file),
      end: file.end,
    });
    const keep = keepFraction >= 1 ? events.length : Math.floor(events.length * keepFraction);
    return fundingArchiveCsv(events.slice(0, keep));
  }

  /**
   * The zip of a file (cached; requests for a zip being written share it),
   * holding one entry named like the zip with `.csv`. Built in memory: serve
   * the files of {@linkcode VisionFiles.isStreamed} with {@linkcode TradeArchives.stream}.
   *
   * @param file The file.
   * @param keepFraction Share of the rows kept.
   * @returns The zip bytes and their SHA-256.
   */
  zip(file: VisionFile, keepFraction = 1): Promise<VisionZip> {
    const cacheKey = `${file.key}#${keepFraction}`;
    const hit = this.#cache.get(cacheKey);
    if (hit !== undefined) return Promise.resolve(hit);
    const pending = this.#writing.get(cacheKey);
    if (pending !== undefined) return pending;
    const csv = this.csvBytes(file, keepFraction);
    const writing = encodeZip(file.name.replace(/\.zip$/, ".csv"), csv, {
      dataDescriptor: this.#dd,
      modified: new Date(file.end),
    }).then((bytes) => {
      const sha256 = createHash("sha256").update(bytes).digest("hex");
      const zip = { bytes, sha256 };
      this.#cache.set(cacheKey, zip, bytes.length);
      return zip;
    }).finally(() => this.#writing.delete(cacheKey));
    this.#writing.set(cacheKey, writing);
    return writing;
  }

  /**
   * The `.CHECKSUM` text of a zip: `<sha256 hex>  <zip name>` (and a newline
   * unless configured otherwise).
   *
   * @param file The file.
   * @param sha256 The hash to print.
   * @returns The text.
   */
  checksum(file: VisionFile, sha256: string): string {
    return `${sha256}  ${file.name}${this.#newline ? "\n" : ""}`;
  }

  /**
   * An estimate of a zip's size, without building it.
   *
   * @param file The file.
   * @returns Bytes (about 50 a row).
   */
  estimateSize(file: VisionFile): number {
    if (isTradeDataset(file.dataset)) {
      return this.#trades.estimateSize({ ...file, dataset: file.dataset });
    }
    const step = file.interval === undefined ? 8 * 3_600_000 : intervalMs(file.interval);
    return 200 + Math.ceil((file.end - file.start) / step) * 50;
  }

  /** Empties the zip cache. */
  clearCache(): void {
    this.#cache.clear();
  }
}

function gridInterval(file: VisionFile): Interval {
  if (file.interval === undefined) throw new RangeError(`File "${file.name}" has no interval`);
  return file.interval;
}
