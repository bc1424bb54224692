import { z } from 'zod';
import { NAME_PATTERN } from '../registry/schema';

/**
 * Typed configuration of `cdk-mlops serve`: one schema, read by the runtime at start and by the
 * ModelEndpoint construct at synth time. Free of runtime-only imports on purpose.
 *
 * Every field documents its default. Environment overrides use the prefix
 * `CDK_MLOPS_SERVE` (for example `CDK_MLOPS_SERVE_PORT=9000`, `CDK_MLOPS_SERVE_LIMITS__BODY_LIMIT_BYTES=65536`).
 */

/** Environment-variable prefix of the serve configuration. */
export const SERVE_ENV_PREFIX = 'CDK_MLOPS_SERVE';

/**
 * Model and alias names as the registry accepts them (a model name is also the `{name}` of the
 * inference URLs). An alias must contain a letter; `latest` means the highest version.
 */
export const MODEL_NAME_PATTERN = NAME_PATTERN;

/** Dynamic batching of one model. */
export const ServeBatchingSchema = z.object({
  /**
   * Coalesce concurrent requests into one `session.run`. Switched off automatically (with a log
   * line) when the batch axis (axis 0) of any input or output of the model is not dynamic.
   * @default true
   */
  enabled: z.boolean().default(true),
  /** Most rows in one `session.run` (a single larger request still runs, alone). @default 64 */
  maxBatchSize: z.number().int().min(1).max(65_536).default(64),
  /**
   * Longest a request waits for others to join its batch, in milliseconds. 0 adds no wait: a
   * request runs at once when no batch is running, and the requests that arrive while one runs
   * leave together when it finishes (batches grow with the load).
   * @default 0
   */
  maxQueueDelayMs: z.number().min(0).max(10_000).default(0),
  /**
   * Batches of this model that may run at the same time. onnxruntime-node runs a session on
   * the event-loop thread, so 1 is right unless the model spends its time in intra-op threads.
   * @default 1
   */
  maxConcurrentRuns: z.number().int().min(1).max(64).default(1),
}).strict();

/** One model served by the process. */
export const ServeModelSchema = z.object({
  /** Model name in the registry; also the `{name}` in `/v2/models/{name}/...`. */
  name: z.string().regex(MODEL_NAME_PATTERN, 'must be 1-100 letters, digits, ".", "_" or "-", starting with a letter or digit').refine((n) => !n.includes('..'), 'must not contain ".."'),
  /**
   * Version to serve: a version number (pinned) or an alias name such as `prod` or `latest`
   * (followed: polled every `reload.aliasPollSeconds`; a new target is loaded, warmed and
   * swapped in).
   */
  ref: z.union([
    z.number().int('a version number must be a whole number').min(1, 'a version number must be 1 or more'),
    z.string().refine((n) => NAME_PATTERN.test(n) && /[A-Za-z]/.test(n) && !n.includes('..'),
      'must be a version number (1, 2, ...) or an alias name (prod, latest, ...: letters, digits, ".", "_" or "-")'),
  ]),
  /** Deployment variant, a label on metrics and prediction logs (`primary`, `canary`, `shadow`, ...). @default 'primary' */
  variant: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'must be lower-case letters, digits or "-", starting with a letter').default('primary'),
  /** Dynamic batching. @default - enabled, 64 rows, no added delay, 1 run at a time */
  batching: ServeBatchingSchema.prefault({}),
  /** onnxruntime intra-op threads per session (1 suits small models and many concurrent requests). @default 1 */
  intraOpThreads: z.number().int().min(1).max(256).default(1),
  /**
   * onnxruntime execution provider of this model's session, chosen per model (a process may
   * serve one model on a GPU and another on the CPU). `cuda` runs the session on onnxruntime's
   * CUDA execution provider: it needs onnxruntime-node installed with
   * `ONNXRUNTIME_NODE_INSTALL=cuda12`, the CUDA 12 and cuDNN 9 runtime libraries and an NVIDIA
   * GPU visible to the process (the runtime image's GPU variant, see the Dockerfile). There is no
   * fallback to the CPU: when the provider cannot be loaded, loading the model fails, naming the
   * model, the version, the provider and what to install, and readiness stays false. Operators
   * the CUDA provider has no kernel for (ONNX-ML operators such as tree ensembles, ZipMap) still
   * run on the CPU inside the session: that is onnxruntime's per-node placement, not a fallback.
   * @default 'cpu'
   */
  executionProvider: z.enum(['cpu', 'cuda']).default('cpu'),
  /**
   * CUDA device (ordinal among the GPUs visible to the process) of the session, with
   * `executionProvider: 'cuda'` only. In a pod, the GPUs the device plugin allocated are
   * numbered from 0.
   * @default 0 (with 'cuda')
   */
  cudaDeviceId: z.number().int().min(0).max(63).optional(),
}).strict().superRefine((m, ctx) => {
  if (m.cudaDeviceId !== undefined && m.executionProvider !== 'cuda') {
    ctx.addIssue({ code: 'custom', path: ['cudaDeviceId'], message: `applies only with executionProvider 'cuda' (this model's is '${m.executionProvider}')` });
  }
});

