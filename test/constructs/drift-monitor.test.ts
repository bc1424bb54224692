import { buildMonitor, BuiltMonitor } from './drift-monitor.fixtures';
import { checkKubernetes, checkTerraform, GpuCapacity, GpuTrainingPool, MonitorSchedule, PrometheusRef, PushgatewayRef, TrainingCompute } from '../../src';
import { parseConfig } from '../../src/runtime/config/load';
import { MonitorConfigSchema } from '../../src/runtime/config/monitor';
import { registerCrdValidators } from '../fixtures/crds/validators';
import { one } from '../support/endpoint';
import { validateAll } from '../support/kube-schema';
import { tfResources, TestKubeObject } from '../support/platform';

registerCrdValidators();

type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any
type Statement = { Sid: string; Effect: string; Action: string | string[]; Resource: string | string[]; Condition?: Any; Principal?: Any };
const NS = 'acme-ml-monitoring';
const list = (v: string | string[]) => [v].flat();

/** The inline policy statements of the IAM role named `roleName`. */
function policyOf(b: BuiltMonitor, roleName: string): Statement[] {
  const roles = tfResources(b.s, 'aws_iam_role');
  const key = Object.keys(roles).find((k) => roles[k].name === roleName);
  expect(key).toBeDefined();
  const p = Object.values(tfResources(b.s, 'aws_iam_role_policy')).find((x) => String(x.role).includes(`aws_iam_role.${key}.`));
  return JSON.parse(String(p!.policy)).Statement;
}

