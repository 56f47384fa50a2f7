/**
 * ccxt as an end-to-end contender: the usual `fetchOHLCV` paging loop
 * (`since` = the open time after the last candle, `limit` = 1000, ccxt's
 * maximum for Binance klines), one page after the other, with ccxt's
 * `enableRateLimit` throttle as users leave it (on by default) or off.
 *
 * The exchange's REST URLs point at the emulator. The emulator serves no
 * `exchangeInfo`, so the markets are set with `setMarkets` (one minimal
 * market per exchange): `fetchOHLCV` then makes only `klines` calls.
 *
 * @module
 */
import ccxt from "ccxt";
import type { ContenderJob, RunnerResult } from "./_contender.ts";
import { runnerResult } from "./_runner_result.ts";

type Exchange = InstanceType<typeof ccxt.binance>;
type Ohlcv = number[];

const COMMON = {
  active: true,
  margin: false,
  future: false,
  option: false,
  precision: { amount: 0.00001, price: 0.01 },
  limits: { amount: {}, price: {}, cost: {}, leverage: {} },
  info: {},
};

function spotExchange(): { exchange: Exchange; symbol: string } {
  const exchange = new ccxt.binance();
  exchange.setMarkets([{
    ...COMMON,
    id: "BTCUSDT",
    symbol: "BTC/USDT",
    base: "BTC",
    quote: "USDT",
    baseId: "BTC",
    quoteId: "USDT",
    type: "spot",
    spot: true,
    swap: false,
    contract: false,
  }]);
  return { exchange, symbol: "BTC/USDT" };
}

function umExchange(): { exchange: Exchange; symbol: string } {
  const exchange = new ccxt.binanceusdm();
  exchange.setMarkets([{
    ...COMMON,
    id: "BTCUSDT",
    symbol: "BTC/USDT:USDT",
    base: "BTC",
    quote: "USDT",
    settle: "USDT",
    baseId: "BTC",
    quoteId: "USDT",
    settleId: "USDT",
    type: "swap",
    spot: false,
    swap: true,
    contract: true,
    linear: true,
    inverse: false,
    contractSize: 1,
  }]);
  return { exchange, symbol: "BTC/USDT:USDT" };
}

function cmExchange(): { exchange: Exchange; symbol: string } {
  const exchange = new ccxt.binancecoinm();
  exchange.setMarkets([{
    ...COMMON,
    id: "BTCUSD_PERP",
    symbol: "BTC/USD:BTC",
    base: "BTC",
    quote: "USD",
    settle: "BTC",
    baseId: "BTC",
    quoteId: "USD",
    settleId: "BTC",
    type: "swap",
    spot: false,
    swap: true,
    contract: true,
    linear: false,
    inverse: true,
    contractSize: 100,
  }]);
  return { exchange, symbol: "BTC/USD:BTC" };
}

/**
 * Creates the exchange of a market with its REST URLs on the emulator.
 *
 * @param job Market, emulator URL, rate limit switch.
 * @returns The exchange and the unified symbol.
 */
function exchangeFor(job: ContenderJob): { exchange: Exchange; symbol: string } {
  const made = job.market === "spot"
    ? spotExchange()
    : job.market === "um"
    ? umExchange()
    : cmExchange();
  const api = made.exchange.urls["api"] as Record<string, string>;
  api["public"] = `${job.url}/api/v3`;
  api["fapiPublic"] = `${job.url}/fapi/v1`;
  api["dapiPublic"] = `${job.url}/dapi/v1`;
  made.exchange.enableRateLimit = job.rateLimit;
  return made;
}

/**
 * Pages `fetchOHLCV` over the job's range, sequentially.
 *
 * @param job What to fetch and where.
 * @returns Rows, checksum of closes, and the number of `fetchOHLCV` calls.
 */
export async function runCcxtPaging(job: ContenderJob): Promise<RunnerResult> {
  const { exchange, symbol } = exchangeFor(job);
  const step = exchange.parseTimeframe(job.interval) * 1000;
  const rows: Ohlcv[] = [];
  let requests = 0;
  let since = job.start;
  try {
    while (since < job.end) {
      const page = await exchange.fetchOHLCV(symbol, job.interval, since, 1000) as Ohlcv[];
      requests++;
      if (page.length === 0) break;
      for (const candle of page) if (candle[0] < job.end) rows.push(candle);
      since = page[page.length - 1][0] + step;
    }
  } finally {
    await exchange.close();
  }
  return runnerResult(rows, requests);
}
