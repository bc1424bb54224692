/**
 * Hyperparameter declarations and their validation, shared by the built-in trainers.
 */
import type { Params } from './types';
import { InputError, describeValue } from '../../errors';

/** How one hyperparameter is checked. Bounds are inclusive unless marked exclusive. */
export type ParamSpec =
  | {
    readonly type: 'number' | 'integer';
    readonly default: number;
    readonly min?: number;
    readonly max?: number;
    readonly exclusiveMin?: boolean;
    readonly exclusiveMax?: boolean;
    /** One line for error messages and docs. */
    readonly doc: string;
  }
  | { readonly type: 'boolean'; readonly default: boolean; readonly doc: string }
  | { readonly type: 'string'; readonly default: string; readonly values: readonly string[]; readonly doc: string };

/** The specs of a trainer's hyperparameters, by name. */
export type ParamSpecs = Readonly<Record<string, ParamSpec>>;

/** The values of `S` after validation, typed. */
export type ResolvedParams<S extends ParamSpecs> = {
  readonly [K in keyof S]: S[K] extends { type: 'boolean' } ? boolean : S[K] extends { type: 'string' } ? string : number;
};

/** The defaults of a set of specs, as a plain `Params` object. */
export function defaultsOf(specs: ParamSpecs): Params {
  const out: Record<string, string | number | boolean> = {};
  for (const name of Object.keys(specs)) out[name] = specs[name].default;
  return out;
}

function expectation(spec: ParamSpec): string {
  switch (spec.type) {
    case 'boolean':
      return 'a boolean (true or false)';
    case 'string':
      return `one of ${spec.values.map((v) => JSON.stringify(v)).join(', ')}`;
    default: {
      const parts: string[] = [];
      if (spec.min !== undefined) parts.push(`${spec.exclusiveMin ? '>' : '>='} ${spec.min}`);
      if (spec.max !== undefined) parts.push(`${spec.exclusiveMax ? '<' : '<='} ${spec.max}`);
      const kind = spec.type === 'integer' ? 'an integer' : 'a finite number';
      return parts.length ? `${kind} ${parts.join(' and ')}` : kind;
    }
  }
}

/**
 * Checks `given` against `specs` and fills in defaults. Throws an {@link InputError} for
 * `params.<name>` naming the trainer, the value received and what was expected, for an
 * unknown name, a wrong type or a value out of range.
 */
export function resolveParams<S extends ParamSpecs>(trainer: string, specs: S, given: Params): ResolvedParams<S> {
  const out: Record<string, string | number | boolean> = {};
  for (const name of Object.keys(given)) {
    if (!Object.prototype.hasOwnProperty.call(specs, name)) {
      throw new InputError(
        `params.${name}`,
        `trainer "${trainer}" has no parameter "${name}" (got ${describeValue(given[name])}); expected one of: ${Object.keys(specs).join(', ')}`,
      );
    }
  }
  for (const name of Object.keys(specs)) {
    const spec = specs[name];
    const value = Object.prototype.hasOwnProperty.call(given, name) ? given[name] : spec.default;
    const bad = (): InputError => new InputError(
      `params.${name}`,
      `trainer "${trainer}" expects ${expectation(spec)} (${spec.doc}), got ${describeValue(value)}`,
    );
    switch (spec.type) {
      case 'boolean':
        if (typeof value !== 'boolean') throw bad();
        break;
      case 'string':
        if (typeof value !== 'string' || !spec.values.includes(value)) throw bad();
        break;
      default:
        if (typeof value !== 'number' || !Number.isFinite(value)) throw bad();
        if (spec.type === 'integer' && !Number.isSafeInteger(value)) throw bad();
        if (spec.min !== undefined && (spec.exclusiveMin ? value <= spec.min : value < spec.min)) throw bad();
        if (spec.max !== undefined && (spec.exclusiveMax ? value >= spec.max : value > spec.max)) throw bad();
    }
    out[name] = value;
  }
  return out as ResolvedParams<S>;
}
