import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import * as YAML from 'yaml';
import { memoryLogger, registerFixture, tabularReference, tempDir, testConfig } from './support/fixtures';
import { postJson } from './support/http';
import { ServeConfigSchema } from '../../../src/runtime/config/serve';
import { Registry, openRegistry } from '../../../src/runtime/registry/registry';
import { startServer } from '../../../src/runtime/serve/server';

/**
 * Hot reload under load on a real server: every request sent while the served version changes
 * is answered 200, by the old version until the swap and by the new one after it.
 */

const ref = tabularReference();
const ROWS = ref.rows;
/** Row 9 is where the two fixture versions disagree (label 0 for version 1, 1 for version 2). */
const LABELS = { 1: ref.models['tabular-mlp.onnx'].labels, 2: ref.models['tabular-mlp-b.onnx'].labels } as const;

interface LoadResult {
  readonly statuses: number[];
  readonly versions: string[];
  readonly mismatches: string[];
}

/**
 * `workers` loops each sending requests of all 20 reference rows until `stop()` resolves true
 * (checked between requests) or `max` requests were sent in all; records status, version, and
 * whether the labels are those of the version that answered.
 */
async function load(url: string, agent: http.Agent, workers: number, max: number, stop: (sofar: LoadResult) => boolean): Promise<LoadResult> {
  const statuses: number[] = [];
  const versions: string[] = [];
  const mismatches: string[] = [];
  const result = { statuses, versions, mismatches };
  let sent = 0;
  await Promise.all(Array.from({ length: workers }, async () => {
    while (!stop(result) && sent < max) {
      sent++;
      const r = await postJson(url, '/v2/models/tabular/infer', { inputs: [{ name: 'input', shape: [20, 30], datatype: 'FP32', data: ROWS }], outputs: [{ name: 'label' }] }, {}, agent);
      statuses.push(r.status);
      if (r.status !== 200) continue;
      const body = JSON.parse(r.body);
      versions.push(body.model_version);
      const expected = LABELS[Number(body.model_version) as 1 | 2];
      if (JSON.stringify(body.outputs[0].data) !== JSON.stringify(expected)) mismatches.push(`version ${body.model_version} answered ${JSON.stringify(body.outputs[0].data)}`);
    }
  }));
  return result;
}

function waitFor(cond: () => boolean, timeoutMs: number): Promise<void> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (cond()) return resolve();
      if (Date.now() - start > timeoutMs) return reject(new Error(`condition not met within ${timeoutMs} ms`));
      setTimeout(tick, 10);
    };
    tick();
  });
}

