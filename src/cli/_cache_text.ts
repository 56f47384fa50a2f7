/**
 * The text of `dsm cache`: sizes, aligned tables, the verification summary.
 *
 * @module
 */
import type { PartitionKey, VerifyReport } from "../cache/kline_store.ts";
import type { ChecksumLookupCounts } from "./_vision_checksums.ts";

/** A byte count in B, KiB, MiB or GiB. */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** Left-aligned text columns, right-aligned numbers, two spaces apart. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const numeric = header.map((_, c) =>
    rows.length > 0 && rows.every((r) => typeof r[c] === "number")
  );
  const widths = header.map((_, c) => Math.max(...cells.map((r) => r[c].length)));
  return cells.map((r) =>
    r.map((x, c) => numeric[c] ? x.padStart(widths[c]) : x.padEnd(widths[c])).join("  ").trimEnd()
  ).join("\n") + "\n";
}

function shellWord(text: string): string {
  return /^[\p{L}\p{N}_./:=@%+-]+$/u.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}

/** First day of a day (`2024-01-02`) or month (`2024-01`) partition, and the first day after it. */
function daysOf(partition: string): [string, string] {
  const [y, m, d] = partition.split("-").map(Number);
  const start = Date.UTC(y, m - 1, d ?? 1);
  const end = d === undefined ? Date.UTC(y, m, 1) : start + 86_400_000;
  return [new Date(start).toISOString().slice(0, 10), new Date(end).toISOString().slice(0, 10)];
}

/** `--market .. --symbol .. --interval .. --start .. --end ..` for each series, over its partitions. */
function seriesRanges(keys: readonly PartitionKey[], cacheDir: string | undefined): string[] {
  const series = new Map<string, { key: PartitionKey; start: string; end: string }>();
  for (const key of keys) {
    const id = `${key.market} ${key.symbol} ${key.interval}`;
    const [start, end] = daysOf(key.partition);
    const s = series.get(id);
    if (s === undefined) series.set(id, { key, start, end });
    else [s.start, s.end] = [start < s.start ? start : s.start, end > s.end ? end : s.end];
  }
  const dir = cacheDir === undefined ? "" : ` --cache-dir ${shellWord(cacheDir)}`;
  return [...series.values()].map(({ key, start, end }) =>
    `--market ${key.market} --symbol ${shellWord(key.symbol)} --interval ${key.interval} ` +
    `--start ${start} --end ${end}${dir}`
  );
}

/**
 * What to run after a verification: fetch corrupt partitions again (a read
 * sets a corrupt file aside), replace stale ones, upgrade REST ones.
 *
 * @param r The report.
 * @param cacheDir The `--cache-dir` the verification was given, if any.
 * @returns One line per series and finding, `<FINDING>: <command>`.
 */
export function nextSteps(r: VerifyReport, cacheDir?: string): string[] {
  const lines: string[] = [];
  for (const range of seriesRanges(r.corrupt.map((c) => c.key), cacheDir)) {
    lines.push(`fetch the corrupt partitions again: dsm fetch ${range} --quiet > /dev/null`);
  }
  for (const range of seriesRanges(r.stale.map((s) => s.key), cacheDir)) {
    lines.push(
      `replace the stale partitions: dsm cache clear ${range} && ` +
        `dsm fetch ${range} --quiet > /dev/null`,
    );
  }
  for (const range of seriesRanges(r.upgradable, cacheDir)) {
    lines.push(
      `upgrade the REST partitions to Vision archives once listed: ` +
        `dsm fetch ${range} --quiet > /dev/null`,
    );
  }
  return lines;
}

/** The summary of a verification, one line per finding, then what to run next. */
export function verifyText(
  r: VerifyReport,
  counts: ChecksumLookupCounts | undefined,
  cacheDir?: string,
): string {
  const lines = [
    `Checked ${r.checked} files: ${r.ok} ok, ${r.corrupt.length} corrupt, ` +
    `${r.stale.length} stale, ${r.upgradable.length} from REST (upgradable to Vision)`,
  ];
  const name = (k: { market: string; symbol: string; interval: string; partition: string }) =>
    `${k.market} ${k.symbol} ${k.interval} ${k.partition}`;
  for (const c of r.corrupt) {
    lines.push(
      `CORRUPT  ${name(c.key)}: ${c.reason}${c.movedTo ? ` (moved to ${c.movedTo})` : ""}`,
    );
  }
  for (const s of r.stale) {
    lines.push(`STALE    ${name(s.key)}: cached ${s.cached}, Vision now ${s.current}`);
  }
  for (const f of r.refused) lines.push(`REFUSED  ${f.reason}`);
  if (counts) {
    lines.push(
      `Vision checksums: ${counts.fetched} fetched, ${counts.missing} no longer published, ` +
        `${counts.failed.length} failed`,
    );
    for (const f of counts.failed.slice(0, 10)) lines.push(`UNCHECKED ${f.partition}: ${f.reason}`);
  }
  if (r.removedTemp > 0) lines.push(`Removed ${r.removedTemp} abandoned temporary files`);
  for (const step of nextSteps(r, cacheDir)) lines.push(`Next, ${step}`);
  return lines.join("\n") + "\n";
}
