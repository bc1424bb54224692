/**
 * Prometheus alerting rules on the monitor's metrics (see `./metrics.ts` for the series),
 * as plain data: the `spec.groups` of a prometheus-operator `PrometheusRule`, or the
 * `groups` of a Prometheus rule file. A pure function with no runtime imports, so the
 * DriftMonitor construct embeds it at synth time and the tests check its output with
 * `promtool check rules` and `promtool test rules`.
 *
 * Alerts (each can be switched off with `false`):
 *
 * | alert | fires when | default severity | default `for` |
 * |---|---|---|---|
 * | `MlFeatureDrift` | a feature's drift verdict is 1 (`cdk_mlops_drift_detected`) | warning | 30m |
 * | `MlDatasetDrift` | the dataset verdict is 1; the value is the drifted share | critical | 15m |
 * | `MlPredictionDrift` | the prediction column drifted | warning | 30m |
 * | `MlPerformanceDecay` | a metric's relative degradation exceeds `maxDegradation` (0.1) | critical | 30m |
 * | `MlDataQuality` (label `issue`) | missing rate > 0.1, type-error rate > 0.01, out-of-range rate > 0.05, unknown-category rate > 0.05 | warning | 15m |
 * | `MlMonitorNotRunning` | no successful run for `maxAge` (2h), or the metric is absent | warning | 10m |
 */

/** Severity label of an alert. */
export type AlertSeverity = 'critical' | 'warning' | 'info';
import { compareStrings } from '../../util/compare';

/** Severity and pending time of one alert. */
export interface AlertSpec {
  /** @default - per alert, see the table above */
  readonly severity?: AlertSeverity;
  /** How long the condition must hold before the alert fires (a Prometheus duration). @default - per alert */
  readonly for?: string;
}

/** Options of the data-quality alert. */
export interface DataQualityAlertSpec extends AlertSpec {
  /** @default 0.1 */
  readonly maxMissingRate?: number;
  /** @default 0.01 */
  readonly maxTypeErrorRate?: number;
  /** @default 0.05 */
  readonly maxOutOfRangeRate?: number;
  /** @default 0.05 */
  readonly maxUnknownCategoryRate?: number;
}

/** Options of the performance alert. */
export interface PerformanceAlertSpec extends AlertSpec {
  /** Relative degradation above which a metric counts as decayed. @default 0.1 */
  readonly maxDegradation?: number;
}

/** Options of the liveness alert. */
export interface MonitorNotRunningAlertSpec extends AlertSpec {
  /** Longest time without a successful run (a Prometheus duration; 2-3 run intervals). @default '2h' */
  readonly maxAge?: string;
}

/** Options of {@link driftAlertRules}. */
export interface DriftAlertRuleOptions {
  /** Model whose series the rules select (`model="<model>"`). */
  readonly model: string;
  /** Further equality matchers added to every selector (e.g. `{ namespace: 'ml' }`). @default {} */
  readonly selector?: Readonly<Record<string, string>>;
  /** Labels added to every alert (e.g. `{ team: 'fraud' }`). @default {} */
  readonly labels?: Readonly<Record<string, string>>;
  /** Name of the rule group. @default 'cdk-mlops-monitor-<model>' */
  readonly groupName?: string;
  /** Added as the `runbook_url` annotation. @default - none */
  readonly runbookUrl?: string;
  /** @default { severity: 'warning', for: '30m' } */
  readonly featureDrift?: AlertSpec | false;
  /** @default { severity: 'critical', for: '15m' } */
  readonly datasetDrift?: AlertSpec | false;
  /** @default { severity: 'warning', for: '30m' } */
  readonly predictionDrift?: AlertSpec | false;
  /** @default { severity: 'critical', for: '30m', maxDegradation: 0.1 } */
  readonly performanceDecay?: PerformanceAlertSpec | false;
  /** @default { severity: 'warning', for: '15m', and the limits above } */
  readonly dataQuality?: DataQualityAlertSpec | false;
  /** @default { severity: 'warning', for: '10m', maxAge: '2h' } */
  readonly monitorNotRunning?: MonitorNotRunningAlertSpec | false;
}

