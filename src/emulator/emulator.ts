/**
 * The emulated Binance: Vision files, the S3 listing, REST klines (trade
 * and price klines), funding rates and aggregate trades of a deterministic
 * synthetic market, with fault injection, on 127.0.0.1.
 *
 * @module
 */
import { type Dataset, datasetInfo, FUNDING_RATE_REQUESTS_PER_5_MIN } from "../core/dataset.ts";
import type { Market } from "../core/market.ts";
import type { TradeDataset } from "../core/trade_schema.ts";
import { marketInfo } from "../core/market.ts";
import type { EmulatorOptions, RestHost } from "./emulator_options.ts";
import { REST_HOSTS } from "./emulator_options.ts";
import { Faults, type RequestFaults } from "./faults.ts";
import { MarketData } from "./market_data.ts";
import { RateLimiter } from "./rate_limiter.ts";
import { answerAggTrades } from "./rest_agg_trades.ts";
import { answerFundingRate } from "./rest_funding_rate.ts";
import { answerKlines } from "./rest_klines.ts";
import { listObjects } from "./s3_listing.ts";
import { TradeKlineSeries } from "./trade_kline_series.ts";
import { TradeTape } from "./trade_tape.ts";
import { type VisionFile, VisionFiles } from "./vision_files.ts";

/** Counters of one emulator run. */
export interface EmulatorStats {
  /** Requests per kind. */
  requests: { vision: number; checksum: number; listing: number; rest: number; other: number };
  /** Responses per HTTP status. */
  statuses: Record<number, number>;
  /** Faults injected per kind. */
  faults: {
    errors: number;
    resets: number;
    truncations: number;
    mismatches: number;
    partial: number;
  };
}

/** A running emulator. */
export interface Emulator extends AsyncDisposable {
  /** Base URL, e.g. `http://127.0.0.1:41234` (no trailing slash). */
  readonly url: string;
  /** Counters since start or the last `reset()`. */
  readonly stats: EmulatorStats;
  /** Stops the server and waits for it. */
  close(): Promise<void>;
  /** Clears the counters, the weight windows and bans, and the per-URL fault draws. */
  reset(): void;
}

const REST_PATH =
  /^(?:\/(backup[1-5]|market-data))?\/(api\/v3|fapi\/v1|dapi\/v1)\/(klines|markPriceKlines|indexPriceKlines|premiumIndexKlines|fundingRate|aggTrades|time|ping)$/;
const MARKET_OF: Record<string, Market> = { "api/v3": "spot", "fapi/v1": "um", "dapi/v1": "cm" };
const MSG_451 = "Service unavailable from a restricted location according to 'b. Eligibility' " +
  "in https://www.binance.com/en/terms. Please contact customer service if you believe you " +
  "received this message in error.";

function newStats(): EmulatorStats {
  return {
    requests: { vision: 0, checksum: 0, listing: 0, rest: 0, other: 0 },
    statuses: {},
    faults: { errors: 0, resets: 0, truncations: 0, mismatches: 0, partial: 0 },
  };
}

