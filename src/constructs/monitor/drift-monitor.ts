import { Construct } from 'constructs';
import type { z } from 'zod';
import {
  DRIFT_METHODS, MonitorConfig, MonitorConfigInput, MonitorConfigSchema, MonitorDriftSchema, MonitorPerformanceSchema,
  MonitorQualitySchema, MonitorStateSchema, P_VALUE_METHODS,
} from '../../runtime/config/monitor';
import {
  AlertSeverity, AlertSpec, driftAlertRules, DriftAlertRuleOptions, durationSeconds, MonitorNotRunningAlertSpec, PrometheusRuleGroup,
} from '../../runtime/monitor/alert-rules';
import { SnsTopic, SnsTopicPolicy } from '../cloud/cdktf';
import { WorkloadRole } from '../cloud/workload-identity';
import type { PrometheusRuleSpec, ServiceMonitorSpec } from '../cluster/crd-types';
import { ApiObject, k8s } from '../cluster/k8s';
import { awsEgressRules, ComputeResources, runtimeConfigMap, runtimeContainer, runtimePodSpec } from '../cluster/runtime-workload';
import { DNS_1123_LABEL, PropValidator } from '../errors';
import { MlPlatform, PlatformPart, Workload } from '../platform';
import type { IMonitorableEndpoint, IModelVersion, IPredictionLog, IPrometheus, IRetrainable } from '../refs';
import { RetrainAdmission } from './admission';
import { MonitorSchedule, MonitorWebhookOptions, PushgatewayRef } from './options';

/** Port of the continuous monitor's `/metrics`, `/report` and health checks. */
export const MONITOR_PORT = 9108;
/** Where the monitor writes its reports inside the pod (the pod's `/tmp` emptyDir). */
export const MONITOR_REPORT_DIR = '/tmp/monitor-reports';
/** The environment variable that carries the webhook URL from its Secret into the configuration. */
export const MONITOR_WEBHOOK_ENV = 'CDK_MLOPS_MONITOR_ALERTS__WEBHOOK';
/** Severities an alert may have. */
export const ALERT_SEVERITIES: readonly AlertSeverity[] = ['critical', 'warning', 'info'];

/** Drift settings (the runtime's `drift`): per-method thresholds, per-feature overrides, the dataset-drift share. */
export type MonitorDriftOptions = z.input<typeof MonitorDriftSchema>;
/** Data-quality limits (the runtime's `quality`); the data-quality alert uses the same limits. */
export type MonitorQualityOptions = z.input<typeof MonitorQualitySchema>;
/** Streaming state settings (the runtime's `state`: exact, sketch or auto). */
export type MonitorStateOptions = z.input<typeof MonitorStateSchema>;
/** Performance settings (the runtime's `performance`, without `labels`: see `DriftMonitorProps.labels`). */
export type MonitorPerformanceOptions = Omit<z.input<typeof MonitorPerformanceSchema>, 'labels'>;
/** Conditions that start a retraining. */
export type RetrainCondition = 'dataset_drift' | 'prediction_drift' | 'performance_decay';
/** Conditions that send a webhook alert. */
export type WebhookCondition = 'dataset_drift' | 'prediction_drift' | 'performance_decay' | 'data_quality';

/**
 * The PrometheusRule's alerts: each a severity and a `for` duration, or `false` to leave it out.
 * Thresholds are not set here: the data-quality and performance alerts use the monitor's own
 * `quality` and `performance` limits, so an alert fires exactly when the monitor's verdict does.
 */
export interface DriftMonitorAlerts {
  /** `MlFeatureDrift`: a feature drifted. @default { severity: 'warning', for: '30m' } */
  readonly featureDrift?: AlertSpec | false;
  /** `MlDatasetDrift`: the drifted share reached `drift.datasetDriftShare`. @default { severity: 'critical', for: '15m' } */
  readonly datasetDrift?: AlertSpec | false;
  /** `MlPredictionDrift`: the predictions drifted. @default { severity: 'warning', for: '30m' } */
  readonly predictionDrift?: AlertSpec | false;
  /** `MlPerformanceDecay`: a metric degraded by more than `performance.maxDegradation`. @default { severity: 'critical', for: '30m' } */
  readonly performanceDecay?: AlertSpec | false;
  /** `MlDataQuality`: a missing, type-error, out-of-range or unknown-category rate above its `quality` limit. @default { severity: 'warning', for: '15m' } */
  readonly dataQuality?: AlertSpec | false;
  /**
   * `MlMonitorNotRunning`: no successful run for `maxAge`, or no metric at all.
   * @default { severity: 'warning', for: '10m', maxAge: three times the longest time between runs, at least 2h }
   */
  readonly monitorNotRunning?: MonitorNotRunningAlertSpec | false;
  /** Labels added to every alert (`team: 'risk'`); `severity`, `namespace` and `monitor` are set by the monitor. @default {} */
  readonly labels?: Record<string, string>;
  /** The `runbook_url` annotation of every alert. @default - none */
  readonly runbookUrl?: string;
}

/** The ServiceAccount Alertmanager runs as (it publishes to the SNS topic). */
export interface AlertmanagerServiceAccount {
  readonly namespace: string;
  readonly name: string;
}

