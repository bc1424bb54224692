import {
  checkTerraform, Cluster, GpuCapacity, GpuTrainingPool, KARPENTER_NAMESPACE, KARPENTER_SERVICE_ACCOUNT, KarpenterController, karpenterInterruptionQueueName,
} from '../../src';
import { RESOURCE_WILDCARD_ACTIONS } from '../../src/constructs/policy/rules';
import { compareStrings } from '../../src/util/compare';
import { newPlatform, synth, tfResources } from '../support/platform';

type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any
type Statement = { Sid: string; Effect: string; Action: string | string[]; Resource: string | string[]; Condition?: Record<string, Record<string, unknown>>; Principal?: unknown };

const CLUSTER = 'acme-ml-dev';
const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const QUEUE_ARN = `arn:aws:sqs:${REGION}:${ACCOUNT}:acme-ml-dev-karpenter`;

/** A platform with two Karpenter pools and one managed node group pool. */
function build() {
  const { platform } = newPlatform();
  const a = new GpuTrainingPool(platform, 'gpu');
  const b = new GpuTrainingPool(platform, 'big', { capacity: GpuCapacity.karpenter({ instanceFamilies: ['p5'] }) });
  const mng = new GpuTrainingPool(platform, 'mng', { capacity: GpuCapacity.managedNodeGroup() });
  return { platform, a, b, mng, s: synth(platform) };
}

function only<T>(record: Record<string, T>, fragment: string): [string, T] {
  const entries = Object.entries(record).filter(([k]) => k.includes(fragment));
  expect(entries.map(([k]) => k)).toHaveLength(1);
  return entries[0];
}