function s3Error(status: number, code: string, message: string): Response {
  return new Response(
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`,
    { status, headers: { "content-type": "application/xml" } },
  );
}

/** Whether the market of a REST path has its endpoint (e.g. spot has no price klines). */
function served([, , api, endpoint]: RegExpExecArray): boolean {
  if (endpoint === "time" || endpoint === "ping" || endpoint === "aggTrades") return true;
  return datasetInfo(endpoint as Dataset).restPaths[MARKET_OF[api]] === `/${api}/${endpoint}`;
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(id);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const id = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}

/**
 * Starts the emulator on 127.0.0.1.
 *
 * @param options Port, seed, clock, catalogue, formats and faults.
 * @returns The running emulator; `await using` closes it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { startEmulator } from "./emulator.ts";
 * await using emu = await startEmulator({ now: Date.UTC(2024, 5, 1) });
 * const res = await fetch(`${emu.url}/api/v3/klines?symbol=BTCUSDT&interval=1d&limit=2`);
 * assert.equal((await res.json()).length, 2);
 * assert.equal(res.headers.get("x-mbx-used-weight-1m"), "2");
 * ```
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const clock = options.now;
  const now = typeof clock === "function" ? clock : clock === undefined ? Date.now : () => clock;
  const data = new MarketData({
    seed: options.seed,
    symbols: options.symbols,
    gaps: options.gaps,
    history: options.history,
    klinesFromTrades: options.klinesFromTrades,
    tradeScale: options.tradeScale,
  });
  // with klinesFromTrades, the trades and the 1m klines read one tape
  const trades = data.klinesFromTrades ? TradeKlineSeries.of(data).tape : new TradeTape(data, {
    seed: options.seed,
    tradeScale: options.tradeScale,
    gaps: options.gaps,
  });
  const files = new VisionFiles(data, {
    trades,
    now,
    publicationLagDays: options.publicationLagDays,
    dataDescriptor: options.dataDescriptor,
    checksumNewline: options.checksumNewline,
    cacheBytes: options.cacheBytes,
  });
  const faults = new Faults(options);
  const limiter = new RateLimiter({
    budgets: {
      spot: options.weightBudget?.spot ?? marketInfo("spot").weightBudget,
      um: options.weightBudget?.um ?? marketInfo("um").weightBudget,
      cm: options.weightBudget?.cm ?? marketInfo("cm").weightBudget,
    },
    now,
    windowMs: options.weightWindowMs,
    banAfter: options.banAfter,
    banMs: options.banMs,
  });
  // fapi's fundingRate also counts requests on its own: 500 per 5 minutes and IP
  const fundingLimiter = new RateLimiter({
    budgets: { spot: Infinity, um: FUNDING_RATE_REQUESTS_PER_5_MIN, cm: Infinity },
    now,
    windowMs: 300_000,
    banAfter: options.banAfter,
    banMs: options.banMs,
  });
  const blocked = new Set<RestHost>(options.blocked451Hosts ?? []);
  if (options.restrict451) {
    REST_HOSTS.filter((h) => h !== "market-data").forEach((h) => blocked.add(h));
  }
  let stats = newStats();
  const shutdown = new AbortController();
  // Streamed bodies (monthly trade zips): faults cut them without reading them whole.
  const streams = new WeakSet<Response>();

  function rest(path: RegExpExecArray, url: URL, request: Request): Response {
    const [, prefix, api, endpoint] = path;
    const market = MARKET_OF[api];
    const host = (prefix ?? "primary") as RestHost;
    const json = { "content-type": "application/json;charset=UTF-8" };
    if (market === "spot" && blocked.has(host)) {
      return new Response(JSON.stringify({ code: 0, msg: MSG_451 }), {
        status: 451,
        headers: json,
      });
    }
    if (endpoint === "ping") return new Response("{}", { headers: json });
    if (endpoint === "time") return new Response(`{"serverTime":${now()}}`, { headers: json });
    const dataset = endpoint as Dataset;
    const unit = request.headers.get("x-mbx-time-unit")?.toUpperCase();
    const answer = endpoint === "aggTrades"
      ? answerAggTrades(market, url.searchParams, {
        tape: trades,
        now: now(),
        microseconds: unit === "MICROSECOND",
      })
      : dataset === "fundingRate"
      ? answerFundingRate(market, url.searchParams, { data, now: now() })
      : answerKlines(market, url.searchParams, { data, now: now(), dataset });
    const own = dataset === "fundingRate" && market === "um"
      ? fundingLimiter.charge(market, 1)
      : undefined;
    const decision = own !== undefined && own.status !== 200
      ? own
      : limiter.charge(market, answer.weight);
    const headers: Record<string, string> = {
      ...json,
      "x-mbx-used-weight-1m": String(limiter.used(market)),
    };
    if (decision.status !== 200) {
      headers["retry-after"] = String(decision.retryAfter);
      const msg = decision === own && decision.status === 429
        ? `Too many requests; current limit is ${FUNDING_RATE_REQUESTS_PER_5_MIN} requests per ` +
          "5 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API."
        : decision.status === 429
        ? "Too much request weight used; current limit is " +
          `${
            limiter.budget(market)
          } request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.`
        : "Way too much request weight used; IP banned until " +
          `${
            now() + decision.retryAfter! * 1000
          }. Please use WebSocket Streams for live updates to avoid bans.`;
      return new Response(JSON.stringify({ code: -1003, msg }), {
        status: decision.status,
        headers,
      });
    }
    return new Response(answer.body, { status: answer.status, headers });
  }

  async function vision(key: string): Promise<Response> {
    const isChecksum = key.endsWith(".CHECKSUM");
    stats.requests[isChecksum ? "checksum" : "vision"]++;
    const zipKey = isChecksum ? key.slice(0, -".CHECKSUM".length) : key;
    const file = files.parse(zipKey);
    if (file === undefined || faults.isMissing(zipKey)) {
      return options.missingStatus === 403
        ? s3Error(403, "AccessDenied", "Access Denied")
        : s3Error(404, "NoSuchKey", "The specified key does not exist.");
    }
    if (files.isStreamed(file)) return await streamed(file, isChecksum, zipKey);
    const keep = faults.keepFraction(zipKey);
    if (keep < 1) stats.faults.partial++;
    const zip = await files.zip(file, keep);
    if (!isChecksum) {
      return new Response(zip.bytes, { headers: { "content-type": "application/zip" } });
    }
    let sha = zip.sha256;
    if (faults.isMismatched(zipKey)) {
      stats.faults.mismatches++;
      sha = sha.slice(0, -1) + (sha.endsWith("0") ? "1" : "0");
    }
    return new Response(files.checksum(file, sha), { headers: { "content-type": "text/plain" } });
  }

  // A monthly trade archive: its zip is generated while it is sent (its
  // digest and size, memoized, come from one earlier streamed pass).
  async function streamed(file: VisionFile, isChecksum: boolean, zipKey: string) {
    const archive = { ...file, dataset: file.dataset as TradeDataset };
    const { sha256, size } = await files.trades.digest(archive);
    if (!isChecksum) {
      const response = new Response(files.trades.stream(archive), {
        headers: { "content-type": "application/zip", "content-length": String(size) },
      });
      streams.add(response);
      return response;
    }
    let sha = sha256;
    if (faults.isMismatched(zipKey)) {
      stats.faults.mismatches++;
      sha = sha.slice(0, -1) + (sha.endsWith("0") ? "1" : "0");
    }
    return new Response(files.checksum(file, sha), { headers: { "content-type": "text/plain" } });
  }

  async function route(url: URL, request: Request): Promise<Response> {
    const restPath = REST_PATH.exec(url.pathname);
    if (restPath !== null && served(restPath)) {
      stats.requests.rest++;
      return rest(restPath, url, request);
    }
    if (url.pathname.startsWith("/data/")) {
      let key: string;
      try {
        key = decodeURIComponent(url.pathname.slice(1));
      } catch {
        return s3Error(400, "InvalidURI", "Couldn't parse the specified URI.");
      }
      return await vision(key);
    }
    if (url.pathname === "/") {
      stats.requests.listing++;
      const q = url.searchParams;
      const xml = listObjects(files, {
        prefix: q.get("prefix") ?? "",
        delimiter: q.get("delimiter") ?? "",
        marker: q.get("marker") ?? "",
        maxKeys: q.has("max-keys") ? Number(q.get("max-keys")) : 1000,
      }, (key) => !faults.isMissing(key));
      return new Response(xml, { headers: { "content-type": "application/xml" } });
    }
    stats.requests.other++;
    return new Response("Not Found", { status: 404 });
  }

  async function handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const drawn = faults.forRequest(url.pathname + url.search);
    await delay(drawn.delayMs, shutdown.signal);
    let response = await route(url, request);
    if (drawn.errorStatus !== 0 && response.status !== 451) {
      stats.faults.errors++;
      await response.body?.cancel();
      response = url.pathname.startsWith("/data/") || url.pathname === "/"
        ? s3Error(
          drawn.errorStatus,
          "InternalError",
          "We encountered an internal error. Please try again.",
        )
        : new Response(
          JSON.stringify({
            code: -1001,
            msg: "Internal error; unable to process your request. Please try again.",
          }),
          {
            status: drawn.errorStatus,
            headers: { "content-type": "application/json;charset=UTF-8" },
          },
        );
    }
    stats.statuses[response.status] = (stats.statuses[response.status] ?? 0) + 1;
    return await cut(response, drawn);
  }

  async function cut(response: Response, drawn: RequestFaults): Promise<Response> {
    if (!drawn.reset && !drawn.truncate) return response;
    if (streams.has(response) && response.body !== null) {
      const length = Number(response.headers.get("content-length"));
      return cutStream(response, response.body, length, drawn.reset);
    }
    const body = new Uint8Array(await response.arrayBuffer());
    const headers = new Headers(response.headers);
    const part = body.subarray(0, Math.floor(body.length / 2));
    if (drawn.reset) {
      stats.faults.resets++;
      headers.set("content-length", String(body.length));
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(part);
          controller.close();
        },
      });
      return new Response(stream, { status: response.status, headers });
    }
    stats.faults.truncations++;
    return new Response(part, { status: response.status, headers });
  }

  // A large streamed body is cut without reading it whole: half its bytes.
  function cutStream(
    response: Response,
    body: ReadableStream<Uint8Array>,
    length: number,
    reset: boolean,
  ): Response {
    stats.faults[reset ? "resets" : "truncations"]++;
    const headers = new Headers(response.headers);
    let left = Math.floor(length / 2);
    headers.set("content-length", String(reset ? length : left));
    const reader = body.getReader();
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { value, done } = await reader.read();
        if (done || left <= 0) {
          await reader.cancel();
          controller.close();
          return;
        }
        const part = value.subarray(0, left);
        left -= part.length;
        controller.enqueue(part);
        if (left <= 0) {
          await reader.cancel();
          controller.close();
        }
      },
      cancel: (reason) => reader.cancel(reason),
    });
    return new Response(stream, { status: response.status, headers });
  }

  const { promise: listening, resolve } = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: options.port ?? 0,
    signal: shutdown.signal,
    onListen: (addr) => resolve(addr as Deno.NetAddr),
  }, handle);
  const addr = await listening;
  const close = async () => {
    shutdown.abort();
    await server.finished;
  };
  return {
    url: `http://127.0.0.1:${addr.port}`,
    get stats() {
      return stats;
    },
    close,
    reset() {
      stats = newStats();
      limiter.reset();
      fundingLimiter.reset();
      faults.reset();
    },
    [Symbol.asyncDispose]: close,
  };
}
