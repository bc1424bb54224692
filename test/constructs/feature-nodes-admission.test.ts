import { evaluate } from '@marcbachmann/cel-js';
import { fraudStore, obj, synthesize } from './feature-store.fixtures';
import { validateObject } from '../support/kube-schema';

/**
 * The two ValidatingAdmissionPolicies that keep every pod but the feature workloads off the
 * feature nodes (whose security group is the only one the Redis online store admits), evaluated
 * the way the API server evaluates them: matchConstraints pick the request, every matchCondition
 * must be true for the policy to apply, the binding's paramRef selects the params (Nodes of the
 * pool, each evaluated, all must pass; none: Allow), and every validation must be true. CEL runs
 * on @marcbachmann/cel-js; no cluster runs here. The pods of the feature workloads are the ones
 * the FeatureStore synthesizes; the nodes carry the labels the Terraform node group gives them.
 */

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

const f = fraudStore();
const x = synthesize(f.platform);
const policies = x.features.filter((o) => o.kind === 'ValidatingAdmissionPolicy') as Obj[];
const bindings = x.features.filter((o) => o.kind === 'ValidatingAdmissionPolicyBinding') as Obj[];
const tolerationPolicy = policies.find((p) => p.metadata.name.endsWith('-tolerations'))!;
const nodeNamePolicy = policies.find((p) => p.metadata.name.endsWith('-node-name'))!;
const bindingOf = (p: Obj) => bindings.find((b) => b.spec.policyName === p.metadata.name)!;
const nodeGroup = Object.entries(x.tf('aws_eks_node_group')).find(([k]) => k.startsWith('features_'))![1] as Obj;
const NS = 'acme-ml-features';
const serverPod = (): Obj => ({ metadata: { namespace: NS, labels: { app: 'x' } }, spec: clone(obj(x.features, 'Deployment', 'features-server').spec.template.spec) });
const materializerPod = (): Obj => ({
  metadata: { namespace: NS },
  spec: clone((x.features.find((o) => o.kind === 'CronJob') as Obj).spec.jobTemplate.spec.template.spec),
});
/** A pod of another workload (a model endpoint in the serving namespace). */
const foreignPod = (spec: Obj = {}, namespace = 'acme-ml-serving'): Obj => ({
  metadata: { namespace, name: 'intruder' },
  spec: { serviceAccountName: 'fraud', containers: [{ name: 'c', image: 'busybox' }], ...spec },
});
const poolNode = (name: string): Obj => ({ apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { ...nodeGroup.labels, 'kubernetes.io/hostname': name } } });
const otherNode = (name: string): Obj => ({ apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'cdk-mlops.io/pool': 'system', 'kubernetes.io/hostname': name } } });
const NODES = [poolNode('ip-10-0-1-10.eu-west-1.compute.internal'), poolNode('ip-10-0-2-20.eu-west-1.compute.internal'), otherNode('ip-10-0-3-30.eu-west-1.compute.internal')];
const taint = nodeGroup.taint[0] as { key: string; value: string };

interface Decision { matched: boolean; allowed: boolean; messages: string[] }

/** One policy's decision on a pod request. */
function decide(policy: Obj, operation: 'CREATE' | 'UPDATE', pod: Obj, username: string, nodes: Obj[] = NODES): Decision {
  const binding = bindingOf(policy);
  const rule = policy.spec.matchConstraints.resourceRules[0];
  if (!(rule.apiGroups.includes('') && rule.resources.includes('pods') && rule.operations.includes(operation))) return { matched: false, allowed: true, messages: [] };
  const request = { operation, namespace: pod.metadata.namespace, userInfo: { username }, resource: { group: '', version: 'v1', resource: 'pods' } };
  const object = pod;
  for (const c of policy.spec.matchConditions) {
    if (evaluate(c.expression, { request, object }) !== true) return { matched: false, allowed: true, messages: [] };
  }
  let params: (Obj | null)[] = [null];
  if (policy.spec.paramKind) {
    const want = binding.spec.paramRef.selector.matchLabels as Record<string, string>;
    params = nodes.filter((n) => n.kind === policy.spec.paramKind.kind && Object.entries(want).every(([k, v]) => n.metadata.labels?.[k] === v));
    if (params.length === 0) return { matched: true, allowed: binding.spec.paramRef.parameterNotFoundAction === 'Allow', messages: ['no params'] };
  }
  const messages = params.flatMap((p) => policy.spec.validations
    .filter((v: Obj) => evaluate(v.expression, { request, object, params: p }) !== true)
    .map((v: Obj) => v.message as string));
  return { matched: true, allowed: messages.length === 0, messages };
}

