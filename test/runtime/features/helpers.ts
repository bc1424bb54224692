import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import Redis from 'ioredis';
import type { FeatureRegistryInput } from '../../../src/runtime/config/features';

/** A column for {@link writeParquet}. */
export interface Column {
  name: string;
  data: unknown[];
  type: 'INT64' | 'INT32' | 'DOUBLE' | 'FLOAT' | 'STRING' | 'BOOLEAN' | 'TIMESTAMP';
}

/** Writes a Parquet file (creating folders). */
export function writeParquet(file: string, columns: Column[], rowGroupSize?: number): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const data = columns.map((c) => ({
    name: c.name,
    type: c.type,
    data: c.type === 'INT64' ? c.data.map((v) => (v === null ? null : BigInt(v as number))) : c.data,
  }));
  const buf = parquetWriteBuffer({ columnData: data as never, ...(rowGroupSize ? { rowGroupSize } : {}) });
  fs.writeFileSync(file, Buffer.from(buf));
}

/** `2024-01-01T10:00:00Z` -> Date. */
export const t = (iso: string): Date => new Date(iso);

/** A fresh temp directory, removed by the returned function. */
export function tempDir(prefix = 'features-'): { dir: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** A key prefix unique to this test run. */
export function uniquePrefix(): string {
  return `cdk-mlops-test:features:${process.pid}-${randomBytes(4).toString('hex')}:`;
}

/** Every key under a prefix with its contents, sorted: a full dump to compare runs. */
export async function dumpKeys(redis: Redis, prefix: string): Promise<Record<string, unknown>> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  keys.sort();
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const type = await redis.type(k);
    if (type === 'hash') {
      const h = await redis.hgetall(k);
      out[k] = Object.fromEntries(Object.entries(h).sort(([a], [b]) => a.localeCompare(b)));
    } else {
      out[k] = await redis.get(k);
    }
  }
  return out;
}

/** Deletes every key under a prefix. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  const keys = Object.keys(await dumpKeys(redis, prefix));
  if (keys.length) await redis.del(...keys);
}

/**
 * The fixture registry: drivers (int64 key) with hourly stats (TTL 2 h, created column) and
 * customers (string key) with a profile (no TTL, no created column), and a view keyed by both.
 */
export function fixtureRegistry(root: string, onlineStore: FeatureRegistryInput['onlineStore']): FeatureRegistryInput {
  return {
    project: 'fraud',
    entities: [
      { name: 'driver', joinKey: 'driver_id', valueType: 'int64' },
      { name: 'customer', joinKey: 'customer_id', valueType: 'string' },
    ],
    featureViews: [
      {
        name: 'driver_stats',
        entities: ['driver'],
        features: [
          { name: 'conv_rate', valueType: 'float64' },
          { name: 'acc_rate', valueType: 'float32' },
          { name: 'avg_daily_trips', valueType: 'int64' },
        ],
        source: { type: 'glue', database: 'fraud_offline', table: 'driver_stats', path: 'driver_stats' },
        timestampField: 'event_timestamp',
        createdTimestampField: 'created',
        ttlSeconds: 7200,
      },
      {
        name: 'customer_profile',
        entities: ['customer'],
        features: [
          { name: 'tier', valueType: 'string' },
          { name: 'is_active', valueType: 'bool' },
          { name: 'lifetime_orders', valueType: 'int32' },
        ],
        source: { type: 'glue', database: 'fraud_offline', table: 'customer_profile', path: 'customer_profile' },
      },
      {
        name: 'pair_stats',
        entities: ['driver', 'customer'],
        features: [{ name: 'trips_together', valueType: 'int64' }],
        source: { type: 'parquet', path: 'pair_stats' },
        ttlSeconds: 86400,
      },
    ],
    featureServices: [
      { name: 'fraud_v1', features: ['driver_stats:conv_rate', 'customer_profile:tier', 'driver_stats:avg_daily_trips'] },
    ],
    onlineStore,
    offlineStore: { root },
  };
}

/** Writes the fixture's offline data under `root` (see the comments for what each row tests). */
export function writeFixtureData(root: string): void {
  // driver_stats, file 1 (hourly).
  writeParquet(path.join(root, 'driver_stats', 'part-0.parquet'), [
    { name: 'driver_id', type: 'INT64', data: [1001, 1001, 1002, 1001] },
    { name: 'event_timestamp', type: 'TIMESTAMP', data: [t('2024-01-01T10:00:00Z'), t('2024-01-01T11:00:00Z'), t('2024-01-01T10:00:00Z'), t('2024-01-01T12:00:00Z')] },
    { name: 'created', type: 'TIMESTAMP', data: [t('2024-01-01T10:05:00Z'), t('2024-01-01T11:05:00Z'), t('2024-01-01T10:05:00Z'), t('2024-01-01T12:05:00Z')] },
    { name: 'conv_rate', type: 'DOUBLE', data: [0.1, 0.2, 0.7, 0.3] },
    { name: 'acc_rate', type: 'FLOAT', data: [0.5, 0.25, 0.75, 0.125] },
    { name: 'avg_daily_trips', type: 'INT64', data: [10, 20, 70, 30] },
  ]);
  // driver_stats, file 2: a correction of 1001 @ 12:00 (same event time, created later: wins)
  // and 1002 @ 13:00 with a null conv_rate.
  writeParquet(path.join(root, 'driver_stats', 'part-1.parquet'), [
    { name: 'driver_id', type: 'INT64', data: [1001, 1002] },
    { name: 'event_timestamp', type: 'TIMESTAMP', data: [t('2024-01-01T12:00:00Z'), t('2024-01-01T13:00:00Z')] },
    { name: 'created', type: 'TIMESTAMP', data: [t('2024-01-01T12:30:00Z'), t('2024-01-01T13:05:00Z')] },
    { name: 'conv_rate', type: 'DOUBLE', data: [0.35, null] },
    { name: 'acc_rate', type: 'FLOAT', data: [0.375, 0.875] },
    { name: 'avg_daily_trips', type: 'INT64', data: [35, 80] },
  ]);
  writeParquet(path.join(root, 'customer_profile', 'data.parquet'), [
    { name: 'customer_id', type: 'STRING', data: ['c-1', 'c-2', 'c-1', 'a:b/c'] },
    { name: 'event_timestamp', type: 'TIMESTAMP', data: [t('2024-01-01T09:00:00Z'), t('2024-01-01T09:30:00Z'), t('2024-01-01T11:30:00Z'), t('2024-01-01T09:00:00Z')] },
    { name: 'tier', type: 'STRING', data: ['silver', 'bronze', 'gold', 'odd key'] },
    { name: 'is_active', type: 'BOOLEAN', data: [true, false, true, true] },
    { name: 'lifetime_orders', type: 'INT32', data: [3, 1, 4, 9] },
  ]);
  writeParquet(path.join(root, 'pair_stats', 'data.parquet'), [
    { name: 'driver_id', type: 'INT64', data: [1001, 1002] },
    { name: 'customer_id', type: 'STRING', data: ['c-1', 'c-1'] },
    { name: 'event_timestamp', type: 'TIMESTAMP', data: [t('2024-01-01T08:00:00Z'), t('2024-01-01T08:00:00Z')] },
    { name: 'trips_together', type: 'INT64', data: [5, 2] },
  ]);
}

/** Connects to the local Redis used by the tests. */
export function localRedis(): Redis {
  return new Redis('redis://127.0.0.1:6379', { lazyConnect: false, maxRetriesPerRequest: 1 });
}
