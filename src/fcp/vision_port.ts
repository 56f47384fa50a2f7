/**
 * The Vision source of the engine: one `VisionClient` shared by all fetches
 * of a manager (its concurrency bound is global), with listing failures
 * turned into "inventory unknown".
 *
 * @module
 */
import type { Interval } from "../core/interval.ts";
import type { Market } from "../core/market.ts";
import { KlineDecodePool } from "../codec/kline_decode_pool.ts";
import { VisionClient } from "../source/vision_client.ts";
import type { DataSourceManagerOptions } from "./data_source_manager.ts";
import type { VisionFile, VisionFileQuery, VisionInventory, VisionPort } from "./source_ports.ts";

/** Adapts {@linkcode VisionClient} to {@linkcode VisionPort}. */
export class VisionPortAdapter implements VisionPort {
  readonly #client: VisionClient;
  readonly #logger: ((message: string) => void) | undefined;
  #pages = 0;
  readonly #pool: KlineDecodePool | undefined;

  /**
   * Creates the instance.
   *
   * @param options The manager's options (endpoints, fetch, retry, concurrency).
   */
  constructor(options: DataSourceManagerOptions) {
    const { endpoints, timeoutMs, retry, concurrency } = options;
    const workers = options.decodeWorkers ?? 0;
    this.#pool = workers > 0 ? new KlineDecodePool({ workers }) : undefined;
    const fetchImpl = options.fetch ?? fetch;
    this.#logger = options.logger;
    this.#client = new VisionClient({
      baseUrl: endpoints?.vision,
      listingUrl: endpoints?.listing,
      timeoutMs,
      retry,
      concurrency,
      decodePool: this.#pool,
      fetch: (input, init) => {
        const url = String(input instanceof Request ? input.url : input);
        if (url.includes("delimiter=") || url.includes("prefix=")) this.#pages++;
        return fetchImpl(input, init);
      },
    });
  }

  /**
   * Counter of listing pages from now on.
   *
   * @returns A function reading the pages requested since this call.
   */
  pageCounter(): () => number {
    const start = this.#pages;
    return () => this.#pages - start;
  }

  /** Lists a series' archives; undefined when the listing cannot be read. */
  async inventory(
    series: { market: Market; symbol: string; interval: Interval; from: string; to: string },
    signal: AbortSignal,
  ): Promise<VisionInventory | undefined> {
    const { market, symbol, interval, from, to } = series;
    try {
      const listing = await this.#client.list({ market, symbol, interval }, { signal, from, to });
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

  /** Downloads, verifies and decodes one archive. */
  async file(file: VisionFileQuery, signal: AbortSignal): Promise<VisionFile> {
    const result = await this.#client.fetchFile({ ...file, signal });
    if (result.status === "missing") return { status: "missing" };
    return { status: "ok", batches: result.batches, bytes: result.bytes, sha256: result.sha256 };
  }
}