export interface DriftMonitorProps {
  /** The endpoint watched: its model version, prediction logs and Prometheus are found from it. */
  readonly endpoint: IMonitorableEndpoint;
  /**
   * Name of the monitor's Kubernetes objects: a DNS-1123 label starting with a letter, at most 40 characters.
   * @default - the construct id
   */
  readonly monitorName?: string;
  /**
   * The endpoint variant whose prediction logs (and model version) are monitored.
   * @default - the endpoint's primary (first) variant
   */
  readonly variant?: string;
  /** @default MonitorSchedule.cron('0 * * * *') - hourly */
  readonly schedule?: MonitorSchedule;
  /**
   * Window of prediction logs each run reads, ending at the run (`6h`, `24h`, `7d`).
   * @default '24h'
   */
  readonly window?: string;
  /** @default - Evidently's defaults: automatic method per feature, p < 0.05 for tests, 0.1 for distances, dataset drift at 0.5 */
  readonly drift?: MonitorDriftOptions;
  /** @default - missing 0.1, type errors 0.01, out of range 0.05, unknown categories 0.05 */
  readonly quality?: MonitorQualityOptions;
  /** @default - at least 50 labeled rows, decay above 10 % relative degradation, every metric of the reference */
  readonly performance?: MonitorPerformanceOptions;
  /** @default - `auto`: exact up to 100,000 values per column, then a KLL sketch (k = 1000) */
  readonly state?: MonitorStateOptions;
  /**
   * Where ground-truth labels arrive (`<uri>/<model>/labels/*.jsonl`, joined by request id).
   * @default - the endpoint's prediction-log prefix
   */
  readonly labels?: IPredictionLog;
  /**
   * The training pipeline to start when drift or decay is found: a Job is created from its
   * CronJob through the Kubernetes API, at most once per episode and cooldown.
   * @default - no retraining
   */
  readonly retrain?: IRetrainable;
  /** @default ['dataset_drift', 'performance_decay'] */
  readonly retrainOn?: RetrainCondition[];
  /**
   * No second retraining within this time after one started.
   * @default '24h'
   */
  readonly retrainCooldown?: string;
  /** @default - no webhook: alerts only through Prometheus */
  readonly webhook?: MonitorWebhookOptions;
  /** @default ['dataset_drift', 'prediction_drift', 'performance_decay', 'data_quality'] */
  readonly webhookOn?: WebhookCondition[];
  /** @default - every alert with the severities and durations listed on DriftMonitorAlerts */
  readonly alerts?: DriftMonitorAlerts;
  /** @default - the endpoint's Prometheus */
  readonly prometheus?: IPrometheus;
  /**
   * The Pushgateway a scheduled monitor pushes its metrics to (not used by a continuous monitor).
   * @default PushgatewayRef.prometheusCommunity()
   */
  readonly pushgateway?: PushgatewayRef;
  /**
   * Create an SNS topic for this monitor's alerts, encrypted with the platform key, with an
   * AlertmanagerConfig routing the monitor's alerts to it and an IAM role (Pod Identity) that
   * lets Alertmanager publish to it.
   * @default false
   */
  readonly snsTopic?: boolean;
  /**
   * Alertmanager's ServiceAccount (only with `snsTopic`).
   * @default - `kube-prometheus-stack-alertmanager` in the Prometheus namespace
   */
  readonly alertmanagerServiceAccount?: AlertmanagerServiceAccount;
  /** @default - 250m/1 CPU, 512Mi/1Gi memory */
  readonly resources?: ComputeResources;
  /**
   * Longest a scheduled run may take before Kubernetes stops it.
   * @default 3600
   * @see https://kubernetes.io/docs/concepts/workloads/controllers/job/#job-termination-and-cleanup
   */
  readonly activeDeadlineSeconds?: number;
}

const ALERT_KEYS = ['featureDrift', 'datasetDrift', 'predictionDrift', 'performanceDecay', 'dataQuality', 'monitorNotRunning'] as const;
const RETRAIN_CONDITIONS: readonly RetrainCondition[] = ['dataset_drift', 'prediction_drift', 'performance_decay'];
const WEBHOOK_CONDITIONS: readonly WebhookCondition[] = ['dataset_drift', 'prediction_drift', 'performance_decay', 'data_quality'];
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const RESERVED_ALERT_LABELS = ['severity', 'namespace', 'monitor', 'model'];

/**
 * A drift monitor for a model endpoint: `cdk-mlops monitor` comparing the endpoint's prediction
 * logs with the reference statistics of the version it serves, with alerts on symptoms and an
 * optional retraining trigger.
 *
 * Cluster plane (chart `monitoring`, the platform's monitoring namespace): a CronJob (scheduled,
 * metrics pushed to a Pushgateway) or a Deployment with a Service and ServiceMonitor
 * (continuous); the configuration built here and validated with the runtime's own schema, in a
 * ConfigMap; a PrometheusRule with the alerts of `driftAlertRules` (feature, dataset and
 * prediction drift, performance decay, data quality, monitor not running); a NetworkPolicy
 * (no ingress but Prometheus' scrapes, egress to AWS APIs over HTTPS, the Pushgateway and the
 * webhook). With `retrain`: a Role in the training namespace that may `get` that one CronJob
 * and `create` Jobs, and a ValidatingAdmissionPolicy that admits only Jobs that ARE that
 * CronJob's template (see `RetrainAdmission`), since RBAC cannot restrict `create` by name.
 *
 * Cloud plane: an IAM role (Pod Identity) that reads the model's registry prefix and the
 * endpoint's prediction logs of that model only, and reads and writes one state object (the
 * alert episodes and retraining cooldown that must outlive a CronJob pod); optionally an SNS
 * topic for alerts.
 *
 * ```ts
 * new DriftMonitor(platform, 'fraud-drift', {
 *   endpoint,
 *   schedule: MonitorSchedule.cron('*\/15 * * * *'),
 *   retrain: pipeline,
 *   alerts: { datasetDrift: { severity: 'critical', for: '30m' } },
 * });
 * ```
 */
