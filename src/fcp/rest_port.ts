/**
 * The REST source of the engine: one `RestClient` per market, sharing the
 * process-wide weight schedulers; each call counts its own requests into the
 * calling fetch's report.
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";
import type { Dataset } from "../core/dataset.ts";
import type { Market } from "../core/market.ts";
import { RestClient } from "../source/rest_client.ts";
import type { DataSourceManagerOptions } from "./manager_options.ts";
import type { HostCircuitBreaker } from "../source/http.ts";
import type { RequestCounts } from "./fetch_report.ts";
import type { RestPort, RestRows } from "./source_ports.ts";

/** Adapts {@linkcode RestClient} to {@linkcode RestPort}. */
export class RestPortAdapter implements RestPort {
  readonly #options: DataSourceManagerOptions;
  readonly #clients = new Map<Market, RestClient>();
  readonly #breaker: HostCircuitBreaker | undefined;

  /**
   * Creates the instance.
   *
   * @param options The manager's options (endpoints, fetch, retry, clock).
   * @param breaker The manager's circuit breaker, shared with Vision.
   */
  constructor(options: DataSourceManagerOptions, breaker?: HostCircuitBreaker) {
    this.#options = options;
    this.#breaker = breaker;
  }

  /**
   * The REST client of a market (one per market, made on first use).
   *
   * @param market The market.
   * @returns Its client.
   */
  client(market: Market): RestClient {
    let client = this.#clients.get(market);
    if (!client) {
      const { endpoints, fetch, timeoutMs, retry, now } = this.#options;
      const rest = endpoints?.rest;
      client = new RestClient({
        market,
        hosts: rest === undefined ? undefined : Array.isArray(rest) ? rest : [rest],
        marketDataHosts: endpoints?.restMarketData ?? (rest === undefined ? undefined : []),
        fetch,
        timeoutMs,
        retry,
        now,
        breaker: this.#breaker,
      });
      this.#clients.set(market, client);
    }
    return client;
  }

  /**
   * Fetches every candle with open time in `[start, end)`; a failure after
   * some pages comes back in `error` with the rows fetched before it. The
   * responses received and their weight are added to `counts`.
   */
  async range(
    query: {
      dataset?: Dataset;
      market: Market;
      symbol: string;
      interval: string;
      start: number;
      end: number;
      includeOpenCandle?: boolean;
    },
    signal: AbortSignal,
    counts?: RequestCounts,
  ): Promise<RestRows> {
    const stream = this.client(query.market).klines({
      dataset: query.dataset,
      symbol: query.symbol,
      interval: query.interval,
      start: query.start,
      end: query.end,
      includeOpenCandle: query.includeOpenCandle,
      signal,
    });
    const batches: RecordBatch[] = [];
    let error: unknown;
    try {
      for await (const batch of stream) batches.push(batch);
    } catch (caught) {
      if (signal.aborted || batches.length === 0) throw caught;
      error = caught;
    } finally {
      // This walk's own counts: responses received, not requests sent.
      if (counts) {
        counts.restCalls += stream.stats.responses;
        counts.restWeight += stream.stats.responseWeight;
      }
    }
    // Response sizes are not measured on the REST path (see PartitionReport.bytes).
    return { batches, bytes: 0, error };
  }
}
