/**
 * The naive script as an end-to-end contender: for each day of the range,
 * one after the other, download the daily Vision zip, unzip it with zip.js
 * (its defaults), decode the CSV to a string, split lines and fields, and
 * `parseFloat` every number into an array of rows. No checksum, no cache.
 * It skips a header line (futures files carry one) and turns microsecond
 * open times (spot files from 2025) into milliseconds, the least a script
 * must do to return the same rows.
 *
 * @module
 */
import { terminateWorkers, TextWriter, Uint8ArrayReader, ZipReader } from "@zip.js/zip.js";
import type { ContenderJob, RunnerResult } from "./_contender.ts";
import { runnerResult } from "./_runner_result.ts";

const DAY = 86_400_000;
const VISION_MARKET = { spot: "spot", um: "futures/um", cm: "futures/cm" } as const;

function dayUrl(job: ContenderJob, day: number): string {
  const date = new Date(day).toISOString().slice(0, 10);
  const name = `${job.symbol}-${job.interval}-${date}.zip`;
  return `${job.url}/data/${VISION_MARKET[job.market]}/daily/klines/${job.symbol}/` +
    `${job.interval}/${name}`;
}

async function csvOf(zip: Uint8Array): Promise<string> {
  const reader = new ZipReader(new Uint8ArrayReader(zip));
  try {
    const [entry] = await reader.getEntries();
    if (!entry || entry.directory) throw new Error("Cannot read the archive: it has no file");
    return await entry.getData!(new TextWriter());
  } finally {
    await reader.close();
  }
}

function parseRows(csv: string, into: number[][]): void {
  for (const line of csv.split("\n")) {
    if (line === "") continue;
    const fields = line.split(",");
    if (Number.isNaN(parseFloat(fields[0]))) continue; // header
    const row = new Array<number>(11);
    for (let i = 0; i < 11; i++) row[i] = parseFloat(fields[i]);
    if (row[0] > 1e14) { // microseconds
      row[0] = Math.floor(row[0] / 1000);
      row[6] = Math.floor(row[6] / 1000);
    }
    into.push(row);
  }
}

/**
 * Downloads and parses the daily files of the job's range one by one.
 *
 * @param job What to fetch and where; start and end must be whole UTC days.
 * @returns Rows, checksum of closes, and the number of downloads.
 */
export async function runNaiveZips(job: ContenderJob): Promise<RunnerResult> {
  const rows: number[][] = [];
  let requests = 0;
  try {
    for (let day = job.start; day < job.end; day += DAY) {
      const response = await fetch(dayUrl(job, day));
      requests++;
      if (!response.ok) {
        await response.body?.cancel();
        throw new Error(`Cannot download "${dayUrl(job, day)}": HTTP ${response.status}`);
      }
      const zip = new Uint8Array(await response.arrayBuffer());
      parseRows(await csvOf(zip), rows);
    }
  } finally {
    await terminateWorkers();
  }
  return runnerResult(rows, requests);
}
