import { Construct } from 'constructs';
import { grantTrainingData, resolveTrainingData, TrainingData } from './data';
import { TrainConfig, TrainConfigInput, TrainConfigSchema } from '../../runtime/config/train';
import { InputError } from '../../runtime/errors';
import { planTrials } from '../../runtime/train/hpo';
import { getTrainer } from '../../runtime/train/trainers';
import { resolveParams } from '../../runtime/train/trainers/params';
import { ApiObject, k8s } from '../cluster/k8s';
import { awsEgressRules, ComputeResources, runtimeConfigMap, runtimeContainer, runtimePodSpec } from '../cluster/runtime-workload';
import { PropValidator } from '../errors';
import { GpuTrainingPool, KUEUE_QUEUE_LABEL } from '../gpu-training-pool';
import { MlPlatform, PlatformPart, shortHash, Workload } from '../platform';
import type { IModel } from '../refs';
import { RuntimeImage } from '../runtime-image';

export { TrainingData } from './data';

/** Options of a GPU pipeline. */
export interface GpuComputeOptions {
  /** GPUs per pod (`nvidia.com/gpu` requests = limits). @default 1 */
  readonly gpus?: number;
  /** The pool's team whose Kueue queue admits the job. @default 'default' */
  readonly team?: string;
  /** @default '4' */
  readonly cpu?: string;
  /** @default '16Gi' */
  readonly memory?: string;
}

/** Options of a CPU pipeline. */
export interface CpuComputeOptions {
  /** @default '2' */
  readonly cpu?: string;
  /** @default '4Gi' */
  readonly memory?: string;
}

/** Where the training pods run. */
export class TrainingCompute {
  /** On the platform's ordinary nodes, no GPU, no queue. */
  public static cpu(options: CpuComputeOptions = {}): TrainingCompute {
    return new TrainingCompute(undefined, { cpu: options.cpu ?? '2', memory: options.memory ?? '4Gi', gpus: 0 }, undefined);
  }

  /**
   * On a GpuTrainingPool: the pods select its nodes, tolerate its taint, request GPUs and are
   * admitted by the team's Kueue LocalQueue (all pods of a job at once).
   */
  public static gpu(pool: GpuTrainingPool, options: GpuComputeOptions = {}): TrainingCompute {
    return new TrainingCompute(pool, { cpu: options.cpu ?? '4', memory: options.memory ?? '16Gi', gpus: options.gpus ?? 1 }, options.team ?? 'default');
  }

  private constructor(
    /** @internal */ public readonly _pool: GpuTrainingPool | undefined,
    /** @internal */ public readonly _resources: { cpu: string; memory: string; gpus: number },
    /** @internal */ public readonly _team: string | undefined,
  ) {}
}

/** Searched hyperparameters, as `cdk-mlops train` takes them (`hpo` of the train config). */
export interface SearchOptions {
  /** @default 'random' */
  readonly mode?: 'grid' | 'random';
  /** Random: number of trials. Grid: leave out (every combination). @default 20 (random) */
  readonly trials?: number;
  /** Searched hyperparameters: `{ values: [...] }` or `{ min, max, log?, integer?, steps? }`. */
  readonly space: NonNullable<TrainConfigInput['hpo']>['space'];
  /** Metric on the validation split. @default - roc_auc (classification), rmse (regression) */
  readonly metric?: string;
  /** Trials at once (threads in one pod, or pods of the Indexed Job). @default 1 (in-process), 4 (indexed) */
  readonly parallelism?: number;
}

/** How a hyperparameter search runs. */
export class HyperparameterSearch {
  /** Every trial in the training pod, `parallelism` worker threads at a time; then the final fit. */
  public static inProcess(options: SearchOptions): HyperparameterSearch {
    return new HyperparameterSearch('in-process', options);
  }

