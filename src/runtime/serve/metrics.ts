import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Label names of the per-model series. */
export type ModelLabels = 'model' | 'version' | 'variant';

/**
 * The serving metrics, in a registry of their own (one per app instance, so tests can build
 * several). Names follow Prometheus conventions: `_total` counters, `_seconds` durations.
 */
export class ServeMetrics {
  public readonly registry: Registry;
  /** Inference requests answered, by HTTP status code. */
  public readonly requests: Counter<ModelLabels | 'code'>;
  /** Inference requests that failed, by reason (`bad_request`, `unauthorized`, `rate_limited`, `not_found`, `not_ready`, `internal`, ...). */
  public readonly errors: Counter<ModelLabels | 'reason'>;
  /** Wall time of inference requests, from routing to the response being handed to the socket. */
  public readonly requestDuration: Histogram<ModelLabels>;
  /** Time of each `session.run` (one per batch when batching). */
  public readonly inferenceDuration: Histogram<ModelLabels>;
  /** Rows per `session.run`. */
  public readonly batchSize: Histogram<ModelLabels>;
  /** Requests waiting in the batch queue. */
  public readonly queueDepth: Gauge<ModelLabels>;
  /** Seconds the load (fetch, verify, create session, warm up) of the served version took. */
  public readonly modelLoadSeconds: Gauge<ModelLabels>;
  /** 1 when a version is loaded, warmed and serving; 0 otherwise. */
  public readonly modelReady: Gauge<ModelLabels>;
  /** Version swaps (hot reloads), by outcome (`success`, `failure`). */
  public readonly reloads: Counter<'model' | 'outcome'>;
  /** Prediction records written. */
  public readonly predictionLogWritten: Counter<'model'>;
  /** Prediction records dropped, by reason (`queue_full`, `write_error`). */
  public readonly predictionLogDropped: Counter<'reason'>;
  /** Prediction records waiting to be written. */
  public readonly predictionLogQueue: Gauge;

  constructor(options: { readonly defaultMetrics?: boolean } = {}) {
    this.registry = new Registry();
    const registers = [this.registry];
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'cdk_mlops_serve_' });
    const labels: ModelLabels[] = ['model', 'version', 'variant'];
    this.requests = new Counter({ name: 'cdk_mlops_serve_requests_total', help: 'Inference requests answered, by HTTP status code.', labelNames: [...labels, 'code'], registers });
    this.errors = new Counter({ name: 'cdk_mlops_serve_request_errors_total', help: 'Inference requests that failed, by reason.', labelNames: [...labels, 'reason'], registers });
    this.requestDuration = new Histogram({
      name: 'cdk_mlops_serve_request_duration_seconds',
      help: 'Wall time of inference requests.',
      labelNames: labels,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.inferenceDuration = new Histogram({
      name: 'cdk_mlops_serve_inference_duration_seconds',
      help: 'Time of each onnxruntime session.run (one per batch).',
      labelNames: labels,
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
    this.batchSize = new Histogram({
      name: 'cdk_mlops_serve_batch_size',
      help: 'Rows per onnxruntime session.run.',
      labelNames: labels,
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
      registers,
    });
    this.queueDepth = new Gauge({ name: 'cdk_mlops_serve_queue_depth', help: 'Requests waiting in the batch queue.', labelNames: labels, registers });
    this.modelLoadSeconds = new Gauge({ name: 'cdk_mlops_serve_model_load_seconds', help: 'Seconds to fetch, verify, load and warm the served version.', labelNames: labels, registers });
    this.modelReady = new Gauge({ name: 'cdk_mlops_serve_model_ready', help: '1 when the version is loaded, warmed and serving.', labelNames: labels, registers });
    this.reloads = new Counter({ name: 'cdk_mlops_serve_reloads_total', help: 'Hot reloads of a model, by outcome.', labelNames: ['model', 'outcome'], registers });
    this.predictionLogWritten = new Counter({ name: 'cdk_mlops_serve_prediction_log_records_total', help: 'Prediction records written.', labelNames: ['model'], registers });
    this.predictionLogDropped = new Counter({ name: 'cdk_mlops_serve_prediction_log_dropped_total', help: 'Prediction records dropped, by reason.', labelNames: ['reason'], registers });
    this.predictionLogQueue = new Gauge({ name: 'cdk_mlops_serve_prediction_log_queue', help: 'Prediction records waiting to be written.', registers });
  }
}
