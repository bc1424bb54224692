import { fromFloat16Bits, toFloat16Bits } from '../../../src/runtime/serve/datatypes';

describe('FP16 conversion', () => {
  test('known values: normal, largest, subnormal, zero signs, infinity, NaN', () => {
    const cases: [number, number][] = [
      [1, 0x3c00], [-2, 0xc000], [0.5, 0x3800], [65504, 0x7bff], [2 ** -14, 0x0400], [2 ** -24, 0x0001],
      [0, 0x0000], [-0, 0x8000], [Infinity, 0x7c00], [-Infinity, 0xfc00], [65520, 0x7c00], [1e10, 0x7c00], [1e-10, 0x0000],
    ];
    for (const [v, bits] of cases) expect({ v, bits: toFloat16Bits(v) }).toEqual({ v, bits });
    expect(toFloat16Bits(NaN) & 0x7c00).toBe(0x7c00);
    expect(toFloat16Bits(NaN) & 0x3ff).not.toBe(0);
    expect(fromFloat16Bits(0x7e00)).toBeNaN();
    expect(fromFloat16Bits(0xfc00)).toBe(-Infinity);
  });

  test('every finite half round-trips, and every midpoint between neighbours rounds to the even one', () => {
    const bad: string[] = [];
    for (let bits = 0; bits < 0x10000; bits++) {
      const v = fromFloat16Bits(bits);
      if (!Number.isFinite(v)) continue;
      if (toFloat16Bits(v) !== bits && !(v === 0 && bits === 0x8000 && Object.is(v, -0))) bad.push(`round trip ${bits.toString(16)}`);
      const next = bits + 1;
      if ((bits & 0x7fff) < 0x7bff) {
        const w = fromFloat16Bits(next);
        const mid = (v + w) / 2;
        const expected = (bits & 1) === 0 ? bits : next;
        if (toFloat16Bits(mid) !== expected) bad.push(`midpoint ${bits.toString(16)}`);
        // Just above / below the midpoint round to the nearer neighbour.
        if (toFloat16Bits(mid + Math.abs(w - v) / 8) !== (v < w ? next : bits) && v >= 0) bad.push(`above midpoint ${bits.toString(16)}`);
      }
    }
    expect(bad.slice(0, 10)).toEqual([]);
  });
});
