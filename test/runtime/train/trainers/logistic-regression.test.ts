import { float32Representable, maxRelativeDifference, readReference, referenceSplit, runOnnx } from './helpers';
import { InputError } from '../../../../src/runtime/errors';
import { classificationMetrics } from '../../../../src/runtime/train/metrics';
import { readModelSummary } from '../../../../src/runtime/train/onnx';
import { logisticRegression } from '../../../../src/runtime/train/trainers';

interface LrReference {
  coef: number[][];
  intercept: number[];
  classes: number[];
  test_proba: number[][];
  metrics: Record<string, number>;
}
const models = readReference<Record<string, Record<string, LrReference>>>('models');

describe('logistic-regression on breast_cancer (binary, 426 train / 143 test rows)', () => {
  const s = referenceSplit('breast_cancer');
  const model = logisticRegression.fit(s.train.x, s.train.y, {}, { seed: 1 });
  const prediction = model.predict(s.test.x);
  const metrics = classificationMetrics(s.test.y, { labels: prediction.labels!, probabilities: prediction.probabilities! }, model.classes!);

  it('is good: held-out ROC AUC > 0.99 and accuracy > 0.97 (scikit-learn: 0.9977 and 0.986)', () => {
    expect(metrics.roc_auc).toBeGreaterThan(0.99);
    expect(metrics.accuracy).toBeGreaterThan(0.97);
    const sk = models.logistic_regression_breast_cancer.default.metrics;
    expect(Math.abs(metrics.roc_auc - sk.roc_auc)).toBeLessThan(0.002);
    expect(metrics.accuracy).toBe(sk.accuracy);
  });

  it('converges (default tol) and records the parameters used', () => {
    expect(model.diagnostics.converged).toBe(true);
    expect(model.params).toEqual({ C: 1, tol: 1e-4, max_iter: 100, standardize: true });
    expect(model.classes).toEqual([0, 1]);
    expect(model.task).toBe('classification');
  });

  it('at a tight tolerance reaches scikit-learn\'s optimum (StandardScaler + LogisticRegression(C=1)): probabilities within 1e-5', () => {
    const tight = logisticRegression.fit(s.train.x, s.train.y, { tol: 1e-9, max_iter: 1000 }, { seed: 1 });
    const p = tight.predict(s.test.x).probabilities!;
    const ref = models.logistic_regression_breast_cancer.optimum;
    expect(maxRelativeDifference(p, ref.test_proba.flat())).toBeLessThan(1e-5);
    // Coefficients in raw feature space (the exported layer) against scikit-learn's, folded the same way.
    const w = tight.layers[0].weights;
    expect(maxRelativeDifference(w, ref.coef[0])).toBeLessThan(1e-4);
    expect(maxRelativeDifference(tight.layers[0].bias, ref.intercept)).toBeLessThan(1e-4);
  });

  it('follows C like scikit-learn (C = 0.05 matches its optimum, and shrinks the weights)', () => {
    const small = logisticRegression.fit(s.train.x, s.train.y, { C: 0.05, tol: 1e-9, max_iter: 1000 }, { seed: 1 });
    const ref = models.logistic_regression_breast_cancer['C=0.05'];
    expect(maxRelativeDifference(small.layers[0].weights, ref.coef[0])).toBeLessThan(1e-4);
    const norm = (a: ArrayLike<number>): number => Array.from(a).reduce((u, v) => u + Math.abs(v), 0);
    expect(norm(small.layers[0].weights)).toBeLessThan(norm(model.layers[0].weights));
  });

  it('exports ONNX that onnxruntime-node runs with the same labels and probabilities (within 1e-6)', async () => {
    const x = float32Representable(s.test.x);
    const bytes = model.toOnnx({ modelName: 'breast-cancer', featureNames: s.features });
    const out = await runOnnx(bytes, x);
    const p = model.predict(x);
    expect(out.dims).toEqual({ label: [x.n], probabilities: [x.n, 2] });
    expect(Array.from(out.label!, Number)).toEqual(Array.from(p.labels!));
    expect(maxRelativeDifference(out.probabilities!, p.probabilities!)).toBeLessThanOrEqual(1e-6);
    // predict() rounds its inputs to float32 as the FP32 tensor does: the raw float64 rows give the same.
    expect(Array.from(model.predict(s.test.x).probabilities!)).toEqual(Array.from(p.probabilities!));
    const summary = readModelSummary(bytes);
    expect(summary.opsets).toEqual([{ domain: '', version: 17 }]);
    expect(JSON.parse(summary.metadata['cdk_mlops.feature_names'])).toEqual(s.features);
    expect(summary.metadata['cdk_mlops.trainer']).toBe('logistic-regression');
  });

  it('is deterministic', () => {
    const again = logisticRegression.fit(s.train.x, s.train.y, {}, { seed: 99 });
    expect(Buffer.from(again.toOnnx({ modelName: 'm', featureNames: s.features }))
      .equals(Buffer.from(model.toOnnx({ modelName: 'm', featureNames: s.features })))).toBe(true);
  });

  it('reports progress with fractions in [0, 1], ending at 1', () => {
    const seen: [number, string][] = [];
    logisticRegression.fit(s.train.x, s.train.y, {}, { seed: 1, onProgress: (f, m) => seen.push([f, m]) });
    expect(seen.length).toBeGreaterThan(2);
    expect(seen.every(([f]) => f >= 0 && f <= 1)).toBe(true);
    expect(seen[seen.length - 1][0]).toBe(1);
    expect(seen[0][1]).toMatch(/^logistic-regression: iteration 1, loss /);
  });

  it('works without standardisation too (plain LogisticRegression), just more slowly on raw scales', () => {
    const raw = logisticRegression.fit(s.train.x, s.train.y, { standardize: false, max_iter: 5000 }, { seed: 1 });
    const p = raw.predict(s.test.x);
    const m = classificationMetrics(s.test.y, { labels: p.labels!, probabilities: p.probabilities! }, raw.classes!);
    expect(m.roc_auc).toBeGreaterThan(0.98);
  });
});

