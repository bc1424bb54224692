import '../support/cdktf-matchers';
import { MlopsValidationError, ModelRegistry, RegistryStorage } from '../../src';
import { PlatformPart } from '../../src/constructs/platform';
import { newPlatform, synth, tfResources } from '../support/platform';

type Statement = { Sid: string; Effect: string; Action: string | string[]; Resource: string | string[]; Condition?: Record<string, Record<string, string | string[]>> };

/** The inline policy of a workload role, parsed from the synthesized Terraform. */
function policyOf(s: ReturnType<typeof synth>, roleNameFragment: string): Statement[] {
  const policies = Object.values(tfResources(s, 'aws_iam_role_policy'));
  const roles = tfResources(s, 'aws_iam_role');
  const match = policies.filter((p) => {
    const roleRef = String(p.role).match(/aws_iam_role\.([^.]+)\.name/)?.[1];
    return roleRef !== undefined && String(roles[roleRef]?.name).includes(roleNameFragment);
  });
  expect(match).toHaveLength(1);
  return (JSON.parse(String(match[0].policy)) as { Statement: Statement[] }).Statement;
}

const list = (v: string | string[]) => [v].flat();

describe('ModelRegistry', () => {
  function build(storage?: RegistryStorage) {
    const { platform } = newPlatform();
    const registry = new ModelRegistry(platform, 'registry', { storage });
    const chart = platform.chart('training');
    const reader = platform.addWorkload(platform, 'reader', { part: PlatformPart.SERVING, chart });
    const writer = platform.addWorkload(platform, 'writer', { part: PlatformPart.TRAINING, chart });
    const auditor = platform.addWorkload(platform, 'auditor', { part: PlatformPart.MONITORING, chart });
    return { platform, registry, reader, writer, auditor };
  }

  test('defaults to the registry/ prefix of the artefact bucket, and lists its models in platform.json', () => {
    const { platform, registry } = build();
    registry.model('fraud');
    registry.model('churn');
    registry.model('fraud');
    expect(registry.prefix).toBe('registry');
    expect(registry.bucketName).toBe(platform.artifactBucket.bucketName);
    expect(registry.registryUri).toBe(`s3://${platform.artifactBucket.bucketName}/registry`);
    const s = synth(platform);
    expect(Object.keys(tfResources(s, 'aws_s3_bucket'))).toHaveLength(1);
    const entry = (s.inventory.capabilities as { kind: string }[]).find((c) => c.kind === 'model-registry');
    expect(entry).toEqual({
      kind: 'model-registry',
      name: 'registry',
      uri: registry.registryUri,
      bucket: registry.bucketName,
      prefix: 'registry',
      ownBucket: false,
      models: ['churn', 'fraud'],
    });
  });

  test('snapshot of the IAM policies it grants', () => {
    const { platform, registry, reader, writer } = build();
    registry.grantRead(reader, 'fraud');
    registry.grantWrite(writer, 'fraud');
    const s = synth(platform);
    expect({ reader: policyOf(s, 'reader'), writer: policyOf(s, 'writer') }).toMatchSnapshot();
  });

  test('grantRead(workload, model) reads and lists that model only, and decrypts only through S3 for this bucket', () => {
    const { platform, registry, reader } = build();
    registry.grantRead(reader, 'fraud');
    registry.grantRead(reader, 'fraud'); // idempotent
    const st = policyOf(synth(platform), 'reader');
    const bucketArn = registry.bucketArn;
    expect(st.map((x) => x.Sid)).toEqual(['RegistryReadFraud', 'RegistryListFraud', `RegistryKeyRead${st[2].Sid.slice('RegistryKeyRead'.length)}`]);
    expect(st[0]).toEqual({ Sid: 'RegistryReadFraud', Effect: 'Allow', Action: 's3:GetObject', Resource: `${bucketArn}/registry/models/fraud/*` });
    expect(st[1]).toEqual({
      Sid: 'RegistryListFraud',
      Effect: 'Allow',
      Action: 's3:ListBucket',
      Resource: bucketArn,
      Condition: { StringLike: { 's3:prefix': ['registry/models/fraud/*'] } },
    });
    expect(st[2].Action).toBe('kms:Decrypt');
    expect(st[2].Resource).toMatch(/^\$\{aws_kms_key\.[^}]+\.arn\}$/);
    expect(st[2].Condition).toEqual({ StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com', 'kms:EncryptionContext:aws:s3:arn': bucketArn } });
    // Nothing writes, nothing reaches another model or the whole bucket.
    const text = JSON.stringify(st);
    expect(text).not.toMatch(/PutObject|DeleteObject|s3:\*/);
    for (const r of st.flatMap((x) => list(x.Resource))) expect(r === bucketArn || r.startsWith(`${bucketArn}/registry/models/fraud/`) || r.startsWith('${aws_kms_key.')).toBe(true);
  });

  test('grantWrite(workload, model) puts exactly versions, aliases and claims of that model, never another', () => {
    const { platform, registry, writer } = build();
    registry.model('other');
    registry.grantWrite(writer, 'fraud');
    const st = policyOf(synth(platform), 'writer');
    const put = st.find((x) => list(x.Action).includes('s3:PutObject'))!;
    expect(list(put.Resource)).toEqual(['versions', 'aliases', 'claims'].map((d) => `${registry.bucketArn}/registry/models/fraud/${d}/*`));
    expect(st.find((x) => x.Action === 'kms:GenerateDataKey')?.Condition?.StringEquals['kms:ViaService']).toBe('s3.eu-west-1.amazonaws.com');
    const resources = st.flatMap((x) => list(x.Resource));
    expect(resources.some((r) => r.includes('/models/other'))).toBe(false);
    expect(resources.some((r) => r === '*' || r.endsWith(':::*') || r === `${registry.bucketArn}/*`)).toBe(false);
    expect(st.flatMap((x) => list(x.Action)).some((a) => a.endsWith('*') || /Delete/.test(a))).toBe(false);
    const listing = st.find((x) => x.Action === 's3:ListBucket')!;
    expect(listing.Condition!.StringLike['s3:prefix']).toEqual(['registry/models/fraud/*']);
  });

  test('grantRead(workload) without a model reads every model but nothing outside the registry prefix', () => {
    const { platform, registry, auditor } = build();
    registry.grantRead(auditor);
    const st = policyOf(synth(platform), 'auditor');
    expect(st[0].Resource).toBe(`${registry.bucketArn}/registry/models/*`);
    expect(st[1].Condition!.StringLike['s3:prefix']).toEqual(['registry/models/', 'registry/models/*']);
  });

  test('RegistryStorage.ownBucket creates a secure bucket of its own, encrypted with the platform key', () => {
    const { platform, registry, reader } = build(RegistryStorage.ownBucket({ prefix: 'models-v2', noncurrentVersionExpirationDays: 30 }));
    registry.grantRead(reader, 'fraud');
    const s = synth(platform);
    const buckets = Object.values(tfResources(s, 'aws_s3_bucket')).map((b) => b.bucket);
    expect(buckets).toHaveLength(2);
    expect(buckets).toContain(registry.bucketName);
    expect(registry.bucketName).toMatch(/^acme-ml-dev-registry-[0-9a-f]{8}$/);
    expect(registry.registryUri).toBe(`s3://${registry.bucketName}/models-v2`);
    const st = policyOf(s, 'reader');
    expect(st[0].Resource).toBe(`arn:aws:s3:::${registry.bucketName}/models-v2/models/fraud/*`);
    expect(s.suppressed).toEqual([]);
  });

  test('model references: version(n), alias(name), labels', () => {
    const { registry } = build();
    const fraud = registry.model('fraud');
    expect(registry.model('fraud')).toBe(fraud);
    expect(fraud.version(7)).toEqual({ model: fraud, ref: 7, label: 'fraud@7' });
    expect(fraud.alias('champion').label).toBe('fraud@champion');
    expect(fraud.registry).toBe(registry);
  });

  describe('fails if', () => {
    const expectProblem = (fn: () => unknown, prop: string, fragment: RegExp) => {
      try {
        fn();
      } catch (e) {
        expect(e).toBeInstanceOf(MlopsValidationError);
        const p = (e as MlopsValidationError).problems.find((x) => x.prop === prop);
        expect(p).toBeDefined();
        expect(`${p!.received} ${p!.expected}`).toMatch(fragment);
        return;
      }
      throw new Error('expected an MlopsValidationError');
    };

    test('the prefix has a leading slash, a trailing slash or a .. segment', () => {
      for (const prefix of ['/registry', 'registry/', 'a/../b', '', 'a b']) {
        expectProblem(() => new ModelRegistry(newPlatform().platform, 'r', { storage: RegistryStorage.platformBucket({ prefix }) }), 'storage.prefix', /S3 key prefix/);
      }
    });

    test('the retention of its own bucket is not a positive whole number of days', () => {
      expectProblem(() => new ModelRegistry(newPlatform().platform, 'r', { storage: RegistryStorage.ownBucket({ noncurrentVersionExpirationDays: 0 }) }),
        'storage.noncurrentVersionExpirationDays', /0 must be a whole number/);
    });

    test('a model name is not one the registry and the train runtime accept', () => {
      const { registry } = build();
      expectProblem(() => registry.model('../etc'), 'model', /"\.\.\/etc" must be a model name/);
      expectProblem(() => registry.model('Fraud'), 'model', /lower-case/);
      expectProblem(() => registry.model('a'.repeat(64)), 'model', /at most 63/);
      expectProblem(() => registry.model(''), 'model', /must be a model name/);
    });

    test('a version is not a whole number >= 1', () => {
      const fraud = build().registry.model('fraud');
      for (const n of [0, -1, 1.5, Number.NaN]) expectProblem(() => fraud.version(n), "model('fraud').version", /must be a whole version number >= 1/);
    });

    test('an alias is not a valid alias name, or is the reserved latest', () => {
      const fraud = build().registry.model('fraud');
      expectProblem(() => fraud.alias('7'), "model('fraud').alias", /containing a letter/);
      expectProblem(() => fraud.alias('a/b'), "model('fraud').alias", /must be an alias name/);
      expectProblem(() => fraud.alias('latest'), "model('fraud').alias", /reserved/);
    });

    test('a grant names an invalid model', () => {
      const { registry, reader } = build();
      expectProblem(() => registry.grantWrite(reader, 'a*'), 'model', /must be a model name/);
    });
  });
});
