import * as fs from 'node:fs';
import * as path from 'node:path';
import { config, DATA, tempDir, tsNodeCommand } from './support';
import { InputError } from '../../../../src/runtime/errors';
import { openRegistry } from '../../../../src/runtime/registry/registry';
import { train, TrainOutcome } from '../../../../src/runtime/train/harness';

const SCRIPT = path.join(__dirname, 'fixtures', 'external-trainer.ts');
let dir: string;
let log: string;
beforeAll(() => {
  dir = tempDir('train-external-');
  log = path.join(dir, 'external.log');
  process.env.EXTERNAL_TRAINER_LOG = log;
});
afterAll(() => {
  delete process.env.EXTERNAL_TRAINER_LOG;
  fs.rmSync(dir, { recursive: true, force: true });
});

function lastLog(): Record<string, unknown> {
  const lines = fs.readFileSync(log, 'utf8').trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

describe('external trainer mode', () => {
  test('a regression command: its ONNX model is evaluated, gated and registered like a built-in one', async () => {
    const registry = path.join(dir, 'reg');
    const command = tsNodeCommand(SCRIPT, 'least-squares');
    const outcome = await train(config({
      model: 'diabetes-ols',
      registry,
      data: { uri: path.join(DATA, 'diabetes.csv') },
      external: { command, task: 'regression', name: 'my-least-squares', version: '1.2.0' },
      params: { alpha: 0 },
      gate: { maximums: { rmse: 60 } },
    })) as TrainOutcome;
    const m = outcome.manifest;
    // Ordinary least squares on these rows: as good as ridge (scikit-learn RMSE 54.2).
    expect(m.metrics.rmse).toBeLessThan(56);
    expect(m.metrics.r2).toBeGreaterThan(0.48);
    expect(outcome.gate.passed).toBe(true);
    expect(m.lineage).toMatchObject({ trainer: 'my-least-squares', trainerVersion: '1.2.0' });
    expect(m.parameters).toEqual({ alpha: 0 });
    expect(m.signature.inputs).toEqual([{ name: 'input', datatype: 'FP32', shape: [-1, 10] }]);
    expect(m.signature.outputs).toEqual([{ name: 'variable', datatype: 'FP32', shape: [-1, 1] }]);
    // What the command was given: the split as CSV (features then target), and the contract.
    expect(lastLog()).toEqual({
      header: ['age', 'sex', 'bmi', 'bp', 's1', 's2', 's3', 's4', 's5', 's6', 'target'],
      trainRows: 310,
      validationRows: 66,
      features: ['age', 'sex', 'bmi', 'bp', 's1', 's2', 's3', 's4', 's5', 's6'],
      params: { alpha: 0 },
      target: 'target',
      task: 'regression',
      seed: '42',
    });
    const card = await openRegistry(registry).getModelCard('diabetes-ols', 1);
    expect(card).toContain(`External command: \`${command}\``);
    expect((await openRegistry(registry).load('diabetes-ols', 'champion')).artefact.length).toBeGreaterThan(100);
  });

  test('a classification command, and a search whose trials each run the command', async () => {
    const registry = path.join(dir, 'reg');
    const outcome = await train(config({
      model: 'bc-external',
      registry,
      data: { uri: path.join(DATA, 'breast_cancer.csv') },
      external: { command: tsNodeCommand(SCRIPT, 'logistic'), task: 'classification' },
      hpo: { mode: 'grid', space: { C: { values: [0.0005, 1] } }, metric: 'log_loss', parallelism: 2 },
    })) as TrainOutcome;
    expect(outcome.manifest.metrics.roc_auc).toBeGreaterThan(0.98);
    expect(outcome.manifest.signature.classes).toEqual([0, 1]);
    expect(outcome.hpo!.trials.map((t) => t.searched)).toEqual([{ C: 0.0005 }, { C: 1 }]);
    expect(outcome.hpo!.best).toBe(1);
    expect(outcome.manifest.parameters).toEqual({ C: 1 });
    expect(outcome.manifest.lineage.trainer).toBe('external');
    expect(lastLog()).toMatchObject({ classes: [0, 1], task: 'classification', params: { C: 1 } });
  });

  test.each([
    ['a failing command', 'echo starting; echo boom >&2; exit 7', /failed \(exit code 7\); its last output:\n {2}starting\n {2}boom$/],
    ['a command that writes no model', 'true', /exited 0 but wrote no model at \$CDK_MLOPS_MODEL_OUTPUT/],
    ['a command that writes garbage', 'printf "not onnx" > "$CDK_MLOPS_MODEL_OUTPUT"', /onnxruntime cannot load it/],
    ['a command that cannot start', 'exec /nonexistent/trainer', /failed \(exit code 127\)/],
  ])('%s is refused and nothing is registered', async (_name, command, expected) => {
    const registry = path.join(dir, `reg-fail-${Math.random()}`);
    const error = await train(config({
      model: 'm', registry, data: { uri: path.join(DATA, 'diabetes.csv') }, external: { command, task: 'regression' },
    })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toMatch(expected);
    expect(fs.existsSync(registry)).toBe(false);
  });

  test('a model for the wrong task, or a command past its time limit, is refused', async () => {
    const registry = path.join(dir, 'reg-wrong');
    // A classifier (label + probabilities [N, 2]) offered as a regression model.
    const wrong = await train(config({
      model: 'm', registry, data: { uri: path.join(DATA, 'breast_cancer.csv') }, external: { command: tsNodeCommand(SCRIPT, 'logistic'), task: 'regression' },
    })).catch((e: unknown) => e);
    expect((wrong as Error).message).toMatch(/has no output 'variable' and 0 outputs that could be a float tensor \[N\] or \[N, 1\] \(label INT64 \[-1\]; probabilities FP32 \[-1, 2\]\)/);
    const started = Date.now();
    const slow = await train(config({
      model: 'm', registry, data: { uri: path.join(DATA, 'diabetes.csv') }, external: { command: 'echo working; sleep 30', task: 'regression', timeoutSeconds: 1 },
    })).catch((e: unknown) => e);
    expect((slow as Error).message).toMatch(/did not finish within 1 s and was killed; its last output:\n {2}working/);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(fs.existsSync(registry)).toBe(false);
  });

  test('a SIGTERM of the harness stops the command (its whole process group) and registers nothing', async () => {
    const registry = path.join(dir, 'reg-signal');
    const marker = path.join(dir, 'child.pid');
    const steps: string[] = [];
    const reporter = { step: (m: string) => steps.push(m), progress: () => undefined, warn: () => undefined, result: () => undefined };
    const running = train(config({
      model: 'm',
      registry,
      data: { uri: path.join(DATA, 'diabetes.csv') },
      external: { command: `sh -c 'echo $$ > ${marker}; sleep 30'`, task: 'regression' },
    }), { reporter });
    for (let i = 0; i < 200 && !fs.existsSync(marker); i++) await new Promise((r) => setTimeout(r, 25));
    const pid = Number(fs.readFileSync(marker, 'utf8'));
    const before = process.listenerCount('SIGTERM');
    process.emit('SIGTERM', 'SIGTERM');
    await expect(running).rejects.toThrow('interrupted by SIGTERM: the external trainer was stopped and nothing was registered');
    // Gone, or a zombie waiting for its (new) parent to reap it: not running any more.
    await new Promise((r) => setTimeout(r, 100));
    const state = fs.existsSync(`/proc/${pid}/stat`) ? fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0] : 'gone';
    expect(['gone', 'Z', 'X']).toContain(state);
    expect(process.listenerCount('SIGTERM')).toBe(before - 1);
    expect(fs.existsSync(registry)).toBe(false);
    expect(steps).toContain('external trainer started');
  });
});
