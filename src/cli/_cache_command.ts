/**
 * `dsm cache ls | stats | verify | clear`: the cache maintenance commands,
 * as readable tables on stdout or JSON with `--json`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import type { CacheFilter, CacheSeriesStats, CacheTotals } from "../cache/kline_store.ts";
import { emptyStats, emptyVerifyReport } from "../cache/_empty_reports.ts";
import type { Interval } from "../core/interval.ts";
import { type CacheStores, openCacheStores } from "../cache/open_cache_stores.ts";
import { parseInterval } from "../core/interval.ts";
import { checkDataset } from "../cache/_kline_paths.ts";
import type { PartitionFilter, PartitionStore } from "../cache/partition_store.ts";
import { type Dataset, datasetInfo, parseDataset } from "../core/dataset.ts";
import type { Market } from "../core/market.ts";
import { validateSymbol } from "../core/symbol.ts";
import { toEpochMs } from "../core/time.ts";
import {
  CACHE_FLAGS,
  cacheOptionsOf,
  marketOf,
  refuseSeparator,
  UsageError,
} from "./_fetch_args.ts";
import { visionChecksums } from "./_vision_checksums.ts";
import { bytes, nextSteps, table, verifyText } from "./_cache_text.ts";

/** Subcommands of `dsm cache`. */
export const CACHE_SUBCOMMANDS = ["ls", "stats", "verify", "clear"] as const;

/** A parsed `dsm cache` command. */
export interface CacheArgs {
  /** Subcommand. */
  command: typeof CACHE_SUBCOMMANDS[number];
  /** Cache folder, if given (else `DSM_CACHE_DIR`, else the platform cache folder). */
  dir?: string;
  /** An object store instead of a folder, `s3://bucket[/prefix]` (`--cache-url`). */
  url?: string;
  /** The object store's S3 endpoint (`--cache-endpoint`). */
  endpoint?: string;
  /** The object store's signing region (`--cache-region`). */
  region?: string;
  /** Never write, move or delete (`--cache-read-only`): `clear` and `--quarantine` are refused. */
  readOnly?: boolean;
  /** Which partitions; validated. */
  filter: CacheFilter;
  /** `clear` everything (no filter). */
  all: boolean;
  /** Machine output. */
  json: boolean;
  /** `verify`: compare Vision partitions with Vision's current `.CHECKSUM` at this base URL. */
  visionUrl?: string;
  /** `verify`: move corrupt files aside. */
  quarantine: boolean;
}

/** Where a cache command writes. */
export interface CacheIo {
  /** Writes text to stdout. */
  print: (text: string) => Promise<void>;
  /** Writes text to stderr. */
  stderr: (text: string) => void;
  /** Stops `verify` between files and its checksum requests. */
  signal?: AbortSignal;
}

/** Usage of `dsm cache`, for the help text. */
export const CACHE_USAGE = `dsm cache options (ls | stats | verify | clear):
  --cache-dir DIR             cache folder [DSM_CACHE_DIR or the platform cache]
  --cache-url s3://BUCKET/PREFIX   the cache in an object store (credentials: AWS_* variables)
  --cache-endpoint URL, --cache-region REGION   the object store's S3 endpoint and region
  --cache-read-only           never write, move or delete (clear and --quarantine refused)
  --dataset, --market, --symbol, --interval, --start TIME, --end TIME   select partitions
  --json                      machine-readable output
  --vision-url URL            verify: compare Vision partitions with Vision's .CHECKSUM now
  --quarantine                verify: move corrupt files aside
  --all                       clear: delete every partition (else a filter is required)`;

