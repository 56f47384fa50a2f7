/**
 * The availability index's short-lived cache: JSON files under
 * `{root}/v1/index/{market}/{dataset}/`, `symbols.json` for a market's
 * symbol folders and `series/[{interval}/]{SYMBOL}.json` per series, each
 * written atomically (temporary file + rename) and trusted until it is
 * `maxAgeMs` old, for the same listing URL only. Every failure to read or
 * write is a cache miss, never an error: the listing is the source.
 *
 * @module
 */
import { join } from "node:path";
import { writeAtomic } from "../cache/_fs_io.ts";
import { symbolFolder } from "../cache/_kline_paths.ts";
import { openKlineStore } from "../cache/open_kline_store.ts";
import type { Dataset } from "../core/dataset.ts";
import type { Interval } from "../core/interval.ts";
import type { Market } from "../core/market.ts";
import type { SeriesAvailability } from "../source/availability_listing.ts";

/** The layout version of the index files. */
const VERSION = 1;

interface Entry<T> {
  version: number;
  listingUrl: string;
  listedAt: number;
  value: T;
}

/** Where the index of one market's dataset is cached, and for how long. */
export class AvailabilityCache {
  readonly #folder: string | undefined;
  readonly #writable: boolean;
  readonly #listingUrl: string;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  readonly #log: (message: string) => void;

  private constructor(
    folder: string | undefined,
    writable: boolean,
    options: { listingUrl: string; maxAgeMs: number; now: () => number; log: (m: string) => void },
  ) {
    this.#folder = folder;
    this.#writable = writable;
    this.#listingUrl = options.listingUrl;
    this.#maxAgeMs = options.maxAgeMs;
    this.#now = options.now;
    this.#log = options.log;
  }

  /**
   * Opens the cache folder (`dir` false: none; read-only: read, never written).
   *
   * @returns The cache of `market`'s `dataset`.
   */
  static async open(
    dir: string | false | undefined,
    series: { market: Market; dataset: Dataset },
    options: { listingUrl: string; maxAgeMs: number; now: () => number; log: (m: string) => void },
  ): Promise<AvailabilityCache> {
    const store = await openKlineStore({ dir, logger: options.log, now: options.now });
    const folder = store.enabled && store.root !== undefined
      ? join(store.root, "v1", "index", series.market, series.dataset)
      : undefined;
    return new AvailabilityCache(folder, store.writable, options);
  }

  /** The symbols of the market's dataset, when cached and fresh. */
  symbols(): Promise<{ symbols: string[]; listedAt: number } | undefined> {
    return this.#read<string[]>(
      "symbols.json",
      (v) => Array.isArray(v) && v.every((s) => typeof s === "string"),
    )
      .then((e) => e && { symbols: e.value, listedAt: e.listedAt });
  }

  /** Stores the symbols read at `listedAt`. */
  putSymbols(symbols: string[], listedAt: number): Promise<void> {
    return this.#write("symbols.json", symbols, listedAt);
  }

  /** A series' availability, when cached and fresh. */
  series(
    symbol: string,
    interval: Interval | undefined,
  ): Promise<{ availability: SeriesAvailability; listedAt: number } | undefined> {
    return this.#read<SeriesAvailability>(this.#seriesFile(symbol, interval), isAvailability)
      .then((e) => e && { availability: e.value, listedAt: e.listedAt });
  }

  /** Stores a series' availability read at `listedAt`. */
  putSeries(
    symbol: string,
    interval: Interval | undefined,
    availability: SeriesAvailability,
    listedAt: number,
  ): Promise<void> {
    return this.#write(this.#seriesFile(symbol, interval), availability, listedAt);
  }

  #seriesFile(symbol: string, interval: Interval | undefined): string {
    const name = `${symbolFolder(symbol)}.json`;
    return interval === undefined ? join("series", name) : join("series", interval, name);
  }

  async #read<T>(file: string, valid: (value: unknown) => boolean): Promise<Entry<T> | undefined> {
    if (this.#folder === undefined) return undefined;
    let entry: Partial<Entry<T>>;
    try {
      entry = JSON.parse(await Deno.readTextFile(join(this.#folder, file)));
    } catch {
      return undefined; // absent, unreadable or damaged: listed again (and rewritten)
    }
    const age = this.#now() - (entry?.listedAt ?? NaN);
    const fresh = entry?.version === VERSION && entry.listingUrl === this.#listingUrl &&
      age >= 0 && age < this.#maxAgeMs && valid(entry.value);
    return fresh ? entry as Entry<T> : undefined;
  }

  async #write(file: string, value: unknown, listedAt: number): Promise<void> {
    if (this.#folder === undefined || !this.#writable) return;
    const entry: Entry<unknown> = {
      version: VERSION,
      listingUrl: this.#listingUrl,
      listedAt,
      value,
    };
    const path = join(this.#folder, file);
    try {
      await Deno.mkdir(join(path, ".."), { recursive: true });
      await writeAtomic(
        path,
        new TextEncoder().encode(JSON.stringify(entry)),
        () => Promise.resolve(true),
      );
    } catch (error) {
      this.#log(`Cannot cache the availability index at ${JSON.stringify(path)}: ${error}`);
    }
  }
}

function isPeriod(value: unknown): boolean {
  const p = value as { count?: unknown; holes?: unknown } | null;
  return typeof p?.count === "number" && Array.isArray(p.holes);
}

function isAvailability(value: unknown): boolean {
  const a = value as Partial<SeriesAvailability> | null;
  return isPeriod(a?.daily) && isPeriod(a?.monthly) && Array.isArray(a?.checksumsMissing);
}
