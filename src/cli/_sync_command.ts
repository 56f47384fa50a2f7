/**
 * `dsm sync --manifest FILE`: keeps the manifest's series cached, this
 * shard's share of them, and says per series what it did.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { DataSourceManager } from "../fcp/data_source_manager.ts";
import { type CacheOptions, openCacheStoresOf } from "../fcp/open_cache.ts";
import { parseSyncManifest, type SyncEntry } from "../fcp/sync_manifest.ts";
import { runSync, type SeriesSummary, type SyncSummary } from "../fcp/sync_run.ts";
import { managerSyncSources } from "../fcp/sync_sources.ts";
import { visionSyncIndex } from "../fcp/sync_index.ts";
import { SyncLeases } from "../fcp/sync_lease.ts";
import { CACHE_FLAGS, cacheOptionsOf, endpointsOf, UsageError } from "./_fetch_args.ts";

/** The parsed `dsm sync` command. */
export interface SyncArgs {
  /** The manifest's entries (read and validated). */
  entries: SyncEntry[];
  /** This process's shard. */
  shard: { index: number; count: number };
  /** Series at once. */
  concurrency: number;
  /** How long a series lease lasts unless renewed, ms. */
  leaseMs: number;
  /** The cache (a folder or an object store; sync needs a writable one). */
  cache: CacheOptions;
  /** Endpoints. */
  endpoints: { vision?: string; listing?: string; rest?: string };
  /** Summary file (JSON). */
  summary?: string;
  /** Summary as JSON on stdout instead of a table. */
  json: boolean;
  /** No progress lines. */
  quiet: boolean;
}

/** Usage of `dsm sync`. */
export const SYNC_USAGE = `dsm sync options:
  --manifest FILE             JSON: { markets, datasets, intervals, symbols (names or * ? patterns),
                              start (time or "listing"), end } or { "entries": [...] } (required)
  --shard I/N                 this machine's share of the series, 1 <= I <= N [1/1]
  --concurrency N             series at once, 1..32 [4]
  --lease-seconds N           a series lease held by a process that died ends after N s, 1..3600 [30]
  --cache-dir DIR             cache folder [DSM_CACHE_DIR or the platform cache]
  --cache-url s3://BUCKET/PREFIX [--cache-endpoint URL] [--cache-region R]
                              the cache in object storage (credentials from AWS_* variables)
  --vision-url, --listing-url, --rest-url URL   endpoints [as dsm fetch]
  --summary FILE              write the summary as JSON
  --json                      print the summary as JSON
  --quiet                     no progress lines
  Exit codes: 0 every series complete (or confirmed empty), 1 some incomplete, 2 usage error`;

/**
 * Parses `dsm sync` arguments and reads the manifest (before any network I/O).
 *
 * @param args The arguments after `sync`.
 * @param env Environment lookup.
 * @returns The command, or `"help"`.
 * @throws {UsageError} Unknown flags, a missing or unreadable manifest, a bad shard.
 * @throws {InvalidOptionError} A manifest field, named.
 */
