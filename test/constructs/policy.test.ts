import { applySuppressions, checkKubernetes, checkTerraform, POLICY_RULES } from '../../src/constructs/policy/rules';

const goodContainer = {
  name: 'main',
  image: 'ghcr.io/acme/app:1.2.3',
  securityContext: { runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
  resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '1Gi' } },
};
const goodPod = { securityContext: { seccompProfile: { type: 'RuntimeDefault' } }, containers: [goodContainer] };
const deployment = (pod: unknown) => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'ns' }, spec: { template: { spec: pod } } });
const cronJob = (pod: unknown) => ({ apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'c', namespace: 'ns' }, spec: { jobTemplate: { spec: { template: { spec: pod } } } } });
const ids = (fs: { ruleId: string }[]) => [...new Set(fs.map((f) => f.ruleId))].sort();

describe('Kubernetes policy rules', () => {
  test('a hardened pod passes, in a Deployment and nested in a CronJob', () => {
    expect(checkKubernetes([deployment(goodPod), cronJob(goodPod)])).toEqual([]);
  });

  test.each([
    ['K8S-NON-ROOT', { ...goodContainer, securityContext: { ...goodContainer.securityContext, runAsNonRoot: false } }],
    ['K8S-READ-ONLY-ROOT', { ...goodContainer, securityContext: { ...goodContainer.securityContext, readOnlyRootFilesystem: false } }],
    ['K8S-NO-PRIVILEGE-ESCALATION', { ...goodContainer, securityContext: { ...goodContainer.securityContext, allowPrivilegeEscalation: true } }],
    ['K8S-DROP-CAPABILITIES', { ...goodContainer, securityContext: { ...goodContainer.securityContext, capabilities: { drop: ['NET_RAW'] } } }],
    ['K8S-RESOURCES', { ...goodContainer, resources: { requests: { cpu: '1' } } }],
    ['K8S-IMAGE-PINNED', { ...goodContainer, image: 'ghcr.io/acme/app:latest' }],
    ['K8S-IMAGE-PINNED', { ...goodContainer, image: 'ghcr.io/acme/app' }],
  ])('%s fires on a bad container (nested in a CronJob)', (rule, container) => {
    const findings = checkKubernetes([cronJob({ ...goodPod, containers: [container] })]);
    expect(ids(findings)).toEqual([rule]);
    expect(findings[0].target).toBe('CronJob/ns/c');
  });

  test('K8S-SECCOMP fires without a RuntimeDefault profile', () => {
    expect(ids(checkKubernetes([deployment({ containers: [goodContainer] })]))).toEqual(['K8S-SECCOMP']);
  });

  test('K8S-SERVICE-ACCOUNT-TOKEN fires unless the token is off or the access is annotated', () => {
    const sa = (extra: object) => ({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 's', namespace: 'ns', ...extra } });
    expect(ids(checkKubernetes([sa({})]))).toEqual(['K8S-SERVICE-ACCOUNT-TOKEN']);
    expect(checkKubernetes([{ ...sa({}), automountServiceAccountToken: false }])).toEqual([]);
    expect(checkKubernetes([sa({ annotations: { 'cdk-mlops.io/api-access': 'creates Jobs' } })])).toEqual([]);
  });

  test('K8S-DEFAULT-DENY fires for a namespace without a default-deny policy', () => {
    const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ns' } };
    const deny = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'default-deny', namespace: 'ns' }, spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] } };
    expect(ids(checkKubernetes([ns]))).toEqual(['K8S-DEFAULT-DENY']);
    expect(checkKubernetes([ns, deny])).toEqual([]);
    const ingressOnly = { ...deny, spec: { podSelector: {}, policyTypes: ['Ingress'] } };
    expect(ids(checkKubernetes([ns, ingressOnly]))).toEqual(['K8S-DEFAULT-DENY']);
  });
});

