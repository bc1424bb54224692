import { InputError, describeValue } from '../errors';
import { FeatureCatalog, ResolvedView } from './catalog';
import { keyspaceFor } from './materialize';
import { OnlineKeyspace, OnlineStore } from './online-store';
import { ROW_VALUES_OFFSET, Row, ValueSchema, decodeValueSchema, parseRow, valueSchemaOf } from './rows';
import { EPOCH_TIMESTAMP, FeatureJsonValue, canonicalJoinKey, decodeFeatureValue, entityKeyText, formatProtoTimestamp } from './values';

/** Status of one value, as Feast's `FieldStatus`. */
export type FieldStatus = 'PRESENT' | 'NOT_FOUND' | 'OUTSIDE_MAX_AGE';

/**
 * Body of `POST /get-online-features`, exactly as Feast's feature server takes it: either
 * `features` (`view:feature` references) or `feature_service`, and `entities` as columns
 * (join key -> one value per entity row).
 */
export interface GetOnlineFeaturesRequest {
  readonly features?: readonly string[];
  readonly feature_service?: string;
  readonly entities: Readonly<Record<string, readonly unknown[]>>;
  /** Name features `view__feature` instead of `feature`. @default false */
  readonly full_feature_names?: boolean;
}

/** One column of the response: a value, status and event time per entity row. */
export interface FeatureVector {
  values: FeatureJsonValue[];
  statuses: FieldStatus[];
  event_timestamps: string[];
}

/**
 * Feast's response (the JSON form of `GetOnlineFeaturesResponse`): column-oriented, one
 * entry of `results` per name in `metadata.feature_names`, join-key columns first (echoing
 * the request, status PRESENT, timestamp 1970-01-01T00:00:00Z), then the features in the
 * order requested. A value older than its view's TTL has status OUTSIDE_MAX_AGE, its stored
 * event timestamp and value `null` (Feast's Go server would return the stale value; we
 * withhold it so that a client that ignores statuses never uses it). A value never
 * materialized (or whose row expired: `onlineStore.keyTtlSeconds`) has status NOT_FOUND, value
 * `null`, timestamp 1970-01-01T00:00:00Z.
 */
export interface GetOnlineFeaturesResponse {
  metadata: { feature_names: string[] };
  results: FeatureVector[];
}

/** Too many entity rows in one request (HTTP 413). */
export class TooManyEntitiesError extends InputError {
  constructor(count: number, max: number) {
    super('entities', `${count} entity rows in one request; at most ${max} are allowed`);
    this.name = 'TooManyEntitiesError';
  }
}

/** Options of {@link OnlineFeatureService}. */
export interface OnlineFeatureServiceOptions {
  /** @default - featureServer.maxEntitiesPerRequest of the registry */
  readonly maxEntitiesPerRequest?: number;
  /** Clock for TTL checks (epoch ms). @default Date.now */
  readonly now?: () => number;
}

/** Counts of statuses per view from one lookup, for metrics. */
export type StatusCounts = Map<string, Record<FieldStatus, number>>;

/**
 * Online feature retrieval: validates a Feast request against the registry and reads every
 * value with ONE round trip to the online store. Used by the feature server and, in process,
 * by the model server for enrichment.
 */
export class OnlineFeatureService {
  private readonly keyspace: OnlineKeyspace;
  private readonly maxEntities: number;
  private readonly now: () => number;
  /** Value schemas of the views as the registry defines them, by view name. */
  private readonly schemas = new Map<string, ValueSchema>();
  /** Stored value schemas of other definitions met in rows, by `view\0fingerprint` (immutable). */
  private readonly storedSchemas = new Map<string, ValueSchema>();

  constructor(public readonly catalog: FeatureCatalog, public readonly store: OnlineStore, options: OnlineFeatureServiceOptions = {}) {
    this.keyspace = keyspaceFor(catalog);
    this.maxEntities = options.maxEntitiesPerRequest ?? catalog.registry.featureServer.maxEntitiesPerRequest;
    this.now = options.now ?? Date.now;
  }

  /** Looks features up; throws InputError / NotFoundError / TooManyEntitiesError for bad requests. */
  public async getOnlineFeatures(request: GetOnlineFeaturesRequest): Promise<GetOnlineFeaturesResponse> {
    return (await this.lookup(request)).response;
  }

