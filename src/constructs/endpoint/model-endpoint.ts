import { Construct } from 'constructs';
import type { z } from 'zod';
import { ServeConfig, ServeConfigInput, ServeConfigSchema, ServeBatchingSchema, ServeLimitsSchema } from '../../runtime/config/serve';
import type { TensorSpec } from '../../runtime/registry/types';
import type { ScaledObjectSpec, ServiceMonitorSpec } from '../cluster/crd-types';
import { ApiObject, k8s } from '../cluster/k8s';
import type { ComputeClaim } from '../cluster/namespace';
import { parseQuantity } from '../cluster/quantity';
import {
  awsEgressRules, ComputeResources, resolvedResources, RUNTIME_CONFIG_DIR, RUNTIME_CONFIG_FILE, runtimeConfigText, runtimeContainer, runtimePodSpec,
} from '../cluster/runtime-workload';
import { PropValidator } from '../errors';
import { MlPlatform, PlatformPart, Workload } from '../platform';
import type { IFeatureService, IModelVersion, IMonitorableEndpoint, INodePool, IPredictionLog } from '../refs';
import { RuntimeImage } from '../runtime-image';
import { GpuPlacement, validateTolerations } from './gpu';
import { EndpointAuth, EndpointScaling, GatewayRef, PrometheusRef } from './options';
import { errorRateQuery, latencyQuantileQuery, requestRateQuery, ROLLOUT_HASH_LABEL } from './queries';
import {
  AbTestArm, AnalysisMetric, CanaryTrafficRouting, DeploymentStrategy, ResolvedAnalysis, resolveAnalysis, validateSteps,
} from './strategy';

/** Port the serve runtime listens on, for inference, health and `/metrics`. */
export const SERVE_PORT = 8080;
/** Pod annotation holding the serve configuration, projected into the container as its config file. */
export const SERVE_CONFIG_ANNOTATION = 'cdk-mlops.io/serve-config';
/** Where CUDA caches the kernels it compiles at run time in a GPU endpoint's pods (the writable /tmp). */
export const CUDA_CACHE_DIR = '/tmp/cuda-cache';
/** Header that routes a request to a blue-green preview. */
export const PREVIEW_HEADER = 'x-cdk-mlops-variant';
/** Where the auth tokens Secret is mounted. */
export const AUTH_TOKENS_DIR = '/var/run/secrets/cdk-mlops/auth';
/** Name of the Argo Rollouts Gateway API traffic-router plugin. */
export const GATEWAY_API_PLUGIN = 'argoproj-labs/gatewayAPI';

/** Dynamic batching settings (the serve runtime's `models[].batching`). */
export type EndpointBatching = z.input<typeof ServeBatchingSchema>;
/** HTTP limits and timeouts (the serve runtime's `limits`). */
export type EndpointLimits = z.input<typeof ServeLimitsSchema>;

/**
 * What is known of the model's signature at synth time. The registry's manifest is only read
 * at run time, so batching can only be refused here when this hint says the batch axis is fixed.
 */
export interface EndpointSignature {
  /** The model's inputs; a fixed (not `-1`) first axis on any of them makes the model unbatchable. */
  readonly inputs?: readonly TensorSpec[];
  /** The model's outputs, checked like the inputs. */
  readonly outputs?: readonly TensorSpec[];
  /**
   * Whether the model's batch axis is dynamic, when the tensors are not given.
   * @default - derived from inputs/outputs, else unknown (the runtime decides at load)
   */
  readonly batchable?: boolean;
}

/** Online feature enrichment: the request carries entity keys, the runtime fetches the features. */
export interface EndpointFeaturesOptions {
  /** The feature service whose features the model takes. */
  readonly service: IFeatureService;
  /** Request inputs carrying entity keys: OIP input name -> the entity's join key. Every join key of the service must be covered. */
  readonly entityInputs: Record<string, string>;
  /**
   * Model input the assembled features go to.
   * @default - the model's only input
   */
  readonly targetInput?: string;
  /**
   * A feature that is NOT_FOUND or OUTSIDE_MAX_AGE: `reject` answers 400 naming it, `default`
   * substitutes `defaults[feature]` (or 0).
   * @default 'reject'
   */
  readonly onMissing?: 'reject' | 'default';
  /**
   * Substitutes under `onMissing: 'default'`, by feature name or `view:feature` reference.
   * @default {}
   */
  readonly defaults?: Record<string, number | string | boolean>;
  /**
   * Timeout of one feature lookup, in milliseconds.
   * @default 200
   */
  readonly timeoutMs?: number;
}

/** Sampled prediction logging, the input of drift monitoring. */
export interface EndpointPredictionLogOptions {
  /** @default true */
  readonly enabled?: boolean;
  /**
   * Fraction of requests logged, 0..1.
   * @default 1
   */
  readonly sampleRate?: number;
  /**
   * Key prefix in the platform's artefact bucket.
   * @default 'predictions/<endpointName>'
   */
  readonly prefix?: string;
}

