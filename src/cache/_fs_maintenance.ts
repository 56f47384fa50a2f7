/**
 * Maintenance of the fs cache for the CLI: walk the layout, list, stats,
 * verify and clear. Temporary files of writes in progress are never
 * reported; those older than an hour are removed by verify and clear.
 *
 * @module
 */
import { join } from "node:path";
import { decodeKlineIpc, decodeKlineIpcMetadata } from "../codec/kline_ipc.ts";
import { CacheError } from "../core/errors.ts";
import type { Interval } from "../core/interval.ts";
import { type Market, MARKETS } from "../core/market.ts";
import { emptyStats, emptyVerifyReport, zeroTotals } from "./_empty_reports.ts";
import { readHeadAndFooter, readWhole, setAside } from "./_fs_io.ts";
import {
  type CheckedFilter,
  type CheckedKey,
  checkFilter,
  checkKey,
  CORRUPT_PATTERN,
  FILE_PATTERN,
  folderOf,
  intervalFolder,
  intervalOfFolder,
  keyMismatch,
  symbolFolder,
  symbolOfFolder,
  TEMP_PATTERN,
} from "./_kline_paths.ts";
import { incompleteness } from "./_partition_check.ts";
import type {
  CacheEntry,
  CacheFilter,
  CacheSeriesStats,
  CacheStats,
  PartitionKey,
  VerifyOptions,
  VerifyReport,
} from "./kline_store.ts";

/** Age after which a temporary file is considered abandoned. */
const STALE_TEMP_MS = 3_600_000;

/** Clock and logger of the store. */
export interface MaintenanceContext {
  /** Now, epoch ms. */
  now: number;
  /** Debug messages. */
  log: (message: string) => void;
  /** Nothing is removed or renamed: no sweeping, no quarantine, no deletion. */
  readOnly?: boolean;
}

interface Folder {
  dir: string;
  partitions: { key: CheckedKey; path: string }[];
  corrupt: { partition: string; path: string }[];
  temps: string[];
}

async function names(dir: string, files: boolean): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) if (files ? e.isFile : e.isDirectory) out.push(e.name);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return out;
    throw new CacheError(`Cannot list cache folder "${dir}"`, dir, { cause: err });
  }
  return out.sort();
}

function validKey(key: PartitionKey): CheckedKey | undefined {
  try {
    return checkKey(key);
  } catch {
    return undefined; // a foreign file or folder: not ours to report
  }
}

function selected(key: CheckedKey, f: CheckedFilter): boolean {
  return key.bounds.end > f.start && key.bounds.start < f.end;
}

async function* folders(root: string, f: CheckedFilter): AsyncGenerator<Folder> {
  for (const market of f.market ? [f.market] : MARKETS) {
    const klines = join(root, "v1", "binance", market, "klines");
    // Folder names that decode to no valid symbol are foreign: skipped.
    const symbols = f.symbol ? [f.symbol] : (await names(klines, false))
      .map(symbolOfFolder).filter((symbol) => symbol !== undefined);
    for (const symbol of symbols) {
      const intervals = f.interval
        ? [intervalFolder(f.interval)]
        : await names(join(klines, symbolFolder(symbol)), false);
      for (const folderName of intervals) {
        const interval = intervalOfFolder(folderName);
        if (interval === undefined) continue;
        yield await scanFolder(root, f, market, symbol, interval);
      }
    }
  }
}

async function scanFolder(
  root: string,
  f: CheckedFilter,
  market: Market,
  symbol: string,
  interval: Interval,
): Promise<Folder> {
  const dir = folderOf(root, { market, symbol, interval });
  const out: Folder = { dir, partitions: [], corrupt: [], temps: [] };
  for (const name of await names(dir, true)) {
    const partition = FILE_PATTERN.exec(name)?.[1] ?? CORRUPT_PATTERN.exec(name)?.[1];
    if (partition === undefined) {
      if (TEMP_PATTERN.test(name)) out.temps.push(join(dir, name));
      continue;
    }
    const key = validKey({ market, symbol, interval, partition });
    if (key === undefined || !selected(key, f)) continue;
    const path = join(dir, name);
    if (name.endsWith(".arrow")) out.partitions.push({ key, path });
    else out.corrupt.push({ partition, path });
  }
  return out;
}

function plainKey({ market, symbol, interval, partition }: CheckedKey): PartitionKey {
  return { market, symbol, interval, partition };
}

async function sweepTemps(temps: string[], ctx: MaintenanceContext): Promise<number> {
  let removed = 0;
  if (ctx.readOnly) return removed;
  for (const path of temps) {
    try {
      const mtime = (await Deno.stat(path)).mtime?.getTime();
      if (mtime === undefined || ctx.now - mtime < STALE_TEMP_MS) continue;
      await Deno.remove(path);
      removed++;
      ctx.log(`Removed abandoned temporary cache file "${path}"`);
    } catch {
      // gone meanwhile, or renamed by its writer
    }
  }
  return removed;
}

