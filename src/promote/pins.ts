import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { locateJson, nodeAt } from './json-locate';
import { TRAIN_MODEL_NAME_PATTERN } from '../runtime/config/train';
import { InputError } from '../runtime/errors';

/**
 * Model pins: which registry version of each model each environment (or other named target,
 * such as a canary) serves. One JSON file, read by the platform program at synth time and
 * edited by `cdk-mlops promote`, so that a promotion is a one-line, reviewable pull request and
 * a rollback is a revert.
 *
 * ```json
 * {
 *   "schemaVersion": 1,
 *   "models": {
 *     "churn": { "dev": 3, "staging": 2, "prod": 2 }
 *   }
 * }
 * ```
 */

/** Schema version of the pins file this package reads and writes. */
export const PINS_SCHEMA_VERSION = 1;

/** Default location of the pins file, relative to the repository root. */
export const DEFAULT_PINS_FILE = 'pins.json';

/** A pin target: an environment (`prod`) or another named target (`prod-canary`). DNS-1123 label. */
export const PIN_TARGET_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** The pins file: JSON Schema-like validation with zod, every problem reported with its path. */
export const pinsSchema = z.strictObject({
  schemaVersion: z.literal(PINS_SCHEMA_VERSION),
  models: z.record(
    z.string().regex(TRAIN_MODEL_NAME_PATTERN, "a model name: lower-case letters, digits, '.', '_' or '-', starting with a letter or digit, at most 63 characters"),
    z.record(
      z.string().regex(PIN_TARGET_PATTERN, "a target name: a DNS-1123 label such as 'prod' or 'prod-canary'"),
      z.number().int().min(1),
    ),
  ),
});

/** The content of a pins file. */
export type PinsDocument = z.output<typeof pinsSchema>;

function parseDocument(text: string, source: string): PinsDocument {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new InputError(source, `is not valid JSON (${(e as Error).message}); expected a pins file: {"schemaVersion": ${PINS_SCHEMA_VERSION}, "models": {"<model>": {"<env>": <version>}}}`);
  }
  const parsed = pinsSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => {
      const at = i.path.length ? i.path.join('.') : '(root)';
      // A bad record key: say which rule the key breaks (zod reports it as a nested issue).
      const nested = i.code === 'invalid_key' ? i.issues[0]?.message : undefined;
      return nested ? `${at}: the key ${JSON.stringify(String(i.path[i.path.length - 1]))} is not ${nested}` : `${at}: ${i.message}`;
    });
    throw new InputError(source, `is not a valid pins file:\n  - ${problems.join('\n  - ')}\nexpected {"schemaVersion": ${PINS_SCHEMA_VERSION}, "models": {"<model>": {"<env>": <version >= 1>}}}`);
  }
  return parsed.data;
}

/** A pin read by a platform program: which file, model, target and version. */
export interface PinLookup {
  /** Absolute path of the pins file. */
  readonly file: string;
  readonly model: string;
  readonly target: string;
  readonly version: number;
}

/**
 * Process-wide hooks of {@link ModelPins.fromFile}, kept on a global symbol so that a program
 * loading another copy of this module (TypeScript sources vs compiled lib) shares them:
 * `overrides` replaces the text of a pins file (absolute path) for this process, and `lookups`
 * records every pin a program read from a file. `cdk-mlops up` uses them to synthesize a
 * promotion locally without editing the file, and to know which pin an endpoint came from.
 */
export function pinsHooks(): { readonly overrides: Map<string, string>; readonly lookups: PinLookup[] } {
  const key = Symbol.for('cdk-mlops.pins-hooks');
  const g = globalThis as Record<symbol, unknown>;
  return (g[key] ??= { overrides: new Map<string, string>(), lookups: [] }) as { overrides: Map<string, string>; lookups: PinLookup[] };
}

/**
 * The pinned model versions of a platform, read by the platform program:
 *
 * ```ts
 * const pins = ModelPins.fromFile(path.join(__dirname, '..', 'pins.json'));
 * const churn = registry.model('churn').version(pins.version('churn', 'prod'));
 * ```
 */