const configOf = (b: BuiltMonitor, name = 'fraud-drift') => JSON.parse(one(b.monitoring, 'ConfigMap', `${name}-config`).data['config.json']);
const kinds = (objs: TestKubeObject[]) => objs.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`).sort();

describe('DriftMonitor: scheduled (CronJob) with retraining', () => {
  const b = buildMonitor(({ pipeline }) => ({ retrain: pipeline, schedule: MonitorSchedule.cron('*/15 * * * *') }));
  const bucket = b.platform.artifactBucket;

  test('snapshot of the monitoring chart', () => {
    expect(b.monitoring).toMatchSnapshot();
  });

  test('every object validates against its schema, and the platform is policy clean', () => {
    expect(validateAll(b.all)).toBe(b.all.length);
    expect(checkKubernetes(b.all as never)).toEqual([]);
    expect(checkTerraform(b.s.terraform)).toEqual([]);
    expect(b.s.suppressed).toEqual([]);
    expect(kinds(b.monitoring)).toEqual([
      'ConfigMap/acme-ml-monitoring/fraud-drift-config',
      'CronJob/acme-ml-monitoring/fraud-drift',
      'NetworkPolicy/acme-ml-monitoring/fraud-drift',
      'PrometheusRule/acme-ml-monitoring/fraud-drift',
      'Role/acme-ml-training/fraud-drift-retrain',
      'RoleBinding/acme-ml-training/fraud-drift-retrain',
      'ServiceAccount/acme-ml-monitoring/fraud-drift',
      'ValidatingAdmissionPolicy//acme-ml-dev-fraud-drift-retrain-jobs',
      'ValidatingAdmissionPolicyBinding//acme-ml-dev-fraud-drift-retrain-jobs',
    ]);
  });

  test('the configuration is found from the endpoint and the pipeline, and is what the runtime reads', () => {
    const config = configOf(b);
    expect(parseConfig(MonitorConfigSchema, config, 'config.json')).toEqual(config);
    expect(config).toEqual(b.monitor.config);
    expect(config).toMatchObject({
      model: 'fraud',
      version: 7,
      variant: 'primary',
      registry: b.registry.registryUri,
      logs: b.endpoint.predictionLog!.uri,
      window: '24h',
      once: true,
      stateUri: `s3://${bucket.bucketName}/monitoring/fraud-drift/state.json`,
      output: { reportDir: '/tmp/monitor-reports', pushgateway: 'http://prometheus-pushgateway.monitoring.svc:9091' },
      retrain: { on: ['dataset_drift', 'performance_decay'], cooldown: '24h', kubernetes: { cronJob: 'fraud-train', namespace: 'acme-ml-training' } },
    });
    expect(config.logs).toBe(`s3://${bucket.bucketName}/predictions/fraud`);
    expect(config.alerts.webhook).toBeUndefined();
  });

  test('the CronJob runs `cdk-mlops monitor` hardened, one run at a time, in UTC', () => {
    const cj = one(b.monitoring, 'CronJob', 'fraud-drift');
    expect(cj.spec).toMatchObject({ schedule: '*/15 * * * *', timeZone: 'Etc/UTC', concurrencyPolicy: 'Forbid' });
    expect(cj.spec.jobTemplate.spec).toMatchObject({ backoffLimit: 1, activeDeadlineSeconds: 3600 });
    const pod = cj.spec.jobTemplate.spec.template.spec;
    expect(pod.restartPolicy).toBe('Never');
    expect(pod.serviceAccountName).toBe('fraud-drift');
    expect(pod.automountServiceAccountToken).toBe(true);
    const c = pod.containers[0];
    expect(c.args).toEqual(['monitor', '--config', '/etc/cdk-mlops/config.json']);
    expect(c.env).toContainEqual({ name: 'AWS_REGION', value: 'eu-west-1' });
    expect(c.ports).toBeUndefined();
    expect(c.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(cj.spec.jobTemplate.spec.template.metadata.annotations['cdk-mlops.io/model']).toBe('fraud@7');
  });

  test('RBAC: get on that one CronJob, create on Jobs, in the training namespace only, for the monitor only', () => {
    const role = one(b.monitoring, 'Role', 'fraud-drift-retrain');
    expect(role.metadata.namespace).toBe('acme-ml-training');
    expect(role.rules).toEqual([
      { apiGroups: ['batch'], resources: ['cronjobs'], resourceNames: ['fraud-train'], verbs: ['get'] },
      { apiGroups: ['batch'], resources: ['jobs'], verbs: ['create'] },
    ]);
    const rb = one(b.monitoring, 'RoleBinding', 'fraud-drift-retrain');
    expect(rb.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'fraud-drift-retrain' });
    expect(rb.subjects).toEqual([{ kind: 'ServiceAccount', name: 'fraud-drift', namespace: NS }]);
    // nothing else grants the monitor anything in the cluster
    const grants = b.all.filter((o) => (o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding') && JSON.stringify(o).includes('"fraud-drift"'));
    expect(grants).toHaveLength(1);
    const sa = one(b.monitoring, 'ServiceAccount', 'fraud-drift');
    expect(sa.automountServiceAccountToken).toBe(true);
    expect(sa.metadata.annotations['cdk-mlops.io/api-access']).toBe('creates retraining Jobs from CronJob acme-ml-training/fraud-train (admission policy acme-ml-dev-fraud-drift-retrain-jobs)');
  });

  test('IAM: reads the model in the registry and its prediction logs, writes its state object, nothing else', () => {
    const st = policyOf(b, 'acme-ml-dev-monitoring-fraud-drift');
    const actions = st.flatMap((x) => list(x.Action));
    expect(actions.filter((a) => /Put|Delete|Write/.test(a))).toEqual(['s3:PutObject', 's3:PutObject']);
    expect(st.find((x) => x.Sid === 'MonitorReports')).toEqual({
      Sid: 'MonitorReports', Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: `${bucket.bucketArn}/monitoring/fraud-drift/reports/*`,
    });
    expect(st.find((x) => x.Sid === 'ListMonitorState')).toEqual({
      Sid: 'ListMonitorState', Effect: 'Allow', Action: 's3:ListBucket', Resource: bucket.bucketArn, Condition: { StringLike: { 's3:prefix': ['monitoring/fraud-drift/state.json'] } },
    });
    expect(st.find((x) => x.Sid === 'MonitorState')).toEqual({
      Sid: 'MonitorState', Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: `${bucket.bucketArn}/monitoring/fraud-drift/state.json`,
    });
    expect(st.find((x) => x.Sid === 'ReadPredictionLogs')).toEqual({ Sid: 'ReadPredictionLogs', Effect: 'Allow', Action: 's3:GetObject', Resource: `${bucket.bucketArn}/predictions/fraud/fraud/*` });
    expect(st.find((x) => x.Sid === 'ListPredictionLogs')).toEqual({
      Sid: 'ListPredictionLogs', Effect: 'Allow', Action: 's3:ListBucket', Resource: bucket.bucketArn, Condition: { StringLike: { 's3:prefix': ['predictions/fraud/fraud/*'] } },
    });
    const s3Resources = st.filter((x) => list(x.Action).some((a) => a === 's3:GetObject')).flatMap((x) => list(x.Resource));
    expect(s3Resources.sort()).toEqual([
      `${bucket.bucketArn}/monitoring/fraud-drift/state.json`,
      `${bucket.bucketArn}/monitoring/fraud-drift/reports/*`,
      `${bucket.bucketArn}/predictions/fraud/fraud/*`,
      `${bucket.bucketArn}/registry/models/fraud/*`,
    ].sort());
    for (const x of st.filter((y) => list(y.Action).some((a) => a.startsWith('kms:')))) {
      expect(x.Condition.StringEquals['kms:ViaService']).toBe('s3.eu-west-1.amazonaws.com');
    }
    expect(st.every((x) => !list(x.Resource).includes('*'))).toBe(true);
  });

  test('NetworkPolicy: no ingress; egress to AWS over HTTPS (and the API server) and to the Pushgateway', () => {
    const np = one(b.monitoring, 'NetworkPolicy', 'fraud-drift');
    expect(np.spec.podSelector.matchLabels).toEqual(one(b.monitoring, 'CronJob', 'fraud-drift').spec.jobTemplate.spec.template.metadata.labels);
    expect(np.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(np.spec.ingress).toEqual([]);
    expect(np.spec.egress).toEqual([
      { to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['169.254.169.254/32'] } }], ports: [{ protocol: 'TCP', port: 443 }] },
      { to: [{ ipBlock: { cidr: '169.254.170.23/32' } }], ports: [{ protocol: 'TCP', port: 80 }] },
      {
        to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus-pushgateway', 'app.kubernetes.io/instance': 'prometheus-pushgateway' } } }],
        ports: [{ protocol: 'TCP', port: 9091 }],
      },
    ]);
    // DNS: the namespace's own policy
    expect(one(b.all.filter((o) => o.metadata.namespace === NS), 'NetworkPolicy', 'allow-dns-egress').spec.egress[0].ports).toEqual([{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }]);
  });

  test('PrometheusRule: the runtime generator\'s alerts for this model, labelled for the Prometheus and the monitor', () => {
    const rule = one(b.monitoring, 'PrometheusRule', 'fraud-drift');
    expect(rule.metadata.labels.release).toBe('kube-prometheus-stack');
    const rules = rule.spec.groups[0].rules;
    expect(rule.spec.groups[0].name).toBe('cdk-mlops-fraud-drift');
    expect(rules.map((r: Any) => r.alert)).toEqual(['MlFeatureDrift', 'MlDatasetDrift', 'MlPredictionDrift', 'MlPerformanceDecay', 'MlDataQuality', 'MlDataQuality', 'MlDataQuality', 'MlDataQuality', 'MlMonitorNotRunning']);
    for (const r of rules) {
      expect(r.expr).toContain('{model="fraud"}');
      expect(r.labels).toMatchObject({ namespace: NS, monitor: 'fraud-drift' });
    }
    // every 15 minutes: the liveness alert waits 2h (at least), not less than 3 runs
    expect(rules[8].expr).toContain('> 7200');
  });

  test('platform.json lists the monitor', () => {
    const entry = (b.s.inventory.capabilities as Any[]).find((c) => c.kind === 'drift-monitor');
    expect(entry).toEqual({
      kind: 'drift-monitor',
      name: 'fraud-drift',
      namespace: NS,
      endpoint: 'fraud',
      variant: 'primary',
      model: 'fraud@7',
      schedule: { kind: 'cron', expression: '*/15 * * * *' },
      window: '24h',
      logs: `s3://${bucket.bucketName}/predictions/fraud`,
      state: `s3://${bucket.bucketName}/monitoring/fraud-drift/state.json`,
      metrics: { pushgateway: 'http://prometheus-pushgateway.monitoring.svc:9091' },
      alerts: ['MlFeatureDrift', 'MlDatasetDrift', 'MlPredictionDrift', 'MlPerformanceDecay', 'MlDataQuality', 'MlMonitorNotRunning'],
      retrain: { cronJob: 'acme-ml-training/fraud-train', on: ['dataset_drift', 'performance_decay'], cooldown: '24h' },
    });
  });
});

