import { float32Representable, maxRelativeDifference, readReference, referenceSplit, runOnnx } from './helpers';
import { regressionMetrics } from '../../../../src/runtime/train/metrics';
import { ridge } from '../../../../src/runtime/train/trainers';

interface RidgeReference {
  coef: number[];
  intercept: number;
  metrics: Record<string, number>;
}
const reference = readReference<{ ridge_diabetes: Record<string, RidgeReference> }>('models').ridge_diabetes;

describe('ridge on diabetes (331 train / 111 test rows)', () => {
  const s = referenceSplit('diabetes');
  const model = ridge.fit(s.train.x, s.train.y, {}, { seed: 1 });

  it('is as good as scikit-learn: held-out R2 in 0.4 .. 0.55 and within 1e-6 of scikit-learn\'s 0.4859', () => {
    const m = regressionMetrics(s.test.y, model.predict(s.test.x).values!);
    const sk = reference['standardized_alpha=1'].metrics;
    expect(m.r2).toBeGreaterThan(0.4);
    expect(m.r2).toBeLessThan(0.55);
    // predict() returns float32-rounded values (as the exported graph does): 1e-6 covers that.
    expect(Math.abs(m.r2 - sk.r2)).toBeLessThan(1e-6);
    expect(Math.abs(m.rmse - sk.rmse) / sk.rmse).toBeLessThan(1e-6);
    expect(Math.abs(m.mae - sk.mae) / sk.mae).toBeLessThan(1e-6);
  });

  for (const [label, params, key] of [
    ['StandardScaler + Ridge(alpha=1)', {}, 'standardized_alpha=1'],
    ['StandardScaler + Ridge(alpha=10)', { alpha: 10 }, 'standardized_alpha=10'],
    ['Ridge(alpha=1) on raw features', { standardize: false }, 'raw_alpha=1'],
    ['LinearRegression (alpha = 0)', { alpha: 0, standardize: false }, 'ols'],
  ] as const) {
    it(`has scikit-learn's coefficients for ${label} (relative 1e-9)`, () => {
      const m = ridge.fit(s.train.x, s.train.y, params, { seed: 1 });
      const ref = reference[key];
      expect(maxRelativeDifference(m.layers[0].weights, ref.coef)).toBeLessThan(1e-9);
      expect(Math.abs(m.layers[0].bias[0] - ref.intercept) / Math.abs(ref.intercept)).toBeLessThan(1e-9);
    });
  }

  it('exports ONNX whose `variable` equals predict() within 1e-6 (relative)', async () => {
    const x = float32Representable(s.test.x);
    const out = await runOnnx(model.toOnnx({ modelName: 'diabetes', featureNames: s.features }), x);
    expect(out.dims).toEqual({ variable: [x.n, 1] });
    const values = model.predict(x).values!;
    expect(maxRelativeDifference(out.variable!, values)).toBeLessThanOrEqual(1e-6);
    expect(model.task).toBe('regression');
    expect(model.classes).toBeUndefined();
  });

  it('gives a constant column a zero coefficient, even with alpha = 0', () => {
    const n = 50;
    const x = new Float64Array(n * 3);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      x.set([i, 7, Math.sin(i)], i * 3);
      y[i] = 2 * i - 3 * Math.sin(i) + 1;
    }
    const m = ridge.fit({ x, n, d: 3 }, y, { alpha: 0 }, { seed: 1 });
    expect(m.layers[0].weights[1]).toBe(0);
    expect(m.layers[0].weights[0]).toBeCloseTo(2, 10);
    expect(m.layers[0].weights[2]).toBeCloseTo(-3, 10);
    expect(m.layers[0].bias[0]).toBeCloseTo(1, 9);
    expect(m.diagnostics.constant_columns).toBe(1);
  });

  it('refuses collinear columns with alpha = 0, naming alpha; alpha > 0 copes', () => {
    const n = 20;
    const x = new Float64Array(n * 2);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      x.set([i, 2 * i + 1], i * 2);
      y[i] = i;
    }
    expect(() => ridge.fit({ x, n, d: 2 }, y, { alpha: 0 }, { seed: 1 }))
      .toThrow(/^params\.alpha: trainer "ridge" got alpha = 0, but the normal equations are singular: some feature columns are collinear/);
    expect(() => ridge.fit({ x, n, d: 2 }, y, { alpha: 0.1 }, { seed: 1 })).not.toThrow();
  });

  it('rejects bad parameters and a non-finite target', () => {
    expect(() => ridge.fit(s.train.x, s.train.y, { alpha: -1 }, { seed: 1 })).toThrow(/^params\.alpha: trainer "ridge" expects a finite number >= 0 .*got -1$/);
    expect(() => ridge.fit(s.train.x, s.train.y, { lambda: 1 }, { seed: 1 })).toThrow(/^params\.lambda: trainer "ridge" has no parameter "lambda"/);
    const y = Float64Array.from(s.train.y);
    y[5] = Number.POSITIVE_INFINITY;
    expect(() => ridge.fit(s.train.x, y, {}, { seed: 1 })).toThrow('target: row 5 is Infinity; expected a finite number');
  });
});
