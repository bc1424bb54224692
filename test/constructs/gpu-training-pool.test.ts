import '../support/cdktf-matchers';
import {
  CapacityType, checkKubernetes, GpuAmiFamily, GpuCapacity, GpuTrainingPool,
} from '../../src';
import { EksAccessEntry, EksNodeGroup, LaunchTemplate, PlacementGroup } from '../../src/constructs/cloud/cdktf';
import { registerCrdValidators, schemaSource } from '../fixtures/crds/validators';
import { validateAll, validateObject } from '../support/kube-schema';
import { expectProblem, kubeObjects, newPlatform, synth, TestKubeObject, tfResources } from '../support/platform';

registerCrdValidators();

type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const byKind = (objs: TestKubeObject[], kind: string) => objs.filter((o) => o.kind === kind) as Any[];


describe('GpuTrainingPool with Karpenter (default)', () => {
  const { platform } = newPlatform();
  const pool = new GpuTrainingPool(platform, 'gpu');
  const s = synth(platform);
  const objs = kubeObjects(s);
  const tf = JSON.stringify(s.terraform);

  test('snapshot of its default output in both planes', () => {
    const own = objs.filter((o) => o.metadata.labels?.['cdk-mlops.io/gpu-pool'] === 'gpu' || o.metadata.name?.includes('gpu-system') || o.metadata.namespace === 'acme-ml-gpu-system');
    expect(own).toMatchSnapshot('kubernetes');
    const iam = Object.fromEntries(Object.entries(tfResources(s, 'aws_iam_role')).filter(([k]) => k.includes('gpu')));
    expect({ roles: iam, accessEntries: tfResources(s, 'aws_eks_access_entry') }).toMatchSnapshot('terraform');
  });

  test('every object validates: Kubernetes schemas, and Kueue/Karpenter against the committed CRD schemas', () => {
    expect(validateAll(objs)).toBeGreaterThan(10);
    expect(schemaSource('kueue-v1beta2.json').version).toBe('v1beta2');
    expect(byKind(objs, 'ClusterQueue')[0].apiVersion).toBe('kueue.x-k8s.io/v1beta2');
  });

  test('the schemas used are strict enough to catch a typo (a validator that cannot fail proves nothing)', () => {
    const np = byKind(objs, 'NodePool')[0];
    expect(() => validateObject({ ...np, spec: { ...np.spec, limit: np.spec.limits } })).toThrow(/limit/);
    const cq = byKind(objs, 'ClusterQueue')[0];
    expect(() => validateObject({ ...cq, spec: { ...cq.spec, cohort: 'x' } })).toThrow(/cohort/);
    const nc = byKind(objs, 'EC2NodeClass')[0];
    expect(() => validateObject({ ...nc, spec: { ...nc.spec, amiSelectorTerms: [{ alias: 'ubuntu@latest' }] } })).toThrow(/amiSelectorTerms/);
    expect(() => validateObject({ ...nc, spec: { ...nc.spec, instanceProfile: 'x' } })).toThrow(/oneOf|must match/);
  });

  test('NodePool: NVIDIA families, on-demand, taint, pool label, GPU limit, only empty nodes consolidated', () => {
    const np = byKind(objs, 'NodePool')[0];
    expect(np.metadata.name).toBe('acme-ml-gpu');
    expect(np.spec.template.spec.taints).toEqual([{ key: 'nvidia.com/gpu', value: 'true', effect: 'NoSchedule' }]);
    expect(np.spec.template.metadata.labels).toEqual({ 'cdk-mlops.io/pool': 'acme-ml-gpu' });
    expect(np.spec.template.spec.requirements).toEqual(expect.arrayContaining([
      { key: 'karpenter.k8s.aws/instance-family', operator: 'In', values: ['g5', 'g6', 'g6e'] },
      { key: 'karpenter.sh/capacity-type', operator: 'In', values: ['on-demand'] },
    ]));
    expect(np.spec.limits).toEqual({ 'nvidia.com/gpu': 8 });
    expect(np.spec.disruption).toEqual({ consolidationPolicy: 'WhenEmpty', consolidateAfter: '10m' });
    expect(np.spec.template.spec.nodeClassRef).toEqual({ group: 'karpenter.k8s.aws', kind: 'EC2NodeClass', name: 'acme-ml-gpu' });
  });

  test('EC2NodeClass: the node role by name, GPU AMI alias, IMDSv2 one hop, encrypted gp3 disk, discovery tags', () => {
    const nc = byKind(objs, 'EC2NodeClass')[0];
    expect(nc.spec.role).toBe('acme-ml-dev-gpu-gpu-nodes');
    expect(nc.spec.amiSelectorTerms).toEqual([{ alias: 'al2023@latest' }]);
    expect(nc.spec.metadataOptions).toEqual({ httpEndpoint: 'enabled', httpProtocolIPv6: 'disabled', httpPutResponseHopLimit: 1, httpTokens: 'required' });
    expect(nc.spec.blockDeviceMappings).toEqual([{ deviceName: '/dev/xvda', ebs: { volumeSize: '200Gi', volumeType: 'gp3', encrypted: true, deleteOnTermination: true } }]);
    expect(nc.spec.subnetSelectorTerms).toEqual([{ tags: { 'karpenter.sh/discovery': 'acme-ml-dev' } }]);
    // The platform tags its private subnets for Karpenter discovery.
    expect(Object.values(tfResources(s, 'aws_subnet')).filter((x) => (x.tags as Record<string, string>)['karpenter.sh/discovery'] === 'acme-ml-dev')).toHaveLength(3);
  });

  test('node role: least privilege (worker node, ECR pull-only, CNI; no SSM by default) and an EC2_LINUX access entry', () => {
    const attached = Object.values(tfResources(s, 'aws_iam_role_policy_attachment'))
      .filter((a) => String(a.role).includes('gpu_node-role')).map((a) => String(a.policy_arn).split('/').pop()).sort();
    expect(attached).toEqual(['AmazonEC2ContainerRegistryPullOnly', 'AmazonEKSWorkerNodePolicy', 'AmazonEKS_CNI_Policy']);
    const role = Object.values(tfResources(s, 'aws_iam_role')).find((r) => r.name === 'acme-ml-dev-gpu-gpu-nodes')!;
    expect(JSON.parse(String(role.assume_role_policy)).Statement).toEqual([{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }]);
    expect(tf).toHaveResourceWithProperties(EksAccessEntry, { type: 'EC2_LINUX', cluster_name: 'acme-ml-dev' });
    expect(Object.keys(tfResources(s, 'aws_eks_node_group'))).toHaveLength(1); // only the system group
  });

  test('device plugin: pinned image, only on the pool (selector + toleration), privileged namespace with default deny, suppression with a reason', () => {
    const ds = byKind(objs, 'DaemonSet').find((d) => d.metadata.name === 'nvidia-device-plugin-gpu');
    expect(ds.metadata.namespace).toBe('acme-ml-gpu-system');
    const spec = ds.spec.template.spec;
    expect(spec.containers[0].image).toBe('nvcr.io/nvidia/k8s-device-plugin:v0.17.2');
    expect(spec.nodeSelector).toEqual({ 'cdk-mlops.io/pool': 'acme-ml-gpu' });
    expect(spec.tolerations).toContainEqual({ key: 'nvidia.com/gpu', operator: 'Equal', value: 'true', effect: 'NoSchedule' });
    expect(spec.volumes).toEqual([{ name: 'device-plugin', hostPath: { path: '/var/lib/kubelet/device-plugins', type: 'Directory' } }]);
    expect(spec.containers[0].securityContext).toEqual(expect.objectContaining({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } }));
    const ns = byKind(objs, 'Namespace').find((n) => n.metadata.name === 'acme-ml-gpu-system');
    expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('privileged');
    expect(ns.metadata.labels['pod-security.kubernetes.io/warn']).toBe('baseline');
    const deny = byKind(objs, 'NetworkPolicy').find((n) => n.metadata.namespace === 'acme-ml-gpu-system');
    expect(deny.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    // The one finding it causes is suppressed, precisely, with the reason.
    const findings = checkKubernetes(objs as never).filter((f) => f.target.includes('gpu'));
    expect(findings.map((f) => `${f.ruleId} ${f.target}`)).toEqual(['K8S-NON-ROOT DaemonSet/acme-ml-gpu-system/nvidia-device-plugin-gpu']);
    expect(s.suppressed).toEqual([expect.objectContaining({ ruleId: 'K8S-NON-ROOT', target: 'DaemonSet/acme-ml-gpu-system/nvidia-device-plugin-gpu', reason: expect.stringMatching(/hostPath.*uid 0/) })]);
    expect((s.inventory.policy as Any).suppressions).toHaveLength(1);
  });

  test('Kueue: ResourceFlavor with node labels and the toleration, a ClusterQueue with the GPU quota in a cohort, a LocalQueue in the training namespace', () => {
    const rf = byKind(objs, 'ResourceFlavor')[0];
    expect(rf.spec).toEqual({ nodeLabels: { 'cdk-mlops.io/pool': 'acme-ml-gpu' }, tolerations: [{ key: 'nvidia.com/gpu', operator: 'Equal', value: 'true', effect: 'NoSchedule' }] });
    const cq = byKind(objs, 'ClusterQueue')[0];
    expect(cq.metadata.name).toBe('acme-ml-gpu-default');
    expect(cq.spec.cohortName).toBe('acme-ml-gpu');
    expect(cq.spec.namespaceSelector).toEqual({ matchLabels: { 'kubernetes.io/metadata.name': 'acme-ml-training' } });
    expect(cq.spec.resourceGroups).toEqual([{
      coveredResources: ['cpu', 'memory', 'nvidia.com/gpu'],
      flavors: [{ name: 'acme-ml-gpu', resources: [{ name: 'cpu', nominalQuota: '192' }, { name: 'memory', nominalQuota: '2048Gi' }, { name: 'nvidia.com/gpu', nominalQuota: 8 }] }],
    }]);
    // Kueue's CEL rule: every flavor lists as many resources as coveredResources.
    for (const rg of cq.spec.resourceGroups) for (const f of rg.flavors) expect(f.resources.map((r: Any) => r.name)).toEqual(rg.coveredResources);
    const lq = byKind(objs, 'LocalQueue')[0];
    expect(lq.metadata).toEqual(expect.objectContaining({ name: 'gpu-default', namespace: 'acme-ml-training' }));
    expect(lq.spec).toEqual({ clusterQueue: 'acme-ml-gpu-default' });
    expect(pool.queue()).toEqual({ team: 'default', localQueue: 'gpu-default', namespace: 'acme-ml-training', clusterQueue: 'acme-ml-gpu-default' });
    const pc = byKind(objs, 'PriorityClass')[0];
    expect(pc).toEqual(expect.objectContaining({ value: 1000, preemptionPolicy: 'Never', globalDefault: false }));
    expect(pool.priorityClassName).toBe(pc.metadata.name);
  });

  test('platform.json lists the pool', () => {
    const entry = (s.inventory.capabilities as Any[]).find((c) => c.kind === 'gpu-training-pool');
    expect(entry).toEqual(expect.objectContaining({ name: 'gpu', capacity: 'karpenter', maxGpus: 8, taint: 'nvidia.com/gpu=true:NoSchedule', ami: 'al2023@latest' }));
  });
});

