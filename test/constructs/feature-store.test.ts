import * as crypto from 'node:crypto';
import '../support/cdktf-matchers';
import { FEATURES_NS, fraudStore, obj, policyOf, synthesize } from './feature-store.fixtures';
import {
  checkKubernetes, checkTerraform, Cluster, Duration, FeatureSource, FeatureStore, ModelEndpoint, ModelRegistry, Network, OfflineStore, OnlineStore,
  PlatformPart, synthesizePlatform,
} from '../../src';
import { featureRegistrySchema } from '../../src/runtime/config/features';
import { GATEWAY } from '../support/endpoint';
import { validateAll, validateObject } from '../support/kube-schema';
import { newPlatform } from '../support/platform';

const ref = (type: string, id: string, attr: string) => new RegExp(`^\\$\\{${type.replace(/\./g, '\\.')}\\.${id}\\.${attr}\\}$`);

describe('FeatureStore with Redis (default): cloud plane', () => {
  const f = fraudStore();
  const x = synthesize(f.platform);
  const keyArn = /^\$\{aws_kms_key\.platform-key_[A-Z0-9]+\.arn\}$/;

  test('snapshot of its Terraform resources', () => {
    const types = ['aws_elasticache_replication_group', 'aws_elasticache_subnet_group', 'aws_elasticache_parameter_group', 'aws_security_group',
      'aws_vpc_security_group_ingress_rule', 'aws_secretsmanager_secret', 'aws_secretsmanager_secret_version', 'aws_glue_catalog_database',
      'aws_glue_catalog_table', 'aws_athena_workgroup'];
    const own = Object.fromEntries(types.map((t) => [t, Object.fromEntries(Object.entries(x.tf(t)).filter(([k]) => k.startsWith('features_')))]));
    expect({ ...own, data: (x.s.terraform.data as any).aws_secretsmanager_random_password }).toMatchSnapshot();
  });

  test('Redis: a Multi-AZ replication group of 2 nodes with automatic failover, TLS required, encrypted at rest with the platform key', () => {
    const rg = x.one('aws_elasticache_replication_group');
    expect(rg).toMatchObject({
      replication_group_id: 'acme-ml-dev-features-features',
      engine: 'redis',
      engine_version: '7.1',
      node_type: 'cache.t4g.medium',
      num_cache_clusters: 2,
      automatic_failover_enabled: true,
      multi_az_enabled: true,
      at_rest_encryption_enabled: 'true',
      transit_encryption_enabled: true,
      transit_encryption_mode: 'required',
      port: 6379,
      snapshot_retention_limit: 7,
      final_snapshot_identifier: 'acme-ml-dev-features-features-final',
      apply_immediately: false,
    });
    expect(rg.kms_key_id).toMatch(keyArn);
    expect(rg.parameter_group_name).toMatch(ref('aws_elasticache_parameter_group', 'features_redis-parameters_[A-Z0-9]+', 'name'));
    expect(x.one('aws_elasticache_parameter_group')).toMatchObject({ family: 'redis7', parameter: [{ name: 'maxmemory-policy', value: 'noeviction' }] });
  });

  test('Redis lives in the private subnets only, behind a security group that admits only the client group of the feature nodes on 6379', () => {
    const subnets = x.one('aws_elasticache_subnet_group');
    const privateSubnets = Object.entries(x.tf('aws_subnet')).filter(([k]) => k.includes('private')).map(([k]) => `\${aws_subnet.${k}.id}`);
    expect(privateSubnets).toHaveLength(3);
    expect([...subnets.subnet_ids].sort()).toEqual(privateSubnets.sort());
    const rg = x.one('aws_elasticache_replication_group');
    expect(rg.subnet_group_name).toMatch(ref('aws_elasticache_subnet_group', 'features_redis-subnets_[A-Z0-9]+', 'name'));
    const sgs = x.tf('aws_security_group');
    const sgId = Object.keys(sgs).find((k) => k.startsWith('features_redis-security-group'))!;
    const clientId = Object.keys(sgs).find((k) => k.startsWith('features_client-security-group'))!;
    expect(Object.keys(sgs).filter((k) => k.startsWith('features_')).sort()).toEqual([clientId, sgId].sort());
    expect(rg.security_group_ids).toEqual([`\${aws_security_group.${sgId}.id}`]);
    const sg = sgs[sgId];
    expect(sg.egress).toEqual([]);
    expect(sg.ingress).toBeUndefined();
    // the client group is a marker: no rule of its own
    expect(sgs[clientId]).toMatchObject({ ingress: [], egress: [], name: 'acme-ml-dev-features-features-clients' });
    const rules = Object.values(x.tf('aws_vpc_security_group_ingress_rule')).filter((r: any) => r.security_group_id === `\${aws_security_group.${sgId}.id}`);
    expect(rules).toEqual([{
      security_group_id: `\${aws_security_group.${sgId}.id}`,
      referenced_security_group_id: `\${aws_security_group.${clientId}.id}`,
      ip_protocol: 'tcp',
      from_port: 6379,
      to_port: 6379,
      description: expect.any(String),
    }]);
    // nothing else reaches the cache: no CIDR rule, not the cluster security group (every node)
    expect(Object.values(x.tf('aws_vpc_security_group_ingress_rule')).some((r: any) => r.cidr_ipv4 !== undefined || /cluster_security_group_id/.test(r.referenced_security_group_id))).toBe(false);
  });

  test('the feature nodes: a managed node group of their own in the private subnets, carrying the cluster and client groups, tainted and labelled for the store', () => {
    const clientId = Object.keys(x.tf('aws_security_group')).find((k) => k.startsWith('features_client-security-group'))!;
    const groups = Object.entries(x.tf('aws_eks_node_group')).filter(([k]) => k.startsWith('features_'));
    expect(groups).toHaveLength(1);
    const ng = groups[0][1];
    expect(ng).toMatchObject({
      node_group_name: 'features-features',
      ami_type: 'AL2023_x86_64_STANDARD',
      capacity_type: 'ON_DEMAND',
      instance_types: ['m7i.large'],
      scaling_config: { min_size: 2, max_size: 4, desired_size: 2 },
      labels: { 'cdk-mlops.io/pool': 'features-features' },
      taint: [{ key: 'cdk-mlops.io/dedicated', value: 'features-features', effect: 'NO_SCHEDULE' }],
    });
    const privateSubnets = Object.entries(x.tf('aws_subnet')).filter(([k]) => k.includes('private')).map(([k]) => `\${aws_subnet.${k}.id}`);
    expect([...ng.subnet_ids].sort()).toEqual(privateSubnets.sort());
    const [ltId, lt] = Object.entries(x.tf('aws_launch_template')).find(([k]) => k.startsWith('features_'))!;
    expect(ng.launch_template.id).toBe(`\${aws_launch_template.${ltId}.id}`);
    // EKS adds no group when the launch template names some: both named, the cluster group first
    expect(lt.vpc_security_group_ids).toEqual([
      expect.stringMatching(/^\$\{aws_eks_cluster\.cluster_[A-Z0-9]+\.vpc_config\[0\]\.cluster_security_group_id\}$/),
      `\${aws_security_group.${clientId}.id}`,
    ]);
    expect(lt.metadata_options).toEqual({ http_endpoint: 'enabled', http_tokens: 'required', http_put_response_hop_limit: 1 });
    expect(lt.block_device_mappings[0].ebs).toMatchObject({ encrypted: 'true', volume_type: 'gp3' });
    const [roleId, role] = Object.entries(x.tf('aws_iam_role')).find(([k]) => k.startsWith('features_node-role'))!;
    expect(ng.node_role_arn).toBe(`\${aws_iam_role.${roleId}.arn}`);
    expect(JSON.parse(role.assume_role_policy).Statement[0].Principal).toEqual({ Service: 'ec2.amazonaws.com' });
    const attached = Object.values(x.tf('aws_iam_role_policy_attachment')).filter((a: any) => a.role === `\${aws_iam_role.${roleId}.name}`).map((a: any) => a.policy_arn).sort();
    expect(attached).toEqual(['AmazonEC2ContainerRegistryPullOnly', 'AmazonEKSWorkerNodePolicy', 'AmazonEKS_CNI_Policy'].map((p) => `arn:aws:iam::aws:policy/${p}`));
  });

  test('AUTH token: generated by Secrets Manager, stored in a KMS secret, passed by reference; no literal token in the output', () => {
    const secret = x.one('aws_secretsmanager_secret');
    expect(secret.name).toBe('cdk-mlops/acme-ml/dev/features/features/redis-auth-token');
    expect(secret.kms_key_id).toMatch(keyArn);
    expect(secret.recovery_window_in_days).toBe(30);
    const generator = Object.entries((x.s.terraform.data as any).aws_secretsmanager_random_password);
    expect(generator).toHaveLength(1);
    expect(generator[0][1]).toEqual({ password_length: 64, exclude_punctuation: true, include_space: false, require_each_included_type: true });
    const [versionId, version] = Object.entries(x.tf('aws_secretsmanager_secret_version'))[0];
    expect(version.secret_string).toBe(`\${data.aws_secretsmanager_random_password.${generator[0][0]}.random_password}`);
    // the data source yields a new value on every plan: the first one is kept
    expect(version.lifecycle).toEqual({ ignore_changes: ['secret_string'] });
    const tokenRef = `\${aws_secretsmanager_secret_version.${versionId}.secret_string}`;
    expect(x.one('aws_elasticache_replication_group').auth_token).toBe(tokenRef);
    expect(x.one('aws_elasticache_replication_group').auth_token_update_strategy).toBe('ROTATE');
    // every place the token goes is a reference, never a value
    const text = JSON.stringify(x.s.terraform);
    expect(text.match(/random_password\}/g)).toHaveLength(1);
    expect(text.split(tokenRef).length - 1).toBe(2); // the replication group and the handoff parameter
  });

  test('handoff: the URL (String) and the token (SecureString, platform key) go to SSM; External Secrets makes them a Secret', () => {
    const params = Object.values(x.tf('aws_ssm_parameter')).filter((p: any) => String(p.name).includes('/features/'));
    const url = params.find((p: any) => p.name.endsWith('/redis-url'));
    const token = params.find((p: any) => p.name.endsWith('/redis-auth-token'));
    expect(url).toMatchObject({ name: '/cdk-mlops/acme-ml/dev/features/features/redis-url', type: 'String' });
    expect(url.value).toMatch(/^rediss:\/\/\$\{aws_elasticache_replication_group\.features_redis_[A-Z0-9]+\.primary_endpoint_address\}:6379$/);
    expect(token).toMatchObject({ name: '/cdk-mlops/acme-ml/dev/features/features/redis-auth-token', type: 'SecureString' });
    expect(token.key_id).toMatch(keyArn);
    const es = obj(x.features, 'ExternalSecret', 'features-online-store');
    expect(es.metadata.namespace).toBe(FEATURES_NS);
    expect(es.spec.data).toEqual([
      { secretKey: 'features-features-redis-url', remoteRef: { key: '/cdk-mlops/acme-ml/dev/features/features/redis-url' } },
      { secretKey: 'features-features-redis-auth-token', remoteRef: { key: '/cdk-mlops/acme-ml/dev/features/features/redis-auth-token' } },
    ]);
  });

  test('offline store: a prefix of the artefact bucket, a Glue database, one typed Parquet table per view it owns, an encrypted Athena workgroup', () => {
    expect(f.store.offlineRoot).toBe(`s3://${f.platform.artifactBucket.bucketName}/features/features`);
    expect(x.one('aws_glue_catalog_database')).toMatchObject({ name: 'acme_ml_dev_features', location_uri: `${f.store.offlineRoot}/` });
    const tables = Object.values(x.tf('aws_glue_catalog_table'));
    // `history` is an existing Glue table: not created here
    expect(tables.map((t: any) => t.name).sort()).toEqual(['merchants', 'transactions']);
    const tx = tables.find((t: any) => t.name === 'transactions') as any;
    expect(tx.table_type).toBe('EXTERNAL_TABLE');
    expect(tx.parameters).toMatchObject({ EXTERNAL: 'TRUE', classification: 'parquet' });
    expect(tx.storage_descriptor).toMatchObject({
      location: `${f.store.offlineRoot}/transactions/`,
      input_format: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
      output_format: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
      ser_de_info: { serialization_library: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
    });
    expect(tx.storage_descriptor.columns.map((c: any) => `${c.name}:${c.type}`)).toEqual([
      'customer_id:bigint', 'event_timestamp:timestamp', 'created_at:timestamp', 'amount_7d:double', 'count_1h:bigint', 'last_country:string',
    ]);
    expect(tx.storage_descriptor.columns[3].comment).toBe('sum of amounts over 7 days');
    const merchants = tables.find((t: any) => t.name === 'merchants') as any;
    expect(merchants.storage_descriptor.location).toBe('s3://partner-data-bucket/merchants/');
    expect(merchants.storage_descriptor.columns.map((c: any) => `${c.name}:${c.type}`)).toEqual([
      'merchant_id:string', 'event_timestamp:timestamp', 'risk_score:float', 'is_online:boolean',
    ]);
    const wg = x.one('aws_athena_workgroup');
    expect(wg.name).toBe('acme-ml-dev-features-features');
    expect(wg.configuration.enforce_workgroup_configuration).toBe(true);
    expect(wg.configuration.result_configuration.output_location).toBe(`${f.store.offlineRoot}/_athena-results/`);
    expect(wg.configuration.result_configuration.encryption_configuration.encryption_option).toBe('SSE_KMS');
    expect(wg.configuration.result_configuration.encryption_configuration.kms_key_arn).toMatch(keyArn);
    // no bucket of its own: the artefact bucket's guarantees apply (KMS, versioning, TLS only, no public access)
    expect(Object.keys(x.tf('aws_s3_bucket'))).toHaveLength(1);
  });

  test('IAM: the feature server needs no AWS access with Redis; the materializer reads the offline prefix and the sources of online views only', () => {
    expect(policyOf(x.s, '-features-features-server')).toEqual([]);
    const st = policyOf(x.s, '-features-features-materializer');
    const bucketArn = f.store.offlineBucketArn;
    expect(st.map((s) => s.Sid)).toEqual([
      'FeaturesFeaturesOfflineRead', 'FeaturesFeaturesOfflineList', 'FeaturesFeaturesOfflineKey',
      'FeaturesFeaturesSourceMerchantsRead', 'FeaturesFeaturesSourceMerchantsList', 'FeaturesFeaturesSourceMerchantsKey',
    ]);
    expect(st[0]).toEqual({ Sid: 'FeaturesFeaturesOfflineRead', Effect: 'Allow', Action: 's3:GetObject', Resource: `${bucketArn}/features/features/*` });
    expect(st[1].Condition).toEqual({ StringLike: { 's3:prefix': ['features/features/*'] } });
    expect(st[2]).toMatchObject({ Action: 'kms:Decrypt', Condition: { StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' } } });
    expect(st[3]).toMatchObject({ Action: 's3:GetObject', Resource: 'arn:aws:s3:::partner-data-bucket/merchants/*' });
    expect(st[5]).toMatchObject({ Action: 'kms:Decrypt', Resource: 'arn:aws:kms:eu-west-1:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab' });
    // no write anywhere, nothing about the offline-only `history` view's lake bucket
    expect(JSON.stringify(st)).not.toMatch(/PutObject|lake-bucket|secretsmanager/);
  });

  test('IAM: grantOfflineRead gives a training workload S3, Glue (own database and the named table) and its Athena workgroup, nothing more', () => {
    const { platform, store } = fraudStore();
    const trainer = platform.addWorkload(platform, 'trainer', { part: PlatformPart.TRAINING, chart: platform.chart('training') });
    store.grantOfflineRead(trainer);
    store.grantOfflineRead(trainer); // idempotent
    // a view added after the grant is readable too
    store.addFeatureView('late', { entities: [store.entities[0]], schema: [{ name: 'x', type: 'int64' }], source: FeatureSource.parquet('s3://late-bucket/late/') });
    const st = policyOf(synthesize(platform).s, '-training-trainer');
    const sids = st.map((s) => s.Sid);
    expect(sids).toEqual(expect.arrayContaining(['FeaturesFeaturesOfflineRead', 'FeaturesFeaturesGlue', 'FeaturesFeaturesGlueHistory', 'FeaturesFeaturesAthena',
      'FeaturesFeaturesAthenaResults', 'FeaturesFeaturesAthenaResultsKey', 'FeaturesFeaturesSourceLateRead', 'FeaturesFeaturesSourceMerchantsRead']));
    expect(new Set(sids).size).toBe(sids.length);
    const glue = st.find((s) => s.Sid === 'FeaturesFeaturesGlue')!;
    expect(glue.Resource).toEqual([
      'arn:aws:glue:eu-west-1:123456789012:catalog', 'arn:aws:glue:eu-west-1:123456789012:database/acme_ml_dev_features',
      'arn:aws:glue:eu-west-1:123456789012:table/acme_ml_dev_features/*',
    ]);
    expect(st.find((s) => s.Sid === 'FeaturesFeaturesGlueHistory')!.Resource).toContain('arn:aws:glue:eu-west-1:123456789012:table/lake/card_history');
    expect(st.find((s) => s.Sid === 'FeaturesFeaturesAthena')!.Resource).toBe('arn:aws:athena:eu-west-1:123456789012:workgroup/acme-ml-dev-features-features');
    expect(st.find((s) => s.Sid === 'FeaturesFeaturesAthenaResults')!.Resource).toBe(`${store.offlineBucketArn}/features/features/_athena-results/*`);
    expect(JSON.stringify(st)).not.toMatch(/"glue:(Create|Update|Delete)|athena:\*|"s3:\*"|DeleteObject/);
  });

  test('policy: the Terraform output passes every rule without a suppression', () => {
    expect(checkTerraform(x.s.terraform)).toEqual([]);
    expect(x.s.suppressed).toEqual([]);
  });
});

describe('FeatureStore with Redis (default): cluster plane', () => {
  const f = fraudStore();
  const x = synthesize(f.platform);
  const server = () => obj(x.features, 'Deployment', 'features-server');

  test('snapshot of the features chart', () => {
    expect(x.features).toMatchSnapshot();
  });

  test('every object validates against the Kubernetes (and ExternalSecret, ServiceMonitor) schemas, and passes the policy', () => {
    expect(validateAll(x.features)).toBe(x.features.length);
    expect(x.features.map((o) => o.kind).sort()).toEqual([
      'ConfigMap', 'CronJob', 'CronJob', 'Deployment', 'ExternalSecret', 'HorizontalPodAutoscaler', 'NetworkPolicy', 'NetworkPolicy',
      'PodDisruptionBudget', 'Service', 'ServiceAccount', 'ServiceAccount', 'ServiceMonitor',
      'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding', 'ValidatingAdmissionPolicyBinding',
    ]);
    expect(checkKubernetes(x.all)).toEqual([]);
    // the schemas are strict enough to catch a mistake
    const cj = obj(x.features, 'CronJob', 'features-materialize-transactions');
    expect(() => validateObject({ ...cj, spec: { ...cj.spec, schedule: 5 } })).toThrow(/schedule/);
  });

  test('the registry ConfigMap holds the validated registry document; pods carry its checksum', () => {
    const cm = obj(x.features, 'ConfigMap', 'features-registry');
    const text = cm.data['config.json'];
    const doc = JSON.parse(text);
    expect(doc).toEqual(JSON.parse(JSON.stringify(f.store.registryDocument())));
    expect(featureRegistrySchema.safeParse(doc).success).toBe(true);
    expect(doc.project).toBe('features');
    expect(doc.offlineStore).toEqual({ root: f.store.offlineRoot });
    expect(doc.onlineStore).toEqual({ type: 'redis', keyPrefix: 'cdk-mlops:features:', tls: true, passwordEnv: 'REDIS_AUTH_TOKEN', connectTimeoutMs: 5000, commandTimeoutMs: 2000 });
    expect(doc.featureServer).toMatchObject({ host: '0.0.0.0', port: 6566 });
    expect(doc.featureViews.map((v: any) => [v.name, v.source, v.ttlSeconds, v.online])).toEqual([
      ['transactions', { type: 'glue', database: 'acme_ml_dev_features', table: 'transactions', path: 'transactions' }, 172800, true],
      ['merchants', { type: 'glue', database: 'acme_ml_dev_features', table: 'merchants', path: 's3://partner-data-bucket/merchants' }, undefined, true],
      ['history', { type: 'glue', database: 'lake', table: 'card_history', path: 's3://lake-bucket/card_history/' }, undefined, false],
    ]);
    expect(doc.featureServices).toEqual([{
      name: 'fraud',
      description: 'features of the fraud model',
      features: ['transactions:amount_7d', 'transactions:count_1h', 'transactions:last_country', 'merchants:risk_score'],
    }]);
    const checksum = crypto.createHash('sha256').update(text).digest('hex');
    expect(server().spec.template.metadata.annotations['cdk-mlops.io/config-checksum']).toBe(checksum);
    expect(obj(x.features, 'CronJob', 'features-materialize-transactions').spec.jobTemplate.spec.template.metadata.annotations['cdk-mlops.io/config-checksum']).toBe(checksum);
  });

  test('a change of the definitions changes the checksum (pods roll); the same program gives the same bytes', () => {
    const again = synthesize(fraudStore().platform);
    expect(JSON.stringify(again.s)).toBe(JSON.stringify(x.s));
    const changed = fraudStore();
    changed.store.addFeatureView('extra', { entities: [changed.customer], schema: [{ name: 'y', type: 'float64' }], source: FeatureSource.parquet('extra') });
    const y = synthesize(changed.platform);
    const sum = (s: typeof x) => obj(s.features, 'Deployment', 'features-server').spec.template.metadata.annotations['cdk-mlops.io/config-checksum'];
    expect(sum(y)).not.toBe(sum(x));
  });

  test('feature server: `features serve` on 6566 with the registry, Redis URL and token from the handoff Secret, spread over zones, autoscaled', () => {
    const d = server();
    const c = d.spec.template.spec.containers[0];
    expect(c.args).toEqual(['features', 'serve', '--config', '/etc/cdk-mlops/config.json']);
    expect(c.ports).toEqual([{ name: 'http', containerPort: 6566, protocol: 'TCP' }]);
    expect(c.readinessProbe.httpGet.path).toBe('/health');
    expect(c.livenessProbe.httpGet.path).toBe('/metrics');
    expect(c.env).toEqual(expect.arrayContaining([
      { name: 'CDK_MLOPS_FEATURES_ONLINE_STORE__URL', valueFrom: { secretKeyRef: { name: 'features-online-store', key: 'features-features-redis-url' } } },
      { name: 'REDIS_AUTH_TOKEN', valueFrom: { secretKeyRef: { name: 'features-online-store', key: 'features-features-redis-auth-token' } } },
      { name: 'AWS_REGION', value: 'eu-west-1' },
    ]));
    expect(d.spec.template.spec.serviceAccountName).toBe('features-server');
    expect(d.spec.template.spec.volumes).toContainEqual({ name: 'config', configMap: { name: 'features-registry' } });
    expect(d.spec.template.spec.topologySpreadConstraints[0].topologyKey).toBe('topology.kubernetes.io/zone');
    expect(d.spec.replicas).toBeUndefined(); // the HPA owns it
    const hpa = obj(x.features, 'HorizontalPodAutoscaler', 'features-server');
    expect(hpa.spec).toMatchObject({ minReplicas: 2, maxReplicas: 10, scaleTargetRef: { kind: 'Deployment', name: 'features-server' } });
    expect(hpa.spec.metrics[0].resource.target).toEqual({ type: 'Utilization', averageUtilization: 70 });
    expect(obj(x.features, 'Service', 'features-server').spec.ports).toEqual([{ name: 'http', port: 6566, targetPort: 'http', protocol: 'TCP' }]);
    expect(obj(x.features, 'PodDisruptionBudget', 'features-server').spec.maxUnavailable).toBe(1);
    expect(f.store.server.url).toBe('http://features-server.acme-ml-features.svc.cluster.local:6566');
  });

  test('the feature workloads run on the feature nodes: the server and every materialization pod select the pool and tolerate its taint, as the node group sets them', () => {
    const ng = Object.entries(x.tf('aws_eks_node_group')).find(([k]) => k.startsWith('features_'))![1];
    const taint = ng.taint[0];
    const pods = [server().spec.template.spec, ...(x.features.filter((o) => o.kind === 'CronJob') as any[]).map((c) => c.spec.jobTemplate.spec.template.spec)];
    expect(pods).toHaveLength(3);
    for (const pod of pods) {
      expect(pod.nodeSelector).toEqual(ng.labels);
      expect(pod.tolerations).toEqual([{ key: taint.key, operator: 'Equal', value: taint.value, effect: 'NoSchedule' }]);
    }
    expect(f.store.clientNodes!.poolName).toBe('features-features');
  });

  test('materialization: one CronJob per scheduled view running `features materialize --views <view>`, never overlapping', () => {
    const cronJobs = x.features.filter((o) => o.kind === 'CronJob') as any[];
    expect(cronJobs.map((c) => [c.metadata.name, c.spec.schedule, c.spec.timeZone])).toEqual([
      ['features-materialize-transactions', '*/15 * * * *', 'Etc/UTC'],
      ['features-materialize-merchants', '@daily', 'Europe/Paris'],
    ]);
    const cj = cronJobs[0];
    expect(cj.spec.concurrencyPolicy).toBe('Forbid');
    const job = cj.spec.jobTemplate.spec;
    expect(job).toMatchObject({ backoffLimit: 2, activeDeadlineSeconds: 3600 });
    const pod = job.template.spec;
    expect(pod.restartPolicy).toBe('Never');
    expect(pod.serviceAccountName).toBe('features-materializer');
    expect(pod.containers[0].args).toEqual(['features', 'materialize', '--config', '/etc/cdk-mlops/config.json', '--views', 'transactions']);
    expect(pod.containers[0].resources).toEqual({ requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '2', memory: '4Gi' } });
    expect(job.template.metadata.labels).toMatchObject({ ...f.store.materializerWorkload.selector, 'cdk-mlops.io/feature-view': 'transactions' });
    expect(f.store.materializationCronJob(f.history)).toBeUndefined();
  });

  test('NetworkPolicies: the server admits only Prometheus (and named clients) on 6566; egress only to Redis in the VPC; the materializer adds AWS APIs', () => {
    const np = obj(x.features, 'NetworkPolicy', 'features-server');
    expect(np.spec.podSelector.matchLabels).toEqual(f.store.serverWorkload.selector);
    expect(np.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(np.spec.ingress).toEqual([{
      from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } } }],
      ports: [{ protocol: 'TCP', port: 6566 }],
    }]);
    expect(np.spec.egress).toEqual([{ to: [{ ipBlock: { cidr: '10.0.0.0/16' } }], ports: [{ protocol: 'TCP', port: 6379 }] }]);
    const mat = obj(x.features, 'NetworkPolicy', 'features-materializer');
    expect(mat.spec.ingress).toEqual([]);
    expect(mat.spec.egress).toEqual([
      { to: [{ ipBlock: { cidr: '10.0.0.0/16' } }], ports: [{ protocol: 'TCP', port: 6379 }] },
      { to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['169.254.169.254/32'] } }], ports: [{ protocol: 'TCP', port: 443 }] },
      { to: [{ ipBlock: { cidr: '169.254.170.23/32' } }], ports: [{ protocol: 'TCP', port: 80 }] },
    ]);
    // DNS: the namespace's own policy admits lookups; default deny covers the rest
    expect(obj(x.all.filter((o) => o.metadata.namespace === FEATURES_NS), 'NetworkPolicy', 'allow-dns-egress').spec.podSelector).toEqual({});
    expect(obj(x.all.filter((o) => o.metadata.namespace === FEATURES_NS), 'NetworkPolicy', 'default-deny').spec.policyTypes).toEqual(['Ingress', 'Egress']);
  });

  test('ServiceMonitor scrapes the server Service', () => {
    const sm = obj(x.features, 'ServiceMonitor', 'features-server');
    expect(sm.metadata.labels.release).toBe('kube-prometheus-stack');
    expect(sm.spec.selector.matchLabels).toEqual({ ...f.store.serverWorkload.selector, 'cdk-mlops.io/scrape': 'features' });
    expect(obj(x.features, 'Service', 'features-server').metadata.labels).toMatchObject(sm.spec.selector.matchLabels);
    expect(sm.spec.endpoints).toEqual([{ port: 'http', path: '/metrics', scheme: 'http', interval: '15s', scrapeTimeout: '10s' }]);
  });

  test('platform.json lists the store, its stores, views and services', () => {
    const entry = (x.s.inventory.capabilities as any[]).find((c) => c.kind === 'feature-store');
    expect(entry).toMatchObject({
      name: 'features',
      namespace: FEATURES_NS,
      project: 'features',
      registryConfigMap: `${FEATURES_NS}/features-registry`,
      server: { url: 'http://features-server.acme-ml-features.svc.cluster.local:6566', workload: 'features-server' },
      offlineStore: { root: f.store.offlineRoot, glueDatabase: 'acme_ml_dev_features', athenaWorkgroup: 'acme-ml-dev-features-features', ownBucket: false },
      onlineStore: { type: 'redis', replicationGroupId: 'acme-ml-dev-features-features', nodes: 2, tls: true, kubernetesSecret: `${FEATURES_NS}/features-online-store` },
      entities: [{ name: 'customer', joinKey: 'customer_id', joinKeyType: 'int64' }, { name: 'merchant', joinKey: 'merchant_id', joinKeyType: 'string' }],
      services: [{ name: 'fraud', joinKeys: ['customer_id', 'merchant_id'] }],
    });
    expect(entry.views.map((v: any) => [v.name, v.glueTable, v.cronJob])).toEqual([
      ['transactions', 'acme_ml_dev_features.transactions', 'features-materialize-transactions'],
      ['merchants', 'acme_ml_dev_features.merchants', 'features-materialize-merchants'],
      ['history', 'lake.card_history', undefined],
    ]);
  });
});

