/**
 * Synth-time policy: the secure defaults, checked on the synthesized output itself (so that an
 * escape-hatch override or a raw object cannot drop one unnoticed). A finding fails synthesis
 * unless it is suppressed with a reason (`platform.suppressPolicy(rule, target, reason)`);
 * suppressions are written to platform.json and printed by `cdk-mlops synth`.
 */

/** One policy finding. */
export interface PolicyFinding {
  readonly ruleId: string;
  /** `aws_s3_bucket.name` or `Kind/namespace/name`. */
  readonly target: string;
  readonly message: string;
}

/** A suppression: a rule, a target (or `*`), and why. */
export interface PolicySuppression {
  readonly ruleId: string;
  readonly target: string;
  readonly reason: string;
}

/** The rules, by id, with what each requires. */
export const POLICY_RULES: Readonly<Record<string, string>> = {
  'TF-S3-ENCRYPTION': 'every S3 bucket has default encryption with a KMS key',
  'TF-S3-PUBLIC-ACCESS': 'every S3 bucket blocks all four kinds of public access',
  'TF-S3-VERSIONING': 'every S3 bucket is versioned',
  'TF-S3-TLS-ONLY': 'every S3 bucket policy denies requests without TLS',
  'TF-KMS-ROTATION': 'every KMS key rotates',
  'TF-EKS-PRIVATE-ENDPOINT': 'the EKS API endpoint is private, or public only to listed CIDRs other than 0.0.0.0/0',
  'TF-EKS-SECRETS-ENCRYPTION': 'EKS secrets are envelope-encrypted with KMS',
  'TF-EKS-LOGGING': 'EKS control-plane logging includes api, audit and authenticator',
  'TF-IAM-NO-WILDCARD': "inline IAM policies allow no '*' action and no '*' resource (except for read-only actions IAM cannot scope to a resource: see RESOURCE_WILDCARD_ACTIONS)",
  'TF-SG-NO-OPEN-INGRESS': 'no security group admits 0.0.0.0/0',
  'K8S-NON-ROOT': 'every container runs as non-root',
  'K8S-READ-ONLY-ROOT': 'every container has a read-only root filesystem',
  'K8S-NO-PRIVILEGE-ESCALATION': 'no container allows privilege escalation or runs privileged',
  'K8S-DROP-CAPABILITIES': 'every container drops ALL capabilities',
  'K8S-SECCOMP': 'every pod uses the RuntimeDefault (or Localhost) seccomp profile',
  'K8S-RESOURCES': 'every container sets cpu and memory requests and limits',
  'K8S-SERVICE-ACCOUNT-TOKEN': "ServiceAccounts do not automount an API token unless annotated 'cdk-mlops.io/api-access'",
  'K8S-DEFAULT-DENY': 'every namespace has a default-deny NetworkPolicy for ingress and egress',
  'K8S-IMAGE-PINNED': 'every image is pinned by a version tag or digest (no latest, no missing tag)',
};

/**
 * Read-only EC2 actions for which IAM has no resource-level permissions, so that `Resource: '*'`
 * is the only way to allow them (a narrower ARN would match nothing). A statement whose actions
 * are all in {@link RESOURCE_WILDCARD_ACTIONS} may use `'*'`; any other action beside them makes
 * it a finding.
 * @see https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html
 */
export const EC2_UNSCOPABLE_READ_ACTIONS = [
  'ec2:DescribeAvailabilityZones',
  'ec2:DescribeCapacityReservations',
  'ec2:DescribeImages',
  'ec2:DescribeInstanceTypeOfferings',
  'ec2:DescribeInstanceTypes',
  'ec2:DescribeInstances',
  'ec2:DescribeLaunchTemplates',
  'ec2:DescribeSecurityGroups',
  'ec2:DescribeSpotPriceHistory',
  'ec2:DescribeSubnets',
] as const;

/** {@link EC2_UNSCOPABLE_READ_ACTIONS} and the other read-only actions IAM cannot scope (the AWS Price List). */
export const RESOURCE_WILDCARD_ACTIONS: ReadonlySet<string> = new Set([...EC2_UNSCOPABLE_READ_ACTIONS, 'pricing:GetProducts']);

type Json = Record<string, unknown>;

function asArray<T = unknown>(v: unknown): T[] {
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : [v]) as T[];
}

/** Resources of a type in Terraform JSON, as [address, config]. */
function resources(tf: Json, type: string): [string, Json][] {
  const byType = ((tf.resource ?? {}) as Json)[type] as Record<string, Json> | undefined;
  return Object.entries(byType ?? {}).map(([name, cfg]) => [`${type}.${name}`, cfg]);
}

function refersTo(value: unknown, address: string): boolean {
  return typeof value === 'string' && (value.includes(`\${${address}.`) || value === address);
}

function parseJsonString(v: unknown): Json | undefined {
  if (typeof v !== 'string') return undefined;
  try {
    return JSON.parse(v) as Json;
  } catch {
    return undefined; // an unresolved expression: cannot be checked statically
  }
}

