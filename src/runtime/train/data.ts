import { createHash } from 'node:crypto';
import { InputError, describeValue } from '../errors';
import { readUri } from './storage';
import type { S3Options } from '../registry/s3';

/**
 * Loading the training data: one CSV or Parquet file, read whole, hashed (sha256 of exactly the
 * bytes parsed), and checked cell by cell. Every problem is an {@link InputError} that names the
 * column, the row and the value.
 */

/** A raw cell: text from CSV (empty -> null), or a typed value from Parquet. */
export type RawValue = string | number | bigint | boolean | null | undefined;

/** A parsed file before any interpretation: named columns of raw cells. */
export interface RawTable {
  readonly format: 'csv' | 'parquet';
  readonly columns: readonly string[];
  /** Cells by column (same order as `columns`), each with one value per row. */
  readonly cells: readonly (readonly RawValue[])[];
  readonly rows: number;
  /** How to name row `i` (0-based) in a message: `row 5 (line 6)` for CSV. */
  rowLabel(i: number): string;
}

/** Which columns mean what (from the `data` section of the config). */
export interface DatasetSpec {
  readonly target: string;
  readonly features?: readonly string[];
  readonly ignore?: readonly string[];
  readonly sliceColumn?: string;
  readonly task: 'classification' | 'regression';
}

/** The data a training run uses, validated. */
export interface Dataset {
  /** Where it came from (as given). */
  readonly uri: string;
  readonly format: 'csv' | 'parquet';
  /** sha256 (hex) of exactly the bytes read. */
  readonly sha256: string;
  readonly bytes: number;
  readonly featureNames: readonly string[];
  readonly target: string;
  /** Rows. */
  readonly n: number;
  /** Row-major n x d features. */
  readonly x: Float64Array;
  readonly y: Float64Array;
  /** Distinct labels, ascending (classification). */
  readonly classes?: readonly number[];
  /** Slice value of each row (as text) when a slice column is configured. */
  readonly slice?: { readonly column: string; readonly values: readonly string[] };
}

/** Reads, hashes, parses and validates the data at `uri`. */
export async function loadDataset(
  uri: string,
  spec: DatasetSpec,
  options: { format?: 'auto' | 'csv' | 'parquet'; s3?: S3Options } = {},
): Promise<Dataset> {
  const what = `data ${uri}`;
  const body = await readUri(uri, what, { s3: options.s3 });
  const sha256 = createHash('sha256').update(body).digest('hex');
  const format = options.format && options.format !== 'auto' ? options.format : /\.(parquet|pq)$/i.test(uri) ? 'parquet' : 'csv';
  const table = format === 'parquet' ? await parseParquet(body, what) : parseCsv(body, what);
  return { uri, sha256, bytes: body.length, ...buildDataset(table, spec, what) };
}

/**
 * Parses CSV (RFC 4180: a header row, `,` separators, `"` quotes with `""` escapes, LF or CRLF
 * line ends, optional UTF-8 byte-order mark). Empty cells become null.
 */
