import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as YAML from 'yaml';
import { buildMonitor } from './drift-monitor.fixtures';
import { MonitorSchedule } from '../../src';
import { one } from '../support/endpoint';

/**
 * The PrometheusRule a DriftMonitor synthesizes, checked by Prometheus itself: its `spec.groups`
 * written as a rule file pass `promtool check rules`, and `promtool test rules` shows each alert
 * firing on drifted series (after its `for`, with the severity the props gave) and staying
 * silent on clean ones. The series carry the labels a Pushgateway scrape adds (`job`,
 * `instance`, `namespace`), which the rules must not depend on. promtool comes from Debian's
 * `prometheus` package (.ci/run installs it).
 */
const PROMTOOL = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => fs.existsSync(p));

function promtool(...args: string[]): { code: number; out: string } {
  if (!PROMTOOL) throw new Error("promtool not found: install Debian's prometheus package (.ci/run does)");
  const r = spawnSync(PROMTOOL, args, { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

const b = buildMonitor(() => ({
  schedule: MonitorSchedule.cron('*/15 * * * *'),
  quality: { maxMissingRate: 0.2 },
  alerts: {
    featureDrift: { severity: 'critical', for: '20m' },
    datasetDrift: { severity: 'warning', for: '5m' },
    dataQuality: { severity: 'info' },
    labels: { team: 'risk' },
  },
}));
const rule = one(b.monitoring, 'PrometheusRule', 'fraud-drift');
const groups = rule.spec.groups as { name: string; rules: { alert: string; annotations: Record<string, string>; labels: Record<string, string> }[] }[];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drift-monitor-rules-'));
const rulesFile = path.join(dir, 'rules.yaml');
fs.writeFileSync(rulesFile, YAML.stringify({ groups }));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** What a Pushgateway scrape with honorLabels gives a pushed series. */
const scraped = { job: 'cdk-mlops-monitor', instance: '', namespace: 'monitoring' };
const series = (name: string, labels: Record<string, string>, values: string) => ({
  series: `${name}{${Object.entries({ ...scraped, ...labels }).map(([k, v]) => `${k}="${v}"`).join(',')}}`,
  values,
});
const M = { model: 'fraud', version: '7' };
const STATIC = { namespace: 'acme-ml-monitoring', monitor: 'fraud-drift', team: 'risk' };

/** The alert's annotations rendered for `labels` and `$value` (as humanizePercentage prints it). */
function annotations(alert: string, labels: Record<string, string>, value?: string, issue?: string): Record<string, string> {
  const r = groups[0].rules.find((x) => x.alert === alert && (issue === undefined || x.labels.issue === issue))!;
  return Object.fromEntries(Object.entries(r.annotations).map(([k, v]) => [k, v
    .replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, l: string) => labels[l] ?? '')
    .replace(/\{\{ \$value \| humanizePercentage \}\}/g, value ?? '')]));
}

function expected(alert: string, labels: Record<string, string>, severity: string, value?: string, issue?: string) {
  const all = { ...labels, ...STATIC, severity, ...(issue ? { issue } : {}) };
  return { exp_labels: all, exp_annotations: annotations(alert, all, value, issue) };
}

function unitTests(): Record<string, unknown> {
  return {
    rule_files: [rulesFile],
    evaluation_interval: '1m',
    tests: [
      {
        name: 'feature drift: critical after 20m on the drifted feature only',
        interval: '1m',
        input_series: [
          series('cdk_mlops_drift_detected', { ...M, feature: 'amount', method: 'ks' }, '0x5 1x60'),
          series('cdk_mlops_drift_detected', { ...M, feature: 'age', method: 'ks' }, '0x70'),
          series('cdk_mlops_monitor_last_success_timestamp_seconds', { model: 'fraud' }, '0+60x70'),
        ],
        alert_rule_test: [
          { eval_time: '20m', alertname: 'MlFeatureDrift', exp_alerts: [] },
          { eval_time: '30m', alertname: 'MlFeatureDrift', exp_alerts: [expected('MlFeatureDrift', { ...M, feature: 'amount', method: 'ks' }, 'critical')] },
          { eval_time: '60m', alertname: 'MlMonitorNotRunning', exp_alerts: [] },
        ],
      },
      {
        name: 'dataset drift: warning after 5m; a share below the threshold (verdict 0) stays silent',
        interval: '1m',
        input_series: [
          series('cdk_mlops_dataset_drift', M, '0x10 1x40'),
          series('cdk_mlops_drifted_share', M, '0.1x10 0.6x40'),
          series('cdk_mlops_dataset_drift', { ...M, version: '6' }, '0x50'),
          series('cdk_mlops_drifted_share', { ...M, version: '6' }, '0.4x50'),
        ],
        alert_rule_test: [
          { eval_time: '12m', alertname: 'MlDatasetDrift', exp_alerts: [] },
          { eval_time: '20m', alertname: 'MlDatasetDrift', exp_alerts: [expected('MlDatasetDrift', M, 'warning', '60%')] },
        ],
      },
      {
        name: 'prediction drift: warning after the default 30m',
        interval: '1m',
        input_series: [
          series('cdk_mlops_prediction_drift_detected', { ...M, method: 'z' }, '1x40'),
          series('cdk_mlops_prediction_drift_detected', { ...M, version: '6', method: 'z' }, '0x40'),
        ],
        alert_rule_test: [
          { eval_time: '25m', alertname: 'MlPredictionDrift', exp_alerts: [] },
          { eval_time: '35m', alertname: 'MlPredictionDrift', exp_alerts: [expected('MlPredictionDrift', { ...M, method: 'z' }, 'warning')] },
        ],
      },
      {
        name: 'performance decay: critical on the decayed metric only',
        interval: '1m',
        input_series: [
          series('cdk_mlops_performance_degradation_ratio', { ...M, metric: 'accuracy' }, '0.02x10 0.25x40'),
          series('cdk_mlops_performance_degradation_ratio', { ...M, metric: 'f1' }, '0.05x50'),
        ],
        alert_rule_test: [
          { eval_time: '35m', alertname: 'MlPerformanceDecay', exp_alerts: [] },
          { eval_time: '45m', alertname: 'MlPerformanceDecay', exp_alerts: [expected('MlPerformanceDecay', { ...M, metric: 'accuracy' }, 'critical', '25%')] },
        ],
      },
      {
        name: "data quality: info, at the monitor's own limits (missing 0.2 from the quality prop)",
        interval: '1m',
        input_series: [
          series('cdk_mlops_data_quality_missing_rate', { ...M, feature: 'amount' }, '0.3x30'),
          series('cdk_mlops_data_quality_missing_rate', { ...M, feature: 'age' }, '0.15x30'),
          series('cdk_mlops_data_quality_out_of_range_rate', { ...M, feature: 'age' }, '0.2x30'),
          series('cdk_mlops_data_quality_type_error_rate', { ...M, feature: 'amount' }, '0x30'),
          series('cdk_mlops_data_quality_unknown_category_rate', { ...M, feature: 'country' }, '0.01x30'),
        ],
        alert_rule_test: [
          {
            eval_time: '20m',
            alertname: 'MlDataQuality',
            exp_alerts: [
              expected('MlDataQuality', { ...M, feature: 'amount' }, 'info', '30%', 'missing'),
              expected('MlDataQuality', { ...M, feature: 'age' }, 'info', '20%', 'out_of_range'),
            ],
          },
        ],
      },
      {
        name: 'monitor not running: a frozen last success fires after maxAge (2h) + 10m; a fresh one never',
        interval: '1m',
        input_series: [
          series('cdk_mlops_monitor_last_success_timestamp_seconds', { model: 'fraud' }, '600x200'),
          series('cdk_mlops_monitor_last_success_timestamp_seconds', { model: 'churn' }, '0+60x200'),
        ],
        alert_rule_test: [
          { eval_time: '120m', alertname: 'MlMonitorNotRunning', exp_alerts: [] },
          { eval_time: '150m', alertname: 'MlMonitorNotRunning', exp_alerts: [expected('MlMonitorNotRunning', { model: 'fraud' }, 'warning')] },
        ],
      },
      {
        name: 'monitor not running: a monitor that never pushed fires from absent()',
        interval: '1m',
        input_series: [series('cdk_mlops_monitor_last_success_timestamp_seconds', { model: 'churn' }, '0+60x30')],
        alert_rule_test: [
          { eval_time: '5m', alertname: 'MlMonitorNotRunning', exp_alerts: [] },
          { eval_time: '15m', alertname: 'MlMonitorNotRunning', exp_alerts: [expected('MlMonitorNotRunning', { model: 'fraud' }, 'warning')] },
        ],
      },
    ],
  };
}

const describePromtool = PROMTOOL || !process.env.CDK_MLOPS_SKIP_PROMTOOL ? describe : describe.skip;

describePromtool('DriftMonitor PrometheusRule, checked by promtool', () => {
  test('promtool check rules accepts the synthesized groups', () => {
    const r = promtool('check', 'rules', rulesFile);
    expect(r.out).toContain('SUCCESS: 9 rules found');
    expect(r.code).toBe(0);
  });

  test('promtool test rules: each alert fires on drifted series with the severity from the props, and stays silent on clean ones', () => {
    const file = path.join(dir, 'tests.yaml');
    fs.writeFileSync(file, YAML.stringify(unitTests()));
    const r = promtool('test', 'rules', file);
    expect(r.out).toContain('SUCCESS');
    expect(r.code).toBe(0);
  });

  test.each([
    ['a clean feature', 0, 1, expected('MlFeatureDrift', { ...M, feature: 'age', method: 'ks' }, 'critical')],
    ['a degradation under the limit', 3, 1, expected('MlPerformanceDecay', { ...M, metric: 'f1' }, 'critical', '5%')],
    ['a missing rate under the quality limit (0.15 < 0.2)', 4, 0, expected('MlDataQuality', { ...M, feature: 'age' }, 'info', '15%', 'missing')],
    ['the default severity instead of the one from the props', 1, 1, expected('MlDatasetDrift', M, 'critical', '60%')],
  ])('the harness can fail: claiming an alert on %s makes promtool report a failure', (_what, testIndex, evalIndex, claim) => {
    const t = unitTests() as { tests: { alert_rule_test: { exp_alerts: unknown[] }[] }[] };
    const step = t.tests[testIndex].alert_rule_test[evalIndex];
    if (_what.startsWith('the default')) step.exp_alerts = [claim];
    else step.exp_alerts.push(claim);
    const file = path.join(dir, `tests-negative-${testIndex}.yaml`);
    fs.writeFileSync(file, YAML.stringify(t));
    const r = promtool('test', 'rules', file);
    expect(r.out).toContain('FAILED');
    expect(r.code).not.toBe(0);
  });
});