/** Lists partition files. */
export async function listFiles(root: string, filter?: CacheFilter): Promise<CacheEntry[]> {
  const out: CacheEntry[] = [];
  for await (const folder of folders(root, checkFilter(filter))) {
    for (const { key, path } of folder.partitions) {
      try {
        const info = await Deno.stat(path);
        out.push({ key: plainKey(key), path, bytes: info.size, modifiedAt: info.mtime?.getTime() });
      } catch {
        // removed meanwhile
      }
    }
  }
  return out;
}

/** Totals per series from each file's footer. */
export async function statsOf(root: string, filter?: CacheFilter): Promise<CacheStats> {
  const total: CacheStats = emptyStats();
  for await (const folder of folders(root, checkFilter(filter))) {
    let series: CacheSeriesStats | undefined;
    for (const { key, path } of folder.partitions) {
      const file = await readHeadAndFooter(path).catch(() => undefined);
      if (file === undefined) continue;
      const { market, symbol, interval, partition } = key;
      series ??= { market, symbol, interval, ...zeroTotals(), first: partition, last: partition };
      series.last = key.partition;
      let rows = 0;
      let rest = 0;
      let unreadable = 0;
      try {
        const meta = decodeKlineIpcMetadata(file.bytes, { file: path });
        if (keyMismatch(meta, key) !== undefined) unreadable = 1;
        else [rows, rest] = [meta.rows, meta.source === "REST" ? 1 : 0];
      } catch {
        unreadable = 1;
      }
      for (const t of [series, total]) {
        t.partitions++;
        t.bytes += file.size;
        t.rows += rows;
        t.restPartitions += rest;
        t.unreadable += unreadable;
      }
    }
    if (series) total.series.push(series);
  }
  return total;
}

/** Re-reads and validates every selected file. */
export async function verifyFiles(
  root: string,
  options: VerifyOptions,
  ctx: MaintenanceContext,
): Promise<VerifyReport> {
  const report: VerifyReport = emptyVerifyReport();
  for await (const folder of folders(root, checkFilter(options.filter))) {
    report.removedTemp += await sweepTemps(folder.temps, ctx);
    for (const { key, path } of folder.partitions) {
      options.signal?.throwIfAborted();
      const file = await readWhole(path).catch((cause) => {
        throw new CacheError(`Cannot read cache file "${path}"`, path, { cause });
      });
      if (file === undefined) continue;
      report.checked++;
      let reason: string | undefined;
      try {
        const { batches, metadata } = decodeKlineIpc(file.bytes, { file: path });
        reason = keyMismatch(metadata, key) ??
          incompleteness(batches, key.interval, key.bounds, metadata.gaps);
        if (reason === undefined) {
          report.ok++;
          if (metadata.source === "REST") report.upgradable.push(plainKey(key));
          const cached = metadata.visionSha256;
          if (cached !== undefined && options.checksumLookup) {
            const current = await options.checksumLookup(plainKey(key), metadata);
            if (current !== undefined && current.toLowerCase() !== cached.toLowerCase()) {
              report.stale.push({ key: plainKey(key), path, cached, current });
            }
          }
        }
      } catch (err) {
        if (!(err instanceof CacheError)) throw err;
        reason = err.message;
      }
      if (reason === undefined) continue;
      const movedTo = options.quarantine && !ctx.readOnly
        ? await setAside(path, file, ctx.now).catch(() => undefined)
        : undefined;
      report.corrupt.push({ key: plainKey(key), path, reason, movedTo });
    }
  }
  return report;
}

/** Deletes the selected partitions, their set-aside copies and abandoned temporary files. */
export async function clearFiles(
  root: string,
  filter: CacheFilter | undefined,
  ctx: MaintenanceContext,
): Promise<number> {
  let removed = 0;
  const checked = checkFilter(filter);
  if (ctx.readOnly) return removed;
  for await (const folder of folders(root, checked)) {
    for (const { path } of folder.partitions) {
      try {
        await Deno.remove(path);
        removed++;
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) {
          throw new CacheError(`Cannot delete cache file "${path}"`, path, { cause: err });
        }
      }
    }
    for (const { path } of folder.corrupt) await Deno.remove(path).catch(() => {});
    await sweepTemps(folder.temps, ctx);
    // Remove the interval and symbol folders when they became empty.
    await Deno.remove(folder.dir).catch(() => {});
    await Deno.remove(join(folder.dir, "..")).catch(() => {});
  }
  return removed;
}
