/**
 * Shared fixtures of the reliability suite: the fixed clock, the retry
 * policy, temporary folders, exact row comparison, explained partial
 * results, and cache validation through the store and `dsm cache verify`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { FsKlineStore } from "../../src/cache/fs_kline_store.ts";
import type { CacheEntry, VerifyReport } from "../../src/cache/kline_store.ts";
import type { Market } from "../../src/core/market.ts";
import { KLINE_COLUMN_KEYS } from "../../src/core/schema.ts";
import type { FetchReport } from "../../src/fcp/fetch_report.ts";
import { main } from "../../src/cli/main.ts";
import { type Rows, rowsOf, sliceRows } from "./_rows.ts";

/** The clock of every emulator and manager: 2025-02-10 12:30 UTC (a Monday). */
export const NOW = Date.UTC(2025, 1, 10, 12, 30);
/** One UTC day, ms. */
export const DAY = 86_400_000;
/** Retries fast enough for tests. */
export const RETRY = { attempts: 4, baseDelayMs: 1, maxDelayMs: 10 };
/** One symbol per market. */
export const MARKETS: readonly { market: Market; symbol: string }[] = [
  { market: "spot", symbol: "BTCUSDT" },
  { market: "um", symbol: "BTCUSDT" },
  { market: "cm", symbol: "BTCUSD_PERP" },
];

/** A temporary folder removed on dispose. */
export interface TempDir extends AsyncDisposable {
  /** Its absolute path. */
  readonly path: string;
}

/**
 * Creates a temporary folder.
 *
 * @param prefix Name prefix.
 * @returns The folder; `await using` removes it.
 */
export async function tempDir(prefix = "dsm_reliability_"): Promise<TempDir> {
  const path = await Deno.makeTempDir({ prefix });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }).catch(() => {}),
  };
}

/**
 * Every file under a folder, relative to it, sorted.
 *
 * @param dir The folder.
 * @returns Relative paths of the files (not folders).
 */
export async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(at: string): Promise<void> {
    for await (const entry of Deno.readDir(at)) {
      const path = join(at, entry.name);
      if (entry.isDirectory) await walk(path);
      else out.push(relative(dir, path));
    }
  }
  await walk(dir);
  return out.sort();
}

/**
 * Asserts two results hold the same rows, value by value (`Object.is`).
 *
 * @param actual The rows under test.
 * @param expected The fault-free rows.
 * @param label Context for the failure message.
 */
export function assertSameRows(actual: Rows, expected: Rows, label = ""): void {
  assert.equal(actual.length, expected.length, `${label}: row count`);
  for (const key of KLINE_COLUMN_KEYS) {
    const a = actual.columns[key];
    const e = expected.columns[key];
    for (let i = 0; i < expected.length; i++) {
      if (!Object.is(a[i], e[i])) {
        assert.fail(
          `${label}: row ${i} (${new Date(e[0] ?? 0).toISOString()}) ${key} ${a[i]} !== ${e[i]}`,
        );
      }
    }
  }
}

/**
 * Asserts a possibly partial result against the fault-free rows: every row
 * returned is exact, every fault-free row left out lies in an `unfetched`
 * gap, `partial` says so, and a partial result lists its failures with
 * codes from `codes`.
 *
 * @param actual The rows under test.
 * @param report Their report.
 * @param expected The fault-free rows.
 * @param codes Failure codes allowed.
 * @param classes Gap classes that may explain a left-out row.
 * @returns The number of fault-free rows left out.
 */
export function assertExplained(
  actual: Rows,
  report: FetchReport,
  expected: Rows,
  codes: readonly string[],
  classes: readonly string[] = ["unfetched"],
): number {
  const index = new Map<number, number>();
  for (let i = 0; i < expected.length; i++) index.set(expected.columns.openTime[i], i);
  let previous = -Infinity;
  for (let i = 0; i < actual.length; i++) {
    const t = actual.columns.openTime[i];
    assert.ok(t > previous, `open_time ${t} is out of order`);
    previous = t;
    const j = index.get(t);
    assert.notEqual(j, undefined, `row ${new Date(t).toISOString()} is not in the fault-free run`);
    for (const key of KLINE_COLUMN_KEYS) {
      assert.ok(Object.is(actual.columns[key][i], expected.columns[key][j!]), `${key} at ${t}`);
    }
  }
  const got = new Set(actual.columns.openTime.subarray(0, actual.length));
  const unfetched = report.gaps.filter((g) => g.class === "unfetched");
  const explaining = report.gaps.filter((g) => classes.includes(g.class));
  let left = 0;
  for (const t of index.keys()) {
    if (got.has(t)) continue;
    left++;
    assert.ok(
      explaining.some((g) => t >= g.start && t < g.end),
      `row ${new Date(t).toISOString()} is missing without a gap of class ${classes.join(" or ")}`,
    );
  }
  assert.equal(report.rows, actual.length);
  assert.equal(report.partial, unfetched.length > 0);
  if (report.partial) assert.ok(report.failures.length > 0, "a partial result names its failures");
  for (const f of report.failures) {
    assert.ok(codes.includes(f.code), `unexpected failure ${f.code}: ${f.message}`);
  }
  return left;
}