export interface ModelEndpointProps {
  /** The version (or alias) served, from a registry: `registry.model('fraud').version(7)`. */
  readonly model: IModelVersion;
  /** The Gateway the endpoint's HTTPRoute attaches to. */
  readonly gateway: GatewayRef;
  /**
   * Name of the endpoint's Kubernetes objects: a DNS-1123 label starting with a letter, at most 40 characters.
   * @default - the construct id
   */
  readonly endpointName?: string;
  /**
   * Hostnames of the route (`spec.hostnames`).
   * @default - those of the Gateway's listener
   * @see https://gateway-api.sigs.k8s.io/reference/spec/#httproutespec
   */
  readonly hostnames?: string[];
  /** @default DeploymentStrategy.rolling() */
  readonly strategy?: DeploymentStrategy;
  /** @default EndpointScaling.cpu() - HPA on 70 % CPU, 2 to 10 replicas */
  readonly scaling?: EndpointScaling;
  /**
   * CPU, memory and GPUs of each serving pod. `gpus: 1` runs the model on onnxruntime's CUDA
   * execution provider (serve configuration `executionProvider: 'cuda'`): it needs `placement`
   * (where the GPUs come from) and `image` (a CUDA-capable runtime image). One pod uses one GPU
   * (the model's one onnxruntime session runs on one device): scale with replicas, not GPUs per pod.
   * @default - 250m/1 CPU, 512Mi/1Gi memory, no GPU
   */
  readonly resources?: ComputeResources;
  /**
   * Where a GPU endpoint's GPUs come from: `GpuPlacement.pool(gpuTrainingPool)` (a GPU node pool
   * of this program, shared with training) or `GpuPlacement.nodeGroup({ name, nodeSelector,
   * tolerations })` (inference nodes managed elsewhere). The pods select those nodes, tolerate
   * their taints and request `nvidia.com/gpu` (limit = request = `resources.gpus`). Required
   * with `resources.gpus`, refused without; exclusive with `nodePool`.
   *
   * Cold start on GPUs: a pod that finds no free GPU waits for a node. On a pool scaled to zero
   * that is minutes (Karpenter: the instance's launch, boot and the NVIDIA device plugin
   * registering its GPUs, typically 1 to 3 min; a managed node group through the Cluster
   * Autoscaler: its scan plus the Auto Scaling group's launch, typically 3 to 6 min), then the
   * pull of the CUDA runtime image (CUDA 12 + cuDNN 9 + onnxruntime's CUDA provider: several
   * GB, a minute or more on a new node, nothing on a node that has it), then the model load (CUDA
   * context and cuDNN/cuBLAS initialisation on the first session, seconds, plus the model's
   * download and warm-up). These are orders of magnitude, not measurements of this project.
   * @default - no GPU
   */
  readonly placement?: GpuPlacement;
  /**
   * The runtime image of the serving pods: another build of the runtime image (same entry
   * point). Required with `resources.gpus`: a CUDA-capable build, made with the Dockerfile's GPU
   * build arguments (`--build-arg RUNTIME_BASE_IMAGE=<CUDA 12 + cuDNN 9 + Node 22 image>
   * --build-arg ONNXRUNTIME_NODE_INSTALL=cuda12`, see the README), since the platform's default
   * image carries no CUDA.
   * @default - the platform's runtime image (CPU endpoints only)
   */
  readonly image?: RuntimeImage;
  /**
   * Node pool to run on (the pods select its nodes and tolerate its taints). For GPUs use `placement`.
   * @default - the cluster's general nodes
   */
  readonly nodePool?: INodePool;
  /**
   * Dynamic batching.
   * @default - the runtime's defaults (on, 64 rows, no added delay), off when `signature` says the batch axis is fixed
   */
  readonly batching?: EndpointBatching;
  /** @default - unknown: the runtime checks the batch axis when it loads the model */
  readonly signature?: EndpointSignature;
  /**
   * onnxruntime intra-op threads per model session.
   * @default 1
   */
  readonly intraOpThreads?: number;
  /** @default EndpointAuth.tokensFromSecret('<endpointName>-tokens') */
  readonly auth?: EndpointAuth;
  /** @default - the runtime's defaults (1 MiB bodies, 1024 rows, 10 s request timeout, no rate limit) */
  readonly limits?: EndpointLimits;
  /** @default - on, every request, under 'predictions/<endpointName>' */
  readonly predictionLog?: EndpointPredictionLogOptions;
  /** @default - no enrichment: requests carry the model's inputs */
  readonly features?: EndpointFeaturesOptions;
  /** @default PrometheusRef.kubePrometheusStack() */
  readonly prometheus?: PrometheusRef;
  /**
   * Zone spread of the pods: `required` (`DoNotSchedule`: a pod stays Pending rather than skew
   * zones by more than one) or `preferred` (`ScheduleAnyway`, for pools in fewer zones).
   * @default 'required'
   */
  readonly zoneSpread?: 'required' | 'preferred';
}

/** One deployed variant of an endpoint: its own pods, Service and autoscaler. */
export interface EndpointVariant {
  /** Label `variant` on its metrics and prediction logs. */
  readonly name: string;
  /** What it serves. */
  readonly model: IModelVersion;
  /** `Deployment` or `Rollout`. */
  readonly workloadKind: 'Deployment' | 'Rollout';
  /** Name of its Deployment or Rollout. */
  readonly workloadName: string;
  /** Name of its Service. */
  readonly serviceName: string;
  /** Its share of traffic in percent (A/B), or undefined. */
  readonly weight?: number;
  /** Its validated serve configuration. */
  readonly config: ServeConfig;
  /** Labels of its pods. */
  readonly podLabels: Readonly<Record<string, string>>;
}

interface VariantPlan {
  name: string;
  model: IModelVersion;
  objectName: string;
  serviceName: string;
  weight?: number;
}

/**
 * A model endpoint: the `serve` runtime on Kubernetes, exposed through the Gateway API.
 *
 * Cluster plane (chart `serving`, the platform's serving namespace): per variant a hardened
 * Deployment (or an Argo Rollouts `Rollout` for canary and blue-green) running
 * `cdk-mlops serve` with its configuration validated at synth time by the runtime's own schema,
 * a Service, an autoscaler (HPA on CPU, or KEDA on requests per second) and a
 * PodDisruptionBudget; for the endpoint a ServiceAccount with an IAM role (Pod Identity) that may
 * read exactly its model's registry prefix and write its own prediction-log prefix, a
 * NetworkPolicy (inference from the gateway's proxies, scrapes from Prometheus, egress to AWS
 * APIs and the feature server), a ServiceMonitor and an HTTPRoute on `/v2/models/<model>`.
 *
 * The configuration travels in the pod template (an annotation projected as the config file),
 * so every ReplicaSet carries its own: a canary's stable pods keep serving the old version, a
 * rollback restores the old configuration with the old pods, and no ConfigMap outlives them.
 *
 * **GPUs.** By default the model runs on onnxruntime's CPU execution provider. With
 * `resources: { gpus: 1 }`, `placement` (a `GpuPlacement`: a GPU node pool such as a
 * `GpuTrainingPool`, or an inference node group) and `image` (a CUDA-capable build of the runtime
 * image), the pods request `nvidia.com/gpu` (limit = request), select the placement's nodes,
 * tolerate its taints and run the model on the CUDA execution provider (serve configuration
 * `executionProvider: 'cuda'`), with no fallback to the CPU: a pod whose CUDA provider cannot
 * load never becomes ready. The serving namespace's ResourceQuota admits the endpoints' GPUs at
 * their rollout peak (`peakGpus`). Scaling to zero (`EndpointScaling.requestsPerSecond({
 * scaleToZero })`) works as on the CPU, with a longer cold start: see `placement`.
 *
 * ```ts
 * new ModelEndpoint(platform, 'fraud', {
 *   model: registry.model('fraud').version(7),
 *   gateway: GatewayRef.fromAttributes({ name: 'public', namespace: 'gateways' }),
 *   strategy: DeploymentStrategy.canary({ steps: [{ weight: 10, pause: '10m' }, { weight: 50, pause: '10m' }], analysis: {} }),
 * });
 * ```
 */
export class ModelEndpoint extends Construct implements IMonitorableEndpoint {
  /** Name of the endpoint's objects. */
  public readonly endpointName: string;
  /** The serving namespace. */
  public readonly namespace: string;
  /** The registry model's name (the `{name}` of `/v2/models/{name}`). */
  public readonly modelName: string;
  /** What the endpoint serves (its primary variant). */
  public readonly model: IModelVersion;
  public readonly strategy: DeploymentStrategy;
  public readonly scaling: EndpointScaling;
  public readonly auth: EndpointAuth;
  public readonly prometheus: PrometheusRef;
  public readonly gateway: GatewayRef;
  /** The path the route matches. */
  public readonly routePath: string;
  /** The ServiceAccount and IAM role shared by the variants. */
  public readonly workload: Workload;
  /** The variants, primary first. */
  public readonly variants: readonly EndpointVariant[];
  /** Where predictions are logged, or undefined when logging is off. */
  public readonly predictionLog?: IPredictionLog;
  /** The Service scraped by the ServiceMonitor (every variant's pods). */
  public readonly metricsServiceName: string;
  /** Escape hatch: the HTTPRoute. */
  public readonly route: ApiObject;
  /** Escape hatch: the AnalysisTemplate (canary and blue-green). */
  public readonly analysisTemplate?: ApiObject;
  /** GPUs per pod (0: the model runs on the CPU). */
  public readonly gpus: number;
  /** Where the GPUs come from, for a GPU endpoint. */
  public readonly placement?: GpuPlacement;
  /** The image of the serving pods. */
  public readonly image: RuntimeImage;
  /**
   * GPUs the endpoint may hold at once: GPUs per pod x most pods of every variant during a
   * rollout (a Deployment's 25 % surge above maxReplicas; twice maxReplicas for a Rollout, whose
   * new ReplicaSet may reach full size beside the old one). What it claims in the serving
   * namespace's ResourceQuota. 0 for a CPU endpoint.
   */
  public readonly peakGpus: number;
  /**
   * CPU (cores) and memory (bytes), requests and limits, and pods of the endpoint at the same
   * peak: what it claims in the serving namespace's ResourceQuota.
   */
  public readonly peakCompute: ComputeClaim;

