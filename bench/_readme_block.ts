/**
 * README.md's comparison, regenerated from one run of the end-to-end
 * benchmark (`deno task bench:e2e --readme`): the block of "How it
 * compares" between {@linkcode BEGIN} and {@linkcode END} is replaced by the
 * run's machine line, its month table (contender rows × spot/um/cm, ratios
 * to this module cold, requests), the cold months ÷ their floor and a short
 * warm-year line (Polars, the same-process calls, the 1s stream). Nothing
 * else of README.md changes; the block is formatted alone with `deno fmt`.
 * It holds no command line (README's `sh` blocks are run by
 * `tests/reliability/readme_commands_test.ts`).
 *
 * @module
 */
import { join } from "node:path";
import { fixed } from "./_report.ts";

/** The first line of the generated block. */
export const BEGIN = "<!-- e2e:begin -->";
/** The last line of the generated block. */
export const END = "<!-- e2e:end -->";

const MARKETS = ["spot", "um", "cm"] as const;

/** One contender of the month table. */
export interface MonthLine {
  /** The README's label (markdown). */
  label: string;
  /** Times in bold (this module's own rows). */
  bold: boolean;
  /** Print the ratio to this module cold after each time. */
  ratio: boolean;
  /** Median ms per market. */
  ms: Record<(typeof MARKETS)[number], number>;
  /** Requests of one run per market. */
  requests: Record<(typeof MARKETS)[number], number>;
}

/** What the block shows, from one run. */
export interface ReadmeFigures {
  /** The machine line of the run. */
  machine: string;
  /** The run's fixed clock, epoch ms. */
  clock: number;
  /** Runs per contender (medians). */
  runs: number;
  /** The emulator's latency per response, ms. */
  latencyMs: number;
  /** Rows of the month. */
  monthRows: number;
  /** The month table, this module cold first. */
  month: MonthLine[];
  /** Per market: cold, no cache and the bare client, each ÷ the floor. */
  floors: { market: string; cold: number; noCache: number; bare: number }[];
  /** The warm year. */
  year: {
    rows: number;
    coldMs: number;
    coldRequests: number;
    warmMs: number;
    /** Polars' collect, ms, or why it did not run. */
    polars: { ms: number } | { error: string };
    partitions: number;
    storeMs: number;
    thirdMs: number;
  };
  /** `stream()` over 30 days of 1s. */
  stream: { rows: number; ms: number; requests: number; peakMb: number };
}

function times(x: number): string {
  return `${fixed(x, x >= 20 ? 0 : 1)}×`;
}

/**
 * The block, markers included, before formatting.
 *
 * @param f The run's figures.
 * @returns Markdown.
 */
export function renderReadmeBlock(f: ReadmeFigures): string {
  const cold = f.month[0];
  const cell = (line: MonthLine, m: (typeof MARKETS)[number]) => {
    const ms = fixed(line.ms[m], 0);
    const value = line.bold ? `**${ms}**` : ms;
    return line.ratio ? `${value} (${times(line.ms[m] / cold.ms[m])})` : value;
  };
  const requests = (line: MonthLine) => {
    const seen = [...new Set(MARKETS.map((m) => line.requests[m]))];
    return seen.length === 1 ? String(seen[0]) : MARKETS.map((m) => line.requests[m]).join(" / ");
  };
  const y = f.year;
  const polars = "ms" in y.polars
    ? `nodejs-polars \`scanIPC\` of the same cache folder's files in ${fixed(y.polars.ms, 0)} ms ` +
      `(Polars ÷ this module: ${fixed(y.polars.ms / y.warmMs, 2)}×; target ≥ 2×)`
    : `nodejs-polars did not run on this machine (${y.polars.error})`;
  const floors = f.floors.map((x) => `${x.market} ${fixed(x.cold, 2)}×`).join(", ");
  const noCache = f.floors.map((x) => `${x.market} ${fixed(x.noCache, 2)}×`).join(", ");
  const bare = f.floors.map((x) => `${x.market} ${fixed(x.bare, 2)}×`).join(", ");
  return [
    BEGIN,
    "",
    `${f.machine}; clock ${new Date(f.clock).toISOString().slice(0, 10)}, median of ${f.runs} ` +
    `run${f.runs === 1 ? "" : "s"} per contender.`,
    "",
    `One month of 1m klines (${fixed(f.monthRows, 0)} rows), time in ms (ratio to this module ` +
    "cold):",
    "",
    "| contender | spot | um | cm | requests |",
    "| --- | --- | --- | --- | --- |",
    ...f.month.map((line) =>
      `| ${line.label} | ${MARKETS.map((m) => cell(line, m)).join(" | ")} | ${requests(line)} |`
    ),
    "",
    `Cold month ÷ its floor (2 × ${f.latencyMs} ms latency + the archive's loopback transfer + ` +
    `its decode alone, measured in the same run): ${floors}; without cache: ${noCache}; the ` +
    `bare client (a fresh process that only fetches and decodes the archive): ${bare}.`,
    "",
    `Also: a year of 1m (${fixed(y.rows, 0)} rows) cold in ${fixed(y.coldMs / 1000, 2)} s ` +
    `(${y.coldRequests} requests) and warm in ${fixed(y.warmMs, 0)} ms in a fresh process; ` +
    `${polars}; in one process, the store's own read of the ${y.partitions} partitions takes ` +
    `${fixed(y.storeMs, 0)} ms and the third \`getData\` of the year ${fixed(y.thirdMs, 0)} ms ` +
    `(getData ÷ store: ${fixed(y.thirdMs / y.storeMs, 2)}×; target ≤ 2×); \`stream()\` over 30 ` +
    "days of 1s " +
    `(${fixed(f.stream.rows, 0)} rows, ${f.stream.requests} requests) in ` +
    `${fixed(f.stream.ms / 1000, 1)} s at ${fixed(f.stream.peakMb, 0)} MB peak RSS (whole ` +
    "process, runtime included).",
    "",
    END,
  ].join("\n");
}

/** Formats markdown with `deno fmt` (the repository's line width), alone in a temp folder. */
async function formatted(markdown: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "dsm_readme_" });
  try {
    const file = join(dir, "block.md");
    await Deno.writeTextFile(file, markdown + "\n");
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["fmt", "--quiet", "--no-config", "--line-width=100", file],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(`Cannot format the README block: ${new TextDecoder().decode(out.stderr)}`);
    }
    return (await Deno.readTextFile(file)).trimEnd();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Replaces the block between {@linkcode BEGIN} and {@linkcode END} of a
 * README with this run's figures.
 *
 * @param path README.md.
 * @param f The run's figures.
 * @throws {Error} When the markers are not there once each, in order (nothing is written).
 */
export async function writeReadmeBlock(path: string, f: ReadmeFigures): Promise<void> {
  const readme = await Deno.readTextFile(path);
  const at = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (
    at < 0 || end < at || readme.indexOf(BEGIN, at + 1) >= 0 || readme.indexOf(END, end + 1) >= 0
  ) {
    throw new Error(`Cannot rewrite "${path}": expected one "${BEGIN}" before one "${END}"`);
  }
  const block = await formatted(renderReadmeBlock(f));
  await Deno.writeTextFile(path, readme.slice(0, at) + block + readme.slice(end + END.length));
}
