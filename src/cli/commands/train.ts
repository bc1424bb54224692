import { parseArgs } from 'node:util';
import * as YAML from 'yaml';
import { z } from 'zod';
import { loadConfigFile, parseConfig } from '../../runtime/config/load';
import { TRAIN_ENV_PREFIX, TrainConfig, TrainConfigSchema } from '../../runtime/config/train';
import { InputError, IntegrityError, NotFoundError } from '../../runtime/errors';
import { createReporter } from '../../runtime/train/progress';

/** One-line description shown by `cdk-mlops --help`. */
export const summary = 'train, evaluate, gate and register a model';

const USAGE = `usage: cdk-mlops train [--config <file>] [options]

Loads the data, splits it (seeded, stratified for classification), trains a built-in trainer or
runs an external command, evaluates on the held-out test split, gates against the current
champion, and registers the version (model, card, reference statistics, lineage).

Configuration: defaults < --config file (JSON/YAML; default: the file $CDK_MLOPS_CONFIG names, as in a
pod) < ${TRAIN_ENV_PREFIX}_* environment < flags.

data:
  --data <uri>                 CSV or Parquet file: path, file:// or s3://bucket/key
  --format auto|csv|parquet    (default auto: from the extension)
  --target <column>            label column (default target)
  --features <a,b,...>         feature columns (default: every other column)
  --ignore <a,b,...>           columns the model does not use
  --slice <column>             report metrics per value of this column
model:
  --model <name>               registered model name (required)
  --registry <uri>             directory, file:// or s3://bucket/prefix (default ./.cdk-mlops/registry)
  --trainer <name>             built-in trainer (default logistic-regression)
  --param <name=value>         hyperparameter (repeatable)
  --external-command <cmd>     run this command instead of a built-in trainer
  --external-task <task>       classification or regression (with --external-command)
  --seed <n>                   seed of the split, trainer, search and sample (default 42)
  --split <train,val,test>     fractions (default 0.7,0.15,0.15)
quality gate:
  --min <metric=value>         minimum (repeatable), e.g. --min roc_auc=0.95
  --max <metric=value>         maximum (repeatable), e.g. --max rmse=60
  --max-regression <metric=v>  largest regression against the champion (repeatable)
  --gate-alias <alias>         compare with and promote this alias (default champion)
  --no-promote                 register without moving the alias
hyperparameter search:
  --hpo-mode grid|random       --hpo-trials <n>     --hpo-metric <metric>
  --hpo-parallelism <n>        trials at once, in worker threads
  --hpo-space <json>           e.g. '{"l2":{"values":[0.01,0.1,1]}}'
  --hpo-execution in-process|indexed
  --hpo-results <uri>          shared results location of an indexed search
  --hpo-index <i>              run trial i only (default: $JOB_COMPLETION_INDEX when indexed)
  --hpo-collect                pick the best indexed trial, then train and register it
output:
  --progress auto|tty|json     (default auto: a progress bar on a terminal, JSON logs otherwise)
  -h, --help

exit status: 0 registered (and promoted unless --no-promote); 3 registered but the quality
gate failed, so not promoted; 1 bad input or failure, nothing registered; 2 usage error.`;

/** Exit status of a run whose candidate was registered but failed the quality gate. */
export const EXIT_GATE_FAILED = 3;

class UsageError extends Error {}

function pairs(values: string[] | undefined, flag: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const v of values ?? []) {
    const eq = v.indexOf('=');
    if (eq < 1) throw new UsageError(`${flag} expects name=value, got ${JSON.stringify(v)}`);
    out[v.slice(0, eq)] = YAML.parse(v.slice(eq + 1));
  }
  return out;
}

