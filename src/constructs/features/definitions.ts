import { Construct } from 'constructs';
import type { z } from 'zod';
import {
  entitySchema, FeatureRegistryProblem, FeatureValueType, featureServiceSchema, featureViewSchema, JoinKeyType,
} from '../../runtime/config/features';
import { Duration } from '../cluster/k8s';
import type { ComputeResources } from '../cluster/runtime-workload';
import { PropValidator } from '../errors';
import type { IFeatureServer, IFeatureService } from '../refs';
import { CRON_RE, FEATURE_STORE_SYMBOL, RELATIVE_PATH_RE, S3_PREFIX_RE, TIME_ZONE_RE } from './names';
import type { FeatureStore } from './store';

/** One typed column of a feature view. */
export interface FeatureField {
  /** Column name in the source (a letter, then letters, digits or `_`; at most 128 characters). */
  readonly name: string;
  /** Value type (`int64`, `float64`, `string`, `bool`, `unix_timestamp`, ...). */
  readonly type: FeatureValueType;
  /**
   * Free text for people (also the Glue column comment).
   * @default - none
   */
  readonly description?: string;
}

/** Options of an entity (`store.addEntity(id, options)`). */
export interface EntityOptions {
  /**
   * Type of the join key: an integer or a string.
   */
  readonly joinKeyType: JoinKeyType;
  /**
   * Column that identifies the entity in sources, entity tables and online requests. One
   * column, as in Feast (which supports a single join key per entity).
   * @default - the entity name
   */
  readonly joinKey?: string;
  /**
   * Name of the entity in the registry.
   * @default - the construct id
   */
  readonly entityName?: string;
  /**
   * Free text for people.
   * @default - none
   */
  readonly description?: string;
}

/** Props of an entity. */
export interface EntityProps extends EntityOptions {}

/** The input of a zod schema. */
type Input<S extends z.ZodType> = z.input<S>;

/** Finds the FeatureStore a definition is created in; throws naming the path when it is not one. */
function storeOf(scope: Construct, what: string): FeatureStore {
  if (!(scope !== null && typeof scope === 'object' && FEATURE_STORE_SYMBOL in scope)) {
    throw new Error(`${what} must be created in a FeatureStore (new ${what}(store, id, props)); '${scope.node.path}' is not one`);
  }
  return scope as unknown as FeatureStore;
}

/**
 * Maps the problems of a zod parse and of `findFeatureRegistryProblems` (paths into the
 * registry document) onto the props of the construct being defined.
 */
function report(v: PropValidator, issues: readonly { path: readonly PropertyKey[]; message: string }[], value: unknown,
  propOf: (path: readonly (string | number)[]) => string): void {
  for (const issue of issues) {
    const path = issue.path.map((p) => (typeof p === 'number' ? p : String(p)));
    let received: unknown = value;
    for (const k of path) received = received !== null && typeof received === 'object' ? (received as Record<string | number, unknown>)[k] : undefined;
    v.fail(propOf(path), received, issue.message);
  }
}

/** Problems of `findFeatureRegistryProblems` about the item at `[collection, index]`, re-rooted on it. */
function problemsAt(problems: readonly FeatureRegistryProblem[], collection: string, index: number): { path: (string | number)[]; message: string }[] {
  return problems.filter((p) => p.path[0] === collection && p.path[1] === index).map((p) => ({ path: [...p.path.slice(2)], message: p.message }));
}

/**
 * An entity: the thing features describe (a customer, a card), identified by one join key.
 *
 * ```ts
 * const customer = store.addEntity('customer', { joinKey: 'customer_id', joinKeyType: 'int64' });
 * ```
 */
export class Entity extends Construct {
  /** The store this entity belongs to. */
  public readonly store: FeatureStore;
  /** Name in the registry. */
  public readonly entityName: string;
  /** Join key column. */
  public readonly joinKey: string;
  public readonly joinKeyType: JoinKeyType;
  public readonly description?: string;