export class ModelPins {
  /** Reads and validates a pins file. */
  public static fromFile(file: string): ModelPins {
    const override = pinsHooks().overrides.get(path.resolve(file));
    if (override !== undefined) return new ModelPins(parseDocument(override, file), file, path.resolve(file));
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      throw new InputError(file, `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); expected a pins file (create one with 'cdk-mlops init', or pass its path)`);
    }
    return new ModelPins(parseDocument(text, file), file, path.resolve(file));
  }

  /** Validates the text of a pins file; `source` names it in errors. */
  public static parse(text: string, source: string = DEFAULT_PINS_FILE): ModelPins {
    return new ModelPins(parseDocument(text, source), source);
  }

  /** The validated document. */
  public readonly document: PinsDocument;
  /** Where it was read from (for messages). */
  public readonly source: string;

  private constructor(document: PinsDocument, source: string, private readonly file?: string) {
    this.document = document;
    this.source = source;
  }

  /** The pinned models, sorted. */
  public get models(): string[] {
    return Object.keys(this.document.models).sort();
  }

  /** The targets (environments, ...) a model is pinned for, in file order. */
  public targets(model: string): string[] {
    return Object.keys(this.modelPins(model));
  }

  /** The version `model` is pinned at for `target`; throws naming the file, model and target. */
  public version(model: string, target: string): number {
    const pins = this.modelPins(model);
    const v = pins[target];
    if (v !== undefined && this.file !== undefined) pinsHooks().lookups.push({ file: this.file, model, target, version: v });
    if (v === undefined) {
      throw new InputError(`${this.source}: models.${model}`, `has no pin for '${target}'; expected one of: ${Object.keys(pins).join(', ') || '(none)'}`);
    }
    return v;
  }

  private modelPins(model: string): Record<string, number> {
    const pins = this.document.models[model];
    if (!pins) throw new InputError(`${this.source}: models`, `has no model '${model}'; expected one of: ${this.models.join(', ') || '(none)'}`);
    return pins;
  }
}

/** What a promotion changes. */
export interface PinChange {
  readonly model: string;
  readonly target: string;
  readonly from: number;
  readonly to: number;
}

/** The result of {@link promotePins}: the new text (the same text when nothing changed). */
export interface PromoteResult {
  readonly text: string;
  readonly change: PinChange;
  readonly changed: boolean;
}

/** What to promote. */
export interface PromoteRequest {
  readonly model: string;
  /** The target whose pin changes (an environment such as `prod`, or `prod-canary`). */
  readonly to: string;
  /** The version to pin; with `from`, it must equal `from`'s pin. @default - `from`'s pin */
  readonly version?: number;
  /** Copy the version pinned for this target. @default - `version` is required */
  readonly from?: string;
}

/**
 * Edits the pins text: replaces exactly the number of `models.<model>.<to>` and nothing else
 * (indentation, key order and line endings stay as they are). Refuses unknown models and
 * targets with an error that lists the known ones.
 */
export function promotePins(text: string, request: PromoteRequest, source: string = DEFAULT_PINS_FILE): PromoteResult {
  const pins = ModelPins.parse(text, source);
  const { model, to, from } = request;
  const current = pins.version(model, to);
  let version = request.version;
  if (version !== undefined && !(Number.isInteger(version) && version >= 1)) {
    throw new InputError('--version', `'${version}' is not a version number; expected a whole number >= 1`);
  }
  if (from !== undefined) {
    if (from === to) throw new InputError('--from', `'${from}' is also --to; expected another target to copy the version from`);
    const fromVersion = pins.version(model, from);
    if (version !== undefined && version !== fromVersion) {
      throw new InputError('--version', `${version} is not what '${from}' serves: ${source} pins ${model} at ${fromVersion} for '${from}'; promote the version that was validated there, or leave out --from`);
    }
    version = fromVersion;
  }
  if (version === undefined) throw new InputError('--version', 'is missing; expected --version <n>, or --from <target> to copy its version');
  const change: PinChange = { model, target: to, from: current, to: version };
  if (version === current) return { text, change, changed: false };

  const node = nodeAt(locateJson(text), ['models', model, to]);
  if (!node || node.kind !== 'scalar') throw new Error(`${source}: models.${model}.${to} was validated but not found in the text`);
  const next = `${text.slice(0, node.start)}${version}${text.slice(node.end)}`;
  // The edit must change that one value and nothing else.
  const expected = JSON.parse(text) as PinsDocument;
  expected.models[model][to] = version;
  if (JSON.stringify(JSON.parse(next)) !== JSON.stringify(expected)) {
    throw new Error(`${source}: editing models.${model}.${to} would change more than that value; the file was not written`);
  }
  return { text: next, change, changed: true };
}

/**
 * Reads a pins file, applies {@link promotePins} and writes it back atomically when it changed.
 * `source` names the file in messages (default: `file`).
 */
export function promotePinsFile(file: string, request: PromoteRequest, source: string = file): PromoteResult {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError('--pins', `'${file}' cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); expected the pins file (default: "pins" of cdk-mlops.json, else ${DEFAULT_PINS_FILE})`);
  }
  const result = promotePins(text, request, source);
  if (result.changed) {
    const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
    try {
      fs.writeFileSync(tmp, result.text);
      fs.renameSync(tmp, file);
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw e;
    }
  }
  return result;
}

/** Renders a pins document the way `cdk-mlops init` writes it (two-space indent, trailing newline). */
export function formatPins(document: PinsDocument): string {
  return `${JSON.stringify(pinsSchema.parse(document), null, 2)}\n`;
}