describe('GpuTrainingPool options', () => {
  test('teams: one ClusterQueue each in one cohort, borrowing and lending limits, LocalQueue per namespace', () => {
    const { platform } = newPlatform();
    new GpuTrainingPool(platform, 'a100', {
      capacity: GpuCapacity.karpenter({ instanceTypes: ['p4d.24xlarge'], capacityTypes: [CapacityType.SPOT, CapacityType.ON_DEMAND], maxGpus: 32 }),
      teams: [
        { name: 'fraud', gpus: 16, borrowingLimitGpus: 8, namespace: 'fraud-ml' },
        { name: 'search', gpus: 8, lendingLimitGpus: 4, cpu: '64', memory: '512Gi' },
      ],
    });
    const objs = kubeObjects(synth(platform));
    validateAll(objs);
    const cqs = byKind(objs, 'ClusterQueue');
    expect(cqs.map((q) => q.metadata.name)).toEqual(['acme-ml-a100-fraud', 'acme-ml-a100-search']);
    expect(new Set(cqs.map((q) => q.spec.cohortName))).toEqual(new Set(['acme-ml-a100']));
    expect(cqs[0].spec.resourceGroups[0].flavors[0].resources[2]).toEqual({ name: 'nvidia.com/gpu', nominalQuota: 16, borrowingLimit: 8 });
    expect(cqs[1].spec.resourceGroups[0].flavors[0].resources).toEqual([
      { name: 'cpu', nominalQuota: '64' }, { name: 'memory', nominalQuota: '512Gi' }, { name: 'nvidia.com/gpu', nominalQuota: 8, lendingLimit: 4 },
    ]);
    expect(byKind(objs, 'LocalQueue').map((q) => `${q.metadata.namespace}/${q.metadata.name}`)).toEqual(['fraud-ml/a100-fraud', 'acme-ml-training/a100-search']);
    const np = byKind(objs, 'NodePool')[0];
    expect(np.spec.template.spec.requirements[0]).toEqual({ key: 'node.kubernetes.io/instance-type', operator: 'In', values: ['p4d.24xlarge'] });
    expect(np.spec.template.spec.requirements[1].values).toEqual(['on-demand', 'spot']);
  });

  test('reserved capacity and capacity blocks: Karpenter selects the reservations and allows capacity type reserved', () => {
    const { platform } = newPlatform();
    new GpuTrainingPool(platform, 'h100', {
      capacity: GpuCapacity.karpenter({ instanceTypes: ['p5.48xlarge'], capacityTypes: [CapacityType.reserved(['cr-0123456789abcdef0']), CapacityType.capacityBlock('cr-0fedcba9876543210')], maxGpus: 16 }),
      amiFamily: GpuAmiFamily.bottlerocketNvidia({ version: '1.42.0' }),
    });
    const objs = kubeObjects(synth(platform));
    validateAll(objs);
    const nc = byKind(objs, 'EC2NodeClass')[0];
    expect(nc.spec.capacityReservationSelectorTerms).toEqual([{ id: 'cr-0123456789abcdef0' }, { id: 'cr-0fedcba9876543210' }]);
    expect(nc.spec.amiSelectorTerms).toEqual([{ alias: 'bottlerocket@1.42.0' }]);
    expect(nc.spec.blockDeviceMappings[0].deviceName).toBe('/dev/xvdb');
    expect(byKind(objs, 'NodePool')[0].spec.template.spec.requirements[1]).toEqual({ key: 'karpenter.sh/capacity-type', operator: 'In', values: ['reserved'] });
  });

  test('managed node group: min 0, taint, labels, GPU AMI type, IMDSv2, encrypted disk, scale from zero; no Karpenter objects', () => {
    const { platform } = newPlatform();
    const pool = new GpuTrainingPool(platform, 'g6', {
      capacity: GpuCapacity.managedNodeGroup({ instanceTypes: ['g6.2xlarge'], capacityType: CapacityType.SPOT, maxNodes: 3 }),
      labels: { team: 'fraud' },
      enableSsm: true,
      diskSizeGiB: 300,
    });
    const s = synth(platform);
    const tf = JSON.stringify(s.terraform);
    expect(tf).toHaveResourceWithProperties(EksNodeGroup, {
      node_group_name: 'gpu-g6',
      ami_type: 'AL2023_x86_64_NVIDIA',
      capacity_type: 'SPOT',
      instance_types: ['g6.2xlarge'],
      scaling_config: { min_size: 0, max_size: 3, desired_size: 0 },
      taint: [{ key: 'nvidia.com/gpu', value: 'true', effect: 'NO_SCHEDULE' }],
      labels: { 'team': 'fraud', 'cdk-mlops.io/pool': 'acme-ml-g6' },
    });
    expect(tf).toHaveResourceWithProperties(LaunchTemplate, {
      name: 'acme-ml-dev-gpu-g6',
      metadata_options: { http_endpoint: 'enabled', http_tokens: 'required', http_put_response_hop_limit: 1 },
      block_device_mappings: [{ device_name: '/dev/xvda', ebs: { volume_size: 300, volume_type: 'gp3', encrypted: 'true', delete_on_termination: 'true' } }],
    });
    expect(pool.maxGpus).toBe(3);
    const attached = Object.values(tfResources(s, 'aws_iam_role_policy_attachment')).filter((a) => String(a.role).includes('g6_node-role')).map((a) => String(a.policy_arn).split('/').pop());
    expect(attached).toContain('AmazonSSMManagedInstanceCore');
    const objs = kubeObjects(s);
    expect(byKind(objs, 'NodePool')).toHaveLength(0);
    expect(byKind(objs, 'EC2NodeClass')).toHaveLength(0);
    expect(Object.keys(tfResources(s, 'aws_eks_access_entry'))).toHaveLength(0); // EKS adds the node group's own
    validateAll(objs);
  });

  test('managed node group with a capacity block and EFA: CAPACITY_BLOCK, reservation target, EFA interfaces, placement group, one subnet', () => {
    const { platform } = newPlatform();
    new GpuTrainingPool(platform, 'h100', {
      capacity: GpuCapacity.managedNodeGroup({ instanceTypes: ['p4d.24xlarge'], capacityType: CapacityType.capacityBlock('cr-0123456789abcdef0'), maxNodes: 2 }),
      efa: true,
    });
    const s = synth(platform);
    const tf = JSON.stringify(s.terraform);
    expect(tf).toHaveResourceWithProperties(EksNodeGroup, { capacity_type: 'CAPACITY_BLOCK' });
    expect(tf).toHaveResource(PlacementGroup);
    const lt = Object.values(tfResources(s, 'aws_launch_template')).find((x) => x.name === 'acme-ml-dev-gpu-h100') as Any;
    expect(lt.instance_market_options).toEqual({ market_type: 'capacity-block' });
    expect(lt.capacity_reservation_specification).toEqual({ capacity_reservation_target: { capacity_reservation_id: 'cr-0123456789abcdef0' } });
    expect(lt.network_interfaces).toHaveLength(4);
    expect(lt.network_interfaces.map((n: Any) => [n.network_card_index, n.device_index, n.interface_type])).toEqual([[0, 0, 'efa'], [1, 1, 'efa'], [2, 1, 'efa'], [3, 1, 'efa']]);
    const ng = Object.values(tfResources(s, 'aws_eks_node_group')).find((x) => x.node_group_name === 'gpu-h100') as Any;
    expect(ng.subnet_ids).toHaveLength(1);
    const objs = kubeObjects(s);
    expect(byKind(objs, 'DaemonSet').map((d) => d.metadata.name).sort()).toEqual(['efa-device-plugin-h100', 'nvidia-device-plugin-h100']);
    expect(byKind(objs, 'ClusterQueue')[0].spec.resourceGroups[0].coveredResources).toContain('vpc.amazonaws.com/efa');
    validateAll(objs);
    expect(s.suppressed.map((x) => x.target).sort()).toEqual(['DaemonSet/acme-ml-gpu-system/efa-device-plugin-h100', 'DaemonSet/acme-ml-gpu-system/nvidia-device-plugin-h100']);
  });

  test('two pools share one device-plugin namespace and each get their own plugin, flavor and queues', () => {
    const { platform } = newPlatform();
    new GpuTrainingPool(platform, 'small', { capacity: GpuCapacity.karpenter({ instanceFamilies: ['g6'], maxGpus: 4 }) });
    new GpuTrainingPool(platform, 'large', { capacity: GpuCapacity.karpenter({ instanceFamilies: ['p5'], maxGpus: 16 }) });
    const objs = kubeObjects(synth(platform));
    expect(byKind(objs, 'Namespace').filter((n) => n.metadata.name === 'acme-ml-gpu-system')).toHaveLength(1);
    expect(byKind(objs, 'ResourceFlavor').map((f) => f.metadata.name).sort()).toEqual(['acme-ml-large', 'acme-ml-small']);
    validateAll(objs);
  });
});

