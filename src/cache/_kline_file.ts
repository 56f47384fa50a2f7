/**
 * The rules of a kline partition file, wherever it is stored: what may be
 * written (closed, complete, its rows inside it) and how it is encoded,
 * whether a stored file makes a write redundant, and how a file read back is
 * judged (on read, by `verify`, by `stats`).
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";
import {
  decodeKlineIpc,
  decodeKlineIpcMetadata,
  encodeKlineIpc,
  type KlineIpcMetadata,
} from "../codec/kline_ipc.ts";
import { CacheError } from "../core/errors.ts";
import { zeroTotals } from "./_empty_reports.ts";
import { type CheckedKey, keyMismatch } from "./_kline_paths.ts";
import { incompleteness } from "./_partition_check.ts";
import type {
  CachedPartition,
  CacheSeriesStats,
  CacheStats,
  PartitionKey,
  PartitionMeta,
  VerifyOptions,
  VerifyReport,
} from "./kline_store.ts";

/** Whether a stored partition makes a new write redundant or forbidden. */
export function keeps(existing: KlineIpcMetadata | undefined, meta: PartitionMeta): boolean {
  if (existing?.source !== "VISION") return false;
  if (meta.source === "REST") return true;
  return meta.visionSha256 !== undefined && existing.visionSha256 === meta.visionSha256;
}

/** Whether the stored bytes (their footer) make a new write redundant or forbidden. */
export function keepsBytes(existing: Uint8Array, key: CheckedKey, meta: PartitionMeta): boolean {
  try {
    const stored = decodeKlineIpcMetadata(existing);
    return keyMismatch(stored, key) === undefined && keeps(stored, meta);
  } catch {
    return false; // damaged: replaced
  }
}

/** The key without its bounds. */
export function plainKey(key: CheckedKey): PartitionKey {
  const { dataset, market, symbol, interval, partition } = key;
  return { ...(dataset ? { dataset } : {}), market, symbol, interval, partition };
}

/**
 * Checks a partition handed to the cache and encodes its file.
 *
 * @param path Where it goes, for messages.
 * @throws {CacheError} When it is not marked complete, its source is
 *   unknown, it is not closed at `now`, a grid slot is neither a row nor in
 *   a confirmed gap, or it does not encode.
 */
export function encodePartition(
  checked: CheckedKey,
  batches: readonly RecordBatch[],
  meta: PartitionMeta,
  now: number,
  path: string,
): Uint8Array {
  const what = `${checked.market} ${checked.symbol} ${checked.interval} "${checked.partition}"`;
  const refuse = (why: string) => new CacheError(`Cannot cache ${what}: ${why}`, path);
  if (meta.complete !== true) throw refuse("the partition is not marked complete");
  if (meta.source !== "VISION" && meta.source !== "REST") {
    throw refuse(`source "${meta.source}" is not VISION or REST`);
  }
  if (checked.bounds.end > now) {
    throw refuse(`it is not closed until ${new Date(checked.bounds.end).toISOString()}`);
  }
  const gaps = meta.gaps ?? [];
  const incomplete = incompleteness(batches, checked.interval, checked.bounds, gaps);
  if (incomplete !== undefined) throw refuse(incomplete);
  try {
    return encodeKlineIpc(batches, {
      market: checked.market,
      symbol: checked.symbol,
      interval: checked.interval,
      partition: checked.partition,
      source: meta.source,
      visionSha256: meta.visionSha256,
      gaps,
      writtenAt: now,
      anomalies: meta.anomalies,
    });
  } catch (cause) {
    throw refuse(cause instanceof Error ? cause.message : String(cause));
  }
}

/**
 * A whole file read back for a key: the partition, or why it cannot be used.
 *
 * @throws Errors other than `CacheError` (a bug, not a damaged file).
 */
export function decodePartition(
  bytes: Uint8Array,
  key: CheckedKey,
  path: string,
): { partition: CachedPartition } | { reason: string } {
  try {
    const { batches, metadata } = decodeKlineIpc(bytes, { file: path });
    const mismatch = keyMismatch(metadata, key);
    if (mismatch === undefined) {
      return { partition: { key: plainKey(key), batches, metadata, bytes: bytes.length } };
    }
    return { reason: `Cannot use cache file "${path}": ${mismatch}` };
  } catch (err) {
    if (!(err instanceof CacheError)) throw err;
    return { reason: err.message };
  }
}

/**
 * Judges a whole file as `verify` does (structure, key, completeness), and
 * adds what it found to the report: ok, upgradable, stale.
 *
 * @returns Why it is corrupt, or undefined when it is valid.
 */
export async function verifyPartition(
  bytes: Uint8Array,
  key: CheckedKey,
  path: string,
  options: VerifyOptions,
  report: VerifyReport,
): Promise<string | undefined> {
  let metadata: KlineIpcMetadata;
  try {
    const decoded = decodeKlineIpc(bytes, { file: path });
    metadata = decoded.metadata;
    const reason = keyMismatch(metadata, key) ??
      incompleteness(decoded.batches, key.interval, key.bounds, metadata.gaps);
    if (reason !== undefined) return reason;
  } catch (err) {
    if (!(err instanceof CacheError)) throw err;
    return err.message;
  }
  report.ok++;
  if (metadata.source === "REST") report.upgradable.push(plainKey(key));
  const cached = metadata.visionSha256;
  if (cached !== undefined && options.checksumLookup) {
    const current = await options.checksumLookup(plainKey(key), metadata);
    if (current !== undefined && current.toLowerCase() !== cached.toLowerCase()) {
      report.stale.push({ key: plainKey(key), path, cached, current });
    }
  }
  return undefined;
}

/**
 * Adds one file (its footer, or undefined when it could not be read as a
 * file) to the totals of its series and of the cache.
 *
 * @returns The series' totals (new when `series` was undefined).
 */
export function addToStats(
  total: CacheStats,
  series: CacheSeriesStats | undefined,
  key: CheckedKey,
  footer: Uint8Array,
  size: number,
  path: string,
): CacheSeriesStats {
  const { dataset, market, symbol, interval, partition } = key;
  series ??= {
    ...(dataset ? { dataset } : {}),
    market,
    symbol,
    interval,
    ...zeroTotals(),
    first: partition,
    last: partition,
  };
  series.last = partition;
  let rows = 0;
  let rest = 0;
  let unreadable = 0;
  try {
    const meta = decodeKlineIpcMetadata(footer, { file: path });
    if (keyMismatch(meta, key) !== undefined) unreadable = 1;
    else [rows, rest] = [meta.rows, meta.source === "REST" ? 1 : 0];
  } catch {
    unreadable = 1;
  }
  for (const t of [series, total]) {
    t.partitions++;
    t.bytes += size;
    t.rows += rows;
    t.restPartitions += rest;
    t.unreadable += unreadable;
  }
  return series;
}
