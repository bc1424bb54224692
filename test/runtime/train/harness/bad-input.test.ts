import * as fs from 'node:fs';
import * as path from 'node:path';
import { config, DATA, tempDir } from './support';
import { TrainConfigInput } from '../../../../src/runtime/config/train';
import { InputError } from '../../../../src/runtime/errors';
import { train } from '../../../../src/runtime/train/harness';

/**
 * Every kind of bad input stops the run with an InputError that names the column, row and
 * value, and nothing is registered (the registry directory is never even created).
 */
let dir: string;
let n = 0;
beforeAll(() => {
  dir = tempDir('train-bad-');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function refused(csv: string | Buffer | undefined, expected: RegExp, overrides: Partial<TrainConfigInput> = {}, data: Partial<TrainConfigInput['data']> = {}): Promise<void> {
  const file = path.join(dir, `data-${n++}.csv`);
  if (csv !== undefined) fs.writeFileSync(file, csv);
  const registry = path.join(dir, `reg-${n}`);
  const error = await train(config({ model: 'm', registry, data: { uri: file, ...data }, ...overrides })).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(InputError);
  expect((error as Error).message).toMatch(expected);
  expect(fs.existsSync(registry)).toBe(false);
}

const ok = 'a,b,target\n1,2,0\n2,3,1\n3,1,0\n4,4,1\n5,2,0\n6,5,1\n7,1,0\n8,6,1\n9,3,0\n10,7,1\n11,2,0\n12,8,1\n';

describe('bad input is refused, naming what is wrong, and nothing is registered', () => {
  test('the small good file itself trains (so each failure below is caused by its one change)', async () => {
    const file = path.join(dir, 'good.csv');
    fs.writeFileSync(file, ok);
    const registry = path.join(dir, 'good-reg');
    await train(config({ model: 'm', registry, data: { uri: file }, split: { train: 0.5, validation: 0.25, test: 0.25 } }));
    expect(fs.existsSync(registry)).toBe(true);
  });

  test('unreadable file', async () => {
    await refused(undefined, /^data .*data-\d+\.csv: .*data-\d+\.csv does not exist$/);
    const error = await train(config({ model: 'm', registry: path.join(dir, 'r-dir'), data: { uri: dir } })).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/is a directory, not a file/);
    const bad = await train(config({ model: 'm', registry: path.join(dir, 'r-scheme'), data: { uri: 'https://example.com/x.csv' } })).catch((e: unknown) => e);
    expect((bad as Error).message).toMatch(/unsupported scheme: expected a path, file:\/\/ or s3:\/\//);
  });

  test('empty data', async () => {
    await refused('', /is empty: expected a header row and at least one data row/);
    await refused('a,b,target\n', /has no data rows \(only a header\)/);
  });

  test('missing columns', async () => {
    await refused('a,b,label\n1,2,0\n', /target column 'target' is missing; the file's columns are: a, b, label/);
    await refused(ok, /feature column 'c' is missing; the file's columns are: a, b, target/, {}, { features: ['a', 'c'] });
    await refused(ok, /slice column 'region' is missing/, {}, { sliceColumn: 'region' });
  });

  test('extra columns when the features are listed', async () => {
    await refused(ok, /has column\(s\) 'b' that are neither features, the target, the slice column nor ignored; add them to data.features or data.ignore/, {}, { features: ['a'] });
    await refused('a,b,target,a\n1,2,0,1\n', /has the column 'a' twice/);
  });

  test('non-numeric values, naming column, row, line and value', async () => {
    await refused(ok.replace('4,4,1', '4,four,1'), /column 'b', row 4 \(line 5\): value "four" is not a number/);
    await refused(ok.replace('7,1,0', '7,1,yes'), /column 'target', row 7 \(line 8\): value "yes" is not a number/);
  });

  test('NaN, Inf and missing values', async () => {
    await refused(ok.replace('2,3,1', 'NaN,3,1'), /column 'a', row 2 \(line 3\): value "NaN" is not a finite number/);
    await refused(ok.replace('2,3,1', '2,-Inf,1'), /column 'b', row 2 \(line 3\): value "-Inf" is not a finite number/);
    await refused(ok.replace('2,3,1', '2,Infinity,1'), /value "Infinity" is not a finite number/);
    await refused(ok.replace('5,2,0', '5,,0'), /column 'b', row 5 \(line 6\): value is missing; expected a number in every row/);
  });

  test('a label with one class, and a non-integer class label', async () => {
    await refused(ok.replace(/,1\n/g, ',0\n'), /label column 'target' has one class \(0\) in all 12 rows; a classifier needs at least two/);
    await refused(ok.replace('2,3,1', '2,3,0.5'), /column 'target', row 2 \(line 3\): value "0.5" is not an integer class label/);
  });

  test('malformed CSV', async () => {
    await refused(ok.replace('3,1,0', '3,1'), /row 3 \(line 4\) has 2 fields, but the header has 3/);
    await refused(ok.replace('3,1,0', '3,"1,0'), /line 4: a quoted field is not closed before the end of the file/);
    await refused(Buffer.from([0x50, 0x41, 0x52, 0x31, 0, 0, 1, 2]), /is not a text CSV file \(it contains NUL bytes\)/);
  });

  test('a Parquet file that is not one', async () => {
    const file = path.join(dir, 'broken.parquet');
    fs.writeFileSync(file, 'a,b,target\n1,2,3\n');
    const error = await train(config({ model: 'm', registry: path.join(dir, 'r-pq'), data: { uri: file } })).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/broken\.parquet: is not a readable Parquet file/);
  });

  test('too little data for the split, unknown trainer, metric or searched parameter', async () => {
    await refused('a,target\n1,0\n2,1\n', /2 rows give an empty test split \(2 train \/ 0 validation \/ 0 test\)/, {}, {});
    await refused(ok, /"forest" is not a built-in trainer; expected one of: logistic-regression, ridge, /, { trainer: 'forest' });
    await refused(ok, /gate.minimums: 'rmse' is not a classification metric; expected one of: accuracy, precision, recall, f1, roc_auc, log_loss/, { gate: { minimums: { rmse: 1 } } });
    await refused(ok, /hpo.space: names 'depth', which trainer 'logistic-regression' does not take; it takes: /, { hpo: { space: { depth: { values: [1, 2] } } } });
  });

  test('the real data with a corrupted cell is refused too', async () => {
    const lines = fs.readFileSync(path.join(DATA, 'diabetes.csv'), 'utf8').split('\n');
    lines[200] = lines[200].replace(/^(\d+),/, '$1x,');
    await refused(lines.join('\n'), /column 'age', row 200 \(line 201\): value "\d+x" is not a number/, { trainer: 'ridge' });
  });
});
