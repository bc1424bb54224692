import * as fs from 'node:fs';
import * as path from 'node:path';
import { memoryLogger, registerFixture, tempDir, testConfig } from './support/fixtures';
import { request } from './support/http';
import { parseConfig } from '../../../src/runtime/config/load';
import { ServeConfigSchema } from '../../../src/runtime/config/serve';
import { openRegistry } from '../../../src/runtime/registry/registry';
import { ModelManager } from '../../../src/runtime/serve/manager';
import { ServeMetrics } from '../../../src/runtime/serve/metrics';
import { CUDA_PROVIDER_LIBRARY, onnxruntimeBindingDir, sessionFailureMessage, sessionOptions } from '../../../src/runtime/serve/model';
import { startServer } from '../../../src/runtime/serve/server';

/**
 * The execution provider of a served model. This machine has no GPU and onnxruntime-node is
 * installed without its CUDA provider (ONNXRUNTIME_NODE_INSTALL=skip), so `cuda` meets its real
 * failure path here: onnxruntime itself refuses the session, and serving must not carry on on
 * the CPU.
 */
const cudaInstalled = fs.existsSync(path.join(onnxruntimeBindingDir(), CUDA_PROVIDER_LIBRARY));

describe('serve configuration: executionProvider', () => {
  test("defaults to 'cpu' per model, accepts 'cuda' with a device, refuses the rest", () => {
    const c = ServeConfigSchema.parse({ registry: '/r', models: [{ name: 'a', ref: 1 }, { name: 'b', ref: 1, executionProvider: 'cuda', cudaDeviceId: 1 }, { name: 'c', ref: 1, executionProvider: 'cuda' }] });
    expect(c.models.map((m) => [m.executionProvider, m.cudaDeviceId])).toEqual([['cpu', undefined], ['cuda', 1], ['cuda', undefined]]);
    let message = '';
    try {
      parseConfig(ServeConfigSchema, {
        registry: '/r',
        models: [
          { name: 'a', ref: 1, executionProvider: 'gpu' },
          { name: 'b', ref: 1, cudaDeviceId: 0 },
          { name: 'c', ref: 1, executionProvider: 'cuda', cudaDeviceId: -1 },
        ],
      }, 'config file serve.yaml');
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain("'models.0.executionProvider' (\"gpu\")");
    expect(message).toMatch(/'models\.0\.executionProvider'.*"cpu".*"cuda"/);
    expect(message).toContain("'models.1.cudaDeviceId' (0): applies only with executionProvider 'cuda' (this model's is 'cpu')");
    expect(message).toContain("'models.2.cudaDeviceId' (-1)");
  });

  test('the session gets exactly the provider asked for: cuda is not followed by a cpu fallback', () => {
    expect(sessionOptions(2).executionProviders).toEqual(['cpu']);
    expect(sessionOptions(1, { name: 'cuda' }).executionProviders).toEqual([{ name: 'cuda', deviceId: 0 }]);
    expect(sessionOptions(1, { name: 'cuda', deviceId: 3 }).executionProviders).toEqual([{ name: 'cuda', deviceId: 3 }]);
  });

  test('the failure message tells a missing CUDA provider from one that is installed but cannot start', () => {
    const dir = tempDir('binding');
    const missing = sessionFailureMessage('fraud', 7, { name: 'cuda', deviceId: 1 }, 'Failed to load shared library', dir);
    expect(missing).toContain("model 'fraud' version 7: cannot create an onnxruntime session on execution provider 'cuda' (device 1): Failed to load shared library.");
    expect(missing).toContain(`onnxruntime-node was installed without its CUDA provider (no ${CUDA_PROVIDER_LIBRARY} in ${dir}): install it with ONNXRUNTIME_NODE_INSTALL=cuda12`);
    expect(missing).toContain("set executionProvider 'cpu' to serve it there");
    fs.writeFileSync(path.join(dir, CUDA_PROVIDER_LIBRARY), '');
    const broken = sessionFailureMessage('fraud', 7, { name: 'cuda' }, 'libcudart.so.12: cannot open shared object file', dir);
    expect(broken).toContain(`onnxruntime-node's CUDA provider is installed (${path.join(dir, CUDA_PROVIDER_LIBRARY)}) but did not load or start: it needs the CUDA 12 and cuDNN 9 runtime libraries`);
    expect(broken).toContain('(device 0)');
    expect(sessionFailureMessage('fraud', 7, { name: 'cpu' }, 'bad graph', dir)).toBe("model 'fraud' version 7: cannot create an onnxruntime session: bad graph");
  });
});

(cudaInstalled ? describe.skip : describe)('serving on cuda without the CUDA provider (this machine)', () => {
  test('the manager does not load the model, names model, version, provider and what to install, and is not ready', async () => {
    const dir = tempDir('cuda-registry');
    const registry = openRegistry(dir);
    await registerFixture(registry, 'tabular', 'tabular-mlp.onnx');
    await registerFixture(registry, 'tabular', 'tabular-mlp-b.onnx');
    const { logger, lines } = memoryLogger();
    const metrics = new ServeMetrics({ defaultMetrics: false });
    const models = testConfig(dir, { models: [{ name: 'tabular', ref: 2, executionProvider: 'cuda' }] }).models;
    const manager = new ModelManager({ registry, models, metrics, logger, aliasPollSeconds: 0 });
    let message = '';
    try {
      await manager.start();
    } catch (e) {
      message = (e as Error).message;
    } finally {
      await manager.close();
    }
    expect(message).toContain("cannot serve:\n  - model 'tabular' (ref 2): model 'tabular' version 2: cannot create an onnxruntime session on execution provider 'cuda' (device 0): ");
    expect(message).toContain('onnxruntime-node was installed without its CUDA provider');
    expect(message).toContain('ONNXRUNTIME_NODE_INSTALL=cuda12');
    expect(message).toContain('The model is not served on the CPU instead');
    expect(manager.ready).toBe(false);
    expect(manager.current('tabular')).toBeUndefined();
    expect(lines.some((l) => l.level === 50 && String(l.msg).startsWith("cannot load model 'tabular' (2): model 'tabular' version 2: cannot create an onnxruntime session on execution provider 'cuda'"))).toBe(true);
    const exposition = await metrics.registry.metrics();
    expect(exposition).not.toMatch(/^cdk_mlops_serve_model_ready\{/m);
    expect(exposition).not.toMatch(/^cdk_mlops_serve_model_execution_provider_info\{/m);
  });

  test('the server does not start (readiness is never true); on cpu the same model serves and reports its provider', async () => {
    const dir = tempDir('cuda-server');
    const registry = openRegistry(dir);
    await registerFixture(registry, 'tabular', 'tabular-mlp.onnx');
    const { logger } = memoryLogger();
    await expect(startServer(testConfig(dir, { models: [{ name: 'tabular', ref: 1, executionProvider: 'cuda', cudaDeviceId: 0 }] }), { registry, logger }))
      .rejects.toThrow(/model 'tabular' version 1: cannot create an onnxruntime session on execution provider 'cuda' \(device 0\)/);

    const server = await startServer(testConfig(dir, { models: [{ name: 'tabular', ref: 1 }] }), { registry, logger });
    try {
      expect((await request(server.url, { path: '/v2/health/ready' })).status).toBe(200);
      expect(server.manager.current('tabular')!.executionProvider).toBe('cpu');
      const exposition = await server.metrics.registry.metrics();
      expect(exposition).toContain('cdk_mlops_serve_model_execution_provider_info{model="tabular",version="1",variant="primary",provider="cpu"} 1');
    } finally {
      await server.shutdown('test');
    }
  });

  test('a hot reload onto cuda fails and keeps the cpu version serving', async () => {
    const dir = tempDir('cuda-reload');
    const registry = openRegistry(dir);
    await registerFixture(registry, 'tabular', 'tabular-mlp.onnx');
    const { logger } = memoryLogger();
    const metrics = new ServeMetrics({ defaultMetrics: false });
    const manager = new ModelManager({ registry, models: testConfig(dir, { models: [{ name: 'tabular', ref: 1 }] }).models, metrics, logger, aliasPollSeconds: 0 });
    await manager.start();
    try {
      const before = manager.current('tabular')!;
      await manager.reconcile(testConfig(dir, { models: [{ name: 'tabular', ref: 1, executionProvider: 'cuda' }] }).models);
      expect(manager.current('tabular')).toBe(before);
      expect(before.executionProvider).toBe('cpu');
      expect(manager.ready).toBe(true);
      const exposition = await metrics.registry.metrics();
      expect(exposition).toContain('cdk_mlops_serve_reloads_total{model="tabular",outcome="failure"} 1');
      expect(exposition).toContain('cdk_mlops_serve_model_execution_provider_info{model="tabular",version="1",variant="primary",provider="cpu"} 1');
    } finally {
      await manager.close();
    }
    expect(await metrics.registry.metrics()).not.toMatch(/^cdk_mlops_serve_model_execution_provider_info\{/m);
  });
});
