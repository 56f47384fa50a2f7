/**
 * Maintenance of the fs cache for the CLI: walk the layout, list, stats,
 * verify and clear. Temporary files of writes in progress are never
 * reported; abandoned ones (untouched for ten minutes) are removed by verify
 * and clear. The walk sees what a fetch sees: a series folder that resolves
 * outside the root is refused (logged; reported by verify) and nothing in it
 * is read or deleted, and a non-file in place of a partition is listed (and
 * reported as corrupt by verify), never opened.
 *
 * @module
 */
import { join } from "node:path";
import { CacheError } from "../core/errors.ts";
import { datasetField, datasetInfo } from "../core/dataset.ts";
import { MARKETS } from "../core/market.ts";
import { emptyStats, emptyVerifyReport } from "./_empty_reports.ts";
import { addToStats, plainKey, verifyPartition } from "./_kline_file.ts";
import {
  ABANDONED_TEMP_MS,
  NotAFileError,
  readHeadAndFooter,
  readWhole,
  setAside,
} from "./_fs_io.ts";
import {
  type CheckedFilter,
  type CheckedKey,
  checkFilter,
  CORRUPT_PATTERN,
  escapesRoot,
  FILE_PATTERN,
  filterDatasets,
  folderOf,
  inRange,
  intervalFolder,
  intervalOfFolder,
  symbolFolder,
  symbolOfFolder,
  TEMP_PATTERN,
  validKey,
} from "./_kline_paths.ts";
import type {
  CacheEntry,
  CacheFilter,
  CacheSeriesStats,
  CacheStats,
  PartitionKey,
  VerifyOptions,
  VerifyReport,
} from "./kline_store.ts";

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
  /** Why the folder is refused (it resolves outside the root): nothing else is filled. */
  refused?: string;
  partitions: { key: CheckedKey; path: string }[];
  corrupt: { partition: string; path: string }[];
  temps: string[];
}

/** Entry names: every kind for files (a non-file partition is reported), folders and links for folders. */
async function names(dir: string, files: boolean): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (files || e.isDirectory || e.isSymlink) out.push(e.name);
    }
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return out;
    throw new CacheError(`Cannot list cache folder "${dir}"`, dir, { cause: err });
  }
  return out.sort();
}

async function* folders(root: string, f: CheckedFilter): AsyncGenerator<Folder> {
  for (const dataset of filterDatasets(f)) {
    for (const market of f.market ? [f.market] : MARKETS) {
      if (!datasetInfo(dataset).markets.includes(market)) continue;
      const base = join(root, "v1", "binance", market, dataset);
      // Folder names that decode to no valid symbol are foreign: skipped.
      const symbols = f.symbol ? [f.symbol] : (await names(base, false))
        .map(symbolOfFolder).filter((symbol) => symbol !== undefined);
      for (const symbol of symbols) {
        const intervals = f.interval
          ? [intervalFolder(f.interval)]
          : await names(join(base, symbolFolder(symbol)), false);
        for (const folderName of intervals) {
          const interval = intervalOfFolder(folderName);
          if (interval === undefined) continue;
          yield await scanFolder(root, f, { ...datasetField(dataset), market, symbol, interval });
        }
      }
    }
  }
}

async function scanFolder(
  root: string,
  f: CheckedFilter,
  series: Omit<PartitionKey, "partition">,
): Promise<Folder> {
  const dir = folderOf(root, series);
  const out: Folder = { dir, partitions: [], corrupt: [], temps: [] };
  out.refused = escapesRoot(root, dir);
  if (out.refused !== undefined) return out;
  for (const name of await names(dir, true)) {
    const partition = FILE_PATTERN.exec(name)?.[1] ?? CORRUPT_PATTERN.exec(name)?.[1];
    if (partition === undefined) {
      if (TEMP_PATTERN.test(name)) out.temps.push(join(dir, name));
      continue;
    }
    const key = validKey({ ...series, partition });
    if (key === undefined || !inRange(key, f)) continue;
    const path = join(dir, name);
    if (name.endsWith(".arrow")) out.partitions.push({ key, path });
    else out.corrupt.push({ partition, path });
  }
  return out;
}

