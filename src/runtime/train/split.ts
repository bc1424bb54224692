import { InputError } from '../errors';

/**
 * A seeded pseudo-random generator (mulberry32): small, fast, and the same sequence on every
 * platform, so a split, a search and a sample are reproducible from the run's seed.
 */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = (Math.floor(seed) ^ 0x9e3779b9) >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** Fisher-Yates shuffle in place. */
  shuffle<T extends { length: number; [i: number]: number }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }
}

/** Row indices of each split, ascending (rows keep their file order within a split). */
export interface Split {
  readonly train: Int32Array;
  readonly validation: Int32Array;
  readonly test: Int32Array;
}

/**
 * Seeded train/validation/test split. For classification (`labels` given) it is stratified:
 * each class is shuffled and divided by the fractions on its own (rounded, the rest to train),
 * so every split keeps the class balance of the whole; every class with at least 3 rows gets
 * at least one row in test (and in validation when its fraction is not 0).
 */
export function splitRows(
  n: number,
  fractions: { readonly train: number; readonly validation: number; readonly test: number },
  seed: number,
  labels?: ArrayLike<number>,
): Split {
  const rng = new Rng(seed);
  const groups = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const key = labels ? labels[i] : 0;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(i);
  }
  const train: number[] = [];
  const validation: number[] = [];
  const test: number[] = [];
  for (const key of [...groups.keys()].sort((a, b) => a - b)) {
    const rows = rng.shuffle(groups.get(key)!);
    const m = rows.length;
    let nTest = Math.round(m * fractions.test);
    let nVal = Math.round(m * fractions.validation);
    if (labels && m >= 3) {
      nTest = Math.max(1, nTest);
      if (fractions.validation > 0) nVal = Math.max(1, nVal);
    }
    if (nTest + nVal >= m) {
      nVal = Math.max(0, Math.min(nVal, m - nTest - 1));
      nTest = Math.max(0, Math.min(nTest, m - nVal - 1));
    }
    test.push(...rows.slice(0, nTest));
    validation.push(...rows.slice(nTest, nTest + nVal));
    train.push(...rows.slice(nTest + nVal));
  }
  const sorted = (a: number[]): Int32Array => Int32Array.from(a).sort();
  const split = { train: sorted(train), validation: sorted(validation), test: sorted(test) };
  const sizes = `${split.train.length} train / ${split.validation.length} validation / ${split.test.length} test`;
  if (!split.test.length) throw new InputError('split', `${n} rows give an empty test split (${sizes}); use more data or a larger split.test`);
  if (fractions.validation > 0 && !split.validation.length) {
    throw new InputError('split', `${n} rows give an empty validation split (${sizes}); use more data or a larger split.validation`);
  }
  return split;
}
