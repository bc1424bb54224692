import { float32Representable, maxRelativeDifference, readReference, referenceSplit, runOnnx } from './helpers';
import { classificationMetrics, regressionMetrics } from '../../../../src/runtime/train/metrics';
import { readModelSummary } from '../../../../src/runtime/train/onnx';
import { mlpClassifier, mlpRegressor } from '../../../../src/runtime/train/trainers';

const skMlp = readReference<{ mlp_mean_of_3_seeds: Record<string, Record<string, number>> }>('models').mlp_mean_of_3_seeds;

describe('mlp-classifier on breast_cancer (defaults: 64 ReLU units, Adam, early stopping)', () => {
  const s = referenceSplit('breast_cancer');
  const model = mlpClassifier.fit(s.train.x, s.train.y, {}, { seed: 1 });

  it('is good: held-out ROC AUC > 0.99 and accuracy > 0.95 (scikit-learn MLPClassifier, mean of 3 seeds: 0.979 / 0.911)', () => {
    const p = model.predict(s.test.x);
    const m = classificationMetrics(s.test.y, { labels: p.labels!, probabilities: p.probabilities! }, model.classes!);
    expect(m.roc_auc).toBeGreaterThan(0.99);
    expect(m.accuracy).toBeGreaterThan(0.95);
    expect(m.roc_auc).toBeGreaterThan(skMlp.breast_cancer.roc_auc);
  });

  it('stops early on the held-out fraction and keeps the best epoch', () => {
    expect(model.diagnostics.validation_rows).toBe(43);
    expect(Number(model.diagnostics.best_epoch)).toBeLessThanOrEqual(Number(model.diagnostics.epochs));
    expect(model.layers.map((l) => [l.inputs, l.outputs, l.relu])).toEqual([[30, 64, true], [64, 2, false]]);
  });

  it('exports ONNX (MatMul/Add/Relu/Softmax) with the same labels and probabilities (within 1e-6)', async () => {
    const x = float32Representable(s.test.x);
    const bytes = model.toOnnx({ modelName: 'bc-mlp', featureNames: s.features });
    const out = await runOnnx(bytes, x);
    const p = model.predict(x);
    expect(Array.from(out.label!, Number)).toEqual(Array.from(p.labels!));
    expect(maxRelativeDifference(out.probabilities!, p.probabilities!)).toBeLessThanOrEqual(1e-6);
    expect(readModelSummary(bytes).opTypes).toEqual(['Cast', 'MatMul', 'Add', 'Relu', 'MatMul', 'Add', 'Softmax', 'ArgMax', 'Gather', 'Cast']);
  });

  it('is reproducible from the seed, and the seed matters', () => {
    const again = mlpClassifier.fit(s.train.x, s.train.y, {}, { seed: 1 });
    expect(Array.from(again.layers[0].weights)).toEqual(Array.from(model.layers[0].weights));
    const other = mlpClassifier.fit(s.train.x, s.train.y, { max_epochs: 1 }, { seed: 2 });
    expect(Array.from(other.layers[0].weights)).not.toEqual(Array.from(model.layers[0].weights));
  });
});

describe('mlp-classifier on digits (two hidden layers)', () => {
  const s = referenceSplit('digits');
  const model = mlpClassifier.fit(s.train.x, s.train.y, { hidden_layers: 2, hidden_units: 32, learning_rate: 0.005 }, { seed: 3 });

  it('is good: held-out accuracy > 0.95 (scikit-learn MLPClassifier(64), mean of 3 seeds: 0.950)', () => {
    const p = model.predict(s.test.x);
    const m = classificationMetrics(s.test.y, { labels: p.labels!, probabilities: p.probabilities! }, model.classes!);
    expect(m.accuracy).toBeGreaterThan(0.95);
    expect(m.roc_auc).toBeGreaterThan(0.995);
  });

  it('exports ONNX with the same labels and probabilities (within 1e-6)', async () => {
    const x = float32Representable(s.test.x);
    const out = await runOnnx(model.toOnnx({ modelName: 'digits-mlp', featureNames: s.features }), x);
    const p = model.predict(x);
    expect(out.dims).toEqual({ label: [x.n], probabilities: [x.n, 10] });
    expect(Array.from(out.label!, Number)).toEqual(Array.from(p.labels!));
    expect(maxRelativeDifference(out.probabilities!, p.probabilities!)).toBeLessThanOrEqual(1e-6);
  });
});

