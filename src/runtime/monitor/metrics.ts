import * as fs from 'node:fs';
import * as path from 'node:path';
import { Counter, Gauge, Pushgateway, Registry } from 'prom-client';
import type { MonitorResult } from './result';

/**
 * The monitor's Prometheus metrics, in a registry of their own (one per monitor instance).
 * Every gauge describes the LAST completed run; a run resets the per-column series first, so a
 * column that disappears stops being reported.
 *
 * | metric | labels | meaning |
 * |---|---|---|
 * | `cdk_mlops_drift_score` | model, version, feature, method | the method's statistic (KS D, chi-square, z, normed Wasserstein, JS distance, PSI) |
 * | `cdk_mlops_drift_p_value` | model, version, feature, method | p-value (ks, chisquare, z only) |
 * | `cdk_mlops_drift_threshold` | model, version, feature, method | threshold the verdict used |
 * | `cdk_mlops_drift_detected` | model, version, feature, method | 1 drifted, 0 not (absent when skipped) |
 * | `cdk_mlops_psi` | model, version, feature | PSI on the reference bins (every feature) |
 * | `cdk_mlops_dataset_drift` | model, version | 1 when the drifted share reached its threshold |
 * | `cdk_mlops_drifted_share` | model, version | drifted / tested features |
 * | `cdk_mlops_drifted_features` | model, version | drifted features |
 * | `cdk_mlops_prediction_drift_score`, `_p_value`, `_detected` | model, version, method | drift of the prediction column |
 * | `cdk_mlops_data_quality_missing_rate` | model, version, feature | missing / rows |
 * | `cdk_mlops_data_quality_type_error_rate` | model, version, feature | (wrong type + non-finite) / rows |
 * | `cdk_mlops_data_quality_out_of_range_rate` | model, version, feature | outside reference [min, max] / valid values |
 * | `cdk_mlops_data_quality_unknown_category_rate` | model, version, feature | unseen categories / valid values |
 * | `cdk_mlops_window_rows` | model, version | rows in the window |
 * | `cdk_mlops_window_bad_rows` | model, version | rows with at least one bad value |
 * | `cdk_mlops_window_bad_records` | model, version | records (lines) that were not PredictionRecords |
 * | `cdk_mlops_performance` | model, version, metric | metric on labeled rows of the window |
 * | `cdk_mlops_performance_reference` | model, version, metric | the version's held-out metric |
 * | `cdk_mlops_performance_degradation_ratio` | model, version, metric | relative degradation, positive = worse |
 * | `cdk_mlops_labeled_rows` | model, version | rows joined with a label |
 * | `cdk_mlops_monitor_last_run_timestamp_seconds` | model | end of the last run, success or not |
 * | `cdk_mlops_monitor_last_success_timestamp_seconds` | model | end of the last successful run |
 * | `cdk_mlops_monitor_run_duration_seconds` | model | duration of the last run |
 * | `cdk_mlops_monitor_runs_total` | model, outcome | runs by outcome (`success`, `failure`) |
 * | `cdk_mlops_monitor_alerts_total` | model, condition, outcome | webhook alerts by outcome |
 * | `cdk_mlops_monitor_retrains_total` | model, outcome | retraining triggers by outcome |
 */
export class MonitorMetrics {
  public readonly registry = new Registry();
  private readonly g: Record<string, Gauge<string>> = {};
  private readonly runs: Counter<'model' | 'outcome'>;
  private readonly alerts: Counter<'model' | 'condition' | 'outcome'>;
  private readonly retrains: Counter<'model' | 'outcome'>;

