import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CANCER_CSV, portRefused, portsOfState, processesMentioning, startUp, writeFixtureData } from './support';
import { columnStd, loadFeatureRows, shiftRows } from '../../src/up/traffic';

/**
 * Without --once: the monitor runs on its schedule (every second here), finds the drift of the
 * traffic a client sends, and its retraining trigger runs the pipeline's CronJob template.
 */
describe('cdk-mlops up (continuous): scheduled monitor and retraining', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'up-continuous-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('drifted traffic from a client leads to a retraining run, v2 registered, while everything keeps serving', async () => {
    const data = path.join(dir, 'data');
    writeFixtureData(data);
    const state = path.join(dir, 'state');
    const up = startUp(['--app', path.join(__dirname, 'fixtures', 'app.ts'), '--state', state, '--data', data, '--monitor-every', '2s'], dir);
    try {
      await up.until(/Running\. Ctrl-C stops everything\./, 60_000);
      const { port } = JSON.parse(fs.readFileSync(path.join(state, 'config', 'Rollout_up-test-serving_cancer.json'), 'utf8')) as { port: number };
      const token = fs.readFileSync(path.join(state, 'secrets', 'up-test-serving', 'cancer-tokens', 'tokens'), 'utf8').split('\n').find((l) => l && !l.startsWith('#'))!;
      const manifest = JSON.parse(fs.readFileSync(path.join(state, 's3', 'up-test-dev-artifacts-8365695b', 'registry', 'models', 'cancer', 'versions', '1', 'manifest.json'), 'utf8'));
      const names: string[] = manifest.signature.featureNames;
      const rows = (await loadFeatureRows(CANCER_CSV, names)).slice(0, 100);
      const shifted = shiftRows(rows, columnStd(rows), 2);
      for (let i = 0; i < shifted.length; i += 10) {
        const chunk = shifted.slice(i, i + 10);
        const res = await fetch(`http://127.0.0.1:${port}/v2/models/cancer/infer`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'authorization': `Bearer ${token}` },
          body: JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [chunk.length, names.length], data: chunk.flat() }] }),
        });
        expect(res.status).toBe(200);
      }
      await up.until(/CronJob\/up-test-monitoring\/cancer-drift: dataset_drift: episode dataset_drift-v1-\S+; retraining from CronJob up-test-training\/cancer-train/, 60_000);
      await up.until(/retrained: promote the new version with `cdk-mlops promote`/, 60_000);
      expect(fs.readdirSync(path.join(state, 's3', 'up-test-dev-artifacts-8365695b', 'registry', 'models', 'cancer', 'versions')).sort()).toEqual(['1', '2']);
      expect(fs.readdirSync(path.join(state, 'retrain', 'cancer-drift')).filter((f) => f.startsWith('retrain-'))).toHaveLength(1);
      expect(fs.readdirSync(path.join(state, 'alerts')).length).toBeGreaterThanOrEqual(1);
      // Still serving v1: the endpoint is pinned; the promotion is a pull request.
      expect((await fetch(`http://127.0.0.1:${port}/v2/health/ready`)).status).toBe(200);
    } finally {
      up.child.kill('SIGINT');
    }
    const r = await up.done;
    expect(r.code).toBe(0);
    expect(processesMentioning(state)).toEqual([]);
    for (const port of portsOfState(state)) expect(await portRefused(port)).toBe(true);
  }, 120_000);
});
