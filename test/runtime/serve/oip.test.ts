import * as ort from 'onnxruntime-node';
import { TestApp, buildTestApp, fixtureBytes, standardRegistry, tabularReference, testConfig } from './support/fixtures';
import type { Registry } from '../../../src/runtime/registry/registry';
import { Lifecycle } from '../../../src/runtime/serve/app';
import { fromFloat16Bits, toFloat16Bits } from '../../../src/runtime/serve/datatypes';

/**
 * Open Inference Protocol v2 REST conformance, field by field, for every endpoint and every
 * datatype the fixture models use; predictions compared with onnxruntime run in process on
 * the same bytes, and with the numpy reference computed when the fixtures were made.
 */
describe('serve: Open Inference Protocol v2 REST', () => {
  let registry: Registry;
  let t: TestApp;
  const lifecycle = new Lifecycle();
  const sessions: ort.InferenceSession[] = [];
  const json = { 'content-type': 'application/json' };

  async function session(file: string): Promise<ort.InferenceSession> {
    const s = await ort.InferenceSession.create(fixtureBytes(file));
    sessions.push(s);
    return s;
  }

  beforeAll(async () => {
    ({ registry } = await standardRegistry());
    t = await buildTestApp(testConfig(registry.uri), registry, { lifecycle });
  });
  afterAll(async () => {
    await t.close();
    for (const s of sessions) await s.release();
  });

  describe('health', () => {
    test('GET /v2/health/live answers 200 with an empty body', async () => {
      const r = await t.app.inject({ method: 'GET', url: '/v2/health/live' });
      expect(r.statusCode).toBe(200);
      expect(r.body).toBe('');
    });

    test('GET /v2/health/ready answers 200 with an empty body once every model is warmed', async () => {
      const r = await t.app.inject({ method: 'GET', url: '/v2/health/ready' });
      expect(r.statusCode).toBe(200);
      expect(r.body).toBe('');
    });

    test('GET /v2/models/{name}[/versions/{v}]/ready: 200 for a served version, 404 otherwise', async () => {
      for (const url of ['/v2/models/tabular/ready', '/v2/models/tabular/versions/1/ready', '/v2/models/all-types/ready', '/v2/models/fixed/versions/1/ready']) {
        const r = await t.app.inject({ method: 'GET', url });
        expect({ url, status: r.statusCode, body: r.body }).toEqual({ url, status: 200, body: '' });
      }
      const v = await t.app.inject({ method: 'GET', url: '/v2/models/tabular/versions/2/ready' });
      expect(v.statusCode).toBe(404);
      expect(v.json()).toEqual({ error: "model 'tabular' has no version \"2\" served here; this server serves version 1" });
      const m = await t.app.inject({ method: 'GET', url: '/v2/models/nope/ready' });
      expect(m.statusCode).toBe(404);
      expect(m.json()).toEqual({ error: "model 'nope' is not served here; served models: 'all-types', 'fixed', 'tabular'" });
    });
  });

  test('GET /v2 answers the server metadata: name, version, extensions', async () => {
    for (const url of ['/v2', '/v2/']) {
      const r = await t.app.inject({ method: 'GET', url });
      expect(r.statusCode).toBe(200);
      expect(r.headers['content-type']).toMatch(/^application\/json/);
      expect(r.json()).toEqual({ name: 'cdk-mlops', version: '1.2.3', extensions: [] });
    }
  });

  describe('model metadata', () => {
    const tabular = {
      name: 'tabular',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 30] }],
      outputs: [
        { name: 'probabilities', datatype: 'FP32', shape: [-1, 2] },
        { name: 'label', datatype: 'INT64', shape: [-1] },
      ],
    };

    test('GET /v2/models/{name} and /versions/{v} give name, versions, platform, inputs and outputs from the ONNX graph', async () => {
      for (const url of ['/v2/models/tabular', '/v2/models/tabular/versions/1']) {
        const r = await t.app.inject({ method: 'GET', url });
        expect(r.statusCode).toBe(200);
        expect(r.json()).toEqual(tabular);
      }
      const fixed = await t.app.inject({ method: 'GET', url: '/v2/models/fixed' });
      expect(fixed.json()).toEqual({
        name: 'fixed',
        versions: ['1'],
        platform: 'onnxruntime_onnx',
        inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3] }],
        outputs: [{ name: 'y', datatype: 'FP32', shape: [2, 3] }],
      });
    });

    test('every OIP datatype is reported with its own name', async () => {
      const r = await t.app.inject({ method: 'GET', url: '/v2/models/all-types' });
      const types = ['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES'];
      expect(r.json()).toEqual({
        name: 'all-types',
        versions: ['1'],
        platform: 'onnxruntime_onnx',
        inputs: types.map((d) => ({ name: `in_${d.toLowerCase()}`, datatype: d, shape: [-1, 2] })),
        outputs: types.map((d) => ({ name: `out_${d.toLowerCase()}`, datatype: d, shape: [-1, 2] })),
      });
    });

    test('an unknown model or version is 404 with {"error"}', async () => {
      const a = await t.app.inject({ method: 'GET', url: '/v2/models/unknown' });
      expect(a.statusCode).toBe(404);
      expect(Object.keys(a.json())).toEqual(['error']);
      const b = await t.app.inject({ method: 'GET', url: '/v2/models/tabular/versions/7' });
      expect(b.statusCode).toBe(404);
      expect(b.json().error).toContain('serves version 1');
    });
  });

  describe('inference', () => {
    test('tabular model: 20 rows give exactly what onnxruntime gives in process, and the numpy reference', async () => {
      const ref = tabularReference();
      const rows = ref.rows;
      const r = await t.app.inject({
        method: 'POST',
        url: '/v2/models/tabular/infer',
        headers: json,
        payload: { id: 'req-42', inputs: [{ name: 'input', shape: [rows.length, 30], datatype: 'FP32', data: rows.flat() }] },
      });
      expect(r.statusCode).toBe(200);
      expect(r.headers['content-type']).toMatch(/^application\/json/);
      const body = r.json();
      expect(Object.keys(body)).toEqual(['model_name', 'model_version', 'id', 'outputs']);
      expect(body.model_name).toBe('tabular');
      expect(body.model_version).toBe('1');
      expect(body.id).toBe('req-42');
      expect(body.outputs.map((o: { name: string }) => o.name)).toEqual(['probabilities', 'label']);
      const [probs, label] = body.outputs;
      expect(Object.keys(probs)).toEqual(['name', 'datatype', 'shape', 'data']);
      expect(probs).toMatchObject({ datatype: 'FP32', shape: [20, 2] });
      expect(label).toMatchObject({ datatype: 'INT64', shape: [20] });

      const s = await session('tabular-mlp.onnx');
      const direct = await s.run({ input: new ort.Tensor('float32', Float32Array.from(rows.flat()), [20, 30]) });
      expect(probs.data).toEqual(Array.from(direct.probabilities.data as Float32Array));
      expect(label.data).toEqual(Array.from(direct.label.data as BigInt64Array, Number));

      const expected = ref.models['tabular-mlp.onnx'];
      expect(label.data).toEqual(expected.labels);
      probs.data.forEach((p: number, i: number) => expect(p).toBeCloseTo(expected.probabilities[Math.floor(i / 2)][i % 2], 5));
    });

    test('nested data (the natural shape) gives the same answer as flat data; no id, no id in the answer', async () => {
      const rows = tabularReference().rows.slice(0, 3);
      const flat = await t.app.inject({ method: 'POST', url: '/v2/models/tabular/infer', headers: json, payload: { inputs: [{ name: 'input', shape: [3, 30], datatype: 'FP32', data: rows.flat() }] } });
      const nested = await t.app.inject({ method: 'POST', url: '/v2/models/tabular/infer', headers: json, payload: { inputs: [{ name: 'input', shape: [3, 30], datatype: 'FP32', data: rows }] } });
      expect(nested.statusCode).toBe(200);
      expect(nested.json()).toEqual(flat.json());
      expect(Object.keys(nested.json())).toEqual(['model_name', 'model_version', 'outputs']);
    });

    test('only the requested outputs come back, in the order asked; parameters are accepted', async () => {
      const rows = tabularReference().rows.slice(0, 2);
      const r = await t.app.inject({
        method: 'POST',
        url: '/v2/models/tabular/versions/1/infer',
        headers: json,
        payload: {
          id: 'x',
          parameters: { note: 'hello', n: 1, flag: true },
          inputs: [{ name: 'input', shape: [2, 30], datatype: 'FP32', data: rows.flat(), parameters: { layout: 'rows' } }],
          outputs: [{ name: 'label', parameters: { any: 1 } }],
        },
      });
      expect(r.statusCode).toBe(200);
      const body = r.json();
      expect(body.outputs).toHaveLength(1);
      expect(body.outputs[0]).toEqual({ name: 'label', datatype: 'INT64', shape: [2], data: tabularReference().models['tabular-mlp.onnx'].labels.slice(0, 1).concat(tabularReference().models['tabular-mlp.onnx'].labels.slice(1, 2)) });
      const both = await t.app.inject({
        method: 'POST',
        url: '/v2/models/tabular/infer',
        headers: json,
        payload: { inputs: [{ name: 'input', shape: [2, 30], datatype: 'FP32', data: rows.flat() }], outputs: [{ name: 'label' }, { name: 'probabilities' }] },
      });
      expect(both.json().outputs.map((o: { name: string }) => o.name)).toEqual(['label', 'probabilities']);
    });

    test('every datatype: values in, the graph applied (identity, x + x, not), values out, as onnxruntime gives them', async () => {
      const values: Record<string, unknown[]> = {
        BOOL: [true, false, false, true],
        UINT8: [0, 255, 7, 128],
        UINT16: [0, 65535, 1, 300],
        UINT32: [0, 4294967295, 2, 70000],
        UINT64: [0, Number.MAX_SAFE_INTEGER, 3, 1],
        INT8: [-128, 127, 0, -1],
        INT16: [-32768, 32767, 5, -5],
        INT32: [-2147483648, 2147483647, 9, -9],
        INT64: [-4503599627370496, 4503599627370495, 12, -12],
        FP16: [1.5, -2, 65504, 0.0999755859375],
        FP32: [1.5, -2.25, 3.4e38, 1e-20],
        FP64: [1.5, -2.25, 1e300, 5e-324],
        BYTES: ['a', 'héllo', '', '日本語'],
      };
      const inputs = Object.entries(values).map(([d, data]) => ({ name: `in_${d.toLowerCase()}`, shape: [2, 2], datatype: d, data }));
      const r = await t.app.inject({ method: 'POST', url: '/v2/models/all-types/infer', headers: json, payload: { id: 'types', inputs } });
      expect(r.statusCode).toBe(200);
      const body = r.json();
      expect(body.outputs.map((o: { name: string }) => o.name)).toEqual(Object.keys(values).map((d) => `out_${d.toLowerCase()}`));

      const expected: Record<string, unknown[]> = {
        ...values,
        BOOL: [false, true, true, false],
        INT64: (values.INT64 as number[]).map((v) => 2 * v),
        FP64: [3, -4.5, 2e300, 1e-323],
        FP32: (values.FP32 as number[]).map((v) => Math.fround(v)),
      };
      for (const o of body.outputs) {
        const d = o.datatype as string;
        expect({ name: o.name, shape: o.shape, data: o.data }).toEqual({ name: `out_${d.toLowerCase()}`, shape: [2, 2], data: expected[d] });
      }

      // The same feeds through onnxruntime in process.
      const s = await session('all-types.onnx');
      const feeds: Record<string, ort.Tensor> = {
        in_bool: new ort.Tensor('bool', Uint8Array.from(values.BOOL as boolean[], (b) => (b ? 1 : 0)), [2, 2]),
        in_uint8: new ort.Tensor('uint8', Uint8Array.from(values.UINT8 as number[]), [2, 2]),
        in_uint16: new ort.Tensor('uint16', Uint16Array.from(values.UINT16 as number[]), [2, 2]),
        in_uint32: new ort.Tensor('uint32', Uint32Array.from(values.UINT32 as number[]), [2, 2]),
        in_uint64: new ort.Tensor('uint64', BigUint64Array.from(values.UINT64 as number[], BigInt), [2, 2]),
        in_int8: new ort.Tensor('int8', Int8Array.from(values.INT8 as number[]), [2, 2]),
        in_int16: new ort.Tensor('int16', Int16Array.from(values.INT16 as number[]), [2, 2]),
        in_int32: new ort.Tensor('int32', Int32Array.from(values.INT32 as number[]), [2, 2]),
        in_int64: new ort.Tensor('int64', BigInt64Array.from(values.INT64 as number[], BigInt), [2, 2]),
        in_fp16: new ort.Tensor('float16', Uint16Array.from(values.FP16 as number[], toFloat16Bits), [2, 2]),
        in_fp32: new ort.Tensor('float32', Float32Array.from(values.FP32 as number[]), [2, 2]),
        in_fp64: new ort.Tensor('float64', Float64Array.from(values.FP64 as number[]), [2, 2]),
        in_bytes: new ort.Tensor('string', values.BYTES as string[], [2, 2]),
      };
      const direct = await s.run(feeds);
      for (const o of body.outputs) {
        const t2 = direct[o.name];
        let data: unknown[];
        if (o.datatype === 'BOOL') data = Array.from(t2.data as Uint8Array, (v) => v !== 0);
        else if (o.datatype === 'FP16') data = Array.from(t2.data as Uint16Array, fromFloat16Bits);
        else if (o.datatype === 'INT64' || o.datatype === 'UINT64') data = Array.from(t2.data as BigInt64Array, Number);
        else data = Array.from(t2.data as ArrayLike<unknown>);
        expect({ name: o.name, data: o.data, dims: o.shape }).toEqual({ name: o.name, data, dims: Array.from(t2.dims) });
      }
    });

    test('64-bit integers beyond 2^53 keep every digit in the response', async () => {
      const { tensorDataJson } = await import('../../../src/runtime/serve/response');
      expect(tensorDataJson('INT64', BigInt64Array.from([9223372036854775807n, -9223372036854775808n]))).toBe('[9223372036854775807,-9223372036854775808]');
      expect(tensorDataJson('UINT64', BigUint64Array.from([18446744073709551615n]))).toBe('[18446744073709551615]');
      expect(tensorDataJson('FP32', Float32Array.from([1, NaN, Infinity]))).toBe('[1,null,null]');
    });

    test('a model with a fixed batch axis answers its fixed shape', async () => {
      const r = await t.app.inject({ method: 'POST', url: '/v2/models/fixed/infer', headers: json, payload: { inputs: [{ name: 'x', shape: [2, 3], datatype: 'FP32', data: [[1, 2, 3], [4, 5, 6.5]] }] } });
      expect(r.statusCode).toBe(200);
      expect(r.json()).toEqual({ model_name: 'fixed', model_version: '1', outputs: [{ name: 'y', datatype: 'FP32', shape: [2, 3], data: [2, 4, 6, 8, 10, 13] }] });
    });

    test('application/json with a charset is accepted; other content types are 415', async () => {
      const payload = JSON.stringify({ inputs: [{ name: 'x', shape: [2, 3], datatype: 'FP32', data: [1, 2, 3, 4, 5, 6] }] });
      const ok = await t.app.inject({ method: 'POST', url: '/v2/models/fixed/infer', headers: { 'content-type': 'application/json; charset=utf-8' }, payload });
      expect(ok.statusCode).toBe(200);
      const bad = await t.app.inject({ method: 'POST', url: '/v2/models/fixed/infer', headers: { 'content-type': 'text/plain' }, payload });
      expect(bad.statusCode).toBe(415);
      expect(bad.json()).toEqual({ error: 'content-type "text/plain" is not supported; send application/json' });
    });
  });

  test('every response carries x-request-id; a valid incoming one is kept', async () => {
    const a = await t.app.inject({ method: 'GET', url: '/v2/health/live' });
    expect(a.headers['x-request-id']).toMatch(/^[0-9a-f]{12}-[0-9a-z]+$/);
    const a2 = await t.app.inject({ method: 'GET', url: '/v2/health/live' });
    expect(a2.headers['x-request-id']).not.toBe(a.headers['x-request-id']);
    const b = await t.app.inject({ method: 'GET', url: '/v2/health/live', headers: { 'x-request-id': 'abc-123' } });
    expect(b.headers['x-request-id']).toBe('abc-123');
    const c = await t.app.inject({ method: 'GET', url: '/v2/health/live', headers: { 'x-request-id': 'bad id with spaces' } });
    expect(c.headers['x-request-id']).not.toBe('bad id with spaces');
  });

  test('an unexpected failure is a 500 that names only the request id; the log has the error', async () => {
    const { registry: r } = await standardRegistry();
    const failing = await buildTestApp(testConfig(r.uri, { models: [{ name: 'tabular', ref: 1 }] }), r, {
      features: { enrich: async () => { throw new Error('connection to 10.0.0.7:5432 refused (password=hunter2)'); }, close: async () => undefined },
    });
    try {
      const res = await failing.app.inject({ method: 'POST', url: '/v2/models/tabular/infer', headers: { 'content-type': 'application/json', 'x-request-id': 'req-500' }, payload: { inputs: [] } });
      expect(res.statusCode).toBe(500);
      expect(res.json()).toEqual({ error: 'internal error; the server log has the details under request id req-500' });
      const logged = failing.lines.find((l) => l.level === 50)!;
      expect(logged).toMatchObject({ reqId: 'req-500', status: 500, msg: '500 answered to POST /v2/models/tabular/infer' });
      expect(JSON.stringify(logged.err)).toContain('password=hunter2');
      // The request is counted as an internal error, and the server goes on serving.
      const errors = (await failing.metrics.errors.get()).values.find((v) => v.labels.reason === 'internal');
      expect(errors?.value).toBe(1);
      expect((await failing.app.inject({ method: 'GET', url: '/v2/health/ready' })).statusCode).toBe(200);
    } finally {
      await failing.close();
    }
  });

  test('readiness turns 503 when the server drains (liveness stays 200)', async () => {
    lifecycle.draining = true;
    try {
      const r = await t.app.inject({ method: 'GET', url: '/v2/health/ready' });
      expect(r.statusCode).toBe(503);
      expect(r.json()).toEqual({ error: 'server is shutting down' });
      expect((await t.app.inject({ method: 'GET', url: '/v2/models/tabular/ready' })).statusCode).toBe(503);
      expect((await t.app.inject({ method: 'GET', url: '/v2/health/live' })).statusCode).toBe(200);
    } finally {
      lifecycle.draining = false;
    }
  });
});
