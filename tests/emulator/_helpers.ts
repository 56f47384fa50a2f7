/**
 * Shared helpers of the emulator tests: a fixed clock, fetch wrappers and an
 * independent single-entry unzip (central directory + node:zlib).
 *
 * @module
 */
import { inflateRawSync } from "node:zlib";

/** The fixed clock of most tests: 2026-11-25 08:30:15.250 UTC. */
export const NOW: number = Date.UTC(2026, 10, 25, 8, 30, 15, 250);

/** Fetches a path of the emulator and returns status, headers and text. */
export async function get(
  base: string,
  path: string,
): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(base + path);
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** Fetches a path and returns its bytes (status must be 200). */
export async function getBytes(base: string, path: string): Promise<Uint8Array> {
  const res = await fetch(base + path);
  if (res.status !== 200) {
    await res.body?.cancel();
    throw new Error(`Unexpected status ${res.status} for ${path}`);
  }
  return new Uint8Array(await res.arrayBuffer());
}

/** The single entry of a zip: its name, flags and text. */
export function unzipText(zip: Uint8Array): { name: string; flags: number; text: string } {
  const v = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const end = zip.length - 22;
  if (v.getUint32(end, true) !== 0x06054b50) throw new Error("No end of central directory");
  const cd = v.getUint32(end + 16, true);
  const flags = v.getUint16(cd + 8, true);
  const csize = v.getUint32(cd + 20, true);
  const nameLen = v.getUint16(cd + 28, true);
  const local = v.getUint32(cd + 42, true);
  const name = new TextDecoder().decode(zip.subarray(cd + 46, cd + 46 + nameLen));
  const start = local + 30 + v.getUint16(local + 26, true) + v.getUint16(local + 28, true);
  const text = new TextDecoder().decode(inflateRawSync(zip.subarray(start, start + csize)));
  return { name, flags, text };
}

/** Lowercase hex SHA-256. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new Uint8Array(bytes));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The CSV lines of a Vision zip (without the final empty string). */
export async function visionLines(base: string, key: string): Promise<string[]> {
  const { text } = unzipText(await getBytes(base, `/${key}`));
  return text.split("\n").slice(0, -1);
}

/** The Vision key of a kline file. */
export function visionKey(
  market: "spot" | "futures/um" | "futures/cm",
  period: "daily" | "monthly",
  symbol: string,
  interval: string,
  date: string,
): string {
  return `data/${market}/${period}/klines/${symbol}/${interval}/${symbol}-${interval}-${date}.zip`;
}
