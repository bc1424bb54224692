import type { ServeFeaturesConfig } from '../config/serve';
import { InputError, describeValue } from '../errors';
import type { GetOnlineFeaturesRequest, GetOnlineFeaturesResponse } from '../features/online';
import type { Logger } from '../log';
import { HttpError } from './errors';
import type { ServedModel } from './model';

/**
 * Online feature enrichment (issue 6, point 5): turns a request that carries entity keys into
 * the model's full input, with one round trip to the online feature store, before validation.
 * The result is an ordinary OIP inference request, validated like any other, and what the
 * prediction log records is the assembled input (what the model saw).
 */
export interface FeatureEnricher {
  /** Returns the request body to validate and run (the body itself when there is nothing to add). */
  enrich(body: unknown, model: ServedModel): Promise<unknown>;
  /** Releases connections. */
  close(): Promise<void>;
}

/**
 * Where online features come from: Feast's `get-online-features` (request and response as
 * Feast's feature server has them). The features runtime's `OnlineFeatureService` (in process,
 * one round trip to Redis) satisfies it as is; {@link HttpFeatureSource} calls the feature
 * server over HTTP.
 */
export interface OnlineFeatureSource {
  getOnlineFeatures(request: GetOnlineFeaturesRequest): Promise<GetOnlineFeaturesResponse>;
}

/** `POST <url>/get-online-features` on the feature server (`cdk-mlops features serve`). */
export class HttpFeatureSource implements OnlineFeatureSource {
  private readonly endpoint: string;
  constructor(url: string, private readonly timeoutMs: number) {
    this.endpoint = `${url.replace(/\/+$/, '')}/get-online-features`;
  }

  public async getOnlineFeatures(request: GetOnlineFeaturesRequest): Promise<GetOnlineFeaturesResponse> {
    let res: Response;
    try {
      res = await fetch(this.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(request),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      const timedOut = (e as Error).name === 'TimeoutError';
      throw new FeatureSourceError(timedOut ? `no answer within ${this.timeoutMs} ms` : `unreachable (${(e as Error).message})`);
    }
    const text = await res.text();
    if (res.status !== 200) {
      // The feature server answers errors as {statusCode, error, message}: `message` names the input.
      let detail = text.slice(0, 500);
      try {
        const parsed = JSON.parse(text) as { message?: unknown; error?: unknown; detail?: unknown };
        const m = parsed.message ?? parsed.detail ?? parsed.error;
        if (m !== undefined) detail = typeof m === 'string' ? m : JSON.stringify(m);
      } catch {
        // not JSON: the body as it is
      }
      // 400: the entity key values the client passed on (e.g. a string for an int64 key).
      if (res.status === 400) throw new InputError('entity keys', `the feature server refused them: ${detail}`);
      // 5xx: the feature store is failing (a dependency: 503, retry later).
      if (res.status >= 500) throw new FeatureSourceError(`answered HTTP ${res.status}: ${detail}`);
      // 404 (unknown feature service, view or feature), 413 (more rows than the server takes),
      // anything else: this deployment's configuration, not the client's request.
      throw new FeatureDeploymentError(`answered HTTP ${res.status}: ${detail}`);
    }
    try {
      return JSON.parse(text) as GetOnlineFeaturesResponse;
    } catch {
      throw new FeatureSourceError('answered something that is not JSON');
    }
  }
}

/**
 * The feature server refused the lookup for a reason of this deployment, not of the request:
 * an unknown feature service, view or feature (404), more entity rows than it takes (413).
 * Logged, and a 500 without details to the client.
 */
export class FeatureDeploymentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FeatureDeploymentError';
  }
}

