import * as fs from 'node:fs';
import * as path from 'node:path';
import type Redis from 'ioredis';
import { deleteKeys, dumpKeys, fixtureRegistry, localRedis, t, tempDir, uniquePrefix, writeFixtureData, writeParquet } from './helpers';
import type { FeatureRegistryInput } from '../../../src/runtime/config/features';
import {
  FeatureCatalog, MemoryOnlineStore, OnlineFeatureService, RedisOnlineStore, scheduleRefresh, buildFeatureServerApp, getOnlineFeatures, materialize, readWatermark,
  keyspaceFor, startFeatureServer, valueSchemaOf,
} from '../../../src/runtime/features';

const EPOCH = '1970-01-01T00:00:00Z';
const NOW = Date.parse('2024-01-01T13:30:00Z');

let redis: Redis;
let store: RedisOnlineStore;
let tmp: { dir: string; remove: () => void };
let prefix: string;
let catalog: FeatureCatalog;

/** The fingerprint of a view's value schema in `c`. */
const fp = (c: FeatureCatalog, view: string) => valueSchemaOf(c.view(view).definition.features).fingerprint;
/** A stored row, parsed: [schema, event ts, created ts, values...]. */
const row = (dump: Record<string, unknown>, key: string): unknown[] => JSON.parse(dump[key] as string);

function makeCatalog(edit: (doc: FeatureRegistryInput) => void = () => {}): FeatureCatalog {
  const doc = fixtureRegistry(tmp.dir, { type: 'redis', keyPrefix: prefix });
  edit(doc);
  return FeatureCatalog.fromObject(doc);
}

beforeAll(async () => {
  redis = localRedis();
  prefix = uniquePrefix();
  tmp = tempDir();
  writeFixtureData(tmp.dir);
  catalog = makeCatalog();
  store = await RedisOnlineStore.connect({
    type: 'redis', url: 'redis://127.0.0.1:6379', keyPrefix: prefix, tls: false, connectTimeoutMs: 2000, commandTimeoutMs: 2000,
  });
});

afterAll(async () => {
  await deleteKeys(redis, prefix);
  await store.close();
  redis.disconnect();
  tmp.remove();
});

