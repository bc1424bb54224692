import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelPins, PlatformSynthesis, synthesisFiles } from 'cdk-mlops';
import * as YAML from 'yaml';
import { createApp, FEATURES, GPU_POOL, MODELS, PINS_FILE } from '../src/app';
import { environments, PLATFORM_NAME } from '../src/environments';

/**
 * The platform's tests. They synthesize every environment in memory (nothing is written) and
 * check it: the committed dist/ is exactly that output (the snapshot), properties that matter
 * (targeted assertions), and policy (suppressions, what Argo CD may apply). Add your own below.
 */
const ROOT = path.join(__dirname, '..');
let results: PlatformSynthesis[];

beforeAll(() => {
  results = createApp().synthesizeAll();
});

function result(env: string): PlatformSynthesis {
  const r = results.find((x) => x.environment === env);
  if (!r) throw new Error(`environment '${env}' was not synthesized`);
  return r;
}

/** Files under dir, by relative path; skips what Terraform writes there (dot folders, state, plans). */
function readTree(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  if (!fs.existsSync(dir)) return out;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || /\.tfstate(\.backup)?$|\.tfplan$|^tfplan$/.test(entry.name)) continue;
    const rel = `${prefix}${entry.name}`;
    if (entry.isDirectory()) Object.assign(out, readTree(path.join(dir, entry.name), `${rel}/`));
    else out[rel] = fs.readFileSync(path.join(dir, entry.name), 'utf8');
  }
  return out;
}

