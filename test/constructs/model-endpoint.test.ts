import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import '../support/gateway-api-schema';
import { fraudStore } from './feature-store.fixtures';
import {
  AnalysisMetric, CanaryTrafficRouting, DeploymentStrategy, EndpointAuth, EndpointScaling, GpuTrainingPool, ModelEndpoint, ModelRegistry, PrometheusRef, checkKubernetes,
} from '../../src';
import { resolveServeConfig } from '../../src/cli/commands/serve';
import { buildEndpoint, GATEWAY, one, serveConfigOf, TestFeatureService } from '../support/endpoint';
import { validateAll, validateObject } from '../support/kube-schema';
import { kubeObjects, newPlatform, synth, tfResources, TestKubeObject } from '../support/platform';

const NS = 'acme-ml-serving';

/** Every object validates; Rollout pod templates also against the core PodTemplate schema. */
function validateEverything(objs: TestKubeObject[]): void {
  expect(validateAll(objs)).toBe(objs.length);
  for (const o of objs.filter((x) => x.kind === 'Rollout')) {
    validateObject({ apiVersion: 'v1', kind: 'PodTemplate', metadata: { name: o.metadata.name, namespace: o.metadata.namespace }, template: (o as any).spec.template } as never);
  }
}

/** The endpoint role's inline policy statements. */
function rolePolicy(s: ReturnType<typeof buildEndpoint>['s'], roleName: string): any[] {
  const roles = tfResources(s, 'aws_iam_role');
  const [roleId] = Object.entries(roles).find(([, r]) => r.name === roleName) ?? [];
  expect(roleId).toBeDefined();
  const policy = Object.values(tfResources(s, 'aws_iam_role_policy')).find((p) => String(p.role).includes(`aws_iam_role.${roleId}.`));
  return JSON.parse(String(policy!.policy)).Statement;
}