describe('GpuTrainingPool fails if', () => {
  const make = (props: ConstructorParameters<typeof GpuTrainingPool>[2], id = 'gpu') => () => new GpuTrainingPool(newPlatform().platform, id, props);

  test('an instance type is not a known NVIDIA GPU type (the error names the valid ones)', () => {
    expectProblem(make({ capacity: GpuCapacity.managedNodeGroup({ instanceTypes: ['m7i.large'] }) }), 'capacity.instanceTypes[0]', /"m7i\.large" must be an NVIDIA GPU instance type.*g4dn, g5, g6, gr6, g6e, p4d, p4de, p5, p5e, p5en, p6-b200/);
    expectProblem(make({ capacity: GpuCapacity.managedNodeGroup({ instanceTypes: ['g6.3xlarge'] }) }), 'capacity.instanceTypes[0]', /not a g6 size; valid ones: g6\.xlarge, g6\.2xlarge/);
    expectProblem(make({ capacity: GpuCapacity.karpenter({ instanceTypes: ['trn1.32xlarge'] }) }), 'capacity.instanceTypes[0]', /Trainium, not an x86_64 NVIDIA GPU family/);
  });

  test('an instance family is unknown, or families and types are both given', () => {
    expectProblem(make({ capacity: GpuCapacity.karpenter({ instanceFamilies: ['g7'] }) }), 'capacity.instanceFamilies[0]', /"g7" must be an NVIDIA GPU instance family, one of: g4dn/);
    expectProblem(make({ capacity: GpuCapacity.karpenter({ instanceFamilies: ['g6'], instanceTypes: ['g6.xlarge'] }) }), 'capacity.instanceFamilies', /not be set together/);
    expectProblem(make({ capacity: GpuCapacity.karpenter({ instanceFamilies: [] }) }), 'capacity.instanceFamilies', /at least one/);
  });

  test('capacity limits are out of range', () => {
    expectProblem(make({ capacity: GpuCapacity.karpenter({ maxGpus: 0 }) }), 'capacity.maxGpus', /from 1 to 10000/);
    expectProblem(make({ capacity: GpuCapacity.managedNodeGroup({ maxNodes: 0 }) }), 'capacity.maxNodes', /from 1 to 1000/);
    expectProblem(make({ capacity: GpuCapacity.karpenter({ consolidateAfter: '5 minutes' }) }), 'capacity.consolidateAfter', /Go duration/);
    expectProblem(make({ capacity: GpuCapacity.karpenter({ expireAfter: 'forever' }) }), 'capacity.expireAfter', /Never/);
  });

  test('capacity types are repeated, or reservations are malformed or not one for a node group', () => {
    expectProblem(make({ capacity: GpuCapacity.karpenter({ capacityTypes: [CapacityType.SPOT, CapacityType.SPOT] }) }), 'capacity.capacityTypes', /repeat/);
    expectProblem(make({ capacity: GpuCapacity.karpenter({ capacityTypes: [] }) }), 'capacity.capacityTypes', /at least one/);
    expectProblem(make({ capacity: GpuCapacity.karpenter({ capacityTypes: [CapacityType.reserved(['cr-1'])] }) }), 'capacity.capacityType.reservationIds[0]', /capacity reservation id/);
    expectProblem(make({ capacity: GpuCapacity.karpenter({ capacityTypes: [CapacityType.reserved([])] }) }), 'capacity.capacityType', /at least one reservation/);
    expectProblem(make({ capacity: GpuCapacity.managedNodeGroup({ capacityType: CapacityType.reserved(['cr-0123456789abcdef0', 'cr-0fedcba9876543210']) }) }), 'capacity.capacityType', /exactly one reservation/);
  });

  test('EFA is asked for types without EFA, or for families', () => {
    expectProblem(make({ efa: true, capacity: GpuCapacity.managedNodeGroup({ instanceTypes: ['g6.xlarge'] }) }), 'capacity.instanceTypes', /must all support EFA/);
    expectProblem(make({ efa: true, capacity: GpuCapacity.karpenter({ instanceFamilies: ['p5'] }) }), 'efa', /needs exact 'instanceTypes'/);
  });

  test('the disk, the AMI version, labels, priority or images are invalid', () => {
    expectProblem(make({ diskSizeGiB: 20 }), 'diskSizeGiB', /from 50 to 16384/);
    expectProblem(make({ amiFamily: GpuAmiFamily.al2023Nvidia({ version: '2025-07-15' }) }), 'amiFamily.version', /v20250715/);
    expectProblem(make({ amiFamily: GpuAmiFamily.bottlerocketNvidia({ version: 'v1' }) }), 'amiFamily.version', /1\.42\.0/);
    expectProblem(make({ labels: { 'kubernetes.io/role': 'gpu' } }), 'labels.kubernetes.io/role', /outside the kubernetes\.io/);
    expectProblem(make({ labels: { 'cdk-mlops.io/pool': 'x' } }), 'labels.cdk-mlops.io/pool', /other than/);
    expectProblem(make({ labels: { team: 'has space' } }), 'labels.team', /label value/);
    expectProblem(make({ priority: 2_000_000_000 }), 'priority', /reserved for system/);
    expectProblem(make({ devicePluginImage: 'nvcr.io/nvidia/k8s-device-plugin' }), 'devicePluginImage', /pinned/);
    expectProblem(make({ devicePluginImage: 'nvcr.io/nvidia/k8s-device-plugin:latest' }), 'devicePluginImage', /pinned/);
  });

  test('the id is not a short DNS label', () => {
    expectProblem(make({}, 'GPU_Pool'), 'id', /DNS-1123 label of at most 20/);
  });

  test('teams are repeated, over-promised, or have invalid quotas', () => {
    expectProblem(make({ teams: [] }), 'teams', /at least one team/);
    expectProblem(make({ teams: [{ name: 'a', gpus: 1 }, { name: 'a', gpus: 1 }] }), 'teams', /repeat/);
    expectProblem(make({ teams: [{ name: 'a', gpus: 6 }, { name: 'b', gpus: 6 }] }), 'teams', /more GPUs in total \(12\) than the pool has \(8\)/);
    expectProblem(make({ teams: [{ name: 'a', gpus: 9 }] }), 'teams[0].gpus', /capacity \(8 GPUs\)/);
    expectProblem(make({ teams: [{ name: 'A', gpus: 1 }] }), 'teams[0].name', /DNS-1123/);
    expectProblem(make({ teams: [{ name: 'a', gpus: 2, lendingLimitGpus: 3 }] }), 'teams[0].lendingLimitGpus', /0 to the team's gpus \(2\)/);
    expectProblem(make({ teams: [{ name: 'a', gpus: 2, borrowingLimitGpus: -1 }] }), 'teams[0].borrowingLimitGpus', />= 0/);
    expectProblem(make({ teams: [{ name: 'a', gpus: 2, memory: 'lots' }] }), 'teams[0].memory', /quantity/);
    expectProblem(make({ teams: [{ name: 'a', gpus: 2, namespace: 'Fraud' }] }), 'teams[0].namespace', /namespace name/);
  });

  test('a queue is asked for a team that does not exist', () => {
    const pool = new GpuTrainingPool(newPlatform().platform, 'gpu');
    expectProblem(() => pool.queue('nlp'), 'team', /must be a team of GPU pool 'gpu': default/);
  });
});
