import * as http from 'node:http';
import * as ort from 'onnxruntime-node';
import { fixtureBytes, memoryLogger, standardRegistry, tabularReference, testConfig } from './support/fixtures';
import { postJson } from './support/http';
import type { Registry } from '../../../src/runtime/registry/registry';
import { DynamicBatcher, RunTensor } from '../../../src/runtime/serve/batcher';
import type { ParsedInput } from '../../../src/runtime/serve/request';
import { ServeServer, startServer } from '../../../src/runtime/serve/server';

/** A seeded generator (mulberry32), so that the mixes of batch sizes are reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function input(rows: number, first: number): ParsedInput {
  return { name: 'x', datatype: 'FP32', dims: [rows, 2], data: Float32Array.from({ length: rows * 2 }, (_, i) => first + i) };
}

describe('DynamicBatcher', () => {
  test('stacks concurrent requests up to maxBatchSize rows and gives each caller exactly its own rows', async () => {
    const runs: number[] = [];
    const batcher = new DynamicBatcher({ maxBatchSize: 16, maxQueueDelayMs: 0, maxConcurrentRuns: 1 }, async (inputs, rows) => {
      runs.push(rows);
      await new Promise((r) => setTimeout(r, 2));
      const x = inputs[0].data as Float32Array;
      // y = 10 * x, and a per-row sum: two outputs of different widths.
      const y = x.map((v) => 10 * v);
      const sum = Float32Array.from({ length: rows }, (_, r) => x[2 * r] + x[2 * r + 1]);
      return { y: { dims: [rows, 2], data: y }, sum: { dims: [rows], data: sum } };
    });
    const random = rng(1);
    const sizes = Array.from({ length: 80 }, () => 1 + Math.floor(random() * 7));
    let next = 0;
    const results = await Promise.all(sizes.map((rows) => {
      const i = input(rows, next);
      next += rows * 2;
      return batcher.submit([i], rows).then((out) => ({ i, out }));
    }));
    for (const { i, out } of results) {
      const x = Array.from(i.data as Float32Array);
      expect(Array.from(out.y.data as Float32Array)).toEqual(x.map((v) => 10 * v));
      expect(out.y.dims).toEqual([i.dims[0], 2]);
      expect(Array.from(out.sum.data as Float32Array)).toEqual(Array.from({ length: i.dims[0] }, (_, r) => x[2 * r] + x[2 * r + 1]));
    }
    expect(runs.reduce((a, b) => a + b, 0)).toBe(sizes.reduce((a, b) => a + b, 0));
    expect(Math.max(...runs)).toBeLessThanOrEqual(16);
    expect(runs.length).toBeLessThan(sizes.length / 2);
    await batcher.idle();
  });

  test('with no queue delay an idle batcher runs a request at once; requests arriving meanwhile leave together', async () => {
    const runs: number[] = [];
    let finish!: () => void;
    const batcher = new DynamicBatcher({ maxBatchSize: 64, maxQueueDelayMs: 0, maxConcurrentRuns: 1 }, async (inputs, rows) => {
      runs.push(rows);
      if (runs.length === 1) await new Promise<void>((r) => { finish = r; });
      return { y: { dims: [rows, 2], data: inputs[0].data } };
    });
    const first = batcher.submit([input(1, 0)], 1);
    expect(runs).toEqual([1]);
    const others = [batcher.submit([input(2, 10)], 2), batcher.submit([input(3, 20)], 3), batcher.submit([input(1, 30)], 1)];
    expect(batcher.depth).toBe(3);
    finish();
    await Promise.all([first, ...others]);
    expect(runs).toEqual([1, 6]);
  });

  test('a request larger than maxBatchSize runs alone; requests whose other axes differ are not stacked together', async () => {
    const runs: { rows: number; width: number }[] = [];
    const batcher = new DynamicBatcher({ maxBatchSize: 4, maxQueueDelayMs: 5, maxConcurrentRuns: 1 }, async (inputs, rows) => {
      runs.push({ rows, width: inputs[0].dims[1] });
      return { y: { dims: inputs[0].dims, data: inputs[0].data } };
    });
    const wide: ParsedInput = { name: 'x', datatype: 'FP32', dims: [1, 3], data: Float32Array.from([7, 8, 9]) };
    const [big, a, w, b] = await Promise.all([
      batcher.submit([input(9, 0)], 9),
      batcher.submit([input(1, 100)], 1),
      batcher.submit([wide], 1),
      batcher.submit([input(1, 200)], 1),
    ]);
    expect(big.y.dims).toEqual([9, 2]);
    expect(Array.from(a.y.data as Float32Array)).toEqual([100, 101]);
    expect(Array.from(w.y.data as Float32Array)).toEqual([7, 8, 9]);
    expect(Array.from(b.y.data as Float32Array)).toEqual([200, 201]);
    expect(runs).toEqual([{ rows: 9, width: 2 }, { rows: 2, width: 2 }, { rows: 1, width: 3 }]);
  });

  test('when a stacked run fails, each request is retried alone so only the bad one fails', async () => {
    const batcher = new DynamicBatcher({ maxBatchSize: 64, maxQueueDelayMs: 5, maxConcurrentRuns: 1 }, async (inputs, rows) => {
      if (Array.from(inputs[0].data as Float32Array).includes(-1)) throw new Error('model refused -1');
      return { y: { dims: [rows, 2], data: inputs[0].data } };
    });
    const poisoned: ParsedInput = { name: 'x', datatype: 'FP32', dims: [1, 2], data: Float32Array.from([-1, 0]) };
    const settled = await Promise.allSettled([batcher.submit([input(1, 0)], 1), batcher.submit([poisoned], 1), batcher.submit([input(2, 10)], 2)]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(Array.from(((settled[2] as PromiseFulfilledResult<Record<string, RunTensor>>).value.y.data as Float32Array))).toEqual([10, 11, 12, 13]);
  });

  test('outputs whose axis 0 is not the stacked rows switch batching off and are answered one by one', async () => {
    const reasons: string[] = [];
    const batcher = new DynamicBatcher({ maxBatchSize: 64, maxQueueDelayMs: 5, maxConcurrentRuns: 1 }, async (inputs) => {
      const x = inputs[0].data as Float32Array;
      return { total: { dims: [1], data: Float32Array.from([x.reduce((a, b) => a + b, 0)]) } };
    }, { onDisabled: (r) => reasons.push(r) });
    const [a, b] = await Promise.all([batcher.submit([input(1, 1)], 1), batcher.submit([input(2, 5)], 2)]);
    expect(Array.from(a.total.data as Float32Array)).toEqual([3]);
    expect(Array.from(b.total.data as Float32Array)).toEqual([5 + 6 + 7 + 8]);
    expect(batcher.disabled).toBeDefined();
    expect(reasons).toEqual(["axis 0 of output 'total' is 1 for 3 stacked rows, so results cannot be split by request"]);
  });
});

describe('serve: dynamic batching over HTTP', () => {
  let registry: Registry;
  let server: ServeServer;
  let agent: http.Agent;
  const { logger, lines } = memoryLogger('info');
  const tabular = new Map<number, ort.InferenceSession>();

  beforeAll(async () => {
    ({ registry } = await standardRegistry());
    server = await startServer(testConfig(registry.uri, {
      models: [
        { name: 'tabular', ref: 1, batching: { maxBatchSize: 32, maxQueueDelayMs: 3 } },
        { name: 'all-types', ref: 1, batching: { maxBatchSize: 16, maxQueueDelayMs: 3 } },
        { name: 'fixed', ref: 1 },
      ],
    }), { registry, logger });
    agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    tabular.set(0, await ort.InferenceSession.create(fixtureBytes('tabular-mlp.onnx')));
  });
  afterAll(async () => {
    agent.destroy();
    await server.shutdown('test end');
    for (const s of tabular.values()) await s.release();
  });

  test('batching is off, with a log line naming the reason, for the model whose batch axis is fixed', () => {
    expect(server.manager.current('fixed')!.batcher).toBeUndefined();
    expect(server.manager.current('tabular')!.batcher).toBeDefined();
    expect(lines.map((l) => l.msg)).toContain("dynamic batching off for model 'fixed' version 1: axis 0 of input 'x' is fixed at 2");
  });

  test('identity model: 120 concurrent requests of 1..6 rows each get back exactly their own values, every datatype', async () => {
    const random = rng(7);
    const requests = Array.from({ length: 120 }, (_unused, k) => {
      const rows = 1 + Math.floor(random() * 6);
      const n = rows * 2;
      const v = (j: number) => k * 100 + j;
      return {
        rows,
        body: {
          id: `r${k}`,
          inputs: [
            { name: 'in_bool', shape: [rows, 2], datatype: 'BOOL', data: Array.from({ length: n }, (_, j) => (k + j) % 3 === 0) },
            { name: 'in_uint8', shape: [rows, 2], datatype: 'UINT8', data: Array.from({ length: n }, (_, j) => (k + j) % 256) },
            { name: 'in_uint16', shape: [rows, 2], datatype: 'UINT16', data: Array.from({ length: n }, (_, j) => v(j)) },
            { name: 'in_uint32', shape: [rows, 2], datatype: 'UINT32', data: Array.from({ length: n }, (_, j) => v(j)) },
            { name: 'in_uint64', shape: [rows, 2], datatype: 'UINT64', data: Array.from({ length: n }, (_, j) => v(j)) },
            { name: 'in_int8', shape: [rows, 2], datatype: 'INT8', data: Array.from({ length: n }, (_, j) => ((k + j) % 256) - 128) },
            { name: 'in_int16', shape: [rows, 2], datatype: 'INT16', data: Array.from({ length: n }, (_, j) => -((v(j) % 32767) + 1)) },
            { name: 'in_int32', shape: [rows, 2], datatype: 'INT32', data: Array.from({ length: n }, (_, j) => -(v(j) + 1)) },
            { name: 'in_int64', shape: [rows, 2], datatype: 'INT64', data: Array.from({ length: n }, (_, j) => -(v(j) + 1)) },
            { name: 'in_fp16', shape: [rows, 2], datatype: 'FP16', data: Array.from({ length: n }, (_, j) => (k % 64) + j * 0.5) },
            { name: 'in_fp32', shape: [rows, 2], datatype: 'FP32', data: Array.from({ length: n }, (_, j) => v(j) + 0.25) },
            { name: 'in_fp64', shape: [rows, 2], datatype: 'FP64', data: Array.from({ length: n }, (_, j) => v(j) + 0.125) },
            { name: 'in_bytes', shape: [rows, 2], datatype: 'BYTES', data: Array.from({ length: n }, (_, j) => `req${k}-el${j}`) },
          ],
        },
      };
    });
    const before = await server.metrics.batchSize.get();
    const responses = await Promise.all(requests.map((r) => postJson(server.url, '/v2/models/all-types/infer', r.body, {}, agent)));
    responses.forEach((res, k) => {
      expect(res.status).toBe(200);
      const body = JSON.parse(res.body);
      expect(body.id).toBe(`r${k}`);
      const req = requests[k];
      for (const o of body.outputs) {
        const inp = req.body.inputs.find((i) => i.name === o.name.replace('out_', 'in_'))!;
        let expected: unknown[] = inp.data;
        if (o.datatype === 'BOOL') expected = (inp.data as boolean[]).map((b) => !b);
        if (o.datatype === 'INT64' || o.datatype === 'FP64') expected = (inp.data as number[]).map((x) => 2 * x);
        expect({ id: body.id, name: o.name, shape: o.shape, data: o.data }).toEqual({ id: body.id, name: o.name, shape: [req.rows, 2], data: expected });
      }
    });
    const after = await server.metrics.batchSize.get();
    const count = (m: typeof after) => m.values.filter((v) => v.metricName === 'cdk_mlops_serve_batch_size_count' && v.labels.model === 'all-types').reduce((a, v) => a + v.value, 0);
    const sum = (m: typeof after) => m.values.filter((v) => v.metricName === 'cdk_mlops_serve_batch_size_sum' && v.labels.model === 'all-types').reduce((a, v) => a + v.value, 0);
    const runs = count(after) - count(before);
    const rows = sum(after) - sum(before);
    expect(rows).toBe(requests.reduce((a, r) => a + r.rows, 0));
    // Coalesced: fewer runs than requests.
    expect(runs).toBeLessThan(requests.length);
  });

  test('tabular model: concurrent requests of mixed sizes get their own predictions (as onnxruntime gives each alone)', async () => {
    const ref = tabularReference();
    const random = rng(3);
    const session = tabular.get(0)!;
    const requests = Array.from({ length: 60 }, () => {
      const rows = 1 + Math.floor(random() * 5);
      return Array.from({ length: rows }, () => ref.rows[Math.floor(random() * ref.rows.length)]);
    });
    const responses = await Promise.all(requests.map((rows, k) => postJson(server.url, '/v2/models/tabular/infer', { id: String(k), inputs: [{ name: 'input', shape: [rows.length, 30], datatype: 'FP32', data: rows }] }, {}, agent)));
    for (let k = 0; k < requests.length; k++) {
      const body = JSON.parse(responses[k].body);
      expect(body.id).toBe(String(k));
      const alone = await session.run({ input: new ort.Tensor('float32', Float32Array.from(requests[k].flat()), [requests[k].length, 30]) });
      const [probs, label] = body.outputs;
      expect(label.data).toEqual(Array.from(alone.label.data as BigInt64Array, Number));
      expect(probs.shape).toEqual([requests[k].length, 2]);
      // Stacked rows may take another GEMM path than a lone request: equal to float32 precision.
      (probs.data as number[]).forEach((p, i) => expect(Math.abs(p - (alone.probabilities.data as Float32Array)[i])).toBeLessThan(1e-6));
    }
  });
});
