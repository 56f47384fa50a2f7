/**
 * Worker entry of `KlineDecodePool`: inflates raw deflate data in chunks
 * (sent back as they come out) or parses a slice of kline CSV into Arrow
 * buffers. Private; every big array crosses threads by transfer.
 *
 * Messages in: {@linkcode DecodeRequest}; out: {@linkcode DecodeReply}, and
 * `{ op: "ready", inflate }` once at start.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { constants, crc32, createInflateRaw } from "node:zlib";
import type { RecordBatch } from "apache-arrow";
import { KlineCsvParser, type KlinePeriod } from "./_kline_csv_parser.ts";
import { type IgnoreValue, ignoreValuesOf } from "./kline_ignore_values.ts";

/** A job for the worker. */
export type DecodeRequest =
  | {
    op: "inflate";
    id: number;
    /** The deflate data (a view of the zip when `sha256` is asked). */
    raw: Uint8Array;
    /** Hash the whole buffer of `raw` (the zip) with SHA-256 (after inflating). */
    sha256?: boolean;
    size: number;
    chunkBytes: number;
    /**
     * Shared control words: `[0]` the caller sets to stop the inflate:
     * {@linkcode STOP_REFUSED} when its parser refused the rows (the zip is
     * still hashed, when asked: a wrong digest then tells a damaged
     * download), {@linkcode STOP_ABANDONED} when it gave up (aborted, pool
     * closed: nothing more is done); `[1]` counts the chunks
     * the caller has consumed. The worker stays at most
     * {@linkcode CHUNKS_AHEAD} chunks ahead, so that memory stays bounded
     * whatever the entry inflates to.
     */
    control?: Int32Array;
    /**
     * Shared memory of {@linkcode CHUNKS_AHEAD} chunks of `chunkBytes`: chunk
     * `k` is written to place `k % CHUNKS_AHEAD` and announced by a `ring`
     * reply instead of being sent as a buffer of its own (no allocation per
     * chunk). Needs `control`; the caller counts a chunk consumed only once
     * it has read it.
     */
    ring?: Uint8Array;
  }
  | {
    op: "parse";
    id: number;
    csv: Uint8Array;
    file: string | undefined;
    batchRows: number;
    period?: KlinePeriod;
  };

/** Arrow value buffers of one batch of the kline schema, in column order. */
export interface BatchBuffers {
  length: number;
  values: (Float64Array | BigInt64Array)[];
  /** The rows' non-zero `ignore` values. */
  ignored: readonly IgnoreValue[];
}

/** A message from the worker. */
export type DecodeReply =
  | { op: "ready"; inflate: boolean }
  | { op: "chunk"; id: number; bytes: Uint8Array }
  | { op: "ring"; id: number; place: number; length: number }
  | {
    op: "inflated";
    id: number;
    size: number;
    crc: number;
    tooLarge: boolean;
    /**
     * The job's input, given back: a worker allocates too little to collect
     * its garbage often, so dead inputs would pile up here (~50 MB after
     * a dozen archives); the caller's collector frees them soon.
     */
    input?: ArrayBuffer;
    /** The zip's SHA-256 (hex), when asked. */
    sha256?: string;
    /** True when the caller's stop flag ended the inflate early. */
    stopped: boolean;
  }
  | { op: "parsed"; id: number; batches: BatchBuffers[]; input?: ArrayBuffer }
  | {
    op: "error";
    id: number;
    message: string;
    csv: boolean;
    input?: ArrayBuffer;
    /** The zip's SHA-256 (hex), when asked and hashed before the failure. */
    sha256?: string;
  };

/** The private zlib handle of a node:zlib stream (Node's and Deno's). */
interface ZlibHandle {
  writeSync(
    flush: number,
    input: Uint8Array,
    inOff: number,
    inLen: number,
    out: Uint8Array,
    outOff: number,
    outLen: number,
  ): void;
  onerror: (message: string) => void;
}

interface ZlibStream {
  _handle?: ZlibHandle;
  _writeState?: Uint32Array;
  close(): void;
}

const scope = globalThis as unknown as {
  postMessage(message: DecodeReply, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent<DecodeRequest>) => void) | null;
};

/** Whether the synchronous, resumable zlib handle is there to use. */
function canInflate(): boolean {
  const z = createInflateRaw() as unknown as ZlibStream;
  const ok = typeof z._handle?.writeSync === "function" && z._writeState instanceof Uint32Array;
  z.close();
  return ok;
}

/** Inflated chunks sent but not yet consumed by the caller, at most. */
export const CHUNKS_AHEAD = 8;

/** Stop word: the caller's parser refused the rows (the digest is still wanted). */
export const STOP_REFUSED = 1;

/** Stop word: the caller gave up the job (aborted, pool closed): no hash either. */
export const STOP_ABANDONED = 2;

/**
 * Waits until the caller has consumed enough chunks of the `sent` ones
 * (`control[1]`); returns false when it asks to stop (`control[0]`).
 */
function mayContinue(control: Int32Array | undefined, sent: number): boolean {
  if (control === undefined) return true;
  while (Atomics.load(control, 0) === 0) {
    const consumed = Atomics.load(control, 1);
    if (sent - consumed < CHUNKS_AHEAD) return true;
    Atomics.wait(control, 1, consumed, 100);
  }
  return false;
}

/**
 * Inflates `raw` into chunks of `chunkBytes`, posting each as soon as it is
 * full; stops one byte past `size` (the entry is then too large), or when
 * the caller sets its stop word (its parser refused the rows).
 */
