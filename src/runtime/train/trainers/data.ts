/**
 * Checks of the data handed to a trainer, class encoding and column statistics.
 */
import type { Matrix } from './types';
import { InputError, describeValue } from '../../errors';

/** Throws an {@link InputError} unless `data` is a well-formed, non-empty matrix of finite numbers. */
export function checkMatrix(data: Matrix, input = 'data'): void {
  if (!Number.isSafeInteger(data.n) || data.n < 1) {
    throw new InputError(input, `expected at least one row, got n = ${describeValue(data.n)}`);
  }
  if (!Number.isSafeInteger(data.d) || data.d < 1) {
    throw new InputError(input, `expected at least one feature column, got d = ${describeValue(data.d)}`);
  }
  if (!(data.x instanceof Float64Array) || data.x.length !== data.n * data.d) {
    throw new InputError(input, `expected a Float64Array of n * d = ${data.n * data.d} values, got ${data.x?.length ?? 'none'}`);
  }
}

/** Throws an {@link InputError} naming the first non-finite entry of `data`, if any. */
export function checkFinite(data: Matrix, input = 'data'): void {
  const { x, d } = data;
  for (let k = 0; k < x.length; k++) {
    if (!Number.isFinite(x[k])) {
      throw new InputError(input, `row ${Math.floor(k / d)}, column ${k % d} is ${x[k]}; expected a finite number`);
    }
  }
}

/** Throws unless `y` has one finite value per row. */
export function checkTarget(y: Float64Array, n: number, input = 'target'): void {
  if (!(y instanceof Float64Array) || y.length !== n) {
    throw new InputError(input, `expected a Float64Array with one value per row (${n}), got ${y?.length ?? 'none'}`);
  }
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(y[i])) throw new InputError(input, `row ${i} is ${y[i]}; expected a finite number`);
  }
}

/** Classes of a classification target and each row's class index. */
export interface EncodedClasses {
  /** Distinct labels, ascending. */
  readonly classes: number[];
  /** Index into `classes` per row. */
  readonly index: Int32Array;
}

/** Most distinct labels a classification target may have. */
export const MAX_CLASSES = 1000;

/**
 * Encodes a classification target. Labels must be integers (they become the ONNX graph's
 * INT64 `label`); there must be at least two classes.
 */
export function encodeClasses(y: Float64Array, n: number, input = 'target'): EncodedClasses {
  checkTarget(y, n, input);
  // Labels are few: a linear scan over the ones seen so far, starting with the last match.
  const seen: number[] = [];
  const raw = new Int32Array(n);
  let last = -1;
  for (let i = 0; i < n; i++) {
    const v = y[i];
    if (last >= 0 && seen[last] === v) {
      raw[i] = last;
      continue;
    }
    let at = seen.indexOf(v);
    if (at < 0) {
      if (!Number.isSafeInteger(v)) {
        throw new InputError(input, `row ${i} is ${v}; expected an integer class label`);
      }
      if (seen.length >= MAX_CLASSES) {
        throw new InputError(input, `has more than ${MAX_CLASSES} distinct labels; expected a classification target`);
      }
      at = seen.push(v) - 1;
    }
    raw[i] = at;
    last = at;
  }
  if (seen.length < 2) {
    throw new InputError(input, `has a single class (${seen[0]}) in ${n} rows; expected at least two classes`);
  }
  const classes = [...seen].sort((a, b) => a - b);
  const remap = Int32Array.from(seen, (v) => classes.indexOf(v));
  const index = new Int32Array(n);
  for (let i = 0; i < n; i++) index[i] = remap[raw[i]];
  return { classes, index };
}

/** Per-column mean and the scale used to standardise (population standard deviation). */
export interface ColumnScaling {
  readonly mean: Float64Array;
  /** Standard deviation, or 1 for a constant column (as scikit-learn's StandardScaler). */
  readonly scale: Float64Array;
}

/**
 * Column means and standard deviations in one pass (shifted by the first row, which keeps
 * the variance accurate for columns far from zero), checking every value is finite.
 */
export function columnScaling(data: Matrix, input = 'data'): ColumnScaling {
  const { x, n, d } = data;
  const shift = x.slice(0, d);
  const s1 = new Float64Array(d);
  const s2 = new Float64Array(d);
  // Four rows at a time (fewer read-modify-writes of the sums).
  const n4 = n - (n % 4);
  let i = 0;
  for (let off = 0; i < n4; i += 4, off += 4 * d) {
    const o1 = off + d;
    const o2 = o1 + d;
    const o3 = o2 + d;
    for (let j = 0; j < d; j++) {
      const c = shift[j];
      const t0 = x[off + j] - c;
      const t1 = x[o1 + j] - c;
      const t2 = x[o2 + j] - c;
      const t3 = x[o3 + j] - c;
      s1[j] += (t0 + t1) + (t2 + t3);
      s2[j] += (t0 * t0 + t1 * t1) + (t2 * t2 + t3 * t3);
    }
  }
  for (let off = i * d; i < n; i++, off += d) {
    for (let j = 0; j < d; j++) {
      const t = x[off + j] - shift[j];
      s1[j] += t;
      s2[j] += t * t;
    }
  }
  const mean = new Float64Array(d);
  const scale = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    if (!Number.isFinite(s1[j]) || !Number.isFinite(s2[j])) {
      checkFinite(data, input);
      throw new InputError(input, `column ${j} has values too large to standardise (sum of squares overflows)`);
    }
    const m1 = s1[j] / n;
    const variance = Math.max(0, s2[j] / n - m1 * m1);
    const mu = shift[j] + m1;
    mean[j] = mu;
    // scikit-learn's test for a constant feature (sklearn.preprocessing._data._is_constant_feature).
    const eps = Number.EPSILON;
    const upper = n * eps * variance + (n * mu * eps) ** 2;
    scale[j] = variance <= upper ? 1 : Math.sqrt(variance);
  }
  return { mean, scale };
}

/** Identity scaling (mean 0, scale 1), for `standardize: false`. */
export function noScaling(d: number): ColumnScaling {
  return { mean: new Float64Array(d), scale: new Float64Array(d).fill(1) };
}