  private readonly platform: MlPlatform;

  constructor(scope: Construct, id: string, props: ModelEndpointProps) {
    super(scope, id);
    const platform = MlPlatform.of(this);
    this.platform = platform;
    const v = new PropValidator(this);

    // ---- props ----
    const endpointName = props.endpointName ?? id;
    v.check(typeof endpointName === 'string' && /^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(endpointName) && endpointName.length <= 40, 'endpointName', endpointName,
      "must be a DNS-1123 label starting with a letter, at most 40 characters (it names the endpoint's Kubernetes objects)");
    const model = props.model;
    const modelOk = v.check(isModelVersion(model), 'model', model === undefined ? undefined : '(object)', "must be a registry model version: registry.model('<name>').version(<n>) or .alias('<name>')");
    if (!(props.gateway instanceof GatewayRef)) v.fail('gateway', props.gateway, 'must be a GatewayRef (GatewayRef.fromAttributes({ name, namespace }))');
    else props.gateway._validate(v, 'gateway');
    const strategy = props.strategy ?? DeploymentStrategy.rolling();
    if (!(strategy instanceof DeploymentStrategy)) v.fail('strategy', strategy, 'must be made with DeploymentStrategy.rolling/canary/blueGreen/shadow/abTest');
    const scaling = props.scaling ?? EndpointScaling.cpu();
    if (!(scaling instanceof EndpointScaling)) v.fail('scaling', scaling, 'must be made with EndpointScaling.cpu or EndpointScaling.requestsPerSecond');
    else scaling._validate(v, 'scaling');
    const auth = props.auth ?? EndpointAuth.tokensFromSecret(`${endpointName}-tokens`);
    if (!(auth instanceof EndpointAuth)) v.fail('auth', auth, 'must be made with EndpointAuth.tokensFromSecret or EndpointAuth.none');
    else auth._validate(v, 'auth');
    const prometheus = props.prometheus ?? PrometheusRef.kubePrometheusStack();
    if (!(prometheus instanceof PrometheusRef)) v.fail('prometheus', prometheus, 'must be made with PrometheusRef.kubePrometheusStack or PrometheusRef.fromAttributes');
    else prometheus._validate(v, 'prometheus');
    (props.hostnames ?? []).forEach((h, i) => v.check(/^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(h) && h.length <= 253,
      `hostnames[${i}]`, h, "must be a DNS hostname, optionally starting with '*.'"));
    const zoneSpread = props.zoneSpread ?? 'required';
    v.check(zoneSpread === 'required' || zoneSpread === 'preferred', 'zoneSpread', zoneSpread, "must be 'required' or 'preferred'");
    const gpus = props.resources?.gpus ?? 0;
    const gpusOk = v.check(Number.isInteger(gpus) && gpus >= 0, 'resources.gpus', gpus, 'must be a whole number >= 0');
    for (const k of ['cpuRequest', 'cpuLimit', 'memoryRequest', 'memoryLimit'] as const) {
      const x = props.resources?.[k];
      if (x !== undefined) v.check(parseQuantity(x) !== undefined, `resources.${k}`, x, `must be a Kubernetes quantity like '${k.startsWith('cpu') ? '500m' : '1Gi'}'`);
    }
    const resources = resolvedResources(props.resources);
    v.check((parseQuantity(resources.cpuRequest) ?? 0) <= (parseQuantity(resources.cpuLimit) ?? Infinity), 'resources.cpuRequest', resources.cpuRequest, `must not exceed the CPU limit (${resources.cpuLimit})`);
    v.check((parseQuantity(resources.memoryRequest) ?? 0) <= (parseQuantity(resources.memoryLimit) ?? Infinity), 'resources.memoryRequest', resources.memoryRequest,
      `must not exceed the memory limit (${resources.memoryLimit})`);
    const image = props.image ?? platform.runtimeImage;
    this.validateGpus(v, props, gpusOk ? gpus : 0, scaling, strategy);
    if (props.nodePool) validateNodePool(v, props.nodePool);
    const batching = this.resolveBatching(v, props);
    const logOptions = props.predictionLog ?? {};
    const logEnabled = logOptions.enabled ?? true;
    const logPrefix = logOptions.prefix ?? `predictions/${endpointName}`;
    v.check(/^[A-Za-z0-9!_.*'()-]+(\/[A-Za-z0-9!_.*'()-]+)*$/.test(logPrefix) && !logPrefix.split('/').includes('..'), 'predictionLog.prefix', logPrefix,
      "must be an S3 key prefix without leading or trailing '/' (e.g. 'predictions/fraud')");
    if (modelOk && props.features) validateFeatures(v, props.features);

    const plans = modelOk && strategy instanceof DeploymentStrategy ? this.planVariants(v, endpointName, model, strategy) : [];
    const analysis = strategy instanceof DeploymentStrategy ? this.resolveStrategyAnalysis(v, strategy) : undefined;
    if (strategy instanceof DeploymentStrategy && strategy.kind === 'canary') validateSteps(v, 'strategy.steps', strategy._options.canary?.steps);
    if (modelOk && strategy instanceof DeploymentStrategy && strategy.usesRollout) {
      v.check(typeof model.ref === 'number', 'model', model.label,
        `must be a pinned version with DeploymentStrategy.${strategy.kind === 'canary' ? 'canary' : 'blueGreen'}: the runtime follows an alias on every pod at once (hot reload), which would bypass the rollout and its analysis`);
    }
    // names stay DNS labels of at most 63 characters: endpoint <= 40, '-' + variant <= 23
    v.throwIfAny();

    this.endpointName = endpointName;
    this.namespace = platform.namespace(PlatformPart.SERVING);
    this.modelName = model.model.modelName;
    this.model = model;
    this.strategy = strategy;
    this.scaling = scaling;
    this.auth = auth;
    this.prometheus = prometheus;
    this.gateway = props.gateway;
    this.routePath = `/v2/models/${this.modelName}`;
    this.metricsServiceName = `${endpointName}-metrics`;
    this.gpus = gpus;
    this.placement = gpus > 0 ? props.placement : undefined;
    this.image = image;

    // ---- serve configuration per variant (validated with the runtime's schema, before anything is created) ----
    const bucket = platform.artifactBucket;
    const logUri = logEnabled ? `s3://${bucket.bucketName}/${logPrefix}` : undefined;
    const configs = new Map<string, ServeConfig>();
    for (const p of plans) configs.set(p.name, this.serveConfig(v, p, props, batching, logUri, logOptions.sampleRate));
    v.throwIfAny();

