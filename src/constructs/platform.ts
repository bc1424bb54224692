import * as crypto from 'node:crypto';
import { Construct, IConstruct } from 'constructs';
import { AwsProvider, LocalBackend, S3Backend, TerraformResource, TerraformStack } from './cloud/cdktf';
import { Cluster, DEFAULT_KUBERNETES_VERSION, PlatformCluster, SUPPORTED_KUBERNETES_VERSIONS, validateCluster } from './cloud/eks';
import { CloudHandoff } from './cloud/handoff';
import { PlatformKey } from './cloud/key';
import { Network, PlatformNetwork, validateNetwork } from './cloud/network';
import { SecureBucket } from './cloud/secure-bucket';
import { WorkloadRole } from './cloud/workload-identity';
import type { ClusterSecretStoreSpec, ExternalSecretSpec } from './cluster/crd-types';
import { ApiObject, Chart, JsonPatch, k8s } from './cluster/k8s';
import { ComputeClaim, ContainerDefaults, NamespaceQuota, PlatformNamespace } from './cluster/namespace';
import { DNS_1123_LABEL, PropValidator } from './errors';
import { POLICY_RULES, PolicySuppression } from './policy/rules';
import { RuntimeImage } from './runtime-image';
import { compareStrings } from '../util/compare';

/** The parts of a platform; each gets its own namespace. */
export enum PlatformPart {
  TRAINING = 'training',
  SERVING = 'serving',
  FEATURES = 'features',
  MONITORING = 'monitoring',
}

/** Where Terraform keeps the state of one environment. */
export class StateBackend {
  /**
   * A local state file, at a path relative to the synthesized `terraform/` folder, so the
   * output never depends on the machine it was made on. For a single operator or a trial.
   * @param path @default 'terraform.tfstate'
   */
  public static local(path: string = 'terraform.tfstate'): StateBackend {
    return new StateBackend('local', { path });
  }

  /**
   * An S3 bucket, encrypted, with S3-native locking (`use_lockfile`, Terraform >= 1.10) and
   * optionally a DynamoDB lock table for older Terraform.
   */
  public static s3(options: S3StateOptions): StateBackend {
    return new StateBackend('s3', options);
  }

  private constructor(
    /** @internal */ public readonly _kind: 'local' | 's3',
    /** @internal */ public readonly _options: { path?: string } & Partial<S3StateOptions>,
  ) {}
}

/** Options of the S3 state backend. */
export interface S3StateOptions {
  /** The state bucket (created outside this program, once per organisation). */
  readonly bucket: string;
  /**
   * Object key of the state.
   * @default '<platformName>/<environment>/terraform.tfstate'
   */
  readonly key?: string;
  /** @default - the platform's region */
  readonly region?: string;
  /**
   * KMS key for the state object.
   * @default - the bucket's default encryption
   */
  readonly kmsKeyId?: string;
  /**
   * A DynamoDB table for locking, for Terraform older than 1.10.
   * @default - S3-native lock file
   */
  readonly dynamodbTable?: string;
}

