import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { InputError } from '../errors';
import { FeatureCatalog, ResolvedFeature, ResolvedView } from './catalog';
import { LocalOfflineFiles } from './offline';

/**
 * Point-in-time-correct training sets.
 *
 * For each entity row (join keys + an event timestamp `t`) and each view, the value is taken
 * from the view's row with the same keys and the greatest event timestamp `<= t` (a row at
 * exactly `t` counts: it is known at `t`); nothing after `t` is ever used. Rows with equal
 * event timestamps are broken as in materialization: greater created timestamp, then read
 * order (files in path order, rows in file order, last wins). If that row is older than the
 * view's TTL (`t - event_ts > ttlSeconds`) the features are null, as they would be
 * OUTSIDE_MAX_AGE online. Entities with no row at or before `t` get nulls. Late-arriving
 * rows (written after `t`, created timestamp > `t`, but with an event timestamp <= `t`) are
 * used: the join is on event time, as Feast's is, so a training set built after a backfill
 * sees the backfilled values.
 *
 * Locally the join runs in DuckDB (ASOF JOIN). Past one machine,
 * {@link athenaTrainingSetSql} gives the same join for Athena over the Glue tables (Athena has
 * no ASOF JOIN, so it uses Feast's ROW_NUMBER() window pattern).
 */

/** Options of {@link buildTrainingSet}. */
export interface TrainingSetOptions {
  /** Entity table: a `.parquet` or `.csv` file with the join keys and the timestamp column. */
  readonly entities: string;
  /** `view:feature` references. */
  readonly features?: readonly string[];
  /** Or a feature service name. */
  readonly featureService?: string;
  /** Timestamp column of the entity table. @default 'event_timestamp' */
  readonly timestampColumn?: string;
  /** Name features `view__feature`. @default false */
  readonly fullFeatureNames?: boolean;
  /** Write the result here (`.parquet` or `.csv`). @default - not written */
  readonly output?: string;
  /** Return the rows (JSON values). @default false */
  readonly returnRows?: boolean;
}

/** Result of {@link buildTrainingSet}. */
export interface TrainingSet {
  readonly columns: readonly string[];
  readonly rowCount: number;
  /** With `returnRows`: rows in entity-table order; timestamps as `YYYY-MM-DD HH:MM:SS[.fff]` UTC. */
  readonly rows?: readonly Record<string, unknown>[];
  readonly output?: string;
}

