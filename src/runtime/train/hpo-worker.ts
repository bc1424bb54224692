/**
 * A worker thread of an in-process hyperparameter search (see `./hpo.ts`): receives trials one
 * at a time, fits each on the shared train split, answers with its validation metrics.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { InputError } from '../errors';
import { HpoWorkerData, runBuiltInTrial, TrialSpec } from './hpo';
import { getTrainer } from './trainers';

const { trainerName, seed, metric, data } = workerData as HpoWorkerData;
const trainer = getTrainer(trainerName);

parentPort!.on('message', (trial: TrialSpec) => {
  try {
    parentPort!.postMessage({ result: runBuiltInTrial(trainer, data, trial, seed, metric) });
  } catch (e) {
    const err = e as Error;
    parentPort!.postMessage({ error: { message: err.message, ...(e instanceof InputError ? { input: e.input } : {}) } });
  }
});