export interface MlPlatformProps {
  /** Name of the platform: DNS-1123 label, at most 20 characters (`acme-ml`). */
  readonly platformName: string;
  /** Environment: DNS-1123 label, at most 12 characters (`dev`, `staging`, `prod`). */
  readonly environment: string;
  /** AWS region (`eu-west-1`). */
  readonly region: string;
  /** AWS account id, 12 digits. Used for deterministic names and ARNs. */
  readonly account: string;
  /**
   * Kubernetes minor version of the cluster (1.33 to 1.35).
   * @default '1.34'
   */
  readonly kubernetesVersion?: string;
  /** @default Network.create() - a new VPC across 3 zones */
  readonly network?: Network;
  /** @default Cluster.create() - a new EKS cluster with a private endpoint */
  readonly cluster?: Cluster;
  /**
   * Tags for every taggable AWS resource (through the provider's `default_tags`), beside the
   * platform's own `cdk-mlops:platform` and `cdk-mlops:environment`.
   * @default {}
   */
  readonly tags?: Record<string, string>;
  /** @default RuntimeImage.default() */
  readonly runtimeImage?: RuntimeImage;
  /** @default StateBackend.local() */
  readonly stateBackend?: StateBackend;
  /**
   * ResourceQuota of each platform namespace, by part. Parts not listed get the defaults of
   * NamespaceQuota, except `training`, whose default is sized for GPU jobs that Kueue admits
   * (requests 512 CPU / 4Ti memory, limits 1024 CPU / 8Ti, 500 pods): Kueue's ClusterQueues are
   * the real budget there, and the namespace quota must not reject pods Kueue has admitted.
   * @default - see above
   */
  readonly namespaceQuotas?: { readonly [part in PlatformPart]?: NamespaceQuota };
  /**
   * Per-container requests and limits a namespace's LimitRange applies when a container sets none.
   * @default - see ContainerDefaults
   */
  readonly containerDefaults?: ContainerDefaults;
  /**
   * Days after which non-current versions of artefacts are deleted.
   * @default 90
   */
  readonly artifactVersionRetentionDays?: number;
}

/** A workload's identity in both planes: its ServiceAccount and its IAM role. */
export interface Workload {
  readonly name: string;
  readonly namespace: string;
  readonly serviceAccountName: string;
  readonly serviceAccount: k8s.KubeServiceAccount;
  /** Whether its pods get a Kubernetes API token. */
  readonly automountToken: boolean;
  readonly role: WorkloadRole;
  /** Labels to select the workload's pods (for NetworkPolicies). */
  readonly selector: Record<string, string>;
}

export interface AddWorkloadOptions {
  /** Which namespace. */
  readonly part: PlatformPart;
  /** Chart that holds the ServiceAccount. */
  readonly chart: Chart;
  /**
   * Mount a Kubernetes API token into the pods (only for workloads that call the API).
   * @default false
   */
  readonly automountToken?: boolean;
  /**
   * Why the workload needs the API (annotation `cdk-mlops.io/api-access`, required by the
   * K8S-SERVICE-ACCOUNT-TOKEN policy rule when the token is mounted).
   * @default 'the workload calls the Kubernetes API'
   */
  readonly apiAccessReason?: string;
}

/** An inventory entry in platform.json. */
export interface InventoryEntry {
  readonly kind: string;
  readonly name: string;
  readonly [key: string]: unknown;
}

const PLATFORM_SYMBOL = Symbol.for('cdk-mlops.MlPlatform');

/** Default quota of the training namespace: room for what Kueue admits (see `namespaceQuotas`). */
export const TRAINING_NAMESPACE_QUOTA: NamespaceQuota = {
  requestsCpu: '512', requestsMemory: '4Ti', limitsCpu: '1024', limitsMemory: '8Ti', pods: 500,
};
const REGION_RE = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/;

/**
 * One environment of an ML platform: the root a user creates once per environment.
 *
 * It owns the cloud plane (one cdktf stack: network, EKS, keys, the artefact bucket, the
 * handoff parameters) and the cluster plane (cdk8s charts: namespaces with their guard
 * rails, and whatever the capability constructs add). Capability constructs
 * (`ModelRegistry`, `ModelEndpoint`, ...) take the platform as their scope.
 *
 * ```ts
 * const app = new MlApp();
 * const dev = new MlPlatform(app, 'dev', {
 *   platformName: 'acme-ml', environment: 'dev', region: 'eu-west-1', account: '123456789012',
 * });
 * app.synth();
 * ```
 */
export class MlPlatform extends Construct {
  /** Is `x` an MlPlatform? */
  public static isMlPlatform(x: unknown): x is MlPlatform {
    return x !== null && typeof x === 'object' && PLATFORM_SYMBOL in x;
  }

