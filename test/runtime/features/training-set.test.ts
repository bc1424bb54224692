import * as fs from 'node:fs';
import * as path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { parquetReadObjects } from 'hyparquet';
import { fixtureRegistry, t, tempDir, writeFixtureData, writeParquet } from './helpers';
import { FeatureCatalog, athenaTrainingSetSql, buildTrainingSet } from '../../../src/runtime/features';

let tmp: { dir: string; remove: () => void };
let catalog: FeatureCatalog;
let entitiesParquet: string;
let entitiesCsv: string;

// Entity rows: [driver_id, customer_id, event_timestamp, label] and why each is there.
const ENTITY_ROWS: [number, string, string, number][] = [
  [1001, 'c-1', '2024-01-01T09:59:59Z', 0], // r0: before the driver's first row -> no driver features
  [1001, 'c-1', '2024-01-01T10:00:00Z', 1], // r1: equal timestamps: the row at exactly t is used
  [1001, 'c-2', '2024-01-01T12:00:00Z', 0], // r2: two rows at 12:00 -> the later-created one (0.35)
  [1001, 'c-1', '2024-01-01T14:30:00Z', 1], // r3: latest row (12:00) is 2.5 h old > TTL 2 h -> null
  [1001, 'c-1', '2024-01-01T14:00:00Z', 0], // r4: exactly 2 h old -> still inside the TTL
  [1002, 'c-1', '2024-01-01T12:00:00Z', 1], // r5: late-arriving row (event 11:00, created 15:00) is used
  [1002, 'c-2', '2024-01-01T13:30:00Z', 0], // r6: row with a null conv_rate -> null, trips 80
  [9999, 'zzz', '2024-01-01T12:00:00Z', 1], // r7: entities with no history at all
  [1001, 'c-3', '2024-01-01T10:30:00Z', 0], // r8: customer tie without created column -> last file wins
  [1002, 'c-1', '2024-01-01T10:30:00Z', 1], // r9: the late 11:00 row is in r9's future -> not used
];

// Hand-checked against the fixture data (helpers.ts) and the rows added below.
const EXPECTED = [
  // driver_id, customer_id, event_timestamp, label, conv_rate, avg_daily_trips, tier, trips_together
  ['1001', 'c-1', '2024-01-01 09:59:59', 0, null, null, 'silver', '5'],
  ['1001', 'c-1', '2024-01-01 10:00:00', 1, 0.1, '10', 'silver', '5'],
  ['1001', 'c-2', '2024-01-01 12:00:00', 0, 0.35, '35', 'bronze', null],
  ['1001', 'c-1', '2024-01-01 14:30:00', 1, null, null, 'gold', '5'],
  ['1001', 'c-1', '2024-01-01 14:00:00', 0, 0.35, '35', 'gold', '5'],
  ['1002', 'c-1', '2024-01-01 12:00:00', 1, 0.75, '75', 'gold', '2'],
  ['1002', 'c-2', '2024-01-01 13:30:00', 0, null, '80', 'bronze', null],
  ['9999', 'zzz', '2024-01-01 12:00:00', 1, null, null, null, null],
  ['1001', 'c-3', '2024-01-01 10:30:00', 0, 0.1, '10', 'second', null],
  ['1002', 'c-1', '2024-01-01 10:30:00', 1, 0.7, '70', 'silver', '2'],
];
const COLUMNS = ['driver_id', 'customer_id', 'event_timestamp', 'label', 'conv_rate', 'avg_daily_trips', 'tier', 'trips_together'];
const FEATURES = ['driver_stats:conv_rate', 'driver_stats:avg_daily_trips', 'customer_profile:tier', 'pair_stats:trips_together'];

