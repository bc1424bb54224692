import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TrainConfig } from '../config/train';
import { InputError, NotFoundError } from '../errors';
import { Dataset, loadDataset, takeRows, takeValues } from './data';
import { computeMetrics, computeSliceMetrics, Evaluated, predictedColumn } from './evaluate';
import { runExternalTrainer } from './external';
import { ChampionMetrics, evaluateGate, GateResult } from './gate';
import { finishTrial, hpoMetric, HpoSummary, pickBest, planTrials, runBuiltInTrial, runTrials, TrialResult, TrialSpec } from './hpo';
import { codeCommit, packageVersion } from './lineage';
import { CLASSIFICATION_METRICS, higherIsBetter, REGRESSION_METRICS } from './metrics';
import { renderModelCard } from './model-card';
import { loadOnnxPredictor, OnnxPredictor } from './onnx-model';
import { Reporter, silentReporter } from './progress';
import { referenceStatistics } from './reference';
import { splitRows } from './split';
import { joinUri, readUri, writeUri } from './storage';
import { getTrainer, TRAINERS } from './trainers';
import { defaultCreatedBy, openRegistry, RegistryOptions } from '../registry/registry';
import type { Lineage, ModelManifest, ModelSignature } from '../registry/types';
import type { Params, Prediction, Trainer } from './trainers/types';

