import '../support/gateway-api-schema';
import { EndpointScaling, ModelEndpoint, ModelEndpointProps, ModelRegistry, DeploymentStrategy, AnalysisMetric } from '../../src';
import { formatCpu, formatMemory, parseQuantity } from '../../src/constructs/cluster/quantity';
import { GATEWAY } from '../support/endpoint';
import { expectProblem, kubeObjects, newPlatform, synth, validationMessage } from '../support/platform';

/**
 * The serving namespace's ResourceQuota holds what its endpoints need at their peak (maxReplicas
 * plus the rollout's surge), so an autoscaler never stops below its maximum because the quota is
 * full: unset fields grow from the defaults to the claims, set fields are checked.
 */

const NS = 'acme-ml-serving';

function build(endpoints: Partial<ModelEndpointProps>[], quota?: Record<string, string | number>) {
  const { platform } = newPlatform(quota ? { namespaceQuotas: { serving: quota } } : {});
  const registry = new ModelRegistry(platform, 'registry');
  const built = endpoints.map((p, i) => new ModelEndpoint(platform, `ep${i}`, { model: registry.model('fraud').version(7), gateway: GATEWAY, ...p }));
  return { platform, built };
}

function hardOf(platform: ReturnType<typeof build>['platform']): Record<string, unknown> {
  return (kubeObjects(synth(platform)).find((o) => o.kind === 'ResourceQuota' && o.metadata.namespace === NS) as any).spec.hard;
}

describe('Kubernetes quantities', () => {
  test.each([
    ['250m', 0.25], ['1', 1], ['1.5', 1.5], ['2500m', 2.5], ['.5', 0.5], ['512Mi', 512 * 2 ** 20], ['1Gi', 2 ** 30], ['2G', 2e9], ['1k', 1000], ['1e3', 1000], ['64Gi', 64 * 2 ** 30], ['100n', 1e-7],
  ])('%s is %d', (s, n) => {
    expect(parseQuantity(s)).toBeCloseTo(n, 12);
  });

  test.each(['', '1 Gi', 'one', '1gi', '-1', '1.2.3', ' 1', 'Gi'])('%j is not a quantity', (s) => {
    expect(parseQuantity(s)).toBeUndefined();
  });

  test('formatting: whole cores or millicores rounded up; whole Gi or Mi rounded up', () => {
    expect([formatCpu(50), formatCpu(12.5), formatCpu(0.2501)]).toEqual(['50', '12500m', '251m']);
    expect([formatMemory(100 * 2 ** 30), formatMemory(1.5 * 2 ** 30), formatMemory(2 ** 20 + 1)]).toEqual(['100Gi', '1536Mi', '2Mi']);
  });
});

