import { Construct } from 'constructs';
import { KARPENTER_NAMESPACE, KARPENTER_SERVICE_ACCOUNT, karpenterInterruptionQueueName } from './karpenter-names';
import { CloudwatchEventRule, CloudwatchEventTarget, SqsQueue, SqsQueuePolicy } from '../cloud/cdktf';
import { PolicyStatement, WorkloadRole } from '../cloud/workload-identity';
import { MlPlatform } from '../platform';
import { EC2_UNSCOPABLE_READ_ACTIONS } from '../policy/rules';

export { KARPENTER_NAMESPACE, KARPENTER_SERVICE_ACCOUNT, karpenterInterruptionQueueName } from './karpenter-names';

/**
 * The EventBridge events Karpenter handles (cordon and drain before the instance goes), by rule
 * suffix: as in Karpenter's reference CloudFormation.
 * @see https://karpenter.sh/docs/reference/cloudformation/
 */
export const KARPENTER_INTERRUPTION_EVENTS: Readonly<Record<string, { readonly source: string; readonly detailType: string }>> = {
  'health': { source: 'aws.health', detailType: 'AWS Health Event' },
  'spot-interruption': { source: 'aws.ec2', detailType: 'EC2 Spot Instance Interruption Warning' },
  'rebalance': { source: 'aws.ec2', detailType: 'EC2 Instance Rebalance Recommendation' },
  'instance-state-change': { source: 'aws.ec2', detailType: 'EC2 Instance State-change Notification' },
};

/**
 * EC2 actions IAM cannot scope to a resource (read-only, regional): granted on `*`, limited to
 * the platform's region.
 */
export const KARPENTER_REGIONAL_READ_ACTIONS = EC2_UNSCOPABLE_READ_ACTIONS;

const controllers = new WeakMap<MlPlatform, KarpenterController>();

/**
 * The cloud half of the Karpenter controller of a platform's cluster, created once by the first
 * `GpuTrainingPool` with Karpenter capacity (`KarpenterController.of(platform)`):
 *
 * - an IAM role only EKS Pod Identity can assume, bound to `karpenter/karpenter` (the namespace
 *   and ServiceAccount of `ClusterAddon.karpenter()`), with the least-privilege policy of
 *   Karpenter's reference CloudFormation: instances, fleets and launch templates only with the
 *   cluster's `kubernetes.io/cluster/<cluster>: owned` and a `karpenter.sh/nodepool` tag, deletion
 *   and tagging only of what carries them, `iam:PassRole` only for the GPU pools' node roles
 *   (to EC2), instance profiles only when tagged for this cluster and region, the interruption
 *   queue only, `ssm:GetParameter` on the public AMI parameters, `eks:DescribeCluster` on this
 *   cluster; read-only EC2 calls (which IAM cannot scope) only in the platform's region, and
 *   `pricing:GetProducts`;
 * - the interruption queue `<platform>-<env>-karpenter` (SQS-managed encryption, 5 minutes
 *   retention) whose policy admits only EventBridge (from the four rules below) and SQS, and
 *   denies any request without TLS;
 * - EventBridge rules for Spot interruption warnings, rebalance recommendations, instance
 *   state changes and AWS Health events, each targeting the queue.
 *
 * The nodes' role and EKS access entry belong to each pool (`GpuTrainingPool.nodeRole`).
 */
export class KarpenterController extends Construct {
  /** The platform's controller, created on first use. */
  public static of(platform: MlPlatform): KarpenterController {
    let c = controllers.get(platform);
    if (!c) {
      c = new KarpenterController(platform);
      controllers.set(platform, c);
    }
    return c;
  }

  /** The controller's IAM role (Pod Identity). */
  public readonly role: WorkloadRole;
  /** The interruption queue. */
  public readonly queue: SqsQueue;
  /** `settings.interruptionQueue` of the Karpenter chart. */
  public readonly queueName: string;
  /** Deterministic ARN of the queue. */
  public readonly queueArn: string;
  /** The EventBridge rules, by event (keys of {@link KARPENTER_INTERRUPTION_EVENTS}). */
  public readonly rules: Readonly<Record<string, CloudwatchEventRule>>;
  private readonly nodeRoleArns: string[] = [];

