import '../support/cdktf-matchers';
import {
  checkKubernetes, checkTerraform, DistributedTrainingJob, GpuCapacity, GpuTrainingPool, HyperparameterSearch, MlopsValidationError, ModelRegistry,
  RuntimeImage, TrainingCompute, TrainingData, TrainingPipeline,
} from '../../src';
import { parseConfig } from '../../src/runtime/config/load';
import { TrainConfigSchema } from '../../src/runtime/config/train';
import { registerCrdValidators } from '../fixtures/crds/validators';
import { validateAll, validateObject } from '../support/kube-schema';
import { expectProblem, kubeObjects, newPlatform, synth, TestKubeObject, tfResources } from '../support/platform';

registerCrdValidators();

type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any
type Statement = { Sid?: string; Action: string | string[]; Resource: string | string[]; Condition?: Any };
const list = (v: string | string[]) => [v].flat();
const mine = (objs: TestKubeObject[], id: string) => objs.filter((o) => o.metadata.name?.startsWith(id) && o.metadata.namespace === 'acme-ml-training') as Any[];

function policyOf(s: ReturnType<typeof synth>, roleName: string): Statement[] {
  const roles = tfResources(s, 'aws_iam_role');
  const key = Object.keys(roles).find((k) => roles[k].name === roleName)!;
  const p = Object.values(tfResources(s, 'aws_iam_role_policy')).find((x) => String(x.role).includes(`aws_iam_role.${key}.`))!;
  return JSON.parse(String(p.policy)).Statement;
}


function setup() {
  const { platform } = newPlatform();
  const registry = new ModelRegistry(platform, 'registry');
  const pool = new GpuTrainingPool(platform, 'gpu', { capacity: GpuCapacity.karpenter({ instanceTypes: ['g6.xlarge', 'g6.12xlarge'], maxGpus: 8 }) });
  return { platform, registry, pool };
}

