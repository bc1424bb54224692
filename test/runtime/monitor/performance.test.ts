import { labelKey } from '../../../src/runtime/monitor/logs';
import { PerformanceAccumulator } from '../../../src/runtime/monitor/performance';
import { accuracy, precisionRecallF1, regressionMetrics } from '../../../src/runtime/train/metrics';

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
