import { z } from 'zod';

/**
 * Typed configuration of `cdk-mlops train`: one schema, read by the runtime at start and by
 * the training-pipeline construct at synth time. Free of runtime-only imports on purpose.
 *
 * Precedence: defaults < config file (`--config`, JSON or YAML) < environment
 * (`CDK_MLOPS_TRAIN_<PATH>`, nested fields joined by `__`, e.g. `CDK_MLOPS_TRAIN_SEED=7`,
 * `CDK_MLOPS_TRAIN_DATA__URI=s3://bucket/data.parquet`) < command-line flags.
 */

/** Environment-variable prefix of the train configuration. */
export const TRAIN_ENV_PREFIX = 'CDK_MLOPS_TRAIN';

/** Model names as the registry and the serving URLs accept them. */
export const TRAIN_MODEL_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;

const columnName = z.string().min(1, 'must not be empty');
const paramValue = z.union([z.string(), z.number(), z.boolean()]);

/** Where the data comes from and which columns mean what. */
export const TrainDataSchema = z.object({
  /** A local path, `file://` URI or `s3://bucket/key` of one CSV or Parquet file. */
  uri: z.string().min(1, 'must name a file: a path, file:// or s3:// URI'),
  /** File format. @default 'auto' - from the extension (`.parquet`/`.pq` is Parquet, anything else CSV) */
  format: z.enum(['auto', 'csv', 'parquet']).default('auto'),
  /** Label column. @default 'target' */
  target: columnName.default('target'),
  /**
   * Feature columns, in the order the model takes them. Any other column that is not the
   * target, the slice column or listed in `ignore` is an error (a typo or a schema change
   * should stop a training run, not silently change the model's inputs).
   * @default - every column but the target, the slice column and `ignore`, in file order
   */
  features: z.array(columnName).min(1).optional(),
  /** Columns present in the file that the model does not use. @default [] */
  ignore: z.array(columnName).default([]),
  /**
   * Column whose values define the slices for per-slice metrics (a fairness view). It may be a
   * feature or a column the model does not use (then it may hold text).
   * @default - no slice metrics
   */
  sliceColumn: columnName.optional(),
}).strict();

/** Fractions of the rows in each split; they must add up to 1. */
export const TrainSplitSchema = z.object({
  /** @default 0.7 */
  train: z.number().gt(0).lt(1).default(0.7),
  /** Used to rank hyperparameter trials; may be 0 when there is no search. @default 0.15 */
  validation: z.number().min(0).lt(1).default(0.15),
  /** Held out for the reported metrics and the quality gate. @default 0.15 */
  test: z.number().gt(0).lt(1).default(0.15),
}).strict().refine((s) => Math.abs(s.train + s.validation + s.test - 1) < 1e-9, {
  message: 'train + validation + test must add up to 1',
});

/** The quality gate a candidate must pass to be promoted. */
export const TrainGateSchema = z.object({
  /** Each metric must be at least this (for metrics where higher is better: `roc_auc: 0.95`). @default {} */
  minimums: z.record(z.string(), z.number()).default({}),
  /** Each metric must be at most this (for losses and errors: `rmse: 60`). @default {} */
  maximums: z.record(z.string(), z.number()).default({}),
  /**
   * Largest allowed regression against the current champion, per metric, in the metric's own
   * units and direction (`roc_auc: 0.01` fails a candidate whose AUC is more than 0.01 below
   * the champion's; `rmse: 2` one whose RMSE is more than 2 above). The champion is evaluated
   * on the candidate's own test split when it takes the same features, else its recorded
   * metrics are used (and the reasons say so).
   * @default {}
   */
  maxRegression: z.record(z.string(), z.number().min(0)).default({}),
  /** Alias of the version to compare with, and the alias moved when the gate passes. @default 'champion' */
  alias: z.string().regex(/^[a-z][a-z0-9._-]{0,62}$/).default('champion'),
  /** Move `alias` to the new version when the gate passes. @default true */
  promote: z.boolean().default(true),
}).strict();

/** One searched hyperparameter: a list of values, or a numeric range. */
export const HpoParamSpaceSchema = z.union([
  z.object({
    /** Values to try (grid: each one; random: drawn uniformly). */
    values: z.array(paramValue).min(1),
  }).strict(),
  z.object({
    min: z.number(),
    max: z.number(),
    /** Sample (random) or space (grid) on a log scale; needs min > 0. @default false */
    log: z.boolean().default(false),
    /** Round to integers. @default false */
    integer: z.boolean().default(false),
    /** Grid only: number of evenly spaced values from min to max. @default 5 */
    steps: z.number().int().min(2).max(1000).default(5),
  }).strict().refine((r) => r.max >= r.min, { message: 'max must be >= min' })
    .refine((r) => !r.log || r.min > 0, { message: 'log scale needs min > 0' }),
]);

