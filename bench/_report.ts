/**
 * The result table of the end-to-end benchmark: one row per contender and
 * workload, in markdown, and the line naming the machine it ran on.
 *
 * @module
 */

/** One measured contender on one workload. */
export interface BenchRow {
  /** Who: this module (cold, warm, ...), ccxt, the naive script. */
  contender: string;
  /** Market. */
  market: string;
  /** What: e.g. "1m month". */
  workload: string;
  /** Median wall time over the runs, ms. */
  ms: number;
  /** Runs measured. */
  runs: number;
  /** Rows returned. */
  rows: number;
  /** HTTP requests the emulator received in one run. */
  requests: number;
  /** Largest peak RSS over the runs, bytes. */
  peakRssBytes: number;
  /** Median time of this module cold on the same market and workload, ms. */
  baselineMs?: number;
  /** The workload's floor measured in the same run (round trips, transfer, decode), ms. */
  floorMs?: number;
}

/**
 * Median of a non-empty list.
 *
 * @param values The values.
 * @returns The median.
 */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Formats a number with a fixed count of decimals and thousands separators.
 *
 * @param value The number.
 * @param digits Decimals.
 * @returns The text.
 */
export function fixed(value: number, digits: number): string {
  return value.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/**
 * Renders the rows as a markdown table.
 *
 * @param rows The rows.
 * @returns The table, lines joined by newlines.
 */
export function markdownTable(rows: readonly BenchRow[]): string {
  const lines = [
    "| contender | market | workload | ms (median) | runs | rows | rows/s | requests | peak RSS MB | time ÷ this module cold | time ÷ floor |",
    "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|",
  ];
  for (const r of rows) {
    const ratio = r.baselineMs === undefined ? "" : `${fixed(r.ms / r.baselineMs, 2)}×`;
    const floor = r.floorMs === undefined ? "" : `${fixed(r.ms / r.floorMs, 2)}×`;
    lines.push(
      `| ${r.contender} | ${r.market} | ${r.workload} | ${fixed(r.ms, 1)} | ${r.runs} | ` +
        `${fixed(r.rows, 0)} | ${fixed(r.rows / (r.ms / 1000), 0)} | ${r.requests} | ` +
        `${fixed(r.peakRssBytes / 1048576, 1)} | ${ratio} | ${floor} |`,
    );
  }
  return lines.join("\n");
}

async function text(cmd: string, args: string[]): Promise<string> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).output();
    return new TextDecoder().decode(out.stdout).trim();
  } catch {
    return "?";
  }
}

/**
 * Names the machine: CPU count and model, memory, load average, Deno version.
 *
 * @returns One line.
 */
export async function machineLine(): Promise<string> {
  const nproc = await text("nproc", []);
  let model = "?";
  let memory = "?";
  let load = "?";
  try {
    model = /model name\s*:\s*(.*)/.exec(Deno.readTextFileSync("/proc/cpuinfo"))?.[1] ?? "?";
    const kb = /MemTotal:\s+(\d+)/.exec(Deno.readTextFileSync("/proc/meminfo"))?.[1];
    if (kb) memory = `${fixed(Number(kb) / 1048576, 1)} GiB`;
    load = Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  } catch {
    // not Linux
  }
  return `Machine: ${nproc} CPUs (nproc), ${model}, ${memory} RAM, load average ${load}; ` +
    `Deno ${Deno.version.deno} (V8 ${Deno.version.v8}), ${Deno.build.os}/${Deno.build.arch}`;
}
