import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { buildTestApp, memoryLogger, tempDir, testConfig } from './support/fixtures';
import { TrainConfigSchema } from '../../../src/runtime/config/train';
import { openRegistry } from '../../../src/runtime/registry/registry';
import type { PredictionRecord } from '../../../src/runtime/registry/types';
import { ServeMetrics } from '../../../src/runtime/serve/metrics';
import { PredictionLogger, openPredictionSink } from '../../../src/runtime/serve/prediction-log';
import { train } from '../../../src/runtime/train/harness';

/**
 * Models produced by the training runtime's built-in trainers (what `cdk-mlops train`
 * registers), served end to end: the metadata is the signature the trainer exported, and every
 * row of the data set gets exactly what onnxruntime gives in process on the registered bytes.
 */

const DATA = path.join(__dirname, '..', '..', 'fixtures', 'data');

function csv(file: string): { names: string[]; rows: number[][] } {
  const [header, ...lines] = fs.readFileSync(path.join(DATA, file), 'utf8').trim().split('\n');
  const names = header.split(',').slice(0, -1);
  return { names, rows: lines.map((l) => l.split(',').slice(0, -1).map(Number)) };
}

describe('serve: models from the built-in trainers', () => {
  const dir = tempDir('trained');
  const registry = openRegistry(dir);

  beforeAll(async () => {
    await train(TrainConfigSchema.parse({ model: 'cancer-lr', registry: dir, data: { uri: path.join(DATA, 'breast_cancer.csv') }, trainer: 'logistic-regression' }));
    await train(TrainConfigSchema.parse({ model: 'diabetes-ridge', registry: dir, data: { uri: path.join(DATA, 'diabetes.csv') }, trainer: 'ridge' }));
  }, 120_000);

  test.each([
    ['cancer-lr', 'breast_cancer.csv'],
    ['diabetes-ridge', 'diabetes.csv'],
  ])('%s: metadata from the exported graph; all rows as onnxruntime in process; prediction log keyed by feature names', async (model, file) => {
    const logDir = tempDir('trained-log');
    const metrics = new ServeMetrics({ defaultMetrics: false });
    const log = new PredictionLogger({ sampleRate: 1, maxQueue: 1000, flushIntervalMs: 600_000, maxRecordsPerFile: 1000 }, openPredictionSink(logDir), metrics, memoryLogger().logger);
    const t = await buildTestApp(testConfig(dir, { models: [{ name: model, ref: 'champion', batching: { maxBatchSize: 16 } }] }), registry, { predictionLog: log, metrics });
    const session = await ort.InferenceSession.create((await registry.load(model, 'champion')).artefact);
    try {
      const { manifest } = await registry.load(model, 'champion');
      const meta = (await t.app.inject({ method: 'GET', url: `/v2/models/${model}` })).json();
      expect(meta.inputs).toEqual(manifest.signature.inputs.map((i) => ({ name: i.name, datatype: i.datatype, shape: i.shape })));
      expect(meta.outputs.map((o: { name: string }) => o.name).sort()).toEqual(manifest.signature.outputs.map((o) => o.name).sort());

      const { names, rows } = csv(file);
      expect(manifest.signature.featureNames).toEqual(names);
      const input = manifest.signature.inputs[0];
      // Concurrent requests of 1..7 rows through the batcher cover the data set.
      const chunks: number[][][] = [];
      for (let i = 0, k = 1; i < rows.length; i += k, k = (k % 7) + 1) chunks.push(rows.slice(i, i + k));
      const answers = await Promise.all(chunks.map((chunk, c) => t.app.inject({
        method: 'POST',
        url: `/v2/models/${model}/infer`,
        headers: { 'content-type': 'application/json' },
        payload: { id: `c${c}`, inputs: [{ name: input.name, shape: [chunk.length, names.length], datatype: input.datatype, data: chunk }] },
      })));
      const direct = await session.run({ [input.name]: new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, names.length]) });
      let offset = 0;
      answers.forEach((a, c) => {
        expect(a.statusCode).toBe(200);
        const body = a.json();
        const n = chunks[c].length;
        for (const o of body.outputs) {
          const all = Array.from(direct[o.name].data as ArrayLike<number | bigint>, Number);
          const per = all.length / rows.length;
          const mine = all.slice(offset * per, (offset + n) * per);
          // Labels exactly; scores to float32 precision (stacked rows may take another GEMM path).
          if (o.datatype === 'INT64') expect(o.data).toEqual(mine);
          else (o.data as number[]).forEach((v, i) => expect(Math.abs(v - mine[i])).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(mine[i]))));
        }
        offset += n;
      });
      expect(offset).toBe(rows.length);

      await log.flush();
      const files: string[] = [];
      const walk = (d: string) => fs.readdirSync(d, { withFileTypes: true }).forEach((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : files.push(path.join(d, e.name))));
      walk(logDir);
      const records = files.flatMap((f) => fs.readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as PredictionRecord));
      expect(records).toHaveLength(chunks.length);
      expect(Object.keys(records[0].inputs[0])).toEqual(names);
      expect(records.every((r) => r.outputs.every((v) => typeof v === 'number'))).toBe(true);
    } finally {
      await session.release();
      await t.close();
      await log.close();
    }
  });
});