  constructor() {
    const registers = [this.registry];
    const gauge = (name: string, help: string, labelNames: string[]) => {
      this.g[name] = new Gauge({ name, help, labelNames, registers });
    };
    const col = ['model', 'version', 'feature'];
    const colM = [...col, 'method'];
    const mv = ['model', 'version'];
    gauge('cdk_mlops_drift_score', 'Drift statistic of a feature (KS D, chi-square, z, normed Wasserstein, Jensen-Shannon distance or PSI, per method).', colM);
    gauge('cdk_mlops_drift_p_value', 'p-value of a feature drift test (ks, chisquare, z).', colM);
    gauge('cdk_mlops_drift_threshold', 'Threshold of the feature drift verdict (a p-value for tests, a score for distances).', colM);
    gauge('cdk_mlops_drift_detected', '1 when the feature drifted in the last window, 0 otherwise.', colM);
    gauge('cdk_mlops_psi', 'Population Stability Index of a feature on the reference bins.', col);
    gauge('cdk_mlops_dataset_drift', '1 when the share of drifted features reached its threshold.', mv);
    gauge('cdk_mlops_drifted_share', 'Share of tested features that drifted.', mv);
    gauge('cdk_mlops_drifted_features', 'Number of features that drifted.', mv);
    gauge('cdk_mlops_prediction_drift_score', 'Drift statistic of the prediction column.', [...mv, 'method']);
    gauge('cdk_mlops_prediction_drift_p_value', 'p-value of the prediction drift test.', [...mv, 'method']);
    gauge('cdk_mlops_prediction_drift_detected', '1 when the prediction column drifted.', [...mv, 'method']);
    gauge('cdk_mlops_data_quality_missing_rate', 'Missing values per row of a feature.', col);
    gauge('cdk_mlops_data_quality_type_error_rate', 'Values of the wrong type or non-finite per row of a feature.', col);
    gauge('cdk_mlops_data_quality_out_of_range_rate', 'Values outside the reference range per valid value of a feature.', col);
    gauge('cdk_mlops_data_quality_unknown_category_rate', 'Categories unseen in the reference per valid value of a feature.', col);
    gauge('cdk_mlops_window_rows', 'Prediction rows in the last window.', mv);
    gauge('cdk_mlops_window_bad_rows', 'Rows with at least one missing, mistyped, non-finite or unknown value.', mv);
    gauge('cdk_mlops_window_bad_records', 'Log lines that were not prediction records.', mv);
    gauge('cdk_mlops_performance', 'Model metric on labeled rows of the window.', [...mv, 'metric']);
    gauge('cdk_mlops_performance_reference', 'The version\'s held-out metric.', [...mv, 'metric']);
    gauge('cdk_mlops_performance_degradation_ratio', 'Relative degradation against the reference metric; positive is worse.', [...mv, 'metric']);
    gauge('cdk_mlops_labeled_rows', 'Prediction rows joined with a ground-truth label.', mv);
    gauge('cdk_mlops_monitor_last_run_timestamp_seconds', 'Unix time the last monitor run ended.', ['model']);
    gauge('cdk_mlops_monitor_last_success_timestamp_seconds', 'Unix time the last successful monitor run ended.', ['model']);
    gauge('cdk_mlops_monitor_run_duration_seconds', 'Duration of the last monitor run.', ['model']);
    this.runs = new Counter({ name: 'cdk_mlops_monitor_runs_total', help: 'Monitor runs by outcome.', labelNames: ['model', 'outcome'], registers });
    this.alerts = new Counter({ name: 'cdk_mlops_monitor_alerts_total', help: 'Alert webhook actions by condition and outcome.', labelNames: ['model', 'condition', 'outcome'], registers });
    this.retrains = new Counter({ name: 'cdk_mlops_monitor_retrains_total', help: 'Retraining trigger actions by outcome.', labelNames: ['model', 'outcome'], registers });
  }

  private set(name: string, labels: Record<string, string>, value: number | undefined): void {
    if (value === undefined || Number.isNaN(value)) return;
    this.g[name].set(labels, value);
  }

