import { devTree, json, tree, yaml } from './fixtures';
import { DistDiff, EnvironmentDiff, Plane, ResourceDiff, diffDist, parseDist } from '../../src/diff';
import { InputError } from '../../src/runtime/errors';

function env(d: DistDiff, name: string): EnvironmentDiff {
  const e = d.environments.find((x) => x.name === name);
  if (!e) throw new Error(`no environment ${name}`);
  return e;
}
function resource(d: DistDiff, envName: string, plane: Plane, id: string): ResourceDiff | undefined {
  return env(d, envName).planes.find((p) => p.plane === plane)?.resources.find((r) => r.id === id);
}

describe('parseDist', () => {
  test('names resources the way Terraform and kubectl do', () => {
    const snap = parseDist(devTree(false), 'base');
    const dev = snap.environments.get('dev')!;
    expect([...dev.planes.get('terraform')!.keys()].sort()).toEqual([
      'aws_elasticache_replication_group.online', 'aws_iam_role.serve', 'aws_s3_bucket.logs', 'aws_s3_bucket.models',
      'output.bucket', 'output.redis_auth', 'provider.aws', 'terraform', 'var.db_password', 'var.region',
    ]);
    expect([...dev.planes.get('kubernetes')!.keys()].sort()).toEqual([
      'ConfigMap serving/serve-config', 'Namespace serving', 'Secret serving/db', 'apps/Deployment serving/fraud', 'batch/CronJob serving/retrain',
    ]);
    // inventory: named lists become one entry per name, scalars stay whole, empty lists vanish
    expect([...dev.planes.get('inventory')!.keys()].sort()).toEqual(['environment', 'models/churn', 'models/fraud', 'platform']);
    // cdktf's "//" metadata is not part of the compared value
    expect(JSON.stringify(dev.planes.get('terraform')!.get('aws_s3_bucket.models')!.value)).not.toContain('metadata');
  });

  test('reads data sources, modules, locals, aliased providers and nested stacks', () => {
    const snap = parseDist(tree({
      'prod/terraform/cdk.tf.json': json({
        data: { aws_caller_identity: { current: {} } },
        module: { vpc: { source: 'terraform-aws-modules/vpc/aws' } },
        locals: { name: 'ml' },
        provider: { aws: [{ region: 'eu-west-1' }, { region: 'us-east-1', alias: 'us' }] },
        moved: [{ from: 'aws_s3_bucket.a', to: 'aws_s3_bucket.b' }],
      }),
      'prod/terraform/stacks/dns/cdk.tf.json': json({ resource: { aws_route53_zone: { main: { name: 'example.com' } } } }),
    }), 'x');
    expect([...snap.environments.get('prod')!.planes.get('terraform')!.keys()].sort()).toEqual([
      'data.aws_caller_identity.current', 'local.name', 'module.vpc', 'moved[0]', 'provider.aws', 'provider.aws.us', 'stacks/dns/aws_route53_zone.main',
    ]);
  });

  test.each([
    ['dev/terraform/cdk.tf.json', '{ not json', /x\/dev\/terraform\/cdk\.tf\.json: is not valid JSON/],
    ['dev/terraform/cdk.tf.json', '[1]', /expected a Terraform JSON object/],
    ['dev/k8s/a.yaml', 'kind: [', /x\/dev\/k8s\/a\.yaml \(document 1\): is not valid YAML/],
    ['dev/k8s/a.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n', /\(document 1\): \(ConfigMap\) has metadata.name undefined; expected a non-empty name/],
    ['dev/k8s/a.yaml', 'kind: ConfigMap\nmetadata: {name: a}\n', /has apiVersion undefined; expected a string such as "apps\/v1"/],
    ['dev/platform.json', '"x"', /dev\/platform\.json: holds "x"; expected a JSON object/],
  ])('names the file and what is wrong: %s %j', (file, content, message) => {
    expect(() => parseDist(tree({ [file]: content }), 'x')).toThrow(InputError);
    expect(() => parseDist(tree({ [file]: content }), 'x')).toThrow(message);
  });

  test('a Kubernetes object defined twice in one environment is an error naming both files', () => {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'n' } };
    expect(() => parseDist(tree({ 'dev/k8s/a.yaml': yaml(cm), 'dev/k8s/b.yaml': yaml(cm) }), 'x'))
      .toThrow("x/dev/k8s/b.yaml: kubernetes resource 'ConfigMap n/c' is defined twice (also in x/dev/k8s/a.yaml)");
  });

  test('skips hidden folders (.terraform), state files and empty YAML documents; expands List objects', () => {
    const snap = parseDist(tree({
      'dev/terraform/.terraform/providers/aws/terraform-provider-aws': 'binary',
      'dev/terraform/terraform.tfstate': '{"secret":"x"}',
      'dev/terraform/.terraform.lock.hcl': 'lock',
      'dev/k8s/a.yaml': `---\n${YAML_LIST}---\n`,
      'dev/terraform/cdk.tf.json': '{}',
    }), 'x');
    const dev = snap.environments.get('dev')!;
    expect(dev.planes.has('files')).toBe(false);
    expect([...dev.planes.get('kubernetes')!.keys()]).toEqual(['ConfigMap a', 'ConfigMap b']);
  });
});

