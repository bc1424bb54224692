import { z } from 'zod';

/**
 * The feature registry: the one JSON document that describes a feature store. The
 * `FeatureStore` constructs synthesize it (and validate it with {@link featureRegistrySchema}
 * and {@link findFeatureRegistryProblems} at synth time); the `cdk-mlops features` runtime
 * reads it at start (`--config registry.json`, overridable from the environment with
 * `CDK_MLOPS_FEATURES_<PATH>`, e.g. `CDK_MLOPS_FEATURES_ONLINE_STORE__URL=redis://...`).
 *
 * This module must stay free of runtime-only imports: the constructs import it.
 */

/** Value types a feature may have (the subset of Feast's `ValueType` used by tabular models). */
export const FEATURE_VALUE_TYPES = ['int32', 'int64', 'float32', 'float64', 'string', 'bool', 'unix_timestamp'] as const;
/** The type of a feature value. `unix_timestamp` is a point in time (a Parquet TIMESTAMP). */
export type FeatureValueType = (typeof FEATURE_VALUE_TYPES)[number];

/** Value types a join key may have: integers or strings (floats make poor keys). */
export const JOIN_KEY_TYPES = ['int32', 'int64', 'string'] as const;
/** The type of an entity's join key. */
export type JoinKeyType = (typeof JOIN_KEY_TYPES)[number];

/**
 * Names of entities, join keys, views, features and services: a letter, then letters, digits
 * or underscores, at most 128 characters. They appear in Redis keys, SQL identifiers and
 * Kubernetes labels, so nothing else is allowed (names starting with `__` are reserved).
 */
export const FEATURE_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,127}$/;

const name = (what: string) => z.string().regex(FEATURE_NAME_PATTERN, {
  message: `${what} must start with a letter and hold only letters, digits and '_' (at most 128 characters)`,
});

/** An entity: the thing features describe (a driver, a card), identified by its join key. */
export const entitySchema = z.object({
  /** Entity name, referenced by feature views. */
  name: name('entity name'),
  /** Column that identifies the entity in sources, entity tables and online requests. @default - the entity name */
  joinKey: name('join key').optional(),
  /** Type of the join key. */
  valueType: z.enum(JOIN_KEY_TYPES),
  /** Free text for people. */
  description: z.string().optional(),
}).strict();

/** One typed feature of a view. */
export const featureFieldSchema = z.object({
  name: name('feature name'),
  valueType: z.enum(FEATURE_VALUE_TYPES),
  description: z.string().optional(),
}).strict();

/**
 * Where a view's rows come from. `parquet`: Parquet files under a local directory (or one file)
 * or an S3 prefix (`s3://bucket/prefix/`), relative paths resolved against
 * `offlineStore.root`. `glue`: a Glue table (queried by Athena for training sets) whose files
 * live under `path` (read by materialization).
 */
export const featureSourceSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('parquet'),
    path: z.string().min(1),
  }).strict(),
  z.object({
    type: z.literal('glue'),
    database: name('Glue database'),
    table: name('Glue table'),
    /** Storage location of the table's Parquet files (`s3://...` or a local directory). */
    path: z.string().min(1),
  }).strict(),
]);

/** A feature view: typed features of one or more entities, read from one source. */
export const featureViewSchema = z.object({
  name: name('feature view name'),
  /** Entity names; their join keys together identify a row. */
  entities: z.array(z.string()).min(1),
  features: z.array(featureFieldSchema).min(1),
  source: featureSourceSchema,
  /** Event-time column of the source. @default 'event_timestamp' */
  timestampField: name('timestamp field').default('event_timestamp'),
  /**
   * Column recording when a row was written. Breaks ties between rows with the same event
   * time (the later-created row wins), and makes incremental materialization pick up
   * late-arriving rows. @default - none: ties go to the row read last (files in path order)
   */
  createdTimestampField: name('created timestamp field').optional(),
  /**
   * Maximum age of a value, in seconds: online lookups report OUTSIDE_MAX_AGE for older
   * values, training sets leave them null. A whole number > 0 (checked by
   * findFeatureRegistryProblems, which names the view). @default - values never expire
   */
  ttlSeconds: z.number().optional(),
  /** Whether `materialize` loads this view into the online store. @default true */
  online: z.boolean().default(true),
  description: z.string().optional(),
  tags: z.record(z.string(), z.string()).optional(),
}).strict();

