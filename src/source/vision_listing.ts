/**
 * The S3 ListObjects (v1) client behind Binance Vision: which daily and
 * monthly archives of a series exist, before anything is downloaded.
 *
 * @module
 */
import { HttpError, NetworkError, ResponseTooLargeError } from "../core/errors.ts";
import { hasDailyFiles, parseInterval, visionIntervalName } from "../core/interval.ts";
import { VISION_LISTING_URL } from "../core/market.ts";
import { fetchOnce, type HostCircuitBreaker, type RetryOptions, withRetry } from "./http.ts";
import { visionListingPrefix, type VisionPeriod, type VisionSeries } from "./vision_url.ts";
import { type ListBucketPage, parseListBucketResult } from "./_s3_xml.ts";
import { readBody } from "./_read_body.ts";

export { type ListBucketPage, parseListBucketResult } from "./_s3_xml.ts";

/** What Vision holds for one series, from {@linkcode listVisionFiles}. */
export interface VisionListing {
  /** Days (`YYYY-MM-DD`) with a daily `.zip`. */
  daily: Set<string>;
  /** Months (`YYYY-MM`) with a monthly `.zip`. */
  monthly: Set<string>;
  /** Days with a daily `.zip.CHECKSUM` (a zip without one is not yet published). */
  dailyChecksums: Set<string>;
  /** Months with a monthly `.zip.CHECKSUM`. */
  monthlyChecksums: Set<string>;
  /**
   * The first day covered by a zip, if any: the first daily file, or the 1st
   * of the first monthly file's month when that month is earlier.
   */
  first?: string;
  /**
   * The last day covered by a zip, if any: the last daily file, or the last
   * day of the last monthly file's month when that month is later.
   */
  last?: string;
}

/** Options of {@linkcode listVisionFiles}. */
export interface ListVisionOptions {
  /**
   * Base URL of the bucket listing.
   * @default {VISION_LISTING_URL}
   */
  listingUrl?: string;
  /**
   * The fetch implementation.
   * @default {globalThis.fetch}
   */
  fetch?: typeof fetch;
  /**
   * Time allowed per page request until its headers arrive, and again for
   * its whole body, in ms. A page body is also capped at 2 MiB (a page holds
   * at most 1000 keys of about 400 bytes of XML each): a larger one fails
   * with `ResponseTooLargeError`.
   * @default {30000}
   */
  timeoutMs?: number;
  /**
   * Pages read per prefix at most: a listing still truncated after them fails
   * with `ResponseTooLargeError`. A daily series holds two keys a day, 1000
   * keys a page: a century of days is 74 pages.
   * @default {100}
   */
  maxPages?: number;
  /** Retry policy per page (5xx, resets, truncated or malformed XML). */
  retry?: RetryOptions;
  /** Cancels the listing; the promise then rejects with `signal.reason`. */
  signal?: AbortSignal;
  /**
   * First day of interest, `YYYY-MM-DD`: listing starts there (an S3
   * `marker`), so older files cost no pages. `first` then describes the
   * listed span only.
   */
  from?: string;
  /**
   * Last day of interest, `YYYY-MM-DD`: paging stops past it. `last` then
   * describes the listed span only.
   */
  to?: string;
  /**
   * Stops requests to a host whose connections keep failing.
   * @default {undefined (no circuit breaker)}
   */
  breaker?: HostCircuitBreaker;
  /** Called for each listing page received (retries of a page included). */
  onPage?: () => void;
}

function pageUrl(base: string, prefix: string, marker: string | undefined): string {
  const enc = (s: string) => encodeURIComponent(s).replaceAll("%2F", "/");
  const url = `${base.replace(/\/+$/, "")}/?delimiter=/&prefix=${enc(prefix)}`;
  return marker === undefined ? url : `${url}&marker=${enc(marker)}`;
}

/** The largest listing page body accepted: 1000 keys of about 400 bytes of XML, twice over. */
const MAX_PAGE_BYTES = 2 * 1024 * 1024;

async function fetchPage(url: string, options: ListVisionOptions): Promise<ListBucketPage> {
  const response = await fetchOnce(url, options);
  options.onPage?.();
  if (!response.ok) {
    await response.body?.cancel();
    throw new HttpError(response.status, url);
  }
  const bytes = await readBody(response, url, {
    timeoutMs: options.timeoutMs ?? 30_000,
    maxBytes: MAX_PAGE_BYTES,
    signal: options.signal,
  });
  return parseListBucketResult(new TextDecoder().decode(bytes), url);
}

/** Keys from `first` (exclusive marker) until past `last`, for one series prefix. */
interface KeySpan {
  first?: string;
  last?: string;
}

const DAY_TEXT = /^\d{4}-\d{2}-\d{2}$/;