  /** As {@link getOnlineFeatures}, with status counts per view. */
  public async lookup(request: unknown): Promise<{ response: GetOnlineFeaturesResponse; statusCounts: StatusCounts }> {
    if (request === null || typeof request !== 'object' || Array.isArray(request)) {
      throw new InputError('request body', `expected a JSON object, got ${describeValue(request)}`);
    }
    const req = request as Record<string, unknown>;
    for (const k of Object.keys(req)) {
      if (!['features', 'feature_service', 'entities', 'full_feature_names'].includes(k)) {
        throw new InputError(`request.${k}`, "unknown field; expected 'features' or 'feature_service', 'entities', 'full_feature_names'");
      }
    }
    if (req.full_feature_names !== undefined && typeof req.full_feature_names !== 'boolean') {
      throw new InputError('request.full_feature_names', `expected true or false, got ${describeValue(req.full_feature_names)}`);
    }
    const features = this.catalog.resolveFeatures({
      features: req.features, featureService: req.feature_service, fullFeatureNames: req.full_feature_names === true,
    });

    // Views in order of first use, each with the features asked of it.
    const views: { view: ResolvedView; schema: ValueSchema; features: string[]; columns: number[] }[] = [];
    const viewIndex = new Map<string, number>();
    features.forEach((f, i) => {
      let vi = viewIndex.get(f.view.name);
      if (vi === undefined) {
        if (!f.view.definition.online) throw new InputError(`feature view '${f.view.name}'`, 'is not online (online: false); its features are only in the offline store');
        vi = views.length;
        viewIndex.set(f.view.name, vi);
        views.push({ view: f.view, schema: this.schemaOf(f.view), features: [], columns: [] });
      }
      views[vi].features.push(f.feature);
      views[vi].columns.push(i);
    });

    const entities = req.entities;
    if (entities === null || typeof entities !== 'object' || Array.isArray(entities)) {
      throw new InputError('request.entities', `expected an object of join key -> list of values, got ${describeValue(entities)}`);
    }
    const columns = Object.entries(entities as Record<string, unknown>);
    const required = new Map<string, { type: ResolvedView['joinKeys'][number]['valueType']; view: string }>();
    for (const { view } of views) for (const k of view.joinKeys) if (!required.has(k.name)) required.set(k.name, { type: k.valueType, view: view.name });
    for (const [name] of required) {
      if (!(name in (entities as object))) {
        throw new InputError('request.entities', `missing join key '${name}' (needed by feature view '${required.get(name)!.view}')`);
      }
    }
    let rows = -1;
    const canonical = new Map<string, string[]>();
    for (const [name, values] of columns) {
      const need = required.get(name);
      if (!need) {
        throw new InputError(`request.entities.${name}`, `is not a join key of the requested features; expected ${[...required.keys()].map((k) => `'${k}'`).join(', ')}`);
      }
      if (!Array.isArray(values)) throw new InputError(`request.entities.${name}`, `expected a list of values, got ${describeValue(values)}`);
      if (rows === -1) {rows = values.length;} else if (values.length !== rows) {
        throw new InputError(`request.entities.${name}`, `has ${values.length} values but '${columns[0][0]}' has ${rows}; every join key needs one value per entity row`);
      }
      if (rows > this.maxEntities) throw new TooManyEntitiesError(rows, this.maxEntities);
      canonical.set(name, values.map((v, i) => canonicalJoinKey(v, need.type, `request.entities.${name}[${i}]`)));
    }
    if (rows === 0) throw new InputError('request.entities', 'holds no entity rows');

    // One command: rows x views keys (Redis MGET), one round trip.
    const keys: string[] = new Array(rows * views.length);
    for (let r = 0; r < rows; r++) {
      for (let v = 0; v < views.length; v++) {
        const view = views[v].view;
        const key = entityKeyText(view.joinKeys.map((k) => canonical.get(k.name)![r]));
        keys[r * views.length + v] = this.keyspace.row(view.name, key);
      }
    }
    const stored = await this.store.readValues(keys);
    const parsed: (Row | null)[] = new Array(stored.length);
    let unknown: Map<string, { view: string; fingerprint: string }> | undefined;
    for (let i = 0; i < stored.length; i++) {
      const raw = stored[i];
      const row = raw === null ? null : parseRow(raw);
      parsed[i] = row;
      const view = views[i % views.length];
      if (row !== null && row[0] !== view.schema.fingerprint && !this.storedSchemas.has(`${view.view.name}\0${row[0]}`)) {
        (unknown ??= new Map()).set(`${view.view.name}\0${row[0]}`, { view: view.view.name, fingerprint: row[0] });
      }
    }
    // Rows written under another definition of their view: decoded by name through the schema
    // they name (fetched once per process: a fingerprint's schema never changes).
    if (unknown) await this.fetchSchemas([...unknown.values()]);

    const now = this.now();
    const out: FeatureVector[] = features.map(() => ({
      values: new Array(rows), statuses: new Array(rows), event_timestamps: new Array(rows),
    }));
    const statusCounts: StatusCounts = new Map();
    for (let v = 0; v < views.length; v++) {
      const { view, schema, features: names, columns: cols } = views[v];
      const ttlMs = view.definition.ttlSeconds === undefined ? Infinity : view.definition.ttlSeconds * 1000;
      const counts: Record<FieldStatus, number> = { PRESENT: 0, NOT_FOUND: 0, OUTSIDE_MAX_AGE: 0 };
      statusCounts.set(view.name, counts);
      const current = names.map((n) => schema.index.get(n)!);
      for (let r = 0; r < rows; r++) {
        const row = parsed[r * views.length + v];
        let rowSchema: ValueSchema | undefined = schema;
        let positions: (number | undefined)[] = current;
        if (row !== null && row[0] !== schema.fingerprint) {
          rowSchema = this.storedSchemas.get(`${view.name}\0${row[0]}`);
          positions = rowSchema ? names.map((n) => rowSchema!.index.get(n)) : [];
        }
        const ts = row === null || !rowSchema ? NaN : row[1];
        const expired = !Number.isNaN(ts) && now - ts > ttlMs;
        const tsOut = Number.isNaN(ts) ? EPOCH_TIMESTAMP : formatProtoTimestamp(ts);
        for (let c = 0; c < cols.length; c++) {
          const vec = out[cols[c]];
          const at = positions[c];
          if (Number.isNaN(ts) || at === undefined) {
            vec.values[r] = null; vec.statuses[r] = 'NOT_FOUND'; vec.event_timestamps[r] = EPOCH_TIMESTAMP;
            counts.NOT_FOUND++;
          } else if (expired) {
            vec.values[r] = null; vec.statuses[r] = 'OUTSIDE_MAX_AGE'; vec.event_timestamps[r] = tsOut;
            counts.OUTSIDE_MAX_AGE++;
          } else {
            vec.values[r] = decodeFeatureValue(row![ROW_VALUES_OFFSET + at] ?? null, rowSchema!.types[at]);
            vec.statuses[r] = 'PRESENT'; vec.event_timestamps[r] = tsOut;
            counts.PRESENT++;
          }
        }
      }
    }

    const keyVectors: FeatureVector[] = columns.map(([, values]) => ({
      values: (values as unknown[]).map((x) => x as FeatureJsonValue),
      statuses: new Array<FieldStatus>(rows).fill('PRESENT'),
      event_timestamps: new Array<string>(rows).fill(EPOCH_TIMESTAMP),
    }));
    return {
      response: {
        metadata: { feature_names: [...columns.map(([n]) => n), ...features.map((f) => f.outputName)] },
        results: [...keyVectors, ...out],
      },
      statusCounts,
    };
  }

  private schemaOf(view: ResolvedView): ValueSchema {
    let schema = this.schemas.get(view.name);
    if (!schema) this.schemas.set(view.name, (schema = valueSchemaOf(view.definition.features)));
    return schema;
  }

  /**
   * Reads stored value schemas (one round trip) into the cache. A schema that is missing (a row
   * whose schema was deleted by hand) is not cached: its rows read NOT_FOUND.
   */
  private async fetchSchemas(wanted: { view: string; fingerprint: string }[]): Promise<void> {
    const stored = await this.store.readValues(wanted.map((w) => this.keyspace.schema(w.view, w.fingerprint)));
    wanted.forEach((w, i) => {
      const raw = stored[i];
      if (raw !== null) this.storedSchemas.set(`${w.view}\0${w.fingerprint}`, decodeValueSchema(raw, w.fingerprint));
    });
  }
}
