import { alignLines } from './lines';
import { PathSegment } from './path';
import { JsonValue } from './types';

/** What replaces a sensitive value in a resource body or an added/removed field. */
export const SENSITIVE_VALUE = '(sensitive value)';

/** What a changed sensitive value shows. */
export const SENSITIVE_CHANGED = '(sensitive value changed)';

/**
 * Key names whose values are treated as sensitive wherever they appear (Terraform attributes,
 * Kubernetes fields, inventory entries): `password`, `secret_string`, `auth_token`,
 * `private_key`, `token`, `client_secret`, `access_key`, `credentials`, `set_sensitive`, ...
 * (`author`, `authority`, `tokenizer` are not).
 */
export const SENSITIVE_KEY = /passw(?:or)?d|passphrase|secret|token(?!iz)|private_?key|auth(?!or(?!iz))|credential|api_?key|access_?key|sensitive|connection_?string|kubeconfig|plaintext|signing_?key|hmac/i;

/**
 * Environment-variable names (upper case) that hold secrets by convention without saying so:
 * `DB_PASS`, `MYSQL_PWD`, `STRIPE_SK`, `STRIPE_KEY`, `HASH_SALT`: their values are hidden in
 * name/value pairs.
 */
export const SECRET_ENV_NAME = /(?:^|_)(?:PASS|PWD|SK|KEY|SALT|PIN)$/;

/**
 * Values that are credentials whatever their key: AWS access key ids, Stripe live/test keys,
 * GitHub and GitLab tokens, Slack tokens and webhook URLs.
 */
export const SECRET_VALUE = /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b|\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{6,}|\bgh[pousr]_[0-9A-Za-z]{20,}|\bglpat-[0-9A-Za-z_-]{20,}|\bxox[abprs]-[0-9A-Za-z-]{10,}|hooks\.slack\.com\/services\/[0-9A-Za-z/]+/;

/**
 * Keys that name or point at a secret without holding it (`secretName`, `secretKeyRef`,
 * `secret_id`, `kms_key_id`, `secret_arn`, `auth_type`, ...): their values are shown, and a
 * sensitive key above them does not hide them.
 */
const REFERENCE_KEY = /(?:^|_)(?:arn|id|ids|name|names|ref|refs|from|type|mode|version|enabled|length|ttl)$|[a-z0-9](?:Arn|ARN|Id|ID|Ids|Name|Names|Ref|Refs|From|Type|Mode|Version|Enabled|Length|Ttl)$/;

/**
 * Settings whose names look sensitive but that hold none: `http_tokens` (IMDSv2 on a launch
 * template: `required`), `serviceAccountToken` (a projected volume source: audience, expiry, path).
 */
const NOT_SENSITIVE_KEYS = new Set(['http_tokens', 'serviceAccountToken']);

/** A key path (from the root of a resource) that a redaction rule applies to. */
export type KeyPath = readonly string[];

/** Resource-specific redaction, on top of the key-name rule that applies everywhere. */
export interface RedactionRules {
  /**
   * Subtrees hidden as a whole, structure included (a Terraform output or variable marked
   * `sensitive: true`: its `value` / `default`).
   */
  readonly opaque?: readonly KeyPath[];
  /**
   * Maps whose entries are all sensitive while their keys are shown (a Kubernetes Secret's
   * `data` and `stringData`).
   */
  readonly sensitiveEntries?: readonly KeyPath[];
  /**
   * Keys that only name or point at secrets in this kind of resource (an ExternalSecret's
   * `secretKey`): the key-name rule does not hide them.
   */
  readonly referenceKeys?: readonly string[];
}

function startsWith(path: readonly PathSegment[], prefix: KeyPath): boolean {
  if (path.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) {
    const seg = path[i];
    if (seg.kind !== 'key' || seg.key !== prefix[i]) return false;
  }
  return true;
}

function isReferenceKey(k: string, path: readonly PathSegment[], i: number, extra: ReadonlySet<string>): boolean {
  if (REFERENCE_KEY.test(k) || NOT_SENSITIVE_KEYS.has(k) || extra.has(k)) return true;
  // A Kubernetes volume (or projected volume source) of type `secret` only points at a Secret.
  if (k === 'secret') {
    for (let j = 0; j < i; j++) {
      const s = path[j];
      if (s.kind === 'key' && (s.key === 'volumes' || s.key === 'sources')) return true;
    }
  }
  return false;
}

/**
 * The key-name rule: walking from the leaf towards the root, the first key that either
 * points at a secret (reference) or names one decides. `{ name: X, value: ... }` and
 * `{ key: X, value: ... }` pairs (Kubernetes `env`, ECS `environment`, Helm `set`, tags)
 * count as a key named X for `value`.
 */
export function sensitiveByKey(path: readonly PathSegment[], referenceKeys: ReadonlySet<string> = new Set()): boolean {
  for (let i = path.length - 1; i >= 0; i--) {
    const seg = path[i];
    if (seg.kind === 'key') {
      if (isReferenceKey(seg.key, path, i, referenceKeys)) return false;
      if (SENSITIVE_KEY.test(seg.key)) return true;
    } else if (seg.kind === 'match' && i === path.length - 2) {
      const next = path[i + 1];
      const name = seg.by.find(([f]) => f === 'name' || f === 'key')?.[1];
      if (next.kind === 'key' && next.key === 'value' && name !== undefined && (SENSITIVE_KEY.test(name) || SECRET_ENV_NAME.test(name))) return true;
    }
  }
  return false;
}

