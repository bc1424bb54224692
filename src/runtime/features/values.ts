import { FeatureValueType, JoinKeyType } from '../config/features';
import { InputError, describeValue } from '../errors';

/**
 * How feature values and entity keys are written to, and read back from, the online store.
 *
 * Stored values are strings tagged with their type, so a value reads back as what was written
 * even if the registry changed in between:
 *
 * | tag | value                                  | JSON in responses                              |
 * |-----|----------------------------------------|-----------------------------------------------|
 * | `n` | null                                   | `null`                                        |
 * | `i` | integer, decimal (`i-42`)              | number; a string beyond +-2^53 (proto3 JSON)  |
 * | `f` | float, shortest round-trip (`f0.25`)   | number; `null` for NaN/Infinity               |
 * | `s` | string (`shello`)                      | string                                        |
 * | `b` | bool (`b1`, `b0`)                      | true / false                                  |
 * | `t` | timestamp, epoch milliseconds          | epoch seconds (number), as Feast's UNIX_TIMESTAMP |
 */

/** A value as it appears in a JSON response. */
export type FeatureJsonValue = number | string | boolean | null;

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

/** Converts a value read from Parquet to the stored string for `type`, or throws a message. */
export function encodeFeatureValue(value: unknown, type: FeatureValueType): string {
  if (value === null || value === undefined) return 'n';
  switch (type) {
    case 'int32':
    case 'int64': {
      if (typeof value === 'bigint') return `i${value.toString()}`;
      if (typeof value === 'number' && Number.isInteger(value)) return `i${value}`;
      break;
    }
    case 'float32':
    case 'float64': {
      if (typeof value === 'number') return `f${value}`;
      if (typeof value === 'bigint') return `f${Number(value)}`;
      break;
    }
    case 'string':
      if (typeof value === 'string') return `s${value}`;
      break;
    case 'bool':
      if (typeof value === 'boolean') return value ? 'b1' : 'b0';
      break;
    case 'unix_timestamp':
      if (value instanceof Date && !Number.isNaN(value.getTime())) return `t${value.getTime()}`;
      break;
  }
  throw new TypeError(`expected ${type}, got ${describeValue(typeof value === 'bigint' ? `${value}n` : value)} (${value instanceof Date ? 'Date' : typeof value})`);
}

/** A stored value as the store hands it back: a string, or the raw bytes (Redis). */
export type StoredValue = string | Buffer;

/** Decodes a stored value to its JSON form (see the table above). */
export function decodeFeatureValue(stored: StoredValue): FeatureJsonValue {
  if (typeof stored !== 'string') {
    // From Redis as bytes: numbers are ASCII, so latin1 is exact and cheaper than utf8.
    switch (stored[0]) {
      case 102: { // f
        const n = Number(stored.toString('latin1', 1));
        return Number.isFinite(n) ? n : null;
      }
      case 115: return stored.toString('utf8', 1); // s
      case 110: return null; // n
      case 98: return stored[1] === 49; // b
      default: return decodeFeatureValue(stored.toString('latin1'));
    }
  }
  const tag = stored.charCodeAt(0);
  const body = stored.slice(1);
  switch (tag) {
    case 110: // n
      return null;
    case 105: { // i
      const n = Number(body);
      return Number.isSafeInteger(n) ? n : body;
    }
    case 102: { // f
      const n = Number(body);
      return Number.isFinite(n) ? n : null;
    }
    case 115: // s
      return body;
    case 98: // b
      return body === '1';
    case 116: // t
      return Number(body) / 1000;
    default:
      throw new Error(`stored feature value ${describeValue(stored)} has no known type tag`);
  }
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
