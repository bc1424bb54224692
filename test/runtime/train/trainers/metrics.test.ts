import { readReference } from './helpers';
import { InputError } from '../../../../src/runtime/errors';
import {
  accuracy, classificationMetrics, higherIsBetter, logLoss, mae, precisionRecallF1, r2, regressionMetrics, rmse, rocAuc,
} from '../../../../src/runtime/train/metrics';

interface ClassificationCase {
  name: string;
  classes: number[];
  y_true: number[];
  proba: number[][];
  expected: Record<string, number>;
}
interface RegressionCase {
  name: string;
  y_true: number[];
  y_pred: number[];
  expected: Record<string, number>;
}
const cases = readReference<{ classification: ClassificationCase[]; regression: RegressionCase[] }>('metrics');

/** Labels predicted from probabilities: the class of the largest one (first on a tie). */
function argmaxLabels(proba: number[][], classes: number[]): Float64Array {
  return Float64Array.from(proba, (row) => classes[row.indexOf(Math.max(...row))]);
}

describe('classification metrics equal scikit-learn 1.2.1 (test/fixtures/sklearn/metrics.json)', () => {
  it('has the cases it is meant to cover', () => {
    expect(cases.classification.map((c) => c.name)).toEqual(['binary_ties', 'binary_labels_clip', 'binary_no_positive_predictions', 'multiclass']);
  });

  for (const c of cases.classification) {
    it(`${c.name}: every metric within 1e-9`, () => {
      const probabilities = Float64Array.from(c.proba.flat());
      const labels = argmaxLabels(c.proba, c.classes);
      const got = classificationMetrics(c.y_true, { labels, probabilities }, c.classes);
      expect(Object.keys(got).sort()).toEqual(Object.keys(c.expected).sort());
      for (const [k, v] of Object.entries(c.expected)) {
        expect(Math.abs(got[k] - v)).toBeLessThanOrEqual(1e-9);
      }
    });
  }

  it('counts ties in scores as half (rank-based AUC), and a constant score gives 0.5', () => {
    expect(rocAuc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5], [0, 1])).toBe(0.5);
    // positives scored 0.8 and 0.4, negatives 0.4 and 0.1: pairs (0.8>0.4, 0.8>0.1, 0.4=0.4 -> 1/2, 0.4>0.1)
    expect(rocAuc([1, 1, 0, 0], [0.2, 0.8, 0.6, 0.4, 0.6, 0.4, 0.9, 0.1], [0, 1])).toBeCloseTo(3.5 / 4, 12);
  });

  it('binary precision/recall are of the larger label; a class never predicted has precision 0', () => {
    const r = precisionRecallF1([3, 3, -1, -1], [-1, -1, -1, -1], [-1, 3]);
    expect(r).toEqual({ precision: 0, recall: 0, f1: 0 });
    expect(precisionRecallF1([3, 3, -1, -1], [3, -1, -1, 3], [-1, 3])).toEqual({ precision: 0.5, recall: 0.5, f1: 0.5 });
    expect(accuracy([1, 2, 3], [1, 2, 2])).toBeCloseTo(2 / 3, 15);
  });

  it('log loss clips 0 and 1 instead of returning Infinity', () => {
    const v = logLoss([1, 0], [1, 0, 1, 0], [0, 1]);
    expect(Number.isFinite(v)).toBe(true);
    expect(v).toBeCloseTo(-Math.log(Number.EPSILON) / 2, 6);
  });

  it('leaves roc_auc out of the summary when a class has no row (a small slice), keeps the rest', () => {
    const m = classificationMetrics([1, 1], { labels: [1, 0], probabilities: [0.2, 0.8, 0.6, 0.4] }, [0, 1]);
    expect(m.roc_auc).toBeUndefined();
    expect(m.accuracy).toBe(0.5);
    expect(Number.isFinite(m.log_loss)).toBe(true);
    expect(() => rocAuc([1, 1], [0.2, 0.8, 0.6, 0.4], [0, 1])).toThrow(/has no row of class 0.*ROC AUC needs every class/);
  });
});

describe('regression metrics equal scikit-learn 1.2.1', () => {
  for (const c of cases.regression) {
    it(`${c.name}: rmse, mae, r2 within 1e-9`, () => {
      const got = regressionMetrics(c.y_true, c.y_pred);
      for (const [k, v] of Object.entries(c.expected)) expect(Math.abs(got[k] - v)).toBeLessThanOrEqual(1e-9);
      expect(got.rmse).toBe(rmse(c.y_true, c.y_pred));
      expect(got.mae).toBe(mae(c.y_true, c.y_pred));
    });
  }

  it('r2 of a constant target is 1 when predicted exactly and 0 otherwise (scikit-learn force_finite)', () => {
    expect(r2([2, 2, 2], [2, 2, 2])).toBe(1);
    expect(r2([2, 2, 2], [2, 2, 3])).toBe(0);
  });
});

describe('metric input errors', () => {
  it('names the input, the value and what was expected', () => {
    expect(() => accuracy([], [])).toThrow(InputError);
    expect(() => accuracy([], [])).toThrow('yTrue: is empty; expected at least one row');
    expect(() => rmse([1, 2], [1])).toThrow('yPred: expected 2 values (one per row), got 1');
    expect(() => rocAuc([0, 1], [0.5, 0.5, 0.2], [0, 1])).toThrow('probabilities: expected n * k = 2 * 2 = 4 values (row-major), got 3');
    expect(() => rocAuc([0, 1], [0.5, 0.5, 0.2, Number.NaN], [0, 1])).toThrow('probabilities: row 1, column 1 is NaN; expected a probability in [0, 1]');
    expect(() => logLoss([0, 7], [0.5, 0.5, 0.2, 0.8], [0, 1])).toThrow('yTrue: row 1 has label 7, which is not one of the classes [0,1]');
    expect(() => precisionRecallF1([0], [0], [0])).toThrow('classes: expected at least two classes, got [0]');
    expect(() => precisionRecallF1([0], [0], [0, 0])).toThrow('classes: has duplicates: [0,0]');
  });

  it('knows which direction is better', () => {
    expect(['accuracy', 'precision', 'recall', 'f1', 'roc_auc', 'r2'].every(higherIsBetter)).toBe(true);
    expect(['log_loss', 'rmse', 'mae'].some(higherIsBetter)).toBe(false);
  });
});