/** A named set of features a model consumes, as `view:feature` references. */
export const featureServiceSchema = z.object({
  name: name('feature service name'),
  features: z.array(z.string()).min(1),
  description: z.string().optional(),
}).strict();

/**
 * Redis (ElastiCache for Redis, or a local server). Credentials never appear in the document:
 * they are read from the environment variables it names.
 */
export const redisOnlineStoreSchema = z.object({
  type: z.literal('redis'),
  /** @default 'redis://127.0.0.1:6379' */
  url: z.string().regex(/^rediss?:\/\//, { message: 'must be a redis:// or rediss:// URL' }).default('redis://127.0.0.1:6379'),
  /** Prefix of every key this store writes. @default 'cdk-mlops:features:' */
  keyPrefix: z.string().default('cdk-mlops:features:'),
  /** Connect with TLS (ElastiCache in-transit encryption). @default false */
  tls: z.boolean().default(false),
  /** Environment variable holding the ACL user name. @default - no user (default user) */
  usernameEnv: z.string().optional(),
  /** Environment variable holding the password / ElastiCache auth token. @default - no auth */
  passwordEnv: z.string().optional(),
  /** @default 5000 */
  connectTimeoutMs: z.number().int().positive().default(5000),
  /** Per-command timeout. @default 2000 */
  commandTimeoutMs: z.number().int().positive().default(2000),
  /**
   * Expire each entity's row this many seconds after the write that last changed it, so that
   * entities no longer in the offline data stop occupying the store (Redis `SET ... PX`,
   * DynamoDB's TTL attribute `exp`). An expired row reads NOT_FOUND (where, kept, it would
   * read OUTSIDE_MAX_AGE once older than its view's TTL); it comes back when its source has a
   * newer row, or with `materialize --full`. At least every view's `ttlSeconds` (checked), so
   * a value never expires while it is still fresh. Watermarks and schemas never expire.
   * @default - rows never expire
   */
  keyTtlSeconds: z.number().int().positive().optional(),
}).strict();

/**
 * In-process store: lives in the serving process, which materializes into it at start and
 * then incrementally every `refreshSeconds`.
 */
export const memoryOnlineStoreSchema = z.object({
  type: z.literal('memory'),
  /** Seconds between incremental refreshes from the offline store; 0: only at start. @default 60 */
  refreshSeconds: z.number().int().min(0).default(60),
  /**
   * Expire each entity's row this many seconds after the write that last changed it, so that
   * entities no longer in the offline data stop occupying the store (Redis `SET ... PX`,
   * DynamoDB's TTL attribute `exp`). An expired row reads NOT_FOUND (where, kept, it would
   * read OUTSIDE_MAX_AGE once older than its view's TTL); it comes back when its source has a
   * newer row, or with `materialize --full`. At least every view's `ttlSeconds` (checked), so
   * a value never expires while it is still fresh. Watermarks and schemas never expire.
   * @default - rows never expire
   */
  keyTtlSeconds: z.number().int().positive().optional(),
}).strict();

/**
 * A DynamoDB table with partition key `k` (string) and the row in attribute `v` (string),
 * e.g. the one `OnlineStore.dynamodb()` synthesizes. Credentials come from the SDK's default
 * chain (IRSA / Pod Identity in the cluster).
 */
export const dynamodbOnlineStoreSchema = z.object({
  type: z.literal('dynamodb'),
  /** Table name. */
  table: z.string().regex(/^[A-Za-z0-9_.-]{3,255}$/, { message: "must be a DynamoDB table name: 3 to 255 letters, digits, '_', '-' or '.'" }),
  /** @default - the region of the environment (AWS_REGION) */
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, { message: "must be an AWS region like 'eu-west-1'" }).optional(),
  /**
   * Endpoint URL instead of the region's (DynamoDB Local, a test server on loopback).
   * @default - the region's endpoint
   */
  endpoint: z.string().regex(/^https?:\/\/[^\s/]+(\/.*)?$/, { message: 'must be an http:// or https:// URL' }).optional(),
  /** Prefix of every key this store writes. @default 'cdk-mlops:features:' */
  keyPrefix: z.string().default('cdk-mlops:features:'),
  /** Timeout of one request to DynamoDB. @default 2000 */
  requestTimeoutMs: z.number().int().positive().default(2000),
  /**
   * Expire each entity's row this many seconds after the write that last changed it, so that
   * entities no longer in the offline data stop occupying the store (Redis `SET ... PX`,
   * DynamoDB's TTL attribute `exp`). An expired row reads NOT_FOUND (where, kept, it would
   * read OUTSIDE_MAX_AGE once older than its view's TTL); it comes back when its source has a
   * newer row, or with `materialize --full`. At least every view's `ttlSeconds` (checked), so
   * a value never expires while it is still fresh. Watermarks and schemas never expire.
   * @default - rows never expire
   */
  keyTtlSeconds: z.number().int().positive().optional(),
}).strict();

