import { classificationMetrics, Metrics, regressionMetrics } from './metrics';
import type { Prediction } from './trainers/types';
import { compareStrings } from '../../util/compare';

/** What a model predicted for some rows, in the shape the metrics need. */
export interface Evaluated {
  readonly task: 'classification' | 'regression';
  readonly classes?: readonly number[];
  readonly prediction: Prediction;
}

/** Held-out metrics of a prediction against the true values (see `./metrics.ts` for definitions). */
export function computeMetrics(e: Evaluated, yTrue: Float64Array): Metrics {
  if (e.task === 'classification') {
    return classificationMetrics(yTrue, { labels: e.prediction.labels!, probabilities: e.prediction.probabilities! }, e.classes!);
  }
  return regressionMetrics(yTrue, e.prediction.values!);
}

/**
 * The same metrics for each value of a slice column, plus `rows` (the slice's size). Slices are
 * keyed by the value as text, sorted; a slice too small for a metric (e.g. ROC AUC of a slice
 * holding one class) simply lacks it.
 */
export function computeSliceMetrics(e: Evaluated, yTrue: Float64Array, sliceValues: readonly string[]): Record<string, Metrics> {
  const groups = new Map<string, number[]>();
  sliceValues.forEach((v, i) => {
    let g = groups.get(v);
    if (!g) groups.set(v, (g = []));
    g.push(i);
  });
  const out: Record<string, Metrics> = {};
  const keys = [...groups.keys()].sort((a, b) => (Number.isFinite(Number(a)) && Number.isFinite(Number(b)) ? Number(a) - Number(b) : compareStrings(a, b)));
  for (const key of keys) {
    const rows = groups.get(key)!;
    const y = Float64Array.from(rows, (i) => yTrue[i]);
    const p = e.prediction;
    const k = e.classes?.length ?? 0;
    const prediction = {
      ...(p.labels ? { labels: Float64Array.from(rows, (i) => p.labels![i]) } : {}),
      ...(p.values ? { values: Float64Array.from(rows, (i) => p.values![i]) } : {}),
      ...(p.probabilities ? { probabilities: Float64Array.from({ length: rows.length * k }, (_, t) => p.probabilities![rows[Math.floor(t / k)] * k + (t % k)]) } : {}),
    };
    out[key] = { rows: rows.length, ...computeMetrics({ ...e, prediction }, y) };
  }
  return out;
}

/** The predicted value per row: the class label (classification) or the value (regression). */
export function predictedColumn(e: Evaluated): Float64Array {
  return e.task === 'classification' ? e.prediction.labels! : e.prediction.values!;
}