/** Both policies, as the API server applies them (any denial denies). */
function admit(pod: Obj, username = 'alice@example.com', operation: 'CREATE' | 'UPDATE' = 'CREATE', nodes: Obj[] = NODES): Decision {
  const ds = [decide(tolerationPolicy, operation, pod, username, nodes), decide(nodeNamePolicy, operation, pod, username, nodes)];
  return { matched: ds.some((d) => d.matched), allowed: ds.every((d) => d.allowed), messages: ds.flatMap((d) => (d.allowed ? [] : d.messages)) };
}

describe('feature nodes admission (ValidatingAdmissionPolicy, admissionregistration.k8s.io/v1)', () => {
  test('two cluster-scoped policies, each with a Deny binding, valid against the Kubernetes schema', () => {
    expect(policies.map((p) => p.metadata.name).sort()).toEqual(['acme-ml-dev-features-features-nodes-node-name', 'acme-ml-dev-features-features-nodes-tolerations']);
    for (const o of [...policies, ...bindings]) {
      expect(o.apiVersion).toBe('admissionregistration.k8s.io/v1');
      expect(o.metadata.namespace).toBeUndefined();
      validateObject(o as Parameters<typeof validateObject>[0]);
    }
    for (const p of policies) {
      expect(p.spec.failurePolicy).toBe('Fail');
      expect(bindingOf(p).spec.validationActions).toEqual(['Deny']);
    }
    expect(tolerationPolicy.spec.matchConstraints.resourceRules[0].operations).toEqual(['CREATE', 'UPDATE']);
    expect(bindingOf(nodeNamePolicy).spec.paramRef).toEqual({ selector: { matchLabels: nodeGroup.labels }, parameterNotFoundAction: 'Allow' });
  });

  test('the feature server and the materialization pods, as synthesized, are admitted (the policies do not apply to them)', () => {
    for (const pod of [serverPod(), materializerPod()]) {
      const d = admit(pod, 'system:serviceaccount:kube-system:replicaset-controller');
      expect(d).toEqual({ matched: false, allowed: true, messages: [] });
    }
    // and they do tolerate the taint and select the pool (else they could not run there)
    expect(serverPod().spec.tolerations).toEqual([{ key: taint.key, operator: 'Equal', value: taint.value, effect: 'NoSchedule' }]);
  });

  test.each([
    ['the taint exactly', [{ key: 'cdk-mlops.io/dedicated', operator: 'Equal', value: 'features-features', effect: 'NoSchedule' }]],
    ['the taint with the default operator', [{ key: 'cdk-mlops.io/dedicated', value: 'features-features' }]],
    ['its key with Exists', [{ key: 'cdk-mlops.io/dedicated', operator: 'Exists' }]],
    ['its key with Exists and effect NoSchedule', [{ key: 'cdk-mlops.io/dedicated', operator: 'Exists', effect: 'NoSchedule' }]],
    ['everything (empty key, Exists)', [{ operator: 'Exists' }]],
    ['everything with an empty key string', [{ key: '', operator: 'Exists', effect: '' }]],
    ['the taint among others', [{ key: 'nvidia.com/gpu', operator: 'Exists' }, { key: 'cdk-mlops.io/dedicated', value: 'features-features', effect: 'NoSchedule' }]],
  ])('another workload tolerating %s is denied, with a message naming the taint and the feature workloads', (_what, tolerations) => {
    const d = admit(foreignPod({ tolerations }));
    expect(d.allowed).toBe(false);
    expect(d.messages).toEqual([expect.stringContaining('may tolerate the taint cdk-mlops.io/dedicated=features-features:NoSchedule')]);
    expect(d.messages[0]).toContain('features-server, features-materializer in namespace acme-ml-features');
  });

  test.each([
    ['no toleration', undefined],
    ['another taint', [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]],
    ['the key with another value', [{ key: 'cdk-mlops.io/dedicated', value: 'features-other' }]],
    ['the taint for NoExecute only', [{ key: 'cdk-mlops.io/dedicated', value: 'features-features', effect: 'NoExecute' }]],
    ['everything for NoExecute only (the usual not-ready toleration)', [{ operator: 'Exists', effect: 'NoExecute' }]],
  ])('another workload with %s is admitted', (_what, tolerations) => {
    expect(admit(foreignPod(tolerations ? { tolerations } : {}))).toMatchObject({ matched: true, allowed: true });
  });

  test('a toleration added to a running pod (UPDATE) is denied too', () => {
    const pod = foreignPod({ tolerations: [{ key: 'cdk-mlops.io/dedicated', operator: 'Exists' }] });
    expect(admit(pod, 'alice@example.com', 'UPDATE').allowed).toBe(false);
  });

  test('in the features namespace, only the two ServiceAccounts of the feature workloads are exempt', () => {
    const tolerations = serverPod().spec.tolerations;
    expect(admit(foreignPod({ tolerations, serviceAccountName: 'default' }, NS)).allowed).toBe(false);
    expect(admit(foreignPod({ tolerations }, NS)).allowed).toBe(false);
    // no serviceAccountName (the ServiceAccount admission plugin sets 'default' before validation; either way not exempt)
    const noSa = foreignPod({ tolerations }, NS);
    delete noSa.spec.serviceAccountName;
    expect(admit(noSa).allowed).toBe(false);
    // the materializer's ServiceAccount in another namespace is another ServiceAccount
    expect(admit(foreignPod({ tolerations, serviceAccountName: 'features-materializer' }, 'acme-ml-training')).allowed).toBe(false);
    expect(admit(foreignPod({ tolerations, serviceAccountName: 'features-materializer' }, NS)).matched).toBe(false);
  });

  test('spec.nodeName naming a node of the pool is denied at CREATE (skips the scheduler and its taints); other nodes are not', () => {
    const d = admit(foreignPod({ nodeName: 'ip-10-0-2-20.eu-west-1.compute.internal' }));
    expect(d.allowed).toBe(false);
    expect(d.messages).toEqual([expect.stringContaining('may be bound to a node of the pool features-features by spec.nodeName')]);
    expect(admit(foreignPod({ nodeName: 'ip-10-0-3-30.eu-west-1.compute.internal' })).allowed).toBe(true);
    // no node of the pool yet: nothing to be bound to
    expect(admit(foreignPod({ nodeName: 'ip-10-0-2-20.eu-west-1.compute.internal' }), 'alice@example.com', 'CREATE', [NODES[2]]).allowed).toBe(true);
    // the feature workloads themselves may
    expect(admit({ ...serverPod(), spec: { ...serverPod().spec, nodeName: 'ip-10-0-1-10.eu-west-1.compute.internal' } }).allowed).toBe(true);
  });

  test('exempt: kube-system, pods the DaemonSet controller creates (node agents), mirror pods created by kubelets', () => {
    const everything = { tolerations: [{ operator: 'Exists' }] };
    expect(admit(foreignPod(everything, 'kube-system')).matched).toBe(false);
    expect(admit(foreignPod(everything, 'monitoring'), 'system:serviceaccount:kube-system:daemon-set-controller').matched).toBe(false);
    expect(admit(foreignPod({ ...everything, nodeName: 'ip-10-0-1-10.eu-west-1.compute.internal' }, 'monitoring'), 'system:node:ip-10-0-1-10.eu-west-1.compute.internal').matched).toBe(false);
    // but a person or another controller creating the same pod is not
    expect(admit(foreignPod(everything, 'monitoring'), 'system:serviceaccount:kube-system:replicaset-controller').allowed).toBe(false);
    expect(admit(foreignPod(everything, 'monitoring'), 'system:serviceaccount:monitoring:daemon-set-controller').allowed).toBe(false);
  });
});
