import * as fs from 'node:fs';
import * as path from 'node:path';
import * as YAML from 'yaml';

/**
 * Builders of synthesized dist trees for the diff tests: a realistic `dev` environment (cloud
 * plane, cluster plane, inventory) at base, and a head that changes it in every plane.
 * Every secret used is listed in SECRETS: the tests assert that none is ever printed.
 */

export type Tree = Map<string, Uint8Array>;

export const SECRETS = {
  authTokenBase: 'AUTH-base-7f3a9c1d2e',
  authTokenHead: 'AUTH-head-1b2c3d4e5f',
  redisOutBase: 'OUT-base-a1a1a1a1',
  redisOutHead: 'OUT-head-b2b2b2b2',
  varBase: 'VAR-base-c3c3c3c3',
  varHead: 'VAR-head-d4d4d4d4',
  apiTokenBase: 'APITOKEN-base-e5e5e5',
  apiTokenHead: 'APITOKEN-head-f6f6f6',
  secretDataBase: Buffer.from('DBPASS-base-0000').toString('base64'),
  secretDataHead: Buffer.from('DBPASS-head-9999').toString('base64'),
  stringDataNew: 'NEWKEY-head-8888',
  configPassBase: 'CFGPASS-base-4242',
  configPassHead: 'CFGPASS-head-4343',
  urlPassHead: 'URLPASS-head-5151',
  helmSensitive: 'HELMSET-head-6262',
  nestedVarUser: 'VARUSER-head-7373',
} as const;

const enc = (s: string): Uint8Array => Buffer.from(s, 'utf-8');
export const json = (v: unknown): Uint8Array => enc(`${JSON.stringify(v, null, 2)}\n`);
export const yaml = (...docs: unknown[]): Uint8Array => enc(docs.map((d) => YAML.stringify(d)).join('---\n'));

export function tree(entries: Record<string, Uint8Array | string>): Tree {
  return new Map(Object.entries(entries).map(([k, v]) => [k, typeof v === 'string' ? enc(v) : v]));
}

/** Writes a tree into a folder (created). */
export function writeTree(dir: string, t: Tree): void {
  for (const [rel, bytes] of t) {
    const f = path.join(dir, ...rel.split('/'));
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, bytes);
  }
}

function policy(actions: string[]): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'pods.eks.amazonaws.com' }, Action: actions }] });
}

export function terraform(head: boolean): unknown {
  return {
    '//': { metadata: { backend: 'local', stackName: 'dev', version: '0.21.0' } },
    'terraform': { required_providers: { aws: { source: 'aws', version: '6.0.0' } }, backend: { local: { path: 'terraform.tfstate' } } },
    'provider': { aws: [{ region: 'eu-west-1', default_tags: [{ tags: { platform: 'ml' } }] }] },
    'variable': {
      db_password: { type: 'string', sensitive: true, default: head ? SECRETS.varHead : SECRETS.varBase },
      region: { type: 'string', default: head ? 'eu-west-2' : 'eu-west-1' },
    },
    'resource': {
      aws_s3_bucket: {
        models: { '//': { metadata: { path: head ? 'dev/moved/models' : 'dev/models' } }, 'bucket': 'ml-dev-models', 'tags': head ? { env: 'dev', team: 'ml' } : { env: 'dev', owner: 'data' } },
        ...(head ? {} : { logs: { bucket: 'ml-dev-logs' } }),
      },
      aws_iam_role: {
        serve: { name: 'ml-dev-serve', assume_role_policy: policy(head ? ['sts:AssumeRole', 'sts:TagSession'] : ['sts:AssumeRole']) },
      },
      aws_elasticache_replication_group: {
        online: { replication_group_id: 'ml-dev-online', auth_token: head ? SECRETS.authTokenHead : SECRETS.authTokenBase, transit_encryption_enabled: true, num_cache_clusters: head ? 3 : 2 },
      },
      ...(head ? {
        aws_sqs_queue: { retrain: { name: 'ml-dev-retrain', sqs_managed_sse_enabled: true } },
        helm_release: {
          argocd: {
            name: 'argo-cd',
            set_sensitive: [{ name: 'configs.secret.argocdServerAdminPassword', value: SECRETS.helmSensitive }],
            values: [`server:\n  url: https://argocd.example.com\nredis:\n  url: redis://argocd:${SECRETS.urlPassHead}@redis:6379\n`],
          },
        },
      } : {}),
    },
    'output': {
      bucket: { value: '${aws_s3_bucket.models.bucket}' },
      redis_auth: { value: head ? SECRETS.redisOutHead : SECRETS.redisOutBase, sensitive: true },
      ...(head ? { queue_url: { value: '${aws_sqs_queue.retrain.url}' } } : {}),
    },
  };
}

export function kubernetes(head: boolean): unknown[] {
  const env = [
    { name: 'API_TOKEN', value: head ? SECRETS.apiTokenHead : SECRETS.apiTokenBase },
    { name: 'MODEL', value: 'fraud' },
    ...(head ? [{ name: 'BATCH_MAX', value: '32' }] : []),
    { name: 'DB_URL', valueFrom: { secretKeyRef: { name: 'db', key: head ? 'url' : 'uri' } } },
  ];
  const containers = [
    { name: 'serve', image: head ? 'ghcr.io/acme/runtime:1.1.0' : 'ghcr.io/acme/runtime:1.0.0', args: ['serve', '--port', '8080'], env },
    { name: 'log-shipper', image: 'fluent-bit:3', args: head ? ['--verbose'] : [] },
  ];
  const docs: unknown[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'serving', labels: { 'app.kubernetes.io/part-of': 'ml' } } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'fraud', namespace: 'serving' },
      spec: {
        replicas: head ? 3 : 2,
        template: {
          metadata: { labels: { app: 'fraud' } },
          spec: {
            automountServiceAccountToken: false,
            containers: head ? [containers[1], containers[0]] : containers,
            volumes: [{ name: 'creds', secret: { secretName: head ? 'db-v2' : 'db' } }],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'db', namespace: 'serving' },
      type: 'Opaque',
      data: { password: head ? SECRETS.secretDataHead : SECRETS.secretDataBase },
      ...(head ? { stringData: { apikey: SECRETS.stringDataNew } } : {}),
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'serve-config', namespace: 'serving' },
      data: { 'config.yaml': `model: fraud\nport: 8080\ndatabase:\n  user: app\n  password: ${head ? SECRETS.configPassHead : SECRETS.configPassBase}\nbatch: ${head ? 32 : 16}\nlog: info\n` },
    },
  ];
  if (head) docs.push({ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'fraud', namespace: 'serving' }, spec: { minReplicas: 2, maxReplicas: 10 } });
  else docs.push({ apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'retrain', namespace: 'serving' }, spec: { schedule: '0 3 * * *' } });
  return docs;
}

export function inventory(head: boolean): unknown {
  return {
    platform: 'ml',
    environment: 'dev',
    models: [{ name: 'fraud', version: head ? 8 : 7 }, { name: 'churn', version: 3 }],
    endpoints: head ? [{ name: 'fraud', model: 'fraud' }] : [],
  };
}

/** The `dev` environment at base (head = false) or head. */
export function devTree(head: boolean): Tree {
  const docs = kubernetes(head);
  return tree({
    'dev/terraform/cdk.tf.json': json(terraform(head)),
    'dev/k8s/serving.yaml': yaml(...docs.slice(0, 2), ...docs.slice(4)),
    'dev/k8s/config.yaml': yaml(...docs.slice(2, 4)),
    'dev/platform.json': json(inventory(head)),
  });
}
