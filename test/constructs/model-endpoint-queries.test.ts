import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as YAML from 'yaml';
import { AnalysisMetric, DeploymentStrategy, EndpointScaling, SERVE_METRIC_NAMES } from '../../src';
import { ServeMetrics } from '../../src/runtime/serve/metrics';
import { buildEndpoint, one } from '../support/endpoint';

/**
 * The PromQL the endpoint synthesizes (analysis and autoscaling), evaluated by Prometheus' own
 * engine (`promtool test rules`) over series exactly as the serve runtime exposes them (taken
 * from a live ServeMetrics registry) plus the target labels a ServiceMonitor scrape adds.
 */

const NS = 'acme-ml-serving';
const TARGET = { namespace: NS, service: 'fraud-metrics', pod: 'fraud-abc-1', endpoint: 'http', job: 'fraud-metrics' };

/** One minute of traffic of one pod, as the runtime exposes it: `name{labels} value` lines. */
async function exposition(variant: string, version: string, ok: number, failed: number, latencies: [number, number][]): Promise<[string, number][]> {
  const m = new ServeMetrics({ defaultMetrics: false });
  const labels = { model: 'fraud', version, variant };
  m.requests.inc({ ...labels, code: '200' }, ok);
  m.requests.inc({ ...labels, code: '400' }, 3); // a client error: not the model's fault
  if (failed) m.requests.inc({ ...labels, code: '503' }, failed);
  for (const [seconds, n] of latencies) for (let i = 0; i < n; i++) m.requestDuration.observe(labels, seconds);
  const text = await m.registry.metrics();
  return text.split('\n').filter((l) => l && !l.startsWith('#'))
    .map((l) => l.match(/^(\S+) (\S+)$/)!).map((x) => [x[1], Number(x[2])] as [string, number]);
}

/** Input series growing by one exposition per minute, with extra target labels. */
function inputSeries(lines: [string, number][], extra: Record<string, string>): { series: string; values: string }[] {
  const add = Object.entries(extra).map(([k, v]) => `${k}="${v}"`).join(',');
  return lines.map(([series, value]) => ({
    series: series.includes('{') ? series.replace('{', `{${add},`) : `${series}{${add}}`,
    values: `0+${value}x15`,
  }));
}