  constructor(scope: Construct, id: string, props: EntityProps) {
    super(scope, id);
    this.store = storeOf(scope, 'Entity');
    this.entityName = props.entityName ?? id;
    this.joinKey = props.joinKey ?? this.entityName;
    this.joinKeyType = props.joinKeyType;
    this.description = props.description;

    const v = new PropValidator(this);
    const doc = this._definition();
    const parsed = entitySchema.safeParse(doc);
    const rename = (path: readonly (string | number)[]) => ({ name: 'entityName', valueType: 'joinKeyType' } as Record<string, string>)[String(path[0])] ?? path.join('.');
    if (!parsed.success) report(v, parsed.error.issues, doc, rename);
    else report(v, problemsAt(this.store._problemsWith({ entity: doc }), 'entities', this.store._entityCount), doc, rename);
    v.throwIfAny();
    this.store._register(this);
  }

  /** @internal The registry entry. */
  public _definition(): Input<typeof entitySchema> {
    return { name: this.entityName, joinKey: this.joinKey, valueType: this.joinKeyType, description: this.description };
  }
}

/** Where a feature view's rows come from. */
export class FeatureSource {
  /**
   * Parquet files under a folder: a path relative to the store's offline root (`transactions`
   * is `s3://<bucket>/<prefix>/transactions/`, and `./transactions` of a local offline root
   * when the same registry runs locally) or an S3 prefix elsewhere (`s3://bucket/prefix/`).
   * The construct creates a Glue table over the folder so that Athena can query it, and
   * grants the materializer and offline readers access to it.
   */
  public static parquet(path: string, options: ParquetSourceOptions = {}): FeatureSource {
    return new FeatureSource('parquet', { path, kmsKeyArn: options.kmsKeyArn });
  }

  /**
   * An existing Glue table (created outside this program) whose Parquet files live under
   * `location`. Materialization reads the files; Athena training sets query the table.
   */
  public static glueTable(options: GlueTableSourceOptions): FeatureSource {
    return new FeatureSource('glue', { path: options.location, database: options.database, table: options.table, kmsKeyArn: options.kmsKeyArn });
  }

  private constructor(
    /** @internal */ public readonly _kind: 'parquet' | 'glue',
    /** @internal */ public readonly _options: { path: string; database?: string; table?: string; kmsKeyArn?: string },
  ) {}
}

/** Options of `FeatureSource.parquet`. */
export interface ParquetSourceOptions {
  /**
   * KMS key of an S3 prefix outside the offline store, which readers must be able to decrypt
   * through S3.
   * @default - the objects are encrypted with a key readers may already use (the platform key for the offline store)
   */
  readonly kmsKeyArn?: string;
}

/** Options of `FeatureSource.glueTable`. */
export interface GlueTableSourceOptions {
  /** Glue database. */
  readonly database: string;
  /** Glue table. */
  readonly table: string;
  /** S3 prefix of the table's Parquet files (`s3://bucket/prefix/`). */
  readonly location: string;
  /**
   * KMS key of the table's objects, when not the platform key.
   * @default - readable without a KMS grant of this program
   */
  readonly kmsKeyArn?: string;
}

/** Options of a feature view (`store.addFeatureView(id, options)`). */
export interface FeatureViewOptions {
  /** Entities the view is keyed by; their join keys together identify a row. */
  readonly entities: Entity[];
  /** The typed features. */
  readonly schema: FeatureField[];
  /** Where the rows come from. */
  readonly source: FeatureSource;
  /**
   * Name in the registry (and of its Glue table, lower-cased).
   * @default - the construct id
   */
  readonly viewName?: string;
  /**
   * Event-time column of the source.
   * @default 'event_timestamp'
   */
  readonly timestampField?: string;
  /**
   * Column recording when a row was written: breaks ties between rows of the same event time
   * and lets incremental materialization pick up late-arriving rows.
   * @default - none
   */
  readonly createdTimestampField?: string;
  /**
   * Maximum age of a value: online lookups answer OUTSIDE_MAX_AGE past it, training sets leave
   * it null. A whole number of seconds > 0.
   * @default - values never expire
   */
  readonly ttl?: Duration;
  /**
   * Whether materialization loads the view into the online store.
   * @default true
   */
  readonly online?: boolean;
  /**
   * Cron schedule of the view's materialization CronJob (`*\/15 * * * *`); only for online views.
   * @default - no CronJob: materialize on demand
   * @see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#schedule-syntax
   */
  readonly schedule?: string;
  /**
   * IANA time zone of the schedule.
   * @default 'Etc/UTC'
   */
  readonly timeZone?: string;
  /**
   * Longest a materialization run may take before Kubernetes stops it.
   * @default Duration.hours(1)
   */
  readonly materializationTimeout?: Duration;
  /**
   * CPU and memory of the materialization container.
   * @default - the store's `materializationResources`
   */
  readonly materializationResources?: ComputeResources;
  /**
   * Free text for people.
   * @default - none
   */
  readonly description?: string;
  /**
   * Tags of the view (registry metadata).
   * @default {}
   */
  readonly tags?: Record<string, string>;
}

