import { Construct } from 'constructs';
import { grantTrainingData, resolveTrainingData, ResolvedTrainingData, TrainingData } from './data';
import { compareStrings } from '../../util/compare';
import { ApiObject, k8s } from '../cluster/k8s';
import { awsEgressRules, RUNTIME_UID } from '../cluster/runtime-workload';
import { PropValidator } from '../errors';
import { GpuTrainingPool, KUEUE_QUEUE_LABEL } from '../gpu-training-pool';
import { MlPlatform, PlatformPart, shortHash, Workload } from '../platform';

export interface DistributedTrainingJobProps {
  /** The GPU pool the nodes of the run come from. */
  readonly pool: GpuTrainingPool;
  /** The user's training image, pinned by a version tag or a sha256 digest. */
  readonly image: string;
  /** Entrypoint override. @default - the image's entrypoint */
  readonly command?: string[];
  /** Arguments (`['torchrun', ...]` goes in command or args as the image expects). @default - the image's */
  readonly args?: string[];
  /** Number of nodes (pods, one per node), at least 2. */
  readonly nodes: number;
  /** GPUs per node. @default - every GPU of the pool's largest node type */
  readonly gpusPerNode?: number;
  /** CPU per pod (requests = limits). @default '8' */
  readonly cpu?: string;
  /** Memory per pod (requests = limits). @default '64Gi' */
  readonly memory?: string;
  /** Shared memory (`/dev/shm`, in RAM, counted in `memory`) for NCCL and data loaders. @default '16Gi' */
  readonly sharedMemory?: string;
  /** The pool's team whose Kueue queue admits the run. @default 'default' */
  readonly team?: string;
  /** Plain environment variables (never secrets). @default {} */
  readonly env?: Record<string, string>;
  /** Data the run may read (its URI is in `CDK_MLOPS_DATA_URI`). @default - none */
  readonly data?: TrainingData;
  /** Rendezvous port on node 0 (`MASTER_PORT`). @default 29500 */
  readonly rendezvousPort?: number;
  /** Restarts of the whole run (every node) after a node fails. @default 2 */
  readonly maxRestarts?: number;
  /** The run is stopped after this many seconds. @default 86400 */
  readonly activeDeadlineSeconds?: number;
}

const IMAGE_PINNED = /^[^\s]+(@sha256:[a-f0-9]{64}|:[A-Za-z0-9_][A-Za-z0-9_.-]*)$/;
const QUANTITY_RE = /^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/;
const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RESERVED_ENV = ['MASTER_ADDR', 'MASTER_PORT', 'NNODES', 'NPROC_PER_NODE', 'WORLD_SIZE', 'JOB_COMPLETION_INDEX', 'CDK_MLOPS_OUTPUT_URI', 'CDK_MLOPS_DATA_URI'];

/**
 * Multi-node training of the user's own container on a GpuTrainingPool, as one JobSet
 * (`jobset.x-k8s.io/v1alpha2`, JobSet >= 0.8): a replicated job `node` that is an Indexed Job
 * of `nodes` pods, all started together (Kueue admits the JobSet as one workload: every node or
 * none), each on its own GPU node, reachable by stable DNS names.
 *
 * **Why JobSet and not Kubeflow Trainer.** JobSet is the Kubernetes SIG-Apps API for a group of
 * Jobs that succeed or fail together, with stable pod DNS and restart of the whole group; it is
 * framework-agnostic (torchrun, DeepSpeed, JAX, MPI launchers all just need the addresses below),
 * is a single small controller, is integrated natively with Kueue, and is what Kubeflow Trainer
 * v2 itself creates under its TrainJob. Trainer adds runtimes, initializers and an SDK on top
 * that a platform which already builds its own images and data paths does not need; and the
 * pipeline's indexed search already relies on JobSet, so there is one engine to operate.
 *
 * Each pod gets:
 * `MASTER_ADDR` (node 0's DNS name), `MASTER_PORT`, `NNODES`, `NPROC_PER_NODE` (GPUs per node),
 * `WORLD_SIZE` (nodes x GPUs), `JOB_COMPLETION_INDEX` (the node rank, set by Kubernetes),
 * `CDK_MLOPS_OUTPUT_URI` (an S3 prefix only this run's identity may write: put the model there,
 * e.g. an ONNX file to register with `cdk-mlops train` in external mode) and
 * `CDK_MLOPS_DATA_URI` (with `data`). The container runs hardened like the runtime (non-root,
 * read-only root filesystem with writable `/tmp` and `/workspace`, no privilege escalation,
 * ALL capabilities dropped); `/dev/shm` is in memory. With an EFA pool each pod requests the
 * node's EFA interfaces. A NetworkPolicy lets the run's pods reach each other on any port
 * (rendezvous, NCCL) and AWS over HTTPS, nothing else.
 */
