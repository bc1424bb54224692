import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildTestApp, fixtureSignature, memoryLogger, standardRegistry, tabularReference, tempDir, testConfig } from './support/fixtures';
import type { Registry } from '../../../src/runtime/registry/registry';
import type { PredictionRecord } from '../../../src/runtime/registry/types';
import { ServeMetrics } from '../../../src/runtime/serve/metrics';
import { PendingPrediction, PredictionLogger, PredictionSink, estimatePredictionBytes, openPredictionSink, toPredictionRecord } from '../../../src/runtime/serve/prediction-log';
import { FakeS3 } from '../../support/fake-s3';

const ref = tabularReference();
const LABELS = ref.models['tabular-mlp.onnx'].labels;
const KEY = /^tabular\/(\d{4})\/(\d{2})\/(\d{2})\/(\d{2})\/[0-9TZ]+-\d+-\d+-[0-9a-f]{8}\.jsonl$/;

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(dir, p).split(path.sep).join('/'));
    }
  };
  walk(dir);
  return out.sort();
}

function readRecords(dir: string): PredictionRecord[] {
  return filesUnder(dir).flatMap((f) => fs.readFileSync(path.join(dir, f), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as PredictionRecord));
}

function pending(overrides: Partial<PendingPrediction> = {}): PendingPrediction {
  return {
    id: 'r1',
    model: 'tabular',
    version: 1,
    variant: 'primary',
    at: Date.UTC(2026, 0, 2, 3, 4, 5),
    rows: 2,
    inputs: [{ name: 'input', datatype: 'FP32', dims: [2, 30], data: Float32Array.from([...ref.rows[0], ...ref.rows[1]]) }],
    outputs: [
      { name: 'probabilities', datatype: 'FP32', dims: [2, 2], data: Float32Array.from([0.9, 0.1, 0.2, 0.8]) },
      { name: 'label', datatype: 'INT64', dims: [2], data: BigInt64Array.from([0n, 1n]) },
    ],
    signature: fixtureSignature('tabular-mlp.onnx'),
    ...overrides,
  };
}

describe('PredictionRecord', () => {
  test('rows keyed by the signature feature names; the label output is the prediction', () => {
    const r = toPredictionRecord(pending());
    expect(Object.keys(r)).toEqual(['id', 'model', 'version', 'variant', 'ts', 'inputs', 'outputs', 'scores']);
    expect(r).toMatchObject({ id: 'r1', model: 'tabular', version: 1, variant: 'primary', ts: '2026-01-02T03:04:05.000Z', outputs: [0, 1] });
    // the class probabilities, per row in the signature's class order (FP32 values as stored)
    expect(r.scores).toEqual([[Math.fround(0.9), Math.fround(0.1)], [Math.fround(0.2), Math.fround(0.8)]]);
    expect(r.inputs).toHaveLength(2);
    expect(Object.keys(r.inputs[0])).toEqual(ref.featureNames);
    expect(r.inputs[1].mean_radius).toBe(Math.fround(ref.rows[1][0]));
  });

  test('only probabilities: the class of highest probability; no signature: input names, indexed when several per row', () => {
    const p = pending();
    expect(toPredictionRecord({ ...p, outputs: [p.outputs[0]] }).outputs).toEqual([0, 1]);
    const bare = toPredictionRecord({
      ...p,
      signature: undefined,
      rows: 2,
      inputs: [
        { name: 'flag', datatype: 'BOOL', dims: [2, 1], data: Uint8Array.from([1, 0]) },
        { name: 'pair', datatype: 'BYTES', dims: [2, 2], data: ['a', 'b', 'c', 'd'] },
      ],
      outputs: [{ name: 'score', datatype: 'FP64', dims: [2, 1], data: Float64Array.from([0.5, NaN]) }],
    });
    expect(bare.inputs).toEqual([{ 'flag': true, 'pair[0]': 'a', 'pair[1]': 'b' }, { 'flag': false, 'pair[0]': 'c', 'pair[1]': 'd' }]);
    expect(bare.outputs).toEqual([0.5, null]);
    expect(bare.scores).toBeUndefined();
  });

  test('scores only from a floating-point output of one value per class; none for regression', () => {
    const p = pending();
    // a label output alone: no scores
    expect(toPredictionRecord({ ...p, outputs: [p.outputs[1]] }).scores).toBeUndefined();
    // an output of the wrong width is not taken for probabilities
    const three = { name: 'logits', datatype: 'FP32' as const, dims: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) };
    expect(toPredictionRecord({ ...p, outputs: [three, p.outputs[1]] }).scores).toBeUndefined();
    // regression: never scores
    const regression = { ...p.signature!, task: 'regression' as const, classes: undefined };
    const r = toPredictionRecord({ ...p, signature: regression, outputs: [{ name: 'y', datatype: 'FP64', dims: [2, 1], data: Float64Array.from([1.5, 2.5]) }] });
    expect(r.outputs).toEqual([1.5, 2.5]);
    expect(r.scores).toBeUndefined();
  });
});

