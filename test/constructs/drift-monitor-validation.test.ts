import {
  DriftMonitor, DriftMonitorProps, HyperparameterSearch, MlopsValidationError, ModelEndpoint, ModelRegistry, MonitorSchedule, PrometheusRef, PushgatewayRef,
  RegistryStorage, TrainingData, TrainingPipeline,
} from '../../src';
import { longestGapMinutes, parseCron } from '../../src/constructs/monitor/cron';
import { GATEWAY } from '../support/endpoint';
import { newPlatform } from '../support/platform';

type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A platform with a registry, the endpoint `fraud` (fraud@7) and a training pipeline for `fraud`. */
function setup() {
  const { platform } = newPlatform();
  const registry = new ModelRegistry(platform, 'registry');
  const endpoint = new ModelEndpoint(platform, 'fraud', { model: registry.model('fraud').version(7), gateway: GATEWAY });
  const pipeline = new TrainingPipeline(platform, 'fraud-train', { model: registry.model('fraud'), data: TrainingData.fromPlatformBucket('d/fraud.parquet'), target: 'y' });
  return { platform, registry, endpoint, pipeline };
}

/** Every problem of the MlopsValidationError `fn` throws. */
function problemsOf(fn: () => unknown): { prop: string; received: string; expected: string }[] {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof MlopsValidationError)) throw e;
    return [...e.problems];
  }
  throw new Error('expected an MlopsValidationError');
}

function expectProblem(fn: () => unknown, prop: string, fragment: RegExp): void {
  const problems = problemsOf(fn);
  const p = problems.find((x) => x.prop === prop);
  if (!p) throw new Error(`no problem for '${prop}' in: ${JSON.stringify(problems)}`);
  expect(`${p.received} ${p.expected}`).toMatch(fragment);
}

