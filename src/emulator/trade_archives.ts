/**
 * Vision's aggTrades and trades archives of the emulated market: their CSV,
 * generated a day at a time from the trade tape, and their zips. A daily zip
 * is built in memory; a monthly one (gigabytes of CSV for a busy symbol) is
 * a stream with bounded memory, and its SHA-256 and size come from one
 * streamed pass, memoized.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { ZipWriter } from "@zip.js/zip.js";
import type { Market } from "../core/market.ts";
import { TRADE_DATASETS, type TradeDataset } from "../core/trade_schema.ts";
import type { EmulatedSymbol } from "./symbol_catalogue.ts";
import { tradeCsvHeader, tradeCsvRows, tradeRowCount } from "./trade_archive_csv.ts";
import type { TradeTape } from "./trade_tape.ts";

/** What names a trade archive's content. */
export interface TradeArchiveFile {
  /** The symbol. */
  readonly spec: EmulatedSymbol;
  /** `aggTrades` or `trades`. */
  readonly dataset: TradeDataset;
  /** First ms of its day or month. */
  readonly start: number;
  /** First ms after. */
  readonly end: number;
  /** The zip's name, e.g. `BTCUSDT-aggTrades-2024-01.zip`. */
  readonly name: string;
}

/** The SHA-256 and size of a streamed zip. */
export interface ZipDigest {
  /** Lowercase hex SHA-256. */
  readonly sha256: string;
  /** Bytes. */
  readonly size: number;
}

const DAY_MS = 86_400_000;
const CHUNK_ROWS = 32_768;
const ZIP64_FROM = 3_500_000_000;
const ROW_BYTES: Record<Market, number> = { spot: 90, um: 70, cm: 70 };

/**
 * Whether a dataset name is one of the trade datasets.
 *
 * @param dataset A dataset name.
 * @returns True for `aggTrades` and `trades`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isTradeDataset } from "./trade_archives.ts";
 * assert.equal(isTradeDataset("trades"), true);
 * assert.equal(isTradeDataset("klines"), false);
 * ```
 */
export function isTradeDataset(dataset: string): dataset is TradeDataset {
  return (TRADE_DATASETS as readonly string[]).includes(dataset);
}