/** The feature store could not answer (a dependency failure: 503 to the client). */
export class FeatureSourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FeatureSourceError';
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Assembles the model's tabular input from the request's entity keys and the online features
 * of the configured feature service:
 *
 * - The request names each entity input (`features.entityInputs`: OIP input -> join key), one
 *   key per row (shape `[N]` or `[N, 1]`, INT64/INT32 or BYTES); it may also carry the model's
 *   other inputs. When it already carries the target input, it is passed through unchanged.
 * - One lookup for all rows; the target input (`features.targetInput`, or the model's only
 *   input) becomes `[N, F]` with the features in the order of the manifest's
 *   `signature.featureNames` (else the feature service's order), converted to the input's
 *   datatype.
 * - Missing values (status NOT_FOUND or OUTSIDE_MAX_AGE): `onMissing: reject` answers 400
 *   naming the entity, the feature and the status; `default` uses `defaults[feature]` (or 0).
 * - A feature store that does not answer in `timeoutMs`, or answers 5xx, is a 503 (logged); a
 *   feature server that refuses the entity key values (400) is a 400 with its message; one
 *   that does not know the feature service (404) or takes fewer rows (413), and a feature the
 *   model needs that the service does not provide, are deployment errors (500, logged, no
 *   details to the client).
 */
export class OnlineFeatureEnricher implements FeatureEnricher {
  constructor(
    private readonly config: ServeFeaturesConfig,
    private readonly source: OnlineFeatureSource,
    private readonly logger: Logger,
  ) {}

  public async enrich(body: unknown, model: ServedModel): Promise<unknown> {
    if (!isObject(body) || !Array.isArray(body.inputs)) return body;
    const inputs = body.inputs as unknown[];
    const named = (name: string) => inputs.find((i) => isObject(i) && i.name === name) as Record<string, unknown> | undefined;
    const targetName = this.config.targetInput ?? (model.signature.inputs.length === 1 ? model.signature.inputs[0].name : undefined);
    if (!targetName) throw new Error(`features.targetInput is not set and model '${model.name}' has ${model.signature.inputs.length} inputs`);
    const target = model.signature.inputs.find((i) => i.name === targetName);
    if (!target) throw new Error(`features.targetInput '${targetName}' is not an input of model '${model.name}'`);
    if (named(targetName)) return body;

    const entities: Record<string, (string | number)[]> = {};
    let rows: number | undefined;
    let firstEntity = '';
    for (const [inputName, joinKey] of Object.entries(this.config.entityInputs)) {
      const input = named(inputName);
      if (!input) {
        throw new InputError('inputs', `missing entity input '${inputName}' (join key '${joinKey}'): model '${model.name}' takes its features from feature service '${this.config.featureService}', looked up by ${Object.keys(this.config.entityInputs).map((n) => `'${n}'`).join(', ')}`);
      }
      const where = `input '${inputName}'`;
      const shape = input.shape;
      if (!Array.isArray(shape) || !(shape.length === 1 || (shape.length === 2 && shape[1] === 1)) || !Number.isSafeInteger(shape[0]) || (shape[0] as number) < 1) {
        throw new InputError(`${where} shape`, `is ${describeValue(shape)}; an entity input has one key per row: [N] or [N, 1]`);
      }
      const data = (Array.isArray(input.data) ? (input.data as unknown[]).flat() : undefined);
      if (!data || data.length !== shape[0]) throw new InputError(`${where} data`, `must hold ${String(shape[0])} entity keys, one per row`);
      const datatype = input.datatype;
      const ok = datatype === 'BYTES' ? data.every((v) => typeof v === 'string')
        : (datatype === 'INT64' || datatype === 'INT32') ? data.every((v) => Number.isSafeInteger(v))
          : undefined;
      if (ok === undefined) throw new InputError(`${where} datatype`, `is ${describeValue(datatype)}; entity keys are INT64, INT32 or BYTES`);
      if (!ok) {
        const bad = data.find((v) => (datatype === 'BYTES' ? typeof v !== 'string' : !Number.isSafeInteger(v)));
        throw new InputError(`${where} data`, `holds ${describeValue(bad)}; ${datatype} entity keys must be ${datatype === 'BYTES' ? 'strings' : 'integers'}`);
      }
      if (rows !== undefined && rows !== data.length) {
        throw new InputError(`${where} shape`, `has ${data.length} rows but entity input '${firstEntity}' has ${rows}; they must agree`);
      }
      rows = data.length;
      firstEntity ||= inputName;
      entities[joinKey] = data as (string | number)[];
    }
    if (rows === undefined) throw new Error('features.entityInputs is empty');

    let response: GetOnlineFeaturesResponse;
    try {
      response = await this.source.getOnlineFeatures({ feature_service: this.config.featureService, entities });
    } catch (e) {
      if (e instanceof InputError) throw e;
      if (e instanceof FeatureDeploymentError) {
        this.logger.error({ err: e, featureService: this.config.featureService }, `online feature lookup refused: ${e.message}`);
        throw new HttpError(500, `online features are misconfigured for this model (feature service '${this.config.featureService}'); see the server log`, 'features_misconfigured');
      }
      this.logger.error({ err: e, featureService: this.config.featureService }, `online feature lookup failed: ${(e as Error).message}`);
      throw new HttpError(503, `online features are unavailable (feature service '${this.config.featureService}'); retry later`, 'features_unavailable', { 'retry-after': '1' });
    }

    const names = response.metadata.feature_names;
    const joinKeys = new Set(Object.keys(entities));
    const wanted = model.manifest.signature?.featureNames?.length ? model.manifest.signature.featureNames : names.filter((n) => !joinKeys.has(n));
    const columns = wanted.map((f) => {
      const k = names.indexOf(f);
      if (k < 0) throw new Error(`feature '${f}' of model '${model.name}' is not in feature service '${this.config.featureService}' (it has ${names.join(', ')})`);
      return response.results[k];
    });
    const numeric = target.datatype !== 'BYTES';
    const data: (number | string | boolean)[] = new Array(rows * wanted.length);
    const entityOf = (r: number) => Object.entries(entities).map(([k, v]) => `${k}=${JSON.stringify(v[r])}`).join(', ');
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < wanted.length; j++) {
        const col = columns[j];
        const status = col.statuses[r];
        let v: unknown = col.values[r];
        if (status !== 'PRESENT' || v === null || v === undefined) {
          if (this.config.onMissing === 'reject') {
            throw new InputError(`entity ${entityOf(r)}`, `feature '${wanted[j]}' is ${status === 'PRESENT' ? 'null' : status} in the online store (feature service '${this.config.featureService}')`);
          }
          v = this.config.defaults[wanted[j]] ?? (numeric ? 0 : '');
        }
        if (numeric) {
          const n = typeof v === 'boolean' ? (v ? 1 : 0) : typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
          if (!Number.isFinite(n)) throw new Error(`feature '${wanted[j]}' of entity ${entityOf(r)} is ${describeValue(v)}, not a number for ${target.datatype} input '${targetName}'`);
          data[r * wanted.length + j] = n;
        } else {
          data[r * wanted.length + j] = String(v);
        }
      }
    }
    const entityNames = new Set(Object.keys(this.config.entityInputs));
    const rest = inputs.filter((i) => !(isObject(i) && typeof i.name === 'string' && entityNames.has(i.name)));
    return {
      ...body,
      inputs: [...rest, { name: targetName, datatype: target.datatype, shape: [rows, wanted.length], data }],
    };
  }

  public async close(): Promise<void> {
    // fetch's connection pool closes with the process; nothing is held per enricher.
  }
}
