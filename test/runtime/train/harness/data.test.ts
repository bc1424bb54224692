import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { config, DATA, tempDir } from './support';
import { openRegistry } from '../../../../src/runtime/registry/registry';
import { buildDataset, loadDataset, parseCsv } from '../../../../src/runtime/train/data';
import { train, TrainOutcome, TrialOutcome } from '../../../../src/runtime/train/harness';
import { FakeS3 } from '../../../support/fake-s3';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
let dir: string;
const fake = new FakeS3(['data', 'models']);
beforeAll(async () => {
  dir = tempDir('train-data-');
  await fake.start();
});
afterAll(async () => {
  await fake.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** diabetes.csv as a Parquet file: doubles, except sex as INT32 and age as INT64. */
function diabetesParquet(): Buffer {
  const [head, ...lines] = fs.readFileSync(path.join(DATA, 'diabetes.csv'), 'utf8').trim().split('\n');
  const names = head.split(',');
  const rows = lines.map((l) => l.split(',').map(Number));
  const columnData = names.map((name, j) => {
    if (name === 'sex') return { name, data: Int32Array.from(rows, (r) => r[j]), type: 'INT32' as const };
    if (name === 'age') return { name, data: BigInt64Array.from(rows, (r) => BigInt(r[j])), type: 'INT64' as const };
    return { name, data: Float64Array.from(rows, (r) => r[j]), type: 'DOUBLE' as const };
  });
  return Buffer.from(parquetWriteBuffer({ columnData }));
}

describe('CSV', () => {
  test('RFC 4180: quotes, escaped quotes, separators and newlines in quotes, CRLF, BOM, trailing blank lines', () => {
    const text = '\ufeffid,"note, long",target\r\n1,"say ""hi""",0\r\n2,"two\nlines",1\r\n\r\n';
    const t = parseCsv(Buffer.from(text));
    expect(t.columns).toEqual(['id', 'note, long', 'target']);
    expect(t.cells).toEqual([['1', '2'], ['say "hi"', 'two\nlines'], ['0', '1']]);
    expect(t.rowLabel(1)).toBe('row 2 (line 3)');
  });

  test('a slice column may hold text; ignored columns are not parsed; features keep the configured order', () => {
    const t = parseCsv(Buffer.from('a,region,junk,b,target\n1,north,x,10,0\n2,south,,20,1\n3,,y,30,0\n'));
    const ds = buildDataset(t, { target: 'target', features: ['b', 'a'], ignore: ['junk'], sliceColumn: 'region', task: 'classification' });
    expect(ds.featureNames).toEqual(['b', 'a']);
    expect(Array.from(ds.x)).toEqual([10, 1, 20, 2, 30, 3]);
    expect(ds.slice).toEqual({ column: 'region', values: ['north', 'south', '(missing)'] });
    expect(ds.classes).toEqual([0, 1]);
    // By default: every column but target, slice and ignored ones.
    expect(buildDataset(t, { target: 'target', ignore: ['junk'], sliceColumn: 'region', task: 'regression' }).featureNames).toEqual(['a', 'b']);
  });
});

describe('Parquet', () => {
  test('reads the same data as the CSV (INT32, INT64 and DOUBLE columns), hashing the Parquet bytes', async () => {
    const bytes = diabetesParquet();
    const file = path.join(dir, 'diabetes.parquet');
    fs.writeFileSync(file, bytes);
    const fromParquet = await loadDataset(file, { target: 'target', task: 'regression' });
    const fromCsv = await loadDataset(path.join(DATA, 'diabetes.csv'), { target: 'target', task: 'regression' });
    expect(fromParquet.format).toBe('parquet');
    expect(fromParquet.sha256).toBe(sha(bytes));
    expect(fromParquet.featureNames).toEqual(fromCsv.featureNames);
    expect(fromParquet.x).toEqual(fromCsv.x);
    expect(fromParquet.y).toEqual(fromCsv.y);
  });

  test('a NaN in a Parquet column is refused naming column and row', async () => {
    const columnData = [
      { name: 'a', data: Float64Array.from([1, 2, NaN, 4]), type: 'DOUBLE' as const },
      { name: 'target', data: Float64Array.from([0, 1, 0, 1]), type: 'DOUBLE' as const },
    ];
    const file = path.join(dir, 'nan.parquet');
    fs.writeFileSync(file, Buffer.from(parquetWriteBuffer({ columnData })));
    await expect(loadDataset(file, { target: 'target', task: 'classification' })).rejects.toThrow(/column 'a', row 3: value NaN is not a finite number/);
  });
});

describe('everything on S3 (fake server): data, registry and indexed-search results', () => {
  test('train reads s3:// data, records its hash, registers to s3:// and writes trial results to s3://', async () => {
    const bytes = diabetesParquet();
    fake.putObject('data', 'tables/diabetes.parquet', bytes);
    const s3 = fake.s3Options;
    const base = { model: 'diabetes', trainer: 'ridge', registry: 's3://models/registry', data: { uri: 's3://data/tables/diabetes.parquet' } };
    const outcome = await train(config(base), { registryOptions: { s3 } }) as TrainOutcome;
    expect(outcome.registry).toBe('s3://models/registry');
    expect(outcome.manifest.lineage.dataHash).toBe(sha(bytes));
    expect(outcome.manifest.lineage.dataUri).toBe('s3://data/tables/diabetes.parquet');
    expect(outcome.manifest.metrics.r2).toBeGreaterThan(0.45);
    expect(fake.object('models', 'registry/models/diabetes/versions/1/manifest.json')).toBeDefined();
    expect(await openRegistry('s3://models/registry', { s3 }).resolve('diabetes', 'champion')).toBe(1);

    const hpo = { mode: 'grid' as const, space: { alpha: { values: [0.1, 10] } }, execution: 'indexed' as const, resultsUri: 's3://models/hpo/run-1' };
    const trial = await train(config({ ...base, hpo }), { registryOptions: { s3 }, hpoIndex: 1 }) as TrialOutcome;
    expect(trial.written).toBe('s3://models/hpo/run-1/trial-1.json');
    expect(JSON.parse(fake.object('models', 'hpo/run-1/trial-1.json')!.toString()).result.searched).toEqual({ alpha: 10 });

    await expect(train(config({ ...base, data: { uri: 's3://data/tables/missing.parquet' } }), { registryOptions: { s3 } }))
      .rejects.toThrow('data s3://data/tables/missing.parquet: s3://data/tables/missing.parquet does not exist');
  });
});