describe('serving ResourceQuota sized from the endpoints', () => {
  test('small endpoints: the defaults stay (16 CPUs, 64Gi requested; 32, 128Gi limits; 100 pods)', () => {
    const { platform, built } = build([{ scaling: EndpointScaling.cpu({ minReplicas: 2, maxReplicas: 4 }) }]);
    expect(hardOf(platform)).toEqual({ 'requests.cpu': '16', 'requests.memory': '64Gi', 'limits.cpu': '32', 'limits.memory': '128Gi', 'pods': 100 });
    // 4 replicas + 25 % surge = 5 pods of 250m/512Mi requests, 1/1Gi limits
    expect(built[0].peakCompute).toEqual({ requestsCpu: 1.25, requestsMemory: 5 * 512 * 2 ** 20, limitsCpu: 5, limitsMemory: 5 * 2 ** 30, pods: 5 });
  });

  test('a large endpoint raises what it needs: 40 replicas + 10 surge of 1 CPU / 2Gi', () => {
    const { platform, built } = build([{
      scaling: EndpointScaling.cpu({ minReplicas: 2, maxReplicas: 40 }),
      resources: { cpuRequest: '1', cpuLimit: '2', memoryRequest: '2Gi', memoryLimit: '2Gi' },
    }]);
    expect(built[0].peakCompute.pods).toBe(50);
    expect(hardOf(platform)).toEqual({ 'requests.cpu': '50', 'requests.memory': '100Gi', 'limits.cpu': '100', 'limits.memory': '128Gi', 'pods': 100 });
  });

  test('a canary (Argo Rollouts) peaks at twice maxReplicas; endpoints add up', () => {
    const canary = DeploymentStrategy.canary({ steps: [{ weight: 20, pause: '5m' }], analysis: { metrics: [AnalysisMetric.errorRate(0.02)] } });
    const { platform, built } = build([
      { strategy: canary, scaling: EndpointScaling.cpu({ minReplicas: 2, maxReplicas: 30 }), resources: { cpuRequest: '500m', cpuLimit: '1' } },
      { scaling: EndpointScaling.cpu({ minReplicas: 2, maxReplicas: 16 }), resources: { cpuRequest: '500m', cpuLimit: '1' } },
    ]);
    expect(built.map((b) => b.peakCompute.pods)).toEqual([60, 20]);
    const hard = hardOf(platform);
    expect(hard['requests.cpu']).toBe('40');
    expect(hard['limits.cpu']).toBe('80');
    expect(hard['requests.memory']).toBe('64Gi'); // 80 x 512Mi = 40Gi: the default holds it
  });

  test('a quota set too small fails synthesis, naming the field, the need and who needs it', () => {
    const { platform } = build([{ scaling: EndpointScaling.cpu({ minReplicas: 2, maxReplicas: 40 }), resources: { cpuRequest: '1', cpuLimit: '2', memoryRequest: '1Gi', memoryLimit: '1Gi' } }],
      { requestsCpu: '20' });
    expect(validationMessage(() => synth(platform))).toContain("the ResourceQuota of namespace 'acme-ml-serving' admits requests.cpu 20 (namespaceQuotas 'requestsCpu') but its workloads need 50 at their peak (dev/ep0: 50): "
      + 'raise it to at least 50, or leave it unset to size it from the workloads, or the autoscalers stop below their maximum');
  });

  test('a quota set large enough is kept as given; a malformed one fails', () => {
    const ok = build([{ scaling: EndpointScaling.cpu({ minReplicas: 2, maxReplicas: 40 }), resources: { cpuRequest: '1', cpuLimit: '1' } }], { requestsCpu: '64', limitsCpu: '64' });
    expect(hardOf(ok.platform)).toMatchObject({ 'requests.cpu': '64', 'limits.cpu': '64' });
    const bad = build([{}], { requestsMemory: 'lots' });
    expect(() => synth(bad.platform)).toThrow(/'requestsMemory' \("lots"\) must be a Kubernetes quantity like '16' or '64Gi'/);
  });

  test('endpoint resources must be quantities, requests within limits', () => {
    const { platform } = newPlatform();
    const registry = new ModelRegistry(platform, 'registry');
    const endpoint = (id: string, resources: ModelEndpointProps['resources']) => () => new ModelEndpoint(platform, id, { model: registry.model('fraud').version(7), gateway: GATEWAY, resources });
    expectProblem(endpoint('a', { cpuRequest: '2 cores' }), 'resources.cpuRequest', /"2 cores" must be a Kubernetes quantity like '500m'/);
    expectProblem(endpoint('b', { memoryLimit: '1GB' }), 'resources.memoryLimit', /"1GB" must be a Kubernetes quantity like '1Gi'/);
    expectProblem(endpoint('c', { cpuRequest: '2', cpuLimit: '1' }), 'resources.cpuRequest', /"2" must not exceed the CPU limit \(1\)/);
    expectProblem(endpoint('d', { memoryRequest: '2Gi' }), 'resources.memoryRequest', /"2Gi" must not exceed the memory limit \(1Gi\)/);
  });
});