describe('FeatureService as a ModelEndpoint sees it (IFeatureService)', () => {
  test('names, references, join keys and the server', () => {
    const { fraud, store } = fraudStore();
    expect(fraud.featureServiceName).toBe('fraud');
    expect(fraud.featureRefs).toEqual(['transactions:amount_7d', 'transactions:count_1h', 'transactions:last_country', 'merchants:risk_score']);
    expect(fraud.joinKeys).toEqual(['customer_id', 'merchant_id']);
    expect(fraud.server).toBe(store.server);
    expect(store.service('fraud')).toBe(fraud);
    expect(store.view('transactions').viewName).toBe('transactions');
  });

  test('an endpoint enriching with the service: the server admits exactly its pods; the endpoint calls the server URL', () => {
    const { platform, fraud } = fraudStore();
    const registry = new ModelRegistry(platform, 'registry');
    const endpoint = new ModelEndpoint(platform, 'scorer', {
      model: registry.model('fraud').version(3),
      gateway: GATEWAY,
      features: { service: fraud, entityInputs: { customer: 'customer_id', merchant: 'merchant_id' } },
    });
    const x = synthesize(platform);
    const np = obj(x.features, 'NetworkPolicy', 'features-server');
    expect(np.spec.ingress[0]).toEqual({
      from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'acme-ml-serving' } }, podSelector: { matchLabels: endpoint.workload.selector } }],
      ports: [{ protocol: 'TCP', port: 6566 }],
    });
    const serving = x.s.kubernetes['serving.yaml'] as any[];
    const endpointNp = serving.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'scorer');
    expect(endpointNp.spec.egress).toContainEqual({
      to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': FEATURES_NS } }, podSelector: { matchLabels: fraud.server.podSelector } }],
      ports: [{ protocol: 'TCP', port: 6566 }],
    });
    expect(JSON.stringify(serving)).toContain('http://features-server.acme-ml-features.svc.cluster.local:6566');
    expect(validateAll(x.features)).toBeGreaterThan(0);
  });
});

