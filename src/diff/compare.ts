import { JSON_SEGMENT, PathSegment, byName, formatPath, index, key } from './path';
import { Redactor, SENSITIVE_VALUE, scrubPair, scrubString } from './sensitive';
import { Action, FieldChange, JsonObject, JsonValue } from './types';

/** True for a JSON object (not an array, not null). */
export function isObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isContainer(v: JsonValue | undefined): v is JsonObject | JsonValue[] {
  return typeof v === 'object' && v !== null;
}

/** Structural equality of two JSON values (object key order does not matter). */
export function deepEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

/** Keys of `a` and `b` together, sorted (code-point order, so the output is stable everywhere). */
function unionKeys(a: JsonObject, b: JsonObject): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].sort(compareStrings);
}

/** Code-point string order (not locale-dependent). */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The `name` of every element when all elements are objects with distinct string names. */
function names(arr: readonly JsonValue[]): string[] | undefined {
  const out: string[] = [];
  for (const el of arr) {
    if (!isObject(el) || typeof el.name !== 'string') return undefined;
    out.push(el.name);
  }
  return new Set(out).size === out.length ? out : undefined;
}

/** True when no element is an object or an array: such arrays are compared as one value. */
function isScalarArray(arr: readonly JsonValue[]): boolean {
  return arr.every((el) => !isContainer(el));
}