function parse(args: string[]) {
  try {
    return parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: {
        ...CACHE_FLAGS,
        "dataset": { type: "string" },
        "market": { type: "string" },
        "symbol": { type: "string" },
        "interval": { type: "string" },
        "start": { type: "string" },
        "end": { type: "string" },
        "json": { type: "boolean" },
        "vision-url": { type: "string" },
        "quarantine": { type: "boolean" },
        "all": { type: "boolean" },
        "help": { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function visionBase(text: string): string {
  try {
    const url = new URL(text);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error();
  } catch {
    throw new UsageError(`Cannot use --vision-url "${text}": expected an http or https URL`);
  }
  return text.replace(/\/+$/, "");
}

/**
 * Parses `dsm cache <subcommand> [options]`. Filters are validated here
 * (a bad market, symbol, interval or time raises its typed error).
 *
 * @param args The arguments after `cache`.
 * @param env Environment lookup for `DSM_CACHE_DIR`.
 * @returns The command, or `"help"`.
 * @throws {UsageError} For an unknown subcommand or flag, or flags the subcommand does not take.
 * @throws {TypeError} A bad market, symbol, interval or time (with its `code`).
 */
export function parseCacheArgs(
  args: string[],
  env: (name: string) => string | undefined,
): CacheArgs | "help" {
  const { values: v, positionals } = parse(args);
  if (v.help) return "help";
  const [command, ...rest] = positionals;
  if (command === undefined) throw new UsageError("Cannot run dsm cache: a subcommand is required");
  if (!(CACHE_SUBCOMMANDS as readonly string[]).includes(command)) {
    throw new UsageError(
      `Cannot run dsm cache "${command}": expected one of ${CACHE_SUBCOMMANDS.join(", ")}`,
    );
  }
  if (rest.length > 0) throw new UsageError(`Cannot run dsm cache: unexpected "${rest[0]}"`);
  const only = (flag: string, sub: string) => {
    if (command !== sub) throw new UsageError(`Cannot use --${flag} with dsm cache ${command}`);
  };
  if (v["vision-url"] !== undefined) only("vision-url", "verify");
  if (v.quarantine) only("quarantine", "verify");
  if (v.all) only("all", "clear");
  const market: Market | undefined = v.market === undefined ? undefined : marketOf(v.market);
  const filter: CacheFilter = {};
  if (market) filter.market = market;
  if (v.dataset !== undefined) {
    // Funding rates and trades live beside the candle folders (no interval): datasets of their own.
    const dataset = parseDataset(v.dataset, market);
    const series = datasetInfo(dataset).series;
    filter.dataset = series === "grid" ? checkDataset(v.dataset, market) : dataset;
    if (series !== "grid" && v.interval !== undefined) {
      throw new UsageError(`Cannot use --interval with --dataset ${dataset} (${series}, no grid)`);
    }
  }
  if (v.symbol !== undefined) {
    refuseSeparator(v.symbol, market ?? "spot");
    const naming = filter.dataset === "indexPriceKlines" ? "pair" : undefined;
    filter.symbol = validateSymbol(v.symbol, market, naming);
  }
  if (v.interval !== undefined) filter.interval = parseInterval(v.interval, market);
  if (v.start !== undefined) filter.start = toEpochMs(v.start, "start");
  if (v.end !== undefined) filter.end = toEpochMs(v.end, "end");
  const filtered = Object.keys(filter).length > 0;
  if (command === "clear" && !filtered && !v.all) {
    throw new UsageError(
      "Cannot run dsm cache clear: give a filter, or --all to delete everything",
    );
  }
  if (v.all && filtered) throw new UsageError("Cannot use --all with a filter");
  return {
    command: command as CacheArgs["command"],
    ...cacheOptionsOf(v, env),
    filter,
    all: v.all ?? false,
    json: v.json ?? false,
    ...(v["vision-url"] !== undefined ? { visionUrl: visionBase(v["vision-url"]) } : {}),
    quarantine: v.quarantine ?? false,
  };
}

/**
 * Opens the cache. `ls`, `stats` and `verify` only read: they need read
 * permission only and create no file or folder (a missing root lists as
 * empty); `clear` and `verify --quarantine` need write access.
 */
async function open(args: CacheArgs, io: CacheIo): Promise<CacheStores> {
  let why = "";
  const reads = args.command === "ls" || args.command === "stats" ||
    (args.command === "verify" && !args.quarantine);
  const readOnly = reads || args.readOnly === true;
  const logger = (m: string) => {
    // a series folder linked out of the root: skipped, and said (verify also reports it)
    if (/^Cannot use cache folder /.test(m)) io.stderr(`dsm: ${m}\n`);
    else why = m;
  };
  const { dir, url, endpoint, region } = args;
  const cache = await openCacheStores({ dir, url, endpoint, region, readOnly, logger });
  const store = cache.klines;
  if (!store.enabled) {
    throw new Error(`Cannot open the cache: ${why.replace(/^Cache is off: /, "")}`);
  }
  if (!reads && !store.writable) {
    const what = args.command === "clear" ? "clear the cache" : "set corrupt files aside";
    throw new Error(`Cannot ${what}: it is ${why.replace(/^Cache is /, "")}`);
  }
  return cache;
}

/** The candle filter, or undefined when only funding rates or trades are selected. */
function klineFilter(args: CacheArgs): CacheFilter | undefined {
  const dataset = args.filter.dataset;
  return dataset !== undefined && datasetInfo(dataset).series !== "grid" ? undefined : args.filter;
}

/** A store of event partitions (funding rates, trades) and what the command selects in it. */
interface EventSelection {
  /** Key of its verify report in the JSON output. */
  name: "fundingRate" | "trades";
  /** Its name in the verify summary. */
  label: string;
  store: PartitionStore<unknown, unknown>;
  filter: PartitionFilter;
}

/** The event stores the filter selects, with their filters; none for a candle-only filter. */
function eventSelections(cache: CacheStores, args: CacheArgs): EventSelection[] {
  const f = args.filter;
  const series = f.dataset === undefined ? undefined : datasetInfo(f.dataset).series;
  if (f.interval !== undefined || series === "grid") return [];
  const ms = (t: unknown) => t === undefined ? undefined : toEpochMs(t as number, "time");
  const filter: PartitionFilter = {
    market: f.market,
    symbol: f.symbol,
    start: ms(f.start),
    end: ms(f.end),
    ...(f.dataset ? { dataset: f.dataset } : {}),
  };
  const out: EventSelection[] = [];
  const { funding, trades } = cache;
  if (series !== "trades" && funding) {
    out.push({ name: "fundingRate", label: "Funding rates", store: funding as never, filter });
  }
  if (series !== "events" && trades) {
    out.push({ name: "trades", label: "Trades", store: trades as never, filter });
  }
  return out;
}

/** The files of the selected event stores, with their place and footer metadata. */
async function eventFiles(selections: readonly EventSelection[]) {
  const out = [];
  for (const { store, filter } of selections) {
    for (const entry of await store.list(filter)) {
      const place = store.placeOf(entry.key);
      out.push({ ...entry, place, info: await store.info(entry.key) });
    }
  }
  return out;
}

async function ls(cache: CacheStores, args: CacheArgs, io: CacheIo): Promise<number> {
  const store = cache.klines;
  const kf = klineFilter(args);
  const entries = kf ? await store.list(kf) : [];
  const events = await eventFiles(eventSelections(cache, args));
  const infos = await Promise.all(entries.map((e) => store.info(e.key)));
  if (args.json) {
    const out = [
      ...entries.map((e, i) => ({
        ...e.key,
        path: e.path,
        bytes: e.bytes,
        modifiedAt: e.modifiedAt,
        source: infos[i]?.source ?? null,
        rows: infos[i]?.rows ?? null,
      })),
      ...events.map((e) => ({
        ...e.place,
        path: e.path,
        bytes: e.bytes,
        modifiedAt: e.modifiedAt,
        source: e.info?.source ?? null,
        rows: e.info?.rows ?? null,
      })),
    ];
    await io.print(JSON.stringify(out, null, 2) + "\n");
    return 0;
  }
  // A DATASET column appears once the cache holds other datasets than klines.
  const datasets = events.length > 0 || entries.some((e) => e.key.dataset !== undefined);
  const modified = (t: number | undefined) =>
    t === undefined ? "-" : new Date(t).toISOString().slice(0, 19) + "Z";
  const rows = [
    ...entries.map((e, i) => [
      ...(datasets ? [e.key.dataset ?? "klines"] : []),
      e.key.market,
      e.key.symbol,
      e.key.interval,
      e.key.partition,
      infos[i]?.source ?? "unreadable",
      infos[i]?.rows ?? "-",
      bytes(e.bytes),
      modified(e.modifiedAt),
    ]),
    ...events.map((e) => [
      e.place.dataset,
      e.place.market,
      e.place.symbol,
      "-",
      e.place.partition,
      e.info?.source ?? "unreadable",
      e.info?.rows ?? "-",
      bytes(e.bytes),
      modified(e.modifiedAt),
    ]),
  ];
  const head = [
    ...(datasets ? ["DATASET"] : []),
    ...["MARKET", "SYMBOL", "INTERVAL", "PARTITION", "SOURCE", "ROWS", "SIZE", "MODIFIED"],
  ];
  const total = [...entries, ...events].reduce((n, e) => n + e.bytes, 0);
  await io.print(
    (rows.length > 0 ? table(head, rows) : "") +
      `${rows.length} files, ${bytes(total)} in ${store.root}\n`,
  );
  return 0;
}

/** Totals per event series (dataset, market, symbol), from each file's footer. */
async function eventStats(selections: readonly EventSelection[]) {
  const series = new Map<string, CacheSeriesStats>();
  for (const e of await eventFiles(selections)) {
    const { dataset, market, symbol, partition } = e.place;
    const id = `${dataset} ${market} ${symbol}`;
    const s = series.get(id) ?? {
      dataset: dataset as Dataset,
      market,
      symbol,
      interval: "-" as Interval,
      partitions: 0,
      rows: 0,
      bytes: 0,
      restPartitions: 0,
      unreadable: 0,
      first: partition,
      last: partition,
    };
    s.partitions++;
    s.bytes += e.bytes;
    s.rows += e.info?.rows ?? 0;
    s.restPartitions += e.info?.source === "REST" ? 1 : 0;
    s.unreadable += e.info === undefined ? 1 : 0;
    s.last = partition;
    series.set(id, s);
  }
  return [...series.values()];
}

async function stats(cache: CacheStores, args: CacheArgs, io: CacheIo): Promise<number> {
  const store = cache.klines;
  const kf = klineFilter(args);
  const s = kf ? await store.stats(kf) : emptyStats();
  for (const f of await eventStats(eventSelections(cache, args))) {
    s.series.push(f);
    s.partitions += f.partitions;
    s.rows += f.rows;
    s.bytes += f.bytes;
    s.restPartitions += f.restPartitions;
    s.unreadable += f.unreadable;
  }
  if (args.json) {
    await io.print(JSON.stringify({ root: store.root, ...s }, null, 2) + "\n");
    return 0;
  }
  const datasets = s.series.some((x) => x.dataset !== undefined);
  const head = [
    ...(datasets ? ["DATASET"] : []),
    ...["MARKET", "SYMBOL", "INTERVAL", "FIRST", "LAST", "FILES", "ROWS", "SIZE", "REST"],
  ];
  const line = (t: CacheTotals, first: string[]) => [
    ...first,
    t.partitions,
    t.rows,
    bytes(t.bytes),
    t.restPartitions,
  ];
  const rows = s.series.map((x) =>
    line(x, [
      ...(datasets ? [x.dataset ?? "klines"] : []),
      ...[x.market, x.symbol, x.interval, x.first, x.last],
    ])
  );
  const unreadable = s.unreadable > 0 ? `; ${s.unreadable} unreadable (run dsm cache verify)` : "";
  await io.print(
    (rows.length > 0
      ? table(head, [...rows, line(s, ["total", "", "", "", "", ...(datasets ? [""] : [])])])
      : "") +
      `${s.series.length} series, ${s.partitions} files, ${s.rows} rows, ${bytes(s.bytes)}` +
      `${unreadable} in ${store.root}\n`,
  );
  return 0;
}

async function verify(cache: CacheStores, args: CacheArgs, io: CacheIo): Promise<number> {
  const store = cache.klines;
  const vision = args.visionUrl
    ? visionChecksums(args.visionUrl, { signal: io.signal })
    : undefined;
  const kf = klineFilter(args);
  const report = kf
    ? await store.verify({
      filter: kf,
      quarantine: args.quarantine,
      signal: io.signal,
      checksumLookup: vision?.lookup,
    })
    : emptyVerifyReport();
  const events = [];
  for (const e of eventSelections(cache, args)) {
    events.push({ ...e, report: await e.store.verify(e.filter, args.quarantine) });
  }
  const counts = vision?.counts;
  if (args.json) {
    const next = nextSteps(report, args.dir);
    const own = Object.fromEntries(events.map((e) => [e.name, e.report]));
    await io.print(
      JSON.stringify({ root: store.root, ...report, ...own, vision: counts, next }, null, 2) +
        "\n",
    );
  } else {
    let text = verifyText(report, counts, args.dir);
    for (const { label, store: partitions, report: r } of events) {
      if (r.checked === 0) continue;
      text += `${label}: checked ${r.checked} files: ${r.ok} ok, ${r.corrupt.length} corrupt\n`;
      for (const c of r.corrupt) {
        const p = partitions.placeOf(c.key);
        text += `CORRUPT  ${p.dataset} ${p.market} ${p.symbol} ${p.partition}: ` +
          `${c.reason}${c.movedTo ? ` (moved to ${c.movedTo})` : ""}\n`;
      }
    }
    await io.print(text);
  }
  const corrupt = events.reduce((n, e) => n + e.report.corrupt.length, report.corrupt.length);
  const failed = corrupt + report.stale.length + (counts?.failed.length ?? 0) +
    report.refused.length;
  if (failed > 0) {
    const refused = report.refused.length > 0
      ? `, ${report.refused.length} folders refused (outside the cache root)`
      : "";
    io.stderr(
      `dsm: The cache failed verification: ${corrupt} corrupt, ` +
        `${report.stale.length} stale, ${counts?.failed.length ?? 0} unchecked${refused}\n`,
    );
  }
  return failed > 0 ? 1 : 0;
}

async function clear(cache: CacheStores, args: CacheArgs, io: CacheIo): Promise<number> {
  const store = cache.klines;
  const kf = klineFilter(args);
  let deleted = kf || args.all ? await store.clear(args.all ? undefined : kf) : 0;
  for (const e of eventSelections(cache, args)) deleted += await e.store.clear(e.filter);
  await io.print(
    args.json
      ? JSON.stringify({ root: store.root, deleted }) + "\n"
      : `Deleted ${deleted} partition files from ${store.root}\n`,
  );
  return 0;
}

/**
 * Runs a cache command.
 *
 * @param args The parsed command.
 * @param io Output and signal.
 * @returns The exit code: 0 ok; 1 when `verify` finds a corrupt or stale
 *   file or a series folder linked out of the root, or cannot fetch a Vision
 *   checksum.
 * @throws {Error} When the cache cannot be opened (no permission, uncreatable folder).
 * @throws {CacheError} When a cache file cannot be read or deleted.
 */
export async function runCacheCommand(args: CacheArgs, io: CacheIo): Promise<number> {
  const cache = await open(args, io);
  switch (args.command) {
    case "ls":
      return await ls(cache, args, io);
    case "stats":
      return await stats(cache, args, io);
    case "verify":
      return await verify(cache, args, io);
    case "clear":
      return await clear(cache, args, io);
  }
}
