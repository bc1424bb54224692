import * as path from 'node:path';

/**
 * Validates synthesized Kubernetes objects against the Kubernetes OpenAPI schemas
/* for CRDs).
 */

type Obj = { apiVersion: string; kind: string; metadata?: { name?: string; namespace?: string } };

/**
 * Where a CRD's model lives, by API group. `served` maps the version we emit to the version
 * whose schema we validate with, where the model package lags (External Secrets promoted
 * v1beta1 to v1 without schema changes).
 */
const CRD_PACKAGES: Record<string, { pkg: string; served?: Record<string, string> }> = {
  'external-secrets.io': { pkg: '@kubernetes-models/external-secrets', served: { v1: 'v1beta1' } },
  'argoproj.io': { pkg: '@kubernetes-models/argo-rollouts' },
  'gateway.networking.k8s.io': { pkg: '@kubernetes-models/gateway-api' },
  'keda.sh': { pkg: '@kubernetes-models/keda' },
  'monitoring.coreos.com': { pkg: '@kubernetes-models/prometheus-operator' },
};

/** Extra schema sources registered by other tests (e.g. Kueue or Karpenter JSON schemas). */
const extraValidators = new Map<string, (o: unknown) => void>();

/** Registers a validator for `apiVersion/kind` not covered by a model package. */
export function registerValidator(apiVersion: string, kind: string, validate: (o: unknown) => void): void {
  extraValidators.set(`${apiVersion}/${kind}`, validate);
}

/**
 * Strict field validation for the CRD models that carry their JSON schema (Argo Rollouts and
 * Gateway API register it with their own ajv at first use): the models accept unknown fields,
 * the API server does not (it rejects them under strict field validation, and prunes them from
 * custom resources otherwise, so a misspelt field would silently do nothing). The schemas are
 * captured as the models register them; every object schema that lists `properties` is closed
 * unless it says `x-kubernetes-preserve-unknown-fields` or gives `additionalProperties` (an
 * empty `properties` is how the model generator renders preserve-unknown-fields: open).
 */
const capturedSchemas = new Map<string, Record<string, unknown>>();
const hookedPackages = new Set<string>();
const STRICT_PACKAGES = new Set(['@kubernetes-models/argo-rollouts', '@kubernetes-models/gateway-api']);

function captureSchemasOf(pkg: string): void {
  if (hookedPackages.has(pkg)) return;
  hookedPackages.add(pkg);
  const validatePath = require.resolve('@kubernetes-models/validate', { paths: [path.dirname(require.resolve(pkg))] });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const v = require(validatePath) as { register?: (id: string, schema: Record<string, unknown>) => void };
  const register = v.register;
  if (typeof register !== 'function') throw new Error(`${pkg}: its validator has no register() to capture schemas from (${validatePath})`);
  v.register = (id, schema) => {
    capturedSchemas.set(id, schema);
    register(id, schema);
  };
}

type Schema = Record<string, unknown>;