  /**
   * One pod per trial: a JobSet whose `trials` replicated job is an Indexed Job (completion
   * index = trial index, `parallelism` pods at a time) and whose `collect` job, started when
   * every trial has completed (`dependsOn`), picks the best trial and trains, gates and
   * registers it (`cdk-mlops train --hpo-collect`). Trial results go to a prefix of the
   * artefact bucket only this pipeline can write. Needs JobSet >= 0.8.
   */
  public static indexed(options: SearchOptions): HyperparameterSearch {
    return new HyperparameterSearch('indexed', options);
  }

  private constructor(
    /** @internal */ public readonly _execution: 'in-process' | 'indexed',
    /** @internal */ public readonly _options: SearchOptions,
  ) {}
}

export interface TrainingPipelineProps {
  /** The registry model it trains and registers (`registry.model('fraud')`). */
  readonly model: IModel;
  readonly data: TrainingData;
  /** @default 'auto' - from the file extension */
  readonly format?: 'auto' | 'csv' | 'parquet';
  /** Label column. @default 'target' */
  readonly target?: string;
  /** Feature columns. @default - every other column */
  readonly features?: string[];
  /** Columns the model does not use. @default [] */
  readonly ignore?: string[];
  /** Column for per-slice metrics. @default - none */
  readonly sliceColumn?: string;
  /** Built-in trainer. @default 'logistic-regression' */
  readonly trainer?: string;
  /** Hyperparameters. @default {} */
  readonly params?: Record<string, string | number | boolean>;
  /** The user's own training command, run in the runtime image (or `image`). @default - a built-in trainer */
  readonly external?: TrainConfigInput['external'];
  /**
   * The image the training pod runs: for an external trainer that needs more than the runtime
   * image has (Python, CUDA, your code), build an image FROM the runtime image (its entry point
   * stays `cdk-mlops`) and pin it here.
   * @default - the platform's runtime image
   */
  readonly image?: RuntimeImage;
  /** @default 42 */
  readonly seed?: number;
  /** @default - 0.7 / 0.15 / 0.15 */
  readonly split?: TrainConfigInput['split'];
  /** Quality gate. @default - compare with and promote 'champion', no thresholds */
  readonly gate?: TrainConfigInput['gate'];
  /** Reference statistics for drift. @default - 20 bins, 9 quantiles, 5000-value samples */
  readonly reference?: TrainConfigInput['reference'];
  /** Model-card intended use. @default - derived from the data and task */
  readonly intendedUse?: string;
  /** @default - no search */
  readonly search?: HyperparameterSearch;
  /** @default TrainingCompute.cpu() */
  readonly compute?: TrainingCompute;
  /**
   * Cron schedule of the CronJob (`0 3 * * 1`). Without it the CronJob is suspended (a template
   * to start runs from) and a Job runs once for each configuration.
   * @default - no schedule
   */
  readonly schedule?: string;
  /** IANA time zone of the schedule. @default 'Etc/UTC' */
  readonly timeZone?: string;
  /** Retries of a failed pod before the run fails. @default 1 */
  readonly backoffLimit?: number;
  /** A run is stopped after this many seconds. @default 21600 (6 hours) */
  readonly activeDeadlineSeconds?: number;
}

const CRON_RE = /^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|(\S+\s+){4}\S+)$/;
const QUANTITY_RE = /^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/;

/**
 * Trains, evaluates, gates and registers one model with `cdk-mlops train`, on Kubernetes.
 *
 * - The training configuration is built from the props and validated at synth time with the
 *   runtime's own schema (`src/runtime/config/train.ts`); it is mounted as `config.json`.
 * - Its ServiceAccount (EKS Pod Identity) may read exactly the data object and write only its
 *   model's prefix of the registry (`registry.grantWrite(workload, model)`); a NetworkPolicy
 *   opens HTTPS egress (S3) and nothing else.
 * - On a `GpuTrainingPool` the pods select the pool's nodes, tolerate its taint (the only way
 *   onto GPU nodes), request `nvidia.com/gpu` and carry the Kueue queue label, so Kueue admits
 *   a run only when its whole quota is free. On CPU they have neither.
 *
 * **Runs.** A CronJob named `<id>` holds the Job template. With `schedule` it runs on it;
 * without, it is suspended and a Job `<id>-<config hash>` runs once for each configuration
 * synced (a changed config is a new Job, an unchanged one is not run again). To retrain now,
 * or from the drift monitor: `kubectl create job --from=cronjob/<id> <id>-<suffix>` in the
 * training namespace (`pipeline.cronJobName`, `pipeline.jobTemplate`).
 *
 * **Indexed search** (`HyperparameterSearch.indexed`) runs as one JobSet `<id>-<config hash>`
 * (trials, then collect) and has no CronJob: a CronJob can only create Jobs.
 */
