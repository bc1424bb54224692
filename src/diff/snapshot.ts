import { createHash } from 'node:crypto';
import * as YAML from 'yaml';
import { compareStrings, isObject, matchFields, matchLabel } from './compare';
import { RedactionRules } from './sensitive';
import { DistFiles, JsonObject, JsonValue, Plane } from './types';
import { InputError, describeValue } from '../runtime/errors';

/** The pseudo-environment that holds files lying directly in the dist root. */
export const ROOT_ENVIRONMENT = '(root)';

/** One resource of a plane, as read from a dist tree. */
export interface SnapshotItem {
  /** Identity within the environment and plane (see {@link ResourceDiff.id}). */
  readonly id: string;
  /** Kind of resource (see {@link ResourceDiff.type}). */
  readonly type: string;
  /** The file it was read from, relative to the dist root. */
  readonly file: string;
  /** Its content (Terraform `//` comments removed). */
  readonly value: JsonValue;
  /** What must never be shown, beyond the key-name rule. */
  readonly redaction?: RedactionRules;
  /** Terraform: a managed resource (counted in "to add / to change / to destroy"). */
  readonly managed?: boolean;
}

/** The resources of one environment, per plane present in it. */
export interface EnvironmentSnapshot {
  readonly name: string;
  readonly planes: ReadonlyMap<Plane, ReadonlyMap<string, SnapshotItem>>;
}

/** A parsed dist tree. */
export interface DistSnapshot {
  /** What it is (e.g. `origin/main:dist`), used in messages and in the rendered diff. */
  readonly label: string;
  readonly environments: ReadonlyMap<string, EnvironmentSnapshot>;
}

/**
 * Paths of a dist tree that are never compared: anything under a folder or file whose name
 * starts with `.` (`.terraform/` provider plugins, `.gitkeep`), Terraform state and plans
 * (`*.tfstate`, `*.tfstate.backup`, `*.tfplan`: they hold secrets and are not synthesized).
 */
export function isIgnoredDistPath(rel: string): boolean {
  const parts = rel.split('/');
  if (parts.some((p) => p.startsWith('.'))) return true;
  const base = parts[parts.length - 1];
  return /\.tfstate(\.backup)?$|\.tfplan$/.test(base);
}

function planeOf(rest: string): Plane {
  if (/^terraform\/(.+\/)?[^/]+\.tf\.json$/.test(rest)) return 'terraform';
  if (/^k8s\/(.+\/)?[^/]+\.ya?ml$/.test(rest)) return 'kubernetes';
  if (rest === 'platform.json') return 'inventory';
  return 'files';
}

class Builder {
  public readonly planes = new Map<Plane, Map<string, SnapshotItem>>();
  constructor(private readonly label: string) {}

  public plane(p: Plane): Map<string, SnapshotItem> {
    let m = this.planes.get(p);
    if (!m) this.planes.set(p, (m = new Map()));
    return m;
  }

  public add(p: Plane, item: SnapshotItem): void {
    const m = this.plane(p);
    const prev = m.get(item.id);
    if (prev) {
      throw new InputError(`${this.label}/${item.file}`, `${p} resource '${item.id}' is defined twice (also in ${this.label}/${prev.file}); expected each resource once per environment`);
    }
    m.set(item.id, item);
  }
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function text(label: string, file: string, bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw new InputError(`${label}/${file}`, 'is not valid UTF-8 text; expected a text file');
  }
}

/** Removes Terraform JSON comments (`"//"` keys: cdktf's construct metadata), recursively. */
function stripComments(v: JsonValue): JsonValue {
  if (Array.isArray(v)) return v.map(stripComments);
  if (isObject(v)) {
    const out: JsonObject = {};
    for (const k of Object.keys(v)) if (k !== '//') out[k] = stripComments(v[k]);
    return out;
  }
  return v;
}

/**
 * Attributes that the providers mark sensitive and whose names do not say so (the key-name
 * rule covers `password`, `auth_token`, `secret_string`, `private_key`, ...).
 */
function terraformRedaction(type: string, cfg: JsonValue): RedactionRules | undefined {
  switch (type) {
    case 'aws_ssm_parameter':
      return { opaque: [['value']] };
    case 'kubernetes_secret':
    case 'kubernetes_secret_v1':
      return { sensitiveEntries: [['data'], ['binary_data']] };
    case 'kubernetes_manifest':
      if (isObject(cfg) && isObject(cfg.manifest) && cfg.manifest.kind === 'Secret') {
        return { sensitiveEntries: [['manifest', 'data'], ['manifest', 'stringData']] };
      }
      return undefined;
    default:
      return undefined;
  }
}