function inflate(request: Extract<DecodeRequest, { op: "inflate" }>): void {
  const { id, raw, size, chunkBytes, control } = request;
  const ring = control === undefined ? undefined : request.ring;
  if (control !== undefined && Atomics.load(control, 0) === STOP_ABANDONED) {
    // Given up while it waited its turn: not a byte inflated, nothing hashed.
    const input = raw.buffer as ArrayBuffer;
    const reply = {
      op: "inflated",
      id,
      size: 0,
      crc: 0,
      tooLarge: false,
      stopped: true,
      input,
    } as const;
    return scope.postMessage(reply, [input]);
  }
  const z = createInflateRaw() as unknown as ZlibStream;
  const handle = z._handle!;
  const state = z._writeState!;
  let failure: string | undefined;
  handle.onerror = (message) => failure = message;
  let total = 0;
  let crc = 0;
  let inOff = 0;
  let out = new Uint8Array(Math.min(chunkBytes, size + 1));
  let outOff = 0;
  let stopped = false;
  let sent = 0;
  const send = () => {
    const bytes = outOff === out.length ? out : out.subarray(0, outOff);
    crc = crc32(bytes, crc);
    if (ring) {
      // The place was read: at most CHUNKS_AHEAD - 1 chunks are unread (mayContinue).
      const place = sent % CHUNKS_AHEAD;
      ring.set(bytes, place * chunkBytes);
      scope.postMessage({ op: "ring", id, place, length: bytes.length });
    } else scope.postMessage({ op: "chunk", id, bytes }, [bytes.buffer]);
    sent++;
  };
  try {
    while (failure === undefined) {
      const room = out.length - outOff;
      handle.writeSync(constants.Z_SYNC_FLUSH, raw, inOff, raw.length - inOff, out, outOff, room);
      const produced = room - state[0];
      const consumed = raw.length - inOff - state[1];
      outOff += produced;
      total += produced;
      inOff += consumed;
      if (total > size) break;
      if (outOff === out.length) {
        send();
        if (!mayContinue(control, sent)) {
          stopped = true;
          break;
        }
        if (!ring) out = new Uint8Array(Math.max(1, Math.min(chunkBytes, size + 1 - total)));
        outOff = 0;
      } else if (inOff === raw.length || (produced === 0 && consumed === 0)) break;
    }
  } finally {
    z.close();
  }
  if (failure === undefined && outOff > 0 && total <= size && !stopped) send();
  // The whole zip is hashed after the inflate, while the caller parses the last chunks (its
  // first chunk then waits for no hash); the rows are held until the digest is known anyway.
  const abandoned = control !== undefined && Atomics.load(control, 0) === STOP_ABANDONED;
  const sha256 = request.sha256 && !abandoned ? sha256Of(raw) : undefined;
  if (failure !== undefined) {
    const input = raw.buffer as ArrayBuffer;
    const reply = { op: "error", id, message: failure, csv: false, input, sha256 } as const;
    return scope.postMessage(reply, [input]);
  }
  const tooLarge = total > size;
  const input = raw.buffer as ArrayBuffer;
  scope.postMessage(
    { op: "inflated", id, size: total, crc: crc >>> 0, tooLarge, stopped, input, sha256 },
    [input],
  );
}

/** Parses a slice of CSV (starting at a row) and posts its batches' buffers. */
function parse(request: Extract<DecodeRequest, { op: "parse" }>): void {
  const batches: RecordBatch[] = [];
  const parser = new KlineCsvParser(
    {
      file: request.file,
      batchRows: request.batchRows,
      source: undefined,
      period: request.period,
    },
    (batch) => batches.push(batch),
  );
  parser.push(request.csv);
  parser.finish();
  const transfer = new Set<ArrayBuffer>();
  const out = batches.map((batch): BatchBuffers => {
    const values = batch.data.children.map((child) => {
      const v = child.values as Float64Array | BigInt64Array;
      transfer.add(v.buffer as ArrayBuffer);
      return v;
    });
    return { length: batch.numRows, values, ignored: ignoreValuesOf(batch) };
  });
  const input = request.csv.buffer as ArrayBuffer;
  scope.postMessage({ op: "parsed", id: request.id, batches: out, input }, [...transfer, input]);
}

/** Serves jobs; does nothing when loaded outside a worker (e.g. by a test runner). */
function serve(): void {
  const global = globalThis as { WorkerGlobalScope?: abstract new () => unknown };
  if (global.WorkerGlobalScope === undefined || !(globalThis instanceof global.WorkerGlobalScope)) {
    return;
  }
  scope.onmessage = onMessage;
  scope.postMessage({ op: "ready", inflate: canInflate() });
}

/** The SHA-256 (hex) of the whole zip whose entry data `raw` is a view of. */
function sha256Of(raw: Uint8Array): string {
  return createHash("sha256").update(new Uint8Array(raw.buffer)).digest("hex");
}

function onMessage(event: MessageEvent<DecodeRequest>): void {
  const request = event.data;
  try {
    if (request.op === "inflate") {
      inflate(request);
    } else parse(request);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const input = (request.op === "parse" ? request.csv : request.raw).buffer as ArrayBuffer;
    const csv = request.op === "parse";
    // A digest asked for is still given: a wrong one tells a damaged download.
    const sha256 = request.op === "inflate" && request.sha256 && input.byteLength > 0
      ? sha256Of(request.raw)
      : undefined;
    scope.postMessage({ op: "error", id: request.id, message, csv, input, sha256 }, [input]);
  }
}

serve();