describe('serve: prediction logging', () => {
  let registry: Registry;
  beforeAll(async () => {
    ({ registry } = await standardRegistry());
  });

  type LogOptions = Partial<{ sampleRate: number; maxQueue: number; maxQueueBytes: number; flushIntervalMs: number; maxRecordsPerFile: number }>;
  async function serveWith(sink: PredictionSink, options: LogOptions = {}, random?: () => number) {
    const metrics = new ServeMetrics({ defaultMetrics: false });
    const { logger, lines } = memoryLogger();
    const log = new PredictionLogger({ sampleRate: 1, maxQueue: 1000, flushIntervalMs: 600_000, maxRecordsPerFile: 1000, ...options }, sink, metrics, logger, random);
    const t = await buildTestApp(testConfig(registry.uri, { models: [{ name: 'tabular', ref: 1, variant: 'canary' }] }), registry, { predictionLog: log, metrics });
    const infer = (rows: number[][], id?: string) => t.app.inject({
      method: 'POST',
      url: '/v2/models/tabular/infer',
      headers: { 'content-type': 'application/json' },
      payload: { ...(id ? { id } : {}), inputs: [{ name: 'input', shape: [rows.length, 30], datatype: 'FP32', data: rows }] },
    });
    return { t, log, metrics, infer, lines };
  }

  test('to a local directory: one JSON line per request, under <model>/<yyyy>/<mm>/<dd>/<hh>/, written whole', async () => {
    const dir = tempDir('plog');
    const { t, log, metrics, infer } = await serveWith(openPredictionSink(dir));
    try {
      for (let i = 0; i < 10; i++) expect((await infer(ref.rows.slice(i, i + 2), `req-${i}`)).statusCode).toBe(200);
      const noId = await infer(ref.rows.slice(0, 1));
      expect(log.pending).toBe(11);
      await log.flush();
      const files = filesUnder(dir);
      expect(files).toHaveLength(1);
      expect(files[0]).toMatch(KEY);
      const now = new Date();
      const [, y, m] = KEY.exec(files[0])!;
      expect(Number(y)).toBe(now.getUTCFullYear());
      expect(Number(m)).toBe(now.getUTCMonth() + 1);
      const records = readRecords(dir);
      expect(records).toHaveLength(11);
      records.slice(0, 10).forEach((r, i) => {
        expect(r).toMatchObject({ id: `req-${i}`, model: 'tabular', version: 1, variant: 'canary', outputs: LABELS.slice(i, i + 2) });
        expect(new Date(r.ts).toISOString()).toBe(r.ts);
        expect(r.inputs.map((row) => row.worst_radius)).toEqual(ref.rows.slice(i, i + 2).map((row) => Math.fround(row[20])));
      });
      expect(records[10].id).toBe(noId.headers['x-request-id']);
      expect((await metrics.predictionLogWritten.get()).values[0].value).toBe(11);
      // Nothing half-written is ever visible: no temporary files are left.
      expect(files.filter((f) => f.includes('.tmp'))).toEqual([]);
    } finally {
      await t.close();
      await log.close();
    }
  });

  test('sampling: a rate of 0.25 logs exactly the requests whose draw falls under it', async () => {
    const dir = tempDir('plog');
    let seed = 12345;
    const draws: number[] = [];
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      const v = seed / 2147483648;
      draws.push(v);
      return v;
    };
    const { t, log, infer } = await serveWith(openPredictionSink(dir), { sampleRate: 0.25 }, random);
    try {
      for (let i = 0; i < 40; i++) await infer([ref.rows[i % 20]], `s-${i}`);
      await log.flush();
      const expected = draws.map((d, i) => (d < 0.25 ? `s-${i}` : undefined)).filter((x) => x !== undefined);
      expect(expected.length).toBeGreaterThan(3);
      expect(expected.length).toBeLessThan(25);
      expect(readRecords(dir).map((r) => r.id)).toEqual(expected);
    } finally {
      await t.close();
      await log.close();
    }
  });

  test('a stalled writer never blocks requests: the bounded queue drops and counts, and the rest is written once it recovers', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const written: string[] = [];
    const sink: PredictionSink = {
      uri: 'memory://stalled',
      write: async (_key, body) => {
        await gate;
        written.push(...body.toString('utf8').trim().split('\n'));
      },
    };
    const { t, log, metrics, infer, lines } = await serveWith(sink, { maxQueue: 5, maxRecordsPerFile: 3 });
    try {
      const start = Date.now();
      for (let i = 0; i < 20; i++) expect((await infer([ref.rows[0]], `q-${i}`)).statusCode).toBe(200);
      expect(Date.now() - start).toBeLessThan(5000);
      const dropped = (await metrics.predictionLogDropped.get()).values.find((v) => v.labels.reason === 'queue_full')?.value ?? 0;
      // The writer took the first 3 (and is stuck on them); 5 wait in the queue; 12 were dropped.
      expect(dropped).toBe(12);
      expect(lines.some((l) => String(l.msg).startsWith('prediction log dropped'))).toBe(true);
      release();
      await log.flush();
      expect(written.length + dropped).toBe(20);
      expect(written.map((l) => (JSON.parse(l) as PredictionRecord).id)).toEqual(['q-0', 'q-1', 'q-2', 'q-3', 'q-4', 'q-5', 'q-6', 'q-7']);
    } finally {
      release();
      await t.close();
      await log.close();
    }
  });

  test('the queue is bounded in bytes too: records past maxQueueBytes are dropped and counted (queue_bytes), large requests first', async () => {
    // One tabular row holds 30 FP32 inputs (120 B), 2 FP32 probabilities (8 B) and one INT64 label (8 B), plus 256 B per record.
    const oneRow = 256 + 120 + 8 + 8;
    const eightRows = 256 + 8 * (120 + 8 + 8);
    const written: string[] = [];
    const sink: PredictionSink = { uri: 'memory://bytes', write: async (_key, body) => { written.push(...body.toString('utf8').trim().split('\n')); } };
    const { t, log, metrics, infer, lines } = await serveWith(sink, { maxQueue: 1000, maxRecordsPerFile: 1000, maxQueueBytes: 5 * oneRow + 100 });
    const droppedFor = async (reason: string) => (await metrics.predictionLogDropped.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
    try {
      expect((await infer(ref.rows.slice(0, 8), 'big-0')).statusCode).toBe(200);
      expect(log.pendingBytes).toBe(eightRows);
      for (let i = 0; i < 6; i++) expect((await infer([ref.rows[i]], `small-${i}`)).statusCode).toBe(200);
      // Budget 2060 B: the 8-row record (1344 B) and one 1-row record (1736 B in all) fit; each further one (2128 B) does not.
      expect(log.pending).toBe(2);
      expect(log.pendingBytes).toBe(eightRows + oneRow);
      expect(await droppedFor('queue_bytes')).toBe(5);
      expect(await droppedFor('queue_full')).toBe(0);
      expect(lines.find((l) => l.reason === 'queue_bytes')).toMatchObject({ msg: 'prediction log dropped 1 record(s) (queue_bytes); the writer cannot keep up or has stopped', maxQueueBytes: 5 * oneRow + 100 });
      await log.flush();
      expect(log.pendingBytes).toBe(0);
      expect(written.map((l) => (JSON.parse(l) as PredictionRecord).id)).toEqual(['big-0', 'small-0']);
      // Once written, the budget is free again: five one-row records fit, the sixth does not.
      for (let i = 0; i < 6; i++) expect((await infer([ref.rows[i]], `again-${i}`)).statusCode).toBe(200);
      expect(log.pending).toBe(5);
      expect(await droppedFor('queue_bytes')).toBe(6);
    } finally {
      await t.close();
      await log.close();
    }
  });

  test('maxQueueBytes in the serve config: 64 MiB by default, at least 1024', async () => {
    const { ServePredictionLogSchema } = await import('../../../src/runtime/config/serve');
    expect(ServePredictionLogSchema.parse({ uri: '/logs' }).maxQueueBytes).toBe(64 * 1024 * 1024);
    expect(ServePredictionLogSchema.parse({ uri: '/logs', maxQueueBytes: 4096 }).maxQueueBytes).toBe(4096);
    const bad = ServePredictionLogSchema.safeParse({ uri: '/logs', maxQueueBytes: 10 });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0].path).toEqual(['maxQueueBytes']);
  });

  test('the byte estimate follows the tensors: typed arrays by byte length, strings by length', () => {
    const f32 = { name: 'x', datatype: 'FP32' as const, dims: [2, 3], data: new Float32Array(6) };
    const bytes = { name: 's', datatype: 'BYTES' as const, dims: [2], data: ['ab', 'cdef'] };
    expect(estimatePredictionBytes({ inputs: [f32], outputs: [] })).toBe(256 + 24);
    expect(estimatePredictionBytes({ inputs: [f32, bytes], outputs: [{ name: 'y', datatype: 'INT64', dims: [2], data: new BigInt64Array(2) }] })).toBe(256 + 24 + (32 + 4) + (32 + 8) + 16);
  });

  test('a failing writer: the records are counted as dropped and the failure logged, requests unaffected', async () => {
    const sink: PredictionSink = { uri: 'memory://broken', write: async () => { throw new Error('disk full'); } };
    const { t, log, metrics, infer, lines } = await serveWith(sink);
    try {
      for (let i = 0; i < 4; i++) expect((await infer([ref.rows[0]])).statusCode).toBe(200);
      await log.flush();
      expect((await metrics.predictionLogDropped.get()).values.find((v) => v.labels.reason === 'write_error')?.value).toBe(4);
      expect(lines.find((l) => l.level === 50)?.msg).toBe('prediction log write to memory://broken failed; 4 record(s) dropped');
    } finally {
      await t.close();
      await log.close();
    }
  });

  test('to S3: objects of at most maxRecordsPerFile records under the prefix, same key scheme, as JSON lines', async () => {
    const s3 = new FakeS3(['logs']);
    await s3.start();
    try {
      const sink = openPredictionSink('s3://logs/predictions/prod', s3.s3Options);
      const { t, log, infer } = await serveWith(sink, { maxRecordsPerFile: 4 });
      try {
        for (let i = 0; i < 6; i++) await infer([ref.rows[i]], `s3-${i}`);
        await log.close();
        const keys = [...s3.buckets.get('logs')!.keys()].sort();
        // A flush is due once 4 records wait: at least two objects, none over 4 records.
        expect(keys.length).toBeGreaterThanOrEqual(2);
        for (const k of keys) expect(k.slice('predictions/prod/'.length)).toMatch(KEY);
        const objects = keys.map((k) => s3.object('logs', k)!.toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as PredictionRecord));
        for (const o of objects) expect(o.length).toBeLessThanOrEqual(4);
        const records = objects.flat();
        expect(records.map((r) => r.id).sort()).toEqual(['s3-0', 's3-1', 's3-2', 's3-3', 's3-4', 's3-5']);
        expect(records.find((r) => r.id === 's3-3')!.outputs).toEqual([LABELS[3]]);
        const put = s3.requests.find((r) => r.method === 'PUT');
        expect(put?.headers['content-type']).toBe('application/x-ndjson');
      } finally {
        await t.close();
      }
    } finally {
      await s3.stop();
    }
  });

  test('unsupported URIs are refused with the URI named', () => {
    expect(() => openPredictionSink('gs://bucket/x')).toThrow('predictionLog.uri "gs://bucket/x": unsupported scheme; expected a directory, file:// or s3://');
    expect(() => openPredictionSink('s3:///x')).toThrow('predictionLog.uri "s3:///x" names no bucket; expected s3://bucket/prefix');
  });
});
