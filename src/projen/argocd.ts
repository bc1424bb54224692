import { GitOpsEnvironment } from './environments';

/**
 * The Argo CD bootstrap of a GitOps repository, as plain Kubernetes objects (rendered to YAML
 * by the project type). Per environment (each environment's cluster runs its own Argo CD):
 *
 * ```
 * argocd/<env>/bootstrap.yaml               applied once by hand: AppProject <p>-<env>-bootstrap
 *                                           and the root Application <p>-<env>-root (app of apps)
 * argocd/<env>/apps/project.yaml            wave -3  AppProject <p>-<env> (what the apps may touch)
 * argocd/<env>/apps/external-secrets.yaml   wave -2  External Secrets Operator (Helm, CRDs)
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
  /** Version of the External Secrets Operator Helm chart. */
  readonly externalSecretsChartVersion: string;
  /** Cluster-scoped kinds the applications may create, beyond {@link DEFAULT_CLUSTER_RESOURCES}. */
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
 * Cluster-scoped kinds a cdk-mlops platform and its add-ons create: namespaces and the
 * handoff ClusterSecretStore (dist/), the operator's CRDs, RBAC and webhooks (Helm chart).
 */
export const DEFAULT_CLUSTER_RESOURCES: readonly ClusterResource[] = [
  { group: '', kind: 'Namespace' },
  { group: 'admissionregistration.k8s.io', kind: 'ValidatingWebhookConfiguration' },
  { group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' },
  { group: 'external-secrets.io', kind: 'ClusterSecretStore' },
  { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' },
  { group: 'rbac.authorization.k8s.io', kind: 'ClusterRoleBinding' },
];

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
        namespaceResourceWhitelist: [{ group: 'argoproj.io', kind: 'Application' }, { group: 'argoproj.io', kind: 'AppProject' }],
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
  const clusterResources = [...DEFAULT_CLUSTER_RESOURCES, ...s.clusterResources]
    .filter((r, i, all) => all.findIndex((o) => o.group === r.group && o.kind === r.kind) === i)
    .sort((a, b) => a.group.localeCompare(b.group) || a.kind.localeCompare(b.kind));
  const app = (file: string, w: number, spec: Record<string, unknown>): KubeObject => ({
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: { name: `${name}-${file}`, namespace: s.namespace, labels: labels(s, env), annotations: wave(w) },
    spec: { project: name, ...spec },
  });
  return {
    'project.yaml': {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'AppProject',
      metadata: { name, namespace: s.namespace, labels: labels(s, env), annotations: wave(SYNC_WAVES.project) },
      spec: {
        description: `cdk-mlops ${name}: the cluster plane (dist/${env.name}/k8s) and its add-ons`,
        sourceRepos: [s.repositoryUrl, EXTERNAL_SECRETS_CHART_REPO],
        destinations: [
          { server: s.destinationServer, namespace: `${s.platformName}-*` },
          { server: s.destinationServer, namespace: EXTERNAL_SECRETS_NAMESPACE },
        ],
        clusterResourceWhitelist: clusterResources.map((r) => ({ group: r.group, kind: r.kind })),
      },
    },
    'external-secrets.yaml': app('external-secrets', SYNC_WAVES.addons, {
      source: {
        repoURL: EXTERNAL_SECRETS_CHART_REPO,
        chart: 'external-secrets',
        targetRevision: s.externalSecretsChartVersion,
        helm: {
          releaseName: 'external-secrets',
          // The platform's Pod Identity association names this service account (MlPlatform.handoffSecret).
          valuesObject: { installCRDs: true, serviceAccount: { create: true, name: EXTERNAL_SECRETS_NAMESPACE } },
        },
      },
      destination: { server: s.destinationServer, namespace: EXTERNAL_SECRETS_NAMESPACE },
      syncPolicy: { automated: automated(env), syncOptions: ['CreateNamespace=true', 'ServerSideApply=true'] },
    }),
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
