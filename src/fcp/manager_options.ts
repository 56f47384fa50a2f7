/**
 * The options of `DataSourceManager`: sources, cache, pacing, clock and
 * callbacks. The sources' adapters read them from here.
 *
 * @module
 */
import type { MarketInput } from "../core/market.ts";
import type { RetryOptions } from "../source/http.ts";
import type { CacheOptions } from "./open_cache.ts";
import type { FetchProgress } from "./fetch_run.ts";

/** Base URLs of the sources (absolute `http:` or `https:` URLs); the defaults are Binance's. */
export interface Endpoints {
  /** Binance Vision archives. @default {"https://data.binance.vision"} */
  vision?: string;
  /** S3 listing of the archives. @default {"https://s3-ap-northeast-1.amazonaws.com/data.binance.vision"} */
  listing?: string;
  /** REST base URL(s), primary first; replaces every market's hosts. @default {the market's hosts} */
  rest?: string | string[];
  /** Market-data-only REST hosts tried after a 451. @default {the market's} */
  restMarketData?: string[];
}

/** Options of {@linkcode DataSourceManager}. */
export interface DataSourceManagerOptions {
  /** Default market of requests. @default {"spot"} */
  market?: MarketInput;
  /**
   * The cache: a folder (`{ dir }`), an object store (`{ url:
   * "s3://bucket/prefix", endpoint?, region?, credentials? }`, credentials
   * from `AWS_*` variables by default), or `false` for none; `readOnly: true`
   * reads it and never writes. Without filesystem permission a folder cache
   * switches itself off. A cache that fails (an unreachable store, a refused
   * write) never fails the fetch: the sources serve the rows, and each failed
   * read or write is a `CACHE_ERROR` among the report's `failures`.
   * @default {{ dir: DSM_CACHE_DIR or the platform cache folder }}
   */
  cache?: CacheOptions | false;
  /**
   * Share Binance's weight budget (per IP, market and minute) with every
   * process on this host that uses the same cache folder: each REST request
   * reserves its weight in `{cache}/v1/budget/{market}.json` (a small file
   * changed under a lock) before it is sent, and a 429 or 418 seen by one
   * process holds the others. Needs a writable cache folder; without one
   * (cache read-only or off, no file system) each process paces itself
   * alone, said once through `logger` (not for `cache: false`).
   * @default {true}
   */
  sharedBudget?: boolean;
  /** Source base URLs. @default {Binance's} */
  endpoints?: Endpoints;
  /** Downloads (Vision archives, REST walks, cache reads) in flight at once. @default {8} */
  concurrency?: number;
  /**
   * Worker threads that decode Vision archives beside the main thread
   * (inflate in a worker while the main thread parses). `"auto"` starts one
   * worker for the first fetch (`getData` or `stream()`) that plans several
   * archives, on a machine with more than one core, started while the
   * listing is read (a year of 1m: about 1.45× faster; 30 days of 1s
   * streamed: about 1.5×), and none for small fetches (a worker takes 50-100
   * ms to start); 0 decodes each archive on the main thread while it
   * downloads. Workers stop at {@linkcode close}.
   * @default {"auto"}
   */
  decodeWorkers?: number | "auto";
  /**
   * Time allowed for each response's headers, for each chunk of a body, and
   * for a whole small body (REST page, listing page, `.CHECKSUM`), ms; a
   * Vision archive attempt gets 10 times as long. Bodies are also capped by
   * what they can hold (`ResponseTooLargeError`).
   * @default {30000}
   */
  timeoutMs?: number;
  /**
   * Retry policy of transient failures. Connection-level failures (DNS,
   * refused, TLS) are retried until 3 in a row on one host, and any failures
   * (5xx, resets, time-outs) until 10 in a row: that host's requests then
   * fail at once for 30 s (a circuit breaker shared by every fetch of the
   * manager), each fetch reports it once among its `failures`, and `logger`
   * hears it once. A 429 is waited out for its `Retry-After` up to
   * `maxRetryAfterMs`; a longer one stops the host for that long, like a 418,
   * with its `RateLimitError`.
   * @default {{ attempts: 5, maxRetryAfterMs: 120000 }}
   */
  retry?: RetryOptions;
  /** The fetch implementation. @default {globalThis.fetch} */
  fetch?: typeof fetch;
  /** The clock, epoch ms. @default {Date.now} */
  now?: () => number;
  /** Cancels every fetch of this manager. */
  signal?: AbortSignal;
  /** Progress of each fetch. */
  onProgress?: (progress: FetchProgress) => void;
  /** Debug messages (cache switched off, files set aside, a host found unreachable). */
  logger?: (message: string) => void;
}
