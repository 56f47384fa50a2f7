/**
 * The Vision archives of a manager: one `VisionClient` shared by all its
 * fetches (its concurrency bound is global), a decode pool started for bulk
 * fetches, and the listing read as an inventory (listing failures turned
 * into "inventory unknown").
 *
 * @module
 */
import { KlineDecodePool } from "../codec/kline_decode_pool.ts";
import { VisionClient } from "../source/vision_client.ts";
import type { HostCircuitBreaker } from "../source/http.ts";
import type { RequestCounts } from "./fetch_report.ts";
import type { DataSourceManagerOptions } from "./manager_options.ts";
import type { Dataset } from "../core/dataset.ts";
import type { Interval } from "../core/interval.ts";
import type { Market } from "../core/market.ts";
import type { VisionFileRequest, VisionFileResult } from "../source/vision_client.ts";

/** Which Vision files exist for a series. */
export interface VisionInventory {
  /** Days (`YYYY-MM-DD`) with a daily archive. */
  daily: ReadonlySet<string>;
  /** Months (`YYYY-MM`) with a monthly archive. */
  monthly: ReadonlySet<string>;
}

/** A series and the days (`YYYY-MM-DD`, inclusive) whose archives to list. */
export interface VisionInventoryQuery {
  /** Dataset; absent for `klines`. */
  dataset?: Dataset;
  /** Market. */
  market: Market;
  /** Symbol. */
  symbol: string;
  /** Interval. */
  interval: Interval;
  /** First day. */
  from: string;
  /** Last day. */
  to: string;
}

/** Vision archives in one fetch from which `decodeWorkers: "auto"` starts a decode worker. */
export const AUTO_WORKER_FILES = 4;

/** The manager's Vision archives: downloads, decode pool, inventory. */
export class VisionArchives {
  readonly #options: DataSourceManagerOptions;
  readonly #client: VisionClient;
  readonly #logger: ((message: string) => void) | undefined;
  readonly #breaker: HostCircuitBreaker | undefined;
  #pool: KlineDecodePool | undefined;
  #pooled: VisionClient | undefined;
  #workers = 0;

  /**
   * Creates the instance.
   *
   * @param options The manager's options (endpoints, fetch, retry, concurrency, decode workers).
   * @param breaker The manager's circuit breaker, shared with REST.
   */
  constructor(options: DataSourceManagerOptions, breaker?: HostCircuitBreaker) {
    this.#options = options;
    this.#logger = options.logger;
    this.#breaker = breaker;
    this.#client = this.#newClient(undefined);
    const workers = options.decodeWorkers ?? "auto";
    if (typeof workers === "number" && workers > 0) this.#startPool(workers);
  }

  #newClient(decodePool: KlineDecodePool | undefined): VisionClient {
    const { endpoints, timeoutMs, retry, concurrency, fetch } = this.#options;
    return new VisionClient({
      baseUrl: endpoints?.vision,
      listingUrl: endpoints?.listing,
      timeoutMs,
      retry,
      concurrency,
      decodePool,
      fetch,
      breaker: this.#breaker,
    });
  }

  #startPool(workers: number): void {
    this.#workers = workers;
    this.#pool = new KlineDecodePool({ workers });
    this.#pooled = this.#newClient(this.#pool);
  }

  /** The Vision client (archives without decode workers). */
  get archives(): VisionClient {
    return this.#client;
  }

  /** Decode workers started (0 until a bulk fetch with `decodeWorkers: "auto"`). */
  get decodeWorkers(): number {
    return this.#workers;
  }

  /**
   * Tells how many archives a fetch is about to download: with
   * `decodeWorkers: "auto"`, a bulk fetch starts one decode worker (kept
   * until {@linkcode close}); a few files are faster without one.
   *
   * @param files Vision archives planned.
   */
  prepare(files: number): void {
    const auto = (this.#options.decodeWorkers ?? "auto") === "auto";
    const cores = (globalThis.navigator?.hardwareConcurrency ?? 1) > 1;
    if (auto && cores && !this.#pool && files >= AUTO_WORKER_FILES) this.#startPool(1);
  }

  /**
   * Lists a series' archives; undefined when the listing cannot be read.
   * Pages received are added to `counts.listingPages`.
   */
  async inventory(
    series: VisionInventoryQuery,
    signal: AbortSignal,
    counts?: RequestCounts,
  ): Promise<VisionInventory | undefined> {
    const { dataset, market, symbol, interval, from, to } = series;
    const onPage = counts && (() => void counts.listingPages++);
    try {
      const listing = await this.#client.list({ dataset, market, symbol, interval }, {
        signal,
        from,
        to,
        onPage,
      });
      const both = (zips: Set<string>, sums: Set<string>) =>
        new Set([...zips].filter((d) => sums.has(d)));
      return {
        daily: both(listing.daily, listing.dailyChecksums),
        monthly: both(listing.monthly, listing.monthlyChecksums),
      };
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      this.#logger?.(`Vision listing unavailable, downloading without it: ${error}`);
      return undefined;
    }
  }

  /** Stops the decode workers, if any. */
  close(): void {
    this.#pool?.close();
  }

  /**
   * Downloads, verifies and decodes one archive (through the decode pool
   * once started).
   *
   * @param file The archive and a signal.
   * @returns The client's result: the batches, or `missing`.
   */
  file(file: VisionFileRequest): Promise<VisionFileResult> {
    return (this.#pooled ?? this.#client).fetchFile(file);
  }
}