beforeAll(() => {
  tmp = tempDir();
  writeFixtureData(tmp.dir);
  // A late-arriving driver row: event time 11:00, written at 15:00.
  writeParquet(path.join(tmp.dir, 'driver_stats', 'part-2.parquet'), [
    { name: 'driver_id', type: 'INT64', data: [1002] },
    { name: 'event_timestamp', type: 'TIMESTAMP', data: [t('2024-01-01T11:00:00Z')] },
    { name: 'created', type: 'TIMESTAMP', data: [t('2024-01-01T15:00:00Z')] },
    { name: 'conv_rate', type: 'DOUBLE', data: [0.75] },
    { name: 'acc_rate', type: 'FLOAT', data: [0.5] },
    { name: 'avg_daily_trips', type: 'INT64', data: [75] },
  ]);
  // Two customer rows with the same event time and no created column, in two files.
  for (const [file, tier] of [['c3-a.parquet', 'first'], ['c3-b.parquet', 'second']]) {
    writeParquet(path.join(tmp.dir, 'customer_profile', file), [
      { name: 'customer_id', type: 'STRING', data: ['c-3'] },
      { name: 'event_timestamp', type: 'TIMESTAMP', data: [t('2024-01-01T10:00:00Z')] },
      { name: 'tier', type: 'STRING', data: [tier] },
      { name: 'is_active', type: 'BOOLEAN', data: [true] },
      { name: 'lifetime_orders', type: 'INT32', data: [1] },
    ]);
  }
  entitiesParquet = path.join(tmp.dir, 'entities.parquet');
  writeParquet(entitiesParquet, [
    { name: 'driver_id', type: 'INT64', data: ENTITY_ROWS.map((r) => r[0]) },
    { name: 'customer_id', type: 'STRING', data: ENTITY_ROWS.map((r) => r[1]) },
    { name: 'event_timestamp', type: 'TIMESTAMP', data: ENTITY_ROWS.map((r) => t(r[2])) },
    { name: 'label', type: 'INT32', data: ENTITY_ROWS.map((r) => r[3]) },
  ]);
  entitiesCsv = path.join(tmp.dir, 'entities.csv');
  fs.writeFileSync(entitiesCsv, ['driver_id,customer_id,event_timestamp,label',
    ...ENTITY_ROWS.map((r) => `${r[0]},${r[1]},${r[2].replace('T', ' ').replace('Z', '')},${r[3]}`)].join('\n') + '\n');
  catalog = FeatureCatalog.fromObject(fixtureRegistry(tmp.dir, { type: 'memory' }));
});

afterAll(() => tmp.remove());

const asTable = (rows: readonly Record<string, unknown>[]) => rows.map((r) => COLUMNS.map((c) => r[c]));

