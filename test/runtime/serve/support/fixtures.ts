import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { ServeConfig, ServeConfigInput, ServeConfigSchema } from '../../../../src/runtime/config/serve';
import { Registry, openRegistry } from '../../../../src/runtime/registry/registry';
import type { ModelSignature, ReferenceStatistics, RegisterInput } from '../../../../src/runtime/registry/types';

/** The committed ONNX fixtures (made by test/fixtures/onnx/make_models.py). */
export const ONNX_DIR = path.join(__dirname, '..', '..', '..', 'fixtures', 'onnx');

/** Reference values computed with numpy for 20 rows of breast_cancer.csv. */
export interface TabularReference {
  readonly featureNames: string[];
  readonly classes: number[];
  readonly rows: number[][];
  readonly models: Record<string, { probabilities: number[][]; labels: number[] }>;
}

export function tabularReference(): TabularReference {
  return JSON.parse(fs.readFileSync(path.join(ONNX_DIR, 'tabular-mlp.reference.json'), 'utf8')) as TabularReference;
}

export function fixtureBytes(file: string): Buffer {
  return fs.readFileSync(path.join(ONNX_DIR, file));
}

function reference(featureNames: readonly string[]): ReferenceStatistics {
  return {
    schemaVersion: 1,
    rows: 1,
    quantileLevels: [0.5],
    sampleSize: 1,
    features: featureNames.map((name) => ({ name, kind: 'numeric' as const, count: 1, missing: 0, distinct: 1, min: 0, max: 0, mean: 0, std: 0, quantiles: [0] })),
    prediction: { name: 'prediction', kind: 'categorical', count: 1, missing: 0, distinct: 1, frequencies: { 0: 1 } },
    metrics: {},
  };
}

/** Signatures of the fixtures as a trainer would record them in the manifest. */
export function fixtureSignature(file: string): ModelSignature {
  if (file.startsWith('tabular-mlp')) {
    const ref = tabularReference();
    return {
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 30] }],
      outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 2] }, { name: 'label', datatype: 'INT64', shape: [-1] }],
      featureNames: ref.featureNames,
      target: 'target',
      task: 'classification',
      classes: ref.classes,
    };
  }
  if (file === 'fixed-batch.onnx') {
    return { inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [2, 3] }], featureNames: [], target: 'y', task: 'regression' };
  }
  return { inputs: [], outputs: [], featureNames: [], target: 'none', task: 'regression' };
}

/** Registers a fixture file as the next version of `model`; returns the version number. */
export async function registerFixture(registry: Registry, model: string, file: string, artefact: Buffer = fixtureBytes(file)): Promise<number> {
  const signature = fixtureSignature(file);
  const input: RegisterInput = {
    model,
    artefact,
    modelCard: `# ${model}\n\nfixture ${file}\n`,
    reference: reference(signature.featureNames),
    signature,
    metrics: {},
    parameters: { fixture: file },
    lineage: { codeCommit: 'test', dataHash: '0'.repeat(64), dataUri: 'test/fixtures/data/breast_cancer.csv', trainer: 'fixture', trainerVersion: '0', createdBy: 'jest', seed: 0 },
  };
  return (await registry.register(input)).version;
}

/** A fresh temporary directory (under the run's TMPDIR, removed by the global teardown). */
export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `serve-${prefix}-`));
}

/** A registry in a temporary directory holding the standard fixtures: tabular v1 (alias prod) and v2, all-types v1, fixed v1. */
export async function standardRegistry(): Promise<{ registry: Registry; dir: string }> {
  const dir = tempDir('registry');
  const registry = openRegistry(dir);
  await registerFixture(registry, 'tabular', 'tabular-mlp.onnx');
  await registerFixture(registry, 'tabular', 'tabular-mlp-b.onnx');
  await registry.setAlias('tabular', 'prod', 1, 'jest');
  await registerFixture(registry, 'all-types', 'all-types.onnx');
  await registerFixture(registry, 'fixed', 'fixed-batch.onnx');
  return { registry, dir };
}

/** A validated serve configuration for tests: port 0, quick shutdown, no alias polling unless asked. */
export function testConfig(registryDir: string, overrides: Partial<ServeConfigInput> = {}): ServeConfig {
  return ServeConfigSchema.parse({
    host: '127.0.0.1',
    port: 0,
    registry: registryDir,
    models: [
      { name: 'tabular', ref: 1 },
      { name: 'all-types', ref: 1 },
      { name: 'fixed', ref: 1 },
    ],
    reload: { aliasPollSeconds: 0, configPollMs: 0 },
    shutdown: { drainDelayMs: 0, timeoutMs: 10_000 },
    ...overrides,
  });
}

/** A pino logger that keeps its lines in memory, for assertions on what was logged. */
export function memoryLogger(level = 'debug'): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level }, stream), lines };
}

/** An app built in process (no listening) over a started model manager, for `inject` tests. */
export interface TestApp {
  readonly app: import('fastify').FastifyInstance;
  readonly manager: import('../../../../src/runtime/serve/manager').ModelManager;
  readonly metrics: import('../../../../src/runtime/serve/metrics').ServeMetrics;
  readonly lines: Record<string, unknown>[];
  close(): Promise<void>;
}

export async function buildTestApp(
  config: ServeConfig,
  registry: Registry,
  extra: Partial<Pick<import('../../../../src/runtime/serve/app').ServeAppOptions, 'tokens' | 'predictionLog' | 'features' | 'lifecycle'>> & { metrics?: import('../../../../src/runtime/serve/metrics').ServeMetrics } = {},
): Promise<TestApp> {
  const { buildApp } = await import('../../../../src/runtime/serve/app');
  const { ModelManager } = await import('../../../../src/runtime/serve/manager');
  const { ServeMetrics } = await import('../../../../src/runtime/serve/metrics');
  const { logger, lines } = memoryLogger();
  const metrics = extra.metrics ?? new ServeMetrics({ defaultMetrics: false });
  const manager = new ModelManager({ registry, models: config.models, metrics, logger, aliasPollSeconds: 0 });
  await manager.start();
  const app = buildApp({ config, manager, metrics, logger, serverVersion: '1.2.3', ...extra });
  await app.ready();
  return {
    app,
    manager,
    metrics,
    lines,
    close: async () => {
      await app.close();
      await manager.close();
    },
  };
}