export class DistributedTrainingJob extends Construct {
  /** Name of the JobSet (`<id>-<hash of its spec>`: a changed spec is a new run). */
  public readonly jobSetName: string;
  public readonly namespace: string;
  public readonly workload: Workload;
  /** `s3://<artefact bucket>/training/<id>/output`. */
  public readonly outputUri: string;
  public readonly nodes: number;
  public readonly gpusPerNode: number;
  /** Escape hatch. */
  public readonly jobSet: ApiObject;

  constructor(scope: Construct, id: string, props: DistributedTrainingJobProps) {
    super(scope, id);
    const platform = MlPlatform.of(this);
    const pool = props.pool;
    const v = new PropValidator(this);
    v.check(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(id) && id.length <= 30, 'id', id, 'must be a DNS-1123 label of at most 30 characters (pod host names derive from it)');
    v.check(typeof props.image === 'string' && IMAGE_PINNED.test(props.image) && !props.image.endsWith(':latest'), 'image', props.image, 'must be an image pinned by a version tag or sha256 digest (not latest)');
    v.check(Number.isInteger(props.nodes) && props.nodes >= 2 && props.nodes <= 1000, 'nodes', props.nodes, 'must be a whole number from 2 to 1000 (one node: use a TrainingPipeline or a single-node job)');
    const gpus = props.gpusPerNode ?? pool.maxGpusPerNode;
    v.check(Number.isInteger(gpus) && gpus >= 1 && gpus <= pool.maxGpusPerNode, 'gpusPerNode', gpus, `must be a whole number from 1 to ${pool.maxGpusPerNode} (the most GPUs a node of pool '${pool.poolName}' has)`);
    if (Number.isInteger(props.nodes) && Number.isInteger(gpus)) {
      v.check(props.nodes * gpus <= pool.maxGpus, 'nodes', props.nodes, `times gpusPerNode (${gpus}) must fit in the pool's ${pool.maxGpus} GPUs, or the run can never be admitted`);
    }
    const cpu = props.cpu ?? '8';
    const memory = props.memory ?? '64Gi';
    const shm = props.sharedMemory ?? '16Gi';
    for (const [k, q] of [['cpu', cpu], ['memory', memory], ['sharedMemory', shm]] as const) {
      v.check(QUANTITY_RE.test(q), k, q, "must be a Kubernetes quantity like '8' or '64Gi'");
    }
    const team = props.team ?? 'default';
    const queue = pool.queues.find((q) => q.team === team);
    if (!queue) {v.fail('team', team, `must be a team of GPU pool '${pool.poolName}': ${pool.queues.map((q) => q.team).join(', ')}`);} else {
      v.check(queue.namespace === platform.namespace(PlatformPart.TRAINING), 'team', team,
        `must have its LocalQueue in the training namespace '${platform.namespace(PlatformPart.TRAINING)}' (it is in '${queue.namespace}')`);
    }
    for (const k of Object.keys(props.env ?? {})) {
      v.check(ENV_NAME_RE.test(k), `env.${k}`, k, 'must be an environment variable name');
      v.check(!RESERVED_ENV.includes(k), `env.${k}`, k, `is set by the job itself (${RESERVED_ENV.join(', ')})`);
    }
    const port = props.rendezvousPort ?? 29500;
    v.check(Number.isInteger(port) && port >= 1024 && port <= 65535, 'rendezvousPort', port, 'must be a port from 1024 to 65535 (the container is not root)');
    const maxRestarts = props.maxRestarts ?? 2;
    v.check(Number.isInteger(maxRestarts) && maxRestarts >= 0 && maxRestarts <= 100, 'maxRestarts', maxRestarts, 'must be a whole number from 0 to 100');
    const deadline = props.activeDeadlineSeconds ?? 86400;
    v.check(Number.isInteger(deadline) && deadline >= 60, 'activeDeadlineSeconds', deadline, 'must be a whole number of seconds >= 60');
    let data: ResolvedTrainingData | undefined;
    if (props.data) data = resolveTrainingData(v, platform, props.data);
    v.throwIfAny();

    this.nodes = props.nodes;
    this.gpusPerNode = gpus;
    this.namespace = platform.namespace(PlatformPart.TRAINING);
    const chart = platform.chart('training');
    const cluster = platform.clusterScope(this, 'training');
    this.workload = platform.addWorkload(this, id, { part: PlatformPart.TRAINING, chart });
    const w = this.workload;

    // IAM: the data object; the run's own output prefix.
    const outputPrefix = `training/${id}/output`;
    this.outputUri = `s3://${platform.artifactBucket.bucketName}/${outputPrefix}`;
    if (data) grantTrainingData(w, data, platform.region);
    const bucketArn = platform.artifactBucket.bucketArn;
    w.role.addToPolicy({ Sid: 'WriteRunOutput', Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: `${bucketArn}/${outputPrefix}/*` });
    w.role.addToPolicy({ Sid: 'ListRunOutput', Effect: 'Allow', Action: 's3:ListBucket', Resource: bucketArn, Condition: { StringLike: { 's3:prefix': [`${outputPrefix}/*`] } } });
    w.role.addToPolicy({
      Sid: 'EncryptRunOutput',
      Effect: 'Allow',
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      Resource: platform.key.arn,
      Condition: { StringEquals: { 'kms:ViaService': `s3.${platform.region}.amazonaws.com`, 'kms:EncryptionContext:aws:s3:arn': bucketArn } },
    });

    const runLabels = { ...platform.labels, ...w.selector };
    const q = (s: string) => k8s.Quantity.fromString(s);
    const limits: Record<string, k8s.Quantity> = { 'cpu': q(cpu), 'memory': q(memory), 'nvidia.com/gpu': k8s.Quantity.fromNumber(gpus) };
    if (pool.efa && pool.efaInterfacesPerNode > 0) limits['vpc.amazonaws.com/efa'] = k8s.Quantity.fromNumber(pool.efaInterfacesPerNode);
    const spec = (name: string): k8s.JobSpec => ({
      completionMode: 'Indexed',
      completions: props.nodes,
      parallelism: props.nodes,
      backoffLimit: 0,
      activeDeadlineSeconds: deadline,
      template: {
        metadata: { labels: runLabels, annotations: pool.capacityKind === 'karpenter' ? { 'karpenter.sh/do-not-disrupt': 'true' } : undefined },
        spec: {
          serviceAccountName: w.serviceAccountName,
          automountServiceAccountToken: false,
          restartPolicy: 'Never',
          enableServiceLinks: false,
          nodeSelector: { ...pool.nodeSelector },
          tolerations: pool.tolerations.map((t) => ({ ...t })),
          priorityClassName: pool.priorityClassName,
          securityContext: { runAsNonRoot: true, runAsUser: RUNTIME_UID, runAsGroup: RUNTIME_UID, fsGroup: RUNTIME_UID, seccompProfile: { type: 'RuntimeDefault' } },
          // One pod per node: the run wants whole nodes.
          topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: w.selector } }],
          containers: [{
            name: 'train',
            image: props.image,
            imagePullPolicy: 'IfNotPresent',
            command: props.command,
            args: props.args,
            env: [
              { name: 'MASTER_ADDR', value: `${name}-node-0-0.${name}` },
              { name: 'MASTER_PORT', value: String(port) },
              { name: 'NNODES', value: String(props.nodes) },
              { name: 'NPROC_PER_NODE', value: String(gpus) },
              { name: 'WORLD_SIZE', value: String(props.nodes * gpus) },
              { name: 'CDK_MLOPS_OUTPUT_URI', value: this.outputUri },
              ...(data ? [{ name: 'CDK_MLOPS_DATA_URI', value: data.uri }] : []),
              { name: 'TMPDIR', value: '/tmp' },
              ...Object.entries(props.env ?? {}).sort(([a], [b]) => compareStrings(a, b)).map(([k, val]) => ({ name: k, value: val })),
            ],
            ports: [{ name: 'rendezvous', containerPort: port, protocol: 'TCP' }],
            resources: { limits, requests: { ...limits } },
            securityContext: {
              runAsNonRoot: true,
              readOnlyRootFilesystem: true,
              allowPrivilegeEscalation: false,
              privileged: false,
              capabilities: { drop: ['ALL'] },
              seccompProfile: { type: 'RuntimeDefault' },
            },
            volumeMounts: [
              { name: 'tmp', mountPath: '/tmp' },
              { name: 'workspace', mountPath: '/workspace' },
              { name: 'dshm', mountPath: '/dev/shm' },
            ],
          }],
          volumes: [
            { name: 'tmp', emptyDir: { sizeLimit: q('10Gi') } },
            { name: 'workspace', emptyDir: { sizeLimit: q('100Gi') } },
            { name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: q(shm) } },
          ],
        },
      },
    });
    const shape = JSON.stringify(k8s.KubeJob.manifest({ spec: spec('x') }).spec);
    this.jobSetName = `${id}-${shortHash(`${shape}|${maxRestarts}`)}`;
    const name = this.jobSetName;
    this.jobSet = new ApiObject(cluster, 'jobset', {
      apiVersion: 'jobset.x-k8s.io/v1alpha2',
      kind: 'JobSet',
      metadata: { name, namespace: this.namespace, labels: { ...runLabels, [KUEUE_QUEUE_LABEL]: queue!.localQueue } },
      spec: {
        network: { enableDNSHostnames: true, publishNotReadyAddresses: true, subdomain: name },
        // Any node failing restarts every node (collective training cannot continue with a hole).
        failurePolicy: { maxRestarts, restartStrategy: 'Recreate' },
        successPolicy: { operator: 'All' },
        replicatedJobs: [{ name: 'node', replicas: 1, template: { metadata: { labels: runLabels }, spec: k8s.KubeJob.manifest({ spec: spec(name) }).spec } }],
      },
    });

    new k8s.KubeNetworkPolicy(cluster, 'network', {
      metadata: { name: `${id}-network`, namespace: this.namespace, labels: runLabels },
      spec: {
        podSelector: { matchLabels: w.selector },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [{ from: [{ podSelector: { matchLabels: w.selector } }] }],
        egress: [{ to: [{ podSelector: { matchLabels: w.selector } }] }, ...awsEgressRules()],
      },
    });

    platform.addInventory({
      kind: 'distributed-training-job',
      name: id,
      jobSet: `${this.namespace}/${name}`,
      pool: pool.poolName,
      nodes: props.nodes,
      gpusPerNode: gpus,
      image: props.image,
      output: this.outputUri,
    });
  }
}
