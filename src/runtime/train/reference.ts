import { Rng } from './split';
import { ColumnReference, REFERENCE_SCHEMA_VERSION, ReferenceStatistics } from '../registry/types';

/**
 * Reference statistics (the drift monitor's baseline), computed on the training split:
 *
 * - `count` rows, `missing` (always 0 for inputs the harness accepted: it refuses missing
 *   values; a reader should still use it), `distinct` exact;
 * - numeric: min, max, mean, population standard deviation (ddof 0, as numpy's default),
 *   quantiles at `quantileLevels` by linear interpolation between order statistics (numpy's
 *   default `linear` method, Hyndman & Fan type 7);
 * - histogram: equal-frequency edges (the quantiles at k/bins, k = 0..bins, so the first edge
 *   is the minimum and the last the maximum), tied edges merged, so a column with heavy ties
 *   (e.g. mostly 0) has fewer bins than asked; a value v is in bin i when
 *   edges[i] <= v < edges[i+1], the last bin closed. A constant column has no histogram (its
 *   frequencies say everything);
 * - frequencies (value as text -> count) for categorical columns and for numeric ones with at
 *   most `maxCategories` distinct values;
 * - sample: a seeded reservoir sample (algorithm R) of at most `sampleSize` values, in row
 *   order of selection; all values, in row order, when there are no more than that.
 *
 * The prediction column is the model's prediction on the same rows: the class label
 * (categorical, with frequencies) for classification, the value (numeric) for regression.
 */
export interface ReferenceOptions {
  readonly bins: number;
  readonly quantiles: readonly number[];
  readonly sampleSize: number;
  readonly maxCategories: number;
  readonly seed: number;
}

/** Quantile at level q of ascending `sorted` (linear interpolation, numpy's default). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 1) return sorted[0];
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/** Statistics of one column of numbers. */
export function columnReference(name: string, values: Float64Array, kind: 'numeric' | 'categorical', options: ReferenceOptions): ColumnReference {
  const n = values.length;
  const sorted = Float64Array.from(values).sort();
  let distinct = 0;
  for (let i = 0; i < n; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) distinct++;
  const sample = reservoir(values, options.sampleSize, options.seed);
  let frequencies: Record<string, number> | undefined;
  if (kind === 'categorical' || distinct <= options.maxCategories) {
    frequencies = {};
    for (let i = 0; i < n;) {
      let j = i;
      while (j < n && sorted[j] === sorted[i]) j++;
      frequencies[String(sorted[i])] = j - i;
      i = j;
    }
  }
  if (kind === 'categorical' || n === 0) {
    return { name, kind, count: n, missing: 0, distinct, ...(frequencies ? { frequencies } : {}), sample };
  }
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i];
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[i] - mean) ** 2;
  const min = sorted[0];
  const max = sorted[n - 1];
  let histogram: ColumnReference['histogram'];
  if (max > min) {
    const edges: number[] = [];
    for (let k = 0; k <= options.bins; k++) {
      const e = k === 0 ? min : k === options.bins ? max : quantileSorted(sorted, k / options.bins);
      if (!edges.length || e > edges[edges.length - 1]) edges.push(e);
    }
    if (edges[edges.length - 1] < max) edges.push(max);
    histogram = { binEdges: edges, counts: histogramCounts(sorted, edges) };
  }
  return {
    name,
    kind,
    count: n,
    missing: 0,
    distinct,
    min,
    max,
    mean,
    std: Math.sqrt(ss / n),
    quantiles: options.quantiles.map((q) => quantileSorted(sorted, q)),
    ...(histogram ? { histogram } : {}),
    ...(frequencies ? { frequencies } : {}),
    sample,
  };
}

/** Counts of ascending `sorted` in the bins of `edges` (left-closed, last bin closed). */
export function histogramCounts(sorted: ArrayLike<number>, edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length - 1).fill(0);
  let bin = 0;
  for (let i = 0; i < sorted.length; i++) {
    const v = sorted[i];
    while (bin < counts.length - 1 && v >= edges[bin + 1]) bin++;
    counts[bin]++;
  }
  return counts;
}

/** Seeded reservoir sample (algorithm R) of at most `size` values. */
export function reservoir(values: ArrayLike<number>, size: number, seed: number): number[] {
  const n = values.length;
  const out: number[] = [];
  for (let i = 0; i < Math.min(n, size); i++) out.push(values[i]);
  if (n <= size) return out;
  const rng = new Rng(seed);
  for (let i = size; i < n; i++) {
    const j = rng.int(i + 1);
    if (j < size) out[j] = values[i];
  }
  return out;
}

/** The whole reference document for a version. */
export function referenceStatistics(input: {
  readonly featureNames: readonly string[];
  /** Row-major n x d. */
  readonly x: Float64Array;
  readonly n: number;
  readonly prediction: Float64Array;
  readonly task: 'classification' | 'regression';
  readonly metrics: Readonly<Record<string, number>>;
  readonly options: ReferenceOptions;
}): ReferenceStatistics {
  const { featureNames, x, n, options } = input;
  const d = featureNames.length;
  const features = featureNames.map((name, j) => {
    const col = new Float64Array(n);
    for (let i = 0; i < n; i++) col[i] = x[i * d + j];
    // A different seed per column, so the samples are not the same rows of every column.
    return columnReference(name, col, 'numeric', { ...options, seed: options.seed + 7919 * (j + 1) });
  });
  const prediction = columnReference('prediction', input.prediction, input.task === 'classification' ? 'categorical' : 'numeric', { ...options, seed: options.seed + 104729 });
  return {
    schemaVersion: REFERENCE_SCHEMA_VERSION,
    rows: n,
    quantileLevels: [...options.quantiles],
    sampleSize: options.sampleSize,
    features,
    prediction,
    metrics: { ...input.metrics },
  };
}