  /** Publishes the verdicts of a completed run. */
  update(result: MonitorResult, endedAt: number): void {
    for (const name of Object.keys(this.g)) if (!name.startsWith('cdk_mlops_monitor_')) this.g[name].reset();
    const model = result.model;
    const version = String(result.version);
    const mv = { model, version };
    for (const f of result.features) {
      const c = { ...mv, feature: f.name };
      const cm = { ...c, method: f.method };
      if (!f.skipped) {
        this.set('cdk_mlops_drift_score', cm, f.statistic);
        this.set('cdk_mlops_drift_p_value', cm, f.pValue);
        this.set('cdk_mlops_drift_threshold', cm, f.threshold);
        this.set('cdk_mlops_drift_detected', cm, f.drifted ? 1 : 0);
      }
      this.set('cdk_mlops_psi', c, f.psi);
      this.set('cdk_mlops_data_quality_missing_rate', c, f.quality.missingRate);
      this.set('cdk_mlops_data_quality_type_error_rate', c, f.quality.typeErrorRate);
      this.set('cdk_mlops_data_quality_out_of_range_rate', c, f.quality.outOfRangeRate);
      if (f.kind === 'categorical') this.set('cdk_mlops_data_quality_unknown_category_rate', c, f.quality.unknownCategoryRate);
    }
    this.set('cdk_mlops_dataset_drift', mv, result.dataset.datasetDrift ? 1 : 0);
    this.set('cdk_mlops_drifted_share', mv, result.dataset.share);
    this.set('cdk_mlops_drifted_features', mv, result.dataset.drifted);
    const p = result.prediction;
    if (!p.skipped) {
      const pm = { ...mv, method: p.method };
      this.set('cdk_mlops_prediction_drift_score', pm, p.statistic);
      this.set('cdk_mlops_prediction_drift_p_value', pm, p.pValue);
      this.set('cdk_mlops_prediction_drift_detected', pm, p.drifted ? 1 : 0);
    }
    this.set('cdk_mlops_window_rows', mv, result.records.rows);
    this.set('cdk_mlops_window_bad_rows', mv, result.records.badRows);
    this.set('cdk_mlops_window_bad_records', mv, result.records.badRecords);
    this.set('cdk_mlops_labeled_rows', mv, result.performance.labeledRows);
    for (const c of result.performance.comparisons) {
      const l = { ...mv, metric: c.metric };
      this.set('cdk_mlops_performance', l, c.current);
      this.set('cdk_mlops_performance_reference', l, c.reference);
      this.set('cdk_mlops_performance_degradation_ratio', l, c.degradation);
    }
    for (const a of result.actions.alerts) this.alerts.inc({ model, condition: a.condition, outcome: a.outcome });
    if (result.actions.retrain.outcome !== 'not_needed' && result.actions.retrain.outcome !== 'disabled') this.retrains.inc({ model, outcome: result.actions.retrain.outcome });
    this.recordRun(model, 'success', result.durationMs / 1000, endedAt);
  }

  /** Records the end of a run (also failed ones, which publish nothing else). */
  recordRun(model: string, outcome: 'success' | 'failure', durationSeconds: number, endedAt: number): void {
    this.runs.inc({ model, outcome });
    this.g.cdk_mlops_monitor_last_run_timestamp_seconds.set({ model }, endedAt / 1000);
    if (outcome === 'success') this.g.cdk_mlops_monitor_last_success_timestamp_seconds.set({ model }, endedAt / 1000);
    this.g.cdk_mlops_monitor_run_duration_seconds.set({ model }, durationSeconds);
  }

  /** Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** Writes the exposition to `file` atomically (for node_exporter's textfile collector). */
  async writeTextfile(file: string): Promise<void> {
    const body = await this.text();
    await fs.promises.mkdir(path.dirname(path.resolve(file)), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    await fs.promises.writeFile(tmp, body);
    await fs.promises.rename(tmp, file);
  }

  /** Replaces this model's group on a Pushgateway (PUT /metrics/job/cdk-mlops-monitor/model/<model>). */
  async push(url: string, model: string): Promise<void> {
    const gw = new Pushgateway(url, { timeout: 10_000 }, this.registry);
    await gw.push({ jobName: 'cdk-mlops-monitor', groupings: { model } });
  }
}