describe('KarpenterController: the cloud half of Karpenter, created by the Karpenter pools', () => {
  const { platform, a, b, mng, s } = build();
  const roles = tfResources(s, 'aws_iam_role');
  const [, role] = only(roles, 'karpenter');
  const [, policy] = only(tfResources(s, 'aws_iam_role_policy'), 'karpenter');
  const statements = JSON.parse(policy.policy as string).Statement as Statement[];
  const sid = (id: string) => {
    const st = statements.find((x) => x.Sid === id);
    if (!st) throw new Error(`no statement ${id} in ${statements.map((x) => x.Sid).join(', ')}`);
    return st;
  };

  test('snapshot of its Terraform resources', () => {
    const mine = (type: string) => Object.fromEntries(Object.entries(tfResources(s, type)).filter(([k]) => k.startsWith('karpenter')));
    expect(Object.fromEntries(['aws_iam_role', 'aws_iam_role_policy', 'aws_eks_pod_identity_association', 'aws_sqs_queue', 'aws_sqs_queue_policy',
      'aws_cloudwatch_event_rule', 'aws_cloudwatch_event_target'].map((t) => [t, mine(t)]))).toMatchSnapshot();
  });

  test('one controller per platform, shared by the Karpenter pools; a managed node group pool has none', () => {
    expect(a.karpenter).toBeInstanceOf(KarpenterController);
    expect(b.karpenter).toBe(a.karpenter);
    expect(KarpenterController.of(platform)).toBe(a.karpenter);
    expect(mng.karpenter).toBeUndefined();
    expect(Object.keys(tfResources(s, 'aws_sqs_queue'))).toHaveLength(1);
    expect(Object.keys(roles).filter((k) => k.includes('karpenter'))).toHaveLength(1);
  });

  test('no managed node group only: no controller at all', () => {
    const { platform: p } = newPlatform();
    new GpuTrainingPool(p, 'mng', { capacity: GpuCapacity.managedNodeGroup() });
    const out = synth(p);
    expect(tfResources(out, 'aws_sqs_queue')).toEqual({});
    expect(Object.keys(tfResources(out, 'aws_iam_role')).filter((k) => k.includes('karpenter'))).toEqual([]);
  });

  test('the role: only EKS Pod Identity of this cluster and account, bound to karpenter/karpenter', () => {
    expect(role.name).toBe('acme-ml-dev-karpenter');
    expect(JSON.parse(role.assume_role_policy as string).Statement).toEqual([{
      Effect: 'Allow',
      Principal: { Service: 'pods.eks.amazonaws.com' },
      Action: ['sts:AssumeRole', 'sts:TagSession'],
      Condition: { StringEquals: { 'aws:SourceAccount': ACCOUNT }, ArnEquals: { 'aws:SourceArn': `arn:aws:eks:${REGION}:${ACCOUNT}:cluster/${CLUSTER}` } },
    }]);
    const [, assoc] = only(tfResources(s, 'aws_eks_pod_identity_association'), 'karpenter');
    expect(assoc).toMatchObject({ cluster_name: CLUSTER, namespace: KARPENTER_NAMESPACE, service_account: KARPENTER_SERVICE_ACCOUNT });
    expect([KARPENTER_NAMESPACE, KARPENTER_SERVICE_ACCOUNT]).toEqual(['karpenter', 'karpenter']);
  });

  test('EC2: launching, tagging and deleting only with the cluster tag and a NodePool tag', () => {
    const clusterOwned = { [`aws:RequestTag/kubernetes.io/cluster/${CLUSTER}`]: 'owned' };
    const withTags = sid('AllowScopedEC2InstanceActionsWithTags');
    expect(withTags.Action).toEqual(['ec2:RunInstances', 'ec2:CreateFleet', 'ec2:CreateLaunchTemplate']);
    expect(withTags.Condition).toEqual({
      StringEquals: { ...clusterOwned, 'aws:RequestTag/eks:eks-cluster-name': CLUSTER },
      StringLike: { 'aws:RequestTag/karpenter.sh/nodepool': '*' },
    });
    expect(withTags.Resource).toContain(`arn:aws:ec2:${REGION}:*:instance/*`);
    expect(sid('AllowScopedResourceCreationTagging').Condition!.StringEquals).toMatchObject({ ...clusterOwned, 'ec2:CreateAction': ['RunInstances', 'CreateFleet', 'CreateLaunchTemplate'] });
    const tagging = sid('AllowScopedResourceTagging');
    expect(tagging.Resource).toBe(`arn:aws:ec2:${REGION}:*:instance/*`);
    expect(tagging.Condition!['ForAllValues:StringEquals']).toEqual({ 'aws:TagKeys': ['eks:eks-cluster-name', 'karpenter.sh/nodeclaim', 'Name'] });
    const deletion = sid('AllowScopedDeletion');
    expect(deletion.Action).toEqual(['ec2:TerminateInstances', 'ec2:DeleteLaunchTemplate']);
    expect(deletion.Condition).toEqual({ StringEquals: { [`aws:ResourceTag/kubernetes.io/cluster/${CLUSTER}`]: 'owned' }, StringLike: { 'aws:ResourceTag/karpenter.sh/nodepool': '*' } });
    expect(sid('AllowScopedEC2LaunchTemplateAccessActions').Condition!.StringEquals).toEqual({ [`aws:ResourceTag/kubernetes.io/cluster/${CLUSTER}`]: 'owned' });
    // every ARN is in the platform's region
    for (const st of statements.filter((x) => String(x.Action).includes('ec2:'))) {
      for (const r of [st.Resource].flat()) expect(r === '*' || r.startsWith(`arn:aws:ec2:${REGION}:`)).toBe(true);
    }
  });

  test('iam:PassRole only for the Karpenter pools\' node roles, only to EC2', () => {
    const pass = statements.filter((x) => x.Action === 'iam:PassRole');
    expect(pass.map((x) => x.Resource)).toEqual(a.karpenter!.passableNodeRoleArns);
    expect(a.karpenter!.passableNodeRoleArns).toEqual([`arn:aws:iam::${ACCOUNT}:role/acme-ml-dev-gpu-gpu-nodes`, `arn:aws:iam::${ACCOUNT}:role/acme-ml-dev-gpu-big-nodes`]);
    // the pools' roles are those names
    expect(Object.values(roles).map((r) => r.name)).toEqual(expect.arrayContaining(['acme-ml-dev-gpu-gpu-nodes', 'acme-ml-dev-gpu-big-nodes']));
    for (const st of pass) expect(st.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } });
    // the managed node group's role is not passable
    expect(JSON.stringify(statements)).not.toContain('gpu-mng-nodes');
  });

  test('SQS only on the interruption queue, SSM only on the public AMI parameters, eks:DescribeCluster only on this cluster', () => {
    expect(sid('AllowInterruptionQueueActions')).toMatchObject({ Action: ['sqs:DeleteMessage', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage'], Resource: QUEUE_ARN });
    expect(sid('AllowSSMReadActions')).toMatchObject({ Action: 'ssm:GetParameter', Resource: `arn:aws:ssm:${REGION}::parameter/aws/service/*` });
    expect(sid('AllowAPIServerEndpointDiscovery')).toMatchObject({ Action: 'eks:DescribeCluster', Resource: `arn:aws:eks:${REGION}:${ACCOUNT}:cluster/${CLUSTER}` });
    expect(sid('AllowPricingReadActions')).toMatchObject({ Action: 'pricing:GetProducts', Resource: '*' });
  });

  test("instance profiles only in this account and tagged for this cluster and region; '*' only for unscopable reads in this region", () => {
    for (const id of ['AllowScopedInstanceProfileCreationActions', 'AllowScopedInstanceProfileTagActions', 'AllowScopedInstanceProfileActions', 'AllowInstanceProfileReadActions']) {
      expect(sid(id).Resource).toBe(`arn:aws:iam::${ACCOUNT}:instance-profile/*`);
    }
    expect(sid('AllowScopedInstanceProfileCreationActions').Condition).toEqual({
      StringEquals: { [`aws:RequestTag/kubernetes.io/cluster/${CLUSTER}`]: 'owned', 'aws:RequestTag/eks:eks-cluster-name': CLUSTER, 'aws:RequestTag/topology.kubernetes.io/region': REGION },
      StringLike: { 'aws:RequestTag/karpenter.k8s.aws/ec2nodeclass': '*' },
    });
    const reads = sid('AllowRegionalReadActions');
    expect(reads.Condition).toEqual({ StringEquals: { 'aws:RequestedRegion': REGION } });
    const wildcard = statements.filter((x) => [x.Resource].flat().includes('*'));
    expect(wildcard.map((x) => x.Sid)).toEqual(['AllowRegionalReadActions', 'AllowPricingReadActions']);
    for (const st of wildcard) for (const action of [st.Action].flat()) expect(RESOURCE_WILDCARD_ACTIONS.has(action)).toBe(true);
    expect(statements.every((x) => x.Effect === 'Allow' && ![x.Action].flat().some((act) => act.endsWith('*')))).toBe(true);
  });

  test('the policy rules pass on it with no suppression', () => {
    expect(checkTerraform(s.terraform).filter((f) => f.target.includes('karpenter'))).toEqual([]);
    expect(s.suppressed.filter((f) => f.target.includes('karpenter') || f.ruleId.startsWith('TF-'))).toEqual([]);
  });

  test('the interruption queue: SQS-managed encryption, 5 minutes retention, EventBridge (from its rules) and SQS only, TLS only', () => {
    const [, queue] = only(tfResources(s, 'aws_sqs_queue'), 'karpenter');
    expect(queue).toMatchObject({ name: karpenterInterruptionQueueName('acme-ml', 'dev'), sqs_managed_sse_enabled: true, message_retention_seconds: 300 });
    expect(queue.name).toBe('acme-ml-dev-karpenter');
    const [queueKey] = only(tfResources(s, 'aws_sqs_queue'), 'karpenter');
    const [, qp] = only(tfResources(s, 'aws_sqs_queue_policy'), 'karpenter');
    expect(qp.queue_url).toBe(`\${aws_sqs_queue.${queueKey}.url}`);
    const doc = JSON.parse(qp.policy as string) as { Statement: Statement[] };
    const allows = doc.Statement.filter((x) => x.Effect === 'Allow');
    expect(allows.map((x) => x.Principal)).toEqual([{ Service: 'events.amazonaws.com' }, { Service: 'sqs.amazonaws.com' }]);
    for (const st of allows) expect(st).toMatchObject({ Action: 'sqs:SendMessage', Resource: QUEUE_ARN });
    const ruleNames = Object.values(tfResources(s, 'aws_cloudwatch_event_rule')).map((r) => r.name as string).sort();
    expect(([...(allows[0].Condition!.ArnEquals['aws:SourceArn'] as string[])]).sort()).toEqual(ruleNames.map((n) => `arn:aws:events:${REGION}:${ACCOUNT}:rule/${n}`));
    expect(doc.Statement.filter((x) => x.Effect === 'Deny')).toEqual([{
      Sid: 'DenyWithoutTls', Effect: 'Deny', Principal: '*', Action: 'sqs:*', Resource: QUEUE_ARN, Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    }]);
  });

  test('EventBridge: Spot interruption, rebalance, instance state change and AWS Health events, each to the queue', () => {
    const rules = tfResources(s, 'aws_cloudwatch_event_rule');
    const patterns = Object.values(rules).map((r) => JSON.parse(r.event_pattern as string)).sort((x: Any, y: Any) => compareStrings(x['detail-type'][0], y['detail-type'][0]));
    expect(patterns).toEqual([
      { 'source': ['aws.health'], 'detail-type': ['AWS Health Event'] },
      { 'source': ['aws.ec2'], 'detail-type': ['EC2 Instance Rebalance Recommendation'] },
      { 'source': ['aws.ec2'], 'detail-type': ['EC2 Instance State-change Notification'] },
      { 'source': ['aws.ec2'], 'detail-type': ['EC2 Spot Instance Interruption Warning'] },
    ]);
    const [queueKey] = only(tfResources(s, 'aws_sqs_queue'), 'karpenter');
    const targets = Object.values(tfResources(s, 'aws_cloudwatch_event_target'));
    expect(targets).toHaveLength(4);
    expect(targets.map((t) => t.arn)).toEqual(Array(4).fill(`\${aws_sqs_queue.${queueKey}.arn}`));
    expect(targets.map((t) => /^\$\{aws_cloudwatch_event_rule\.(.+)\.name\}$/.exec(t.rule as string)?.[1]).sort()).toEqual(Object.keys(rules).sort());
  });

  test('an existing cluster: the conditions name that cluster', () => {
    const { platform: p } = newPlatform({ cluster: Cluster.fromExisting({ clusterName: 'shared-eks' }) });
    new GpuTrainingPool(p, 'gpu');
    const out = synth(p);
    const [, pol] = only(tfResources(out, 'aws_iam_role_policy'), 'karpenter');
    const text = pol.policy as string;
    expect(text).toContain('aws:RequestTag/kubernetes.io/cluster/shared-eks');
    expect(text).toContain(`arn:aws:eks:${REGION}:${ACCOUNT}:cluster/shared-eks`);
    expect(text).not.toContain(`cluster/${CLUSTER}`);
    expect(text).not.toContain(`"${CLUSTER}"`);
    // the queue keeps the platform's name (the chart's settings come from the same function)
    expect(Object.values(tfResources(out, 'aws_sqs_queue'))[0].name).toBe('acme-ml-dev-karpenter');
  });
});