/** Props of a feature view. */
export interface FeatureViewProps extends FeatureViewOptions {}

/** A feature of a view, as a feature service names it (`view.feature('amount')`). */
export interface FeatureReference {
  readonly view: FeatureView;
  readonly featureName: string;
}

const VIEW_PROP_NAMES: Record<string, string> = { name: 'viewName', features: 'schema', ttlSeconds: 'ttl' };

/**
 * Typed features of one or more entities, read from one source, with an event-time column,
 * an optional TTL, and (for online views) a materialization schedule.
 *
 * ```ts
 * const transactions = new FeatureView(store, 'transactions', {
 *   entities: [customer],
 *   schema: [{ name: 'amount_7d', type: 'float64' }, { name: 'count_1h', type: 'int64' }],
 *   source: FeatureSource.parquet('transactions'),
 *   ttl: Duration.days(2),
 *   schedule: '*\/15 * * * *',
 * });
 * ```
 */
export class FeatureView extends Construct {
  public readonly store: FeatureStore;
  /** Name in the registry. */
  public readonly viewName: string;
  public readonly entities: readonly Entity[];
  public readonly schema: readonly FeatureField[];
  public readonly source: FeatureSource;
  public readonly timestampField: string;
  public readonly createdTimestampField?: string;
  /** TTL in seconds (undefined: never expires). */
  public readonly ttlSeconds?: number;
  public readonly online: boolean;
  public readonly schedule?: string;
  public readonly timeZone: string;
  /** Seconds a materialization run may take. */
  public readonly materializationTimeoutSeconds: number;
  public readonly materializationResources?: ComputeResources;
  public readonly description?: string;
  public readonly tags?: Record<string, string>;