describe('logistic-regression on digits (10 classes, multinomial)', () => {
  const s = referenceSplit('digits');
  const model = logisticRegression.fit(s.train.x, s.train.y, {}, { seed: 1 });
  const prediction = model.predict(s.test.x);

  it('is good: held-out accuracy > 0.95 (scikit-learn: 0.978)', () => {
    const m = classificationMetrics(s.test.y, { labels: prediction.labels!, probabilities: prediction.probabilities! }, model.classes!);
    expect(m.accuracy).toBeGreaterThan(0.95);
    expect(Math.abs(m.accuracy - models.logistic_regression_digits.default.metrics.accuracy)).toBeLessThanOrEqual(0.01);
    expect(m.roc_auc).toBeGreaterThan(0.995);
    expect(model.classes).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('at a tight tolerance matches scikit-learn\'s multinomial optimum (probabilities within 1e-4)', () => {
    const tight = logisticRegression.fit(s.train.x, s.train.y, { tol: 1e-8, max_iter: 2000 }, { seed: 1 });
    const ref = models.logistic_regression_digits.optimum;
    expect(maxRelativeDifference(tight.predict(s.test.x).probabilities!, ref.test_proba.flat())).toBeLessThan(1e-4);
  });

  it('exports ONNX with the same labels and probabilities (within 1e-6)', async () => {
    const x = float32Representable(s.test.x);
    const out = await runOnnx(model.toOnnx({ modelName: 'digits', featureNames: s.features }), x);
    const p = model.predict(x);
    expect(out.dims).toEqual({ label: [x.n], probabilities: [x.n, 10] });
    expect(Array.from(out.label!, Number)).toEqual(Array.from(p.labels!));
    expect(maxRelativeDifference(out.probabilities!, p.probabilities!)).toBeLessThanOrEqual(1e-6);
  });
});

describe('logistic-regression input checks', () => {
  const x = { x: Float64Array.of(0, 1, 1, 0, 2, 2, 3, 1), n: 4, d: 2 };
  const y = Float64Array.of(0, 1, 0, 1);

  it('rejects unknown, mistyped and out-of-range parameters, naming them', () => {
    expect(() => logisticRegression.fit(x, y, { c: 1 }, { seed: 1 }))
      .toThrow('params.c: trainer "logistic-regression" has no parameter "c" (got 1); expected one of: C, tol, max_iter, standardize');
    expect(() => logisticRegression.fit(x, y, { C: '1' }, { seed: 1 }))
      .toThrow('params.C: trainer "logistic-regression" expects a finite number > 0 (inverse of the L2 penalty strength, as scikit-learn), got "1"');
    expect(() => logisticRegression.fit(x, y, { C: 0 }, { seed: 1 })).toThrow(/^params\.C: .*> 0.*got 0$/);
    expect(() => logisticRegression.fit(x, y, { max_iter: 2.5 }, { seed: 1 })).toThrow(/^params\.max_iter: .*an integer >= 1 and <= 100000.*got 2\.5$/);
    expect(() => logisticRegression.fit(x, y, { standardize: 'yes' }, { seed: 1 })).toThrow(/^params\.standardize: .*a boolean.*got "yes"$/);
    expect(() => logisticRegression.fit(x, y, { tol: Number.NaN }, { seed: 1 })).toThrow(InputError);
  });

  it('rejects bad data: NaN, one class, non-integer labels, wrong lengths', () => {
    const nan = { ...x, x: Float64Array.of(0, 1, 1, Number.NaN, 2, 2, 3, 1) };
    expect(() => logisticRegression.fit(nan, y, {}, { seed: 1 })).toThrow('data: row 1, column 1 is NaN; expected a finite number');
    expect(() => logisticRegression.fit(x, Float64Array.of(1, 1, 1, 1), {}, { seed: 1 }))
      .toThrow('target: has a single class (1) in 4 rows; expected at least two classes');
    expect(() => logisticRegression.fit(x, Float64Array.of(0, 1, 0.5, 1), {}, { seed: 1 }))
      .toThrow('target: row 2 is 0.5; expected an integer class label');
    expect(() => logisticRegression.fit(x, Float64Array.of(0, 1, 0), {}, { seed: 1 }))
      .toThrow('target: expected a Float64Array with one value per row (4), got 3');
    expect(() => logisticRegression.fit({ x: new Float64Array(0), n: 0, d: 2 }, new Float64Array(0), {}, { seed: 1 }))
      .toThrow('data: expected at least one row, got n = 0');
  });

  it('refuses to predict or export with the wrong number of features', () => {
    const m = logisticRegression.fit(x, y, {}, { seed: 1 });
    expect(() => m.predict({ x: new Float64Array(3), n: 1, d: 3 })).toThrow('data: has 3 feature columns; this model was trained on 2');
    expect(() => m.toOnnx({ modelName: 'm', featureNames: ['a'] })).toThrow('featureNames: has 1 names; this model takes 2 features');
  });
});
