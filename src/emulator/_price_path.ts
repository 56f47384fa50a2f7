/**
 * The price path of the synthetic market: BTC-like anchor levels plus
 * seeded value noise at several time scales, and the integer hashes behind
 * it. Private to the emulator.
 *
 * @module
 */

/** BTC-like anchor levels, `[epoch ms, price]`, interpolated in log space. */
export const ANCHORS: readonly (readonly [number, number])[] = [
  [Date.UTC(2017, 7, 1), 4200],
  [Date.UTC(2017, 11, 17), 17000],
  [Date.UTC(2018, 11, 15), 3400],
  [Date.UTC(2019, 5, 26), 11500],
  [Date.UTC(2020, 2, 13), 5600],
  [Date.UTC(2020, 11, 31), 29000],
  [Date.UTC(2021, 3, 14), 61000],
  [Date.UTC(2021, 6, 20), 30000],
  [Date.UTC(2021, 10, 10), 66000],
  [Date.UTC(2022, 5, 18), 19500],
  [Date.UTC(2022, 11, 31), 16500],
  [Date.UTC(2023, 11, 31), 42300],
  [Date.UTC(2024, 2, 14), 71000],
  [Date.UTC(2024, 11, 31), 93500],
  [Date.UTC(2025, 9, 6), 124000],
  [Date.UTC(2026, 10, 1), 92000],
];

/** Value-noise octaves: `[period ms, amplitude in log price, shared by the base asset]`. */
export const OCTAVES: readonly (readonly [number, number, boolean])[] = [
  [30 * 86_400_000, 0.06, true],
  [7 * 86_400_000, 0.03, true],
  [86_400_000, 0.015, true],
  [4 * 3_600_000, 0.006, true],
  [3_600_000, 0.003, false],
  [900_000, 0.0015, false],
  [180_000, 0.0008, false],
  [60_000, 0.0005, false],
  [10_000, 0.0002, false],
  [1_000, 0.0001, false],
];

const TWO32 = 4_294_967_296;

/** Mixes a 32-bit word into a hash state (murmur3 round). */
export function mix(h: number, k: number): number {
  k = Math.imul(k | 0, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  h ^= Math.imul(k, 0x1b873593);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** Finalises a hash state into a uniform number in [0, 1). */
export function unit(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / TWO32;
}

/** Mixes an epoch-ms-sized integer (beyond 32 bits) into a hash state. */
export function mixTime(h: number, t: number): number {
  return mix(mix(h, t % TWO32), Math.floor(t / TWO32));
}

/** FNV-1a hash of a text. */
export function textKey(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h | 0;
}

/** Log of the anchor price at `t`. */
export function anchor(t: number): number {
  if (t <= ANCHORS[0][0]) return Math.log(ANCHORS[0][1]);
  for (let i = 1; i < ANCHORS.length; i++) {
    const [t1, p1] = ANCHORS[i];
    if (t <= t1) {
      const [t0, p0] = ANCHORS[i - 1];
      const f = (t - t0) / (t1 - t0);
      return Math.log(p0) + (Math.log(p1) - Math.log(p0)) * f;
    }
  }
  return Math.log(ANCHORS[ANCHORS.length - 1][1]);
}