describe('Terraform policy rules', () => {
  const bucketSet = (over: Record<string, unknown> = {}) => ({
    resource: {
      aws_s3_bucket: { b: { bucket: 'x' } },
      aws_s3_bucket_server_side_encryption_configuration: { e: { bucket: '${aws_s3_bucket.b.id}', rule: [{ apply_server_side_encryption_by_default: { sse_algorithm: 'aws:kms' } }] } },
      aws_s3_bucket_public_access_block: { p: { bucket: '${aws_s3_bucket.b.id}', block_public_acls: true, block_public_policy: true, ignore_public_acls: true, restrict_public_buckets: true } },
      aws_s3_bucket_versioning: { v: { bucket: '${aws_s3_bucket.b.id}', versioning_configuration: { status: 'Enabled' } } },
      aws_s3_bucket_policy: { pol: { bucket: '${aws_s3_bucket.b.id}', policy: JSON.stringify({ Statement: [{ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }] }) } },
      ...over,
    },
  });

  test('a fully secured bucket passes', () => {
    expect(checkTerraform(bucketSet())).toEqual([]);
  });

  test.each([
    ['TF-S3-ENCRYPTION', { aws_s3_bucket_server_side_encryption_configuration: {} }],
    ['TF-S3-PUBLIC-ACCESS', { aws_s3_bucket_public_access_block: { p: { bucket: '${aws_s3_bucket.b.id}', block_public_acls: true } } }],
    ['TF-S3-VERSIONING', { aws_s3_bucket_versioning: { v: { bucket: '${aws_s3_bucket.b.id}', versioning_configuration: { status: 'Suspended' } } } }],
    ['TF-S3-TLS-ONLY', { aws_s3_bucket_policy: {} }],
    ['TF-KMS-ROTATION', { aws_kms_key: { k: { enable_key_rotation: false } } }],
    ['TF-EKS-PRIVATE-ENDPOINT', { aws_eks_cluster: { c: { vpc_config: [{ endpoint_public_access: true, public_access_cidrs: ['0.0.0.0/0'] }], encryption_config: [{ resources: ['secrets'] }], enabled_cluster_log_types: ['api', 'audit', 'authenticator'] } } }],
    ['TF-EKS-SECRETS-ENCRYPTION', { aws_eks_cluster: { c: { vpc_config: [{}], enabled_cluster_log_types: ['api', 'audit', 'authenticator'] } } }],
    ['TF-EKS-LOGGING', { aws_eks_cluster: { c: { vpc_config: [{}], encryption_config: [{ resources: ['secrets'] }], enabled_cluster_log_types: ['api'] } } }],
    ['TF-IAM-NO-WILDCARD', { aws_iam_role_policy: { r: { policy: JSON.stringify({ Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: 'arn:aws:s3:::x/*' }] }) } } }],
    ['TF-IAM-NO-WILDCARD', { aws_iam_role_policy: { r: { policy: JSON.stringify({ Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] }) } } }],
    // a read-only action IAM cannot scope does not make a mutating one beside it acceptable on '*'
    ['TF-IAM-NO-WILDCARD', { aws_iam_role_policy: { r: { policy: JSON.stringify({ Statement: [{ Effect: 'Allow', Action: ['ec2:DescribeInstances', 'ec2:RunInstances'], Resource: '*' }] }) } } }],
    ['TF-SG-NO-OPEN-INGRESS', { aws_security_group: { s: { ingress: [{ cidr_blocks: ['0.0.0.0/0'] }] } } }],
  ])('%s fires', (rule, over) => {
    expect(ids(checkTerraform(bucketSet(over)))).toEqual([rule]);
  });

  test("TF-IAM-NO-WILDCARD accepts '*' only for read-only actions IAM cannot scope to a resource", () => {
    const policy = (statement: Record<string, unknown>) => bucketSet({ aws_iam_role_policy: { r: { policy: JSON.stringify({ Statement: [statement] }) } } });
    expect(checkTerraform(policy({ Effect: 'Allow', Action: ['ec2:DescribeInstances', 'ec2:DescribeSubnets', 'pricing:GetProducts'], Resource: '*' }))).toEqual([]);
    expect(checkTerraform(policy({ Effect: 'Allow', Action: 'pricing:GetProducts', Resource: '*' }))).toEqual([]);
    const finding = checkTerraform(policy({ Effect: 'Allow', Action: ['ec2:DescribeInstances', 'ec2:TerminateInstances'], Resource: '*' }));
    expect(finding).toEqual([{ ruleId: 'TF-IAM-NO-WILDCARD', target: 'aws_iam_role_policy.r', message: 'allows Resource \'*\' for ["ec2:TerminateInstances"]' }]);
    // a Deny on '*' is not a grant
    expect(checkTerraform(policy({ Effect: 'Deny', Action: 's3:GetObject', Resource: '*' }))).toEqual([]);
  });

  test('every rule has a description and suppressions match rule and target', () => {
    expect(Object.keys(POLICY_RULES).length).toBe(19);
    const findings = checkTerraform(bucketSet({ aws_kms_key: { k: { enable_key_rotation: false }, k2: { enable_key_rotation: false } } }));
    const { remaining, suppressed } = applySuppressions(findings, [{ ruleId: 'TF-KMS-ROTATION', target: 'aws_kms_key.k', reason: 'managed elsewhere' }]);
    expect(suppressed.map((f) => f.target)).toEqual(['aws_kms_key.k']);
    expect(remaining.map((f) => f.target)).toEqual(['aws_kms_key.k2']);
  });
});
