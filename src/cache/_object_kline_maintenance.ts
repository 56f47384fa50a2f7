/**
 * Maintenance of the kline partitions in an object store: the walk (one
 * paged LIST per dataset and market, narrowed to a symbol and interval when
 * the filter names them), list, stats, verify and clear. Objects are read a
 * few at a time, in order (the store bounds the requests in flight).
 *
 * @module
 */
import { emptyStats, emptyVerifyReport } from "./_empty_reports.ts";
import { addToStats, plainKey, verifyPartition } from "./_kline_file.ts";
import {
  type CheckedFilter,
  type CheckedKey,
  checkFilter,
  FILE_PATTERN,
  filterDatasets,
  inRange,
  intervalFolder,
  intervalOfFolder,
  symbolFolder,
  symbolOfFolder,
  validKey,
} from "./_kline_paths.ts";
import { type ObjectCacheFiles, QUARANTINE } from "./_object_cache_files.ts";
import type { ObjectStore } from "./object_store.ts";
import { datasetField, datasetInfo } from "../core/dataset.ts";
import { MARKETS } from "../core/market.ts";
import type {
  CacheEntry,
  CacheFilter,
  CacheSeriesStats,
  CacheStats,
  VerifyOptions,
  VerifyReport,
} from "./kline_store.ts";

/** The store, its files and clock. */
export interface ObjectMaintenance {
  /** The store (for listings). */
  store: ObjectStore;
  /** Its files (reads, set-aside, deletes). */
  files: ObjectCacheFiles;
  /** Now, epoch ms. */
  now: number;
}

/** A selected partition object. */
interface Found {
  key: CheckedKey;
  /** Its object key. */
  object: string;
  bytes: number;
}

/** Objects read at once by stats and verify. */
const BATCH = 16;

/** The prefixes a filter lists, one per dataset and market. */
function* prefixes(f: CheckedFilter): Generator<{ prefix: string; base: string }> {
  for (const dataset of filterDatasets(f)) {
    for (const market of f.market ? [f.market] : MARKETS) {
      if (!datasetInfo(dataset).markets.includes(market)) continue;
      const base = `v1/binance/${market}/${dataset}/`;
      let prefix = base;
      if (f.symbol !== undefined) {
        prefix += `${symbolFolder(f.symbol)}/`;
        if (f.interval !== undefined) prefix += `${intervalFolder(f.interval)}/`;
      }
      yield { prefix, base };
    }
  }
}

/** The selected partition a key names under a dataset's base, or undefined. */
function parse(base: string, key: string, name: string, f: CheckedFilter) {
  const [sym, int, file, more] = key.slice(base.length).split("/");
  const partition = FILE_PATTERN.exec(name)?.[1];
  const symbol = sym === undefined ? undefined : symbolOfFolder(sym);
  const interval = int === undefined ? undefined : intervalOfFolder(int);
  if (more !== undefined || file === undefined || !partition || !symbol || !interval) return;
  if (f.interval !== undefined && f.interval !== interval) return;
  const [, , market, dataset] = base.split("/");
  const checked = validKey({
    ...datasetField(dataset as never),
    market: market as never,
    symbol,
    interval,
    partition,
  });
  return checked && inRange(checked, f) ? checked : undefined;
}

/** The selected partition objects, in key order (series by series). */
async function walk(m: ObjectMaintenance, f: CheckedFilter): Promise<Found[]> {
  const out: Found[] = [];
  for (const { prefix, base } of prefixes(f)) {
    for await (const { key, size } of m.store.list(prefix)) {
      const name = key.slice(key.lastIndexOf("/") + 1);
      const checked = parse(base, key, name, f);
      if (checked) out.push({ key: checked, object: key, bytes: size });
    }
  }
  return out;
}

/** Reads the objects a few at a time, and hands them over in order. */
async function* readInOrder(m: ObjectMaintenance, found: Found[], signal?: AbortSignal) {
  for (let i = 0; i < found.length; i += BATCH) {
    signal?.throwIfAborted();
    const batch = found.slice(i, i + BATCH);
    const reads = await Promise.all(batch.map((x) => m.files.read(x.object)));
    for (let j = 0; j < batch.length; j++) yield { ...batch[j], read: reads[j] };
  }
}

/** The series id of a key, to group objects. */
function seriesOf(k: CheckedKey): string {
  return `${k.dataset ?? "klines"}/${k.market}/${k.symbol}/${k.interval}`;
}

/** Lists partition objects. */
export async function listObjects(
  m: ObjectMaintenance,
  filter: CacheFilter | undefined,
): Promise<CacheEntry[]> {
  const found = await walk(m, checkFilter(filter));
  return found.map((x) => ({ key: plainKey(x.key), path: m.files.name(x.object), bytes: x.bytes }));
}

/** Totals per series from each object's metadata. */
export async function statsOfObjects(
  m: ObjectMaintenance,
  filter: CacheFilter | undefined,
): Promise<CacheStats> {
  const total = emptyStats();
  let series: CacheSeriesStats | undefined;
  let id = "";
  for await (const x of readInOrder(m, await walk(m, checkFilter(filter)))) {
    if (x.read === undefined) continue; // deleted since the listing
    if (seriesOf(x.key) !== id) {
      if (series) total.series.push(series);
      [series, id] = [undefined, seriesOf(x.key)];
    }
    series = addToStats(total, series, x.key, x.read.bytes, x.read.size, m.files.name(x.object));
  }
  if (series) total.series.push(series);
  return total;
}

/** Re-reads and validates every selected object. */
export async function verifyObjects(
  m: ObjectMaintenance,
  options: VerifyOptions,
): Promise<VerifyReport> {
  const report = emptyVerifyReport();
  const found = await walk(m, checkFilter(options.filter));
  for await (const x of readInOrder(m, found, options.signal)) {
    if (x.read === undefined) continue;
    report.checked++;
    const path = m.files.name(x.object);
    const reason = await verifyPartition(x.read.bytes, x.key, path, options, report);
    if (reason === undefined) continue;
    const movedTo = options.quarantine && m.files.writable
      ? await m.files.setAside(x.object, x.read, m.now).catch(() => undefined)
      : undefined;
    report.corrupt.push({ key: plainKey(x.key), path, reason, movedTo });
  }
  return report;
}

/** Deletes the selected partition objects and their quarantined copies. */
export async function clearObjects(
  m: ObjectMaintenance,
  filter: CacheFilter | undefined,
): Promise<number> {
  const f = checkFilter(filter);
  if (!m.files.writable) return 0;
  const found = await walk(m, f);
  for (let i = 0; i < found.length; i += BATCH) {
    await Promise.all(found.slice(i, i + BATCH).map((x) => m.files.remove(x.object)));
  }
  for (const { prefix, base } of prefixes(f)) {
    for await (const { key } of m.store.list(`${QUARANTINE}${prefix}`)) {
      const name = /^(.+\.arrow)\.\d+$/.exec(key.slice(key.lastIndexOf("/") + 1))?.[1];
      const original = key.slice(QUARANTINE.length);
      if (name && parse(base, original, name, f)) await m.files.remove(key).catch(() => {});
    }
  }
  return found.length;
}
