import { JSON_SEGMENT, PathSegment, formatPath, index, key, match } from './path';
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

const str = (el: JsonValue, f: string): string | undefined => (isObject(el) && typeof el[f] === 'string' ? el[f] as string : undefined);

function unique(arrays: readonly (readonly JsonValue[])[], fields: readonly string[]): boolean {
  return arrays.every((arr) => new Set(arr.map((el) => JSON.stringify(fields.map((f) => str(el, f) ?? '')))).size === arr.length);
}

/**
 * The fields that tell the elements of arrays of objects apart, the same in every array given:
 * `name` when every element has a distinct one; else `kind`/`namespace` with `name` (a list
 * of Kubernetes objects, of capabilities); else `key`, else `id`. `undefined` when none does:
 * the elements are then matched by index.
 */
export function matchFields(arrays: readonly (readonly JsonValue[])[]): readonly string[] | undefined {
  const all = arrays.flat();
  if (all.length === 0) return undefined;
  const every = (f: string): boolean => all.every((el) => str(el, f) !== undefined);
  if (every('name')) {
    if (unique(arrays, ['name'])) return ['name'];
    const fields = [
      ...(every('kind') ? ['kind'] : []),
      ...(all.some((el) => str(el, 'namespace') !== undefined) ? ['namespace'] : []),
      'name',
    ];
    if (fields.length > 1 && unique(arrays, fields)) return fields;
  }
  for (const f of ['key', 'id']) if (every(f) && unique(arrays, [f])) return [f];
  return undefined;
}

/** The path segment of an element matched by `fields` (fields it lacks are left out). */
function matchSegment(el: JsonValue, fields: readonly string[]): PathSegment {
  return match(fields.flatMap((f) => {
    const v = str(el, f);
    return v === undefined ? [] : [[f, v] as const];
  }));
}

/** The matching key of an element (all fields, missing ones empty). */
const matchKey = (el: JsonValue, fields: readonly string[]): string => JSON.stringify(fields.map((f) => str(el, f) ?? ''));

/**
 * A readable label of an element matched by `fields`: `fraud`, `ModelEndpoint fraud`,
 * `Deployment serving/fraud`.
 */
export function matchLabel(el: JsonValue, fields: readonly string[]): string {
  if (fields.length === 1) return str(el, fields[0]) ?? '';
  const kind = fields.includes('kind') ? `${str(el, 'kind')} ` : '';
  const ns = str(el, 'namespace');
  return `${kind}${ns ? `${ns}/` : ''}${str(el, 'name')}`;
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
    const fields = matchFields([value]);
    return value.map((el, i) => redactValue(el, redactor, [...path, fields ? matchSegment(el, fields) : index(i)]));
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
    const fields = matchFields([a, b]);
    if (fields) {
      const byA = new Map(a.map((el) => [matchKey(el, fields), el]));
      const byB = new Map(b.map((el) => [matchKey(el, fields), el]));
      const label = (k: string): string => matchLabel((byB.get(k) ?? byA.get(k))!, fields);
      const orderA = [...byA.keys()].filter((k) => byB.has(k));
      const orderB = [...byB.keys()].filter((k) => byA.has(k));
      if (orderA.some((k, i) => k !== orderB[i])) {
        this.out.push({ path: formatPath(path), action: 'change', before: orderA.map(label), after: orderB.map(label), note: 'order changed' });
      }
      const segments = new Map<string, PathSegment>();
      for (const el of [...a, ...b]) segments.set(matchKey(el, fields), matchSegment(el, fields));
      const keys = [...segments.keys()].sort((x, y) => compareStrings(formatPath([segments.get(x)!]), formatPath([segments.get(y)!])));
      for (const k of keys) this.compare(byA.get(k), byB.get(k), [...path, segments.get(k)!]);
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
      // An element matched by its name (or kind and name...) already shows them in the path.
      const last = path[path.length - 1];
      const shown = last?.kind === 'match' ? new Set(last.by.map(([f]) => f)) : new Set<string>();
      const rest = Object.keys(v).filter((k) => !shown.has(k));
      const keys = rest.length > 0 ? rest : Object.keys(v);
      for (const k of keys.sort(compareStrings)) this.flatten(v[k], [...path, key(k)], action);
      return;
    }
    if (Array.isArray(v) && v.length > 0 && !isScalarArray(v)) {
      const fields = matchFields([v]);
      v.forEach((el, i) => this.flatten(el, [...path, fields ? matchSegment(el, fields) : index(i)], action));
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
 * stable order: object keys sorted, elements of arrays of objects matched by what identifies
 * them (see {@link matchFields}: `name` first) and sorted by it, other arrays of objects by
 * index, arrays of plain values compared whole (arrays of texts element by element). Values that `redactor` marks sensitive are never part of the result.
 */
export function compareResources(before: JsonValue, after: JsonValue, redactor: Redactor = Redactor.DEFAULT): FieldChange[] {
  const c = new Comparer(redactor);
  c.compare(before, after, []);
  return c.out;
}
