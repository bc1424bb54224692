import { Construct } from 'constructs';
import { FeatureNodes, FeatureNodesAdmission } from './client-nodes';
import {
  FeatureRegistry, FeatureRegistryInput, FeatureRegistryProblem, featureRegistrySchema, featureServerSchema, findFeatureRegistryProblems,
  FeatureValueType, OnlineStoreConfig, RedisOnlineStoreConfig,
} from '../../runtime/config/features';
import { AthenaWorkgroup, GlueCatalogDatabase, GlueCatalogTable } from '../cloud/cdktf';
import { SecureBucket } from '../cloud/secure-bucket';
import type { PolicyStatement } from '../cloud/workload-identity';
import type { ServiceMonitorSpec } from '../cluster/crd-types';
import { ApiObject, k8s, Lazy } from '../cluster/k8s';
import {
  awsEgressRules, ComputeResources, RUNTIME_CONFIG_FILE, runtimeConfigText, runtimeContainer, runtimePodSpec,
} from '../cluster/runtime-workload';
import { PrometheusRef } from '../endpoint/options';
import { MlopsValidationError, PropValidator } from '../errors';
import { MlPlatform, PlatformPart, shortHash, Workload } from '../platform';
import type { IFeatureServer } from '../refs';
import {
  Entity, EntityOptions, FeatureService, FeatureServiceOptions, FeatureView, FeatureViewOptions,
} from './definitions';
import { FEATURE_STORE_SYMBOL, kubeName, sidPart } from './names';
import { deployDynamoDb, deployRedis, DeployedOnlineStore, OnlineStore, validateOnlineStore } from './online-store';
import { compareStrings } from '../../util/compare';

/** Port of the feature server (Feast's default). */
export const FEATURE_SERVER_PORT = 6566;
/** Pod annotation holding the checksum of the registry document, so pods roll when it changes. */
export const CONFIG_CHECKSUM_ANNOTATION = 'cdk-mlops.io/config-checksum';
/** Glue column types of the feature value types (Athena/Hive DDL). */
export const GLUE_COLUMN_TYPES: Readonly<Record<FeatureValueType, string>> = {
  int32: 'int',
  int64: 'bigint',
  float32: 'float',
  float64: 'double',
  string: 'string',
  bool: 'boolean',
  unix_timestamp: 'timestamp',
};

const PREFIX_RE = /^[A-Za-z0-9!_.*'()-]+(\/[A-Za-z0-9!_.*'()-]+)*$/;

/** Options of an offline store kept under a prefix of the platform's artefact bucket. */
export interface PlatformBucketOfflineOptions {
  /**
   * Key prefix of the offline store (no leading or trailing `/`).
   * @default 'features/<storeName>'
   */
  readonly prefix?: string;
}

/** Options of an offline store with a bucket of its own. */
export interface OwnBucketOfflineOptions {
  /**
   * Key prefix of the offline store inside its bucket (no leading or trailing `/`).
   * @default 'features/<storeName>'
   */
  readonly prefix?: string;
  /**
   * Days after which non-current object versions are deleted.
   * @default 90
   */
  readonly noncurrentVersionExpirationDays?: number;
}

/** Where the offline features (Parquet files) live. */
export class OfflineStore {
  /** A prefix of the platform's artefact bucket (KMS with the platform key, versioned, private, TLS only). */
  public static platformBucket(options: PlatformBucketOfflineOptions = {}): OfflineStore {
    return new OfflineStore('platform', options);
  }

  /** A bucket of its own (a `SecureBucket`, encrypted with the platform key). */
  public static ownBucket(options: OwnBucketOfflineOptions = {}): OfflineStore {
    return new OfflineStore('own', options);
  }

  private constructor(
    /** @internal */ public readonly _kind: 'platform' | 'own',
    /** @internal */ public readonly _options: OwnBucketOfflineOptions,
  ) {}
}

/** Props of a feature store. */
export interface FeatureStoreProps {
  /**
   * Name of the store: lower-case letters, digits and `-`, starting with a letter, at most 20
   * characters. Names its Kubernetes objects and AWS resources; with `-` turned into `_` it is
   * the registry's `project`.
   * @default - the construct id
   */
  readonly storeName?: string;
  /** @default OnlineStore.redis() */
  readonly onlineStore?: OnlineStore;
  /** @default OfflineStore.platformBucket() - prefix `features/<storeName>` of the artefact bucket */
  readonly offlineStore?: OfflineStore;
  /**
   * Fewest feature server replicas (spread over zones).
   * @default 2
   */
  readonly serverMinReplicas?: number;
  /**
   * Most feature server replicas.
   * @default 10
   */
  readonly serverMaxReplicas?: number;
  /**
   * Average CPU utilisation the feature server's HorizontalPodAutoscaler aims at, in percent.
   * @default 70
   */
  readonly serverCpuTarget?: number;
  /** @default - 250m/1 CPU, 512Mi/1Gi memory */
  readonly serverResources?: ComputeResources;
  /**
   * Most entity rows in one lookup (413 beyond).
   * @default 1000
   */
  readonly serverMaxEntitiesPerRequest?: number;
  /**
   * Largest lookup request body, in bytes.
   * @default 1048576
   */
  readonly serverBodyLimitBytes?: number;
  /**
   * Timeout of one lookup request, in milliseconds.
   * @default 10000
   */
  readonly serverRequestTimeoutMs?: number;
  /**
   * CPU and memory of materialization runs (a view can set its own).
   * @default - 500m/2 CPU, 1Gi/4Gi memory
   */
  readonly materializationResources?: ComputeResources;
  /**
   * Most bytes one Athena query of the offline store may scan (at least 10 MB).
   * @default - no limit
   * @see https://docs.aws.amazon.com/athena/latest/ug/workgroups-setting-control-limits-cloudwatch.html
   */
  readonly athenaBytesScannedCutoff?: number;
  /** The Prometheus that scrapes the feature server. @default PrometheusRef.kubePrometheusStack() */
  readonly prometheus?: PrometheusRef;
}