export function parseCsv(body: Buffer, what = 'data'): RawTable {
  let text = body.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.includes('\u0000')) throw new InputError(what, 'is not a text CSV file (it contains NUL bytes); expected CSV, or Parquet with a .parquet extension');
  const records: string[][] = [];
  const startLines: number[] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  let line = 1;
  let recordLine = 1;
  let fieldWasQuoted = false;
  const endField = (): void => {
    record.push(field);
    field = '';
    fieldWasQuoted = false;
  };
  const endRecord = (): void => {
    endField();
    // A line with nothing on it (e.g. the trailing newline, or blank lines) is no record.
    if (!(record.length === 1 && record[0] === '' && !fieldWasQuoted)) {
      records.push(record);
      startLines.push(recordLine);
    }
    record = [];
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else {quoted = false;}
      } else {
        if (c === '\n') line++;
        field += c;
      }
      continue;
    }
    if (c === '"') {
      if (field !== '') throw new InputError(what, `line ${line}: a quote inside an unquoted field (${describeValue(field + '"')}); quote the whole field`);
      quoted = true;
      fieldWasQuoted = true;
    } else if (c === ',') {
      endField();
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      endRecord();
      line++;
      recordLine = line;
    } else {
      field += c;
    }
  }
  if (quoted) throw new InputError(what, `line ${recordLine}: a quoted field is not closed before the end of the file`);
  if (field !== '' || record.length) endRecord();
  if (!records.length) throw new InputError(what, 'is empty: expected a header row and at least one data row');
  const header = records[0].map((h) => h.trim());
  const rows = records.length - 1;
  const cells: RawValue[][] = header.map(() => new Array<RawValue>(rows));
  for (let r = 1; r < records.length; r++) {
    const rec = records[r];
    if (rec.length !== header.length) {
      throw new InputError(what, `row ${r} (line ${startLines[r]}) has ${rec.length} fields, but the header has ${header.length}`);
    }
    for (let c = 0; c < header.length; c++) cells[c][r - 1] = rec[c] === '' ? null : rec[c];
  }
  return { format: 'csv', columns: header, cells, rows, rowLabel: (i) => `row ${i + 1} (line ${startLines[i + 1]})` };
}

/** Parses a Parquet file (hyparquet): every column, values as typed in the file. */
export async function parseParquet(body: Buffer, what = 'data'): Promise<RawTable> {
  const { parquetMetadata, parquetReadObjects } = await import('hyparquet');
  const file = body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer;
  let columns: string[];
  let objects: Record<string, unknown>[];
  try {
    const meta = parquetMetadata(file);
    columns = meta.schema.slice(1).filter((s) => !s.num_children).map((s) => s.name);
    objects = await parquetReadObjects({ file });
  } catch (e) {
    throw new InputError(what, `is not a readable Parquet file: ${(e as Error).message}`);
  }
  const cells = columns.map((c) => objects.map((o) => o[c] as RawValue));
  return { format: 'parquet', columns, cells, rows: objects.length, rowLabel: (i) => `row ${i + 1}` };
}

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const NON_FINITE = /^[+-]?(?:nan|inf|infinity)$/i;

