import * as YAML from 'yaml';
import type { KubeObject, PlatformSynthesis } from '../constructs/app';
import { RUNTIME_CONFIG_DIR, RUNTIME_CONFIG_FILE } from '../constructs/cluster/runtime-workload';

/**
 * Finding the runtime workloads of a synthesized environment: every pod template (Deployment,
 * Argo Rollout, StatefulSet, Job, CronJob) with a container that runs the platform's runtime
 * image, what it runs (its `args`), and the typed configuration mounted at
 * {@link RUNTIME_CONFIG_DIR} (from a ConfigMap's `config.json`, or from a pod annotation through
 * the downward API). Only the synthesized objects are read, never construct internals, so any
 * program that uses the constructs can be run locally.
 */

/** What a runtime container runs, from its first arguments. */
export type RuntimeRole = 'train' | 'serve' | 'monitor' | 'features-serve' | 'features-materialize' | 'other';

/** Kinds of objects holding a pod template that `up` can run. */
export type WorkloadKind = 'Deployment' | 'Rollout' | 'StatefulSet' | 'Job' | 'CronJob';

/** One runtime container of the synthesized cluster plane. */
export interface RuntimeWorkload {
  /** `<Kind>/<namespace>/<name>`: unique within an environment. */
  readonly id: string;
  readonly kind: WorkloadKind;
  readonly namespace: string;
  readonly name: string;
  /** The container's name. */
  readonly container: string;
  readonly role: RuntimeRole;
  /** The container's arguments (after `cdk-mlops`), as synthesized. */
  readonly args: readonly string[];
  /** The configuration mounted at /etc/cdk-mlops/config.json, parsed; undefined when none. */
  readonly config?: Record<string, unknown>;
  /** Where the configuration came from (`ConfigMap ns/name`, `annotation <key>`). */
  readonly configSource?: string;
  /** Named container ports. */
  readonly ports: readonly { readonly name?: string; readonly port: number }[];
  /** HTTP path of the readiness probe, when there is one. */
  readonly readinessPath?: string;
  /** Plain environment variables of the container (values from Secrets are in `secretEnv`). */
  readonly env: Readonly<Record<string, string>>;
  /** Environment variables read from Secrets: name -> secret/key. */
  readonly secretEnv: Readonly<Record<string, { readonly secret: string; readonly key: string }>>;
  /** Secrets mounted as files: mount path -> secret name. */
  readonly secretMounts: Readonly<Record<string, string>>;
  /** Labels of the pod template (to match Services). */
  readonly podLabels: Readonly<Record<string, string>>;
  /** CronJob only: its schedule and whether it is suspended (a template to start runs from). */
  readonly schedule?: { readonly cron: string; readonly suspended: boolean };
  /** NVIDIA GPUs the container requests (`nvidia.com/gpu`). */
  readonly gpus: number;
  /** The container's image (the runtime image, or one built FROM it). */
  readonly image: string;
}

/** A Service of the environment: how in-cluster URLs reach a workload. */
export interface ServiceEntry {
  readonly namespace: string;
  readonly name: string;
  readonly selector: Readonly<Record<string, string>>;
  readonly ports: readonly { readonly name?: string; readonly port: number; readonly targetPort?: number | string }[];
}

/** A pod template the runtime image does not run (a user's container, a JobSet): reported, not run. */
export interface SkippedWorkload {
  readonly id: string;
  readonly reason: string;
}

/** What an environment holds for `up`. */
export interface EnvironmentWorkloads {
  readonly environment: string;
  readonly runtimeImage: string;
  readonly workloads: readonly RuntimeWorkload[];
  readonly services: readonly ServiceEntry[];
  readonly skipped: readonly SkippedWorkload[];
  /** platform.json. */
  readonly inventory: Readonly<Record<string, unknown>>;
}