/** Decides, for one resource, which values must not be shown. */
export class Redactor {
  /** A redactor with the key-name rule only. */
  public static readonly DEFAULT = new Redactor([]);

  private readonly opaque: KeyPath[];
  private readonly entries: KeyPath[];
  private readonly referenceKeys: ReadonlySet<string>;

  /** Combines the rules of both sides of a resource: a value sensitive on either side is hidden on both. */
  constructor(rules: readonly (RedactionRules | undefined)[]) {
    this.opaque = rules.flatMap((r) => r?.opaque ?? []);
    this.entries = rules.flatMap((r) => r?.sensitiveEntries ?? []);
    // A key counts as a reference only when both sides say so.
    const sets = rules.map((r) => new Set(r?.referenceKeys ?? []));
    this.referenceKeys = new Set(sets.length === 0 ? [] : [...sets[0]].filter((k) => sets.every((x) => x.has(k))));
  }

  /** True when the value at `path` must be hidden as a whole, structure included. */
  public isOpaque(path: readonly PathSegment[]): boolean {
    return this.opaque.some((p) => startsWith(path, p));
  }

  /** True when the leaf `value` at `path` must not be shown. */
  public isSensitiveLeaf(path: readonly PathSegment[], value: JsonValue | undefined): boolean {
    if (this.isOpaque(path)) return true;
    if (this.entries.some((p) => path.length > p.length && startsWith(path, p))) return true;
    // A boolean is a setting (`automountServiceAccountToken: false`), never a secret.
    if (typeof value === 'boolean' || value === undefined) return false;
    if (typeof value === 'string' && SECRET_VALUE.test(value)) return true;
    if (Array.isArray(value) && value.some((v) => typeof v === 'string' && SECRET_VALUE.test(v))) return true;
    return sensitiveByKey(path, this.referenceKeys);
  }
}

const PEM_PRIVATE_KEY = /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g;
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^/\s:@]*:)([^@\s/]+)@/gi;
const KEY_VALUE_LINE = /^(\s*(?:export\s+|-\s+)?["']?)([A-Za-z0-9_.-]+)(["']?\s*[:=]\s*)(\S.*)$/;
const HEADER_LINE = /^(\s*(?:Authorization|Proxy-Authorization)\s*:\s*)(\S.*)$/i;

function scrubPem(s: string, replacement: (block: string, k: number) => string): string {
  let k = 0;
  return s.replace(PEM_PRIVATE_KEY, (m, kind: string) => `-----BEGIN ${kind}PRIVATE KEY----- ${replacement(m, k++)}`);
}

/** The line-local rules: passwords in URLs, `Authorization:` headers, `key: value` / `KEY=value` lines. */
function scrubLine(line: string): string {
  let out = line.replace(URL_PASSWORD, (_m, head: string) => `${head}${SENSITIVE_VALUE}@`);
  out = out.replace(HEADER_LINE, (_m, head: string) => `${head}${SENSITIVE_VALUE}`);
  out = out.replace(new RegExp(SECRET_VALUE.source, 'g'), SENSITIVE_VALUE);
  return out.replace(KEY_VALUE_LINE, (m, pre: string, k: string, sep: string, v: string) => {
    if (!(SENSITIVE_KEY.test(k) || SECRET_ENV_NAME.test(k)) || REFERENCE_KEY.test(k) || /^(?:true|false)\b/i.test(v) || v.startsWith(SENSITIVE_VALUE)) return m;
    return `${pre}${k}${sep}${SENSITIVE_VALUE}`;
  });
}

/**
 * Hides secrets embedded in a string that is shown: private keys in PEM form, passwords in
 * URLs (`postgres://user:...@host`), `Authorization:` headers, `KEY=value` / `key: value`
 * lines whose key is sensitive (a config file held in a ConfigMap, Helm values in Terraform).
 */
export function scrubString(s: string): string {
  return scrubPem(s, () => SENSITIVE_VALUE).split('\n').map(scrubLine).join('\n');
}

/**
 * {@link scrubString} on both sides of a changed text, keeping the fact that a hidden value
 * changed: a line whose secret changed (and nothing else) shows `(sensitive value changed)`
 * on the after side, so the line diff still shows it.
 */
export function scrubPair(before: string, after: string): [string, string] {
  const pemBefore = before.match(PEM_PRIVATE_KEY) ?? [];
  const a = scrubPem(before, () => SENSITIVE_VALUE);
  const b = scrubPem(after, (block, k) => (block === pemBefore[k] ? SENSITIVE_VALUE : SENSITIVE_CHANGED));
  const ops = alignLines(a, b);
  const linesA: string[] = [];
  const linesB: string[] = [];
  let minus: string[] = [];
  let plus: string[] = [];
  const flush = (): void => {
    plus.forEach((raw, k) => {
      const shown = scrubLine(raw);
      const was = minus[k];
      linesB.push(was !== undefined && was !== raw && scrubLine(was) === shown ? shown.split(SENSITIVE_VALUE).join(SENSITIVE_CHANGED) : shown);
    });
    minus = [];
    plus = [];
  };
  for (const op of ops) {
    if (op.op === ' ') {
      flush();
      linesA.push(scrubLine(op.text));
      linesB.push(scrubLine(op.text));
    } else if (op.op === '-') {
      minus.push(op.text);
      linesA.push(scrubLine(op.text));
    } else if (op.op === '+') {
      plus.push(op.text);
    }
  }
  flush();
  const end = (raw: string, lines: string[]): string => (lines.length === 0 ? '' : `${lines.join('\n')}${raw.endsWith('\n') ? '\n' : ''}`);
  return [end(before, linesA), end(after, linesB)];
}
