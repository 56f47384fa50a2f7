/**
 * The REST clients of a manager: one `RestClient` per market, made on first
 * use from the manager's options, sharing the process-wide weight schedulers
 * and the manager's circuit breaker.
 *
 * @module
 */
import type { Market } from "../core/market.ts";
import { RestClient } from "../source/rest_client.ts";
import type { DataSourceManagerOptions } from "./manager_options.ts";
import type { HostCircuitBreaker } from "../source/http.ts";

/** The manager's REST clients, one per market. */
export class RestClients {
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
}