/** Checks Terraform JSON (one stack). */
export function checkTerraform(tf: Json): PolicyFinding[] {
  const out: PolicyFinding[] = [];
  const add = (ruleId: string, target: string, message: string) => out.push({ ruleId, target, message });

  const sse = resources(tf, 'aws_s3_bucket_server_side_encryption_configuration');
  const pab = resources(tf, 'aws_s3_bucket_public_access_block');
  const ver = resources(tf, 'aws_s3_bucket_versioning');
  const pol = resources(tf, 'aws_s3_bucket_policy');
  for (const [addr] of resources(tf, 'aws_s3_bucket')) {
    const enc = sse.find(([, c]) => refersTo(c.bucket, addr));
    const rule = enc ? asArray<Json>(enc[1].rule)[0] : undefined;
    const byDefault = rule ? asArray<Json>(rule.apply_server_side_encryption_by_default)[0] : undefined;
    if (!byDefault || !String(byDefault.sse_algorithm ?? '').startsWith('aws:kms')) add('TF-S3-ENCRYPTION', addr, 'has no default KMS encryption');
    const block = pab.find(([, c]) => refersTo(c.bucket, addr));
    if (!block || !['block_public_acls', 'block_public_policy', 'ignore_public_acls', 'restrict_public_buckets'].every((k) => block[1][k] === true)) {
      add('TF-S3-PUBLIC-ACCESS', addr, 'does not block all public access');
    }
    const v = ver.find(([, c]) => refersTo(c.bucket, addr));
    const status = v ? asArray<Json>(v[1].versioning_configuration)[0]?.status : undefined;
    if (status !== 'Enabled') add('TF-S3-VERSIONING', addr, 'is not versioned');
    const p = pol.find(([, c]) => refersTo(c.bucket, addr));
    const doc = p ? parseJsonString(p[1].policy) : undefined;
    const tlsDeny = doc && asArray<Json>(doc.Statement).some((s) => s.Effect === 'Deny'
      && JSON.stringify(s.Condition ?? {}).includes('"aws:SecureTransport":"false"'));
    if (!tlsDeny) add('TF-S3-TLS-ONLY', addr, 'has no policy denying requests without TLS');
  }
  for (const [addr, c] of resources(tf, 'aws_kms_key')) {
    if (c.enable_key_rotation !== true) add('TF-KMS-ROTATION', addr, 'does not rotate');
  }
  for (const [addr, c] of resources(tf, 'aws_eks_cluster')) {
    const vpc = asArray<Json>(c.vpc_config)[0] ?? {};
    if (vpc.endpoint_public_access === true) {
      const cidrs = asArray<string>(vpc.public_access_cidrs);
      if (cidrs.length === 0 || cidrs.includes('0.0.0.0/0')) add('TF-EKS-PRIVATE-ENDPOINT', addr, 'has a public API endpoint open to the internet');
    }
    const enc = asArray<Json>(c.encryption_config)[0];
    if (!enc || !asArray<string>(enc.resources).includes('secrets')) add('TF-EKS-SECRETS-ENCRYPTION', addr, 'does not encrypt secrets with KMS');
    const logs = asArray<string>(c.enabled_cluster_log_types);
    if (!['api', 'audit', 'authenticator'].every((t) => logs.includes(t))) add('TF-EKS-LOGGING', addr, `logs only ${JSON.stringify(logs)}`);
  }
  for (const [addr, c] of resources(tf, 'aws_iam_role_policy')) {
    const doc = parseJsonString(c.policy);
    for (const s of asArray<Json>(doc?.Statement)) {
      if (s.Effect !== 'Allow') continue;
      if (asArray<string>(s.Action).some((a) => a === '*' || a.endsWith(':*'))) add('TF-IAM-NO-WILDCARD', addr, `allows actions ${JSON.stringify(s.Action)}`);
      const actions = asArray<string>(s.Action);
      if (asArray<string>(s.Resource).includes('*') && !(actions.length > 0 && actions.every((a) => RESOURCE_WILDCARD_ACTIONS.has(a)))) {
        add('TF-IAM-NO-WILDCARD', addr, `allows Resource '*' for ${JSON.stringify(actions.filter((a) => !RESOURCE_WILDCARD_ACTIONS.has(a)))}`);
      }
    }
  }
  for (const [addr, c] of resources(tf, 'aws_security_group')) {
    for (const rule of asArray<Json>(c.ingress)) {
      if (asArray<string>(rule.cidr_blocks).includes('0.0.0.0/0')) add('TF-SG-NO-OPEN-INGRESS', addr, 'admits 0.0.0.0/0');
    }
  }
  for (const [addr, c] of resources(tf, 'aws_vpc_security_group_ingress_rule')) {
    if (c.cidr_ipv4 === '0.0.0.0/0') add('TF-SG-NO-OPEN-INGRESS', addr, 'admits 0.0.0.0/0');
  }
  return out;
}

