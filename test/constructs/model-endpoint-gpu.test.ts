import '../support/gateway-api-schema';
import {
  CapacityType, DeploymentStrategy, EndpointScaling, GpuCapacity, GpuPlacement, GpuTrainingPool, IGpuNodePool, MlPlatform, ModelEndpoint,
  ModelEndpointProps, ModelRegistry, RuntimeImage, checkKubernetes,
} from '../../src';
import { ServeConfigSchema } from '../../src/runtime/config/serve';
import { registerCrdValidators } from '../fixtures/crds/validators';
import { GATEWAY, one, serveConfigOf } from '../support/endpoint';
import { validateAll, validateObject } from '../support/kube-schema';
import { expectProblem, kubeObjects, newPlatform, synth, TestKubeObject, validationMessage } from '../support/platform';

/** A CUDA build of the runtime image, as the README tells how to make it. */
const CUDA_IMAGE = RuntimeImage.fromTag('123456789012.dkr.ecr.eu-west-1.amazonaws.com/cdk-mlops-runtime', '0.1.0-cuda12');
const NS = 'acme-ml-serving';

registerCrdValidators();

function gpuPlatform(quotaGpus?: number, poolProps: ConstructorParameters<typeof GpuTrainingPool>[2] = {}): { platform: MlPlatform; registry: ModelRegistry; pool: GpuTrainingPool } {
  const { platform } = newPlatform(quotaGpus === undefined ? {} : { namespaceQuotas: { serving: { gpus: quotaGpus } } });
  const registry = new ModelRegistry(platform, 'registry');
  const pool = new GpuTrainingPool(platform, 'gpu', poolProps);
  return { platform, registry, pool };
}

/** The ResourceQuota of a namespace. */
function quotaOf(objs: TestKubeObject[], namespace: string): Record<string, unknown> {
  return (objs.find((o) => o.kind === 'ResourceQuota' && o.metadata.namespace === namespace) as any).spec.hard;
}

/** Every object validates; Rollout pod templates also against the core PodTemplate schema. */
function validateEverything(objs: TestKubeObject[]): void {
  expect(validateAll(objs)).toBe(objs.length);
  for (const o of objs.filter((x) => x.kind === 'Rollout')) {
    validateObject({ apiVersion: 'v1', kind: 'PodTemplate', metadata: { name: o.metadata.name, namespace: o.metadata.namespace }, template: (o as any).spec.template } as never);
  }
}

