import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { fixtureRegistry } from './helpers';
import { FeatureCatalog, MemoryOnlineStore, S3OfflineFiles, materialize } from '../../../src/runtime/features';

/** An S3 stand-in answering ListObjectsV2 (two pages) and GetObject from a map of objects. */
function fakeS3(objects: Record<string, Uint8Array>) {
  const calls: string[] = [];
  return {
    calls,
    send: async (command: unknown) => {
      if (command instanceof ListObjectsV2Command) {
        const { Bucket, Prefix, ContinuationToken } = command.input;
        calls.push(`list ${Bucket}/${Prefix} ${ContinuationToken ?? '-'}`);
        const keys = Object.keys(objects).filter((k) => k.startsWith(`${Bucket}/${Prefix}`)).map((k) => k.slice(Bucket!.length + 1)).sort();
        const page = ContinuationToken ? keys.slice(2) : keys.slice(0, 2);
        return { Contents: page.map((Key) => ({ Key })), IsTruncated: !ContinuationToken && keys.length > 2, NextContinuationToken: 'page-2' };
      }
      if (command instanceof GetObjectCommand) {
        const { Bucket, Key } = command.input;
        calls.push(`get ${Bucket}/${Key}`);
        const body = objects[`${Bucket}/${Key}`];
        if (!body) throw Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey' });
        return { Body: { transformToByteArray: async () => body } };
      }
      throw new Error(`unexpected command ${String(command)}`);
    },
  };
}

const profile = (ids: string[], tier: string) => new Uint8Array(parquetWriteBuffer({
  columnData: [
    { name: 'customer_id', data: ids, type: 'STRING' },
    { name: 'event_timestamp', data: ids.map(() => new Date('2024-01-01T10:00:00Z')), type: 'TIMESTAMP' },
    { name: 'tier', data: ids.map(() => tier), type: 'STRING' },
    { name: 'is_active', data: ids.map(() => true), type: 'BOOLEAN' },
    { name: 'lifetime_orders', data: ids.map(() => 1), type: 'INT32' },
  ],
}));

describe('S3 offline files', () => {
  test('lists Parquet objects under a prefix across pages, skipping _/. names, and materializes them', async () => {
    const s3 = fakeS3({
      'lake/offline/customer_profile/dt=2024-01-01/part-0.parquet': profile(['c-1'], 'silver'),
      'lake/offline/customer_profile/dt=2024-01-02/part-0.parquet': profile(['c-2'], 'gold'),
      'lake/offline/customer_profile/_SUCCESS': new Uint8Array(),
      'lake/offline/customer_profile/_tmp/part-9.parquet': profile(['c-9'], 'never'),
      'lake/offline/customer_profile_old/part-0.parquet': profile(['c-3'], 'other view'),
    });
    const files = new S3OfflineFiles(s3);
    expect(await files.list('s3://lake/offline/customer_profile')).toEqual([
      's3://lake/offline/customer_profile/dt=2024-01-01/part-0.parquet',
      's3://lake/offline/customer_profile/dt=2024-01-02/part-0.parquet',
    ]);
    expect(s3.calls).toEqual(['list lake/offline/customer_profile/ -', 'list lake/offline/customer_profile/ page-2']);

    const catalog = FeatureCatalog.fromObject(fixtureRegistry('s3://lake/offline', { type: 'memory' }));
    expect(catalog.view('customer_profile').sourcePath).toBe('s3://lake/offline/customer_profile');
    const store = new MemoryOnlineStore();
    const result = await materialize(catalog, store, { views: ['customer_profile'], files });
    expect(result.views[0]).toMatchObject({ files: 2, rowsRead: 2, entitiesWritten: 2 });
    expect(JSON.parse(store.dump()['cdk-mlops:features:fraud:customer_profile:c-2'])[3]).toBe('gold');
  });

  test('an empty prefix or a missing object is an error naming it', async () => {
    const files = new S3OfflineFiles(fakeS3({}));
    await expect(files.list('s3://lake/none/')).rejects.toThrow('offline source s3://lake/none/: holds no .parquet objects');
    const catalog = FeatureCatalog.fromObject(fixtureRegistry('s3://lake/offline', { type: 'memory' }));
    const broken = { list: async () => ['s3://lake/offline/customer_profile/gone.parquet'], read: (f: string) => files.read(f) };
    await expect(materialize(catalog, new MemoryOnlineStore(), { views: ['customer_profile'], files: broken }))
      .rejects.toThrow('offline file s3://lake/offline/customer_profile/gone.parquet: cannot be read (The specified key does not exist.)');
  });
});