function keySpan(
  prefix: string,
  stem: string,
  period: VisionPeriod,
  options: ListVisionOptions,
): KeySpan {
  const date = (day: string | undefined, name: string) => {
    if (day === undefined) return undefined;
    if (!DAY_TEXT.test(day)) {
      throw new TypeError(
        `Cannot list Vision files: ${name} ${JSON.stringify(day)} is not YYYY-MM-DD`,
      );
    }
    return period === "daily" ? day : day.slice(0, 7);
  };
  const from = date(options.from, "from");
  const to = date(options.to, "to");
  return {
    first: from === undefined ? undefined : `${prefix}${stem}${from}`,
    last: to === undefined ? undefined : `${prefix}${stem}${to}.zip.CHECKSUM`,
  };
}

/** Every key under `prefix`, following `NextMarker` (or the last key) across pages. */
async function listKeys(
  prefix: string,
  options: ListVisionOptions,
  span: KeySpan = {},
  prefixes?: string[],
): Promise<string[]> {
  const base = options.listingUrl ?? VISION_LISTING_URL;
  const keys: string[] = [];
  const maxPages = options.maxPages ?? 100;
  let marker: string | undefined = span.first;
  for (let pages = 0;; pages++) {
    const url = pageUrl(base, prefix, marker);
    if (pages >= maxPages) throw new ResponseTooLargeError(url, maxPages, "pages");
    const page = await withRetry(() => fetchPage(url, options), options);
    keys.push(...page.keys);
    prefixes?.push(...page.prefixes);
    if (!page.isTruncated) return keys;
    const newest = page.keys.at(-1);
    if (span.last !== undefined && newest !== undefined && newest > span.last) return keys;
    const last = [page.keys.at(-1), page.prefixes.at(-1)].filter((k) => k !== undefined).sort()
      .at(-1);
    const next = page.nextMarker ?? last;
    if (next === undefined || (marker !== undefined && next <= marker)) {
      throw new NetworkError(url, `Cannot list ${url}: a truncated page gives no marker to go on`);
    }
    marker = next;
  }
}

function lastDayOf(month: string): string {
  const [y, m] = month.split("-").map(Number);
  return new Date(Date.UTC(y, m, 0)).toISOString().slice(0, 10);
}

/**
 * Lists which daily and monthly archives of a series exist on Vision (the
 * daily and monthly prefixes concurrently, every page of each), with the
 * first and last day they cover. Intervals with monthly files only (3d, 1w,
 * 1M) skip the daily listing. Keys that are not the series' archives or
 * checksums are ignored.
 *
 * @param series Market, symbol and interval.
 * @param options Listing URL, fetch, timeout, retry policy, signal.
 * @returns The dates with a zip, the dates with a checksum, first and last day.
 * @throws {InvalidMarketError | InvalidSymbolError | InvalidIntervalError} On misuse, before any I/O.
 * @throws {HttpError} On a non-retryable status or retries exhausted on 5xx.
 * @throws {NetworkError} On resets, time-outs or malformed XML after the retries.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { listVisionFiles } from "./vision_listing.ts";
 * const xml = (keys: string[]) =>
 *   `<ListBucketResult><IsTruncated>false</IsTruncated>${
 *     keys.map((k) => `<Contents><Key>${k}</Key></Contents>`).join("")
 *   }</ListBucketResult>`;
 * const fake: typeof fetch = (input) => {
 *   const prefix = new URL(String(input)).searchParams.get("prefix")!;
 *   const name = prefix.includes("/daily/") ? "BTCUSDT-1d-2024-02-01.zip" : "BTCUSDT-1d-2024-01.zip";
 *   return Promise.resolve(new Response(xml([prefix + name, prefix + name + ".CHECKSUM"])));
 * };
 * const listing = await listVisionFiles(
 *   { market: "spot", symbol: "BTCUSDT", interval: "1d" },
 *   { listingUrl: "http://127.0.0.1:1", fetch: fake },
 * );
 * assert.deepEqual([...listing.daily], ["2024-02-01"]);
 * assert.deepEqual([...listing.monthly], ["2024-01"]);
 * assert.equal(listing.first, "2024-01-01");
 * assert.equal(listing.last, "2024-02-01");
 * ```
 */