/** The DOS date (high 16 bits) and time (low 16 bits) of `d` in UTC. */
function dosDateTime(d: Date): number {
  const year = Math.min(Math.max(d.getUTCFullYear(), 1980), 2107);
  const time = (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1);
  const date = ((year - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate();
  return ((date << 16) | time) >>> 0;
}

/**
 * The trade archives of one emulator.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MarketData } from "./market_data.ts";
 * import { TradeArchives } from "./trade_archives.ts";
 * import { TradeTape } from "./trade_tape.ts";
 * const archives = new TradeArchives(new TradeTape(new MarketData(), { tradeScale: 0.0005 }));
 * const spec = archives.tape.data.find("um", "BTCUSDT")!;
 * const file = { spec, dataset: "aggTrades" as const, start: Date.UTC(2024, 0, 1),
 *   end: Date.UTC(2024, 1, 1), name: "BTCUSDT-aggTrades-2024-01.zip" };
 * const bytes = new Uint8Array(await new Response(archives.stream(file)).arrayBuffer());
 * const { sha256, size } = await archives.digest(file);
 * assert.equal(size, bytes.length);
 * assert.match(sha256, /^[0-9a-f]{64}$/);
 * ```
 */
export class TradeArchives {
  #tape: TradeTape;
  #digests = new Map<string, Promise<ZipDigest>>();

  /**
   * Creates the instance.
   *
   * @param tape The trade tape.
   */
  constructor(tape: TradeTape) {
    this.#tape = tape;
  }

  /** The tape behind the archives. */
  get tape(): TradeTape {
    return this.#tape;
  }

  // The days a file holds: from the Vision start (visionFrom) on.
  #days(file: TradeArchiveFile): number[] {
    const from = Math.max(file.start, Math.floor((file.spec.visionFrom ?? 0) / DAY_MS) * DAY_MS);
    const out: number[] = [];
    for (let t = from; t < file.end; t += DAY_MS) out.push(t);
    return out;
  }

  /**
   * Rows of a file, in O(days).
   *
   * @param file The file.
   * @returns Aggregate or plain trades in it.
   */
  rowCount(file: TradeArchiveFile): number {
    const days = this.#days(file);
    if (days.length === 0) return 0;
    const key = file.dataset === "aggTrades" ? "agg" : "trade";
    const first = this.#tape.firstIds(file.spec, days[0])[key];
    return this.#tape.firstIds(file.spec, days[days.length - 1] + DAY_MS)[key] - first;
  }

  /**
   * The CSV of a file, a chunk of at most 32,768 rows at a time (the header first).
   *
   * @param file The file.
   * @param keepFraction Share of the rows kept (a partial file keeps a prefix).
   * @returns The UTF-8 chunks.
   */
  *csvChunks(file: TradeArchiveFile, keepFraction = 1): Generator<Uint8Array<ArrayBuffer>> {
    const encoder = new TextEncoder();
    const header = tradeCsvHeader(file.dataset, file.spec.market, file.start);
    if (header !== undefined) yield encoder.encode(`${header}\n`);
    let keep = keepFraction >= 1 ? Infinity : Math.floor(this.rowCount(file) * keepFraction);
    for (const t of this.#days(file)) {
      const day = this.#tape.day(file.spec, t);
      const rows = Math.min(tradeRowCount(day, file.dataset), keep);
      keep -= rows;
      for (let from = 0; from < rows; from += CHUNK_ROWS) {
        const to = Math.min(rows, from + CHUNK_ROWS);
        yield encoder.encode(tradeCsvRows(day, file.dataset, [from, to]));
      }
      if (keep <= 0) break;
    }
  }

  /**
   * The whole CSV of a file (for daily files).
   *
   * @param file The file.
   * @param keepFraction Share of the rows kept.
   * @returns The UTF-8 CSV.
   */
  csvBytes(file: TradeArchiveFile, keepFraction = 1): Uint8Array<ArrayBuffer> {
    const parts = [...this.csvChunks(file, keepFraction)];
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let offset = 0;
    for (const p of parts) {
      out.set(p, offset);
      offset += p.length;
    }
    return out;
  }

  /**
   * A file's zip as a stream, generated while it is read (bounded memory):
   * one deflated entry named like the zip with `.csv`, sizes and CRC in a
   * data descriptor (zip64 when the CSV may exceed 3.5 GB). Cancelling the
   * stream stops the generation.
   *
   * @param file The file.
   * @returns The zip bytes.
   */
  stream(file: TradeArchiveFile): ReadableStream<Uint8Array<ArrayBuffer>> {
    const chunks = this.csvChunks(file);
    const csv = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.next();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      },
      cancel() {
        chunks.return(undefined);
      },
    }, { highWaterMark: 1 });
    const pipe = new TransformStream<Uint8Array<ArrayBuffer>, Uint8Array<ArrayBuffer>>(
      undefined,
      { highWaterMark: 1 },
    );
    const zip64 = this.rowCount(file) * ROW_BYTES[file.spec.market] > ZIP64_FROM;
    const writer = new ZipWriter(pipe.writable, {
      useWebWorkers: false,
      extendedTimestamp: false,
      dataDescriptor: true,
      dataDescriptorSignature: true,
      zip64,
      level: 6,
      rawLastModDate: dosDateTime(new Date(file.end)),
    });
    (async () => {
      await writer.add(file.name.replace(/\.zip$/, ".csv"), csv);
      await writer.close();
    })().catch(async (err) => {
      await csv.cancel(err).catch(() => {});
      await pipe.writable.abort(err).catch(() => {});
    });
    return pipe.readable;
  }

  /**
   * The SHA-256 and size of a file's streamed zip: one pass over the stream,
   * memoized (concurrent callers share it).
   *
   * @param file The file.
   * @returns The digest.
   */
  digest(file: TradeArchiveFile): Promise<ZipDigest> {
    const key = `${file.spec.market}|${file.spec.symbol}|${file.name}`;
    let pending = this.#digests.get(key);
    if (pending === undefined) {
      pending = (async () => {
        const hash = createHash("sha256");
        let size = 0;
        for await (const chunk of this.stream(file)) {
          hash.update(chunk);
          size += chunk.length;
        }
        return { sha256: hash.digest("hex"), size };
      })();
      pending.catch(() => this.#digests.delete(key));
      this.#digests.set(key, pending);
    }
    return pending;
  }

  /**
   * An estimate of a zip's size without building it (about 25 bytes a row).
   *
   * @param file The file.
   * @returns Bytes.
   */
  estimateSize(file: TradeArchiveFile): number {
    return 200 + this.rowCount(file) * 25;
  }
}