/**
 * The registry document a FeatureStore synthesizes: the runtime's `FeatureRegistry`, except that
 * a Redis online store has no `url` (it comes from the environment).
 */
export type SynthesizedFeatureRegistry = Omit<FeatureRegistry, 'onlineStore'> & {
  readonly onlineStore: Omit<RedisOnlineStoreConfig, 'url'> | Exclude<OnlineStoreConfig, RedisOnlineStoreConfig>;
};

/** A Glue table created for a view. */
interface ViewTable {
  readonly view: FeatureView;
  readonly table?: GlueCatalogTable;
  readonly location: string;
}

/**
 * A feature store: feature definitions in code (entities, views, services), deployed in both
 * planes and described by ONE registry document that the `features` runtime reads.
 *
 * **Cloud plane.** The offline store is a KMS-encrypted S3 prefix (of the artefact bucket, or a
 * bucket of its own) with a Glue database and one Glue table per view (Parquet, columns typed
 * from the schema) so that Athena can query it, and an Athena workgroup whose results are
 * encrypted with the platform key. The online store is ElastiCache for Redis (Multi-AZ
 * replication group, TLS required, at-rest encryption with the platform key, AUTH token from
 * Secrets Manager, private subnets, a security group admitting only the nodes of the feature
 * workloads on the Redis port: a node group of their own carrying the store's client security
 * group, kept to the feature workloads by its taint and two admission policies), or a DynamoDB table (`OnlineStore.dynamodb()`: on demand, encrypted with the
 * platform key, point-in-time recovery, deletion protection, reached through a gateway
 * endpoint). Each workload has its own IAM role with least privilege.
 *
 * **Cluster plane** (chart `features`): the feature server (`cdk-mlops features serve`,
 * Feast's `POST /get-online-features`) as a Deployment + Service + HPA + PDB, one
 * materialization CronJob per scheduled view (`cdk-mlops features materialize --views <view>`),
 * NetworkPolicies (ingress to the server only from its clients and Prometheus; egress only to
 * the online store's port in its CIDRs, and to AWS APIs where needed), and the registry
 * document in a ConfigMap, validated at synth time with the runtime's own schema.
 *
 * **Handoff.** The Redis endpoint and AUTH token exist only after `terraform apply`: Terraform
 * writes them to the platform's SSM prefix (the token as a SecureString), External Secrets
 * turns them into the Secret `<storeName>-online-store`, and the pods read them from the
 * environment (`CDK_MLOPS_FEATURES_ONLINE_STORE__URL`, `REDIS_AUTH_TOKEN`).
 *
 * ```ts
 * const store = new FeatureStore(platform, 'features');
 * const customer = store.addEntity('customer', { joinKey: 'customer_id', joinKeyType: 'int64' });
 * const tx = store.addFeatureView('transactions', {
 *   entities: [customer],
 *   schema: [{ name: 'amount_7d', type: 'float64' }, { name: 'count_1h', type: 'int64' }],
 *   source: FeatureSource.parquet('transactions'),
 *   ttl: Duration.days(2),
 *   schedule: '*\/15 * * * *',
 * });
 * const fraud = store.addFeatureService('fraud', { features: [tx] });
 * new ModelEndpoint(platform, 'fraud', { ..., features: { service: fraud, entityInputs: { customer_id: 'customer_id' } } });
 * ```
 */
export class FeatureStore extends Construct {
  /** Is `x` a FeatureStore? */
  public static isFeatureStore(x: unknown): x is FeatureStore {
    return x !== null && typeof x === 'object' && FEATURE_STORE_SYMBOL in x;
  }

  public readonly storeName: string;
  /** The registry's `project` (namespaces the online keys). */
  public readonly project: string;
  /** Namespace of the feature workloads. */
  public readonly namespace: string;
  public readonly onlineStore: OnlineStore;
  /** `s3://bucket/prefix`: the offline root relative source paths resolve against. */
  public readonly offlineRoot: string;
  public readonly offlineBucketName: string;
  public readonly offlineBucketArn: string;
  /** Key prefix of the offline store (no leading or trailing slash). */
  public readonly offlinePrefix: string;
  /** The offline bucket when the store has its own. */
  public readonly offlineBucket?: SecureBucket;
  public readonly glueDatabaseName: string;
  public readonly glueDatabase: GlueCatalogDatabase;
  public readonly athenaWorkgroupName: string;
  public readonly athenaWorkgroup: AthenaWorkgroup;
  /** The feature server, as clients see it. */
  public readonly server: IFeatureServer;
  /** Identity of the feature server pods. */
  public readonly serverWorkload: Workload;
  /** Identity of the materialization pods. */
  public readonly materializerWorkload: Workload;
  /** Name of the ConfigMap holding the registry document (`config.json`). */
  public readonly registryConfigMapName: string;
  public readonly serverMinReplicas: number;
  public readonly serverMaxReplicas: number;
  public readonly serverCpuTarget: number;
  public readonly materializationResources: ComputeResources;
  /** Escape hatch: the feature server Deployment. */
  public readonly serverDeployment: k8s.KubeDeployment;
  /** Escape hatch: the registry ConfigMap. */
  public readonly registryConfigMap: k8s.KubeConfigMap;
  /**
   * The nodes of the feature workloads (Redis online store without `clientSecurityGroupIds`):
   * their node group, client security group and how the pods select and tolerate them.
   */
  public readonly clientNodes?: FeatureNodes;
  /** The admission policies that keep other pods off {@link clientNodes}. */
  public readonly nodesAdmission?: FeatureNodesAdmission;

