import { GitOpsEnvironment } from './environments';
import { KARPENTER_NAMESPACE, KARPENTER_SERVICE_ACCOUNT, karpenterInterruptionQueueName } from '../constructs/gpu-training-pool/karpenter-names';
import { compareStrings } from '../util/compare';

/**
 * The Argo CD bootstrap of a GitOps repository, as plain Kubernetes objects (rendered to YAML
 * by the project type). Per environment (each environment's cluster runs its own Argo CD):
 *
 * ```
 * argocd/<env>/bootstrap.yaml               applied once by hand: AppProject <p>-<env>-bootstrap
 *                                           and the root Application <p>-<env>-root (app of apps)
 * argocd/<env>/apps/project.yaml            wave -3  AppProject <p>-<env> (what the apps may touch)
 * argocd/<env>/apps/repository-<add-on>.yaml wave -3 the Helm OCI registry an add-on's chart comes from
 *                                                    (an Argo CD repository Secret without credentials)
 * argocd/<env>/apps/<add-on>.yaml           wave -2  cluster add-ons and their CRDs: External Secrets
 *                                                    Operator always, others as configured
 * argocd/<env>/apps/platform.yaml           wave -1  dist/<env>/k8s/platform.yaml: namespaces,
 *                                                    quotas, default-deny policies, secret store
 * argocd/<env>/apps/workloads.yaml          wave  0  the other files of dist/<env>/k8s
 * ```
 *
 * Every Application follows `deploy/<env>`, the branch the deploy workflow moves after
 * `terraform apply` succeeded for that environment: the cluster plane never runs ahead of the
 * cloud plane (roles, parameters) it needs, and it is behind the same approval.
 */
export interface ArgoCdSettings {
  readonly platformName: string;
  readonly environments: readonly GitOpsEnvironment[];
  /** The Git repository Argo CD reads (`https://github.com/acme/ml-platform.git`). */
  readonly repositoryUrl: string;
  /** Prefix of the branches Argo CD syncs (`deploy/`). */
  readonly deployBranchPrefix: string;
  /** Namespace Argo CD runs in. */
  readonly namespace: string;
  /** The cluster Argo CD deploys to (its own: `https://kubernetes.default.svc`). */
  readonly destinationServer: string;
  /** The cluster add-ons (External Secrets Operator included). */
  readonly addons: readonly ClusterAddon[];
  /** Cluster-scoped kinds the applications may create, beyond {@link DEFAULT_CLUSTER_RESOURCES} and the add-ons' own. */
  readonly clusterResources: readonly ClusterResource[];
}

/** A cluster-scoped kind (`group` is '' for the core API). */
export interface ClusterResource {
  readonly group: string;
  readonly kind: string;
}

/** Helm repository of the External Secrets Operator chart. */
export const EXTERNAL_SECRETS_CHART_REPO = 'https://charts.external-secrets.io';
/** Namespace and service account of External Secrets Operator (the platform's Pod Identity association names them). */
export const EXTERNAL_SECRETS_NAMESPACE = 'external-secrets';

/**
 * Cluster-scoped kinds a cdk-mlops platform and any add-on create: namespaces, the handoff
 * ClusterSecretStore and the admission policies guarding retraining (dist/), CRDs, cluster
 * RBAC and validating webhooks (Helm charts).
 */