function objectId(o: Json): string {
  const m = (o.metadata ?? {}) as Json;
  return `${o.kind}/${m.namespace ? `${m.namespace}/` : ''}${m.name}`;
}

/** Every pod spec inside an object (Deployment, Job, CronJob, Rollout, JobSet, ...). */
export function findPodSpecs(node: unknown, out: Json[] = []): Json[] {
  if (Array.isArray(node)) {
    node.forEach((n) => findPodSpecs(n, out));
  } else if (node && typeof node === 'object') {
    const o = node as Json;
    if (Array.isArray(o.containers)) out.push(o);
    for (const [k, v] of Object.entries(o)) if (k !== 'containers' && k !== 'initContainers') findPodSpecs(v, out);
  }
  return out;
}

const IMAGE_PINNED = /(@sha256:[a-f0-9]{64}$)|(:[A-Za-z0-9_][A-Za-z0-9_.-]*$)/;

/** Checks Kubernetes objects (all charts of one environment). */
export function checkKubernetes(objects: Json[]): PolicyFinding[] {
  const out: PolicyFinding[] = [];
  const add = (ruleId: string, target: string, message: string) => out.push({ ruleId, target, message });
  for (const o of objects) {
    const id = objectId(o);
    if (o.kind === 'ServiceAccount' && o.automountServiceAccountToken !== false) {
      const ann = (((o.metadata ?? {}) as Json).annotations ?? {}) as Json;
      if (!ann['cdk-mlops.io/api-access']) add('K8S-SERVICE-ACCOUNT-TOKEN', id, 'automounts an API token without a cdk-mlops.io/api-access annotation');
    }
    for (const pod of findPodSpecs(o.spec)) {
      const podSc = (pod.securityContext ?? {}) as Json;
      const containers = [...asArray<Json>(pod.containers), ...asArray<Json>(pod.initContainers)];
      for (const c of containers) {
        const sc = (c.securityContext ?? {}) as Json;
        const where = `${id} container '${c.name}'`;
        if (sc.runAsNonRoot !== true && podSc.runAsNonRoot !== true) add('K8S-NON-ROOT', id, `${where} may run as root`);
        if (sc.readOnlyRootFilesystem !== true) add('K8S-READ-ONLY-ROOT', id, `${where} has a writable root filesystem`);
        if (sc.allowPrivilegeEscalation !== false || sc.privileged === true) add('K8S-NO-PRIVILEGE-ESCALATION', id, `${where} may escalate privileges`);
        const drop = asArray<string>(((sc.capabilities ?? {}) as Json).drop);
        if (!drop.includes('ALL')) add('K8S-DROP-CAPABILITIES', id, `${where} does not drop ALL capabilities`);
        const profile = ((sc.seccompProfile ?? podSc.seccompProfile ?? {}) as Json).type;
        if (profile !== 'RuntimeDefault' && profile !== 'Localhost') add('K8S-SECCOMP', id, `${where} has no RuntimeDefault seccomp profile`);
        const res = (c.resources ?? {}) as Json;
        const req = (res.requests ?? {}) as Json;
        const lim = (res.limits ?? {}) as Json;
        if (req.cpu === undefined || req.memory === undefined || lim.cpu === undefined || lim.memory === undefined) {
          add('K8S-RESOURCES', id, `${where} lacks cpu/memory requests or limits`);
        }
        if (typeof c.image !== 'string' || !IMAGE_PINNED.test(c.image) || /:latest$/.test(c.image)) add('K8S-IMAGE-PINNED', id, `${where} image '${c.image}' is not pinned`);
      }
    }
  }
  const namespaces = objects.filter((o) => o.kind === 'Namespace').map((o) => String(((o.metadata ?? {}) as Json).name));
  for (const ns of namespaces) {
    const denied = objects.some((o) => {
      if (o.kind !== 'NetworkPolicy' || ((o.metadata ?? {}) as Json).namespace !== ns) return false;
      const spec = (o.spec ?? {}) as Json;
      const types = asArray<string>(spec.policyTypes);
      return Object.keys((spec.podSelector ?? {}) as Json).length === 0 && types.includes('Ingress') && types.includes('Egress')
        && asArray(spec.ingress).length === 0 && asArray(spec.egress).length === 0;
    });
    if (!denied) add('K8S-DEFAULT-DENY', `Namespace/${ns}`, 'has no default-deny NetworkPolicy');
  }
  return out;
}

/** Splits findings into those suppressed (with their suppression) and those that remain. */
export function applySuppressions(findings: PolicyFinding[], suppressions: readonly PolicySuppression[]):
{ remaining: PolicyFinding[]; suppressed: (PolicyFinding & { reason: string })[] } {
  const remaining: PolicyFinding[] = [];
  const suppressed: (PolicyFinding & { reason: string })[] = [];
  for (const f of findings) {
    const s = suppressions.find((x) => x.ruleId === f.ruleId && (x.target === '*' || x.target === f.target));
    if (s) suppressed.push({ ...f, reason: s.reason });
    else remaining.push(f);
  }
  return { remaining, suppressed };
}
