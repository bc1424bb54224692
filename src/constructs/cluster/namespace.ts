import { Construct } from 'constructs';
import { k8s } from './k8s';

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
   * GPUs (`requests.nvidia.com/gpu`).
   * @default - no GPU quota object field (GPU admission is Kueue's job)
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

  constructor(scope: Construct, id: string, props: PlatformNamespaceProps) {
    super(scope, id);
    this.name = props.name;
    const q = props.quota ?? {};
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
    if (q.gpus !== undefined) hard['requests.nvidia.com/gpu'] = k8s.Quantity.fromNumber(q.gpus);
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
}