describe('DriftMonitor: defaults without retraining', () => {
  const b = buildMonitor();

  test('hourly, no API token, no RBAC, no admission policy', () => {
    expect(b.monitor.schedule.expression).toBe('0 * * * *');
    expect(one(b.monitoring, 'ServiceAccount', 'fraud-drift').automountServiceAccountToken).toBe(false);
    expect(b.monitoring.filter((o) => ['Role', 'RoleBinding', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding'].includes(o.kind))).toEqual([]);
    expect(configOf(b).retrain).toBeUndefined();
    // hourly: the liveness alert waits three runs
    expect(one(b.monitoring, 'PrometheusRule', 'fraud-drift').spec.groups[0].rules[8].expr).toContain('> 10800');
    expect(validateAll(b.all)).toBe(b.all.length);
  });
});

describe('DriftMonitor: continuous (Deployment), webhook, overrides', () => {
  const b = buildMonitor(() => ({
    monitorName: 'fraud-watch',
    schedule: MonitorSchedule.continuous({ interval: '5m' }),
    window: '6h',
    drift: { thresholds: { ks: 0.01 }, features: { amount: { method: 'psi', threshold: 0.2 } }, datasetDriftShare: 0.3 },
    quality: { maxMissingRate: 0.2 },
    performance: { maxDegradation: 0.05 },
    state: { mode: 'sketch' },
    webhook: { secretName: 'slack-webhook', port: 8443 },
    webhookOn: ['dataset_drift'],
    alerts: { featureDrift: false, datasetDrift: { severity: 'warning', for: '1h' }, labels: { team: 'risk' }, runbookUrl: 'https://runbooks.example.com/drift' },
    prometheus: PrometheusRef.kubePrometheusStack({ namespace: 'obs', release: 'prom' }),
  }));

  test('snapshot of the monitoring chart', () => {
    expect(b.monitoring).toMatchSnapshot();
  });

  test('schemas and policy', () => {
    expect(validateAll(b.all)).toBe(b.all.length);
    expect(checkKubernetes(b.all as never)).toEqual([]);
    expect(kinds(b.monitoring)).toEqual([
      'ConfigMap/acme-ml-monitoring/fraud-watch-config', 'Deployment/acme-ml-monitoring/fraud-watch', 'NetworkPolicy/acme-ml-monitoring/fraud-watch',
      'PrometheusRule/acme-ml-monitoring/fraud-watch', 'Service/acme-ml-monitoring/fraud-watch-metrics', 'ServiceAccount/acme-ml-monitoring/fraud-watch',
      'ServiceMonitor/acme-ml-monitoring/fraud-watch',
    ]);
  });

  test('a one-replica Deployment serving /metrics, with readiness and liveness, its webhook URL from the Secret', () => {
    const d = one(b.monitoring, 'Deployment', 'fraud-watch');
    expect(d.spec.replicas).toBe(1);
    expect(d.spec.strategy).toEqual({ type: 'Recreate' });
    const c = d.spec.template.spec.containers[0];
    expect(c.ports).toEqual([{ name: 'http', containerPort: 9108, protocol: 'TCP' }]);
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(c.env).toContainEqual({ name: 'CDK_MLOPS_MONITOR_ALERTS__WEBHOOK', valueFrom: { secretKeyRef: { name: 'slack-webhook', key: 'url' } } });
    expect(JSON.stringify(b.monitoring)).not.toContain('hooks.slack.com');
  });

  test('the configuration carries the overrides, continuous on 0.0.0.0:9108, no Pushgateway', () => {
    const config = configOf(b, 'fraud-watch');
    expect(config).toMatchObject({
      once: false,
      interval: '5m',
      window: '6h',
      server: { host: '0.0.0.0', port: 9108 },
      drift: { thresholds: { ks: 0.01, chisquare: 0.05 }, features: { amount: { method: 'psi', threshold: 0.2 } }, datasetDriftShare: 0.3 },
      quality: { maxMissingRate: 0.2 },
      performance: { maxDegradation: 0.05 },
      state: { mode: 'sketch' },
      alerts: { on: ['dataset_drift'] },
    });
    expect(config.output.pushgateway).toBeUndefined();
  });

  test('ServiceMonitor and Service select the monitor; Prometheus alone may reach it', () => {
    const sm = one(b.monitoring, 'ServiceMonitor', 'fraud-watch');
    const svc = one(b.monitoring, 'Service', 'fraud-watch-metrics');
    expect(sm.metadata.labels.release).toBe('prom');
    expect(svc.metadata.labels).toMatchObject(sm.spec.selector.matchLabels);
    expect(sm.spec.selector.matchLabels['cdk-mlops.io/scrape']).toBe('monitor');
    expect(sm.spec.endpoints).toEqual([{ port: 'http', path: '/metrics', scheme: 'http', interval: '30s', scrapeTimeout: '10s' }]);
    expect(svc.spec.selector).toEqual(one(b.monitoring, 'Deployment', 'fraud-watch').spec.template.metadata.labels);
    const np = one(b.monitoring, 'NetworkPolicy', 'fraud-watch');
    expect(np.spec.ingress).toEqual([{
      from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'obs' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } } }],
      ports: [{ protocol: 'TCP', port: 9108 }],
    }]);
    // the webhook's port, everywhere but the metadata service; no Pushgateway
    expect(np.spec.egress[2]).toEqual({ to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['169.254.169.254/32'] } }], ports: [{ protocol: 'TCP', port: 8443 }] });
    expect(np.spec.egress).toHaveLength(3);
  });

  test('alerts: severities and durations from the props, thresholds from the monitor\'s own limits', () => {
    const rules = one(b.monitoring, 'PrometheusRule', 'fraud-watch').spec.groups[0].rules;
    expect(rules.map((r: Any) => r.alert)).not.toContain('MlFeatureDrift');
    expect(rules[0]).toMatchObject({ alert: 'MlDatasetDrift', for: '1h', labels: { severity: 'warning', team: 'risk' }, annotations: { runbook_url: 'https://runbooks.example.com/drift' } });
    expect(rules.find((r: Any) => r.alert === 'MlPerformanceDecay').expr).toMatch(/> 0\.05$/);
    expect(rules.find((r: Any) => r.labels.issue === 'missing').expr).toMatch(/> 0\.2$/);
    // every 5 minutes: at least 2h
    expect(rules.find((r: Any) => r.alert === 'MlMonitorNotRunning').expr).toContain('> 7200');
  });
});

