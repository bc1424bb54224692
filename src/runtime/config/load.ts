import * as fs from 'node:fs';
import * as YAML from 'yaml';
import { z } from 'zod';
import { InputError, describeValue } from '../errors';

/**
 * Turns zod issues into one message that names each field path, the value received and what
 * was expected.
 */
export function formatIssues(source: string, value: unknown, issues: readonly z.core.$ZodIssue[]): string {
  const lines = issues.map((issue) => {
    const where = issue.path.length ? issue.path.map(String).join('.') : '(root)';
    let received: unknown = value;
    for (const key of issue.path) {
      received = received !== null && typeof received === 'object' ? (received as Record<PropertyKey, unknown>)[key as PropertyKey] : undefined;
    }
    return `'${where}' (${received === undefined ? 'missing' : describeValue(received)}): ${issue.message}`;
  });
  return `invalid ${source}:\n  - ${lines.join('\n  - ')}`;
}

/** Validates `value` against `schema`; throws an InputError listing every problem. */
export function parseConfig<S extends z.ZodType>(schema: S, value: unknown, source: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new InputError(source, formatIssues(source, value, result.error.issues));
  return result.data;
}

/**
 * Reads a runtime configuration file (JSON or YAML, as mounted from a ConfigMap), applies
 * overrides from the environment (`<PREFIX>_<UPPER_SNAKE_PATH>=value`, values parsed as YAML
 * scalars, e.g. `CDK_MLOPS_SERVE_PORT=9000` sets `port`), and validates the result.
 */
export function loadConfigFile<S extends z.ZodType>(
  schema: S,
  file: string | undefined,
  envPrefix: string,
  env: NodeJS.ProcessEnv = process.env,
): z.output<S> {
  let raw: Record<string, unknown> = {};
  if (file) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      throw new InputError(`config file ${file}`, `cannot be read (${(e as Error).message})`);
    }
    try {
      const parsed = YAML.parse(text);
      raw = parsed ?? {};
    } catch (e) {
      throw new InputError(`config file ${file}`, `is not valid JSON or YAML (${(e as Error).message})`);
    }
    if (typeof raw !== 'object' || Array.isArray(raw)) {
      throw new InputError(`config file ${file}`, `must hold an object, got ${describeValue(raw)}`);
    }
  }
  const prefix = `${envPrefix}_`;
  for (const [key, value] of Object.entries(env)) {
    if (!key.startsWith(prefix) || value === undefined) continue;
    const parts = key.slice(prefix.length).toLowerCase().split('__');
    let target: Record<string, unknown> = raw;
    for (let i = 0; i < parts.length; i++) {
      const name = parts[i].replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
      if (i === parts.length - 1) {
        target[name] = YAML.parse(value);
      } else {
        if (typeof target[name] !== 'object' || target[name] === null) target[name] = {};
        target = target[name] as Record<string, unknown>;
      }
    }
  }
  return parseConfig(schema, raw, file ? `config file ${file}` : 'configuration');
}
