import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { TrainConfig } from '../config/train';
import { InputError } from '../errors';
import { computeMetrics } from './evaluate';
import { higherIsBetter, Metrics } from './metrics';
import { Rng } from './split';
import type { Params, Trainer } from './trainers/types';

/**
 * Hyperparameter search. Trials are planned up front from the seed (the same plan in every
 * process, which is what lets an Indexed Job run trial i alone), run on the train split,
 * scored on the validation split, and the best one by the chosen metric wins (ties: the lower
 * trial index). Every trial uses the run's seed, so trials differ only by their parameters.
 */

/** One planned trial. */
export interface TrialSpec {
  readonly index: number;
  /** The searched values only. */
  readonly searched: Params;
  /** Everything passed to the trainer: the configured params with the searched ones over them. */
  readonly params: Params;
}

/** A finished trial. */
export interface TrialResult extends TrialSpec {
  /** Validation metrics. */
  readonly metrics: Metrics;
  /** The ranked metric's value. */
  readonly objective: number;
  readonly seconds: number;
}

/** What the model card and the logs say about a search. */
export interface HpoSummary {
  readonly mode: 'grid' | 'random';
  readonly metric: string;
  readonly higherIsBetter: boolean;
  readonly seed: number;
  readonly trials: readonly TrialResult[];
  /** Index of the best trial. */
  readonly best: number;
}

type Hpo = NonNullable<TrainConfig['hpo']>;
type Space = Hpo['space'][string];

function gridValues(name: string, s: Space): (string | number | boolean)[] {
  if ('values' in s) return [...s.values];
  const out: number[] = [];
  for (let i = 0; i < s.steps; i++) {
    const t = i / (s.steps - 1);
    let v = i === 0 ? s.min : i === s.steps - 1 ? s.max : s.log ? Math.exp(Math.log(s.min) + t * (Math.log(s.max) - Math.log(s.min))) : s.min + t * (s.max - s.min);
    if (s.integer) v = Math.round(v);
    if (!out.includes(v)) out.push(v);
  }
  if (!out.length) throw new InputError(`hpo.space.${name}`, 'gives no values');
  return out;
}

function drawValue(s: Space, rng: Rng): string | number | boolean {
  if ('values' in s) return s.values[rng.int(s.values.length)];
  const u = rng.next();
  let v = s.log ? Math.exp(Math.log(s.min) + u * (Math.log(s.max) - Math.log(s.min))) : s.min + u * (s.max - s.min);
  if (s.integer) v = Math.round(v);
  return Math.min(s.max, Math.max(s.min, v));
}

/** The trials of a search, in order (deterministic from the config and the seed). */
export function planTrials(hpo: Hpo, baseParams: Params, seed: number): TrialSpec[] {
  const names = Object.keys(hpo.space).sort();
  const trials: TrialSpec[] = [];
  if (hpo.mode === 'grid') {
    const axes = names.map((n) => gridValues(n, hpo.space[n]));
    const total = axes.reduce((a, v) => a * v.length, 1);
    if (total > 10_000) throw new InputError('hpo.space', `the grid has ${total} combinations; at most 10000 are allowed (use mode random)`);
    if (hpo.trials !== undefined && hpo.trials < total) {
      throw new InputError('hpo.trials', `${hpo.trials} is fewer than the ${total} combinations of the grid (${names.map((n, i) => `${n}: ${axes[i].length}`).join(', ')}); leave trials out, raise it, or use mode random`);
    }
    for (let t = 0; t < total; t++) {
      const searched: Record<string, string | number | boolean> = {};
      let rest = t;
      for (let a = names.length - 1; a >= 0; a--) {
        searched[names[a]] = axes[a][rest % axes[a].length];
        rest = Math.floor(rest / axes[a].length);
      }
      const ordered = Object.fromEntries(names.map((n) => [n, searched[n]]));
      trials.push({ index: t, searched: ordered, params: { ...baseParams, ...ordered } });
    }
    return trials;
  }
  const rng = new Rng(seed ^ 0x5eed);
  const count = hpo.trials ?? 20;
  for (let t = 0; t < count; t++) {
    const searched = Object.fromEntries(names.map((n) => [n, drawValue(hpo.space[n], rng)]));
    trials.push({ index: t, searched, params: { ...baseParams, ...searched } });
  }
  return trials;
}

/** The metric that ranks trials: as configured, else roc_auc / rmse. */
export function hpoMetric(hpo: Hpo, task: 'classification' | 'regression'): string {
  return hpo.metric ?? (task === 'classification' ? 'roc_auc' : 'rmse');
}

/** The best trial (ties: the lower index). */
export function pickBest(results: readonly TrialResult[], metric: string): TrialResult {
  const higher = higherIsBetter(metric);
  let best = results[0];
  for (const r of results) {
    if (higher ? r.objective > best.objective : r.objective < best.objective) best = r;
  }
  return best;
}