function num(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${flag} expects a number, got ${JSON.stringify(v)}`);
  return n;
}

function list(v: string | undefined): string[] | undefined {
  return v === undefined ? undefined : v.split(',').map((s) => s.trim()).filter(Boolean);
}

/** Sets `value` at `keys` in `target`, creating objects on the way; undefined leaves it alone. */
function put(target: Record<string, unknown>, keys: string[], value: unknown): void {
  if (value === undefined) return;
  let t = target;
  for (const k of keys.slice(0, -1)) {
    if (typeof t[k] !== 'object' || t[k] === null || Array.isArray(t[k])) t[k] = {};
    t = t[k] as Record<string, unknown>;
  }
  const last = keys[keys.length - 1];
  if (value && typeof value === 'object' && !Array.isArray(value) && typeof t[last] === 'object' && t[last] !== null) {
    t[last] = { ...(t[last] as Record<string, unknown>), ...(value as Record<string, unknown>) };
  } else {t[last] = value;}
}

/**
 * Resolves the configuration: the file and the environment (as `loadConfigFile` reads them),
 * then the flags over them, then one validation against the schema.
 */
export function resolveConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): { config: TrainConfig; hpoIndex?: number; hpoCollect: boolean; progress: 'auto' | 'tty' | 'json'; help: boolean } {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        'config': { type: 'string', short: 'c' },
        'data': { type: 'string' },
        'format': { type: 'string' },
        'target': { type: 'string' },
        'features': { type: 'string' },
        'ignore': { type: 'string' },
        'slice': { type: 'string' },
        'model': { type: 'string' },
        'registry': { type: 'string' },
        'trainer': { type: 'string' },
        'param': { type: 'string', multiple: true },
        'external-command': { type: 'string' },
        'external-task': { type: 'string' },
        'seed': { type: 'string' },
        'split': { type: 'string' },
        'min': { type: 'string', multiple: true },
        'max': { type: 'string', multiple: true },
        'max-regression': { type: 'string', multiple: true },
        'gate-alias': { type: 'string' },
        'no-promote': { type: 'boolean' },
        'hpo-mode': { type: 'string' },
        'hpo-trials': { type: 'string' },
        'hpo-metric': { type: 'string' },
        'hpo-parallelism': { type: 'string' },
        'hpo-space': { type: 'string' },
        'hpo-execution': { type: 'string' },
        'hpo-results': { type: 'string' },
        'hpo-index': { type: 'string' },
        'hpo-collect': { type: 'boolean' },
        'progress': { type: 'string' },
        'help': { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const v = parsed.values;
  const progress = (v.progress ?? 'auto') as 'auto' | 'tty' | 'json';
  if (!['auto', 'tty', 'json'].includes(progress)) throw new UsageError(`--progress expects auto, tty or json, got ${JSON.stringify(v.progress)}`);
  if (v.help) return { config: undefined as unknown as TrainConfig, hpoCollect: false, progress, help: true };

  // In a pod the configuration is mounted as a file named by CDK_MLOPS_CONFIG (runtime-workload.ts).
  const configFile = v.config ?? (env.CDK_MLOPS_CONFIG || undefined);
  const raw = loadConfigFile(z.record(z.string(), z.unknown()), configFile, TRAIN_ENV_PREFIX, env) as Record<string, unknown>;
  put(raw, ['data', 'uri'], v.data);
  put(raw, ['data', 'format'], v.format);
  put(raw, ['data', 'target'], v.target);
  put(raw, ['data', 'features'], list(v.features));
  put(raw, ['data', 'ignore'], list(v.ignore));
  put(raw, ['data', 'sliceColumn'], v.slice);
  put(raw, ['model'], v.model);
  put(raw, ['registry'], v.registry);
  put(raw, ['trainer'], v.trainer);
  if (v.param) put(raw, ['params'], pairs(v.param, '--param'));
  if (v['external-command'] !== undefined || v['external-task'] !== undefined) {
    put(raw, ['external'], { ...(v['external-command'] !== undefined ? { command: v['external-command'] } : {}), ...(v['external-task'] !== undefined ? { task: v['external-task'] } : {}) });
  }
  put(raw, ['seed'], num(v.seed, '--seed'));
  if (v.split !== undefined) {
    const f = v.split.split(',').map((s) => num(s, '--split')!);
    if (f.length !== 3) throw new UsageError(`--split expects three fractions train,validation,test; got ${JSON.stringify(v.split)}`);
    put(raw, ['split'], { train: f[0], validation: f[1], test: f[2] });
  }
  if (v.min) put(raw, ['gate', 'minimums'], pairs(v.min, '--min'));
  if (v.max) put(raw, ['gate', 'maximums'], pairs(v.max, '--max'));
  if (v['max-regression']) put(raw, ['gate', 'maxRegression'], pairs(v['max-regression'], '--max-regression'));
  put(raw, ['gate', 'alias'], v['gate-alias']);
  if (v['no-promote']) put(raw, ['gate', 'promote'], false);
  put(raw, ['hpo', 'mode'], v['hpo-mode']);
  put(raw, ['hpo', 'trials'], num(v['hpo-trials'], '--hpo-trials'));
  put(raw, ['hpo', 'metric'], v['hpo-metric']);
  put(raw, ['hpo', 'parallelism'], num(v['hpo-parallelism'], '--hpo-parallelism'));
  put(raw, ['hpo', 'execution'], v['hpo-execution']);
  put(raw, ['hpo', 'resultsUri'], v['hpo-results']);
  if (v['hpo-space'] !== undefined) {
    let space: unknown;
    try {
      space = JSON.parse(v['hpo-space']);
    } catch (e) {
      throw new UsageError(`--hpo-space expects a JSON object, e.g. '{"l2":{"values":[0.1,1]}}': ${(e as Error).message}`);
    }
    put(raw, ['hpo', 'space'], space);
  }
  const source = [configFile ? `config file ${configFile}` : undefined, 'environment', 'flags'].filter(Boolean).join(' + ');
  const config = parseConfig(TrainConfigSchema, raw, `train configuration (${source})`);

  const hpoCollect = v['hpo-collect'] === true;
  let hpoIndex = num(v['hpo-index'], '--hpo-index');
  if (hpoIndex === undefined && !hpoCollect && config.hpo?.execution === 'indexed' && env.JOB_COMPLETION_INDEX !== undefined) {
    hpoIndex = Number(env.JOB_COMPLETION_INDEX);
    if (!Number.isInteger(hpoIndex)) throw new InputError('JOB_COMPLETION_INDEX', `${JSON.stringify(env.JOB_COMPLETION_INDEX)} is not an integer`);
  }
  if (hpoIndex !== undefined && hpoCollect) throw new UsageError('--hpo-index and --hpo-collect exclude each other');
  return { config, hpoIndex, hpoCollect, progress, help: false };
}

/** Runs `cdk-mlops train`; returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  let resolved;
  try {
    resolved = resolveConfig(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`cdk-mlops train: ${e.message}\n\nRun 'cdk-mlops train --help' for the options.\n`);
      return 2;
    }
    if (e instanceof InputError) {
      process.stderr.write(`cdk-mlops train: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  if (resolved.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const reporter = createReporter(resolved.progress);
  try {
    // Loaded here, not at the top: `--help` and a bad config answer without loading onnxruntime.
    const { train } = await import('../../runtime/train/harness');
    const outcome = await train(resolved.config, { reporter, hpoIndex: resolved.hpoIndex, hpoCollect: resolved.hpoCollect });
    if (outcome.kind === 'trial') return 0;
    return outcome.gate.passed ? 0 : EXIT_GATE_FAILED;
  } catch (e) {
    if (e instanceof InputError || e instanceof NotFoundError || e instanceof IntegrityError) {
      reporter.warn(`nothing registered: ${e.message}`, { error: e.name });
      process.stderr.write(`cdk-mlops train: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