  /** The platform a construct belongs to; throws when it has none. */
  public static of(construct: IConstruct): MlPlatform {
    for (const s of construct.node.scopes.slice().reverse()) {
      if (MlPlatform.isMlPlatform(s)) return s;
    }
    throw new Error(`'${construct.node.path}' is not inside an MlPlatform: pass the platform (or a construct inside it) as scope`);
  }

  public readonly platformName: string;
  public readonly environment: string;
  public readonly region: string;
  public readonly account: string;
  public readonly kubernetesVersion: string;
  public readonly runtimeImage: RuntimeImage;
  /** Tags on every AWS resource. */
  public readonly tags: Record<string, string>;
  /** Labels on every Kubernetes object the platform creates. */
  public readonly labels: Record<string, string>;
  /** `<platformName>-<environment>`: prefix of AWS names. */
  public readonly namePrefix: string;

  /** Escape hatch: the cdktf stack of the cloud plane. */
  public readonly cloudStack: TerraformStack;
  public readonly network: PlatformNetwork;
  public readonly key: PlatformKey;
  public readonly cluster: PlatformCluster;
  /** The artefact bucket (models, prediction logs, offline features). */
  public readonly artifactBucket: SecureBucket;
  public readonly handoff: CloudHandoff;
  /** Escape hatch: the chart holding the platform's own objects (namespaces, policies). */
  public readonly platformChart: Chart;

  private readonly charts = new Map<string, Chart>();
  private readonly namespaces = new Map<PlatformPart, PlatformNamespace>();
  private readonly cloudScopes = new Map<string, Construct>();
  private readonly clusterScopes = new Map<string, Construct>();
  private readonly inventory: InventoryEntry[] = [];
  private readonly workloads = new Map<string, Workload>();
  /** @internal */
  public readonly _suppressions: PolicySuppression[] = [];
  private externalSecretsStore?: string;

