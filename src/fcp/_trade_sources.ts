/**
 * The sources of a trade fetch, bound to its market, dataset and symbol:
 * the layers' own clients (the Vision client's verified trade archives, the
 * market's REST client for aggTrades, the cache's trade store) behind the
 * narrow functions the run walks.
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";
import { newRestStats, type RestClient } from "../source/rest_client.ts";
import type { VisionClient } from "../source/vision_client.ts";
import type { TradeSeries, TradeStore } from "../cache/fs_trade_store.ts";
import { addRestRequests, type RequestCounts } from "./fetch_report.ts";
import type { TradeSources } from "./trade_fetch.ts";
import type { ResolvedTradeRequest } from "./trade_request.ts";

/** The clients a trade fetch may use (those its `source` allows). */
export interface TradeClients {
  /** Vision's archives. */
  vision?: VisionClient;
  /** REST of the request's market (used for aggTrades only). */
  rest?: RestClient;
  /** The cache's trade days. */
  store?: TradeStore;
  /**
   * A folder for monthly archives while they are read (the cache's root,
   * when writable); without it, days use their daily archives.
   */
  spoolDir?: string;
}

/**
 * Binds the clients to a request.
 *
 * @param request The resolved request.
 * @param clients The clients allowed.
 * @returns The run's sources.
 */
export function tradeSources(request: ResolvedTradeRequest, clients: TradeClients): TradeSources {
  const { market, dataset, symbol } = request;
  const { vision, rest, store, spoolDir } = clients;
  const archive = (period: "daily" | "monthly", date: string, signal: AbortSignal) =>
    vision!.fetchTradeArchive({ market, dataset, symbol, period, date, signal, spoolDir })
      .then((got) =>
        got.status === "ok"
          ? { url: got.url, bytes: got.bytes, sha256: got.sha256, batches: got.rows }
          : undefined
      );
  return {
    ...(store ? { store: storeDays(store, { market, dataset, symbol }) } : {}),
    ...(vision
      ? { vision: (day: string, signal: AbortSignal) => archive("daily", day, signal) }
      : {}),
    ...(vision && spoolDir !== undefined
      ? { visionMonth: (month: string, signal: AbortSignal) => archive("monthly", month, signal) }
      : {}),
    ...(rest && dataset === "aggTrades"
      ? {
        rest: (span, signal, counts) => restDay(rest, symbol, span, signal, counts),
      } satisfies Pick<TradeSources, "rest">
      : {}),
  };
}

/** aggTrades of a span over REST, adding the walk's own requests to `counts` (failed ones too). */
async function* restDay(
  rest: RestClient,
  symbol: string,
  span: { start: number; end: number },
  signal: AbortSignal,
  counts: RequestCounts,
): AsyncGenerator<RecordBatch> {
  const stats = newRestStats();
  try {
    yield* rest.aggTrades({ symbol, start: span.start, end: span.end, signal, stats });
  } finally {
    addRestRequests(counts, {
      visionFiles: 0,
      listingPages: 0,
      restCalls: stats.responses,
      restWeight: stats.responseWeight,
    });
  }
}

/** The store's days of one series, in the run's terms. */
function storeDays(store: TradeStore, series: TradeSeries): NonNullable<TradeSources["store"]> {
  return {
    read: async (day) => {
      const hit = await store.read({ ...series, day });
      if (!hit) return undefined;
      const { source, visionSha256 } = hit.metadata;
      return { batches: hit.batches, source, ...(visionSha256 ? { sha256: visionSha256 } : {}) };
    },
    write: (day, batches, source, sha256) =>
      store.write({ ...series, day }, batches, {
        source,
        ...(sha256 ? { visionSha256: sha256 } : {}),
      }),
  };
}