/** Per-client token-bucket rate limit (keyed by bearer token, or by client address without auth). */
export const ServeRateLimitSchema = z.object({
  /**
   * Sustained requests per second per client; 0 switches the limit off. Off by default because
   * behind a gateway every request comes from the gateway's address.
   * @default 0
   */
  requestsPerSecond: z.number().min(0).default(0),
  /** Bucket size: requests a client may send at once. @default - 2 x requestsPerSecond (at least 1) */
  burst: z.number().int().min(1).optional(),
  /** Most clients tracked at once (least recently seen are forgotten first). @default 10000 */
  maxClients: z.number().int().min(1).default(10_000),
}).strict();

/** Limits and timeouts of the HTTP server. */
export const ServeLimitsSchema = z.object({
  /** Largest request body in bytes (413 beyond). @default 1048576 */
  bodyLimitBytes: z.number().int().min(1024).max(1024 * 1024 * 1024).default(1024 * 1024),
  /** Most rows (batch-axis length) in one inference request (400 beyond). @default 1024 */
  maxBatchRows: z.number().int().min(1).default(1024),
  /** Time allowed to receive a whole request, in milliseconds (node `server.requestTimeout`). @default 10000 */
  requestTimeoutMs: z.number().int().min(1).default(10_000),
  /** Idle socket timeout in milliseconds (node `server.timeout`). @default 30000 */
  connectionTimeoutMs: z.number().int().min(1).default(30_000),
  /** Keep-alive timeout of idle connections in milliseconds. @default 5000 */
  keepAliveTimeoutMs: z.number().int().min(1).default(5_000),
  /** Rate limit. @default - off */
  rateLimit: ServeRateLimitSchema.prefault({}),
}).strict();

/** Bearer-token authentication. */
export const ServeAuthSchema = z.object({
  /**
   * File with the accepted tokens, one per line (blank lines and lines starting with `#`
   * ignored), as mounted from a Kubernetes Secret. Re-read when it changes. When absent,
   * inference and model metadata are open (a warning is logged at start).
   */
  tokensFile: z.string().min(1).optional(),
  /** How often the tokens file is checked for changes, in milliseconds. @default 2000 */
  reloadIntervalMs: z.number().int().min(10).default(2_000),
}).strict();

/** Sampled prediction logging for drift monitoring (PredictionRecord JSON lines). */
export const ServePredictionLogSchema = z.object({
  /** Log root: a local directory, `file://` URI or `s3://bucket/prefix`. */
  uri: z.string().min(1),
  /** Fraction of requests logged, 0..1. @default 1 */
  sampleRate: z.number().min(0).max(1).default(1),
  /** Most records held in memory waiting to be written; beyond, records are dropped and counted. @default 10000 */
  maxQueue: z.number().int().min(1).default(10_000),
  /**
   * Most bytes of tensor data (inputs and outputs, as held in memory) waiting to be written;
   * beyond, records are dropped and counted (reason `queue_bytes`), like `maxQueue`. Bounds the
   * queue's memory when requests are large. @default 67108864 (64 MiB)
   */
  maxQueueBytes: z.number().int().min(1024).default(64 * 1024 * 1024),
  /** Records are written at least this often, in milliseconds. @default 1000 */
  flushIntervalMs: z.number().int().min(10).default(1_000),
  /** Most records per written file/object. @default 5000 */
  maxRecordsPerFile: z.number().int().min(1).default(5_000),
  /** S3 client settings (tests and S3-compatible stores); the default credential chain otherwise. */
  s3: z.object({
    region: z.string().optional(),
    endpoint: z.string().optional(),
    forcePathStyle: z.boolean().optional(),
  }).strict().optional(),
}).strict();

