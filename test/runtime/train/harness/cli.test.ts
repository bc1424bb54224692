import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { DATA, tempDir } from './support';
import { resolveConfig, run } from '../../../../src/cli/commands/train';
import { JsonReporter, TtyReporter } from '../../../../src/runtime/train/progress';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
let dir: string;
beforeAll(() => {
  dir = tempDir('train-cli-');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs `cdk-mlops <args>` from the sources in a child process (stdout is a pipe, not a TTY). */
function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [
      '-r', require.resolve('ts-node/register/transpile-only'),
      '-e', "require('./src/cli/main.ts').main(process.argv.slice(1)).then((c) => { process.exitCode = c; })",
      ...args,
    ], { cwd: ROOT, env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('cdk-mlops train: configuration', () => {
  test('defaults < config file < environment < flags', () => {
    const file = path.join(dir, 'train.yaml');
    fs.writeFileSync(file, [
      'model: from-file',
      'seed: 3',
      'data:',
      '  uri: data.csv',
      '  target: label',
      'params:',
      '  C: 0.5',
      'gate:',
      '  minimums: { roc_auc: 0.9 }',
      '',
    ].join('\n'));
    const env = { CDK_MLOPS_TRAIN_SEED: '7', CDK_MLOPS_TRAIN_DATA__TARGET: 'y' };
    const fileAndEnv = resolveConfig(['--config', file], env).config;
    expect(fileAndEnv).toMatchObject({ model: 'from-file', seed: 7, data: { uri: 'data.csv', target: 'y', format: 'auto', ignore: [] }, params: { C: 0.5 }, trainer: 'logistic-regression', registry: './.cdk-mlops/registry' });
    expect(fileAndEnv.split).toEqual({ train: 0.7, validation: 0.15, test: 0.15 });
    expect(fileAndEnv.gate).toEqual({ minimums: { roc_auc: 0.9 }, maximums: {}, maxRegression: {}, alias: 'champion', promote: true });

    const flags = resolveConfig([
      '--config', file, '--seed', '9', '--param', 'max_iter=500', '--min', 'accuracy=0.8', '--max-regression', 'roc_auc=0.02',
      '--split', '0.6,0.2,0.2', '--features', 'a, b', '--slice', 'region', '--no-promote', '--registry', 's3://bucket/reg',
      '--hpo-mode', 'grid', '--hpo-space', '{"C":{"values":[0.1,1]}}', '--hpo-parallelism', '2',
    ], env).config;
    expect(flags).toMatchObject({
      seed: 9,
      registry: 's3://bucket/reg',
      params: { C: 0.5, max_iter: 500 },
      split: { train: 0.6, validation: 0.2, test: 0.2 },
      data: { uri: 'data.csv', target: 'y', features: ['a', 'b'], sliceColumn: 'region' },
      gate: { minimums: { roc_auc: 0.9, accuracy: 0.8 }, maxRegression: { roc_auc: 0.02 }, promote: false },
      hpo: { mode: 'grid', space: { C: { values: [0.1, 1] } }, parallelism: 2, execution: 'in-process' },
    });
  });

  test('without --config, the file named by CDK_MLOPS_CONFIG is read (the file a pod mounts); --config wins', () => {
    const file = path.join(dir, 'pod-config.json');
    fs.writeFileSync(file, JSON.stringify({ model: 'from-pod', data: { uri: 'pod.csv' } }));
    expect(resolveConfig([], { CDK_MLOPS_CONFIG: file }).config).toMatchObject({ model: 'from-pod', data: { uri: 'pod.csv' } });
    const other = path.join(dir, 'other.json');
    fs.writeFileSync(other, JSON.stringify({ model: 'from-flag', data: { uri: 'flag.csv' } }));
    expect(resolveConfig(['--config', other], { CDK_MLOPS_CONFIG: file }).config.model).toBe('from-flag');
    expect(() => resolveConfig([], { CDK_MLOPS_CONFIG: path.join(dir, 'missing.json') })).toThrow(/missing\.json.*cannot be read/);
  });

  test('an indexed search takes its trial from JOB_COMPLETION_INDEX; bad values name the field', () => {
    const args = ['--model', 'm', '--data', 'd.csv', '--hpo-space', '{"C":{"values":[1,2]}}', '--hpo-execution', 'indexed', '--hpo-results', '/tmp/r'];
    expect(resolveConfig(args, { JOB_COMPLETION_INDEX: '1' }).hpoIndex).toBe(1);
    expect(resolveConfig([...args, '--hpo-collect'], { JOB_COMPLETION_INDEX: '1' })).toMatchObject({ hpoIndex: undefined, hpoCollect: true });
    expect(() => resolveConfig(['--model', 'm', '--data', 'd.csv', '--hpo-space', '{"C":{"values":[1]}}', '--hpo-execution', 'indexed'], {}))
      .toThrow(/'hpo.resultsUri' \(missing\): execution 'indexed' needs resultsUri/);
    expect(() => resolveConfig(['--data', 'd.csv'], {})).toThrow(/'model' \(missing\)/);
    expect(() => resolveConfig(['--model', 'Bad Name', '--data', 'd.csv'], {})).toThrow(/'model' \("Bad Name"\): must be lower-case letters/);
    expect(() => resolveConfig(['--model', 'm', '--data', 'd.csv', '--split', '0.5,0.2,0.2'], {})).toThrow(/'split' .*: train \+ validation \+ test must add up to 1/);
    expect(() => resolveConfig(['--model', 'm', '--split', '0.5,0.5'], {})).toThrow(/--split expects three fractions/);
    expect(() => resolveConfig(['--model', 'm', '--param', 'C'], {})).toThrow(/--param expects name=value, got "C"/);
    expect(() => resolveConfig(['--model', 'm', '--bogus'], {})).toThrow(/Unknown option '--bogus'/);
  });
});

describe('cdk-mlops train: the command', () => {
  test('JSON logs when not on a terminal; exit 0 when promoted, 3 when the gate fails, 1 on bad input', async () => {
    const registry = path.join(dir, 'reg');
    const base = ['train', '--data', path.join(DATA, 'breast_cancer.csv'), '--model', 'bc', '--registry', registry];
    const ok = await cli([...base, '--min', 'roc_auc=0.95'], { CDK_MLOPS_CREATED_BY: 'cli@test' });
    expect(ok.code).toBe(0);
    const lines = ok.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.every((l) => l.cmd === 'train' && typeof l.time === 'string' && l.level === 30)).toBe(true);
    expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['loading data', 'data loaded', 'split', 'quality gate passed', 'registering', 'train finished']));
    expect(lines.find((l) => l.msg === 'fit 100%')).toBeDefined();
    expect(lines.find((l) => l.msg === 'train finished')).toMatchObject({ model: 'bc', version: 1, promoted: true, gate: { passed: true } });

    const failed = await cli([...base, '--min', 'roc_auc=0.999']);
    expect(failed.code).toBe(3);
    expect(JSON.parse(failed.stdout.trim().split('\n').pop()!)).toMatchObject({ msg: 'train finished', version: 2, promoted: false, gate: { passed: false, comparedWith: 1 } });

    const bad = await cli(['train', '--data', path.join(dir, 'nope.csv'), '--model', 'bc', '--registry', registry]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/cdk-mlops train: data .*nope\.csv: .*nope\.csv does not exist/);
    expect(bad.stdout).toContain('"msg":"nothing registered: data');

    const listed = await cli(['registry', 'list', 'bc', '--json', '--registry', registry]);
    expect(JSON.parse(listed.stdout).versions.map((v: { version: number; gate: string; aliases: string[] }) => [v.version, v.gate, v.aliases])).toEqual([[1, 'passed', ['champion']], [2, 'failed', []]]);
  }, 60_000);

  test('usage errors exit 2 and --help prints the options, before anything heavy is loaded', async () => {
    const out: string[] = [];
    const spy = (stream: NodeJS.WriteStream) => jest.spyOn(stream, 'write').mockImplementation((c) => { out.push(String(c)); return true; });
    const o = spy(process.stdout);
    const e = spy(process.stderr);
    try {
      expect(await run(['--split', '1'])).toBe(2);
      expect(out.join('')).toContain('cdk-mlops train: --split expects three fractions train,validation,test; got "1"');
      expect(await run(['--help'])).toBe(0);
      expect(out.join('')).toContain('exit status: 0 registered (and promoted unless --no-promote); 3 registered but the quality');
      expect(await run(['--model', 'm'])).toBe(1);
      expect(out.join('')).toMatch(/'data' \(missing\)/);
    } finally {
      o.mockRestore();
      e.mockRestore();
    }
  });
});

