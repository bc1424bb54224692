import { z } from 'zod';
import { NAME_PATTERN } from '../registry/schema';

/**
 * Typed configuration of `cdk-mlops monitor`: one schema, read by the runtime at start and by
 * the DriftMonitor construct at synth time. Free of runtime-only imports on purpose: the drift
 * defaults below are the single source the runtime uses too.
 *
 * Environment overrides use the prefix `CDK_MLOPS_MONITOR` (for example
 * `CDK_MLOPS_MONITOR_WINDOW=6h`, `CDK_MLOPS_MONITOR_DRIFT__DATASET_DRIFT_SHARE=0.3`).
 */

/** Environment-variable prefix of the monitor configuration. */
export const MONITOR_ENV_PREFIX = 'CDK_MLOPS_MONITOR';

/**
 * Drift methods:
 * - `ks`: two-sample Kolmogorov-Smirnov test (numeric); drift when p-value < threshold;
 * - `chisquare`: chi-square test of current counts against reference proportions; p-value;
 * - `z`: two-proportion z-test (binary); p-value;
 * - `wasserstein`: Wasserstein distance normed by the reference standard deviation; drift when score >= threshold;
 * - `jensenshannon`: Jensen-Shannon distance of binned or category frequencies; score >= threshold;
 * - `psi`: Population Stability Index on the reference's bins; score >= threshold.
 */
export const DRIFT_METHODS = ['ks', 'chisquare', 'z', 'wasserstein', 'jensenshannon', 'psi'] as const;
/** A drift method name. */
export type DriftMethodName = (typeof DRIFT_METHODS)[number];

/** Methods whose verdict is a p-value below the threshold (the others: a score at or above it). */
export const P_VALUE_METHODS: readonly DriftMethodName[] = ['ks', 'chisquare', 'z'];

/**
 * Default threshold per method (Evidently's): p-value 0.05 for the tests, 0.1 for the
 * distances and for PSI.
 */
export const DEFAULT_DRIFT_THRESHOLDS: Readonly<Record<DriftMethodName, number>> = {
  ks: 0.05,
  chisquare: 0.05,
  z: 0.05,
  wasserstein: 0.1,
  jensenshannon: 0.1,
  psi: 0.1,
};

/** Reference size (non-missing values) up to which the automatic choice uses statistical tests. @default 1000 */
export const AUTO_SMALL_REFERENCE_MAX = 1000;
/** Distinct values (reference and current together) up to which a numeric column counts as low-cardinality. @default 5 */
export const AUTO_LOW_CARDINALITY_MAX = 5;
/** Default share of drifted features at which the dataset counts as drifted. */
export const DEFAULT_DATASET_DRIFT_SHARE = 0.5;

const duration = z.string().regex(/^\d+(ms|s|m|h|d)$/, 'must be a duration such as 30s, 15m, 6h or 7d');

/** Milliseconds of a duration string (`500ms`, `30s`, `15m`, `6h`, `7d`). */
export function parseDuration(text: string): number {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(text);
  if (!m) throw new RangeError(`duration ${JSON.stringify(text)} must look like 30s, 15m, 6h or 7d`);
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}

const method = z.enum(DRIFT_METHODS, { error: `must be one of ${DRIFT_METHODS.join(', ')}` });
const threshold = z.number().positive();

/** Per-column drift settings. */
export const MonitorColumnDriftSchema = z.object({
  /** Method for this column. @default - the automatic choice (see the README's table) */
  method: method.optional(),
  /** Threshold for this column. @default - the method's threshold in `drift.thresholds` */
  threshold: threshold.optional(),
}).strict();

/** Drift detection. */
export const MonitorDriftSchema = z.object({
  /** Threshold per method. @default - ks, chisquare, z: 0.05 (p-value); wasserstein, jensenshannon, psi: 0.1 */
  thresholds: z.object({
    ks: threshold.default(DEFAULT_DRIFT_THRESHOLDS.ks),
    chisquare: threshold.default(DEFAULT_DRIFT_THRESHOLDS.chisquare),
    z: threshold.default(DEFAULT_DRIFT_THRESHOLDS.z),
    wasserstein: threshold.default(DEFAULT_DRIFT_THRESHOLDS.wasserstein),
    jensenshannon: threshold.default(DEFAULT_DRIFT_THRESHOLDS.jensenshannon),
    psi: threshold.default(DEFAULT_DRIFT_THRESHOLDS.psi),
  }).strict().prefault({}),
  /** Per-feature overrides, by feature name. @default {} */
  features: z.record(z.string().min(1), MonitorColumnDriftSchema).default({}),
  /** Overrides for the prediction column. @default - the automatic choice */
  prediction: MonitorColumnDriftSchema.prefault({}),
  /** Share of drifted features (0..1] at which the dataset counts as drifted (drifted share >= this). @default 0.5 */
  datasetDriftShare: z.number().gt(0).max(1).default(DEFAULT_DATASET_DRIFT_SHARE),
  /** Fewest current values a column needs to be tested (fewer: reported as skipped). @default 30 */
  minCurrentValues: z.number().int().min(1).default(30),
}).strict();

