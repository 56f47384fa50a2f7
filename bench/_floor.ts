/**
 * The floor of a cold month in the end-to-end benchmark, measured in a
 * process of its own: what any client must spend to return one monthly
 * Vision archive's rows at the emulator's latency.
 *
 * - round trips: the listing, then the CHECKSUM and the archive together:
 *   2 × latency (the caller adds them: it knows the configured latency);
 * - transfer: the archive's bytes over loopback with no latency, from a
 *   server in this process (median of a few warm fetches);
 * - decode: `streamKlineZip` of the same bytes with their SHA-256 checked,
 *   every batch read (median of a few warm runs).
 *
 * Prints one JSON line ({@linkcode FloorMeasure}) on stdout.
 *
 * Run: `deno run -A bench/_floor.ts --archive <url of the zip> --runs 5`
 *
 * @module
 */
import { parseArgs } from "node:util";
import { streamKlineZip } from "../src/codec/read_kline.ts";
import { median } from "./_report.ts";

/** What the floor process measured for one archive. */
export interface FloorMeasure {
  /** Archive size, bytes. */
  zipBytes: number;
  /** CHECKSUM file size, bytes. */
  checksumBytes: number;
  /** Median time to fetch the archive over loopback with no latency, ms. */
  transferMs: number;
  /** Loopback speed of that fetch, MB/s (10^6 bytes). */
  loopbackMBps: number;
  /** Median time to decode the archive's bytes (SHA-256 checked), ms. */
  decodeMs: number;
  /** Rows the decode returned. */
  rows: number;
}

async function bytesOf(url: string): Promise<Uint8Array<ArrayBuffer>> {
  const res = await fetch(url);
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`Cannot measure the floor: "${url}" answered ${res.status}`);
  }
  return new Uint8Array(await res.arrayBuffer());
}

async function timed(runs: number, work: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 2; i++) await work(); // warm: JIT, connection
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await work();
    times.push(performance.now() - t0);
  }
  return median(times);
}

async function decodeRows(zip: Uint8Array, sha: string): Promise<number> {
  let rows = 0;
  for await (const batch of streamKlineZip(zip, { expectedSha256: sha })) rows += batch.numRows;
  return rows;
}

/**
 * Measures transfer and decode of one archive.
 *
 * @param archiveUrl The zip's URL (its CHECKSUM is the URL + `.CHECKSUM`).
 * @param runs Timed runs of each measure (after two warm-ups).
 * @returns The measures.
 */
export async function measureFloor(archiveUrl: string, runs: number): Promise<FloorMeasure> {
  const zip = await bytesOf(archiveUrl);
  const checksum = await bytesOf(`${archiveUrl}.CHECKSUM`);
  const sha = new TextDecoder().decode(checksum).trim().split(/\s+/)[0];
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(zip, { headers: { "content-type": "application/zip" } }),
  );
  const local = `http://127.0.0.1:${server.addr.port}/a.zip`;
  const transferMs = await timed(runs, async () => {
    const got = await bytesOf(local);
    if (got.length !== zip.length) throw new Error("Cannot measure the floor: short read");
  });
  let rows = 0;
  const decodeMs = await timed(runs, async () => {
    rows = await decodeRows(zip, sha);
  });
  return {
    zipBytes: zip.length,
    checksumBytes: checksum.length,
    transferMs,
    loopbackMBps: zip.length / 1e6 / (transferMs / 1000),
    decodeMs,
    rows,
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { archive: { type: "string" }, runs: { type: "string", default: "5" } },
  });
  if (!values.archive) throw new TypeError("Cannot measure the floor: --archive is missing");
  const runs = Math.max(1, Number(values.runs) || 1);
  console.log(JSON.stringify(await measureFloor(values.archive, runs)));
}
