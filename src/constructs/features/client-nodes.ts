import { Construct } from 'constructs';
import {
  EksNodeGroup, IamRole, IamRolePolicyAttachment, LaunchTemplate, SecurityGroup, Token,
} from '../cloud/cdktf';
import { k8s } from '../cluster/k8s';
import { PropValidator } from '../errors';
import type { MlPlatform } from '../platform';

/**
 * The nodes of a feature store's workloads (the feature server and the materializers), when
 * the online store is ElastiCache for Redis: a managed node group of their own, whose nodes
 * carry the store's client security group beside the EKS cluster security group. The cache's
 * security group admits that client group only, so no other pod of the cluster (nor any other
 * node) reaches Redis, whatever its NetworkPolicies say.
 *
 * Why nodes and not security groups for pods: a `SecurityGroupPolicy` must name security group
 * ids, which exist only after `terraform apply`, while the cluster plane is rendered at synth
 * time and synced by Argo CD from Git (the handoff channel carries values into Secrets, not into
 * a custom resource's spec). A node group's security groups are set by Terraform itself.
 */
export interface FeatureNodesOptions {
  /**
   * EC2 instance types (x86_64: the runtime image's platform). Every feature workload runs on
   * them: choose types whose allocatable CPU and memory hold the largest of `serverResources`
   * and the materialization resources, or those pods stay Pending.
   * @default ['m7i.large']
   */
  readonly instanceTypes?: string[];
  /**
   * Fewest nodes. Two spread the feature server across zones (its PodDisruptionBudget keeps
   * one serving during a node's drain).
   * @default 2
   */
  readonly minSize?: number;
  /** @default 4 */
  readonly maxSize?: number;
  /** @default - minSize */
  readonly desiredSize?: number;
  /**
   * Root volume size in GiB (gp3, encrypted).
   * @default 50
   */
  readonly diskSizeGiB?: number;
}

/** Taint key of a feature store's nodes (value `features-<store>`, effect NoSchedule). */
export const FEATURE_NODES_TAINT_KEY = 'cdk-mlops.io/dedicated';
/** Node label naming the pool a node belongs to (the GPU pools use the same key). */
export const FEATURE_NODES_POOL_LABEL = 'cdk-mlops.io/pool';

const INSTANCE_TYPE_RE = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;
/** Graviton families (a `g` after the generation digit: m7g, c7gn, r8g...). */
const ARM_FAMILY_RE = /^[a-z]+\d+g[a-z]*\./;

/** @internal Validates `onlineStore.clientNodes`. */
export function validateFeatureNodes(v: PropValidator, o: FeatureNodesOptions): void {
  const at = 'onlineStore.clientNodes';
  const types = o.instanceTypes ?? ['m7i.large'];
  v.check(types.length > 0, `${at}.instanceTypes`, o.instanceTypes, 'must list at least one instance type');
  types.forEach((t, i) => {
    v.check(INSTANCE_TYPE_RE.test(t), `${at}.instanceTypes[${i}]`, t, "must be an EC2 instance type like 'm7i.large'");
    v.check(!ARM_FAMILY_RE.test(t), `${at}.instanceTypes[${i}]`, t, 'must be an x86_64 instance type (the runtime image is built for x86_64), not Graviton');
  });
  const min = o.minSize ?? 2;
  const max = o.maxSize ?? Math.max(4, min);
  const desired = o.desiredSize ?? min;
  v.check(Number.isInteger(min) && min >= 1, `${at}.minSize`, min, 'must be a whole number >= 1 (the feature server runs on these nodes)');
  v.check(Number.isInteger(max) && max >= min && max <= 100, `${at}.maxSize`, max, `must be a whole number from 'minSize' (${min}) to 100`);
  v.check(Number.isInteger(desired) && desired >= min && desired <= max, `${at}.desiredSize`, desired, `must lie between 'minSize' (${min}) and 'maxSize' (${max})`);
  const disk = o.diskSizeGiB ?? 50;
  v.check(Number.isInteger(disk) && disk >= 20 && disk <= 16384, `${at}.diskSizeGiB`, disk, 'must be a whole number of GiB from 20 to 16384');
}

/** What the store's workloads need to land on the nodes, and what was created for them. */
export interface FeatureNodes {
  /** The client security group: the only one the cache admits. */
  readonly securityGroup: SecurityGroup;
  readonly nodeGroup: EksNodeGroup;
  readonly nodeRole: IamRole;
  /** Name of the client security group. */
  readonly securityGroupName: string;
  /** `features-<store>`: the pool label's value and the taint's value. */
  readonly poolName: string;
  readonly nodeSelector: Record<string, string>;
  readonly tolerations: k8s.Toleration[];
}