export async function parseSyncArgs(
  args: string[],
  env: (name: string) => string | undefined,
): Promise<SyncArgs | "help"> {
  let v;
  try {
    v = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        manifest: { type: "string" },
        shard: { type: "string" },
        concurrency: { type: "string" },
        "lease-seconds": { type: "string" },
        ...CACHE_FLAGS,
        "vision-url": { type: "string" },
        "listing-url": { type: "string" },
        "rest-url": { type: "string" },
        summary: { type: "string" },
        json: { type: "boolean" },
        quiet: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (v.help) return "help";
  if (v.manifest === undefined) throw new UsageError("Cannot sync: --manifest FILE is required");
  const shardText = v.shard ?? "1/1";
  const match = /^(\d+)\/(\d+)$/.exec(shardText);
  const shard = match ? { index: Number(match[1]), count: Number(match[2]) } : undefined;
  if (!shard || shard.index < 1 || shard.index > shard.count || shard.count > 10_000) {
    throw new UsageError(
      `Cannot sync: --shard ${JSON.stringify(shardText)} is not I/N with 1 <= I <= N`,
    );
  }
  const concurrency = Number(v.concurrency ?? "4");
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 32) {
    throw new UsageError(
      `Cannot sync: --concurrency ${JSON.stringify(v.concurrency)} is not 1..32`,
    );
  }
  const leaseSeconds = Number(v["lease-seconds"] ?? "30");
  if (!Number.isInteger(leaseSeconds) || leaseSeconds < 1 || leaseSeconds > 3600) {
    throw new UsageError(
      `Cannot sync: --lease-seconds ${JSON.stringify(v["lease-seconds"])} is not 1..3600`,
    );
  }
  if (v["cache-read-only"]) throw new UsageError("Cannot sync into a read-only cache");
  const cache = cacheOptionsOf(v, env);
  let text: string;
  try {
    text = await Deno.readTextFile(v.manifest);
  } catch (error) {
    throw new UsageError(
      `Cannot read the manifest ${JSON.stringify(v.manifest)}: ${(error as Error).message}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UsageError(
      `Cannot parse the manifest ${JSON.stringify(v.manifest)}: ${(error as Error).message}`,
    );
  }
  const endpoints = endpointsOf(v, env);
  return {
    entries: parseSyncManifest(json),
    shard,
    concurrency,
    leaseMs: leaseSeconds * 1000,
    cache,
    endpoints,
    ...(v.summary === undefined ? {} : { summary: v.summary }),
    json: v.json ?? false,
    quiet: v.quiet ?? false,
  };
}

function line(s: SeriesSummary): string {
  const state = s.complete
    ? "complete"
    : s.error
    ? `failed: ${s.error}`
    : `missing ${s.missing.length}`;
  return `${s.series}: ${s.partitions} partitions (${s.cachedBefore} cached, ${s.fetched} fetched, ` +
    `${s.confirmedAbsent} empty) ${state}`;
}

/**
 * Runs `dsm sync`.
 *
 * @param args The parsed command.
 * @param io Output, diagnostics, clock, signal.
 * @returns The summary.
 */
export async function runSyncCommand(
  args: SyncArgs,
  io: {
    print: (text: string) => Promise<void>;
    stderr: (text: string) => void;
    signal: AbortSignal;
    now?: () => number;
  },
): Promise<SyncSummary> {
  const now = io.now ?? Date.now;
  const logger = (message: string) => {
    if (/^Cache is |^Cannot use cache folder /.test(message)) io.stderr(`dsm: ${message}\n`);
  };
  const stores = await openCacheStoresOf(args.cache, logger, now);
  if (!stores.klines.enabled || !stores.klines.writable) {
    throw new UsageError(
      "Cannot sync: the cache is off or read-only (give --cache-dir DIR or --cache-url URL)",
    );
  }
  await using dsm = new DataSourceManager({
    cache: args.cache,
    endpoints: args.endpoints,
    signal: io.signal,
    now,
    logger,
  });
  const index = visionSyncIndex({ listingUrl: args.endpoints.listing, signal: io.signal });
  const summary = await runSync(args.entries, {
    index,
    // Processes that share the cache take turns on a series (a lease each), and
    // each takes up the ones others held once they are done.
    sources: managerSyncSources(
      dsm,
      stores,
      stores.files && new SyncLeases(stores.files, { ttlMs: args.leaseMs }),
    ),
    now: now(),
    shard: args.shard,
    concurrency: args.concurrency,
    signal: io.signal,
    onSeries: (s, done, total) => {
      if (!args.quiet) io.stderr(`dsm: [${done}/${total}] ${line(s)}\n`);
    },
  });
  if (args.summary !== undefined) {
    await Deno.writeTextFile(args.summary, JSON.stringify(summary, null, 2) + "\n");
  }
  if (args.json) await io.print(JSON.stringify(summary, null, 2) + "\n");
  else {
    const done = summary.series.filter((s) => s.complete).length;
    await io.print(
      summary.series.map(line).join("\n") + (summary.series.length ? "\n" : "") +
        `${done} of ${summary.series.length} series complete (shard ${summary.shard.index}/${summary.shard.count} of ${summary.seriesTotal})\n`,
    );
  }
  return summary;
}