  private constructor(platform: MlPlatform) {
    super(platform.cloudStack, 'karpenter');
    const { account, region } = platform;
    const clusterName = platform.cluster.clusterName;
    this.queueName = karpenterInterruptionQueueName(platform.platformName, platform.environment);
    this.queueArn = `arn:aws:sqs:${region}:${account}:${this.queueName}`;

    this.queue = new SqsQueue(this, 'interruption-queue', {
      name: this.queueName,
      messageRetentionSeconds: 300,
      sqsManagedSseEnabled: true,
    });
    const rules: Record<string, CloudwatchEventRule> = {};
    for (const [key, e] of Object.entries(KARPENTER_INTERRUPTION_EVENTS)) {
      const rule = new CloudwatchEventRule(this, `rule-${key}`, {
        name: platform.resourceName(64, 'karpenter', key),
        description: `Karpenter of ${clusterName}: ${e.detailType} events to ${this.queueName}`,
        eventPattern: JSON.stringify({ 'source': [e.source], 'detail-type': [e.detailType] }),
      });
      new CloudwatchEventTarget(this, `target-${key}`, { rule: rule.name, targetId: 'KarpenterInterruptionQueue', arn: this.queue.arn });
      rules[key] = rule;
    }
    this.rules = rules;
    const ruleArns = Object.keys(KARPENTER_INTERRUPTION_EVENTS).map((key) => `arn:aws:events:${region}:${account}:rule/${platform.resourceName(64, 'karpenter', key)}`);
    new SqsQueuePolicy(this, 'interruption-queue-policy', {
      queueUrl: this.queue.url,
      policy: JSON.stringify({
        Version: '2012-10-17',
        Id: 'KarpenterInterruptionQueue',
        Statement: [
          {
            Sid: 'EventBridgeRulesOfThisController',
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Action: 'sqs:SendMessage',
            Resource: this.queueArn,
            Condition: { ArnEquals: { 'aws:SourceArn': ruleArns } },
          },
          {
            Sid: 'SqsService',
            Effect: 'Allow',
            Principal: { Service: 'sqs.amazonaws.com' },
            Action: 'sqs:SendMessage',
            Resource: this.queueArn,
          },
          {
            Sid: 'DenyWithoutTls',
            Effect: 'Deny',
            Principal: '*',
            Action: 'sqs:*',
            Resource: this.queueArn,
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          },
        ],
      }),
    });

    this.role = new WorkloadRole(this, 'controller', {
      roleName: platform.resourceName(64, 'karpenter'),
      account,
      clusterName,
      clusterArn: platform.cluster.clusterArn,
      namespace: KARPENTER_NAMESPACE,
      serviceAccountName: KARPENTER_SERVICE_ACCOUNT,
    });
    for (const s of this.statements(clusterName, account, region, platform.cluster.clusterArn)) this.role.addToPolicy(s);
  }

  /** Lets the controller pass a node role to the instances it launches (one per GPU pool). */
  public allowNodeRole(roleArn: string): void {
    if (this.nodeRoleArns.includes(roleArn)) return;
    this.nodeRoleArns.push(roleArn);
    this.role.addToPolicy({
      Sid: `AllowPassingNodeRole${this.nodeRoleArns.length}`,
      Effect: 'Allow',
      Action: 'iam:PassRole',
      Resource: roleArn,
      Condition: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
    });
  }

  /** The node roles the controller may pass. */
  public get passableNodeRoleArns(): readonly string[] {
    return this.nodeRoleArns;
  }

