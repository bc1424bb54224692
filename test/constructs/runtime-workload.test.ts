import { checkKubernetes } from '../../src';
import { k8s } from '../../src/constructs/cluster/k8s';
import { awsEgressRules, runtimeConfigMap, runtimeContainer, runtimePodSpec } from '../../src/constructs/cluster/runtime-workload';
import { PlatformPart } from '../../src/constructs/platform';
import { validateAll } from '../support/kube-schema';
import { kubeObjects, newPlatform, synth } from '../support/platform';

describe('runtime workload building blocks', () => {
  function build(config: unknown) {
    const { platform } = newPlatform();
    const chart = platform.chart('serving');
    const w = platform.addWorkload(platform, 'fraud', { part: PlatformPart.SERVING, chart });
    const { checksum } = runtimeConfigMap(chart, 'cfg', { name: 'fraud-config', namespace: w.namespace, labels: w.selector, config });
    const container = runtimeContainer(platform, 'serve', {
      args: ['serve'],
      configMapName: 'fraud-config',
      ports: [{ name: 'http', port: 8080 }],
      readinessPath: '/v2/health/ready',
      livenessPath: '/v2/health/live',
      resources: { gpus: 1 },
      secretEnv: { API_TOKEN: { secret: 'tokens', key: 'token' } },
    });
    new k8s.KubeDeployment(chart, 'deploy', {
      metadata: { name: 'fraud', namespace: w.namespace },
      spec: {
        selector: { matchLabels: w.selector },
        template: {
          metadata: { labels: w.selector, annotations: { 'cdk-mlops.io/config-checksum': checksum } },
          spec: runtimePodSpec({ workload: w, containers: [container], configMapName: 'fraud-config' }),
        },
      },
    });
    new k8s.KubeNetworkPolicy(chart, 'egress', { metadata: { name: 'fraud-egress', namespace: w.namespace }, spec: { podSelector: { matchLabels: w.selector }, policyTypes: ['Egress'], egress: awsEgressRules() } });
    return { s: synth(platform), checksum };
  }

  test('a Deployment built from them passes every policy rule and the Kubernetes schemas', () => {
    const { s } = build({ port: 8080, models: [{ name: 'fraud', ref: 'champion' }] });
    const objs = kubeObjects(s);
    expect(checkKubernetes(objs as never)).toEqual([]);
    expect(validateAll(objs)).toBeGreaterThan(20);
    const d = objs.find((o) => o.kind === 'Deployment') as any;
    const c = d.spec.template.spec.containers[0];
    expect(c.image).toBe('ghcr.io/cdk-mlops/runtime:0.1.0');
    expect(c.resources.limits['nvidia.com/gpu']).toBe(1);
    expect(c.env).toEqual([
      { name: 'CDK_MLOPS_CONFIG', value: '/etc/cdk-mlops/config.json' },
      { name: 'TMPDIR', value: '/tmp' },
      { name: 'API_TOKEN', valueFrom: { secretKeyRef: { name: 'tokens', key: 'token' } } },
    ]);
    expect(d.spec.template.spec.automountServiceAccountToken).toBe(false);
    expect(d.spec.template.spec.volumes.map((v: any) => v.name)).toEqual(['tmp', 'config']);
    const np = objs.find((o) => o.metadata.name === 'fraud-egress') as any;
    expect(np.spec.egress[0].to[0].ipBlock).toEqual({ cidr: '0.0.0.0/0', except: ['169.254.169.254/32'] });
  });

  test('the config checksum follows the configuration and ignores key order', () => {
    const a = build({ port: 8080, models: [] }).checksum;
    const b = build({ models: [], port: 8080 }).checksum;
    const c = build({ port: 8081, models: [] }).checksum;
    expect(a).toBe(b);
    expect(a).not.toBe(c);
    const cm = kubeObjects(build({ b: 1, a: 2 }).s).find((o) => o.kind === 'ConfigMap') as any;
    expect(cm.data['config.json']).toBe('{\n  "a": 2,\n  "b": 1\n}\n');
  });
});