    // ---- identity and grants ----
    const chart = platform.chart('serving');
    const scopeK8s = platform.clusterScope(this, 'serving');
    this.workload = platform.addWorkload(this, endpointName, { part: PlatformPart.SERVING, chart });
    model.model.registry.grantRead(this.workload, this.modelName);
    if (logUri) {
      this.predictionLog = { uri: logUri, bucketArn: bucket.bucketArn, prefix: logPrefix, kmsKeyArn: platform.key.arn };
      this.workload.role.addToPolicy({ Sid: 'WritePredictionLog', Effect: 'Allow', Action: 's3:PutObject', Resource: `${bucket.bucketArn}/${logPrefix}/*` });
      this.workload.role.addToPolicy({
        Sid: 'EncryptPredictionLog',
        Effect: 'Allow',
        Action: 'kms:GenerateDataKey',
        Resource: platform.key.arn,
        Condition: { StringEquals: { 'kms:ViaService': `s3.${platform.region}.amazonaws.com` } },
      });
    }
    props.features?.service.server.allowClient(this.workload);

    // ---- workloads ----
    const usesRollout = strategy.usesRollout;
    const variants: EndpointVariant[] = plans.map((p) => ({
      name: p.name,
      model: p.model,
      workloadKind: usesRollout ? 'Rollout' : 'Deployment',
      workloadName: p.objectName,
      serviceName: p.serviceName,
      weight: p.weight,
      config: configs.get(p.name)!,
      podLabels: { ...this.workload.selector, 'cdk-mlops.io/variant': p.name },
    }));
    this.variants = variants;
    const peakReplicas = usesRollout ? 2 * scaling.maxReplicas : scaling.maxReplicas + Math.ceil(scaling.maxReplicas / 4);
    this.peakGpus = gpus * peakReplicas * variants.length;
    platform.claimNamespaceGpus(PlatformPart.SERVING, this, this.peakGpus);
    // GPUs held on a shared pool are not there for the pool's training queues
    if (this.peakGpus > 0) this.placement?.pool?.reserveGpus?.(this.node.path, this.peakGpus);
    // CPU and memory at the same peak (one container per pod), so the quota never stops the autoscaler below its maximum
    const pods = peakReplicas * variants.length;
    const amount = (x: string) => (parseQuantity(x) ?? 0) * pods;
    this.peakCompute = {
      requestsCpu: amount(resources.cpuRequest),
      requestsMemory: amount(resources.memoryRequest),
      limitsCpu: amount(resources.cpuLimit),
      limitsMemory: amount(resources.memoryLimit),
      pods,
    };
    platform.claimNamespaceCompute(PlatformPart.SERVING, this, this.peakCompute);
    const podSpecFor = (variant: EndpointVariant, hashLabel: string) => this.podTemplate(variant, props, zoneSpread, hashLabel);

