/**
 * The REST clients of a manager: one `RestClient` per market, made on first
 * use from the manager's options, sharing the weight budget of the host
 * (through the cache folder, or the process-wide schedulers) and the
 * manager's circuit breaker.
 *
 * @module
 */
import type { KlineStore } from "../cache/kline_store.ts";
import { type Market, marketInfo } from "../core/market.ts";
import { RestClient } from "../source/rest_client.ts";
import { SharedWeightBudget } from "../source/shared_weight_budget.ts";
import { WeightScheduler } from "../source/weight_scheduler.ts";
import type { DataSourceManagerOptions } from "./manager_options.ts";
import type { HostCircuitBreaker } from "../source/http.ts";

/** The manager's REST clients, one per market. */
export class RestClients {
  readonly #options: DataSourceManagerOptions;
  readonly #clients = new Map<Market, RestClient>();
  readonly #breaker: HostCircuitBreaker | undefined;
  readonly #cache: (() => Promise<KlineStore>) | undefined;
  #told = false;

  /**
   * Creates the instance.
   *
   * @param options The manager's options (endpoints, fetch, retry, clock, `sharedBudget`).
   * @param breaker The manager's circuit breaker, shared with Vision.
   * @param cache Opens the manager's cache: a writable cache folder holds the
   *   weight budget shared by the host's processes (`sharedBudget`).
   */
  constructor(
    options: DataSourceManagerOptions,
    breaker?: HostCircuitBreaker,
    cache?: () => Promise<KlineStore>,
  ) {
    this.#options = options;
    this.#breaker = breaker;
    this.#cache = cache;
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
      const hosts = rest === undefined ? undefined : Array.isArray(rest) ? rest : [rest];
      client = new RestClient({
        market,
        hosts,
        marketDataHosts: endpoints?.restMarketData ?? (rest === undefined ? undefined : []),
        fetch,
        timeoutMs,
        retry,
        now,
        breaker: this.#breaker,
        scheduler: this.#sharedBudget(market, hosts?.[0]),
      });
      this.#clients.set(market, client);
    }
    return client;
  }

  /**
   * The budget shared through the cache folder, unless `sharedBudget` is
   * false or the cache is `false` (then the client's own default).
   */
  #sharedBudget(market: Market, host: string | undefined): SharedWeightBudget | undefined {
    const { cache, sharedBudget = true, logger } = this.#options;
    if (!sharedBudget || cache === false || !this.#cache) return undefined;
    const info = marketInfo(market);
    const origin = new URL(host ?? info.restHosts[0]).origin;
    const open = this.#cache;
    return new SharedWeightBudget({
      market,
      dir: () => open().then((store) => store.writable ? store.root : undefined),
      // As the client would pace itself alone (WeightScheduler.shared of its primary host).
      fallback: WeightScheduler.shared(`${origin}${info.klinesPath}`, {
        budget: info.weightBudget,
      }),
      // Said once per manager, whichever market falls back first.
      logger: logger && ((message) => {
        if (!this.#told) logger(message);
        this.#told = true;
      }),
    });
  }
}
