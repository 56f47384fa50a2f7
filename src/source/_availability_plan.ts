/**
 * How a series is listed for its availability: its folders per period, the
 * listing of each, and the summary of the dates found. Private to
 * `availability_listing.ts` and the index, which lists series named by the
 * listing itself (any name Vision has) without the checks of a user's symbol.
 *
 * @module
 */
import { type Dataset, datasetInfo } from "../core/dataset.ts";
import { InvalidIntervalError } from "../core/errors.ts";
import {
  hasDailyFiles,
  type Interval,
  parseInterval,
  visionIntervalName,
} from "../core/interval.ts";
import { type Market, marketInfo } from "../core/market.ts";
import { listVisionFolder, type ListVisionOptions } from "./vision_listing.ts";
import type { VisionPeriod } from "./vision_url.ts";
import type { FileHole, PeriodAvailability, SeriesAvailability } from "./availability_listing.ts";

/** A checked series: its periods, and each period's folder and file-name stem. */
export interface SeriesPlan {
  periods: { period: VisionPeriod; prefix: string; stem: string }[];
}

/**
 * The folders of a series without checking the symbol: used for names read
 * from the listing itself (any name Vision has, safe as a key).
 */
export function seriesPlan(
  market: Market,
  dataset: Dataset,
  symbol: string,
  interval: Interval | undefined,
): SeriesPlan {
  const info = datasetInfo(dataset);
  const root = `data/${marketInfo(market).visionPath}`;
  if (info.series === "grid") {
    if (interval === undefined) {
      throw new InvalidIntervalError(interval, `Cannot list ${dataset}: an interval is required`);
    }
    const checked = parseInterval(interval, market);
    const name = visionIntervalName(checked);
    const periods: VisionPeriod[] = hasDailyFiles(checked) ? ["daily", "monthly"] : ["monthly"];
    return {
      periods: periods.map((period) => ({
        period,
        prefix: `${root}/${period}/${dataset}/${symbol}/${name}/`,
        stem: `${symbol}-${name}-`,
      })),
    };
  }
  if (interval !== undefined) {
    throw new InvalidIntervalError(
      interval,
      `Cannot list ${dataset}: it has no intervals (got ${JSON.stringify(interval)})`,
    );
  }
  return {
    periods: info.archivePeriods.map((period) => ({
      period,
      prefix: `${root}/${period}/${dataset}/${symbol}/`,
      stem: `${symbol}-${dataset}-`,
    })),
  };
}

const DAY_MS = 86_400_000;

function nextDate(date: string, period: VisionPeriod): string {
  if (period === "daily") {
    return new Date(Date.parse(`${date}T00:00:00Z`) + DAY_MS).toISOString().slice(0, 10);
  }
  const [y, m] = date.split("-").map(Number);
  return new Date(Date.UTC(y, m, 1)).toISOString().slice(0, 7);
}

function previousDate(date: string, period: VisionPeriod): string {
  if (period === "daily") {
    return new Date(Date.parse(`${date}T00:00:00Z`) - DAY_MS).toISOString().slice(0, 10);
  }
  const [y, m] = date.split("-").map(Number);
  return new Date(Date.UTC(y, m - 2, 1)).toISOString().slice(0, 7);
}

/** First, last, count and holes of a set of dates of one period. */
function summarize(dates: Set<string>, period: VisionPeriod): PeriodAvailability {
  const sorted = [...dates].sort();
  const first = sorted[0];
  const last = sorted.at(-1);
  if (first === undefined || last === undefined) return { count: 0, holes: [] };
  const holes: FileHole[] = [];
  for (let i = 1; i < sorted.length; i++) {
    const expected = nextDate(sorted[i - 1], period);
    if (expected !== sorted[i]) {
      holes.push({ from: expected, to: previousDate(sorted[i], period) });
    }
  }
  return { first, last, count: sorted.length, holes };
}

const DATE_PATTERN: Record<VisionPeriod, RegExp> = {
  daily: /^(\d{4}-\d{2}-\d{2})\.zip(\.CHECKSUM)?$/,
  monthly: /^(\d{4}-\d{2})\.zip(\.CHECKSUM)?$/,
};

/**
 * Lists a series planned by {@linkcode seriesPlan} (periods concurrently).
 *
 * @param plan The series' folders.
 * @param options Listing options.
 * @returns Its availability.
 */
export async function listSeriesPlan(
  plan: SeriesPlan,
  options: ListVisionOptions,
): Promise<SeriesAvailability> {
  const controller = new AbortController();
  const onAbort = () => controller.abort(options.signal!.reason);
  options.signal?.addEventListener("abort", onAbort, { once: true });
  let folders;
  try {
    // The first failure aborts the other period's listing: no request outlives the call.
    folders = await Promise.all(
      plan.periods.map(({ prefix }) =>
        listVisionFolder(prefix, { ...options, signal: controller.signal }).catch((error) => {
          controller.abort(error);
          throw options.signal?.aborted ? options.signal.reason : error;
        })
      ),
    );
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
  }
  const result: SeriesAvailability = {
    daily: { count: 0, holes: [] },
    monthly: { count: 0, holes: [] },
    checksumsMissing: [],
  };
  plan.periods.forEach(({ period, prefix, stem }, p) => {
    const zips = new Set<string>(), sums = new Set<string>();
    for (const key of folders[p].keys) {
      if (!key.startsWith(prefix + stem)) continue;
      const match = DATE_PATTERN[period].exec(key.slice(prefix.length + stem.length));
      if (match) (match[2] ? sums : zips).add(match[1]);
    }
    result[period] = summarize(zips, period);
    for (const date of [...zips].sort()) if (!sums.has(date)) result.checksumsMissing.push(date);
  });
  return result;
}