export const DEFAULT_CLUSTER_RESOURCES: readonly ClusterResource[] = [
  { group: '', kind: 'Namespace' },
  { group: 'admissionregistration.k8s.io', kind: 'ValidatingAdmissionPolicy' },
  { group: 'admissionregistration.k8s.io', kind: 'ValidatingAdmissionPolicyBinding' },
  { group: 'admissionregistration.k8s.io', kind: 'ValidatingWebhookConfiguration' },
  { group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' },
  { group: 'external-secrets.io', kind: 'ClusterSecretStore' },
  { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' },
  { group: 'rbac.authorization.k8s.io', kind: 'ClusterRoleBinding' },
];

/** Annotation of an add-on Application listing the API groups whose CRDs it installs. */
export const PROVIDES_API_GROUPS_ANNOTATION = 'cdk-mlops.io/provides-api-groups';

/** What an add-on's environment-dependent Helm values are computed from. */
export interface AddonContext {
  readonly platformName: string;
  /** The environment (`dev`): its cluster is `<platformName>-<environment>` unless it is an existing one. */
  readonly environment: string;
}

/** What an add-on is, as the Argo CD Application that installs it. */
export interface ClusterAddonSpec {
  /** Application name suffix (`<platform>-<env>-<name>`), DNS-1123. */
  readonly name: string;
  /**
   * Where it comes from, as given: an `https://` Helm repository, an `oci://` registry path
   * (Helm chart in an OCI registry) or a Git URL.
   */
  readonly repoURL: string;
  /** Helm values that differ per environment (cluster name, queue names), merged over the fixed ones. */
  readonly environmentValues?: (context: AddonContext) => Record<string, unknown>;
  /** Namespace its namespaced objects go to; undefined for cluster-scoped objects only (CRDs). */
  readonly namespace?: string;
  /** The Argo CD `source` (a Helm chart or a Git path); an OCI registry's `repoURL` has no scheme there. */
  readonly source: Readonly<Record<string, unknown>>;
  /** API groups whose CRDs it installs (checked against what dist/ uses). */
  readonly apiGroups: readonly string[];
  /** Cluster-scoped kinds it creates beyond {@link DEFAULT_CLUSTER_RESOURCES}. */
  readonly clusterResources: readonly ClusterResource[];
  /** Argo CD sync options. */
  readonly syncOptions: readonly string[];
}

/** Options of a Helm chart add-on. */
export interface HelmAddonOptions {
  /** Application name suffix and Helm release name (DNS-1123). */
  readonly name: string;
  /**
   * Where the chart is: a Helm repository (`https://charts.example.com`) or, for a chart in an
   * OCI registry, the registry path without the chart name (`oci://public.ecr.aws/karpenter` for
   * `oci://public.ecr.aws/karpenter/karpenter`). An OCI chart is read the way every Argo CD 2.x
   * and 3.x does: the Application's `repoURL` without the scheme, and a repository Secret
   * (`argocd/<env>/apps/repository-<name>.yaml`, type `helm`, `enableOCI: "true"`, no
   * credentials: for public registries) that tells Argo CD the URL is an OCI registry.
   * @see https://argo-cd.readthedocs.io/en/stable/user-guide/helm/
   */
  readonly repoURL: string;
  readonly chart: string;
  /** Exact chart version. */
  readonly version: string;
  readonly namespace: string;
  /** @default {} */
  readonly values?: Record<string, unknown>;
  /** API groups whose CRDs the chart installs. @default [] */
  readonly apiGroups?: string[];
  /** Cluster-scoped kinds beyond the defaults. @default [] */
  readonly clusterResources?: ClusterResource[];
  /** Values computed per environment, merged over `values`. @default - none */
  readonly environmentValues?: (context: AddonContext) => Record<string, unknown>;
}

/** Options of {@link ClusterAddon.karpenter}. */
export interface KarpenterAddonOptions {
  /** Chart version (`oci://public.ecr.aws/karpenter/karpenter`); 1.11 supports Kubernetes 1.29 to 1.35. @default '1.11.1' */
  readonly version?: string;
  /**
   * The cluster of an environment (`settings.clusterName`).
   * @default - `<platformName>-<environment>`, the cluster MlPlatform creates
   */
  readonly clusterName?: (environment: string) => string;
  /** Further Helm values, merged over the defaults. @default {} */
  readonly values?: Record<string, unknown>;
}

/** Options of {@link ClusterAddon.kueue}. */
export interface KueueAddonOptions {
  /** Chart version (`oci://registry.k8s.io/kueue/charts/kueue`); >= 0.15 for `kueue.x-k8s.io/v1beta2`. @default '0.16.8' */
  readonly version?: string;
  /** Helm values. @default {} - the chart's defaults */
  readonly values?: Record<string, unknown>;
}

/** Karpenter's chart registry (OCI, public ECR: anonymous pulls). */
export const KARPENTER_CHART_REPO = 'oci://public.ecr.aws/karpenter';
/** Kueue's chart registry (OCI, registry.k8s.io). */
export const KUEUE_CHART_REPO = 'oci://registry.k8s.io/kueue/charts';

/**
 * Software the platform's cluster plane needs in the cluster (operators and their CRDs),
 * installed by Argo CD in the add-ons wave, before the platform's namespaces and workloads.
 * External Secrets Operator (the handoff channel from the cloud plane) is always installed.
 */
export class ClusterAddon {
  /**
   * External Secrets Operator (namespace `external-secrets`, service account `external-secrets`:
   * the names the platform's Pod Identity association grants SSM read to).
   * @param options.version Helm chart version @default '0.20.4'
   */
  public static externalSecrets(options: { readonly version?: string } = {}): ClusterAddon {
    return ClusterAddon.helm({
      name: 'external-secrets',
      repoURL: EXTERNAL_SECRETS_CHART_REPO,
      chart: 'external-secrets',
      version: options.version ?? '0.20.4',
      namespace: EXTERNAL_SECRETS_NAMESPACE,
      values: { installCRDs: true, serviceAccount: { create: true, name: EXTERNAL_SECRETS_NAMESPACE } },
      apiGroups: ['external-secrets.io', 'generators.external-secrets.io'],
    });
  }

  /**
   * kube-prometheus-stack: the Prometheus Operator and its CRDs (ServiceMonitor, PrometheusRule
   * for endpoints and drift monitors), Prometheus and Alertmanager, in namespace `monitoring`
   * with release `kube-prometheus-stack` (what `PrometheusRef.kubePrometheusStack()` expects).
   * Prometheus selects every ServiceMonitor and PrometheusRule; Grafana and the control-plane
   * scrapes EKS does not expose are off.
   * @param options.version Helm chart version @default '77.14.0'
   */
  public static kubePrometheusStack(options: { readonly version?: string; readonly values?: Record<string, unknown> } = {}): ClusterAddon {
    return ClusterAddon.helm({
      name: 'kube-prometheus-stack',
      repoURL: 'https://prometheus-community.github.io/helm-charts',
      chart: 'kube-prometheus-stack',
      version: options.version ?? '77.14.0',
      namespace: 'monitoring',
      values: options.values ?? {
        grafana: { enabled: false },
        kubeControllerManager: { enabled: false },
        kubeScheduler: { enabled: false },
        kubeEtcd: { enabled: false },
        kubeProxy: { enabled: false },
        coreDns: { enabled: false },
        prometheus: { prometheusSpec: { serviceMonitorSelectorNilUsesHelmValues: false, podMonitorSelectorNilUsesHelmValues: false, ruleSelectorNilUsesHelmValues: false } },
      },
      apiGroups: ['monitoring.coreos.com'],
      clusterResources: [{ group: 'admissionregistration.k8s.io', kind: 'MutatingWebhookConfiguration' }],
    });
  }

  /**
   * The Gateway API CRDs (standard channel: Gateway, GatewayClass, HTTPRoute, GRPCRoute,
   * ReferenceGrant) from the kubernetes-sigs/gateway-api repository, for ModelEndpoint's
   * HTTPRoute. A Gateway implementation (and the Gateway the endpoints name) is installed apart.
   * @param options.version release tag @default 'v1.3.0'
   */
  public static gatewayApiCrds(options: { readonly version?: string } = {}): ClusterAddon {
    return new ClusterAddon({
      name: 'gateway-api-crds',
      repoURL: 'https://github.com/kubernetes-sigs/gateway-api.git',
      source: { repoURL: 'https://github.com/kubernetes-sigs/gateway-api.git', targetRevision: options.version ?? 'v1.3.0', path: 'config/crd/standard' },
      apiGroups: ['gateway.networking.k8s.io'],
      clusterResources: [
        { group: 'admissionregistration.k8s.io', kind: 'ValidatingAdmissionPolicy' },
        { group: 'admissionregistration.k8s.io', kind: 'ValidatingAdmissionPolicyBinding' },
      ],
      syncOptions: ['ServerSideApply=true'],
    });
  }

  /**
   * Karpenter v1 (chart `karpenter` from `oci://public.ecr.aws/karpenter`, CRDs of `karpenter.sh`
   * and `karpenter.k8s.aws`) in namespace `karpenter` with ServiceAccount `karpenter`: the names the
   * platform's `KarpenterController` binds its IAM role to (EKS Pod Identity). Per environment,
   * `settings.clusterName` and `settings.interruptionQueue` name that environment's cluster and
   * the queue the controller's EventBridge rules fill. The controller runs on the system nodes
   * (the chart keeps it off Karpenter's own nodes).
   * Chart versions: https://gallery.ecr.aws/karpenter/karpenter (pin one the cluster's
   * Kubernetes version supports: https://karpenter.sh/docs/upgrading/compatibility/).
   */
  public static karpenter(options: KarpenterAddonOptions = {}): ClusterAddon {
    return ClusterAddon.helm({
      name: 'karpenter',
      repoURL: KARPENTER_CHART_REPO,
      chart: 'karpenter',
      version: options.version ?? '1.11.1',
      namespace: KARPENTER_NAMESPACE,
      values: mergeValues({
        serviceAccount: { create: true, name: KARPENTER_SERVICE_ACCOUNT },
        controller: { resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } } },
      }, options.values ?? {}),
      environmentValues: ({ platformName, environment }) => ({
        settings: {
          clusterName: options.clusterName ? options.clusterName(environment) : `${platformName}-${environment}`,
          interruptionQueue: karpenterInterruptionQueueName(platformName, environment),
        },
      }),
      apiGroups: ['karpenter.k8s.aws', 'karpenter.sh'],
      clusterResources: [
        { group: 'karpenter.k8s.aws', kind: 'EC2NodeClass' },
        { group: 'karpenter.sh', kind: 'NodeClaim' },
        { group: 'karpenter.sh', kind: 'NodePool' },
      ],
    });
  }

  /**
   * Kueue (chart `kueue` from `oci://registry.k8s.io/kueue/charts`, namespace `kueue-system`):
   * the admission of GpuTrainingPool's queues. Its cluster-scoped kinds (ClusterQueue,
   * ResourceFlavor, Cohort, WorkloadPriorityClass, Topology, AdmissionCheck), its mutating webhook
   * and visibility APIService, and the PriorityClass each GpuTrainingPool writes beside its
   * queues are whitelisted for the project.
   * Chart versions: https://github.com/kubernetes-sigs/kueue/releases (>= 0.15 serves
   * `kueue.x-k8s.io/v1beta2`, which GpuTrainingPool writes).
   */
  public static kueue(options: KueueAddonOptions = {}): ClusterAddon {
    return ClusterAddon.helm({
      name: 'kueue',
      repoURL: KUEUE_CHART_REPO,
      chart: 'kueue',
      version: options.version ?? '0.16.8',
      namespace: 'kueue-system',
      values: options.values,
      apiGroups: ['kueue.x-k8s.io'],
      clusterResources: [
        { group: 'admissionregistration.k8s.io', kind: 'MutatingWebhookConfiguration' },
        { group: 'apiregistration.k8s.io', kind: 'APIService' },
        ...['AdmissionCheck', 'ClusterQueue', 'Cohort', 'ResourceFlavor', 'Topology', 'WorkloadPriorityClass'].map((kind) => ({ group: 'kueue.x-k8s.io', kind })),
        { group: 'scheduling.k8s.io', kind: 'PriorityClass' },
      ],
    });
  }

  /** Any Helm chart, from a Helm repository (`https://`) or an OCI registry (`oci://`). */
  public static helm(options: HelmAddonOptions): ClusterAddon {
    const oci = typeof options.repoURL === 'string' && options.repoURL.startsWith('oci://');
    return new ClusterAddon({
      name: options.name,
      repoURL: options.repoURL,
      namespace: options.namespace,
      environmentValues: options.environmentValues,
      source: {
        repoURL: oci ? options.repoURL.slice('oci://'.length) : options.repoURL,
        chart: options.chart,
        targetRevision: options.version,
        helm: { releaseName: options.name, ...(options.values && Object.keys(options.values).length ? { valuesObject: options.values } : {}) },
      },
      apiGroups: options.apiGroups ?? [],
      clusterResources: options.clusterResources ?? [],
      syncOptions: ['CreateNamespace=true', 'ServerSideApply=true'],
    });
  }

  private constructor(public readonly spec: ClusterAddonSpec) {}

  /** Whether the chart comes from an OCI registry (and needs a repository Secret in Argo CD). */
  public get isOci(): boolean {
    return typeof this.spec.repoURL === 'string' && this.spec.repoURL.startsWith('oci://');
  }

  /** The Argo CD `source` of the add-on in an environment (with its environment's values). */
  public sourceFor(context: AddonContext): Record<string, unknown> {
    const source = this.spec.source;
    if (!this.spec.environmentValues) return { ...source };
    const helm = (source.helm ?? {}) as Record<string, unknown>;
    const values = mergeValues((helm.valuesObject ?? {}) as Record<string, unknown>, this.spec.environmentValues(context));
    return { ...source, helm: { ...helm, valuesObject: values } };
  }

  /** Problems of this add-on's definition. */
  public problems(): string[] {
    const p: string[] = [];
    const s = this.spec;
    if (!/^[a-z0-9]([a-z0-9-]{0,40}[a-z0-9])?$/.test(s.name ?? '')) p.push(`addons: ${JSON.stringify(s.name)} is not an add-on name; expected a DNS-1123 label of at most 42 characters`);
    if (s.namespace !== undefined && !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(s.namespace)) p.push(`addons.${s.name}.namespace: ${JSON.stringify(s.namespace)} is not a namespace name`);
    const chart = s.source.chart;
    if (typeof s.repoURL !== 'string' || !/^(https|oci):\/\/\S+$/.test(s.repoURL) || (chart === undefined && !s.repoURL.startsWith('https://'))) {
      p.push(`addons.${s.name}.repoURL: ${JSON.stringify(s.repoURL)} is not a chart location; expected an https:// Helm repository or an oci:// registry path${chart === undefined ? ' (a Git source needs https://)' : ''}`);
    } else if (s.repoURL.startsWith('oci://')) {
      const m = /^oci:\/\/([a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d+)?)(\/[a-z0-9._-]+)*$/.exec(s.repoURL);
      if (!m) {
        p.push(`addons.${s.name}.repoURL: ${JSON.stringify(s.repoURL)} is not an OCI registry path; expected oci://<registry host>/<path> in lower case, without a trailing '/', a tag or a digest (e.g. ${JSON.stringify(KARPENTER_CHART_REPO)})`);
      } else if (typeof chart === 'string' && s.repoURL.slice(`oci://${m[1]}/`.length).split('/').length > 1 && s.repoURL.endsWith(`/${chart}`)) {
        // (a single path segment named like the chart is the registry's namespace: oci://public.ecr.aws/karpenter, chart karpenter)
        p.push(`addons.${s.name}.repoURL: ${JSON.stringify(s.repoURL)} ends with the chart name '${chart}'; expected the registry path without it (${JSON.stringify(s.repoURL.slice(0, -chart.length - 1))}) and chart '${chart}'`);
      }
    }
    if (typeof s.source.targetRevision !== 'string' || !/^v?\d+\.\d+\.\d+\S*$/.test(s.source.targetRevision)) {
      p.push(`addons.${s.name}.version: ${JSON.stringify(s.source.targetRevision)} is not an exact version; expected e.g. 1.2.3 (a range would change what is installed without a commit)`);
    }
    return p;
  }
}