    if (usesRollout) {
      this.analysisTemplate = this.analysisTemplateObject(scopeK8s, analysis!);
    }
    for (const variant of variants) {
      const labels = variant.podLabels as Record<string, string>;
      if (usesRollout) {
        this.rollout(scopeK8s, variant, podSpecFor(variant, 'rollouts-pod-template-hash'));
      } else {
        new k8s.KubeDeployment(scopeK8s, `${variant.name}-deployment`, {
          metadata: { name: variant.workloadName, namespace: this.namespace, labels },
          spec: {
            selector: { matchLabels: labels },
            revisionHistoryLimit: 5,
            progressDeadlineSeconds: 600,
            strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: k8s.IntOrString.fromString('25%'), maxUnavailable: k8s.IntOrString.fromNumber(0) } },
            template: podSpecFor(variant, 'pod-template-hash'),
          },
        });
      }
      this.service(scopeK8s, `${variant.name}-service`, variant.serviceName, labels);
      this.autoscaler(scopeK8s, variant, usesRollout);
      new k8s.KubePodDisruptionBudget(scopeK8s, `${variant.name}-pdb`, {
        metadata: { name: variant.workloadName, namespace: this.namespace, labels },
        spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: labels }, unhealthyPodEvictionPolicy: 'AlwaysAllow' },
      });
    }
    const primary = variants[0];
    if (strategy.kind === 'canary' && (strategy._options.canary!.trafficRouting ?? CanaryTrafficRouting.GATEWAY_API) === CanaryTrafficRouting.GATEWAY_API) {
      this.service(scopeK8s, 'canary-service', `${endpointName}-canary`, primary.podLabels as Record<string, string>);
    }
    if (strategy.kind === 'blue-green') {
      this.service(scopeK8s, 'preview-service', `${endpointName}-preview`, primary.podLabels as Record<string, string>);
    }

    // ---- metrics ----
    new k8s.KubeService(scopeK8s, 'metrics-service', {
      metadata: { name: this.metricsServiceName, namespace: this.namespace, labels: { ...this.workload.selector, 'cdk-mlops.io/scrape': 'serve' } },
      spec: {
        clusterIp: 'None',
        selector: this.workload.selector,
        ports: [{ name: 'http', port: SERVE_PORT, targetPort: k8s.IntOrString.fromString('http'), protocol: 'TCP' }],
      },
    });
    new ApiObject(scopeK8s, 'service-monitor', {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'ServiceMonitor',
      metadata: { name: endpointName, namespace: this.namespace, labels: { ...prometheus.serviceMonitorLabels } },
      spec: {
        selector: { matchLabels: { ...this.workload.selector, 'cdk-mlops.io/scrape': 'serve' } },
        namespaceSelector: { matchNames: [this.namespace] },
        endpoints: [{ port: 'http', path: '/metrics', scheme: 'http', interval: '15s', scrapeTimeout: '10s' }],
        podTargetLabels: usesRollout ? ['rollouts-pod-template-hash'] : undefined,
      } satisfies ServiceMonitorSpec,
    });

    // ---- network ----
    this.networkPolicy(scopeK8s, props.features?.service);

    // ---- exposure ----
    this.route = this.httpRoute(scopeK8s, props.hostnames);

    platform.addInventory({
      kind: 'endpoint',
      name: endpointName,
      namespace: this.namespace,
      model: model.label,
      strategy: strategy.kind,
      route: { gateway: `${this.gateway.namespace}/${this.gateway.name}`, path: this.routePath, hostnames: props.hostnames },
      variants: variants.map((x) => ({ variant: x.name, model: x.model.label, workload: `${x.workloadKind}/${x.workloadName}`, service: x.serviceName, weight: x.weight })),
      scaling: { kind: scaling.kind, minReplicas: scaling.minReplicas, maxReplicas: scaling.maxReplicas, scaleToZero: scaling.scaleToZero },
      nodePool: props.nodePool?.poolName,
      gpu: this.placement ? {
        perPod: gpus,
        peak: this.peakGpus,
        placement: this.placement.kind === 'pool'
          ? { pool: this.placement.name, capacity: this.placement.pool!.capacityKind }
          : { nodeGroup: this.placement.name },
        image: image.reference,
      } : undefined,
      auth: auth.kind === 'tokens' ? { kind: 'tokens', secret: auth.secretName } : { kind: 'none', reason: auth.reason },
      predictionLog: this.predictionLog?.uri,
      featureService: props.features?.service.featureServiceName,
    });
  }

  // ---------------------------------------------------------------------------------------------

  private validateGpus(v: PropValidator, props: ModelEndpointProps, gpus: number, scaling: EndpointScaling, strategy: DeploymentStrategy): void {
    const placement = props.placement;
    if (props.image !== undefined) {
      if (!(props.image instanceof RuntimeImage)) v.fail('image', props.image, 'must be a RuntimeImage (RuntimeImage.fromDigest or RuntimeImage.fromTag)');
      else props.image.problems().forEach((p) => v.fail('image', props.image!.reference, p));
    }
    if (placement !== undefined && !(placement instanceof GpuPlacement)) {
      v.fail('placement', placement, 'must be made with GpuPlacement.pool or GpuPlacement.nodeGroup');
      return;
    }
    if (gpus === 0) {
      if (placement) {
        v.fail('placement', placement.name, "must be unset without 'resources.gpus': it says where GPUs come from (for CPU nodes use 'nodePool')");
      }
      return;
    }
    if (gpus > 1) {
      v.fail('resources.gpus', gpus, "must be 0 or 1: the endpoint's model runs in one onnxruntime session, on one CUDA device, so more GPUs per pod would be reserved and never used; scale with replicas instead");
    }
    if (!placement) {
      v.fail('resources.gpus', gpus, "needs 'placement', where the GPUs come from: placement: GpuPlacement.pool(gpuTrainingPool) "
        + 'or GpuPlacement.nodeGroup({ name, nodeSelector, tolerations }) for inference nodes managed elsewhere');
    } else {
      placement._validate(v, 'placement');
      if (props.nodePool) v.fail('nodePool', props.nodePool.poolName, "must be unset with 'placement' (the placement decides the nodes)");
      const pool = placement.pool;
      if (pool && typeof pool.maxGpusPerNode === 'number' && typeof pool.maxGpus === 'number') {
        v.check(gpus <= pool.maxGpusPerNode, 'resources.gpus', gpus, `must not exceed the GPUs of one node of pool '${pool.poolName}' (${pool.maxGpusPerNode}): a pod runs on one node`);
        const arms = strategy instanceof DeploymentStrategy ? (strategy.kind === 'shadow' ? 2 : strategy.kind === 'ab-test' ? (strategy._options.abTest ?? []).length : 1) : 1;
        if (scaling instanceof EndpointScaling && Number.isInteger(scaling.maxReplicas)) {
          const need = gpus * scaling.maxReplicas * Math.max(1, arms);
          v.check(need <= pool.maxGpus, 'scaling.maxReplicas', scaling.maxReplicas,
            `needs ${need} GPUs at most replicas${arms > 1 ? ` (${arms} variants)` : ''} but pool '${pool.poolName}' runs at most ${pool.maxGpus}: lower maxReplicas or raise the pool's capacity`);
        }
      }
    }
    if (props.image === undefined) {
      v.fail('image', undefined, "must be given for a GPU endpoint: a CUDA-capable runtime image built with the Dockerfile's GPU build arguments "
        + "(--build-arg RUNTIME_BASE_IMAGE=<CUDA 12 + cuDNN 9 + Node 22 image> --build-arg ONNXRUNTIME_NODE_INSTALL=cuda12); the platform's runtime image runs onnxruntime on the CPU only");
    } else if (props.image instanceof RuntimeImage && props.image.reference === RuntimeImage.default().reference) {
      v.fail('image', props.image.reference, "must be a CUDA-capable build of the runtime image: the project's default image has no CUDA "
        + '(build one with --build-arg RUNTIME_BASE_IMAGE=<CUDA 12 + cuDNN 9 + Node 22 image> --build-arg ONNXRUNTIME_NODE_INSTALL=cuda12)');
    }
  }

  private resolveBatching(v: PropValidator, props: ModelEndpointProps): EndpointBatching | undefined {
    const sig = props.signature;
    let fixed: string | undefined;
    if (sig?.batchable === false) fixed = "the signature hint says 'batchable: false'";
    for (const t of [...(sig?.inputs ?? []), ...(sig?.outputs ?? [])]) {
      if (!fixed && (t.shape.length === 0 || t.shape[0] !== -1)) fixed = `tensor '${t.name}' has a fixed batch axis (shape ${JSON.stringify(t.shape)})`;
    }
    if (sig?.batchable === true && fixed) v.fail('signature.batchable', true, `contradicts the tensors: ${fixed}`);
    const b = props.batching;
    if (fixed && b?.enabled === true) {
      v.fail('batching.enabled', true, `must be false for this model: ${fixed}, so requests cannot be stacked along axis 0`);
      return b;
    }
    if (fixed) return { ...b, enabled: false };
    return b;
  }

  private resolveStrategyAnalysis(v: PropValidator, strategy: DeploymentStrategy): ResolvedAnalysis | undefined {
    if (strategy.kind === 'canary') return resolveAnalysis(v, 'strategy.analysis', strategy._options.canary?.analysis);
    if (strategy.kind === 'blue-green') {
      const o = strategy._options.blueGreen ?? {};
      const m = o.measurements ?? 5;
      v.check(Number.isInteger(m) && m >= 1 && m <= 100, 'strategy.measurements', m, 'must be a whole number from 1 to 100');
      const d = o.scaleDownDelaySeconds ?? 300;
      v.check(Number.isInteger(d) && d >= 0, 'strategy.scaleDownDelaySeconds', d, 'must be a whole number of seconds >= 0');
      return resolveAnalysis(v, 'strategy.analysis', o.analysis ?? {});
    }
    return undefined;
  }

  private planVariants(v: PropValidator, ep: string, model: IModelVersion, strategy: DeploymentStrategy): VariantPlan[] {
    const primary: VariantPlan = { name: 'primary', model, objectName: ep, serviceName: ep };
    if (strategy.kind === 'shadow') {
      const s = strategy._options.shadow!;
      v.check(typeof s.percent === 'number' && Number.isInteger(s.percent) && s.percent >= 0 && s.percent <= 100, 'strategy.percent', s.percent,
        'must be a whole percentage from 0 to 100 (HTTPRoute RequestMirror percent)');
      if (!isModelVersion(s.candidate)) {
        v.fail('strategy.candidate', s.candidate, 'must be a registry model version');
        return [primary];
      }
      if (!sameModel(s.candidate, model)) {
        v.fail('strategy.candidate', s.candidate.label, `must be a version of the endpoint's model '${model.model.modelName}' (mirrored requests keep their /v2/models/${model.model.modelName} path)`);
      } else if (s.candidate.ref === model.ref) {
        v.fail('strategy.candidate', s.candidate.label, `must differ from the endpoint's model (${model.label}): a shadow compares two versions`);
      }
      return [primary, { name: 'shadow', model: s.candidate, objectName: `${ep}-shadow`, serviceName: `${ep}-shadow` }];
    }
    if (strategy.kind !== 'ab-test') return [primary];
    const arms: AbTestArm[] = strategy._options.abTest ?? [];
    if (!v.check(Array.isArray(arms) && arms.length >= 2, 'strategy.arms', Array.isArray(arms) ? arms.length : arms, 'must list at least two arms ({ model, weight })')) return [primary];
    const plans: VariantPlan[] = [];
    let total = 0;
    let control = -1;
    const names = new Set<string>();
    const labels = new Set<string>();
    arms.forEach((arm, i) => {
      const w = arm?.weight;
      if (v.check(Number.isInteger(w) && w >= 0 && w <= 100, `strategy.arms[${i}].weight`, w, 'must be a whole percentage from 0 to 100')) total += w;
      if (!isModelVersion(arm?.model)) {
        v.fail(`strategy.arms[${i}].model`, arm?.model, 'must be a registry model version');
        return;
      }
      if (!sameModel(arm.model, model)) {
        v.fail(`strategy.arms[${i}].model`, arm.model.label, `must be a version of the endpoint's model '${model.model.modelName}' (every arm answers /v2/models/${model.model.modelName})`);
        return;
      }
      if (labels.has(arm.model.label)) v.fail(`strategy.arms[${i}].model`, arm.model.label, 'is listed twice; each arm serves a different version');
      labels.add(arm.model.label);
      const isControl = arm.model.ref === model.ref;
      if (isControl) control = i;
      const name = arm.variant ?? (isControl ? 'primary' : typeof arm.model.ref === 'number' ? `v${arm.model.ref}` : arm.model.ref);
      if (!v.check(/^[a-z][a-z0-9-]{0,21}$/.test(name), `strategy.arms[${i}].variant`, name, "must be lower-case letters, digits or '-', starting with a letter, at most 22 characters (set 'variant')")) return;
      if (names.has(name)) v.fail(`strategy.arms[${i}].variant`, name, 'must be unique among the arms');
      names.add(name);
      plans.push({ name, model: arm.model, objectName: isControl ? ep : `${ep}-${name}`, serviceName: isControl ? ep : `${ep}-${name}`, weight: w });
    });
    v.check(total === 100, 'strategy.arms[].weight', arms.map((a) => a?.weight), `must sum to 100, got ${total}`);
    v.check(control >= 0, 'strategy.arms', arms.map((a) => a?.model?.label), `must include the endpoint's model (${model.label}) as the control arm`);
    // primary (the control arm) first
    return plans.sort((a, b) => Number(b.model.ref === model.ref) - Number(a.model.ref === model.ref));
  }

  private serveConfig(v: PropValidator, p: VariantPlan, props: ModelEndpointProps, batching: EndpointBatching | undefined, logUri: string | undefined,
    sampleRate: number | undefined): ServeConfig {
    const f = props.features;
    const input: ServeConfigInput = {
      host: '0.0.0.0',
      port: SERVE_PORT,
      registry: p.model.model.registry.registryUri,
      models: [{
        name: p.model.model.modelName,
        ref: p.model.ref,
        variant: p.name,
        batching,
        intraOpThreads: props.intraOpThreads,
        // a GPU pod sees its one allocated GPU as device 0: the runtime's default cudaDeviceId
        executionProvider: this.gpus > 0 ? 'cuda' : 'cpu',
      }],
      auth: this.auth.kind === 'tokens' ? { tokensFile: `${AUTH_TOKENS_DIR}/${this.auth.key}` } : {},
      limits: props.limits,
      predictionLog: logUri ? { uri: logUri, sampleRate, s3: { region: this.platform.region } } : undefined,
      features: f ? {
        url: f.service.server.url,
        featureService: f.service.featureServiceName,
        entityInputs: f.entityInputs,
        targetInput: f.targetInput,
        onMissing: f.onMissing,
        defaults: f.defaults,
        timeoutMs: f.timeoutMs,
      } : undefined,
    };
    const result = ServeConfigSchema.safeParse(input);
    if (result.success) return result.data;
    for (const issue of result.error.issues) {
      const path = issue.path.map(String);
      let received: unknown = input;
      for (const k of path) received = received !== null && typeof received === 'object' ? (received as Record<string, unknown>)[k] : undefined;
      v.fail(propOfConfigPath(path, p.name), received, `${issue.message} (serve configuration '${path.join('.')}' of variant '${p.name}')`);
    }
    return undefined as never;
  }

  private podTemplate(variant: EndpointVariant, props: ModelEndpointProps, zoneSpread: 'required' | 'preferred', hashLabel: string): k8s.PodTemplateSpec {
    const secretMounts: Record<string, string> = this.auth.kind === 'tokens' ? { [AUTH_TOKENS_DIR]: this.auth.secretName! } : {};
    const c = runtimeContainer(this.platform, 'serve', {
      args: ['serve', '--config', RUNTIME_CONFIG_FILE],
      resources: props.resources,
      ports: [{ name: 'http', port: SERVE_PORT }],
      readinessPath: '/v2/health/ready',
      livenessPath: '/v2/health/live',
      // CUDA's kernel cache goes to the writable /tmp (the root filesystem is read-only)
      env: { AWS_REGION: this.platform.region, ...(this.gpus > 0 ? { CUDA_CACHE_PATH: CUDA_CACHE_DIR } : {}) },
      secretMounts,
      image: this.image,
    });
    const container: k8s.Container = { ...c, volumeMounts: [...(c.volumeMounts ?? []), { name: 'config', mountPath: RUNTIME_CONFIG_DIR, readOnly: true }] };
    const labels = variant.podLabels as Record<string, string>;
    const spread = (topologyKey: string, when: string): k8s.TopologySpreadConstraint => ({
      maxSkew: 1, topologyKey, whenUnsatisfiable: when, labelSelector: { matchLabels: labels }, matchLabelKeys: [hashLabel],
    });
    const shutdown = variant.config.shutdown;
    const nodes: { nodeSelector: Readonly<Record<string, string>>; tolerations: readonly { key?: string; operator?: string; value?: string; effect?: string }[] } | undefined =
      this.placement ?? props.nodePool;
    const spec = runtimePodSpec({
      workload: this.workload,
      containers: [container],
      secretMounts,
      nodeSelector: nodes ? { ...nodes.nodeSelector } : undefined,
      tolerations: nodes?.tolerations.map((t) => ({ key: t.key, operator: t.operator ?? 'Equal', value: t.value, effect: t.effect })),
      // readiness goes false at SIGTERM, the server drains, then exits: leave it the time to
      terminationGracePeriodSeconds: Math.ceil((shutdown.drainDelayMs + shutdown.timeoutMs) / 1000) + 5,
      topologySpreadConstraints: [
        spread('topology.kubernetes.io/zone', zoneSpread === 'required' ? 'DoNotSchedule' : 'ScheduleAnyway'),
        spread('kubernetes.io/hostname', 'ScheduleAnyway'),
      ],
    });
    const configVolume: k8s.Volume = {
      name: 'config',
      downwardApi: { defaultMode: 0o444, items: [{ path: 'config.json', fieldRef: { fieldPath: `metadata.annotations['${SERVE_CONFIG_ANNOTATION}']` } }] },
    };
    return {
      metadata: {
        labels,
        annotations: {
          [SERVE_CONFIG_ANNOTATION]: runtimeConfigText(variant.config).text,
          'cdk-mlops.io/model': variant.model.label,
        },
      },
      spec: { ...spec, volumes: [...(spec.volumes ?? []), configVolume] },
    };
  }

  private rollout(scope: Construct, variant: EndpointVariant, template: k8s.PodTemplateSpec): ApiObject {
    const s = this.strategy;
    const args = [
      { name: 'version', value: String(variant.model.ref) },
      { name: 'pod-hash', valueFrom: { podTemplateHashValue: 'Latest' } },
    ];
    let strategy: Record<string, unknown>;
    if (s.kind === 'canary') {
      const o = s._options.canary!;
      const routed = (o.trafficRouting ?? CanaryTrafficRouting.GATEWAY_API) === CanaryTrafficRouting.GATEWAY_API;
      const steps: Record<string, unknown>[] = [];
      for (const step of o.steps) {
        steps.push({ setWeight: step.weight });
        if (step.pause === 'indefinite') steps.push({ pause: {} });
        else if (step.pause) steps.push({ pause: { duration: step.pause } });
      }
      strategy = {
        canary: {
          stableService: routed ? variant.serviceName : undefined,
          canaryService: routed ? `${this.endpointName}-canary` : undefined,
          trafficRouting: routed ? { plugins: { [GATEWAY_API_PLUGIN]: { httpRoute: this.endpointName, namespace: this.namespace } } } : undefined,
          maxSurge: '25%',
          maxUnavailable: 0,
          abortScaleDownDelaySeconds: 30,
          analysis: { templates: [{ templateName: this.endpointName }], startingStep: 1, args },
          steps,
        },
      };
    } else {
      const o = s._options.blueGreen ?? {};
      strategy = {
        blueGreen: {
          activeService: variant.serviceName,
          previewService: `${this.endpointName}-preview`,
          autoPromotionEnabled: o.autoPromote ?? true,
          scaleDownDelaySeconds: o.scaleDownDelaySeconds ?? 300,
          prePromotionAnalysis: { templates: [{ templateName: this.endpointName }], args },
        },
      };
    }
    return new ApiObject(scope, `${variant.name}-rollout`, {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Rollout',
      metadata: { name: variant.workloadName, namespace: this.namespace, labels: variant.podLabels },
      spec: {
        selector: { matchLabels: variant.podLabels },
        revisionHistoryLimit: 5,
        progressDeadlineSeconds: 600,
        template: k8s.toJson_PodTemplateSpec(template),
        strategy,
      },
    });
  }

  private analysisTemplateObject(scope: Construct, a: ResolvedAnalysis): ApiObject {
    const labels = {
      namespace: '{{args.namespace}}',
      service: this.metricsServiceName,
      model: '{{args.model}}',
      [ROLLOUT_HASH_LABEL]: '{{args.pod-hash}}',
    };
    const count = this.strategy.kind === 'blue-green' ? (this.strategy._options.blueGreen?.measurements ?? 5) : undefined;
    const metrics = a.metrics.map((m) => {
      const { query, atMost, atLeast } = metricQuery(m, labels, a.window);
      const cmp = [atLeast !== undefined ? `result[0] >= ${atLeast}` : '', atMost !== undefined ? `result[0] <= ${atMost}` : ''].filter(Boolean).join(' && ');
      const data = 'len(result) > 0 && !isNaN(result[0])';
      // No data (no traffic yet) is neither by default: inconclusive, which pauses rather than
      // decides; a quality metric may count it as a pass (noData: 'pass').
      const noDataPasses = m.kind === 'prediction-quality' && m._noData === 'pass';
      return {
        name: m.name,
        interval: a.interval,
        count,
        failureLimit: a.failureLimit,
        inconclusiveLimit: a.inconclusiveLimit,
        successCondition: noDataPasses ? `!(${data}) || ${cmp}` : `${data} && ${cmp}`,
        failureCondition: `${data} && !(${cmp})`,
        provider: { prometheus: { address: this.prometheus.address, query } },
      };
    });
    return new ApiObject(scope, 'analysis-template', {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'AnalysisTemplate',
      metadata: { name: this.endpointName, namespace: this.namespace },
      spec: {
        args: [
          { name: 'namespace', value: this.namespace },
          { name: 'model', value: this.modelName },
          { name: 'version' },
          { name: 'pod-hash' },
        ],
        metrics,
      },
    });
  }

  private service(scope: Construct, id: string, name: string, selector: Record<string, string>): void {
    new k8s.KubeService(scope, id, {
      metadata: { name, namespace: this.namespace, labels: selector },
      spec: {
        type: 'ClusterIP',
        selector,
        ports: [{ name: 'http', port: SERVE_PORT, targetPort: k8s.IntOrString.fromString('http'), protocol: 'TCP', appProtocol: 'http' }],
      },
    });
  }

  private autoscaler(scope: Construct, variant: EndpointVariant, rollout: boolean): void {
    const target = rollout
      ? { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', name: variant.workloadName }
      : { apiVersion: 'apps/v1', kind: 'Deployment', name: variant.workloadName };
    const sc = this.scaling;
    const o = sc._options;
    const labels = variant.podLabels as Record<string, string>;
    if (sc.kind === 'cpu') {
      new k8s.KubeHorizontalPodAutoscalerV2(scope, `${variant.name}-hpa`, {
        metadata: { name: variant.workloadName, namespace: this.namespace, labels },
        spec: {
          scaleTargetRef: target,
          minReplicas: sc.minReplicas,
          maxReplicas: sc.maxReplicas,
          metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: o.targetUtilizationPercent } } }],
          behavior: { scaleDown: { stabilizationWindowSeconds: o.scaleDownStabilizationSeconds } },
        },
      });
      return;
    }
    const query = requestRateQuery({ namespace: this.namespace, service: this.metricsServiceName, model: this.modelName, variant: variant.name }, o.window!);
    const triggers: ScaledObjectSpec['triggers'] = [{
      type: 'prometheus',
      name: 'requests-per-second',
      metadata: { serverAddress: this.prometheus.address, query, threshold: String(o.targetPerReplica), activationThreshold: '0', ignoreNullValues: 'true' },
    }];
    if (sc.scaleToZero) {
      triggers.push({
        type: 'prometheus',
        name: 'gateway-requests',
        // wakeQuery is required (checked at synthesis) when scaleToZero is set
        metadata: { serverAddress: this.prometheus.address, query: o.wakeQuery!, threshold: String(o.targetPerReplica), activationThreshold: '0', ignoreNullValues: 'true' },
      });
    }
    new ApiObject(scope, `${variant.name}-scaled-object`, {
      apiVersion: 'keda.sh/v1alpha1',
      kind: 'ScaledObject',
      metadata: { name: variant.workloadName, namespace: this.namespace, labels },
      spec: {
        scaleTargetRef: target,
        minReplicaCount: sc.minReplicas,
        maxReplicaCount: sc.maxReplicas,
        pollingInterval: o.pollingIntervalSeconds,
        cooldownPeriod: o.idleSeconds,
        triggers,
      } satisfies ScaledObjectSpec,
    });
  }

  private networkPolicy(scope: Construct, features: IFeatureService | undefined): void {
    const port = [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(SERVE_PORT) }];
    const gw = this.gateway;
    const gwPeer: k8s.NetworkPolicyPeer = {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': gw.proxyNamespace } },
      podSelector: Object.keys(gw.proxyPodLabels).length ? { matchLabels: { ...gw.proxyPodLabels } } : undefined,
    };
    const promPeer: k8s.NetworkPolicyPeer = {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': this.prometheus.namespace } },
      podSelector: { matchLabels: { ...this.prometheus.podLabels } },
    };
    const egress: k8s.NetworkPolicyEgressRule[] = [...awsEgressRules()];
    if (features) {
      const s = features.server;
      egress.push({
        to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': s.namespace } }, podSelector: { matchLabels: { ...s.podSelector } } }],
        ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(s.port) }],
      });
    }
    new k8s.KubeNetworkPolicy(scope, 'network-policy', {
      metadata: { name: this.endpointName, namespace: this.namespace, labels: this.workload.selector },
      spec: {
        podSelector: { matchLabels: this.workload.selector },
        policyTypes: ['Ingress', 'Egress'],
        // inference from the gateway's proxies, /metrics from Prometheus: one port serves both
        ingress: [{ from: [gwPeer], ports: port }, { from: [promPeer], ports: port }],
        egress,
      },
    });
  }

  private httpRoute(scope: Construct, hostnames: string[] | undefined): ApiObject {
    const s = this.strategy;
    const match = { path: { type: 'PathPrefix', value: this.routePath } };
    const backend = (name: string, weight?: number) => ({ group: '', kind: 'Service', name, port: SERVE_PORT, weight });
    const primary = this.variants[0];
    let rules: Record<string, unknown>[];
    switch (s.kind) {
      case 'canary': {
        const routed = (s._options.canary!.trafficRouting ?? CanaryTrafficRouting.GATEWAY_API) === CanaryTrafficRouting.GATEWAY_API;
        rules = [{
          matches: [match],
          // weights are managed by the Argo Rollouts Gateway API plugin during a rollout
          backendRefs: routed ? [backend(primary.serviceName, 100), backend(`${this.endpointName}-canary`, 0)] : [backend(primary.serviceName)],
        }];
        break;
      }
      case 'blue-green':
        rules = [
          { matches: [{ ...match, headers: [{ type: 'Exact', name: PREVIEW_HEADER, value: 'preview' }] }], backendRefs: [backend(`${this.endpointName}-preview`)] },
          { matches: [match], backendRefs: [backend(primary.serviceName)] },
        ];
        break;
      case 'shadow': {
        const shadow = this.variants[1];
        rules = [{
          matches: [match],
          filters: [{ type: 'RequestMirror', requestMirror: { backendRef: backend(shadow.serviceName), percent: s._options.shadow!.percent } }],
          backendRefs: [backend(primary.serviceName)],
        }];
        break;
      }
      case 'ab-test':
        rules = [{ matches: [match], backendRefs: this.variants.map((x) => backend(x.serviceName, x.weight)) }];
        break;
      default:
        rules = [{ matches: [match], backendRefs: [backend(primary.serviceName)] }];
    }
    return new ApiObject(scope, 'http-route', {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: this.endpointName, namespace: this.namespace, labels: this.workload.selector },
      spec: {
        parentRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: this.gateway.name, namespace: this.gateway.namespace, sectionName: this.gateway.sectionName }],
        hostnames: hostnames?.length ? [...hostnames] : undefined,
        rules,
      },
    });
  }
}