/** The online store. */
export const onlineStoreSchema = z.discriminatedUnion('type', [
  redisOnlineStoreSchema,
  memoryOnlineStoreSchema,
  dynamodbOnlineStoreSchema,
]);

/** The offline store. */
export const offlineStoreSchema = z.object({
  /** Local directory or `s3://bucket/prefix`; relative source paths resolve against it. */
  root: z.string().min(1),
}).strict();

/** Settings of `cdk-mlops features serve`. */
export const featureServerSchema = z.object({
  /** @default '127.0.0.1' */
  host: z.string().default('127.0.0.1'),
  /** Feast's default port. @default 6566 */
  port: z.number().int().min(0).max(65535).default(6566),
  /** Largest accepted request body. @default 1048576 */
  bodyLimitBytes: z.number().int().positive().default(1_048_576),
  /** Most entity rows in one request (413 beyond). @default 1000 */
  maxEntitiesPerRequest: z.number().int().positive().default(1000),
  /** @default 10000 */
  requestTimeoutMs: z.number().int().positive().default(10_000),
  /** Time given to in-flight requests after SIGTERM. @default 10000 */
  shutdownGraceMs: z.number().int().positive().default(10_000),
}).strict();

/** The whole document, before the cross-reference checks. */
const featureRegistryObjectSchema = z.object({
  /** Document version. */
  apiVersion: z.literal('cdk-mlops.features/v1').default('cdk-mlops.features/v1'),
  /** Project name; namespaces the online keys. */
  project: name('project'),
  entities: z.array(entitySchema).min(1),
  featureViews: z.array(featureViewSchema).min(1),
  /** @default [] */
  featureServices: z.array(featureServiceSchema).default([]),
  /** @default - local Redis at 127.0.0.1:6379 */
  onlineStore: onlineStoreSchema.default({
    type: 'redis',
    url: 'redis://127.0.0.1:6379',
    keyPrefix: 'cdk-mlops:features:',
    tls: false,
    connectTimeoutMs: 5000,
    commandTimeoutMs: 2000,
  }),
  offlineStore: offlineStoreSchema,
  /** @default - see featureServerSchema */
  featureServer: featureServerSchema.default({
    host: '127.0.0.1',
    port: 6566,
    bodyLimitBytes: 1_048_576,
    maxEntitiesPerRequest: 1000,
    requestTimeoutMs: 10_000,
    shutdownGraceMs: 10_000,
  }),
}).strict();

