import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import * as YAML from 'yaml';
import { registerFixture, tabularReference, tempDir } from './support/fixtures';
import { postJson, request } from './support/http';
import { openRegistry } from '../../../src/runtime/registry/registry';
import type { PredictionRecord } from '../../../src/runtime/registry/types';

/**
 * `cdk-mlops serve` as a real process receiving real signals: readiness turns false first,
 * requests in flight all finish, prediction logs are flushed, exit 0; a second signal exits
 * at once.
 */

const ROOT = path.join(__dirname, '..', '..', '..');
const ROW = tabularReference().rows[0];

interface Child {
  readonly proc: ChildProcess;
  readonly url: string;
  readonly lines: Record<string, unknown>[];
  readonly exited: Promise<number | null>;
}

async function startChild(config: Record<string, unknown>): Promise<Child> {
  const dir = tempDir('child');
  const file = path.join(dir, 'serve.yaml');
  fs.writeFileSync(file, YAML.stringify(config));
  const proc = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', `require('./src/cli/main').main(['serve', '--config', ${JSON.stringify(file)}]).then((c) => { process.exitCode = c; })`], {
    cwd: ROOT,
    env: { ...process.env, TS_NODE_PROJECT: path.join(ROOT, 'tsconfig.json'), LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let stderr = '';
  let buffer = '';
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start within 60 s; stderr: ${stderr}`)), 60_000);
    proc.stderr!.on('data', (c: Buffer) => { stderr += c.toString(); });
    proc.stdout!.on('data', (c: Buffer) => {
      buffer += c.toString();
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          lines.push(parsed);
          if (typeof parsed.url === 'string') {
            clearTimeout(timer);
            resolve(parsed.url);
          }
        } catch {
          // not a log line
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code} before listening; stderr: ${stderr}`));
    });
  });
  return { proc, url, lines, exited };
}

describe('serve: graceful shutdown of the real process', () => {
  let registryDir: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    registryDir = tempDir('registry');
    const registry = openRegistry(registryDir);
    await registerFixture(registry, 'tabular', 'tabular-mlp.onnx');
  });
  afterAll(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });

  test('SIGTERM: readiness false first, every request in flight answered 200, logs flushed, exit 0', async () => {
    const logDir = tempDir('predictions');
    const child = await startChild({
      host: '127.0.0.1',
      port: 0,
      registry: registryDir,
      // Requests wait up to 300 ms in the batch queue, so they are in flight when the signal comes.
      models: [{ name: 'tabular', ref: 1, batching: { maxBatchSize: 64, maxQueueDelayMs: 300 } }],
      predictionLog: { uri: logDir, sampleRate: 1, flushIntervalMs: 600_000 },
      reload: { aliasPollSeconds: 0, configPollMs: 0 },
      shutdown: { drainDelayMs: 400, timeoutMs: 10_000 },
    });
    children.push(child.proc);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
    try {
      expect((await request(child.url, { path: '/v2/health/ready' }, agent)).status).toBe(200);
      const body = { inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP32', data: ROW }] };
      const inflight = Array.from({ length: 24 }, (_, i) => postJson(child.url, '/v2/models/tabular/infer', { ...body, id: `inflight-${i}` }, {}, agent));
      await new Promise((r) => setTimeout(r, 50));
      child.proc.kill('SIGTERM');
      // Readiness goes false at once, while requests are still being served.
      let notReadyAfter = -1;
      const t0 = Date.now();
      for (let i = 0; i < 100 && notReadyAfter < 0; i++) {
        const r = await request(child.url, { path: '/v2/health/ready' });
        if (r.status === 503) notReadyAfter = Date.now() - t0;
        else await new Promise((res) => setTimeout(res, 5));
      }
      expect(notReadyAfter).toBeGreaterThanOrEqual(0);
      expect(notReadyAfter).toBeLessThan(400);
      // During the drain delay new requests are still answered.
      const late = await postJson(child.url, '/v2/models/tabular/infer', { ...body, id: 'late' }, {}, agent);
      expect(late.status).toBe(200);
      const answers = await Promise.all(inflight);
      expect(answers.map((a) => a.status)).toEqual(new Array(24).fill(200));
      expect(await child.exited).toBe(0);
      const msgs = child.lines.map((l) => String(l.msg));
      expect(msgs).toContain('SIGTERM: readiness is now false; draining');
      expect(msgs).toContain('shutdown complete');
      // The prediction log was flushed on the way out: one record per answered request.
      const files: string[] = [];
      const walk = (d: string) => fs.readdirSync(d, { withFileTypes: true }).forEach((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : files.push(path.join(d, e.name))));
      walk(path.join(logDir, 'tabular'));
      const records = files.flatMap((f) => fs.readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as PredictionRecord));
      expect(records.map((r) => r.id).sort()).toEqual([...Array.from({ length: 24 }, (_, i) => `inflight-${i}`), 'late'].sort());
    } finally {
      agent.destroy();
    }
  });

  test('a second signal exits at once', async () => {
    const child = await startChild({
      host: '127.0.0.1',
      port: 0,
      registry: registryDir,
      models: [{ name: 'tabular', ref: 1 }],
      reload: { aliasPollSeconds: 0, configPollMs: 0 },
      shutdown: { drainDelayMs: 30_000, timeoutMs: 60_000 },
    });
    children.push(child.proc);
    child.proc.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    child.proc.kill('SIGINT');
    expect(await child.exited).toBe(1);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(child.lines.map((l) => String(l.msg))).toContain('SIGINT received again: exiting now');
  });
});
