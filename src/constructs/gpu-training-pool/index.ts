import { Construct } from 'constructs';
import { checkGpuFamily, checkGpuInstanceType, GPU_INSTANCE_FAMILIES, gpuInstanceType } from './instance-types';
import { KarpenterController } from './karpenter';
import { compareStrings } from '../../util/compare';
import {
  EksAccessEntry, EksNodeGroup, IamRole, IamRolePolicyAttachment, LaunchTemplate, PlacementGroup, Token,
} from '../cloud/cdktf';
import { ApiObject, k8s, Lazy } from '../cluster/k8s';
import { DNS_1123_LABEL, PropValidator } from '../errors';
import { MlPlatform, PlatformPart } from '../platform';
import type { INodePool } from '../refs';

export { GPU_INSTANCE_FAMILIES } from './instance-types';
export { KARPENTER_INTERRUPTION_EVENTS, KARPENTER_NAMESPACE, KARPENTER_SERVICE_ACCOUNT, KarpenterController, karpenterInterruptionQueueName } from './karpenter';
export type { GpuInstanceFamily, GpuInstanceSize } from './instance-types';

/** How GPU instances are bought. */
export class CapacityType {
  /** On-demand instances. */
  public static readonly ON_DEMAND = new CapacityType('on-demand', []);
  /** Spot instances (interruptible: use for work that checkpoints or can be retried). */
  public static readonly SPOT = new CapacityType('spot', []);

  /**
   * On-Demand Capacity Reservations (ODCR), by id (`cr-...`). Karpenter launches into them
   * (capacity type `reserved`, Karpenter >= 1.3); a managed node group targets one.
   */
  public static reserved(reservationIds: string[]): CapacityType {
    return new CapacityType('reserved', [...reservationIds]);
  }

  /**
   * An EC2 Capacity Block for ML, by the id of its reservation (`cr-...`). Karpenter treats it as
   * a reservation; a managed node group uses capacity type `CAPACITY_BLOCK`.
   */
  public static capacityBlock(reservationId: string): CapacityType {
    return new CapacityType('capacity-block', [reservationId]);
  }

  private constructor(
    /** `on-demand`, `spot`, `reserved` or `capacity-block`. */
    public readonly kind: 'on-demand' | 'spot' | 'reserved' | 'capacity-block',
    /** Reservation ids (reserved and capacity-block only). */
    public readonly reservationIds: readonly string[],
  ) {}
}

/** The GPU-enabled AMI the pool's nodes boot (NVIDIA driver and container toolkit included). */
export class GpuAmiFamily {
  /**
   * Amazon Linux 2023, NVIDIA variant (EKS-optimized accelerated AMI).
   * @param options.version Karpenter alias version (`v20250715`), or `latest`. Pin it in
   *   production: `latest` makes Karpenter replace nodes (drift) on every AMI release.
   *   A managed node group follows its release version, not this. @default 'latest'
   */
  public static al2023Nvidia(options: { readonly version?: string } = {}): GpuAmiFamily {
    return new GpuAmiFamily('al2023', 'AL2023_x86_64_NVIDIA', options.version ?? 'latest');
  }

  /**
   * Bottlerocket, NVIDIA variant: minimal, read-only OS; container data on a second volume.
   * @param options.version Karpenter alias version (`1.42.0`), or `latest`. @default 'latest'
   */
  public static bottlerocketNvidia(options: { readonly version?: string } = {}): GpuAmiFamily {
    return new GpuAmiFamily('bottlerocket', 'BOTTLEROCKET_x86_64_NVIDIA', options.version ?? 'latest');
  }

  private constructor(
    /** Karpenter alias family. */
    public readonly family: 'al2023' | 'bottlerocket',
    /** EKS managed node group AMI type. */
    public readonly amiType: string,
    /** Karpenter alias version. */
    public readonly version: string,
  ) {}

  /** The Karpenter AMI alias (`al2023@latest`). */
  public get alias(): string {
    return `${this.family}@${this.version}`;
  }
}

/** Karpenter capacity (NodePool + EC2NodeClass). */
export interface KarpenterCapacityOptions {
  /**
   * Instance families Karpenter may choose from (`g6`, `g6e`, `p5`, ...). Exclusive with
   * `instanceTypes`.
   * @default ['g5', 'g6', 'g6e'] unless instanceTypes is set
   */
  readonly instanceFamilies?: string[];
  /** Exact instance types (`g6.xlarge`). Exclusive with `instanceFamilies`. @default - families */
  readonly instanceTypes?: string[];
  /**
   * Capacity types, in no order (Karpenter prefers reserved, then spot, then on-demand when
   * several are allowed).
   * @default [CapacityType.ON_DEMAND]
   */
  readonly capacityTypes?: CapacityType[];
  /**
   * Most GPUs the pool may run at once (the NodePool's `nvidia.com/gpu` limit).
   * @default 8
   */
  readonly maxGpus?: number;
  /**
   * How long an empty node stays before Karpenter removes it (Go duration, `10m`). Only empty
   * nodes are consolidated: a running training pod is never moved.
   * @default '10m'
   */
  readonly consolidateAfter?: string;
  /**
   * Nodes are replaced after this long (Go duration or `Never`).
   * @default '720h'
   */
  readonly expireAfter?: string;
}

/** An EKS managed node group (scaled by the Cluster Autoscaler, from zero). */
export interface ManagedNodeGroupCapacityOptions {
  /** Instance types (all should have the same number of GPUs). @default ['g6.xlarge'] */
  readonly instanceTypes?: string[];
  /** @default CapacityType.ON_DEMAND */
  readonly capacityType?: CapacityType;
  /** Largest number of nodes. The group's minimum is 0, so an idle pool costs nothing. @default 4 */
  readonly maxNodes?: number;
}