describe('snapshot: the committed dist/ is what the program synthesizes', () => {
  test.each(environments.map((e) => e.name))('%s', (env) => {
    const expected = synthesisFiles(result(env));
    const actual = readTree(path.join(ROOT, 'dist', env));
    const stale = [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort()
      .filter((f) => expected[f] !== actual[f])
      .map((f) => `dist/${env}/${f}: ${actual[f] === undefined ? 'missing' : expected[f] === undefined ? 'not synthesized any more' : 'differs'}`);
    if (stale.length) stale.push("run 'npx projen synth' (and 'npx projen diff' to see what changed), then commit dist/");
    expect(stale).toEqual([]);
  });

  test('no environment folder in dist/ is left over from a removed environment', () => {
    const folders = fs.readdirSync(path.join(ROOT, 'dist'), { withFileTypes: true }).filter((d) => d.isDirectory() && !d.name.startsWith('.')).map((d) => d.name);
    expect(folders.sort()).toEqual(environments.map((e) => e.name).sort());
  });
});

describe('targeted assertions', () => {
  test.each(environments)('$name deploys to its own account and region only', (env) => {
    const r = result(env.name);
    expect(r.inventory).toMatchObject({ platform: PLATFORM_NAME, environment: env.name, account: env.account, region: env.region });
    const provider = (r.terraform.provider as { aws: { allowed_account_ids: string[]; region: string }[] }).aws[0];
    expect(provider.allowed_account_ids).toEqual([env.account]);
    expect(provider.region).toBe(env.region);
  });

  test.each(environments)('$name keeps Terraform state in S3, encrypted and locked', (env) => {
    const backend = (result(env.name).terraform.terraform as { backend: { s3?: Record<string, unknown> } }).backend;
    expect(backend.s3).toMatchObject({ bucket: `${PLATFORM_NAME}-tfstate-${env.account}`, key: `${PLATFORM_NAME}/${env.name}/terraform.tfstate`, encrypt: true, use_lockfile: true });
  });

  test.each(environments)('$name: the EKS API endpoint is private and secrets are encrypted', (env) => {
    const clusters = Object.values((result(env.name).terraform.resource as { aws_eks_cluster: Record<string, { vpc_config: { endpoint_public_access: boolean }; encryption_config: unknown }> }).aws_eks_cluster);
    expect(clusters).toHaveLength(1);
    expect(clusters[0].vpc_config.endpoint_public_access).toBe(false);
    expect(clusters[0].encryption_config).toMatchObject({ resources: ['secrets'] });
  });

  test('every model is pinned for every environment, at a version >= 1', () => {
    const pins = ModelPins.fromFile(PINS_FILE);
    for (const model of MODELS) {
      for (const env of environments) expect(pins.version(model, env.name)).toBeGreaterThanOrEqual(1);
    }
    expect(pins.models).toEqual([...MODELS].sort());
  });

  test('every environment has the same settings (so that a promotion can copy them), with valid replica bounds', () => {
    const pins = ModelPins.fromFile(PINS_FILE);
    const names = pins.settingNames(environments[0].name);
    for (const env of environments) {
      expect(pins.settingNames(env.name)).toEqual(names);
      const [min, max] = [pins.numberSetting('minReplicas', env.name), pins.numberSetting('maxReplicas', env.name)];
      expect(min).toBeGreaterThanOrEqual(1);
      expect(max).toBeGreaterThanOrEqual(min);
    }
  });

  test.each(environments)('$name: every endpoint is enriched by the feature service and scales within the replica bounds of pins.json', (env) => {
    const pins = ModelPins.fromFile(PINS_FILE);
    const capabilities = result(env.name).inventory.capabilities as { kind: string; name: string; [k: string]: unknown }[];
    const stores = capabilities.filter((c) => c.kind === 'feature-store') as unknown as { entities: { name: string }[]; views: { name: string }[]; services: { name: string }[] }[];
    expect(stores).toHaveLength(1);
    expect(stores[0].entities.map((e) => e.name)).toEqual([FEATURES.entity.name]);
    expect(stores[0].views.map((v) => v.name)).toEqual([FEATURES.view.name]);
    expect(stores[0].services.map((v) => v.name)).toEqual([FEATURES.service]);
    const endpoints = capabilities.filter((c) => c.kind === 'endpoint') as unknown as { name: string; featureService?: string; scaling: { minReplicas: number; maxReplicas: number } }[];
    expect(endpoints.map((e) => e.name).sort()).toEqual([...MODELS].sort());
    for (const e of endpoints) {
      expect(e.featureService).toBe(FEATURES.service);
      expect(e.scaling).toMatchObject({ minReplicas: pins.numberSetting('minReplicas', env.name), maxReplicas: pins.numberSetting('maxReplicas', env.name) });
    }
  });

  test.each(environments)('$name: a GPU pool from zero (Karpenter, Spot or on-demand as the environment says) with a Kueue queue', (env) => {
    type Manifest = { kind: string; metadata: { name: string; namespace?: string }; spec: Record<string, any> };
    const objects = Object.values(result(env.name).kubernetes).flat() as unknown as Manifest[];
    const fullName = `${PLATFORM_NAME}-${GPU_POOL.name}`;
    const nodePools = objects.filter((o) => o.kind === 'NodePool');
    expect(nodePools.map((o) => o.metadata.name)).toEqual([fullName]);
    const requirements = nodePools[0].spec.template.spec.requirements as { key: string; values: string[] }[];
    expect(requirements.find((r) => r.key === 'karpenter.k8s.aws/instance-family')?.values).toEqual([...GPU_POOL.instanceFamilies].sort());
    expect(requirements.find((r) => r.key === 'karpenter.sh/capacity-type')?.values).toEqual([env.gpu.spot ? 'spot' : 'on-demand']);
    expect(nodePools[0].spec.limits).toEqual({ 'nvidia.com/gpu': env.gpu.maxGpus });
    // only empty nodes go away, and nothing but GPU work lands there
    expect(nodePools[0].spec.disruption.consolidationPolicy).toBe('WhenEmpty');
    expect(nodePools[0].spec.template.spec.taints).toEqual([{ key: 'nvidia.com/gpu', value: 'true', effect: 'NoSchedule' }]);
    const queues = objects.filter((o) => o.kind === 'LocalQueue');
    expect(queues.map((q) => `${q.metadata.namespace}/${q.metadata.name}`)).toEqual([`${PLATFORM_NAME}-training/${GPU_POOL.name}-default`]);
    const clusterQueue = objects.find((o) => o.kind === 'ClusterQueue')!;
    expect(clusterQueue.spec.resourceGroups[0].flavors[0].resources.find((r: { name: string }) => r.name === 'nvidia.com/gpu').nominalQuota).toBe(env.gpu.maxGpus);
  });

  test.each(environments)("$name: Karpenter's cloud half and its add-on agree: cluster, interruption queue, Pod Identity namespace and ServiceAccount", (env) => {
    const resources = result(env.name).terraform.resource as Record<string, Record<string, Record<string, any>>>;
    const queues = Object.values(resources.aws_sqs_queue ?? {});
    expect(queues).toHaveLength(1);
    expect(queues[0].sqs_managed_sse_enabled).toBe(true);
    expect(Object.values(resources.aws_cloudwatch_event_rule ?? {})).toHaveLength(4);
    const association = Object.values(resources.aws_eks_pod_identity_association).find((a) => a.service_account === 'karpenter');
    const app = YAML.parse(fs.readFileSync(path.join(ROOT, 'argocd', env.name, 'apps', 'karpenter.yaml'), 'utf8')) as { spec: { destination: { namespace: string }; source: { helm: { valuesObject: Record<string, any> } } } };
    const values = app.spec.source.helm.valuesObject;
    expect(values.settings).toEqual({ clusterName: association!.cluster_name, interruptionQueue: queues[0].name });
    expect(app.spec.destination.namespace).toBe(association!.namespace);
    expect(values.serviceAccount.name).toBe(association!.service_account);
  });

  test('a model is never served in a later environment at a version newer than in the one before it', () => {
    const pins = ModelPins.fromFile(PINS_FILE);
    const skipped: string[] = [];
    for (const model of MODELS) {
      for (let i = 1; i < environments.length; i++) {
        const [before, env] = [environments[i - 1].name, environments[i].name];
        if (pins.version(model, env) > pins.version(model, before)) {
          skipped.push(`${model}: ${env} pins ${pins.version(model, env)}, newer than ${before} (${pins.version(model, before)}); promote through ${before} first`);
        }
      }
    }
    expect(skipped).toEqual([]);
  });
});

describe('policy', () => {
  /**
   * Policy findings suppressed on purpose, per environment, as `<rule> <target>`. A new
   * suppression fails this test until it is added here, so that it gets reviewed.
   */
  const REVIEWED_SUPPRESSIONS: Record<string, string[]> = Object.fromEntries(environments.map((e) => [e.name, [
    // The NVIDIA device plugin registers its socket in the host's /var/lib/kubelet/device-plugins
    // (hostPath, root-owned), which needs uid 0; it drops every capability, cannot escalate, has a
    // read-only root filesystem, no API token and no network, and runs only on the GPU pool's nodes
    // in the privileged namespace <platform>-gpu-system (the reason is in dist/<env>/platform.json).
    `K8S-NON-ROOT DaemonSet/${PLATFORM_NAME}-gpu-system/nvidia-device-plugin-${GPU_POOL.name}`,
  ]]));

  test.each(environments.map((e) => e.name))('%s: no policy suppression beyond the reviewed ones', (env) => {
    const suppressed = result(env).suppressed.map((s) => `${s.ruleId} ${s.target}`).sort();
    expect(suppressed).toEqual([...(REVIEWED_SUPPRESSIONS[env] ?? [])].sort());
  });

  /** API groups every Kubernetes cluster serves; any other group needs an add-on that installs its CRDs. */
  const BUILT_IN_GROUPS = new Set(['', 'admissionregistration.k8s.io', 'apps', 'autoscaling', 'batch', 'coordination.k8s.io', 'discovery.k8s.io',
    'networking.k8s.io', 'node.k8s.io', 'policy', 'rbac.authorization.k8s.io', 'scheduling.k8s.io', 'storage.k8s.io']);

  test.each(environments.map((e) => e.name))('%s: every API group of dist/<env>/k8s is built in or installed by an add-on', (env) => {
    const appsDir = path.join(ROOT, 'argocd', env, 'apps');
    const provided = new Set(fs.readdirSync(appsDir).flatMap((f) => {
      const app = YAML.parse(fs.readFileSync(path.join(appsDir, f), 'utf8')) as { metadata: { annotations?: Record<string, string> } };
      return (app.metadata.annotations?.['cdk-mlops.io/provides-api-groups'] ?? '').split(',').filter(Boolean);
    }));
    const missing = new Set<string>();
    for (const objects of Object.values(result(env).kubernetes)) {
      for (const o of objects) {
        const group = o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : '';
        if (!BUILT_IN_GROUPS.has(group) && !provided.has(group)) missing.add(`${o.kind} (${o.apiVersion}): no add-on installs '${group}'; add one to addons in .projenrc.ts`);
      }
    }
    expect([...missing].sort()).toEqual([]);
  });

  test.each(environments.map((e) => e.name))('%s: Argo CD may apply every object of dist/<env>/k8s', (env) => {
    const project = YAML.parse(fs.readFileSync(path.join(ROOT, 'argocd', env, 'apps', 'project.yaml'), 'utf8')) as {
      spec: { destinations: { namespace: string }[]; clusterResourceWhitelist: { group: string; kind: string }[] };
    };
    const allowedKinds = new Set(project.spec.clusterResourceWhitelist.map((r) => `${r.group}/${r.kind}`));
    const namespaceGlobs = project.spec.destinations.map((d) => new RegExp(`^${d.namespace.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`));
    const refused: string[] = [];
    for (const objects of Object.values(result(env).kubernetes)) {
      for (const o of objects) {
        const group = o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : '';
        const ns = o.metadata.namespace;
        if (ns === undefined && !allowedKinds.has(`${group}/${o.kind}`)) refused.push(`${o.kind} ${o.metadata.name}: cluster-scoped kind ${group || 'core'}/${o.kind} is not in the project's clusterResourceWhitelist (argoCdClusterResources in .projenrc.ts)`);
        if (ns !== undefined && !namespaceGlobs.some((g) => g.test(ns))) refused.push(`${o.kind} ${ns}/${o.metadata.name}: namespace '${ns}' is not a destination of the project`);
      }
    }
    expect(refused).toEqual([]);
  });
});