  private readonly platform: MlPlatform;
  private readonly online: DeployedOnlineStore;
  private readonly sid: string;
  private readonly serverSettings: { maxEntitiesPerRequest?: number; bodyLimitBytes?: number; requestTimeoutMs?: number };
  private readonly entityList: Entity[] = [];
  private readonly viewList: FeatureView[] = [];
  private readonly serviceList: FeatureService[] = [];
  private readonly tables: ViewTable[] = [];
  private readonly offlineReaders: Workload[] = [];
  private readonly clients = new Map<string, Workload>();
  private readonly cronJobs = new Map<FeatureView, k8s.KubeCronJob>();
  private readonly inventory: { entities: unknown[]; views: unknown[]; services: unknown[] } = { entities: [], views: [], services: [] };

  constructor(scope: Construct, id: string, props: FeatureStoreProps = {}) {
    super(scope, id);
    Object.defineProperty(this, FEATURE_STORE_SYMBOL, { value: true });
    const platform = MlPlatform.of(this);
    this.platform = platform;

    const v = new PropValidator(this);
    const storeName = props.storeName ?? id;
    v.check(typeof storeName === 'string' && /^[a-z]([a-z0-9-]*[a-z0-9])?$/.test(storeName) && storeName.length <= 20 && !storeName.includes('--'),
      'storeName', storeName, "must be lower-case letters, digits and '-' (no '--'), starting with a letter, at most 20 characters");
    const onlineStore = props.onlineStore ?? OnlineStore.redis();
    validateOnlineStore(v, onlineStore, platform);
    if (onlineStore instanceof OnlineStore && onlineStore._kind === 'redis') {
      v.check(/^[a-z]/.test(platform.platformName), 'onlineStore', 'redis', `needs a platform name starting with a letter (ElastiCache replication group ids must), got '${platform.platformName}'`);
    }
    const offline = props.offlineStore ?? OfflineStore.platformBucket();
    const prefix = offline._options.prefix ?? `features/${storeName}`;
    v.check(typeof prefix === 'string' && PREFIX_RE.test(prefix) && prefix.length <= 200 && !prefix.split('/').some((p) => p === '.' || p === '..'),
      'offlineStore.prefix', prefix, "must be an S3 key prefix without leading or trailing '/', of segments of letters, digits and !_.*'()- (no '.' or '..' segments), at most 200 characters");
    const days = offline._options.noncurrentVersionExpirationDays ?? 90;
    v.check(Number.isInteger(days) && days >= 1, 'offlineStore.noncurrentVersionExpirationDays', days, 'must be a whole number of days >= 1');
    const minReplicas = props.serverMinReplicas ?? 2;
    const maxReplicas = props.serverMaxReplicas ?? 10;
    v.check(Number.isInteger(minReplicas) && minReplicas >= 1, 'serverMinReplicas', minReplicas, 'must be a whole number >= 1');
    v.check(Number.isInteger(maxReplicas) && maxReplicas >= minReplicas, 'serverMaxReplicas', maxReplicas, `must be a whole number not below 'serverMinReplicas' (${minReplicas})`);
    const cpuTarget = props.serverCpuTarget ?? 70;
    v.check(Number.isInteger(cpuTarget) && cpuTarget >= 10 && cpuTarget <= 100, 'serverCpuTarget', cpuTarget, 'must be a whole percentage from 10 to 100');
    if (props.athenaBytesScannedCutoff !== undefined) {
      v.check(Number.isInteger(props.athenaBytesScannedCutoff) && props.athenaBytesScannedCutoff >= 10_485_760, 'athenaBytesScannedCutoff',
        props.athenaBytesScannedCutoff, "must be a whole number of bytes >= 10485760 (Athena's minimum, 10 MB)");
    }
    this.serverSettings = {
      maxEntitiesPerRequest: props.serverMaxEntitiesPerRequest,
      bodyLimitBytes: props.serverBodyLimitBytes,
      requestTimeoutMs: props.serverRequestTimeoutMs,
    };
    const server = featureServerSchema.safeParse(this.serverDocument());
    if (!server.success) {
      for (const issue of server.error.issues) {
        const key = String(issue.path[0]);
        const prop = `server${key.charAt(0).toUpperCase()}${key.slice(1)}`;
        v.fail(prop, (props as Record<string, unknown>)[prop], issue.message);
      }
    }
    const prometheus = props.prometheus ?? PrometheusRef.kubePrometheusStack();
    prometheus._validate(v, 'prometheus');
    v.throwIfAny();

    this.storeName = storeName;
    this.project = storeName.replace(/-/g, '_');
    this.sid = sidPart(this.project);
    this.namespace = platform.namespace(PlatformPart.FEATURES);
    this.onlineStore = onlineStore;
    this.serverMinReplicas = minReplicas;
    this.serverMaxReplicas = maxReplicas;
    this.serverCpuTarget = cpuTarget;
    this.materializationResources = props.materializationResources ?? { cpuRequest: '500m', cpuLimit: '2', memoryRequest: '1Gi', memoryLimit: '4Gi' };
    this.registryConfigMapName = `${storeName}-registry`;

    // ---- cloud plane: offline store ----
    const cloud = platform.cloudScope(this);
    if (offline._kind === 'own') {
      this.offlineBucket = new SecureBucket(cloud, 'offline-bucket', {
        bucketName: platform.resourceName(63, 'features', shortHash(`${platform.account}/${platform.region}/${this.node.path}`)),
        kmsKeyArn: platform.key.arn,
        noncurrentVersionExpirationDays: days,
      });
      this.offlineBucketName = this.offlineBucket.bucketName;
      this.offlineBucketArn = this.offlineBucket.bucketArn;
    } else {
      this.offlineBucketName = platform.artifactBucket.bucketName;
      this.offlineBucketArn = platform.artifactBucket.bucketArn;
    }
    this.offlinePrefix = prefix;
    this.offlineRoot = `s3://${this.offlineBucketName}/${prefix}`;
    const glueName = `${platform.platformName}_${platform.environment}_${storeName}`.replace(/-/g, '_');
    this.glueDatabaseName = /^[a-z]/.test(glueName) ? glueName : `f_${glueName}`;
    this.glueDatabase = new GlueCatalogDatabase(cloud, 'glue-database', {
      name: this.glueDatabaseName,
      description: `cdk-mlops feature store ${storeName}: one table per feature view (Parquet under ${this.offlineRoot}/)`,
      locationUri: `${this.offlineRoot}/`,
    });
    this.athenaWorkgroupName = platform.resourceName(128, 'features', storeName);
    this.athenaWorkgroup = new AthenaWorkgroup(cloud, 'athena-workgroup', {
      name: this.athenaWorkgroupName,
      description: `cdk-mlops feature store ${storeName}: training sets over the Glue tables`,
      state: 'ENABLED',
      forceDestroy: false,
      configuration: {
        enforceWorkgroupConfiguration: true,
        publishCloudwatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: props.athenaBytesScannedCutoff,
        engineVersion: { selectedEngineVersion: 'AUTO' },
        resultConfiguration: {
          outputLocation: `${this.offlineRoot}/_athena-results/`,
          encryptionConfiguration: { encryptionOption: 'SSE_KMS', kmsKeyArn: platform.key.arn },
        },
      },
    });

    // ---- cloud plane: online store ----
    const names = { storeName, namespace: this.namespace, sid: this.sid };
    this.online = onlineStore._kind === 'redis' ? deployRedis(cloud, platform, onlineStore, names) : deployDynamoDb(cloud, platform, onlineStore, names);
    this.clientNodes = this.online.nodes;

    // ---- identities and grants ----
    const chart = platform.chart('features');
    this.serverWorkload = platform.addWorkload(this, `${storeName}-server`, { part: PlatformPart.FEATURES, chart });
    this.materializerWorkload = platform.addWorkload(this, `${storeName}-materializer`, { part: PlatformPart.FEATURES, chart });
    this.online.grantRead(this.serverWorkload);
    this.online.grantReadWrite(this.materializerWorkload);
    this.grantOfflineObjects(this.materializerWorkload);

    // ---- cluster plane ----
    const k8sScope = platform.clusterScope(this, 'features');
    const labels = { ...platform.labels, 'cdk-mlops.io/feature-store': storeName };
    this.registryConfigMap = new k8s.KubeConfigMap(k8sScope, 'registry', {
      metadata: { name: this.registryConfigMapName, namespace: this.namespace, labels },
      data: { 'config.json': Lazy.any({ produce: () => this.registryText().text }) },
    });
    const serverName = this.serverWorkload.name;
    this.server = this.serverReference(serverName);
    const podLabels = { ...this.serverWorkload.selector };
    this.serverDeployment = new k8s.KubeDeployment(k8sScope, 'server', {
      metadata: { name: serverName, namespace: this.namespace, labels: { ...labels, ...podLabels } },
      spec: {
        selector: { matchLabels: podLabels },
        revisionHistoryLimit: 5,
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: k8s.IntOrString.fromString('25%'), maxUnavailable: k8s.IntOrString.fromNumber(0) } },
        template: {
          metadata: { labels: { ...labels, ...podLabels }, annotations: { [CONFIG_CHECKSUM_ANNOTATION]: Lazy.any({ produce: () => this.registryText().checksum }) } },
          spec: runtimePodSpec({
            workload: this.serverWorkload,
            configMapName: this.registryConfigMapName,
            containers: [runtimeContainer(platform, 'feature-server', {
              args: ['features', 'serve', '--config', RUNTIME_CONFIG_FILE],
              configMapName: this.registryConfigMapName,
              ports: [{ name: 'http', port: FEATURE_SERVER_PORT }],
              readinessPath: '/health',
              // liveness on /metrics: a Redis outage makes pods unready, never restarts them
              livenessPath: '/metrics',
              resources: props.serverResources,
              env: { AWS_REGION: platform.region },
              secretEnv: this.online.secretEnv,
            })],
            nodeSelector: this.online.nodes?.nodeSelector,
            tolerations: this.online.nodes?.tolerations,
            topologySpreadConstraints: [
              { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: podLabels } },
              { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: podLabels } },
            ],
          }),
        },
      },
    });
    new k8s.KubeService(k8sScope, 'server-service', {
      metadata: { name: serverName, namespace: this.namespace, labels: { ...labels, ...podLabels, 'cdk-mlops.io/scrape': 'features' } },
      spec: {
        type: 'ClusterIP',
        selector: podLabels,
        ports: [{ name: 'http', port: FEATURE_SERVER_PORT, targetPort: k8s.IntOrString.fromString('http'), protocol: 'TCP' }],
      },
    });
    new k8s.KubeHorizontalPodAutoscalerV2(k8sScope, 'server-hpa', {
      metadata: { name: serverName, namespace: this.namespace, labels: { ...labels, ...podLabels } },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: serverName },
        minReplicas,
        maxReplicas,
        metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: cpuTarget } } }],
      },
    });
    new k8s.KubePodDisruptionBudget(k8sScope, 'server-pdb', {
      metadata: { name: serverName, namespace: this.namespace, labels: { ...labels, ...podLabels } },
      spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: podLabels }, unhealthyPodEvictionPolicy: 'AlwaysAllow' },
    });
    new ApiObject(k8sScope, 'server-monitor', {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'ServiceMonitor',
      metadata: { name: serverName, namespace: this.namespace, labels: { ...labels, ...prometheus.serviceMonitorLabels } },
      spec: {
        selector: { matchLabels: { ...podLabels, 'cdk-mlops.io/scrape': 'features' } },
        namespaceSelector: { matchNames: [this.namespace] },
        endpoints: [{ port: 'http', path: '/metrics', scheme: 'http', interval: '15s', scrapeTimeout: '10s' }],
      } satisfies ServiceMonitorSpec,
    });
    const port = [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(FEATURE_SERVER_PORT) }];
    const promPeer: k8s.NetworkPolicyPeer = {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': prometheus.namespace } },
      podSelector: { matchLabels: { ...prometheus.podLabels } },
    };
    new k8s.KubeNetworkPolicy(k8sScope, 'server-network-policy', {
      metadata: { name: serverName, namespace: this.namespace, labels: { ...labels, ...podLabels } },
      spec: {
        podSelector: { matchLabels: podLabels },
        policyTypes: ['Ingress', 'Egress'],
        // lookups from the clients (allowClient: ModelEndpoints naming a service), /metrics from Prometheus
        ingress: Lazy.any({
          produce: () => [
            ...[...this.clients.entries()].sort(([a], [b]) => compareStrings(a, b)).map(([, w]) => ({
              from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': w.namespace } }, podSelector: { matchLabels: { ...w.selector } } }],
              ports: port,
            })),
            { from: [promPeer], ports: port },
          ],
        }),
        egress: [...this.online.egress, ...(this.online.needsAwsApi ? awsEgressRules() : [])],
      },
    });
    const materializerLabels = { ...this.materializerWorkload.selector };
    new k8s.KubeNetworkPolicy(k8sScope, 'materializer-network-policy', {
      metadata: { name: this.materializerWorkload.name, namespace: this.namespace, labels: { ...labels, ...materializerLabels } },
      spec: {
        podSelector: { matchLabels: materializerLabels },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [],
        // the offline store (S3, HTTPS) and the online store
        egress: [...this.online.egress, ...awsEgressRules()],
      },
    });

    // Only the feature workloads on the nodes the online store admits.
    if (this.online.nodes) {
      this.nodesAdmission = new FeatureNodesAdmission(k8sScope, 'nodes-admission', {
        name: platform.resourceName(230, 'features', storeName, 'nodes'),
        labels,
        poolName: this.online.nodes.poolName,
        namespace: this.namespace,
        serviceAccounts: [this.serverWorkload.serviceAccountName, this.materializerWorkload.serviceAccountName],
      });
    }

    // ---- synth-time validation of the whole registry, with the runtime's schema ----
    this.node.addValidation({
      validate: () => {
        if (this.entityList.length === 0 || this.viewList.length === 0) {
          return [`a FeatureStore needs at least one entity (store.addEntity) and one feature view (store.addFeatureView); it has ${this.entityList.length} and ${this.viewList.length}`];
        }
        const r = featureRegistrySchema.safeParse(this.registryInput());
        return r.success ? [] : r.error.issues.map((i) => `feature registry '${i.path.join('.')}': ${i.message}`);
      },
    });

    platform.addInventory({
      kind: 'feature-store',
      name: storeName,
      namespace: this.namespace,
      project: this.project,
      registryConfigMap: `${this.namespace}/${this.registryConfigMapName}`,
      server: { url: this.server.url, workload: serverName, minReplicas, maxReplicas },
      materializer: { workload: this.materializerWorkload.name },
      offlineStore: {
        root: this.offlineRoot,
        bucket: this.offlineBucketName,
        prefix,
        ownBucket: offline._kind === 'own',
        glueDatabase: this.glueDatabaseName,
        athenaWorkgroup: this.athenaWorkgroupName,
      },
      onlineStore: this.online.inventory,
      entities: this.inventory.entities,
      views: this.inventory.views,
      services: this.inventory.services,
    });
  }

  /** Defines an entity of this store. */
  public addEntity(id: string, options: EntityOptions): Entity {
    return new Entity(this, id, options);
  }

  /** Defines a feature view of this store. */
  public addFeatureView(id: string, options: FeatureViewOptions): FeatureView {
    return new FeatureView(this, id, options);
  }

  /** Defines a feature service of this store. */
  public addFeatureService(id: string, options: FeatureServiceOptions): FeatureService {
    return new FeatureService(this, id, options);
  }

  /** The entities, in definition order. */
  public get entities(): readonly Entity[] {
    return this.entityList;
  }

  /** The feature views, in definition order. */
  public get views(): readonly FeatureView[] {
    return this.viewList;
  }

  /** The feature services, in definition order. */
  public get services(): readonly FeatureService[] {
    return this.serviceList;
  }

  /** A feature view by name; throws naming the views when absent. */
  public view(name: string): FeatureView {
    const found = this.viewList.find((x) => x.viewName === name);
    if (!found) this.fail('view', name, `must name a feature view of this store: ${this.viewList.map((x) => `'${x.viewName}'`).join(', ') || '(none yet)'}`);
    return found!;
  }

  /** A feature service by name; throws naming the services when absent. */
  public service(name: string): FeatureService {
    const found = this.serviceList.find((x) => x.featureServiceName === name);
    if (!found) this.fail('service', name, `must name a feature service of this store: ${this.serviceList.map((x) => `'${x.featureServiceName}'`).join(', ') || '(none yet)'}`);
    return found!;
  }

  /** The materialization CronJob of a view (undefined when the view has no schedule). */
  public materializationCronJob(view: FeatureView): k8s.KubeCronJob | undefined {
    return this.cronJobs.get(view);
  }

  /** The Glue table created for a view (undefined for a `FeatureSource.glueTable` view, whose table exists already). */
  public glueTable(view: FeatureView): GlueCatalogTable | undefined {
    return this.tables.find((t) => t.view === view)?.table;
  }

  /**
   * Lets `workload` read the offline store for training sets: the Parquet objects of every view
   * (S3 read and list on the store's prefix and on sources outside it, KMS decrypt through S3),
   * the Glue database and its tables, and queries in the store's Athena workgroup (results
   * written under `<prefix>/_athena-results/`, encrypted with the platform key).
   */
  public grantOfflineRead(workload: Workload): void {
    if (this.offlineReaders.includes(workload)) return;
    this.offlineReaders.push(workload);
    this.grantOfflineObjects(workload);
    const p = this.platform;
    const glue = (suffix: string) => `arn:aws:glue:${p.region}:${p.account}:${suffix}`;
    const externalGlue = this.viewList.filter((x) => x.source._kind === 'glue');
    add(workload, {
      Sid: `Features${this.sid}Glue`,
      Effect: 'Allow',
      Action: ['glue:GetDatabase', 'glue:GetDatabases', 'glue:GetTable', 'glue:GetTables', 'glue:GetPartition', 'glue:GetPartitions', 'glue:BatchGetPartition'],
      Resource: [glue('catalog'), glue(`database/${this.glueDatabaseName}`), glue(`table/${this.glueDatabaseName}/*`)],
    });
    externalGlue.forEach((x) => this.grantExternalGlue(workload, x));
    add(workload, {
      Sid: `Features${this.sid}Athena`,
      Effect: 'Allow',
      Action: ['athena:GetWorkGroup', 'athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:GetQueryResults', 'athena:StopQueryExecution'],
      Resource: `arn:aws:athena:${p.region}:${p.account}:workgroup/${this.athenaWorkgroupName}`,
    });
    const results = `${this.offlinePrefix}/_athena-results`;
    add(workload, {
      Sid: `Features${this.sid}AthenaResults`,
      Effect: 'Allow',
      Action: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
      Resource: `${this.offlineBucketArn}/${results}/*`,
    });
    add(workload, {
      Sid: `Features${this.sid}AthenaBucket`,
      Effect: 'Allow',
      Action: 's3:GetBucketLocation',
      Resource: this.offlineBucketArn,
    });
    add(workload, {
      Sid: `Features${this.sid}AthenaResultsKey`,
      Effect: 'Allow',
      Action: 'kms:GenerateDataKey',
      Resource: p.key.arn,
      Condition: {
        StringEquals: { 'kms:ViaService': `s3.${p.region}.amazonaws.com` },
        StringLike: { 'kms:EncryptionContext:aws:s3:arn': [this.offlineBucketArn, `${this.offlineBucketArn}/${results}/*`] },
      },
    });
  }

  /**
   * The registry document, validated with the runtime's schema and with its defaults applied:
   * what the ConfigMap holds. A Redis online store has no `url`: the pods get it from the
   * environment (the handoff Secret), since the endpoint exists only after `terraform apply`.
   */
  public registryDocument(): SynthesizedFeatureRegistry {
    const r = featureRegistrySchema.safeParse(this.registryInput());
    if (!r.success) {
      throw new MlopsValidationError(this.node.path, r.error.issues.map((i) => ({ prop: `registry.${i.path.join('.')}`, received: 'construct', expected: i.message })));
    }
    const { onlineStore, ...rest } = r.data;
    if (onlineStore.type === 'redis') {
      // The URL exists only after apply: it comes from the environment (handoff), never a guess.
      const { url: _url, ...redis } = onlineStore;
      return { ...rest, onlineStore: redis };
    }
    return { ...rest, onlineStore };
  }

  // ---- internals used by the definitions -------------------------------------------------------

  /** @internal */
  public get _entityCount(): number {
    return this.entityList.length;
  }

  /** @internal */
  public get _viewCount(): number {
    return this.viewList.length;
  }

  /** @internal */
  public get _serviceCount(): number {
    return this.serviceList.length;
  }

  /**
   * @internal The runtime's cross-reference checks on the registry as it would be with one more
   * entity, view or service (appended last).
   */
  public _problemsWith(extra: {
    entity?: FeatureRegistryInput['entities'][number];
    view?: FeatureRegistryInput['featureViews'][number];
    service?: NonNullable<FeatureRegistryInput['featureServices']>[number];
  }): FeatureRegistryProblem[] {
    return findFeatureRegistryProblems({
      entities: [...this.entityList.map((e) => e._definition()), ...(extra.entity ? [extra.entity] : [])],
      featureViews: [...this.viewList.map((x) => x._definition()), ...(extra.view ? [extra.view] : [])],
      featureServices: [...this.serviceList.map((s) => s._definition()), ...(extra.service ? [extra.service] : [])],
    });
  }

  /** @internal The registry `source` of a view: always a Glue table (ours, or the one named). */
  public _sourceDefinition(view: FeatureView): { type: 'glue'; database: string; table: string; path: string } {
    const o = view.source._options;
    if (view.source._kind === 'glue') return { type: 'glue', database: o.database!, table: o.table!, path: o.path };
    return { type: 'glue', database: this.glueDatabaseName, table: view.viewName.toLowerCase(), path: o.path.replace(/\/+$/, '') };
  }

  /** @internal Whether the store's own resources use construct id `id` (a view's resources are created under its id). */
  public _usesScopeId(id: string): boolean {
    return !!this.platform.cloudScope(this).node.tryFindChild(id) || !!this.platform.clusterScope(this, 'features').node.tryFindChild(id);
  }

  /** @internal Names a view must not share with another (Glue is case-insensitive). */
  public _checkViewNames(v: PropValidator, view: FeatureView): void {
    if (view.source._kind !== 'parquet') return;
    const table = view.viewName.toLowerCase();
    const clash = this.viewList.find((x) => x.source._kind === 'parquet' && x.viewName !== view.viewName && x.viewName.toLowerCase() === table);
    if (clash) v.fail('viewName', view.viewName, `must differ from '${clash.viewName}' in more than letter case (both would be Glue table '${table}')`);
  }

  /** @internal Registers a definition once it is valid, and deploys what it needs. */
  public _register(item: Entity | FeatureView | FeatureService): void {
    if (item instanceof Entity) {
      this.entityList.push(item);
      this.inventory.entities.push({ name: item.entityName, joinKey: item.joinKey, joinKeyType: item.joinKeyType });
    } else if (item instanceof FeatureView) {
      this.viewList.push(item);
      this.deployView(item);
    } else {
      this.serviceList.push(item);
      this.inventory.services.push({ name: item.featureServiceName, features: [...item.featureRefs], joinKeys: [...item.joinKeys] });
    }
  }

  // ---- private -----------------------------------------------------------------------------------

  private fail(prop: string, value: unknown, expected: string): never {
    const v = new PropValidator(this);
    v.fail(prop, value, expected);
    v.throwIfAny();
    throw new Error('unreachable');
  }

  private serverDocument(): Record<string, unknown> {
    return { host: '0.0.0.0', port: FEATURE_SERVER_PORT, ...this.serverSettings };
  }

  private registryInput(): FeatureRegistryInput {
    return {
      apiVersion: 'cdk-mlops.features/v1',
      project: this.project,
      entities: this.entityList.map((e) => e._definition()),
      featureViews: this.viewList.map((x) => x._definition()),
      featureServices: this.serviceList.map((s) => s._definition()),
      onlineStore: this.online.config,
      offlineStore: { root: this.offlineRoot },
      featureServer: this.serverDocument() as FeatureRegistryInput['featureServer'],
    };
  }

  private registryText(): { text: string; checksum: string } {
    return runtimeConfigText(this.registryDocument());
  }

  private serverReference(serverName: string): IFeatureServer {
    const clients = this.clients;
    const namespace = this.namespace;
    return {
      url: `http://${serverName}.${namespace}.svc.cluster.local:${FEATURE_SERVER_PORT}`,
      namespace,
      podSelector: { ...this.serverWorkload.selector },
      port: FEATURE_SERVER_PORT,
      allowClient(workload: Workload): void {
        clients.set(`${workload.namespace}/${workload.name}`, workload);
      },
    };
  }

  /** S3 read of the offline prefix (and of views' sources outside it), with the platform key through S3. */
  private grantOfflineObjects(workload: Workload): void {
    const p = this.platform;
    add(workload, { Sid: `Features${this.sid}OfflineRead`, Effect: 'Allow', Action: 's3:GetObject', Resource: `${this.offlineBucketArn}/${this.offlinePrefix}/*` });
    add(workload, {
      Sid: `Features${this.sid}OfflineList`,
      Effect: 'Allow',
      Action: 's3:ListBucket',
      Resource: this.offlineBucketArn,
      Condition: { StringLike: { 's3:prefix': [`${this.offlinePrefix}/*`] } },
    });
    add(workload, {
      Sid: `Features${this.sid}OfflineKey`,
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: p.key.arn,
      Condition: {
        StringEquals: { 'kms:ViaService': `s3.${p.region}.amazonaws.com` },
        StringLike: { 'kms:EncryptionContext:aws:s3:arn': [this.offlineBucketArn, `${this.offlineBucketArn}/${this.offlinePrefix}/*`] },
      },
    });
    for (const view of this.viewList) {
      if (workload === this.materializerWorkload && !view.online) continue;
      this.grantExternalSource(workload, view);
    }
  }

  /** Grants S3 (and KMS) read of a view's source when it lies outside the offline store. */
  private grantExternalSource(workload: Workload, view: FeatureView): void {
    const o = view.source._options;
    const m = /^s3:\/\/([^/]+)\/(.*?)\/?$/.exec(o.path);
    if (!m) return; // relative: inside the offline prefix
    const [, bucket, key] = m;
    const bucketArn = `arn:aws:s3:::${bucket}`;
    const sid = `Features${this.sid}Source${sidPart(view.viewName)}`;
    add(workload, { Sid: `${sid}Read`, Effect: 'Allow', Action: 's3:GetObject', Resource: `${bucketArn}/${key}/*` });
    add(workload, { Sid: `${sid}List`, Effect: 'Allow', Action: 's3:ListBucket', Resource: bucketArn, Condition: { StringLike: { 's3:prefix': [`${key}/*`, `${key}/`] } } });
    if (o.kmsKeyArn) {
      add(workload, {
        Sid: `${sid}Key`,
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: o.kmsKeyArn,
        Condition: { StringEquals: { 'kms:ViaService': `s3.${bucketRegion(o.kmsKeyArn)}.amazonaws.com` } },
      });
    }
  }

  private grantExternalGlue(workload: Workload, view: FeatureView): void {
    const p = this.platform;
    const o = view.source._options;
    const glue = (suffix: string) => `arn:aws:glue:${p.region}:${p.account}:${suffix}`;
    add(workload, {
      Sid: `Features${this.sid}Glue${sidPart(view.viewName)}`,
      Effect: 'Allow',
      Action: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartition', 'glue:GetPartitions', 'glue:BatchGetPartition'],
      Resource: [glue('catalog'), glue(`database/${o.database}`), glue(`table/${o.database}/${o.table}`)],
    });
  }

  private deployView(view: FeatureView): void {
    const platform = this.platform;
    const def = { source: this._sourceDefinition(view) };
    const o = view.source._options;
    const location = view.source._kind === 'parquet' && !o.path.startsWith('s3://')
      ? `${this.offlineRoot}/${o.path.replace(/\/+$/, '')}/`
      : `${o.path.replace(/\/+$/, '')}/`;
    let table: GlueCatalogTable | undefined;
    if (view.source._kind === 'parquet') {
      const keyColumns = view.entities.map((e) => ({ name: e.joinKey, type: GLUE_COLUMN_TYPES[e.joinKeyType], comment: `join key of entity ${e.entityName}` }));
      const timeColumns = [view.timestampField, ...(view.createdTimestampField ? [view.createdTimestampField] : [])]
        .map((name, i) => ({ name, type: 'timestamp', comment: i === 0 ? 'event time' : 'created time' }));
      const featureColumns = view.schema.map((f) => ({ name: f.name, type: GLUE_COLUMN_TYPES[f.type], comment: f.description }));
      table = new GlueCatalogTable(platform.cloudScope(view), 'glue-table', {
        name: def.source.table,
        databaseName: this.glueDatabase.name,
        description: `cdk-mlops feature view ${view.viewName} (store ${this.storeName})`,
        tableType: 'EXTERNAL_TABLE',
        parameters: { 'EXTERNAL': 'TRUE', 'classification': 'parquet', 'cdk-mlops:feature-view': view.viewName },
        storageDescriptor: {
          location,
          inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
          serDeInfo: {
            name: 'parquet',
            serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
            parameters: { 'serialization.format': '1' },
          },
          columns: [...keyColumns, ...timeColumns, ...featureColumns],
        },
      });
    }
    this.tables.push({ view, table, location });

    // Readers added before this view also read its source.
    if (view.online) this.grantExternalSource(this.materializerWorkload, view);
    for (const reader of this.offlineReaders) {
      this.grantExternalSource(reader, view);
      if (view.source._kind === 'glue') this.grantExternalGlue(reader, view);
    }

    let cronJobName: string | undefined;
    if (view.schedule !== undefined) {
      cronJobName = kubeName(52, this.storeName, 'materialize', view.viewName);
      const viewLabel = kubeName(63, view.viewName);
      const labels = { ...platform.labels, ...this.materializerWorkload.selector, 'cdk-mlops.io/feature-store': this.storeName, 'cdk-mlops.io/feature-view': viewLabel };
      const cronJob = new k8s.KubeCronJob(platform.clusterScope(view, 'features'), 'materialize', {
        metadata: { name: cronJobName, namespace: this.namespace, labels },
        spec: {
          schedule: view.schedule,
          timeZone: view.timeZone,
          // Runs of one view never overlap: each publishes its watermark atomically, a second
          // concurrent run would only redo the same work.
          concurrencyPolicy: 'Forbid',
          startingDeadlineSeconds: 300,
          successfulJobsHistoryLimit: 3,
          failedJobsHistoryLimit: 3,
          jobTemplate: {
            metadata: { labels },
            spec: {
              backoffLimit: 2,
              activeDeadlineSeconds: view.materializationTimeoutSeconds,
              ttlSecondsAfterFinished: 86_400,
              template: {
                metadata: { labels, annotations: { [CONFIG_CHECKSUM_ANNOTATION]: Lazy.any({ produce: () => this.registryText().checksum }) } },
                spec: runtimePodSpec({
                  workload: this.materializerWorkload,
                  configMapName: this.registryConfigMapName,
                  restartPolicy: 'Never',
                  nodeSelector: this.online.nodes?.nodeSelector,
                  tolerations: this.online.nodes?.tolerations,
                  containers: [runtimeContainer(platform, 'materialize', {
                    args: ['features', 'materialize', '--config', RUNTIME_CONFIG_FILE, '--views', view.viewName],
                    configMapName: this.registryConfigMapName,
                    resources: view.materializationResources ?? this.materializationResources,
                    env: { AWS_REGION: platform.region },
                    secretEnv: this.online.secretEnv,
                  })],
                }),
              },
            },
          },
        },
      });
      this.cronJobs.set(view, cronJob);
    }
    this.inventory.views.push({
      name: view.viewName,
      entities: view.entities.map((e) => e.entityName),
      features: view.schema.length,
      source: def.source,
      location,
      glueTable: `${def.source.database}.${def.source.table}`,
      ttlSeconds: view.ttlSeconds,
      online: view.online,
      schedule: view.schedule,
      cronJob: cronJobName,
    });
  }
}

/** The region of a KMS key ARN. */
function bucketRegion(kmsKeyArn: string): string {
  return kmsKeyArn.split(':')[3];
}

/** Adds a statement unless one with the same Sid is there already. */
function add(workload: Workload, statement: PolicyStatement): void {
  const existing = workload.role.policyStatements.find((s) => s.Sid === statement.Sid);
  if (existing) {
    if (JSON.stringify(existing) !== JSON.stringify(statement)) throw new Error(`IAM statement '${statement.Sid}' of workload '${workload.name}' is granted twice with different contents`);
    return;
  }
  workload.role.addToPolicy(statement);
}