/** @internal Creates the client security group and the node group of a feature store. */
export function deployFeatureNodes(scope: Construct, platform: MlPlatform, storeName: string, o: FeatureNodesOptions): FeatureNodes {
  const poolName = `features-${storeName}`;
  const groupId = platform.resourceName(40, 'features', storeName);
  const securityGroupName = `${groupId}-clients`;
  const securityGroup = new SecurityGroup(scope, 'client-security-group', {
    name: securityGroupName,
    description: `cdk-mlops feature store ${storeName}: nodes of the feature workloads (the online store admits this group only)`,
    vpcId: platform.network.vpcId,
    // A marker group: no rule of its own. The nodes' traffic is allowed by the cluster security
    // group they also carry; the cache's group admits sources carrying this one.
    ingress: [],
    egress: [],
    tags: { Name: securityGroupName },
  });
  const nodeRole = new IamRole(scope, 'node-role', {
    name: platform.resourceName(64, 'features', storeName, 'nodes'),
    assumeRolePolicy: JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
    }),
  });
  ['AmazonEKSWorkerNodePolicy', 'AmazonEC2ContainerRegistryPullOnly', 'AmazonEKS_CNI_Policy'].forEach((p) =>
    new IamRolePolicyAttachment(scope, `node-${p}`, { role: nodeRole.name, policyArn: `arn:aws:iam::aws:policy/${p}` }));
  const launchTemplate = new LaunchTemplate(scope, 'launch-template', {
    name: platform.resourceName(128, 'features', storeName),
    // IMDSv2 only, one hop: pods cannot reach the node's credentials.
    metadataOptions: { httpEndpoint: 'enabled', httpTokens: 'required', httpPutResponseHopLimit: 1 },
    // With security groups in the launch template EKS adds none: the cluster group (kubelet,
    // DNS, pod-to-pod, the control plane) and the client group, both named here.
    vpcSecurityGroupIds: [platform.cluster.clusterSecurityGroupId, securityGroup.id],
    tagSpecifications: ['instance', 'volume', 'network-interface'].map((resourceType) => ({ resourceType, tags: platform.tags })),
    blockDeviceMappings: [{
      deviceName: '/dev/xvda',
      ebs: { volumeSize: o.diskSizeGiB ?? 50, volumeType: 'gp3', encrypted: 'true', deleteOnTermination: 'true' },
    }],
  });
  const min = o.minSize ?? 2;
  const nodeGroup = new EksNodeGroup(scope, 'nodes', {
    clusterName: platform.cluster.clusterName,
    nodeGroupName: poolName.slice(0, 63),
    nodeRoleArn: nodeRole.arn,
    subnetIds: platform.network.privateSubnetIds,
    amiType: 'AL2023_x86_64_STANDARD',
    capacityType: 'ON_DEMAND',
    instanceTypes: o.instanceTypes ?? ['m7i.large'],
    scalingConfig: { minSize: min, maxSize: o.maxSize ?? Math.max(4, min), desiredSize: o.desiredSize ?? min },
    updateConfig: { maxUnavailable: 1 },
    launchTemplate: { id: launchTemplate.id, version: Token.asString(launchTemplate.latestVersion) },
    labels: { [FEATURE_NODES_POOL_LABEL]: poolName },
    taint: [{ key: FEATURE_NODES_TAINT_KEY, value: poolName, effect: 'NO_SCHEDULE' }],
    lifecycle: { ignoreChanges: ['scaling_config[0].desired_size'] },
    dependsOn: platform.cluster.eksCluster ? [platform.cluster.eksCluster] : undefined,
  });
  return {
    securityGroup,
    securityGroupName,
    nodeGroup,
    nodeRole,
    poolName,
    nodeSelector: { [FEATURE_NODES_POOL_LABEL]: poolName },
    tolerations: [{ key: FEATURE_NODES_TAINT_KEY, operator: 'Equal', value: poolName, effect: 'NoSchedule' }],
  };
}

/** The CEL of the two admission policies, for tests that evaluate it. */
export interface FeatureNodesAdmissionCel {
  /** Conditions under which both policies apply (everyone but the exempt requests). */
  readonly matchConditions: readonly { readonly name: string; readonly expression: string }[];
  /** The toleration policy's validation. */
  readonly toleration: { readonly expression: string; readonly message: string };
  /** The node-name policy's validation (`params` is a Node of the pool). */
  readonly nodeName: { readonly expression: string; readonly message: string };
}