/** Where the pool's GPU nodes come from. */
export class GpuCapacity {
  /** Karpenter provisions nodes for pending GPU pods and removes them when empty. Needs Karpenter v1 (1.x) in the cluster. */
  public static karpenter(options: KarpenterCapacityOptions = {}): GpuCapacity {
    return new GpuCapacity('karpenter', options, undefined);
  }

  /** An EKS managed node group with min size 0 (scaled by the Cluster Autoscaler). */
  public static managedNodeGroup(options: ManagedNodeGroupCapacityOptions = {}): GpuCapacity {
    return new GpuCapacity('managed-node-group', undefined, options);
  }

  private constructor(
    /** @internal */ public readonly _kind: 'karpenter' | 'managed-node-group',
    /** @internal */ public readonly _karpenter: KarpenterCapacityOptions | undefined,
    /** @internal */ public readonly _nodeGroup: ManagedNodeGroupCapacityOptions | undefined,
  ) {}
}

/** A team's share of the pool (one Kueue ClusterQueue and one LocalQueue). */
export interface TeamQuota {
  /** Team name (DNS-1123 label). Its LocalQueue is `<pool>-<team>`. */
  readonly name: string;
  /** GPUs the team is guaranteed (nominal quota). */
  readonly gpus: number;
  /**
   * GPUs the team may borrow from other teams' unused quota in the pool's cohort.
   * @default - no limit: any unused GPU of the cohort
   */
  readonly borrowingLimitGpus?: number;
  /**
   * GPUs of the team's quota that other teams may borrow while unused.
   * @default - all of it
   */
  readonly lendingLimitGpus?: number;
  /** CPU quota (Kubernetes quantity). @default - 24 per GPU */
  readonly cpu?: string;
  /** Memory quota (Kubernetes quantity). @default - 256Gi per GPU */
  readonly memory?: string;
  /**
   * Namespace whose workloads submit to the team's queue.
   * @default - the platform's training namespace
   */
  readonly namespace?: string;
}

export interface GpuTrainingPoolProps {
  /** @default GpuCapacity.karpenter() */
  readonly capacity?: GpuCapacity;
  /** @default GpuAmiFamily.al2023Nvidia() */
  readonly amiFamily?: GpuAmiFamily;
  /** Node root (AL2023) or data (Bottlerocket) volume, GiB, gp3, encrypted. @default 200 */
  readonly diskSizeGiB?: number;
  /** Extra labels on the pool's nodes. @default {} */
  readonly labels?: Record<string, string>;
  /**
   * Elastic Fabric Adapter for multi-node training: every instance type must support it. A
   * managed node group gets one EFA interface per network card and a cluster placement group
   * in the first private subnet; with Karpenter, pods that request `vpc.amazonaws.com/efa` get
   * EFA interfaces. Either way the EFA device plugin runs on the pool's nodes.
   * @default false
   */
  readonly efa?: boolean;
  /** Attach AmazonSSMManagedInstanceCore to the node role (Session Manager access). @default false */
  readonly enableSsm?: boolean;
  /**
   * GPU quota per team (Kueue). Teams form one cohort and borrow each other's unused GPUs.
   * @default - one team 'default' with the pool's whole capacity
   */
  readonly teams?: TeamQuota[];
  /** Value of the pool's PriorityClass (pods on it never preempt others: Kueue does admission). @default 1000 */
  readonly priority?: number;
  /** NVIDIA device plugin image, pinned. @default 'nvcr.io/nvidia/k8s-device-plugin:v0.17.2' */
  readonly devicePluginImage?: string;
  /** AWS EFA device plugin image, pinned (with `efa`). @default 'public.ecr.aws/eks/aws-efa-k8s-device-plugin:v0.5.6' */
  readonly efaDevicePluginImage?: string;
}

/** The taint every GPU node carries: only pods that tolerate it land there. */
export const GPU_TAINT = { key: 'nvidia.com/gpu', value: 'true', effect: 'NoSchedule' } as const;
/** Node label that names the pool. */
export const POOL_LABEL = 'cdk-mlops.io/pool';
/** The Kueue queue label a Job sets to be admitted through a LocalQueue. */
export const KUEUE_QUEUE_LABEL = 'kueue.x-k8s.io/queue-name';
/** Kueue API version of the objects this pool writes (Kueue >= 0.15). */
export const KUEUE_API_VERSION = 'kueue.x-k8s.io/v1beta2';

const DURATION_RE = /^([0-9]+(s|m|h))+$/;
const QUANTITY_RE = /^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/;
const RESERVATION_RE = /^cr-[0-9a-f]{17}$/;
const IMAGE_PINNED = /^[^\s]+(@sha256:[a-f0-9]{64}|:[A-Za-z0-9_][A-Za-z0-9_.-]*)$/;
const LABEL_KEY_RE = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE_RE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;

/** One gang-scheduling queue of the pool, for a team. */
export interface PoolQueue {
  readonly team: string;
  /** The LocalQueue's name (the value of `kueue.x-k8s.io/queue-name`). */
  readonly localQueue: string;
  readonly namespace: string;
  readonly clusterQueue: string;
}

const gpuNamespaces = new WeakMap<MlPlatform, string>();

