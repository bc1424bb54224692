import { Construct } from 'constructs';
import { k8s, Lazy } from './k8s';

/** Compute a namespace may use in total (ResourceQuota). */
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
    const hard: Record<string, k8s.Quantity> = {
      'requests.cpu': k8s.Quantity.fromString(q.requestsCpu ?? '16'),
      'requests.memory': k8s.Quantity.fromString(q.requestsMemory ?? '64Gi'),
      'limits.cpu': k8s.Quantity.fromString(q.limitsCpu ?? '32'),
      'limits.memory': k8s.Quantity.fromString(q.limitsMemory ?? '128Gi'),
      'pods': k8s.Quantity.fromNumber(q.pods ?? 100),
    };
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

  /** GPUs claimed in this namespace, in total. */
  public get claimedGpus(): number {
    return this.gpuClaims.reduce((a, c) => a + c.gpus, 0);
  }
}
