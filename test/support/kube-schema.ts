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
  try {
    new Model(servedAs(o)).validate();
  } catch (e) {
    throw new Error(`${describe(o)} is invalid: ${(e as Error).message}`);
  }
}

/** Validates every object in order; the first invalid one throws, named. Returns the count. */
export function validateAll(objects: readonly Obj[]): number {
  for (const o of objects) validateObject(o);
  return objects.length;
}