describe('DriftMonitor: SNS alert topic', () => {
  const b = buildMonitor(() => ({ snsTopic: true }));
  const topicName = 'acme-ml-dev-drift-fraud-drift';
  const topicArn = `arn:aws:sns:eu-west-1:123456789012:${topicName}`;

  test('an SNS topic encrypted with the platform key, published to by Alertmanager only, over TLS', () => {
    const topics = Object.values(tfResources(b.s, 'aws_sns_topic'));
    expect(topics).toHaveLength(1);
    expect(topics[0].name).toBe(topicName);
    expect(String(topics[0].kms_master_key_id)).toMatch(/^\$\{aws_kms_key\.[^}]+\.arn\}$/);
    const policy = JSON.parse(String(Object.values(tfResources(b.s, 'aws_sns_topic_policy'))[0].policy));
    expect(policy.Statement).toEqual([
      { Sid: 'AlertmanagerPublishes', Effect: 'Allow', Principal: { AWS: expect.stringMatching(/^\$\{aws_iam_role\.[^}]+\.arn\}$/) }, Action: 'sns:Publish', Resource: topicArn },
      { Sid: 'DenyWithoutTls', Effect: 'Deny', Principal: '*', Action: 'sns:Publish', Resource: topicArn, Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
    ]);
    expect(checkTerraform(b.s.terraform)).toEqual([]);
  });

  test("Alertmanager's role (Pod Identity on its ServiceAccount) may publish to the topic and use the key through SNS", () => {
    const st = policyOf(b, 'acme-ml-dev-alertmanager');
    expect(st).toEqual([
      { Sid: 'EncryptAlerts', Effect: 'Allow', Action: ['kms:GenerateDataKey', 'kms:Decrypt'], Resource: expect.stringMatching(/aws_kms_key/), Condition: { StringEquals: { 'kms:ViaService': 'sns.eu-west-1.amazonaws.com' } } },
      { Sid: 'PublishFraudDrift', Effect: 'Allow', Action: 'sns:Publish', Resource: topicArn },
    ]);
    const assoc = Object.values(tfResources(b.s, 'aws_eks_pod_identity_association')).filter((a) => a.service_account === 'kube-prometheus-stack-alertmanager');
    expect(assoc).toHaveLength(1);
    expect(assoc[0].namespace).toBe('monitoring');
  });

  test('an AlertmanagerConfig routes the monitor\'s alerts to the topic', () => {
    const amc = one(b.monitoring, 'AlertmanagerConfig', 'fraud-drift');
    expect(amc.metadata.namespace).toBe(NS);
    expect(amc.spec.route).toMatchObject({ receiver: 'sns', matchers: [{ name: 'monitor', value: 'fraud-drift', matchType: '=' }] });
    expect(amc.spec.receivers[0].snsConfigs[0]).toEqual({ apiURL: 'https://sns.eu-west-1.amazonaws.com', sigv4: { region: 'eu-west-1' }, topicARN: topicArn, sendResolved: true });
    expect(b.monitor.snsTopicArn).toBe(topicArn);
    // the operator adds a namespace matcher to the route: the alerts carry that namespace
    for (const r of one(b.monitoring, 'PrometheusRule', 'fraud-drift').spec.groups[0].rules) expect(r.labels.namespace).toBe(NS);
    expect(validateAll(b.all)).toBe(b.all.length);
  });
});

