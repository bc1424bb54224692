import { LabelIndex, labelKey } from './logs';
import { accuracy, higherIsBetter, logLoss, precisionRecallF1, regressionMetrics, rocAuc } from '../train/metrics';

/**
 * Model performance on the window once ground truth arrives: prediction rows joined with
 * labels by request id and row index, the training harness's metrics computed on the joined
 * rows (`../train/metrics`), and compared with the version's reference metrics.
 *
 * The prediction log holds one prediction per row (the class label for classification) and,
 * for classifiers that output probabilities, the class scores of each row (`scores`, in the
 * signature's class order). Computed: classification `accuracy`, `precision`, `recall`, `f1`,
 * plus `roc_auc` (when every class occurs among the labels) and `log_loss` when every joined
 * row carries scores; regression `rmse`, `mae`, `r2`. Memory grows with the number of joined
 * rows (two numbers each, plus one per class when scores are kept).
 */

/** Metrics the monitor can compute from logged predictions, per task (`roc_auc` and `log_loss` need logged scores). */
export const MONITOR_METRICS = {
  classification: ['accuracy', 'precision', 'recall', 'f1', 'roc_auc', 'log_loss'],
  regression: ['rmse', 'mae', 'r2'],
} as const;

/** One metric compared with the reference. */
export interface MetricComparison {
  readonly metric: string;
  readonly current: number;
  readonly reference: number;
  readonly higherIsBetter: boolean;
  /** (reference - current) / |reference| when higher is better, (current - reference) / |reference| otherwise (absolute difference when the reference is 0); positive = worse. */
  readonly degradation: number;
  readonly decayed: boolean;
}

/** Performance verdict of a window. */
export interface PerformanceResult {
  readonly labeledRows: number;
  /** Rows whose label or prediction could not be used (not a number, not a known class). */
  readonly invalidRows: number;
  /** Whether enough rows were labeled to compute metrics. */
  readonly evaluated: boolean;
  readonly minLabeledRows: number;
  readonly maxDegradation: number;
  readonly metrics: Readonly<Record<string, number>>;
  readonly comparisons: readonly MetricComparison[];
  readonly decayed: boolean;
  readonly labels: { readonly read: number; readonly files: number; readonly invalid: number; readonly dropped: number };
}

function asNumber(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  return undefined;
}

/** Joins prediction rows with labels as records stream by. */
export class PerformanceAccumulator {
  private yTrue: number[] = [];
  private yPred: number[] = [];
  /** Class scores of the joined rows, row-major; dropped (undefined) once a joined row has none. */
  private scores: number[] | undefined = [];
  private invalid = 0;
  private readonly classSet?: Set<number>;

  constructor(
    private readonly labels: LabelIndex,
    private readonly task: 'classification' | 'regression',
    private readonly classes?: readonly number[],
  ) {
    if (task === 'classification' && classes) this.classSet = new Set(classes);
  }

  /** Joins the rows of one prediction record (malformed records are ignored: the window state counts them). */
  addRecord(record: unknown): void {
    if (this.labels.labels.size === 0) return;
    const r = record as { id?: unknown; outputs?: unknown; scores?: unknown } | null;
    if (!r || typeof r.id !== 'string' || !Array.isArray(r.outputs)) return;
    const scores = Array.isArray(r.scores) && r.scores.length === r.outputs.length ? (r.scores as unknown[]) : undefined;
    for (let i = 0; i < r.outputs.length; i++) {
      const label = this.labels.labels.get(labelKey(r.id, i));
      if (label === undefined) continue;
      const t = asNumber(label);
      const p = asNumber(r.outputs[i]);
      if (t === undefined || p === undefined || (this.classSet && (!this.classSet.has(t) || !this.classSet.has(p)))) {
        this.invalid++;
        continue;
      }
      this.yTrue.push(t);
      this.yPred.push(p);
      if (this.scores) {
        const row = this.validScores(scores?.[i]);
        if (row) this.scores.push(...row);
        else this.scores = undefined;
      }
    }
  }

  /** The row's class scores when they are one probability (in [0, 1]) per known class, else undefined. */
  private validScores(row: unknown): number[] | undefined {
    const k = this.classes?.length ?? 0;
    if (k < 2 || !Array.isArray(row) || row.length !== k) return undefined;
    for (const v of row) if (typeof v !== 'number' || !(v >= 0 && v <= 1)) return undefined;
    return row as number[];
  }

  /** Metrics of the joined rows, compared with `reference` (the version's held-out metrics). */
  result(reference: Readonly<Record<string, number>>, options: { minLabeledRows: number; maxDegradation: number; metrics?: readonly string[] }): PerformanceResult {
    const n = this.yTrue.length;
    const base = {
      labeledRows: n,
      invalidRows: this.invalid,
      minLabeledRows: options.minLabeledRows,
      maxDegradation: options.maxDegradation,
      labels: { read: this.labels.labels.size, files: this.labels.files, invalid: this.labels.invalid, dropped: this.labels.dropped },
    };
    if (n < options.minLabeledRows) return { ...base, evaluated: false, metrics: {}, comparisons: [], decayed: false };
    let metrics: Record<string, number>;
    if (this.task === 'classification') {
      const classes = this.classes && this.classes.length >= 2 ? [...this.classes] : [...new Set([...this.yTrue, ...this.yPred])].sort((a, b) => a - b);
      metrics = { accuracy: accuracy(this.yTrue, this.yPred) };
      if (classes.length >= 2) Object.assign(metrics, precisionRecallF1(this.yTrue, this.yPred, classes));
      if (this.scores && this.classes && this.scores.length === n * this.classes.length) {
        const present = new Set(this.yTrue);
        if (this.classes.every((c) => present.has(c))) metrics.roc_auc = rocAuc(this.yTrue, this.scores, this.classes);
        metrics.log_loss = logLoss(this.yTrue, this.scores, this.classes);
      }
    } else {
      metrics = regressionMetrics(this.yTrue, this.yPred);
    }
    const wanted = options.metrics ?? Object.keys(metrics);
    const comparisons: MetricComparison[] = [];
    for (const m of wanted) {
      const current = metrics[m];
      const ref = reference[m];
      if (current === undefined || ref === undefined || !Number.isFinite(current) || !Number.isFinite(ref)) continue;
      const hib = higherIsBetter(m);
      const diff = hib ? ref - current : current - ref;
      const degradation = ref === 0 ? diff : diff / Math.abs(ref);
      comparisons.push({ metric: m, current, reference: ref, higherIsBetter: hib, degradation, decayed: degradation > options.maxDegradation });
    }
    return { ...base, evaluated: true, metrics, comparisons, decayed: comparisons.some((c) => c.decayed) };
  }
}