function promtool(tests: unknown[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'endpoint-promql-'));
  try {
    const file = path.join(dir, 'test.yaml');
    fs.writeFileSync(file, YAML.stringify({ rule_files: [], evaluation_interval: '1m', tests }));
    return execFileSync('promtool', ['test', 'rules', file], { encoding: 'utf8', stdio: 'pipe' });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`promtool failed:\n${err.stdout ?? ''}${err.stderr ?? err.message}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A test that `expr` evaluates to `value` (to 1e-9: promtool compares floats exactly). */
const near = (expr: string, value: number) => ({ expr: `abs((${expr}) - ${value}) < bool 1e-9`, eval_time: '10m', exp_samples: [{ labels: '{}', value: 1 }] });

const args = (q: string, podHash: string) => q.replace(/\{\{args\.namespace\}\}/g, NS).replace(/\{\{args\.model\}\}/g, 'fraud')
  .replace(/\{\{args\.version\}\}/g, '8').replace(/\{\{args\.pod-hash\}\}/g, podHash);

describe('ModelEndpoint PromQL, evaluated by Prometheus', () => {
  test('the metric names are those the serve runtime registers, with the labels the queries select on', async () => {
    const m = new ServeMetrics({ defaultMetrics: false });
    const byName = Object.fromEntries((await m.registry.getMetricsAsJSON()).map((x) => [x.name, x]));
    expect(byName[SERVE_METRIC_NAMES.requests]).toMatchObject({ type: 'counter' });
    expect(byName[SERVE_METRIC_NAMES.requestDuration]).toMatchObject({ type: 'histogram' });
    const labelNames = (name: string) => (m.registry.getSingleMetric(name) as unknown as { labelNames: string[] }).labelNames;
    expect(labelNames(SERVE_METRIC_NAMES.requests)).toEqual(expect.arrayContaining(['model', 'version', 'variant', 'code']));
    expect(labelNames(SERVE_METRIC_NAMES.requestDuration)).toEqual(expect.arrayContaining(['model', 'version', 'variant']));
  });

  test('canary analysis: error rate and p99 of the new pods only, and no sample (inconclusive) without traffic', async () => {
    const b = buildEndpoint(() => ({
      strategy: DeploymentStrategy.canary({ steps: [{ weight: 10 }], analysis: { metrics: [AnalysisMetric.errorRate(0.05), AnalysisMetric.p99Latency(200)] } }),
    }));
    const metrics = one(b.serving, 'AnalysisTemplate').spec.metrics;
    const query = (name: string) => metrics.find((x: any) => x.name === name).provider.prometheus.query as string;
    // new pods (hash 'new'): 90 ok + 10 x 503 per minute, latencies 90 x 40 ms, 8 x 80 ms, 2 x 200 ms
    const canary = await exposition('primary', '8', 90, 10, [[0.04, 90], [0.08, 8], [0.2, 2]]);
    // stable pods (hash 'old'): all 503 and slow, which must not leak into the canary's numbers
    const stable = await exposition('primary', '7', 0, 100, [[4, 100]]);
    // healthy new pods: only 200s (no 5xx series exists at all)
    const healthy = await exposition('primary', '9', 100, 0, [[0.04, 100]]);
    const series = [
      ...inputSeries(canary, { ...TARGET, rollouts_pod_template_hash: 'new' }),
      ...inputSeries(stable, { ...TARGET, pod: 'fraud-old-1', rollouts_pod_template_hash: 'old' }),
      ...inputSeries(healthy, { ...TARGET, pod: 'fraud-healthy-1', rollouts_pod_template_hash: 'healthy' }),
    ];
    const out = promtool([{
      interval: '1m',
      input_series: series,
      promql_expr_test: [
        // 10 failed of 103 answered (3 are 4xx)
        near(args(query('error-rate'), 'new'), 10 / 103),
        // rank 99 of 100 falls in (0.1, 0.25] holding 2 observations above 98: 0.1 + 0.15 / 2
        near(args(query('p99-latency'), 'new'), 0.175),
        near(args(query('error-rate'), 'old'), 100 / 103),
        // the stable pods' 4 s requests fall in (2.5, 5]: rank 99 of 100 interpolates to 4.975
        near(args(query('p99-latency'), 'old'), 2.5 + 2.5 * 0.99),
        // pods that answered only 2xx: an error rate of 0 (the canary can be promoted), not "no data"
        near(args(query('error-rate'), 'healthy'), 0),
        // pods with no traffic at all: no sample, so the analysis is neither success nor failure
        { expr: args(query('error-rate'), 'none'), eval_time: '10m', exp_samples: [] },
      ],
    }]);
    expect(out).toContain('SUCCESS');
    // the conditions the measured values meet: 0.097 > 0.05 fails the canary, 0.175 s <= 0.2 s passes
    expect(metrics.find((x: any) => x.name === 'error-rate').failureCondition).toBe('len(result) > 0 && !isNaN(result[0]) && !(result[0] <= 0.05)');
    expect(metrics.find((x: any) => x.name === 'p99-latency').successCondition).toBe('len(result) > 0 && !isNaN(result[0]) && result[0] <= 0.2');
  });

  test('KEDA: the request rate of one A/B variant, excluding the other variants', async () => {
    const b = buildEndpoint((r) => ({
      strategy: DeploymentStrategy.abTest([{ model: r.model('fraud').version(7), weight: 80 }, { model: r.model('fraud').version(8), weight: 20 }]),
      scaling: EndpointScaling.requestsPerSecond({ targetPerReplica: 5 }),
    }));
    const q = (name: string) => one(b.serving, 'ScaledObject', name).spec.triggers[0].metadata.query as string;
    const series = [
      // v8: two pods, 60 + 3 and 120 + 3 requests per minute
      ...inputSeries(await exposition('v8', '8', 60, 0, []), { ...TARGET, pod: 'fraud-v8-1' }),
      ...inputSeries(await exposition('v8', '8', 120, 0, []), { ...TARGET, pod: 'fraud-v8-2' }),
      // primary: 600 + 3 per minute
      ...inputSeries(await exposition('primary', '7', 600, 0, []), { ...TARGET, pod: 'fraud-1' }),
    ];
    const out = promtool([{
      interval: '1m',
      input_series: series,
      promql_expr_test: [
        near(q('fraud-v8'), (63 + 123) / 60),
        near(q('fraud'), 603 / 60),
      ],
    }]);
    expect(out).toContain('SUCCESS');
  });
});