/** How a run is driven beyond its configuration. */
export interface TrainOptions {
  readonly reporter?: Reporter;
  /** Indexed search: run only this trial and write its result (no registration). */
  readonly hpoIndex?: number;
  /** Indexed search: read every trial's result, pick the best, train and register it. */
  readonly hpoCollect?: boolean;
  /** Passed to the registry (S3 client settings, clock) and used for S3 data and results. */
  readonly registryOptions?: RegistryOptions;
  /** Scratch directory for external trainers. @default - a fresh directory under the OS temp dir */
  readonly workDir?: string;
  /** Working directory whose git commit is recorded. @default - process.cwd() */
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** What a registering run produced. */
export interface TrainOutcome {
  readonly kind: 'registered';
  readonly manifest: ModelManifest;
  readonly gate: GateResult;
  readonly promoted: boolean;
  readonly registry: string;
  readonly hpo?: HpoSummary;
}

/** What one trial of an indexed search produced. */
export interface TrialOutcome {
  readonly kind: 'trial';
  readonly result: TrialResult;
  readonly written: string;
  readonly trials: number;
}

/** Document an indexed trial writes (`trial-<index>.json` under `hpo.resultsUri`). */
export interface TrialRecord {
  /** Identifies the search (data hash, trainer, params, space, seed, split, columns). */
  readonly runId: string;
  readonly trials: number;
  readonly result: TrialResult;
}

/** Largest disagreement allowed between a built-in model and its ONNX export (float32 inputs). */
const PARITY_TOLERANCE = 1e-4;

/**
 * One training run: load and check the data, split it, optionally search hyperparameters, fit
 * (built-in trainer or external command), evaluate on the held-out test split (and per slice),
 * gate against the current champion, and register the version with its model card, reference
 * statistics and lineage; move the champion alias when the gate passes (and promotion is on).
 *
 * A candidate that fails the gate **is registered** (with `gate.passed: false` and the reasons,
 * so that it can be inspected, compared and promoted by hand later), and the alias is **not**
 * moved. Nothing is registered when the input is bad or training fails.
 */
export async function train(config: TrainConfig, options: TrainOptions = {}): Promise<TrainOutcome | TrialOutcome> {
  const reporter = options.reporter ?? silentReporter;
  const env = options.env ?? process.env;
  const s3 = options.registryOptions?.s3;
  const trainer = config.external ? undefined : lookupTrainer(config.trainer);
  const task = config.external?.task ?? trainer!.task;
  checkMetricNames(config, task, trainer);

  reporter.step('loading data', { uri: config.data.uri });
  const dataset = await loadDataset(config.data.uri, { ...config.data, task }, { format: config.data.format, s3 });
  reporter.step('data loaded', { rows: dataset.n, features: dataset.featureNames.length, sha256: dataset.sha256 });

  const split = splitRows(dataset.n, config.split, config.seed, task === 'classification' ? dataset.y : undefined);
  if (config.hpo && !split.validation.length) throw new InputError('split.validation', 'is 0, but a hyperparameter search ranks trials on the validation split');
  const d = dataset.featureNames.length;
  const parts = {
    train: { x: takeRows(dataset.x, d, split.train), y: takeValues(dataset.y, split.train) },
    validation: { x: takeRows(dataset.x, d, split.validation), y: takeValues(dataset.y, split.validation) },
    test: { x: takeRows(dataset.x, d, split.test), y: takeValues(dataset.y, split.test) },
  };
  reporter.step('split', { seed: config.seed, train: split.train.length, validation: split.validation.length, test: split.test.length });
  const workDir = options.workDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-mlops-train-'));
  const ownWorkDir = options.workDir === undefined;

  try {
    // Hyperparameter search.
    let params: Params = config.params;
    let hpo: HpoSummary | undefined;
    if (config.hpo) {
      const metric = hpoMetric(config.hpo, task);
      const trialData = { task, classes: dataset.classes, d, xTrain: parts.train.x, yTrain: parts.train.y, xValidation: parts.validation.x, yValidation: parts.validation.y };
      const trials = planTrials(config.hpo, config.params, config.seed);
      const runOne = async (trial: TrialSpec): Promise<TrialResult> => {
        if (trainer) {
          return runBuiltInTrial(trainer, trialData, trial, config.seed, metric);
        }
        const started = Date.now();
        const model = await fitExternal(config, dataset, parts, trial.params, path.join(workDir, `trial-${trial.index}`), reporter);
        try {
          const prediction = await model.predict(parts.validation.x, parts.validation.y.length);
          return finishTrial(trial, computeMetrics({ task, classes: dataset.classes, prediction }, parts.validation.y), metric, (Date.now() - started) / 1000);
        } finally {
          await model.release();
        }
      };
      const runId = searchRunId(config, dataset, trials.length);
      if (options.hpoIndex !== undefined) {
        const index = options.hpoIndex;
        if (config.hpo.execution !== 'indexed') throw new InputError('hpo.execution', `is '${config.hpo.execution}', but a trial index (${index}) was given; set it to 'indexed'`);
        if (!Number.isInteger(index) || index < 0 || index >= trials.length) {
          throw new InputError('JOB_COMPLETION_INDEX', `${index} is not a trial of this search: expected 0 to ${trials.length - 1} (set the Indexed Job's completions to ${trials.length})`);
        }
        reporter.step('running one trial of an indexed search', { index, trials: trials.length, params: JSON.stringify(trials[index].searched) });
        const result = await runOne(trials[index]);
        const written = joinUri(config.hpo.resultsUri!, `trial-${index}.json`);
        const record: TrialRecord = { runId, trials: trials.length, result };
        await writeUri(written, Buffer.from(JSON.stringify(record, null, 2) + '\n'), { s3 });
        reporter.result(`trial ${index} of ${trials.length}: ${metric} = ${result.objective} (written to ${written})`, { trial: index, objective: result.objective, metric, written });
        return { kind: 'trial', result, written, trials: trials.length };
      }
      let results: TrialResult[];
      if (options.hpoCollect) {
        if (config.hpo.execution !== 'indexed') throw new InputError('hpo.execution', `is '${config.hpo.execution}'; --hpo-collect collects the trials of an 'indexed' search`);
        results = await collectTrials(config.hpo.resultsUri!, trials.length, runId, s3);
        reporter.step('collected the trials of an indexed search', { trials: results.length, from: config.hpo.resultsUri });
      } else {
        if (config.hpo.execution === 'indexed') {
          throw new InputError('hpo.execution', "is 'indexed': run each trial with JOB_COMPLETION_INDEX (or --hpo-index), then train --hpo-collect");
        }
        reporter.step('hyperparameter search', { mode: config.hpo.mode, trials: trials.length, metric, parallelism: config.hpo.parallelism });
        const onTrial = (r: TrialResult, done: number): void => {
          reporter.progress('search', done / trials.length, `trial ${r.index}: ${metric}=${r.objective.toFixed(4)}`);
        };
        results = trainer
          ? await runTrials(trials, { parallelism: config.hpo.parallelism, onTrial, builtIn: { trainerName: trainer.name, trainer, data: trialData, seed: config.seed, metric } })
          : await runTrials(trials, { parallelism: config.hpo.parallelism, onTrial, runOne });
      }
      const best = pickBest(results, metric);
      hpo = { mode: config.hpo.mode, metric, higherIsBetter: higherIsBetter(metric), seed: config.seed, trials: results, best: best.index };
      params = best.params;
      reporter.step('best trial', { index: best.index, metric, objective: best.objective, params: JSON.stringify(best.searched) });
    }

    // Fit the final model and get predictions from the exact artefact that will be registered.
    reporter.step(trainer ? `fitting ${trainer.name}` : 'running the external trainer');
    let artefact: Buffer;
    let predictor: OnnxPredictor;
    let parameters: Params;
    let predict: (x: Float64Array, n: number) => Promise<Prediction>;
    let classes = dataset.classes;
    if (trainer) {
      const model = trainer.fit({ x: parts.train.x, n: parts.train.y.length, d }, parts.train.y, params, {
        seed: config.seed,
        onProgress: (f, m) => reporter.progress('fit', f, m),
      });
      reporter.progress('fit', 1);
      classes = model.classes ?? classes;
      parameters = model.params;
      artefact = Buffer.from(model.toOnnx({ modelName: config.model, featureNames: dataset.featureNames }));
      predictor = await loadOnnxPredictor(artefact, task, d, `ONNX export of ${trainer.name}`);
      try {
        const inProcess = model.predict({ x: parts.test.x, n: parts.test.y.length, d });
        checkParity(inProcess, await predictor.predict(parts.test.x, parts.test.y.length), trainer.name);
      } catch (e) {
        await predictor.release();
        throw e;
      }
      predict = async (x, n) => model.predict({ x, n, d });
    } else {
      const external = await fitExternal(config, dataset, parts, params, path.join(workDir, 'final'), reporter);
      predictor = external;
      artefact = external.artefact;
      parameters = params;
      predict = (x, n) => predictor.predict(x, n);
    }

    try {
      const evaluated = async (part: { x: Float64Array; y: Float64Array }): Promise<Evaluated> => ({ task, classes, prediction: await predict(part.x, part.y.length) });
      const onTest = await evaluated(parts.test);
      const metrics = computeMetrics(onTest, parts.test.y);
      const validationMetrics = parts.validation.y.length ? computeMetrics(await evaluated(parts.validation), parts.validation.y) : undefined;
      const sliceMetrics = dataset.slice
        ? { [dataset.slice.column]: computeSliceMetrics(onTest, parts.test.y, Array.from(split.test, (i) => dataset.slice!.values[i])) }
        : undefined;
      reporter.step('evaluated on the test split', { rows: parts.test.y.length, ...metrics });

      const onTrain = await evaluated(parts.train);
      const reference = referenceStatistics({
        featureNames: dataset.featureNames,
        x: parts.train.x,
        n: parts.train.y.length,
        prediction: predictedColumn(onTrain),
        task,
        metrics,
        options: { ...config.reference, seed: config.seed },
      });

      // Quality gate against the current champion.
      const registry = openRegistry(config.registry, options.registryOptions);
      const champion = await championMetrics(registry, config, dataset, task, parts.test);
      const gate = evaluateGate(config.gate, metrics, champion);
      reporter.step(gate.passed ? 'quality gate passed' : 'quality gate FAILED', { reasons: gate.reasons.join('; '), comparedWith: gate.comparedWith });

      const signature: ModelSignature = {
        inputs: predictor.inputs,
        outputs: predictor.outputs,
        featureNames: dataset.featureNames,
        target: dataset.target,
        task,
        ...(task === 'classification' ? { classes: classes! } : {}),
      };
      const createdBy = env.CDK_MLOPS_CREATED_BY || defaultCreatedBy(env);
      const lineage: Lineage = {
        codeCommit: codeCommit(options.cwd, env),
        dataHash: dataset.sha256,
        dataUri: dataset.uri,
        trainer: config.external ? config.external.name : trainer!.name,
        trainerVersion: config.external ? config.external.version : packageVersion(),
        createdBy,
        seed: config.seed,
      };
      const promote = gate.passed && config.gate.promote;
      const modelCard = renderModelCard({
        model: config.model,
        createdAt: new Date().toISOString(),
        signature,
        lineage,
        dataRows: dataset.n,
        dataBytes: dataset.bytes,
        splitSizes: { train: split.train.length, validation: split.validation.length, test: split.test.length },
        classBalance: task === 'classification' ? classBalance(dataset, split) : undefined,
        metrics,
        validationMetrics,
        sliceMetrics,
        parameters,
        gate: { ...gate, alias: config.gate.alias, promoted: promote },
        hpo,
        reference,
        intendedUse: config.intendedUse,
        externalCommand: config.external?.command,
      });

      reporter.step('registering', { registry: registry.uri, model: config.model });
      const manifest = await registry.register({
        model: config.model,
        artefact,
        modelCard,
        reference,
        signature,
        metrics,
        ...(sliceMetrics ? { sliceMetrics } : {}),
        parameters,
        lineage,
        gate,
      });
      if (promote) {
        await registry.setAlias(config.model, config.gate.alias, manifest.version, createdBy, gate.comparedWith
          ? `quality gate passed against version ${gate.comparedWith}`
          : 'quality gate passed (first candidate)');
      }
      const promotedText = promote
        ? `promoted to '${config.gate.alias}'`
        : gate.passed ? 'not promoted (gate.promote is false)' : `NOT promoted: '${config.gate.alias}' stays ${gate.comparedWith ? `at version ${gate.comparedWith}` : 'unset'}`;
      const text = [
        `registered ${config.model} version ${manifest.version} in ${registry.uri}`,
        `  metrics (test, ${parts.test.y.length} rows): ${Object.entries(metrics).map(([k, v]) => `${k}=${v.toFixed(4)}`).join(' ')}`,
        `  quality gate: ${gate.passed ? 'passed' : 'FAILED'}; ${promotedText}`,
        ...gate.reasons.map((r) => `    - ${r}`),
      ].join('\n');
      reporter.result(text, { model: config.model, version: manifest.version, registry: registry.uri, metrics, gate, promoted: promote });
      return { kind: 'registered', manifest, gate, promoted: promote, registry: registry.uri, ...(hpo ? { hpo } : {}) };
    } finally {
      await predictor.release();
    }
  } finally {
    if (ownWorkDir) fs.rmSync(workDir, { recursive: true, force: true });
  }
}

function lookupTrainer(name: string): Trainer {
  if (!TRAINERS.some((t) => t.name === name)) {
    throw new InputError('trainer', `${JSON.stringify(name)} is not a built-in trainer; expected one of: ${TRAINERS.map((t) => t.name).join(', ')} (or configure external.command)`);
  }
  return getTrainer(name);
}

/** Metric names in the gate and the search must be metrics of the task. */
function checkMetricNames(config: TrainConfig, task: 'classification' | 'regression', trainer: Trainer | undefined): void {
  const known: readonly string[] = task === 'classification' ? CLASSIFICATION_METRICS : REGRESSION_METRICS;
  const check = (where: string, metric: string): void => {
    if (!known.includes(metric)) throw new InputError(where, `'${metric}' is not a ${task} metric; expected one of: ${known.join(', ')}`);
  };
  for (const section of ['minimums', 'maximums', 'maxRegression'] as const) {
    for (const metric of Object.keys(config.gate[section])) check(`gate.${section}`, metric);
  }
  if (config.hpo?.metric) check('hpo.metric', config.hpo.metric);
  if (config.hpo && trainer) {
    const accepted = Object.keys(trainer.defaults);
    for (const name of Object.keys(config.hpo.space)) {
      if (!accepted.includes(name)) throw new InputError('hpo.space', `names '${name}', which trainer '${trainer.name}' does not take; it takes: ${accepted.join(', ')}`);
    }
  }
}

/** Runs the external command and loads the model it wrote (checked against the task). */
async function fitExternal(
  config: TrainConfig,
  dataset: Dataset,
  parts: { train: { x: Float64Array; y: Float64Array }; validation: { x: Float64Array; y: Float64Array } },
  params: Params,
  workDir: string,
  reporter: Reporter,
): Promise<OnnxPredictor & { readonly artefact: Buffer }> {
  const ext = config.external!;
  const artefact = await runExternalTrainer({
    command: ext.command,
    timeoutSeconds: ext.timeoutSeconds,
    workDir,
    featureNames: dataset.featureNames,
    target: dataset.target,
    task: ext.task,
    classes: dataset.classes,
    seed: config.seed,
    params,
    train: parts.train,
    validation: parts.validation,
    reporter,
  });
  const predictor = await loadOnnxPredictor(artefact, ext.task, dataset.featureNames.length, `the model written by ${JSON.stringify(ext.command)}`);
  if (ext.task === 'classification') {
    const k = dataset.classes!.length;
    const probs = predictor.outputs.find((o) => o.datatype.startsWith('FP') && o.shape.length === 2);
    if (probs && probs.shape[1] !== -1 && probs.shape[1] !== k) {
      await predictor.release();
      throw new InputError('external.command', `wrote a model whose '${probs.name}' has ${probs.shape[1]} columns, but the data has ${k} classes (${dataset.classes!.join(', ')})`);
    }
  }
  return { ...predictor, artefact };
}

/** Refuses an ONNX export that does not reproduce the fitted model. */
function checkParity(inProcess: Prediction, onnx: Prediction, trainer: string): void {
  const compare = (name: string, a: Float64Array | undefined, b: Float64Array | undefined, relative: boolean): void => {
    if (!a) return;
    if (!b || b.length !== a.length) throw new Error(`the ONNX export of ${trainer} returns no or a wrongly sized '${name}'; refusing to register it`);
    for (let i = 0; i < a.length; i++) {
      const tol = PARITY_TOLERANCE * (relative ? Math.max(1, Math.abs(a[i])) : 1);
      if (!(Math.abs(a[i] - b[i]) <= tol)) {
        throw new Error(`the ONNX export of ${trainer} disagrees with the fitted model: ${name}[${i}] is ${b[i]} in onnxruntime and ${a[i]} in process (tolerance ${tol}); refusing to register it`);
      }
    }
  };
  compare('probabilities', inProcess.probabilities, onnx.probabilities, false);
  compare('values', inProcess.values, onnx.values, true);
}

/** The champion's metrics, re-evaluated on this run's test split when it takes the same features. */
async function championMetrics(
  registry: ReturnType<typeof openRegistry>,
  config: TrainConfig,
  dataset: Dataset,
  task: 'classification' | 'regression',
  test: { x: Float64Array; y: Float64Array },
): Promise<ChampionMetrics | undefined> {
  let version: number;
  try {
    version = await registry.resolve(config.model, config.gate.alias);
  } catch (e) {
    if (e instanceof NotFoundError) return undefined;
    throw e;
  }
  const loaded = await registry.load(config.model, version);
  const sig = loaded.manifest.signature;
  const sameInputs = sig.task === task && sig.featureNames.length === dataset.featureNames.length && sig.featureNames.every((f, i) => f === dataset.featureNames[i]);
  const sameClasses = task === 'regression' || JSON.stringify(sig.classes) === JSON.stringify(dataset.classes);
  if (!sameInputs || !sameClasses) return { version, metrics: loaded.manifest.metrics, basis: 'recorded metrics' };
  const predictor = await loadOnnxPredictor(loaded.artefact, task, dataset.featureNames.length, `${config.gate.alias} (version ${version})`);
  try {
    const prediction = await predictor.predict(test.x, test.y.length);
    return { version, metrics: computeMetrics({ task, classes: sig.classes, prediction }, test.y), basis: 'same test split' };
  } finally {
    await predictor.release();
  }
}

function classBalance(dataset: Dataset, split: { train: Int32Array; validation: Int32Array; test: Int32Array }): Record<string, { train: number; validation: number; test: number }> {
  const out: Record<string, { train: number; validation: number; test: number }> = {};
  for (const c of dataset.classes!) out[String(c)] = { train: 0, validation: 0, test: 0 };
  for (const part of ['train', 'validation', 'test'] as const) for (const i of split[part]) out[String(dataset.y[i])][part]++;
  return out;
}

/** Identifies an indexed search, so that collect never mixes trials of different runs. */
function searchRunId(config: TrainConfig, dataset: Dataset, trials: number): string {
  const hpo = config.hpo!;
  const key = {
    data: dataset.sha256,
    features: dataset.featureNames,
    target: dataset.target,
    trainer: config.external ? config.external.command : config.trainer,
    params: config.params,
    space: hpo.space,
    mode: hpo.mode,
    trials,
    metric: hpo.metric,
    seed: config.seed,
    split: config.split,
  };
  return createHash('sha256').update(JSON.stringify(key)).digest('hex').slice(0, 16);
}

async function collectTrials(resultsUri: string, count: number, runId: string, s3: RegistryOptions['s3']): Promise<TrialResult[]> {
  const results: TrialResult[] = [];
  const missing: number[] = [];
  for (let i = 0; i < count; i++) {
    const uri = joinUri(resultsUri, `trial-${i}.json`);
    let body: Buffer;
    try {
      body = await readUri(uri, `trial result ${uri}`, { s3 });
    } catch (e) {
      if (e instanceof InputError && /does not exist/.test(e.message)) {
        missing.push(i);
        continue;
      }
      throw e;
    }
    let record: TrialRecord;
    try {
      record = JSON.parse(body.toString('utf8')) as TrialRecord;
    } catch {
      throw new InputError(`trial result ${uri}`, 'is not valid JSON');
    }
    if (record.runId !== runId) {
      throw new InputError(`trial result ${uri}`, `belongs to another search (run id ${record.runId}, this one is ${runId}): the data, trainer, space, seed or split differ; clear ${resultsUri} and run the trials again`);
    }
    if (record.result?.index !== i || typeof record.result.objective !== 'number') throw new InputError(`trial result ${uri}`, `does not hold the result of trial ${i}`);
    results.push(record.result);
  }
  if (missing.length) {
    throw new InputError('hpo.resultsUri', `${missing.length} of ${count} trial results are missing under ${resultsUri} (trials ${missing.slice(0, 20).join(', ')}${missing.length > 20 ? ', ...' : ''}); wait for every completion of the Indexed Job`);
  }
  return results;
}
