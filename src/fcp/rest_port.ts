/**
 * The REST source of the engine: one `RestClient` per market, sharing the
 * process-wide weight schedulers, with counters for the report.
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";
import type { Market } from "../core/market.ts";
import { RestClient } from "../source/rest_client.ts";
import type { DataSourceManagerOptions } from "./data_source_manager.ts";
import type { RestPort, RestRows } from "./source_ports.ts";

/** Adapts {@linkcode RestClient} to {@linkcode RestPort}. */
export class RestPortAdapter implements RestPort {
  readonly #options: DataSourceManagerOptions;
  readonly #clients = new Map<Market, RestClient>();
  #calls = 0;
  #weight = 0;

  /**
   * Creates the instance.
   *
   * @param options The manager's options (endpoints, fetch, retry, clock).
   */
  constructor(options: DataSourceManagerOptions) {
    this.#options = options;
  }

  #client(market: Market): RestClient {
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
      });
      this.#clients.set(market, client);
    }
    return client;
  }

  /**
   * Counters of calls and weight from now on.
   *
   * @returns A function reading the calls and weight since this call.
   */
  counters(): () => { calls: number; weight: number } {
    const calls = this.#calls, weight = this.#weight;
    return () => ({ calls: this.#calls - calls, weight: this.#weight - weight });
  }

  /**
   * Fetches every candle with open time in `[start, end)`; a failure after
   * some pages comes back in `error` with the rows fetched before it.
   */
  async range(
    query: {
      market: Market;
      symbol: string;
      interval: string;
      start: number;
      end: number;
      includeOpenCandle?: boolean;
    },
    signal: AbortSignal,
  ): Promise<RestRows> {
    const stream = this.#client(query.market).klines({
      symbol: query.symbol,
      interval: query.interval,
      start: query.start,
      end: query.end,
      includeOpenCandle: query.includeOpenCandle,
      signal,
    });
    const batches: RecordBatch[] = [];
    let counted = { requests: 0, weight: 0 };
    let error: unknown;
    try {
      for await (const batch of stream) {
        batches.push(batch);
        counted = this.#count(stream.stats, counted);
      }
    } catch (caught) {
      if (signal.aborted || batches.length === 0) throw caught;
      error = caught;
    } finally {
      this.#count(stream.stats, counted);
    }
    // Response sizes are not measured on the REST path (see PartitionReport.bytes).
    return { batches, bytes: 0, error };
  }

  #count(
    stats: { requests: number; weight: number },
    counted: { requests: number; weight: number },
  ): { requests: number; weight: number } {
    this.#calls += stats.requests - counted.requests;
    this.#weight += stats.weight - counted.weight;
    return { requests: stats.requests, weight: stats.weight };
  }
}
