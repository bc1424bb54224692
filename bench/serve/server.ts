/**
 * One server under test for bench/serve (run as its own process by ./index.ts):
 *
 *   ts-node --transpile-only bench/serve/server.ts <floor|floor-fastify|bare|serve> <model.onnx> [batching on|off]
 *
 * - `floor`: node:http answering a constant document after reading the body: the cost of an
 *   HTTP request alone, below which no node:http server can go.
 * - `floor-fastify`: the same on fastify with the JSON body parsed: the floor of any server on
 *   the framework `serve` uses.
 * - `bare`: the physical limit. node:http, read the body, JSON.parse, one Float32Array, one
 *   `session.run`, JSON.stringify of the outputs. No validation, no metrics, no routing.
 * - `serve`: `cdk-mlops serve` (startServer) on a temporary local registry holding the model,
 *   auth and prediction logging off, metrics on, batching as asked.
 *
 * Prints one JSON line `{"url": ...}` on stdout once it answers; exits on SIGTERM.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import Fastify from 'fastify';
import pino from 'pino';
import { ServeConfigSchema } from '../../src/runtime/config/serve';
import { openRegistry } from '../../src/runtime/registry/registry';
import { sessionOptions } from '../../src/runtime/serve/model';
import { startServer } from '../../src/runtime/serve/server';

/** A document of a real answer's size, sent by the floors. */
const CONSTANT_ANSWER = JSON.stringify({ model_name: 'bench', outputs: [{ name: 'label', shape: [1], datatype: 'INT64', data: [1] }, { name: 'probabilities', shape: [1, 2], datatype: 'FP32', data: [0.25, 0.75] }] });

/** Listens on a free loopback port, prints the `{"url"}` line the benchmark waits for, stops on SIGTERM. */
async function listenAndAnnounce(server: http.Server): Promise<void> {
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.stdout.write(JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }) + '\n');
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

async function bare(modelFile: string): Promise<void> {
  const session = await ort.InferenceSession.create(fs.readFileSync(modelFile), sessionOptions(1));
  const input = session.inputNames[0];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { inputs: { shape: number[]; data: number[] }[] };
      const t = body.inputs[0];
      void session.run({ [input]: new ort.Tensor('float32', Float32Array.from(t.data), t.shape) }).then((out) => {
        const outputs = Object.entries(out).map(([name, v]) => ({
          name, shape: v.dims, data: Array.from(v.data as ArrayLike<number | bigint>, (x) => (typeof x === 'bigint' ? Number(x) : x)),
        }));
        const json = JSON.stringify({ model_name: 'bench', outputs });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
        res.end(json);
      }, (e: Error) => {
        res.writeHead(500);
        res.end(e.message);
      });
    });
  });
  await listenAndAnnounce(server);
}

/**
 * The floor: node:http reading the whole body and answering a constant JSON document of the
 * size of a real answer. No parsing, no inference: what one HTTP request costs this process
 * before any work is done. No server on node:http can serve a request for less CPU.
 */
async function floor(): Promise<void> {
  const server = http.createServer((req, res) => {
    req.on('data', () => {});
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(CONSTANT_ANSWER) });
      res.end(CONSTANT_ANSWER);
    });
  });
  await listenAndAnnounce(server);
}

/**
 * The framework's floor: fastify (the HTTP framework `serve` is built on), one POST route on
 * the inference path, the JSON body parsed, a constant answer. What a request costs before
 * validation, inference and serialization: no fastify server can serve a request for less.
 */
async function floorFastify(): Promise<void> {
  const app = Fastify({ logger: false });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => done(null, JSON.parse(body as string)));
  app.post('/v2/models/:name/infer', async (_req, reply) => reply.type('application/json; charset=utf-8').send(CONSTANT_ANSWER));
  await app.listen({ port: 0, host: '127.0.0.1' });
  process.stdout.write(JSON.stringify({ url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` }) + '\n');
  process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

async function serve(modelFile: string, batching: boolean): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-serve-'));
  const registry = openRegistry(dir);
  await registry.register({
    model: 'bench',
    artefact: fs.readFileSync(modelFile),
    modelCard: '# bench\n',
    reference: { schemaVersion: 1, rows: 1, quantileLevels: [0.5], sampleSize: 1, features: [], prediction: { name: 'prediction', kind: 'numeric', count: 1, missing: 0, distinct: 1 }, metrics: {} },
    signature: { inputs: [], outputs: [], featureNames: [], target: 'target', task: 'classification', classes: [0, 1] },
    metrics: {},
    parameters: {},
    lineage: { codeCommit: 'bench', dataHash: '0'.repeat(64), dataUri: 'bench', trainer: 'bench', trainerVersion: '0', createdBy: 'bench', seed: 0 },
  });
  const config = ServeConfigSchema.parse({
    host: '127.0.0.1',
    port: 0,
    registry: dir,
    models: [{ name: 'bench', ref: 1, batching: { enabled: batching, maxBatchSize: 64, maxQueueDelayMs: 0, maxConcurrentRuns: 1 } }],
    limits: { requestTimeoutMs: 60_000 },
    reload: { aliasPollSeconds: 0, configPollMs: 0 },
    shutdown: { drainDelayMs: 0 },
  });
  const logger = pino({ level: 'warn' });
  const server = await startServer(config, { registry, logger });
  process.stdout.write(JSON.stringify({ url: server.url }) + '\n');
  process.on('SIGTERM', () => {
    void server.shutdown('SIGTERM').then(() => {
      fs.rmSync(dir, { recursive: true, force: true });
      process.exit(0);
    });
  });
}

const [mode, modelFile, batching] = process.argv.slice(2);
if (mode === 'floor') void floor();
else if (mode === 'floor-fastify') void floorFastify();
else if (mode === 'bare') void bare(modelFile);
else if (mode === 'serve') void serve(modelFile, batching === 'on');
else {
  process.stderr.write('usage: server.ts <floor|floor-fastify|bare|serve> <model.onnx> [on|off]\n');
  process.exit(2);
}
