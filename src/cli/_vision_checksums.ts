/**
 * Vision's current `.CHECKSUM` of the archive a cached partition came from,
 * for `dsm cache verify --vision-url`: the lookup behind
 * `KlineStore.verify({ checksumLookup })`.
 *
 * A cached file records the SHA-256 of its archive but not whether that was
 * the monthly or the daily file: a day partition is matched against the
 * month's archive first (one request per month), then against the day's.
 * A 1s partition is only ever fetched from its daily archive, so only the
 * day's CHECKSUM is asked for.
 *
 * @module
 */
import type { KlineIpcMetadata, PartitionKey } from "../cache/kline_store.ts";
import { parseChecksumFile } from "../codec/checksum.ts";
import { hasDailyFiles } from "../core/interval.ts";
import { visionFile, type VisionPeriod } from "../source/vision_url.ts";

/** Counters of the lookups done. */
export interface ChecksumLookupCounts {
  /** `.CHECKSUM` files fetched and read (successes only). */
  fetched: number;
  /** Partitions whose archives Vision no longer publishes (404 or 403). */
  missing: number;
  /** Lookups that failed (network, other statuses, malformed files), with the reason. */
  failed: { partition: string; reason: string }[];
}

/** A checksum lookup and its counters. */
export interface VisionChecksums {
  /** The lookup to hand to `verify`. */
  lookup: (key: PartitionKey, cached: KlineIpcMetadata) => Promise<string | undefined>;
  /** What it did so far. */
  counts: ChecksumLookupCounts;
}

/**
 * Builds the lookup against a Vision base URL.
 *
 * @param baseUrl Vision base URL.
 * @param options Fetch implementation, signal and per-request timeout.
 * @returns The lookup and its counters.
 */
export function visionChecksums(
  baseUrl: string,
  options: { fetch?: typeof fetch; signal?: AbortSignal; timeoutMs?: number } = {},
): VisionChecksums {
  const doFetch = options.fetch ?? fetch;
  const counts: ChecksumLookupCounts = { fetched: 0, missing: 0, failed: [] };
  const memo = new Map<string, Promise<string | undefined>>();

  async function get(key: PartitionKey, period: VisionPeriod, date: string) {
    const file = visionFile(baseUrl, { ...key, period, date });
    const signals = [AbortSignal.timeout(options.timeoutMs ?? 30_000)];
    if (options.signal) signals.push(options.signal);
    const res = await doFetch(file.checksumUrl, { signal: AbortSignal.any(signals) });
    if (res.status === 404 || res.status === 403) {
      await res.body?.cancel();
      return undefined;
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`Cannot fetch "${file.checksumUrl}": HTTP ${res.status}`);
    }
    const sha256 = parseChecksumFile(await res.text(), file.zipName);
    counts.fetched++;
    return sha256;
  }

  function memoized(key: PartitionKey, period: VisionPeriod, date: string) {
    const id = `${
      key.dataset ?? "klines"
    }/${key.market}/${key.symbol}/${key.interval}/${period}/${date}`;
    let hit = memo.get(id);
    if (hit === undefined) {
      hit = get(key, period, date);
      hit.catch(() => {});
      // Only the monthly answers are shared (by every day of the month).
      if (period === "monthly") memo.set(id, hit);
    }
    return hit;
  }

  async function lookup(key: PartitionKey, cached: KlineIpcMetadata) {
    const want = cached.visionSha256?.toLowerCase();
    try {
      if (key.interval === "1s") {
        const daily = await memoized(key, "daily", key.partition);
        if (daily === undefined) counts.missing++;
        return daily;
      }
      const monthly = await memoized(key, "monthly", key.partition.slice(0, 7));
      if (monthly === want || !hasDailyFiles(key.interval) || key.partition.length !== 10) {
        if (monthly === undefined) counts.missing++;
        return monthly;
      }
      const daily = await memoized(key, "daily", key.partition);
      if (daily === undefined && monthly === undefined) counts.missing++;
      return daily === want ? daily : daily ?? monthly;
    } catch (error) {
      options.signal?.throwIfAborted();
      const reason = error instanceof Error ? error.message : String(error);
      counts.failed.push({ partition: describe(key), reason });
      return undefined;
    }
  }

  return { lookup, counts };
}

function describe(key: PartitionKey): string {
  const dataset = key.dataset ? `${key.dataset} ` : "";
  return `${dataset}${key.market} ${key.symbol} ${key.interval} ${key.partition}`;
}