  constructor(scope: Construct, id: string, props: MlPlatformProps) {
    super(scope, id);
    Object.defineProperty(this, PLATFORM_SYMBOL, { value: true });

    const v = new PropValidator(this);
    v.check(typeof props.platformName === 'string' && DNS_1123_LABEL.test(props.platformName) && props.platformName.length <= 20,
      'platformName', props.platformName, "must be a DNS-1123 label of at most 20 characters: lower-case letters, digits and '-', starting and ending with a letter or digit");
    v.check(typeof props.environment === 'string' && DNS_1123_LABEL.test(props.environment) && props.environment.length <= 12,
      'environment', props.environment, "must be a DNS-1123 label of at most 12 characters (e.g. 'dev', 'prod')");
    v.check(typeof props.region === 'string' && REGION_RE.test(props.region), 'region', props.region, "must be an AWS region like 'eu-west-1'");
    v.check(typeof props.account === 'string' && /^\d{12}$/.test(props.account), 'account', props.account, 'must be a 12-digit AWS account id');
    const kubernetesVersion = props.kubernetesVersion ?? DEFAULT_KUBERNETES_VERSION;
    v.check((SUPPORTED_KUBERNETES_VERSIONS as readonly string[]).includes(kubernetesVersion), 'kubernetesVersion', kubernetesVersion,
      `must be a supported Kubernetes minor version: ${SUPPORTED_KUBERNETES_VERSIONS.join(', ')}`);
    const network = props.network ?? Network.create();
    validateNetwork(v, network);
    const cluster = props.cluster ?? Cluster.create();
    validateCluster(v, cluster);
    const runtimeImage = props.runtimeImage ?? RuntimeImage.default();
    runtimeImage.problems().forEach((p) => v.fail('runtimeImage', runtimeImage.reference, p));
    for (const [k, val] of Object.entries(props.tags ?? {})) {
      v.check(k.length >= 1 && k.length <= 128 && !k.startsWith('aws:'), `tags.${k}`, k, "must be a tag key of 1-128 characters not starting with 'aws:'");
      v.check(typeof val === 'string' && val.length <= 256, `tags.${k}`, val, 'must be a string of at most 256 characters');
    }
    const retention = props.artifactVersionRetentionDays ?? 90;
    v.check(Number.isInteger(retention) && retention >= 1, 'artifactVersionRetentionDays', retention, 'must be a whole number of days >= 1');
    const backend = props.stateBackend ?? StateBackend.local();
    if (backend._kind === 'local') {
      const p = backend._options.path ?? '';
      v.check(p.length > 0 && !p.startsWith('/') && !/^[A-Za-z]:/.test(p), 'stateBackend.path', p, 'must be a relative path (the synthesized output must not depend on the machine)');
    } else {
      v.check(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(backend._options.bucket ?? ''), 'stateBackend.bucket', backend._options.bucket, 'must be an S3 bucket name');
    }
    v.throwIfAny();

    this.platformName = props.platformName;
    this.environment = props.environment;
    this.region = props.region;
    this.account = props.account;
    this.kubernetesVersion = kubernetesVersion;
    this.runtimeImage = runtimeImage;
    this.namePrefix = `${props.platformName}-${props.environment}`;
    this.tags = {
      ...props.tags,
      'cdk-mlops:platform': props.platformName,
      'cdk-mlops:environment': props.environment,
      'cdk-mlops:managed-by': 'cdk-mlops',
    };
    this.labels = {
      'app.kubernetes.io/part-of': props.platformName,
      'app.kubernetes.io/managed-by': 'cdk-mlops',
      'cdk-mlops.io/environment': props.environment,
    };

    // ---- cloud plane ----
    this.cloudStack = new TerraformStack(this, 'cloud');
    if (backend._kind === 'local') {
      new LocalBackend(this.cloudStack, { path: backend._options.path });
    } else {
      const o = backend._options as S3StateOptions;
      const s3 = new S3Backend(this.cloudStack, {
        bucket: o.bucket,
        key: o.key ?? `${props.platformName}/${props.environment}/terraform.tfstate`,
        region: o.region ?? props.region,
        encrypt: true,
        kmsKeyId: o.kmsKeyId,
        dynamodbTable: o.dynamodbTable,
      });
      // S3-native locking (Terraform >= 1.10); cdktf 0.21 predates the typed field.
      if (!o.dynamodbTable) s3.addOverride('use_lockfile', true);
    }
    new AwsProvider(this.cloudStack, 'aws', {
      region: props.region,
      allowedAccountIds: [props.account],
      defaultTags: [{ tags: this.tags }],
    });
    const clusterName = cluster._existing?.clusterName ?? this.namePrefix;
    this.key = new PlatformKey(this.cloudStack, 'platform-key', {
      alias: this.namePrefix,
      description: `cdk-mlops ${this.namePrefix}: EKS secrets, artefacts, logs, parameters`,
      account: props.account,
      region: props.region,
    });
    this.network = new PlatformNetwork(this.cloudStack, 'network', { network, namePrefix: this.namePrefix, clusterName, kmsKeyArn: this.key.arn, region: props.region });
    this.cluster = new PlatformCluster(this.cloudStack, 'cluster', {
      cluster,
      clusterName,
      kubernetesVersion,
      subnetIds: this.network.privateSubnetIds,
      kmsKeyArn: this.key.arn,
      namePrefix: this.namePrefix,
      account: props.account,
      region: props.region,
      tags: this.tags,
    });
    this.artifactBucket = new SecureBucket(this.cloudStack, 'artifacts', {
      bucketName: this.resourceName(63, 'artifacts', shortHash(`${props.account}/${props.region}`)),
      kmsKeyArn: this.key.arn,
      noncurrentVersionExpirationDays: retention,
    });
    this.handoff = new CloudHandoff(this.cloudStack, 'handoff', {
      prefix: `/cdk-mlops/${props.platformName}/${props.environment}`,
      kmsKeyArn: this.key.arn,
      account: props.account,
      region: props.region,
    });
    this.handoff.publish('cluster/endpoint', this.cluster.endpoint, { description: 'EKS API endpoint' });
    this.handoff.publish('cluster/certificate-authority', this.cluster.certificateAuthorityData, { description: 'EKS cluster CA (base64)' });

    // ---- cluster plane ----
    this.platformChart = this.chart('platform');
    for (const part of Object.values(PlatformPart)) {
      this.namespaces.set(part, new PlatformNamespace(this.platformChart, `ns-${part}`, {
        name: `${props.platformName}-${part}`,
        labels: { ...this.labels, 'cdk-mlops.io/part': part },
        kubernetesVersion,
        quota: props.namespaceQuotas?.[part] ?? (part === PlatformPart.TRAINING ? TRAINING_NAMESPACE_QUOTA : undefined),
        containerDefaults: props.containerDefaults,
      }));
    }
  }

