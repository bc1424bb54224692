import { InputError } from '../../../../src/runtime/errors';
import { TRAINERS, getTrainer } from '../../../../src/runtime/train/trainers';
import { resolveParams } from '../../../../src/runtime/train/trainers/params';

describe('built-in trainer registry', () => {
  it('lists every trainer once, each with its task and documented parameters', () => {
    expect(TRAINERS.map((t) => [t.name, t.task])).toEqual([
      ['logistic-regression', 'classification'],
      ['ridge', 'regression'],
      ['mlp-classifier', 'classification'],
      ['mlp-regressor', 'regression'],
    ]);
    for (const t of TRAINERS) {
      expect(getTrainer(t.name)).toBe(t);
      expect(Object.keys(t.defaults).sort()).toEqual(Object.keys(t.paramSpecs).sort());
      for (const [name, spec] of Object.entries(t.paramSpecs)) {
        expect(spec.doc.length).toBeGreaterThan(5);
        expect(t.defaults[name]).toBe(spec.default);
      }
      // The defaults pass their own validation.
      expect(resolveParams(t.name, t.paramSpecs, t.defaults)).toEqual(t.defaults);
    }
  });

  it('fails on an unknown name, listing the known ones', () => {
    expect(() => getTrainer('xgboost')).toThrow(InputError);
    expect(() => getTrainer('xgboost')).toThrow('trainer: unknown built-in trainer "xgboost"; expected one of: logistic-regression, ridge, mlp-classifier, mlp-regressor');
  });

  it('every trainer fits, predicts and exports on a small data set of its task', () => {
    const n = 40;
    const x = new Float64Array(n * 2);
    const cls = new Float64Array(n);
    const reg = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      x.set([Math.cos(i), i / n], i * 2);
      cls[i] = x[i * 2] + x[i * 2 + 1] > 0.5 ? 1 : 0;
      reg[i] = 3 * x[i * 2] - x[i * 2 + 1];
    }
    for (const t of TRAINERS) {
      const m = t.fit({ x, n, d: 2 }, t.task === 'classification' ? cls : reg, { }, { seed: 1 });
      const p = m.predict({ x, n, d: 2 });
      if (t.task === 'classification') {
        expect(p.labels).toHaveLength(n);
        expect(p.probabilities).toHaveLength(2 * n);
      } else {
        expect(p.values).toHaveLength(n);
      }
      expect(m.toOnnx({ modelName: t.name, featureNames: ['a', 'b'] }).length).toBeGreaterThan(100);
    }
  });
});