export class DriftMonitor extends Construct {
  /** Name of the monitor's objects. */
  public readonly monitorName: string;
  /** The monitoring namespace. */
  public readonly namespace: string;
  /** The endpoint watched. */
  public readonly endpoint: IMonitorableEndpoint;
  /** The variant whose logs are read. */
  public readonly variant: string;
  /** The model version monitored (that of the variant). */
  public readonly model: IModelVersion;
  /** The registry model's name. */
  public readonly modelName: string;
  public readonly schedule: MonitorSchedule;
  /** The validated runtime configuration, every default filled in. */
  public readonly config: MonitorConfig;
  /** The ServiceAccount and IAM role of the monitor. */
  public readonly workload: Workload;
  /** `CronJob` or `Deployment`. */
  public readonly workloadKind: 'CronJob' | 'Deployment';
  /** Where the monitor keeps its alert episodes and retraining cooldown (`s3://.../state.json`). */
  public readonly stateUri: string;
  /** Where every run's JSON and HTML report (and `latest.*`) are kept (`s3://.../reports`). */
  public readonly reportUri: string;
  /** The rule groups of the PrometheusRule. */
  public readonly alertRuleGroups: readonly PrometheusRuleGroup[];
  /** Escape hatch: the PrometheusRule. */
  public readonly prometheusRule: ApiObject;
  /** Escape hatch: the CronJob or Deployment. */
  public readonly workloadObject: k8s.KubeCronJob | k8s.KubeDeployment;
  /** The Pushgateway metrics go to (scheduled monitors). */
  public readonly pushgateway?: PushgatewayRef;
  /** The retraining pipeline, if any. */
  public readonly retrain?: IRetrainable;
  /** Escape hatch: the admission policy guarding retraining Jobs. */
  public readonly retrainAdmission?: RetrainAdmission;
  /** ARN of the alert topic, when `snsTopic` is on. */
  public readonly snsTopicArn?: string;