describe('serve: hot reload', () => {
  let registry: Registry;
  let dir: string;
  let agent: http.Agent;

  beforeAll(async () => {
    dir = tempDir('reload');
    registry = openRegistry(dir);
    await registerFixture(registry, 'tabular', 'tabular-mlp.onnx');
    await registerFixture(registry, 'tabular', 'tabular-mlp-b.onnx');
    await registry.setAlias('tabular', 'prod', 1, 'jest');
    agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  });
  afterAll(() => agent.destroy());

  test('the alias moves under load: the new version is loaded, warmed and swapped in with zero failed requests', async () => {
    const { logger, lines } = memoryLogger('info');
    const server = await startServer(testConfig(dir, {
      models: [{ name: 'tabular', ref: 'prod', batching: { maxBatchSize: 64, maxQueueDelayMs: 1 } }],
      reload: { aliasPollSeconds: 0.05, configPollMs: 0 },
    }), { registry, logger });
    try {
      // Traffic flows on version 1; the alias moves after 100 answers; load stops 150 answers
      // after version 2 first answered (or after 3000 requests).
      let movedAt = -1;
      const run = load(server.url, agent, 12, 3000, (sofar) => {
        if (movedAt < 0 && sofar.versions.length >= 100) {
          movedAt = sofar.versions.length;
          void registry.setAlias('tabular', 'prod', 2, 'jest', 'promote');
        }
        const first = sofar.versions.indexOf('2');
        return first >= 0 && sofar.versions.length - first >= 150;
      });
      const result = await run;
      expect(movedAt).toBeGreaterThan(0);
      expect(result.statuses.filter((s) => s !== 200)).toEqual([]);
      expect(result.mismatches).toEqual([]);
      expect(result.versions).toContain('1');
      expect(result.versions).toContain('2');
      // Once version 2 answers, version 1 never answers again.
      const firstTwo = result.versions.indexOf('2');
      expect(result.versions.slice(firstTwo + 12).filter((v) => v === '1')).toEqual([]);
      expect(server.manager.current('tabular')!.version).toBe(2);
      await waitFor(() => lines.some((l) => l.msg === "model 'tabular' version 1 released"), 5000);
      expect(lines.map((l) => l.msg)).toContain("model 'tabular' now serves version 2 (was 1)");
      const reloads = (await server.metrics.reloads.get()).values.find((v) => v.labels.outcome === 'success');
      expect(reloads?.value).toBe(1);
    } finally {
      await server.shutdown('test end');
    }
  });

  test('a changed config file swaps the pinned version under load, with zero failed requests', async () => {
    const { logger, lines } = memoryLogger('info');
    const file = path.join(tempDir('config'), 'serve.yaml');
    const write = (version: number) => fs.writeFileSync(file, YAML.stringify({
      host: '127.0.0.1',
      port: 0,
      registry: dir,
      models: [{ name: 'tabular', ref: version }],
      reload: { aliasPollSeconds: 0, configPollMs: 20 },
      shutdown: { drainDelayMs: 0 },
    }));
    write(2);
    const reread = () => YAML.parse(fs.readFileSync(file, 'utf8'));
    const server = await startServer(ServeConfigSchema.parse(reread()), { registry, logger, reloadConfig: reread, configFile: file });
    try {
      let changed = false;
      const result = await load(server.url, agent, 8, 3000, (sofar) => {
        if (!changed && sofar.versions.length >= 50) {
          changed = true;
          write(1);
          // A new mtime even on file systems with one-second timestamps.
          fs.utimesSync(file, new Date(), new Date(Date.now() + 2000));
        }
        const first = sofar.versions.indexOf('1');
        return first >= 0 && sofar.versions.length - first >= 100;
      });
      expect(result.statuses.filter((s) => s !== 200)).toEqual([]);
      expect(result.mismatches).toEqual([]);
      expect(new Set(result.versions)).toEqual(new Set(['2', '1']));
      expect(lines.map((l) => l.msg)).toContain("model 'tabular' now serves version 1 (was 2)");

      // An invalid file is logged and changes nothing.
      fs.writeFileSync(file, 'models: []\nregistry: 1\n');
      fs.utimesSync(file, new Date(), new Date(Date.now() + 4000));
      await waitFor(() => lines.some((l) => String(l.msg).startsWith('configuration not reloaded')), 5000);
      expect(server.manager.current('tabular')!.version).toBe(1);
    } finally {
      await server.shutdown('test end');
    }
  });

  test('a version whose artefact fails its sha256 check is never loaded: the old version keeps serving', async () => {
    const v3 = await registerFixture(registry, 'tabular', 'tabular-mlp-b.onnx');
    const artefact = path.join(dir, 'models', 'tabular', 'versions', String(v3), 'model.onnx');
    const bytes = fs.readFileSync(artefact);
    bytes[bytes.length - 5] ^= 0xff;
    fs.writeFileSync(artefact, bytes);
    await registry.setAlias('tabular', 'canary', 1, 'jest');
    const { logger, lines } = memoryLogger('info');
    const server = await startServer(testConfig(dir, { models: [{ name: 'tabular', ref: 'canary' }] }), { registry, logger });
    try {
      await registry.setAlias('tabular', 'canary', v3, 'jest');
      await server.manager.refreshAliases();
      expect(server.manager.current('tabular')!.version).toBe(1);
      const error = lines.find((l) => l.level === 50);
      expect(String(error?.msg)).toMatch(new RegExp(`cannot load model 'tabular' \\(${v3}\\): .*sha256.*; still serving version 1`));
      const r = await postJson(server.url, '/v2/models/tabular/infer', { inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP32', data: ROWS[0] }] }, {}, agent);
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body).model_version).toBe('1');
      const failures = (await server.metrics.reloads.get()).values.find((v) => v.labels.outcome === 'failure');
      expect(failures?.value).toBe(1);
    } finally {
      await server.shutdown('test end');
    }
    // At start, the same version stops the server from starting, naming the model.
    await registry.setAlias('tabular', 'canary', v3, 'jest');
    await expect(startServer(testConfig(dir, { models: [{ name: 'tabular', ref: 'canary' }] }), { registry, logger: memoryLogger().logger }))
      .rejects.toThrow(/cannot serve:\n {2}- model 'tabular' \(ref "canary"\): .*sha256/);
  });

  test('a new model list: models added are loaded, removed ones released, changed settings reloaded', async () => {
    await registerFixture(registry, 'types', 'all-types.onnx');
    const { ModelManager } = await import('../../../src/runtime/serve/manager');
    const { ServeMetrics } = await import('../../../src/runtime/serve/metrics');
    const { logger, lines } = memoryLogger('info');
    const config = (models: unknown[]) => testConfig(dir, { models: models as never }).models;
    const manager = new ModelManager({ registry, models: config([{ name: 'tabular', ref: 1 }]), metrics: new ServeMetrics({ defaultMetrics: false }), logger, aliasPollSeconds: 0 });
    await manager.start();
    try {
      const first = manager.current('tabular')!;
      await manager.reconcile(config([{ name: 'tabular', ref: 1, variant: 'canary' }, { name: 'types', ref: 1 }]));
      expect(manager.names()).toEqual(['tabular', 'types']);
      expect(manager.current('types')!.signature.inputs).toHaveLength(13);
      const second = manager.current('tabular')!;
      expect(second).not.toBe(first);
      expect(second.labels).toEqual({ model: 'tabular', version: '1', variant: 'canary' });
      await manager.reconcile(config([{ name: 'types', ref: 1 }]));
      expect(manager.names()).toEqual(['types']);
      expect(() => manager.get('tabular')).toThrow("model 'tabular' is not served here; served models: 'types'");
      expect(lines.map((l) => l.msg)).toContain("model 'tabular' is no longer served (removed from the configuration)");
      expect(lines.filter((l) => l.msg === "model 'tabular' version 1 released")).toHaveLength(2);
    } finally {
      await manager.close();
    }
  });

  test('readiness is false until every model is loaded and warmed', async () => {
    const { logger } = memoryLogger('info');
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const slow: Registry = Object.create(registry) as Registry;
    slow.load = async (model, r) => {
      await gate;
      return registry.load(model, r);
    };
    const { ModelManager } = await import('../../../src/runtime/serve/manager');
    const { ServeMetrics } = await import('../../../src/runtime/serve/metrics');
    const { buildApp } = await import('../../../src/runtime/serve/app');
    const metrics = new ServeMetrics({ defaultMetrics: false });
    const config = testConfig(dir, { models: [{ name: 'tabular', ref: 1 }] });
    const manager = new ModelManager({ registry: slow, models: config.models, metrics, logger, aliasPollSeconds: 0 });
    const app = buildApp({ config, manager, metrics, logger });
    const starting = manager.start();
    const notYet = await app.inject({ method: 'GET', url: '/v2/health/ready' });
    expect(notYet.statusCode).toBe(503);
    expect(notYet.json()).toEqual({ error: 'server is not ready: models are loading' });
    const model = await app.inject({ method: 'GET', url: '/v2/models/tabular/ready' });
    expect(model.statusCode).toBe(503);
    expect(model.json().error).toBe("model 'tabular' is not ready (loading)");
    release();
    await starting;
    expect((await app.inject({ method: 'GET', url: '/v2/health/ready' })).statusCode).toBe(200);
    await app.close();
    await manager.close();
  });
});