/** Checks the columns and converts the cells; see {@link DatasetSpec}. */
export function buildDataset(table: RawTable, spec: DatasetSpec, what = 'data'): Omit<Dataset, 'uri' | 'sha256' | 'bytes'> {
  const { columns } = table;
  const seen = new Set<string>();
  for (const c of columns) {
    if (!c) throw new InputError(what, `has a column with an empty name (columns: ${columns.map((x) => JSON.stringify(x)).join(', ')})`);
    if (seen.has(c)) throw new InputError(what, `has the column '${c}' twice`);
    seen.add(c);
  }
  const index = new Map(columns.map((c, i) => [c, i]));
  const listed = `the file's columns are: ${columns.join(', ')}`;
  const requireColumn = (name: string, role: string): number => {
    const i = index.get(name);
    if (i === undefined) throw new InputError(what, `${role} column '${name}' is missing; ${listed}`);
    return i;
  };
  const targetIndex = requireColumn(spec.target, 'target');
  const ignore = new Set(spec.ignore ?? []);
  for (const c of ignore) requireColumn(c, 'ignored');
  if (spec.sliceColumn !== undefined) requireColumn(spec.sliceColumn, 'slice');
  if (ignore.has(spec.target)) throw new InputError(what, `target column '${spec.target}' is also listed in ignore`);

  let featureNames: string[];
  if (spec.features) {
    featureNames = [...spec.features];
    const dup = featureNames.find((f, i) => featureNames.indexOf(f) !== i);
    if (dup) throw new InputError('data.features', `lists '${dup}' twice`);
    for (const f of featureNames) {
      requireColumn(f, 'feature');
      if (f === spec.target) throw new InputError('data.features', `lists the target column '${f}' as a feature`);
      if (ignore.has(f)) throw new InputError('data.features', `lists '${f}', which is also in data.ignore`);
    }
    const used = new Set([...featureNames, spec.target, ...ignore, ...(spec.sliceColumn ? [spec.sliceColumn] : [])]);
    const extra = columns.filter((c) => !used.has(c));
    if (extra.length) {
      throw new InputError(what, `has column(s) ${extra.map((c) => `'${c}'`).join(', ')} that are neither features, the target, the slice column nor ignored; add them to data.features or data.ignore`);
    }
  } else {
    featureNames = columns.filter((c) => c !== spec.target && c !== spec.sliceColumn && !ignore.has(c));
    if (!featureNames.length) throw new InputError(what, `has no feature columns besides the target '${spec.target}'; ${listed}`);
  }
  if (table.rows === 0) throw new InputError(what, 'has no data rows (only a header)');

  const n = table.rows;
  const d = featureNames.length;
  const x = new Float64Array(n * d);
  for (let j = 0; j < d; j++) {
    const col = table.cells[index.get(featureNames[j])!];
    for (let i = 0; i < n; i++) x[i * d + j] = toNumber(col[i], featureNames[j], i, table, what);
  }
  const targetCells = table.cells[targetIndex];
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) y[i] = toNumber(targetCells[i], spec.target, i, table, what);

  let classes: number[] | undefined;
  if (spec.task === 'classification') {
    const counts = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      if (!Number.isSafeInteger(y[i])) {
        throw new InputError(what, `column '${spec.target}', ${table.rowLabel(i)}: value ${describeValue(targetCells[i])} is not an integer class label (classification needs integer labels; for a numeric target use a regression trainer)`);
      }
      counts.set(y[i], (counts.get(y[i]) ?? 0) + 1);
    }
    classes = [...counts.keys()].sort((a, b) => a - b);
    if (classes.length < 2) {
      throw new InputError(what, `label column '${spec.target}' has one class (${classes[0]}) in all ${n} rows; a classifier needs at least two`);
    }
  }

  let slice: Dataset['slice'];
  if (spec.sliceColumn !== undefined) {
    const col = table.cells[index.get(spec.sliceColumn)!];
    const values = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      const v = col[i];
      values[i] = v === null || v === undefined ? '(missing)' : typeof v === 'number' ? String(v) : String(v);
    }
    slice = { column: spec.sliceColumn, values };
  }
  return { format: table.format, featureNames, target: spec.target, n, x, y, ...(classes ? { classes } : {}), ...(slice ? { slice } : {}) };
}

function toNumber(v: RawValue, column: string, row: number, table: RawTable, what: string): number {
  const where = (): string => `column '${column}', ${table.rowLabel(row)}`;
  if (v === null || v === undefined) throw new InputError(what, `${where()}: value is missing; expected a number in every row`);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new InputError(what, `${where()}: value ${v} is not a finite number`);
    return v;
  }
  if (typeof v === 'bigint') {
    const num = Number(v);
    if (!Number.isSafeInteger(num)) throw new InputError(what, `${where()}: value ${v} is too large to be represented exactly`);
    return num;
  }
  if (typeof v === 'boolean') return v ? 1 : 0;
  const s = String(v).trim();
  if (NUMBER.test(s)) return Number(s);
  if (NON_FINITE.test(s)) throw new InputError(what, `${where()}: value ${describeValue(v)} is not a finite number`);
  throw new InputError(what, `${where()}: value ${describeValue(v)} is not a number`);
}

/** Rows `rows` of a dataset's features as a new row-major matrix. */
export function takeRows(x: Float64Array, d: number, rows: ArrayLike<number>): Float64Array {
  const out = new Float64Array(rows.length * d);
  for (let k = 0; k < rows.length; k++) out.set(x.subarray(rows[k] * d, rows[k] * d + d), k * d);
  return out;
}

/** `y[rows]`. */
export function takeValues(y: Float64Array, rows: ArrayLike<number>): Float64Array {
  const out = new Float64Array(rows.length);
  for (let k = 0; k < rows.length; k++) out[k] = y[rows[k]];
  return out;
}
