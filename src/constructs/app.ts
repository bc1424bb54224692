import * as fs from 'node:fs';
import * as path from 'node:path';
import { App as Cdk8sApp, Yaml } from 'cdk8s';
import { IConstruct } from 'constructs';
import { invokeAspects } from './cloud/cdktf';
import { MlopsValidationError, PropProblem } from './errors';
import { MlPlatform } from './platform';
import { applySuppressions, checkKubernetes, checkTerraform, PolicyFinding, POLICY_RULES } from './policy/rules';
import { compareStrings } from '../util/compare';

/** Schema version of platform.json. */
export const INVENTORY_SCHEMA_VERSION = 1;

/** A Kubernetes object as synthesized. */
export type KubeObject = Record<string, unknown> & { apiVersion: string; kind: string; metadata: { name?: string; namespace?: string } };

/** What one platform (environment) synthesizes to, in memory. */
export interface PlatformSynthesis {
  readonly environment: string;
  /** Terraform JSON (cdk.tf.json), keys sorted. */
  readonly terraform: Record<string, unknown>;
  /** Kubernetes objects by file name (`platform.yaml`, ...). */
  readonly kubernetes: Record<string, KubeObject[]>;
  /** platform.json. */
  readonly inventory: Record<string, unknown>;
  /** Policy findings suppressed with a reason. */
  readonly suppressed: (PolicyFinding & { reason: string })[];
}

/** Error raised when the synthesized output breaks a policy rule that is not suppressed. */
export class PolicyViolationError extends Error {
  constructor(public readonly environment: string, public readonly findings: PolicyFinding[]) {
    super(`cdk-mlops: policy violations in environment '${environment}':\n${findings.map((f) => `  - [${f.ruleId}] ${f.target}: ${f.message} (rule: ${POLICY_RULES[f.ruleId]})`).join('\n')}\n`
      + "Fix the props, or suppress a finding with platform.suppressPolicy('<rule>', '<target>', '<reason>').");
    this.name = 'PolicyViolationError';
  }
}

export interface MlAppProps {
  /**
   * Output folder of `synth()`. `cdk-mlops synth --out` sets it through CDK_MLOPS_OUTDIR.
   * @default process.env.CDK_MLOPS_OUTDIR ?? 'dist'
   */
  readonly outdir?: string;
}

/**
 * Apps created in this process. Kept on a global symbol so that the CLI finds apps created by
 * a program that loaded another copy of this module (TypeScript sources vs compiled lib).
 */
const APPS_KEY = Symbol.for('cdk-mlops.apps');
const apps: MlApp[] = ((globalThis as Record<symbol, unknown>)[APPS_KEY] ??= []) as MlApp[];

/**
 * The root of a cdk-mlops program. Holds one MlPlatform per environment and writes
 * `dist/<environment>/{terraform/cdk.tf.json, k8s/*.yaml, platform.json}`.
 */
export class MlApp extends Cdk8sApp {
  /** @internal Apps created in this process (the CLI synthesizes those not yet synthesized). */
  public static _created(): readonly MlApp[] {
    return apps;
  }

  /** The output folder. */
  public readonly mlOutdir: string;
  /** @internal What the last `synth()` wrote (undefined before). */
  public _lastSynthesis?: PlatformSynthesis[];

  constructor(props: MlAppProps = {}) {
    super({ outdir: props.outdir ?? process.env.CDK_MLOPS_OUTDIR ?? 'dist' });
    this.mlOutdir = props.outdir ?? process.env.CDK_MLOPS_OUTDIR ?? 'dist';
    apps.push(this);
  }

  /** The platforms of this app, sorted by environment. */
  public get platforms(): MlPlatform[] {
    return this.node.findAll().filter(MlPlatform.isMlPlatform).sort((a, b) => compareStrings(a.environment, b.environment));
  }

  /** Synthesizes every platform in memory (validations, policy) without writing. */
  public synthesizeAll(): PlatformSynthesis[] {
    const platforms = this.platforms;
    const seen = new Map<string, string>();
    for (const p of platforms) {
      const prev = seen.get(p.environment);
      if (prev) throw new Error(`two platforms synthesize environment '${p.environment}': '${prev}' and '${p.node.path}'`);
      seen.set(p.environment, p.node.path);
    }
    return platforms.map(synthesizePlatform);
  }

  /** Writes every environment to `<outdir>/<environment>/`, replacing what was there. */
  public override synth(): void {
    const results = this.synthesizeAll();
    for (const r of results) writeSynthesis(this.mlOutdir, r);
    this._lastSynthesis = results;
  }
}

/** Runs construct validations of the whole platform tree; throws one error with all of them. */
function validateTree(root: IConstruct): void {
  const problems: PropProblem[] = [];
  let firstPath = '';
  for (const c of root.node.findAll()) {
    for (const message of c.node.validate()) {
      if (!firstPath) firstPath = c.node.path;
      problems.push({ prop: c.node.path, received: 'construct', expected: message });
    }
  }
  if (problems.length) throw new MlopsValidationError(firstPath, problems);
}

/** Recursively sorts object keys and drops cdktf's `//` metadata and undefined values. */
export function canonicalJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonicalJson);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      if (key === '//') continue;
      const v = (value as Record<string, unknown>)[key];
      if (v === undefined) continue;
      out[key] = canonicalJson(v);
    }
    return out;
  }
  return value;
}

