import { labelKey } from '../../../src/runtime/monitor/logs';
import { PerformanceAccumulator } from '../../../src/runtime/monitor/performance';
import { accuracy, logLoss, precisionRecallF1, regressionMetrics, rocAuc } from '../../../src/runtime/train/metrics';

function index(entries: [string, number, number | string][]): { labels: Map<string, number | string>; files: number; invalid: number; dropped: number } {
  return { labels: new Map(entries.map(([id, row, label]) => [labelKey(id, row), label])), files: 1, invalid: 0, dropped: 0 };
}

describe('performance from labels joined by request id and row', () => {
  test('classification: the training metrics on the joined rows, compared with the reference', () => {
    const yTrue = [0, 1, 1, 0, 1, 1, 0, 1];
    const yPred = [0, 1, 0, 0, 1, 1, 1, 1];
    // two requests of 4 rows; labels as numbers and numeric strings; one label for an unknown row
    const labels = index([
      ...yTrue.slice(0, 4).map((y, r): [string, number, number | string] => ['a', r, y]),
      ...yTrue.slice(4).map((y, r): [string, number, number | string] => ['b', r, String(y)]),
      ['zzz', 0, 1],
    ]);
    const acc = new PerformanceAccumulator(labels, 'classification', [0, 1]);
    acc.addRecord({ id: 'a', outputs: yPred.slice(0, 4) });
    acc.addRecord({ id: 'b', outputs: yPred.slice(4) });
    acc.addRecord({ id: 'c', outputs: [1, 1] }); // no labels yet
    acc.addRecord({ id: 5, outputs: [1] }); // malformed: ignored
    const reference = { accuracy: 0.95, precision: 0.8, recall: 0.8, f1: 0.8, roc_auc: 0.99 };
    const r = acc.result(reference, { minLabeledRows: 5, maxDegradation: 0.1 });
    const expected = { accuracy: accuracy(yTrue, yPred), ...precisionRecallF1(yTrue, yPred, [0, 1]) };
    expect(r.labeledRows).toBe(8);
    expect(r.metrics).toEqual(expected);
    const acc95 = r.comparisons.find((c) => c.metric === 'accuracy')!;
    expect(acc95).toEqual({ metric: 'accuracy', current: 0.75, reference: 0.95, higherIsBetter: true, degradation: (0.95 - 0.75) / 0.95, decayed: true });
    // roc_auc needs probabilities, which the prediction log does not hold: not compared
    expect(r.comparisons.map((c) => c.metric).sort()).toEqual(['accuracy', 'f1', 'precision', 'recall']);
    expect(r.decayed).toBe(true);
  });

  test('classification with logged scores: roc_auc and log_loss too, equal to the training metrics', () => {
    const yTrue = [0, 1, 1, 0, 1, 1, 0, 1];
    const p1 = [0.2, 0.9, 0.4, 0.1, 0.7, 0.8, 0.6, 0.95];
    const yPred = p1.map((p) => (p >= 0.5 ? 1 : 0));
    const scores = p1.map((p) => [1 - p, p]);
    const labels = index(yTrue.map((y, r): [string, number, number | string] => ['a', r, y]));
    const acc = new PerformanceAccumulator(labels, 'classification', [0, 1]);
    acc.addRecord({ id: 'a', outputs: yPred, scores });
    const r = acc.result({ accuracy: 0.9, roc_auc: 0.99, log_loss: 0.1 }, { minLabeledRows: 5, maxDegradation: 0.1 });
    const flat = scores.flat();
    expect(r.metrics.roc_auc).toBe(rocAuc(yTrue, flat, [0, 1]));
    expect(r.metrics.log_loss).toBe(logLoss(yTrue, flat, [0, 1]));
    expect(r.metrics.roc_auc).toBeCloseTo(14 / 15, 12); // 14 of the 15 (positive, negative) pairs ordered
    const ll = r.comparisons.find((c) => c.metric === 'log_loss')!;
    expect(ll.higherIsBetter).toBe(false);
    expect(ll.decayed).toBe(true);
    expect(r.comparisons.map((c) => c.metric).sort()).toEqual(['accuracy', 'log_loss', 'roc_auc']);
  });

  test('scores missing or malformed on any joined row: roc_auc and log_loss are not computed', () => {
    const labels = index([['a', 0, 0], ['a', 1, 1], ['b', 0, 1], ['c', 0, 0]]);
    const withGap = new PerformanceAccumulator(labels, 'classification', [0, 1]);
    withGap.addRecord({ id: 'a', outputs: [0, 1], scores: [[0.8, 0.2], [0.3, 0.7]] });
    withGap.addRecord({ id: 'b', outputs: [1] }); // an older record without scores
    withGap.addRecord({ id: 'c', outputs: [0], scores: [[0.6, 0.4]] });
    const r1 = withGap.result({}, { minLabeledRows: 1, maxDegradation: 0.1 });
    expect(r1.labeledRows).toBe(4);
    expect(Object.keys(r1.metrics).sort()).toEqual(['accuracy', 'f1', 'precision', 'recall']);
    const bad = new PerformanceAccumulator(labels, 'classification', [0, 1]);
    bad.addRecord({ id: 'a', outputs: [0, 1], scores: [[0.8, 0.2], [3, -2]] }); // not probabilities
    expect(Object.keys(bad.result({}, { minLabeledRows: 1, maxDegradation: 0.1 }).metrics)).not.toContain('log_loss');
  });

  test('regression: rmse/mae (lower is better) and r2; invalid labels and predictions counted', () => {
    const yTrue = [3, 5, 2.5, 7, 4];
    const yPred = [2.5, 5, 4, 8, 4.5];
    const labels = index([...yTrue.map((y, r): [string, number, number | string] => ['q', r, y]), ['q', 5, 'n/a'], ['q', 6, 2]]);
    const acc = new PerformanceAccumulator(labels, 'regression');
    acc.addRecord({ id: 'q', outputs: [...yPred, 1, null] });
    const reference = { rmse: 0.5, mae: 0.4, r2: 0.9 };
    const r = acc.result(reference, { minLabeledRows: 3, maxDegradation: 0.5 });
    expect(r.invalidRows).toBe(2);
    expect(r.metrics).toEqual(regressionMetrics(yTrue, yPred));
    const rmse = r.comparisons.find((c) => c.metric === 'rmse')!;
    expect(rmse.higherIsBetter).toBe(false);
    expect(rmse.degradation).toBeCloseTo((r.metrics.rmse - 0.5) / 0.5, 12);
    expect(rmse.decayed).toBe(rmse.degradation > 0.5);
  });

  test('too few labeled rows: not evaluated, nothing decays', () => {
    const acc = new PerformanceAccumulator(index([['a', 0, 1]]), 'classification', [0, 1]);
    acc.addRecord({ id: 'a', outputs: [0] });
    const r = acc.result({ accuracy: 1 }, { minLabeledRows: 50, maxDegradation: 0.1 });
    expect(r).toMatchObject({ evaluated: false, labeledRows: 1, metrics: {}, comparisons: [], decayed: false });
  });

  test('a label outside the classes is invalid, not a crash', () => {
    const acc = new PerformanceAccumulator(index([['a', 0, 7], ['a', 1, 1]]), 'classification', [0, 1]);
    acc.addRecord({ id: 'a', outputs: [1, 1] });
    const r = acc.result({}, { minLabeledRows: 1, maxDegradation: 0.1 });
    expect([r.invalidRows, r.labeledRows]).toEqual([1, 1]);
  });
});