describe('progress reporting', () => {
  test('on a terminal: steps and a progress bar on stderr, the summary on stdout', () => {
    const out = new PassThrough();
    const err = new PassThrough();
    let o = '';
    let e = '';
    out.on('data', (d: Buffer) => { o += d.toString(); });
    err.on('data', (d: Buffer) => { e += d.toString(); });
    const r = new TtyReporter(out, err);
    r.step('loading data', { rows: 10 });
    r.progress('fit', 0.5, 'iteration 3');
    r.progress('fit', 1);
    r.result('registered m version 1');
    expect(e).toMatch(/^\[\d+\.\ds\] loading data {2}\(rows=10\)\n/);
    expect(e).toContain('fit [############            ]  50% iteration 3');
    expect(e).toContain('fit [########################] 100%');
    expect(o).toBe('registered m version 1\n');
  });

  test('JSON: progress throttled to every 10% or 5 s per stage, always the end', () => {
    const logged: { fields: Record<string, unknown>; msg: string }[] = [];
    const log = { info: (fields: Record<string, unknown>, msg: string) => logged.push({ fields, msg }), warn: () => undefined };
    let now = 0;
    const r = new JsonReporter(log as never, () => now);
    for (let i = 0; i <= 100; i++) r.progress('fit', i / 100);
    expect(logged.map((l) => l.msg)).toEqual(['fit 0%', 'fit 10%', 'fit 20%', 'fit 30%', 'fit 40%', 'fit 50%', 'fit 60%', 'fit 70%', 'fit 80%', 'fit 90%', 'fit 100%']);
    logged.length = 0;
    r.progress('search', 0.01);
    r.progress('search', 0.02);
    now = 6000;
    r.progress('search', 0.03);
    expect(logged.map((l) => l.fields.progress)).toEqual([0.01, 0.03]);
  });
});
