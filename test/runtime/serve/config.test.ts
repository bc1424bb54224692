import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from './support/fixtures';
import { resolveServeConfig, run } from '../../../src/cli/commands/serve';
import { parseConfig } from '../../../src/runtime/config/load';
import { ServeConfigSchema } from '../../../src/runtime/config/serve';

describe('serve configuration', () => {
  test('defaults are filled in and documented values hold', () => {
    const c = ServeConfigSchema.parse({ registry: '/r', models: [{ name: 'fraud', ref: 'prod' }] });
    expect(c).toEqual({
      host: '127.0.0.1',
      port: 8080,
      registry: '/r',
      models: [{ name: 'fraud', ref: 'prod', variant: 'primary', intraOpThreads: 1, executionProvider: 'cpu', batching: { enabled: true, maxBatchSize: 64, maxQueueDelayMs: 0, maxConcurrentRuns: 1 } }],
      auth: { reloadIntervalMs: 2000 },
      limits: { bodyLimitBytes: 1048576, maxBatchRows: 1024, requestTimeoutMs: 10000, connectionTimeoutMs: 30000, keepAliveTimeoutMs: 5000, rateLimit: { requestsPerSecond: 0, maxClients: 10000 } },
      reload: { aliasPollSeconds: 30, configPollMs: 2000 },
      shutdown: { drainDelayMs: 5000, timeoutMs: 30000 },
    });
  });

  test('bad values are refused with the field, the value and what was expected', () => {
    const bad = {
      registry: '/r',
      port: 70000,
      models: [
        { name: 'a', ref: 0 },
        { name: 'a', ref: 'prod', batching: { maxBatchSize: 0 } },
        { name: 'Bad Name', ref: 1 },
        { name: 'c', ref: 1, variant: 'Canary' },
        { name: 'd', ref: 'not an alias!' },
      ],
      predictionLog: { uri: '/logs', sampleRate: 1.5 },
      limtis: {},
    };
    let message = '';
    try {
      parseConfig(ServeConfigSchema, bad, 'config file serve.yaml');
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('invalid config file serve.yaml');
    expect(message).toContain("'port' (70000)");
    expect(message).toContain("'models.0.ref' (0): a version number must be 1 or more");
    expect(message).toContain("'models.1.batching.maxBatchSize' (0)");
    expect(message).toContain("'models.1.name' (\"a\"): model 'a' is listed twice");
    expect(message).toContain("'models.2.name' (\"Bad Name\"): must be 1-100 letters, digits");
    expect(message).toContain("'models.3.variant' (\"Canary\")");
    expect(message).toContain("'predictionLog.sampleRate' (1.5)");
    expect(message).toContain("'models.4.ref' (\"not an alias!\"): must be a version number (1, 2, ...) or an alias name (prod, latest, ...: letters, digits");
    expect(message).toMatch(/'\(root\)'.*limtis/);
  });

  test('command line: file, then environment overrides, then flags', () => {
    const dir = tempDir('cli');
    const file = path.join(dir, 'serve.yaml');
    fs.writeFileSync(file, 'registry: /from-file\nport: 1000\nmodels:\n  - name: a\n    ref: 1\n');
    const { config } = resolveServeConfig(['--config', file], { CDK_MLOPS_SERVE_PORT: '9000', CDK_MLOPS_SERVE_LIMITS__MAX_BATCH_ROWS: '16' });
    expect(config.port).toBe(9000);
    expect(config.limits.maxBatchRows).toBe(16);
    expect(config.models.map((m) => m.ref)).toEqual([1]);
    const flagged = resolveServeConfig(['--config', file, '--port', '7000', '--host', '0.0.0.0', '--registry', 's3://b/p', '--model', 'x=3', '--model', 'y=prod', '--model', 'z'], {}).config;
    expect(flagged).toMatchObject({ port: 7000, host: '0.0.0.0', registry: 's3://b/p' });
    expect(flagged.models.map((m) => [m.name, m.ref])).toEqual([['x', 3], ['y', 'prod'], ['z', 'latest']]);
    expect(() => resolveServeConfig(['--registry', '/r', '--model', 'x', '--port', 'eighty'], {})).toThrow('--port: "eighty" is not a port number');
    expect(() => resolveServeConfig(['--registry', '/r'], {})).toThrow("'models' (missing)");
    // Without a registry anywhere: $CDK_MLOPS_REGISTRY, else the local loop's, as `cdk-mlops registry` does.
    expect(resolveServeConfig(['--model', 'x'], { CDK_MLOPS_REGISTRY: 's3://b/r' }).config.registry).toBe('s3://b/r');
    expect(resolveServeConfig(['--model', 'x'], {}).config.registry).toBe('.cdk-mlops/registry');
  });

  test('cdk-mlops serve --help, --check and a bad flag', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const o = jest.spyOn(process.stdout, 'write').mockImplementation((s) => { out.push(String(s)); return true; });
    const e = jest.spyOn(process.stderr, 'write').mockImplementation((s) => { err.push(String(s)); return true; });
    try {
      expect(await run(['--help'])).toBe(0);
      expect(out.join('')).toContain('usage: cdk-mlops serve');
      out.length = 0;
      expect(await run(['--registry', '/r', '--model', 'fraud=prod', '--check'])).toBe(0);
      expect(JSON.parse(out.join('')).models[0]).toMatchObject({ name: 'fraud', ref: 'prod', variant: 'primary' });
      expect(await run(['--nope'])).toBe(2);
      expect(err.join('')).toContain("Unknown option '--nope'");
    } finally {
      o.mockRestore();
      e.mockRestore();
    }
  });
});