/** The admission CEL for a store's nodes and workloads. */
export function featureNodesAdmissionCel(o: { poolName: string; namespace: string; serviceAccounts: readonly string[] }): FeatureNodesAdmissionCel {
  const sas = [...o.serviceAccounts].sort().map((s) => `'${s}'`).join(', ');
  // A toleration tolerates the taint when its effect is empty or NoSchedule and it either has an
  // empty key with operator Exists (tolerates everything) or the taint's key with Exists or
  // with Equal (the default operator) and the taint's value.
  const tolerates = "(!has(t.effect) || t.effect == '' || t.effect == 'NoSchedule') && ("
    + "(!has(t.key) || t.key == '') ? (has(t.operator) && t.operator == 'Exists') : "
    + `(t.key == '${FEATURE_NODES_TAINT_KEY}' && ((has(t.operator) && t.operator == 'Exists') `
    + `|| ((!has(t.operator) || t.operator == 'Equal') && has(t.value) && t.value == '${o.poolName}'))))`;
  const who = `the feature workloads (ServiceAccounts ${o.serviceAccounts.join(', ')} in namespace ${o.namespace})`;
  return {
    matchConditions: [
      // the cluster's own agents and add-ons (aws-node, kube-proxy, CoreDNS...): cluster admins' namespace
      { name: 'not-in-kube-system', expression: "request.namespace != 'kube-system'" },
      // DaemonSet pods run on every node by design (node agents); who may create DaemonSets is an RBAC decision
      { name: 'not-by-the-daemonset-controller', expression: "request.userInfo.username != 'system:serviceaccount:kube-system:daemon-set-controller'" },
      // mirror pods of static pods, created by the kubelet of their node
      { name: 'not-by-a-kubelet', expression: "!request.userInfo.username.startsWith('system:node:')" },
      {
        name: 'not-a-feature-workload',
        expression: `!(request.namespace == '${o.namespace}' && has(object.spec.serviceAccountName) && object.spec.serviceAccountName in [${sas}])`,
      },
    ],
    toleration: {
      expression: `!has(object.spec.tolerations) || !object.spec.tolerations.exists(t, ${tolerates})`,
      message: `only ${who} may tolerate the taint ${FEATURE_NODES_TAINT_KEY}=${o.poolName}:NoSchedule: `
        + 'the security group of those nodes is the one the online store admits',
    },
    nodeName: {
      expression: '!has(object.spec.nodeName) || object.spec.nodeName != params.metadata.name',
      message: `only ${who} may be bound to a node of the pool ${o.poolName} by spec.nodeName: `
        + 'the security group of those nodes is the one the online store admits',
    },
  };
}

/** Options of {@link FeatureNodesAdmission}. */
export interface FeatureNodesAdmissionProps {
  /** Name prefix of the policies and bindings (cluster-scoped: unique in the cluster). */
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly poolName: string;
  readonly namespace: string;
  /** ServiceAccounts of the feature workloads. */
  readonly serviceAccounts: readonly string[];
}

/**
 * Keeps every pod but the feature workloads off a feature store's nodes. The taint keeps pods
 * away only as long as they do not tolerate it, and `spec.nodeName` skips the scheduler (and so
 * NoSchedule taints) altogether; the nodes carry the security group the online store admits, so
 * two ValidatingAdmissionPolicies (GA since Kubernetes 1.30) deny, for every pod outside the
 * feature workloads:
 *
 * - a toleration of the taint (its key and value, its key with `Exists`, or an empty key with
 *   `Exists`), at CREATE and UPDATE (tolerations may be added to a running pod);
 * - a `spec.nodeName` naming a node of the pool, at CREATE (the nodes are the parameters,
 *   selected by the pool label, so the policy follows the nodes as they come and go).
 *
 * Exempt: pods in `kube-system`, pods the DaemonSet controller creates (node agents run on
 * every node) and mirror pods (created by kubelets).
 */
export class FeatureNodesAdmission extends Construct {
  public readonly cel: FeatureNodesAdmissionCel;
  public readonly tolerationPolicy: k8s.KubeValidatingAdmissionPolicy;
  public readonly nodeNamePolicy: k8s.KubeValidatingAdmissionPolicy;

  constructor(scope: Construct, id: string, props: FeatureNodesAdmissionProps) {
    super(scope, id);
    this.cel = featureNodesAdmissionCel(props);
    const matchConditions = this.cel.matchConditions.map((c) => ({ ...c }));
    const tolerationName = `${props.name}-tolerations`;
    this.tolerationPolicy = new k8s.KubeValidatingAdmissionPolicy(this, 'toleration-policy', {
      metadata: { name: tolerationName, labels: props.labels },
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['pods'] }] },
        matchConditions,
        validations: [{ expression: this.cel.toleration.expression, message: this.cel.toleration.message, reason: 'Forbidden' }],
      },
    });
    new k8s.KubeValidatingAdmissionPolicyBinding(this, 'toleration-binding', {
      metadata: { name: tolerationName, labels: props.labels },
      spec: { policyName: tolerationName, validationActions: ['Deny'] },
    });
    const nodeNameName = `${props.name}-node-name`;
    this.nodeNamePolicy = new k8s.KubeValidatingAdmissionPolicy(this, 'node-name-policy', {
      metadata: { name: nodeNameName, labels: props.labels },
      spec: {
        failurePolicy: 'Fail',
        paramKind: { apiVersion: 'v1', kind: 'Node' },
        matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }] },
        matchConditions,
        validations: [{ expression: this.cel.nodeName.expression, message: this.cel.nodeName.message, reason: 'Forbidden' }],
      },
    });
    new k8s.KubeValidatingAdmissionPolicyBinding(this, 'node-name-binding', {
      metadata: { name: nodeNameName, labels: props.labels },
      spec: {
        policyName: nodeNameName,
        validationActions: ['Deny'],
        // evaluated once per node of the pool; no node yet: nothing to be bound to
        paramRef: { selector: { matchLabels: { [FEATURE_NODES_POOL_LABEL]: props.poolName } }, parameterNotFoundAction: 'Allow' },
      },
    });
  }
}