export async function listVisionFiles(
  series: VisionSeries,
  options: ListVisionOptions = {},
): Promise<VisionListing> {
  const interval = parseInterval(series.interval, series.market);
  const periods: VisionPeriod[] = hasDailyFiles(interval) ? ["daily", "monthly"] : ["monthly"];
  const prefixes = periods.map((period) => visionListingPrefix(series, period));
  const stem = `${series.symbol}-${visionIntervalName(interval)}-`;
  const spans = periods.map((period, i) => keySpan(prefixes[i], stem, period, options));
  options.signal?.throwIfAborted();
  const controller = new AbortController();
  const onAbort = () => controller.abort(options.signal!.reason);
  options.signal?.addEventListener("abort", onAbort, { once: true });
  const inner = { ...options, signal: controller.signal };
  let results: PromiseSettledResult<string[]>[];
  try {
    // On the first failure the other listing is aborted, so no request outlives the call.
    results = await Promise.allSettled(
      prefixes.map((prefix, i) =>
        listKeys(prefix, inner, spans[i])
          .catch((error) => {
            controller.abort(error);
            throw error;
          })
      ),
    );
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
  }
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw options.signal?.aborted ? options.signal.reason : failed.reason;
  const listing: VisionListing = {
    daily: new Set(),
    monthly: new Set(),
    dailyChecksums: new Set(),
    monthlyChecksums: new Set(),
  };
  periods.forEach((period, p) => {
    const pattern = period === "daily"
      ? /^(\d{4}-\d{2}-\d{2})\.zip(\.CHECKSUM)?$/
      : /^(\d{4}-\d{2})\.zip(\.CHECKSUM)?$/;
    const [zips, sums] = period === "daily"
      ? [listing.daily, listing.dailyChecksums]
      : [listing.monthly, listing.monthlyChecksums];
    for (const key of (results[p] as PromiseFulfilledResult<string[]>).value) {
      if (!key.startsWith(prefixes[p] + stem)) continue;
      const match = pattern.exec(key.slice(prefixes[p].length + stem.length));
      if (match) (match[2] ? sums : zips).add(match[1]);
    }
  });
  const days = [...listing.daily].sort();
  const months = [...listing.monthly].sort();
  // A daily file in the first (last) listed month is more precise than the month.
  const firstDay = days[0],
    firstMonth = months[0],
    lastDay = days.at(-1),
    lastMonth = months.at(-1);
  listing.first = firstMonth !== undefined && !(firstDay && firstDay.slice(0, 7) <= firstMonth)
    ? `${firstMonth}-01`
    : firstDay;
  listing.last = lastMonth !== undefined && !(lastDay && lastDay.slice(0, 7) >= lastMonth)
    ? lastDayOf(lastMonth)
    : lastDay;
  if (listing.first === undefined) delete listing.first;
  if (listing.last === undefined) delete listing.last;
  return listing;
}

/** What one folder of the bucket holds, from {@linkcode listVisionFolder}. */
export interface VisionFolder {
  /** The keys directly in the folder (files), in order. */
  keys: string[];
  /** The folders directly in it (`CommonPrefixes`, each ending in `/`), in order. */
  prefixes: string[];
}

/**
 * Lists one folder of the Vision bucket with `delimiter=/`: its files and its
 * sub-folders, every page (marker paging), e.g. the symbol folders of
 * `data/futures/um/daily/klines/`.
 *
 * @param prefix The folder, ending in `/` (e.g. `data/spot/monthly/fundingRate/`).
 * @param options Listing URL, fetch, timeout, page limit, retry policy, signal, `onPage`
 *   (`from`/`to` are ignored).
 * @returns Its keys and common prefixes, in order.
 * @throws {TypeError} When `prefix` is empty or does not end in `/`, before any I/O.
 * @throws {HttpError} On a non-retryable status or retries exhausted on 5xx.
 * @throws {NetworkError} On resets, time-outs or malformed XML after the retries.
 * @throws {ResponseTooLargeError} When the folder is still truncated after `maxPages` pages.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { listVisionFolder } from "./vision_listing.ts";
 * const fake: typeof fetch = (input) => {
 *   const prefix = new URL(String(input)).searchParams.get("prefix")!;
 *   return Promise.resolve(new Response(
 *     `<ListBucketResult><IsTruncated>false</IsTruncated>` +
 *       `<CommonPrefixes><Prefix>${prefix}BTCUSDT/</Prefix></CommonPrefixes></ListBucketResult>`,
 *   ));
 * };
 * const folder = await listVisionFolder("data/spot/daily/klines/", {
 *   listingUrl: "http://127.0.0.1:1",
 *   fetch: fake,
 * });
 * assert.deepEqual(folder, { keys: [], prefixes: ["data/spot/daily/klines/BTCUSDT/"] });
 * ```
 */
export async function listVisionFolder(
  prefix: string,
  options: ListVisionOptions = {},
): Promise<VisionFolder> {
  if (typeof prefix !== "string" || !prefix.endsWith("/")) {
    throw new TypeError(
      `Cannot list a Vision folder: prefix ${JSON.stringify(prefix)} does not end in "/"`,
    );
  }
  options.signal?.throwIfAborted();
  const prefixes: string[] = [];
  const keys = await listKeys(prefix, options, {}, prefixes);
  return { keys, prefixes };
}