/** Deep merge of Helm values: objects merge key by key, anything else (arrays included) from `over`. */
export function mergeValues(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const plain = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = plain(b) && plain(v) ? mergeValues(b, v) : v;
  }
  return out;
}

/** Sync waves of the child applications. */
export const SYNC_WAVES = { project: -3, addons: -2, platform: -1, workloads: 0 } as const;

/** A Kubernetes object. */
export type KubeObject = Record<string, unknown> & { apiVersion: string; kind: string; metadata: Record<string, unknown> };

function labels(s: ArgoCdSettings, env: GitOpsEnvironment): Record<string, string> {
  return { 'app.kubernetes.io/part-of': s.platformName, 'app.kubernetes.io/managed-by': 'cdk-mlops', 'cdk-mlops.io/environment': env.name };
}

function automated(env: GitOpsEnvironment): Record<string, boolean> {
  return { prune: env.prune ?? true, selfHeal: env.selfHeal ?? true };
}

/** The branch Argo CD syncs an environment from. */
export function deployBranch(s: Pick<ArgoCdSettings, 'deployBranchPrefix'>, env: string): string {
  return `${s.deployBranchPrefix}${env}`;
}

function wave(n: number): Record<string, string> {
  return { 'argocd.argoproj.io/sync-wave': String(n) };
}

