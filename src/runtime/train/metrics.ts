/**
 * Evaluation metrics, defined as scikit-learn 1.2 defines them (the tests compare with
 * scikit-learn's values to 1e-9):
 *
 * - classification: `accuracy`; `precision`, `recall`, `f1` for the positive class (the larger
 *   of two labels) in binary problems and macro-averaged over all classes otherwise (a class
 *   never predicted has precision 0, as `zero_division=0`); `roc_auc` (binary: of the positive
 *   class's probability; multiclass: one-vs-rest, macro-averaged; ties counted half);
 *   `log_loss` (probabilities clipped to [eps, 1 - eps] with eps = 2^-52, rows renormalised).
 * - regression: `rmse`, `mae`, `r2` (1 when the target is constant and predicted exactly, 0
 *   when constant and not).
 *
 * Probabilities are row-major n x k, columns in the order of `classes` (ascending labels, as
 * the trainers return them).
 */
import { InputError } from '../errors';

/** Metric values by name (`accuracy`, `roc_auc`, `rmse`, ...), as stored in a manifest. */
export type Metrics = Record<string, number>;

/** Names of the classification metrics, in report order. */
export const CLASSIFICATION_METRICS = ['accuracy', 'precision', 'recall', 'f1', 'roc_auc', 'log_loss'] as const;
/** Names of the regression metrics, in report order. */
export const REGRESSION_METRICS = ['rmse', 'mae', 'r2'] as const;
/** Whether a larger value of the metric is better (false for losses and errors). */
export function higherIsBetter(metric: string): boolean {
  return !['log_loss', 'rmse', 'mae'].includes(metric);
}

function checkLength(name: string, a: ArrayLike<number>, n: number): void {
  if (a.length !== n) throw new InputError(name, `expected ${n} values (one per row), got ${a.length}`);
}

function nonEmpty(yTrue: ArrayLike<number>): number {
  if (yTrue.length === 0) throw new InputError('yTrue', 'is empty; expected at least one row');
  return yTrue.length;
}

/** Index of each label in `classes`; throws on a label that is not a class. */
function classIndex(name: string, y: ArrayLike<number>, classes: readonly number[]): Int32Array {
  const pos = new Map<number, number>(classes.map((c, i) => [c, i]));
  if (pos.size !== classes.length) throw new InputError('classes', `has duplicates: ${JSON.stringify(classes)}`);
  const out = new Int32Array(y.length);
  for (let i = 0; i < y.length; i++) {
    const p = pos.get(y[i]);
    if (p === undefined) {
      throw new InputError(name, `row ${i} has label ${y[i]}, which is not one of the classes ${JSON.stringify(classes)}`);
    }
    out[i] = p;
  }
  return out;
}

/** Fraction of rows whose predicted label equals the true label. */
export function accuracy(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  const n = nonEmpty(yTrue);
  checkLength('yPred', yPred, n);
  let hit = 0;
  for (let i = 0; i < n; i++) if (yTrue[i] === yPred[i]) hit++;
  return hit / n;
}

/** Precision, recall and F1 (binary: of `classes[1]`; otherwise macro over `classes`). */
export function precisionRecallF1(
  yTrue: ArrayLike<number>, yPred: ArrayLike<number>, classes: readonly number[],
): { precision: number; recall: number; f1: number } {
  const n = nonEmpty(yTrue);
  checkLength('yPred', yPred, n);
  if (classes.length < 2) throw new InputError('classes', `expected at least two classes, got ${JSON.stringify(classes)}`);
  const t = classIndex('yTrue', yTrue, classes);
  const p = classIndex('yPred', yPred, classes);
  const k = classes.length;
  const tp = new Float64Array(k);
  const predicted = new Float64Array(k);
  const actual = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    predicted[p[i]]++;
    actual[t[i]]++;
    if (p[i] === t[i]) tp[t[i]]++;
  }
  const per = (c: number): [number, number, number] => {
    const prec = predicted[c] > 0 ? tp[c] / predicted[c] : 0;
    const rec = actual[c] > 0 ? tp[c] / actual[c] : 0;
    const f1 = prec + rec > 0 ? (2 * prec * rec) / (prec + rec) : 0;
    return [prec, rec, f1];
  };
  if (k === 2) {
    const [precision, recall, f1] = per(1);
    return { precision, recall, f1 };
  }
  let sp = 0;
  let sr = 0;
  let sf = 0;
  for (let c = 0; c < k; c++) {
    const [a, b, f] = per(c);
    sp += a;
    sr += b;
    sf += f;
  }
  return { precision: sp / k, recall: sr / k, f1: sf / k };
}

/**
 * Area under the ROC curve of `score` for `positive[i]` rows against the rest (Mann-Whitney
 * U with mid-ranks for ties, equal to the trapezoidal area under scikit-learn's roc_curve).
 * Returns NaN when either group is empty.
 */
function binaryAuc(score: Float64Array, positive: Uint8Array): number {
  const n = score.length;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => score[a] - score[b]);
  let rankSum = 0;
  let pos = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && score[order[j + 1]] === score[order[i]]) j++;
    const midRank = (i + j) / 2 + 1;
    for (let r = i; r <= j; r++) {
      if (positive[order[r]]) {
        rankSum += midRank;
        pos++;
      }
    }
    i = j + 1;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) return NaN;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

