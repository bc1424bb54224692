import { PropValidator } from '../errors';
import type { INodePool, NodeToleration } from '../refs';

/**
 * A GPU node pool an endpoint can take its GPUs from: its nodes, its taints and how many GPUs it
 * has. `GpuTrainingPool` is one (a training pool lends GPUs to serving).
 */
export interface IGpuNodePool extends INodePool {
  /** Most GPUs one node of the pool has. */
  readonly maxGpusPerNode: number;
  /** Most GPUs the pool runs at once (Karpenter's NodePool limit, or nodes x GPUs per node). */
  readonly maxGpus: number;
  /** Where the pool's nodes come from: Karpenter, or a managed node group scaled by the Cluster Autoscaler. */
  readonly capacityKind: 'karpenter' | 'managed-node-group';
  /**
   * Records that a workload admitted outside the pool's queues (a GPU endpoint) may hold up to
   * `gpus` of the pool's GPUs at once, so that the queues promise training only the rest.
   * Optional: pools without queues need not implement it.
   */
  reserveGpus?(owner: string, gpus: number): void;
}

/** GPU nodes managed outside this program (an EKS managed node group, a Karpenter NodePool of your own) reserved for inference. */
export interface GpuNodeGroupOptions {
  /** Name of the group, for `platform.json` and messages. */
  readonly name: string;
  /**
   * Labels that select the group's nodes (at least one), e.g.
   * `{ 'eks.amazonaws.com/nodegroup': 'inference-gpu' }` or `{ 'karpenter.sh/nodepool': 'inference' }`.
   * @see https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#nodeselector
   */
  readonly nodeSelector: Record<string, string>;
  /**
   * Taints of the group's nodes that the pods tolerate, e.g. `[{ key: 'nvidia.com/gpu', value: 'true', effect: 'NoSchedule' }]`.
   * @default [] - the group's nodes carry no taint
   * @see https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/
   */
  readonly tolerations?: NodeToleration[];
}

/**
 * Where a GPU endpoint's pods get their GPUs (`ModelEndpointProps.placement`). The pods select
 * the nodes (`nodeSelector`), tolerate their taints and request `nvidia.com/gpu`, which the NVIDIA
 * device plugin on those nodes advertises.
 *
 * ```ts
 * placement: GpuPlacement.pool(gpuTrainingPool)
 * placement: GpuPlacement.nodeGroup({ name: 'inference-gpu', nodeSelector: { 'eks.amazonaws.com/nodegroup': 'inference-gpu' } })
 * ```
 */
export class GpuPlacement {
  /**
   * GPUs of a GPU node pool, typically a `GpuTrainingPool` shared with training. Its nodes scale
   * from zero, so the first pod on an empty pool waits for a node (minutes). The endpoint
   * reserves its peak GPUs in the pool (`IGpuNodePool.reserveGpus`): a GpuTrainingPool's default
   * team quota is what is left, and explicit team quotas that leave too little fail synthesis.
   */
  public static pool(pool: IGpuNodePool): GpuPlacement {
    return new GpuPlacement('pool', pool?.poolName, { ...pool?.nodeSelector }, [...(pool?.tolerations ?? [])], pool);
  }

  /** GPU nodes managed outside this program, reserved for inference. */
  public static nodeGroup(options: GpuNodeGroupOptions): GpuPlacement {
    return new GpuPlacement('node-group', options.name, { ...options.nodeSelector }, [...(options.tolerations ?? [])], undefined);
  }

  private constructor(
    /** `pool` (a GPU node pool of this program) or `node-group` (nodes managed elsewhere). */
    public readonly kind: 'pool' | 'node-group',
    /** Name of the pool or group. */
    public readonly name: string,
    /** What the pods select. */
    public readonly nodeSelector: Readonly<Record<string, string>>,
    /** What the pods tolerate. */
    public readonly tolerations: readonly NodeToleration[],
    /** The pool (kind `pool`). */
    public readonly pool: IGpuNodePool | undefined,
  ) {}

  /** @internal */
  public _validate(v: PropValidator, prop: string): void {
    if (this.kind === 'pool') {
      const p = this.pool;
      if (!p || typeof p.maxGpusPerNode !== 'number' || typeof p.maxGpus !== 'number' || typeof p.poolName !== 'string') {
        v.fail(`${prop}.pool`, p === undefined ? undefined : '(object)', 'must be a GPU node pool (a GpuTrainingPool, or any IGpuNodePool)');
        return;
      }
    } else {
      v.check(typeof this.name === 'string' && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(this.name) && this.name.length <= 63, `${prop}.name`, this.name,
        'must name the node group (DNS-1123 label, at most 63 characters)');
    }
    const entries = Object.entries(this.nodeSelector);
    v.check(entries.length > 0, `${prop}.nodeSelector`, this.nodeSelector,
      'must select the GPU nodes with at least one label (otherwise the pods land on any node that advertises nvidia.com/gpu, including training nodes)');
    for (const [k, val] of entries) {
      v.check(LABEL_KEY.test(k), `${prop}.nodeSelector`, k, 'must use label keys ([prefix/]name, name of at most 63 letters, digits, -, _ or .)');
      v.check(typeof val === 'string' && LABEL_VALUE.test(val), `${prop}.nodeSelector.${k}`, val, 'must be a label value: at most 63 letters, digits, -, _ or .');
    }
    validateTolerations(v, `${prop}.tolerations`, this.tolerations);
  }
}

const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;

/** Checks tolerations as the API server would: operator, key, value and effect. */
export function validateTolerations(v: PropValidator, prop: string, tolerations: readonly NodeToleration[]): void {
  tolerations.forEach((t, i) => {
    const op = t.operator ?? 'Equal';
    v.check(op === 'Equal' || op === 'Exists', `${prop}[${i}].operator`, t.operator, "must be 'Equal' or 'Exists'");
    if (op === 'Equal') v.check(typeof t.key === 'string' && t.key.length > 0, `${prop}[${i}].key`, t.key, "must be a taint key (only operator 'Exists' may leave it unset)");
    else v.check(t.value === undefined, `${prop}[${i}].value`, t.value, "must be unset with operator 'Exists'");
    v.check(t.effect === undefined || ['NoSchedule', 'PreferNoSchedule', 'NoExecute'].includes(t.effect), `${prop}[${i}].effect`, t.effect,
      "must be 'NoSchedule', 'PreferNoSchedule' or 'NoExecute'");
  });
}
