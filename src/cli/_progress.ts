/**
 * The progress line and the final summary of `dsm fetch`.
 *
 * @module
 */
import type { FetchProgress } from "../fcp/fetch_run.ts";
import type { FetchReport, PartitionReport } from "../fcp/fetch_report.ts";
import type { FundingReport } from "../fcp/funding_fetch.ts";
import type { TradeReport } from "../fcp/trade_run.ts";

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, "0")}m`;
}

/**
 * One progress line: partitions done/total, files, bytes, rows, rate, ETA.
 *
 * @param p The progress.
 * @param elapsedMs Time since the fetch began.
 * @returns The line, without carriage return.
 */
export function formatProgress(p: FetchProgress, elapsedMs: number): string {
  const seconds = elapsedMs / 1000;
  const rate = seconds > 0 ? `${bytes(Math.round(p.bytes / seconds))}/s` : "-";
  const eta = p.partitionsDone > 0 && p.partitionsDone < p.partitionsTotal
    ? duration(elapsedMs / p.partitionsDone * (p.partitionsTotal - p.partitionsDone))
    : p.partitionsDone >= p.partitionsTotal
    ? "0s"
    : "-";
  return `${p.partitionsDone}/${p.partitionsTotal} partitions, ${p.files} files, ` +
    `${bytes(p.bytes)}, ${p.rows} rows, ${rate}, ETA ${eta}`;
}

/**
 * The one-line summary: rows, partitions per source, gaps, anomalies (when
 * any), partial, time.
 *
 * @param report The report.
 * @param elapsedMs Wall time of the command.
 * @returns The line.
 */
export function formatSummary(
  report: FetchReport | FundingReport | TradeReport,
  elapsedMs: number,
): string {
  if ("idGaps" in report) {
    const check = report.klineCheck;
    return `${report.rows} ${report.dataset} ${report.symbol} ${report.market}; ` +
      `days: ${sourceCounts(report.partitions)}; ${report.idGapCount} id gaps` +
      (report.missingIds > 0 ? ` (${report.missingIds} ids)` : "") +
      (report.gaps.length > 0 ? `; ${report.gaps.length} unfetched spans` : "") +
      (check ? `; klines check: ${check.mismatchCount} of ${check.minutes} minutes differ` : "") +
      `${report.partial ? "; partial" : ""}; ${(elapsedMs / 1000).toFixed(2)} s`;
  }
  if ("intervalChanges" in report) {
    const changes = report.intervalChanges.length;
    return `${report.rows} funding events ${report.symbol} ${report.market}; ` +
      `months: ${report.partitions.map((p) => p.sources[0] ?? "none").join(", ") || "none"}; ` +
      `${report.gaps.length} gaps${changes > 0 ? `; ${changes} interval changes` : ""}` +
      `${report.partial ? "; partial" : ""}; ${(elapsedMs / 1000).toFixed(2)} s`;
  }
  const sources = sourceCounts(report.partitions);
  const klines = report as FetchReport;
  const slots = klines.gaps.reduce((sum, g) => sum + g.slots, 0);
  return `${klines.rows} rows ${klines.symbol} ${klines.interval} ${klines.market}; ` +
    `partitions: ${sources}; ${report.gaps.length} gaps (${slots} slots)` +
    `${klines.anomalyCount > 0 ? `; ${klines.anomalyCount} anomalies` : ""}` +
    `${klines.partial ? "; partial" : ""}; ${(elapsedMs / 1000).toFixed(2)} s`;
}

/** How many partitions each source served, e.g. `vision-daily 3, rest 1`. */
function sourceCounts(partitions: readonly PartitionReport[]): string {
  const counts = new Map<string, number>();
  for (const p of partitions) {
    for (const s of p.sources) counts.set(s, (counts.get(s) ?? 0) + 1);
  }
  return [...counts].map(([s, n]) => `${s} ${n}`).join(", ") || "none";
}

/** Redraws a progress line on a terminal, at most every 100 ms. */
export class ProgressLine {
  readonly #write: (text: string) => void;
  readonly #started = performance.now();
  #last = -Infinity;
  #drawn = false;

  /**
   * Creates the instance.
   *
   * @param write Writes text to stderr.
   */
  constructor(write: (text: string) => void) {
    this.#write = write;
  }

  /** @param p The latest progress. */
  update(p: FetchProgress): void {
    const now = performance.now();
    const final = p.partitionsDone >= p.partitionsTotal;
    if (!final && now - this.#last < 100) return;
    this.#last = now;
    this.#drawn = true;
    this.#write(`\r\x1b[2K${formatProgress(p, now - this.#started)}`);
  }

  /** Ends the line, if one was drawn. */
  end(): void {
    if (this.#drawn) this.#write("\n");
    this.#drawn = false;
  }
}