  constructor(scope: Construct, id: string, props: FeatureViewProps) {
    super(scope, id);
    this.store = storeOf(scope, 'FeatureView');
    this.viewName = props.viewName ?? id;
    this.entities = [...(props.entities ?? [])];
    this.schema = (props.schema ?? []).map((f) => ({ ...f }));
    this.source = props.source;
    this.timestampField = props.timestampField ?? 'event_timestamp';
    this.createdTimestampField = props.createdTimestampField;
    this.ttlSeconds = props.ttl instanceof Duration ? props.ttl.toSeconds({ integral: false }) : undefined;
    this.online = props.online ?? true;
    this.schedule = props.schedule?.trim();
    this.timeZone = props.timeZone ?? 'Etc/UTC';
    this.materializationTimeoutSeconds = props.materializationTimeout instanceof Duration ? props.materializationTimeout.toSeconds({ integral: false }) : 3600;
    this.materializationResources = props.materializationResources;
    this.description = props.description;
    this.tags = props.tags;

    const v = new PropValidator(this);
    v.check(this.entities.length > 0, 'entities', this.entities.length, 'must list at least one Entity of this store');
    this.entities.forEach((e, i) => {
      if (!(e instanceof Entity)) v.fail(`entities[${i}]`, typeof e, 'must be an Entity (store.addEntity(...))');
      else v.check(e.store === this.store, `entities[${i}]`, e.entityName, `must be an entity of this feature store ('${this.store.node.path}'), not of '${e.store.node.path}'`);
    });
    if (!(this.source instanceof FeatureSource)) {
      v.fail('source', this.source, 'must be a FeatureSource (FeatureSource.parquet(...) or FeatureSource.glueTable(...))');
    } else {
      const o = this.source._options;
      if (this.source._kind === 'parquet') {
        const rel = RELATIVE_PATH_RE.test(o.path) && !o.path.split('/').some((s) => s === '.' || s === '..');
        v.check((rel || S3_PREFIX_RE.test(o.path)) && !/\.parquet\/?$/i.test(o.path), 'source.path', o.path,
          "must be a folder: a path relative to the offline store root ('transactions') or an S3 prefix ('s3://bucket/prefix/'), not a single .parquet file (Glue and Athena read folders)");
      } else {
        v.check(S3_PREFIX_RE.test(o.path), 'source.location', o.path, "must be the S3 prefix of the table's files ('s3://bucket/prefix/')");
      }
      if (o.kmsKeyArn !== undefined) {
        v.check(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/.test(o.kmsKeyArn), 'source.kmsKeyArn', o.kmsKeyArn, 'must be a KMS key ARN');
      }
    }
    if (props.ttl !== undefined && !(props.ttl instanceof Duration)) v.fail('ttl', props.ttl, 'must be a Duration (Duration.hours(2))');
    if (props.materializationTimeout !== undefined && !(props.materializationTimeout instanceof Duration)) {
      v.fail('materializationTimeout', props.materializationTimeout, 'must be a Duration (Duration.minutes(30))');
    }
    v.check(!this.store._usesScopeId(id), 'id', id, "must differ from the ids of the store's own resources (a view's resources are created under its id)");
    if (this.schedule !== undefined) {
      v.check(CRON_RE.test(this.schedule), 'schedule', props.schedule,
        "must be a cron expression of 5 fields ('*/15 * * * *') or @hourly, @daily, ...");
      v.check(this.online, 'schedule', props.schedule, "must be unset on a view with 'online: false' (materialization loads only online views)");
    }
    v.check(TIME_ZONE_RE.test(this.timeZone), 'timeZone', this.timeZone, "must be an IANA time zone like 'Europe/Paris'");
    v.check(Number.isInteger(this.materializationTimeoutSeconds) && this.materializationTimeoutSeconds >= 60, 'materializationTimeout',
      this.materializationTimeoutSeconds, 'must be a whole number of seconds >= 60');
    this.schema.forEach((f, i) => {
      if (f.description !== undefined) v.check(typeof f.description === 'string' && f.description.length <= 255, `schema[${i}].description`, f.description, 'must be at most 255 characters (Glue column comments)');
    });
    if (!v.hasProblems) {
      const doc = this._definition();
      const parsed = featureViewSchema.safeParse(doc);
      const propOf = (path: readonly (string | number)[]) => {
        const [head, ...rest] = path;
        if (head === 'features' && rest[1] === 'valueType') return `schema[${rest[0]}].type`;
        if (head === 'features' && typeof rest[0] === 'number') return `schema[${rest[0]}]${rest.slice(1).map((r) => `.${r}`).join('')}`;
        if (head === 'entities' && typeof rest[0] === 'number') return `entities[${rest[0]}]`;
        if (head === 'source') return `source.${rest.join('.')}`;
        return VIEW_PROP_NAMES[String(head)] ?? path.join('.');
      };
      if (!parsed.success) report(v, parsed.error.issues, doc, propOf);
      else report(v, problemsAt(this.store._problemsWith({ view: doc }), 'featureViews', this.store._viewCount), doc, propOf);
      this.store._checkViewNames(v, this);
    }
    v.throwIfAny();
    this.store._register(this);
  }

  /** A feature of this view, for a feature service; throws naming the view's features when absent. */
  public feature(name: string): FeatureReference {
    if (!this.schema.some((f) => f.name === name)) {
      const v = new PropValidator(this);
      v.fail('feature', name, `must be a feature of view '${this.viewName}': ${this.schema.map((f) => `'${f.name}'`).join(', ')}`);
      v.throwIfAny();
    }
    return { view: this, featureName: name };
  }

  /** Every feature of this view, in schema order. */
  public get features(): FeatureReference[] {
    return this.schema.map((f) => ({ view: this, featureName: f.name }));
  }

  /** Join key columns of the view's entities, in entity order. */
  public get joinKeys(): string[] {
    return this.entities.map((e) => e.joinKey);
  }

