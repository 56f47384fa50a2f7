/**
 * The state file of a weight budget shared by processes: a few hundred bytes
 * of JSON, changed only under an exclusive `flock` (`Deno.FsFile.lockSync`)
 * held for one synchronous read-modify-write. Private.
 *
 * @module
 */

/** What every process sharing the budget knows about one market's window. */
export interface BudgetState {
  /** Start of the window the counts belong to, epoch ms. */
  windowStart: number;
  /** Weight reserved in this window by every process (sent or about to be). */
  reserved: number;
  /**
   * Weight reserved in the last `graceMs` of the window: it may land in the
   * next window, which starts with it reserved.
   */
  carried: number;
  /**
   * Weight the exchange counted beyond the reservations (other clients of the
   * IP): the largest `X-MBX-USED-WEIGHT-1M` seen minus what was reserved then.
   */
  excess: number;
  /** The largest `X-MBX-USED-WEIGHT-1M` seen in this window. */
  usedWeight: number;
  /** When it was seen, epoch ms (0: not yet). */
  usedAt: number;
  /** No request before this time (a 429's `Retry-After`), epoch ms. */
  pausedUntil: number;
  /** Every request fails before this time (a 418), epoch ms. */
  banUntil: number;
  /** Status of the ban: 418, or a 429 with a long `Retry-After`. */
  banStatus: number;
  /** The URL refused with the ban. */
  banUrl: string;
}

/** The file's size: its JSON padded with spaces, so one write replaces it whole. */
const FILE_BYTES = 384;
const VERSION = 2;

/**
 * A fresh state: nothing reserved, seen, paused or banned.
 *
 * @param windowStart Start of the window, epoch ms.
 * @returns The state.
 */
export function freshState(windowStart: number): BudgetState {
  return {
    windowStart,
    reserved: 0,
    carried: 0,
    excess: 0,
    usedWeight: 0,
    usedAt: 0,
    pausedUntil: 0,
    banUntil: 0,
    banStatus: 0,
    banUrl: "",
  };
}

const NUMBERS = [
  "windowStart",
  "reserved",
  "carried",
  "excess",
  "usedWeight",
  "usedAt",
  "pausedUntil",
  "banUntil",
  "banStatus",
] as const;

/** The state in `text`, or a fresh one for an empty, damaged or foreign file. */
function parseState(text: string): BudgetState {
  try {
    const value = JSON.parse(text);
    if (value?.v !== VERSION || typeof value.banUrl !== "string") return freshState(0);
    for (const key of NUMBERS) {
      if (typeof value[key] !== "number" || !Number.isFinite(value[key])) return freshState(0);
    }
    const state = freshState(0);
    for (const key of NUMBERS) state[key] = value[key];
    state.banUrl = value.banUrl;
    return state;
  } catch {
    return freshState(0);
  }
}

/** One market's budget file. */
export class BudgetFile {
  readonly #path: string;
  readonly #buffer = new Uint8Array(4096);

  /**
   * Points at the file (created on the first update).
   *
   * @param path The file.
   */
  constructor(path: string) {
    this.#path = path;
  }

  /** The file's path. */
  get path(): string {
    return this.#path;
  }

  /**
   * Locks the file, reads its state, lets `change` modify it, writes it back
   * when `change` returns true, unlocks. Synchronous: the lock is held for a
   * few system calls (about 10 µs), never across an `await`, and a process
   * that dies holding it releases it.
   *
   * @param change Modifies the state in place; true to write it.
   * @returns The state after `change`.
   * @throws {Deno.errors.NotCapable} Without read and write permission of the file (and others
   *   for a read-only file system, a missing folder, a runtime without files).
   */
  update(change: (state: BudgetState) => boolean): BudgetState {
    const file = Deno.openSync(this.#path, { read: true, write: true, create: true });
    try {
      file.lockSync(true);
      let length = 0;
      for (;;) {
        const n = file.readSync(this.#buffer.subarray(length));
        if (n === null || n === 0) break;
        length += n;
        if (length === this.#buffer.length) break;
      }
      const state = parseState(new TextDecoder().decode(this.#buffer.subarray(0, length)));
      if (change(state)) {
        const json = JSON.stringify({ v: VERSION, ...state });
        const bytes = new TextEncoder().encode(json.padEnd(FILE_BYTES - 1) + "\n");
        file.seekSync(0, Deno.SeekMode.Start);
        for (let at = 0; at < bytes.length;) at += file.writeSync(bytes.subarray(at));
        if (length > bytes.length) file.truncateSync(bytes.length);
      }
      return state;
    } finally {
      file.close(); // also releases the lock
    }
  }
}