describe('FeatureStore with DynamoDB', () => {
  const { platform, store } = newStore(OnlineStore.dynamodb({ keyTtl: Duration.days(7) }));
  const x = synthesize(platform);

  test('no node group, client group nor admission policy: access is by IAM, the pods schedule anywhere', () => {
    expect(Object.keys(x.tf('aws_eks_node_group')).filter((k) => k.startsWith('features_'))).toEqual([]);
    expect(Object.keys(x.tf('aws_security_group')).filter((k) => k.startsWith('features_'))).toEqual([]);
    expect(x.features.filter((o) => o.kind.startsWith('ValidatingAdmissionPolicy'))).toEqual([]);
    expect(obj(x.features, 'Deployment', 'features-server').spec.template.spec.tolerations).toBeUndefined();
    expect(store.clientNodes).toBeUndefined();
  });

  const tableArn = 'arn:aws:dynamodb:eu-west-1:123456789012:table/acme-ml-dev-features-features';

  function newStore(online: OnlineStore, platformProps = {}) {
    const p = newPlatform(platformProps).platform;
    const s = new FeatureStore(p, 'features', { onlineStore: online });
    const e = s.addEntity('customer', { joinKey: 'customer_id', joinKeyType: 'int64' });
    s.addFeatureView('transactions', { entities: [e], schema: [{ name: 'amount', type: 'float64' }], source: FeatureSource.parquet('transactions'), schedule: '@hourly', ttl: Duration.days(2) });
    return { platform: p, store: s };
  }

  test('an on-demand table keyed by k, encrypted with the platform key, with point-in-time recovery, deletion protection and TTL on exp', () => {
    const t = x.one('aws_dynamodb_table');
    expect(t).toEqual({
      name: 'acme-ml-dev-features-features',
      billing_mode: 'PAY_PER_REQUEST',
      hash_key: 'k',
      attribute: [{ name: 'k', type: 'S' }],
      server_side_encryption: { enabled: true, kms_key_arn: expect.stringMatching(/^\$\{aws_kms_key\.platform-key_[A-Z0-9]+\.arn\}$/) },
      point_in_time_recovery: { enabled: true },
      deletion_protection_enabled: true,
      ttl: { attribute_name: 'exp', enabled: true },
    });
    expect(Object.keys(x.tf('aws_elasticache_replication_group'))).toHaveLength(0);
    expect(Object.keys(x.tf('aws_secretsmanager_secret'))).toHaveLength(0);
    expect(x.features.some((o) => o.kind === 'ExternalSecret')).toBe(false);
    expect(checkTerraform(x.s.terraform)).toEqual([]);
    expect(checkKubernetes(x.all)).toEqual([]);
  });

  test('DynamoDB traffic stays in the VPC: a gateway endpoint on the private route tables, one per platform', () => {
    const endpoints = Object.values(x.tf('aws_vpc_endpoint')) as any[];
    const dynamo = endpoints.filter((e) => e.service_name === 'com.amazonaws.eu-west-1.dynamodb');
    expect(dynamo).toHaveLength(1);
    expect(dynamo[0].vpc_endpoint_type).toBe('Gateway');
    const privateTables = Object.keys(x.tf('aws_route_table')).filter((k) => k.includes('private')).map((k) => `\${aws_route_table.${k}.id}`);
    expect(privateTables).toHaveLength(3);
    expect([...dynamo[0].route_table_ids].sort()).toEqual(privateTables.sort());
    // a second store reuses it
    const p = newPlatform().platform;
    for (const id of ['one', 'two']) {
      const s = new FeatureStore(p, id, { onlineStore: OnlineStore.dynamodb() });
      s.addFeatureView('v', { entities: [s.addEntity('user', { joinKeyType: 'int64' })], schema: [{ name: 'f', type: 'int64' }], source: FeatureSource.parquet('v') });
    }
    const two = synthesize(p);
    expect(Object.values(two.tf('aws_vpc_endpoint')).filter((e: any) => e.service_name.endsWith('.dynamodb'))).toHaveLength(1);
    expect(Object.keys(two.tf('aws_dynamodb_table'))).toHaveLength(2);
    // an existing network's routes are not ours: no endpoint
    const existing = newStore(OnlineStore.dynamodb(), {
      network: Network.fromExisting({ vpcId: 'vpc-0123456789abcdef0', privateSubnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'] }),
      cluster: Cluster.fromExisting({ clusterName: 'shared' }),
    });
    expect(Object.keys(synthesize(existing.platform).tf('aws_vpc_endpoint'))).toHaveLength(0);
  });

  test('the server may only read the table, the materializer read and write it; each uses the key only through DynamoDB', () => {
    const server = policyOf(x.s, '-features-features-server');
    expect(server).toEqual([
      { Sid: 'FeaturesFeaturesOnlineRead', Effect: 'Allow', Action: ['dynamodb:BatchGetItem', 'dynamodb:GetItem'], Resource: tableArn },
      {
        Sid: 'FeaturesFeaturesOnlineReadKey',
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: expect.stringMatching(/aws_kms_key/),
        Condition: { StringEquals: { 'kms:ViaService': 'dynamodb.eu-west-1.amazonaws.com' } },
      },
    ]);
    const mat = policyOf(x.s, '-features-features-materializer');
    const dynamo = mat.filter((st) => JSON.stringify(st.Action).includes('dynamodb:'));
    expect(dynamo).toEqual([{
      Sid: 'FeaturesFeaturesOnlineWrite', Effect: 'Allow', Action: ['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem', 'dynamodb:GetItem', 'dynamodb:PutItem'], Resource: tableArn,
    }]);
    expect(mat.find((st) => st.Sid === 'FeaturesFeaturesOnlineWriteKey')).toMatchObject({
      Action: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'], Condition: { StringEquals: { 'kms:ViaService': 'dynamodb.eu-west-1.amazonaws.com' } },
    });
    // no other role of the platform touches the table
    const roles = Object.values(x.tf('aws_iam_role_policy')).filter((pol: any) => String(pol.policy).includes('dynamodb:'));
    expect(roles).toHaveLength(2);
  });

  test('registry and network: type dynamodb with the table, region and key expiry (the runtime schema accepts it); pods reach AWS over HTTPS, no Redis port', () => {
    const doc = store.registryDocument();
    expect(doc.onlineStore).toEqual({
      type: 'dynamodb', table: 'acme-ml-dev-features-features', region: 'eu-west-1', keyPrefix: 'cdk-mlops:features:', requestTimeoutMs: 2000, keyTtlSeconds: 604800,
    });
    expect(featureRegistrySchema.parse(doc).onlineStore).toEqual(doc.onlineStore);
    const configMap = JSON.parse(obj(x.features, 'ConfigMap', 'features-registry').data['config.json']);
    expect(configMap.onlineStore).toEqual(doc.onlineStore);
    for (const name of ['features-server', 'features-materializer']) {
      const np = obj(x.features, 'NetworkPolicy', name);
      expect(JSON.stringify(np.spec.egress)).not.toContain('6379');
      // AWS APIs over HTTPS (DynamoDB, S3, STS), and the Pod Identity agent
      expect(np.spec.egress.map((r: any) => [r.to.map((t: any) => t.ipBlock.cidr), r.ports])).toEqual([
        [['0.0.0.0/0'], [{ protocol: 'TCP', port: 443 }]],
        [['169.254.170.23/32'], [{ protocol: 'TCP', port: 80 }]],
      ]);
    }
    const env = obj(x.features, 'Deployment', 'features-server').spec.template.spec.containers[0].env;
    expect(env.some((e: any) => e.valueFrom)).toBe(false);
    expect(validateAll(x.features)).toBe(x.features.length);
  });

  test('protection can be turned off; without a key expiry the table has no TTL', () => {
    const { platform: p } = newStore(OnlineStore.dynamodb({ pointInTimeRecovery: false, deletionProtection: false }));
    const t = synthesize(p).one('aws_dynamodb_table');
    expect(t).toMatchObject({ point_in_time_recovery: { enabled: false }, deletion_protection_enabled: false });
    expect(t.ttl).toBeUndefined();
  });
});

/** Gives a store the entity and view every registry needs. */
function withView(store: FeatureStore): FeatureStore {
  store.addFeatureView('v', { entities: [store.addEntity('user', { joinKeyType: 'int64' })], schema: [{ name: 'f', type: 'int64' }], source: FeatureSource.parquet('v') });
  return store;
}

describe('FeatureStore options', () => {
  test('OfflineStore.ownBucket: a SecureBucket of its own; Redis sized and tuned by props', () => {
    const { platform } = newPlatform();
    const store = new FeatureStore(platform, 'fs', {
      offlineStore: OfflineStore.ownBucket({ prefix: 'offline' }),
      onlineStore: OnlineStore.redis({ nodeType: 'cache.r7g.large', nodeCount: 3, engineVersion: '6.2', port: 6380, maxmemoryPolicy: 'volatile-lru', snapshotRetentionDays: 0, maintenanceWindow: 'sun:03:00-sun:04:00' }),
      serverMinReplicas: 3,
      serverMaxReplicas: 6,
      serverMaxEntitiesPerRequest: 200,
    });
    const e = store.addEntity('card', { joinKeyType: 'string' });
    store.addFeatureView('spend', { entities: [e], schema: [{ name: 'total', type: 'float64' }], source: FeatureSource.parquet('spend'), ttl: Duration.hours(6) });
    const x = synthesize(platform);
    expect(store.offlineBucket).toBeDefined();
    expect(store.offlineRoot).toBe(`s3://${store.offlineBucketName}/offline`);
    expect(Object.keys(x.tf('aws_s3_bucket'))).toHaveLength(2);
    expect(x.one('aws_elasticache_replication_group')).toMatchObject({
      node_type: 'cache.r7g.large',
      num_cache_clusters: 3,
      engine_version: '6.2',
      port: 6380,
      snapshot_retention_limit: 0,
      maintenance_window: 'sun:03:00-sun:04:00',
    });
    expect(x.one('aws_elasticache_replication_group').final_snapshot_identifier).toBeUndefined();
    expect(x.one('aws_elasticache_parameter_group')).toMatchObject({ family: 'redis6.x', parameter: [{ name: 'maxmemory-policy', value: 'volatile-lru' }] });
    expect(x.one('aws_vpc_security_group_ingress_rule')).toMatchObject({ from_port: 6380, to_port: 6380 });
    expect(obj(x.features, 'NetworkPolicy', 'fs-server').spec.egress[0].ports).toEqual([{ protocol: 'TCP', port: 6380 }]);
    expect(obj(x.features, 'HorizontalPodAutoscaler', 'fs-server').spec).toMatchObject({ minReplicas: 3, maxReplicas: 6 });
    expect(store.registryDocument().featureServer.maxEntitiesPerRequest).toBe(200);
    expect(store.registryDocument().featureViews[0].ttlSeconds).toBe(21600);
    expect(store.registryDocument().entities[0]).toEqual({ name: 'card', joinKey: 'card', valueType: 'string' });
    expect(checkTerraform(x.s.terraform)).toEqual([]);
  });

  test('existing network and cluster: the cache CIDRs given; the feature nodes join the existing cluster with its cluster security group', () => {
    const { platform } = newPlatform({
      network: Network.fromExisting({ vpcId: 'vpc-0123456789abcdef0', privateSubnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'] }),
      cluster: Cluster.fromExisting({ clusterName: 'shared' }),
    });
    withView(new FeatureStore(platform, 'features', { onlineStore: OnlineStore.redis({ cacheCidrs: ['10.20.0.0/20', '10.20.16.0/20'] }) }));
    const x = synthesize(platform);
    expect(x.one('aws_elasticache_subnet_group').subnet_ids).toEqual(['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1']);
    const sgs = Object.values(x.tf('aws_security_group')) as any[];
    expect(sgs.map((g) => g.vpc_id)).toEqual(['vpc-0123456789abcdef0', 'vpc-0123456789abcdef0']);
    const clientId = Object.keys(x.tf('aws_security_group')).find((k) => k.startsWith('features_client-security-group'))!;
    expect(x.one('aws_vpc_security_group_ingress_rule').referenced_security_group_id).toBe(`\${aws_security_group.${clientId}.id}`);
    const ng = x.one('aws_eks_node_group');
    expect(ng.cluster_name).toBe('shared');
    expect(ng.subnet_ids).toEqual(['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1']);
    const eks = Object.keys((x.s.terraform.data as any).aws_eks_cluster)[0];
    expect(x.one('aws_launch_template').vpc_security_group_ids).toEqual([
      `\${data.aws_eks_cluster.${eks}.vpc_config[0].cluster_security_group_id}`, `\${aws_security_group.${clientId}.id}`,
    ]);
    expect(obj(x.features, 'NetworkPolicy', 'features-server').spec.egress[0].to).toEqual([{ ipBlock: { cidr: '10.20.0.0/20' } }, { ipBlock: { cidr: '10.20.16.0/20' } }]);
  });

  test('clientSecurityGroupIds replace the feature nodes: no node group, no client group, no admission policy, pods schedule anywhere', () => {
    const { platform } = newPlatform();
    const store = new FeatureStore(platform, 'features', { onlineStore: OnlineStore.redis({ clientSecurityGroupIds: ['sg-0123456789abcdef0', 'sg-0fedcba9876543210'] }) });
    withView(store);
    const x = synthesize(platform);
    const rules = Object.values(x.tf('aws_vpc_security_group_ingress_rule')) as any[];
    expect(rules.map((r) => r.referenced_security_group_id)).toEqual(['sg-0123456789abcdef0', 'sg-0fedcba9876543210']);
    expect(Object.keys(x.tf('aws_eks_node_group')).filter((k) => k.startsWith('features_'))).toEqual([]);
    expect(Object.keys(x.tf('aws_security_group')).filter((k) => k.startsWith('features_client'))).toEqual([]);
    expect(x.features.filter((o) => o.kind.startsWith('ValidatingAdmissionPolicy'))).toEqual([]);
    const pod = obj(x.features, 'Deployment', 'features-server').spec.template.spec;
    expect(pod.nodeSelector).toBeUndefined();
    expect(pod.tolerations).toBeUndefined();
    expect(store.clientNodes).toBeUndefined();
  });

  test('clientNodes sizes the node group', () => {
    const { platform } = newPlatform();
    withView(new FeatureStore(platform, 'features', {
      onlineStore: OnlineStore.redis({ clientNodes: { instanceTypes: ['c7i.xlarge', 'c6i.xlarge'], minSize: 3, maxSize: 9, desiredSize: 4, diskSizeGiB: 80 } }),
    }));
    const x = synthesize(platform);
    const ng = Object.entries(x.tf('aws_eks_node_group')).find(([k]) => k.startsWith('features_'))![1];
    expect(ng.instance_types).toEqual(['c7i.xlarge', 'c6i.xlarge']);
    expect(ng.scaling_config).toEqual({ min_size: 3, max_size: 9, desired_size: 4 });
    expect(Object.entries(x.tf('aws_launch_template')).find(([k]) => k.startsWith('features_'))![1].block_device_mappings[0].ebs.volume_size).toBe(80);
  });

  test('two stores in one platform do not collide', () => {
    const { platform } = newPlatform();
    const a = new FeatureStore(platform, 'risk');
    const b = new FeatureStore(platform, 'growth', { onlineStore: OnlineStore.dynamodb() });
    for (const s of [a, b]) s.addFeatureView('v', { entities: [s.addEntity('user', { joinKeyType: 'int64' })], schema: [{ name: 'f', type: 'int64' }], source: FeatureSource.parquet('v'), schedule: '@hourly' });
    const x = synthesizePlatform(platform);
    const names = (x.kubernetes['features.yaml'] as any[]).map((o) => `${o.kind}/${o.metadata.name}`);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(expect.arrayContaining(['CronJob/risk-materialize-v', 'CronJob/growth-materialize-v', 'Deployment/risk-server', 'Deployment/growth-server']));
  });
});