describe('TrainingPipeline on CPU (defaults)', () => {
  const { platform, registry } = setup();
  registry.model('other');
  const pipeline = new TrainingPipeline(platform, 'fraud-train', {
    model: registry.model('fraud'),
    data: TrainingData.fromPlatformBucket('datasets/fraud/train.parquet'),
    target: 'is_fraud',
    trainer: 'logistic-regression',
    params: { C: 10 },
    gate: { minimums: { roc_auc: 0.9 }, maxRegression: { roc_auc: 0.01 } },
  });
  const s = synth(platform);
  const objs = kubeObjects(s);
  const own = mine(objs, 'fraud-train');

  test('snapshot of its Kubernetes objects and IAM policy', () => {
    expect(own).toMatchSnapshot('kubernetes');
    expect(policyOf(s, 'acme-ml-dev-training-fraud-train')).toMatchSnapshot('iam');
  });

  test('a suspended CronJob (the retraining template) and a Job that runs once for this configuration', () => {
    const cron = own.find((o) => o.kind === 'CronJob');
    expect(cron.metadata.name).toBe('fraud-train');
    expect(pipeline.cronJobName).toBe('fraud-train');
    expect(cron.spec.suspend).toBe(true);
    expect(cron.spec.concurrencyPolicy).toBe('Forbid');
    const job = own.find((o) => o.kind === 'Job');
    expect(job.metadata.name).toBe(pipeline.runName);
    expect(job.metadata.name).toMatch(/^fraud-train-[0-9a-f]{8}$/);
    expect(job.spec).toEqual(cron.spec.jobTemplate.spec);
    const c = job.spec.template.spec.containers[0];
    expect(c.args).toEqual(['train', '--progress', 'json']);
    expect(job.spec.template.spec.restartPolicy).toBe('Never');
    expect(job.spec.template.spec.serviceAccountName).toBe('fraud-train');
  });

  test('the config is the runtime schema\'s, validated at synth: model, registry URI, data URI, gate', () => {
    const cm = own.find((o) => o.kind === 'ConfigMap');
    const config = JSON.parse(cm.data['config.json']);
    expect(parseConfig(TrainConfigSchema, config, 'mounted config')).toEqual(pipeline.config);
    expect(config.model).toBe('fraud');
    expect(config.registry).toBe(registry.registryUri);
    expect(config.data).toEqual(expect.objectContaining({ uri: `s3://${platform.artifactBucket.bucketName}/datasets/fraud/train.parquet`, target: 'is_fraud' }));
    expect(config.gate).toEqual(expect.objectContaining({ minimums: { roc_auc: 0.9 }, maxRegression: { roc_auc: 0.01 }, alias: 'champion', promote: true }));
    expect(own.find((o) => o.kind === 'Job').spec.template.metadata.annotations['cdk-mlops.io/config-checksum']).toMatch(/^[0-9a-f]{64}$/);
  });

  test('a CPU pipeline has no GPU toleration, node selector, GPU request or Kueue label', () => {
    const job = own.find((o) => o.kind === 'Job');
    const spec = job.spec.template.spec;
    expect(spec.tolerations).toBeUndefined();
    expect(spec.nodeSelector).toBeUndefined();
    expect(spec.priorityClassName).toBeUndefined();
    expect(spec.containers[0].resources.limits['nvidia.com/gpu']).toBeUndefined();
    expect(job.metadata.labels['kueue.x-k8s.io/queue-name']).toBeUndefined();
    expect(spec.containers[0].resources.requests).toEqual({ cpu: '2', memory: '4Gi' });
  });

  test('IAM: exactly the data object, and only its own model\'s prefix of the registry; no wildcard bucket access', () => {
    const st = policyOf(s, 'acme-ml-dev-training-fraud-train');
    const bucketArn = platform.artifactBucket.bucketArn;
    const gets = st.filter((x) => list(x.Action).includes('s3:GetObject')).flatMap((x) => list(x.Resource)).sort();
    expect(gets).toEqual([`${bucketArn}/datasets/fraud/train.parquet`, `${bucketArn}/registry/models/fraud/*`].sort());
    const puts = st.filter((x) => list(x.Action).includes('s3:PutObject')).flatMap((x) => list(x.Resource));
    expect(puts).toEqual(['versions', 'aliases', 'claims'].map((d) => `${bucketArn}/registry/models/fraud/${d}/*`));
    const all = st.flatMap((x) => list(x.Resource));
    expect(all.some((r) => r.includes('/models/other'))).toBe(false);
    expect(all.some((r) => r === '*' || r === `${bucketArn}/*` || r === `${bucketArn}/registry/*`)).toBe(false);
    expect(st.flatMap((x) => list(x.Action)).some((a) => a.includes('*') || a.startsWith('s3:Delete'))).toBe(false);
    expect(st.filter((x) => list(x.Action).some((a) => a.startsWith('kms:'))).every((x) => x.Condition.StringEquals['kms:ViaService'] === 's3.eu-west-1.amazonaws.com')).toBe(true);
  });

  test('egress: HTTPS to AWS only (the namespace denies everything else)', () => {
    const np = own.find((o) => o.kind === 'NetworkPolicy');
    expect(np.spec.policyTypes).toEqual(['Egress']);
    expect(np.spec.podSelector.matchLabels).toEqual(pipeline.workload.selector);
    expect(np.spec.egress[0].to[0].ipBlock.except).toEqual(['169.254.169.254/32']);
  });

  test('every object validates and the output is policy-clean', () => {
    expect(validateAll(objs)).toBeGreaterThan(20);
    expect(checkKubernetes(own)).toEqual([]);
    expect(checkTerraform(s.terraform).filter((f) => f.target.includes('fraud'))).toEqual([]);
  });

  test('platform.json lists it with its model, data, CronJob and compute', () => {
    const entry = (s.inventory.capabilities as Any[]).find((c) => c.kind === 'training-pipeline');
    expect(entry).toEqual(expect.objectContaining({ name: 'fraud-train', model: 'fraud', cronJob: 'acme-ml-training/fraud-train', compute: { cpu: '2', memory: '4Gi' }, trainer: 'logistic-regression' }));
  });
});