export class TrainingPipeline extends Construct {
  public readonly pipelineName: string;
  public readonly model: IModel;
  /** The validated `cdk-mlops train` configuration (defaults filled in). */
  public readonly config: TrainConfig;
  public readonly workload: Workload;
  public readonly namespace: string;
  /** The CronJob to create runs from (undefined for an indexed search). */
  public readonly cronJobName?: string;
  /** Name of the Job (or JobSet) that runs once for this configuration, when not scheduled. */
  public readonly runName?: string;
  /** The Job template of a run (what the CronJob creates). */
  public readonly jobTemplate: k8s.JobTemplateSpec;
  /** GPU pool, when on GPUs. */
  public readonly pool?: GpuTrainingPool;
  /** Number of trials of an indexed search. */
  public readonly trials?: number;

  constructor(scope: Construct, id: string, props: TrainingPipelineProps) {
    super(scope, id);
    const platform = MlPlatform.of(this);
    const v = new PropValidator(this);
    v.check(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(id) && id.length <= 40, 'id', id, 'must be a DNS-1123 label of at most 40 characters (it names the pipeline)');
    const compute = props.compute ?? TrainingCompute.cpu();
    const r = compute._resources;
    v.check(QUANTITY_RE.test(r.cpu), 'compute.cpu', r.cpu, "must be a Kubernetes quantity like '4' or '500m'");
    v.check(QUANTITY_RE.test(r.memory), 'compute.memory', r.memory, "must be a Kubernetes quantity like '16Gi'");
    if (compute._pool) {
      const pool = compute._pool;
      // The built-in trainers are TypeScript on the CPU: GPU nodes would sit idle and cost money.
      v.check(props.external !== undefined, 'compute', `gpu(${pool.poolName})`,
        "must be TrainingCompute.cpu() for a built-in trainer (they run on the CPU); GPU pools are for an external trainer ('external', usually with your own 'image' built FROM the runtime image)");
      v.check(Number.isInteger(r.gpus) && r.gpus >= 1 && r.gpus <= pool.maxGpusPerNode, 'compute.gpus', r.gpus,
        `must be a whole number from 1 to ${pool.maxGpusPerNode} (the most GPUs a node of pool '${pool.poolName}' has)`);
      if (!pool.queues.some((q) => q.team === compute._team)) {
        v.fail('compute.team', compute._team, `must be a team of GPU pool '${pool.poolName}': ${pool.queues.map((q) => q.team).join(', ')}`);
      } else {
        const q = pool.queue(compute._team);
        v.check(q.namespace === platform.namespace(PlatformPart.TRAINING), 'compute.team', compute._team,
          `must have its LocalQueue in the training namespace '${platform.namespace(PlatformPart.TRAINING)}' (it is in '${q.namespace}')`);
      }
    }
    props.image?.problems().forEach((p) => v.fail('image', props.image!.reference, p));
    if (props.schedule !== undefined) v.check(CRON_RE.test(props.schedule.trim()), 'schedule', props.schedule, "must be a cron expression of 5 fields ('0 3 * * 1') or @daily, @weekly, ...");
    const timeZone = props.timeZone ?? 'Etc/UTC';
    v.check(/^[A-Za-z]+(\/[A-Za-z0-9_+-]+)*$/.test(timeZone), 'timeZone', timeZone, "must be an IANA time zone like 'Europe/Paris'");
    const backoffLimit = props.backoffLimit ?? 1;
    v.check(Number.isInteger(backoffLimit) && backoffLimit >= 0 && backoffLimit <= 10, 'backoffLimit', backoffLimit, 'must be a whole number from 0 to 10');
    const deadline = props.activeDeadlineSeconds ?? 6 * 3600;
    v.check(Number.isInteger(deadline) && deadline >= 60, 'activeDeadlineSeconds', deadline, 'must be a whole number of seconds >= 60');
    const search = props.search;
    v.check(search?._execution !== 'indexed' || id.length <= 30, 'id', id, 'must be at most 30 characters with an indexed search (the JobSet\'s pod names derive from it)');
    v.check(!(search?._execution === 'indexed' && props.schedule !== undefined), 'schedule', props.schedule,
      'cannot be combined with HyperparameterSearch.indexed (a CronJob can only create a Job, not a JobSet): use HyperparameterSearch.inProcess with parallelism, or trigger the indexed search by hand');

    const data = resolveTrainingData(v, platform, props.data);
    const dataUri = data?.uri ?? '';

    // The train configuration, validated with the runtime's schema.
    const resultsPrefix = `training/${id}/hpo`;
    const input: TrainConfigInput = {
      model: props.model.modelName,
      registry: props.model.registry.registryUri,
      data: { uri: dataUri, format: props.format, target: props.target, features: props.features, ignore: props.ignore, sliceColumn: props.sliceColumn },
      trainer: props.trainer,
      params: props.params,
      external: props.external,
      seed: props.seed,
      split: props.split,
      gate: props.gate,
      reference: props.reference,
      intendedUse: props.intendedUse,
      hpo: search ? {
        mode: search._options.mode,
        trials: search._options.trials,
        space: search._options.space,
        metric: search._options.metric,
        parallelism: search._execution === 'in-process' ? search._options.parallelism : 1,
        execution: search._execution,
        resultsUri: search._execution === 'indexed' ? `s3://${platform.artifactBucket.bucketName}/${resultsPrefix}` : undefined,
      } : undefined,
    };
    const parsed = TrainConfigSchema.safeParse(dropUndefined(input));
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const path = issue.path.map(String);
        if (path.join('.') === 'data.uri' && data === undefined) continue; // already reported as 'data'
        const prop = configProp(path);
        v.fail(prop, lookup(input, path), issue.message);
      }
    }
    // The built-in trainer and its hyperparameters (and every trial's), as the runtime checks them.
    if (parsed.success && !parsed.data.external) {
      try {
        const trainer = getTrainer(parsed.data.trainer);
        resolveParams(trainer.name, trainer.paramSpecs, parsed.data.params);
        if (parsed.data.hpo) {
          for (const trial of planTrials(parsed.data.hpo, parsed.data.params, parsed.data.seed)) resolveParams(trainer.name, trainer.paramSpecs, trial.params);
        }
      } catch (e) {
        if (!(e instanceof InputError)) throw e;
        const name = e.input.replace(/^params\./, '');
        const prop = e.input.startsWith('params.') && search && name in search._options.space ? `search.space.${name}` : e.input;
        v.fail(prop, e.input === 'trainer' ? parsed.data.trainer : lookup(parsed.data, e.input.split('.')), e.message.slice(e.input.length + 2));
      }
    }
    let trials: number | undefined;
    let parallelism = 1;
    if (parsed.success && search?._execution === 'indexed') {
      try {
        trials = planTrials(parsed.data.hpo!, parsed.data.params, parsed.data.seed).length;
      } catch (e) {
        v.fail('search', search._options.space, (e as Error).message.replace(/^.*?: /, ''));
      }
      parallelism = search._options.parallelism ?? 4;
      v.check(Number.isInteger(parallelism) && parallelism >= 1 && parallelism <= 1000, 'search.parallelism', parallelism, 'must be a whole number of pods from 1 to 1000');
    }
    v.throwIfAny();

    this.pipelineName = id;
    this.model = props.model;
    this.config = parsed.data!;
    this.pool = compute._pool;
    this.trials = trials;
    const chart = platform.chart('training');
    const cluster = platform.clusterScope(this, 'training');
    this.namespace = platform.namespace(PlatformPart.TRAINING);
    this.workload = platform.addWorkload(this, id, { part: PlatformPart.TRAINING, chart });

    // IAM: the data object, the model's prefix, the search results.
    const w = this.workload;
    grantTrainingData(w, data!, platform.region);
    props.model.registry.grantWrite(w, props.model.modelName);
    if (trials !== undefined) {
      const bucketArn = platform.artifactBucket.bucketArn;
      w.role.addToPolicy({ Sid: 'SearchResults', Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: `${bucketArn}/${resultsPrefix}/*` });
      w.role.addToPolicy({ Sid: 'ListSearchResults', Effect: 'Allow', Action: 's3:ListBucket', Resource: bucketArn, Condition: { StringLike: { 's3:prefix': [`${resultsPrefix}/*`] } } });
      w.role.addToPolicy({
        Sid: 'EncryptSearchResults',
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: platform.key.arn,
        Condition: { StringEquals: { 'kms:ViaService': `s3.${platform.region}.amazonaws.com`, 'kms:EncryptionContext:aws:s3:arn': bucketArn } },
      });
    }

    // Config map, egress.
    const labels = { ...platform.labels, ...w.selector, 'cdk-mlops.io/model': props.model.modelName };
    const configMapName = `${id}-train-config`;
    const { checksum } = runtimeConfigMap(cluster, 'config', { name: configMapName, namespace: this.namespace, labels, config: parsed.data });
    new k8s.KubeNetworkPolicy(cluster, 'egress', {
      metadata: { name: `${id}-egress`, namespace: this.namespace, labels },
      spec: { podSelector: { matchLabels: w.selector }, policyTypes: ['Egress'], egress: awsEgressRules() },
    });

    // The pod.
    const pool = compute._pool;
    const resources: ComputeResources = { cpuRequest: r.cpu, cpuLimit: r.cpu, memoryRequest: r.memory, memoryLimit: r.memory, gpus: pool ? r.gpus : 0 };
    const podTemplate = (args: string[]): k8s.PodTemplateSpec => ({
      metadata: {
        labels: { ...labels },
        annotations: {
          'cdk-mlops.io/config-checksum': checksum,
          // Karpenter must not consolidate a node while a training pod runs on it.
          ...(pool && pool.capacityKind === 'karpenter' ? { 'karpenter.sh/do-not-disrupt': 'true' } : {}),
        },
      },
      spec: runtimePodSpec({
        workload: w,
        containers: [runtimeContainer(platform, 'train', {
          args,
          configMapName,
          resources,
          image: props.image,
          // Lineage: the version records the Job that made it.
          fieldEnv: { CDK_MLOPS_CREATED_BY: "metadata.labels['batch.kubernetes.io/job-name']" },
        })],
        configMapName,
        restartPolicy: 'Never',
        nodeSelector: pool ? { ...pool.nodeSelector } : undefined,
        tolerations: pool ? pool.tolerations.map((t) => ({ ...t })) : undefined,
        priorityClassName: pool?.priorityClassName,
        terminationGracePeriodSeconds: 60,
      }),
    });
    const queueLabels: Record<string, string> = pool ? { [KUEUE_QUEUE_LABEL]: pool.queue(compute._team).localQueue } : {};
    const jobSpec = (args: string[]): k8s.JobSpec => ({
      // Kueue starts queued Jobs suspended and resumes them when admitted; declaring it keeps the
      // synthesized object equal to what Kueue expects (and Argo CD from fighting over it).
      suspend: pool ? true : undefined,
      backoffLimit,
      activeDeadlineSeconds: deadline,
      template: podTemplate(args),
    });
    this.jobTemplate = { metadata: { labels: { ...labels, ...queueLabels } }, spec: jobSpec(['train', '--progress', 'json']) };
    const runSuffix = shortHash(JSON.stringify({ checksum, template: this.jobTemplate, trials, parallelism }));

    if (search?._execution === 'indexed') {
      const name = `${id}-${runSuffix}`;
      const trialsSpec: k8s.JobSpec = {
        completionMode: 'Indexed',
        completions: trials,
        parallelism: Math.min(parallelism, trials!),
        backoffLimitPerIndex: backoffLimit,
        maxFailedIndexes: 0,
        activeDeadlineSeconds: deadline,
        template: podTemplate(['train', '--progress', 'json']),
      };
      new ApiObject(cluster, 'search', {
        apiVersion: 'jobset.x-k8s.io/v1alpha2',
        kind: 'JobSet',
        metadata: { name, namespace: this.namespace, labels: { ...labels, ...queueLabels } },
        spec: {
          // All trials, then the collect step: the JobSet succeeds when both have.
          replicatedJobs: [
            { name: 'trials', replicas: 1, template: { metadata: { labels }, spec: k8sJson(trialsSpec) } },
            { name: 'collect', replicas: 1, dependsOn: [{ name: 'trials', status: 'Complete' }], template: { metadata: { labels }, spec: k8sJson(jobSpec(['train', '--hpo-collect', '--progress', 'json'])) } },
          ],
          successPolicy: { operator: 'All' },
          suspend: pool ? true : undefined,
          failurePolicy: { maxRestarts: 0 },
          // Trials do not talk to each other: no headless service, no pod DNS names.
          network: { enableDNSHostnames: false },
        },
      });
      this.runName = name;
    } else {
      this.cronJobName = id;
      new k8s.KubeCronJob(cluster, 'cron', {
        metadata: { name: id, namespace: this.namespace, labels },
        spec: {
          schedule: props.schedule?.trim() ?? '0 0 1 1 *',
          timeZone,
          suspend: props.schedule === undefined,
          concurrencyPolicy: 'Forbid',
          startingDeadlineSeconds: 3600,
          successfulJobsHistoryLimit: 3,
          failedJobsHistoryLimit: 3,
          jobTemplate: this.jobTemplate,
        },
      });
      if (props.schedule === undefined) {
        this.runName = `${id}-${runSuffix}`;
        new k8s.KubeJob(cluster, 'run', {
          metadata: { name: this.runName, namespace: this.namespace, labels: { ...labels, ...queueLabels } },
          spec: this.jobTemplate.spec,
        });
      }
    }

    platform.addInventory({
      kind: 'training-pipeline',
      name: id,
      model: props.model.modelName,
      registry: props.model.registry.registryUri,
      data: dataUri,
      trainer: this.config.external ? `external:${this.config.external.name}` : this.config.trainer,
      compute: pool ? { pool: pool.poolName, gpus: r.gpus, queue: pool.queue(compute._team).localQueue } : { cpu: r.cpu, memory: r.memory },
      schedule: props.schedule?.trim(),
      cronJob: this.cronJobName ? `${this.namespace}/${this.cronJobName}` : undefined,
      search: search ? { execution: search._execution, trials: trials ?? this.config.hpo?.trials } : undefined,
    });
  }
}

/** Maps a config path to the prop a user wrote. */
function configProp(path: string[]): string {
  if (path[0] === 'data') {
    if (path[1] === 'uri') return 'data';
    return path.slice(1).join('.');
  }
  if (path[0] === 'hpo') return ['search', ...path.slice(1)].join('.');
  if (path[0] === 'model' || path[0] === 'registry') return 'model';
  return path.join('.') || 'config';
}

function lookup(value: unknown, path: string[]): unknown {
  let cur = value;
  for (const k of path) cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[k] : undefined;
  return cur;
}

function dropUndefined<T>(v: T): T {
  if (Array.isArray(v)) return v.map(dropUndefined) as T;
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => [k, dropUndefined(x)])) as T;
  }
  return v;
}

/** A cdk8s typed value rendered to plain JSON (for a JobSet's embedded Job spec). */
function k8sJson(spec: k8s.JobSpec): unknown {
  return k8s.KubeJob.manifest({ spec }).spec;
}

export { DistributedTrainingJob } from './distributed';
export type { DistributedTrainingJobProps } from './distributed';