  /**
   * A deterministic AWS resource name `<platform>-<environment>-<parts...>`, cut to
   * `maxLength` with a stable hash suffix when too long.
   */
  public resourceName(maxLength: number, ...parts: string[]): string {
    const full = [this.namePrefix, ...parts].join('-').toLowerCase();
    if (full.length <= maxLength) return full;
    const hash = shortHash(full);
    return `${full.slice(0, maxLength - hash.length - 1).replace(/-+$/, '')}-${hash}`;
  }

  /** The namespace name of a platform part. */
  public namespace(part: PlatformPart): string {
    return this.namespaces.get(part)!.name;
  }

  /**
   * Records that `owner` may request up to `gpus` GPUs at once in a part's namespace, so that the
   * namespace's ResourceQuota admits them (`requests.nvidia.com/gpu` is the sum of the claims
   * unless `namespaceQuotas` pins it, in which case synthesis fails when the claims exceed it).
   */
  public claimNamespaceGpus(part: PlatformPart, owner: IConstruct, gpus: number): void {
    this.namespaces.get(part)!.claimGpus(owner.node.path, gpus);
  }

  /**
   * Records that `owner` may hold this much compute at once in a part's namespace (CPU in cores,
   * memory in bytes): the namespace's ResourceQuota grows to hold it where `namespaceQuotas`
   * leaves a field unset, and synthesis fails where a set field is too small.
   */
  public claimNamespaceCompute(part: PlatformPart, owner: IConstruct, compute: ComputeClaim): void {
    this.namespaces.get(part)!.claimCompute(owner.node.path, compute);
  }

  /**
   * The cdk8s chart that becomes `k8s/<name>.yaml`; created on first use. Capability
   * constructs put their objects in a chart of their own so files stay small and stable.
   */
  public chart(name: string): Chart {
    let c = this.charts.get(name);
    if (!c) {
      const v = new PropValidator(this);
      v.check(DNS_1123_LABEL.test(name), 'chart', name, 'must be a DNS-1123 label (it names dist/<env>/k8s/<chart>.yaml)');
      v.throwIfAny();
      c = new Chart(this, `k8s-${name}`, { labels: this.labels, disableResourceNameHashes: true });
      this.charts.set(name, c);
    }
    return c;
  }

  /** Every chart, sorted by name. */
  public get allCharts(): { name: string; chart: Chart }[] {
    return [...this.charts.entries()].sort(([a], [b]) => compareStrings(a, b)).map(([name, chart]) => ({ name, chart }));
  }

  /**
   * A scope inside the cloud stack that mirrors `owner`'s path below the platform, so that
   * Terraform logical ids follow construct ids (stable when code moves between files).
   */
  public cloudScope(owner: IConstruct): Construct {
    return this.mirrorScope(this.cloudScopes, this.cloudStack, owner);
  }

  /** A scope inside chart `chartName` that mirrors `owner`'s path below the platform. */
  public clusterScope(owner: IConstruct, chartName: string): Construct {
    return this.mirrorScope(this.clusterScopes, this.chart(chartName), owner, chartName);
  }