describe('ModelEndpoint on GPUs from a GpuTrainingPool', () => {
  const { platform, registry, pool } = gpuPlatform();
  const endpoint = new ModelEndpoint(platform, 'fraud', {
    model: registry.model('fraud').version(7),
    gateway: GATEWAY,
    resources: { gpus: 1, cpuRequest: '2', cpuLimit: '4', memoryRequest: '8Gi', memoryLimit: '8Gi' },
    placement: GpuPlacement.pool(pool),
    image: CUDA_IMAGE,
    scaling: EndpointScaling.cpu({ minReplicas: 1, maxReplicas: 4 }),
  });
  const s = synth(platform);
  const serving = s.kubernetes['serving.yaml'] as TestKubeObject[];
  const all = kubeObjects(s);
  const deploy = one(serving, 'Deployment', 'fraud');
  const pod = deploy.spec.template.spec;
  const container = pod.containers[0];

  test('every object validates against its schema and the serving chart is policy clean', () => {
    validateEverything(all);
    // (the pool's device plugin carries its own, reasoned suppressions)
    expect(checkKubernetes(serving as never)).toEqual([]);
  });

  test('the pod requests one nvidia.com/gpu (limit = request) and runs the CUDA image', () => {
    expect(container.resources.limits['nvidia.com/gpu']).toBe(1);
    expect(container.resources.requests['nvidia.com/gpu']).toBe(1);
    expect(container.resources.requests.cpu).toBe('2');
    expect(container.image).toBe(CUDA_IMAGE.reference);
    expect(container.env).toContainEqual({ name: 'CUDA_CACHE_PATH', value: '/tmp/cuda-cache' });
    // still the hardened container
    expect(container.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
  });

  test("the pod selects the pool's nodes and tolerates its taint", () => {
    expect(pod.nodeSelector).toEqual({ 'cdk-mlops.io/pool': 'acme-ml-gpu' });
    expect(pod.nodeSelector).toEqual(pool.nodeSelector);
    expect(pod.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Equal', value: 'true', effect: 'NoSchedule' }]);
  });

  test("the serve configuration runs the model on 'cuda', valid for the runtime's schema", () => {
    const config = serveConfigOf(deploy);
    expect(config.models).toHaveLength(1);
    expect(config.models[0].executionProvider).toBe('cuda');
    expect(config.models[0].cudaDeviceId).toBeUndefined();
    expect(ServeConfigSchema.parse(config).models[0].executionProvider).toBe('cuda');
    expect(endpoint.variants[0].config.models[0].executionProvider).toBe('cuda');
  });

  test('the serving quota admits the GPUs at the rollout peak; the training quota keeps no GPU field', () => {
    // HPA max 4 replicas + 25 % surge (1) = 5 pods of one GPU
    expect(endpoint.gpus).toBe(1);
    expect(endpoint.peakGpus).toBe(5);
    expect(quotaOf(all, NS)['requests.nvidia.com/gpu']).toBe(5);
    expect(quotaOf(all, 'acme-ml-training')['requests.nvidia.com/gpu']).toBeUndefined();
    const limitRange = all.find((o) => o.kind === 'LimitRange' && o.metadata.namespace === NS) as any;
    expect(JSON.stringify(limitRange.spec)).not.toContain('nvidia.com/gpu');
  });

  test('platform.json records the GPUs, their placement and the image', () => {
    const entry = (s.inventory.capabilities as any[]).find((c) => c.kind === 'endpoint');
    expect(entry.gpu).toEqual({ perPod: 1, peak: 5, placement: { pool: 'gpu', capacity: 'karpenter' }, image: CUDA_IMAGE.reference });
  });
});

describe('ModelEndpoint on GPUs: scale to zero, rollouts, node groups, quota', () => {
  test('KEDA scales a GPU canary to zero; the Rollout carries the GPU pod; two endpoints add up in the quota', () => {
    const { platform, registry, pool } = gpuPlatform(undefined, { capacity: GpuCapacity.karpenter({ maxGpus: 12 }) });
    const a = new ModelEndpoint(platform, 'fraud', {
      model: registry.model('fraud').version(7),
      gateway: GATEWAY,
      strategy: DeploymentStrategy.canary({ steps: [{ weight: 20, pause: '5m' }], analysis: {} }),
      scaling: EndpointScaling.requestsPerSecond({ targetPerReplica: 50, maxReplicas: 3, scaleToZero: { wakeQuery: 'sum(rate(envoy_cluster_upstream_rq_total[1m]))', idleSeconds: 900 } }),
      resources: { gpus: 1 },
      placement: GpuPlacement.pool(pool),
      image: CUDA_IMAGE,
    });
    const b = new ModelEndpoint(platform, 'churn', {
      model: registry.model('churn').version(2),
      gateway: GATEWAY,
      scaling: EndpointScaling.cpu({ minReplicas: 1, maxReplicas: 2 }),
      resources: { gpus: 1 },
      placement: GpuPlacement.pool(pool),
      image: CUDA_IMAGE,
    });
    const s = synth(platform);
    const all = kubeObjects(s);
    validateEverything(all);
    const serving = s.kubernetes['serving.yaml'] as TestKubeObject[];
    expect(checkKubernetes(serving as never)).toEqual([]);
    const scaled = one(serving, 'ScaledObject', 'fraud');
    expect(scaled.spec.minReplicaCount).toBe(0);
    expect(scaled.spec.cooldownPeriod).toBe(900);
    expect(scaled.spec.scaleTargetRef).toEqual({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', name: 'fraud' });
    const rollout = one(serving, 'Rollout', 'fraud');
    expect(rollout.spec.template.spec.containers[0].resources.limits['nvidia.com/gpu']).toBe(1);
    expect(rollout.spec.template.spec.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Equal', value: 'true', effect: 'NoSchedule' }]);
    expect(serveConfigOf(rollout).models[0].executionProvider).toBe('cuda');
    // a Rollout may run its new ReplicaSet at full size beside the old one: 2 x 3; a Deployment 2 + 1 surge
    expect(a.peakGpus).toBe(6);
    expect(b.peakGpus).toBe(3);
    expect(quotaOf(all, NS)['requests.nvidia.com/gpu']).toBe(9);
    // the pool's default team gets what the two endpoints leave of its 12 GPUs
    expect(pool.reservedGpus).toBe(9);
    const cq = all.find((o) => o.kind === 'ClusterQueue') as any;
    expect(cq.spec.resourceGroups[0].flavors[0].resources).toEqual([
      { name: 'cpu', nominalQuota: '72' }, { name: 'memory', nominalQuota: '768Gi' }, { name: 'nvidia.com/gpu', nominalQuota: 3 },
    ]);
  });

  test('GPUs endpoints hold on a pool come out of its Kueue quotas: explicit teams that leave too little fail, as does a pool smaller than the endpoints', () => {
    const endpoint = (p: ReturnType<typeof gpuPlatform>, maxReplicas: number) => new ModelEndpoint(p.platform, 'fraud', {
      model: p.registry.model('fraud').version(7),
      gateway: GATEWAY,
      scaling: EndpointScaling.cpu({ minReplicas: 1, maxReplicas }),
      resources: { gpus: 1 },
      placement: GpuPlacement.pool(p.pool),
      image: CUDA_IMAGE,
    });
    // teams promise 6 of 8; an endpoint of 3 replicas holds 3 + 1 surge = 4: 10 > 8
    const teams = gpuPlatform(undefined, { teams: [{ name: 'vision', gpus: 4 }, { name: 'nlp', gpus: 2 }] });
    endpoint(teams, 3);
    expect(validationMessage(() => synth(teams.platform))).toContain("GPU pool 'gpu': its teams' quotas promise training 6 GPUs and the endpoints placed on it hold up to 4 at their peak (dev/fraud: 4), "
      + "10 in all, but the pool runs at most 8: lower the teams' gpus to 4 in total or raise the pool's capacity");
    // room left: accepted, the teams' quotas as given
    const fits = gpuPlatform(undefined, { teams: [{ name: 'vision', gpus: 2 }, { name: 'nlp', gpus: 2 }] });
    endpoint(fits, 3);
    const queues = kubeObjects(synth(fits.platform)).filter((o) => o.kind === 'ClusterQueue') as any[];
    expect(queues.map((q) => q.spec.resourceGroups[0].flavors[0].resources.find((r: any) => r.name === 'nvidia.com/gpu').nominalQuota)).toEqual([2, 2]);
    // the endpoints alone exceed the pool (the per-endpoint check reads maxReplicas, this one the rollout peak: 7 + 2)
    const small = gpuPlatform();
    endpoint(small, 7);
    expect(validationMessage(() => synth(small.platform))).toContain("GPU pool 'gpu' runs at most 8 GPUs but the endpoints placed on it hold up to 9 at their peak (dev/fraud: 9)");
  });

  test('an A/B test claims GPUs for every arm', () => {
    const { platform, registry, pool } = gpuPlatform();
    const e = new ModelEndpoint(platform, 'fraud', {
      model: registry.model('fraud').version(7),
      gateway: GATEWAY,
      strategy: DeploymentStrategy.abTest([{ model: registry.model('fraud').version(7), weight: 50 }, { model: registry.model('fraud').version(8), weight: 50 }]),
      scaling: EndpointScaling.cpu({ minReplicas: 1, maxReplicas: 2 }),
      resources: { gpus: 1 },
      placement: GpuPlacement.pool(pool),
      image: CUDA_IMAGE,
    });
    const serving = synth(platform).kubernetes['serving.yaml'] as TestKubeObject[];
    expect(serving.filter((o) => o.kind === 'Deployment').map((d: any) => d.spec.template.spec.containers[0].resources.limits['nvidia.com/gpu'])).toEqual([1, 1]);
    expect(e.peakGpus).toBe(6);
  });

  test('an inference node group managed elsewhere: its selector and tolerations, no pool', () => {
    const { platform } = newPlatform();
    const registry = new ModelRegistry(platform, 'registry');
    new ModelEndpoint(platform, 'fraud', {
      model: registry.model('fraud').version(7),
      gateway: GATEWAY,
      resources: { gpus: 1 },
      placement: GpuPlacement.nodeGroup({
        name: 'inference-gpu',
        nodeSelector: { 'eks.amazonaws.com/nodegroup': 'inference-gpu' },
        tolerations: [{ key: 'dedicated', value: 'inference', effect: 'NoSchedule' }, { key: 'nvidia.com/gpu', operator: 'Exists' }],
      }),
      image: CUDA_IMAGE,
    });
    const s = synth(platform);
    const all = kubeObjects(s);
    validateEverything(all);
    expect(checkKubernetes(all as never)).toEqual([]);
    const pod = one(s.kubernetes['serving.yaml'] as TestKubeObject[], 'Deployment', 'fraud').spec.template.spec;
    expect(pod.nodeSelector).toEqual({ 'eks.amazonaws.com/nodegroup': 'inference-gpu' });
    expect(pod.tolerations).toEqual([
      { key: 'dedicated', operator: 'Equal', value: 'inference', effect: 'NoSchedule' },
      { key: 'nvidia.com/gpu', operator: 'Exists' },
    ]);
    expect(pod.containers[0].resources.limits['nvidia.com/gpu']).toBe(1);
    expect((s.inventory.capabilities as any[]).find((c) => c.kind === 'endpoint').gpu.placement).toEqual({ nodeGroup: 'inference-gpu' });
    // without tolerations the pods tolerate no taint
    const other = newPlatform();
    new ModelEndpoint(other.platform, 'fraud', {
      model: new ModelRegistry(other.platform, 'registry').model('fraud').version(7),
      gateway: GATEWAY,
      resources: { gpus: 1 },
      placement: GpuPlacement.nodeGroup({ name: 'inference-gpu', nodeSelector: { 'node.kubernetes.io/instance-type': 'g6.xlarge' } }),
      image: CUDA_IMAGE,
    });
    expect(one(synth(other.platform).kubernetes['serving.yaml'] as TestKubeObject[], 'Deployment', 'fraud').spec.template.spec.tolerations).toEqual([]);
  });

  test('a CPU-only platform keeps its serving quota without a GPU field, and CPU endpoints run on the CPU provider', () => {
    const { platform } = newPlatform();
    const registry = new ModelRegistry(platform, 'registry');
    const e = new ModelEndpoint(platform, 'fraud', { model: registry.model('fraud').version(7), gateway: GATEWAY });
    const all = kubeObjects(synth(platform));
    expect(Object.keys(quotaOf(all, NS)).sort()).toEqual(['limits.cpu', 'limits.memory', 'pods', 'requests.cpu', 'requests.memory']);
    expect(e.gpus).toBe(0);
    expect(e.peakGpus).toBe(0);
    expect(e.variants[0].config.models[0].executionProvider).toBe('cpu');
    expect(e.image).toBe(platform.runtimeImage);
  });

  test('a serving quota pinned below the GPU endpoints fails synthesis, naming it and what is needed; pinned high enough it stays', () => {
    const low = gpuPlatform(0);
    new ModelEndpoint(low.platform, 'fraud', {
      model: low.registry.model('fraud').version(7),
      gateway: GATEWAY,
      resources: { gpus: 1 },
      placement: GpuPlacement.pool(low.pool),
      image: CUDA_IMAGE,
      scaling: EndpointScaling.cpu({ minReplicas: 1, maxReplicas: 4 }),
    });
    expect(validationMessage(() => synth(low.platform))).toContain("the ResourceQuota of namespace 'acme-ml-serving' admits 0 GPU(s) (requests.nvidia.com/gpu, from namespaceQuotas) "
      + "but its GPU workloads need 5 at their peak (dev/fraud: 5): raise that quota's 'gpus' to at least 5, or leave it unset to size it from the workloads");

    const high = gpuPlatform(8);
    new ModelEndpoint(high.platform, 'fraud', {
      model: high.registry.model('fraud').version(7),
      gateway: GATEWAY,
      resources: { gpus: 1 },
      placement: GpuPlacement.pool(high.pool),
      image: CUDA_IMAGE,
      scaling: EndpointScaling.cpu({ minReplicas: 1, maxReplicas: 4 }),
    });
    expect(quotaOf(kubeObjects(synth(high.platform)), NS)['requests.nvidia.com/gpu']).toBe(8);
  });
});

describe('ModelEndpoint on GPUs fails at synth time with a clear message', () => {
  const { platform: shared } = newPlatform();
  const sharedPool = new GpuTrainingPool(shared, 'gpu', { capacity: GpuCapacity.karpenter({ maxGpus: 4, instanceTypes: ['g6.xlarge'], capacityTypes: [CapacityType.ON_DEMAND] }) });

  function tryEndpoint(props: (pool: GpuTrainingPool, registry: ModelRegistry) => Partial<ModelEndpointProps>): () => void {
    return () => {
      const { platform } = newPlatform();
      const registry = new ModelRegistry(platform, 'registry');
      new ModelEndpoint(platform, 'fraud', { model: registry.model('fraud').version(7), gateway: GATEWAY, ...props(sharedPool, registry) });
    };
  }

  test('GPUs without a placement: says what to pass', () => {
    expectProblem(tryEndpoint(() => ({ resources: { gpus: 1 }, image: CUDA_IMAGE })), 'resources.gpus',
      /^1 needs 'placement', where the GPUs come from: placement: GpuPlacement\.pool\(gpuTrainingPool\) or GpuPlacement\.nodeGroup\(\{ name, nodeSelector, tolerations \}\)/);
  });

  test('GPUs without an explicit image: says how to build one', () => {
    expectProblem(tryEndpoint((pool) => ({ resources: { gpus: 1 }, placement: GpuPlacement.pool(pool) })), 'image',
      /^undefined must be given for a GPU endpoint: a CUDA-capable runtime image built with the Dockerfile's GPU build arguments \(--build-arg RUNTIME_BASE_IMAGE=.*--build-arg ONNXRUNTIME_NODE_INSTALL=cuda12\)/);
  });

  test("GPUs on the project's default (CPU) image", () => {
    expectProblem(tryEndpoint((pool) => ({ resources: { gpus: 1 }, placement: GpuPlacement.pool(pool), image: RuntimeImage.default() })), 'image',
      /^"ghcr\.io\/cdk-mlops\/runtime:\d+\.\d+\.\d+" must be a CUDA-capable build of the runtime image: the project's default image has no CUDA/);
  });

  test('a floating image tag', () => {
    expectProblem(tryEndpoint((pool) => ({ resources: { gpus: 1 }, placement: GpuPlacement.pool(pool), image: RuntimeImage.fromTag('ghcr.io/acme/runtime', 'latest') })), 'image',
      /tag "latest" floats/);
  });

  test('more than one GPU per pod', () => {
    expectProblem(tryEndpoint((pool) => ({ resources: { gpus: 2 }, placement: GpuPlacement.pool(pool), image: CUDA_IMAGE })), 'resources.gpus',
      /^2 must be 0 or 1: the endpoint's model runs in one onnxruntime session, on one CUDA device/);
  });

  test('a placement without GPUs', () => {
    expectProblem(tryEndpoint((pool) => ({ placement: GpuPlacement.pool(pool) })), 'placement',
      /^"gpu" must be unset without 'resources\.gpus': it says where GPUs come from \(for CPU nodes use 'nodePool'\)/);
  });

  test('a placement and a nodePool together', () => {
    expectProblem(tryEndpoint((pool) => ({ resources: { gpus: 1 }, placement: GpuPlacement.pool(pool), nodePool: pool, image: CUDA_IMAGE })), 'nodePool',
      /^"gpu" must be unset with 'placement'/);
  });

  test('a placement that is no GpuPlacement', () => {
    expectProblem(tryEndpoint((pool) => ({ resources: { gpus: 1 }, placement: pool as never, image: CUDA_IMAGE })), 'placement',
      /must be made with GpuPlacement\.pool or GpuPlacement\.nodeGroup/);
  });

  test("more GPUs at most replicas than the pool's capacity", () => {
    expectProblem(tryEndpoint((pool) => ({ resources: { gpus: 1 }, placement: GpuPlacement.pool(pool), image: CUDA_IMAGE, scaling: EndpointScaling.cpu({ maxReplicas: 10 }) })),
      'scaling.maxReplicas', /^10 needs 10 GPUs at most replicas but pool 'gpu' runs at most 4: lower maxReplicas or raise the pool's capacity/);
    expectProblem(tryEndpoint((pool, registry) => ({
      resources: { gpus: 1 },
      placement: GpuPlacement.pool(pool),
      image: CUDA_IMAGE,
      scaling: EndpointScaling.cpu({ minReplicas: 1, maxReplicas: 3 }),
      strategy: DeploymentStrategy.shadow(registry.model('fraud').version(8), { percent: 10 }),
    })), 'scaling.maxReplicas', /^3 needs 6 GPUs at most replicas \(2 variants\) but pool 'gpu' runs at most 4/);
  });

  test('a pool whose nodes have fewer GPUs than a pod asks', () => {
    const noGpus: IGpuNodePool = { poolName: 'cpu-only', nodeSelector: { pool: 'cpu' }, tolerations: [], maxGpusPerNode: 0, maxGpus: 8, capacityKind: 'karpenter' };
    expectProblem(tryEndpoint(() => ({ resources: { gpus: 1 }, placement: GpuPlacement.pool(noGpus), image: CUDA_IMAGE })), 'resources.gpus',
      /^1 must not exceed the GPUs of one node of pool 'cpu-only' \(0\): a pod runs on one node/);
  });

  test('a pool that is no GPU node pool', () => {
    expectProblem(tryEndpoint(() => ({ resources: { gpus: 1 }, placement: GpuPlacement.pool({ poolName: 'p', nodeSelector: {}, tolerations: [] } as never), image: CUDA_IMAGE })),
      'placement.pool', /must be a GPU node pool \(a GpuTrainingPool, or any IGpuNodePool\)/);
  });

  test('a node group without a node selector, with a bad toleration, or without a name', () => {
    expectProblem(tryEndpoint(() => ({ resources: { gpus: 1 }, placement: GpuPlacement.nodeGroup({ name: 'inference', nodeSelector: {} }), image: CUDA_IMAGE })),
      'placement.nodeSelector', /must select the GPU nodes with at least one label/);
    expectProblem(tryEndpoint(() => ({
      resources: { gpus: 1 },
      image: CUDA_IMAGE,
      placement: GpuPlacement.nodeGroup({ name: 'inference', nodeSelector: { a: 'b' }, tolerations: [{ key: 'nvidia.com/gpu', effect: 'Sometimes' }] }),
    })), 'placement.tolerations[0].effect', /^"Sometimes" must be 'NoSchedule', 'PreferNoSchedule' or 'NoExecute'/);
    expectProblem(tryEndpoint(() => ({ resources: { gpus: 1 }, image: CUDA_IMAGE, placement: GpuPlacement.nodeGroup({ name: 'Inference GPUs', nodeSelector: { a: 'b' } }) })),
      'placement.name', /must name the node group \(DNS-1123 label/);
    expectProblem(tryEndpoint(() => ({ resources: { gpus: 1 }, image: CUDA_IMAGE, placement: GpuPlacement.nodeGroup({ name: 'inference', nodeSelector: { a: 'not ok!' } }) })),
      'placement.nodeSelector.a', /must be a label value/);
  });
});
