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
 *   },
 *   "settings": {
 *     "dev": { "minReplicas": 1, "maxReplicas": 2 },
 *     "staging": { "minReplicas": 2, "maxReplicas": 4 },
 *     "prod": { "minReplicas": 2, "maxReplicas": 4 }
 *   }
 * }
 * ```
 *
 * `settings` (optional, so files without it stay valid) holds per-environment values the
 * program reads with {@link ModelPins.setting}; `cdk-mlops promote --from A --to B` copies
 * A's model versions and A's settings to B, so what was validated in A is what B runs.
 */

/** Schema version of the pins file this package reads and writes. */
export const PINS_SCHEMA_VERSION = 1;

/** Default location of the pins file, relative to the repository root. */
export const DEFAULT_PINS_FILE = 'pins.json';

/** A pin target: an environment (`prod`) or another named target (`prod-canary`). DNS-1123 label. */
export const PIN_TARGET_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** A setting's name: a JavaScript-style identifier such as `minReplicas`. */
export const PIN_SETTING_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,62}$/;

/** A setting's value: a JSON scalar. */
export type PinSettingValue = string | number | boolean;

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
  settings: z.record(
    z.string().regex(PIN_TARGET_PATTERN, "a target name: a DNS-1123 label such as 'prod' or 'prod-canary'"),
    z.record(
      z.string().regex(PIN_SETTING_PATTERN, "a setting name: a letter, then letters, digits or '_', at most 63 characters"),
      z.union([z.string(), z.number(), z.boolean()]),
    ),
  ).optional(),
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
    throw new InputError(source, `is not a valid pins file:\n  - ${problems.join('\n  - ')}\nexpected {"schemaVersion": ${PINS_SCHEMA_VERSION}, "models": {"<model>": {"<env>": <version >= 1>}}, "settings" (optional): {"<env>": {"<name>": <string, number or boolean>}}}`);
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

  /** The targets that have settings, in file order (empty when the file has no `settings`). */
  public get settingTargets(): string[] {
    return Object.keys(this.document.settings ?? {});
  }

  /** The names of the settings of `target`, in file order; throws naming the targets that have settings. */
  public settingNames(target: string): string[] {
    return Object.keys(this.targetSettings(target));
  }

  /**
   * The value of setting `name` for `target` (`settings.<target>.<name>`); throws naming the
   * file, and the targets or setting names that exist.
   */
  public setting(name: string, target: string): PinSettingValue {
    const settings = this.targetSettings(target);
    const v = settings[name];
    if (v === undefined) {
      throw new InputError(`${this.source}: settings.${target}`, `has no setting '${name}'; expected one of: ${Object.keys(settings).join(', ') || '(none)'}`);
    }
    return v;
  }

  /** {@link setting}, checked to be a number (e.g. replica counts). */
  public numberSetting(name: string, target: string): number {
    const v = this.setting(name, target);
    if (typeof v !== 'number') throw new InputError(`${this.source}: settings.${target}.${name}`, `${JSON.stringify(v)} is not a number; expected a number`);
    return v;
  }

  private targetSettings(target: string): Record<string, PinSettingValue> {
    const settings = this.document.settings?.[target];
    if (!settings) throw new InputError(`${this.source}: settings`, `has no target '${target}'; expected one of: ${this.settingTargets.join(', ') || '(none: add "settings": {"<env>": {"<name>": <value>}})'}`);
    return settings;
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

/** A setting a promotion copies: `settings.<target>.<name>` goes from `from` to `to`. */
export interface SettingChange {
  readonly name: string;
  readonly target: string;
  readonly from: PinSettingValue;
  readonly to: PinSettingValue;
}

/** The result of {@link promotePins}: the new text (the same text when nothing changed). */
export interface PromoteResult {
  readonly text: string;
  /** The pin of the first promoted model (the only one when `model` was given). */
  readonly change: PinChange;
  /** The pins of every promoted model, changed or not, sorted by model. */
  readonly changes: readonly PinChange[];
  /** The settings copied from `from` that differed (empty without `from` or without settings). */
  readonly settingChanges: readonly SettingChange[];
  readonly changed: boolean;
}

/** What to promote. */
export interface PromoteRequest {
  /** The model to promote. @default - with `from`: every model pinned for both `from` and `to` */
  readonly model?: string;
  /** The target whose pin changes (an environment such as `prod`, or `prod-canary`). */
  readonly to: string;
  /** The version to pin; with `from`, it must equal `from`'s pin. @default - `from`'s pin */
  readonly version?: number;
  /**
   * Copy the version pinned for this target, and (unless `versionsOnly`) its settings.
   * @default - `version` is required
   */
  readonly from?: string;
  /** With `from`: copy the model version(s) only, not the settings. @default false */
  readonly versionsOnly?: boolean;
}

/**
 * Edits the pins text: replaces exactly the number of `models.<model>.<to>` (for each promoted
 * model) and, with `from`, the values of `settings.<to>` that differ from `settings.<from>`, and
 * nothing else (indentation, key order and line endings stay as they are). Refuses unknown
 * models, targets and settings with an error that lists the known ones.
 */
export function promotePins(text: string, request: PromoteRequest, source: string = DEFAULT_PINS_FILE): PromoteResult {
  const pins = ModelPins.parse(text, source);
  const { to, from } = request;
  let version = request.version;
  if (version !== undefined && !(Number.isInteger(version) && version >= 1)) {
    throw new InputError('--version', `'${version}' is not a version number; expected a whole number >= 1`);
  }
  if (from !== undefined && from === to) throw new InputError('--from', `'${from}' is also --to; expected another target to copy the version from`);
  if (request.model === undefined && from === undefined) throw new InputError('<model>', 'is missing; expected a model, or --from <target> to promote every model pinned for both targets');
  if (request.model === undefined && version !== undefined) throw new InputError('--version', 'needs a model: one version cannot be checked against several models; name the model');
  const models = request.model !== undefined ? [request.model] : pins.models.filter((m) => pins.targets(m).includes(to) && pins.targets(m).includes(from!));
  if (models.length === 0) {
    throw new InputError('--from', `no model of ${source} is pinned for both '${from}' and '${to}'; expected targets among: ${[...new Set(pins.models.flatMap((m) => pins.targets(m)))].join(', ') || '(none)'}`);
  }

  const edits: { path: string[]; value: PinSettingValue }[] = [];
  const changes: PinChange[] = [];
  for (const model of models) {
    const current = pins.version(model, to);
    let v = version;
    if (from !== undefined) {
      const fromVersion = pins.version(model, from);
      if (v !== undefined && v !== fromVersion) {
        throw new InputError('--version', `${v} is not what '${from}' serves: ${source} pins ${model} at ${fromVersion} for '${from}'; promote the version that was validated there, or leave out --from`);
      }
      v = fromVersion;
    }
    if (v === undefined) throw new InputError('--version', 'is missing; expected --version <n>, or --from <target> to copy its version');
    changes.push({ model, target: to, from: current, to: v });
    if (v !== current) edits.push({ path: ['models', model, to], value: v });
  }

  const settingChanges: SettingChange[] = [];
  if (from !== undefined && !request.versionsOnly && pins.document.settings !== undefined) {
    const has = (t: string): boolean => pins.settingTargets.includes(t);
    if (has(from) || has(to)) {
      // Both or neither: copying half of an environment's settings would run an untested mix.
      if (!has(from)) pins.settingNames(from);
      if (!has(to)) pins.settingNames(to);
      const fromNames = pins.settingNames(from);
      const toNames = pins.settingNames(to);
      const missing = fromNames.filter((n) => !toNames.includes(n));
      const extra = toNames.filter((n) => !fromNames.includes(n));
      if (missing.length || extra.length) {
        const parts = [missing.length ? `settings.${to} lacks ${missing.join(', ')}` : '', extra.length ? `settings.${to} has ${extra.join(', ')} that settings.${from} does not` : ''].filter(Boolean);
        throw new InputError(`${source}: settings`, `'${from}' and '${to}' do not have the same settings (${parts.join('; ')}); expected the same names in both (${fromNames.join(', ') || '(none)'}), or --versions-only`);
      }
      for (const name of fromNames) {
        const a = pins.setting(name, from);
        const b = pins.setting(name, to);
        if (a === b) continue;
        settingChanges.push({ name, target: to, from: b, to: a });
        edits.push({ path: ['settings', to, name], value: a });
      }
    }
  }

  const result = { change: changes[0], changes, settingChanges };
  if (edits.length === 0) return { text, ...result, changed: false };

  const root = locateJson(text);
  const located = edits.map((e) => {
    const node = nodeAt(root, e.path);
    if (!node || node.kind !== 'scalar') throw new Error(`${source}: ${e.path.join('.')} was validated but not found in the text`);
    return { ...e, node };
  }).sort((a, b) => b.node.start - a.node.start);
  let next = text;
  for (const e of located) next = `${next.slice(0, e.node.start)}${JSON.stringify(e.value)}${next.slice(e.node.end)}`;
  // The edit must change those values and nothing else.
  const expected = JSON.parse(text) as Record<string, Record<string, Record<string, unknown>>>;
  for (const e of edits) expected[e.path[0]][e.path[1]][e.path[2]] = e.value;
  if (JSON.stringify(JSON.parse(next)) !== JSON.stringify(expected)) {
    throw new Error(`${source}: editing ${edits.map((e) => e.path.join('.')).join(', ')} would change more than those values; the file was not written`);
  }
  return { text: next, ...result, changed: true };
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
