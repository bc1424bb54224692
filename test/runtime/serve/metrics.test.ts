import { TestApp, buildTestApp, standardRegistry, tabularReference, testConfig } from './support/fixtures';
import { ServeMetrics } from '../../../src/runtime/serve/metrics';

/** Parses the Prometheus text format into `name{labels}` -> value (labels in the order written). */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    out.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return out;
}

describe('serve: Prometheus /metrics', () => {
  let t: TestApp;
  const rows = tabularReference().rows;

  beforeAll(async () => {
    const { registry } = await standardRegistry();
    t = await buildTestApp(testConfig(registry.uri, { models: [{ name: 'tabular', ref: 1, variant: 'canary' }] }), registry, { metrics: new ServeMetrics() });
  });
  afterAll(async () => t.close());

  test('requests by code, errors by reason, latency, inference, batch size, queue depth, load time, readiness', async () => {
    const infer = (payload: unknown, name = 'tabular') => t.app.inject({ method: 'POST', url: `/v2/models/${name}/infer`, headers: { 'content-type': 'application/json' }, payload: payload as object });
    for (let i = 0; i < 5; i++) expect((await infer({ inputs: [{ name: 'input', shape: [3, 30], datatype: 'FP32', data: rows.slice(i, i + 3) }] })).statusCode).toBe(200);
    for (let i = 0; i < 2; i++) expect((await infer({ inputs: [] })).statusCode).toBe(400);
    expect((await infer({ inputs: [] }, 'not-a-model')).statusCode).toBe(404);

    const r = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const m = samples(r.body);
    const L = 'model="tabular",version="1",variant="canary"';
    expect(m.get(`cdk_mlops_serve_requests_total{${L},code="200"}`)).toBe(5);
    expect(m.get(`cdk_mlops_serve_requests_total{${L},code="400"}`)).toBe(2);
    // An unknown model is counted without its (client-chosen) name, so labels stay bounded.
    expect(m.get('cdk_mlops_serve_requests_total{model="",version="",variant="",code="404"}')).toBe(1);
    expect(m.get(`cdk_mlops_serve_request_errors_total{${L},reason="bad_request"}`)).toBe(2);
    expect(m.get('cdk_mlops_serve_request_errors_total{model="",version="",variant="",reason="not_found"}')).toBe(1);
    expect(m.get(`cdk_mlops_serve_request_duration_seconds_count{${L}}`)).toBe(7);
    expect(m.get(`cdk_mlops_serve_request_duration_seconds_bucket{${L},le="+Inf"}`)).toBe(7);
    // One run per request; the warm-up run at load is not traffic and is not observed.
    expect(m.get(`cdk_mlops_serve_inference_duration_seconds_count{${L}}`)).toBe(5);
    expect(m.get(`cdk_mlops_serve_batch_size_sum{${L}}`)).toBe(5 * 3);
    expect(m.get(`cdk_mlops_serve_batch_size_bucket{${L},le="1"}`)).toBe(0);
    expect(m.get(`cdk_mlops_serve_batch_size_bucket{${L},le="2"}`)).toBe(0);
    expect(m.get(`cdk_mlops_serve_batch_size_bucket{${L},le="4"}`)).toBe(5);
    expect(m.get(`cdk_mlops_serve_queue_depth{${L}}`)).toBe(0);
    expect(m.get(`cdk_mlops_serve_model_load_seconds{${L}}`)).toBeGreaterThan(0);
    expect(m.get(`cdk_mlops_serve_model_ready{${L}}`)).toBe(1);
    // Process metrics of the runtime, under the same prefix.
    expect([...m.keys()].some((k) => k.startsWith('cdk_mlops_serve_process_resident_memory_bytes'))).toBe(true);
    // Every series is documented.
    for (const name of ['requests_total', 'request_errors_total', 'request_duration_seconds', 'inference_duration_seconds', 'batch_size', 'queue_depth', 'model_load_seconds', 'model_ready', 'reloads_total', 'prediction_log_dropped_total']) {
      expect(r.body).toMatch(new RegExp(`^# HELP cdk_mlops_serve_${name} \\S`, 'm'));
    }
  });

  test('two apps keep separate registries', async () => {
    const a = new ServeMetrics({ defaultMetrics: false });
    const b = new ServeMetrics({ defaultMetrics: false });
    a.requests.inc({ model: 'x', version: '1', variant: 'primary', code: '200' });
    expect((await b.requests.get()).values).toEqual([]);
  });
});