  constructor(scope: Construct, id: string, props: DriftMonitorProps) {
    super(scope, id);
    const platform = MlPlatform.of(this);
    const v = new PropValidator(this);

    // ---- props ----
    const monitorName = props.monitorName ?? id;
    v.check(typeof monitorName === 'string' && /^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(monitorName) && monitorName.length <= 40, 'monitorName', monitorName,
      "must be a DNS-1123 label starting with a letter, at most 40 characters (it names the monitor's Kubernetes objects)");
    const endpoint = props.endpoint;
    const endpointOk = v.check(isEndpoint(endpoint), 'endpoint', endpoint === undefined ? undefined : '(object)',
      'must be a ModelEndpoint (or an IMonitorableEndpoint: endpointName, namespace, variants, predictionLog, prometheus)');
    let variantName = props.variant;
    let model: IModelVersion | undefined;
    let predictionLog: IPredictionLog | undefined;
    if (endpointOk) {
      const names = endpoint.variants.map((x) => x.name);
      variantName = variantName ?? names[0];
      const variant = endpoint.variants.find((x) => x.name === variantName);
      if (v.check(variant !== undefined, 'variant', variantName, `must be a variant of endpoint '${endpoint.endpointName}': ${names.join(', ')}`)) model = variant!.model;
      predictionLog = endpoint.predictionLog;
      v.check(predictionLog !== undefined, 'endpoint', endpoint.endpointName,
        'must log its predictions (predictionLog enabled): the monitor reads them');
    }
    const schedule = props.schedule ?? MonitorSchedule.cron('0 * * * *');
    if (!(schedule instanceof MonitorSchedule)) v.fail('schedule', schedule, "must be MonitorSchedule.cron('<cron>') or MonitorSchedule.continuous({ interval })");
    else schedule._validate(v, 'schedule');
    const scheduled = schedule instanceof MonitorSchedule && schedule.kind === 'cron';
    const prometheus = props.prometheus ?? (endpointOk ? endpoint.prometheus : undefined);
    v.check(prometheus !== undefined && DNS_1123_LABEL.test(prometheus.namespace ?? '') && typeof prometheus.podLabels === 'object', 'prometheus', prometheus,
      'must describe the Prometheus (namespace, podLabels, serviceMonitorLabels), e.g. PrometheusRef.kubePrometheusStack()');
    let pushgateway: PushgatewayRef | undefined;
    if (scheduled) {
      pushgateway = props.pushgateway ?? PushgatewayRef.prometheusCommunity();
      if (!(pushgateway instanceof PushgatewayRef)) v.fail('pushgateway', pushgateway, 'must be made with PushgatewayRef.prometheusCommunity() or PushgatewayRef.fromAttributes()');
      else pushgateway._validate(v, 'pushgateway');
    } else if (props.pushgateway !== undefined) {
      v.fail('pushgateway', props.pushgateway.url, 'is only used by a scheduled monitor (MonitorSchedule.cron): a continuous monitor is scraped through its ServiceMonitor');
    }
    this.validateThresholds(v, props.drift);
    const retrain = props.retrain;
    const retrainOn = props.retrainOn ?? ['dataset_drift', 'performance_decay'];
    if (retrain) {
      const trained = retrain.model?.modelName;
      if (v.check(typeof retrain.cronJobName === 'string' && retrain.cronJobName.length > 0, 'retrain', trained,
        'must be a training pipeline with a CronJob (the monitor creates retraining Jobs from it); this one has none')) {
        v.check(DNS_1123_LABEL.test(retrain.cronJobName!) && retrain.cronJobName!.length <= 52, 'retrain.cronJobName', retrain.cronJobName, 'must be a CronJob name of at most 52 characters');
      }
      v.check(DNS_1123_LABEL.test(retrain.namespace ?? ''), 'retrain.namespace', retrain.namespace, 'must be a namespace name');
      if (model) {
        v.check(trained === model.model.modelName, 'retrain', trained,
          `must train the monitored model '${model.model.modelName}', not '${trained}'`);
        const registry = model.model.registry.registryUri;
        v.check(retrain.model?.registry?.registryUri === registry, 'retrain', retrain.model?.registry?.registryUri,
          `must register into the registry the monitored version comes from (${registry})`);
      }
      v.check(Array.isArray(retrainOn) && retrainOn.length > 0 && retrainOn.every((c) => RETRAIN_CONDITIONS.includes(c)), 'retrainOn', retrainOn,
        `must be a non-empty list of ${RETRAIN_CONDITIONS.join(', ')}`);
    } else {
      if (props.retrainOn !== undefined) v.fail('retrainOn', props.retrainOn, "needs 'retrain' (the training pipeline to start)");
      if (props.retrainCooldown !== undefined) v.fail('retrainCooldown', props.retrainCooldown, "needs 'retrain' (the training pipeline to start)");
    }
    const webhook = props.webhook;
    if (webhook) {
      v.check(DNS_1123_LABEL.test(webhook.secretName ?? '') && webhook.secretName.length <= 253, 'webhook.secretName', webhook.secretName, 'must be a Secret name (DNS-1123)');
      v.check(/^[-._a-zA-Z0-9]+$/.test(webhook.key ?? 'url'), 'webhook.key', webhook.key, 'must be a Secret key (letters, digits, -, _ or .)');
      const port = webhook.port ?? 443;
      v.check(Number.isInteger(port) && port >= 1 && port <= 65_535, 'webhook.port', port, 'must be a TCP port (1-65535)');
    } else if (props.webhookOn !== undefined) {
      v.fail('webhookOn', props.webhookOn, "needs 'webhook' (the Secret holding the webhook URL)");
    }
    const webhookOn = props.webhookOn ?? [...WEBHOOK_CONDITIONS];
    v.check(Array.isArray(webhookOn) && webhookOn.every((c) => WEBHOOK_CONDITIONS.includes(c)), 'webhookOn', webhookOn, `must be a list of ${WEBHOOK_CONDITIONS.join(', ')}`);
    const deadline = props.activeDeadlineSeconds ?? 3600;
    v.check(Number.isInteger(deadline) && deadline >= 60, 'activeDeadlineSeconds', deadline, 'must be a whole number of seconds >= 60');
    if (!scheduled && props.activeDeadlineSeconds !== undefined) v.fail('activeDeadlineSeconds', deadline, 'applies to a scheduled monitor (MonitorSchedule.cron) only');
    const snsTopic = props.snsTopic ?? false;
    v.check(typeof snsTopic === 'boolean', 'snsTopic', snsTopic, 'must be true or false');
    if (props.alertmanagerServiceAccount) {
      const sa = props.alertmanagerServiceAccount;
      if (!snsTopic) v.fail('alertmanagerServiceAccount', sa, "is only used with 'snsTopic: true'");
      v.check(DNS_1123_LABEL.test(sa.namespace ?? '') && DNS_1123_LABEL.test(sa.name ?? ''), 'alertmanagerServiceAccount', sa, 'must name a namespace and a ServiceAccount (DNS-1123)');
    }
    const maxAge = this.validateAlerts(v, props.alerts, schedule instanceof MonitorSchedule ? schedule.longestGapMinutes : undefined);
    if (model) {
      const other = platform.node.findAll().find((c) => c instanceof DriftMonitor && c !== this && c.modelName === model!.model.modelName) as DriftMonitor | undefined;
      if (other) {
        v.fail('endpoint', endpoint.endpointName, `serves model '${model.model.modelName}', which DriftMonitor '${other.node.path}' already watches: `
          + 'one monitor per model and platform (their metrics and Pushgateway group are keyed by model)');
      }
    }
    v.throwIfAny();

    this.monitorName = monitorName;
    this.namespace = platform.namespace(PlatformPart.MONITORING);
    this.endpoint = endpoint;
    this.variant = variantName!;
    this.model = model!;
    this.modelName = model!.model.modelName;
    this.schedule = schedule;
    this.workloadKind = scheduled ? 'CronJob' : 'Deployment';
    this.pushgateway = pushgateway;
    this.retrain = retrain;
    const bucket = platform.artifactBucket;
    const statePrefix = `monitoring/${monitorName}`;
    this.stateUri = `s3://${bucket.bucketName}/${statePrefix}/state.json`;
    this.reportUri = `s3://${bucket.bucketName}/${statePrefix}/reports`;

    // ---- runtime configuration, validated with the runtime's schema ----
    const log = predictionLog!;
    const input: MonitorConfigInput = {
      model: this.modelName,
      version: this.model.ref,
      registry: this.model.model.registry.registryUri,
      logs: log.uri,
      variant: this.variant,
      window: props.window,
      once: scheduled,
      interval: scheduled ? undefined : schedule.interval,
      drift: props.drift,
      quality: props.quality,
      state: props.state,
      performance: { ...props.performance, labels: props.labels?.uri },
      output: { reportDir: MONITOR_REPORT_DIR, reportUri: this.reportUri, pushgateway: pushgateway?.url },
      alerts: { on: webhookOn },
      retrain: retrain ? { on: retrainOn, cooldown: props.retrainCooldown, kubernetes: { cronJob: retrain.cronJobName!, namespace: retrain.namespace } } : undefined,
      stateUri: this.stateUri,
      server: scheduled ? undefined : { host: '0.0.0.0', port: MONITOR_PORT },
    };
    const parsed = MonitorConfigSchema.safeParse(input);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        let received: unknown = input;
        for (const k of issue.path) received = received !== null && typeof received === 'object' ? (received as Record<PropertyKey, unknown>)[k as PropertyKey] : undefined;
        v.fail(propOfConfigPath(issue.path.map(String)), received, `${issue.message} (monitor configuration '${issue.path.join('.')}')`);
      }
      v.throwIfAny();
    }
    this.config = parsed.data!;

    // ---- alerts (validated with the other props) ----
    this.alertRuleGroups = driftAlertRules(this.alertRuleOptions(props.alerts, maxAge));

    // ---- identity and grants ----
    const chart = platform.chart('monitoring');
    const scopeK8s = platform.clusterScope(this, 'monitoring');
    this.workload = platform.addWorkload(this, monitorName, {
      part: PlatformPart.MONITORING,
      chart,
      automountToken: retrain !== undefined,
      apiAccessReason: retrain ? `creates retraining Jobs from CronJob ${retrain.namespace}/${retrain.cronJobName} (admission policy ${this.admissionName(platform)})` : undefined,
    });
    this.model.model.registry.grantRead(this.workload, this.modelName);
    this.grantReadPrefix('PredictionLogs', log);
    if (props.labels && props.labels.uri !== log.uri) this.grantReadPrefix('Labels', props.labels);
    this.workload.role.addToPolicy({ Sid: 'MonitorState', Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: `${bucket.bucketArn}/${statePrefix}/state.json` });
    // The state store lists its key before reading it (a missing object is then a 404-free "no state yet").
    this.workload.role.addToPolicy({ Sid: 'ListMonitorState', Effect: 'Allow', Action: 's3:ListBucket', Resource: bucket.bucketArn, Condition: { StringLike: { 's3:prefix': [`${statePrefix}/state.json`] } } });
    this.workload.role.addToPolicy({ Sid: 'MonitorReports', Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: `${bucket.bucketArn}/${statePrefix}/reports/*` });
    this.workload.role.addToPolicy({
      Sid: 'MonitorStateKey',
      Effect: 'Allow',
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      Resource: platform.key.arn,
      Condition: { StringEquals: { 'kms:ViaService': `s3.${platform.region}.amazonaws.com`, 'kms:EncryptionContext:aws:s3:arn': bucket.bucketArn } },
    });

    // ---- workload ----
    const labels = { ...this.workload.selector, 'cdk-mlops.io/monitor': monitorName };
    const { checksum } = runtimeConfigMap(scopeK8s, 'config', {
      name: `${monitorName}-config`,
      namespace: this.namespace,
      labels,
      config: this.config,
    });
    const container = runtimeContainer(platform, 'monitor', {
      args: ['monitor', '--config', '/etc/cdk-mlops/config.json'],
      configMapName: `${monitorName}-config`,
      resources: props.resources,
      env: { AWS_REGION: platform.region },
      secretEnv: webhook ? { [MONITOR_WEBHOOK_ENV]: { secret: webhook.secretName, key: webhook.key ?? 'url' } } : undefined,
      ports: scheduled ? undefined : [{ name: 'http', port: MONITOR_PORT }],
      readinessPath: scheduled ? undefined : '/readyz',
      livenessPath: scheduled ? undefined : '/healthz',
    });
    const template = (restartPolicy: string): k8s.PodTemplateSpec => ({
      metadata: { labels, annotations: { 'cdk-mlops.io/config-checksum': checksum, 'cdk-mlops.io/model': this.model.label } },
      spec: runtimePodSpec({ workload: this.workload, containers: [container], configMapName: `${monitorName}-config`, restartPolicy }),
    });
    if (scheduled) {
      this.workloadObject = new k8s.KubeCronJob(scopeK8s, 'cronjob', {
        metadata: { name: monitorName, namespace: this.namespace, labels },
        spec: {
          schedule: schedule.expression!,
          timeZone: 'Etc/UTC',
          concurrencyPolicy: 'Forbid',
          startingDeadlineSeconds: 300,
          successfulJobsHistoryLimit: 3,
          failedJobsHistoryLimit: 3,
          jobTemplate: {
            metadata: { labels },
            spec: { backoffLimit: 1, activeDeadlineSeconds: deadline, ttlSecondsAfterFinished: 86_400, template: template('Never') },
          },
        },
      });
    } else {
      this.workloadObject = new k8s.KubeDeployment(scopeK8s, 'deployment', {
        metadata: { name: monitorName, namespace: this.namespace, labels },
        spec: {
          replicas: 1,
          // one monitor at a time: two would race for the same episodes (the state store's ETag keeps it safe, this keeps it quiet)
          strategy: { type: 'Recreate' },
          selector: { matchLabels: labels },
          revisionHistoryLimit: 3,
          template: template('Always'),
        },
      });
      const scrapeLabels = { ...labels, 'cdk-mlops.io/scrape': 'monitor' };
      new k8s.KubeService(scopeK8s, 'metrics-service', {
        metadata: { name: `${monitorName}-metrics`, namespace: this.namespace, labels: scrapeLabels },
        spec: {
          clusterIp: 'None',
          selector: labels,
          ports: [{ name: 'http', port: MONITOR_PORT, targetPort: k8s.IntOrString.fromString('http'), protocol: 'TCP' }],
        },
      });
      new ApiObject(scopeK8s, 'service-monitor', {
        apiVersion: 'monitoring.coreos.com/v1',
        kind: 'ServiceMonitor',
        metadata: { name: monitorName, namespace: this.namespace, labels: { ...labels, ...prometheus!.serviceMonitorLabels } },
        spec: {
          selector: { matchLabels: scrapeLabels },
          namespaceSelector: { matchNames: [this.namespace] },
          endpoints: [{ port: 'http', path: '/metrics', scheme: 'http', interval: '30s', scrapeTimeout: '10s' }],
        } satisfies ServiceMonitorSpec,
      });
    }

    // ---- alerts ----
    this.prometheusRule = new ApiObject(scopeK8s, 'prometheus-rule', {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
      metadata: { name: monitorName, namespace: this.namespace, labels: { ...labels, ...prometheus!.serviceMonitorLabels } },
      spec: { groups: this.alertRuleGroups.map((g) => ({ name: g.name, rules: g.rules.map((r) => ({ ...r })) })) } satisfies PrometheusRuleSpec,
    });

    // ---- retraining: RBAC and admission ----
    if (retrain) {
      const cronJob = retrain.cronJobName!;
      const name = `${monitorName}-retrain`;
      new k8s.KubeRole(scopeK8s, 'retrain-role', {
        metadata: { name, namespace: retrain.namespace, labels },
        rules: [
          { apiGroups: ['batch'], resources: ['cronjobs'], resourceNames: [cronJob], verbs: ['get'] },
          // RBAC cannot restrict create by name: the admission policy below admits only Jobs made from that CronJob
          { apiGroups: ['batch'], resources: ['jobs'], verbs: ['create'] },
        ],
      });
      new k8s.KubeRoleBinding(scopeK8s, 'retrain-role-binding', {
        metadata: { name, namespace: retrain.namespace, labels },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
        subjects: [{ kind: 'ServiceAccount', name: this.workload.serviceAccountName, namespace: this.namespace }],
      });
      this.retrainAdmission = new RetrainAdmission(scopeK8s, 'retrain-admission', {
        name: this.admissionName(platform),
        labels,
        monitor: { namespace: this.namespace, serviceAccountName: this.workload.serviceAccountName },
        cronJob: { namespace: retrain.namespace, name: cronJob },
      });
    }

    // ---- network ----
    const egress: k8s.NetworkPolicyEgressRule[] = [...awsEgressRules()];
    if (pushgateway) {
      egress.push({
        to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': pushgateway.namespace } }, podSelector: { matchLabels: { ...pushgateway.podLabels } } }],
        ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(pushgateway.port) }],
      });
    }
    if (webhook && (webhook.port ?? 443) !== 443) {
      egress.push({
        to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['169.254.169.254/32'] } }],
        ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(webhook.port!) }],
      });
    }
    new k8s.KubeNetworkPolicy(scopeK8s, 'network-policy', {
      metadata: { name: monitorName, namespace: this.namespace, labels },
      spec: {
        podSelector: { matchLabels: labels },
        policyTypes: ['Ingress', 'Egress'],
        // DNS comes from the namespace's allow-dns-egress policy; the Kubernetes API (retraining),
        // AWS APIs and an HTTPS webhook through the HTTPS rule; Prometheus scrapes a continuous monitor only
        ingress: scheduled ? [] : [{
          from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': prometheus!.namespace } }, podSelector: { matchLabels: { ...prometheus!.podLabels } } }],
          ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(MONITOR_PORT) }],
        }],
        egress,
      },
    });

    // ---- optional SNS topic for Alertmanager ----
    if (snsTopic) {
      this.snsTopicArn = this.alertTopic(platform, prometheus!, props.alertmanagerServiceAccount, scopeK8s, labels);
    }

    platform.addInventory({
      kind: 'drift-monitor',
      name: monitorName,
      namespace: this.namespace,
      endpoint: endpoint.endpointName,
      variant: this.variant,
      model: this.model.label,
      schedule: scheduled ? { kind: 'cron', expression: schedule.expression } : { kind: 'continuous', interval: schedule.interval },
      window: this.config.window,
      logs: log.uri,
      state: this.stateUri,
      metrics: scheduled ? { pushgateway: pushgateway!.url } : { serviceMonitor: `${this.namespace}/${monitorName}` },
      alerts: [...new Set(this.alertRuleGroups.flatMap((g) => g.rules.map((r) => r.alert)))],
      retrain: retrain ? { cronJob: `${retrain.namespace}/${retrain.cronJobName}`, on: this.config.retrain!.on, cooldown: this.config.retrain!.cooldown } : undefined,
      snsTopic: this.snsTopicArn,
    });
  }

  // ---------------------------------------------------------------------------------------------

  private admissionName(platform: MlPlatform): string {
    return `${platform.namePrefix}-${this.monitorName}-retrain-jobs`;
  }

  private validateThresholds(v: PropValidator, drift: MonitorDriftOptions | undefined): void {
    const check = (prop: string, method: string | undefined, t: unknown) => {
      if (t === undefined) return;
      if (method !== undefined && (P_VALUE_METHODS as readonly string[]).includes(method)) {
        v.check(typeof t === 'number' && t > 0 && t < 1, prop, t, `must be a p-value threshold between 0 and 1 (exclusive) for method '${method}'`);
      } else if (method === 'jensenshannon') {
        v.check(typeof t === 'number' && t > 0 && t <= 1, prop, t, "must be in (0, 1] for method 'jensenshannon' (a distance between 0 and 1)");
      } else {
        v.check(typeof t === 'number' && Number.isFinite(t) && t > 0, prop, t, 'must be a number > 0');
      }
    };
    for (const m of DRIFT_METHODS) check(`drift.thresholds.${m}`, m, (drift?.thresholds as Record<string, unknown> | undefined)?.[m]);
    for (const [feature, o] of Object.entries(drift?.features ?? {})) {
      check(`drift.features.${feature}.threshold`, o?.method, o?.threshold);
    }
    check('drift.prediction.threshold', drift?.prediction?.method, drift?.prediction?.threshold);
  }

  /** Checks the alert props; returns the liveness alert's maxAge (given, or from the schedule). */
  private validateAlerts(v: PropValidator, alerts: DriftMonitorAlerts | undefined, gapMinutes: number | undefined): string {
    const a = alerts ?? {};
    for (const k of Object.keys(a)) {
      if (![...ALERT_KEYS, 'labels', 'runbookUrl'].includes(k)) v.fail(`alerts.${k}`, k, `is not an alert: expected ${ALERT_KEYS.join(', ')}, labels or runbookUrl`);
    }
    const isDuration = (d: unknown) => {
      if (typeof d !== 'string' || d === '') return false;
      try {
        durationSeconds(d);
        return true;
      } catch {
        return false;
      }
    };
    for (const k of ALERT_KEYS) {
      const s = a[k];
      if (s === undefined || s === false) continue;
      if (!v.check(typeof s === 'object' && s !== null, `alerts.${k}`, s, '{ severity, for } or false')) continue;
      if (s.severity !== undefined) v.check(ALERT_SEVERITIES.includes(s.severity), `alerts.${k}.severity`, s.severity, `must be one of ${ALERT_SEVERITIES.join(', ')}`);
      if (s.for !== undefined) v.check(isDuration(s.for), `alerts.${k}.for`, s.for, 'must be a Prometheus duration such as 30s, 15m, 2h or 1d');
    }
    // maxAge: longer than the longest time between two runs, or the alert fires between healthy runs
    const defaultMaxAgeMinutes = Math.max(120, Math.ceil(3 * (gapMinutes ?? 0)));
    const notRunning = a.monitorNotRunning;
    let maxAge = `${defaultMaxAgeMinutes % 60 === 0 ? `${defaultMaxAgeMinutes / 60}h` : `${defaultMaxAgeMinutes}m`}`;
    if (notRunning && notRunning.maxAge !== undefined) {
      if (v.check(isDuration(notRunning.maxAge), 'alerts.monitorNotRunning.maxAge', notRunning.maxAge, 'must be a Prometheus duration such as 2h') && gapMinutes !== undefined) {
        v.check(durationSeconds(notRunning.maxAge) > gapMinutes * 60, 'alerts.monitorNotRunning.maxAge', notRunning.maxAge,
          `must be longer than the longest time between two runs of the schedule (${gapMinutes} minutes), or the alert fires between healthy runs`);
      }
      maxAge = notRunning.maxAge;
    }
    const extra = a.labels ?? {};
    for (const [k, val] of Object.entries(extra)) {
      v.check(LABEL_NAME.test(k) && !RESERVED_ALERT_LABELS.includes(k), `alerts.labels.${k}`, k, `must be a Prometheus label name other than ${RESERVED_ALERT_LABELS.join(', ')}`);
      v.check(typeof val === 'string', `alerts.labels.${k}`, val, 'must be a string');
    }
    if (a.runbookUrl !== undefined) v.check(/^https?:\/\/\S+$/.test(a.runbookUrl), 'alerts.runbookUrl', a.runbookUrl, 'must be an http(s) URL');
    return maxAge;
  }

  /** The options of the runtime's rule generator: the alert props, with thresholds from the monitor's own limits. */
  private alertRuleOptions(alerts: DriftMonitorAlerts | undefined, maxAge: string): DriftAlertRuleOptions {
    const a = alerts ?? {};
    const extra = a.labels ?? {};
    const notRunning = a.monitorNotRunning;
    const q = this.config.quality;
    const pick = <T extends object>(s: T | false | undefined): T | false | undefined => (s === false ? false : s);
    return {
      model: this.modelName,
      groupName: `cdk-mlops-${this.monitorName}`,
      // `namespace` lets an AlertmanagerConfig in the monitoring namespace match the alerts (the operator enforces that matcher)
      labels: { ...extra, namespace: this.namespace, monitor: this.monitorName },
      runbookUrl: a.runbookUrl,
      featureDrift: pick(a.featureDrift),
      datasetDrift: pick(a.datasetDrift),
      predictionDrift: pick(a.predictionDrift),
      performanceDecay: a.performanceDecay === false ? false : { ...a.performanceDecay, maxDegradation: this.config.performance.maxDegradation },
      dataQuality: a.dataQuality === false ? false : {
        ...a.dataQuality,
        maxMissingRate: q.maxMissingRate,
        maxTypeErrorRate: q.maxTypeErrorRate,
        maxOutOfRangeRate: q.maxOutOfRangeRate,
        maxUnknownCategoryRate: q.maxUnknownCategoryRate,
      },
      monitorNotRunning: notRunning === false ? false : { ...notRunning, maxAge },
    };
  }

  private grantReadPrefix(what: string, p: IPredictionLog): void {
    const prefix = `${p.prefix}/${this.modelName}`;
    const role = this.workload.role;
    role.addToPolicy({ Sid: `Read${what}`, Effect: 'Allow', Action: 's3:GetObject', Resource: `${p.bucketArn}/${prefix}/*` });
    role.addToPolicy({ Sid: `List${what}`, Effect: 'Allow', Action: 's3:ListBucket', Resource: p.bucketArn, Condition: { StringLike: { 's3:prefix': [`${prefix}/*`] } } });
    role.addToPolicy({
      Sid: `Decrypt${what}`,
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: p.kmsKeyArn,
      Condition: { StringEquals: { 'kms:ViaService': `s3.${MlPlatform.of(this).region}.amazonaws.com`, 'kms:EncryptionContext:aws:s3:arn': p.bucketArn } },
    });
  }

  private alertTopic(platform: MlPlatform, prometheus: IPrometheus, sa: AlertmanagerServiceAccount | undefined, scopeK8s: Construct, labels: Record<string, string>): string {
    const cloud = platform.cloudScope(this);
    const topicName = platform.resourceName(256, 'drift', this.monitorName);
    const topicArn = `arn:aws:sns:${platform.region}:${platform.account}:${topicName}`;
    const v = new PropValidator(this);
    const alertmanager = alertmanagerRole(platform, sa ?? { namespace: prometheus.namespace, name: 'kube-prometheus-stack-alertmanager' }, v);
    v.throwIfAny(); // a role is returned unless a problem was recorded
    const topic = new SnsTopic(cloud, 'alert-topic', { name: topicName, kmsMasterKeyId: platform.key.arn });
    alertmanager!.addToPolicy({ Sid: `Publish${pascal(this.monitorName)}`, Effect: 'Allow', Action: 'sns:Publish', Resource: topicArn });
    new SnsTopicPolicy(cloud, 'alert-topic-policy', {
      arn: topic.arn,
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Sid: 'AlertmanagerPublishes', Effect: 'Allow', Principal: { AWS: alertmanager!.role.arn }, Action: 'sns:Publish', Resource: topicArn },
          { Sid: 'DenyWithoutTls', Effect: 'Deny', Principal: '*', Action: 'sns:Publish', Resource: topicArn, Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
        ],
      }),
    });
    new ApiObject(scopeK8s, 'alertmanager-config', {
      apiVersion: 'monitoring.coreos.com/v1alpha1',
      kind: 'AlertmanagerConfig',
      metadata: { name: this.monitorName, namespace: this.namespace, labels: { ...labels, ...prometheus.serviceMonitorLabels } },
      spec: {
        route: {
          receiver: 'sns',
          groupBy: ['alertname', 'model', 'version'],
          matchers: [{ name: 'monitor', value: this.monitorName, matchType: '=' }],
        },
        receivers: [{
          name: 'sns',
          snsConfigs: [{
            apiURL: `https://sns.${platform.region}.amazonaws.com`,
            sigv4: { region: platform.region },
            topicARN: topicArn,
            sendResolved: true,
          }],
        }],
      },
    });
    return topicArn;
  }
}