type Obj = Record<string, unknown>;
const asObj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? v as Obj : {});
const asArr = (v: unknown): Obj[] => (Array.isArray(v) ? v.map(asObj) : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The role of a runtime container from its arguments. */
export function roleOf(args: readonly string[]): RuntimeRole {
  const [cmd, sub] = args;
  if (cmd === 'train' || cmd === 'serve' || cmd === 'monitor') return cmd;
  if (cmd === 'features' && sub === 'serve') return 'features-serve';
  if (cmd === 'features' && sub === 'materialize') return 'features-materialize';
  return 'other';
}

/** The pod template of a workload object, with its kind; undefined for objects without one. */
function podTemplateOf(o: KubeObject): { kind: WorkloadKind; template: Obj; schedule?: { cron: string; suspended: boolean } } | undefined {
  const spec = asObj(o.spec);
  switch (o.kind) {
    case 'Deployment':
    case 'StatefulSet':
    case 'Job':
      return { kind: o.kind, template: asObj(spec.template) };
    case 'Rollout':
      return o.apiVersion.startsWith('argoproj.io/') ? { kind: 'Rollout', template: asObj(spec.template) } : undefined;
    case 'CronJob': {
      const job = asObj(asObj(spec.jobTemplate).spec);
      return { kind: 'CronJob', template: asObj(job.template), schedule: { cron: str(spec.schedule) ?? '', suspended: spec.suspend === true } };
    }
    default:
      return undefined;
  }
}

/** Reads the configuration a container sees at /etc/cdk-mlops/config.json. */
function configOf(
  podSpec: Obj, podMeta: Obj, container: Obj, configMaps: Map<string, Obj>, namespace: string, id: string,
): { config?: Record<string, unknown>; source?: string } {
  const mount = asArr(container.volumeMounts).find((m) => m.mountPath === RUNTIME_CONFIG_DIR);
  if (!mount) return {};
  const volume = asArr(podSpec.volumes).find((v) => v.name === mount.name);
  if (!volume) throw new Error(`${id}: the volume '${String(mount.name)}' mounted at ${RUNTIME_CONFIG_DIR} is not declared in the pod spec`);
  const file = RUNTIME_CONFIG_FILE.slice(RUNTIME_CONFIG_DIR.length + 1);
  let text: string | undefined;
  let source: string;
  if (volume.configMap) {
    const name = str(asObj(volume.configMap).name) ?? '';
    source = `ConfigMap ${namespace}/${name}`;
    const cm = configMaps.get(`${namespace}/${name}`);
    if (!cm) throw new Error(`${id}: mounts ${source} at ${RUNTIME_CONFIG_DIR}, which the environment does not define`);
    text = str(asObj(cm.data)[file]);
    if (text === undefined) throw new Error(`${id}: ${source} has no key '${file}'`);
  } else if (volume.downwardAPI ?? volume.downwardApi) {
    const items = asArr(asObj(volume.downwardAPI ?? volume.downwardApi).items);
    const item = items.find((i) => i.path === file);
    const fieldPath = str(asObj(item?.fieldRef).fieldPath) ?? '';
    const m = /^metadata\.annotations\['([^']+)'\]$/.exec(fieldPath);
    if (!m) throw new Error(`${id}: the downward API volume at ${RUNTIME_CONFIG_DIR} does not map '${file}' to a pod annotation (got ${JSON.stringify(fieldPath)})`);
    source = `annotation ${m[1]}`;
    text = str(asObj(podMeta.annotations)[m[1]]);
    if (text === undefined) throw new Error(`${id}: the pod template has no annotation '${m[1]}' (mounted as ${RUNTIME_CONFIG_FILE})`);
  } else {
    throw new Error(`${id}: the volume at ${RUNTIME_CONFIG_DIR} is neither a ConfigMap nor a downward API volume`);
  }
  let parsed: unknown;
  try {
    parsed = YAML.parse(text);
  } catch (e) {
    throw new Error(`${id}: the configuration in ${source} is not JSON or YAML: ${(e as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`${id}: the configuration in ${source} is not an object`);
  return { config: parsed as Record<string, unknown>, source };
}

/**
 * The runtime workloads, Services and skipped pod templates of one synthesized environment,
 * sorted by id (the synthesis is deterministic, so is this).
 */
export function discoverWorkloads(synthesis: PlatformSynthesis): EnvironmentWorkloads {
  const inventory = synthesis.inventory;
  const runtimeImage = str(inventory.runtimeImage);
  if (!runtimeImage) throw new Error(`platform.json of environment '${synthesis.environment}' names no runtimeImage`);
  const objects = Object.keys(synthesis.kubernetes).sort().flatMap((f) => synthesis.kubernetes[f]);
  const configMaps = new Map<string, Obj>();
  for (const o of objects) {
    if (o.kind === 'ConfigMap') configMaps.set(`${o.metadata.namespace ?? 'default'}/${o.metadata.name}`, o);
  }
  const workloads: RuntimeWorkload[] = [];
  const services: ServiceEntry[] = [];
  const skipped: SkippedWorkload[] = [];
  for (const o of objects) {
    const namespace = o.metadata.namespace ?? 'default';
    const name = o.metadata.name ?? '';
    if (o.kind === 'Service') {
      const spec = asObj(o.spec);
      services.push({
        namespace,
        name,
        selector: asObj(spec.selector) as Record<string, string>,
        ports: asArr(spec.ports).map((p) => ({ name: str(p.name), port: Number(p.port), targetPort: p.targetPort as number | string | undefined })),
      });
      continue;
    }
    if (o.kind === 'JobSet') {
      skipped.push({ id: `JobSet/${namespace}/${name}`, reason: 'a JobSet (indexed hyperparameter search or multi-node training) needs a cluster; not run locally' });
      continue;
    }
    const found = podTemplateOf(o);
    if (!found) continue;
    const id = `${found.kind}/${namespace}/${name}`;
    const podMeta = asObj(found.template.metadata);
    const podSpec = asObj(found.template.spec);
    const containers = asArr(podSpec.containers);
    // The runtime image, or an image built FROM it (an external trainer's): runtime arguments
    // and the runtime configuration mounted.
    const runtime = containers.filter((c) => c.image === runtimeImage
      || (roleOf((Array.isArray(c.args) ? c.args : []).map(String)) !== 'other' && asArr(c.volumeMounts).some((m) => m.mountPath === RUNTIME_CONFIG_DIR)));
    if (runtime.length === 0) {
      skipped.push({ id, reason: `its containers do not run the runtime image ${runtimeImage}` });
      continue;
    }
    for (const c of runtime) {
      const args = (Array.isArray(c.args) ? c.args : []).map(String);
      const { config, source } = configOf(podSpec, podMeta, c, configMaps, namespace, id);
      const env: Record<string, string> = {};
      const secretEnv: Record<string, { secret: string; key: string }> = {};
      for (const e of asArr(c.env)) {
        const ref = asObj(asObj(e.valueFrom).secretKeyRef);
        if (typeof e.value === 'string') env[String(e.name)] = e.value;
        else if (ref.name) secretEnv[String(e.name)] = { secret: String(ref.name), key: String(ref.key) };
      }
      const secretMounts: Record<string, string> = {};
      for (const m of asArr(c.volumeMounts)) {
        const volume = asArr(podSpec.volumes).find((v) => v.name === m.name);
        const secret = str(asObj(volume?.secret).secretName);
        if (secret) secretMounts[String(m.mountPath)] = secret;
      }
      const probe = asObj(asObj(c.readinessProbe).httpGet);
      workloads.push({
        id: runtime.length > 1 ? `${id}/${String(c.name)}` : id,
        kind: found.kind,
        namespace,
        name,
        container: String(c.name),
        role: roleOf(args),
        args,
        config,
        configSource: source,
        ports: asArr(c.ports).map((p) => ({ name: str(p.name), port: Number(p.containerPort) })),
        readinessPath: str(probe.path),
        env,
        secretEnv,
        secretMounts,
        podLabels: asObj(podMeta.labels) as Record<string, string>,
        schedule: found.schedule,
        gpus: Number(asObj(asObj(c.resources).limits)['nvidia.com/gpu'] ?? 0),
        image: String(c.image),
      });
    }
  }
  workloads.sort((a, b) => a.id.localeCompare(b.id));
  return { environment: synthesis.environment, runtimeImage, workloads, services, skipped, inventory };
}

/** The workloads a Service selects (pod labels include every selector label). */
export function workloadsOfService(service: ServiceEntry, workloads: readonly RuntimeWorkload[]): RuntimeWorkload[] {
  const sel = Object.entries(service.selector);
  if (sel.length === 0) return [];
  return workloads.filter((w) => w.namespace === service.namespace && (w.kind === 'Deployment' || w.kind === 'Rollout' || w.kind === 'StatefulSet')
    && sel.every(([k, v]) => w.podLabels[k] === v));
}

/**
 * Picks the environment to run: `name` when given (an error lists the others when it is
 * missing), else `dev` when there is one, else the first in order.
 */
export function chooseEnvironment(results: readonly PlatformSynthesis[], name?: string): PlatformSynthesis {
  const names = results.map((r) => r.environment);
  if (name !== undefined) {
    const found = results.find((r) => r.environment === name);
    if (!found) throw new Error(`--env '${name}': the program has no such environment; it has ${names.map((n) => `'${n}'`).join(', ')}`);
    return found;
  }
  return results.find((r) => r.environment === 'dev') ?? [...results].sort((a, b) => a.environment.localeCompare(b.environment))[0];
}