const YAML_LIST = 'apiVersion: v1\nkind: List\nitems:\n  - {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n  - {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n';

describe('diffDist', () => {
  const d = diffDist(devTree(false), devTree(true), { baseLabel: 'main:dist', headLabel: 'dist' });

  test('summarizes each environment on one line', () => {
    expect(d.changed).toBe(true);
    expect(env(d, 'dev').status).toBe('changed');
    expect(env(d, 'dev').summary).toBe(
      'dev: terraform 2 to add, 3 to change, 1 to destroy, 4 other blocks changed; kubernetes 1 added, 3 changed, 1 removed; inventory 1 added, 1 changed, 0 removed',
    );
  });

  test('Terraform: added, removed and changed resources with field paths', () => {
    expect(resource(d, 'dev', 'terraform', 'aws_sqs_queue.retrain')).toMatchObject({ action: 'add', type: 'resource:aws_sqs_queue', body: { name: 'ml-dev-retrain' } });
    expect(resource(d, 'dev', 'terraform', 'aws_s3_bucket.logs')).toMatchObject({ action: 'remove', file: 'dev/terraform/cdk.tf.json' });
    expect(resource(d, 'dev', 'terraform', 'aws_s3_bucket.models')!.changes).toEqual([
      { path: 'tags.owner', action: 'remove', before: 'data' },
      { path: 'tags.team', action: 'add', after: 'ml' },
    ]);
    expect(resource(d, 'dev', 'terraform', 'aws_elasticache_replication_group.online')!.changes).toEqual([
      { path: 'auth_token', action: 'change', sensitive: true },
      { path: 'num_cache_clusters', action: 'change', before: 2, after: 3 },
    ]);
    expect(resource(d, 'dev', 'terraform', 'output.redis_auth')!.changes).toEqual([{ path: 'value', action: 'change', sensitive: true }]);
    expect(resource(d, 'dev', 'terraform', 'var.db_password')!.changes).toEqual([{ path: 'default', action: 'change', sensitive: true }]);
    // unchanged resources are not listed
    expect(resource(d, 'dev', 'terraform', 'provider.aws')).toBeUndefined();
  });

  test('Kubernetes: added, removed and changed objects, containers matched by name', () => {
    expect(resource(d, 'dev', 'kubernetes', 'autoscaling/HorizontalPodAutoscaler serving/fraud')).toMatchObject({ action: 'add', file: 'dev/k8s/serving.yaml' });
    expect(resource(d, 'dev', 'kubernetes', 'batch/CronJob serving/retrain')).toMatchObject({ action: 'remove' });
    const deploy = resource(d, 'dev', 'kubernetes', 'apps/Deployment serving/fraud')!;
    expect(deploy.type).toBe('apps/Deployment');
    expect(deploy.changes.map((c) => c.path)).toEqual([
      'spec.replicas',
      'spec.template.spec.containers',
      'spec.template.spec.containers[name=log-shipper].args',
      'spec.template.spec.containers[name=serve].env[name=API_TOKEN].value',
      'spec.template.spec.containers[name=serve].env[name=BATCH_MAX].value',
      'spec.template.spec.containers[name=serve].env[name=DB_URL].valueFrom.secretKeyRef.key',
      'spec.template.spec.containers[name=serve].image',
      'spec.template.spec.volumes[name=creds].secret.secretName',
    ]);
    expect(deploy.changes.find((c) => c.path.endsWith('.image'))).toEqual({
      path: 'spec.template.spec.containers[name=serve].image', action: 'change', before: 'ghcr.io/acme/runtime:1.0.0', after: 'ghcr.io/acme/runtime:1.1.0',
    });
    expect(resource(d, 'dev', 'kubernetes', 'Secret serving/db')!.changes).toEqual([
      { path: 'data.password', action: 'change', sensitive: true },
      { path: 'stringData.apikey', action: 'add', sensitive: true },
    ]);
    expect(resource(d, 'dev', 'kubernetes', 'Namespace serving')).toBeUndefined();
  });

  test('inventory: a model version bump is a field change of that model', () => {
    expect(resource(d, 'dev', 'inventory', 'models/fraud')!.changes).toEqual([{ path: 'version', action: 'change', before: 7, after: 8 }]);
    expect(resource(d, 'dev', 'inventory', 'endpoints/fraud')).toMatchObject({ action: 'add' });
  });

  test('the same tree twice is no change; moving an object to another file is not a change', () => {
    const same = diffDist(devTree(true), devTree(true));
    expect(same.changed).toBe(false);
    expect(same.environments.map((e) => e.summary)).toEqual(['dev: no changes']);
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '1' } };
    expect(diffDist(tree({ 'dev/k8s/a.yaml': yaml(cm) }), tree({ 'dev/k8s/b.yaml': yaml(cm) })).changed).toBe(false);
    const moved = diffDist(tree({ 'dev/k8s/a.yaml': yaml(cm) }), tree({ 'dev/k8s/b.yaml': yaml({ ...cm, data: { a: '2' } }) }));
    expect(resource(moved, 'dev', 'kubernetes', 'ConfigMap c')).toMatchObject({ file: 'dev/k8s/b.yaml', previousFile: 'dev/k8s/a.yaml' });
  });

  test('a new and a removed environment, and other files, are reported as such', () => {
    const base = tree({ 'old/k8s/a.yaml': yaml({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } }), 'README.md': 'a' });
    const head = tree({
      'new/terraform/cdk.tf.json': json({ resource: { aws_s3_bucket: { b: { bucket: 'b' } } } }),
      'new/terraform/README.md': 'notes',
      'README.md': 'b',
    });
    const x = diffDist(base, head, { baseLabel: 'b', headLabel: 'h' });
    expect(x.environments.map((e) => e.summary)).toEqual([
      '(root): files 0 added, 1 changed, 0 removed',
      'new (new environment): terraform 1 to add, 0 to change, 0 to destroy; kubernetes 0 added, 0 changed, 0 removed; files 1 added, 0 changed, 0 removed',
      'old (environment removed): terraform 0 to add, 0 to change, 0 to destroy; kubernetes 0 added, 0 changed, 1 removed',
    ]);
    expect(resource(x, '(root)', 'files', 'README.md')!.changes.map((c) => c.path)).toEqual(['sha256']);
  });

  test('provider-specific sensitive attributes are hidden; settings that only look sensitive are shown', () => {
    const tf = (v: string): Uint8Array => json({
      resource: {
        aws_ssm_parameter: { endpoint: { name: '/ml/dev/redis', type: 'SecureString', value: `ssm-${v}` } },
        kubernetes_manifest: { s: { manifest: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { k: `km-${v}` } } } },
        aws_kms_ciphertext: { c: { key_id: 'k', plaintext: `pt-${v}` } },
        aws_launch_template: { nodes: { metadata_options: { http_tokens: v === 'one' ? 'optional' : 'required' } } },
      },
    });
    const es = (v: string): Uint8Array => yaml({
      apiVersion: 'external-secrets.io/v1',
      kind: 'ExternalSecret',
      metadata: { name: 'db' },
      spec: { secretStoreRef: { name: 'ssm', kind: 'ClusterSecretStore' }, data: [{ secretKey: `key-${v}`, remoteRef: { key: '/ml/db' } }] },
    });
    const x = diffDist(tree({ 'dev/terraform/cdk.tf.json': tf('one'), 'dev/k8s/es.yaml': es('one') }), tree({ 'dev/terraform/cdk.tf.json': tf('two'), 'dev/k8s/es.yaml': es('two') }));
    const changes = env(x, 'dev').planes.flatMap((p) => p.resources.flatMap((r) => r.changes.map((c) => `${r.id} ${c.path} ${c.sensitive ? 'hidden' : `${c.before} -> ${c.after}`}`)));
    expect(changes).toEqual([
      'aws_kms_ciphertext.c plaintext hidden',
      'aws_launch_template.nodes metadata_options.http_tokens optional -> required',
      'aws_ssm_parameter.endpoint value hidden',
      'kubernetes_manifest.s manifest.data.k hidden',
      'external-secrets.io/ExternalSecret db spec.data[0].secretKey key-one -> key-two',
    ]);
  });

  test('environments can be selected', () => {
    const both = tree({ 'a/platform.json': json({ v: 1 }), 'b/platform.json': json({ v: 1 }) });
    const both2 = tree({ 'a/platform.json': json({ v: 2 }), 'b/platform.json': json({ v: 2 }) });
    expect(diffDist(both, both2, { environments: ['b'] }).environments.map((e) => e.name)).toEqual(['b']);
  });
});