/** What {@linkcode assertCacheValid} found. */
export interface CacheCheck {
  /** The store's verify report. */
  verify: VerifyReport;
  /** The partition files. */
  entries: CacheEntry[];
}

/** What `dsm cache verify --json` printed. */
export interface CliVerify {
  /** Exit code. */
  code: number;
  /** The JSON report. */
  report: VerifyReport & { vision?: { checked: number; failed: unknown[] } };
  /** Diagnostics. */
  stderr: string;
}

/**
 * Runs `dsm cache verify --cache-dir DIR --json` in this process, comparing
 * Vision partitions with the emulator's current checksums when given its URL.
 *
 * @param dir The cache root.
 * @param visionUrl Vision base URL.
 * @returns Exit code, parsed report, stderr.
 */
export async function cliVerify(dir: string, visionUrl?: string): Promise<CliVerify> {
  let stderr = "";
  let stdout = "";
  const decoder = new TextDecoder();
  const args = ["cache", "verify", "--cache-dir", dir, "--json"];
  if (visionUrl) args.push("--vision-url", visionUrl);
  const code = await main(args, {
    stdout: new WritableStream<Uint8Array>({ write: (c) => void (stdout += decoder.decode(c)) }),
    stderr: (text) => stderr += text,
    stderrIsTerminal: false,
    env: () => undefined,
    signal: new AbortController().signal,
    now: () => NOW,
  });
  return { code, report: JSON.parse(stdout), stderr };
}

/**
 * Asserts that every file of a cache is valid (store `verify()` and
 * `dsm cache verify`, which also compares each Vision partition's checksum
 * with the archive's when `visionUrl` is given), that the tree holds only partition files
 * (and abandoned temporary files when `allowTemp`; the shared weight budget's
 * `v1/budget/{market}.json`), and that every cached
 * partition holds exactly the fault-free rows of its day.
 *
 * @param dir The cache root.
 * @param expected Fault-free rows of the series per `market/symbol/interval`.
 * @param options `allowTemp` after a crash; `visionUrl` of the emulator.
 * @returns The verify report and the entries.
 */
export async function assertCacheValid(
  dir: string,
  expected: Record<string, Rows> = {},
  options: { allowTemp?: boolean; visionUrl?: string } = {},
): Promise<CacheCheck> {
  const store = new FsKlineStore(dir, { now: () => NOW });
  const verify = await store.verify();
  assert.deepEqual(verify.corrupt, [], "corrupt cache files");
  assert.equal(verify.ok, verify.checked);
  const entries = await store.list();
  assert.equal(entries.length, verify.checked);
  for (const file of await filesUnder(dir)) {
    const ok = /^v1\/binance\/(spot|um|cm)\/klines\/[A-Z0-9_-]+\/\w+\/\d{4}-\d{2}(-\d{2})?\.arrow$/
      .test(file) ||
      (options.allowTemp === true && /\.tmp$/.test(file)) ||
      /^v1\/budget\/(spot|um|cm)\.json$/.test(file);
    assert.ok(ok, `unexpected file in the cache: ${file}`);
  }
  for (const entry of entries) {
    const series = `${entry.key.market}/${entry.key.symbol}/${entry.key.interval}`;
    const rows = expected[series];
    if (!rows) continue;
    const start = Date.parse(`${entry.key.partition}T00:00:00Z`);
    const cached = await store.read(entry.key);
    assert.ok(cached, `${entry.path} reads back`);
    assertSameRows(rowsOf(cached.batches), sliceRows(rows, start, start + DAY), entry.path);
  }
  const cli = await cliVerify(dir, options.visionUrl);
  assert.equal(cli.code, 0, cli.stderr);
  assert.deepEqual([cli.report.checked, cli.report.ok], [verify.checked, verify.ok]);
  assert.deepEqual([cli.report.corrupt, cli.report.stale], [[], []]);
  if (options.visionUrl) assert.deepEqual(cli.report.vision?.failed, []);
  return { verify, entries };
}

/**
 * Runs the `dsm` CLI in this process (the fixed clock, no environment).
 *
 * @param args The command line.
 * @returns The exit code and what it wrote.
 */
export async function dsm(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const decoder = new TextDecoder();
  const code = await main(args, {
    stdout: new WritableStream({ write: (c) => void (stdout += decoder.decode(c)) }),
    stderr: (t) => stderr += t,
    stderrIsTerminal: false,
    env: () => undefined,
    signal: new AbortController().signal,
    now: () => NOW,
  });
  return { code, stdout, stderr };
}
