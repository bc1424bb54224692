import { compareResources, compareStrings, redactValue } from './compare';
import { Redactor } from './sensitive';
import { DistSnapshot, EnvironmentSnapshot, ROOT_ENVIRONMENT, SnapshotItem, parseDist } from './snapshot';
import { DistDiff, DistFiles, EnvironmentDiff, PLANES, Plane, PlaneCounts, PlaneDiff, ResourceDiff } from './types';

function diffItem(b: SnapshotItem | undefined, h: SnapshotItem | undefined): ResourceDiff | undefined {
  if (!b && h) {
    return { id: h.id, type: h.type, action: 'add', file: h.file, changes: [], body: redactValue(h.value, new Redactor([h.redaction])) };
  }
  if (b && !h) {
    return { id: b.id, type: b.type, action: 'remove', file: b.file, changes: [], body: redactValue(b.value, new Redactor([b.redaction])) };
  }
  const changes = compareResources(b!.value, h!.value, new Redactor([b!.redaction, h!.redaction]));
  if (changes.length === 0) return undefined;
  return {
    id: h!.id,
    type: h!.type,
    action: 'change',
    file: h!.file,
    ...(b!.file !== h!.file ? { previousFile: b!.file } : {}),
    changes,
  };
}

function diffPlane(plane: Plane, base: ReadonlyMap<string, SnapshotItem>, head: ReadonlyMap<string, SnapshotItem>): PlaneDiff {
  const ids = [...new Set([...base.keys(), ...head.keys()])].sort(compareStrings);
  const resources: ResourceDiff[] = [];
  let add = 0;
  let change = 0;
  let remove = 0;
  let other = 0;
  for (const id of ids) {
    const b = base.get(id);
    const h = head.get(id);
    const d = diffItem(b, h);
    if (!d) continue;
    resources.push(d);
    if (plane === 'terraform' && !(h ?? b)!.managed) {
      other++;
      continue;
    }
    if (d.action === 'add') add++;
    else if (d.action === 'remove') remove++;
    else change++;
  }
  const counts: PlaneCounts = plane === 'terraform' ? { add, change, remove, other } : { add, change, remove };
  return { plane, resources, counts, baseTotal: base.size, headTotal: head.size };
}

const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

/**
 * The one-line summary of an environment, e.g.
 * `dev: terraform 2 to add, 1 to change, 0 to destroy; kubernetes 3 added, 1 changed, 0 removed`.
 * Terraform counts managed resources, like `terraform plan`; changed outputs, data sources,
 * variables and providers are counted as "other blocks". The inventory is named when the
 * environment has one, other files only when they changed.
 */
export function summarize(name: string, status: EnvironmentDiff['status'], planes: readonly PlaneDiff[]): string {
  if (status === 'unchanged') return `${name}: no changes`;
  const prefix = status === 'added' ? `${name} (new environment)` : status === 'removed' ? `${name} (environment removed)` : name;
  const parts: string[] = [];
  const get = (p: Plane): PlaneCounts | undefined => planes.find((x) => x.plane === p)?.counts;
  const zero: PlaneCounts = { add: 0, change: 0, remove: 0, other: 0 };
  if (name !== ROOT_ENVIRONMENT) {
    const tf = get('terraform') ?? zero;
    let s = `terraform ${tf.add} to add, ${tf.change} to change, ${tf.remove} to destroy`;
    if (tf.other) s += `, ${plural(tf.other, 'other block', 'other blocks')} changed`;
    parts.push(s);
    const k8s = get('kubernetes') ?? zero;
    parts.push(`kubernetes ${k8s.add} added, ${k8s.change} changed, ${k8s.remove} removed`);
    const inv = get('inventory');
    if (inv) parts.push(`inventory ${inv.add} added, ${inv.change} changed, ${inv.remove} removed`);
  }
  const files = get('files');
  if (files && files.add + files.change + files.remove > 0) parts.push(`files ${files.add} added, ${files.change} changed, ${files.remove} removed`);
  return `${prefix}: ${parts.join('; ')}`;
}

function diffEnvironment(name: string, base: EnvironmentSnapshot | undefined, head: EnvironmentSnapshot | undefined): EnvironmentDiff {
  const planes: PlaneDiff[] = [];
  const empty = new Map<string, SnapshotItem>();
  for (const p of PLANES) {
    const b = base?.planes.get(p);
    const h = head?.planes.get(p);
    if (!b && !h) continue;
    planes.push(diffPlane(p, b ?? empty, h ?? empty));
  }
  const changed = planes.some((p) => p.resources.length > 0);
  const status: EnvironmentDiff['status'] = !base ? 'added' : !head ? 'removed' : changed ? 'changed' : 'unchanged';
  return { name, status, summary: summarize(name, status, planes), planes };
}

/** The differences between two parsed dist trees, per environment, per plane, per resource. Pure. */
export function diffSnapshots(base: DistSnapshot, head: DistSnapshot): DistDiff {
  const names = [...new Set([...base.environments.keys(), ...head.environments.keys()])].sort(compareStrings);
  const environments = names.map((n) => diffEnvironment(n, base.environments.get(n), head.environments.get(n)));
  return {
    schemaVersion: 1,
    base: base.label,
    head: head.label,
    changed: environments.some((e) => e.status !== 'unchanged'),
    environments,
  };
}

/** Options of {@link diffDist}. */
export interface DiffDistOptions {
  /** What the base tree is, shown in the output and in error messages. @default 'base' */
  readonly baseLabel?: string;
  /** What the head tree is. @default 'head' */
  readonly headLabel?: string;
  /** Only these environments. @default - every environment */
  readonly environments?: readonly string[];
}

/**
 * Parses two dist trees and compares them: the one call the CLI and the GitOps template need.
 * Pure (the files are passed in; see `readDistDir` and `readDistAtRef` to read them).
 *
 * @throws InputError when a file of either tree cannot be parsed
 */
export function diffDist(base: DistFiles, head: DistFiles, options: DiffDistOptions = {}): DistDiff {
  const keep = options.environments ? new Set(options.environments) : undefined;
  const filter = (files: DistFiles): DistFiles => {
    if (!keep) return files;
    return new Map([...files].filter(([p]) => keep.has(p.includes('/') ? p.slice(0, p.indexOf('/')) : ROOT_ENVIRONMENT)));
  };
  return diffSnapshots(parseDist(filter(base), options.baseLabel ?? 'base'), parseDist(filter(head), options.headLabel ?? 'head'));
}
