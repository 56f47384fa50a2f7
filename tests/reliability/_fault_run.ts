/**
 * One fetch of the fault matrix: an emulator with the given faults, a
 * manager with a fresh cache, the request, then the cache validated.
 *
 * @module
 */
import { startEmulator } from "../../src/emulator/emulator.ts";
import type { EmulatorStats } from "../../src/emulator/emulator.ts";
import type { EmulatorOptions } from "../../src/emulator/emulator_options.ts";
import {
  DataSourceManager,
  type DataSourceManagerOptions,
  type Endpoints,
} from "../../src/fcp/data_source_manager.ts";
import type { FetchReport } from "../../src/fcp/fetch_report.ts";
import type { KlineRequest } from "../../src/fcp/kline_request.ts";
import type { Market } from "../../src/core/market.ts";
import { assertCacheValid, type CacheCheck, NOW, RETRY, tempDir } from "./_harness.ts";
import { type Rows, rowsOf } from "./_rows.ts";

/** The range of the matrix: five closed days (Vision) and today up to 12:30 (REST). */
export const RANGE = { interval: "1m", start: "2025-02-05", end: "2025-02-11" } as const;

/** One run of the matrix. */
export interface FaultRunOptions {
  /** Market. */
  market: Market;
  /** Symbol. */
  symbol: string;
  /** Emulator faults and settings. */
  emulator?: EmulatorOptions;
  /** Extra request fields. */
  request?: Partial<KlineRequest>;
  /** Endpoints from the emulator's URL. @default vision, listing and rest at the URL */
  endpoints?: (url: string) => Endpoints;
  /** Extra manager options. */
  manager?: Partial<DataSourceManagerOptions>;
  /** Fault-free rows of the series, to check the cached partitions against. */
  expected?: Rows;
  /** Use a cache folder. @default true */
  cache?: boolean;
}

/** What one run produced. */
export interface FaultRun {
  /** The rows. */
  rows: Rows;
  /** The report. */
  report: FetchReport;
  /** The emulator's counters. */
  stats: EmulatorStats;
  /** The cache check, when a cache was used. */
  cache?: CacheCheck;
}

/**
 * Runs one fetch of the matrix and validates the cache it left.
 *
 * @param options Market, faults, request, endpoints.
 * @returns Rows, report, emulator counters and the cache check.
 */
export async function faultRun(options: FaultRunOptions): Promise<FaultRun> {
  await using dir = await tempDir();
  await using emu = await startEmulator({ now: NOW, ...options.emulator });
  const endpoints = options.endpoints?.(emu.url) ??
    { vision: emu.url, listing: emu.url, rest: emu.url };
  const useCache = options.cache ?? true;
  let rows: Rows;
  let report: FetchReport;
  {
    await using dsm = new DataSourceManager({
      market: options.market,
      cache: useCache ? { dir: dir.path } : false,
      now: () => NOW,
      retry: RETRY,
      endpoints,
      ...options.manager,
    });
    const result = await dsm.getDataWithReport({
      symbol: options.symbol,
      ...RANGE,
      ...options.request,
    });
    rows = rowsOf(result.table);
    report = result.report;
  }
  const stats = structuredClone(emu.stats);
  // the checksums are compared with the same files served without request faults
  const { errorRate: _e, resetRate: _r, truncateRate: _t, ...files } = options.emulator ?? {};
  await using clean = await startEmulator({ now: NOW, ...files });
  const series = `${options.market}/${options.symbol}/${RANGE.interval}`;
  const cache = useCache
    ? await assertCacheValid(dir.path, options.expected ? { [series]: options.expected } : {}, {
      visionUrl: clean.url,
    })
    : undefined;
  return { rows, report, stats, cache };
}

const baselines = new Map<string, Promise<Rows>>();

/**
 * The fault-free rows of a market's symbol over {@linkcode RANGE} (no cache).
 * The emulator's seed drives its market data too, so each seed has its own.
 *
 * @param market Market.
 * @param symbol Symbol.
 * @param seed The emulator's seed.
 * @returns The rows (memoised per market, symbol and seed).
 */
export function baseline(market: Market, symbol: string, seed = 1): Promise<Rows> {
  const key = `${market}/${symbol}/${seed}`;
  let rows = baselines.get(key);
  if (!rows) {
    rows = faultRun({ market, symbol, cache: false, emulator: { seed } }).then((r) => r.rows);
    baselines.set(key, rows);
  }
  return rows;
}