  private mirrorScope(cache: Map<string, Construct>, root: Construct, owner: IConstruct, salt = ''): Construct {
    const rel = this.relativePath(owner);
    const key = `${salt}:${rel.join('/')}`;
    let scope = cache.get(key);
    if (!scope) {
      let parent: Construct = root;
      for (const id of rel) {
        parent = (parent.node.tryFindChild(id) as Construct | undefined) ?? new Construct(parent, id);
      }
      scope = parent;
      cache.set(key, scope);
    }
    return scope;
  }

  private relativePath(owner: IConstruct): string[] {
    const scopes = owner.node.scopes;
    const i = scopes.indexOf(this);
    if (i < 0) throw new Error(`'${owner.node.path}' is not inside platform '${this.node.path}'`);
    return scopes.slice(i + 1).map((s) => s.node.id);
  }

  /**
   * Creates a workload's identity: a ServiceAccount (no API token unless asked) in the part's
   * namespace and an IAM role bound to it through EKS Pod Identity. `name` is the workload's
   * name within the namespace (DNS-1123).
   */
  public addWorkload(owner: IConstruct, name: string, options: AddWorkloadOptions): Workload {
    const namespace = this.namespace(options.part);
    const key = `${namespace}/${name}`;
    const v = new PropValidator(owner);
    v.check(DNS_1123_LABEL.test(name) && name.length <= 40, 'workload name', name, 'must be a DNS-1123 label of at most 40 characters');
    v.check(!this.workloads.has(key), 'workload name', name, `must be unique in namespace '${namespace}' (a workload of that name already exists)`);
    v.throwIfAny();
    const scope = this.clusterScope(owner, options.chart.node.id.replace(/^k8s-/, ''));
    const selector = { 'app.kubernetes.io/name': name, 'app.kubernetes.io/instance': `${this.platformName}-${name}` };
    const automountToken = options.automountToken ?? false;
    const serviceAccount = new k8s.KubeServiceAccount(scope, `${name}-sa`, {
      metadata: {
        name,
        namespace,
        labels: { ...this.labels, ...selector },
        annotations: automountToken ? { 'cdk-mlops.io/api-access': options.apiAccessReason ?? 'the workload calls the Kubernetes API' } : undefined,
      },
      automountServiceAccountToken: automountToken,
    });
    const role = new WorkloadRole(this.cloudScope(owner), `${name}-role`, {
      roleName: this.resourceName(64, options.part, name),
      account: this.account,
      clusterName: this.cluster.clusterName,
      clusterArn: this.cluster.clusterArn,
      namespace,
      serviceAccountName: name,
    });
    const w: Workload = { name, namespace, serviceAccountName: name, serviceAccount, automountToken, role, selector };
    this.workloads.set(key, w);
    return w;
  }

  /** Workloads defined so far, sorted by namespace/name. */
  public get allWorkloads(): Workload[] {
    return [...this.workloads.entries()].sort(([a], [b]) => compareStrings(a, b)).map(([, w]) => w);
  }