/** `argocd/<env>/bootstrap.yaml`: the bootstrap project and the root application. */
export function bootstrapObjects(s: ArgoCdSettings, env: GitOpsEnvironment): KubeObject[] {
  const name = `${s.platformName}-${env.name}`;
  // The root application also writes the repository Secrets of OCI add-ons (argocd/<env>/apps).
  const secrets = s.addons.some((a) => a.isOci) ? [{ group: '', kind: 'Secret' }] : [];
  return [
    {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'AppProject',
      metadata: { name: `${name}-bootstrap`, namespace: s.namespace, labels: labels(s, env) },
      spec: {
        description: `cdk-mlops ${name}: the root application, which manages the applications of argocd/${env.name}/apps`,
        sourceRepos: [s.repositoryUrl],
        destinations: [{ server: s.destinationServer, namespace: s.namespace }],
        clusterResourceWhitelist: [],
        namespaceResourceWhitelist: [...secrets, { group: 'argoproj.io', kind: 'Application' }, { group: 'argoproj.io', kind: 'AppProject' }],
      },
    },
    {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Application',
      metadata: { name: `${name}-root`, namespace: s.namespace, labels: labels(s, env) },
      spec: {
        project: `${name}-bootstrap`,
        source: { repoURL: s.repositoryUrl, targetRevision: deployBranch(s, env.name), path: `argocd/${env.name}/apps` },
        destination: { server: s.destinationServer, namespace: s.namespace },
        syncPolicy: { automated: { prune: true, selfHeal: true } },
      },
    },
  ];
}

