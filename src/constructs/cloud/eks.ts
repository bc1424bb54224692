import { Construct } from 'constructs';
import {
  CloudwatchLogGroup, DataAwsEksCluster, EksAccessEntry, EksAccessPolicyAssociation, EksAddon, EksCluster,
  EksNodeGroup, IamRole, IamRolePolicy, IamRolePolicyAttachment, LaunchTemplate, Token,
} from './cdktf';
import { parseCidr } from './cidr';
import { PropValidator } from '../errors';

/**
 * Kubernetes minor versions this release accepts for the cluster, newest last. The manifests
 * are written against the 1.33 API (cdk8s-plus-33), which 1.34 and 1.35 still serve.
 */
export const SUPPORTED_KUBERNETES_VERSIONS = ['1.33', '1.34', '1.35'] as const;
/** The default cluster version: the oldest in EKS standard support in late 2026. */
export const DEFAULT_KUBERNETES_VERSION = '1.34';

/** The system node group every created cluster has (platform services, not GPU work). */
export interface SystemNodeGroupOptions {
  /**
   * EC2 instance types.
   * @default ['m7i.large']
   */
  readonly instanceTypes?: string[];
  /** @default 2 */
  readonly minSize?: number;
  /** @default 6 */
  readonly maxSize?: number;
  /** @default - minSize */
  readonly desiredSize?: number;
  /**
   * Root volume size in GiB (gp3, encrypted).
   * @default 50
   */
  readonly diskSizeGiB?: number;
}

/** Options to create an EKS cluster. */
export interface CreateClusterOptions {
  /**
   * CIDR blocks allowed to reach the public API endpoint. Empty: the API endpoint is private
   * (reachable only from the VPC and what is routed to it).
   * @default [] - private endpoint only
   * @see https://docs.aws.amazon.com/eks/latest/userguide/cluster-endpoint.html
   */
  readonly publicAccessCidrs?: string[];
  /** @default - see SystemNodeGroupOptions */
  readonly systemNodes?: SystemNodeGroupOptions;
  /**
   * Days to keep control-plane logs.
   * @default 90
   */
  readonly logRetentionDays?: number;
  /**
   * IAM role ARNs given cluster-admin through EKS access entries.
   * @default [] - only the identity that creates the cluster is admin
   */
  readonly adminRoleArns?: string[];
  /**
   * Make the identity that creates the cluster (your CI role) a permanent cluster admin.
   * @default - true when `adminRoleArns` is empty (someone must be able to reach the cluster), else false
   */
  readonly bootstrapCreatorAdmin?: boolean;
}

/** Options to use an existing EKS cluster. */
export interface ExistingClusterOptions {
  /** The cluster's name. It must run the EKS Pod Identity agent add-on. */
  readonly clusterName: string;
}

/** Where the platform's Kubernetes cluster comes from: a new EKS cluster or an existing one. */
export class Cluster {
  /** Create an EKS cluster with secure defaults. */
  public static create(options: CreateClusterOptions = {}): Cluster {
    return new Cluster(options, undefined);
  }

  /** Use an existing EKS cluster by name. */
  public static fromExisting(options: ExistingClusterOptions): Cluster {
    return new Cluster(undefined, options);
  }

  private constructor(
    /** @internal */ public readonly _create: CreateClusterOptions | undefined,
    /** @internal */ public readonly _existing: ExistingClusterOptions | undefined,
  ) {}
}

const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];
const INSTANCE_TYPE_RE = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;

/** @internal */
export function validateCluster(v: PropValidator, cluster: Cluster): void {
  if (cluster._existing) {
    v.check(/^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$/.test(cluster._existing.clusterName), 'cluster.clusterName', cluster._existing.clusterName, 'must be an EKS cluster name: 1-100 letters, digits, - and _');
    return;
  }
  const o = cluster._create ?? {};
  (o.publicAccessCidrs ?? []).forEach((c, i) => {
    const p = parseCidr(c);
    if (typeof p === 'string') v.fail(`cluster.publicAccessCidrs[${i}]`, c, p);
    else v.check(p.prefix >= 8, `cluster.publicAccessCidrs[${i}]`, c, 'must be /8 or narrower: do not open the API to the internet; list the networks that need it');
  });
  const n = o.systemNodes ?? {};
  const min = n.minSize ?? 2;
  const max = n.maxSize ?? 6;
  const desired = n.desiredSize ?? min;
  v.check(Number.isInteger(min) && min >= 1, 'cluster.systemNodes.minSize', min, 'must be an integer >= 1 (the system pool runs the platform services)');
  v.check(Number.isInteger(max) && max >= min, 'cluster.systemNodes.maxSize', max, `must be an integer not below 'minSize' (${min})`);
  v.check(desired >= min && desired <= max, 'cluster.systemNodes.desiredSize', desired, `must lie between 'minSize' (${min}) and 'maxSize' (${max})`);
  (n.instanceTypes ?? ['m7i.large']).forEach((t, i) => v.check(INSTANCE_TYPE_RE.test(t), `cluster.systemNodes.instanceTypes[${i}]`, t, "must be an EC2 instance type like 'm7i.large'"));
  v.check((n.instanceTypes ?? ['x']).length > 0, 'cluster.systemNodes.instanceTypes', n.instanceTypes, 'must list at least one instance type');
  const disk = n.diskSizeGiB ?? 50;
  v.check(Number.isInteger(disk) && disk >= 20 && disk <= 16384, 'cluster.systemNodes.diskSizeGiB', disk, 'must be an integer from 20 to 16384');
  const days = o.logRetentionDays ?? 90;
  v.check(LOG_RETENTION_DAYS.includes(days), 'cluster.logRetentionDays', days, `must be one of CloudWatch's retention values: ${LOG_RETENTION_DAYS.join(', ')}`);
  (o.adminRoleArns ?? []).forEach((a, i) => v.check(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/.test(a), `cluster.adminRoleArns[${i}]`, a, 'must be an IAM role ARN'));
}

