import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { ONCE_STEPS, portRefused, portsOfState, processesMentioning, runUpOnce, UpRun } from './support';
import type { MonitorResult } from '../../src/runtime/monitor/result';
import { openRegistry } from '../../src/runtime/registry/registry';
import type { UpSummary } from '../../src/up/loop';
import type { Replay } from '../../src/up/traffic';
import { REPO_ROOT } from '../support/dist';

/**
 * The README's showcase, end to end: `cdk-mlops up --once` on examples/breast-cancer/main.ts
 * with its committed data, exactly as the quick start runs it, asserted step by step from what
 * it leaves behind; then nothing running, nothing listening, the example's files untouched.
 */
const EXAMPLE = path.join(REPO_ROOT, 'examples', 'breast-cancer');
const LIMIT_MS = 90_000;

describe('the showcase example: cdk-mlops up --once', () => {
  let dir: string;
  let state: string;
  let run: UpRun;
  let summary: UpSummary;
  const pinsBefore = fs.readFileSync(path.join(EXAMPLE, 'pins.json'), 'utf8');

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'up-example-'));
    state = path.join(dir, 'state');
    ({ run, summary } = await runUpOnce(['--app', path.join(EXAMPLE, 'main.ts'), '--state', state], dir, LIMIT_MS));
  }, LIMIT_MS + 10_000);

  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('every step of the loop passed, in order, within the time bound', () => {
    expect(run.ms).toBeLessThan(LIMIT_MS);
    expect(summary.ok).toBe(true);
    expect(summary.environment).toBe('dev');
    expect(summary.steps.map((s) => [s.name, s.ok])).toEqual(ONCE_STEPS.map((name) => [name, true]));
  });

  test('train v1 -> champion; drift retrained v2, gated against v1 and promoted to champion', async () => {
    const registry = openRegistry(summary.registry!.uri);
    expect(await registry.listVersions('breast-cancer')).toEqual([1, 2]);
    const v1 = await registry.getManifest('breast-cancer', 1);
    const v2 = await registry.getManifest('breast-cancer', 2);
    expect(v1.lineage.trainer).toBe('logistic-regression');
    expect(v1.metrics.roc_auc).toBeGreaterThan(0.95);
    expect(v2.gate).toMatchObject({ passed: true, comparedWith: 1 });
    expect(await registry.resolve('breast-cancer', 'champion')).toBe(2);
  });

  test('served answers equal onnxruntime in process: v1 before, v2 after the promotion', async () => {
    const registry = openRegistry(summary.registry!.uri);
    for (const [phase, version] of [['baseline', 1], ['verify', 2]] as const) {
      const replay = JSON.parse(fs.readFileSync(path.join(state, 'traffic', `${phase}.json`), 'utf8')) as Replay;
      const { manifest, artefact } = await registry.load('breast-cancer', version);
      const session = await ort.InferenceSession.create(artefact);
      try {
        for (const q of replay.requests) {
          expect(q.modelVersion).toBe(String(version));
          const x = new ort.Tensor('float32', Float32Array.from(q.rows.flat()), [q.rows.length, replay.featureNames.length]);
          const out = await session.run({ [manifest.signature.inputs[0].name]: x });
          const label = q.outputs.find((o) => o.name === 'label')!;
          expect(label.data.map(Number)).toEqual(Array.from(out.label.data as ArrayLike<number | bigint>, Number));
        }
      } finally {
        await session.release();
      }
    }
  });

  test('the monitor found no drift in real traffic and drift in shifted traffic; an alert was recorded and a retraining triggered', () => {
    const [baseline, shifted] = summary.monitor.map((m) => JSON.parse(fs.readFileSync(m.json, 'utf8')) as MonitorResult);
    expect(baseline.conditions.dataset_drift).toBe(false);
    expect(shifted.conditions.dataset_drift).toBe(true);
    expect(shifted.actions.retrain.outcome).toBe('triggered');
    expect(summary.alerts.length).toBeGreaterThanOrEqual(1);
    expect(summary.retraining).toMatchObject({ cronJob: 'oncology-training/breast-cancer-train', exitCode: 0, version: 2 });
    expect(fs.readFileSync(summary.report!, 'utf8')).toMatch(/<svg/);
  });

  test('the pinned version was promoted as `cdk-mlops promote` does, on a working copy: the example is untouched', () => {
    expect(summary.promotion!.change).toMatchObject({ model: 'breast-cancer', target: 'dev', from: 1, to: 2 });
    expect(JSON.parse(fs.readFileSync(summary.promotion!.workingCopy, 'utf8')).models['breast-cancer']).toEqual({ dev: 2, prod: 1 });
    expect(fs.readFileSync(path.join(EXAMPLE, 'pins.json'), 'utf8')).toBe(pinsBefore);
    expect(fs.existsSync(path.join(EXAMPLE, '.cdk-mlops'))).toBe(false);
  });

  test('nothing is left: no process of this run, no port listening, the lock released', async () => {
    expect(processesMentioning(state)).toEqual([]);
    for (const port of portsOfState(state)) expect(await portRefused(port)).toBe(true);
    expect(fs.existsSync(path.join(state, 'up.lock'))).toBe(false);
  });
});