  private statements(clusterName: string, account: string, region: string, clusterArn: string): PolicyStatement[] {
    const ec2 = (type: string, owner = '*') => `arn:aws:ec2:${region}:${owner}:${type}/*`;
    const clusterTag = `kubernetes.io/cluster/${clusterName}`;
    const launched = ['fleet', 'instance', 'volume', 'network-interface', 'launch-template', 'spot-instances-request'].map((t) => ec2(t));
    const instanceProfiles = `arn:aws:iam::${account}:instance-profile/*`;
    return [
      {
        Sid: 'AllowScopedEC2InstanceAccessActions',
        Effect: 'Allow',
        Action: ['ec2:RunInstances', 'ec2:CreateFleet'],
        Resource: [
          `arn:aws:ec2:${region}::image/*`, `arn:aws:ec2:${region}::snapshot/*`,
          ec2('security-group'), ec2('subnet'), ec2('capacity-reservation'), ec2('spot-instances-request'),
        ],
      },
      {
        Sid: 'AllowScopedEC2LaunchTemplateAccessActions',
        Effect: 'Allow',
        Action: ['ec2:RunInstances', 'ec2:CreateFleet'],
        Resource: ec2('launch-template'),
        Condition: { StringEquals: { [`aws:ResourceTag/${clusterTag}`]: 'owned' }, StringLike: { 'aws:ResourceTag/karpenter.sh/nodepool': '*' } },
      },
      {
        Sid: 'AllowScopedEC2InstanceActionsWithTags',
        Effect: 'Allow',
        Action: ['ec2:RunInstances', 'ec2:CreateFleet', 'ec2:CreateLaunchTemplate'],
        Resource: launched,
        Condition: {
          StringEquals: { [`aws:RequestTag/${clusterTag}`]: 'owned', 'aws:RequestTag/eks:eks-cluster-name': clusterName },
          StringLike: { 'aws:RequestTag/karpenter.sh/nodepool': '*' },
        },
      },
      {
        Sid: 'AllowScopedResourceCreationTagging',
        Effect: 'Allow',
        Action: 'ec2:CreateTags',
        Resource: launched,
        Condition: {
          StringEquals: {
            [`aws:RequestTag/${clusterTag}`]: 'owned',
            'aws:RequestTag/eks:eks-cluster-name': clusterName,
            'ec2:CreateAction': ['RunInstances', 'CreateFleet', 'CreateLaunchTemplate'],
          },
          StringLike: { 'aws:RequestTag/karpenter.sh/nodepool': '*' },
        },
      },
      {
        Sid: 'AllowScopedResourceTagging',
        Effect: 'Allow',
        Action: 'ec2:CreateTags',
        Resource: ec2('instance'),
        Condition: {
          'StringEquals': { [`aws:ResourceTag/${clusterTag}`]: 'owned' },
          'StringLike': { 'aws:ResourceTag/karpenter.sh/nodepool': '*' },
          'StringEqualsIfExists': { 'aws:RequestTag/eks:eks-cluster-name': clusterName },
          'ForAllValues:StringEquals': { 'aws:TagKeys': ['eks:eks-cluster-name', 'karpenter.sh/nodeclaim', 'Name'] },
        },
      },
      {
        Sid: 'AllowScopedDeletion',
        Effect: 'Allow',
        Action: ['ec2:TerminateInstances', 'ec2:DeleteLaunchTemplate'],
        Resource: [ec2('instance'), ec2('launch-template')],
        Condition: { StringEquals: { [`aws:ResourceTag/${clusterTag}`]: 'owned' }, StringLike: { 'aws:ResourceTag/karpenter.sh/nodepool': '*' } },
      },
      {
        Sid: 'AllowRegionalReadActions',
        Effect: 'Allow',
        Action: [...KARPENTER_REGIONAL_READ_ACTIONS],
        Resource: '*',
        Condition: { StringEquals: { 'aws:RequestedRegion': region } },
      },
      {
        Sid: 'AllowSSMReadActions',
        Effect: 'Allow',
        Action: 'ssm:GetParameter',
        Resource: `arn:aws:ssm:${region}::parameter/aws/service/*`,
      },
      {
        Sid: 'AllowPricingReadActions',
        Effect: 'Allow',
        Action: 'pricing:GetProducts',
        Resource: '*',
      },
      {
        Sid: 'AllowInterruptionQueueActions',
        Effect: 'Allow',
        Action: ['sqs:DeleteMessage', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage'],
        Resource: this.queueArn,
      },
      {
        Sid: 'AllowScopedInstanceProfileCreationActions',
        Effect: 'Allow',
        Action: 'iam:CreateInstanceProfile',
        Resource: instanceProfiles,
        Condition: {
          StringEquals: {
            [`aws:RequestTag/${clusterTag}`]: 'owned', 'aws:RequestTag/eks:eks-cluster-name': clusterName, 'aws:RequestTag/topology.kubernetes.io/region': region,
          },
          StringLike: { 'aws:RequestTag/karpenter.k8s.aws/ec2nodeclass': '*' },
        },
      },
      {
        Sid: 'AllowScopedInstanceProfileTagActions',
        Effect: 'Allow',
        Action: 'iam:TagInstanceProfile',
        Resource: instanceProfiles,
        Condition: {
          StringEquals: {
            [`aws:ResourceTag/${clusterTag}`]: 'owned',
            'aws:ResourceTag/topology.kubernetes.io/region': region,
            [`aws:RequestTag/${clusterTag}`]: 'owned',
            'aws:RequestTag/eks:eks-cluster-name': clusterName,
            'aws:RequestTag/topology.kubernetes.io/region': region,
          },
          StringLike: { 'aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass': '*', 'aws:RequestTag/karpenter.k8s.aws/ec2nodeclass': '*' },
        },
      },
      {
        Sid: 'AllowScopedInstanceProfileActions',
        Effect: 'Allow',
        Action: ['iam:AddRoleToInstanceProfile', 'iam:RemoveRoleFromInstanceProfile', 'iam:DeleteInstanceProfile'],
        Resource: instanceProfiles,
        Condition: {
          StringEquals: { [`aws:ResourceTag/${clusterTag}`]: 'owned', 'aws:ResourceTag/topology.kubernetes.io/region': region },
          StringLike: { 'aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass': '*' },
        },
      },
      {
        Sid: 'AllowInstanceProfileReadActions',
        Effect: 'Allow',
        Action: 'iam:GetInstanceProfile',
        Resource: instanceProfiles,
      },
      {
        Sid: 'AllowAPIServerEndpointDiscovery',
        Effect: 'Allow',
        Action: 'eks:DescribeCluster',
        Resource: clusterArn,
      },
    ];
  }
}