/** One problem found by {@link findFeatureRegistryProblems}: where, and what is wrong. */
export interface FeatureRegistryProblem {
  /** Path of the offending item, e.g. `['featureViews', 0, 'entities', 1]`. */
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/** A parsed reference `view:feature`. */
export interface FeatureRef {
  readonly view: string;
  readonly feature: string;
}

/** Parses `view:feature`; returns undefined if the text is not of that form. */
export function parseFeatureRef(ref: string): FeatureRef | undefined {
  const m = /^([^:]+):([^:]+)$/.exec(ref);
  if (!m || !FEATURE_NAME_PATTERN.test(m[1]) || !FEATURE_NAME_PATTERN.test(m[2])) return undefined;
  return { view: m[1], feature: m[2] };
}

/** The structural input of {@link findFeatureRegistryProblems} (what the constructs hold). */
export interface FeatureRegistryShape {
  readonly entities: readonly { readonly name: string; readonly joinKey?: string; readonly valueType: string }[];
  readonly featureViews: readonly {
    readonly name: string;
    readonly entities: readonly string[];
    readonly features: readonly { readonly name: string; readonly valueType: string }[];
    readonly timestampField?: string;
    readonly createdTimestampField?: string;
    readonly ttlSeconds?: number;
  }[];
  readonly featureServices?: readonly { readonly name: string; readonly features: readonly string[] }[];
}

function quoteList(names: Iterable<string>): string {
  const list = [...names];
  return list.length ? list.map((n) => `'${n}'`).join(', ') : '(none)';
}

/**
 * The cross-reference checks that a schema cannot express: unknown entity, duplicate names,
 * a feature clashing with a key or timestamp column, TTL <= 0, a service naming a view or
 * feature that does not exist. Pure: the constructs run it at synth time, the runtime at
 * start. Returns every problem (empty when the registry is consistent).
 */
export function findFeatureRegistryProblems(registry: FeatureRegistryShape): FeatureRegistryProblem[] {
  const problems: FeatureRegistryProblem[] = [];
  const entities = new Map<string, { joinKey: string; index: number }>();
  const joinKeys = new Map<string, string>();
  registry.entities.forEach((e, i) => {
    if (entities.has(e.name)) {
      problems.push({ path: ['entities', i, 'name'], message: `duplicate entity name '${e.name}'` });
      return;
    }
    const joinKey = e.joinKey ?? e.name;
    const other = joinKeys.get(joinKey);
    if (other !== undefined) {
      problems.push({ path: ['entities', i, 'joinKey'], message: `entity '${e.name}' uses join key '${joinKey}', already the join key of entity '${other}'` });
    }
    joinKeys.set(joinKey, e.name);
    entities.set(e.name, { joinKey, index: i });
  });

  const views = new Map<string, Set<string>>();
  registry.featureViews.forEach((v, i) => {
    const at = (...rest: (string | number)[]) => ['featureViews', i, ...rest];
    if (views.has(v.name)) problems.push({ path: at('name'), message: `duplicate feature view name '${v.name}'` });
    const keyColumns = new Set<string>();
    const seenEntities = new Set<string>();
    v.entities.forEach((en, j) => {
      const entity = entities.get(en);
      if (!entity) {
        problems.push({ path: at('entities', j), message: `feature view '${v.name}' names unknown entity '${en}'; known entities: ${quoteList(entities.keys())}` });
      } else if (seenEntities.has(en)) {
        problems.push({ path: at('entities', j), message: `feature view '${v.name}' names entity '${en}' twice` });
      } else {
        keyColumns.add(entity.joinKey);
      }
      seenEntities.add(en);
    });
    const timestampField = v.timestampField ?? 'event_timestamp';
    if (v.createdTimestampField !== undefined && v.createdTimestampField === timestampField) {
      problems.push({ path: at('createdTimestampField'), message: `feature view '${v.name}': createdTimestampField must differ from timestampField ('${timestampField}')` });
    }
    const features = new Set<string>();
    v.features.forEach((f, j) => {
      if (features.has(f.name)) {
        problems.push({ path: at('features', j, 'name'), message: `feature view '${v.name}' declares feature '${f.name}' twice` });
      } else if (keyColumns.has(f.name)) {
        problems.push({ path: at('features', j, 'name'), message: `feature view '${v.name}': feature '${f.name}' has the name of a join key` });
      } else if (f.name === timestampField || f.name === v.createdTimestampField) {
        problems.push({ path: at('features', j, 'name'), message: `feature view '${v.name}': feature '${f.name}' has the name of a timestamp column` });
      }
      features.add(f.name);
    });
    if (v.ttlSeconds !== undefined && !(Number.isInteger(v.ttlSeconds) && v.ttlSeconds > 0)) {
      problems.push({ path: at('ttlSeconds'), message: `feature view '${v.name}': ttlSeconds (${v.ttlSeconds}) must be a whole number of seconds greater than 0 (leave it out for values that never expire)` });
    }
    if (!views.has(v.name)) views.set(v.name, features);
  });

  const services = new Set<string>();
  (registry.featureServices ?? []).forEach((s, i) => {
    const at = (...rest: (string | number)[]) => ['featureServices', i, ...rest];
    if (services.has(s.name)) problems.push({ path: at('name'), message: `duplicate feature service name '${s.name}'` });
    services.add(s.name);
    const refs = new Set<string>();
    // Feature name -> the view it first came from: lookups without full_feature_names name
    // columns by feature alone, so two views giving one name would make every such lookup fail.
    const byName = new Map<string, string>();
    s.features.forEach((ref, j) => {
      const parsed = parseFeatureRef(ref);
      if (!parsed) {
        problems.push({ path: at('features', j), message: `feature service '${s.name}': '${ref}' is not a reference of the form 'view:feature'` });
        return;
      }
      const viewFeatures = views.get(parsed.view);
      if (!viewFeatures) {
        problems.push({ path: at('features', j), message: `feature service '${s.name}' names unknown feature view '${parsed.view}' (in '${ref}'); known views: ${quoteList(views.keys())}` });
      } else if (!viewFeatures.has(parsed.feature)) {
        problems.push({ path: at('features', j), message: `feature service '${s.name}' names feature '${parsed.feature}', which feature view '${parsed.view}' does not have; it has ${quoteList(viewFeatures)}` });
      } else if (refs.has(ref)) {
        problems.push({ path: at('features', j), message: `feature service '${s.name}' names '${ref}' twice` });
      } else {
        const first = byName.get(parsed.feature);
        if (first !== undefined && first !== parsed.view) {
          problems.push({
            path: at('features', j),
            message: `feature service '${s.name}' has two features named '${parsed.feature}', from feature views '${first}' and '${parsed.view}'; `
              + `lookups without full_feature_names would name both columns '${parsed.feature}' and fail: rename one of the features, or serve them from different services`,
          });
        } else {
          byName.set(parsed.feature, parsed.view);
        }
      }
      refs.add(ref);
    });
  });
  return problems;
}

/**
 * The feature registry schema: structure and defaults, then {@link findFeatureRegistryProblems}.
 * `featureRegistrySchema.parse(doc)` fails with every problem, each at its path.
 */
export const featureRegistrySchema = featureRegistryObjectSchema.superRefine((doc, ctx) => {
  for (const p of findFeatureRegistryProblems(doc)) {
    ctx.addIssue({ code: 'custom', path: [...p.path], message: p.message });
  }
  const keyTtl = doc.onlineStore.keyTtlSeconds;
  // (zod runs this on a document with other issues too: only a valid expiry is compared)
  if (typeof keyTtl === 'number' && Number.isInteger(keyTtl) && keyTtl > 0) {
    for (const v of doc.featureViews) {
      if (v.ttlSeconds !== undefined && v.online && keyTtl < v.ttlSeconds) {
        ctx.addIssue({
          code: 'custom',
          path: ['onlineStore', 'keyTtlSeconds'],
          message: `${keyTtl} is shorter than the ttlSeconds (${v.ttlSeconds}) of feature view '${v.name}': its values would expire while still fresh; give at least ${v.ttlSeconds}`,
        });
      }
    }
  }
});

/** The feature registry as written (defaults may be left out). */
export type FeatureRegistryInput = z.input<typeof featureRegistrySchema>;
/** The feature registry with defaults applied. */
export type FeatureRegistry = z.output<typeof featureRegistrySchema>;
/** An entity with defaults applied. */
export type EntityDefinition = z.output<typeof entitySchema>;
/** A feature view with defaults applied. */
export type FeatureViewDefinition = z.output<typeof featureViewSchema>;
/** A feature service. */
export type FeatureServiceDefinition = z.output<typeof featureServiceSchema>;
/** The online store settings. */
export type OnlineStoreConfig = z.output<typeof onlineStoreSchema>;
/** Redis online store settings. */
export type RedisOnlineStoreConfig = z.output<typeof redisOnlineStoreSchema>;
/** DynamoDB online store settings. */
export type DynamoDbOnlineStoreConfig = z.output<typeof dynamodbOnlineStoreSchema>;
/** Feature server settings. */
export type FeatureServerConfig = z.output<typeof featureServerSchema>;

/** Environment prefix of the feature runtime's overrides. */
export const FEATURES_ENV_PREFIX = 'CDK_MLOPS_FEATURES';
