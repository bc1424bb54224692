import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sampleInput } from './sample';
import { IntegrityError, InputError, NotFoundError } from '../../../src/runtime/errors';
import { openRegistry, Registry, RegistryOptions, sha256 } from '../../../src/runtime/registry/registry';
import { FakeS3 } from '../../support/fake-s3';

/** One backend under test: how to open a fresh registry and how to reach its raw bytes. */
interface Harness {
  open(options?: RegistryOptions): Registry;
  readRaw(key: string): Buffer | undefined;
  writeRaw(key: string, body: Buffer): void;
}

const fake = new FakeS3(['models-bucket']);
let tmp: string;
let counter = 0;

beforeAll(async () => {
  await fake.start();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'registry-'));
});
afterAll(async () => {
  await fake.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function localHarness(): Harness {
  const root = path.join(tmp, `r${counter++}`);
  return {
    open: (options) => openRegistry(root, options),
    readRaw: (key) => (fs.existsSync(path.join(root, key)) ? fs.readFileSync(path.join(root, key)) : undefined),
    writeRaw: (key, body) => fs.writeFileSync(path.join(root, key), body),
  };
}

function s3Harness(): Harness {
  const prefix = `team/registry${counter++}`;
  return {
    open: (options) => openRegistry(`s3://models-bucket/${prefix}`, { ...options, s3: fake.s3Options }),
    readRaw: (key) => fake.object('models-bucket', `${prefix}/${key}`),
    writeRaw: (key, body) => fake.putObject('models-bucket', `${prefix}/${key}`, body),
  };
}

describe.each([
  ['local directory', localHarness],
  ['S3 (fake server)', s3Harness],
])('registry on %s', (_name, makeHarness) => {
  test('registers immutable numbered versions with hashes of every file, readable back', async () => {
    const h = makeHarness();
    const registry = h.open();
    expect(await registry.listModels()).toEqual([]);
    const first = await registry.register(sampleInput('fraud', 'one'));
    const second = await registry.register(sampleInput('fraud', 'two'));
    await registry.register(sampleInput('churn', 'x'));
    expect([first.version, second.version]).toEqual([1, 2]);
    expect(await registry.listModels()).toEqual(['churn', 'fraud']);
    expect(await registry.listVersions('fraud')).toEqual([1, 2]);

    const artefact = Buffer.from('onnx bytes two');
    expect(second.files['model.onnx']).toEqual({ sha256: sha256(artefact), bytes: artefact.length });
    expect(Object.keys(second.files).sort()).toEqual(['model-card.md', 'model.onnx', 'reference.json']);
    expect(h.readRaw('models/fraud/versions/2/model.onnx')).toEqual(artefact);

    const loaded = await registry.load('fraud', 2);
    expect(loaded.artefact).toEqual(artefact);
    expect(loaded.manifest).toEqual(second);
    expect(await registry.getModelCard('fraud', 1)).toBe('# fraud\n\ncard one\n');
    expect((await registry.getReference('fraud', 1)).features[0].name).toBe('x');
    expect(await registry.resolve('fraud', 'latest')).toBe(2);
    expect(await registry.resolve('fraud', '1')).toBe(1);
    expect(await registry.verify('fraud', 1)).toEqual([]);
  });

  test('a changed byte in any file is refused on read, naming the file and both hashes', async () => {
    const h = makeHarness();
    const registry = h.open();
    await registry.register(sampleInput('fraud'));
    const key = 'models/fraud/versions/1/model.onnx';
    const original = h.readRaw(key)!;
    const tampered = Buffer.from(original);
    tampered[3] ^= 0x01;
    h.writeRaw(key, tampered);

    const error = await registry.load('fraud', 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IntegrityError);
    const message = (error as Error).message;
    expect(message).toContain('model.onnx');
    expect(message).toContain(sha256(tampered));
    expect(message).toContain(sha256(original));
    const problems = await registry.verify('fraud', 1);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(sha256(tampered));

    const refKey = 'models/fraud/versions/1/reference.json';
    h.writeRaw(refKey, Buffer.from(h.readRaw(refKey)!.toString().replace('"rows":3', '"rows":4')));
    await expect(registry.getReference('fraud', 1)).rejects.toThrow(/reference\.json .*fails verification/);
    const cardKey = 'models/fraud/versions/1/model-card.md';
    h.writeRaw(cardKey, Buffer.from('# forged\n'));
    await expect(registry.getModelCard('fraud', 1)).rejects.toBeInstanceOf(IntegrityError);
    expect(await registry.verify('fraud', 1)).toHaveLength(3);
  });

  test('verify reports a file added to a version and a manifest that lies about its version', async () => {
    const h = makeHarness();
    const registry = h.open();
    await registry.register(sampleInput('fraud'));
    await registry.register(sampleInput('fraud'));
    h.writeRaw('models/fraud/versions/1/extra.bin', Buffer.from('x'));
    const problems = await registry.verify('fraud', 1);
    expect(problems).toEqual([expect.stringContaining('extra.bin is not listed in the manifest')]);
    h.writeRaw('models/fraud/versions/2/manifest.json', h.readRaw('models/fraud/versions/1/manifest.json')!);
    await expect(registry.getManifest('fraud', 2)).rejects.toThrow(/describes model 'fraud' version 1, not model 'fraud' version 2/);
    h.writeRaw('models/fraud/versions/2/manifest.json', Buffer.from('{"schemaVersion":1}'));
    await expect(registry.getManifest('fraud', 2)).rejects.toThrow(/does not match its schema: 'model'/);
  });

  test('aliases point at versions and keep who moved them, when and why', async () => {
    const h = makeHarness();
    let now = Date.parse('2025-01-02T03:04:05Z');
    const registry = h.open({ clock: () => new Date(now) });
    await registry.register(sampleInput('fraud'));
    await registry.register(sampleInput('fraud'));
    await registry.setAlias('fraud', 'champion', 1, 'alice@ci', 'first model');
    now += 60_000;
    const moved = await registry.setAlias('fraud', 'champion', 2, 'bob@laptop', 'better auc');
    await registry.setAlias('fraud', 'challenger', 1, 'carol');

    expect(moved).toEqual({
      model: 'fraud',
      alias: 'champion',
      version: 2,
      history: [
        { version: 1, movedAt: '2025-01-02T03:04:05.000Z', movedBy: 'alice@ci', reason: 'first model' },
        { version: 2, movedAt: '2025-01-02T03:05:05.000Z', movedBy: 'bob@laptop', reason: 'better auc' },
      ],
    });
    expect(await registry.resolve('fraud', 'champion')).toBe(2);
    expect((await registry.load('fraud', 'challenger')).manifest.version).toBe(1);
    expect((await registry.listAliases('fraud')).map((a) => `${a.alias}=${a.version}`)).toEqual(['challenger=1', 'champion=2']);

    await expect(registry.setAlias('fraud', 'champion', 9, 'x')).rejects.toThrow(/cannot point alias 'champion' of model 'fraud' at version 9: its versions are 1, 2/);
    await expect(registry.setAlias('fraud', '42', 1, 'x')).rejects.toThrow(/containing a letter/);
    await expect(registry.setAlias('fraud', 'latest', 1, 'x')).rejects.toThrow(/reserved/);
    await expect(registry.resolve('fraud', 'staging')).rejects.toThrow("model 'fraud' has no alias 'staging'");
    await expect(registry.resolve('fraud', 'staging')).rejects.toThrow('aliases: challenger, champion');
    await expect(registry.resolve('fraud', 3)).rejects.toBeInstanceOf(NotFoundError);
    await expect(registry.resolve('nope', 'latest')).rejects.toThrow("model 'nope' has no versions");
    await expect(registry.listVersions('../etc')).rejects.toBeInstanceOf(InputError);
  });

  test('concurrent alias moves are all recorded (compare-and-swap, no lost update)', async () => {
    const h = makeHarness();
    const registry = h.open();
    await registry.register(sampleInput('fraud'));
    await registry.register(sampleInput('fraud'));
    const clients = [h.open(), h.open(), h.open(), h.open()];
    await Promise.all(Array.from({ length: 12 }, (_, i) => clients[i % 4].setAlias('fraud', 'champion', 1 + (i % 2), `writer-${i}`)));
    const [record] = await registry.listAliases('fraud');
    expect(record.history).toHaveLength(12);
    expect(new Set(record.history.map((e) => e.movedBy)).size).toBe(12);
    expect(record.version).toBe(record.history[11].version);
  });

  test('concurrent writers in one process never share a number', async () => {
    const h = makeHarness();
    const clients = [h.open(), h.open(), h.open(), h.open()];
    const manifests = await Promise.all(Array.from({ length: 24 }, (_, i) => clients[i % 4].register(sampleInput('race', String(i)))));
    const versions = manifests.map((m) => m.version).sort((a, b) => a - b);
    expect(versions).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    expect(await clients[0].listVersions('race')).toEqual(versions);
    // Each version holds the artefact of the writer that claimed it.
    for (const m of manifests) expect((await clients[0].load('race', m.version)).manifest.files).toEqual(m.files);
  });

  test('a writer that fails after its claim leaves no visible version, and its number becomes a gap', async () => {
    const h = makeHarness();
    const failing = h.open({ hooks: { beforeManifest: async () => { throw new Error('disk full'); } } });
    await expect(failing.register(sampleInput('fraud'))).rejects.toThrow('disk full');
    const registry = h.open();
    expect(await registry.listVersions('fraud')).toEqual([]);
    expect(await registry.listModels()).toEqual([]);
    expect((await registry.listAbandonedClaims('fraud')).map((c) => c.version)).toEqual([1]);
    expect((await registry.register(sampleInput('fraud'))).version).toBe(2);
    await expect(registry.getManifest('fraud', 1)).rejects.toThrow("model 'fraud' has no version 1");
  });

  test('refuses bad registrations without claiming a number', async () => {
    const h = makeHarness();
    const registry = h.open();
    await expect(registry.register(sampleInput('bad name'))).rejects.toThrow(/model name "bad name" is invalid/);
    await expect(registry.register(sampleInput('fraud', 'a', { artefact: Buffer.alloc(0) }))).rejects.toThrow(/artefact of 'fraud' is empty/);
    const reference = { ...sampleInput('fraud').reference, rows: -1 };
    await expect(registry.register(sampleInput('fraud', 'a', { reference }))).rejects.toThrow(/reference statistics: rows/);
    expect(await registry.listAbandonedClaims('fraud')).toEqual([]);
    expect((await registry.register(sampleInput('fraud'))).version).toBe(1);
  });
});

describe('registry on S3 specifics', () => {
  test('claims and manifests are written with If-None-Match, aliases with If-Match', async () => {
    const prefix = `cond${counter++}`;
    const registry = openRegistry(`s3://models-bucket/${prefix}/`, { s3: fake.s3Options });
    expect(registry.uri).toBe(`s3://models-bucket/${prefix}`);
    const start = fake.requests.length;
    await registry.register(sampleInput('fraud'));
    await registry.setAlias('fraud', 'champion', 1, 'me');
    await registry.setAlias('fraud', 'champion', 1, 'me');
    const puts = fake.requests.slice(start).filter((r) => r.method === 'PUT');
    const byKey = (suffix: string) => puts.filter((r) => r.path.split('?')[0].endsWith(suffix));
    expect(byKey('/claims/1.json')[0].headers['if-none-match']).toBe('*');
    expect(byKey('/versions/1/manifest.json')[0].headers['if-none-match']).toBe('*');
    const aliasPuts = byKey('/aliases/champion.json');
    expect(aliasPuts[0].headers['if-none-match']).toBe('*');
    expect(aliasPuts[1].headers['if-match']).toMatch(/^"[0-9a-f]{32}"$/);
  });

  test('a claim taken by another writer (412 from S3) moves the writer to the next number', async () => {
    const prefix = `conflict${counter++}`;
    // Another writer's claim on 1 and 2 appears between this writer's listing and its claim.
    let injected = false;
    fake.intercept = (req) => {
      if (!injected && req.method === 'PUT' && req.url?.includes('/claims/1.json')) {
        injected = true;
        fake.putObject('models-bucket', `${prefix}/models/fraud/claims/1.json`, Buffer.from('{}'));
        fake.putObject('models-bucket', `${prefix}/models/fraud/claims/2.json`, Buffer.from('{}'));
      }
      return false;
    };
    try {
      const registry = openRegistry(`s3://models-bucket/${prefix}`, { s3: fake.s3Options });
      expect((await registry.register(sampleInput('fraud'))).version).toBe(3);
      const statuses = fake.requests.filter((r) => r.path.includes(`${prefix}/models/fraud/claims/`)).map((r) => r.path.split('?')[0].split('/').pop());
      expect(statuses).toEqual(['1.json', '2.json', '3.json']);
    } finally {
      fake.intercept = undefined;
    }
  });

  test('rejects malformed registry URIs', () => {
    expect(() => openRegistry('s3://')).toThrow(/expected s3:\/\/<bucket>/);
    expect(() => openRegistry('gs://bucket/x')).toThrow(/unsupported scheme/);
    expect(() => openRegistry('')).toThrow(/no registry URI/);
  });
});
