/**
 * Background cache writes of a fetch: at most four at once, failures
 * recorded in the report, all settled before the report is final.
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";
import { DsmError } from "../core/errors.ts";
import type { Anomaly, MissingPiece } from "./kline_checks.ts";
import type { ResolvedRequest } from "./kline_request.ts";
import type { FetchFailure } from "./fetch_report.ts";
import type { FetchedPartition } from "./fetch_partition.ts";
import type { KlineStore } from "../cache/kline_store.ts";

const MAX_PENDING = 4;

/** Writes closed, complete partitions without holding up the stream. */
export class CacheWriter {
  readonly #cache: KlineStore;
  readonly #request: ResolvedRequest;
  readonly #failures: FetchFailure[];
  readonly #pending = new Set<Promise<void>>();

  /**
   * Creates the writer of one fetch.
   *
   * @param cache The cache.
   * @param request The request (its series names the partitions).
   * @param failures The report's failures, appended to when a write fails.
   */
  constructor(cache: KlineStore, request: ResolvedRequest, failures: FetchFailure[]) {
    this.#cache = cache;
    this.#request = request;
    this.#failures = failures;
  }

  /**
   * Starts writing a partition, after waiting for a free slot; sets
   * `o.report.cached` once written.
   *
   * @param o The partition's outcome.
   * @param batches Its rows (kline schema, no provenance column).
   * @param gaps Its slots without a row: confirmed exchange gaps, or slots printed off the grid.
   * @param checks The anomalies found in it.
   */
  async schedule(
    o: FetchedPartition,
    batches: RecordBatch[],
    gaps: MissingPiece[],
    checks: { anomalies: Anomaly[]; total: number },
  ): Promise<void> {
    while (this.#pending.size >= MAX_PENDING) await Promise.race(this.#pending);
    // Rows checked against a Vision archive (its digest known) are VISION, even with REST's fills.
    const source = o.consulted.vision && o.report.sha256 !== undefined ? "VISION" : "REST";
    const { dataset, market, symbol, interval } = this.#request;
    const key = {
      ...(dataset ? { dataset } : {}),
      market,
      symbol,
      interval,
      partition: o.job.partition.key,
    };
    const write = this.#cache.write(key, batches, {
      source,
      visionSha256: source === "VISION" ? o.report.sha256 : undefined,
      complete: true,
      gaps: gaps.map(({ start, end, offGrid }) =>
        offGrid ? { start, end, class: "off_grid" as const } : { start, end }
      ),
      anomalies: { total: checks.total, items: checks.anomalies },
    }).then((written) => {
      o.report.cached = written;
    }, (error) => {
      this.#failures.push({
        partition: o.job.partition.key,
        code: error instanceof DsmError ? error.code : "CACHE_ERROR",
        message: error instanceof Error ? error.message : String(error),
      });
    }).finally(() => this.#pending.delete(write));
    this.#pending.add(write);
  }

  /** Resolves once every write started has finished (written, refused or failed). */
  async settled(): Promise<void> {
    await Promise.all(this.#pending);
  }
}