// ---- helpers ---------------------------------------------------------------------------------

function isModelVersion(x: unknown): x is IModelVersion {
  const m = x as IModelVersion | undefined;
  return !!m && typeof m === 'object' && !!m.model && typeof m.model.modelName === 'string' && !!m.model.registry
    && (typeof m.ref === 'number' || typeof m.ref === 'string') && typeof m.label === 'string';
}

function sameModel(a: IModelVersion, b: IModelVersion): boolean {
  return a.model.registry === b.model.registry && a.model.modelName === b.model.modelName;
}

function validateNodePool(v: PropValidator, pool: INodePool): void {
  for (const [k, val] of Object.entries(pool.nodeSelector ?? {})) {
    v.check(typeof val === 'string', `nodePool.nodeSelector.${k}`, val, 'must be a string label value');
  }
  validateTolerations(v, 'nodePool.tolerations', pool.tolerations ?? []);
}

function validateFeatures(v: PropValidator, f: EndpointFeaturesOptions): void {
  const s = f.service;
  if (!s || typeof s.featureServiceName !== 'string' || !s.server) {
    v.fail('features.service', s === undefined ? undefined : '(object)', 'must be a feature service (IFeatureService)');
    return;
  }
  const entries = Object.entries(f.entityInputs ?? {});
  v.check(entries.length > 0, 'features.entityInputs', f.entityInputs, 'must map at least one request input to an entity join key');
  const keys = new Set(s.joinKeys);
  for (const [input, key] of entries) {
    v.check(keys.has(key), `features.entityInputs.${input}`, key, `must be a join key of feature service '${s.featureServiceName}': ${[...keys].sort().join(', ')}`);
  }
  const covered = new Set(entries.map(([, k]) => k));
  for (const k of [...keys].sort()) {
    v.check(covered.has(k), 'features.entityInputs', f.entityInputs, `must give join key '${k}' of feature service '${s.featureServiceName}' (a lookup needs every entity key)`);
  }
  const known = new Set([...s.featureRefs, ...s.featureRefs.map((r) => r.slice(r.indexOf(':') + 1))]);
  for (const k of Object.keys(f.defaults ?? {}).sort()) {
    v.check(known.has(k), `features.defaults.${k}`, k, `must name a feature of service '${s.featureServiceName}'`);
  }
  if (f.defaults && Object.keys(f.defaults).length > 0) {
    v.check((f.onMissing ?? 'reject') === 'default', 'features.onMissing', f.onMissing ?? 'reject', "must be 'default' when 'features.defaults' is given (otherwise the defaults are never used)");
  }
}

