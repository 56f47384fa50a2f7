/**
 * A scripted Vision port for the one engine test that is not at the public
 * seam: it records its calls and answers from a table of files or a failure.
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";
import { type Interval, nextOpenTime } from "../../src/core/interval.ts";
import type { Market } from "../../src/core/market.ts";
import { allocKlineColumns, klineBatch } from "../../src/core/schema.ts";
import type { VisionFile, VisionInventory, VisionPort } from "../../src/fcp/source_ports.ts";

/** The candle values a stub serves for an open time: a pure function of it. */
export function valueOf(t: number): number {
  return (t / 60_000) % 100_000 + 0.5;
}

/** A batch of well-formed candles at the given open times. */
export function candles(times: readonly number[], interval: Interval): RecordBatch {
  const c = allocKlineColumns(times.length);
  times.forEach((t, i) => {
    const v = valueOf(t);
    c.openTime[i] = t;
    c.closeTime[i] = nextOpenTime(t, interval) - 1;
    c.open[i] = v;
    c.high[i] = v + 1;
    c.low[i] = v - 1;
    c.close[i] = v;
    c.volume[i] = 2;
    c.quoteAssetVolume[i] = 2 * v;
    c.count[i] = 3;
    c.takerBuyVolume[i] = 1;
    c.takerBuyQuoteVolume[i] = v;
  });
  return klineBatch(c, times.length);
}

/** Every grid open time in `[start, end)` except those `skip` rejects. */
export function grid(
  start: number,
  end: number,
  interval: Interval,
  skip: (t: number) => boolean = () => false,
): number[] {
  const out: number[] = [];
  for (let t = start; t < end; t = nextOpenTime(t, interval)) if (!skip(t)) out.push(t);
  return out;
}

/** What a stub Vision file answers. */
export type FileAnswer =
  | number[]
  | "missing"
  | Error
  | ((signal: AbortSignal) => Promise<VisionFile>);

/** A scripted Vision. Unscripted files are missing. */
export class StubVision implements VisionPort {
  /** Calls in order: `inventory`, `daily YYYY-MM-DD`, `monthly YYYY-MM`. */
  readonly calls: string[] = [];
  readonly #inventory: VisionInventory | undefined | Error;
  readonly #files: Record<string, FileAnswer>;

  /**
   * @param files Answers by `daily YYYY-MM-DD` / `monthly YYYY-MM`: open times, missing, failure.
   * @param inventory The listing (derived from `files` when absent), or a failure.
   */
  constructor(files: Record<string, FileAnswer>, inventory?: VisionInventory | null | Error) {
    this.#files = files;
    if (inventory === undefined) {
      const daily = new Set<string>(), monthly = new Set<string>();
      for (const [key, answer] of Object.entries(files)) {
        if (answer === "missing") continue;
        const [period, date] = key.split(" ");
        (period === "daily" ? daily : monthly).add(date);
      }
      this.#inventory = { daily, monthly };
    } else this.#inventory = inventory ?? undefined;
  }

  inventory(
    _series: { market: Market; symbol: string; interval: Interval; from: string; to: string },
    _signal: AbortSignal,
  ): Promise<VisionInventory | undefined> {
    this.calls.push("inventory");
    if (this.#inventory instanceof Error) return Promise.resolve(undefined);
    return Promise.resolve(this.#inventory);
  }

  file(
    file: { interval: Interval; period: "daily" | "monthly"; date: string },
    signal: AbortSignal,
  ): Promise<VisionFile> {
    const key = `${file.period} ${file.date}`;
    this.calls.push(key);
    const answer = this.#files[key] ?? "missing";
    if (answer === "missing") return Promise.resolve({ status: "missing" });
    if (answer instanceof Error) return Promise.reject(answer);
    if (typeof answer === "function") return answer(signal);
    return Promise.resolve({
      status: "ok",
      batches: [candles(answer, file.interval)],
      bytes: 100,
      sha256: `sha-${file.date}`,
    });
  }
}
