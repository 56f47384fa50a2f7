/**
 * The REST aggTrades walk behind `RestClient.aggTrades`: finds the first
 * aggregate trade of `[start, end)` with windows under one hour, then pages
 * by `fromId`, filling batches of bounded size.
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";
import type { Market } from "../core/market.ts";
import {
  aggTradeBatch,
  allocTradeColumns,
  type TradeColumns,
  trimTradeColumns,
} from "../core/trade_batch.ts";
import {
  type AggTradeJsonOptions,
  type AggTradeJsonPage,
  decodeAggTradeJson,
} from "./agg_trade_json.ts";

/** Rows per aggTrades request: the endpoint's maximum `limit` (default 500). */
export const AGG_TRADES_LIMIT = 1000;

/** Widest `startTime`..`endTime` span Binance accepts, exclusive: `endTime - startTime` must be below it (else -1127). */
export const AGG_TRADES_WINDOW_MS = 3_600_000;

/** A walk to run. */
export interface AggTradeWalk {
  /** The market (spot rows carry `M`). */
  market: Market;
  /** The symbol, canonical. */
  symbol: string;
  /** First transact time included, epoch ms. */
  start: number;
  /** Transact time excluded, epoch ms. */
  end: number;
  /** Largest batch handed out, in rows (at least {@linkcode AGG_TRADES_LIMIT}). */
  batchRows: number;
}

/**
 * Sends one request (query without `?`) and decodes its body with `decode`,
 * retried and paced by the caller; counts it as a page.
 */
export type AggTradePageFetch = (
  query: string,
  decode: (body: Uint8Array, url: string) => AggTradeJsonPage,
) => Promise<AggTradeJsonPage>;

/**
 * Runs a walk: windows `[t, t + 1 h - 1 ms]` from `start` until one holds a
 * trade (empty ones move on, up to `end`), then `fromId` = last `a` + 1
 * pages until a row's time reaches `end` or a page is empty. Rows are
 * handed out in batches of at most `batchRows` (a batch is handed out when
 * the next page might not fit); nothing is requested before the consumer
 * asks for the next batch.
 *
 * @param walk Market, symbol, range, batch size.
 * @param fetchPage Sends one request.
 * @returns The batches of `AGG_TRADE_SCHEMA`, in id order.
 */
export async function* walkAggTrades(
  walk: AggTradeWalk,
  fetchPage: AggTradePageFetch,
): AsyncGenerator<RecordBatch, void, undefined> {
  const { market, start, end, batchRows } = walk;
  const symbol = `symbol=${encodeURIComponent(walk.symbol)}`;
  const beforeUs = end * 1000;
  const bestMatch = market === "spot";
  let columns: TradeColumns = allocTradeColumns("aggTrades", batchRows);
  let at = 0;
  let next: number | undefined;
  let last = -1;
  const page = async (query: string, options: AggTradeJsonOptions) => {
    const into = { columns, at };
    const got = await fetchPage(
      `${symbol}&${query}&limit=${AGG_TRADES_LIMIT}`,
      (body, url) => decodeAggTradeJson(body, { ...options, bestMatch, beforeUs, into, url }),
    );
    at += got.kept;
    last = got.lastId;
    return got;
  };
  const full = () => batchRows - at < AGG_TRADES_LIMIT;
  // Find the first trade: one window under an hour at a time.
  for (let t = start; t < end && next === undefined;) {
    const endTime = Math.min(t + AGG_TRADES_WINDOW_MS - 1, end - 1);
    const got = await page(`startTime=${t}&endTime=${endTime}`, { startTime: t, endTime });
    if (got.length > 0) next = got.lastId + 1;
    t = endTime + 1;
  }
  // Then page by id until a row reaches `end` or the history does.
  while (next !== undefined) {
    if (full()) {
      yield aggTradeBatch(columns, at, market);
      columns = allocTradeColumns("aggTrades", batchRows);
      at = 0;
    }
    const got = await page(`fromId=${next}`, { fromId: next, after: last, startTime: start });
    next = got.length > 0 && got.kept === got.length ? got.lastId + 1 : undefined;
  }
  if (at > 0) yield aggTradeBatch(trimTradeColumns(columns, at, "aggTrades"), at, market);
}
