import { Counter, Gauge, Metric, Registry, collectDefaultMetrics } from 'prom-client';

/** Label names of the per-model series. */
export type ModelLabels = 'model' | 'version' | 'variant';

type LabelValues<L extends string> = Readonly<Record<L, string>>;

/** The exposition form prom-client's registry asks of every metric (`get()`). */
interface MetricValues {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'histogram';
  readonly aggregator: 'sum';
  readonly values: { value: number; labels: Record<string, string | number>; metricName?: string }[];
}

function key(values: readonly string[]): string {
  return values.join('\u0000');
}

/**
 * A labelled counter for the request path: `series(labels)` is looked up once (per model
 * version, per status code) and `inc` is then one addition, where prom-client's `inc(labels)`
 * validates and hashes the labels on every call (about 0.7 us, several times per request).
 * Exposed through prom-client's registry like any of its metrics.
 */
export class HotCounter<L extends string> {
  public readonly type = 'counter';
  public readonly aggregator = 'sum';
  private readonly entries = new Map<string, { labels: LabelValues<L>; value: number }>();

  constructor(public readonly name: string, public readonly help: string, private readonly labelNames: readonly L[], registry: Registry) {
    registry.registerMetric(this as unknown as Metric<string>);
  }

  /** The series of these label values (created at 0 on first use). */
  public series(labels: LabelValues<L>): { inc(by?: number): void } {
    const k = key(this.labelNames.map((l) => labels[l]));
    let e = this.entries.get(k);
    if (!e) this.entries.set(k, e = { labels: { ...labels }, value: 0 });
    const entry = e;
    return { inc: (by = 1) => { entry.value += by; } };
  }

  /** Shorthand for `series(labels).inc(by)`. */
  public inc(labels: LabelValues<L>, by = 1): void {
    this.series(labels).inc(by);
  }

  /** prom-client's metric interface. */
  public async get(): Promise<MetricValues> {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: [...this.entries.values()].map((e) => ({ value: e.value, labels: { ...e.labels } })),
    };
  }

  /** prom-client's metric interface. */
  public reset(): void {
    this.entries.clear();
  }
}

interface HistogramEntry<L extends string> {
  readonly labels: LabelValues<L>;
  /** Non-cumulative count per bucket; the last is +Inf. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/**
 * A labelled histogram for the request path, as {@link HotCounter}: `series(labels)` once,
 * then `observe` is a bucket search and two additions.
 */
export class HotHistogram<L extends string> {
  public readonly type = 'histogram';
  public readonly aggregator = 'sum';
  private readonly entries = new Map<string, HistogramEntry<L>>();

  constructor(
    public readonly name: string,
    public readonly help: string,
    private readonly labelNames: readonly L[],
    private readonly buckets: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Metric<string>);
  }

  /** The series of these label values. */
  public series(labels: LabelValues<L>): { observe(value: number): void } {
    const k = key(this.labelNames.map((l) => labels[l]));
    let e = this.entries.get(k);
    if (!e) this.entries.set(k, e = { labels: { ...labels }, counts: new Float64Array(this.buckets.length + 1), sum: 0, count: 0 });
    const entry = e;
    const bounds = this.buckets;
    return {
      observe: (value: number) => {
        let i = 0;
        while (i < bounds.length && value > bounds[i]) i++;
        entry.counts[i]++;
        entry.sum += value;
        entry.count++;
      },
    };
  }

  /** Shorthand for `series(labels).observe(value)`. */
  public observe(labels: LabelValues<L>, value: number): void {
    this.series(labels).observe(value);
  }

  /** Drops the series of these label values (a version that is no longer served). */
  public remove(labels: LabelValues<L>): void {
    this.entries.delete(key(this.labelNames.map((l) => labels[l])));
  }