/** Data-quality limits: a rate above its limit flags the column (and fires the data-quality alert action). */
export const MonitorQualitySchema = z.object({
  /** Missing values (absent, null, NaN) per row. @default 0.1 */
  maxMissingRate: z.number().min(0).max(1).default(0.1),
  /** Values of the wrong type (and non-finite numbers) per row. @default 0.01 */
  maxTypeErrorRate: z.number().min(0).max(1).default(0.01),
  /** Numeric values outside the reference's [min, max] per valid value. @default 0.05 */
  maxOutOfRangeRate: z.number().min(0).max(1).default(0.05),
  /** Categories the reference never saw per valid value. @default 0.05 */
  maxUnknownCategoryRate: z.number().min(0).max(1).default(0.05),
}).strict();

/** Streaming state settings. */
export const MonitorStateSchema = z.object({
  /**
   * `exact` keeps every value (memory grows with rows); `sketch` keeps a KLL sketch per numeric
   * column (bounded memory; KS/Wasserstein within the sketch's error bound); `auto` is exact up
   * to `exactMaxValues` values per column, then a sketch.
   * @default 'auto'
   */
  mode: z.enum(['exact', 'sketch', 'auto']).default('auto'),
  /** Values per column kept exactly in `auto` mode. @default 100000 */
  exactMaxValues: z.number().int().min(1).default(100_000),
  /** KLL accuracy parameter (larger: smaller error, more memory). @default 1000 */
  sketchK: z.number().int().min(8).max(65_535).default(1000),
  /** Distinct categories counted per categorical column; more are counted together as `__other__`. @default 10000 */
  categoryCap: z.number().int().min(1).default(10_000),
}).strict();

/** Performance once ground-truth labels arrive. */
export const MonitorPerformanceSchema = z.object({
  /** Label root (`<labels>/<model>/labels/*.jsonl`). @default - the `logs` root */
  labels: z.string().min(1).optional(),
  /** Fewest joined (prediction, label) rows before performance is computed and compared. @default 50 */
  minLabeledRows: z.number().int().min(1).default(50),
  /** Relative degradation against the reference metric that counts as decay ((ref - cur) / |ref| for higher-is-better metrics). @default 0.1 */
  maxDegradation: z.number().gt(0).default(0.1),
  /** Metrics compared. @default - every metric computable from logged labels that the reference has */
  metrics: z.array(z.string().min(1)).optional(),
  /** Most labels held for the join; more are counted as dropped. @default 5000000 */
  maxLabels: z.number().int().min(1).default(5_000_000),
}).strict();

/** Where results go. */
export const MonitorOutputSchema = z.object({
  /** Directory for `<model>-v<version>-<time>.json|.html` and `latest.json|html`. @default './monitor-reports' */
  reportDir: z.string().min(1).default('./monitor-reports'),
  /**
   * Also keep every run's JSON and HTML report, and `latest.json|html`, here: a directory or
   * `s3://bucket/prefix` (a CronJob pod's own disk is gone when the pod is). Timestamped files
   * are created once, `latest.*` replaced; a failed copy is logged and counted, never fails the run.
   * @default - the reports stay in `reportDir` only
   */
  reportUri: z.string().min(1).optional(),
  /** Write the HTML report. @default true */
  html: z.boolean().default(true),
  /** Keep at most this many timestamped reports (older ones are deleted); 0 keeps all. @default 100 */
  keepReports: z.number().int().min(0).default(100),
  /** Prometheus text file written after each run (node_exporter textfile collector; CronJob mode). @default - none */
  metricsFile: z.string().min(1).optional(),
  /** Pushgateway base URL; each run replaces the group `job=cdk-mlops-monitor, model=<model>` (CronJob mode). @default - none */
  pushgateway: z.string().url().optional(),
}).strict();

/** Alert webhook (Slack-compatible incoming webhook: `{text, blocks}` JSON). */
export const MonitorAlertsSchema = z.object({
  /** Webhook URL. @default - no webhook (alerts only as metrics) */
  webhook: z.string().url().optional(),
  /** Conditions that send an alert. @default ['dataset_drift', 'prediction_drift', 'performance_decay', 'data_quality'] */
  on: z.array(z.enum(['dataset_drift', 'prediction_drift', 'performance_decay', 'data_quality'])).default(['dataset_drift', 'prediction_drift', 'performance_decay', 'data_quality']),
  /** Also send one message when an episode ends. @default true */
  notifyResolved: z.boolean().default(true),
  /** Timeout of one webhook call, in milliseconds. @default 5000 */
  timeoutMs: z.number().int().min(1).default(5_000),
  /** URL under which the report directory is published, for a link in the message. @default - no link */
  reportBaseUrl: z.string().url().optional(),
}).strict();

