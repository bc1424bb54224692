import './../support/cdktf-matchers';
import {
  Cluster, MlopsValidationError, Network, RuntimeImage, StateBackend,
} from '../../src';
import {
  AwsProvider, EksCluster, KmsKey, S3Bucket, S3BucketPolicy, S3BucketPublicAccessBlock,
  S3BucketServerSideEncryptionConfiguration, S3BucketVersioning, EksNodeGroup, LaunchTemplate, Subnet, NatGateway,
} from '../../src/constructs/cloud/cdktf';
import { PlatformPart } from '../../src/constructs/platform';
import { kubeObjects, newPlatform, synth, tfResources } from '../support/platform';

function newSynth(props: Parameters<typeof newPlatform>[0] = {}) {
  return synth(newPlatform(props).platform);
}

function tfString(props: Parameters<typeof newPlatform>[0] = {}): string {
  return JSON.stringify(synth(newPlatform(props).platform).terraform);
}

describe('MlPlatform: cloud plane defaults', () => {
  const s = synth(newPlatform().platform);
  const tf = JSON.stringify(s.terraform);

  test('snapshot of the default Terraform and Kubernetes output', () => {
    expect(s.terraform).toMatchSnapshot('terraform');
    expect(s.kubernetes).toMatchSnapshot('kubernetes');
  });

  test('provider pins the account and tags every taggable resource through default_tags', () => {
    expect(tf).toHaveProviderWithProperties(AwsProvider, {
      region: 'eu-west-1',
      allowed_account_ids: ['123456789012'],
      default_tags: [{ tags: { 'cdk-mlops:platform': 'acme-ml', 'cdk-mlops:environment': 'dev', 'cdk-mlops:managed-by': 'cdk-mlops' } }],
    });
  });

  test('VPC spans 3 zones with private subnets, NAT per zone, and no public IPs on launch', () => {
    const subnets = Object.values(tfResources(s, 'aws_subnet'));
    const priv = subnets.filter((x) => String((x.tags as Record<string, string>).Name).includes('-private-'));
    expect(priv).toHaveLength(3);
    expect(new Set(priv.map((x) => x.availability_zone)).size).toBe(3);
    expect(subnets.every((x) => x.map_public_ip_on_launch === false)).toBe(true);
    expect(Object.keys(tfResources(s, 'aws_nat_gateway'))).toHaveLength(3);
    expect(tf).toHaveResourceWithProperties(Subnet, { cidr_block: '10.0.0.0/18' });
    expect(tf).toHaveResource(NatGateway);
  });

  test('EKS: private endpoint, KMS-encrypted secrets, all control-plane logs, API auth mode', () => {
    expect(tf).toHaveResourceWithProperties(EksCluster, {
      name: 'acme-ml-dev',
      version: '1.34',
      vpc_config: expect.objectContaining({ endpoint_private_access: true, endpoint_public_access: false }),
      encryption_config: expect.objectContaining({ resources: ['secrets'] }),
      enabled_cluster_log_types: ['api', 'audit', 'authenticator', 'controllerManager', 'scheduler'],
      access_config: expect.objectContaining({ authentication_mode: 'API' }),
    });
    const cluster = Object.values(tfResources(s, 'aws_eks_cluster'))[0];
    expect(JSON.stringify(cluster.encryption_config)).toContain('aws_kms_key.');
  });

  test('KMS key rotates; system node group enforces IMDSv2 with one hop and encrypted disks', () => {
    expect(tf).toHaveResourceWithProperties(KmsKey, { enable_key_rotation: true });
    expect(tf).toHaveResourceWithProperties(LaunchTemplate, {
      metadata_options: expect.objectContaining({ http_tokens: 'required', http_put_response_hop_limit: 1 }),
      block_device_mappings: [expect.objectContaining({ ebs: expect.objectContaining({ encrypted: 'true', volume_type: 'gp3' }) })],
    });
    expect(tf).toHaveResourceWithProperties(EksNodeGroup, { node_group_name: 'system', scaling_config: expect.objectContaining({ min_size: 2, max_size: 6 }) });
    const addons = Object.values(tfResources(s, 'aws_eks_addon')).map((a) => a.addon_name).sort();
    expect(addons).toEqual(['coredns', 'eks-pod-identity-agent', 'kube-proxy', 'vpc-cni']);
  });

  test('the VPC CNI enforces NetworkPolicies (its network policy agent is off unless configured)', () => {
    const byName = Object.fromEntries(Object.values(tfResources(s, 'aws_eks_addon')).map((a) => [a.addon_name, a]));
    expect(JSON.parse(byName['vpc-cni'].configuration_values as string)).toEqual({ enableNetworkPolicy: 'true' });
    expect(byName.coredns.configuration_values).toBeUndefined();
  });

  test('artefact bucket: KMS, versioned, public access blocked, TLS-only, lifecycle', () => {
    expect(tf).toHaveResourceWithProperties(S3Bucket, { bucket: expect.stringMatching(/^acme-ml-dev-artifacts-[0-9a-f]{8}$/), force_destroy: false });
    expect(tf).toHaveResourceWithProperties(S3BucketServerSideEncryptionConfiguration, {
      rule: [{ apply_server_side_encryption_by_default: expect.objectContaining({ sse_algorithm: 'aws:kms' }), bucket_key_enabled: true }],
    });
    expect(tf).toHaveResourceWithProperties(S3BucketPublicAccessBlock, {
      block_public_acls: true, block_public_policy: true, ignore_public_acls: true, restrict_public_buckets: true,
    });
    expect(tf).toHaveResourceWithProperties(S3BucketVersioning, { versioning_configuration: { status: 'Enabled' } });
    const policy = JSON.parse(String(Object.values(tfResources(s, 'aws_s3_bucket_policy'))[0].policy));
    expect(policy.Statement[0]).toMatchObject({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } });
    expect(tf).toHaveResource(S3BucketPolicy);
    const lifecycle = Object.values(tfResources(s, 'aws_s3_bucket_lifecycle_configuration'))[0];
    expect(JSON.stringify(lifecycle)).toContain('"noncurrent_days":90');
  });

  test('VPC flow logs (all traffic, KMS-encrypted group) and an S3 gateway endpoint on the private route tables', () => {
    const flow = Object.values(tfResources(s, 'aws_flow_log'));
    expect(flow).toEqual([expect.objectContaining({ traffic_type: 'ALL', log_destination_type: 'cloud-watch-logs' })]);
    const group = Object.values(tfResources(s, 'aws_cloudwatch_log_group')).find((g) => String(g.name).endsWith('/vpc-flow-logs'));
    expect(String(group?.kms_key_id)).toContain('aws_kms_key.');
    const endpoint = Object.values(tfResources(s, 'aws_vpc_endpoint'))[0];
    expect(endpoint).toMatchObject({ service_name: 'com.amazonaws.eu-west-1.s3', vpc_endpoint_type: 'Gateway' });
    expect(endpoint.route_table_ids).toHaveLength(3);
    expect(Object.keys(tfResources(newSynth({ network: Network.create({ flowLogRetentionDays: 0 }) }), 'aws_flow_log'))).toHaveLength(0);
  });

  test('the EKS cluster role may use the platform key for secrets, and nothing else', () => {
    const kms = Object.values(tfResources(s, 'aws_iam_role_policy')).find((p) => p.name === 'secrets-encryption')!;
    const doc = JSON.parse(String(kms.policy));
    expect(doc.Statement).toEqual([{ Effect: 'Allow', Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ListGrants', 'kms:DescribeKey'], Resource: expect.stringMatching(/^\$\{aws_kms_key\./) }]);
  });

  test('node instances, volumes and interfaces carry the platform tags (default_tags do not reach them)', () => {
    const lt = Object.values(tfResources(s, 'aws_launch_template'))[0];
    expect((lt.tag_specifications as { resource_type: string; tags: Record<string, string> }[]).map((t) => [t.resource_type, t.tags['cdk-mlops:platform']]))
      .toEqual([['instance', 'acme-ml'], ['volume', 'acme-ml'], ['network-interface', 'acme-ml']]);
  });

  test('the creator is cluster admin only while no admin roles are listed', () => {
    const admin = (props: Parameters<typeof newPlatform>[0]) => (Object.values(tfResources(newSynth(props), 'aws_eks_cluster'))[0].access_config as { bootstrap_cluster_creator_admin_permissions: boolean }).bootstrap_cluster_creator_admin_permissions;
    expect(admin({})).toBe(true);
    expect(admin({ cluster: Cluster.create({ adminRoleArns: ['arn:aws:iam::123456789012:role/admins'] }) })).toBe(false);
    expect(admin({ cluster: Cluster.create({ adminRoleArns: ['arn:aws:iam::123456789012:role/admins'], bootstrapCreatorAdmin: true }) })).toBe(true);
  });

  test('local state backend with a relative path; no absolute path anywhere', () => {
    expect((s.terraform.terraform as Record<string, unknown>).backend).toEqual({ local: { path: 'terraform.tfstate' } });
    expect(tf).not.toMatch(/"\/(home|tmp|work|root|Users)\//);
  });

  test('handoff: values known after apply go to SSM parameters under the platform prefix', () => {
    const params = Object.values(tfResources(s, 'aws_ssm_parameter')).map((p) => p.name).sort();
    expect(params).toEqual(['/cdk-mlops/acme-ml/dev/cluster/certificate-authority', '/cdk-mlops/acme-ml/dev/cluster/endpoint']);
    expect((s.inventory.handoff as { channel: string }).channel).toBe('ssm-parameter-store+external-secrets');
  });
});

describe('MlPlatform: cluster plane defaults', () => {
  const { platform } = newPlatform();
  const s = synth(platform);
  const objs = kubeObjects(s);

  test('one namespace per part, with restricted Pod Security enforced', () => {
    const ns = objs.filter((o) => o.kind === 'Namespace');
    expect(ns.map((n) => n.metadata.name).sort()).toEqual(['acme-ml-features', 'acme-ml-monitoring', 'acme-ml-serving', 'acme-ml-training']);
    for (const n of ns) expect(n.metadata.labels!['pod-security.kubernetes.io/enforce']).toBe('restricted');
    expect(platform.namespace(PlatformPart.SERVING)).toBe('acme-ml-serving');
  });

  test('each namespace has default-deny, DNS egress, a ResourceQuota and a LimitRange', () => {
    for (const ns of ['acme-ml-features', 'acme-ml-monitoring', 'acme-ml-serving', 'acme-ml-training']) {
      const inNs = objs.filter((o) => o.metadata.namespace === ns);
      const deny = inNs.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'default-deny') as { spec: Record<string, unknown> } | undefined;
      expect(deny?.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
      const dns = inNs.find((o) => o.metadata.name === 'allow-dns-egress') as { spec: { egress: { ports: unknown[] }[] } } | undefined;
      expect(dns?.spec.egress[0].ports).toEqual([{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }]);
      expect(inNs.some((o) => o.kind === 'ResourceQuota')).toBe(true);
      const lr = inNs.find((o) => o.kind === 'LimitRange') as { spec: { limits: Record<string, unknown>[] } } | undefined;
      expect(lr?.spec.limits[0]).toMatchObject({ type: 'Container', default: { cpu: '1', memory: '1Gi' } });
    }
  });
});

describe('MlPlatform: workloads, handoff secrets, overrides, suppressions', () => {
  test('addWorkload: ServiceAccount without token, Pod Identity role trusted only by this cluster', () => {
    const { platform } = newPlatform();
    const w = platform.addWorkload(platform, 'trainer', { part: PlatformPart.TRAINING, chart: platform.chart('training') });
    w.role.addToPolicy({ Effect: 'Allow', Action: ['s3:GetObject'], Resource: `${platform.artifactBucket.bucketArn}/models/x/*` });
    const s = synth(platform);
    const sa = kubeObjects(s).find((o) => o.kind === 'ServiceAccount')!;
    expect(sa).toMatchObject({ metadata: { name: 'trainer', namespace: 'acme-ml-training' }, automountServiceAccountToken: false });
    const roles = Object.values(tfResources(s, 'aws_iam_role')).filter((r) => r.name === 'acme-ml-dev-training-trainer');
    expect(roles).toHaveLength(1);
    const trust = JSON.parse(String(roles[0].assume_role_policy));
    expect(trust.Statement[0].Principal).toEqual({ Service: 'pods.eks.amazonaws.com' });
    expect(trust.Statement[0].Condition.ArnEquals['aws:SourceArn']).toBe('arn:aws:eks:eu-west-1:123456789012:cluster/acme-ml-dev');
    const assoc = Object.values(tfResources(s, 'aws_eks_pod_identity_association'));
    expect(assoc).toEqual([expect.objectContaining({ namespace: 'acme-ml-training', service_account: 'trainer' })]);
    const policies = Object.values(tfResources(s, 'aws_iam_role_policy')).filter((p) => String(p.role).includes('trainer-role'));
    expect(policies).toHaveLength(1);
    const policy = JSON.parse(String(policies[0].policy));
    expect(policy.Statement).toEqual([{ Effect: 'Allow', Action: ['s3:GetObject'], Resource: `arn:aws:s3:::${platform.artifactBucket.bucketName}/models/x/*` }]);
    expect(s.inventory.workloads).toEqual([{ name: 'trainer', namespace: 'acme-ml-training', roleArn: 'arn:aws:iam::123456789012:role/acme-ml-dev-training-trainer', serviceAccount: 'trainer' }]);
  });

  test('handoffSecret: ExternalSecret from the platform ClusterSecretStore, ESO role reads only the prefix', () => {
    const { platform } = newPlatform();
    platform.handoffSecret('serving', platform.namespace(PlatformPart.SERVING), 'cluster-info', ['cluster/endpoint']);
    const s = synth(platform);
    const es = kubeObjects(s).find((o) => o.kind === 'ExternalSecret') as unknown as { spec: { data: unknown[] } };
    expect(es.spec.data).toEqual([{ secretKey: 'cluster-endpoint', remoteRef: { key: '/cdk-mlops/acme-ml/dev/cluster/endpoint' } }]);
    const store = kubeObjects(s).find((o) => o.kind === 'ClusterSecretStore');
    expect(store).toBeDefined();
    const esoPolicy = Object.values(tfResources(s, 'aws_iam_role_policy')).filter((p) => String(p.role).includes('external-secrets-role')).map((p) => JSON.parse(String(p.policy)));
    expect(esoPolicy).toHaveLength(1);
    expect(esoPolicy[0].Statement[0].Resource).toBe('arn:aws:ssm:eu-west-1:123456789012:parameter/cdk-mlops/acme-ml/dev/*');
    expect(() => platform.handoffSecret('serving', 'x', 'y', ['nope'])).toThrow("handoff key 'nope' was never published; known: cluster/certificate-authority, cluster/endpoint");
  });

  test('override: one Terraform field and one Kubernetes field', () => {
    const { platform } = newPlatform();
    platform.override(platform.artifactBucket.bucket, 'object_lock_enabled', true);
    const ns = platform.platformChart.node.findAll().find((c) => c.node.id === 'namespace' && c.node.path.includes('ns-serving'))!;
    platform.override(ns as never, 'metadata.labels.team', 'fraud');
    const s = synth(platform);
    expect(Object.values(tfResources(s, 'aws_s3_bucket'))[0].object_lock_enabled).toBe(true);
    const n = kubeObjects(s).find((o) => o.kind === 'Namespace' && o.metadata.name === 'acme-ml-serving')!;
    expect(n.metadata.labels!.team).toBe('fraud');
    expect(n.metadata.labels!['pod-security.kubernetes.io/enforce']).toBe('restricted');
    expect(platform.cloudStack.node.id).toBe('cloud');
  });

  test('a policy violation fails synthesis with its rule, target and remedy; a suppression with reason lets it pass and is recorded', () => {
    const { platform } = newPlatform();
    platform.override(platform.key.key, 'enable_key_rotation', false);
    expect(() => synth(platform)).toThrow(/\[TF-KMS-ROTATION\] aws_kms_key\.platform-key_[0-9A-F]+: does not rotate[\s\S]*suppressPolicy/);
    const other = newPlatform().platform;
    other.override(other.key.key, 'enable_key_rotation', false);
    other.suppressPolicy('TF-KMS-ROTATION', '*', 'key material is rotated by our HSM process instead');
    const s = synth(other);
    expect((s.inventory.policy as { suppressions: unknown[] }).suppressions).toEqual([
      { rule: 'TF-KMS-ROTATION', target: expect.stringMatching(/^aws_kms_key\./), reason: 'key material is rotated by our HSM process instead' },
    ]);
    expect(() => other.suppressPolicy('TF-KMS-ROTATION', '*', 'meh')).toThrow('needs a reason of at least 10 characters');
    expect(() => other.suppressPolicy('TF-KMS-ROTATON', '*', 'a typo in the rule id')).toThrow("'suppressPolicy.ruleId' (\"TF-KMS-ROTATON\") must be a policy rule id: TF-S3-ENCRYPTION");
  });
});

describe('MlPlatform: choices', () => {
  test('existing VPC and existing cluster: no network or cluster created, names reused', () => {
    const tf = JSON.parse(tfString({
      network: Network.fromExisting({ vpcId: 'vpc-0123456789abcdef0', privateSubnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'] }),
      cluster: Cluster.fromExisting({ clusterName: 'shared-eks' }),
    }));
    expect(tf.resource.aws_vpc).toBeUndefined();
    expect(tf.resource.aws_eks_cluster).toBeUndefined();
    expect(Object.values(tf.data.aws_eks_cluster as Record<string, { name: string }>)[0].name).toBe('shared-eks');
  });

  test('public endpoint only with an allow-list', () => {
    const tf = tfString({ cluster: Cluster.create({ publicAccessCidrs: ['203.0.113.0/24'] }) });
    expect(tf).toHaveResourceWithProperties(EksCluster, { vpc_config: expect.objectContaining({ endpoint_public_access: true, public_access_cidrs: ['203.0.113.0/24'], endpoint_private_access: true }) });
  });

  test('S3 state backend: encrypted, S3-native lock file, key per environment', () => {
    const s = synth(newPlatform({ stateBackend: StateBackend.s3({ bucket: 'acme-tf-state' }) }).platform);
    expect((s.terraform.terraform as Record<string, unknown>).backend).toEqual({
      s3: { bucket: 'acme-tf-state', key: 'acme-ml/dev/terraform.tfstate', region: 'eu-west-1', encrypt: true, use_lockfile: true },
    });
  });

  test('two AZs with one shared NAT gateway', () => {
    const s = synth(newPlatform({ network: Network.create({ availabilityZones: 2, natGateways: 1 }) }).platform);
    expect(Object.keys(tfResources(s, 'aws_nat_gateway'))).toHaveLength(1);
    expect(Object.keys(tfResources(s, 'aws_subnet'))).toHaveLength(4);
  });

  test('resourceName cuts long names with a stable hash', () => {
    const { platform } = newPlatform();
    const n = platform.resourceName(30, 'a-very-long-component-name', 'and-more');
    expect(n).toHaveLength(30);
    expect(n).toBe(platform.resourceName(30, 'a-very-long-component-name', 'and-more'));
    expect(n).toMatch(/^acme-ml-dev-a-very-long-[0-9a-f]{5}|^acme-ml-dev-.*-[0-9a-f]{8}$/);
  });
});

describe('MlPlatform: validation', () => {
  function errorOf(props: Parameters<typeof newPlatform>[0]): MlopsValidationError {
    try {
      newPlatform(props);
    } catch (e) {
      expect(e).toBeInstanceOf(MlopsValidationError);
      return e as MlopsValidationError;
    }
    throw new Error('expected a validation error');
  }

  test('a bad environment name gives the promised error text', () => {
    expect(errorOf({ environment: 'Prod_1' }).message).toBe(
      "cdk-mlops: invalid props at 'dev':\n  - 'environment' (\"Prod_1\") must be a DNS-1123 label of at most 12 characters (e.g. 'dev', 'prod')");
  });

  test('several problems are reported together', () => {
    const e = errorOf({ platformName: 'Acme', region: 'europe', account: '12', kubernetesVersion: '1.20' });
    expect(e.problems.map((p) => p.prop)).toEqual(['platformName', 'region', 'account', 'kubernetesVersion']);
    expect(e.message).toContain("'kubernetesVersion' (\"1.20\") must be a supported Kubernetes minor version: 1.33, 1.34, 1.35");
    expect(e.constructPath).toBe('dev');
  });

  test.each([
    [{ network: Network.create({ cidr: '10.0.0.0/33' }) }, 'network.cidr', 'has a prefix length above 32'],
    [{ network: Network.create({ cidr: '10.0.0/16' }) }, 'network.cidr', 'must be an IPv4 CIDR block like 10.0.0.0/16'],
    [{ network: Network.create({ cidr: '10.0.0.1/16' }) }, 'network.cidr', 'has host bits set'],
    [{ network: Network.create({ cidr: '10.0.0.0/8' }) }, 'network.cidr', 'must have a prefix length from /16 to /20'],
    [{ network: Network.create({ cidr: '172.20.0.0/16' }) }, 'network.cidr', 'must not overlap the Kubernetes service CIDR 172.20.0.0/16'],
    [{ network: Network.create({ availabilityZones: 1 }) }, 'network.availabilityZones', 'must be an integer from 2 to 4'],
    [{ network: Network.create({ availabilityZones: 3, natGateways: 2 }) }, 'network.natGateways', 'must be 1 (shared) or 3 (one per zone)'],
    [{ network: Network.fromExisting({ vpcId: 'vpc-1', privateSubnetIds: ['subnet-0123456789abcdef0'] }) }, 'network.vpcId', "must be a VPC id like 'vpc-0123456789abcdef0'"],
    [{ network: Network.fromExisting({ vpcId: 'vpc-0123456789abcdef0', privateSubnetIds: ['subnet-0123456789abcdef0'] }) }, 'network.privateSubnetIds', 'must list at least 2 subnets'],
    [{ cluster: Cluster.create({ publicAccessCidrs: ['0.0.0.0/0'] }) }, 'cluster.publicAccessCidrs[0]', 'must be /8 or narrower'],
    [{ cluster: Cluster.create({ publicAccessCidrs: ['0.0.0.0/1'] }) }, 'cluster.publicAccessCidrs[0]', 'must be /8 or narrower'],
    [{ network: Network.create({ flowLogRetentionDays: 2 }) }, 'network.flowLogRetentionDays', "must be 0 (off) or one of CloudWatch's retention values"],
    [{ cluster: Cluster.create({ systemNodes: { minSize: 3, maxSize: 2 } }) }, 'cluster.systemNodes.maxSize', "must be an integer not below 'minSize' (3)"],
    [{ cluster: Cluster.create({ systemNodes: { instanceTypes: ['large'] } }) }, 'cluster.systemNodes.instanceTypes[0]', 'must be an EC2 instance type'],
    [{ cluster: Cluster.create({ logRetentionDays: 10 }) }, 'cluster.logRetentionDays', "must be one of CloudWatch's retention values"],
    [{ cluster: Cluster.fromExisting({ clusterName: 'bad name' }) }, 'cluster.clusterName', 'must be an EKS cluster name'],
    [{ runtimeImage: RuntimeImage.fromTag('ghcr.io/acme/runtime', 'latest') }, 'runtimeImage', 'floats; pin a version tag'],
    [{ runtimeImage: RuntimeImage.fromDigest('ghcr.io/acme/runtime', 'sha256:abc') }, 'runtimeImage', 'must be sha256: followed by 64 hex digits'],
    [{ stateBackend: StateBackend.local('/home/me/state.tfstate') }, 'stateBackend.path', 'must be a relative path'],
    [{ tags: { 'aws:reserved': 'x' } }, 'tags.aws:reserved', "must be a tag key of 1-128 characters not starting with 'aws:'"],
    [{ artifactVersionRetentionDays: 0 }, 'artifactVersionRetentionDays', 'must be a whole number of days >= 1'],
  ] as [Parameters<typeof newPlatform>[0], string, string][])('fails if %# %s', (props, prop, expected) => {
    const e = errorOf(props);
    const p = e.problems.find((x) => x.prop === prop);
    expect(p).toBeDefined();
    expect(p!.expected).toContain(expected);
    expect(e.message).toContain(`'${prop}' (`);
  });

  test('bad chart and workload names, and duplicate workloads, get the one error type', () => {
    const { platform } = newPlatform();
    expect(() => platform.chart('Bad_Chart')).toThrow(MlopsValidationError);
    expect(() => platform.chart('Bad_Chart')).toThrow("'chart' (\"Bad_Chart\") must be a DNS-1123 label");
    platform.addWorkload(platform, 'job', { part: PlatformPart.TRAINING, chart: platform.chart('training') });
    expect(() => platform.addWorkload(platform, 'job', { part: PlatformPart.TRAINING, chart: platform.chart('training') }))
      .toThrow("'workload name' (\"job\") must be unique in namespace 'acme-ml-training'");
  });

  test('the training namespace gets a quota sized for Kueue-admitted GPU jobs; others the defaults; both overridable', () => {
    const quota = (s: ReturnType<typeof synth>, ns: string) => (kubeObjects(s).find((o) => o.kind === 'ResourceQuota' && o.metadata.namespace === ns) as unknown as { spec: { hard: Record<string, unknown> } }).spec.hard;
    const s = newSynth();
    expect(quota(s, 'acme-ml-training')).toMatchObject({ 'requests.cpu': '512', 'requests.memory': '4Ti', 'pods': 500 });
    expect(quota(s, 'acme-ml-serving')).toMatchObject({ 'requests.cpu': '16', 'requests.memory': '64Gi', 'pods': 100 });
    const custom = newSynth({ namespaceQuotas: { serving: { requestsCpu: '64', pods: 300 } } });
    expect(quota(custom, 'acme-ml-serving')).toMatchObject({ 'requests.cpu': '64', 'pods': 300 });
  });

  test('two platforms for one environment are refused', () => {
    const { app } = newPlatform();
    newPlatformInto(app);
    expect(() => app.synthesizeAll()).toThrow("two platforms synthesize environment 'dev'");
  });
});

function newPlatformInto(app: import('../../src').MlApp): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { MlPlatform } = require('../../src') as typeof import('../../src');
  new MlPlatform(app, 'dev-again', { platformName: 'acme-ml', environment: 'dev', region: 'eu-west-1', account: '123456789012' });
}
