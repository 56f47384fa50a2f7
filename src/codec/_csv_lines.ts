/**
 * Cuts CSV bytes pushed in arbitrary chunks into runs of complete lines, so
 * that a byte-level parser only ever sees whole rows: the lines of a chunk
 * are handed over in place, and only a line that straddles chunks is copied
 * (into a carry buffer that grows up to a maximum line length).
 *
 * @module
 */

const NL = 10;
const FINAL_NL = new Uint8Array([NL]);

/** Parses the complete lines in `buf[start, end)`; `buf[end - 1]` is a newline. */
export type ParseLines = (buf: Uint8Array, start: number, end: number) => void;

/**
 * Splits pushed chunks into runs of complete lines.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CsvLines } from "./_csv_lines.ts";
 * const seen: string[] = [];
 * const parse = (buf: Uint8Array, start: number, end: number) =>
 *   seen.push(new TextDecoder().decode(buf.subarray(start, end)));
 * const lines = new CsvLines(64, () => {
 *   throw new Error("too long");
 * });
 * const bytes = new TextEncoder().encode("a,1\nb,2\nc,");
 * lines.push(bytes.subarray(0, 5), parse);
 * lines.push(bytes.subarray(5), parse);
 * lines.finish(parse);
 * assert.deepEqual(seen, ["a,1\n", "b,2\n", "c,\n"]);
 * assert.throws(() => lines.push(new Uint8Array(65), parse), /too long/);
 * ```
 */
export class CsvLines {
  #carry = new Uint8Array(256);
  #carryLen = 0;
  readonly #maxLineBytes: number;
  readonly #tooLong: () => never;

  /**
   * @param maxLineBytes Longest line kept across chunks.
   * @param tooLong Throws the parser's error for a longer line.
   */
  constructor(maxLineBytes: number, tooLong: () => never) {
    this.#maxLineBytes = maxLineBytes;
    this.#tooLong = tooLong;
  }

  /** Hands every complete line of `input` to `parse`, keeping the incomplete tail. */
  push(input: Uint8Array, parse: ParseLines): void {
    // A plain Uint8Array view keeps the byte loads monomorphic (Node's Buffer is a subclass).
    const chunk = input.constructor === Uint8Array
      ? input
      : new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    let start = 0;
    if (this.#carryLen > 0) {
      const nl = chunk.indexOf(NL);
      if (nl < 0) return this.#keep(chunk, 0, chunk.length);
      this.#keep(chunk, 0, nl + 1);
      const len = this.#carryLen;
      this.#carryLen = 0;
      parse(this.#carry, 0, len);
      start = nl + 1;
    }
    const last = chunk.lastIndexOf(NL);
    if (last >= start) {
      parse(chunk, start, last + 1);
      start = last + 1;
    }
    if (start < chunk.length) this.#keep(chunk, start, chunk.length);
  }

  /** Hands the last line, when it has no newline, to `parse` with one appended. */
  finish(parse: ParseLines): void {
    if (this.#carryLen === 0) return;
    const len = this.#carryLen;
    this.#keep(FINAL_NL, 0, 1);
    this.#carryLen = 0;
    parse(this.#carry, 0, len + 1);
  }

  #keep(chunk: Uint8Array, start: number, end: number): void {
    const need = this.#carryLen + end - start;
    if (need > this.#maxLineBytes) this.#tooLong();
    if (need > this.#carry.length) {
      const grown = new Uint8Array(Math.max(need, this.#carry.length * 2));
      grown.set(this.#carry.subarray(0, this.#carryLen));
      this.#carry = grown;
    }
    this.#carry.set(chunk.subarray(start, end), this.#carryLen);
    this.#carryLen = need;
  }
}