describe('DriftMonitor fails with a clear error if', () => {
  const cases: [string, (s: ReturnType<typeof setup>) => Partial<DriftMonitorProps>, string, RegExp][] = [
    ['the name is not a DNS label', () => ({ monitorName: 'Fraud_Drift' }), 'monitorName', /"Fraud_Drift" must be a DNS-1123 label starting with a letter/],
    ['the endpoint is not an endpoint', () => ({ endpoint: {} as Any }), 'endpoint', /must be a ModelEndpoint/],
    ['the variant is not one of the endpoint', () => ({ variant: 'canary' }), 'variant', /"canary" must be a variant of endpoint 'fraud': primary/],
    ['the schedule is a plain string', () => ({ schedule: '*/15 * * * *' as Any }), 'schedule', /must be MonitorSchedule\.cron/],
    ['the cron has six fields', () => ({ schedule: MonitorSchedule.cron('0 */15 * * * *') }), 'schedule', /has 6 field\(s\); expected 5/],
    ['a cron value is out of range', () => ({ schedule: MonitorSchedule.cron('60 * * * *') }), 'schedule', /minute value 60 is outside 0-59/],
    ['a cron step is zero', () => ({ schedule: MonitorSchedule.cron('*/0 * * * *') }), 'schedule', /minute step '0' must be a whole number >= 1/],
    ['a cron range is reversed', () => ({ schedule: MonitorSchedule.cron('0 17-9 * * *') }), 'schedule', /hour range '17-9' starts after it ends/],
    ['a cron name is unknown', () => ({ schedule: MonitorSchedule.cron('0 0 * * fun') }), 'schedule', /day-of-week value 'fun' is not a number or a name/],
    ['the cron sets a time zone', () => ({ schedule: MonitorSchedule.cron('TZ=UTC 0 * * * *') }), 'schedule', /must not set a time zone/],
    ['the cron descriptor is unknown', () => ({ schedule: MonitorSchedule.cron('@every 5m') }), 'schedule', /descriptor '@every 5m' is not one of @yearly/],
    ['the cron never runs', () => ({ schedule: MonitorSchedule.cron('0 0 30 2 *') }), 'schedule', /never runs/],
    ['the continuous interval is not a duration', () => ({ schedule: MonitorSchedule.continuous({ interval: '15 minutes' }) }), 'schedule.interval', /must be a duration of at least one minute/],
    ['the continuous interval is under a minute', () => ({ schedule: MonitorSchedule.continuous({ interval: '30s' }) }), 'schedule.interval', /"30s" must be a duration of at least one minute/],
    ['the window is not a duration', () => ({ window: '1 day' }), 'window', /"1 day" must be a duration such as 30s, 15m, 6h or 7d \(monitor configuration 'window'\)/],
    ['a p-value threshold is 1 or more', () => ({ drift: { thresholds: { ks: 1.5 } } }), 'drift.thresholds.ks', /1\.5 must be a p-value threshold between 0 and 1 \(exclusive\) for method 'ks'/],
    ['a Jensen-Shannon threshold exceeds 1', () => ({ drift: { thresholds: { jensenshannon: 2 } } }), 'drift.thresholds.jensenshannon', /must be in \(0, 1\]/],
    ['a distance threshold is negative', () => ({ drift: { thresholds: { wasserstein: -0.1 } } }), 'drift.thresholds.wasserstein', /-0\.1 must be a number > 0/],
    ['a feature override threshold is out of range for its method', () => ({ drift: { features: { amount: { method: 'chisquare', threshold: 5 } } } }), 'drift.features.amount.threshold', /p-value threshold .* 'chisquare'/],
    ['a feature override names no method', () => ({ drift: { features: { amount: { method: 'anderson' as Any } } } }), 'drift.features.amount.method', /must be one of ks, chisquare/],
    ['the dataset-drift share is above 1', () => ({ drift: { datasetDriftShare: 2 } }), 'drift.datasetDriftShare', /^2 /],
    ['a quality limit is above 1', () => ({ quality: { maxMissingRate: 1.5 } }), 'quality.maxMissingRate', /^1\.5 /],
    ['the state mode is unknown', () => ({ state: { mode: 'fast' as Any } }), 'state.mode', /"fast"/],
    ['performance needs no labeled rows', () => ({ performance: { minLabeledRows: 0 } }), 'performance.minLabeledRows', /^0 /],
    ['the Prometheus is not described', () => ({ prometheus: { namespace: 'Obs!' } as Any }), 'prometheus', /must describe the Prometheus/],
    ['the Pushgateway URL is not a URL', () => ({ pushgateway: PushgatewayRef.fromAttributes({ url: 'pgw:9091', namespace: 'obs', podLabels: { app: 'pgw' }, port: 9091 }) }), 'pushgateway.url', /must be an http\(s\) URL/],
    ['the Pushgateway has no pod labels', () => ({ pushgateway: PushgatewayRef.fromAttributes({ url: 'http://pgw:9091', namespace: 'obs', podLabels: {}, port: 9091 }) }), 'pushgateway.podLabels', /must name at least one label/],
    ['a Pushgateway is given to a continuous monitor', () => ({ schedule: MonitorSchedule.continuous(), pushgateway: PushgatewayRef.prometheusCommunity() }), 'pushgateway', /only used by a scheduled monitor/],
    ['retraining trains another model', (s) => ({
      retrain: new TrainingPipeline(s.platform, 'churn-train', { model: s.registry.model('churn'), data: TrainingData.fromPlatformBucket('d/c.parquet'), target: 'y' }),
    }), 'retrain', /"churn" must train the monitored model 'fraud', not 'churn'/],
    ['retraining registers into another registry', (s) => ({
      retrain: new TrainingPipeline(s.platform, 'fraud-train-2', { model: new ModelRegistry(s.platform, 'other', { storage: RegistryStorage.platformBucket({ prefix: 'other' }) }).model('fraud'), data: TrainingData.fromPlatformBucket('d/f.parquet'), target: 'y' }),
    }), 'retrain', /"s3:\/\/[^"]+\/other" must register into the registry the monitored version comes from \(s3:\/\/[^)]+\/registry\)/],
    ['the retraining pipeline has no CronJob', (s) => ({
      retrain: new TrainingPipeline(s.platform, 'fraud-hpo', {
        model: s.registry.model('fraud'),
        data: TrainingData.fromPlatformBucket('d/f.parquet'),
        target: 'y',
        search: HyperparameterSearch.indexed({ mode: 'grid', space: { C: { values: [0.1, 1] } } }),
      }),
    }), 'retrain', /must be a training pipeline with a CronJob .* this one has none/],
    ['a retraining condition is unknown', (s) => ({ retrain: s.pipeline, retrainOn: ['data_quality' as Any] }), 'retrainOn', /must be a non-empty list of dataset_drift, prediction_drift, performance_decay/],
    ['retraining conditions are given without a pipeline', () => ({ retrainOn: ['dataset_drift'] }), 'retrainOn', /needs 'retrain'/],
    ['a cooldown is given without a pipeline', () => ({ retrainCooldown: '12h' }), 'retrainCooldown', /needs 'retrain'/],
    ['the cooldown is not a duration', (s) => ({ retrain: s.pipeline, retrainCooldown: '1 day' }), 'retrainCooldown', /"1 day" must be a duration/],
    ['the webhook Secret name is invalid', () => ({ webhook: { secretName: 'Slack Hook' } }), 'webhook.secretName', /must be a Secret name/],
    ['the webhook port is not a port', () => ({ webhook: { secretName: 'slack', port: 70_000 } }), 'webhook.port', /70000 must be a TCP port/],
    ['webhook conditions are given without a webhook', () => ({ webhookOn: ['dataset_drift'] }), 'webhookOn', /needs 'webhook'/],
    ['a webhook condition is unknown', () => ({ webhook: { secretName: 'slack' }, webhookOn: ['feature_drift' as Any] }), 'webhookOn', /must be a list of dataset_drift, prediction_drift, performance_decay, data_quality/],
    ['the run deadline is under a minute', () => ({ activeDeadlineSeconds: 10 }), 'activeDeadlineSeconds', /10 must be a whole number of seconds >= 60/],
    ['a run deadline is given to a continuous monitor', () => ({ schedule: MonitorSchedule.continuous(), activeDeadlineSeconds: 600 }), 'activeDeadlineSeconds', /scheduled monitor .* only/],
    ['snsTopic is not a boolean', () => ({ snsTopic: 'yes' as Any }), 'snsTopic', /must be true or false/],
    ["Alertmanager's ServiceAccount is given without a topic", () => ({ alertmanagerServiceAccount: { namespace: 'obs', name: 'am' } }), 'alertmanagerServiceAccount', /only used with 'snsTopic: true'/],
    ['an alert name is unknown', () => ({ alerts: { featureDrfit: { severity: 'warning' } } as Any }), 'alerts.featureDrfit', /is not an alert: expected featureDrift, datasetDrift/],
    ['a severity is not in the fixed set', () => ({ alerts: { datasetDrift: { severity: 'page' as Any } } }), 'alerts.datasetDrift.severity', /"page" must be one of critical, warning, info/],
    ['a `for` is not a Prometheus duration', () => ({ alerts: { predictionDrift: { for: '15 minutes' } } }), 'alerts.predictionDrift.for', /"15 minutes" must be a Prometheus duration/],
    ['an alert is neither a spec nor false', () => ({ alerts: { dataQuality: true as Any } }), 'alerts.dataQuality', /\{ severity, for \} or false/],
    ['maxAge is not longer than the time between runs', () => ({ alerts: { monitorNotRunning: { maxAge: '1h' } } }), 'alerts.monitorNotRunning.maxAge',
      /"1h" must be longer than the longest time between two runs of the schedule \(60 minutes\)/],
    ['maxAge is not a duration', () => ({ alerts: { monitorNotRunning: { maxAge: 'two hours' } } }), 'alerts.monitorNotRunning.maxAge', /must be a Prometheus duration/],
    ['an alert label overrides severity', () => ({ alerts: { labels: { severity: 'none' } } }), 'alerts.labels.severity', /must be a Prometheus label name other than severity/],
    ['an alert label is not a label name', () => ({ alerts: { labels: { 'team-name': 'risk' } } }), 'alerts.labels.team-name', /must be a Prometheus label name/],
    ['the runbook URL is not a URL', () => ({ alerts: { runbookUrl: 'wiki/drift' } }), 'alerts.runbookUrl', /must be an http\(s\) URL/],
  ];

  test.each(cases)('%s', (_what, props, prop, fragment) => {
    const s = setup();
    expectProblem(() => new DriftMonitor(s.platform, 'fraud-drift', { endpoint: s.endpoint, ...props(s) }), prop, fragment);
  });

  test('the endpoint does not log its predictions', () => {
    const { platform } = newPlatform();
    const registry = new ModelRegistry(platform, 'registry');
    const endpoint = new ModelEndpoint(platform, 'fraud', { model: registry.model('fraud').version(7), gateway: GATEWAY, predictionLog: { enabled: false } });
    expectProblem(() => new DriftMonitor(platform, 'fraud-drift', { endpoint }), 'endpoint', /"fraud" must log its predictions/);
  });

  test('a second monitor watches the same model', () => {
    const s = setup();
    new DriftMonitor(s.platform, 'fraud-drift', { endpoint: s.endpoint });
    expectProblem(() => new DriftMonitor(s.platform, 'fraud-drift-2', { endpoint: s.endpoint }), 'endpoint', /which DriftMonitor 'dev\/fraud-drift' already watches: one monitor per model/);
  });

  test("two monitors give Alertmanager's ServiceAccount differently", () => {
    const s = setup();
    const churn = new ModelEndpoint(s.platform, 'churn', { model: s.registry.model('churn').version(1), gateway: GATEWAY });
    new DriftMonitor(s.platform, 'fraud-drift', { endpoint: s.endpoint, snsTopic: true });
    expectProblem(() => new DriftMonitor(s.platform, 'churn-drift', { endpoint: churn, snsTopic: true, alertmanagerServiceAccount: { namespace: 'obs', name: 'am' } }),
      'alertmanagerServiceAccount', /must be the one another DriftMonitor of this platform gave \(monitoring\/kube-prometheus-stack-alertmanager\)/);
  });

  test('every problem is reported at once, naming the construct path (the README example)', () => {
    const s = setup();
    const churn = new TrainingPipeline(s.platform, 'churn-train', { model: s.registry.model('churn'), data: TrainingData.fromPlatformBucket('d/c.parquet'), target: 'y' });
    let message = '';
    try {
      new DriftMonitor(s.platform, 'fraud-drift', {
        endpoint: s.endpoint,
        schedule: MonitorSchedule.cron('*/15 * * *'),
        alerts: { datasetDrift: { severity: 'page' as Any } },
        retrain: churn,
      });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toBe([
      "cdk-mlops: invalid props at 'dev/fraud-drift':",
      '  - \'schedule\' ("*/15 * * *") must be a Kubernetes CronJob schedule: has 4 field(s); expected 5 (minute hour day-of-month month day-of-week)',
      "  - 'retrain' (\"churn\") must train the monitored model 'fraud', not 'churn'",
      '  - \'alerts.datasetDrift.severity\' ("page") must be one of critical, warning, info',
    ].join('\n'));
    // the runtime configuration is checked once the props are: its problems come on the next try
    expect(problemsOf(() => new DriftMonitor(s.platform, 'fraud-drift-2', { endpoint: s.endpoint, window: 'soon' }))[0].prop).toBe('window');
  });

  test('the monitor still builds with a PrometheusRef given explicitly', () => {
    const s = setup();
    const m = new DriftMonitor(s.platform, 'fraud-drift', { endpoint: s.endpoint, prometheus: PrometheusRef.kubePrometheusStack({ namespace: 'obs' }) });
    expect(m.config.model).toBe('fraud');
  });
});

describe('Kubernetes cron schedules', () => {
  test.each([
    ['*/15 * * * *', 15],
    ['0 * * * *', 60],
    ['0,30 * * * *', 30],
    ['5-55/10 * * * *', 10],
    ['@daily', 1440],
    ['@HOURLY', 60],
    ['0 3 * * 0', 10_080],
    ['0 3 * * SUN', 10_080],
    ['0 9-17 * * mon-fri', (2 * 24 + 16) * 60],
    ['0 0 1 * *', 31 * 1440],
    ['0 0 1 jan *', 366 * 1440],
    ['0 0 29 2 *', (4 * 365 + 1) * 1440],
    ['30 2 ? * 1/2', 3 * 1440],
  ])('%s: the longest time between runs is %d minutes', (expression, minutes) => {
    expect(longestGapMinutes(parseCron(expression))).toBe(minutes);
  });

  test('both day fields restricted: either matches (classic cron)', () => {
    const s = parseCron('0 0 1 * 1');
    expect(s.anyDayOfMonth || s.anyDayOfWeek).toBe(false);
    // Mondays and the 1st: never more than 7 days apart
    expect(longestGapMinutes(s)).toBe(7 * 1440);
  });

  test('a schedule that never runs has no gap', () => {
    expect(longestGapMinutes(parseCron('0 0 31 4 *'))).toBeUndefined();
  });
});
