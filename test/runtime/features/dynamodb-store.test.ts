import { BatchGetItemCommand, BatchWriteItemCommand, DynamoDBClient, WriteRequest } from '@aws-sdk/client-dynamodb';
import type Redis from 'ioredis';
import { deleteKeys, dumpKeys, fixtureRegistry, localRedis, tempDir, uniquePrefix, writeFixtureData } from './helpers';
import type { FeatureRegistryInput } from '../../../src/runtime/config/features';
import {
  FeatureCatalog, OnlineFeatureService, RedisOnlineStore, keyspaceFor, materialize, openOnlineStore, readWatermark,
} from '../../../src/runtime/features';
import { DynamoDbOnlineStore } from '../../../src/runtime/features/dynamodb-store';
import { LoopbackDynamoDb, createOnlineTable, scanTable, startLoopbackDynamoDb } from '../../support/dynamodb';

// The DynamoDB online store against dynalite (the DynamoDB API, in memory) on loopback.

const NOW = Date.parse('2024-01-01T13:30:00Z');
const CREDENTIALS = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' };

let ddb: LoopbackDynamoDb;
let admin: DynamoDBClient;
let tmp: { dir: string; remove: () => void };
let saved: Record<string, string | undefined>;
let tables = 0;

beforeAll(async () => {
  // The SDK's default credential chain reads these (in the cluster: IRSA / Pod Identity).
  saved = Object.fromEntries(Object.keys(CREDENTIALS).map((k) => [k, process.env[k]]));
  Object.assign(process.env, CREDENTIALS);
  ddb = await startLoopbackDynamoDb();
  admin = ddb.client();
  tmp = tempDir('features-dynamodb-');
  writeFixtureData(tmp.dir);
});