/** The data a trial sees. */
export interface TrialData {
  readonly task: 'classification' | 'regression';
  readonly classes?: readonly number[];
  readonly d: number;
  readonly xTrain: Float64Array;
  readonly yTrain: Float64Array;
  readonly xValidation: Float64Array;
  readonly yValidation: Float64Array;
}

/** Fits one trial with a built-in trainer and scores it on the validation split. */
export function runBuiltInTrial(trainer: Trainer, data: TrialData, trial: TrialSpec, seed: number, metric: string): TrialResult {
  const started = process.hrtime.bigint();
  const model = trainer.fit({ x: data.xTrain, n: data.yTrain.length, d: data.d }, data.yTrain, trial.params, { seed });
  const prediction = model.predict({ x: data.xValidation, n: data.yValidation.length, d: data.d });
  const metrics = computeMetrics({ task: data.task, classes: model.classes ?? data.classes, prediction }, data.yValidation);
  return finishTrial(trial, metrics, metric, Number(process.hrtime.bigint() - started) / 1e9);
}

/** Attaches the objective, refusing a trial whose metric is undefined. */
export function finishTrial(trial: TrialSpec, metrics: Metrics, metric: string, seconds: number): TrialResult {
  const objective = metrics[metric];
  if (objective === undefined || !Number.isFinite(objective)) {
    throw new InputError('hpo.metric', `trial ${trial.index} has no finite validation '${metric}' (it has ${Object.entries(metrics).map(([k, v]) => `${k}=${v}`).join(', ')})`);
  }
  return { ...trial, metrics, objective, seconds };
}

/**
 * Runs trials with at most `parallelism` at a time. Built-in trainers run in worker threads
 * (one per slot, each with the data shared, not copied); `parallelism` 1 runs them here. An
 * async `runOne` (the external trainer) runs concurrently on the event loop instead.
 */
export async function runTrials(
  trials: readonly TrialSpec[],
  options: {
    readonly parallelism: number;
    readonly onTrial?: (result: TrialResult, done: number) => void;
  } & (
    | { readonly builtIn: { readonly trainerName: string; readonly trainer: Trainer; readonly data: TrialData; readonly seed: number; readonly metric: string } }
    | { readonly runOne: (trial: TrialSpec) => Promise<TrialResult> }
  ),
): Promise<TrialResult[]> {
  const results: TrialResult[] = new Array(trials.length);
  let done = 0;
  const record = (r: TrialResult): void => {
    results[r.index] = r;
    done++;
    options.onTrial?.(r, done);
  };
  const queue = [...trials];
  if ('runOne' in options) {
    const runOne = options.runOne;
    const slot = async (): Promise<void> => {
      for (let t = queue.shift(); t; t = queue.shift()) record(await runOne(t));
    };
    await Promise.all(Array.from({ length: Math.min(options.parallelism, trials.length) }, slot));
    return results;
  }
  const { trainerName, trainer, data, seed, metric } = options.builtIn;
  if (options.parallelism <= 1 || trials.length <= 1) {
    for (const t of trials) {
      record(runBuiltInTrial(trainer, data, t, seed, metric));
      await new Promise((r) => setImmediate(r));
    }
    return results;
  }
  const share = (a: Float64Array): Float64Array => {
    const s = new Float64Array(new SharedArrayBuffer(a.byteLength));
    s.set(a);
    return s;
  };
  const workerData: HpoWorkerData = {
    trainerName,
    seed,
    metric,
    data: { ...data, xTrain: share(data.xTrain), yTrain: share(data.yTrain), xValidation: share(data.xValidation), yValidation: share(data.yValidation) },
  };
  const isTs = __filename.endsWith('.ts');
  const file = path.join(__dirname, `hpo-worker${isTs ? '.ts' : '.js'}`);
  const workers = Array.from({ length: Math.min(options.parallelism, trials.length) }, () => new Worker(file, {
    workerData,
    execArgv: isTs ? ['-r', require.resolve('ts-node/register/transpile-only')] : [],
  }));
  try {
    await Promise.all(workers.map((worker) => new Promise<void>((resolve, reject) => {
      const next = (): void => {
        const t = queue.shift();
        if (!t) return resolve();
        worker.postMessage(t);
      };
      worker.on('message', (msg: { result?: TrialResult; error?: { message: string; input?: string } }) => {
        if (msg.error) {
          queue.length = 0;
          reject(msg.error.input ? new InputError(msg.error.input, msg.error.message.replace(`${msg.error.input}: `, '')) : new Error(msg.error.message));
          return;
        }
        record(msg.result!);
        next();
      });
      worker.on('error', reject);
      worker.on('exit', (code) => code !== 0 && reject(new Error(`a search worker exited with code ${code}`)));
      next();
    })));
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results;
}

/** What each search worker is started with. */
export interface HpoWorkerData {
  readonly trainerName: string;
  readonly seed: number;
  readonly metric: string;
  readonly data: TrialData;
}
