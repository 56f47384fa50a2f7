/**
 * Shared fixtures of the cache tests: synthetic partitions on the grid.
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";
import { closeTimeOf, type Interval, nextOpenTime } from "../../src/core/interval.ts";
import { allocKlineColumns, klineBatch } from "../../src/core/schema.ts";
import type { PartitionKey } from "../../src/cache/kline_store.ts";

/** A day or month key of spot BTCUSDT 1m by default. */
export function keyOf(partition: string, overrides: Partial<PartitionKey> = {}): PartitionKey {
  return { market: "spot", symbol: "BTCUSDT", interval: "1m", partition, ...overrides };
}

/** Every candle opening in `[start, end)` on the interval's grid, except those in `skip`. */
export function candles(
  start: number,
  end: number,
  interval: Interval = "1m",
  skip: (t: number) => boolean = () => false,
): RecordBatch {
  const times: number[] = [];
  for (let t = start; t < end; t = nextOpenTime(t, interval)) if (!skip(t)) times.push(t);
  const c = allocKlineColumns(times.length);
  times.forEach((t, i) => {
    c.openTime[i] = t;
    c.closeTime[i] = closeTimeOf(t, interval);
    c.open[i] = 100 + (t % 7_919) / 100;
    c.high[i] = c.open[i] + 1.25;
    c.low[i] = c.open[i] - 0.5;
    c.close[i] = c.open[i] + 0.125;
    c.volume[i] = (t / 60_000) % 1_000;
    c.quoteAssetVolume[i] = c.volume[i] * c.close[i];
    c.count[i] = i;
    c.takerBuyVolume[i] = c.volume[i] / 2;
    c.takerBuyQuoteVolume[i] = c.quoteAssetVolume[i] / 2;
  });
  return klineBatch(c);
}

/** The 1440 one-minute candles of a UTC day. */
export function day(key: string): RecordBatch {
  const start = Date.parse(`${key}T00:00:00Z`);
  return candles(start, start + 86_400_000);
}

/** A temporary folder removed when disposed. */
export async function tempDir(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "dsm_cache_test_" });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  };
}

/** A clock far after every test partition. */
export const LATER = (): number => Date.UTC(2030, 0, 1);