afterAll(async () => {
  admin.destroy();
  await ddb.close();
  tmp.remove();
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

/** A fresh table and a catalog of the fixture registry on it. */
async function newTable(extra: Record<string, unknown> = {}): Promise<{ table: string; catalog: FeatureCatalog }> {
  const table = `features-test-${++tables}`;
  await createOnlineTable(admin, table);
  const online = { type: 'dynamodb', table, region: 'eu-west-1', endpoint: ddb.endpoint, ...extra } as FeatureRegistryInput['onlineStore'];
  return { table, catalog: FeatureCatalog.fromObject(fixtureRegistry(tmp.dir, online)) };
}

/** A store whose client's `send` is intercepted by `intercept` (return undefined to pass the call through). */
function intercepted(table: string, intercept: (command: unknown, call: number) => unknown, options = {}): DynamoDbOnlineStore {
  const client = ddb.client();
  const send = client.send.bind(client) as (c: unknown) => Promise<unknown>;
  let calls = 0;
  (client as unknown as { send: (c: unknown) => Promise<unknown> }).send = async (command: unknown) => {
    const answer = intercept(command, ++calls);
    return answer === undefined ? send(command) : answer;
  };
  return new DynamoDbOnlineStore(client, table, { baseDelayMs: 1, ...options });
}

const REQUEST = {
  features: ['driver_stats:conv_rate', 'driver_stats:avg_daily_trips', 'customer_profile:tier', 'customer_profile:is_active', 'pair_stats:trips_together'],
  entities: { driver_id: [1001, 1002, 9999, 1001], customer_id: ['c-1', 'a:b/c', 'zzz', 'c-1'] },
};

describe('DynamoDB online store', () => {
  test('materialize then lookup: the same Feast response as Redis for the same data, and the same stored rows', async () => {
    const { table, catalog } = await newTable();
    const store = await openOnlineStore(catalog.registry.onlineStore);
    expect(store).toBeInstanceOf(DynamoDbOnlineStore);
    const redis: Redis = localRedis();
    const prefix = uniquePrefix();
    const redisCatalog = FeatureCatalog.fromObject(fixtureRegistry(tmp.dir, { type: 'redis', keyPrefix: prefix }));
    const redisStore = await RedisOnlineStore.connect(redisCatalog.registry.onlineStore as never);
    try {
      const run = await materialize(catalog, store);
      const redisRun = await materialize(redisCatalog, redisStore);
      expect(run.views.map((v) => [v.view, v.entitiesWritten])).toEqual(redisRun.views.map((v) => [v.view, v.entitiesWritten]));
      const fromDynamo = await new OnlineFeatureService(catalog, store, { now: () => NOW }).getOnlineFeatures(REQUEST);
      const fromRedis = await new OnlineFeatureService(redisCatalog, redisStore, { now: () => NOW }).getOnlineFeatures(REQUEST);
      expect(fromDynamo).toEqual(fromRedis);
      expect(fromDynamo.results[2].statuses).toEqual(['PRESENT', 'PRESENT', 'NOT_FOUND', 'PRESENT']);
      // Key for key, the same values (partition key `k`, value `v`) as Redis holds.
      const items = await scanTable(admin, table);
      const redisKeys = await dumpKeys(redis, prefix);
      expect(Object.fromEntries(Object.entries(items).map(([k, item]) => [k.slice('cdk-mlops:features:'.length), item.v.S])))
        .toEqual(Object.fromEntries(Object.entries(redisKeys).map(([k, v]) => [k.slice(prefix.length), v])));
      expect(Object.values(items).every((item) => item.exp === undefined)).toBe(true);
    } finally {
      await store.close();
      await deleteKeys(redis, prefix);
      await redisStore.close();
      redis.disconnect();
    }
  });

  test('re-materializing changes nothing (full table compared), incremental or full', async () => {
    const { table, catalog } = await newTable();
    const store = await openOnlineStore(catalog.registry.onlineStore);
    try {
      await materialize(catalog, store);
      const before = await scanTable(admin, table);
      const again = await materialize(catalog, store);
      expect(again.entitiesWritten).toBe(0);
      expect(await scanTable(admin, table)).toEqual(before);
      expect((await materialize(catalog, store, { full: true })).entitiesWritten).toBe(7);
      expect(await scanTable(admin, table)).toEqual(before);
    } finally {
      await store.close();
    }
  });

  test('unprocessed items and keys are retried with backoff until done; lookups of more than 100 keys are split and sent at once', async () => {
    const { table, catalog } = await newTable();
    let writeCalls = 0;
    let getCalls = 0;
    const store = intercepted(table, (command) => {
      if (command instanceof BatchWriteItemCommand) {
        writeCalls++;
        const items = command.input.RequestItems![table];
        if (items.length < 2) return undefined;
        // DynamoDB takes the first half only and hands the rest back.
        const half = Math.ceil(items.length / 2);
        return admin.send(new BatchWriteItemCommand({ RequestItems: { [table]: items.slice(0, half) } }))
          .then(() => ({ UnprocessedItems: { [table]: items.slice(half) }, $metadata: {} }));
      }
      if (command instanceof BatchGetItemCommand) {
        getCalls++;
        const request = command.input.RequestItems![table];
        if (request.Keys!.length < 2) return undefined;
        const half = Math.ceil(request.Keys!.length / 2);
        return admin.send(new BatchGetItemCommand({ RequestItems: { [table]: { ...request, Keys: request.Keys!.slice(0, half) } } }))
          .then((out) => ({ ...out, UnprocessedKeys: { [table]: { ...request, Keys: request.Keys!.slice(half) } } }));
      }
      return undefined;
    });
    const reference = await newTable();
    const referenceStore = await openOnlineStore(reference.catalog.registry.onlineStore);
    try {
      await materialize(catalog, store);
      await materialize(reference.catalog, referenceStore);
      expect(writeCalls).toBeGreaterThan(3);
      // Every item landed, and the watermarks after them.
      expect(await scanTable(admin, table)).toEqual(await scanTable(admin, reference.table));
      const response = await new OnlineFeatureService(catalog, store, { now: () => NOW }).getOnlineFeatures(REQUEST);
      expect(response).toEqual(await new OnlineFeatureService(reference.catalog, referenceStore, { now: () => NOW }).getOnlineFeatures(REQUEST));
      expect(getCalls).toBeGreaterThan(1);

      // 250 entity rows (2 views: 500 keys, 250 distinct per view pair): BatchGetItems of <= 100 distinct keys, sent concurrently.
      const plain = new DynamoDbOnlineStore(ddb.client(), table);
      const sizes: number[] = [];
      let inFlight = 0;
      let maxInFlight = 0;
      const send = plain.client.send.bind(plain.client) as (c: unknown) => Promise<unknown>;
      (plain.client as unknown as { send: (c: unknown) => Promise<unknown> }).send = async (c: unknown) => {
        if (c instanceof BatchGetItemCommand) sizes.push(c.input.RequestItems![table].Keys!.length);
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        try {
          return await send(c);
        } finally {
          inFlight--;
        }
      };
      const ids = Array.from({ length: 250 }, (_, i) => (i % 2 === 0 ? 1001 : 5000 + i));
      const big = await new OnlineFeatureService(catalog, plain, { now: () => NOW }).getOnlineFeatures({
        features: ['driver_stats:avg_daily_trips', 'customer_profile:tier'], entities: { driver_id: ids, customer_id: ids.map(() => 'c-1') },
      });
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(126 + 1); // distinct keys: 125 odd drivers + 1001, and c-1
      expect(Math.max(...sizes)).toBeLessThanOrEqual(100);
      expect(maxInFlight).toBe(sizes.length);
      expect(big.results[2].values.filter((v) => v === 35)).toHaveLength(125);
      expect(big.results[3].values.every((v) => v === 'gold')).toBe(true);
      await plain.close();
    } finally {
      await store.close();
      await referenceStore.close();
    }
  });

  test('retries are bounded; a run that fails mid-way moves no watermark, and the next run completes it', async () => {
    const { table, catalog } = await newTable();
    let throttled = false;
    const store = intercepted(table, (command) => {
      if (throttled && command instanceof BatchWriteItemCommand) {
        const items: WriteRequest[] = command.input.RequestItems![table];
        return Promise.resolve({ UnprocessedItems: { [table]: items }, $metadata: {} });
      }
      return undefined;
    }, { maxAttempts: 3 });
    try {
      // The schemas land, then every row chunk is throttled for good.
      let commits = 0;
      const commit = store.commit.bind(store);
      store.commit = async (batch) => {
        if (++commits === 2) throttled = true;
        return commit(batch);
      };
      await expect(materialize(catalog, store, { chunkSize: 3 }))
        .rejects.toThrow(/^publishing chunk 1 of 3 \(3 entities each\) failed: DynamoDB left 3 item\(s\) of table 'features-test-\d+' unprocessed after 3 attempts \(throttled\); 0 chunk\(s\) were written, no watermark moved/);
      const ks = keyspaceFor(catalog);
      expect(await readWatermark(store, ks, 'driver_stats')).toBeNull();
      throttled = false;
      store.commit = commit;
      const rerun = await materialize(catalog, store, { chunkSize: 3 });
      expect(rerun.entitiesWritten).toBe(7);
      expect(await readWatermark(store, ks, 'driver_stats')).toMatchObject({ eventTs: Date.parse('2024-01-01T13:00:00Z') });
    } finally {
      await store.close();
    }
  });

  test('keyTtlSeconds: items carry the TTL attribute exp (epoch seconds); an expired item reads absent before DynamoDB deletes it', async () => {
    const { table } = await newTable();
    let now = Date.parse('2030-01-01T00:00:00Z');
    const store = new DynamoDbOnlineStore(ddb.client(), table, {}, () => now);
    try {
      await store.commit({ writes: [{ key: 'a', value: '1', ttlMs: 90_000 }, { key: 'b', value: '2' }] });
      const items = await scanTable(admin, table);
      expect(items.a.exp).toEqual({ N: String(Date.parse('2030-01-01T00:01:30Z') / 1000) });
      expect(items.b.exp).toBeUndefined();
      expect(await store.readValues(['a', 'b', 'a', 'c'])).toEqual(['1', '2', '1', null]);
      now += 90_000;
      expect(await store.readValues(['a', 'b'])).toEqual([null, '2']);
      expect(await store.get('a')).toBeNull();
      expect(await store.get('b')).toBe('2');
    } finally {
      await store.close();
    }
  });

  test('a table that does not exist or an unreachable endpoint fails at start with the table named; a missing region is an input error', async () => {
    const { catalog } = await newTable();
    const config = catalog.registry.onlineStore;
    if (config.type !== 'dynamodb') throw new Error('fixture');
    await expect(openOnlineStore({ ...config, table: 'no-such-table' }))
      .rejects.toThrow(/^cannot reach the online store, DynamoDB table 'no-such-table' at http:\/\/127\.0\.0\.1:\d+: .*(not found|non-existent)/i);
    await expect(openOnlineStore({ ...config, endpoint: 'http://127.0.0.1:1', requestTimeoutMs: 500 }))
      .rejects.toThrow(/^cannot reach the online store, DynamoDB table 'features-test-\d+' at http:\/\/127\.0\.0\.1:1: /);
    await expect(openOnlineStore({ ...config, region: undefined }, {}))
      .rejects.toThrow("onlineStore.region: is not set and neither is AWS_REGION; expected an AWS region like 'eu-west-1'");
  });
});
