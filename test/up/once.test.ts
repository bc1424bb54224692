import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { FEATURE_TIME, ONCE_STEPS, portRefused, portsOfState, processesMentioning, runUpOnce, UpRun, writeFixtureData } from './support';
import type { MonitorResult } from '../../src/runtime/monitor/result';
import { openRegistry, Registry } from '../../src/runtime/registry/registry';
import type { PredictionRecord } from '../../src/runtime/registry/types';
import type { UpSummary } from '../../src/up/loop';
import type { Replay } from '../../src/up/traffic';

/**
 * The end-to-end test of the local loop: `cdk-mlops up --once --json` (the compiled CLI, as a
 * user runs it) on the fixture platform program, then every step checked from what it left
 * behind: the registry, the served predictions against onnxruntime in this process, the
 * monitor's JSON results, the alert inbox, the retraining record, the promoted pin, the online
 * features; and nothing left running or listening.
 */

const FIXTURES = path.join(__dirname, 'fixtures');
const PINS = path.join(FIXTURES, 'pins.json');
const LIMIT_MS = 90_000;

describe('cdk-mlops up --once on the fixture platform', () => {
  let dir: string;
  let state: string;
  let run: UpRun;
  let summary: UpSummary;
  let registry: Registry;
  let featureRows: Map<number, Record<string, number>>;
  const pinsBefore = fs.readFileSync(PINS, 'utf8');

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'up-once-'));
    state = path.join(dir, 'state');
    featureRows = writeFixtureData(path.join(dir, 'data'));
    ({ run, summary } = await runUpOnce(['--app', path.join(FIXTURES, 'app.ts'), '--state', state, '--data', path.join(dir, 'data')], dir, LIMIT_MS));
    registry = openRegistry(summary.registry!.uri);
  }, LIMIT_MS + 10_000);

  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('it finishes within the time bound, every step passed, and the summary on stdout is the one in the state directory', () => {
    expect(run.ms).toBeLessThan(LIMIT_MS);
    expect(summary.ok).toBe(true);
    expect(summary.steps.map((s) => [s.name, s.ok])).toEqual(ONCE_STEPS.map((name) => [name, true]));
    expect(JSON.parse(fs.readFileSync(path.join(state, 'summary.json'), 'utf8'))).toEqual(summary);
    expect(summary.environment).toBe('dev');
  });

  test('jobs ran in order: materialization, training v1, monitor runs, then the retraining from the CronJob template', () => {
    const jobs = summary.jobs.map((j) => [j.id.replace(/-[0-9a-f]{8}$/, '-<hash>'), j.exitCode]);
    expect(jobs).toEqual([
      ['CronJob/up-test-features/clinic-materialize-tumor', 0],
      ['Job/up-test-training/cancer-train-<hash>', 0],
      ['CronJob/up-test-monitoring/cancer-drift', 0],
      ['CronJob/up-test-monitoring/cancer-drift', 0],
      ['CronJob/up-test-training/cancer-train', 0],
    ]);
  });

  test('the registry holds v1 and v2, each with its gate record; v2 was compared with v1 and is champion', async () => {
    expect(await registry.listVersions('cancer')).toEqual([1, 2]);
    const v1 = await registry.getManifest('cancer', 1);
    const v2 = await registry.getManifest('cancer', 2);
    expect(v1.gate?.passed).toBe(true);
    expect(v1.gate?.comparedWith).toBeUndefined();
    expect(v1.gate?.reasons).toContain("no 'champion' to compare with: regression limits not applied (first candidate)");
    expect(v2.gate?.passed).toBe(true);
    expect(v2.gate?.comparedWith).toBe(1);
    expect(v1.metrics.roc_auc).toBeGreaterThanOrEqual(0.9);
    expect(v2.lineage.dataHash).toBe(v1.lineage.dataHash);
    expect(await registry.resolve('cancer', 'champion')).toBe(2);
    expect(await registry.verify('cancer', 2)).toEqual([]);
    expect(summary.registry).toMatchObject({ model: 'cancer', aliases: { champion: 2 } });
    expect(summary.registry!.versions.map((v) => [v.version, v.gate?.passed])).toEqual([[1, true], [2, true]]);
  });

  test('served predictions equal onnxruntime run here on the same rows: v1 before the promotion, v2 after', async () => {
    const check = async (phase: string, version: number) => {
      const replay = JSON.parse(fs.readFileSync(path.join(state, 'traffic', `${phase}.json`), 'utf8')) as Replay;
      const { manifest, artefact } = await registry.load('cancer', version);
      expect(replay.featureNames).toEqual(manifest.signature.featureNames);
      const session = await ort.InferenceSession.create(artefact);
      const input = manifest.signature.inputs[0];
      try {
        let rows = 0;
        for (const q of replay.requests) {
          expect(q.modelVersion).toBe(String(version));
          const x = new ort.Tensor('float32', Float32Array.from(q.rows.flat()), [q.rows.length, replay.featureNames.length]);
          const out = await session.run({ [input.name]: x });
          for (const o of q.outputs) {
            const mine = Array.from(out[o.name].data as ArrayLike<number | bigint>, Number);
            if (o.datatype.startsWith('FP')) {
              mine.forEach((v, i) => expect(Number(o.data[i])).toBeCloseTo(v, 6));
            } else {
              expect(o.data.map(Number)).toEqual(mine);
            }
          }
          rows += q.rows.length;
        }
        return rows;
      } finally {
        await session.release();
      }
    };
    expect(await check('baseline', 1)).toBe(200);
    expect(await check('shifted', 1)).toBe(200);
    expect(await check('verify', 2)).toBe(20);
  });

  test('baseline and verification requests carried patient ids; the server assembled the rows the feature store holds for them', () => {
    for (const phase of ['baseline', 'verify']) {
      const replay = JSON.parse(fs.readFileSync(path.join(state, 'traffic', `${phase}.json`), 'utf8')) as Replay;
      for (const q of replay.requests) {
        expect(q.entityKeys).toHaveLength(q.rows.length);
        q.entityKeys!.forEach((id, i) => expect(q.rows[i]).toEqual(replay.featureNames.map((f) => featureRows.get(Number(id))![f])));
      }
    }
    const shifted = JSON.parse(fs.readFileSync(path.join(state, 'traffic', 'shifted.json'), 'utf8')) as Replay;
    expect(shifted.requests.every((q) => q.entityKeys === undefined)).toBe(true);
  });

  test('the shifted rows are the data set moved by 1.5 reference standard deviations', async () => {
    const shifted = JSON.parse(fs.readFileSync(path.join(state, 'traffic', 'shifted.json'), 'utf8')) as Replay;
    const ref = await registry.getReference('cancer', 1);
    const j = shifted.featureNames.indexOf('mean_radius');
    const sd = ref.features.find((f) => f.name === 'mean_radius')!.std!;
    const values = shifted.requests.flatMap((q) => q.rows.map((r) => r[j]));
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    expect(Math.abs(mean - (ref.features.find((f) => f.name === 'mean_radius')!.mean! + 1.5 * sd))).toBeLessThan(0.5 * sd);
  });

  test('every request was logged for the monitor, with the version that answered it', () => {
    const root = path.dirname(path.dirname(summary.monitor[0].json));
    expect(root).toBe(path.join(state, 'monitor', 'cancer-drift'));
    const logRoot = path.join(path.dirname(summary.registry!.uri.replace(/^file:\/\//, '')), 'predictions', 'cancer');
    const records: PredictionRecord[] = [];
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(path.join(d, e.name));
        else if (e.name.endsWith('.jsonl')) records.push(...fs.readFileSync(path.join(d, e.name), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as PredictionRecord));
      }
    };
    walk(path.join(logRoot, 'cancer'));
    const byVersion = (v: number) => records.filter((r) => r.version === v).reduce((n, r) => n + r.inputs.length, 0);
    expect(byVersion(1)).toBe(400);
    expect(byVersion(2)).toBe(20);
  });

  test("the monitor's JSON results: no drift on the baseline, dataset drift on the shifted traffic, which triggered the retraining", () => {
    expect(summary.monitor.map((m) => path.relative(state, m.json))).toEqual([path.join('monitor', 'cancer-drift', 'runs', 'run-001.json'), path.join('monitor', 'cancer-drift', 'runs', 'run-002.json')]);
    const [baseline, shifted] = summary.monitor.map((m) => JSON.parse(fs.readFileSync(m.json, 'utf8')) as MonitorResult);
    expect(baseline).toMatchObject({ model: 'cancer', version: 1, conditions: { dataset_drift: false } });
    expect(baseline.records.rows).toBe(200);
    expect(baseline.dataset.drifted / baseline.dataset.tested).toBeLessThan(0.5);
    expect(shifted).toMatchObject({ model: 'cancer', version: 1, conditions: { dataset_drift: true } });
    expect(shifted.records.rows).toBe(400);
    expect(shifted.dataset.tested).toBe(30);
    expect(shifted.dataset.drifted).toBeGreaterThanOrEqual(15);
    expect(shifted.actions.retrain.outcome).toBe('triggered');
    expect(fs.existsSync(summary.monitor[1].html!)).toBe(true);
    expect(fs.readFileSync(summary.report!, 'utf8')).toMatch(/<html/i);
    expect(fs.readFileSync(path.join(state, 'monitor', 'cancer-drift', 'metrics.prom'), 'utf8')).toMatch(/^cdk_mlops_dataset_drift\{model="cancer",version="1"\} 1$/m);
  });

  test('alerts were recorded by the local inbox, the first for the dataset drift', () => {
    expect(summary.alerts.length).toBeGreaterThanOrEqual(1);
    const first = JSON.parse(fs.readFileSync(summary.alerts[0].file, 'utf8')) as { body: { text: string } };
    expect(first.body.text).toMatch(/^\[cdk-mlops\] Dataset drift on cancer v1: \d+ of 30 features drifted/);
    const shifted = summary.monitor[1];
    expect(shifted.alerts.find((a) => a.condition === 'dataset_drift')?.outcome).toBe('sent');
  });

  test('the retraining record names the drift episode, and the CronJob template trained v2', () => {
    const r = summary.retraining!;
    expect(r).toMatchObject({ cronJob: 'up-test-training/cancer-train', exitCode: 0, version: 2, gate: { passed: true, comparedWith: 1 } });
    expect(path.dirname(r.record)).toBe(path.join(state, 'retrain', 'cancer-drift'));
    const record = JSON.parse(fs.readFileSync(r.record, 'utf8'));
    expect(record).toMatchObject({ schema: 'cdk-mlops.monitor.retrain/v1', model: 'cancer', version: 1, condition: 'dataset_drift' });
    expect(record.episode).toMatch(/^dataset_drift-v1-/);
  });

  test('the pin was promoted as `cdk-mlops promote` edits it, on a working copy; the program\'s pins file is untouched', () => {
    const p = summary.promotion!;
    expect(p.change).toEqual({ model: 'cancer', target: 'dev', from: 1, to: 2 });
    expect(p.pinsFile).toBe(PINS);
    expect(fs.readFileSync(PINS, 'utf8')).toBe(pinsBefore);
    expect(fs.readFileSync(p.workingCopy, 'utf8')).toBe(pinsBefore.replace('"dev": 1', '"dev": 2'));
    expect(p.command).toBe(`cdk-mlops promote cancer --to dev --version 2 --pins ${path.relative(dir, PINS)}`);
    expect(p.reloaded).toContain('Rollout/up-test-serving/cancer reloaded');
    // The synthesis after the promotion serves v2.
    const rollout = fs.readFileSync(path.join(state, 'dist', 'dev', 'k8s', 'serving.yaml'), 'utf8');
    expect(rollout).toMatch(/cdk-mlops\.io\/model: cancer@2/);
    expect(summary.endpoint).toMatchObject({ model: 'cancer', servedVersion: 2 });
    expect(summary.traffic.verify.versions).toEqual(['2']);
  });

  test('the metrics snapshot counts the requests per version', () => {
    const requests = summary.metrics!.serve.filter((m) => m.name === 'cdk_mlops_serve_requests_total' && m.labels.code === '200');
    const count = (v: string) => requests.filter((m) => m.labels.version === v).reduce((a, m) => a + m.value, 0);
    expect(count('1')).toBe(80);
    expect(count('2')).toBe(4);
  });

  test('the feature server answered the latest offline values of the materialized view', () => {
    expect(summary.features).toHaveLength(1);
    const f = summary.features[0];
    expect(f).toMatchObject({ view: 'tumor', joinKey: 'patient_id', entities: [1, 2, 3] });
    for (const [name, values] of Object.entries(f.values)) {
      expect(values).toEqual(f.entities.map((id) => featureRows.get(Number(id))![name]));
    }
    expect(FEATURE_TIME.getTime()).toBeLessThan(Date.now());
  });

  test('nothing is left: no process of this run, no port listening, the lock released', async () => {
    expect(processesMentioning(state)).toEqual([]);
    const ports = portsOfState(state);
    expect(ports.length).toBeGreaterThanOrEqual(3);
    for (const port of ports) expect(await portRefused(port)).toBe(true);
    expect(fs.existsSync(path.join(state, 'up.lock'))).toBe(false);
  });
});
