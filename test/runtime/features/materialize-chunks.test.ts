import { fixtureRegistry, tempDir, writeFixtureData } from './helpers';
import {
  FeatureCatalog, MemoryOnlineStore, OnlineWriteBatch, keyspaceFor, materialize, readWatermark, valueSchemaOf,
} from '../../../src/runtime/features';

// Publishing in bounded chunks: value schemas first, then the rows, the watermarks last (the commit point).

let tmp: { dir: string; remove: () => void };
let catalog: FeatureCatalog;

beforeAll(() => {
  tmp = tempDir('features-chunks-');
  writeFixtureData(tmp.dir);
  catalog = FeatureCatalog.fromObject(fixtureRegistry(tmp.dir, { type: 'memory', refreshSeconds: 0 }));
});
afterAll(() => tmp.remove());

/** A memory store that records each commit and what the watermarks were when it came. */
class RecordingStore extends MemoryOnlineStore {
  public readonly commits: { rows: number; other: string[]; watermarksBefore: number }[] = [];
  public failAt?: number;
  public override async commit(batch: OnlineWriteBatch): Promise<void> {
    if (this.failAt === this.commits.length + 1) {
      this.failAt = undefined;
      throw new Error('Command timed out');
    }
    const watermarksBefore = (await watermarks(this)).filter((w) => w !== null).length;
    const isRow = (key: string) => !key.includes(':__schema__:') && !key.includes(':__watermark__:');
    this.commits.push({ rows: batch.writes.filter((w) => isRow(w.key)).length, other: batch.writes.filter((w) => !isRow(w.key)).map((w) => w.key), watermarksBefore });
    await super.commit(batch);
  }
}

const watermarks = async (store: MemoryOnlineStore) => {
  const ks = keyspaceFor(catalog);
  return Promise.all(catalog.viewList().filter((v) => v.definition.online).map((v) => readWatermark(store, ks, v.name)));
};

test('with a chunk size below the entity count, every entity is published in chunks and the watermarks come last', async () => {
  const reference = new MemoryOnlineStore();
  const one = await materialize(catalog, reference);
  expect(one.entitiesWritten).toBeGreaterThan(3);

  const store = new RecordingStore();
  const chunked = await materialize(catalog, store, { chunkSize: 2 });
  expect(chunked.entitiesWritten).toBe(one.entitiesWritten);
  expect(store.dump()).toEqual(reference.dump());
  const chunks = Math.ceil(one.entitiesWritten / 2);
  expect(store.commits).toHaveLength(1 + chunks + 1);
  const views = ['driver_stats', 'customer_profile', 'pair_stats'];
  const ks = keyspaceFor(catalog);
  // First the value schemas the rows name, alone.
  expect(store.commits[0]).toEqual({
    rows: 0, other: views.map((v) => ks.schema(v, valueSchemaOf(catalog.view(v).definition.features).fingerprint)), watermarksBefore: 0,
  });
  // Every row chunk is bounded and carries nothing else; the last commit is only the watermarks.
  for (const c of store.commits.slice(1, 1 + chunks)) {
    expect(c.rows).toBeGreaterThan(0);
    expect(c.rows).toBeLessThanOrEqual(2);
    expect(c.other).toEqual([]);
  }
  const last = store.commits[1 + chunks];
  expect(last.rows).toBe(0);
  expect(last.other).toEqual(views.map((v) => ks.watermark(v)));
  // No watermark existed while the values were being written.
  expect(store.commits.map((c) => c.watermarksBefore)).toEqual(store.commits.map(() => 0));
  expect(await watermarks(store)).toEqual(await watermarks(reference));
});

test('the watermark moves only at the end: a failure mid-run leaves it unmoved, and a re-run completes', async () => {
  const reference = new MemoryOnlineStore();
  await materialize(catalog, reference);

  const store = new RecordingStore();
  store.failAt = 4; // the schemas, two chunks of rows, then the third chunk fails
  await expect(materialize(catalog, store, { chunkSize: 2 }))
    .rejects.toThrow(/^publishing chunk 3 of \d+ \(2 entities each\) failed: Command timed out; 2 chunk\(s\) were written, no watermark moved: re-run to complete/);
  // The schemas and two chunks landed (a reader may see them); no watermark did.
  expect(store.commits).toHaveLength(3);
  expect(await watermarks(store)).toEqual([null, null, null]);
  expect(Object.keys(store.dump()).filter((k) => !k.includes(':__schema__:'))).toHaveLength(4);

  const rerun = await materialize(catalog, store, { chunkSize: 2 });
  expect(rerun.views.every((v) => v.mode === 'full')).toBe(true);
  expect(store.dump()).toEqual(reference.dump());
  expect(await watermarks(store)).toEqual(await watermarks(reference));
  // A second re-run publishes nothing new and moves nothing.
  const before = store.dump();
  const again = await materialize(catalog, store, { chunkSize: 2 });
  expect(again.entitiesWritten).toBe(0);
  expect(store.dump()).toEqual(before);
});

test('a chunk size that is not a positive integer is refused before anything is read', async () => {
  await expect(materialize(catalog, new MemoryOnlineStore(), { chunkSize: 0 })).rejects.toThrow('chunkSize: is 0; expected a positive integer');
});