describe('DriftMonitor: variants, labels prefix, GPU pipeline, custom Pushgateway', () => {
  test('monitors the variant asked for, and a separate labels prefix gets its own read grant', () => {
    const b = buildMonitor(({ platform }) => ({
      labels: { uri: `s3://${platform.artifactBucket.bucketName}/labels`, bucketArn: platform.artifactBucket.bucketArn, prefix: 'labels', kmsKeyArn: platform.key.arn },
      pushgateway: PushgatewayRef.fromAttributes({ url: 'http://pgw.obs.svc:9091', namespace: 'obs', podLabels: { app: 'pgw' }, port: 9091 }),
    }));
    const config = configOf(b);
    expect(config.performance.labels).toBe(`s3://${b.platform.artifactBucket.bucketName}/labels`);
    expect(config.output.pushgateway).toBe('http://pgw.obs.svc:9091');
    const st = policyOf(b, 'acme-ml-dev-monitoring-fraud-drift');
    expect(st.find((x) => x.Sid === 'ReadLabels')!.Resource).toBe(`${b.platform.artifactBucket.bucketArn}/labels/fraud/*`);
    expect(one(b.monitoring, 'NetworkPolicy', 'fraud-drift').spec.egress[2].to[0].podSelector).toEqual({ matchLabels: { app: 'pgw' } });
  });

  test('retraining on a GPU pool: the Role still names the one CronJob, and the Kueue label is part of what admission requires', () => {
    const b = buildMonitor(({ pipeline }) => ({ retrain: pipeline }), {
      pipeline: (_r, platform) => ({
        external: { command: 'python /app/train.py', task: 'classification' },
        compute: TrainingCompute.gpu(new GpuTrainingPool(platform, 'gpu', { capacity: GpuCapacity.karpenter({ instanceTypes: ['g6.xlarge'], maxGpus: 4 }) }), { gpus: 1 }),
      }),
    });
    const cj = one(b.all, 'CronJob', 'fraud-train');
    expect(Object.keys(cj.spec.jobTemplate.metadata.labels)).toContain('kueue.x-k8s.io/queue-name');
    expect(one(b.monitoring, 'Role', 'fraud-drift-retrain').rules[0].resourceNames).toEqual(['fraud-train']);
    expect(validateAll(b.all)).toBe(b.all.length);
  });
});

describe('DriftMonitor: deterministic', () => {
  test('two syntheses of the same program are identical', () => {
    const a = buildMonitor(({ pipeline }) => ({ retrain: pipeline, snsTopic: true }));
    const c = buildMonitor(({ pipeline }) => ({ retrain: pipeline, snsTopic: true }));
    expect(JSON.stringify(c.s.kubernetes)).toBe(JSON.stringify(a.s.kubernetes));
    expect(JSON.stringify(c.s.terraform)).toBe(JSON.stringify(a.s.terraform));
  });
});