/** The one Alertmanager role of a platform (a ServiceAccount has one Pod Identity association). */
const ALERTMANAGER_ROLES = new WeakMap<MlPlatform, { sa: AlertmanagerServiceAccount; role: WorkloadRole }>();

function alertmanagerRole(platform: MlPlatform, sa: AlertmanagerServiceAccount, v: PropValidator): WorkloadRole | undefined {
  const existing = ALERTMANAGER_ROLES.get(platform);
  if (existing) {
    const same = existing.sa.namespace === sa.namespace && existing.sa.name === sa.name;
    return v.check(same, 'alertmanagerServiceAccount', sa,
      `must be the one another DriftMonitor of this platform gave (${existing.sa.namespace}/${existing.sa.name}): Alertmanager has one ServiceAccount`) ? existing.role : undefined;
  }
  const id = 'alertmanager-role';
  const role = new WorkloadRole(platform.cloudStack, id, {
    roleName: platform.resourceName(64, 'alertmanager'),
    account: platform.account,
    clusterName: platform.cluster.clusterName,
    clusterArn: platform.cluster.clusterArn,
    namespace: sa.namespace,
    serviceAccountName: sa.name,
  });
  role.addToPolicy({
    Sid: 'EncryptAlerts',
    Effect: 'Allow',
    Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
    Resource: platform.key.arn,
    Condition: { StringEquals: { 'kms:ViaService': `sns.${platform.region}.amazonaws.com` } },
  });
  ALERTMANAGER_ROLES.set(platform, { sa: { namespace: sa.namespace, name: sa.name }, role });
  return role;
}

function pascal(name: string): string {
  return name.split('-').map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join('');
}

function isEndpoint(x: unknown): x is IMonitorableEndpoint {
  const e = x as IMonitorableEndpoint | undefined;
  return !!e && typeof e === 'object' && typeof e.endpointName === 'string' && Array.isArray(e.variants) && e.variants.length > 0 && typeof e.namespace === 'string';
}

/** The prop a monitor-configuration path comes from. */
function propOfConfigPath(path: string[]): string {
  const [head, ...rest] = path;
  switch (head) {
    case 'drift': case 'quality': case 'state': case 'performance': return [head, ...rest].join('.');
    case 'window': return 'window';
    case 'interval': return 'schedule.interval';
    case 'model': case 'version': case 'registry': case 'logs': return 'endpoint';
    case 'variant': return 'variant';
    case 'alerts': return 'webhookOn';
    case 'retrain': return rest[0] === 'cooldown' ? 'retrainCooldown' : rest[0] === 'on' ? 'retrainOn' : 'retrain';
    default: return path.join('.');
  }
}