/** `argocd/<env>/apps/*.yaml`, by file name. */
export function appObjects(s: ArgoCdSettings, env: GitOpsEnvironment): Record<string, KubeObject> {
  const name = `${s.platformName}-${env.name}`;
  const revision = deployBranch(s, env.name);
  const addons = s.addons.map((a) => a.spec);
  const clusterResources = [...DEFAULT_CLUSTER_RESOURCES, ...addons.flatMap((a) => a.clusterResources), ...s.clusterResources]
    .filter((r, i, all) => all.findIndex((o) => o.group === r.group && o.kind === r.kind) === i)
    .sort((a, b) => compareStrings(a.group, b.group) || compareStrings(a.kind, b.kind));
  const addonNamespaces = [...new Set(addons.map((a) => a.namespace).filter((n): n is string => n !== undefined))].sort();
  const sourceRepos = [...new Set(addons.map((a) => a.source.repoURL as string))].sort();
  const app = (file: string, w: number, spec: Record<string, unknown>, annotations: Record<string, string> = {}): KubeObject => ({
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: { name: `${name}-${file}`, namespace: s.namespace, labels: labels(s, env), annotations: { ...wave(w), ...annotations } },
    spec: { project: name, ...spec },
  });
  const objects: Record<string, KubeObject> = {
    'project.yaml': {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'AppProject',
      metadata: { name, namespace: s.namespace, labels: labels(s, env), annotations: wave(SYNC_WAVES.project) },
      spec: {
        description: `cdk-mlops ${name}: the cluster plane (dist/${env.name}/k8s) and its add-ons`,
        sourceRepos: [s.repositoryUrl, ...sourceRepos.filter((r) => r !== s.repositoryUrl)],
        destinations: [
          { server: s.destinationServer, namespace: `${s.platformName}-*` },
          ...addonNamespaces.map((namespace) => ({ server: s.destinationServer, namespace })),
        ],
        clusterResourceWhitelist: clusterResources.map((r) => ({ group: r.group, kind: r.kind })),
      },
    },
    'platform.yaml': app('platform', SYNC_WAVES.platform, {
      source: { repoURL: s.repositoryUrl, targetRevision: revision, path: `dist/${env.name}/k8s`, directory: { include: 'platform.yaml' } },
      destination: { server: s.destinationServer },
      syncPolicy: { automated: automated(env), syncOptions: ['PruneLast=true'] },
    }),
    'workloads.yaml': app('workloads', SYNC_WAVES.workloads, {
      source: { repoURL: s.repositoryUrl, targetRevision: revision, path: `dist/${env.name}/k8s`, directory: { exclude: 'platform.yaml' } },
      destination: { server: s.destinationServer },
      syncPolicy: { automated: automated(env), syncOptions: ['PruneLast=true'] },
    }),
  };
  const context: AddonContext = { platformName: s.platformName, environment: env.name };
  for (const addon of s.addons) {
    const a = addon.spec;
    objects[`${a.name}.yaml`] = app(a.name, SYNC_WAVES.addons, {
      source: addon.sourceFor(context),
      destination: a.namespace === undefined ? { server: s.destinationServer } : { server: s.destinationServer, namespace: a.namespace },
      syncPolicy: { automated: automated(env), syncOptions: [...a.syncOptions] },
    }, a.apiGroups.length ? { [PROVIDES_API_GROUPS_ANNOTATION]: [...a.apiGroups].sort().join(',') } : {});
  }
  // One repository declaration per OCI registry path, named after the first add-on using it.
  const seenRegistries = new Set<string>();
  for (const addon of s.addons.filter((a) => a.isOci)) {
    const url = addon.spec.source.repoURL as string;
    if (seenRegistries.has(url)) continue;
    seenRegistries.add(url);
    objects[`repository-${addon.spec.name}.yaml`] = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: `${name}-repo-${addon.spec.name}`,
        namespace: s.namespace,
        labels: { ...labels(s, env), 'argocd.argoproj.io/secret-type': 'repository' },
        annotations: wave(SYNC_WAVES.project),
      },
      type: 'Opaque',
      // No credentials: the registry is read anonymously. This only tells Argo CD that the URL
      // (without oci://, as the Application's repoURL) is a Helm chart registry over OCI.
      stringData: { name: `${addon.spec.name}-charts`, type: 'helm', url, enableOCI: 'true' },
    };
  }
  return objects;
}