/**
 * GPU capacity for training, in both planes.
 *
 * **Cloud plane.** Nodes come from Karpenter (a NodePool and an EC2NodeClass in the cluster
 * plane, a node role and an EKS access entry of type EC2_LINUX in the cloud plane) or from an
 * EKS managed node group with min size 0 (`GpuCapacity.managedNodeGroup`). Either way: only
 * the known NVIDIA instance types, the GPU AMI, IMDSv2 with one hop, encrypted gp3 disks, and
 * the taint `nvidia.com/gpu=true:NoSchedule`, so that nothing but GPU work lands there. The
 * node role has the worker-node, ECR pull-only and CNI managed policies (SSM core optional).
 *
 * **Cluster plane** (chart `training`): the NVIDIA device plugin DaemonSet on the pool's nodes
 * (its own namespace, Pod Security `privileged` because it mounts the kubelet's device-plugin
 * directory from the host), a PriorityClass, and Kueue objects (`kueue.x-k8s.io/v1beta2`,
 * Kueue >= 0.15): a ResourceFlavor for the pool (node labels + the taint's toleration), one
 * ClusterQueue per team with a nominal GPU, CPU and memory quota in one cohort (teams borrow
 * each other's idle GPUs within limits), and a LocalQueue per team.
 *
 * **All-or-nothing admission.** Kueue admits a workload (a Job, an Indexed Job, a JobSet) only
 * when the quota for all of its pods is free, so a multi-pod job never starts half-way. Enable
 * `waitForPodsReady` in Kueue's configuration (Kueue is a prerequisite: add it to the GitOps repository as a ClusterAddon) so
 * that a workload whose pods do not all become ready in time (no capacity) is evicted and
 * requeued instead of holding quota.
 *
 * **Karpenter's cloud half** (with Karpenter capacity): the platform's `KarpenterController`,
 * created by its first Karpenter pool: the controller's IAM role (EKS Pod Identity, namespace and
 * ServiceAccount `karpenter`, least privilege scoped to this cluster's tags, passing only the
 * pools' node roles), the interruption queue and the EventBridge rules feeding it.
 *
 * Needs, installed in the cluster: Karpenter v1 (when chosen; `ClusterAddon.karpenter()` in a
 * GitOps repository) or the Cluster Autoscaler (for a managed node group), and Kueue >= 0.15
 * (`ClusterAddon.kueue()`).
 */
export class GpuTrainingPool extends Construct implements INodePool {
  /** Pool name (the construct id). */
  public readonly poolName: string;
  /** `<platformName>-<poolName>`: name of the pool's cluster-scoped objects. */
  public readonly fullName: string;
  public readonly capacityKind: 'karpenter' | 'managed-node-group';
  public readonly amiFamily: GpuAmiFamily;
  public readonly diskSizeGiB: number;
  public readonly efa: boolean;
  /** Instance types (managed node group, or Karpenter with types), else undefined. */
  public readonly instanceTypes?: readonly string[];
  /** Instance families (Karpenter with families), else undefined. */
  public readonly instanceFamilies?: readonly string[];
  /** Most GPUs the pool runs at once. */
  public readonly maxGpus: number;
  /** Most GPUs one node of the pool has. */
  public readonly maxGpusPerNode: number;
  /** EFA interfaces every node of the pool has (the fewest among its types; 0 without EFA). */
  public readonly efaInterfacesPerNode: number;
  /** The taint on every node of the pool. */
  public readonly taint: { readonly key: string; readonly value: string; readonly effect: 'NoSchedule' };
  /** Labels on every node of the pool (the pool label and the user's). */
  public readonly nodeLabels: Readonly<Record<string, string>>;
  /** What a pod sets to land on the pool: `{ 'cdk-mlops.io/pool': fullName }`. */
  public readonly nodeSelector: Readonly<Record<string, string>>;
  /** What a pod sets to tolerate the pool's taint. */
  public readonly tolerations: readonly k8s.Toleration[];
  private readonly reservations: { readonly owner: string; readonly gpus: number }[] = [];
  public readonly priorityClassName: string;
  /** The Kueue ResourceFlavor of the pool. */
  public readonly resourceFlavorName: string;
  /** One queue per team. */
  public readonly queues: readonly PoolQueue[];
  /** IAM role of the pool's nodes. */
  public readonly nodeRole: IamRole;
  /**
   * The platform's Karpenter controller (IAM role, interruption queue, EventBridge rules), shared
   * by its Karpenter pools; undefined for a managed node group.
   */
  public readonly karpenter?: KarpenterController;
  /** Escape hatches. */
  public readonly nodeGroup?: EksNodeGroup;
  public readonly nodePool?: ApiObject;
  public readonly nodeClass?: ApiObject;

  private readonly platform: MlPlatform;