function parseTerraform(b: Builder, label: string, env: string, rest: string, bytes: Uint8Array): void {
  const file = `${env}/${rest}`;
  let doc: JsonValue;
  try {
    doc = JSON.parse(text(label, file, bytes)) as JsonValue;
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`${label}/${file}`, `is not valid JSON (${(e as Error).message}); expected Terraform JSON`);
  }
  if (!isObject(doc)) throw new InputError(`${label}/${file}`, `holds ${describeValue(doc)}; expected a Terraform JSON object`);
  doc = stripComments(doc) as JsonObject;
  b.plane('terraform');
  // A tf.json file below terraform/<dir>/ is its own root module: prefix its addresses.
  const dir = rest.replace(/^terraform\//, '').split('/').slice(0, -1).join('/');
  const prefix = dir ? `${dir}/` : '';
  const add = (id: string, type: string, value: JsonValue, extra: Partial<SnapshotItem> = {}): void =>
    b.add('terraform', { id: prefix + id, type, file, value, ...extra });
  const entries = (block: string, v: JsonValue): [string, JsonValue][] => {
    if (!isObject(v)) throw new InputError(`${label}/${file}`, `'${block}' is ${describeValue(v)}; expected an object of ${block} blocks`);
    return Object.entries(v);
  };

  for (const [block, v] of Object.entries(doc).sort(([x], [y]) => compareStrings(x, y))) {
    switch (block) {
      case 'resource':
      case 'data':
        for (const [rtype, byName] of entries(block, v)) {
          for (const [name, cfg] of entries(`${block}.${rtype}`, byName)) {
            const addr = block === 'data' ? `data.${rtype}.${name}` : `${rtype}.${name}`;
            const redaction = block === 'resource' ? terraformRedaction(rtype, cfg) : undefined;
            add(addr, `${block}:${rtype}`, cfg, { ...(block === 'resource' ? { managed: true } : {}), ...(redaction ? { redaction } : {}) });
          }
        }
        break;
      case 'output':
        for (const [name, cfg] of entries(block, v)) {
          add(`output.${name}`, 'output', cfg, isObject(cfg) && cfg.sensitive === true ? { redaction: { opaque: [['value']] } } : {});
        }
        break;
      case 'variable':
        for (const [name, cfg] of entries(block, v)) {
          add(`var.${name}`, 'variable', cfg, isObject(cfg) && cfg.sensitive === true ? { redaction: { opaque: [['default']] } } : {});
        }
        break;
      case 'locals':
        for (const [name, val] of entries(block, v)) add(`local.${name}`, 'locals', val);
        break;
      case 'module':
        for (const [name, cfg] of entries(block, v)) add(`module.${name}`, 'module', cfg);
        break;
      case 'provider':
        for (const [name, cfg] of entries(block, v)) {
          const configs = Array.isArray(cfg) ? cfg : [cfg];
          configs.forEach((c, i) => {
            const alias = isObject(c) && typeof c.alias === 'string' ? c.alias : undefined;
            const id = alias ? `provider.${name}.${alias}` : configs.length > 1 && i > 0 ? `provider.${name}[${i}]` : `provider.${name}`;
            add(id, 'provider', c);
          });
        }
        break;
      case 'terraform':
        add('terraform', 'terraform', v);
        break;
      default:
        // moved / import / check / removed blocks, or whatever Terraform adds next.
        if (Array.isArray(v)) {v.forEach((c, i) => add(`${block}[${i}]`, block, c));} else if (isObject(v) && Object.values(v).every(isObject) && Object.keys(v).length > 0) {
          for (const [name, cfg] of Object.entries(v)) add(`${block}.${name}`, block, cfg);
        } else {add(block, block, v);}
    }
  }
}

/** Turns what the YAML parser gives into plain JSON values, or names what is not. */
function toJson(v: unknown, where: () => string): JsonValue {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new InputError(where(), `holds the number ${v}; expected JSON-compatible values`);
    return v;
  }
  if (Array.isArray(v)) return v.map((x) => toJson(x, where));
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = toJson(x, where);
    return out;
  }
  throw new InputError(where(), `holds a ${Object.prototype.toString.call(v)}; expected JSON-compatible values (maps with string keys, lists, scalars)`);
}

function kubernetesItem(doc: JsonValue, where: string): { id: string; type: string; redaction?: RedactionRules } {
  if (!isObject(doc)) throw new InputError(where, `is ${describeValue(doc)}; expected a Kubernetes object`);
  const { apiVersion, kind, metadata } = doc;
  if (typeof apiVersion !== 'string' || apiVersion === '') throw new InputError(where, `has apiVersion ${describeValue(apiVersion)}; expected a string such as "apps/v1"`);
  if (typeof kind !== 'string' || kind === '') throw new InputError(where, `has kind ${describeValue(kind)}; expected a string such as "Deployment"`);
  if (!isObject(metadata) || typeof metadata.name !== 'string' || metadata.name === '') {
    throw new InputError(where, `(${kind}) has metadata.name ${describeValue(isObject(metadata) ? metadata.name : metadata)}; expected a non-empty name`);
  }
  const ns = typeof metadata.namespace === 'string' ? metadata.namespace : '';
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.lastIndexOf('/')) : '';
  const type = group ? `${group}/${kind}` : kind;
  let redaction: RedactionRules | undefined;
  if (group === '' && kind === 'Secret') redaction = { sensitiveEntries: [['data'], ['stringData']] };
  if (group === 'bitnami.com' && kind === 'SealedSecret') redaction = { sensitiveEntries: [['spec', 'encryptedData']] };
  // External Secrets objects name the secrets they fetch; they hold none.
  if (group === 'external-secrets.io' && /^(Cluster)?ExternalSecret$|^PushSecret$/.test(kind)) redaction = { referenceKeys: ['secretKey', 'secretStoreRef'] };
  return { id: `${type} ${ns ? `${ns}/` : ''}${metadata.name}`, type, ...(redaction ? { redaction } : {}) };
}