/** Quotes an SQL identifier. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function quoteString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

function sqlType(type: string): string {
  return type === 'string' ? 'VARCHAR' : 'BIGINT';
}

function fileFormat(file: string, what: string): 'parquet' | 'csv' {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.parquet') return 'parquet';
  if (ext === '.csv') return 'csv';
  throw new InputError(what, `${file}: expected a .parquet or .csv file`);
}

function groupByView(features: readonly ResolvedFeature[]): { view: ResolvedView; features: ResolvedFeature[] }[] {
  const groups = new Map<string, { view: ResolvedView; features: ResolvedFeature[] }>();
  for (const f of features) {
    let g = groups.get(f.view.name);
    if (!g) groups.set(f.view.name, (g = { view: f.view, features: [] }));
    g.features.push(f);
  }
  return [...groups.values()];
}

async function scalar(conn: DuckDBConnection, sql: string): Promise<unknown> {
  const reader = await conn.runAndReadAll(sql);
  return reader.getRowsJS()[0]?.[0];
}

/** Builds a point-in-time-correct training set with DuckDB (see the module comment). */
export async function buildTrainingSet(catalog: FeatureCatalog, options: TrainingSetOptions): Promise<TrainingSet> {
  const features = catalog.resolveFeatures({
    features: options.features, featureService: options.featureService, fullFeatureNames: options.fullFeatureNames,
  }, 'training set');
  const groups = groupByView(features);
  const tsColumn = options.timestampColumn ?? 'event_timestamp';
  const entityFormat = fileFormat(options.entities, 'entity table');
  if (!fs.existsSync(options.entities)) throw new InputError('entity table', `${options.entities} does not exist`);
  const outFormat = options.output ? fileFormat(options.output, 'output') : undefined;

  // Loaded on use: processes that only serve features (the model server) never load DuckDB.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { DuckDBInstance } = require('@duckdb/node-api') as typeof import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  const conn = await instance.connect();
  try {
    await conn.run("SET TimeZone = 'UTC'");
    const reader = entityFormat === 'parquet'
      ? `read_parquet(${quoteString(options.entities)})`
      : `read_csv(${quoteString(options.entities)}, header = true)`;
    try {
      await conn.run(`CREATE TEMP TABLE __raw_entities AS SELECT * FROM ${reader}`);
    } catch (e) {
      throw new InputError(`entity table ${options.entities}`, `cannot be read (${(e as Error).message.split('\n')[0]})`);
    }
    const entityColumns = (await conn.runAndReadAll('SELECT * FROM __raw_entities LIMIT 0')).columnNames();
    const keyTypes = new Map<string, string>();
    for (const g of groups) for (const k of g.view.joinKeys) keyTypes.set(k.name, k.valueType);
    for (const c of [...keyTypes.keys(), tsColumn]) {
      if (!entityColumns.includes(c)) {
        throw new InputError(`entity table ${options.entities}`, `lacks column '${c}'; it has ${entityColumns.join(', ')}`);
      }
    }
    for (const f of features) {
      if (entityColumns.includes(f.outputName)) {
        throw new InputError(`entity table ${options.entities}`, `already has a column '${f.outputName}'; rename it or set full feature names`);
      }
    }
    // Check and cast join keys and the timestamp, naming the first bad value.
    for (const [key, type] of keyTypes) {
      const bad = await scalar(conn, `SELECT CAST(${quoteIdent(key)} AS VARCHAR) FROM __raw_entities WHERE ${quoteIdent(key)} IS NOT NULL AND TRY_CAST(${quoteIdent(key)} AS ${sqlType(type)}) IS NULL LIMIT 1`);
      if (bad !== undefined) throw new InputError(`entity table ${options.entities}`, `column '${key}' must hold ${type} join keys, found '${bad}'`);
    }
    const badTs = await scalar(conn, `SELECT CAST(${quoteIdent(tsColumn)} AS VARCHAR) FROM __raw_entities WHERE ${quoteIdent(tsColumn)} IS NULL OR TRY_CAST(${quoteIdent(tsColumn)} AS TIMESTAMP) IS NULL LIMIT 1`);
    if (badTs !== undefined) {
      throw new InputError(`entity table ${options.entities}`, `column '${tsColumn}' must hold a timestamp on every row, found ${badTs === null ? 'null' : `'${badTs}'`}`);
    }
    const replace = [...keyTypes].map(([k, t]) => `CAST(${quoteIdent(k)} AS ${sqlType(t)}) AS ${quoteIdent(k)}`);
    replace.push(`CAST(${quoteIdent(tsColumn)} AS TIMESTAMP) AS ${quoteIdent(tsColumn)}`);
    await conn.run(`CREATE TEMP TABLE __entities AS SELECT * REPLACE (${replace.join(', ')}), rowid AS __entity_row FROM __raw_entities`);

    // One deduplicated table per view: one row per (keys, event time).
    const files = new LocalOfflineFiles();
    for (let i = 0; i < groups.length; i++) {
      const { view } = groups[i];
      const d = view.definition;
      if (view.sourcePath.startsWith('s3://')) {
        throw new InputError(`feature view '${view.name}'`, `its source ${view.sourcePath} is on S3; build this training set on Athena (--emit-athena-sql)`);
      }
      const list = await files.list(view.sourcePath);
      const keys = view.joinKeys.map((k) => `CAST(${quoteIdent(k.name)} AS ${sqlType(k.valueType)}) AS ${quoteIdent(k.name)}`);
      const ts = `CAST(${quoteIdent(d.timestampField)} AS TIMESTAMP)`;
      const cts = d.createdTimestampField ? `COALESCE(CAST(${quoteIdent(d.createdTimestampField)} AS TIMESTAMP), ${ts})` : ts;
      const feats = d.features.map((f) => quoteIdent(f.name));
      const partition = [...view.joinKeys.map((k) => quoteIdent(k.name)), quoteIdent(d.timestampField)].join(', ');
      try {
        await conn.run(`CREATE TEMP TABLE __fv_${i} AS
SELECT * EXCLUDE (__rank) FROM (
  SELECT ${keys.join(', ')}, ${ts} AS __ts, ${feats.join(', ')},
    row_number() OVER (PARTITION BY ${partition} ORDER BY ${cts} DESC, filename DESC, file_row_number DESC) AS __rank
  FROM read_parquet([${list.map(quoteString).join(', ')}], filename = true, file_row_number = true, union_by_name = true)
) WHERE __rank = 1`);
      } catch (e) {
        throw new InputError(`feature view '${view.name}' (${view.sourcePath})`, `cannot be read (${(e as Error).message.split('\n')[0]})`);
      }
    }

    const joins: string[] = [];
    const fresh = new Map<string, string>();
    groups.forEach((g, i) => {
      const alias = `f${i}`;
      const ttl = g.view.definition.ttlSeconds;
      fresh.set(g.view.name, ttl === undefined ? `${alias}.__ts IS NOT NULL` : `e.${quoteIdent(tsColumn)} - ${alias}.__ts <= INTERVAL '${ttl}' SECOND`);
      const on = g.view.joinKeys.map((k) => `e.${quoteIdent(k.name)} = ${alias}.${quoteIdent(k.name)}`);
      on.push(`e.${quoteIdent(tsColumn)} >= ${alias}.__ts`);
      joins.push(`ASOF LEFT JOIN __fv_${i} ${alias} ON ${on.join(' AND ')}`);
    });
    // Features in the order requested.
    const select = ['e.* EXCLUDE (__entity_row)', ...features.map((f) => {
      const alias = `f${groups.findIndex((g) => g.view === f.view)}`;
      return `CASE WHEN ${fresh.get(f.view.name)} THEN ${alias}.${quoteIdent(f.feature)} END AS ${quoteIdent(f.outputName)}`;
    })];
    const query = `SELECT ${select.join(', ')} FROM __entities e ${joins.join(' ')} ORDER BY e.__entity_row`;

    let output: string | undefined;
    if (options.output) {
      fs.mkdirSync(path.dirname(path.resolve(options.output)), { recursive: true });
      const tmp = `${options.output}.tmp-${process.pid}`;
      const fmt = outFormat === 'csv' ? '(FORMAT csv, HEADER true)' : '(FORMAT parquet)';
      await conn.run(`COPY (${query}) TO ${quoteString(tmp)} ${fmt}`);
      fs.renameSync(tmp, options.output);
      output = options.output;
    }
    const result = await conn.runAndReadAll(options.returnRows ? query : `SELECT count(*) FROM (${query})`);
    if (options.returnRows) {
      const rows = result.getRowObjectsJson() as Record<string, unknown>[];
      return { columns: result.columnNames(), rowCount: rows.length, rows, output };
    }
    const columns = (await conn.runAndReadAll(`SELECT * FROM (${query}) LIMIT 0`)).columnNames();
    return { columns, rowCount: Number(result.getRowsJS()[0][0]), output };
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/** Options of {@link athenaTrainingSetSql}. */
export interface AthenaTrainingSetOptions {
  /** The entity table in Glue, `database.table`, with the join keys and the timestamp column. */
  readonly entityTable: string;
  readonly features?: readonly string[];
  readonly featureService?: string;
  /** @default 'event_timestamp' */
  readonly timestampColumn?: string;
  /** @default false */
  readonly fullFeatureNames?: boolean;
}

/**
 * The point-in-time join as one Athena (Trino) query over the Glue tables of the views, with
 * the same rules as {@link buildTrainingSet}. Per view, the entity rows are joined with the
 * view's rows that have the same keys and an event time in `[t - ttl, t]`; ROW_NUMBER() over
 * each entity row, ordered by event time, then created time, then `"$path"` (file), all
 * descending, keeps the latest. Rows equal on all three (in the same file) are taken in an
 * order Athena does not define.
 *
 * Each entity row is identified by `__entity_row_id`, built from its values only (as Feast's
 * `entity_row_unique_id`): every join key of the requested views and the entity timestamp,
 * each cast to VARCHAR and length-prefixed (`<len>:<value>`, joined by `,`), so the id is the
 * same however often, and in whatever order, Athena reads the entity table (Trino inlines a
 * WITH query at each reference, so a positional `row_number() OVER ()` could number the rows
 * differently per view and attach one entity's features to another). The length prefix makes
 * the id injective: different (keys, timestamp) tuples never share an id. Entity rows with a
 * null join key get a null id and null features, as they would from the equality join.
 * Entity rows that are exact duplicates in their keys and timestamp share one id: each gets
 * the same features (each view's latest row is computed once per id, so duplicates are kept,
 * not multiplied). The result has the entity table's columns plus `__entity_row_id`, then the
 * features, ordered by the join keys and the timestamp (Athena gives a table no row order to
 * keep); duplicates of one id come in an order Athena does not define.
 */
export function athenaTrainingSetSql(catalog: FeatureCatalog, options: AthenaTrainingSetOptions): string {
  const m = /^([A-Za-z0-9_]+)\.([A-Za-z0-9_]+)$/.exec(options.entityTable);
  if (!m) throw new InputError('--entity-table', `'${options.entityTable}' is not of the form database.table`);
  const features = catalog.resolveFeatures({
    features: options.features, featureService: options.featureService, fullFeatureNames: options.fullFeatureNames,
  }, 'training set');
  const groups = groupByView(features);
  const ts = quoteIdent(options.timestampColumn ?? 'event_timestamp');
  const keyNames = [...new Set(groups.flatMap((g) => g.view.joinKeys.map((k) => k.name)))];
  const idParts = [...keyNames.map(quoteIdent), ts].map((c) => {
    const v = `CAST(e.${c} AS VARCHAR)`;
    return `CAST(length(${v}) AS VARCHAR) || ':' || ${v}`;
  });
  const ctes: string[] = [`entity_df AS (\n  SELECT e.*, ${idParts.join(" || ',' || ")} AS "__entity_row_id"\n  FROM ${quoteIdent(m[1])}.${quoteIdent(m[2])} e\n)`];
  const joins: string[] = [];
  for (const g of groups) {
    const d = g.view.definition;
    if (d.source.type !== 'glue') {
      throw new InputError(`feature view '${g.view.name}'`, "has a parquet source; Athena needs a Glue table (source.type 'glue')");
    }
    const name = quoteIdent(`${g.view.name}__latest`);
    const fts = `f.${quoteIdent(d.timestampField)}`;
    const order = [`${fts} DESC`];
    if (d.createdTimestampField) order.push(`COALESCE(f.${quoteIdent(d.createdTimestampField)}, ${fts}) DESC`);
    order.push('f."$path" DESC');
    const on = g.view.joinKeys.map((k) => `f.${quoteIdent(k.name)} = e.${quoteIdent(k.name)}`);
    on.push(`${fts} <= e.${ts}`);
    if (d.ttlSeconds !== undefined) on.push(`${fts} >= e.${ts} - INTERVAL '${d.ttlSeconds}' SECOND`);
    const cols = g.features.map((f) => `f.${quoteIdent(f.feature)}`);
    ctes.push(`${name} AS (
  SELECT * FROM (
    SELECT e."__entity_row_id", ${cols.join(', ')},
      row_number() OVER (PARTITION BY e."__entity_row_id" ORDER BY ${order.join(', ')}) AS "__rank"
    FROM entity_df e
    JOIN ${quoteIdent(d.source.database)}.${quoteIdent(d.source.table)} f
      ON ${on.join('\n     AND ')}
  ) ranked
  WHERE "__rank" = 1
)`);
    joins.push(`LEFT JOIN ${name} ON ${name}."__entity_row_id" = e."__entity_row_id"`);
  }
  const select = ['e.*', ...features.map((f) => {
    const name = quoteIdent(`${f.view.name}__latest`);
    return `${name}.${quoteIdent(f.feature)} AS ${quoteIdent(f.outputName)}`;
  })];
  return [
    '-- Point-in-time-correct training set (cdk-mlops features build-training-set --emit-athena-sql).',
    `-- Features: ${features.map((f) => `${f.view.name}:${f.feature}`).join(', ')}`,
    `WITH ${ctes.join(',\n')}`,
    `SELECT ${select.join(', ')}`,
    'FROM entity_df e',
    ...joins,
    `ORDER BY ${[...keyNames.map(quoteIdent), ts].map((c) => `e.${c}`).join(', ')}`,
  ].join('\n') + '\n';
}
