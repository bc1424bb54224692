import * as fs from 'node:fs';
import * as path from 'node:path';
import { FEATURES_NS, obj, synthesize } from './feature-store.fixtures';
import { Duration, FeatureSource, FeatureStore, OnlineStore, REDIS_AUTH_TOKEN_ENV, REDIS_URL_ENV } from '../../src';
import { buildFeatureServerApp, FeatureCatalog, materialize, openOnlineStore, RedisOnlineStore } from '../../src/runtime/features';
import { deleteKeys, localRedis, t, tempDir, uniquePrefix, writeParquet } from '../runtime/features/helpers';
import { createOnlineTable, startLoopbackDynamoDb } from '../support/dynamodb';
import { newPlatform } from '../support/platform';

/**
 * The constructs and the runtime share one document: what `FeatureStore` writes into its
 * ConfigMap is loaded by `cdk-mlops features` exactly as a pod would (file + the pod's
 * environment), then materialized and served from local Parquet files.
 */
describe('the synthesized registry, read by the features runtime', () => {
  let tmp: ReturnType<typeof tempDir>;
  let configFile: string;
  let podEnv: Record<string, string>;

  let dynamoConfigFile: string;

  /** The fraud store of the README, with the given online store. */
  function fraudStore(onlineStore?: OnlineStore) {
    const { platform } = newPlatform();
    const store = new FeatureStore(platform, 'fraud', { onlineStore });
    const customer = store.addEntity('customer', { joinKey: 'customer_id', joinKeyType: 'int64' });
    const merchant = store.addEntity('merchant', { joinKey: 'merchant_id', joinKeyType: 'string' });
    const tx = store.addFeatureView('transactions', {
      entities: [customer],
      schema: [{ name: 'amount_7d', type: 'float64' }, { name: 'count_1h', type: 'int64' }],
      source: FeatureSource.parquet('transactions'),
      ttl: Duration.days(1),
      schedule: '*/15 * * * *',
    });
    const merchants = store.addFeatureView('merchants', {
      entities: [merchant],
      schema: [{ name: 'risk_score', type: 'float64' }, { name: 'is_online', type: 'bool' }],
      source: FeatureSource.parquet('merchants/'),
      schedule: '@daily',
    });
    store.addFeatureService('fraud_model', { features: [tx, merchants.feature('risk_score')] });
    return synthesize(platform);
  }

  beforeAll(() => {
    const x = fraudStore();

    tmp = tempDir('feature-store-construct-');
    configFile = path.join(tmp.dir, 'config.json');
    fs.writeFileSync(configFile, obj(x.features, 'ConfigMap', 'fraud-registry').data['config.json']);
    dynamoConfigFile = path.join(tmp.dir, 'dynamodb-config.json');
    fs.writeFileSync(dynamoConfigFile, obj(fraudStore(OnlineStore.dynamodb()).features, 'ConfigMap', 'fraud-registry').data['config.json']);
    // The server pod's environment: what the handoff Secret gives it, and what a local run overrides.
    const container = obj(x.features, 'Deployment', 'fraud-server').spec.template.spec.containers[0];
    const secretKeys = Object.fromEntries(container.env.filter((e: any) => e.valueFrom).map((e: any) => [e.name, e.valueFrom.secretKeyRef.key]));
    expect(secretKeys).toEqual({ [REDIS_URL_ENV]: 'features-fraud-redis-url', [REDIS_AUTH_TOKEN_ENV]: 'features-fraud-redis-auth-token' });
    expect(obj(x.all.filter((o) => o.metadata.namespace === FEATURES_NS), 'ExternalSecret', 'fraud-online-store').spec.data.map((d: any) => d.secretKey))
      .toEqual(['features-fraud-redis-url', 'features-fraud-redis-auth-token']);
    podEnv = {
      [REDIS_URL_ENV]: 'rediss://master.acme-ml-dev-features-fraud.abc123.euw1.cache.amazonaws.com:6379',
      [REDIS_AUTH_TOKEN_ENV]: 'token-from-secrets-manager',
    };

    writeParquet(path.join(tmp.dir, 'offline', 'transactions', 'part-0.parquet'), [
      { name: 'customer_id', type: 'INT64', data: [1, 1, 2] },
      { name: 'event_timestamp', type: 'TIMESTAMP', data: [t('2024-01-01T10:00:00Z'), t('2024-01-01T12:00:00Z'), t('2024-01-01T11:00:00Z')] },
      { name: 'amount_7d', type: 'DOUBLE', data: [10.5, 12.25, 99] },
      { name: 'count_1h', type: 'INT64', data: [1, 3, 7] },
    ]);
    writeParquet(path.join(tmp.dir, 'offline', 'merchants', 'part-0.parquet'), [
      { name: 'merchant_id', type: 'STRING', data: ['m-1'] },
      { name: 'event_timestamp', type: 'TIMESTAMP', data: [t('2024-01-01T09:00:00Z')] },
      { name: 'risk_score', type: 'DOUBLE', data: [0.75] },
      { name: 'is_online', type: 'BOOLEAN', data: [true] },
    ]);
  });

  afterAll(() => tmp.remove());

  test('in the pod: the Redis URL and token come from the environment, over TLS, with the synthesized settings', () => {
    const catalog = FeatureCatalog.fromFile(configFile, podEnv);
    const online = catalog.registry.onlineStore;
    expect(online).toMatchObject({ type: 'redis', url: podEnv[REDIS_URL_ENV], tls: true, passwordEnv: REDIS_AUTH_TOKEN_ENV, keyPrefix: 'cdk-mlops:features:' });
    const options = RedisOnlineStore.options(online as never, podEnv);
    expect(options.password).toBe('token-from-secrets-manager');
    expect(options.tls).toEqual({});
    expect(catalog.offlineRoot).toMatch(/^s3:\/\/acme-ml-dev-artifacts-[0-9a-f]{8}\/features\/fraud$/);
    expect(catalog.registry.featureServer).toMatchObject({ host: '0.0.0.0', port: 6566 });
    // relative sources resolve under the offline root, as the Glue tables' locations do
    expect(catalog.view('transactions').sourcePath).toBe(`${catalog.offlineRoot}/transactions`);
  });

  /** Materializes the local files into `store`, then asks the server app for the feature service. */
  async function materializeAndLookUp(catalog: FeatureCatalog, store: Awaited<ReturnType<typeof openOnlineStore>>): Promise<void> {
    const result = await materialize(catalog, store);
    expect(result.views.map((v) => [v.view, v.entitiesWritten])).toEqual([['transactions', 2], ['merchants', 1]]);
    const { app } = buildFeatureServerApp({ catalog, store, now: () => Date.parse('2024-01-01T13:00:00Z'), processMetrics: false });
    try {
      const res = await app.inject({
        method: 'POST',
        url: '/get-online-features',
        payload: { feature_service: 'fraud_model', entities: { customer_id: [1, 2, 3], merchant_id: ['m-1', 'm-1', 'm-2'] } },
      });
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body.metadata.feature_names).toEqual(['customer_id', 'merchant_id', 'amount_7d', 'count_1h', 'risk_score']);
      const byName = Object.fromEntries(body.metadata.feature_names.map((n: string, i: number) => [n, body.results[i]]));
      expect(byName.amount_7d.values).toEqual([12.25, 99, null]);
      expect(byName.amount_7d.statuses).toEqual(['PRESENT', 'PRESENT', 'NOT_FOUND']);
      expect(byName.count_1h.values).toEqual([3, 7, null]);
      expect(byName.risk_score.values).toEqual([0.75, 0.75, null]);
    } finally {
      await app.close();
    }
  }

  test('locally (the README\'s steps): the same document, re-rooted on local files and pointed at the local Redis, materializes and answers a feature-service lookup', async () => {
    // (the environment override would read a value with ':' as a map: a prefix without one)
    const prefix = uniquePrefix().replace(/:/g, '.');
    const env = {
      ...podEnv,
      CDK_MLOPS_FEATURES_OFFLINE_STORE__ROOT: path.join(tmp.dir, 'offline'),
      [REDIS_URL_ENV]: 'redis://127.0.0.1:6379',
      CDK_MLOPS_FEATURES_ONLINE_STORE__TLS: 'false',
      CDK_MLOPS_FEATURES_ONLINE_STORE__KEY_PREFIX: prefix,
      [REDIS_AUTH_TOKEN_ENV]: 'unused',
    };
    const catalog = FeatureCatalog.fromFile(configFile, env);
    const store = await openOnlineStore(catalog.registry.onlineStore, env);
    const redis = localRedis();
    try {
      expect(store.kind).toBe('redis');
      await materializeAndLookUp(catalog, store);
    } finally {
      await store.close();
      await deleteKeys(redis, prefix);
      redis.disconnect();
    }
  });

  test('with OnlineStore.dynamodb(): the synthesized document reaches its table (here dynalite on loopback, through the endpoint override)', async () => {
    const ddb = await startLoopbackDynamoDb();
    const client = ddb.client();
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = 'test';
    process.env.AWS_SECRET_ACCESS_KEY = 'test';
    try {
      const env = { CDK_MLOPS_FEATURES_OFFLINE_STORE__ROOT: path.join(tmp.dir, 'offline'), CDK_MLOPS_FEATURES_ONLINE_STORE__ENDPOINT: ddb.endpoint };
      const catalog = FeatureCatalog.fromFile(dynamoConfigFile, env);
      const online = catalog.registry.onlineStore;
      expect(online).toMatchObject({ type: 'dynamodb', table: 'acme-ml-dev-features-fraud', region: 'eu-west-1', endpoint: ddb.endpoint });
      await createOnlineTable(client, 'acme-ml-dev-features-fraud');
      const store = await openOnlineStore(online, env);
      try {
        expect(store.kind).toBe('dynamodb');
        await materializeAndLookUp(catalog, store);
      } finally {
        await store.close();
      }
    } finally {
      process.env.AWS_ACCESS_KEY_ID = saved.id;
      process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
      if (saved.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
      if (saved.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
      client.destroy();
      await ddb.close();
    }
  });
});
