import { featureRegistrySchema } from '../../../src/runtime/config/features';
import { OnlineKeyspace, RedisOnlineStore, openOnlineStore } from '../../../src/runtime/features';
import { redactUrl } from '../../../src/runtime/features/online-store';

const redisConfig = (extra: Record<string, unknown>) => featureRegistrySchema.parse({
  project: 'p',
  entities: [{ name: 'e', valueType: 'string' }],
  featureViews: [{ name: 'v', entities: ['e'], features: [{ name: 'f', valueType: 'string' }], source: { type: 'parquet', path: 'v' } }],
  onlineStore: { type: 'redis', ...extra },
  offlineStore: { root: '.' },
}).onlineStore as Parameters<typeof RedisOnlineStore.options>[0];

describe('Redis online store settings', () => {
  test('credentials come from the environment variables the registry names; TLS for ElastiCache', () => {
    const config = redisConfig({ url: 'rediss://cache.internal:6379', usernameEnv: 'FS_USER', passwordEnv: 'FS_TOKEN' });
    const options = RedisOnlineStore.options(config, { FS_USER: 'features', FS_TOKEN: 's3cret' });
    expect(options).toMatchObject({ username: 'features', password: 's3cret', tls: {}, connectTimeout: 5000, commandTimeout: 2000, maxRetriesPerRequest: 1 });
    expect(RedisOnlineStore.options(redisConfig({ tls: true }), {}).tls).toEqual({});
    expect(RedisOnlineStore.options(redisConfig({}), {}).tls).toBeUndefined();
    expect(() => RedisOnlineStore.options(config, { FS_USER: 'features' })).toThrow('onlineStore.passwordEnv: environment variable FS_TOKEN is not set');
  });

  test('an unreachable Redis fails with its address, never the password', async () => {
    const config = redisConfig({ url: 'redis://user:hunter2@127.0.0.1:1', connectTimeoutMs: 500 });
    const err = await openOnlineStore(config, {}).then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(/^cannot connect to the online store at redis:\/\/user:\*\*\*@127\.0\.0\.1:1: /);
    expect(err?.message).not.toContain('hunter2');
    expect(redactUrl('redis://:tok@h:1')).toBe('redis://:***@h:1');
  });

  test('DynamoDB is accepted by the schema but refused by this runtime with a clear message', async () => {
    await expect(openOnlineStore({ type: 'dynamodb', table: 'features' })).rejects.toThrow("onlineStore.type: 'dynamodb' is not supported by this runtime");
  });

  test('key layout', () => {
    const ks = new OnlineKeyspace('cdk-mlops:features:', 'fraud');
    expect(ks.row('driver_stats', '1001')).toBe('cdk-mlops:features:fraud:driver_stats:1001');
    expect(ks.watermark('driver_stats')).toBe('cdk-mlops:features:fraud:__watermark__:driver_stats');
    expect(new OnlineKeyspace('a*b:', 'p').pattern()).toBe('a\\*b:p:*');
  });
});