export interface PlatformClusterProps {
  readonly cluster: Cluster;
  readonly clusterName: string;
  readonly kubernetesVersion: string;
  readonly subnetIds: string[];
  readonly kmsKeyArn: string;
  readonly namePrefix: string;
  readonly account: string;
  readonly region: string;
  /** Tags for what node instances create (volumes, network interfaces). */
  readonly tags: Record<string, string>;
}

/**
 * The platform's EKS cluster in the cloud plane: private API endpoint, secrets envelope-encrypted
 * with the platform key, every control-plane log type on (encrypted, retained), access through
 * EKS access entries, EKS Pod Identity for per-workload roles, and a system managed node group
 * with IMDSv2 enforced and encrypted disks. Or, with `Cluster.fromExisting`, a reference.
 */
export class PlatformCluster extends Construct {
  public readonly clusterName: string;
  /** Deterministic ARN (computed from account, region and name). */
  public readonly clusterArn: string;
  /** API endpoint (known after apply: a token). */
  public readonly endpoint: string;
  /** Base64 CA data (a token). */
  public readonly certificateAuthorityData: string;
  /** The created cluster (undefined for an existing one). */
  public readonly eksCluster?: EksCluster;
  /** The system node group (undefined for an existing cluster). */
  public readonly systemNodeGroup?: EksNodeGroup;
  /** Role of the system nodes (undefined for an existing cluster). */
  public readonly nodeRole?: IamRole;
  /**
   * The EKS cluster security group (a token): EKS puts it on the control plane's network
   * interfaces and on every managed node group's nodes; it admits all traffic from itself.
   */
  public readonly clusterSecurityGroupId: string;

