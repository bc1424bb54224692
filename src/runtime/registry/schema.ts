import { z } from 'zod';
import {
  AliasRecord,
  MANIFEST_SCHEMA_VERSION,
  ModelManifest,
  REFERENCE_SCHEMA_VERSION,
  ReferenceStatistics,
} from './types';

/**
 * zod schemas of the documents stored in the registry (see `./types.ts`). Every document read
 * back from storage is checked against them, so a reader (serve, monitor) fails with a message
 * naming the field instead of crashing later on a missing property.
 */

const datatype = z.enum(['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES']);
const tensorSpec = z.object({ name: z.string().min(1), datatype, shape: z.array(z.number().int()) });
const metrics = z.record(z.string(), z.number());

/** Schema of {@link ModelManifest}. */
export const manifestSchema = z.object({
  schemaVersion: z.literal(MANIFEST_SCHEMA_VERSION),
  model: z.string().min(1),
  version: z.number().int().positive(),
  createdAt: z.string().min(1),
  files: z.record(z.string(), z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), bytes: z.number().int().nonnegative() })),
  signature: z.object({
    inputs: z.array(tensorSpec),
    outputs: z.array(tensorSpec),
    featureNames: z.array(z.string()),
    target: z.string(),
    task: z.enum(['classification', 'regression']),
    classes: z.array(z.number()).optional(),
  }),
  metrics,
  sliceMetrics: z.record(z.string(), z.record(z.string(), metrics)).optional(),
  parameters: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  lineage: z.object({
    codeCommit: z.string(),
    dataHash: z.string(),
    dataUri: z.string(),
    trainer: z.string(),
    trainerVersion: z.string(),
    createdBy: z.string(),
    seed: z.number(),
  }),
  gate: z.object({
    passed: z.boolean(),
    reasons: z.array(z.string()),
    comparedWith: z.number().int().positive().optional(),
  }).optional(),
});

const columnReference = z.object({
  name: z.string(),
  kind: z.enum(['numeric', 'categorical']),
  count: z.number().int().nonnegative(),
  missing: z.number().int().nonnegative(),
  distinct: z.number().int().nonnegative(),
  min: z.number().optional(),
  max: z.number().optional(),
  mean: z.number().optional(),
  std: z.number().optional(),
  quantiles: z.array(z.number()).optional(),
  histogram: z.object({ binEdges: z.array(z.number()), counts: z.array(z.number().int().nonnegative()) }).optional(),
  frequencies: z.record(z.string(), z.number().int().nonnegative()).optional(),
  sample: z.array(z.number()).optional(),
});

/** Schema of {@link ReferenceStatistics}. */
export const referenceSchema = z.object({
  schemaVersion: z.literal(REFERENCE_SCHEMA_VERSION),
  rows: z.number().int().nonnegative(),
  quantileLevels: z.array(z.number().gt(0).lt(1)),
  sampleSize: z.number().int().positive(),
  features: z.array(columnReference),
  prediction: columnReference,
  metrics,
});

/** Schema of {@link AliasRecord}. */
export const aliasSchema = z.object({
  model: z.string().min(1),
  alias: z.string().min(1),
  version: z.number().int().positive(),
  history: z.array(z.object({
    version: z.number().int().positive(),
    movedAt: z.string(),
    movedBy: z.string(),
    reason: z.string().optional(),
  })),
});

// Compile-time proof that what the schemas accept is what types.ts declares.
type Assignable<A, B extends A> = B;
export type ManifestCheck = Assignable<ModelManifest, z.output<typeof manifestSchema>>;
export type ReferenceCheck = Assignable<ReferenceStatistics, z.output<typeof referenceSchema>>;
export type AliasCheck = Assignable<AliasRecord, z.output<typeof aliasSchema>>;

/**
 * Model and alias names: what may appear as one segment of a key in a bucket and of a
 * Kubernetes name: letters, digits, `.`, `_` and `-`, starting with a letter or digit, at most
 * 100 characters. Alias names must also contain a letter, so they never read as a version
 * number, and `latest` is reserved (it always means the highest visible version).
 */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** Returns an error message when `name` is not a valid model name, else undefined. */
export function checkModelName(name: string): string | undefined {
  if (typeof name !== 'string' || !NAME_PATTERN.test(name) || name.includes('..')) {
    return `model name ${JSON.stringify(name)} is invalid: expected 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit`;
  }
  return undefined;
}

/** Returns an error message when `name` is not a valid alias name, else undefined. */
export function checkAliasName(name: string): string | undefined {
  if (typeof name !== 'string' || !NAME_PATTERN.test(name) || name.includes('..') || !/[A-Za-z]/.test(name)) {
    return `alias name ${JSON.stringify(name)} is invalid: expected 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit and containing a letter`;
  }
  if (name === 'latest') return "alias name 'latest' is reserved: it always means the highest visible version";
  return undefined;
}
