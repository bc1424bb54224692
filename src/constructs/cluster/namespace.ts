import { Construct } from 'constructs';
import { k8s, Lazy } from './k8s';
import { formatCpu, formatMemory, parseQuantity } from './quantity';

/**
 * Compute a namespace may use in total (ResourceQuota). A field left unset is the default or
 * what the namespace's workloads claim at their peak (`PlatformNamespace.claimCompute`: an
 * endpoint at maxReplicas during a rollout), whichever is more, so an autoscaler can always
 * reach its maximum; a field set is checked: synthesis fails when the claims exceed it.
 */
export interface NamespaceQuota {
  /** @default '16' */
  readonly requestsCpu?: string;
  /** @default '64Gi' */
  readonly requestsMemory?: string;
  /** @default '32' */
  readonly limitsCpu?: string;
  /** @default '128Gi' */
  readonly limitsMemory?: string;
  /** @default 100 */
  readonly pods?: number;
  /**
   * GPUs (`requests.nvidia.com/gpu`). When unset, the quota holds what the namespace's GPU
   * workloads claim (`PlatformNamespace.claimGpus`: the GPU endpoints of the serving namespace,
   * at their rollout peak), and no GPU field when none does (training: GPU admission is Kueue's
   * job). When set, synthesis fails if the claims exceed it.
   * @default - the sum of the claims, or no GPU field without claims
   */
  readonly gpus?: number;
}

/** Compute a workload may hold at once: CPU in cores, memory in bytes, and pods. */
export interface ComputeClaim {
  readonly requestsCpu: number;
  readonly requestsMemory: number;
  readonly limitsCpu: number;
  readonly limitsMemory: number;
  readonly pods: number;
}

/** Per-container defaults applied by the namespace's LimitRange. */
export interface ContainerDefaults {
  /** @default '100m' */
  readonly defaultRequestCpu?: string;
  /** @default '256Mi' */
  readonly defaultRequestMemory?: string;
  /** @default '1' */
  readonly defaultLimitCpu?: string;
  /** @default '1Gi' */
  readonly defaultLimitMemory?: string;
}

export interface PlatformNamespaceProps {
  readonly name: string;
  readonly labels: Record<string, string>;
  /** Kubernetes minor version, for the Pod Security admission version label. */
  readonly kubernetesVersion: string;
  readonly quota?: NamespaceQuota;
  readonly containerDefaults?: ContainerDefaults;
}

/**
 * A namespace of the platform with its guard rails: Pod Security `restricted` enforced,
 * a default-deny NetworkPolicy (ingress and egress) with DNS egress allowed, a ResourceQuota
 * and a LimitRange that gives every container requests and limits.
 * Workloads open exactly the traffic they need with their own NetworkPolicies.
 */
export class PlatformNamespace extends Construct {
  public readonly name: string;
  /** The `gpus` of the quota as given, or undefined (sized from the claims). */
  public readonly quotaGpus?: number;
  private readonly gpuClaims: { readonly owner: string; readonly gpus: number }[] = [];
  private readonly computeClaims: { readonly owner: string; readonly compute: ComputeClaim }[] = [];