  constructor(scope: Construct, id: string, props: PlatformClusterProps) {
    super(scope, id);
    this.clusterName = props.clusterName;
    this.clusterArn = `arn:aws:eks:${props.region}:${props.account}:cluster/${props.clusterName}`;
    if (props.cluster._existing) {
      const existing = new DataAwsEksCluster(this, 'existing', { name: props.clusterName });
      this.endpoint = existing.endpoint;
      this.certificateAuthorityData = existing.certificateAuthority.get(0).data;
      this.clusterSecurityGroupId = existing.vpcConfig.get(0).clusterSecurityGroupId;
      return;
    }
    const o = props.cluster._create ?? {};
    const publicCidrs = o.publicAccessCidrs ?? [];

    const clusterRole = new IamRole(this, 'cluster-role', {
      name: `${props.namePrefix}-eks-cluster`,
      assumeRolePolicy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: 'eks.amazonaws.com' }, Action: ['sts:AssumeRole', 'sts:TagSession'] }],
      }),
    });
    new IamRolePolicyAttachment(this, 'cluster-policy', {
      role: clusterRole.name,
      policyArn: 'arn:aws:iam::aws:policy/AmazonEKSClusterPolicy',
    });
    // Envelope encryption of Secrets: the control plane uses the platform key, and only it.
    new IamRolePolicy(this, 'cluster-kms', {
      name: 'secrets-encryption',
      role: clusterRole.name,
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ListGrants', 'kms:DescribeKey'], Resource: props.kmsKeyArn }],
      }),
    });
    const logs = new CloudwatchLogGroup(this, 'control-plane-logs', {
      name: `/aws/eks/${props.clusterName}/cluster`,
      retentionInDays: o.logRetentionDays ?? 90,
      kmsKeyId: props.kmsKeyArn,
    });
    const cluster = new EksCluster(this, 'cluster', {
      name: props.clusterName,
      version: props.kubernetesVersion,
      roleArn: clusterRole.arn,
      vpcConfig: {
        subnetIds: props.subnetIds,
        endpointPrivateAccess: true,
        endpointPublicAccess: publicCidrs.length > 0,
        publicAccessCidrs: publicCidrs.length > 0 ? publicCidrs : undefined,
      },
      encryptionConfig: { resources: ['secrets'], provider: { keyArn: props.kmsKeyArn } },
      enabledClusterLogTypes: ['api', 'audit', 'authenticator', 'controllerManager', 'scheduler'],
      accessConfig: { authenticationMode: 'API', bootstrapClusterCreatorAdminPermissions: o.bootstrapCreatorAdmin ?? (o.adminRoleArns ?? []).length === 0 },
      upgradePolicy: { supportType: 'STANDARD' },
      dependsOn: [logs],
    });
    this.eksCluster = cluster;
    this.endpoint = cluster.endpoint;
    this.certificateAuthorityData = cluster.certificateAuthority.get(0).data;
    this.clusterSecurityGroupId = cluster.vpcConfig.clusterSecurityGroupId;

    (o.adminRoleArns ?? []).forEach((arn, i) => {
      const entry = new EksAccessEntry(this, `admin-${i}`, { clusterName: cluster.name, principalArn: arn, type: 'STANDARD' });
      new EksAccessPolicyAssociation(this, `admin-${i}-policy`, {
        clusterName: cluster.name,
        principalArn: arn,
        policyArn: 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy',
        accessScope: { type: 'cluster' },
        dependsOn: [entry],
      });
    });

    // System node group.
    const n = o.systemNodes ?? {};
    const nodeRole = new IamRole(this, 'node-role', {
      name: `${props.namePrefix}-eks-system-nodes`,
      assumeRolePolicy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
      }),
    });
    this.nodeRole = nodeRole;
    ['AmazonEKSWorkerNodePolicy', 'AmazonEC2ContainerRegistryReadOnly', 'AmazonEKS_CNI_Policy'].forEach((p) =>
      new IamRolePolicyAttachment(this, `node-${p}`, { role: nodeRole.name, policyArn: `arn:aws:iam::aws:policy/${p}` }));
    const launchTemplate = new LaunchTemplate(this, 'system-launch-template', {
      name: `${props.namePrefix}-system`,
      // IMDSv2 only, one hop: pods cannot reach the node's credentials.
      metadataOptions: { httpEndpoint: 'enabled', httpTokens: 'required', httpPutResponseHopLimit: 1 },
      // The provider's default_tags do not reach what the instances create: tag it here.
      tagSpecifications: ['instance', 'volume', 'network-interface'].map((resourceType) => ({ resourceType, tags: props.tags })),
      blockDeviceMappings: [{
        deviceName: '/dev/xvda',
        ebs: { volumeSize: n.diskSizeGiB ?? 50, volumeType: 'gp3', encrypted: 'true', deleteOnTermination: 'true' },
      }],
    });
    const min = n.minSize ?? 2;
    this.systemNodeGroup = new EksNodeGroup(this, 'system-nodes', {
      clusterName: cluster.name,
      nodeGroupName: 'system',
      nodeRoleArn: nodeRole.arn,
      subnetIds: props.subnetIds,
      amiType: 'AL2023_x86_64_STANDARD',
      capacityType: 'ON_DEMAND',
      instanceTypes: n.instanceTypes ?? ['m7i.large'],
      scalingConfig: { minSize: min, maxSize: n.maxSize ?? 6, desiredSize: n.desiredSize ?? min },
      updateConfig: { maxUnavailable: 1 },
      launchTemplate: { id: launchTemplate.id, version: Token.asString(launchTemplate.latestVersion) },
      labels: { 'cdk-mlops.io/pool': 'system' },
      lifecycle: { ignoreChanges: ['scaling_config[0].desired_size'] },
    });

    for (const addon of ['vpc-cni', 'kube-proxy', 'eks-pod-identity-agent', 'coredns']) {
      new EksAddon(this, `addon-${addon}`, {
        clusterName: cluster.name,
        addonName: addon,
        resolveConflictsOnCreate: 'OVERWRITE',
        resolveConflictsOnUpdate: 'PRESERVE',
        // coredns needs nodes to become healthy.
        dependsOn: addon === 'coredns' ? [this.systemNodeGroup] : undefined,
        // The VPC CNI enforces Kubernetes NetworkPolicies only when asked to (its network policy
        // agent is off by default): without this, every default-deny policy of the cluster plane
        // would be accepted by the API server and enforced by nothing.
        configurationValues: addon === 'vpc-cni' ? JSON.stringify({ enableNetworkPolicy: 'true' }) : undefined,
      });
    }
  }
}
