/**
 * The model of a rendered diff between two synthesized `dist/` trees. Every type here is
 * plain data (JSON-serializable), so the `json` format is this model as is.
 */

/** A JSON value, as read from Terraform JSON, Kubernetes YAML or the inventory. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A JSON object. */
export type JsonObject = { [key: string]: JsonValue };

/**
 * The planes of a synthesized environment:
 * - `terraform`: `<env>/terraform/**\/*.tf.json` (cloud plane)
 * - `kubernetes`: `<env>/k8s/**\/*.yaml|yml` (cluster plane)
 * - `inventory`: `<env>/platform.json`
 * - `files`: every other file, compared by content (sha256) only
 */
export type Plane = 'terraform' | 'kubernetes' | 'inventory' | 'files';

/** The planes in the order they are rendered. */
export const PLANES: readonly Plane[] = ['terraform', 'kubernetes', 'inventory', 'files'];

/** What happened to a resource or a field. */
export type Action = 'add' | 'remove' | 'change';

/** One field-level change inside a changed resource. */
export interface FieldChange {
  /**
   * Where the field is, e.g. `spec.template.spec.containers[name=serve].image`. Keys that
   * are not plain identifiers are quoted (`metadata.labels["app.kubernetes.io/name"]`);
   * elements of arrays whose elements all carry a unique `name` are matched by it
   * (`[name=serve]`), others by index (`[0]`); `(json)` marks a string holding JSON whose
   * content was compared structurally.
   */
  readonly path: string;
  readonly action: Action;
  /** The value before (absent for `add`, and whenever `sensitive` is true). */
  readonly before?: JsonValue;
  /** The value after (absent for `remove`, and whenever `sensitive` is true). */
  readonly after?: JsonValue;
  /** True when the value is sensitive: neither value is ever part of the diff. */
  readonly sensitive?: true;
  /** A short explanation where the change is not a plain value change (e.g. `order changed`). */
  readonly note?: string;
}

/** One resource (Terraform block, Kubernetes object, inventory entry, file) that differs. */
export interface ResourceDiff {
  /**
   * The resource's identity within its environment and plane: a Terraform address
   * (`aws_s3_bucket.models`, `data.aws_iam_policy_document.x`, `output.endpoint`,
   * `var.region`), a Kubernetes object (`apps/Deployment serving/fraud`, `Namespace serving`),
   * an inventory entry (`models/fraud`) or a file path.
   */
  readonly id: string;
  /**
   * What kind of resource: the Terraform block (`resource`, `data`, `output`, `variable`,
   * `provider`, `terraform`, `locals`, `module`, ...) and, for `resource`/`data`, its type
   * after a colon (`resource:aws_s3_bucket`); the Kubernetes `group/kind` (`apps/Deployment`,
   * `Secret` for the core group); the inventory section; `file`.
   */
  readonly type: string;
  readonly action: Action;
  /** The file (relative to the dist root) the resource is in at head (at base when removed). */
  readonly file: string;
  /** The file at base when the resource moved to another file. */
  readonly previousFile?: string;
  /** Field-level changes, sorted by path (empty for `add` and `remove`). */
  readonly changes: readonly FieldChange[];
  /** The whole resource at head (`add`) or at base (`remove`), sensitive values redacted. */
  readonly body?: JsonValue;
}

/** Counts of resources per action in one plane. */
export interface PlaneCounts {
  readonly add: number;
  readonly change: number;
  readonly remove: number;
  /**
   * Terraform only: how many of the counted blocks are not managed resources (outputs, data
   * sources, variables, providers, ...). `add`/`change`/`remove` count managed resources
   * only, the way `terraform plan` does.
   */
  readonly other?: number;
}

/** The differences in one plane of one environment. */
export interface PlaneDiff {
  readonly plane: Plane;
  /** The resources that differ, sorted by id. */
  readonly resources: readonly ResourceDiff[];
  readonly counts: PlaneCounts;
  /** How many resources the plane has at base and at head. */
  readonly baseTotal: number;
  readonly headTotal: number;
}

/** The differences in one environment (`dist/<env>`). */
export interface EnvironmentDiff {
  /** The environment (the folder's name); `(root)` holds files directly under the dist root. */
  readonly name: string;
  /** `added`/`removed` when the whole environment is new/gone. */
  readonly status: 'added' | 'removed' | 'changed' | 'unchanged';
  /** The one-line summary, e.g. `dev: terraform 2 to add, 1 to change, 0 to destroy; kubernetes 3 added, 1 changed, 0 removed`. */
  readonly summary: string;
  /** One entry per plane present at base or head, in {@link PLANES} order. */
  readonly planes: readonly PlaneDiff[];
}

/** The whole diff between two dist trees. */
export interface DistDiff {
  /** The version of this JSON shape. */
  readonly schemaVersion: 1;
  /** What was compared (e.g. `origin/main:dist` and `dist (working tree)`). */
  readonly base: string;
  readonly head: string;
  /** True when anything differs. */
  readonly changed: boolean;
  /** Every environment present at base or head, sorted by name. */
  readonly environments: readonly EnvironmentDiff[];
}

/** The files of a dist tree: path relative to the dist root (POSIX separators) to content. */
export type DistFiles = ReadonlyMap<string, Uint8Array>;