describe('TrainingPipeline on a GpuTrainingPool', () => {
  const { platform, registry, pool } = setup();
  new TrainingPipeline(platform, 'digits', {
    model: registry.model('digits'),
    data: TrainingData.fromS3('s3://acme-datasets/digits.csv', { kmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab' }),
    external: { command: 'python /app/train.py', task: 'classification' },
    image: RuntimeImage.fromTag('123456789012.dkr.ecr.eu-west-1.amazonaws.com/digits-trainer', '2.3.0'),
    compute: TrainingCompute.gpu(pool, { gpus: 4 }),
    schedule: '0 3 * * 1',
    timeZone: 'Europe/Paris',
  });
  const s = synth(platform);
  const objs = kubeObjects(s);
  const own = mine(objs, 'digits');
  const cron = own.find((o) => o.kind === 'CronJob');
  const podSpec = cron.spec.jobTemplate.spec.template.spec;
  const nodePool = objs.find((o) => o.kind === 'NodePool') as Any;

  test('scheduled: an active CronJob, no one-shot Job', () => {
    expect(cron.spec).toEqual(expect.objectContaining({ schedule: '0 3 * * 1', timeZone: 'Europe/Paris', suspend: false }));
    expect(own.filter((o) => o.kind === 'Job')).toHaveLength(0);
  });

  test('the Job lands on GPU nodes only through the taint/toleration pair and the pool\'s node label', () => {
    const taints = nodePool.spec.template.spec.taints;
    expect(taints).toEqual([{ key: 'nvidia.com/gpu', value: 'true', effect: 'NoSchedule' }]);
    // Every taint of the pool is tolerated exactly (same key, value and effect).
    for (const t of taints) {
      expect(podSpec.tolerations).toContainEqual({ key: t.key, operator: 'Equal', value: t.value, effect: t.effect });
    }
    // The node selector is exactly the label the pool's nodes carry.
    expect(podSpec.nodeSelector).toEqual({ 'cdk-mlops.io/pool': 'acme-ml-gpu' });
    for (const [k, v] of Object.entries(podSpec.nodeSelector)) expect(nodePool.spec.template.metadata.labels[k]).toBe(v);
    expect(podSpec.containers[0].resources.limits['nvidia.com/gpu']).toBe(4);
    expect(podSpec.containers[0].resources.requests['nvidia.com/gpu']).toBe(4);
    expect(podSpec.priorityClassName).toBe(pool.priorityClassName);
    expect(cron.spec.jobTemplate.spec.template.metadata.annotations['karpenter.sh/do-not-disrupt']).toBe('true');
  });

  test('the Job carries the Kueue queue label of the team\'s LocalQueue, whose flavor is the pool\'s', () => {
    const queueName = cron.spec.jobTemplate.metadata.labels['kueue.x-k8s.io/queue-name'];
    const lq = objs.find((o) => o.kind === 'LocalQueue' && o.metadata.name === queueName) as Any;
    expect(lq.metadata.namespace).toBe('acme-ml-training');
    const cq = objs.find((o) => o.kind === 'ClusterQueue' && o.metadata.name === lq.spec.clusterQueue) as Any;
    const flavor = objs.find((o) => o.kind === 'ResourceFlavor' && o.metadata.name === cq.spec.resourceGroups[0].flavors[0].name) as Any;
    expect(flavor.spec.nodeLabels).toEqual(podSpec.nodeSelector);
    expect(flavor.spec.tolerations).toEqual(podSpec.tolerations);
  });

  test('an external bucket: the one object, decrypted with the given key through S3', () => {
    const st = policyOf(s, 'acme-ml-dev-training-digits');
    expect(st.find((x) => x.Sid === 'ReadTrainingData')!.Resource).toBe('arn:aws:s3:::acme-datasets/digits.csv');
    const dec = st.find((x) => x.Sid === 'DecryptTrainingData')!;
    expect(dec.Resource).toBe('arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab');
    expect(dec.Condition.StringEquals).toEqual({ 'kms:ViaService': 's3.eu-west-1.amazonaws.com' });
    // Bucket-key context (the bucket) or per-object context (the object), nothing else.
    expect(dec.Condition.StringLike['kms:EncryptionContext:aws:s3:arn']).toEqual(['arn:aws:s3:::acme-datasets', 'arn:aws:s3:::acme-datasets/digits.csv']);
  });

  test('Kueue-managed: the Job is declared suspended (Kueue resumes it on admission); the pod runs the given image and records its Job', () => {
    const job = own.find((o) => o.kind === 'CronJob') as Any;
    expect(job.spec.jobTemplate.spec.suspend).toBe(true);
    const c = job.spec.jobTemplate.spec.template.spec.containers[0];
    expect(c.image).toBe('123456789012.dkr.ecr.eu-west-1.amazonaws.com/digits-trainer:2.3.0');
    expect(c.env).toContainEqual({ name: 'CDK_MLOPS_CREATED_BY', valueFrom: { fieldRef: { fieldPath: "metadata.labels['batch.kubernetes.io/job-name']" } } });
  });

  test('fails if a built-in trainer is put on GPUs (it runs on the CPU), or the image is not pinned', () => {
    const p2 = setup();
    expect(() => new TrainingPipeline(p2.platform, 'bi', { model: p2.registry.model('m'), data: TrainingData.fromPlatformBucket('d.csv'), trainer: 'mlp-classifier', compute: TrainingCompute.gpu(p2.pool) }))
      .toThrow(/'compute' \("gpu\(gpu\)"\) must be TrainingCompute.cpu\(\) for a built-in trainer/);
    expect(() => new TrainingPipeline(p2.platform, 'img', { model: p2.registry.model('m'), data: TrainingData.fromPlatformBucket('d.csv'), image: RuntimeImage.fromTag('ghcr.io/acme/t', 'latest') }))
      .toThrow(/'image' \("ghcr.io\/acme\/t:latest"\) tag "latest" floats/);
  });

  test('every object validates and the pipeline is policy-clean', () => {
    validateAll(objs);
    expect(checkKubernetes(own)).toEqual([]);
  });
});

describe('TrainingPipeline with an indexed hyperparameter search', () => {
  const { platform, registry, pool } = setup();
  const pipeline = new TrainingPipeline(platform, 'bc', {
    model: registry.model('breast-cancer'),
    data: TrainingData.fromPlatformBucket('datasets/breast_cancer.csv'),
    external: { command: 'python /app/train.py', task: 'classification' },
    compute: TrainingCompute.gpu(pool),
    search: HyperparameterSearch.indexed({ mode: 'grid', space: { C: { values: [0.1, 1, 10] }, max_iter: { values: [100, 200] } }, parallelism: 4 }),
  });
  const s = synth(platform);
  const objs = kubeObjects(s);
  const jobset = objs.find((o) => o.kind === 'JobSet') as Any;

  test('one JobSet: an Indexed Job with one completion per trial, then the collect step', () => {
    expect(pipeline.trials).toBe(6);
    expect(jobset.metadata.name).toBe(pipeline.runName);
    expect(pipeline.cronJobName).toBeUndefined();
    const [trials, collect] = jobset.spec.replicatedJobs;
    expect(trials.name).toBe('trials');
    expect(trials.template.spec).toEqual(expect.objectContaining({ completionMode: 'Indexed', completions: 6, parallelism: 4, backoffLimitPerIndex: 1, maxFailedIndexes: 0 }));
    expect(collect.dependsOn).toEqual([{ name: 'trials', status: 'Complete' }]);
    expect(collect.template.spec.template.spec.containers[0].args).toEqual(['train', '--hpo-collect', '--progress', 'json']);
    expect(jobset.spec.startupPolicy).toBeUndefined(); // exclusive with dependsOn (JobSet CEL rule)
    expect(jobset.metadata.labels['kueue.x-k8s.io/queue-name']).toBe('gpu-default');
    for (const rj of jobset.spec.replicatedJobs) expect(rj.template.spec.template.spec.tolerations).toEqual(pool.tolerations);
  });

  test('the config matches the runtime\'s indexed mode, and trial results have a prefix of their own', () => {
    const config = JSON.parse((objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'bc-train-config') as Any).data['config.json']);
    expect(config.hpo).toEqual(expect.objectContaining({ execution: 'indexed', mode: 'grid', resultsUri: `s3://${platform.artifactBucket.bucketName}/training/bc/hpo` }));
    const st = policyOf(s, 'acme-ml-dev-training-bc');
    expect(st.find((x) => x.Sid === 'SearchResults')!.Resource).toBe(`${platform.artifactBucket.bucketArn}/training/bc/hpo/*`);
    expect(st.find((x) => x.Sid === 'ListSearchResults')!.Condition).toEqual({ StringLike: { 's3:prefix': ['training/bc/hpo/*'] } });
  });

  test('the JobSet validates (JobSet schema + the batch/v1 Job schema for each replicated job), and a broken one does not', () => {
    validateAll(objs);
    const broken = JSON.parse(JSON.stringify(jobset));
    broken.spec.replicatedJobs[0].template.spec.completionMode = 3;
    expect(() => validateObject(broken)).toThrow(/completionMode/);
    expect(() => validateObject({ ...jobset, spec: { ...jobset.spec, successPolicy: { operator: 'Most' } } })).toThrow(/successPolicy/);
    expect(checkKubernetes([jobset])).toEqual([]);
  });
});

describe('TrainingPipeline runs', () => {
  function runName(params: Record<string, number>) {
    const { platform, registry } = setup();
    return new TrainingPipeline(platform, 'p', { model: registry.model('m'), data: TrainingData.fromPlatformBucket('d.csv'), params }).runName;
  }
  test('the one-shot Job is named by its configuration: same config, same Job; changed config, new Job', () => {
    expect(runName({ C: 0.1 })).toBe(runName({ C: 0.1 }));
    expect(runName({ C: 0.1 })).not.toBe(runName({ C: 0.2 }));
  });
});

describe('TrainingPipeline fails if', () => {
  const base = () => {
    const { platform, registry, pool } = setup();
    return { platform, pool, props: { model: registry.model('fraud'), data: TrainingData.fromPlatformBucket('d.csv') } };
  };

  test('the data is not one S3 object', () => {
    const { platform, props } = base();
    expectProblem(() => new TrainingPipeline(platform, 'a', { ...props, data: TrainingData.fromS3('https://x/y.csv') }), 'data', /s3:\/\/bucket\/key/);
    try {
      new TrainingPipeline(platform, 'a2', { ...props, data: TrainingData.fromS3('https://x/y.csv') });
    } catch (e) {
      expect((e as MlopsValidationError).problems.filter((p) => p.prop === 'data')).toHaveLength(1); // reported once, not again by the config schema
    }
    expectProblem(() => new TrainingPipeline(platform, 'b', { ...props, data: TrainingData.fromS3('s3://bucket/dir/') }), 'data', /one CSV or Parquet file/);
    expectProblem(() => new TrainingPipeline(platform, 'c', { ...props, data: TrainingData.fromPlatformBucket('/abs.csv') }), 'data', /leading or trailing/);
    expectProblem(() => new TrainingPipeline(platform, 'd', { ...props, data: TrainingData.fromS3('s3://bucket/k.csv', { kmsKeyArn: 'alias/x' }) }), 'data.kmsKeyArn', /KMS key ARN/);
  });

  test('the configuration breaks the runtime schema (reported with the prop and the schema\'s message)', () => {
    const { platform, props } = base();
    expectProblem(() => new TrainingPipeline(platform, 'a', { ...props, split: { train: 0.5, validation: 0.1, test: 0.1 } }), 'split', /add up to 1/);
    expectProblem(() => new TrainingPipeline(platform, 'b', { ...props, seed: -1 }), 'seed', /-1/);
    expectProblem(() => new TrainingPipeline(platform, 'c', { ...props, gate: { alias: 'Champion!' } }), 'gate.alias', /Champion/);
    expectProblem(() => new TrainingPipeline(platform, 'd', { ...props, external: { command: '', task: 'classification' } }), 'external.command', /""/);
    expectProblem(() => new TrainingPipeline(platform, 'e', { ...props, search: HyperparameterSearch.inProcess({ space: {} }) }), 'search.space', /at least one hyperparameter/);
  });

  test('the built-in trainer is unknown, or a parameter (given or searched) is not one it takes or out of its range', () => {
    const { platform, props } = base();
    expectProblem(() => new TrainingPipeline(platform, 'a', { ...props, trainer: 'xgboost' }), 'trainer', /unknown built-in trainer "xgboost"; expected one of: logistic-regression, ridge/);
    expectProblem(() => new TrainingPipeline(platform, 'b', { ...props, params: { l2: 0.1 } }), 'params.l2', /has no parameter "l2".*expected one of: C, tol, max_iter/);
    expectProblem(() => new TrainingPipeline(platform, 'c', { ...props, params: { C: -1 } }), 'params.C', /expects a finite number > 0/);
    expectProblem(() => new TrainingPipeline(platform, 'd', { ...props, search: HyperparameterSearch.inProcess({ mode: 'grid', space: { max_iter: { values: [100, 'many'] } } }) }), 'search.space.max_iter', /"many"/);
    // An external trainer's parameters are its own business.
    expect(() => new TrainingPipeline(platform, 'e', { ...props, params: { anything: 1 }, external: { command: 'python train.py', task: 'classification' } })).not.toThrow();
  });

  test('a grid search is given fewer trials than combinations', () => {
    const { platform, props } = base();
    expectProblem(() => new TrainingPipeline(platform, 'a', { ...props, search: HyperparameterSearch.indexed({ mode: 'grid', trials: 2, space: { C: { values: [1, 2, 3] } } }) }), 'search', /fewer than the 3 combinations/);
    expectProblem(() => new TrainingPipeline(platform, 'b', { ...props, search: HyperparameterSearch.indexed({ space: { C: { values: [1, 2] } }, parallelism: 0 }) }), 'search.parallelism', /from 1 to 1000/);
  });

  test('an indexed search is scheduled, or its id is too long for the JobSet\'s pod names', () => {
    const { platform, props } = base();
    expectProblem(() => new TrainingPipeline(platform, 'a'.repeat(31), { ...props, search: HyperparameterSearch.indexed({ space: { C: { values: [1, 2] } } }) }), 'id', /at most 30 characters with an indexed search/);
    expectProblem(() => new TrainingPipeline(platform, 'a', { ...props, schedule: '@daily', search: HyperparameterSearch.indexed({ space: { C: { values: [1, 2] } } }) }), 'schedule', /cannot be combined with HyperparameterSearch\.indexed/);
  });

  test('GPU compute asks for more GPUs than a node has, an unknown team, or a team outside the training namespace', () => {
    const { platform, props, pool } = base();
    expectProblem(() => new TrainingPipeline(platform, 'a', { ...props, compute: TrainingCompute.gpu(pool, { gpus: 5 }) }), 'compute.gpus', /from 1 to 4 \(the most GPUs a node of pool 'gpu' has\)/);
    expectProblem(() => new TrainingPipeline(platform, 'b', { ...props, compute: TrainingCompute.gpu(pool, { team: 'nlp' }) }), 'compute.team', /must be a team of GPU pool 'gpu': default/);
    const other = new GpuTrainingPool(platform, 'other', { teams: [{ name: 'x', gpus: 1, namespace: 'elsewhere' }] });
    expectProblem(() => new TrainingPipeline(platform, 'c', { ...props, compute: TrainingCompute.gpu(other, { team: 'x' }) }), 'compute.team', /LocalQueue in the training namespace/);
    expectProblem(() => new TrainingPipeline(platform, 'd', { ...props, compute: TrainingCompute.cpu({ memory: 'lots' }) }), 'compute.memory', /quantity/);
  });

  test('the schedule, time zone, retries, deadline or id are invalid', () => {
    const { platform, props } = base();
    expectProblem(() => new TrainingPipeline(platform, 'a', { ...props, schedule: 'every monday' }), 'schedule', /cron expression/);
    expectProblem(() => new TrainingPipeline(platform, 'b', { ...props, timeZone: 'Paris time' }), 'timeZone', /IANA/);
    expectProblem(() => new TrainingPipeline(platform, 'c', { ...props, backoffLimit: 11 }), 'backoffLimit', /0 to 10/);
    expectProblem(() => new TrainingPipeline(platform, 'd', { ...props, activeDeadlineSeconds: 5 }), 'activeDeadlineSeconds', />= 60/);
    expectProblem(() => new TrainingPipeline(platform, 'Bad_Id', props), 'id', /DNS-1123/);
  });
});

describe('DistributedTrainingJob (multi-node, the user\'s container, JobSet)', () => {
  function build(efa = false) {
    const { platform } = newPlatform();
    const pool = new GpuTrainingPool(platform, 'h100', {
      capacity: GpuCapacity.karpenter({ instanceTypes: ['p5.48xlarge'], maxGpus: 32 }),
      efa,
    });
    const job = new DistributedTrainingJob(platform, 'llm', {
      pool,
      image: 'ghcr.io/acme/llm-train:1.4.2',
      command: ['torchrun'],
      args: ['--nnodes=$(NNODES)', '--nproc-per-node=$(NPROC_PER_NODE)', 'train.py'],
      nodes: 4,
      data: TrainingData.fromPlatformBucket('datasets/corpus.parquet'),
      env: { HF_HOME: '/workspace/hf' },
    });
    const s = synth(platform);
    return { platform, pool, job, s, objs: kubeObjects(s) };
  }

  test('snapshot of the JobSet and its network policy', () => {
    const { objs } = build();
    expect(objs.filter((o) => o.metadata.name?.startsWith('llm'))).toMatchSnapshot();
  });

  test('one JobSet: an Indexed Job of N pods on the pool, with rendezvous addresses and a Kueue queue', () => {
    const { job, objs, pool } = build();
    const js = objs.find((o) => o.kind === 'JobSet') as Any;
    expect(js.metadata.name).toBe(job.jobSetName);
    expect(js.metadata.labels['kueue.x-k8s.io/queue-name']).toBe('h100-default');
    expect(js.spec.network).toEqual({ enableDNSHostnames: true, publishNotReadyAddresses: true, subdomain: job.jobSetName });
    expect(js.spec.failurePolicy).toEqual({ maxRestarts: 2, restartStrategy: 'Recreate' });
    const rj = js.spec.replicatedJobs[0];
    expect(rj.template.spec).toEqual(expect.objectContaining({ completionMode: 'Indexed', completions: 4, parallelism: 4, backoffLimit: 0 }));
    const pod = rj.template.spec.template.spec;
    expect(pod.nodeSelector).toEqual(pool.nodeSelector);
    expect(pod.tolerations).toEqual(pool.tolerations);
    const c = pod.containers[0];
    const env = Object.fromEntries(c.env.map((e: Any) => [e.name, e.value]));
    expect(env).toEqual(expect.objectContaining({
      MASTER_ADDR: `${job.jobSetName}-node-0-0.${job.jobSetName}`,
      MASTER_PORT: '29500',
      NNODES: '4',
      NPROC_PER_NODE: '8',
      WORLD_SIZE: '32',
      CDK_MLOPS_OUTPUT_URI: job.outputUri,
      HF_HOME: '/workspace/hf',
    }));
    expect(c.resources.limits).toEqual({ 'cpu': '8', 'memory': '64Gi', 'nvidia.com/gpu': 8 });
    expect(pod.volumes.find((v: Any) => v.name === 'dshm').emptyDir).toEqual({ medium: 'Memory', sizeLimit: '16Gi' });
  });

  test('validates against the JobSet and Job schemas, is policy-clean, and its pods may talk only to each other and AWS', () => {
    const { objs, s } = build();
    validateAll(objs);
    const own = objs.filter((o) => o.metadata.name?.startsWith('llm'));
    expect(checkKubernetes(own)).toEqual([]);
    expect(checkTerraform(s.terraform).filter((f) => f.target.includes('llm'))).toEqual([]);
    const np = own.find((o) => o.kind === 'NetworkPolicy') as Any;
    expect(np.spec.ingress).toEqual([{ from: [{ podSelector: np.spec.podSelector }] }]);
    expect(np.spec.egress[0]).toEqual({ to: [{ podSelector: np.spec.podSelector }] });
  });

  test('IAM: reads the data object, writes only its own output prefix', () => {
    const { s, platform } = build();
    const st = policyOf(s, 'acme-ml-dev-training-llm');
    const bucketArn = platform.artifactBucket.bucketArn;
    expect(st.find((x) => x.Sid === 'ReadTrainingData')!.Resource).toBe(`${bucketArn}/datasets/corpus.parquet`);
    const puts = st.filter((x) => list(x.Action).includes('s3:PutObject')).flatMap((x) => list(x.Resource));
    expect(puts).toEqual([`${bucketArn}/training/llm/output/*`]);
  });

  test('with an EFA pool every pod requests the node\'s EFA interfaces', () => {
    const { objs } = build(true);
    const js = objs.find((o) => o.kind === 'JobSet') as Any;
    expect(js.spec.replicatedJobs[0].template.spec.template.spec.containers[0].resources.limits['vpc.amazonaws.com/efa']).toBe(32);
  });

  test('fails if the image is not pinned, one node, more GPUs than the pool, or a reserved variable is overridden', () => {
    const { platform } = newPlatform();
    const pool = new GpuTrainingPool(platform, 'gpu', { capacity: GpuCapacity.karpenter({ instanceTypes: ['g6.12xlarge'], maxGpus: 8 }) });
    const base = { pool, image: 'ghcr.io/acme/t:1', nodes: 2 };
    expectProblem(() => new DistributedTrainingJob(platform, 'a', { ...base, image: 'ghcr.io/acme/t' }), 'image', /pinned/);
    expectProblem(() => new DistributedTrainingJob(platform, 'b', { ...base, nodes: 1 }), 'nodes', /from 2 to 1000/);
    expectProblem(() => new DistributedTrainingJob(platform, 'c', { ...base, nodes: 3 }), 'nodes', /must fit in the pool's 8 GPUs/);
    expectProblem(() => new DistributedTrainingJob(platform, 'd', { ...base, gpusPerNode: 8 }), 'gpusPerNode', /from 1 to 4/);
    expectProblem(() => new DistributedTrainingJob(platform, 'e', { ...base, env: { MASTER_ADDR: 'x' } }), 'env.MASTER_ADDR', /set by the job itself/);
    expectProblem(() => new DistributedTrainingJob(platform, 'f', { ...base, rendezvousPort: 80 }), 'rendezvousPort', /1024 to 65535/);
    expectProblem(() => new DistributedTrainingJob(platform, 'g', { ...base, team: 'x' }), 'team', /team of GPU pool/);
    expectProblem(() => new DistributedTrainingJob(platform, 'h', { ...base, memory: 'big' }), 'memory', /quantity/);
  });
});
