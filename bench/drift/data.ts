/**
 * The benchmark's data: 20 numeric features, generated in chunks from a counter-based hash, so
 * that any chunk can be produced on its own and NumPy (bench/drift/baseline.py) produces the
 * same doubles bit for bit with vectorised uint32 arithmetic.
 *
 * u(seed, i, j, k) = lowbias32((i * 20 + j) * 4 + k + seed * 0x9E3779B9 mod 2^32) / 2^32
 *
 * feature j, by j % 4:
 *   0: 10 u0 + j                                (uniform)
 *   1: ((u0 + u1) + u2 + u3 - 2) * 2 + j        (bell-shaped)
 *   2: u0 / (1 - u0 + 0.001)                    (heavy right tail)
 *   3: floor(50 u0) / 10                        (50 discrete values)
 * The current window (seed 2) shifts features 0-4 by +0.3; feature 19 is missing (NaN) on
 * every row i with i % 1000 == 999.
 */
export const FEATURES = 20;
export const names = Array.from({ length: FEATURES }, (_, j) => `f${String(j).padStart(2, '0')}`);
const GOLDEN = 0x9e3779b9;

function lowbias32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Fills `out[j]` (one Float64Array per feature) with rows [start, start + n). */
export function generateChunk(seed: number, start: number, n: number, shift: number, out: Float64Array[]): void {
  const offset = Number((BigInt(seed) * BigInt(GOLDEN)) % 4294967296n);
  for (let j = 0; j < FEATURES; j++) {
    const col = out[j];
    const kind = j % 4;
    const add = j < 5 ? shift : 0;
    for (let r = 0; r < n; r++) {
      const i = start + r;
      const base = (i * FEATURES + j) * 4;
      const u0 = lowbias32((base + offset) % 4294967296) / 4294967296;
      let v: number;
      if (kind === 0) v = 10 * u0 + j;
      else if (kind === 1) {
        const u1 = lowbias32((base + 1 + offset) % 4294967296) / 4294967296;
        const u2 = lowbias32((base + 2 + offset) % 4294967296) / 4294967296;
        const u3 = lowbias32((base + 3 + offset) % 4294967296) / 4294967296;
        v = (((u0 + u1) + u2) + u3 - 2) * 2 + j;
      } else if (kind === 2) v = u0 / (1 - u0 + 0.001);
      else v = Math.floor(50 * u0) / 10;
      v += add;
      if (j === FEATURES - 1 && i % 1000 === 999) v = Number.NaN;
      col[r] = v;
    }
  }
}
