/**
 * A monthly trade archive shared by the days of its month: downloaded
 * (spooled and verified) once, when its first day asks, then decoded
 * forward only as far as the days asked for, its rows split by UTC day as
 * they pass. A busy month is gigabytes of CSV: it is never held whole, only
 * the days the fetch window holds.
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";
import { NetworkError } from "../core/errors.ts";
import { formatDay } from "../core/time.ts";
import type { VerifiedTradeArchive } from "./trade_fetch.ts";
import { int64At, int64Halves } from "./_trade_rows.ts";

const DAY_MS = 86_400_000;

/** A day's rows out of a monthly archive. */
export interface MonthDay {
  /** The monthly archive's URL, size and digest. */
  url: string;
  bytes: number;
  sha256: string;
  /** Whether this is the first day handed out (the one that counts the download). */
  first: boolean;
  /** The day's rows (none: the archive holds no trade that day). */
  batches: RecordBatch[];
}

/**
 * The days of one monthly archive, in order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeTradeCsv } from "../codec/trade_csv.ts";
 * import { TradeMonthFeed } from "./_trade_month.ts";
 * const t = Date.UTC(2024, 0, 1);
 * const csv = `1,1,1,1,1,${t},true,True\n2,1,1,2,2,${t + 86_400_000},true,True\n`;
 * const rows = decodeTradeCsv(new TextEncoder().encode(csv), { dataset: "aggTrades", market: "spot" });
 * async function* batches() {
 *   yield* rows;
 * }
 * const feed = new TradeMonthFeed(() =>
 *   Promise.resolve({ url: "u", bytes: 1, sha256: "s", batches: batches() })
 * );
 * const day1 = await feed.day("2024-01-01", new AbortController().signal);
 * assert.equal(day1?.batches[0].numRows, 1);
 * const day3 = await feed.day("2024-01-03", new AbortController().signal);
 * assert.deepEqual(day3?.batches, []);
 * await feed.close();
 * ```
 */
export class TradeMonthFeed {
  readonly #download: (signal: AbortSignal) => Promise<VerifiedTradeArchive | undefined>;
  #archive: Promise<VerifiedTradeArchive | undefined> | undefined;
  #rows: AsyncIterator<RecordBatch> | undefined;
  /** Days complete and not yet taken. */
  readonly #ready = new Map<string, RecordBatch[]>();
  /** The day being assembled, and its rows so far. */
  #current: string | undefined;
  #bucket: RecordBatch[] = [];
  #ended = false;
  #failed: { error: unknown } | undefined;
  #handedOut = false;
  /** Calls run one after the other. */
  #turn: Promise<unknown> = Promise.resolve();

  /** @param download Fetches the verified monthly archive; undefined when not published. */
  constructor(download: (signal: AbortSignal) => Promise<VerifiedTradeArchive | undefined>) {
    this.#download = download;
  }

  /**
   * The rows of one day of the month (days are asked for in order).
   *
   * @param day `YYYY-MM-DD`.
   * @param signal Cancels the download (for every day that shares it).
   * @returns The day, or undefined when the archive is not published.
   * @throws The download's or the decoder's error, for this day and every later one.
   */
  day(day: string, signal: AbortSignal): Promise<MonthDay | undefined> {
    const next = this.#turn.then(() => this.#take(day, signal));
    this.#turn = next.catch(() => {});
    return next;
  }

  async #take(day: string, signal: AbortSignal): Promise<MonthDay | undefined> {
    this.#archive ??= this.#download(signal);
    const archive = await this.#archive;
    if (!archive) return undefined;
    this.#rows ??= archive.batches[Symbol.asyncIterator]();
    // Stop once the day is complete, or passed (a day without trades).
    while (!this.#ready.has(day) && !this.#ended && !(this.#current && this.#current > day)) {
      if (this.#failed) throw this.#failed.error;
      try {
        const next = await this.#rows.next();
        if (next.done) {
          this.#closeDay();
          this.#ended = true;
        } else this.#split(next.value, archive.url);
      } catch (error) {
        this.#failed = { error };
        throw error;
      }
    }
    const batches = this.#ready.get(day) ?? [];
    this.#ready.delete(day);
    const first = !this.#handedOut;
    this.#handedOut = true;
    return { url: archive.url, bytes: archive.bytes, sha256: archive.sha256, first, batches };
  }

  /** Files a batch's rows under their days (slices, no copy). */
  #split(batch: RecordBatch, url: string): void {
    const times = int64Halves(batch, 5);
    let from = 0;
    while (from < batch.numRows) {
      const day = formatDay(Math.floor(int64At(times, from) / 1000 / DAY_MS) * DAY_MS);
      if (this.#current !== undefined && day < this.#current) {
        throw new NetworkError(
          url,
          `Cannot use ${url}: a trade of ${day} follows ${this.#current}`,
        );
      }
      if (day !== this.#current) {
        this.#closeDay();
        this.#current = day;
      }
      const dayEnd = (Date.parse(day) + DAY_MS) * 1000;
      let to = from + 1;
      while (to < batch.numRows && int64At(times, to) < dayEnd) to++;
      this.#bucket.push(from === 0 && to === batch.numRows ? batch : batch.slice(from, to));
      from = to;
    }
  }

  /** Files the day being assembled as complete. */
  #closeDay(): void {
    if (this.#current !== undefined) this.#ready.set(this.#current, this.#bucket);
    this.#bucket = [];
    this.#current = undefined;
  }

  /** Lets the archive go (its temporary file is removed). */
  async close(): Promise<void> {
    await this.#turn;
    await this.#rows?.return?.();
    this.#ready.clear();
  }
}