/** Synthesizes one platform in memory. */
export function synthesizePlatform(platform: MlPlatform): PlatformSynthesis {
  invokeAspects(platform.cloudStack);
  validateTree(platform);
  const terraform = canonicalJson(platform.cloudStack.toTerraform()) as Record<string, unknown>;

  const kubernetes: Record<string, KubeObject[]> = {};
  const objects: KubeObject[] = [];
  const listing: Record<string, unknown>[] = [];
  for (const { name, chart } of platform.allCharts) {
    const docs = chart.toJson() as KubeObject[];
    if (docs.length === 0) continue;
    const file = `${name}.yaml`;
    kubernetes[file] = docs;
    for (const d of docs) {
      objects.push(d);
      listing.push({ apiVersion: d.apiVersion, kind: d.kind, namespace: d.metadata?.namespace, name: d.metadata?.name, file: `k8s/${file}` });
    }
  }

  const findings = [...checkTerraform(terraform), ...checkKubernetes(objects)];
  const { remaining, suppressed } = applySuppressions(findings, platform._suppressions);
  if (remaining.length) throw new PolicyViolationError(platform.environment, remaining);

  const resourceCounts: Record<string, number> = {};
  for (const [type, byName] of Object.entries((terraform.resource ?? {}) as Record<string, Record<string, unknown>>)) {
    resourceCounts[type] = Object.keys(byName).length;
  }
  const inventory = canonicalJson({
    schemaVersion: INVENTORY_SCHEMA_VERSION,
    platform: platform.platformName,
    environment: platform.environment,
    region: platform.region,
    account: platform.account,
    kubernetesVersion: platform.kubernetesVersion,
    runtimeImage: platform.runtimeImage.reference,
    cluster: { name: platform.cluster.clusterName, arn: platform.cluster.clusterArn },
    artifactBucket: platform.artifactBucket.bucketName,
    handoff: {
      channel: 'ssm-parameter-store+external-secrets',
      prefix: platform.handoff.prefix,
      parameters: platform.handoff.published.map((e) => ({ key: e.key, parameter: e.parameterName, sensitive: e.sensitive, description: e.description })),
    },
    workloads: platform.allWorkloads.map((w) => ({ namespace: w.namespace, name: w.name, serviceAccount: w.serviceAccountName, roleArn: w.role.roleArn })),
    capabilities: platform.inventoryEntries,
    terraform: { resources: resourceCounts, total: Object.values(resourceCounts).reduce((a, b) => a + b, 0) },
    kubernetes: { objects: listing, total: listing.length },
    policy: { suppressions: suppressed.map((s) => ({ rule: s.ruleId, target: s.target, reason: s.reason })) },
  }) as Record<string, unknown>;
  return { environment: platform.environment, terraform, kubernetes, inventory, suppressed };
}

/** The files of one synthesis, by path relative to `<outdir>/<environment>/`. */
export function synthesisFiles(r: PlatformSynthesis): Record<string, string> {
  const files: Record<string, string> = {
    'terraform/cdk.tf.json': `${JSON.stringify(r.terraform, null, 2)}\n`,
    'platform.json': `${JSON.stringify(r.inventory, null, 2)}\n`,
  };
  for (const [file, docs] of Object.entries(r.kubernetes)) {
    files[`k8s/${file}`] = Yaml.stringify(...docs);
  }
  return files;
}

/**
 * Files and folders Terraform keeps beside the configuration it applies: a re-synthesis keeps
 * them (the default local state lives in `terraform/terraform.tfstate`).
 */
const TERRAFORM_WORKING_FILES = [/^terraform\.tfstate(\.\d+)?(\.backup)?$/, /^\.terraform$/, /^\.terraform\.lock\.hcl$/, /^\.terraform\.tfstate\.lock\.info$/];

/**
 * Writes one environment atomically: into a sibling temporary folder first, then swapped in,
 * so a failure never leaves a half-written environment. Terraform's own working files in
 * `terraform/` (state, lock file, `.terraform/`) are carried over, never deleted.
 */
export function writeSynthesis(outdir: string, r: PlatformSynthesis): string {
  const target = path.join(outdir, r.environment);
  const staging = path.join(outdir, `.${r.environment}.staging-${process.pid}`);
  fs.rmSync(staging, { recursive: true, force: true });
  for (const [rel, content] of Object.entries(synthesisFiles(r))) {
    const file = path.join(staging, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
  }
  const oldTf = path.join(target, 'terraform');
  if (fs.existsSync(oldTf)) {
    for (const name of fs.readdirSync(oldTf)) {
      if (TERRAFORM_WORKING_FILES.some((re) => re.test(name))) {
        fs.mkdirSync(path.join(staging, 'terraform'), { recursive: true });
        fs.cpSync(path.join(oldTf, name), path.join(staging, 'terraform', name), { recursive: true, preserveTimestamps: true });
      }
    }
  }
  const old = path.join(outdir, `.${r.environment}.old-${process.pid}`);
  if (fs.existsSync(target)) fs.renameSync(target, old);
  fs.renameSync(staging, target);
  fs.rmSync(old, { recursive: true, force: true });
  return target;
}