describe('mlp-regressor on diabetes', () => {
  const s = referenceSplit('diabetes');
  const model = mlpRegressor.fit(s.train.x, s.train.y, { learning_rate: 0.01 }, { seed: 2 });

  it('is as good as a linear model here: held-out R2 > 0.4 (ridge 0.486; scikit-learn MLPRegressor, mean of 3 seeds: 0.458)', () => {
    const m = regressionMetrics(s.test.y, model.predict(s.test.x).values!);
    expect(m.r2).toBeGreaterThan(0.4);
    expect(m.r2).toBeLessThan(0.6);
    expect(m.r2).toBeGreaterThan(skMlp.diabetes.r2 - 0.03);
  });

  it('exports ONNX whose `variable` equals predict() within 1e-6 (relative)', async () => {
    const x = float32Representable(s.test.x);
    const out = await runOnnx(model.toOnnx({ modelName: 'diabetes-mlp', featureNames: s.features }), x);
    expect(out.dims).toEqual({ variable: [x.n, 1] });
    expect(maxRelativeDifference(out.variable!, model.predict(x).values!)).toBeLessThanOrEqual(1e-6);
  });

  it('trains without early stopping too (training loss decides), and reports progress', () => {
    const seen: string[] = [];
    const m = mlpRegressor.fit(s.train.x, s.train.y, { early_stopping: false, max_epochs: 30, learning_rate: 0.01 }, { seed: 2, onProgress: (_, msg) => seen.push(msg) });
    expect(m.diagnostics.validation_rows).toBe(0);
    expect(m.diagnostics.best_training_loss).toBeGreaterThan(0);
    expect(seen[0]).toMatch(/^mlp-regressor: epoch 1, training loss \d/);
    expect(seen[seen.length - 1]).toMatch(/^mlp-regressor: /);
  });
});

describe('mlp parameter checks', () => {
  const x = { x: Float64Array.of(0, 1, 1, 0, 2, 2, 3, 1), n: 4, d: 2 };
  const y = Float64Array.of(0, 1, 0, 1);

  it('rejects unknown names, wrong types and out-of-range values, naming the parameter', () => {
    expect(() => mlpClassifier.fit(x, y, { hidden_layers: 3 }, { seed: 1 })).toThrow(/^params\.hidden_layers: trainer "mlp-classifier" expects an integer >= 1 and <= 2 \(number of hidden ReLU layers\), got 3$/);
    expect(() => mlpClassifier.fit(x, y, { validation_fraction: 0 }, { seed: 1 })).toThrow(/^params\.validation_fraction: .*> 0 and <= 0\.5.*got 0$/);
    expect(() => mlpRegressor.fit(x, y, { learning_rate: 'fast' }, { seed: 1 })).toThrow(/^params\.learning_rate: trainer "mlp-regressor" expects a finite number > 0 and <= 1 .*got "fast"$/);
    expect(() => mlpRegressor.fit(x, y, { epochs: 3 }, { seed: 1 })).toThrow(/^params\.epochs: trainer "mlp-regressor" has no parameter "epochs"/);
  });

  it('stops with an error naming learning_rate when training diverges, instead of returning NaN weights', () => {
    const huge = { x: Float64Array.of(1e200, -1e200, 3e200, 2e200), n: 4, d: 1 };
    expect(() => mlpRegressor.fit(huge, Float64Array.of(1, 2, 3, 4), { standardize: false, early_stopping: false }, { seed: 1 }))
      .toThrow(/^params\.learning_rate: trainer "mlp-regressor" diverged with learning_rate = 0\.001 \(non-finite weights after epoch 1\); expected a smaller learning_rate, or standardize: true/);
  });

  it('fits tiny data sets (2 rows) without failing', () => {
    const m = mlpClassifier.fit({ x: Float64Array.of(0, 1), n: 2, d: 1 }, Float64Array.of(0, 1), { max_epochs: 5 }, { seed: 1 });
    expect(m.predict({ x: Float64Array.of(0, 1), n: 2, d: 1 }).labels!.length).toBe(2);
  });
});