describe('materialize into Redis, then serve', () => {
  test('first run: latest value per key, ties broken by created timestamp, documented key layout', async () => {
    const result = await materialize(catalog, store);
    expect(result.published).toBe(true);
    expect(result.views.map((v) => [v.view, v.mode, v.reason, v.files, v.rowsRead, v.entitiesWritten])).toEqual([
      ['driver_stats', 'full', 'first run', 2, 6, 2],
      ['customer_profile', 'full', 'first run', 1, 4, 3],
      ['pair_stats', 'full', 'first run', 1, 2, 2],
    ]);
    const dump = await dumpKeys(redis, prefix);
    const k = `${prefix}fraud:`;
    // ONE string per (view, entity): [schema fingerprint, event ts, created ts, values in schema order]
    const driverFp = fp(catalog, 'driver_stats');
    expect(dump[`${k}driver_stats:1001`]).toBe(`["${driverFp}",${Date.parse('2024-01-01T12:00:00Z')},${Date.parse('2024-01-01T12:30:00Z')},0.35,0.375,35]`);
    expect(row(dump, `${k}driver_stats:1002`).slice(3)).toEqual([null, 0.875, 80]);
    expect(row(dump, `${k}customer_profile:a%3Ab%2Fc`)).toEqual([fp(catalog, 'customer_profile'), Date.parse('2024-01-01T09:00:00Z'), null, 'odd key', true, 9]);
    expect(row(dump, `${k}pair_stats:1001:c-1`).slice(3)).toEqual([5]);
    // each schema once per view, under its fingerprint
    expect(JSON.parse(dump[`${k}__schema__:driver_stats:${driverFp}`] as string)).toEqual({
      features: [{ name: 'conv_rate', valueType: 'float64' }, { name: 'acc_rate', valueType: 'float32' }, { name: 'avg_daily_trips', valueType: 'int64' }],
    });
    expect(JSON.parse(dump[`${k}__watermark__:driver_stats`] as string)).toMatchObject({
      eventTs: Date.parse('2024-01-01T13:00:00Z'), createdTs: Date.parse('2024-01-01T13:05:00Z'),
    });
    expect(Object.keys(dump)).toHaveLength(7 + 3 + 3);
    // nothing expires unless keyTtlSeconds says so
    expect(await redis.pttl(`${k}driver_stats:1001`)).toBe(-1);
  });

  test('re-materializing changes nothing (full dump compared)', async () => {
    const before = await dumpKeys(redis, prefix);
    const again = await materialize(catalog, store);
    expect(again.views.map((v) => [v.mode, v.rowsNew, v.entitiesWritten])).toEqual([
      ['incremental', 0, 0], ['incremental', 0, 0], ['incremental', 0, 0],
    ]);
    expect(await dumpKeys(redis, prefix)).toEqual(before);
    const full = await materialize(catalog, store, { full: true });
    expect(full.entitiesWritten).toBe(7);
    expect(await dumpKeys(redis, prefix)).toEqual(before);
  });

  test('POST /get-online-features answers with Feast\'s shapes, field by field', async () => {
    const { app } = buildFeatureServerApp({ catalog, store, now: () => NOW, processMetrics: false });
    const res = await app.inject({
      method: 'POST',
      url: '/get-online-features',
      payload: {
        features: ['driver_stats:conv_rate', 'driver_stats:avg_daily_trips', 'customer_profile:tier', 'customer_profile:is_active', 'driver_stats:acc_rate'],
        entities: { driver_id: [1001, 1002, 9999], customer_id: ['c-1', 'c-2', 'zzz'] },
      },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const P = 'PRESENT';
    const N = 'NOT_FOUND';
    expect(res.json()).toEqual({
      metadata: { feature_names: ['driver_id', 'customer_id', 'conv_rate', 'avg_daily_trips', 'tier', 'is_active', 'acc_rate'] },
      results: [
        { values: [1001, 1002, 9999], statuses: [P, P, P], event_timestamps: [EPOCH, EPOCH, EPOCH] },
        { values: ['c-1', 'c-2', 'zzz'], statuses: [P, P, P], event_timestamps: [EPOCH, EPOCH, EPOCH] },
        { values: [0.35, null, null], statuses: [P, P, N], event_timestamps: ['2024-01-01T12:00:00Z', '2024-01-01T13:00:00Z', EPOCH] },
        { values: [35, 80, null], statuses: [P, P, N], event_timestamps: ['2024-01-01T12:00:00Z', '2024-01-01T13:00:00Z', EPOCH] },
        { values: ['gold', 'bronze', null], statuses: [P, P, N], event_timestamps: ['2024-01-01T11:30:00Z', '2024-01-01T09:30:00Z', EPOCH] },
        { values: [true, false, null], statuses: [P, P, N], event_timestamps: ['2024-01-01T11:30:00Z', '2024-01-01T09:30:00Z', EPOCH] },
        { values: [0.375, 0.875, null], statuses: [P, P, N], event_timestamps: ['2024-01-01T12:00:00Z', '2024-01-01T13:00:00Z', EPOCH] },
      ],
    });
    await app.close();
  });

  test('feature service, full feature names, composite keys and escaped string keys', async () => {
    const { app } = buildFeatureServerApp({ catalog, store, now: () => NOW, processMetrics: false });
    const svc = await app.inject({
      method: 'POST',
      url: '/get-online-features',
      payload: { feature_service: 'fraud_v1', full_feature_names: true, entities: { customer_id: ['a:b/c'], driver_id: ['1001'] } },
    });
    expect(svc.statusCode).toBe(200);
    expect(svc.json().metadata.feature_names).toEqual(['customer_id', 'driver_id', 'driver_stats__conv_rate', 'customer_profile__tier', 'driver_stats__avg_daily_trips']);
    expect(svc.json().results.map((r: { values: unknown[] }) => r.values[0])).toEqual(['a:b/c', '1001', 0.35, 'odd key', 35]);
    const pair = await app.inject({
      method: 'POST',
      url: '/get-online-features',
      payload: { features: ['pair_stats:trips_together'], entities: { driver_id: [1001, 1002, 1001], customer_id: ['c-1', 'c-1', 'c-2'] } },
    });
    expect(pair.json().results[2]).toEqual({
      values: [5, 2, null], statuses: ['PRESENT', 'PRESENT', 'NOT_FOUND'], event_timestamps: ['2024-01-01T08:00:00Z', '2024-01-01T08:00:00Z', EPOCH],
    });
    await app.close();
  });

  test('values older than the view TTL are OUTSIDE_MAX_AGE with their timestamp and no value', async () => {
    const later = Date.parse('2024-01-01T14:30:00Z'); // 1001 @ 12:00 is 2.5 h old (TTL 2 h); 1002 @ 13:00 is 1.5 h old
    const res = await new OnlineFeatureService(catalog, store, { now: () => NOW }).getOnlineFeatures({ features: ['driver_stats:avg_daily_trips'], entities: { driver_id: [1001, 1002] } });
    expect(res.results[1].statuses).toEqual(['PRESENT', 'PRESENT']);
    // getOnlineFeatures uses the real clock: in 2024's data every driver_stats value has long expired.
    const real = await getOnlineFeatures(catalog, store, { features: ['driver_stats:avg_daily_trips'], entities: { driver_id: [1001] } });
    expect(real.results[1].statuses).toEqual(['OUTSIDE_MAX_AGE']);
    const { app } = buildFeatureServerApp({ catalog, store, now: () => later, processMetrics: false });
    const r = await app.inject({ method: 'POST', url: '/get-online-features', payload: { features: ['driver_stats:avg_daily_trips', 'customer_profile:tier'], entities: { driver_id: [1001, 1002], customer_id: ['c-1', 'c-1'] } } });
    expect(r.json().results[2]).toEqual({
      values: [null, 80], statuses: ['OUTSIDE_MAX_AGE', 'PRESENT'], event_timestamps: ['2024-01-01T12:00:00Z', '2024-01-01T13:00:00Z'],
    });
    // customer_profile has no TTL: never expires.
    expect(r.json().results[3].statuses).toEqual(['PRESENT', 'PRESENT']);
    await app.close();
  });

  test('a lookup of 100 entities x 2 views is ONE command (MGET): one round trip', async () => {
    const mget = jest.spyOn(store.redis, 'mgetBuffer');
    const pipelines = jest.spyOn(store.redis, 'pipeline');
    const ids = Array.from({ length: 100 }, (_, i) => 1000 + i);
    const res = await new OnlineFeatureService(catalog, store, { now: () => NOW }).getOnlineFeatures({
      features: ['driver_stats:conv_rate', 'customer_profile:tier'],
      entities: { driver_id: ids, customer_id: ids.map(() => 'c-1') },
    });
    expect(mget).toHaveBeenCalledTimes(1);
    expect(mget.mock.calls[0]).toHaveLength(200);
    expect(pipelines).not.toHaveBeenCalled();
    expect(res.results[2].statuses.filter((s) => s === 'PRESENT')).toHaveLength(2);
    mget.mockRestore();
    pipelines.mockRestore();
  });
});

describe('bad requests get a 4xx with a precise message', () => {
  let app: ReturnType<typeof buildFeatureServerApp>['app'];
  beforeAll(() => {
    const small = makeCatalog((doc) => { doc.featureServer = { maxEntitiesPerRequest: 3, bodyLimitBytes: 2048 }; });
    app = buildFeatureServerApp({ catalog: small, store, processMetrics: false }).app;
  });
  afterAll(() => app.close());

  const post = (payload: unknown, headers: Record<string, string> = {}) => app.inject({
    method: 'POST',
    url: '/get-online-features',
    headers: { 'content-type': 'application/json', ...headers },
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });

  test.each([
    ['unknown feature', { features: ['driver_stats:speed'], entities: { driver_id: [1] } }, 404,
      "request.features[0]: feature view 'driver_stats' has no feature 'speed'; it has conv_rate, acc_rate, avg_daily_trips"],
    ['unknown view', { features: ['drivers:conv_rate'], entities: { driver_id: [1] } }, 404,
      "request.features[0]: unknown feature view 'drivers' in 'drivers:conv_rate'; known views: driver_stats, customer_profile, pair_stats"],
    ['unknown service', { feature_service: 'fraud_v9', entities: { driver_id: [1] } }, 404,
      "unknown feature service 'fraud_v9'; known services: fraud_v1"],
    ['wrong entity key type (string for int64)', { features: ['driver_stats:conv_rate'], entities: { driver_id: [1, 'abc'] } }, 400,
      'request.entities.driver_id[1]: expected an int64 join key (an integer), got "abc"'],
    ['wrong entity key type (number for string)', { features: ['customer_profile:tier'], entities: { customer_id: [7] } }, 400,
      'request.entities.customer_id[0]: expected a string join key, got 7'],
    ['fractional int key', { features: ['driver_stats:conv_rate'], entities: { driver_id: [1.5] } }, 400,
      'request.entities.driver_id[0]: expected an int64 join key (an integer), got 1.5'],
    ['missing join key', { features: ['pair_stats:trips_together'], entities: { driver_id: [1] } }, 400,
      "request.entities: missing join key 'customer_id' (needed by feature view 'pair_stats')"],
    ['extra entity column', { features: ['driver_stats:conv_rate'], entities: { driver_id: [1], customer_id: ['x'] } }, 400,
      "request.entities.customer_id: is not a join key of the requested features; expected 'driver_id'"],
    ['columns of different lengths', { features: ['pair_stats:trips_together'], entities: { driver_id: [1, 2], customer_id: ['x'] } }, 400,
      "request.entities.customer_id: has 1 values but 'driver_id' has 2; every join key needs one value per entity row"],
    ['both features and service', { features: ['driver_stats:conv_rate'], feature_service: 'fraud_v1', entities: { driver_id: [1] } }, 400,
      "request: give either 'features' or 'feature_service', not both"],
    ['neither', { entities: { driver_id: [1] } }, 400,
      "request: expected 'features' (a list of 'view:feature') or 'feature_service' (a name)"],
    ['malformed reference', { features: ['conv_rate'], entities: { driver_id: [1] } }, 400,
      'request.features[0]: "conv_rate" is not a reference of the form \'view:feature\''],
    ['unknown field', { features: ['driver_stats:conv_rate'], entities: { driver_id: [1] }, entity_rows: [] }, 400,
      "request.entity_rows: unknown field; expected 'features' or 'feature_service', 'entities', 'full_feature_names'"],
    ['duplicate reference', { features: ['driver_stats:avg_daily_trips', 'pair_stats:trips_together', 'driver_stats:avg_daily_trips'], entities: { driver_id: [1], customer_id: ['x'] } }, 400,
      "request.features[2]: 'driver_stats:avg_daily_trips' is requested twice"],
    ['oversized batch', { features: ['driver_stats:conv_rate'], entities: { driver_id: [1, 2, 3, 4] } }, 413,
      'entities: 4 entity rows in one request; at most 3 are allowed'],
    ['empty batch', { features: ['driver_stats:conv_rate'], entities: { driver_id: [] } }, 400,
      'request.entities: holds no entity rows'],
    ['not an object', [1, 2], 400, 'request body: expected a JSON object, got [1,2]'],
  ])('%s', async (_name, payload, status, message) => {
    const res = await post(payload);
    expect(res.statusCode).toBe(status);
    expect(res.json()).toEqual({ statusCode: status, error: expect.any(String), message });
  });

  test('malformed JSON', async () => {
    const res = await post('{"features": ["driver_stats:conv_rate"], ');
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toMatch(/^request body: is not valid JSON \(.+\)$/);
  });

  test('a body over the limit', async () => {
    const res = await post({ features: ['driver_stats:conv_rate'], entities: { driver_id: Array(1000).fill(1) } });
    expect(res.statusCode).toBe(413);
    expect(res.json().message).toBe('request body is larger than the limit of 2048 bytes');
  });

  test('a feature of a view that is not online', async () => {
    const offline = makeCatalog((doc) => { doc.featureViews[2].online = false; });
    const { app: a } = buildFeatureServerApp({ catalog: offline, store, processMetrics: false });
    const res = await a.inject({ method: 'POST', url: '/get-online-features', payload: { features: ['pair_stats:trips_together'], entities: { driver_id: [1], customer_id: ['x'] } } });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toBe("feature view 'pair_stats': is not online (online: false); its features are only in the offline store");
    await a.close();
  });
});

describe('server endpoints', () => {
  test('/health, /metrics with per-instance registries, and a real listener answering curl-style bodies', async () => {
    const a = buildFeatureServerApp({ catalog, store, now: () => NOW });
    const b = buildFeatureServerApp({ catalog, store, now: () => NOW });
    expect((await a.app.inject({ method: 'GET', url: '/health' })).json()).toEqual({ status: 'ok', onlineStore: 'redis' });
    await a.app.inject({ method: 'POST', url: '/get-online-features', payload: { features: ['driver_stats:conv_rate'], entities: { driver_id: [1001, 5] } } });
    await a.app.inject({ method: 'POST', url: '/get-online-features', payload: { features: ['driver_stats:nope'], entities: { driver_id: [1] } } });
    const text = (await a.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(text).toContain('cdk_mlops_features_values_total{view="driver_stats",status="PRESENT"} 1');
    expect(text).toContain('cdk_mlops_features_values_total{view="driver_stats",status="NOT_FOUND"} 1');
    expect(text).toContain('cdk_mlops_features_requests_total{route="/get-online-features",code="200"} 1');
    expect(text).toContain('cdk_mlops_features_requests_total{route="/get-online-features",code="404"} 1');
    expect(text).toContain('cdk_mlops_features_online_lookup_duration_seconds_count 1');
    expect(text).toContain('cdk_mlops_features_process_cpu_seconds_total');
    expect((await b.app.inject({ method: 'GET', url: '/metrics' })).body).not.toContain('code="200"');
    await a.app.close();
    await b.app.close();

    const own = await RedisOnlineStore.connect({ type: 'redis', url: 'redis://127.0.0.1:6379', keyPrefix: prefix, tls: false, connectTimeoutMs: 2000, commandTimeoutMs: 2000 });
    const server = await startFeatureServer({ catalog, store: own, host: '127.0.0.1', port: 0, now: () => NOW, processMetrics: false });
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      // `curl -d` sends application/x-www-form-urlencoded: like Feast, the body is read as JSON anyway.
      const res = await fetch(`${server.url}/get-online-features`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: JSON.stringify({ features: ['customer_profile:lifetime_orders'], entities: { customer_id: ['c-1'] } }),
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { results: unknown[] }).results[1]).toEqual({ values: [4], statuses: ['PRESENT'], event_timestamps: ['2024-01-01T11:30:00Z'] });
    } finally {
      await server.close();
    }
    await expect(own.ping()).rejects.toThrow();
  });

  test('/health is 503 when the store does not answer', async () => {
    const dead = new MemoryOnlineStore();
    dead.ping = async () => { throw new Error('connection refused'); };
    const { app } = buildFeatureServerApp({ catalog, store: dead, processMetrics: false });
    const res = await app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ status: 'unavailable', onlineStore: 'memory', message: 'connection refused' });
    await app.close();
  });
});

