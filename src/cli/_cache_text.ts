/**
 * The text of `dsm cache`: sizes, aligned tables, the verification summary.
 *
 * @module
 */
import type { VerifyReport } from "../cache/kline_store.ts";
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

/** The summary of a verification, one line per finding. */
export function verifyText(r: VerifyReport, counts: ChecksumLookupCounts | undefined): string {
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
  if (counts) {
    lines.push(
      `Vision checksums: ${counts.fetched} fetched, ${counts.missing} no longer published, ` +
        `${counts.failed.length} failed`,
    );
    for (const f of counts.failed.slice(0, 10)) lines.push(`UNCHECKED ${f.partition}: ${f.reason}`);
  }
  if (r.removedTemp > 0) lines.push(`Removed ${r.removedTemp} abandoned temporary files`);
  return lines.join("\n") + "\n";
}
