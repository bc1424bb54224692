import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as YAML from 'yaml';
import { tmpDir } from './support';
import { driftAlertRules, durationSeconds } from '../../../src/runtime/monitor/alert-rules';

/**
 * The generated rules are checked by Prometheus itself: `promtool check rules` (syntax, PromQL,
 * templates) and `promtool test rules` (each alert fires on drifted series after its `for`,
 * and stays silent on clean ones). promtool comes from Debian's `prometheus` package.
 */
const PROMTOOL = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => fs.existsSync(p));

function promtool(...args: string[]): { code: number; out: string } {
  if (!PROMTOOL) throw new Error('promtool not found: install Debian\'s prometheus package (.ci/run does)');
  const r = spawnSync(PROMTOOL, args, { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

const OPTIONS = {
  model: 'fraud',
  selector: { namespace: 'ml' },
  labels: { team: 'risk' },
  runbookUrl: 'https://runbooks.example.com/drift',
  monitorNotRunning: { maxAge: '2h', for: '10m' },
} as const;

const base = { model: 'fraud', namespace: 'ml', version: '3' };
const series = (name: string, labels: Record<string, string>, values: string) => ({
  series: `${name}{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',')}}`,
  values,
});
const alertLabels = (extra: Record<string, string>, severity: string) => ({ ...extra, severity, team: 'risk' });
const runbook = { runbook_url: 'https://runbooks.example.com/drift' };

/** promtool unit tests: drifted series fire after `for`, clean series never. */
function unitTests(rulesFile: string): Record<string, unknown> {
  return {
    rule_files: [rulesFile],
    evaluation_interval: '1m',
    tests: [
      {
        name: 'feature drift fires after 30m on the drifted feature only',
        interval: '1m',
        input_series: [
          series('cdk_mlops_drift_detected', { ...base, feature: 'amount', method: 'ks' }, '0x10 1x60'),
          series('cdk_mlops_drift_detected', { ...base, feature: 'age', method: 'ks' }, '0x70'),
          series('cdk_mlops_monitor_last_success_timestamp_seconds', { model: 'fraud', namespace: 'ml' }, '0+60x70'),
        ],
        alert_rule_test: [
          { eval_time: '30m', alertname: 'MlFeatureDrift', exp_alerts: [] },
          {
            eval_time: '45m',
            alertname: 'MlFeatureDrift',
            exp_alerts: [{
              exp_labels: alertLabels({ model: 'fraud', version: '3', feature: 'amount', method: 'ks' }, 'warning'),
              exp_annotations: {
                summary: 'Feature amount of fraud v3 drifted',
                description: 'The ks drift test of feature amount has reported drift for the live inputs of fraud v3 (see cdk_mlops_drift_score and cdk_mlops_drift_p_value, and the monitor\'s HTML report).',
                ...runbook,
              },
            }],
          },
          { eval_time: '60m', alertname: 'MlMonitorNotRunning', exp_alerts: [] },
        ],
      },
      {
        name: 'dataset drift fires with the drifted share; a below-threshold share does not',
        interval: '1m',
        input_series: [
          series('cdk_mlops_dataset_drift', base, '0x10 1x40'),
          series('cdk_mlops_drifted_share', base, '0.1x10 0.6x40'),
          series('cdk_mlops_dataset_drift', { ...base, version: '2' }, '0x50'),
          series('cdk_mlops_drifted_share', { ...base, version: '2' }, '0.4x50'),
        ],
        alert_rule_test: [
          { eval_time: '20m', alertname: 'MlDatasetDrift', exp_alerts: [] },
          {
            eval_time: '30m',
            alertname: 'MlDatasetDrift',
            exp_alerts: [{
              exp_labels: alertLabels({ model: 'fraud', version: '3' }, 'critical'),
              exp_annotations: {
                summary: 'Dataset drift on fraud v3',
                description: '60% of the features of fraud v3 drifted, at or above the dataset-drift threshold. Retraining may be triggered by the monitor.',
                ...runbook,
              },
            }],
          },
        ],
      },
      {
        name: 'prediction drift',
        interval: '1m',
        input_series: [
          series('cdk_mlops_prediction_drift_detected', { ...base, method: 'z' }, '1x40'),
          series('cdk_mlops_prediction_drift_detected', { ...base, version: '2', method: 'z' }, '0x40'),
        ],
        alert_rule_test: [
          {
            eval_time: '35m',
            alertname: 'MlPredictionDrift',
            exp_alerts: [{
              exp_labels: alertLabels({ model: 'fraud', version: '3', method: 'z' }, 'warning'),
              exp_annotations: { summary: 'Prediction drift on fraud v3', description: 'The distribution of the predictions of fraud v3 differs from the reference (z test).', ...runbook },
            }],
          },
        ],
      },
      {
        name: 'performance decay on the decayed metric only',
        interval: '1m',
        input_series: [
          series('cdk_mlops_performance_degradation_ratio', { ...base, metric: 'accuracy' }, '0.02x10 0.25x40'),
          series('cdk_mlops_performance_degradation_ratio', { ...base, metric: 'f1' }, '0.05x50'),
        ],
        alert_rule_test: [
          { eval_time: '35m', alertname: 'MlPerformanceDecay', exp_alerts: [] },
          {
            eval_time: '45m',
            alertname: 'MlPerformanceDecay',
            exp_alerts: [{
              exp_labels: alertLabels({ model: 'fraud', version: '3', metric: 'accuracy' }, 'critical'),
              exp_annotations: {
                summary: 'Performance decay of fraud v3: accuracy',
                description: 'accuracy of fraud v3 on labeled live traffic is 25% worse than on the held-out reference (limit 10%).',
                ...runbook,
              },
            }],
          },
        ],
      },
      {
        name: 'data quality: one alert per issue and feature over its limit',
        interval: '1m',
        input_series: [
          series('cdk_mlops_data_quality_missing_rate', { ...base, feature: 'amount' }, '0.3x30'),
          series('cdk_mlops_data_quality_missing_rate', { ...base, feature: 'age' }, '0.01x30'),
          series('cdk_mlops_data_quality_out_of_range_rate', { ...base, feature: 'age' }, '0.2x30'),
          series('cdk_mlops_data_quality_type_error_rate', { ...base, feature: 'amount' }, '0x30'),
          series('cdk_mlops_data_quality_unknown_category_rate', { ...base, feature: 'country' }, '0.01x30'),
        ],
        alert_rule_test: [
          {
            eval_time: '20m',
            alertname: 'MlDataQuality',
            exp_alerts: [
              {
                exp_labels: alertLabels({ model: 'fraud', version: '3', feature: 'amount', issue: 'missing' }, 'warning'),
                exp_annotations: {
                  summary: 'Data quality of fraud v3: amount has too many missing values',
                  description: '30% of amount are missing values (limit 10%) in the live inputs of fraud v3.',
                  ...runbook,
                },
              },
              {
                exp_labels: alertLabels({ model: 'fraud', version: '3', feature: 'age', issue: 'out_of_range' }, 'warning'),
                exp_annotations: {
                  summary: 'Data quality of fraud v3: age has too many values outside the reference range',
                  description: '20% of age are values outside the reference range (limit 5%) in the live inputs of fraud v3.',
                  ...runbook,
                },
              },
            ],
          },
        ],
      },
      {
        name: 'monitor not running: a frozen last-success time fires after maxAge + for; a fresh one does not',
        interval: '1m',
        input_series: [
          series('cdk_mlops_monitor_last_success_timestamp_seconds', { model: 'fraud', namespace: 'ml' }, '600x200'),
        ],
        alert_rule_test: [
          { eval_time: '120m', alertname: 'MlMonitorNotRunning', exp_alerts: [] },
          {
            eval_time: '150m',
            alertname: 'MlMonitorNotRunning',
            exp_alerts: [{
              exp_labels: alertLabels({ model: 'fraud' }, 'warning'),
              exp_annotations: {
                summary: 'The drift monitor of fraud has not completed a run for 2h',
                description: 'No successful run of the drift monitor of fraud for more than 2h (or it never reported): drift and performance are not being watched. Check the monitor\'s CronJob or Deployment and its logs.',
                ...runbook,
              },
            }],
          },
        ],
      },
      {
        name: 'monitor not running: a monitor that never reported fires from absent()',
        interval: '1m',
        input_series: [series('cdk_mlops_drift_detected', { ...base, feature: 'amount', method: 'ks' }, '0x30')],
        alert_rule_test: [
          { eval_time: '5m', alertname: 'MlMonitorNotRunning', exp_alerts: [] },
          {
            eval_time: '15m',
            alertname: 'MlMonitorNotRunning',
            exp_alerts: [{
              exp_labels: alertLabels({ model: 'fraud', namespace: 'ml' }, 'warning'),
              exp_annotations: {
                summary: 'The drift monitor of fraud has not completed a run for 2h',
                description: 'No successful run of the drift monitor of fraud for more than 2h (or it never reported): drift and performance are not being watched. Check the monitor\'s CronJob or Deployment and its logs.',
                ...runbook,
              },
            }],
          },
        ],
      },
    ],
  };
}

const describePromtool = PROMTOOL || !process.env.CDK_MLOPS_SKIP_PROMTOOL ? describe : describe.skip;

describePromtool('drift alert rules, checked by promtool', () => {
  const dir = tmpDir('rules');
  const rulesFile = path.join(dir, 'rules.yaml');
  const groups = driftAlertRules(OPTIONS);
  fs.writeFileSync(rulesFile, YAML.stringify({ groups }));

  test('the groups have one rule per alert (four for data quality) with severities, for and labels', () => {
    expect(groups).toHaveLength(1);
    expect(groups[0].name).toBe('cdk-mlops-monitor-fraud');
    expect(groups[0].rules.map((r) => r.alert)).toEqual([
      'MlFeatureDrift', 'MlDatasetDrift', 'MlPredictionDrift', 'MlPerformanceDecay',
      'MlDataQuality', 'MlDataQuality', 'MlDataQuality', 'MlDataQuality', 'MlMonitorNotRunning',
    ]);
    expect(groups[0].rules.map((r) => [r.labels.severity, r.for])).toEqual([
      ['warning', '30m'], ['critical', '15m'], ['warning', '30m'], ['critical', '30m'],
      ['warning', '15m'], ['warning', '15m'], ['warning', '15m'], ['warning', '15m'], ['warning', '10m'],
    ]);
    for (const r of groups[0].rules) expect(r.expr).toContain('{model="fraud",namespace="ml"}');
  });

  test('promtool check rules accepts them', () => {
    const r = promtool('check', 'rules', rulesFile);
    expect(r.out).toContain('SUCCESS: 9 rules found');
    expect(r.code).toBe(0);
  });

  test('promtool test rules: each alert fires on drifted series and stays silent on clean ones', () => {
    const testFile = path.join(dir, 'tests.yaml');
    fs.writeFileSync(testFile, YAML.stringify(unitTests(rulesFile)));
    const r = promtool('test', 'rules', testFile);
    expect(r.out).toContain('SUCCESS');
    expect(r.code).toBe(0);
  });

  test('the harness can fail: expecting an alert on clean series makes promtool report a failure', () => {
    const t = unitTests(rulesFile) as { tests: { alert_rule_test: { eval_time: string; alertname: string; exp_alerts: unknown[] }[] }[] };
    // the f1 degradation of 5% is below the 10% limit: claim it fires
    t.tests[3].alert_rule_test[1].exp_alerts.push({ exp_labels: alertLabels({ model: 'fraud', version: '3', metric: 'f1' }, 'critical') });
    const testFile = path.join(dir, 'tests-negative.yaml');
    fs.writeFileSync(testFile, YAML.stringify(t));
    const r = promtool('test', 'rules', testFile);
    expect(r.code).not.toBe(0);
    expect(r.out).toContain('FAILED');
  });

  test('switching alerts off, custom severities and durations', () => {
    const g = driftAlertRules({ model: 'm', featureDrift: false, dataQuality: false, datasetDrift: { severity: 'warning', for: '1h' }, performanceDecay: { maxDegradation: 0.05 } });
    expect(g[0].rules.map((r) => r.alert)).toEqual(['MlDatasetDrift', 'MlPredictionDrift', 'MlPerformanceDecay', 'MlMonitorNotRunning']);
    expect(g[0].rules[0]).toMatchObject({ for: '1h', labels: { severity: 'warning' } });
    expect(g[0].rules[2].expr).toBe('max by (model, version, metric) (cdk_mlops_performance_degradation_ratio{model="m"}) > 0.05');
    const file = path.join(dir, 'rules-2.yaml');
    fs.writeFileSync(file, YAML.stringify({ groups: g }));
    expect(promtool('check', 'rules', file).code).toBe(0);
  });
});

describe('drift alert rules: bad options are refused with the option, value and what was expected', () => {
  test.each([
    [{ model: 'bad name' }, '\'model\' ("bad name") must be a model name'],
    [{ model: 'm', datasetDrift: { for: '15 minutes' } }, '\'datasetDrift.for\' ("15 minutes") must be a Prometheus duration'],
    [{ model: 'm', featureDrift: { severity: 'page' as never } }, '\'featureDrift.severity\' ("page") must be critical, warning or info'],
    [{ model: 'm', dataQuality: { maxMissingRate: -1 } }, '\'dataQuality.maxMissingRate\' (-1) must be a finite number >= 0'],
    [{ model: 'm', selector: { 'bad-label': 'x' } }, 'label name "bad-label" must match'],
    [{ model: 'm', monitorNotRunning: { maxAge: '' } }, '\'monitorNotRunning.maxAge\' ("") must be a Prometheus duration'],
  ])('%j', (options, message) => {
    expect(() => driftAlertRules(options)).toThrow(message);
  });

  test('selector values are quoted as PromQL strings', () => {
    const g = driftAlertRules({ model: 'm', selector: { env: 'a"b\\c' } });
    expect(g[0].rules[0].expr).toContain('{model="m",env="a\\"b\\\\c"}');
  });

  test('durations in seconds', () => {
    expect([durationSeconds('2h'), durationSeconds('1d12h'), durationSeconds('90s'), durationSeconds('1w')]).toEqual([7200, 129600, 90, 604800]);
  });
});