/**
 * Online feature enrichment (issue 6): the request carries entity keys, the server fetches the
 * feature service's values from the feature server in one round trip and assembles the model's
 * tabular input in `signature.featureNames` order.
 */
export const ServeFeaturesSchema = z.object({
  /** Base URL of the feature server (`cdk-mlops features serve`), which answers `POST /get-online-features`. */
  url: z.string().url(),
  /** Feature service to fetch. */
  featureService: z.string().min(1),
  /** Request inputs that carry entity keys: OIP input name -> entity join key. */
  entityInputs: z.record(z.string().min(1), z.string().min(1)),
  /** Model input the assembled features go to. @default - the model's only input */
  targetInput: z.string().min(1).optional(),
  /**
   * What to do with a feature that is NOT_FOUND or OUTSIDE_MAX_AGE: `reject` answers 400 naming
   * the entity and feature; `default` substitutes `defaults[feature]` (or 0).
   * @default 'reject'
   */
  onMissing: z.enum(['reject', 'default']).default('reject'),
  /** Substitutes for missing features under `onMissing: default`. @default {} */
  defaults: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])).default({}),
  /** Timeout of one feature lookup, in milliseconds. @default 200 */
  timeoutMs: z.number().int().min(1).default(200),
}).strict();

/** How the process follows changes of what it serves. */
export const ServeReloadSchema = z.object({
  /** Seconds between checks of alias targets (models whose `ref` is an alias); 0 switches polling off. @default 30 */
  aliasPollSeconds: z.number().min(0).default(30),
  /** Milliseconds between checks of the config file for changes (hot reload of `models`); 0 switches it off. @default 2000 */
  configPollMs: z.number().int().min(0).default(2_000),
}).strict();

/** Graceful shutdown. */
export const ServeShutdownSchema = z.object({
  /**
   * After SIGTERM, readiness turns false at once and the server keeps serving this long (so that
   * load balancers stop sending traffic), then stops accepting and drains. @default 5000
   */
  drainDelayMs: z.number().int().min(0).default(5_000),
  /** Longest the drain (in-flight requests, prediction-log flush) may take before exiting anyway. @default 30000 */
  timeoutMs: z.number().int().min(1).default(30_000),
}).strict();

/** The whole `serve` configuration. */
export const ServeConfigSchema = z.object({
  /** Address to bind. `0.0.0.0` in a container. @default '127.0.0.1' */
  host: z.string().min(1).default('127.0.0.1'),
  /** TCP port. @default 8080 */
  port: z.number().int().min(0).max(65_535).default(8080),
  /** Model registry: a local directory, `file://` URI or `s3://bucket/prefix`. */
  registry: z.string().min(1),
  /** The models to serve (names unique). */
  models: z.array(ServeModelSchema).min(1).superRefine((models, ctx) => {
    const seen = new Set<string>();
    models.forEach((m, i) => {
      if (seen.has(m.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `model '${m.name}' is listed twice; each model is served once per process` });
      seen.add(m.name);
    });
  }),
  /** Authentication. @default - no tokens file: open */
  auth: ServeAuthSchema.prefault({}),
  /** Limits and timeouts. @default - see ServeLimitsSchema */
  limits: ServeLimitsSchema.prefault({}),
  /** Prediction logging. @default - off */
  predictionLog: ServePredictionLogSchema.optional(),
  /** Online feature enrichment. @default - off */
  features: ServeFeaturesSchema.optional(),
  /** Hot reload. @default - aliases polled every 30 s, config file every 2 s */
  reload: ServeReloadSchema.prefault({}),
  /** Graceful shutdown. @default - 5 s drain delay, 30 s timeout */
  shutdown: ServeShutdownSchema.prefault({}),
}).strict();

/** Configuration as written (defaults optional). */
export type ServeConfigInput = z.input<typeof ServeConfigSchema>;
/** Configuration after validation (defaults filled in). */
export type ServeConfig = z.output<typeof ServeConfigSchema>;
/** One served model, validated. */
export type ServeModelConfig = z.output<typeof ServeModelSchema>;
/** The onnxruntime execution provider of a served model. */
export type ServeExecutionProvider = ServeModelConfig['executionProvider'];
/** Batching settings, validated. */
export type ServeBatchingConfig = z.output<typeof ServeBatchingSchema>;
/** Features settings, validated. */
export type ServeFeaturesConfig = z.output<typeof ServeFeaturesSchema>;
