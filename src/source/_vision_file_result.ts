/**
 * What downloading one Vision archive gives: its verified rows or the fact
 * that it is missing, and the progress events on the way. Re-exported by
 * `vision_client.ts`.
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";

/** A downloaded, checksum-verified and decoded archive. */
export interface VisionFileOk {
  /** The file exists and was verified. */
  status: "ok";
  /** Its rows, in file order, as RecordBatches of the kline schema. */
  batches: RecordBatch[];
  /** Total rows of `batches`. */
  rows: number;
  /** Size of the zip, in bytes. */
  bytes: number;
  /** The zip's SHA-256 (lowercase hex), equal to its `.CHECKSUM`. */
  sha256: string;
  /** The zip's URL. */
  url: string;
  /** Time taken from the first attempt to the result, retries included, in ms. */
  ms: number;
  /** Attempts made, 1 when the first succeeded. */
  attempts: number;
}

/** An archive that Vision does not (yet) serve. */
export interface VisionFileMissing {
  /** HTTP 404 or 403 on the zip or on its `.CHECKSUM`. */
  status: "missing";
  /** The zip's URL. */
  url: string;
  /** `zip`: the zip is absent; `checksum`: the zip exists but its checksum does not (not yet published). */
  missing: "zip" | "checksum";
}

/** What {@linkcode VisionClient.fetchFile} returns. */
export type VisionFileResult = VisionFileOk | VisionFileMissing;

/** Progress of one download, passed to {@linkcode VisionClientOptions.onProgress}. */
export interface VisionProgress {
  /** The zip's URL. */
  url: string;
  /** Bytes of the zip received so far in the current attempt. */
  bytes: number;
  /** True once, when the file is finished (ok or missing). */
  done: boolean;
  /** The outcome, on the final event. */
  status?: "ok" | "missing";
  /** Rows decoded, on the final event of an ok file. */
  rows?: number;
}
