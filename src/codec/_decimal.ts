/**
 * Byte-level number scanners for kline CSV fields, exact to `parseFloat`.
 *
 * The fast path reads a decimal `[-]digits[.digits]` as two 32-bit integer
 * chunks (integer part, fraction part), joins them into a mantissa `m` and
 * returns `m / 10^k`. When `m < 2^53` and `k <= 9`, both operands are exact
 * doubles and IEEE division is correctly rounded, so the result is the double
 * nearest to the decimal: exactly what `parseFloat` returns. Anything else
 * (exponents, long mantissas, a `+` sign, odd bytes) goes to the exact slow
 * path, which decodes the field and calls `parseFloat` after a grammar check.
 *
 * @module
 */

/** Where the last scan stopped: the index of the first byte that is not part of the number. */
export const scan: { end: number } = { end: 0 };

const TWO_POW_53 = 9007199254740992;
const POW10 = new Float64Array(23).map((_, i) => 10 ** i);
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const decoder = new TextDecoder();

/**
 * Fast path: scans `[-]digits[.digits]` from `p`. Sets `scan.end`.
 *
 * @returns The exact value, or `NaN` when the fast path cannot decide (no
 *   digits, more than 9 integer or fraction digits, mantissa >= 2^53). The
 *   caller must also check that `scan.end` is the end of the field.
 */
export function fastDecimal(buf: Uint8Array, view: DataView, p: number): number {
  let neg = false;
  let c = buf[p];
  if (c === 45) {
    neg = true;
    c = buf[++p];
  }
  const intStart = p;
  let a = 0;
  let d = c - 48;
  while (d >= 0 && d <= 9) {
    a = (a * 10 + d) | 0;
    d = buf[++p] - 48;
  }
  const ni = p - intStart;
  let f = 0;
  let nf = 0;
  if (d === -2) { // "."
    const fracStart = ++p;
    if (p + 8 <= buf.length) {
      const hi = view.getInt32(p, true);
      const lo = view.getInt32(p + 4, true);
      if (isDigits4(hi) && isDigits4(lo)) {
        f = digits4(hi) * 10000 + digits4(lo);
        p += 8;
      }
    }
    d = buf[p] - 48;
    while (d >= 0 && d <= 9) {
      f = (f * 10 + d) | 0;
      d = buf[++p] - 48;
    }
    nf = p - fracStart;
  }
  scan.end = p;
  if (ni > 9 || nf > 9 || ni + nf === 0) return NaN;
  let v: number;
  if (nf === 0) {
    v = a;
  } else {
    const m = a * POW10[nf] + f;
    if (m >= TWO_POW_53) return NaN;
    v = m / POW10[nf];
  }
  return neg ? -v : v;
}

/** Whether the 4 bytes of `w` (little-endian) are ASCII digits. */
function isDigits4(w: number): boolean {
  return (w & 0xf0f0f0f0) === 0x30303030 && ((w + 0x06060606) & 0xf0f0f0f0) === 0x30303030;
}

/** The value of 4 ASCII digits read as a little-endian 32-bit word. */
function digits4(w: number): number {
  let v = w - 0x30303030;
  v = (v * 10 + (v >>> 8)) & 0x00ff00ff;
  return (v * 100 + (v >>> 16)) & 0xffff;
}

/**
 * A DataView over the bytes of `buf`, for {@linkcode fastDecimal}.
 */
export function viewOf(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

/**
 * Scans unsigned digits from `p` as two 32-bit chunks. Sets `scan.end`; the
 * digit count is `scan.end - p`.
 *
 * @returns The value; exact for up to 18 digits when it is below 2^53.
 */
export function fastInteger(buf: Uint8Array, p: number): number {
  const start = p;
  let a = 0;
  let d = buf[p] - 48;
  while (d >= 0 && d <= 9 && p - start < 9) {
    a = (a * 10 + d) | 0;
    d = buf[++p] - 48;
  }
  if (!(d >= 0 && d <= 9)) {
    scan.end = p;
    return a;
  }
  const lowStart = p;
  let b = 0;
  while (d >= 0 && d <= 9) {
    b = (b * 10 + d) | 0;
    d = buf[++p] - 48;
  }
  scan.end = p;
  const nb = p - lowStart;
  return nb > 9 ? NaN : a * POW10[nb] + b;
}

/**
 * Like {@linkcode fastInteger}, reading the first 8 digits 4 at a time (for
 * 13- and 16-digit timestamps).
 */
export function fastTimestamp(buf: Uint8Array, view: DataView, p: number): number {
  if (p + 8 > buf.length) return fastInteger(buf, p);
  const hi = view.getInt32(p, true);
  const lo = view.getInt32(p + 4, true);
  if (!isDigits4(hi) || !isDigits4(lo)) return fastInteger(buf, p);
  const a = digits4(hi) * 10000 + digits4(lo);
  const lowStart = p += 8;
  let b = 0;
  let d = buf[p] - 48;
  while (d >= 0 && d <= 9) {
    b = (b * 10 + d) | 0;
    d = buf[++p] - 48;
  }
  scan.end = p;
  const nb = p - lowStart;
  return nb > 9 ? NaN : a * POW10[nb] + b;
}

/**
 * Exact slow path: parses decimal text (optional sign, digits with an
 * optional point, optional exponent) with `parseFloat`.
 *
 * @returns The value, or `NaN` when the text is not a finite decimal number.
 */
export function slowDecimal(text: string): number {
  if (!DECIMAL.test(text)) return NaN;
  const v = parseFloat(text);
  return Number.isFinite(v) ? v : NaN;
}

/**
 * Decodes bytes `[start, end)` as text (error paths and the slow path only).
 */
export function fieldText(buf: Uint8Array, start: number, end: number): string {
  // TextDecoder refuses views of shared memory (a decode pool's chunk ring): those are copied.
  const shared = typeof SharedArrayBuffer === "function" && buf.buffer instanceof SharedArrayBuffer;
  return decoder.decode(shared ? buf.slice(start, end) : buf.subarray(start, end));
}

/**
 * Parses the decimal held in bytes `[start, end)`, bit-identical to
 * `parseFloat` of its text.
 *
 * @returns The value, or `NaN` when the bytes are not a finite decimal number.
 */
export function parseDecimal(buf: Uint8Array, start: number, end: number): number {
  const v = fastDecimal(buf, viewOf(buf), start);
  if (v === v && scan.end === end) return v;
  return slowDecimal(fieldText(buf, start, end));
}