async function sweepTemps(temps: string[], ctx: MaintenanceContext): Promise<number> {
  let removed = 0;
  if (ctx.readOnly) return removed;
  for (const path of temps) {
    try {
      const info = await Deno.lstat(path);
      const mtime = info.mtime?.getTime();
      if (!info.isFile || mtime === undefined || ctx.now - mtime < ABANDONED_TEMP_MS) continue;
      await Deno.remove(path);
      removed++;
      ctx.log(`Removed abandoned temporary cache file "${path}"`);
    } catch {
      // gone meanwhile, or renamed by its writer
    }
  }
  return removed;
}

/** The folders of the walk that are not refused; refused ones are logged. */
async function* usable(
  root: string,
  f: CheckedFilter,
  ctx: MaintenanceContext,
): AsyncGenerator<Folder> {
  for await (const folder of folders(root, f)) {
    if (folder.refused === undefined) yield folder;
    else ctx.log(folder.refused);
  }
}

/** Lists partition files (a non-file in place of one too: its read sets it aside). */
export async function listFiles(
  root: string,
  filter: CacheFilter | undefined,
  ctx: MaintenanceContext,
): Promise<CacheEntry[]> {
  const out: CacheEntry[] = [];
  for await (const folder of usable(root, checkFilter(filter), ctx)) {
    for (const { key, path } of folder.partitions) {
      try {
        const info = await Deno.lstat(path);
        out.push({ key: plainKey(key), path, bytes: info.size, modifiedAt: info.mtime?.getTime() });
      } catch {
        // removed meanwhile
      }
    }
  }
  return out;
}

/** Totals per series from each file's footer. */
export async function statsOf(
  root: string,
  filter: CacheFilter | undefined,
  ctx: MaintenanceContext,
): Promise<CacheStats> {
  const total: CacheStats = emptyStats();
  for await (const folder of usable(root, checkFilter(filter), ctx)) {
    let series: CacheSeriesStats | undefined;
    for (const { key, path } of folder.partitions) {
      // A non-file counts as unreadable (zero bytes), as a fetch would set it aside.
      const file = await readHeadAndFooter(path).catch((err) =>
        err instanceof NotAFileError ? err.read : undefined
      );
      if (file === undefined) continue;
      series = addToStats(total, series, key, file.bytes, file.size, path);
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
    if (folder.refused !== undefined) {
      report.refused.push({ path: folder.dir, reason: folder.refused });
      continue;
    }
    report.removedTemp += await sweepTemps(folder.temps, ctx);
    for (const { key, path } of folder.partitions) {
      options.signal?.throwIfAborted();
      let notAFile: NotAFileError | undefined;
      const file = await readWhole(path).catch((cause) => {
        if (cause instanceof NotAFileError) return (notAFile = cause).read;
        throw new CacheError(`Cannot read cache file "${path}"`, path, { cause });
      });
      if (file === undefined) continue;
      report.checked++;
      const reason = notAFile?.message ??
        await verifyPartition(file.bytes, key, path, options, report);
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
  for await (const folder of usable(root, checked, ctx)) {
    for (const { path } of folder.partitions) {
      try {
        // recursive: a folder in place of a partition goes too (links are not followed)
        await Deno.remove(path, { recursive: true });
        removed++;
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) {
          throw new CacheError(`Cannot delete cache file "${path}"`, path, { cause: err });
        }
      }
    }
    for (const { path } of folder.corrupt) {
      await Deno.remove(path, { recursive: true }).catch(() => {});
    }
    await sweepTemps(folder.temps, ctx);
    // Remove the interval and symbol folders when they became empty.
    await Deno.remove(folder.dir).catch(() => {});
    await Deno.remove(join(folder.dir, "..")).catch(() => {});
  }
  return removed;
}
