/**
 * PromQL over the serve runtime's own metrics (src/runtime/serve/metrics.ts), as scraped by the
 * endpoint's ServiceMonitor. The names are repeated here because the constructs must not import
 * the runtime's prom-client module; test/constructs/model-endpoint-queries.test.ts checks them
 * against a live `ServeMetrics` registry and evaluates every query with `promtool test rules`.
 */

/** Metric names of `cdk-mlops serve` (labels: model, version, variant, and code / le). */
export const SERVE_METRIC_NAMES = {
  /** Counter of answered inference requests, label `code` (HTTP status). */
  requests: 'cdk_mlops_serve_requests_total',
  /** Histogram of inference request wall time in seconds. */
  requestDuration: 'cdk_mlops_serve_request_duration_seconds',
} as const;
import { compareStrings } from '../../util/compare';

/** Label Prometheus gives the Argo Rollouts pod-template hash (ServiceMonitor `podTargetLabels`). */
export const ROLLOUT_HASH_LABEL = 'rollouts_pod_template_hash';

/** A PromQL label matcher set, rendered with sorted keys: `{a="x",b=~"y"}`. */
export function selector(equal: Record<string, string>, regex: Record<string, string> = {}): string {
  const parts = [
    ...Object.entries(equal).map(([k, v]) => [k, `${k}="${escapeLabelValue(v)}"`]),
    ...Object.entries(regex).map(([k, v]) => [k, `${k}=~"${escapeLabelValue(v)}"`]),
  ].sort(([a], [b]) => compareStrings(a, b)).map(([, s]) => s);
  return `{${parts.join(',')}}`;
}

function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/**
 * Share of inference requests answered 5xx over `window`: 0 for pods that never failed (the
 * runtime creates a status-code series only once it has answered that code, hence `or
 * vector(0)`), no sample without traffic (the analysis stays inconclusive).
 */
export function errorRateQuery(labels: Record<string, string>, window: string): string {
  const all = selector(labels);
  const failed = selector(labels, { code: '5..' });
  return `(sum(rate(${SERVE_METRIC_NAMES.requests}${failed}[${window}])) or vector(0)) / sum(rate(${SERVE_METRIC_NAMES.requests}${all}[${window}]))`;
}

/** The `quantile` (0..1) of inference request latency in seconds over `window`. */
export function latencyQuantileQuery(labels: Record<string, string>, quantile: number, window: string): string {
  return `histogram_quantile(${quantile}, sum by (le) (rate(${SERVE_METRIC_NAMES.requestDuration}_bucket${selector(labels)}[${window}])))`;
}

/** Inference requests per second over `window`. */
export function requestRateQuery(labels: Record<string, string>, window: string): string {
  return `sum(rate(${SERVE_METRIC_NAMES.requests}${selector(labels)}[${window}]))`;
}
