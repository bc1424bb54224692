import { featureRegistrySchema } from '../../../src/runtime/config/features';
import { MemoryOnlineStore, OnlineKeyspace, RedisOnlineStore, openOnlineStore } from '../../../src/runtime/features';
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

  test('key layout', () => {
    const ks = new OnlineKeyspace('cdk-mlops:features:', 'fraud');
    expect(ks.row('driver_stats', '1001')).toBe('cdk-mlops:features:fraud:driver_stats:1001');
    expect(ks.watermark('driver_stats')).toBe('cdk-mlops:features:fraud:__watermark__:driver_stats');
    expect(ks.schema('driver_stats', '0123456789abcdef')).toBe('cdk-mlops:features:fraud:__schema__:driver_stats:0123456789abcdef');
    expect(new OnlineKeyspace('a*b:', 'p').pattern()).toBe('a\\*b:p:*');
  });

  test('the in-process store expires keys as Redis does (ttlMs after the write), and hides them at once', async () => {
    let now = 1_000_000;
    const mem = new MemoryOnlineStore(() => now);
    await mem.commit({ writes: [{ key: 'a', value: '1', ttlMs: 500 }, { key: 'b', value: '2' }] });
    expect(await mem.readValues(['a', 'b', 'c'])).toEqual(['1', '2', null]);
    now += 499;
    expect(await mem.get('a')).toBe('1');
    now += 1;
    expect(await mem.readValues(['a', 'b'])).toEqual([null, '2']);
    expect(mem.dump()).toEqual({ b: '2' });
    // a rewrite starts a new lifetime
    await mem.commit({ writes: [{ key: 'a', value: '3', ttlMs: 500 }] });
    now += 499;
    expect(await mem.get('a')).toBe('3');
  });
});
