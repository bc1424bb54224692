import * as fs from 'node:fs';
import * as path from 'node:path';
import { config, DATA, tempDir } from './support';
import { openRegistry } from '../../../../src/runtime/registry/registry';
import { evaluateGate } from '../../../../src/runtime/train/gate';
import { train, TrainOutcome } from '../../../../src/runtime/train/harness';

let dir: string;
beforeAll(() => {
  dir = tempDir('train-gate-');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const env = { ...process.env, CDK_MLOPS_CREATED_BY: 'gate@test' };

describe('quality gate against the champion', () => {
  test('pass promotes; a failing candidate is registered with its reasons and champion stays', async () => {
    const registry = path.join(dir, 'reg');
    const base = { model: 'bc', registry, data: { uri: path.join(DATA, 'breast_cancer.csv') } };
    const first = await train(config({ ...base, gate: { minimums: { roc_auc: 0.95 }, maxRegression: { roc_auc: 0.01, log_loss: 0.05 } } }), { env }) as TrainOutcome;
    expect(first.gate.passed).toBe(true);
    expect(first.gate.reasons).toEqual([
      expect.stringMatching(/^roc_auc 0\.98\d+ >= the minimum 0\.95$/),
      "no 'champion' to compare with: regression limits not applied (first candidate)",
    ]);
    expect(first.promoted).toBe(true);

    // Minimum not met: registered, not promoted, reason recorded.
    const strict = await train(config({ ...base, gate: { minimums: { roc_auc: 0.999 } } }), { env }) as TrainOutcome;
    expect(strict.manifest.version).toBe(2);
    expect(strict.promoted).toBe(false);
    expect(strict.manifest.gate).toEqual({ passed: false, reasons: [expect.stringMatching(/^roc_auc 0\.98\d+ is below the minimum 0\.999$/)], comparedWith: 1 });

    // A much worse model (heavy regularisation: probabilities pulled to 0.5, log loss up) regresses
    // beyond the allowed 0.05 against champion v1, re-evaluated on the same test rows.
    const weak = await train(config({ ...base, params: { C: 0.0005 }, gate: { maxRegression: { roc_auc: 0.01, log_loss: 0.05 } } }), { env }) as TrainOutcome;
    expect(weak.gate.passed).toBe(false);
    expect(weak.gate.reasons).toEqual([
      expect.stringMatching(/^roc_auc 0\.97\d* vs champion v1 0\.986111 \(same test split\): regression 0\.01\d* exceeds the allowed 0\.01$/),
      expect.stringMatching(/^log_loss 0\.[3-6]\d* vs champion v1 0\.12\d* \(same test split\): regression 0\.\d+ exceeds the allowed 0\.05$/),
    ]);
    expect(weak.manifest.gate?.comparedWith).toBe(1);

    const reg = openRegistry(registry);
    expect(await reg.resolve('bc', 'champion')).toBe(1);
    const card = await reg.getModelCard('bc', weak.manifest.version);
    expect(card).toContain('**Failed** against `champion` version 1; not promoted: `champion` was left where it was.');

    // The same model again passes the regression limits (regression 0) and moves the champion.
    const again = await train(config({ ...base, gate: { maxRegression: { roc_auc: 0.01, log_loss: 0.05 } } }), { env }) as TrainOutcome;
    expect(again.gate.passed).toBe(true);
    expect(again.gate.reasons[0]).toMatch(/^roc_auc 0\.98\d+ vs champion v1 0\.98\d+ \(same test split\): regression 0 within the allowed 0\.01$/);
    expect(again.promoted).toBe(true);
    const [alias] = await reg.listAliases('bc');
    expect(alias.version).toBe(again.manifest.version);
    expect(alias.history.map((h) => [h.version, h.movedBy, h.reason])).toEqual([
      [1, 'gate@test', 'quality gate passed (first candidate)'],
      [again.manifest.version, 'gate@test', 'quality gate passed against version 1'],
    ]);

    // Promotion switched off: registered, passes, alias untouched.
    const quiet = await train(config({ ...base, gate: { promote: false } }), { env }) as TrainOutcome;
    expect(quiet.gate.passed).toBe(true);
    expect(quiet.promoted).toBe(false);
    expect(await reg.resolve('bc', 'champion')).toBe(again.manifest.version);
  });

  test('a champion with other features is compared by its recorded metrics, and the reasons say so', async () => {
    const registry = path.join(dir, 'reg-features');
    const uri = path.join(DATA, 'diabetes.csv');
    await train(config({ model: 'db', trainer: 'ridge', registry, data: { uri } }), { env });
    const fewer = await train(config({
      model: 'db',
      trainer: 'ridge',
      registry,
      data: { uri, features: ['age', 'sex'], ignore: ['bmi', 'bp', 's1', 's2', 's3', 's4', 's5', 's6'] },
      gate: { maxRegression: { rmse: 5 }, maximums: { rmse: 100 } },
    }), { env }) as TrainOutcome;
    expect(fewer.gate.passed).toBe(false);
    expect(fewer.gate.reasons).toEqual([expect.stringMatching(/^rmse 7\d\.\d+ vs champion v1 5\d\.\d+ \(recorded metrics\): regression \d+\.\d+ exceeds the allowed 5$/)]);
  });
});

describe('evaluateGate', () => {
  const gate = { minimums: {}, maximums: {}, maxRegression: {}, alias: 'champion' };
  test('regression is direction-aware: lower is better for rmse, mae and log_loss', () => {
    const champion = { version: 3, metrics: { rmse: 50, r2: 0.5 }, basis: 'recorded metrics' as const };
    expect(evaluateGate({ ...gate, maxRegression: { rmse: 1 } }, { rmse: 51.5, r2: 0.5 }, champion).passed).toBe(false);
    expect(evaluateGate({ ...gate, maxRegression: { rmse: 1 } }, { rmse: 40, r2: 0.5 }, champion).passed).toBe(true);
    expect(evaluateGate({ ...gate, maxRegression: { r2: 0.01 } }, { rmse: 40, r2: 0.48 }, champion).passed).toBe(false);
    expect(evaluateGate({ ...gate, maxRegression: { r2: 0.01 } }, { rmse: 40, r2: 0.495 }, champion)).toEqual({
      passed: true,
      reasons: ['r2 0.495 vs champion v3 0.5 (recorded metrics): regression 0.005 within the allowed 0.01'],
      comparedWith: 3,
    });
  });

  test('a metric the candidate lacks fails; one the champion lacks is noted, not checked', () => {
    const champion = { version: 1, metrics: { accuracy: 0.9 }, basis: 'same test split' as const };
    expect(evaluateGate({ ...gate, minimums: { roc_auc: 0.9 } }, { accuracy: 0.95 }, champion)).toEqual({
      passed: false,
      reasons: ["minimum roc_auc: the candidate has no value for metric 'roc_auc' (it has accuracy)"],
      comparedWith: 1,
    });
    expect(evaluateGate({ ...gate, maxRegression: { roc_auc: 0.1 } }, { roc_auc: 0.95 }, champion).reasons).toEqual([
      "champion v1 has no 'roc_auc' (same test split): its regression is not checked",
    ]);
    expect(evaluateGate({ ...gate, maximums: { log_loss: 0.2 } }, { log_loss: 0.3 }, undefined)).toEqual({
      passed: false,
      reasons: ['log_loss 0.3 is above the maximum 0.2'],
    });
  });
});
