import { createHash } from 'node:crypto';
import type { FeatureValueType } from '../config/features';
import { describeValue } from '../errors';
import type { StoredFeatureValue } from './values';

/**
 * The online row: ONE stored value per (view, entity key), a JSON array
 *
 *     ["<schema>", <event ts>, <created ts>, <value 0>, <value 1>, ...]
 *
 * - `<schema>`: the fingerprint of the view's value schema the row was written with (its
 *   feature names and types, in order; see {@link valueSchemaOf});
 * - `<event ts>`: event time, epoch milliseconds; `<created ts>`: created time, epoch
 *   milliseconds, or `null` when the view has no created-timestamp column;
 * - then one value per feature of that schema, in its order (see values.ts for each type).
 *
 * e.g. `["3f0c1b2a9d8e7f60",1704110400000,1704112200000,0.35,0.375,35]`.
 *
 * Every schema a row may name is also stored once under `OnlineKeyspace.schema(view, fingerprint)`
 * (JSON `{"features":[{"name":...,"valueType":...}, ...]}`), written before any row that names it.
 * A reader whose registry has another definition of the view (a feature added, removed or
 * reordered, during a rollout or before the next materialization) decodes such a row BY NAME
 * through that schema: a feature the row's schema has is PRESENT with the value and type it was
 * written with; a feature it lacks is NOT_FOUND.
 */

/** A view's value schema: its features, in order, and their fingerprint. */
export interface ValueSchema {
  /** First 16 hex digits of sha256 over the JSON of `[[name, type], ...]`. */
  readonly fingerprint: string;
  readonly names: readonly string[];
  readonly types: readonly FeatureValueType[];
  /** Feature name -> position in the row's values. */
  readonly index: ReadonlyMap<string, number>;
}

/** Index of the first feature value in a row array. */
export const ROW_VALUES_OFFSET = 3;

/** The value schema of a list of features. */
export function valueSchemaOf(features: readonly { readonly name: string; readonly valueType: FeatureValueType }[]): ValueSchema {
  const names = features.map((f) => f.name);
  const types = features.map((f) => f.valueType);
  const fingerprint = createHash('sha256').update(JSON.stringify(features.map((f) => [f.name, f.valueType]))).digest('hex').slice(0, 16);
  return { fingerprint, names, types, index: new Map(names.map((n, i) => [n, i])) };
}

/** The stored form of a value schema (under `OnlineKeyspace.schema`). */
export function encodeValueSchema(schema: ValueSchema): string {
  return JSON.stringify({ features: schema.names.map((name, i) => ({ name, valueType: schema.types[i] })) });
}

/** Reads a stored value schema; throws if it is not one or does not match `fingerprint`. */
export function decodeValueSchema(stored: string | Buffer, fingerprint: string): ValueSchema {
  const text = typeof stored === 'string' ? stored : stored.toString('utf8');
  let schema: ValueSchema | undefined;
  try {
    const doc = JSON.parse(text) as { features?: { name: string; valueType: FeatureValueType }[] };
    if (Array.isArray(doc.features)) schema = valueSchemaOf(doc.features);
  } catch {
    // reported below
  }
  if (!schema || schema.fingerprint !== fingerprint) {
    throw new Error(`stored value schema ${fingerprint} is not a schema with that fingerprint: ${describeValue(text.slice(0, 200))}`);
  }
  return schema;
}

/** Encodes a row: schema fingerprint, timestamps and the encoded values in schema order. */
export function encodeRow(schema: ValueSchema, eventTs: number, createdTs: number | null, values: readonly StoredFeatureValue[]): string {
  return JSON.stringify([schema.fingerprint, eventTs, createdTs, ...values]);
}

/** A decoded row: `[schema, eventTs, createdTs, ...values]`. */
export type Row = [string, number, number | null, ...StoredFeatureValue[]];

/** Parses a stored row; throws if the stored value is not a row (a key written by something else). */
export function parseRow(stored: string | Buffer): Row {
  const text = typeof stored === 'string' ? stored : stored.toString('utf8');
  let row: unknown;
  try {
    row = JSON.parse(text);
  } catch {
    row = undefined;
  }
  if (!Array.isArray(row) || row.length < ROW_VALUES_OFFSET || typeof row[0] !== 'string' || typeof row[1] !== 'number'
    || (row[2] !== null && typeof row[2] !== 'number')) {
    throw new Error(`stored online value ${describeValue(text.slice(0, 200))} is not a feature row ["<schema>", <event ts>, <created ts>, values...]`);
  }
  return row as Row;
}