/** Parses a string holding a JSON object or array (an IAM policy, an ECS container definition). */
function parseJsonContainer(s: string): JsonObject | JsonValue[] | undefined {
  const t = s.trim();
  if (!(t.startsWith('{') && t.endsWith('}')) && !(t.startsWith('[') && t.endsWith(']'))) return undefined;
  try {
    const v = JSON.parse(t) as JsonValue;
    return isContainer(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A copy of `value` that can be shown: sensitive leaves and opaque subtrees replaced with
 * `(sensitive value)`, secrets embedded in strings scrubbed. `path` is where `value` sits
 * in its resource.
 */
export function redactValue(value: JsonValue, redactor: Redactor, path: readonly PathSegment[] = []): JsonValue {
  if (redactor.isOpaque(path)) return SENSITIVE_VALUE;
  if (Array.isArray(value)) {
    if (isScalarArray(value)) {
      if (value.length > 0 && redactor.isSensitiveLeaf(path, value)) return SENSITIVE_VALUE;
      return value.map((el) => (typeof el === 'string' ? showString(el, redactor, path) : el));
    }
    const n = names(value);
    return value.map((el, i) => redactValue(el, redactor, [...path, n ? byName(n[i]) : index(i)]));
  }
  if (isObject(value)) {
    const out: JsonObject = {};
    for (const k of Object.keys(value)) out[k] = redactValue(value[k], redactor, [...path, key(k)]);
    return out;
  }
  if (redactor.isSensitiveLeaf(path, value)) return SENSITIVE_VALUE;
  return typeof value === 'string' ? showString(value, redactor, path) : value;
}

/** A string as it may be shown: JSON inside it redacted by the same rules, secrets scrubbed. */
function showString(s: string, redactor: Redactor, path: readonly PathSegment[]): string {
  const parsed = parseJsonContainer(s);
  if (parsed !== undefined) {
    const red = redactValue(parsed, redactor, [...path, JSON_SEGMENT]);
    return deepEqual(red, parsed) ? s : JSON.stringify(red);
  }
  return scrubString(s);
}

class Comparer {
  public readonly out: FieldChange[] = [];
  constructor(private readonly redactor: Redactor) {}

  public compare(a: JsonValue | undefined, b: JsonValue | undefined, path: PathSegment[]): void {
    if (deepEqual(a, b)) return;
    if (this.redactor.isOpaque(path)) {
      this.out.push({ path: formatPath(path), action: a === undefined ? 'add' : b === undefined ? 'remove' : 'change', sensitive: true });
      return;
    }
    if (a === undefined) return this.flatten(b!, path, 'add');
    if (b === undefined) return this.flatten(a, path, 'remove');
    if (isObject(a) && isObject(b)) {
      for (const k of unionKeys(a, b)) this.compare(a[k], b[k], [...path, key(k)]);
      return;
    }
    if (Array.isArray(a) && Array.isArray(b)) return this.compareArrays(a, b, path);
    if (typeof a === 'string' && typeof b === 'string') {
      const pa = parseJsonContainer(a);
      const pb = parseJsonContainer(b);
      if (pa !== undefined && pb !== undefined) {
        this.compare(pa, pb, [...path, JSON_SEGMENT]);
        return;
      }
    }
    if (isContainer(a) || isContainer(b)) {
      // The type changed (e.g. a string became a block): what was there goes, what is there comes.
      this.flatten(a, path, 'remove');
      this.flatten(b, path, 'add');
      return;
    }
    this.leaf(path, 'change', a, b);
  }

  private compareArrays(a: JsonValue[], b: JsonValue[], path: PathSegment[]): void {
    const multiline = (arr: JsonValue[]): boolean => arr.some((el) => typeof el === 'string' && el.includes('\n'));
    if (isScalarArray(a) && isScalarArray(b) && !multiline(a) && !multiline(b)) {
      this.leaf(path, 'change', a, b);
      return;
    }
    const na = names(a);
    const nb = names(b);
    if (na && nb) {
      const byA = new Map(na.map((n, i) => [n, a[i]]));
      const byB = new Map(nb.map((n, i) => [n, b[i]]));
      const common = new Set(na.filter((n) => byB.has(n)));
      const orderA = na.filter((n) => common.has(n));
      const orderB = nb.filter((n) => common.has(n));
      if (orderA.some((n, i) => n !== orderB[i])) {
        this.out.push({ path: formatPath(path), action: 'change', before: orderA, after: orderB, note: 'order changed' });
      }
      for (const n of [...new Set([...na, ...nb])].sort(compareStrings)) this.compare(byA.get(n), byB.get(n), [...path, byName(n)]);
      return;
    }
    const len = Math.max(a.length, b.length);
    for (let i = 0; i < len; i++) this.compare(a[i], b[i], [...path, index(i)]);
  }

  /** Every leaf of `v` as an added (or removed) field. */
  private flatten(v: JsonValue, path: PathSegment[], action: 'add' | 'remove'): void {
    if (this.redactor.isOpaque(path)) {
      this.out.push({ path: formatPath(path), action, sensitive: true });
      return;
    }
    if (isObject(v) && Object.keys(v).length > 0) {
      // An element matched by name already shows its name in the path.
      const last = path[path.length - 1];
      const keys = Object.keys(v).filter((k) => k !== 'name' || last?.kind !== 'name' || Object.keys(v).length === 1);
      for (const k of keys.sort(compareStrings)) this.flatten(v[k], [...path, key(k)], action);
      return;
    }
    if (Array.isArray(v) && v.length > 0 && !isScalarArray(v)) {
      const n = names(v);
      v.forEach((el, i) => this.flatten(el, [...path, n ? byName(n[i]) : index(i)], action));
      return;
    }
    if (action === 'add') this.leaf(path, 'add', undefined, v);
    else this.leaf(path, 'remove', v, undefined);
  }

  private leaf(path: PathSegment[], action: Action, before: JsonValue | undefined, after: JsonValue | undefined): void {
    const p = formatPath(path);
    if (this.redactor.isSensitiveLeaf(path, before) || this.redactor.isSensitiveLeaf(path, after)) {
      this.out.push({ path: p, action, sensitive: true });
      return;
    }
    let sb: JsonValue | undefined;
    let sa: JsonValue | undefined;
    if (typeof before === 'string' && typeof after === 'string' && !parseJsonContainer(before) && !parseJsonContainer(after)) {
      [sb, sa] = scrubPair(before, after);
    } else {
      sb = before === undefined ? undefined : redactValue(before, this.redactor, path);
      sa = after === undefined ? undefined : redactValue(after, this.redactor, path);
    }
    if (action === 'change' && deepEqual(sb, sa)) {
      // The values differ only in what had to be hidden.
      this.out.push({ path: p, action, sensitive: true });
      return;
    }
    this.out.push({
      path: p,
      action,
      ...(sb !== undefined ? { before: sb } : {}),
      ...(sa !== undefined ? { after: sa } : {}),
    });
  }
}

/**
 * The field-level changes from `before` to `after` (two versions of one resource), in a
 * stable order: object keys sorted, elements of arrays of named objects matched by `name`
 * (sorted by name), other arrays of objects by index, arrays of plain values compared
 * whole. Values that `redactor` marks sensitive are never part of the result.
 */
export function compareResources(before: JsonValue, after: JsonValue, redactor: Redactor = Redactor.DEFAULT): FieldChange[] {
  const c = new Comparer(redactor);
  c.compare(before, after, []);
  return c.out;
}
