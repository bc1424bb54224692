import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { config, DATA, tempDir } from './support';
import { openRegistry } from '../../../../src/runtime/registry/registry';
import { loadDataset, takeRows, takeValues } from '../../../../src/runtime/train/data';
import { computeMetrics } from '../../../../src/runtime/train/evaluate';
import { train, TrainOutcome } from '../../../../src/runtime/train/harness';
import { loadOnnxPredictor } from '../../../../src/runtime/train/onnx-model';
import { splitRows } from '../../../../src/runtime/train/split';

/**
 * End to end on the real data sets: train, evaluate, register; the models must be good (within
 * a margin of scikit-learn trained on exactly the same rows: fixtures/sklearn-reference.json,
 * made by fixtures/make_sklearn_reference.py), and what is registered must reproduce them.
 */
const sklearn = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'sklearn-reference.json'), 'utf8'));
const splits = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'splits-seed42.json'), 'utf8'));
const env = { ...process.env, CDK_MLOPS_CREATED_BY: 'ci@test' };
let dir: string;
beforeAll(() => {
  dir = tempDir('train-datasets-');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Re-scores the registered artefact with onnxruntime on the same test rows. */
async function rescoreRegistered(outcome: TrainOutcome, file: string, task: 'classification' | 'regression'): Promise<Record<string, number>> {
  const loaded = await openRegistry(outcome.registry).load(outcome.manifest.model, outcome.manifest.version);
  const ds = await loadDataset(file, { target: 'target', task });
  const split = splitRows(ds.n, { train: 0.7, validation: 0.15, test: 0.15 }, 42, task === 'classification' ? ds.y : undefined);
  const d = ds.featureNames.length;
  const predictor = await loadOnnxPredictor(loaded.artefact, task, d);
  try {
    const prediction = await predictor.predict(takeRows(ds.x, d, split.test), split.test.length);
    return computeMetrics({ task, classes: ds.classes, prediction }, takeValues(ds.y, split.test));
  } finally {
    await predictor.release();
  }
}

describe('train on the real data sets', () => {
  test('the seeded split is the committed one (same rows on every machine), stratified', async () => {
    for (const [name, task] of [['breast_cancer', 'classification'], ['digits', 'classification'], ['diabetes', 'regression']] as const) {
      const ds = await loadDataset(path.join(DATA, `${name}.csv`), { target: 'target', task });
      const s = splitRows(ds.n, { train: 0.7, validation: 0.15, test: 0.15 }, 42, task === 'classification' ? ds.y : undefined);
      expect({ train: Array.from(s.train), validation: Array.from(s.validation), test: Array.from(s.test) }).toEqual(splits[name]);
    }
  });

  test('breast_cancer (binary): logistic regression matches scikit-learn on the same rows; everything is registered', async () => {
    const file = path.join(DATA, 'breast_cancer.csv');
    const outcome = await train(config({ model: 'breast-cancer', registry: path.join(dir, 'reg'), data: { uri: file } }), { env }) as TrainOutcome;
    const m = outcome.manifest;
    // scikit-learn on this split: ROC AUC 0.9861, accuracy 0.9767.
    expect(m.metrics.roc_auc).toBeGreaterThanOrEqual(sklearn.breast_cancer.roc_auc - 0.005);
    expect(m.metrics.roc_auc).toBeGreaterThan(0.98);
    expect(m.metrics.accuracy).toBeGreaterThanOrEqual(sklearn.breast_cancer.accuracy - 0.012);
    expect(m.metrics.log_loss).toBeLessThan(sklearn.breast_cancer.log_loss + 0.02);
    expect(Object.keys(m.metrics)).toEqual(['accuracy', 'precision', 'recall', 'f1', 'roc_auc', 'log_loss']);

    expect(m.version).toBe(1);
    expect(outcome.promoted).toBe(true);
    expect(await openRegistry(outcome.registry).resolve('breast-cancer', 'champion')).toBe(1);
    expect(m.signature).toEqual({
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 30] }],
      outputs: [{ name: 'label', datatype: 'INT64', shape: [-1] }, { name: 'probabilities', datatype: 'FP32', shape: [-1, 2] }],
      featureNames: fs.readFileSync(file, 'utf8').split('\n')[0].split(',').slice(0, 30),
      target: 'target',
      task: 'classification',
      classes: [0, 1],
    });
    expect(m.lineage).toMatchObject({
      dataHash: createHash('sha256').update(fs.readFileSync(file)).digest('hex'),
      dataUri: file,
      trainer: 'logistic-regression',
      createdBy: 'ci@test',
      seed: 42,
    });
    expect(m.lineage.codeCommit).toMatch(/^[0-9a-f]{40}(-dirty)?$/);
    expect(m.parameters).toMatchObject({ C: 1, standardize: true });
    expect(m.gate).toEqual({ passed: true, reasons: [] });

    // The registered ONNX artefact reproduces the recorded metrics on the same rows.
    const rescored = await rescoreRegistered(outcome, file, 'classification');
    for (const k of Object.keys(m.metrics)) expect(rescored[k]).toBeCloseTo(m.metrics[k], 5);

    // Reference statistics of the 397 training rows.
    const ref = await openRegistry(outcome.registry).getReference('breast-cancer', 1);
    expect(ref.rows).toBe(397);
    expect(ref.features.map((f) => f.name)).toEqual(m.signature.featureNames);
    for (const f of ref.features) {
      expect(f.histogram!.counts.reduce((a, b) => a + b, 0)).toBe(397);
      expect(f.histogram!.binEdges[0]).toBe(f.min);
      expect(f.histogram!.binEdges[f.histogram!.binEdges.length - 1]).toBe(f.max);
      expect(f.sample).toHaveLength(397);
      expect(f.quantiles).toHaveLength(9);
    }
    expect(ref.prediction.kind).toBe('categorical');
    expect(Object.values(ref.prediction.frequencies!).reduce((a, b) => a + b, 0)).toBe(397);
    expect(ref.metrics).toEqual(m.metrics);

    const card = await openRegistry(outcome.registry).getModelCard('breast-cancer', 1);
    for (const heading of ['## Intended use', '## Data', '## Features', '## Evaluation', '## Quality gate', '## Training', '## Lineage', '## Known limitations']) expect(card).toContain(heading);
    expect(card).toContain(m.lineage.dataHash);
    expect(card).toContain('classifies rows into 2 classes of `target` (0, 1) from 30 numeric feature(s), trained on 569 rows');
    expect(card).toContain(`| roc_auc | ${m.metrics.roc_auc.toFixed(4)} |`);
    expect(card).toMatch(/\| 0 \| \d+ \| \d+ \| \d+ \|/);
    expect(card).not.toMatch(/TODO|TBD|placeholder|lorem/i);
    expect(await openRegistry(outcome.registry).verify('breast-cancer', 1)).toEqual([]);
  });

  test('digits (10 classes): multinomial logistic regression above 0.95 accuracy, like scikit-learn', async () => {
    const file = path.join(DATA, 'digits.csv');
    const outcome = await train(config({ model: 'digits', registry: path.join(dir, 'reg'), data: { uri: file } }), { env }) as TrainOutcome;
    const m = outcome.manifest;
    // scikit-learn on this split: accuracy 0.9888, ROC AUC (one-vs-rest) 0.9995.
    expect(m.metrics.accuracy).toBeGreaterThan(0.95);
    expect(m.metrics.accuracy).toBeGreaterThanOrEqual(sklearn.digits.accuracy - 0.012);
    expect(m.metrics.roc_auc).toBeGreaterThanOrEqual(sklearn.digits.roc_auc - 0.002);
    expect(m.metrics.f1).toBeGreaterThanOrEqual(sklearn.digits.f1 - 0.012);
    expect(m.signature.classes).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(m.signature.outputs[1]).toEqual({ name: 'probabilities', datatype: 'FP32', shape: [-1, 10] });
    const rescored = await rescoreRegistered(outcome, file, 'classification');
    expect(rescored.accuracy).toBeCloseTo(m.metrics.accuracy, 6);
    // Pixel columns have few distinct values: the reference keeps their frequencies, and a
    // constant column (pixel_0 is always 0) has no histogram.
    const ref = await openRegistry(outcome.registry).getReference('digits', 1);
    const pixel0 = ref.features.find((f) => f.name === 'pixel_0')!;
    expect(pixel0).toMatchObject({ distinct: 1, min: 0, max: 0, frequencies: { 0: ref.rows } });
    expect(pixel0.histogram).toBeUndefined();
    expect(Object.keys(ref.prediction.frequencies!)).toHaveLength(10);
  });

  test('diabetes (regression): ridge matches scikit-learn; slice metrics by sex', async () => {
    const file = path.join(DATA, 'diabetes.csv');
    const features = ['age', 'sex', 'bmi', 'bp', 's1', 's2', 's3', 's4', 's5', 's6'];
    const outcome = await train(config({ model: 'diabetes', trainer: 'ridge', registry: path.join(dir, 'reg'), data: { uri: file, sliceColumn: 'sex', features }, params: { alpha: 1 } }), { env }) as TrainOutcome;
    const m = outcome.manifest;
    // scikit-learn on this split: RMSE 54.22, R2 0.517.
    expect(m.metrics.rmse).toBeLessThanOrEqual(sklearn.diabetes.rmse * 1.02);
    expect(m.metrics.r2).toBeGreaterThanOrEqual(sklearn.diabetes.r2 - 0.02);
    expect(m.metrics.mae).toBeLessThanOrEqual(sklearn.diabetes.mae * 1.02);
    expect(m.signature.outputs).toEqual([{ name: 'variable', datatype: 'FP32', shape: [-1, 1] }]);
    expect(m.signature.classes).toBeUndefined();
    // sex is both a feature (listed explicitly: by default the slice column is not one) and the slice column.
    expect(m.signature.featureNames).toEqual(features);
    expect(m.parameters).toMatchObject({ alpha: 1 });
    const slices = m.sliceMetrics!.sex;
    expect(Object.keys(slices)).toEqual(['1', '2']);
    expect(slices['1'].rows + slices['2'].rows).toBe(splits.diabetes.test.length);
    for (const s of Object.values(slices)) expect(Object.keys(s).sort()).toEqual(['mae', 'r2', 'rmse', 'rows']);
    const rescored = await rescoreRegistered(outcome, file, 'regression');
    expect(rescored.rmse).toBeCloseTo(m.metrics.rmse, 3);
    const ref = await openRegistry(outcome.registry).getReference('diabetes', 1);
    expect(ref.prediction.kind).toBe('numeric');
    expect(ref.prediction.histogram!.counts.reduce((a, b) => a + b, 0)).toBe(ref.rows);
    const card = await openRegistry(outcome.registry).getModelCard('diabetes', 1);
    expect(card).toContain('### By `sex`');
  });
});
