import * as fs from 'node:fs';
import * as path from 'node:path';
import { config, DATA, tempDir } from './support';
import { TrainConfigInput } from '../../../../src/runtime/config/train';
import { openRegistry } from '../../../../src/runtime/registry/registry';
import { train, TrainOutcome, TrialOutcome } from '../../../../src/runtime/train/harness';
import { planTrials } from '../../../../src/runtime/train/hpo';

let dir: string;
beforeAll(() => {
  dir = tempDir('train-hpo-');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('planTrials', () => {
  test('grid: every combination, in a fixed order; ranges spaced linearly or on a log scale', () => {
    const trials = planTrials(config({ model: 'm', data: { uri: 'x' }, hpo: { mode: 'grid', space: { C: { min: 0.01, max: 100, log: true, steps: 3 }, max_iter: { values: [50, 100] } } } }).hpo!, { tol: 1e-6 }, 1);
    expect(trials.map((t) => t.searched)).toEqual([
      { C: 0.01, max_iter: 50 }, { C: 0.01, max_iter: 100 },
      { C: expect.closeTo(1, 12), max_iter: 50 }, { C: expect.closeTo(1, 12), max_iter: 100 },
      { C: expect.closeTo(100, 10), max_iter: 50 }, { C: expect.closeTo(100, 10), max_iter: 100 },
    ]);
    expect(trials[3].params).toEqual({ tol: 1e-6, C: trials[3].searched.C, max_iter: 100 });
    expect(() => planTrials(config({ model: 'm', data: { uri: 'x' }, hpo: { mode: 'grid', trials: 4, space: { a: { values: [1, 2, 3] }, b: { values: [1, 2] } } } }).hpo!, {}, 1))
      .toThrow(/4 is fewer than the 6 combinations of the grid \(a: 3, b: 2\)/);
  });

  test('random: seeded draws, the same for the same seed, within the ranges', () => {
    const hpo = config({ model: 'm', data: { uri: 'x' }, hpo: { mode: 'random', trials: 50, space: { C: { min: 0.001, max: 10, log: true }, hidden: { min: 2, max: 9, integer: true }, act: { values: ['relu', 'tanh'] } } } }).hpo!;
    const a = planTrials(hpo, {}, 7);
    expect(planTrials(hpo, {}, 7)).toEqual(a);
    expect(planTrials(hpo, {}, 8)).not.toEqual(a);
    for (const t of a) {
      expect(t.searched.C).toBeGreaterThanOrEqual(0.001);
      expect(t.searched.C).toBeLessThanOrEqual(10);
      expect(Number.isInteger(t.searched.hidden)).toBe(true);
      expect(['relu', 'tanh']).toContain(t.searched.act);
    }
    // Log scale: about as many draws below 0.1 as above (the range spans 4 decades, 2 below 0.1).
    const below = a.filter((t) => (t.searched.C as number) < 0.1).length;
    expect(below).toBeGreaterThan(12);
    expect(below).toBeLessThan(38);
    expect(new Set(a.map((t) => t.searched.hidden)).size).toBeGreaterThanOrEqual(6);
  });
});

const base = (extra: Partial<TrainConfigInput> = {}): TrainConfigInput => ({
  model: 'bc',
  registry: path.join(dir, `reg-${Math.random()}`),
  data: { uri: path.join(DATA, 'breast_cancer.csv') },
  ...extra,
});
const space = { C: { min: 0.001, max: 100, log: true } };

describe('search on breast_cancer', () => {
  test('random search in process is reproducible, the same with worker threads, and picks the best by validation', async () => {
    const serial = await train(config(base({ hpo: { mode: 'random', trials: 6, space, metric: 'log_loss', parallelism: 1 } }))) as TrainOutcome;
    const parallel = await train(config(base({ hpo: { mode: 'random', trials: 6, space, metric: 'log_loss', parallelism: 2 } }))) as TrainOutcome;
    const strip = (o: TrainOutcome): unknown => o.hpo!.trials.map(({ seconds: _s, ...t }) => t);
    expect(strip(parallel)).toEqual(strip(serial));
    expect(parallel.hpo!.best).toBe(serial.hpo!.best);
    expect(parallel.manifest.metrics).toEqual(serial.manifest.metrics);
    const objectives = serial.hpo!.trials.map((t) => t.objective);
    expect(serial.hpo!.trials[serial.hpo!.best].objective).toBe(Math.min(...objectives));
    expect(new Set(objectives).size).toBe(6);
    expect(serial.manifest.parameters.C).toBe(serial.hpo!.trials[serial.hpo!.best].searched.C);
    const card = await openRegistry(serial.registry).getModelCard('bc', 1);
    expect(card).toContain(`random search, 6 trials, seed 42, ranked by validation \`log_loss\` (lower is better); best: trial ${serial.hpo!.best}.`);
  });

  test('indexed: each trial alone (as an Indexed Job completion), then collect picks the same best as in process', async () => {
    const results = path.join(dir, 'results');
    const hpo = { mode: 'grid' as const, space: { C: { values: [0.001, 0.1, 10] } }, metric: 'roc_auc', execution: 'indexed' as const, resultsUri: results };
    const cfg = config(base({ hpo }));
    await expect(train(cfg)).rejects.toThrow(/is 'indexed': run each trial with JOB_COMPLETION_INDEX/);
    await expect(train(cfg, { hpoIndex: 3 })).rejects.toThrow(/JOB_COMPLETION_INDEX: 3 is not a trial of this search: expected 0 to 2 \(set the Indexed Job's completions to 3\)/);
    const first = await train(cfg, { hpoIndex: 0 }) as TrialOutcome;
    expect(first.kind).toBe('trial');
    expect(first.written).toBe(path.join(results, 'trial-0.json'));
    await expect(train(cfg, { hpoCollect: true })).rejects.toThrow(/2 of 3 trial results are missing under .*results \(trials 1, 2\)/);
    for (const i of [2, 1]) await train(cfg, { hpoIndex: i });
    expect(fs.readdirSync(results).sort()).toEqual(['trial-0.json', 'trial-1.json', 'trial-2.json']);
    expect(fs.existsSync(cfg.registry)).toBe(false);

    const collected = await train(cfg, { hpoCollect: true }) as TrainOutcome;
    const inProcess = await train(config(base({ hpo: { ...hpo, execution: 'in-process', resultsUri: undefined } }))) as TrainOutcome;
    expect(collected.hpo!.best).toBe(inProcess.hpo!.best);
    expect(collected.hpo!.trials.map((t) => t.objective)).toEqual(inProcess.hpo!.trials.map((t) => t.objective));
    expect(collected.manifest.metrics).toEqual(inProcess.manifest.metrics);
    expect(collected.manifest.version).toBe(1);

    // Results of another search (another seed) are never mixed in.
    await expect(train(config(base({ seed: 7, hpo })), { hpoCollect: true })).rejects.toThrow(/belongs to another search \(run id [0-9a-f]{16}, this one is [0-9a-f]{16}\)/);
  });
});