  /** @internal The registry entry (the source as the construct deploys it: a Glue table). */
  public _definition(): Input<typeof featureViewSchema> {
    return {
      name: this.viewName,
      entities: this.entities.map((e) => (e instanceof Entity ? e.entityName : String(e))),
      features: this.schema.map((f) => ({ name: f.name, valueType: f.type, description: f.description })),
      source: this.store._sourceDefinition(this),
      timestampField: this.timestampField,
      createdTimestampField: this.createdTimestampField,
      ttlSeconds: this.ttlSeconds,
      online: this.online,
      description: this.description,
      tags: this.tags,
    };
  }
}

/** Options of a feature service (`store.addFeatureService(id, options)`). */
export interface FeatureServiceOptions {
  /**
   * The features, in the order the model takes them: single features (`view.feature('x')`) or
   * whole views (every feature of the view, in schema order).
   */
  readonly features: (FeatureReference | FeatureView)[];
  /**
   * Name in the registry (what `get-online-features` takes as `feature_service`).
   * @default - the construct id
   */
  readonly serviceName?: string;
  /**
   * Free text for people.
   * @default - none
   */
  readonly description?: string;
}

/** Props of a feature service. */
export interface FeatureServiceProps extends FeatureServiceOptions {}

/**
 * A named set of features a model consumes. A `ModelEndpoint` takes it (`features: { service,
 * entityInputs }`) to enrich requests through the store's feature server.
 */
export class FeatureService extends Construct implements IFeatureService {
  public readonly store: FeatureStore;
  public readonly featureServiceName: string;
  /** `view:feature` references, in the service's order. */
  public readonly featureRefs: readonly string[];
  /** Join keys of the entities of the service's views (each once, in first-seen order). */
  public readonly joinKeys: readonly string[];
  /** The views the service reads. */
  public readonly views: readonly FeatureView[];
  public readonly description?: string;

  constructor(scope: Construct, id: string, props: FeatureServiceProps) {
    super(scope, id);
    this.store = storeOf(scope, 'FeatureService');
    this.featureServiceName = props.serviceName ?? id;
    this.description = props.description;
    const v = new PropValidator(this);
    const refs: string[] = [];
    /** Index in `props.features` of each reference (a view expands to several). */
    const origin: number[] = [];
    const views: FeatureView[] = [];
    (props.features ?? []).forEach((f, i) => {
      const items = f instanceof FeatureView ? f.features : [f];
      for (const item of items) {
        if (!item || !(item.view instanceof FeatureView) || typeof item.featureName !== 'string') {
          v.fail(`features[${i}]`, typeof item, "must be a FeatureView or a feature of one (view.feature('name'))");
          continue;
        }
        if (item.view.store !== this.store) {
          v.fail(`features[${i}]`, `${item.view.viewName}:${item.featureName}`, `must be a feature of this store ('${this.store.node.path}'), not of '${item.view.store.node.path}'`);
          continue;
        }
        refs.push(`${item.view.viewName}:${item.featureName}`);
        origin.push(i);
        if (!views.includes(item.view)) views.push(item.view);
      }
    });
    v.check((props.features ?? []).length > 0, 'features', props.features, 'must list at least one feature or view');
    this.featureRefs = refs;
    this.views = views;
    this.joinKeys = [...new Set(views.flatMap((x) => x.joinKeys))];
    if (!v.hasProblems) {
      const doc = this._definition();
      const parsed = featureServiceSchema.safeParse(doc);
      const propOf = (path: readonly (string | number)[]) => (path[0] === 'name' ? 'serviceName'
        : path[0] === 'features' && typeof path[1] === 'number' ? `features[${origin[path[1]]}]` : path.join('.'));
      if (!parsed.success) report(v, parsed.error.issues, doc, propOf);
      else report(v, problemsAt(this.store._problemsWith({ service: doc }), 'featureServices', this.store._serviceCount), doc, propOf);
    }
    v.throwIfAny();
    this.store._register(this);
  }

  /** The feature server that answers lookups for this service. */
  public get server(): IFeatureServer {
    return this.store.server;
  }

  /** @internal The registry entry. */
  public _definition(): Input<typeof featureServiceSchema> {
    return { name: this.featureServiceName, features: [...this.featureRefs], description: this.description };
  }
}