function parseKubernetes(b: Builder, label: string, env: string, rest: string, bytes: Uint8Array): void {
  const file = `${env}/${rest}`;
  const docs = YAML.parseAllDocuments(text(label, file, bytes), { prettyErrors: true });
  b.plane('kubernetes');
  const list = Array.isArray(docs) ? docs : [];
  list.forEach((doc, i) => {
    const where = `${label}/${file} (document ${i + 1})`;
    if (doc.errors.length > 0) throw new InputError(where, `is not valid YAML: ${doc.errors[0].message}`);
    const raw = toJson(doc.toJS({ maxAliasCount: 1000 }), () => where);
    if (raw === null) return; // an empty document (`---` at the end of a file)
    const objs = isObject(raw) && raw.kind === 'List' && Array.isArray(raw.items) ? raw.items : [raw];
    objs.forEach((obj, j) => {
      const w = objs.length > 1 || obj !== raw ? `${where} item ${j + 1}` : where;
      const { id, type, redaction } = kubernetesItem(obj, w);
      b.add('kubernetes', { id, type, file, value: obj, ...(redaction ? { redaction } : {}) });
    });
  });
}

function parseInventory(b: Builder, label: string, env: string, rest: string, bytes: Uint8Array): void {
  const file = `${env}/${rest}`;
  let doc: JsonValue;
  try {
    doc = JSON.parse(text(label, file, bytes)) as JsonValue;
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`${label}/${file}`, `is not valid JSON (${(e as Error).message}); expected the platform inventory`);
  }
  if (!isObject(doc)) throw new InputError(`${label}/${file}`, `holds ${describeValue(doc)}; expected a JSON object`);
  b.plane('inventory');
  for (const [section, v] of Object.entries(doc)) {
    // A list of identifiable entries, or a map of entries, is one resource per entry.
    if (Array.isArray(v) && v.length > 0 && v.every(isObject)) {
      const fields = matchFields([v]);
      if (fields) {
        v.forEach((x) => b.add('inventory', { id: `${section}/${matchLabel(x, fields)}`, type: section, file, value: x }));
        continue;
      }
    }
    if ((Array.isArray(v) || isObject(v)) && Object.keys(v).length === 0) continue;
    if (isObject(v) && Object.values(v).every(isObject)) {
      for (const [name, x] of Object.entries(v)) b.add('inventory', { id: `${section}/${name}`, type: section, file, value: x });
      continue;
    }
    b.add('inventory', { id: section, type: section, file, value: v });
  }
}

/**
 * Reads a dist tree: `<env>/terraform/**\/*.tf.json`, `<env>/k8s/**\/*.y(a)ml`,
 * `<env>/platform.json`; every other file is compared by content. Paths that
 * {@link isIgnoredDistPath} names are skipped. Pure: no I/O.
 *
 * @param files the tree's files (path relative to the dist root, POSIX separators)
 * @param label what the tree is, for messages (`dist`, `origin/main:dist`)
 * @throws InputError naming the file (and document) that cannot be read, or a resource
 *   defined twice in one environment
 */
export function parseDist(files: DistFiles, label: string): DistSnapshot {
  const builders = new Map<string, Builder>();
  for (const path of [...files.keys()].sort(compareStrings)) {
    if (isIgnoredDistPath(path)) continue;
    const slash = path.indexOf('/');
    const env = slash < 0 ? ROOT_ENVIRONMENT : path.slice(0, slash);
    const rest = slash < 0 ? path : path.slice(slash + 1);
    let b = builders.get(env);
    if (!b) builders.set(env, (b = new Builder(label)));
    const bytes = files.get(path)!;
    const plane = env === ROOT_ENVIRONMENT ? 'files' : planeOf(rest);
    switch (plane) {
      case 'terraform':
        parseTerraform(b, label, env, rest, bytes);
        break;
      case 'kubernetes':
        parseKubernetes(b, label, env, rest, bytes);
        break;
      case 'inventory':
        parseInventory(b, label, env, rest, bytes);
        break;
      case 'files':
        b.add('files', {
          id: env === ROOT_ENVIRONMENT ? path : rest,
          type: 'file',
          file: path,
          value: { bytes: bytes.byteLength, sha256: createHash('sha256').update(bytes).digest('hex') },
        });
        break;
    }
  }
  const environments = new Map<string, EnvironmentSnapshot>();
  for (const [name, b] of [...builders].sort(([x], [y]) => compareStrings(x, y))) environments.set(name, { name, planes: b.planes });
  return { label, environments };
}