/** Hyperparameter search. */
export const TrainHpoSchema = z.object({
  /** `grid`: every combination; `random`: `trials` seeded draws. @default 'random' */
  mode: z.enum(['grid', 'random']).default('random'),
  /** Number of trials (random); grid runs every combination and refuses a smaller number. @default 20 */
  trials: z.number().int().min(1).max(10_000).optional(),
  /** Searched hyperparameters, by name; the others keep `params` or the trainer's defaults. */
  space: z.record(z.string(), HpoParamSpaceSchema).refine((s) => Object.keys(s).length > 0, { message: 'must name at least one hyperparameter' }),
  /** Metric (on the validation split) that ranks trials. @default - roc_auc (classification), rmse (regression) */
  metric: z.string().optional(),
  /** Trials run at the same time in this process (worker threads). @default 1 */
  parallelism: z.number().int().min(1).max(64).default(1),
  /**
   * `in-process`: all trials here, then the final model. `indexed`: this process runs only
   * trial `JOB_COMPLETION_INDEX` (a Kubernetes Indexed Job, one completion per trial) and writes
   * its result under `resultsUri`; `cdk-mlops train --hpo-collect` then picks the best.
   * @default 'in-process'
   */
  execution: z.enum(['in-process', 'indexed']).default('in-process'),
  /** Directory or `s3://` prefix shared by the trials of an indexed search. Required when indexed. */
  resultsUri: z.string().min(1).optional(),
}).strict().refine((h) => h.execution !== 'indexed' || h.resultsUri !== undefined, {
  message: "execution 'indexed' needs resultsUri (a directory or s3:// prefix shared by the trials)",
  path: ['resultsUri'],
});

/** The user's own training command, run instead of a built-in trainer. */
export const TrainExternalSchema = z.object({
  /**
   * Shell command (run with `/bin/sh -c`). It gets the environment variables
   * `CDK_MLOPS_TRAIN_DATA` (train split, CSV with a header: the features then the target),
   * `CDK_MLOPS_VALIDATION_DATA`, `CDK_MLOPS_MODEL_OUTPUT` (where to write model.onnx),
   * `CDK_MLOPS_FEATURES` (JSON array), `CDK_MLOPS_TARGET`, `CDK_MLOPS_TASK`,
   * `CDK_MLOPS_CLASSES` (JSON array, classification), `CDK_MLOPS_SEED` and
   * `CDK_MLOPS_PARAMS` (JSON object of `params`).
   */
  command: z.string().min(1),
  /** What the model does. */
  task: z.enum(['classification', 'regression']),
  /** Kill the command after this long. @default 3600 */
  timeoutSeconds: z.number().int().min(1).max(7 * 24 * 3600).default(3600),
  /** Name recorded as the trainer in lineage. @default 'external' */
  name: z.string().min(1).default('external'),
  /** Version recorded as the trainer version in lineage. @default 'unknown' */
  version: z.string().min(1).default('unknown'),
}).strict();

/** Reference statistics written for drift monitoring. */
export const TrainReferenceSchema = z.object({
  /** Histogram bins per numeric column (equal-frequency; tied edges merged). @default 20 */
  bins: z.number().int().min(2).max(1000).default(20),
  /** Quantile levels, ascending in (0, 1). @default [0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99] */
  quantiles: z.array(z.number().gt(0).lt(1)).min(1).default([0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99])
    .refine((q) => q.every((v, i) => i === 0 || v > q[i - 1]), { message: 'must be strictly ascending' }),
  /** Size of the seeded reservoir sample kept per column. @default 5000 */
  sampleSize: z.number().int().min(1).max(1_000_000).default(5000),
  /** Numeric columns with at most this many distinct values also get value frequencies. @default 20 */
  maxCategories: z.number().int().min(1).max(10_000).default(20),
}).strict();

/** The whole `cdk-mlops train` configuration. */
export const TrainConfigSchema = z.object({
  /** Registered model name. */
  model: z.string().regex(TRAIN_MODEL_NAME_PATTERN, 'must be lower-case letters, digits, ".", "_" or "-", starting with a letter or digit, at most 63 characters'),
  /** Registry: a directory, `file://` URI or `s3://bucket/prefix`. @default './.cdk-mlops/registry' */
  registry: z.string().min(1).default('./.cdk-mlops/registry'),
  data: TrainDataSchema,
  /** Built-in trainer (`logistic-regression`, `ridge`, `mlp`, ...). Ignored with `external`. @default 'logistic-regression' */
  trainer: z.string().min(1).default('logistic-regression'),
  /** Hyperparameters (of the built-in trainer, or passed to the external command). @default {} */
  params: z.record(z.string(), paramValue).default({}),
  /** Run this command instead of a built-in trainer. @default - a built-in trainer */
  external: TrainExternalSchema.optional(),
  /** Seed of the split, the trainer, the search and the reference sample. @default 42 */
  seed: z.number().int().min(0).max(2 ** 31 - 1).default(42),
  /** @default - 0.7 / 0.15 / 0.15 */
  split: TrainSplitSchema.prefault({}),
  /** @default - no minimums, no regression limits, compare with and promote 'champion' */
  gate: TrainGateSchema.prefault({}),
  /** @default - no search: `params` as given */
  hpo: TrainHpoSchema.optional(),
  /** @default - 20 bins, 9 quantiles, 5000-value samples */
  reference: TrainReferenceSchema.prefault({}),
  /** Intended use written into the model card. @default - a description derived from the data and task */
  intendedUse: z.string().min(1).optional(),
}).strict();

/** Input type (what a file or a construct may leave out). */
export type TrainConfigInput = z.input<typeof TrainConfigSchema>;
/** Validated configuration with every default filled in. */
export type TrainConfig = z.output<typeof TrainConfigSchema>;
