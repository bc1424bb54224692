/**
 * Writes the example's local data from the breast cancer data set (UCI, as shipped with
 * scikit-learn; the CSV is in data/datasets/):
 *   data/tumor/part-0.parquet   the feature view's offline source: patient_id (row number from 1),
 *                               event_timestamp (2024-01-01T00:00:00Z) and the 30 measurements.
 * Run: npx ts-node --transpile-only examples/breast-cancer/make-data.ts
 * The output is committed; this script documents how it was made and reproduces it byte for byte.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';

const dataDir = path.join(__dirname, 'data');
const lines = fs.readFileSync(path.join(dataDir, 'datasets', 'breast_cancer.csv'), 'utf8').trim().split('\n');
const header = lines[0].split(',');
const features = header.filter((c) => c !== 'target');
const rows = lines.slice(1).map((l) => l.split(',').map(Number));
const eventTime = new Date('2024-01-01T00:00:00Z');

const buf = parquetWriteBuffer({
  columnData: [
    { name: 'patient_id', type: 'INT64', data: rows.map((_, i) => BigInt(i + 1)) },
    { name: 'event_timestamp', type: 'TIMESTAMP', data: rows.map(() => eventTime) },
    ...features.map((f) => ({ name: f, type: 'DOUBLE' as const, data: rows.map((r) => r[header.indexOf(f)]) })),
  ] as never,
});
fs.mkdirSync(path.join(dataDir, 'tumor'), { recursive: true });
fs.writeFileSync(path.join(dataDir, 'tumor', 'part-0.parquet'), Buffer.from(buf));
process.stdout.write(`wrote ${rows.length} patients x ${features.length} features to ${path.relative(process.cwd(), path.join(dataDir, 'tumor', 'part-0.parquet'))}\n`);
