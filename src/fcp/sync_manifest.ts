/**
 * The manifest of `dsm sync`: which series to keep cached, from when to
 * when. JSON, validated whole before any I/O.
 *
 * @module
 */
import { type Dataset, datasetInfo, parseDataset } from "../core/dataset.ts";
import { InvalidOptionError } from "../core/errors.ts";
import { type Interval, parseInterval } from "../core/interval.ts";
import { type Market, parseMarket } from "../core/market.ts";
import { validateSymbol } from "../core/symbol.ts";
import { toEpochMs } from "../core/time.ts";

/** One entry of a manifest, as written. */
export interface SyncEntryInput {
  /** Markets, e.g. `["um"]` (aliases as for requests). */
  markets: string[];
  /** Datasets, e.g. `["klines", "fundingRate"]`. */
  datasets: string[];
  /** Intervals of the grid datasets (klines, price klines), e.g. `["1m"]`. */
  intervals?: string[];
  /** Symbols: names, or patterns with `*` and `?` resolved through the Vision listing. */
  symbols: string[];
  /** First time wanted (ISO 8601 or epoch ms), or `"listing"`: each series' first archive. */
  start: string | number;
  /** End (exclusive; ISO 8601 or epoch ms). @default {now} */
  end?: string | number;
}

/** A manifest as written: one entry, or `{ "entries": [...] }`. */
export type SyncManifestInput = SyncEntryInput | { entries: SyncEntryInput[] };

/** A validated entry. */
export interface SyncEntry {
  markets: Market[];
  datasets: Dataset[];
  intervals: Interval[];
  /** Names (canonical) and patterns (kept as written, upper-cased). */
  symbols: { name?: string; pattern?: RegExp; text: string }[];
  start: number | "listing";
  end?: number;
}

const ENTRY_KEYS = ["markets", "datasets", "intervals", "symbols", "start", "end"];

function fail(path: string, value: unknown, why: string): never {
  throw new InvalidOptionError(
    path,
    value,
    `Invalid sync manifest: ${path} ${JSON.stringify(value)} ${why}`,
  );
}

function list(entry: Record<string, unknown>, key: string, path: string): string[] {
  const value = entry[key];
  if (!Array.isArray(value) || value.length === 0 || value.some((v) => typeof v !== "string")) {
    fail(`${path}.${key}`, value, "is not a non-empty list of strings");
  }
  return value as string[];
}

function time(value: unknown, path: string): number {
  if (typeof value !== "string" && typeof value !== "number") fail(path, value, "is not a time");
  try {
    return toEpochMs(value as string | number, path);
  } catch {
    return fail(path, value, "is not an ISO 8601 time or epoch ms");
  }
}

/** A `*`/`?` pattern as an anchored RegExp, or undefined for a plain name. */
function patternOf(text: string): RegExp | undefined {
  if (!/[*?]/.test(text)) return undefined;
  const body = text.toUpperCase().replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${body}$`);
}

function parseEntry(raw: unknown, path: string): SyncEntry {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    fail(path, raw, "is not an object");
  }
  const entry = raw as Record<string, unknown>;
  for (const key of Object.keys(entry)) {
    if (!ENTRY_KEYS.includes(key)) fail(`${path}.${key}`, entry[key], "is not a manifest field");
  }
  const markets = list(entry, "markets", path).map((m, i) => {
    try {
      return parseMarket(m);
    } catch {
      return fail(`${path}.markets[${i}]`, m, "is not a market (spot, um, cm)");
    }
  });
  const datasets = list(entry, "datasets", path).map((d, i) => {
    try {
      return parseDataset(d);
    } catch {
      return fail(`${path}.datasets[${i}]`, d, "is not a dataset");
    }
  });
  const grid = datasets.some((d) => datasetInfo(d).series === "grid");
  const intervals = entry.intervals === undefined && !grid
    ? []
    : list(entry, "intervals", path).map((v, i) => {
      try {
        return parseInterval(v);
      } catch {
        return fail(`${path}.intervals[${i}]`, v, "is not an interval");
      }
    });
  for (const market of markets) {
    for (const dataset of datasets) {
      if (!datasetInfo(dataset).markets.includes(market)) {
        fail(`${path}.datasets`, dataset, `is not published for ${market}`);
      }
    }
  }
  const symbols = list(entry, "symbols", path).map((text, i) => {
    const pattern = patternOf(text);
    if (pattern) return { pattern, text: text.toUpperCase() };
    try {
      return { name: validateSymbol(text, markets[0]), text };
    } catch (error) {
      return fail(`${path}.symbols[${i}]`, text, `is not a symbol (${(error as Error).message})`);
    }
  });
  const start = entry.start === "listing" ? "listing" : time(entry.start, `${path}.start`);
  const end = entry.end === undefined ? undefined : time(entry.end, `${path}.end`);
  if (typeof start === "number" && end !== undefined && start >= end) {
    fail(`${path}.start`, entry.start, "is not before end");
  }
  return { markets, datasets, intervals, symbols, start, ...(end === undefined ? {} : { end }) };
}

/**
 * Validates a manifest.
 *
 * @param input The parsed JSON.
 * @returns The entries.
 * @throws {InvalidOptionError} Naming the field (e.g. `entries[1].intervals[0]`) and why.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseSyncManifest } from "./sync_manifest.ts";
 * const [entry] = parseSyncManifest({
 *   markets: ["um"], datasets: ["klines", "fundingRate"], intervals: ["1m"],
 *   symbols: ["BTCUSDT", "*USDT"], start: "listing",
 * });
 * assert.deepEqual(entry.markets, ["um"]);
 * assert.equal(entry.symbols[1].pattern?.test("ETHUSDT"), true);
 * assert.throws(() => parseSyncManifest({ markets: ["um"], datasets: ["klines"], symbols: ["X"], start: 0 }), {
 *   code: "INVALID_OPTION",
 * });
 * ```
 */
export function parseSyncManifest(input: unknown): SyncEntry[] {
  if (input !== null && typeof input === "object" && "entries" in input) {
    const entries = (input as { entries: unknown }).entries;
    if (!Array.isArray(entries) || entries.length === 0) {
      fail("entries", entries, "is not a non-empty list");
    }
    for (const key of Object.keys(input)) {
      if (key !== "entries") fail(key, (input as Record<string, unknown>)[key], "is not a field");
    }
    return entries.map((e, i) => parseEntry(e, `entries[${i}]`));
  }
  return [parseEntry(input, "manifest")];
}
