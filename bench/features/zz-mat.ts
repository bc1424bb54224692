import * as fs from 'node:fs'; import * as os from 'node:os'; import * as path from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { FeatureCatalog, MemoryOnlineStore, RedisOnlineStore, materialize } from '../../src/runtime/features';
(async () => {
  const P = `cdk-mlops-bench:mat:${process.pid}:`;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mat-'));
  const names = Array.from({ length: 50 }, (_, i) => `f${i}`);
  fs.mkdirSync(path.join(root, 'v'));
  const N = 10000;
  for (let f = 0; f < 5; f++) fs.writeFileSync(path.join(root, 'v', `p${f}.parquet`), Buffer.from(parquetWriteBuffer({ columnData: [
    { name: 'user_id', data: Array.from({ length: N }, (_, i) => BigInt(i)), type: 'INT64' },
    { name: 'event_timestamp', data: Array.from({ length: N }, () => new Date(1e12 + f * 3600e3)), type: 'TIMESTAMP' },
    ...names.map((n, j) => ({ name: n, data: Array.from({ length: N }, (_, i) => (i * 31 + j) / 7), type: 'DOUBLE' as const })),
  ] })));
  const doc = { project: 'p', entities: [{ name: 'user', joinKey: 'user_id', valueType: 'int64' as const }], featureViews: [{ name: 'v', entities: ['user'], features: names.map((name) => ({ name, valueType: 'float64' as const })), source: { type: 'parquet' as const, path: 'v' } }], onlineStore: { type: 'redis' as const, keyPrefix: P }, offlineStore: { root } };
  const catalog = FeatureCatalog.fromObject(doc);
  let t0 = performance.now(); await materialize(catalog, new MemoryOnlineStore(), { dryRun: true }); console.log('dry (read+reduce)', (performance.now() - t0).toFixed(0), 'ms');
  const store = await RedisOnlineStore.connect({ type: 'redis', url: 'redis://127.0.0.1:6379', keyPrefix: P, tls: false, connectTimeoutMs: 2000, commandTimeoutMs: 20000 });
  t0 = performance.now(); const r = await materialize(catalog, store, { full: true }); console.log('redis full', (performance.now() - t0).toFixed(0), 'ms', r.rowsPerSecond, 'rows/s');
  const keys = await store.redis.keys(`${P}*`); for (let i = 0; i < keys.length; i += 1000) await store.redis.unlink(...keys.slice(i, i + 1000)); await store.close(); fs.rmSync(root, { recursive: true });
})();