  constructor(scope: Construct, id: string, props: PlatformNamespaceProps) {
    super(scope, id);
    this.name = props.name;
    const q = props.quota ?? {};
    this.quotaGpus = q.gpus;
    const d = props.containerDefaults ?? {};
    new k8s.KubeNamespace(this, 'namespace', {
      metadata: {
        name: props.name,
        labels: {
          ...props.labels,
          'pod-security.kubernetes.io/enforce': 'restricted',
          'pod-security.kubernetes.io/enforce-version': `v${props.kubernetesVersion}`,
          'pod-security.kubernetes.io/audit': 'restricted',
          'pod-security.kubernetes.io/warn': 'restricted',
        },
      },
    });
    new k8s.KubeNetworkPolicy(this, 'default-deny', {
      metadata: { name: 'default-deny', namespace: props.name, labels: props.labels },
      spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
    });
    new k8s.KubeNetworkPolicy(this, 'allow-dns', {
      metadata: { name: 'allow-dns-egress', namespace: props.name, labels: props.labels },
      spec: {
        podSelector: {},
        policyTypes: ['Egress'],
        egress: [{
          to: [{
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
            podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
          }],
          ports: [
            { protocol: 'UDP', port: k8s.IntOrString.fromNumber(53) },
            { protocol: 'TCP', port: k8s.IntOrString.fromNumber(53) },
          ],
        }],
      },
    });
    // Each compute field: pinned (checked against the claims) or max(default, claims).
    const fields: { key: string; claim: keyof ComputeClaim; prop: keyof NamespaceQuota; given?: string | number; dflt: string | number; format: (n: number) => string | number }[] = [
      { key: 'requests.cpu', claim: 'requestsCpu', prop: 'requestsCpu', given: q.requestsCpu, dflt: '16', format: formatCpu },
      { key: 'requests.memory', claim: 'requestsMemory', prop: 'requestsMemory', given: q.requestsMemory, dflt: '64Gi', format: formatMemory },
      { key: 'limits.cpu', claim: 'limitsCpu', prop: 'limitsCpu', given: q.limitsCpu, dflt: '32', format: formatCpu },
      { key: 'limits.memory', claim: 'limitsMemory', prop: 'limitsMemory', given: q.limitsMemory, dflt: '128Gi', format: formatMemory },
      { key: 'pods', claim: 'pods', prop: 'pods', given: q.pods, dflt: 100, format: (n) => n },
    ];
    const asQuantity = (v: string | number) => (typeof v === 'number' ? k8s.Quantity.fromNumber(v) : k8s.Quantity.fromString(v));
    const valueOf = (v: string | number) => (typeof v === 'number' ? v : parseQuantity(v) ?? Number.NaN);
    const hard: Record<string, k8s.Quantity> = {};
    for (const f of fields) {
      hard[f.key] = f.given !== undefined
        ? asQuantity(f.given)
        : Lazy.any({
          produce: () => {
            const claimed = this.claimed(f.claim);
            return asQuantity(claimed > valueOf(f.dflt) ? f.format(claimed) : f.dflt);
          },
        }) as unknown as k8s.Quantity;
    }
    this.node.addValidation({
      validate: () => fields.flatMap((f) => {
        if (f.given === undefined) return [];
        const limit = valueOf(f.given);
        const claimed = this.claimed(f.claim);
        if (Number.isNaN(limit)) return [`the ResourceQuota of namespace '${this.name}': '${f.prop}' (${JSON.stringify(f.given)}) must be a Kubernetes quantity like '16' or '64Gi'`];
        if (claimed <= limit) return [];
        const who = this.computeClaims.map((c) => `${c.owner}: ${f.format(c.compute[f.claim])}`).join(', ');
        return [`the ResourceQuota of namespace '${this.name}' admits ${f.key} ${f.given} (namespaceQuotas '${f.prop}') but its workloads need ${f.format(claimed)} at their peak (${who}): `
          + `raise it to at least ${f.format(claimed)}, or leave it unset to size it from the workloads, or the autoscalers stop below their maximum`];
      }),
    });
    // Unset: the sum of the claims, known once every workload is in the tree (absent without claims).
    hard['requests.nvidia.com/gpu'] = q.gpus !== undefined
      ? k8s.Quantity.fromNumber(q.gpus)
      : Lazy.any({ produce: () => (this.claimedGpus > 0 ? k8s.Quantity.fromNumber(this.claimedGpus) : undefined) }) as unknown as k8s.Quantity;
    this.node.addValidation({
      validate: () => {
        if (q.gpus === undefined || this.claimedGpus <= q.gpus) return [];
        const who = this.gpuClaims.map((c) => `${c.owner}: ${c.gpus}`).join(', ');
        return [`the ResourceQuota of namespace '${this.name}' admits ${q.gpus} GPU(s) (requests.nvidia.com/gpu, from namespaceQuotas) but its GPU workloads need ${this.claimedGpus} at their peak (${who}): raise that quota's 'gpus' to at least ${this.claimedGpus}, or leave it unset to size it from the workloads`];
      },
    });
    new k8s.KubeResourceQuota(this, 'quota', {
      metadata: { name: 'compute', namespace: props.name, labels: props.labels },
      spec: { hard },
    });
    new k8s.KubeLimitRange(this, 'limits', {
      metadata: { name: 'container-defaults', namespace: props.name, labels: props.labels },
      spec: {
        limits: [{
          type: 'Container',
          defaultRequest: {
            cpu: k8s.Quantity.fromString(d.defaultRequestCpu ?? '100m'),
            memory: k8s.Quantity.fromString(d.defaultRequestMemory ?? '256Mi'),
          },
          default: {
            cpu: k8s.Quantity.fromString(d.defaultLimitCpu ?? '1'),
            memory: k8s.Quantity.fromString(d.defaultLimitMemory ?? '1Gi'),
          },
        }],
      },
    });
  }

  /**
   * Records that `owner` may request up to `gpus` GPUs in this namespace at once (for an endpoint:
   * GPUs per pod x its most pods during a rollout). The quota's `requests.nvidia.com/gpu` is their
   * sum unless the platform pins it.
   */
  public claimGpus(owner: string, gpus: number): void {
    if (gpus > 0) this.gpuClaims.push({ owner, gpus });
  }

  /**
   * Records that `owner` may request this much compute in the namespace at once (an endpoint at
   * its rollout peak): the quota's unset compute fields grow to hold the claims, set ones are
   * checked against them.
   */
  public claimCompute(owner: string, compute: ComputeClaim): void {
    this.computeClaims.push({ owner, compute });
  }

  /** The sum of one field of the compute claims. */
  public claimed(field: keyof ComputeClaim): number {
    return this.computeClaims.reduce((a, c) => a + c.compute[field], 0);
  }

  /** GPUs claimed in this namespace, in total. */
  public get claimedGpus(): number {
    return this.gpuClaims.reduce((a, c) => a + c.gpus, 0);
  }
}