describe('point-in-time-correct training sets (DuckDB ASOF JOIN)', () => {
  test('matches the hand-checked table: late rows, TTL expiry, several views, equal timestamps, no history', async () => {
    const set = await buildTrainingSet(catalog, { entities: entitiesParquet, features: FEATURES, returnRows: true });
    expect(set.columns).toEqual(COLUMNS);
    expect(asTable(set.rows!)).toEqual(EXPECTED);
  });

  test('a CSV entity table gives the same table; output written as Parquet and CSV', async () => {
    const set = await buildTrainingSet(catalog, { entities: entitiesCsv, features: FEATURES, returnRows: true });
    expect(asTable(set.rows!).map((r) => r.slice(0, 3).concat(r.slice(4)))).toEqual(EXPECTED.map((r) => r.slice(0, 3).concat(r.slice(4))));

    const out = path.join(tmp.dir, 'out', 'train.parquet');
    const written = await buildTrainingSet(catalog, { entities: entitiesParquet, features: FEATURES, output: out });
    expect(written).toMatchObject({ rowCount: 10, output: out, columns: COLUMNS });
    const buf = fs.readFileSync(out);
    const rows = await parquetReadObjects({ file: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer });
    expect(rows.map((r) => [r.conv_rate, r.tier])).toEqual(EXPECTED.map((r) => [r[4], r[6]]));
    expect(fs.readdirSync(path.dirname(out))).toEqual(['train.parquet']);

    const csv = path.join(tmp.dir, 'out', 'train.csv');
    await buildTrainingSet(catalog, { entities: entitiesParquet, featureService: 'fraud_v1', fullFeatureNames: true, output: csv });
    const lines = fs.readFileSync(csv, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('driver_id,customer_id,event_timestamp,label,driver_stats__conv_rate,customer_profile__tier,driver_stats__avg_daily_trips');
    expect(lines[3]).toBe('1001,c-2,2024-01-01 12:00:00,0,0.35,bronze,35');
    expect(lines).toHaveLength(11);
  });

  test('bad entity tables and requests are refused with the input named', async () => {
    const lacking = path.join(tmp.dir, 'lacking.csv');
    fs.writeFileSync(lacking, 'driver_id,ts\n1,2024-01-01 00:00:00\n');
    await expect(buildTrainingSet(catalog, { entities: lacking, features: ['driver_stats:conv_rate'] }))
      .rejects.toThrow(`entity table ${lacking}: lacks column 'event_timestamp'; it has driver_id, ts`);
    const badKey = path.join(tmp.dir, 'bad-key.csv');
    fs.writeFileSync(badKey, 'driver_id,event_timestamp\n1,2024-01-01 00:00:00\nabc,2024-01-01 00:00:00\n');
    await expect(buildTrainingSet(catalog, { entities: badKey, features: ['driver_stats:conv_rate'] }))
      .rejects.toThrow(`entity table ${badKey}: column 'driver_id' must hold int64 join keys, found 'abc'`);
    const badTs = path.join(tmp.dir, 'bad-ts.csv');
    fs.writeFileSync(badTs, 'driver_id,event_timestamp\n1,2024-01-01 00:00:00\n2,\n');
    await expect(buildTrainingSet(catalog, { entities: badTs, features: ['driver_stats:conv_rate'] }))
      .rejects.toThrow(`entity table ${badTs}: column 'event_timestamp' must hold a timestamp on every row, found null`);
    await expect(buildTrainingSet(catalog, { entities: entitiesParquet, features: ['driver_stats:conv_rate'], output: 'x.json' }))
      .rejects.toThrow('output: x.json: expected a .parquet or .csv file');
    await expect(buildTrainingSet(catalog, { entities: entitiesParquet, features: ['driver_stats:nope'] }))
      .rejects.toThrow("training set.features[0]: feature view 'driver_stats' has no feature 'nope'");
  });
});

/** Rows as the Athena query orders them: by driver_id, customer_id, then event time. */
function byKeysAndTime<T extends unknown[]>(rows: readonly T[]): T[] {
  return [...rows].sort((a, b) => Number(a[0]) - Number(b[0]) || String(a[1]).localeCompare(String(b[1])) || String(a[2]).localeCompare(String(b[2])));
}

describe('Athena SQL (ROW_NUMBER window pattern)', () => {
  test('is the same join: run on DuckDB over tables shaped like the Glue tables, it gives the hand-checked table', async () => {
    const features = FEATURES.slice(0, 3);
    const sql = athenaTrainingSetSql(catalog, { entityTable: 'ml.entities', features });
    expect(sql).toContain('row_number() OVER (PARTITION BY e."__entity_row_id" ORDER BY f."event_timestamp" DESC, COALESCE(f."created", f."event_timestamp") DESC, f."$path" DESC)');
    expect(sql).toContain('f."event_timestamp" >= e."event_timestamp" - INTERVAL \'7200\' SECOND');
    expect(sql).not.toMatch(/ASOF/i);
    // Trino inlines WITH queries per reference: no row may be numbered by read order.
    const windows = [...sql.matchAll(/row_number\(\)\s*OVER\s*\(([^)]*(?:\([^)]*\)[^)]*)*)\)/gi)].map((w) => w[1]);
    expect(windows.length).toBe(2);
    for (const w of windows) expect(w).toMatch(/^PARTITION BY e\."__entity_row_id" ORDER BY /);
    expect(sql).toContain('CAST(length(CAST(e."driver_id" AS VARCHAR)) AS VARCHAR) || \':\' || CAST(e."driver_id" AS VARCHAR) || \',\'');

    const instance = await DuckDBInstance.create(':memory:');
    const conn = await instance.connect();
    try {
      await conn.run("SET TimeZone = 'UTC'");
      await conn.run('CREATE SCHEMA ml; CREATE SCHEMA fraud_offline');
      await conn.run(`CREATE TABLE ml.entities AS SELECT * REPLACE (CAST(event_timestamp AS TIMESTAMP) AS event_timestamp) FROM read_parquet('${entitiesParquet}')`);
      for (const view of ['driver_stats', 'customer_profile']) {
        // What Athena's Hive connector shows: the columns, plus the hidden "$path" of each row's file.
        await conn.run(`CREATE VIEW fraud_offline.${view} AS SELECT * EXCLUDE (filename) REPLACE (CAST(event_timestamp AS TIMESTAMP) AS event_timestamp), filename AS "$path"
          FROM read_parquet('${path.join(tmp.dir, view)}/*.parquet', filename = true)`);
      }
      const reader = await conn.runAndReadAll(sql);
      const rows = reader.getRowObjectsJson() as Record<string, unknown>[];
      expect(reader.columnNames()).toEqual(['driver_id', 'customer_id', 'event_timestamp', 'label', '__entity_row_id', 'conv_rate', 'avg_daily_trips', 'tier']);
      expect(rows.map((r) => COLUMNS.slice(0, 7).map((c) => r[c]))).toEqual(byKeysAndTime(EXPECTED).map((r) => r.slice(0, 7)));
    } finally {
      conn.closeSync();
      instance.closeSync();
    }
  });

  test('every view agrees on the entity rows when the entity table is read in a different order at each reference; duplicates keep their features', async () => {
    const features = FEATURES.slice(0, 3);
    const sql = athenaTrainingSetSql(catalog, { entityTable: 'ml.entities', features });
    const instance = await DuckDBInstance.create(':memory:');
    const conn = await instance.connect();
    try {
      await conn.run("SET TimeZone = 'UTC'");
      await conn.run('CREATE SCHEMA ml; CREATE SCHEMA fraud_offline');
      // The entity rows plus an exact duplicate (keys and time) of r2 with another label.
      await conn.run(`CREATE TABLE ml.base AS SELECT * REPLACE (CAST(event_timestamp AS TIMESTAMP) AS event_timestamp) FROM read_parquet('${entitiesParquet}')`);
      await conn.run("INSERT INTO ml.base SELECT driver_id, customer_id, event_timestamp, 7 FROM ml.base WHERE driver_id = 1001 AND customer_id = 'c-2'");
      for (const view of ['driver_stats', 'customer_profile']) {
        await conn.run(`CREATE VIEW fraud_offline.${view} AS SELECT * EXCLUDE (filename) REPLACE (CAST(event_timestamp AS TIMESTAMP) AS event_timestamp), filename AS "$path"
          FROM read_parquet('${path.join(tmp.dir, view)}/*.parquet', filename = true)`);
      }
      const expected = byKeysAndTime([...EXPECTED, EXPECTED[2]]).map((r) => r.slice(0, 3).concat(r.slice(4, 7)));
      const cols = ['driver_id', 'customer_id', 'event_timestamp', 'conv_rate', 'avg_daily_trips', 'tier'];
      // What Trino may do: the WITH query inlined at each of its three references, each one
      // reading the table in its own order.
      const inlined = sql.replace(/^WITH entity_df AS \(([\s\S]*?)\n\),/m, 'WITH').replace(/entity_df e/g, (_m) => `(SELECT e.*, ${/SELECT e\.\*, (.*) AS "__entity_row_id"/.exec(sql)![1]} AS "__entity_row_id" FROM (SELECT * FROM ml.base ORDER BY random()) e) e`);
      expect(inlined).not.toContain('entity_df');
      for (let run = 0; run < 5; run++) {
        const rows = (await conn.runAndReadAll(inlined)).getRowObjectsJson() as Record<string, unknown>[];
        expect(rows.map((r) => cols.map((c) => r[c]))).toEqual(expected);
        const dup = rows.filter((r) => r.driver_id === '1001' && r.customer_id === 'c-2').map((r) => r.label).sort();
        expect(dup).toEqual([0, 7]);
      }
    } finally {
      conn.closeSync();
      instance.closeSync();
    }
  });

  test('needs Glue tables and a database.table entity table', () => {
    expect(() => athenaTrainingSetSql(catalog, { entityTable: 'ml.entities', features: ['pair_stats:trips_together'] }))
      .toThrow("feature view 'pair_stats': has a parquet source; Athena needs a Glue table (source.type 'glue')");
    expect(() => athenaTrainingSetSql(catalog, { entityTable: 'entities', features: ['driver_stats:conv_rate'] }))
      .toThrow("--entity-table: 'entities' is not of the form database.table");
  });
});