function resolveRef(s: Schema): Schema | undefined {
  if (typeof s.$ref !== 'string') return s;
  return capturedSchemas.get(s.$ref.replace(/#$/, ''));
}

/** Paths of the fields of `data` that `schema` does not declare (`at` is the path so far). */
export function unknownFields(schema: unknown, data: unknown, at: string): string[] {
  if (data === null || typeof data !== 'object' || !schema || typeof schema !== 'object') return [];
  const s = resolveRef(schema as Schema);
  if (!s || s['x-kubernetes-preserve-unknown-fields'] === true) return [];
  const branches = ((s.oneOf ?? s.anyOf) as Schema[] | undefined)?.filter((b) => b.type !== 'null');
  if (branches && branches.length > 0) {
    // the branch the value fits best (a field is unknown only if every branch lacks it)
    const found = branches.map((b) => unknownFields(b, data, at));
    const best = found.reduce((a, b) => (b.length < a.length ? b : a));
    if (best.length > 0 || !s.properties) return best;
  }
  const out: string[] = [];
  for (const b of (s.allOf as Schema[] | undefined) ?? []) out.push(...unknownFields(b, data, at));
  if (Array.isArray(data)) {
    if (s.items) data.forEach((d, i) => out.push(...unknownFields(s.items, d, `${at}[${i}]`)));
    return out;
  }
  let props = s.properties as Record<string, unknown> | undefined;
  // the model generator drops x-kubernetes-preserve-unknown-fields and leaves `properties: {}`
  // (Rollout's trafficRouting.plugins, pod templates, analysis providers' free-form parts): open
  if (props && Object.keys(props).length === 0) props = undefined;
  const extra = s.additionalProperties;
  for (const [k, v] of Object.entries(data as Record<string, unknown>)) {
    if (props && k in props) out.push(...unknownFields(props[k], v, `${at}.${k}`));
    else if (extra && typeof extra === 'object') out.push(...unknownFields(extra, v, `${at}.${k}`));
    else if (props && extra !== true) out.push(`${at}.${k}`);
  }
  return out;
}

/** Throws naming the fields of `o` its captured schema does not declare (a strict CRD package's object). */
export function checkNoUnknownFields(o: Obj, options: { ignore?: RegExp } = {}): void {
  const [group, version] = o.apiVersion.split('/');
  const schema = capturedSchemas.get(`${group}.${version}.${o.kind}`);
  if (!schema) throw new Error(`no captured schema for ${describe(o)}: validate it with its model first`);
  const unknown = unknownFields(schema, { ...o, metadata: undefined }, '').filter((p) => !options.ignore?.test(p));
  if (unknown.length > 0) throw new Error(`unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((p) => p.replace(/^\./, '')).join(', ')} (the API server rejects or drops them)`);
}

/** Makes the strict CRD packages' models hand over their schemas (call before validating with them). */
export function captureStrictSchemas(): void {
  for (const pkg of STRICT_PACKAGES) captureSchemasOf(pkg);
}

function modelPath(o: Obj): string {
  const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
  if (!group) return `kubernetes-models/${version}/${o.kind}`;
  const crd = CRD_PACKAGES[group];
  if (crd) return `${crd.pkg}/${group}/${crd.served?.[version] ?? version}/${o.kind}`;
  return `kubernetes-models/${group}/${version}/${o.kind}`;
}

/** The object as the schema we validate with sees it: its apiVersion mapped where the model package lags (`served`). */
function servedAs(o: Obj): Obj {
  const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
  const served = CRD_PACKAGES[group]?.served?.[version];
  return served ? { ...o, apiVersion: `${group}/${served}` } : o;
}

/** Describes an object for messages: `Kind namespace/name (apiVersion)`. */
export function describe(o: Obj): string {
  return `${o.kind} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name} (${o.apiVersion})`;
}

/**
 * Validates one object; throws an Error naming it and the schema problem, or naming the
 * missing schema (an object we cannot validate is a failure, not a pass).
 */
export function validateObject(o: Obj): void {
  const extra = extraValidators.get(`${o.apiVersion}/${o.kind}`);
  if (extra) {
    try {
      extra(o);
    } catch (e) {
      throw new Error(`${describe(o)} is invalid: ${(e as Error).message}`);
    }
    return;
  }
  const mp = modelPath(o);
  let Model: new (d: unknown) => { validate(): void };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(mp) as Record<string, new (d: unknown) => { validate(): void }>;
    Model = mod[o.kind];
  } catch {
    throw new Error(`no schema for ${describe(o)} (looked for ${mp.split(path.sep).join('/')})`);
  }
  if (!Model) throw new Error(`no schema for ${describe(o)} in ${mp}`);
  const group = o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : '';
  const strict = CRD_PACKAGES[group] && STRICT_PACKAGES.has(CRD_PACKAGES[group].pkg);
  if (strict) captureStrictSchemas();
  try {
    new Model(servedAs(o)).validate();
    if (strict) checkNoUnknownFields(servedAs(o));
  } catch (e) {
    throw new Error(`${describe(o)} is invalid: ${(e as Error).message}`);
  }
}

/** Validates every object in order; the first invalid one throws, named. Returns the count. */
export function validateAll(objects: readonly Obj[]): number {
  for (const o of objects) validateObject(o);
  return objects.length;
}
