/**
 * Int64 columns from and to float64 values (epoch ms, counts): exact below
 * 2^53 in magnitude, without a BigInt per value.
 *
 * @module
 */

/** The first `length` values as int64, through 32-bit halves (no BigInt per value). */
export function toInt64(values: Float64Array, length: number): BigInt64Array {
  const halves = new Int32Array(length * 2);
  for (let i = 0; i < length; i++) {
    const v = values[i];
    const hi = Math.floor(v / 4294967296);
    halves[2 * i] = (v - hi * 4294967296) | 0;
    halves[2 * i + 1] = hi;
  }
  return new BigInt64Array(halves.buffer);
}

/** The first `length` int64 values as float64 (exact below 2^53 in magnitude). */
export function fromInt64(values: BigInt64Array, length: number = values.length): Float64Array {
  const halves = new Int32Array(values.buffer, values.byteOffset, length * 2);
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) {
    out[i] = halves[2 * i + 1] * 4294967296 + (halves[2 * i] >>> 0);
  }
  return out;
}
