import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError } from '../errors';
import type { Reporter } from './progress';
import type { Params } from './trainers/types';

/**
 * External trainer mode: the user's command (any language) trains on the split the harness
 * wrote and writes an ONNX model; the harness then evaluates, gates and registers that model
 * exactly as it does a built-in one. The command's contract is its environment:
 *
 * | variable | value |
 * | --- | --- |
 * | `CDK_MLOPS_TRAIN_DATA` | train split, CSV with a header: the feature columns in model order, then the target |
 * | `CDK_MLOPS_VALIDATION_DATA` | validation split, same layout (may have no data rows when split.validation is 0) |
 * | `CDK_MLOPS_MODEL_OUTPUT` | where to write the ONNX model |
 * | `CDK_MLOPS_FEATURES` | JSON array of the feature names, in input-column order |
 * | `CDK_MLOPS_TARGET` | target column name |
 * | `CDK_MLOPS_TASK` | `classification` or `regression` |
 * | `CDK_MLOPS_CLASSES` | JSON array of the class labels, ascending (classification) |
 * | `CDK_MLOPS_SEED` | the run's seed |
 * | `CDK_MLOPS_PARAMS` | JSON object of the hyperparameters (`params`, or a search trial's) |
 *
 * The model must follow the tensor convention described in `./onnx-model.ts`.
 */
export interface ExternalRun {
  readonly command: string;
  readonly timeoutSeconds: number;
  readonly workDir: string;
  readonly featureNames: readonly string[];
  readonly target: string;
  readonly task: 'classification' | 'regression';
  readonly classes?: readonly number[];
  readonly seed: number;
  readonly params: Params;
  readonly train: { readonly x: Float64Array; readonly y: Float64Array };
  readonly validation: { readonly x: Float64Array; readonly y: Float64Array };
  readonly reporter: Reporter;
}

/** Writes rows as CSV (header, then one line per row, numbers in full precision). */
export function writeSplitCsv(file: string, featureNames: readonly string[], target: string, x: Float64Array, y: Float64Array): void {
  const d = featureNames.length;
  const quote = (s: string): string => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const lines = [[...featureNames, target].map(quote).join(',')];
  for (let i = 0; i < y.length; i++) {
    const row = new Array<string>(d + 1);
    for (let j = 0; j < d; j++) row[j] = String(x[i * d + j]);
    row[d] = String(y[i]);
    lines.push(row.join(','));
  }
  fs.writeFileSync(file, lines.join('\n') + '\n');
}

/** Runs the command; returns the bytes of the ONNX model it wrote. */
export async function runExternalTrainer(run: ExternalRun): Promise<Buffer> {
  fs.mkdirSync(run.workDir, { recursive: true });
  const trainFile = path.join(run.workDir, 'train.csv');
  const validationFile = path.join(run.workDir, 'validation.csv');
  const modelFile = path.join(run.workDir, 'model.onnx');
  fs.rmSync(modelFile, { force: true });
  writeSplitCsv(trainFile, run.featureNames, run.target, run.train.x, run.train.y);
  writeSplitCsv(validationFile, run.featureNames, run.target, run.validation.x, run.validation.y);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CDK_MLOPS_TRAIN_DATA: trainFile,
    CDK_MLOPS_VALIDATION_DATA: validationFile,
    CDK_MLOPS_MODEL_OUTPUT: modelFile,
    CDK_MLOPS_FEATURES: JSON.stringify(run.featureNames),
    CDK_MLOPS_TARGET: run.target,
    CDK_MLOPS_TASK: run.task,
    CDK_MLOPS_SEED: String(run.seed),
    CDK_MLOPS_PARAMS: JSON.stringify(run.params),
    ...(run.classes ? { CDK_MLOPS_CLASSES: JSON.stringify(run.classes) } : {}),
  };
  const tail: string[] = [];
  const started = Date.now();
  let interrupted: NodeJS.Signals | undefined;
  let removeSignalHandlers = (): void => undefined;
  run.reporter.step('external trainer started', { command: run.command });
  const { code, signal, timedOut } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; timedOut: boolean }>((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', run.command], { env, cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let expired = false;
    let killTimer: NodeJS.Timeout | undefined;
    const stop = (): void => {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        // already gone
      }
      killTimer ??= setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 5000);
    };
    const timer = setTimeout(() => {
      expired = true;
      stop();
    }, run.timeoutSeconds * 1000);
    // The command runs in its own process group: pass a SIGTERM/SIGINT of the harness on to it
    // (a Job being deleted, Ctrl-C), so that it is never left running on its own.
    const onSignal = (sig: NodeJS.Signals): void => {
      interrupted = sig;
      stop();
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    removeSignalHandlers = () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    };
    const onLine = (stream: string) => {
      let buffered = '';
      return (chunk: Buffer): void => {
        buffered += chunk.toString('utf8');
        const lines = buffered.split('\n');
        buffered = lines.pop()!;
        for (const line of lines) {
          tail.push(line);
          if (tail.length > 20) tail.shift();
          run.reporter.step(`external: ${line}`, { stream });
        }
      };
    };
    child.stdout!.on('data', onLine('stdout'));
    child.stderr!.on('data', onLine('stderr'));
    child.on('error', (e) => {
      clearTimeout(timer);
      removeSignalHandlers();
      reject(new InputError('external.command', `cannot be started: ${e.message}`));
    });
    child.on('close', (c, s) => {
      clearTimeout(timer);
      removeSignalHandlers();
      if (killTimer) clearTimeout(killTimer);
      resolve({ code: c, signal: s, timedOut: expired });
    });
  });
  if (interrupted) throw new Error(`interrupted by ${interrupted}: the external trainer was stopped and nothing was registered`);
  const output = tail.length ? `; its last output:\n  ${tail.join('\n  ')}` : '; it printed nothing';
  if (timedOut) throw new InputError('external.command', `${JSON.stringify(run.command)} did not finish within ${run.timeoutSeconds} s and was killed${output}`);
  if (code !== 0) throw new InputError('external.command', `${JSON.stringify(run.command)} failed (${signal ? `killed by ${signal}` : `exit code ${code}`})${output}`);
  let model: Buffer;
  try {
    model = fs.readFileSync(modelFile);
  } catch {
    throw new InputError('external.command', `${JSON.stringify(run.command)} exited 0 but wrote no model at $CDK_MLOPS_MODEL_OUTPUT (${modelFile})${output}`);
  }
  if (!model.length) throw new InputError('external.command', `wrote an empty model file at ${modelFile}`);
  run.reporter.step('external trainer finished', { seconds: (Date.now() - started) / 1000, modelBytes: model.length });
  return model;
}