/** One alerting rule. */
export interface PrometheusAlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

/** One rule group. */
export interface PrometheusRuleGroup {
  readonly name: string;
  readonly rules: readonly PrometheusAlertRule[];
}

const DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function checkDuration(option: string, value: string): string {
  if (typeof value !== 'string' || value === '' || !DURATION.test(value)) {
    throw new RangeError(`alert rules: '${option}' (${JSON.stringify(value)}) must be a Prometheus duration such as 30s, 15m, 2h or 1d`);
  }
  return value;
}

function checkRate(option: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`alert rules: '${option}' (${JSON.stringify(value)}) must be a finite number >= 0`);
  }
  return value;
}

/** A PromQL double-quoted string. */
function quote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/** Prometheus `for` values and severities resolved with their defaults. */
function spec(option: string, s: AlertSpec | undefined, severity: AlertSeverity, pending: string): { severity: AlertSeverity; for: string } {
  const sev = s?.severity ?? severity;
  if (!['critical', 'warning', 'info'].includes(sev)) throw new RangeError(`alert rules: '${option}.severity' (${JSON.stringify(sev)}) must be critical, warning or info`);
  return { severity: sev, for: checkDuration(`${option}.for`, s?.for ?? pending) };
}

/** The rule groups for one model. */
export function driftAlertRules(options: DriftAlertRuleOptions): PrometheusRuleGroup[] {
  if (typeof options.model !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(options.model)) {
    throw new RangeError(`alert rules: 'model' (${JSON.stringify(options.model)}) must be a model name (letters, digits, '.', '_' or '-')`);
  }
  const matchers: [string, string][] = [['model', options.model], ...Object.entries(options.selector ?? {}).sort(([a], [b]) => compareStrings(a, b))];
  for (const [k] of [...matchers, ...Object.entries(options.labels ?? {})]) {
    if (!LABEL_NAME.test(k)) throw new RangeError(`alert rules: label name ${JSON.stringify(k)} must match [a-zA-Z_][a-zA-Z0-9_]*`);
  }
  const sel = `{${matchers.map(([k, v]) => `${k}=${quote(v)}`).join(',')}}`;
  const extraLabels = Object.fromEntries(Object.entries(options.labels ?? {}).sort(([a], [b]) => compareStrings(a, b)));
  const runbook: Record<string, string> = options.runbookUrl ? { runbook_url: options.runbookUrl } : {};
  const rules: PrometheusAlertRule[] = [];
  const add = (alert: string, expr: string, s: { severity: AlertSeverity; for: string }, annotations: Record<string, string>, labels: Record<string, string> = {}) => {
    rules.push({ alert, expr, for: s.for, labels: { ...extraLabels, ...labels, severity: s.severity }, annotations: { ...annotations, ...runbook } });
  };
  const who = '{{ $labels.model }} v{{ $labels.version }}';

  if (options.featureDrift !== false) {
    add('MlFeatureDrift', `max by (model, version, feature, method) (cdk_mlops_drift_detected${sel}) == 1`, spec('featureDrift', options.featureDrift, 'warning', '30m'), {
      summary: `Feature {{ $labels.feature }} of ${who} drifted`,
      description: `The {{ $labels.method }} drift test of feature {{ $labels.feature }} has reported drift for the live inputs of ${who} (see cdk_mlops_drift_score and cdk_mlops_drift_p_value, and the monitor's HTML report).`,
    });
  }
  if (options.datasetDrift !== false) {
    add('MlDatasetDrift', `max by (model, version) (cdk_mlops_drifted_share${sel} and on (model, version) (cdk_mlops_dataset_drift${sel} == 1))`, spec('datasetDrift', options.datasetDrift, 'critical', '15m'), {
      summary: `Dataset drift on ${who}`,
      description: `{{ $value | humanizePercentage }} of the features of ${who} drifted, at or above the dataset-drift threshold. Retraining may be triggered by the monitor.`,
    });
  }
  if (options.predictionDrift !== false) {
    add('MlPredictionDrift', `max by (model, version, method) (cdk_mlops_prediction_drift_detected${sel}) == 1`, spec('predictionDrift', options.predictionDrift, 'warning', '30m'), {
      summary: `Prediction drift on ${who}`,
      description: `The distribution of the predictions of ${who} differs from the reference ({{ $labels.method }} test).`,
    });
  }
  if (options.performanceDecay !== false) {
    const p = options.performanceDecay;
    const max = checkRate('performanceDecay.maxDegradation', p?.maxDegradation ?? 0.1);
    add('MlPerformanceDecay', `max by (model, version, metric) (cdk_mlops_performance_degradation_ratio${sel}) > ${max}`, spec('performanceDecay', p, 'critical', '30m'), {
      summary: `Performance decay of ${who}: {{ $labels.metric }}`,
      description: `{{ $labels.metric }} of ${who} on labeled live traffic is {{ $value | humanizePercentage }} worse than on the held-out reference (limit ${max * 100}%).`,
    });
  }
  if (options.dataQuality !== false) {
    const q = options.dataQuality;
    const s = spec('dataQuality', q, 'warning', '15m');
    const checks: [string, string, number, string][] = [
      ['missing', 'cdk_mlops_data_quality_missing_rate', checkRate('dataQuality.maxMissingRate', q?.maxMissingRate ?? 0.1), 'missing values'],
      ['type_errors', 'cdk_mlops_data_quality_type_error_rate', checkRate('dataQuality.maxTypeErrorRate', q?.maxTypeErrorRate ?? 0.01), 'values of the wrong type'],
      ['out_of_range', 'cdk_mlops_data_quality_out_of_range_rate', checkRate('dataQuality.maxOutOfRangeRate', q?.maxOutOfRangeRate ?? 0.05), 'values outside the reference range'],
      ['unknown_categories', 'cdk_mlops_data_quality_unknown_category_rate', checkRate('dataQuality.maxUnknownCategoryRate', q?.maxUnknownCategoryRate ?? 0.05), 'categories the reference never saw'],
    ];
    for (const [issue, metric, limit, what] of checks) {
      add('MlDataQuality', `max by (model, version, feature) (${metric}${sel}) > ${limit}`, s, {
        summary: `Data quality of ${who}: {{ $labels.feature }} has too many ${what}`,
        description: `{{ $value | humanizePercentage }} of {{ $labels.feature }} are ${what} (limit ${limit * 100}%) in the live inputs of ${who}.`,
      }, { issue });
    }
  }
  if (options.monitorNotRunning !== false) {
    const m = options.monitorNotRunning;
    const maxAge = checkDuration('monitorNotRunning.maxAge', m?.maxAge ?? '2h');
    const metric = `cdk_mlops_monitor_last_success_timestamp_seconds${sel}`;
    add('MlMonitorNotRunning', `(time() - max by (model) (${metric}) > ${durationSeconds(maxAge)}) or absent(${metric})`, spec('monitorNotRunning', m, 'warning', '10m'), {
      summary: `The drift monitor of {{ $labels.model }} has not completed a run for ${maxAge}`,
      description: `No successful run of the drift monitor of {{ $labels.model }} for more than ${maxAge} (or it never reported): drift and performance are not being watched. Check the monitor's CronJob or Deployment and its logs.`,
    });
  }
  return [{ name: options.groupName ?? `cdk-mlops-monitor-${options.model}`, rules }];
}

/** Seconds of a Prometheus duration. */
export function durationSeconds(d: string): number {
  const m = DURATION.exec(d);
  if (!m || d === '') throw new RangeError(`${JSON.stringify(d)} is not a Prometheus duration`);
  const [, y, w, dd, h, mi, s, ms] = m.map((x) => (x === undefined ? 0 : Number(x)));
  return y * 31_536_000 + w * 604_800 + dd * 86_400 + h * 3_600 + mi * 60 + s + ms / 1000;
}