describe('incremental and all-or-nothing materialization', () => {
  test('only rows past the watermark are read; late rows win only if newer than what is stored', async () => {
    const before = await dumpKeys(redis, prefix);
    // driver_stats (created column): 1001 @ 14:00 (new); 1002 @ 12:30 arriving late (older than the
    // stored 13:00: must not replace it); 1003 @ 11:00 arriving late (new key: written).
    writeParquet(path.join(tmp.dir, 'driver_stats', 'part-2.parquet'), [
      { name: 'driver_id', type: 'INT64', data: [1001, 1002, 1003] },
      { name: 'event_timestamp', type: 'TIMESTAMP', data: [t('2024-01-01T14:00:00Z'), t('2024-01-01T12:30:00Z'), t('2024-01-01T11:00:00Z')] },
      { name: 'created', type: 'TIMESTAMP', data: [t('2024-01-01T14:05:00Z'), t('2024-01-01T14:10:00Z'), t('2024-01-01T14:10:00Z')] },
      { name: 'conv_rate', type: 'DOUBLE', data: [0.4, 0.9, 0.6] },
      { name: 'acc_rate', type: 'FLOAT', data: [0.5, 0.5, 0.5] },
      { name: 'avg_daily_trips', type: 'INT64', data: [40, 90, 60] },
    ]);
    // customer_profile (no created column): c-2 @ 12:00 is new; c-1 @ 10:00 is behind the watermark (11:30).
    writeParquet(path.join(tmp.dir, 'customer_profile', 'data-2.parquet'), [
      { name: 'customer_id', type: 'STRING', data: ['c-2', 'c-1'] },
      { name: 'event_timestamp', type: 'TIMESTAMP', data: [t('2024-01-01T12:00:00Z'), t('2024-01-01T10:00:00Z')] },
      { name: 'tier', type: 'STRING', data: ['silver', 'stale'] },
      { name: 'is_active', type: 'BOOLEAN', data: [true, false] },
      { name: 'lifetime_orders', type: 'INT32', data: [2, 0] },
    ]);
    const result = await materialize(catalog, store);
    // Files wholly behind the watermark (by their footer statistics) are not read at all.
    expect(result.views.map((v) => [v.view, v.mode, v.rowsRead, v.rowGroupsSkipped, v.rowsNew, v.entitiesWritten])).toEqual([
      ['driver_stats', 'incremental', 3, 2, 3, 2],
      ['customer_profile', 'incremental', 2, 1, 1, 1],
      ['pair_stats', 'incremental', 0, 1, 0, 0],
    ]);
    const after = await dumpKeys(redis, prefix);
    const k = `${prefix}fraud:`;
    const changed = Object.keys(after).filter((key) => JSON.stringify(after[key]) !== JSON.stringify(before[key])).sort();
    expect(changed).toEqual([
      `${k}__watermark__:customer_profile`, `${k}__watermark__:driver_stats`,
      `${k}customer_profile:c-2`, `${k}driver_stats:1001`, `${k}driver_stats:1003`,
    ].sort());
    expect(row(after, `${k}driver_stats:1001`).slice(1, 4)).toEqual([Date.parse('2024-01-01T14:00:00Z'), Date.parse('2024-01-01T14:05:00Z'), 0.4]);
    expect(row(after, `${k}driver_stats:1003`)[3]).toBe(0.6);
    expect(row(after, `${k}customer_profile:c-2`)[3]).toBe('silver');
    expect(await readWatermark(store, keyspaceFor(catalog), 'driver_stats')).toMatchObject({
      eventTs: Date.parse('2024-01-01T14:00:00Z'), createdTs: Date.parse('2024-01-01T14:10:00Z'),
    });
  });

  test('an unreadable Parquet file fails with its path; nothing is published and no watermark moves', async () => {
    const before = await dumpKeys(redis, prefix);
    // A valid new row in one view, a corrupt file in another: the run must publish neither.
    writeParquet(path.join(tmp.dir, 'customer_profile', 'data-3.parquet'), [
      { name: 'customer_id', type: 'STRING', data: ['c-9'] },
      { name: 'event_timestamp', type: 'TIMESTAMP', data: [t('2024-01-01T15:00:00Z')] },
      { name: 'tier', type: 'STRING', data: ['new'] },
      { name: 'is_active', type: 'BOOLEAN', data: [true] },
      { name: 'lifetime_orders', type: 'INT32', data: [1] },
    ]);
    const bad = path.join(tmp.dir, 'pair_stats', 'zz-corrupt.parquet');
    fs.writeFileSync(bad, 'PAR1 this is not parquet at all PAR1');
    await expect(materialize(catalog, store)).rejects.toThrow(`offline file ${bad}: is not a readable Parquet file`);
    expect(await dumpKeys(redis, prefix)).toEqual(before);

    // A file of the wrong type is refused the same way, naming file, row and column.
    fs.rmSync(bad);
    const wrong = path.join(tmp.dir, 'pair_stats', 'zz-wrong.parquet');
    writeParquet(wrong, [
      { name: 'driver_id', type: 'INT64', data: [1001, 1001] },
      { name: 'customer_id', type: 'STRING', data: ['c-3', 'c-4'] },
      { name: 'event_timestamp', type: 'TIMESTAMP', data: [t('2024-01-01T15:00:00Z'), t('2024-01-01T15:00:00Z')] },
      { name: 'trips_together', type: 'STRING', data: ['1', 'many'] },
    ]);
    await expect(materialize(catalog, store)).rejects.toThrow(`offline file ${wrong}: row 0, column 'trips_together': expected int64, got "1" (string)`);
    // And a file without a column.
    fs.rmSync(wrong);
    const lacking = path.join(tmp.dir, 'pair_stats', 'zz-lacking.parquet');
    writeParquet(lacking, [{ name: 'driver_id', type: 'INT64', data: [1] }]);
    await expect(materialize(catalog, store)).rejects.toThrow(`offline file ${lacking}: lacks column(s) 'customer_id', 'event_timestamp', 'trips_together'; it has driver_id`);
    expect(await dumpKeys(redis, prefix)).toEqual(before);

    fs.rmSync(lacking);
    const ok = await materialize(catalog, store);
    expect(ok.entitiesWritten).toBe(1);
    expect(row(await dumpKeys(redis, prefix), `${prefix}fraud:customer_profile:c-9`)[3]).toBe('new');
  });

  test('row groups behind the watermark are skipped inside a file; errors still name the row of the file', async () => {
    const file = path.join(tmp.dir, 'pair_stats', 'groups.parquet');
    const write = (second: number | null) => writeParquet(file, [
      { name: 'driver_id', type: 'INT64', data: [1, 1, 7, second] },
      { name: 'customer_id', type: 'STRING', data: ['old', 'old', 'c-7', 'c-8'] },
      { name: 'event_timestamp', type: 'TIMESTAMP', data: [t('2024-01-01T07:00:00Z'), t('2024-01-01T07:30:00Z'), t('2024-01-01T16:00:00Z'), t('2024-01-01T16:00:00Z')] },
      { name: 'trips_together', type: 'INT64', data: [1, 1, 70, 80] },
    ], 2);
    write(null);
    await expect(materialize(catalog, store, { views: ['pair_stats'] }))
      .rejects.toThrow(`offline file ${file}: row 3, column 'driver_id': expected an int64 join key (an integer), got null`);
    write(8);
    const result = await materialize(catalog, store, { views: ['pair_stats'] });
    expect(result.views[0]).toMatchObject({ rowsRead: 2, rowGroupsSkipped: 2, rowsNew: 2, entitiesWritten: 2 });
    const dump = await dumpKeys(redis, prefix);
    expect(row(dump, `${prefix}fraud:pair_stats:8:c-8`)[3]).toBe(80);
    expect(dump[`${prefix}fraud:pair_stats:1:old`]).toBeUndefined();
    fs.rmSync(file);
  });

  test('a changed view definition re-materializes that view in full; a dry run publishes nothing', async () => {
    const changedCatalog = makeCatalog((doc) => { doc.featureViews[2].features.push({ name: 'rating', valueType: 'float64' }); });
    writeParquet(path.join(tmp.dir, 'pair_stats', 'data.parquet'), [
      { name: 'driver_id', type: 'INT64', data: [1001, 1002] },
      { name: 'customer_id', type: 'STRING', data: ['c-1', 'c-1'] },
      { name: 'event_timestamp', type: 'TIMESTAMP', data: [t('2024-01-01T08:00:00Z'), t('2024-01-01T08:00:00Z')] },
      { name: 'trips_together', type: 'INT64', data: [5, 2] },
      { name: 'rating', type: 'DOUBLE', data: [4.5, 3] },
    ]);
    const before = await dumpKeys(redis, prefix);
    const dry = await materialize(changedCatalog, store, { dryRun: true, views: ['pair_stats'] });
    expect(dry.published).toBe(false);
    expect(dry.views[0]).toMatchObject({ mode: 'full', reason: 'view definition changed', entitiesWritten: 2 });
    expect(await dumpKeys(redis, prefix)).toEqual(before);
    // Before the re-run, a reader with the new definition decodes the old rows by name: what the
    // old schema had is PRESENT, the new feature NOT_FOUND.
    const lookup = (c: FeatureCatalog) => new OnlineFeatureService(c, store, { now: () => NOW }).getOnlineFeatures({
      features: ['pair_stats:trips_together', ...(c === changedCatalog ? ['pair_stats:rating'] : [])], entities: { driver_id: [1001], customer_id: ['c-1'] },
    });
    const early = await lookup(changedCatalog);
    expect(early.results.slice(2).map((r) => [r.values[0], r.statuses[0]])).toEqual([[5, 'PRESENT'], [null, 'NOT_FOUND']]);

    await materialize(changedCatalog, store, { views: ['pair_stats'] });
    const key = `${prefix}fraud:pair_stats:1001:c-1`;
    expect(row(await dumpKeys(redis, prefix), key)).toEqual([fp(changedCatalog, 'pair_stats'), Date.parse('2024-01-01T08:00:00Z'), null, 5, 4.5]);
    expect((await lookup(changedCatalog)).results.slice(2).map((r) => [r.values[0], r.statuses[0]])).toEqual([[5, 'PRESENT'], [4.5, 'PRESENT']]);

    // A reader still on the old definition (a rollout) reads the new rows by name too: the schema
    // they name is fetched once (a second round trip), then cached.
    const old = new OnlineFeatureService(catalog, store, { now: () => NOW });
    const mget = jest.spyOn(store.redis, 'mgetBuffer');
    try {
      const request = { features: ['pair_stats:trips_together'], entities: { driver_id: [1001, 1002], customer_id: ['c-1', 'c-1'] } };
      expect((await old.getOnlineFeatures(request)).results[2]).toEqual({
        values: [5, 2], statuses: ['PRESENT', 'PRESENT'], event_timestamps: ['2024-01-01T08:00:00Z', '2024-01-01T08:00:00Z'],
      });
      expect(mget).toHaveBeenCalledTimes(2);
      expect(mget.mock.calls[1]).toEqual([`${prefix}fraud:__schema__:pair_stats:${fp(changedCatalog, 'pair_stats')}`]);
      await old.getOnlineFeatures(request);
      expect(mget).toHaveBeenCalledTimes(3);
    } finally {
      mget.mockRestore();
    }
  });

  test('a key of the earlier layout (a Redis hash per entity) reads NOT_FOUND, and the layout version forces a full run', async () => {
    const key = `${prefix}fraud:customer_profile:legacy`;
    await redis.hset(key, { __ts: String(Date.parse('2024-01-01T09:00:00Z')), tier: 'sgold' });
    const res = await new OnlineFeatureService(catalog, store, { now: () => NOW }).getOnlineFeatures({ features: ['customer_profile:tier'], entities: { customer_id: ['legacy', 'c-1'] } });
    expect(res.results[1]).toEqual({ values: [null, 'gold'], statuses: ['NOT_FOUND', 'PRESENT'], event_timestamps: [EPOCH, '2024-01-01T11:30:00Z'] });
    // A watermark of layout 1 has another view fingerprint: the next run is a full one, and SET replaces the hashes.
    const ks = keyspaceFor(catalog);
    const wm = (await readWatermark(store, ks, 'customer_profile'))!;
    await redis.set(ks.watermark('customer_profile'), JSON.stringify({ ...wm, schema: 'layout-1-fingerprint' }));
    const run = await materialize(catalog, store, { views: ['customer_profile'] });
    expect(run.views[0]).toMatchObject({ mode: 'full', reason: 'view definition changed' });
    await redis.del(key);
  });

  test('keyTtlSeconds: rows expire (then read NOT_FOUND, not OUTSIDE_MAX_AGE); schemas and watermarks do not', async () => {
    const ttlPrefix = uniquePrefix();
    const doc = fixtureRegistry(tmp.dir, { type: 'redis', keyPrefix: ttlPrefix, keyTtlSeconds: 1 });
    doc.featureViews = doc.featureViews.filter((v) => v.name === 'customer_profile');
    doc.featureServices = [];
    const ttlCatalog = FeatureCatalog.fromObject(doc);
    const own = await RedisOnlineStore.connect({ type: 'redis', url: 'redis://127.0.0.1:6379', keyPrefix: ttlPrefix, tls: false, connectTimeoutMs: 2000, commandTimeoutMs: 2000 });
    try {
      await materialize(ttlCatalog, own);
      const k = `${ttlPrefix}fraud:`;
      const ttl = await redis.pttl(`${k}customer_profile:c-1`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(1000);
      expect(await redis.pttl(`${k}__watermark__:customer_profile`)).toBe(-1);
      expect(await redis.pttl(`${k}__schema__:customer_profile:${fp(ttlCatalog, 'customer_profile')}`)).toBe(-1);
      const service = new OnlineFeatureService(ttlCatalog, own, { now: () => NOW });
      const request = { features: ['customer_profile:tier'], entities: { customer_id: ['c-1'] } };
      expect((await service.getOnlineFeatures(request)).results[1].statuses).toEqual(['PRESENT']);
      await new Promise((r) => setTimeout(r, 1100));
      expect((await service.getOnlineFeatures(request)).results[1]).toEqual({ values: [null], statuses: ['NOT_FOUND'], event_timestamps: [EPOCH] });
      // An incremental run with no newer source row does not bring it back; --full does.
      expect((await materialize(ttlCatalog, own)).entitiesWritten).toBe(0);
      expect((await service.getOnlineFeatures(request)).results[1].statuses).toEqual(['NOT_FOUND']);
      await materialize(ttlCatalog, own, { full: true });
      expect((await service.getOnlineFeatures(request)).results[1].statuses).toEqual(['PRESENT']);
    } finally {
      await deleteKeys(redis, ttlPrefix);
      await own.close();
    }
  });

});

describe('in-process memory store', () => {
  test('refreshes incrementally on a schedule; a failed refresh keeps the last good values', async () => {
    const own = tempDir();
    try {
      writeFixtureData(own.dir);
      const memCatalog = FeatureCatalog.fromObject(fixtureRegistry(own.dir, { type: 'memory', refreshSeconds: 1 }));
      expect(memCatalog.registry.onlineStore).toEqual({ type: 'memory', refreshSeconds: 1 });
      const mem = new MemoryOnlineStore();
      await materialize(memCatalog, mem);
      const errors: unknown[] = [];
      const logger = { info: () => {}, error: (o: unknown) => errors.push(o) } as unknown as Parameters<typeof scheduleRefresh>[3];
      const refresh = scheduleRefresh(memCatalog, mem, 50, logger);
      const tier = () => { const r = mem.dump()['cdk-mlops:features:fraud:customer_profile:c-5']; return r === undefined ? undefined : JSON.parse(r)[3]; };
      const waitFor = async (cond: () => boolean) => {
        for (let i = 0; i < 100 && !cond(); i++) await new Promise((r) => setTimeout(r, 20));
        return cond();
      };
      try {
        writeParquet(path.join(own.dir, 'customer_profile', 'new.parquet'), [
          { name: 'customer_id', type: 'STRING', data: ['c-5'] },
          { name: 'event_timestamp', type: 'TIMESTAMP', data: [t('2024-01-02T00:00:00Z')] },
          { name: 'tier', type: 'STRING', data: ['fresh'] },
          { name: 'is_active', type: 'BOOLEAN', data: [true] },
          { name: 'lifetime_orders', type: 'INT32', data: [1] },
        ]);
        expect(await waitFor(() => tier() === 'fresh')).toBe(true);
        fs.writeFileSync(path.join(own.dir, 'customer_profile', 'zz-broken.parquet'), 'garbage');
        expect(await waitFor(() => errors.length > 0)).toBe(true);
        expect(tier()).toBe('fresh');
      } finally {
        await refresh.stop();
      }
    } finally {
      own.remove();
    }
  });

  test('same layout and answers as Redis', async () => {
    const memCatalog = FeatureCatalog.fromObject(fixtureRegistry(tmp.dir, { type: 'memory' }));
    const mem = new MemoryOnlineStore();
    await materialize(memCatalog, mem);
    const res = await new OnlineFeatureService(memCatalog, mem, { now: () => Date.parse('2024-01-01T15:00:00Z') }).getOnlineFeatures({ features: ['driver_stats:conv_rate', 'customer_profile:tier'], entities: { driver_id: [1001], customer_id: ['c-2'] } });
    expect(res.results.slice(2).map((r) => r.values[0])).toEqual([0.4, 'silver']);
    // the same stored bytes as Redis, key for key
    const fromRedis = await dumpKeys(redis, prefix);
    const mine = mem.dump();
    expect(mine['cdk-mlops:features:fraud:driver_stats:1001']).toBe(fromRedis[`${prefix}fraud:driver_stats:1001`]);
    const rows = (d: Record<string, unknown>, p: string) => Object.fromEntries(Object.entries(d)
      .filter(([key]) => /:(driver_stats|customer_profile):/.test(key) && !key.includes(':__')).map(([key, v]) => [key.slice(p.length), v]));
    expect(rows(mine, 'cdk-mlops:features:')).toEqual(rows(fromRedis, prefix));
  });
});