  /**
   * The cluster side of the handoff channel: an ExternalSecret that materialises the given
   * handoff keys as a Kubernetes Secret `name` in `namespace` (data keys: the handoff key with
   * '/' turned into '-'). Creates, once, the ClusterSecretStore reading the platform's SSM
   * prefix and the Pod Identity role External Secrets Operator uses for it.
   */
  public handoffSecret(chartName: string, namespace: string, name: string, keys: string[]): ApiObject {
    const store = this.ensureSecretStore();
    const entries = keys.map((k) => this.handoff.entry(k));
    return new ApiObject(this.chart(chartName), `handoff-${namespace}-${name}`, {
      apiVersion: 'external-secrets.io/v1',
      kind: 'ExternalSecret',
      metadata: { name, namespace, labels: this.labels },
      spec: {
        refreshInterval: '1h',
        secretStoreRef: { kind: 'ClusterSecretStore', name: store },
        target: { name, creationPolicy: 'Owner', deletionPolicy: 'Retain' },
        data: entries.map((e) => ({ secretKey: e.key.replace(/\//g, '-'), remoteRef: { key: e.parameterName } })),
      } satisfies ExternalSecretSpec,
    });
  }

  private ensureSecretStore(): string {
    if (this.externalSecretsStore) return this.externalSecretsStore;
    const name = `${this.platformName}-handoff`;
    const role = new WorkloadRole(this.cloudStack, 'external-secrets-role', {
      roleName: this.resourceName(64, 'external-secrets'),
      account: this.account,
      clusterName: this.cluster.clusterName,
      clusterArn: this.cluster.clusterArn,
      namespace: 'external-secrets',
      serviceAccountName: 'external-secrets',
    });
    role.addToPolicy({ Sid: 'ReadHandoffParameters', Effect: 'Allow', Action: ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath'], Resource: this.handoff.parametersArn });
    role.addToPolicy({ Sid: 'DecryptHandoffParameters', Effect: 'Allow', Action: 'kms:Decrypt', Resource: this.key.arn, Condition: { StringEquals: { 'kms:ViaService': `ssm.${this.region}.amazonaws.com` } } });
    new ApiObject(this.platformChart, 'handoff-store', {
      apiVersion: 'external-secrets.io/v1',
      kind: 'ClusterSecretStore',
      metadata: { name, labels: this.labels },
      spec: {
        provider: { aws: { service: 'ParameterStore', region: this.region } },
        conditions: [{ namespaceSelector: { matchLabels: { 'app.kubernetes.io/part-of': this.platformName } } }],
      } satisfies ClusterSecretStoreSpec,
    });
    this.externalSecretsStore = name;
    return name;
  }

  /**
   * Escape hatch for one field: a Terraform resource gets `addOverride(path, value)` (path in
   * Terraform's snake_case, dot-separated), a Kubernetes object a JSON patch at the
   * dot-separated path.
   */
  public override(target: TerraformResource | ApiObject, path: string, value: unknown): void {
    if (target instanceof TerraformResource) {
      target.addOverride(path, value);
    } else {
      target.addJsonPatch(JsonPatch.add(`/${path.split('.').map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`, value));
    }
  }

  /** Records an entry of platform.json's inventory (models, endpoints, features, monitors). */
  public addInventory(entry: InventoryEntry): void {
    this.inventory.push(entry);
  }

  /** The inventory, sorted by kind then name. */
  public get inventoryEntries(): InventoryEntry[] {
    return [...this.inventory].sort((a, b) => compareStrings(a.kind, b.kind) || compareStrings(a.name, b.name));
  }

  /**
   * Suppresses one policy finding, with a reason that is written to platform.json and
   * printed by `synth`. `target` is the resource address (`aws_s3_bucket.x`) or the
   * Kubernetes object (`Kind/namespace/name`) the finding names; `*` for every target.
   */
  public suppressPolicy(ruleId: string, target: string, reason: string): void {
    const v = new PropValidator(this);
    v.check(ruleId in POLICY_RULES, 'suppressPolicy.ruleId', ruleId, `must be a policy rule id: ${Object.keys(POLICY_RULES).join(', ')}`);
    v.check(typeof target === 'string' && target.length > 0, 'suppressPolicy.target', target, "must name the finding's target ('aws_s3_bucket.x', 'Kind/namespace/name') or '*'");
    v.check(typeof reason === 'string' && reason.trim().length >= 10, 'suppressPolicy.reason', reason ?? '', `needs a reason of at least 10 characters (suppressing '${ruleId}' on '${target}')`);
    v.throwIfAny();
    this._suppressions.push({ ruleId, target, reason: reason.trim() });
  }
}

/** 8 hex characters of sha256: a stable suffix. */
export function shortHash(text: string): string {
  return crypto.createHash('sha256').update(text).digest('hex').slice(0, 8);
}