  constructor(scope: Construct, id: string, props: GpuTrainingPoolProps = {}) {
    super(scope, id);
    const platform = MlPlatform.of(this);
    this.platform = platform;
    const v = new PropValidator(this);
    v.check(DNS_1123_LABEL.test(id) && id.length <= 20, 'id', id, 'must be a DNS-1123 label of at most 20 characters (it names the pool)');
    const capacity = props.capacity ?? GpuCapacity.karpenter();
    const ami = props.amiFamily ?? GpuAmiFamily.al2023Nvidia();
    const disk = props.diskSizeGiB ?? 200;
    const efa = props.efa ?? false;
    v.check(Number.isInteger(disk) && disk >= 50 && disk <= 16384, 'diskSizeGiB', disk, 'must be a whole number of GiB from 50 to 16384 (GPU images are large)');
    v.check(ami.version === 'latest' || (ami.family === 'al2023' ? /^v\d{8}$/.test(ami.version) : /^\d+\.\d+\.\d+$/.test(ami.version)),
      'amiFamily.version', ami.version, ami.family === 'al2023' ? "must be 'latest' or an AL2023 release like 'v20250715'" : "must be 'latest' or a Bottlerocket release like '1.42.0'");

    // Capacity.
    let types: string[] | undefined;
    let families: string[] | undefined;
    let maxGpus = 0;
    let maxGpusPerNode = 0;
    let capacityTypes: CapacityType[];
    if (capacity._kind === 'karpenter') {
      const o = capacity._karpenter ?? {};
      v.check(!(o.instanceFamilies && o.instanceTypes), 'capacity.instanceFamilies', o.instanceFamilies, "must not be set together with 'instanceTypes' (choose families or exact types)");
      if (o.instanceTypes) {
        types = [...o.instanceTypes];
        v.check(types.length > 0, 'capacity.instanceTypes', types, 'must list at least one instance type');
      } else {
        families = [...(o.instanceFamilies ?? ['g5', 'g6', 'g6e'])];
        v.check(families.length > 0, 'capacity.instanceFamilies', families, 'must list at least one instance family');
        families.forEach((f, i) => {
          const p = checkGpuFamily(f);
          if (p) v.fail(`capacity.instanceFamilies[${i}]`, f, p);
        });
      }
      capacityTypes = [...(o.capacityTypes ?? [CapacityType.ON_DEMAND])];
      v.check(capacityTypes.length > 0, 'capacity.capacityTypes', [], 'must list at least one capacity type');
      v.check(new Set(capacityTypes.map((c) => c.kind)).size === capacityTypes.length || capacityTypes.every((c) => c.kind === 'reserved' || c.kind === 'capacity-block'),
        'capacity.capacityTypes', capacityTypes.map((c) => c.kind), 'must not repeat a capacity type');
      maxGpus = o.maxGpus ?? 8;
      v.check(Number.isInteger(maxGpus) && maxGpus >= 1 && maxGpus <= 10_000, 'capacity.maxGpus', maxGpus, 'must be a whole number from 1 to 10000');
      for (const [name, value, re] of [['consolidateAfter', o.consolidateAfter ?? '10m', DURATION_RE], ['expireAfter', o.expireAfter ?? '720h', /^(([0-9]+(s|m|h))+|Never)$/]] as const) {
        v.check(re.test(value), `capacity.${name}`, value, name === 'expireAfter' ? "must be a Go duration like '720h', or 'Never'" : "must be a Go duration like '10m' or '1h30m'");
      }
    } else {
      const o = capacity._nodeGroup ?? {};
      types = [...(o.instanceTypes ?? ['g6.xlarge'])];
      v.check(types.length > 0, 'capacity.instanceTypes', types, 'must list at least one instance type');
      capacityTypes = [o.capacityType ?? CapacityType.ON_DEMAND];
      const ct = capacityTypes[0];
      v.check(ct.kind !== 'reserved' || ct.reservationIds.length === 1, 'capacity.capacityType', ct.reservationIds,
        'must name exactly one reservation for a managed node group (its launch template targets one); use Karpenter for several');
      const maxNodes = o.maxNodes ?? 4;
      v.check(Number.isInteger(maxNodes) && maxNodes >= 1 && maxNodes <= 1000, 'capacity.maxNodes', maxNodes, 'must be a whole number from 1 to 1000');
      const perNode = types.map((t) => gpuInstanceType(t)?.gpus ?? 0);
      maxGpus = maxNodes * Math.max(0, ...perNode);
    }
    if (types) {
      types.forEach((t, i) => {
        const p = checkGpuInstanceType(t);
        if (p) v.fail(`capacity.instanceTypes[${i}]`, t, p);
      });
    }
    capacityTypes.forEach((c) => c.reservationIds.forEach((r, i) => v.check(RESERVATION_RE.test(r), `capacity.capacityType.reservationIds[${i}]`, r, "must be a capacity reservation id like 'cr-0123456789abcdef0'")));
    capacityTypes.filter((c) => c.kind === 'reserved').forEach((c) => v.check(c.reservationIds.length > 0, 'capacity.capacityType', [], 'CapacityType.reserved needs at least one reservation id'));
    const sizes = types
      ? types.map((t) => gpuInstanceType(t)).filter((x) => x !== undefined)
      : (families ?? []).flatMap((f) => Object.entries(GPU_INSTANCE_FAMILIES[f]?.sizes ?? {}).map(([size, sz]) => ({ ...sz, family: f, size })));
    maxGpusPerNode = Math.max(0, ...sizes.map((x) => x.gpus));
    if (efa) {
      const without = types
        ? types.filter((t) => (gpuInstanceType(t)?.efaInterfaces ?? 1) === 0)
        : (families ?? []).filter((f) => GPU_INSTANCE_FAMILIES[f] && !Object.values(GPU_INSTANCE_FAMILIES[f].sizes).some((x) => x.efaInterfaces > 0));
      v.check(without.length === 0, types ? 'capacity.instanceTypes' : 'capacity.instanceFamilies', without, 'must all support EFA when efa is true (e.g. g6.8xlarge, g6e.48xlarge, p4d.24xlarge, p5.48xlarge)');
      if (families) {
        v.fail('efa', true, "needs exact 'instanceTypes' (with Karpenter or a managed node group): EFA exists only on some sizes of a family");
      }
    }

    // Labels and teams.
    const labels = props.labels ?? {};
    for (const [k, val] of Object.entries(labels)) {
      v.check(LABEL_KEY_RE.test(k) && !/(^|\.)(kubernetes\.io|k8s\.io|karpenter\.sh|karpenter\.k8s\.aws)\//.test(k) && k !== POOL_LABEL,
        `labels.${k}`, k, `must be a label key outside the kubernetes.io, k8s.io and karpenter domains, other than '${POOL_LABEL}'`);
      v.check(LABEL_VALUE_RE.test(val), `labels.${k}`, val, 'must be a label value: at most 63 letters, digits, -, _ or .');
    }
    // Without teams, one default team gets what the GPU endpoints placed on the pool leave (known
    // once every endpoint is in the tree); with teams, synthesis checks that they leave enough.
    const defaultTeam = props.teams === undefined;
    const teams = props.teams ?? [{ name: 'default', gpus: maxGpus }];
    v.check(teams.length > 0, 'teams', teams, 'must list at least one team');
    v.check(new Set(teams.map((t) => t.name)).size === teams.length, 'teams', teams.map((t) => t.name), 'must not repeat a team name');
    teams.forEach((t, i) => {
      v.check(DNS_1123_LABEL.test(t.name) && t.name.length <= 30, `teams[${i}].name`, t.name, 'must be a DNS-1123 label of at most 30 characters');
      v.check(Number.isInteger(t.gpus) && t.gpus >= 0, `teams[${i}].gpus`, t.gpus, 'must be a whole number of GPUs >= 0');
      v.check(t.gpus <= maxGpus, `teams[${i}].gpus`, t.gpus, `must not exceed the pool's capacity (${maxGpus} GPUs)`);
      if (t.borrowingLimitGpus !== undefined) v.check(Number.isInteger(t.borrowingLimitGpus) && t.borrowingLimitGpus >= 0, `teams[${i}].borrowingLimitGpus`, t.borrowingLimitGpus, 'must be a whole number >= 0');
      if (t.lendingLimitGpus !== undefined) {
        v.check(Number.isInteger(t.lendingLimitGpus) && t.lendingLimitGpus >= 0 && t.lendingLimitGpus <= t.gpus, `teams[${i}].lendingLimitGpus`, t.lendingLimitGpus, `must be a whole number from 0 to the team's gpus (${t.gpus})`);
      }
      for (const [k, q] of [['cpu', t.cpu], ['memory', t.memory]] as const) {
        if (q !== undefined) v.check(QUANTITY_RE.test(q), `teams[${i}].${k}`, q, "must be a Kubernetes quantity like '96' or '512Gi'");
      }
      if (t.namespace !== undefined) v.check(DNS_1123_LABEL.test(t.namespace), `teams[${i}].namespace`, t.namespace, 'must be a namespace name (DNS-1123 label)');
    });
    const totalNominal = teams.reduce((a, t) => a + (Number.isInteger(t.gpus) ? t.gpus : 0), 0);
    v.check(totalNominal <= maxGpus, 'teams', teams.map((t) => `${t.name}: ${t.gpus}`), `must not promise more GPUs in total (${totalNominal}) than the pool has (${maxGpus})`);
    const priority = props.priority ?? 1000;
    v.check(Number.isInteger(priority) && priority >= 0 && priority <= 1_000_000_000, 'priority', priority, 'must be a whole number from 0 to 1000000000 (above is reserved for system classes)');
    const pluginImage = props.devicePluginImage ?? 'nvcr.io/nvidia/k8s-device-plugin:v0.17.2';
    const efaImage = props.efaDevicePluginImage ?? 'public.ecr.aws/eks/aws-efa-k8s-device-plugin:v0.5.6';
    for (const [k, img] of [['devicePluginImage', pluginImage], ['efaDevicePluginImage', efaImage]] as const) {
      v.check(IMAGE_PINNED.test(img) && !img.endsWith(':latest'), k, img, 'must be an image pinned by a version tag or sha256 digest (not latest)');
    }
    v.throwIfAny();

    this.poolName = id;
    this.fullName = `${platform.platformName}-${id}`;
    this.capacityKind = capacity._kind;
    this.amiFamily = ami;
    this.diskSizeGiB = disk;
    this.efa = efa;
    this.instanceTypes = types;
    this.instanceFamilies = families;
    this.maxGpus = maxGpus;
    this.node.addValidation({
      validate: () => {
        const reserved = this.reservedGpus;
        if (reserved === 0) return [];
        const who = this.reservations.map((r) => `${r.owner}: ${r.gpus}`).join(', ');
        if (reserved > maxGpus) {
          return [`GPU pool '${id}' runs at most ${maxGpus} GPUs but the endpoints placed on it hold up to ${reserved} at their peak (${who}): raise the pool's capacity or lower their maxReplicas`];
        }
        if (!defaultTeam && totalNominal + reserved > maxGpus) {
          return [`GPU pool '${id}': its teams' quotas promise training ${totalNominal} GPUs and the endpoints placed on it hold up to ${reserved} at their peak (${who}), `
            + `${totalNominal + reserved} in all, but the pool runs at most ${maxGpus}: lower the teams' gpus to ${Math.max(0, maxGpus - reserved)} in total or raise the pool's capacity`];
        }
        return [];
      },
    });
    this.maxGpusPerNode = maxGpusPerNode;
    this.efaInterfacesPerNode = efa && types ? Math.min(...types.map((t) => gpuInstanceType(t)!.efaInterfaces)) : 0;
    this.taint = { ...GPU_TAINT };
    this.nodeSelector = { [POOL_LABEL]: this.fullName };
    this.nodeLabels = { ...labels, [POOL_LABEL]: this.fullName };
    this.tolerations = [{ key: GPU_TAINT.key, operator: 'Equal', value: GPU_TAINT.value, effect: GPU_TAINT.effect }];
    this.priorityClassName = `${this.fullName}-training`;
    this.resourceFlavorName = this.fullName;

    // ---- cloud plane ----
    const cloud = platform.cloudScope(this);
    const roleName = platform.resourceName(64, 'gpu', id, 'nodes');
    this.nodeRole = new IamRole(cloud, 'node-role', {
      name: roleName,
      assumeRolePolicy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
      }),
    });
    const managed = ['AmazonEKSWorkerNodePolicy', 'AmazonEC2ContainerRegistryPullOnly', 'AmazonEKS_CNI_Policy', ...(props.enableSsm ? ['AmazonSSMManagedInstanceCore'] : [])];
    managed.forEach((p) => new IamRolePolicyAttachment(cloud, `node-${p}`, { role: this.nodeRole.name, policyArn: `arn:aws:iam::aws:policy/${p}` }));
    const clusterDeps = platform.cluster.eksCluster ? [platform.cluster.eksCluster] : undefined;
    const rootDevice = ami.family === 'bottlerocket' ? '/dev/xvdb' : '/dev/xvda';

    if (capacity._kind === 'managed-node-group') {
      const ct = capacityTypes[0];
      let subnetIds = platform.network.privateSubnetIds;
      let placement: PlacementGroup | undefined;
      let networkInterfaces: { deviceIndex: number; networkCardIndex: number; interfaceType: string; deleteOnTermination: string; securityGroups: string[] }[] | undefined;
      if (efa) {
        placement = new PlacementGroup(cloud, 'placement', { name: platform.resourceName(255, 'gpu', id), strategy: 'cluster' });
        subnetIds = [platform.network.privateSubnetIds[0]];
        const sg = platform.cluster.clusterSecurityGroupId;
        const cards = Math.min(...types!.map((t) => gpuInstanceType(t)!.efaInterfaces));
        networkInterfaces = Array.from({ length: cards }, (_, i) => ({
          deviceIndex: i === 0 ? 0 : 1,
          networkCardIndex: i,
          interfaceType: 'efa',
          deleteOnTermination: 'true',
          securityGroups: [sg],
        }));
      }
      const launchTemplate = new LaunchTemplate(cloud, 'launch-template', {
        name: platform.resourceName(128, 'gpu', id),
        metadataOptions: { httpEndpoint: 'enabled', httpTokens: 'required', httpPutResponseHopLimit: 1 },
        blockDeviceMappings: [{
          deviceName: rootDevice,
          ebs: { volumeSize: disk, volumeType: 'gp3', encrypted: 'true', deleteOnTermination: 'true' },
        }],
        networkInterfaces,
        placement: placement ? { groupName: placement.name } : undefined,
        capacityReservationSpecification: ct.reservationIds.length
          ? { capacityReservationTarget: { capacityReservationId: ct.reservationIds[0] } }
          : undefined,
        instanceMarketOptions: ct.kind === 'capacity-block' ? { marketType: 'capacity-block' } : undefined,
      });
      this.nodeGroup = new EksNodeGroup(cloud, 'nodes', {
        clusterName: platform.cluster.clusterName,
        nodeGroupName: `gpu-${id}`,
        nodeRoleArn: this.nodeRole.arn,
        subnetIds,
        amiType: ami.amiType,
        capacityType: ({ 'on-demand': 'ON_DEMAND', 'spot': 'SPOT', 'reserved': 'ON_DEMAND', 'capacity-block': 'CAPACITY_BLOCK' } as const)[ct.kind],
        instanceTypes: types,
        scalingConfig: { minSize: 0, maxSize: capacity._nodeGroup?.maxNodes ?? 4, desiredSize: 0 },
        updateConfig: { maxUnavailable: 1 },
        launchTemplate: { id: launchTemplate.id, version: Token.asString(launchTemplate.latestVersion) },
        labels: this.nodeLabels as Record<string, string>,
        taint: [{ key: GPU_TAINT.key, value: GPU_TAINT.value, effect: 'NO_SCHEDULE' }],
        lifecycle: { ignoreChanges: ['scaling_config[0].desired_size'] },
        dependsOn: clusterDeps,
      });
    } else {
      // The controller that launches the nodes: created once per platform, and allowed to pass
      // this pool's node role (and no other) to EC2.
      this.karpenter = KarpenterController.of(platform);
      this.karpenter.allowNodeRole(`arn:aws:iam::${platform.account}:role/${roleName}`);
      new EksAccessEntry(cloud, 'node-access', {
        clusterName: platform.cluster.clusterName,
        principalArn: this.nodeRole.arn,
        type: 'EC2_LINUX',
        dependsOn: clusterDeps,
      });
    }

    // ---- cluster plane ----
    const cluster = platform.clusterScope(this, 'training');
    const labelsK8s = { ...platform.labels, 'cdk-mlops.io/gpu-pool': id };
    if (capacity._kind === 'karpenter') {
      const o = capacity._karpenter ?? {};
      const reservations = capacityTypes.flatMap((c) => c.reservationIds);
      const karpenterTypes = [...new Set(capacityTypes.map((c) => (c.kind === 'capacity-block' ? 'reserved' : c.kind)))].sort();
      this.nodeClass = new ApiObject(cluster, 'node-class', {
        apiVersion: 'karpenter.k8s.aws/v1',
        kind: 'EC2NodeClass',
        metadata: { name: this.fullName, labels: labelsK8s },
        spec: {
          role: roleName,
          amiSelectorTerms: [{ alias: ami.alias }],
          subnetSelectorTerms: [{ tags: { 'karpenter.sh/discovery': platform.cluster.clusterName } }],
          securityGroupSelectorTerms: [{ tags: { 'aws:eks:cluster-name': platform.cluster.clusterName } }],
          capacityReservationSelectorTerms: reservations.length ? reservations.map((r) => ({ id: r })) : undefined,
          metadataOptions: { httpEndpoint: 'enabled', httpProtocolIPv6: 'disabled', httpPutResponseHopLimit: 1, httpTokens: 'required' },
          blockDeviceMappings: [{
            deviceName: rootDevice,
            ebs: { volumeSize: `${disk}Gi`, volumeType: 'gp3', encrypted: true, deleteOnTermination: true },
          }],
          tags: Object.fromEntries(Object.entries(platform.tags).sort(([a], [b]) => compareStrings(a, b))),
        },
      });
      const requirements = [
        types
          ? { key: 'node.kubernetes.io/instance-type', operator: 'In', values: [...types].sort() }
          : { key: 'karpenter.k8s.aws/instance-family', operator: 'In', values: [...families!].sort() },
        { key: 'karpenter.sh/capacity-type', operator: 'In', values: karpenterTypes },
        { key: 'kubernetes.io/arch', operator: 'In', values: ['amd64'] },
        { key: 'kubernetes.io/os', operator: 'In', values: ['linux'] },
      ];
      this.nodePool = new ApiObject(cluster, 'node-pool', {
        apiVersion: 'karpenter.sh/v1',
        kind: 'NodePool',
        metadata: { name: this.fullName, labels: labelsK8s },
        spec: {
          template: {
            metadata: { labels: this.nodeLabels },
            spec: {
              nodeClassRef: { group: 'karpenter.k8s.aws', kind: 'EC2NodeClass', name: this.fullName },
              requirements,
              taints: [{ ...GPU_TAINT }],
              expireAfter: o.expireAfter ?? '720h',
            },
          },
          // Only empty nodes go: consolidation never moves a running training pod.
          disruption: { consolidationPolicy: 'WhenEmpty', consolidateAfter: o.consolidateAfter ?? '10m' },
          limits: { 'nvidia.com/gpu': maxGpus },
        },
      });
    }

    new k8s.KubePriorityClass(cluster, 'priority', {
      metadata: { name: this.priorityClassName, labels: labelsK8s },
      value: priority,
      preemptionPolicy: 'Never',
      globalDefault: false,
      description: `Training pods on GPU pool ${this.fullName}; admission and preemption are Kueue's.`,
    });

    this.deviceNamespace();
    // Bottlerocket's NVIDIA variants ship the device plugin in the OS: a second one would
    // register nvidia.com/gpu twice.
    if (ami.family !== 'bottlerocket') {
      this.devicePlugin(cluster, 'nvidia-device-plugin', pluginImage, labelsK8s, [
        { name: 'FAIL_ON_INIT_ERROR', value: 'false' },
        { name: 'DEVICE_DISCOVERY_STRATEGY', value: 'nvml' },
      ]);
    }
    if (efa) this.devicePlugin(cluster, 'efa-device-plugin', efaImage, labelsK8s, []);

    // Kueue.
    const resources = ['cpu', 'memory', 'nvidia.com/gpu', ...(efa ? ['vpc.amazonaws.com/efa'] : [])];
    new ApiObject(cluster, 'flavor', {
      apiVersion: KUEUE_API_VERSION,
      kind: 'ResourceFlavor',
      metadata: { name: this.resourceFlavorName, labels: labelsK8s },
      spec: { nodeLabels: this.nodeSelector, tolerations: this.tolerations.map((t) => ({ ...t })) },
    });
    const queues: PoolQueue[] = [];
    for (const t of teams) {
      const namespace = t.namespace ?? platform.namespace(PlatformPart.TRAINING);
      const cq = `${this.fullName}-${t.name}`;
      // the default team's GPUs: the pool's less what endpoints reserve (resolved at synthesis)
      const teamGpus = (): number => (defaultTeam ? Math.max(0, maxGpus - this.reservedGpus) : t.gpus);
      const lazy = <T>(f: () => T): T => (defaultTeam ? Lazy.any({ produce: f }) as unknown as T : f());
      const gpuQuota: Record<string, unknown> = { name: 'nvidia.com/gpu', nominalQuota: lazy(teamGpus) };
      if (t.borrowingLimitGpus !== undefined) gpuQuota.borrowingLimit = t.borrowingLimitGpus;
      if (t.lendingLimitGpus !== undefined) gpuQuota.lendingLimit = t.lendingLimitGpus;
      new ApiObject(cluster, `queue-${t.name}`, {
        apiVersion: KUEUE_API_VERSION,
        kind: 'ClusterQueue',
        metadata: { name: cq, labels: labelsK8s },
        spec: {
          cohortName: this.fullName,
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } },
          queueingStrategy: 'BestEffortFIFO',
          preemption: { reclaimWithinCohort: 'Any', withinClusterQueue: 'LowerPriority' },
          resourceGroups: [{
            coveredResources: resources,
            flavors: [{
              name: this.resourceFlavorName,
              resources: [
                { name: 'cpu', nominalQuota: t.cpu ?? lazy(() => String(teamGpus() * 24)) },
                { name: 'memory', nominalQuota: t.memory ?? lazy(() => `${teamGpus() * 256}Gi`) },
                gpuQuota,
                ...(efa ? [{ name: 'vpc.amazonaws.com/efa', nominalQuota: lazy(() => teamGpus() * 4) }] : []),
              ],
            }],
          }],
        },
      });
      const lq = `${id}-${t.name}`;
      new ApiObject(cluster, `local-queue-${t.name}`, {
        apiVersion: KUEUE_API_VERSION,
        kind: 'LocalQueue',
        metadata: { name: lq, namespace, labels: labelsK8s },
        spec: { clusterQueue: cq },
      });
      queues.push({ team: t.name, localQueue: lq, namespace, clusterQueue: cq });
    }
    this.queues = queues;

    platform.addInventory({
      kind: 'gpu-training-pool',
      name: id,
      capacity: capacity._kind,
      instanceTypes: types,
      instanceFamilies: families,
      capacityTypes: capacityTypes.map((c) => c.kind),
      maxGpus,
      ami: capacity._kind === 'karpenter' ? ami.alias : ami.amiType,
      efa,
      taint: `${GPU_TAINT.key}=${GPU_TAINT.value}:${GPU_TAINT.effect}`,
      kueue: { apiVersion: KUEUE_API_VERSION, flavor: this.resourceFlavorName, queues: queues.map((q) => ({ team: q.team, localQueue: `${q.namespace}/${q.localQueue}`, clusterQueue: q.clusterQueue })) },
    });
  }

  /** The queue of a team (`'default'` unless teams were given). Throws naming the teams when unknown. */
  /**
   * Records that a workload admitted outside the pool's Kueue queues (a GPU endpoint placed with
   * `GpuPlacement.pool`) may hold up to `gpus` of the pool's GPUs at once. The default team's
   * quota is the pool's GPUs less these; explicit teams must leave room for them (checked at
   * synthesis), so Kueue never admits training onto GPUs serving holds.
   */
  public reserveGpus(owner: string, gpus: number): void {
    if (gpus > 0) this.reservations.push({ owner, gpus });
  }

  /** GPUs reserved by endpoints, in total. */
  public get reservedGpus(): number {
    return this.reservations.reduce((a, r) => a + r.gpus, 0);
  }

  public queue(team: string = 'default'): PoolQueue {
    const q = this.queues.find((x) => x.team === team);
    if (!q) {
      const v = new PropValidator(this);
      v.fail('team', team, `must be a team of GPU pool '${this.poolName}': ${this.queues.map((x) => x.team).join(', ')}`);
      v.throwIfAny();
    }
    return q!;
  }

  /** The namespace of the device plugins (one per platform), created on first use. */
  private deviceNamespace(): string {
    let ns = gpuNamespaces.get(this.platform);
    if (ns) return ns;
    ns = `${this.platform.platformName}-gpu-system`;
    const chart = this.platform.chart('training');
    const common = { ...this.platform.labels, 'cdk-mlops.io/part': 'gpu-system' };
    new k8s.KubeNamespace(chart, 'gpu-system-namespace', {
      metadata: {
        name: ns,
        labels: {
          ...common,
          // The device plugins mount the kubelet's device-plugin directory (hostPath) and run as
          // root to create their socket there: both are outside the baseline and restricted
          // levels. Nothing else runs in this namespace; baseline violations still warn/audit.
          'pod-security.kubernetes.io/enforce': 'privileged',
          'pod-security.kubernetes.io/enforce-version': `v${this.platform.kubernetesVersion}`,
          'pod-security.kubernetes.io/audit': 'baseline',
          'pod-security.kubernetes.io/warn': 'baseline',
        },
      },
    });
    // The plugins talk to the kubelet over a unix socket: no network at all.
    new k8s.KubeNetworkPolicy(chart, 'gpu-system-default-deny', {
      metadata: { name: 'default-deny', namespace: ns, labels: common },
      spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
    });
    gpuNamespaces.set(this.platform, ns);
    return ns;
  }

  private devicePlugin(scope: Construct, name: string, image: string, labels: Record<string, string>, env: k8s.EnvVar[]): void {
    const ns = gpuNamespaces.get(this.platform)!;
    const fullName = `${name}-${this.poolName}`;
    const selector = { 'app.kubernetes.io/name': name, 'cdk-mlops.io/gpu-pool': this.poolName };
    new k8s.KubeDaemonSet(scope, name, {
      metadata: { name: fullName, namespace: ns, labels: { ...labels, ...selector } },
      spec: {
        selector: { matchLabels: selector },
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: k8s.IntOrString.fromString('25%') } },
        template: {
          metadata: { labels: { ...labels, ...selector } },
          spec: {
            nodeSelector: { ...this.nodeSelector },
            tolerations: [...this.tolerations.map((t) => ({ ...t })), { key: 'CriticalAddonsOnly', operator: 'Exists' }],
            priorityClassName: 'system-node-critical',
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
            containers: [{
              name,
              image,
              imagePullPolicy: 'IfNotPresent',
              env: env.length ? env : undefined,
              resources: {
                requests: { cpu: k8s.Quantity.fromString('50m'), memory: k8s.Quantity.fromString('64Mi') },
                limits: { cpu: k8s.Quantity.fromString('200m'), memory: k8s.Quantity.fromString('256Mi') },
              },
              securityContext: {
                allowPrivilegeEscalation: false,
                privileged: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
                seccompProfile: { type: 'RuntimeDefault' },
              },
              volumeMounts: [{ name: 'device-plugin', mountPath: '/var/lib/kubelet/device-plugins' }],
            }],
            volumes: [{ name: 'device-plugin', hostPath: { path: '/var/lib/kubelet/device-plugins', type: 'Directory' } }],
          },
        },
      },
    });
    this.platform.suppressPolicy('K8S-NON-ROOT', `DaemonSet/${ns}/${fullName}`,
      `the ${name} registers its unix socket in the host's /var/lib/kubelet/device-plugins (hostPath, root-owned), which needs uid 0; it drops ALL capabilities, cannot escalate, has a read-only root filesystem, no API token and no network, and runs only on GPU pool '${this.poolName}' in the privileged '${ns}' namespace`);
  }
}
