/**
 * Setup of the source chain tests: a manager on the emulator with the tests'
 * clock, what the URLs recorded by `_recording_fetch.ts` asked for, and a
 * temporary cache folder.
 *
 * @module
 */
import { type Emulator, startEmulator } from "../../src/emulator/emulator.ts";
import type { EmulatorOptions } from "../../src/emulator/emulator_options.ts";
import {
  DataSourceManager,
  type DataSourceManagerOptions,
} from "../../src/fcp/data_source_manager.ts";
import { groundTruth } from "./_ground_truth.ts";

/** The tests' clock: 2025-02-10 12:30 UTC. */
export const NOW = Date.UTC(2025, 1, 10, 12, 30);
/** An hour, ms. */
export const H = 3_600_000;
/** A day, ms. */
export const DAY = 86_400_000;
/** 2024-01-01 and 2024-01-02: closed days of regular history. */
export const D1 = Date.UTC(2024, 0, 1), D2 = Date.UTC(2024, 0, 2), D3 = Date.UTC(2024, 0, 3);
/** Spot BTCUSDT 1h. */
export const BTC = { symbol: "BTCUSDT", interval: "1h" as const };
/** The first day's daily archive of spot BTCUSDT 1h. */
export const DAY1 = "BTCUSDT-1h-2024-01-01.zip";
/** Retries fast enough for tests. */
export const RETRY = { attempts: 2, baseDelayMs: 1, maxDelayMs: 2, maxRetryAfterMs: 5 };

/** The rows of spot BTCUSDT 1h in `[start, end)` a client must return, with the exchange's gaps. */
export function truth(start: number, end: number, gaps?: { start: number; end: number }[]) {
  return groundTruth("spot", "BTCUSDT", "1h", start, end, gaps ? { gaps } : {});
}

/** The emulator on the tests' clock. */
export function emulator(options: EmulatorOptions = {}): Promise<Emulator> {
  return startEmulator({ latencyMs: 0, now: NOW, ...options });
}

/** A manager on the emulator at `url`, without a cache unless given one. */
export function managerOn(
  url: string,
  options: DataSourceManagerOptions = {},
): DataSourceManager {
  return new DataSourceManager({
    cache: false,
    now: () => NOW,
    retry: RETRY,
    endpoints: { vision: url, listing: url, rest: url },
    ...options,
  });
}

/** The `[start, end)` spans of the REST kline requests among `urls`. */
export function restSpans(urls: readonly URL[]): [number, number][] {
  return urls.filter((u) => u.pathname.endsWith("/klines")).map((u) => [
    Number(u.searchParams.get("startTime")),
    Number(u.searchParams.get("endTime")) + 1,
  ]);
}

/** The names of the Vision archives (zips, not CHECKSUMs) among `urls`. */
export function archives(urls: readonly URL[]): string[] {
  return urls.filter((u) => u.pathname.endsWith(".zip")).map((u) =>
    u.pathname.slice(u.pathname.lastIndexOf("/") + 1)
  );
}

/** A temporary folder, removed on dispose. */
export async function tempDir(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "dsm_source_chain_" });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

/** A JSON error answer as Binance sends it. */
export function binanceError(status: number, code: number, msg: string): Response {
  return new Response(JSON.stringify({ code, msg }), {
    status,
    headers: { "content-type": "application/json;charset=UTF-8" },
  });
}