function checkProbabilities(probabilities: ArrayLike<number>, n: number, k: number): void {
  if (probabilities.length !== n * k) {
    throw new InputError('probabilities', `expected n * k = ${n} * ${k} = ${n * k} values (row-major), got ${probabilities.length}`);
  }
  for (let i = 0; i < probabilities.length; i++) {
    const v = probabilities[i];
    if (!(v >= 0 && v <= 1)) {
      throw new InputError('probabilities', `row ${Math.floor(i / k)}, column ${i % k} is ${v}; expected a probability in [0, 1]`);
    }
  }
}

/**
 * ROC AUC: binary, of the positive class's probability column; multiclass, one-vs-rest and
 * macro-averaged. Throws an {@link InputError} when a class has no row in `yTrue` (the curve
 * is undefined), as scikit-learn does.
 */
export function rocAuc(yTrue: ArrayLike<number>, probabilities: ArrayLike<number>, classes: readonly number[]): number {
  const n = nonEmpty(yTrue);
  const k = classes.length;
  if (k < 2) throw new InputError('classes', `expected at least two classes, got ${JSON.stringify(classes)}`);
  checkProbabilities(probabilities, n, k);
  const t = classIndex('yTrue', yTrue, classes);
  const counts = new Int32Array(k);
  for (let i = 0; i < n; i++) counts[t[i]]++;
  const missing = classes.filter((_, c) => counts[c] === 0);
  if (missing.length > 0) {
    throw new InputError('yTrue', `has no row of class ${missing.join(', ')} (${n} rows); ROC AUC needs every class present`);
  }
  const score = new Float64Array(n);
  const positive = new Uint8Array(n);
  const one = (c: number): number => {
    for (let i = 0; i < n; i++) {
      score[i] = probabilities[i * k + c];
      positive[i] = t[i] === c ? 1 : 0;
    }
    return binaryAuc(score, positive);
  };
  if (k === 2) return one(1);
  let sum = 0;
  for (let c = 0; c < k; c++) sum += one(c);
  return sum / k;
}

/** Mean negative log-likelihood of the true class (clipped and renormalised, as scikit-learn). */
export function logLoss(yTrue: ArrayLike<number>, probabilities: ArrayLike<number>, classes: readonly number[]): number {
  const n = nonEmpty(yTrue);
  const k = classes.length;
  if (k < 2) throw new InputError('classes', `expected at least two classes, got ${JSON.stringify(classes)}`);
  checkProbabilities(probabilities, n, k);
  const t = classIndex('yTrue', yTrue, classes);
  const eps = Number.EPSILON;
  let total = 0;
  for (let i = 0; i < n; i++) {
    let rowSum = 0;
    for (let c = 0; c < k; c++) rowSum += Math.min(1 - eps, Math.max(eps, probabilities[i * k + c]));
    const pt = Math.min(1 - eps, Math.max(eps, probabilities[i * k + t[i]])) / rowSum;
    total -= Math.log(pt);
  }
  return total / n;
}

/** Root mean squared error. */
export function rmse(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  const n = nonEmpty(yTrue);
  checkLength('yPred', yPred, n);
  let s = 0;
  for (let i = 0; i < n; i++) s += (yTrue[i] - yPred[i]) ** 2;
  return Math.sqrt(s / n);
}

/** Mean absolute error. */
export function mae(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  const n = nonEmpty(yTrue);
  checkLength('yPred', yPred, n);
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.abs(yTrue[i] - yPred[i]);
  return s / n;
}

/** Coefficient of determination. */
export function r2(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  const n = nonEmpty(yTrue);
  checkLength('yPred', yPred, n);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += yTrue[i];
  mean /= n;
  let ssRes = 0;
  let ssTot = 0;
  for (let i = 0; i < n; i++) {
    ssRes += (yTrue[i] - yPred[i]) ** 2;
    ssTot += (yTrue[i] - mean) ** 2;
  }
  if (ssTot === 0) return ssRes === 0 ? 1 : 0;
  return 1 - ssRes / ssTot;
}

/**
 * Every classification metric. `roc_auc` is left out when it is undefined (a class with no
 * row in `yTrue`, which happens in small slices); the others are always present.
 */
export function classificationMetrics(
  yTrue: ArrayLike<number>,
  prediction: { readonly labels: ArrayLike<number>; readonly probabilities: ArrayLike<number> },
  classes: readonly number[],
): Metrics {
  const prf = precisionRecallF1(yTrue, prediction.labels, classes);
  const out: Metrics = { accuracy: accuracy(yTrue, prediction.labels), ...prf };
  const t = classIndex('yTrue', yTrue, classes);
  const present = new Set(t);
  if (present.size === classes.length) out.roc_auc = rocAuc(yTrue, prediction.probabilities, classes);
  out.log_loss = logLoss(yTrue, prediction.probabilities, classes);
  return out;
}

/** Every regression metric. */
export function regressionMetrics(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): Metrics {
  return { rmse: rmse(yTrue, yPred), mae: mae(yTrue, yPred), r2: r2(yTrue, yPred) };
}
