/**
 * End-to-end Vision decode throughput: zip bytes → Arrow, on synthetic spot
 * files in the exact Binance format (a 1m month of 44,640 rows in ms, a 1s
 * day of 86,400 rows in µs). Compared in the same run against a naive
 * TextDecoder + split + parseFloat parser and nodejs-polars `readCSV`.
 *
 * Run: `deno run -A bench/vision_decode_bench.ts [repetitions]`
 *
 * @module
 */

/** Shape of a synthetic kline file. */
export interface SyntheticOptions {
  /** First open time, epoch ms. */
  start: number;
  /** Number of rows. */
  rows: number;
  /** Interval length in ms. */
  intervalMs: number;
  /** Write timestamps in µs (spot from 2025 on). */
  micros: boolean;
  /** PRNG seed. @default 1 */
  seed?: number;
}

/**
 * Deterministic spot klines as CSV bytes: a random-walk price with two
 * significant decimals and 8 printed, volumes in lots of 0.00001.
 */
export function syntheticKlineCsv(options: SyntheticOptions): Uint8Array {
  let state = options.seed ?? 1;
  const random = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const cents = (x: number) => Math.round(x * 100);
  const unit = options.micros ? 1000 : 1;
  const tail = options.micros ? 999 : 0;
  let price = 4_228_358; // cents
  const lines: string[] = [];
  for (let i = 0; i < options.rows; i++) {
    const open = price;
    const close = Math.max(100, open + cents((random() - 0.5) * 40));
    const high = Math.max(open, close) + cents(random() * 10);
    const low = Math.min(open, close) - cents(random() * 10);
    price = close;
    const lots = 1 + Math.floor(random() * 20_000_000); // 0.00001 BTC
    const buyLots = Math.floor(lots * random());
    const avg = (open + close) / 2; // cents
    const quote = Math.round(lots * avg * 10) / 1e8; // lots * 1e-5 * avg * 1e-2, 8 decimals
    const buyQuote = Math.round(buyLots * avg * 10) / 1e8;
    const openTime = options.start + i * options.intervalMs;
    lines.push(
      `${openTime * unit},${(open / 100).toFixed(8)},${(high / 100).toFixed(8)},` +
        `${(low / 100).toFixed(8)},${(close / 100).toFixed(8)},${(lots / 1e5).toFixed(8)},` +
        `${(openTime + options.intervalMs - 1) * unit + tail},${quote.toFixed(8)},` +
        `${1 + Math.floor(random() * 5000)},${(buyLots / 1e5).toFixed(8)},` +
        `${buyQuote.toFixed(8)},0\n`,
    );
  }
  return new TextEncoder().encode(lines.join(""));
}

/** Float64 columns of the naive parser (the same layout as `KlineColumns`). */
export interface NaiveColumns {
  openTime: Float64Array;
  open: Float64Array;
  close: Float64Array;
  volume: Float64Array;
  quoteAssetVolume: Float64Array;
  count: Float64Array;
}

/** The baseline: TextDecoder, split on lines and commas, parseFloat per field. */
export function naiveParse(bytes: Uint8Array): NaiveColumns {
  const lines = new TextDecoder().decode(bytes).split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  const n = lines.length;
  const cols = {
    openTime: new Float64Array(n),
    open: new Float64Array(n),
    high: new Float64Array(n),
    low: new Float64Array(n),
    close: new Float64Array(n),
    volume: new Float64Array(n),
    closeTime: new Float64Array(n),
    quoteAssetVolume: new Float64Array(n),
    count: new Float64Array(n),
    takerBuyVolume: new Float64Array(n),
    takerBuyQuoteVolume: new Float64Array(n),
  };
  for (let i = 0; i < n; i++) {
    const f = lines[i].split(",");
    const t = parseFloat(f[0]);
    cols.openTime[i] = t > 1e14 ? Math.floor(t / 1000) : t;
    cols.open[i] = parseFloat(f[1]);
    cols.high[i] = parseFloat(f[2]);
    cols.low[i] = parseFloat(f[3]);
    cols.close[i] = parseFloat(f[4]);
    cols.volume[i] = parseFloat(f[5]);
    const c = parseFloat(f[6]);
    cols.closeTime[i] = c > 1e14 ? Math.floor(c / 1000) : c;
    cols.quoteAssetVolume[i] = parseFloat(f[7]);
    cols.count[i] = parseFloat(f[8]);
    cols.takerBuyVolume[i] = parseFloat(f[9]);
    cols.takerBuyQuoteVolume[i] = parseFloat(f[10]);
  }
  return cols;
}