/** The add-ons of a project: External Secrets Operator first (unless given), then the others, each name once. */
export function resolveAddons(addons: readonly ClusterAddon[]): ClusterAddon[] {
  const all = addons.some((a) => a.spec.name === 'external-secrets') ? [...addons] : [ClusterAddon.externalSecrets(), ...addons];
  const seen = new Set<string>();
  for (const a of all) {
    if (seen.has(a.spec.name)) throw new Error(`addons: '${a.spec.name}' is given twice; expected each add-on once`);
    if (['platform', 'workloads', 'project', 'root'].includes(a.spec.name)) throw new Error(`addons: '${a.spec.name}' is reserved for the platform's own applications; expected another name`);
    seen.add(a.spec.name);
  }
  return all;
}

/**
 * Helm values of Argo CD itself (`argocd/values.yaml`): the health check of Application
 * objects, without which the root application does not wait for one wave to be healthy
 * before the next (Argo CD >= 1.8 no longer assesses Applications by default).
 */
export function argoCdValues(): Record<string, unknown> {
  return {
    configs: {
      cm: {
        'resource.customizations.health.argoproj.io_Application': [
          'hs = {}',
          'hs.status = "Progressing"',
          'hs.message = ""',
          'if obj.status ~= nil and obj.status.health ~= nil then',
          '  hs.status = obj.status.health.status',
          '  if obj.status.health.message ~= nil then',
          '    hs.message = obj.status.health.message',
          '  end',
          'end',
          'return hs',
          '',
        ].join('\n'),
      },
    },
  };
}