describe('ModelEndpoint: default (rolling update, CPU autoscaling)', () => {
  const b = buildEndpoint();
  const deploy = one(b.serving, 'Deployment', 'fraud');
  const pod = deploy.spec.template.spec;
  const config = serveConfigOf(deploy);

  test('snapshot of the serving chart', () => {
    expect(b.serving).toMatchSnapshot();
  });

  test('every object validates against its schema and the output is policy clean', () => {
    validateEverything(b.all);
    expect(checkKubernetes(b.all as never)).toEqual([]);
    expect(b.s.suppressed).toEqual([]);
    expect(b.serving.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'Deployment/fraud', 'HTTPRoute/fraud', 'HorizontalPodAutoscaler/fraud', 'NetworkPolicy/fraud', 'PodDisruptionBudget/fraud',
      'Service/fraud', 'Service/fraud-metrics', 'ServiceAccount/fraud', 'ServiceMonitor/fraud',
    ]);
    expect(b.serving.every((o) => o.metadata.namespace === NS)).toBe(true);
  });

  test('the Deployment runs `cdk-mlops serve` hardened, with its config projected from the pod template', () => {
    const c = pod.containers[0];
    expect(c.args).toEqual(['serve', '--config', '/etc/cdk-mlops/config.json']);
    expect(c.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/v2/health/ready', port: 'http' });
    expect(c.volumeMounts).toContainEqual({ name: 'config', mountPath: '/etc/cdk-mlops', readOnly: true });
    expect(c.volumeMounts).toContainEqual({ name: 'secret-0', mountPath: '/var/run/secrets/cdk-mlops/auth', readOnly: true });
    expect(pod.volumes).toContainEqual({ name: 'secret-0', secret: { secretName: 'fraud-tokens', defaultMode: 0o440 } });
    expect(pod.volumes).toContainEqual({
      name: 'config',
      downwardAPI: { defaultMode: 0o444, items: [{ path: 'config.json', fieldRef: { fieldPath: "metadata.annotations['cdk-mlops.io/serve-config']" } }] },
    });
    expect(pod.serviceAccountName).toBe('fraud');
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.terminationGracePeriodSeconds).toBe(40); // 5 s drain delay + 30 s drain + 5 s
    expect(deploy.spec.replicas).toBeUndefined(); // the HPA owns it
    expect(deploy.spec.strategy.rollingUpdate).toEqual({ maxSurge: '25%', maxUnavailable: 0 });
  });

  test('the serve configuration is what the runtime itself accepts, with the registry, tokens and prediction log wired', () => {
    const bucket = b.platform.artifactBucket.bucketName;
    expect(config.registry).toBe(`s3://${bucket}/registry`);
    expect(config.models).toEqual([expect.objectContaining({ name: 'fraud', ref: 7, variant: 'primary' })]);
    expect(config.auth.tokensFile).toBe('/var/run/secrets/cdk-mlops/auth/tokens');
    expect(config.predictionLog).toMatchObject({ uri: `s3://${bucket}/predictions/fraud`, sampleRate: 1, s3: { region: 'eu-west-1' } });
    expect(config).toMatchObject({ host: '0.0.0.0', port: 8080 });
    // the runtime's own loader reads the projected file exactly as the pod will
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'endpoint-config-'));
    const file = path.join(dir, 'config.json');
    fs.writeFileSync(file, deploy.spec.template.metadata.annotations['cdk-mlops.io/serve-config']);
    expect(resolveServeConfig(['--config', file], {}).config).toEqual(config);
    fs.rmSync(dir, { recursive: true });
    expect(b.endpoint.variants[0].config).toEqual(config);
  });

  test('autoscaling, disruption budget and zone spread', () => {
    const hpa = one(b.serving, 'HorizontalPodAutoscaler');
    expect(hpa.spec).toMatchObject({
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'fraud' },
      minReplicas: 2,
      maxReplicas: 10,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }],
    });
    const pdb = one(b.serving, 'PodDisruptionBudget');
    expect(pdb.spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: deploy.spec.selector.matchLabels }, unhealthyPodEvictionPolicy: 'AlwaysAllow' });
    expect(pod.topologySpreadConstraints).toEqual([
      expect.objectContaining({ topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule', maxSkew: 1, matchLabelKeys: ['pod-template-hash'] }),
      expect.objectContaining({ topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway' }),
    ]);
  });

  test('NetworkPolicy: inference only from the gateway proxies, scrapes only from Prometheus, egress to AWS', () => {
    const np = one(b.serving, 'NetworkPolicy', 'fraud');
    expect(np.spec.podSelector.matchLabels).toEqual(b.endpoint.workload.selector);
    expect(np.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(np.spec.ingress).toEqual([
      {
        from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'envoy-gateway-system' } }, podSelector: { matchLabels: { 'gateway.envoyproxy.io/owning-gateway-name': 'public' } } }],
        ports: [{ protocol: 'TCP', port: 8080 }],
      },
      {
        from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } } }],
        ports: [{ protocol: 'TCP', port: 8080 }],
      },
    ]);
    // DNS: the namespace's own policy admits every pod's lookups
    const dns = one(b.all.filter((o) => o.metadata.namespace === NS), 'NetworkPolicy', 'allow-dns-egress');
    expect(dns.spec.podSelector).toEqual({});
    expect(np.spec.egress).toEqual([
      { to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['169.254.169.254/32'] } }], ports: [{ protocol: 'TCP', port: 443 }] },
      { to: [{ ipBlock: { cidr: '169.254.170.23/32' } }], ports: [{ protocol: 'TCP', port: 80 }] },
    ]);
  });

  test('ServiceMonitor scrapes /metrics of every variant through the headless metrics Service', () => {
    const sm = one(b.serving, 'ServiceMonitor');
    const svc = one(b.serving, 'Service', 'fraud-metrics');
    expect(sm.metadata.labels.release).toBe('kube-prometheus-stack');
    expect(sm.spec.endpoints).toEqual([{ port: 'http', path: '/metrics', scheme: 'http', interval: '15s', scrapeTimeout: '10s' }]);
    expect(sm.spec.namespaceSelector).toEqual({ matchNames: [NS] });
    for (const [k, val] of Object.entries(sm.spec.selector.matchLabels)) expect(svc.metadata.labels[k]).toBe(val);
    expect(svc.spec.clusterIP).toBe('None');
    expect(svc.spec.selector).toEqual(b.endpoint.workload.selector); // not variant-specific
    // the inference Service is not scraped (no double counting)
    expect(one(b.serving, 'Service', 'fraud').metadata.labels['cdk-mlops.io/scrape']).toBeUndefined();
  });

  test('HTTPRoute attaches to the named Gateway on /v2/models/<model>', () => {
    const route = one(b.serving, 'HTTPRoute');
    expect(route.spec.parentRefs).toEqual([{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'public', namespace: 'gateways', sectionName: 'https' }]);
    expect(route.spec.rules).toEqual([{
      matches: [{ path: { type: 'PathPrefix', value: '/v2/models/fraud' } }],
      backendRefs: [{ group: '', kind: 'Service', name: 'fraud', port: 8080 }],
    }]);
  });

  test("IAM: read-only on exactly the model's registry prefix, write-only on its own prediction-log prefix", () => {
    const bucketArn = b.platform.artifactBucket.bucketArn;
    const statements = rolePolicy(b.s, 'acme-ml-dev-serving-fraud');
    const actions = statements.flatMap((st) => [st.Action].flat());
    expect(actions.filter((a: string) => a.startsWith('s3:')).sort()).toEqual(['s3:GetObject', 's3:ListBucket', 's3:PutObject'].sort());
    const put = statements.find((st) => [st.Action].flat().includes('s3:PutObject'));
    expect(put.Resource).toBe(`${bucketArn}/predictions/fraud/*`);
    const get = statements.find((st) => [st.Action].flat().includes('s3:GetObject'));
    expect([get.Resource].flat()).toEqual([`${bucketArn}/registry/models/fraud/*`]);
    const list = statements.find((st) => [st.Action].flat().includes('s3:ListBucket'));
    expect(JSON.stringify(list.Condition)).toContain('registry/models/fraud/');
    expect(JSON.stringify(statements)).not.toMatch(/registry\/models\/\*|models\/(?!fraud)/);
    const kms = statements.find((st) => st.Sid === 'EncryptPredictionLog');
    expect(kms).toMatchObject({ Action: 'kms:GenerateDataKey', Condition: { StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' } } });
    // Pod Identity binds the role to the endpoint's ServiceAccount only
    const assoc = Object.values(tfResources(b.s, 'aws_eks_pod_identity_association')).find((a) => a.service_account === 'fraud');
    expect(assoc).toMatchObject({ namespace: NS, service_account: 'fraud' });
  });

  test('inventory lists the endpoint', () => {
    const entry = (b.s.inventory.capabilities as any[]).find((c) => c.kind === 'endpoint');
    expect(entry).toMatchObject({
      name: 'fraud',
      namespace: NS,
      model: 'fraud@7',
      strategy: 'rolling',
      route: { gateway: 'gateways/public', path: '/v2/models/fraud' },
      variants: [{ variant: 'primary', model: 'fraud@7', workload: 'Deployment/fraud', service: 'fraud' }],
      auth: { kind: 'tokens', secret: 'fraud-tokens' },
      predictionLog: `s3://${b.platform.artifactBucket.bucketName}/predictions/fraud`,
    });
  });

  test('synthesis is deterministic', () => {
    expect(JSON.stringify(buildEndpoint().serving)).toBe(JSON.stringify(b.serving));
  });
});

describe('ModelEndpoint: canary with Argo Rollouts', () => {
  const b = buildEndpoint(() => ({
    strategy: DeploymentStrategy.canary({
      steps: [{ weight: 5, pause: '10m' }, { weight: 25, pause: '10m' }, { weight: 50, pause: 'indefinite' }],
      analysis: {
        metrics: [
          AnalysisMetric.errorRate(0.02),
          AnalysisMetric.p99Latency(150),
          AnalysisMetric.predictionQuality({ name: 'prediction-drift', query: 'max(cdk_mlops_prediction_drift_score{model="{{args.model}}",version="{{args.version}}"})', atMost: 0.2, noData: 'pass' }),
        ],
        failureLimit: 2,
      },
    }),
  }));
  const rollout = one(b.serving, 'Rollout', 'fraud');
  const template = one(b.serving, 'AnalysisTemplate', 'fraud');

  test('a Rollout replaces the Deployment; every object validates', () => {
    validateEverything(b.all);
    expect(b.serving.filter((o) => o.kind === 'Deployment')).toEqual([]);
    expect(checkKubernetes(b.all as never)).toEqual([]);
    expect(one(b.serving, 'HorizontalPodAutoscaler').spec.scaleTargetRef).toEqual({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', name: 'fraud' });
    expect(rollout.spec.template.spec.topologySpreadConstraints[0].matchLabelKeys).toEqual(['rollouts-pod-template-hash']);
  });

  test('strict field validation of the Rollout and the AnalysisTemplate: a misspelt field fails', () => {
    const r = JSON.parse(JSON.stringify(rollout));
    r.spec.strategy.canary.steps[0].setWieght = 5;
    expect(() => validateObject(r)).toThrow(/unknown field spec\.strategy\.canary\.steps\[0\]\.setWieght/);
    const t = JSON.parse(JSON.stringify(one(b.serving, 'AnalysisTemplate')));
    t.spec.metrics[0].failureLimt = 1;
    expect(() => validateObject(t)).toThrow(/unknown field spec\.metrics\[0\]\.failureLimt/);
  });

  test('steps, Gateway API traffic routing and the background analysis that aborts the rollout', () => {
    const c = rollout.spec.strategy.canary;
    expect(c.steps).toEqual([
      { setWeight: 5 }, { pause: { duration: '10m' } },
      { setWeight: 25 }, { pause: { duration: '10m' } },
      { setWeight: 50 }, { pause: {} },
    ]);
    expect(c.stableService).toBe('fraud');
    expect(c.canaryService).toBe('fraud-canary');
    expect(c.trafficRouting).toEqual({ plugins: { 'argoproj-labs/gatewayAPI': { httpRoute: 'fraud', namespace: NS } } });
    expect(c.analysis).toEqual({
      templates: [{ templateName: 'fraud' }],
      startingStep: 1,
      args: [{ name: 'version', value: '7' }, { name: 'pod-hash', valueFrom: { podTemplateHashValue: 'Latest' } }],
    });
    const route = one(b.serving, 'HTTPRoute');
    expect(route.spec.rules[0].backendRefs).toEqual([
      { group: '', kind: 'Service', name: 'fraud', port: 8080, weight: 100 },
      { group: '', kind: 'Service', name: 'fraud-canary', port: 8080, weight: 0 },
    ]);
    expect(one(b.serving, 'Service', 'fraud-canary').spec.selector).toEqual(one(b.serving, 'Service', 'fraud').spec.selector);
  });

  test("the AnalysisTemplate queries the new pods' own metrics, with rollback conditions", () => {
    const sel = 'model="{{args.model}}",namespace="{{args.namespace}}",rollouts_pod_template_hash="{{args.pod-hash}}",service="fraud-metrics"';
    const byName = Object.fromEntries(template.spec.metrics.map((m: any) => [m.name, m]));
    expect(Object.keys(byName)).toEqual(['error-rate', 'p99-latency', 'prediction-drift']);
    expect(byName['error-rate'].provider.prometheus).toEqual({
      address: 'http://prometheus-operated.monitoring.svc:9090',
      query: `(sum(rate(cdk_mlops_serve_requests_total{code=~"5..",${sel}}[2m])) or vector(0)) / sum(rate(cdk_mlops_serve_requests_total{${sel}}[2m]))`,
    });
    expect(byName['error-rate'].successCondition).toBe('len(result) > 0 && !isNaN(result[0]) && result[0] <= 0.02');
    expect(byName['error-rate'].failureCondition).toBe('len(result) > 0 && !isNaN(result[0]) && !(result[0] <= 0.02)');
    expect(byName['p99-latency'].provider.prometheus.query)
      .toBe(`histogram_quantile(0.99, sum by (le) (rate(cdk_mlops_serve_request_duration_seconds_bucket{${sel}}[2m])))`);
    expect(byName['p99-latency'].failureCondition).toBe('len(result) > 0 && !isNaN(result[0]) && !(result[0] <= 0.15)');
    expect(byName['prediction-drift'].provider.prometheus.query).toBe('max(cdk_mlops_prediction_drift_score{model="{{args.model}}",version="{{args.version}}"})');
    // noData: 'pass': a version the drift monitor has not scored yet passes; a score above 0.2 fails
    expect(byName['prediction-drift'].successCondition).toBe('!(len(result) > 0 && !isNaN(result[0])) || result[0] <= 0.2');
    expect(byName['prediction-drift'].failureCondition).toBe('len(result) > 0 && !isNaN(result[0]) && !(result[0] <= 0.2)');
    // the default (error rate, latency): no data is inconclusive (neither condition holds)
    expect(byName['p99-latency'].successCondition).toBe('len(result) > 0 && !isNaN(result[0]) && result[0] <= 0.15');
    for (const m of template.spec.metrics) {
      expect(m).toMatchObject({ interval: '1m', failureLimit: 2, inconclusiveLimit: 3 });
      expect(m.count).toBeUndefined(); // background analysis runs until the rollout ends
    }
    expect(template.spec.args).toEqual([{ name: 'namespace', value: NS }, { name: 'model', value: 'fraud' }, { name: 'version' }, { name: 'pod-hash' }]);
    // every argument a query uses is declared by the template or passed by the Rollout
    const declared = new Set(template.spec.args.map((a: any) => a.name));
    for (const m of template.spec.metrics) {
      for (const [, arg] of m.provider.prometheus.query.matchAll(/\{\{args\.([a-z-]+)\}\}/g)) expect(declared.has(arg)).toBe(true);
    }
  });

  test('the pod-template hash reaches Prometheus as the label the queries select on', () => {
    expect(one(b.serving, 'ServiceMonitor').spec.podTargetLabels).toEqual(['rollouts-pod-template-hash']);
  });

  test('replica-based canary: no traffic router, one backend, no canary Service', () => {
    const r = buildEndpoint(() => ({
      strategy: DeploymentStrategy.canary({ steps: [{ weight: 50 }], analysis: {}, trafficRouting: CanaryTrafficRouting.REPLICAS }),
    }));
    validateEverything(r.all);
    const c = one(r.serving, 'Rollout').spec.strategy.canary;
    expect(c.trafficRouting).toBeUndefined();
    expect(c.canaryService).toBeUndefined();
    expect(c.steps).toEqual([{ setWeight: 50 }]);
    expect(r.serving.some((o) => o.metadata.name === 'fraud-canary')).toBe(false);
    expect(one(r.serving, 'HTTPRoute').spec.rules[0].backendRefs).toEqual([{ group: '', kind: 'Service', name: 'fraud', port: 8080 }]);
    // default metrics: 1 % errors, 250 ms p99
    const metrics = one(r.serving, 'AnalysisTemplate').spec.metrics;
    expect(metrics.map((m: any) => [m.name, m.successCondition.split('&& ').pop()])).toEqual([['error-rate', 'result[0] <= 0.01'], ['p99-latency', 'result[0] <= 0.25']]);
  });
});

describe('ModelEndpoint: blue-green', () => {
  const b = buildEndpoint(() => ({ strategy: DeploymentStrategy.blueGreen({ measurements: 3, autoPromote: false }) }));

  test('Rollout with active and preview Services, pre-promotion analysis and a preview route', () => {
    validateEverything(b.all);
    const bg = one(b.serving, 'Rollout').spec.strategy.blueGreen;
    expect(bg).toEqual({
      activeService: 'fraud',
      previewService: 'fraud-preview',
      autoPromotionEnabled: false,
      scaleDownDelaySeconds: 300,
      prePromotionAnalysis: {
        templates: [{ templateName: 'fraud' }],
        args: [{ name: 'version', value: '7' }, { name: 'pod-hash', valueFrom: { podTemplateHashValue: 'Latest' } }],
      },
    });
    one(b.serving, 'Service', 'fraud-preview');
    for (const m of one(b.serving, 'AnalysisTemplate').spec.metrics) expect(m.count).toBe(3); // pre-promotion analysis must end
    const rules = one(b.serving, 'HTTPRoute').spec.rules;
    expect(rules[0]).toEqual({
      matches: [{ path: { type: 'PathPrefix', value: '/v2/models/fraud' }, headers: [{ type: 'Exact', name: 'x-cdk-mlops-variant', value: 'preview' }] }],
      backendRefs: [{ group: '', kind: 'Service', name: 'fraud-preview', port: 8080 }],
    });
    expect(rules[1].backendRefs).toEqual([{ group: '', kind: 'Service', name: 'fraud', port: 8080 }]);
  });
});

describe('ModelEndpoint: shadow', () => {
  const b = buildEndpoint((r) => ({ strategy: DeploymentStrategy.shadow(r.model('fraud').version(8), { percent: 20 }) }));

  test('mirrors 20 % of requests to the candidate, whose answers are logged as variant shadow', () => {
    validateEverything(b.all);
    const route = one(b.serving, 'HTTPRoute');
    expect(route.spec.rules).toEqual([{
      matches: [{ path: { type: 'PathPrefix', value: '/v2/models/fraud' } }],
      filters: [{ type: 'RequestMirror', requestMirror: { backendRef: { group: '', kind: 'Service', name: 'fraud-shadow', port: 8080 }, percent: 20 } }],
      backendRefs: [{ group: '', kind: 'Service', name: 'fraud', port: 8080 }],
    }]);
    const primary = serveConfigOf(one(b.serving, 'Deployment', 'fraud'));
    const shadow = serveConfigOf(one(b.serving, 'Deployment', 'fraud-shadow'));
    expect(shadow.models).toEqual([expect.objectContaining({ name: 'fraud', ref: 8, variant: 'shadow' })]);
    expect(shadow.predictionLog.uri).toBe(primary.predictionLog.uri);
    expect(one(b.serving, 'Service', 'fraud-shadow').spec.selector['cdk-mlops.io/variant']).toBe('shadow');
    expect(one(b.serving, 'HorizontalPodAutoscaler', 'fraud-shadow').spec.scaleTargetRef.name).toBe('fraud-shadow');
    expect(one(b.serving, 'PodDisruptionBudget', 'fraud-shadow').spec.selector.matchLabels['cdk-mlops.io/variant']).toBe('shadow');
    // one identity for both variants
    expect(b.serving.filter((o) => o.kind === 'ServiceAccount')).toHaveLength(1);
  });

  test('strict field validation: a field the CRD schema does not declare fails, as the API server refuses it', () => {
    const route = JSON.parse(JSON.stringify(one(b.serving, 'HTTPRoute')));
    route.spec.rules[0].backendRefs[0].wieght = 10;
    expect(() => validateObject(route)).toThrow(/unknown field spec\.rules\[0\]\.backendRefs\[0\]\.wieght/);
  });

  test('the mirror filter is checked against the standard-channel schema (a bad percent fails validation)', () => {
    const route = JSON.parse(JSON.stringify(one(b.serving, 'HTTPRoute')));
    route.spec.rules[0].filters[0].requestMirror.percent = 101;
    expect(() => validateObject(route)).toThrow(/percent.*must be <= 100/);
    route.spec.rules[0].filters[0].requestMirror.percent = 10;
    route.spec.rules[0].filters[0].requestMirror.fraction = { numerator: 1 };
    expect(() => validateObject(route)).toThrow(/must NOT be valid/);
  });
});

describe('ModelEndpoint: A/B test', () => {
  const b = buildEndpoint((r) => ({
    strategy: DeploymentStrategy.abTest([
      { model: r.model('fraud').version(7), weight: 70 },
      { model: r.model('fraud').version(8), weight: 20 },
      { model: r.model('fraud').alias('challenger'), weight: 10 },
    ]),
    scaling: EndpointScaling.requestsPerSecond({ targetPerReplica: 50, maxReplicas: 6 }),
  }));

  test('weighted backends, one variant each with its own metrics label and KEDA scaler', () => {
    validateEverything(b.all);
    expect(one(b.serving, 'HTTPRoute').spec.rules[0].backendRefs).toEqual([
      { group: '', kind: 'Service', name: 'fraud', port: 8080, weight: 70 },
      { group: '', kind: 'Service', name: 'fraud-v8', port: 8080, weight: 20 },
      { group: '', kind: 'Service', name: 'fraud-challenger', port: 8080, weight: 10 },
    ]);
    const variants = ['fraud', 'fraud-v8', 'fraud-challenger'].map((n) => serveConfigOf(one(b.serving, 'Deployment', n)).models[0]);
    expect(variants.map((m) => [m.ref, m.variant])).toEqual([[7, 'primary'], [8, 'v8'], ['challenger', 'challenger']]);
    expect(b.endpoint.variants.map((x) => [x.name, x.weight])).toEqual([['primary', 70], ['v8', 20], ['challenger', 10]]);
    const so = one(b.serving, 'ScaledObject', 'fraud-v8');
    expect(so.spec).toMatchObject({ scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'fraud-v8' }, minReplicaCount: 2, maxReplicaCount: 6, pollingInterval: 15 });
    expect(so.spec.triggers).toEqual([{
      type: 'prometheus',
      name: 'requests-per-second',
      metadata: {
        serverAddress: 'http://prometheus-operated.monitoring.svc:9090',
        query: `sum(rate(cdk_mlops_serve_requests_total{model="fraud",namespace="${NS}",service="fraud-metrics",variant="v8"}[1m]))`,
        threshold: '50',
        activationThreshold: '0',
        ignoreNullValues: 'true',
      },
    }]);
    expect(b.serving.filter((o) => o.kind === 'HorizontalPodAutoscaler')).toEqual([]);
  });
});

describe('ModelEndpoint: scale to zero, GPU pool, features', () => {
  test('KEDA scales to zero only when asked, waking on the gateway\'s request count', () => {
    const wake = 'sum(rate(envoy_cluster_upstream_rq_total{envoy_cluster_name=~"httproute/acme-ml-serving/fraud/.*"}[1m]))';
    const b = buildEndpoint(() => ({ scaling: EndpointScaling.requestsPerSecond({ targetPerReplica: 20, scaleToZero: { wakeQuery: wake, idleSeconds: 600 } }) }));
    validateEverything(b.all);
    const so = one(b.serving, 'ScaledObject');
    expect(so.spec).toMatchObject({ minReplicaCount: 0, maxReplicaCount: 10, cooldownPeriod: 600 });
    expect(so.spec.triggers[1]).toEqual({
      type: 'prometheus',
      name: 'gateway-requests',
      metadata: { serverAddress: 'http://prometheus-operated.monitoring.svc:9090', query: wake, threshold: '20', activationThreshold: '0', ignoreNullValues: 'true' },
    });
    expect(b.endpoint.scaling.scaleToZero).toBe(true);
    const plain = buildEndpoint(() => ({ scaling: EndpointScaling.requestsPerSecond({ targetPerReplica: 20 }) }));
    expect(one(plain.serving, 'ScaledObject').spec.minReplicaCount).toBe(2);
  });

  test('runs on a node pool: selects its nodes, tolerates its taint, and requests no GPU without resources.gpus', () => {
    const { platform } = newPlatform();
    const registry = new ModelRegistry(platform, 'registry');
    const pool = new GpuTrainingPool(platform, 'gpu', {});
    new ModelEndpoint(platform, 'fraud', { model: registry.model('fraud').version(7), gateway: GATEWAY, nodePool: pool, resources: { memoryLimit: '8Gi', memoryRequest: '8Gi' } });
    const s = synth(platform);
    const serving = s.kubernetes['serving.yaml'] as TestKubeObject[];
    validateEverything(serving);
    const pod = one(serving, 'Deployment').spec.template.spec;
    expect(pod.nodeSelector).toEqual(pool.nodeSelector);
    expect(pod.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Equal', value: 'true', effect: 'NoSchedule' }]);
    expect(pod.containers[0].resources.limits['nvidia.com/gpu']).toBeUndefined();
    expect(pod.containers[0].resources.requests['nvidia.com/gpu']).toBeUndefined();
    expect((s.inventory.capabilities as any[]).find((c) => c.kind === 'endpoint').nodePool).toBe('gpu');
  });

  test('online features: the runtime config names the feature service, the pods may reach the feature server', () => {
    const features = new TestFeatureService();
    const b = buildEndpoint(() => ({
      features: { service: features, entityInputs: { customer: 'customer_id', merchant: 'merchant_id' }, onMissing: 'default', defaults: { age: 40 } },
    }));
    validateEverything(b.all);
    expect(serveConfigOf(one(b.serving, 'Deployment')).features).toEqual({
      url: 'http://feature-server.acme-ml-features.svc.cluster.local:6566',
      featureService: 'fraud_features',
      entityInputs: { customer: 'customer_id', merchant: 'merchant_id' },
      onMissing: 'default',
      defaults: { age: 40 },
      timeoutMs: 200,
    });
    expect(one(b.serving, 'NetworkPolicy', 'fraud').spec.egress[2]).toEqual({
      to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'acme-ml-features' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'feature-server' } } }],
      ports: [{ protocol: 'TCP', port: 6566 }],
    });
    expect(features.clients.map((w) => `${w.namespace}/${w.name}`)).toEqual([`${NS}/fraud`]);
  });

  test('with a real FeatureService: the config names it and the server URL, both sides of the network open, all valid and policy clean', () => {
    const { platform, fraud, store } = fraudStore();
    const registry = new ModelRegistry(platform, 'registry');
    const endpoint = new ModelEndpoint(platform, 'fraud', {
      model: registry.model('fraud').version(7),
      gateway: GATEWAY,
      features: { service: fraud, entityInputs: { customer: 'customer_id', merchant: 'merchant_id' }, targetInput: 'input', timeoutMs: 50 },
    });
    const s = synth(platform);
    const all = kubeObjects(s);
    validateEverything(all);
    expect(checkKubernetes(all as never)).toEqual([]);
    const serving = s.kubernetes['serving.yaml'] as TestKubeObject[];
    expect(serveConfigOf(one(serving, 'Deployment')).features).toEqual({
      url: store.server.url,
      featureService: 'fraud',
      entityInputs: { customer: 'customer_id', merchant: 'merchant_id' },
      targetInput: 'input',
      onMissing: 'reject',
      defaults: {},
      timeoutMs: 50,
    });
    const serverPeers = (s.kubernetes['features.yaml'] as any[]).filter((o) => o.kind === 'NetworkPolicy')
      .flatMap((o) => (o.spec.ingress ?? []).flatMap((r: any) => (r.from ?? []).map((p: any) => ({ policy: o.metadata.name, peer: p, ports: r.ports }))));
    expect(serverPeers).toContainEqual({
      policy: 'features-server',
      peer: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': NS } }, podSelector: { matchLabels: endpoint.workload.selector } },
      ports: [{ protocol: 'TCP', port: store.server.port }],
    });
    expect((s.inventory.capabilities as any[]).find((c) => c.kind === 'endpoint').featureService).toBe('fraud');
    // a join key the service does not have is refused
    const other = fraudStore();
    const r2 = new ModelRegistry(other.platform, 'registry');
    expect(() => new ModelEndpoint(other.platform, 'fraud', {
      model: r2.model('fraud').version(7), gateway: GATEWAY, features: { service: other.fraud, entityInputs: { customer: 'customer_id', card: 'card_id' } },
    })).toThrow(/'features\.entityInputs\.card' \("card_id"\) must be a join key of feature service 'fraud': customer_id, merchant_id/);
  });

  test('batching follows the signature hint: off for a fixed batch axis, on (runtime default) otherwise', () => {
    const fixed = buildEndpoint(() => ({ signature: { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 30] }] } }));
    expect(serveConfigOf(one(fixed.serving, 'Deployment')).models[0].batching.enabled).toBe(false);
    const dynamic = buildEndpoint(() => ({ signature: { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 30] }] }, batching: { maxBatchSize: 32, maxQueueDelayMs: 2 } }));
    expect(serveConfigOf(one(dynamic.serving, 'Deployment')).models[0].batching).toMatchObject({ enabled: true, maxBatchSize: 32, maxQueueDelayMs: 2 });
  });

  test('open endpoint on request, with the reason in the inventory; a custom Prometheus', () => {
    const b = buildEndpoint(() => ({
      auth: EndpointAuth.none('internal demo behind the VPN gateway'),
      prometheus: PrometheusRef.fromAttributes({ address: 'http://prom.obs.svc:9090', namespace: 'obs', podLabels: { app: 'prometheus' } }),
      predictionLog: { enabled: false },
    }));
    const d = one(b.serving, 'Deployment');
    const config = serveConfigOf(d);
    expect(config.auth.tokensFile).toBeUndefined();
    expect(config.predictionLog).toBeUndefined();
    expect(d.spec.template.spec.volumes.some((x: any) => x.secret)).toBe(false);
    expect((b.s.inventory.capabilities as any[]).find((c) => c.kind === 'endpoint').auth).toEqual({ kind: 'none', reason: 'internal demo behind the VPN gateway' });
    expect(one(b.serving, 'ServiceMonitor').metadata.labels.release).toBeUndefined();
    expect(one(b.serving, 'NetworkPolicy', 'fraud').spec.ingress[1].from[0].namespaceSelector.matchLabels['kubernetes.io/metadata.name']).toBe('obs');
    expect(JSON.stringify(rolePolicy(b.s, 'acme-ml-dev-serving-fraud'))).not.toContain('s3:PutObject');
  });
});