/** Retraining in a cluster: a Job created from the training CronJob. */
export const MonitorRetrainKubernetesSchema = z.object({
  /** Name of the CronJob whose jobTemplate is instantiated. */
  cronJob: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1123 name').max(52),
  /** Namespace of the CronJob. @default - the service account's namespace */
  namespace: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/).max(63).optional(),
  /** API server base URL. @default - https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT */
  apiServer: z.string().url().optional(),
  /** Service-account token file. @default '/var/run/secrets/kubernetes.io/serviceaccount/token' */
  tokenFile: z.string().min(1).default('/var/run/secrets/kubernetes.io/serviceaccount/token'),
  /** CA bundle of the API server. @default '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt' */
  caFile: z.string().min(1).default('/var/run/secrets/kubernetes.io/serviceaccount/ca.crt'),
  /** Request timeout in milliseconds. @default 10000 */
  timeoutMs: z.number().int().min(1).default(10_000),
}).strict();

/** Retraining locally: a trigger record, and optionally a command. */
export const MonitorRetrainLocalSchema = z.object({
  /** Directory for trigger records (`retrain-<time>.json`). */
  recordDir: z.string().min(1),
  /** Command (argv) run after the record is written, e.g. `['cdk-mlops', 'train', '--config', 'train.yaml']`. @default - none */
  command: z.array(z.string().min(1)).min(1).optional(),
  /** Longest the command may run, in seconds. @default 3600 */
  timeoutSeconds: z.number().int().min(1).default(3600),
}).strict();

/** Retraining trigger. */
export const MonitorRetrainSchema = z.object({
  /** Conditions that start a retraining. @default ['dataset_drift', 'performance_decay'] */
  on: z.array(z.enum(['dataset_drift', 'prediction_drift', 'performance_decay'])).default(['dataset_drift', 'performance_decay']),
  /** No second retraining within this time after one started (one drift episode starts one retraining). @default '24h' */
  cooldown: duration.default('24h'),
  /** Create a Job from a CronJob through the Kubernetes API. */
  kubernetes: MonitorRetrainKubernetesSchema.optional(),
  /** Write a trigger record (and run a command) locally. */
  local: MonitorRetrainLocalSchema.optional(),
}).strict().refine((r) => Boolean(r.kubernetes) !== Boolean(r.local), { message: 'set exactly one of retrain.kubernetes and retrain.local' });

/** The HTTP server of continuous mode. */
export const MonitorServerSchema = z.object({
  /** Address to bind (`0.0.0.0` in a container). @default '127.0.0.1' */
  host: z.string().min(1).default('127.0.0.1'),
  /** Port of `/metrics`, `/healthz`, `/readyz`, `/report` (0 picks a free one). @default 9108 */
  port: z.number().int().min(0).max(65_535).default(9108),
}).strict();

/** The whole `monitor` configuration. */
export const MonitorConfigSchema = z.object({
  /** Model name in the registry. */
  model: z.string().regex(NAME_PATTERN, 'must be 1-100 letters, digits, ".", "_" or "-", starting with a letter or digit'),
  /** Version monitored: a number, or an alias followed at each run. @default 'latest' */
  version: z.union([z.number().int().min(1), z.string().regex(NAME_PATTERN).refine((n) => /[A-Za-z]/.test(n), 'must be a version number or an alias name')]).default('latest'),
  /** Model registry: a local directory, `file://` URI or `s3://bucket/prefix`. */
  registry: z.string().min(1),
  /** Prediction-log root (what `serve` writes to): a local directory, `file://` URI or `s3://bucket/prefix`. */
  logs: z.string().min(1),
  /** Only records of this deployment variant. @default - every variant */
  variant: z.string().min(1).optional(),
  /** Length of the window of prediction logs, ending at the run time. @default '24h' */
  window: duration.default('24h'),
  /** Run once and exit (CronJob), or every `interval` with an HTTP server (Deployment). @default true */
  once: z.boolean().default(true),
  /** Time between runs in continuous mode. @default '15m' */
  interval: duration.default('15m'),
  drift: MonitorDriftSchema.prefault({}),
  quality: MonitorQualitySchema.prefault({}),
  state: MonitorStateSchema.prefault({}),
  performance: MonitorPerformanceSchema.prefault({}),
  output: MonitorOutputSchema.prefault({}),
  alerts: MonitorAlertsSchema.prefault({}),
  /** Retraining trigger. @default - none */
  retrain: MonitorRetrainSchema.optional(),
  /**
   * Where the monitor keeps what must survive between runs (alert episodes, last retraining):
   * a local JSON file path, or `s3://bucket/key.json`.
   * @default - `<output.reportDir>/monitor-state.json`
   */
  stateUri: z.string().min(1).optional(),
  server: MonitorServerSchema.prefault({}),
}).strict();

/** Configuration as written (defaults optional). */
export type MonitorConfigInput = z.input<typeof MonitorConfigSchema>;
/** Configuration after validation, every default filled in. */
export type MonitorConfig = z.output<typeof MonitorConfigSchema>;
