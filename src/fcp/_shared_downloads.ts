/**
 * The downloads of a kline fetch that serve several partitions (a monthly
 * archive, a REST walk), and the archive fetched before the plan: started
 * once, awaited by every partition that takes rows from them. Private.
 *
 * @module
 */
import type { VisionFileResult } from "../source/vision_client.ts";
import type { RequestCounts } from "./fetch_report.ts";
import type { RestStep, VisionStep } from "./fetch_plan.ts";
import type { ResolvedRequest } from "./kline_request.ts";
import { type KlineSegment, segmentOf } from "./kline_segment.ts";
import type { VisionArchives } from "./vision_archives.ts";

/** A shared download in flight or waiting for its partitions. */
interface Shared {
  promise: Promise<DownloadOutcome>;
  /** Partitions still to take from it; undefined while none has asked (a prefetch). */
  users: number | undefined;
  /** Whether its failure and request counts were taken by a partition already. */
  taken: boolean;
  /** Stops it when no partition will take it. */
  abort: AbortController;
}

/** What a Vision archive download gave. */
export type ArchiveOutcome =
  | { status: "ok"; file: Extract<VisionFileResult, { status: "ok" }>; segment: KlineSegment }
  | { status: "missing" }
  | { status: "failed"; error: unknown };

/** What a REST walk gave: its rows (and the error that stopped it early), or its failure. */
export type WalkOutcome =
  | { status: "ok"; segment: KlineSegment; error?: unknown; counts: RequestCounts }
  | { status: "failed"; error: unknown; counts: RequestCounts };

/** What a shared download gave. */
export type DownloadOutcome = ArchiveOutcome | WalkOutcome;

/**
 * The downloads of a fetch that serve several partitions (a monthly archive,
 * a REST walk), and the archive fetched before the plan: each is started by
 * the first partition that needs it (or by the run), awaited by the others,
 * and dropped once every partition sharing it has taken its rows.
 */
export class SharedDownloads {
  readonly #entries = new Map<string, Shared>();
  readonly #signal: AbortSignal;

  /**
   * Creates the downloads of one fetch.
   *
   * @param signal Cancels them all.
   */
  constructor(signal: AbortSignal) {
    this.#signal = signal;
  }

  #start(key: string, users: number | undefined, start: Download): Shared {
    const abort = new AbortController();
    const entry: Shared = {
      promise: start(AbortSignal.any([this.#signal, abort.signal])),
      users,
      taken: false,
      abort,
    };
    entry.promise.catch(() => {});
    this.#entries.set(key, entry);
    return entry;
  }

  /**
   * Starts a download before any partition asks for it: the first archive,
   * while the listing that plans the fetch is read.
   *
   * @param key The download's key.
   * @param start Starts it.
   */
  prefetch(key: string, start: Download): void {
    if (!this.#entries.has(key)) this.#start(key, undefined, start);
  }

  /**
   * Stops a prefetched download that no partition of the plan takes.
   *
   * @param key The download's key.
   * @returns What it gave (the abort reason's failure when stopped), or undefined when unknown.
   */
  async discard<T extends DownloadOutcome>(key: string): Promise<T | undefined> {
    const entry = this.#entries.get(key);
    if (!entry || entry.users !== undefined) return undefined;
    this.#entries.delete(key);
    entry.abort.abort(new DOMException("not in the plan", "AbortError"));
    return await entry.promise as T;
  }

  /**
   * The outcome of a download, started on first use.
   *
   * @param key The download's key.
   * @param users How many partitions will take from it.
   * @param start Starts it.
   * @returns The outcome, and whether this caller is the first to take it.
   */
  async take<T extends DownloadOutcome>(
    key: string,
    users: number,
    start: Download,
  ): Promise<{ outcome: T; first: boolean }> {
    let entry = this.#entries.get(key);
    if (!entry) entry = this.#start(key, users, start);
    entry.users ??= users;
    try {
      const outcome = await entry.promise as T;
      const first = !entry.taken;
      entry.taken = true;
      return { outcome, first };
    } finally {
      if (--entry.users <= 0) this.#entries.delete(key);
    }
  }
}

/** Starts a download; the signal stops it. */
export type Download = (signal: AbortSignal) => Promise<DownloadOutcome>;

/**
 * The key of a Vision archive among a fetch's shared downloads.
 *
 * @param step The Vision step.
 * @returns Its key.
 */
export function archiveKey(step: VisionStep): string {
  return `vision ${step.period} ${step.archive}`;
}

/**
 * Downloads, verifies and decodes the archive of a Vision step.
 *
 * @param request The request (its series).
 * @param vision The manager's Vision archives.
 * @param step The step.
 * @param signal Cancels the download.
 * @returns The archive's rows, `missing`, or `failed` with the error.
 */
export async function downloadArchive(
  request: ResolvedRequest,
  vision: VisionArchives,
  step: VisionStep,
  signal: AbortSignal,
): Promise<ArchiveOutcome> {
  const { dataset, market, symbol, interval } = request;
  try {
    const file = await vision.file({
      ...(dataset ? { dataset } : {}),
      market,
      symbol,
      interval,
      period: step.period,
      date: step.archive,
      signal,
    });
    if (file.status === "missing") return { status: "missing" };
    return { status: "ok", file, segment: segmentOf(file.batches, "VISION") };
  } catch (error) {
    return { status: "failed", error };
  }
}

/**
 * The key of a REST walk among a fetch's shared downloads.
 *
 * @param step The REST step.
 * @returns Its key.
 */
export function restKey(step: RestStep): string {
  return `rest ${step.span.start} ${step.span.end}`;
}