/** Maps a serve-config issue path back to the prop the user wrote. */
function propOfConfigPath(path: string[], variant: string): string {
  if (path[0] === 'models' && path[2] === 'batching') return ['batching', ...path.slice(3)].join('.');
  if (path[0] === 'models' && path[2] === 'intraOpThreads') return 'intraOpThreads';
  if (path[0] === 'models' && path[2] === 'name') return 'model';
  if (path[0] === 'models' && path[2] === 'ref') return variant === 'primary' ? 'model' : 'strategy';
  if (path[0] === 'models' && path[2] === 'variant') return 'strategy.variant';
  if (path[0] === 'limits' || path[0] === 'features') return path.join('.');
  if (path[0] === 'predictionLog') return ['predictionLog', ...path.slice(1)].join('.');
  return `serveConfig.${path.join('.')}`;
}

function metricQuery(m: AnalysisMetric, labels: Record<string, string>, window: string): { query: string; atMost?: number; atLeast?: number } {
  switch (m.kind) {
    case 'error-rate':
      return { query: errorRateQuery(labels, window), atMost: m._threshold.atMost };
    case 'p99-latency':
      return { query: latencyQuantileQuery(labels, 0.99, window), atMost: m._threshold.atMost! / 1000 };
    default:
      return { query: m._query!, atMost: m._threshold.atMost, atLeast: m._threshold.atLeast };
  }
}

