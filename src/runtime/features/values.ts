import { FeatureValueType, JoinKeyType } from '../config/features';
import { InputError, describeValue } from '../errors';

/**
 * How feature values and entity keys are written to, and read back from, the online store.
 *
 * A feature value is stored as a JSON value inside its entity's row (see rows.ts), typed by
 * the view's schema that the row was written with (the row names that schema by fingerprint,
 * so a value reads back as what was written even if the registry changed in between):
 *
 * | type                | stored (JSON)                                   | JSON in responses                    |
 * |---------------------|-------------------------------------------------|--------------------------------------|
 * | any, null           | `null`                                          | `null`                               |
 * | int32, int64        | number; a decimal string beyond +-2^53          | the same (proto3 JSON writes int64 so) |
 * | float32, float64    | number, shortest round-trip; `null` for NaN/Inf | the same                             |
 * | string              | string                                          | string                               |
 * | bool                | `true` / `false`                                | the same                             |
 * | unix_timestamp      | epoch milliseconds (number)                     | epoch seconds, as Feast's UNIX_TIMESTAMP |
 */

/** A value as it appears in a JSON response. */
export type FeatureJsonValue = number | string | boolean | null;

/** A value as it is stored in a row (see the table above). */
export type StoredFeatureValue = number | string | boolean | null;

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/**
 * Whether a value read from Parquet fits `type` (null fits every type). Allocates nothing:
 * materialization checks every row with it and encodes only the rows that win.
 */
export function fitsFeatureType(value: unknown, type: FeatureValueType): boolean {
  if (value === null || value === undefined) return true;
  switch (type) {
    case 'int32':
    case 'int64':
      return typeof value === 'bigint' || (typeof value === 'number' && Number.isInteger(value));
    case 'float32':
    case 'float64':
      return typeof value === 'number' || typeof value === 'bigint';
    case 'string':
      return typeof value === 'string';
    case 'bool':
      return typeof value === 'boolean';
    case 'unix_timestamp':
      return value instanceof Date && !Number.isNaN(value.getTime());
  }
}

/** Converts a value read from Parquet to its stored JSON value for `type`, or throws a message. */
export function encodeFeatureValue(value: unknown, type: FeatureValueType): StoredFeatureValue {
  if (value === null || value === undefined) return null;
  switch (type) {
    case 'int32':
    case 'int64': {
      if (typeof value === 'bigint') {
        const n = Number(value);
        return Number.isSafeInteger(n) ? n : value.toString();
      }
      if (typeof value === 'number' && Number.isInteger(value)) return value;
      break;
    }
    case 'float32':
    case 'float64': {
      if (typeof value === 'number') return Number.isFinite(value) ? value : null;
      if (typeof value === 'bigint') return Number(value);
      break;
    }
    case 'string':
      if (typeof value === 'string') return value;
      break;
    case 'bool':
      if (typeof value === 'boolean') return value;
      break;
    case 'unix_timestamp':
      if (value instanceof Date && !Number.isNaN(value.getTime())) return value.getTime();
      break;
  }
  throw new TypeError(`expected ${type}, got ${describeValue(typeof value === 'bigint' ? `${value}n` : value)} (${value instanceof Date ? 'Date' : typeof value})`);
}

/** Converts a stored value of `type` to its JSON form in responses (see the table above). */
export function decodeFeatureValue(stored: StoredFeatureValue, type: FeatureValueType): FeatureJsonValue {
  if (type === 'unix_timestamp' && typeof stored === 'number') return stored / 1000;
  return stored;
}

/**
 * Checks one join-key value from a request or a file and returns its canonical text (the
 * form used in online keys). int32/int64: an integer number, a bigint, or a string of digits
 * (for int64 beyond 2^53); string: a string.
 */
export function canonicalJoinKey(value: unknown, type: JoinKeyType, where: string): string {
  if (type === 'string') {
    if (typeof value === 'string') return value;
    throw new InputError(where, `expected a string join key, got ${describeValue(value)}`);
  }
  if (typeof value === 'number' && Number.isSafeInteger(value)) {
    if (type === 'int32' && (value < INT32_MIN || value > INT32_MAX)) throw new InputError(where, `${value} is out of range for int32`);
    return String(value);
  }
  let big: bigint | undefined;
  if (typeof value === 'bigint') big = value;
  else if (typeof value === 'number' && Number.isSafeInteger(value)) big = BigInt(value);
  else if (typeof value === 'string' && /^-?\d{1,20}$/.test(value)) big = BigInt(value);
  if (big === undefined) {
    throw new InputError(where, `expected an ${type} join key (an integer), got ${describeValue(value)}`);
  }
  const ok = type === 'int32'
    ? big >= BigInt(INT32_MIN) && big <= BigInt(INT32_MAX)
    : big >= -(2n ** 63n) && big < 2n ** 63n;
  if (!ok) throw new InputError(where, `${big} is out of range for ${type}`);
  return big.toString();
}

/** The entity part of an online key: canonical key values, URI-escaped, joined by ':'. */
export function entityKeyText(canonicalValues: readonly string[]): string {
  return canonicalValues.map(encodeURIComponent).join(':');
}

/** Formats epoch milliseconds the way protobuf's JSON mapping writes a Timestamp. */
export function formatProtoTimestamp(epochMs: number): string {
  const iso = new Date(epochMs).toISOString(); // 2021-12-31T23:00:00.000Z
  return iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : iso;
}

/** The timestamp Feast reports for values it did not find (and for entity key columns). */
export const EPOCH_TIMESTAMP = '1970-01-01T00:00:00Z';

/** Converts a Parquet timestamp cell to epoch milliseconds, or throws a message. */
export function timestampMillis(value: unknown): number {
  if (value instanceof Date) {
    const t = value.getTime();
    if (!Number.isNaN(t)) return t;
  }
  throw new TypeError(`expected a timestamp, got ${describeValue(value)}`);
}
