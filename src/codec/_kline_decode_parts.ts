/**
 * How `KlineDecodePool` cuts its input for parallel decoding: row boundaries
 * in a CSV, and the deflated data of a plain single-entry zip. Private.
 *
 * Everything here is conservative: when in doubt it declines (one part, no
 * entry), and the caller decodes on one thread, where the exact checks run.
 *
 * @module
 */
import { locateEntry, METHOD_DEFLATED, type ZipEntry } from "./_zip_format.ts";

const NL = 10;
const COMMA = 44;
const ZERO = 48;
const NINE = 57;

/**
 * Offset of the first data row: after a BOM and a header (a line starting
 * with a letter); -1 when there is none.
 */
function firstRow(csv: Uint8Array): number {
  const p = csv[0] === 0xef && csv[1] === 0xbb && csv[2] === 0xbf ? 3 : 0;
  const first = csv[p] | 0x20;
  if (!((first >= 97 && first <= 122) || csv[p] === 95)) return p;
  const nl = csv.indexOf(NL, p);
  return nl < 0 ? -1 : nl + 1;
}

/**
 * Cuts `csv` into up to `parts` parts of about equal size, each after a
 * newline and each but the first starting with a digit (a row the parser
 * cannot mistake for a header). The first part holds at least one data row.
 *
 * @returns The cut offsets, `[0, …, csv.length]`; `[0, csv.length]` for one part.
 */
export function boundaries(csv: Uint8Array, parts: number): number[] {
  const whole = [0, csv.length];
  const start = firstRow(csv);
  if (start < 0) return whole;
  const firstEnd = csv.indexOf(NL, start) + 1;
  if (firstEnd <= 0) return whole;
  const cuts = [0];
  for (let k = 1; k < parts; k++) {
    const target = Math.max(
      firstEnd - 1,
      cuts[cuts.length - 1],
      Math.floor(csv.length * k / parts),
    );
    const cut = csv.indexOf(NL, target) + 1;
    if (cut <= 0 || cut >= csv.length) break;
    if (csv[cut] < ZERO || csv[cut] > NINE) return whole;
    cuts.push(cut);
  }
  cuts.push(csv.length);
  return cuts;
}

/** Lengths of the first and seventh fields of the row at `p` (-1 when missing). */
function timeFieldLengths(buf: Uint8Array, p: number): [number, number] {
  const end = buf.indexOf(NL, p);
  const stop = end < 0 ? buf.length : end;
  const comma0 = buf.indexOf(COMMA, p);
  if (comma0 < 0 || comma0 > stop) return [-1, -1];
  let q = comma0;
  for (let i = 0; i < 6 && q >= 0; i++) q = buf.indexOf(COMMA, q + 1);
  if (q < 0 || q > stop) return [-1, -1];
  let r = q - 1;
  while (r > p && buf[r] !== COMMA) r--;
  return [comma0 - p, q - r - 1];
}

/**
 * Whether the first row of `part` has timestamps of the same digit counts as
 * the first data row of `csv` (the parser fixes the unit per file from it).
 */
export function sameTimeDigits(csv: Uint8Array, part: Uint8Array): boolean {
  const start = firstRow(csv);
  if (start < 0) return false;
  const a = timeFieldLengths(csv, start);
  const b = timeFieldLengths(part, 0);
  return a[0] > 0 && a[0] === b[0] && a[1] === b[1];
}

/**
 * The entry and its deflated bytes when `zip` is a well-formed archive of one
 * deflated entry (either layout); undefined otherwise, and for any error
 * (the one-thread path reports it).
 */
export function deflatedEntry(
  zip: Uint8Array,
  file: string | undefined,
): { entry: ZipEntry; data: Uint8Array } | undefined {
  try {
    const found = locateEntry(zip, file);
    return found.entry.method === METHOD_DEFLATED ? found : undefined;
  } catch {
    return undefined;
  }
}