  /** prom-client's metric interface: cumulative `_bucket` series with `le`, `_sum`, `_count`. */
  public async get(): Promise<MetricValues> {
    const values: MetricValues['values'] = [];
    for (const e of this.entries.values()) {
      let cumulative = 0;
      for (let i = 0; i <= this.buckets.length; i++) {
        cumulative += e.counts[i];
        values.push({ metricName: `${this.name}_bucket`, value: cumulative, labels: { ...e.labels, le: i < this.buckets.length ? this.buckets[i] : '+Inf' } });
      }
      values.push({ metricName: `${this.name}_sum`, value: e.sum, labels: { ...e.labels } });
      values.push({ metricName: `${this.name}_count`, value: e.count, labels: { ...e.labels } });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** prom-client's metric interface. */
  public reset(): void {
    this.entries.clear();
  }
}

/**
 * The serving metrics, in a registry of their own (one per app instance, so tests can build
 * several). Names follow Prometheus conventions: `_total` counters, `_seconds` durations.
 * The series touched on every request are {@link HotCounter}/{@link HotHistogram}; the rest
 * are prom-client's own.
 */
export class ServeMetrics {
  public readonly registry: Registry;
  /** Inference requests answered, by HTTP status code. */
  public readonly requests: HotCounter<ModelLabels | 'code'>;
  /** Inference requests that failed, by reason (`bad_request`, `unauthorized`, `rate_limited`, `not_found`, `not_ready`, `internal`, ...). */
  public readonly errors: HotCounter<ModelLabels | 'reason'>;
  /** Wall time of inference requests, from routing to the response being handed to the socket. */
  public readonly requestDuration: HotHistogram<ModelLabels>;
  /** Time of each `session.run` (one per batch when batching). */
  public readonly inferenceDuration: HotHistogram<ModelLabels>;
  /** Rows per `session.run`. */
  public readonly batchSize: HotHistogram<ModelLabels>;
  /** Requests waiting in the batch queue. */
  public readonly queueDepth: Gauge<ModelLabels>;
  /** Seconds the load (fetch, verify, create session, warm up) of the served version took. */
  public readonly modelLoadSeconds: Gauge<ModelLabels>;
  /** 1 when a version is loaded, warmed and serving; 0 otherwise. */
  public readonly modelReady: Gauge<ModelLabels>;
  /**
   * Info gauge: 1 for the served version, labelled with the onnxruntime execution provider its
   * session runs on (`provider`: `cpu` or `cuda`, so the series stay bounded).
   */
  public readonly executionProvider: Gauge<ModelLabels | 'provider'>;
  /** Version swaps (hot reloads), by outcome (`success`, `failure`). */
  public readonly reloads: Counter<'model' | 'outcome'>;
  /** Prediction records written. */
  public readonly predictionLogWritten: Counter<'model'>;
  /** Prediction records dropped, by reason (`queue_full`, `queue_bytes`, `write_error`, `serialize_error`, `closed`). */
  public readonly predictionLogDropped: Counter<'reason'>;
  /** Prediction records waiting to be written. */
  public readonly predictionLogQueue: Gauge;

  constructor(options: { readonly defaultMetrics?: boolean } = {}) {
    this.registry = new Registry();
    const registers = [this.registry];
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'cdk_mlops_serve_' });
    const labels: ModelLabels[] = ['model', 'version', 'variant'];
    this.requests = new HotCounter('cdk_mlops_serve_requests_total', 'Inference requests answered, by HTTP status code.', [...labels, 'code'], this.registry);
    this.errors = new HotCounter('cdk_mlops_serve_request_errors_total', 'Inference requests that failed, by reason.', [...labels, 'reason'], this.registry);
    this.requestDuration = new HotHistogram('cdk_mlops_serve_request_duration_seconds', 'Wall time of inference requests.', labels,
      [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], this.registry);
    this.inferenceDuration = new HotHistogram('cdk_mlops_serve_inference_duration_seconds', 'Time of each onnxruntime session.run (one per batch).', labels,
      [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], this.registry);
    this.batchSize = new HotHistogram('cdk_mlops_serve_batch_size', 'Rows per onnxruntime session.run.', labels, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024], this.registry);
    this.queueDepth = new Gauge({ name: 'cdk_mlops_serve_queue_depth', help: 'Requests waiting in the batch queue.', labelNames: labels, registers });
    this.modelLoadSeconds = new Gauge({ name: 'cdk_mlops_serve_model_load_seconds', help: 'Seconds to fetch, verify, load and warm the served version.', labelNames: labels, registers });
    this.modelReady = new Gauge({ name: 'cdk_mlops_serve_model_ready', help: '1 when the version is loaded, warmed and serving.', labelNames: labels, registers });
    this.executionProvider = new Gauge({
      name: 'cdk_mlops_serve_model_execution_provider_info',
      help: 'Always 1 for a served version; the provider label is the onnxruntime execution provider (cpu or cuda) of its session.',
      labelNames: [...labels, 'provider'],
      registers,
    });
    this.reloads = new Counter({ name: 'cdk_mlops_serve_reloads_total', help: 'Hot reloads of a model, by outcome.', labelNames: ['model', 'outcome'], registers });
    this.predictionLogWritten = new Counter({ name: 'cdk_mlops_serve_prediction_log_records_total', help: 'Prediction records written.', labelNames: ['model'], registers });
    this.predictionLogDropped = new Counter({ name: 'cdk_mlops_serve_prediction_log_dropped_total', help: 'Prediction records dropped, by reason.', labelNames: ['reason'], registers });
    this.predictionLogQueue = new Gauge({ name: 'cdk_mlops_serve_prediction_log_queue', help: 'Prediction records waiting to be written.', registers });
  }
}
