import * as fs from 'node:fs';
import * as path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { parquetMetadata, parquetRead, parquetSchema } from 'hyparquet';
import { InputError } from '../errors';

/**
 * Offline files: Parquet under a local directory (or one file) or an S3 prefix. Directories
 * are walked recursively (Hive-style partitions work); names starting with `.` or `_` (such as
 * `_SUCCESS`) are skipped; files are read in path order, which is the order that breaks ties.
 */
export interface OfflineFiles {
  /** The Parquet files under `location`, sorted; InputError if there are none. */
  list(location: string): Promise<string[]>;
  /** The bytes of one file. */
  read(file: string): Promise<ArrayBuffer>;
}

function isDataName(name: string): boolean {
  return !name.startsWith('.') && !name.startsWith('_');
}

/** Local files. */
export class LocalOfflineFiles implements OfflineFiles {
  public async list(location: string): Promise<string[]> {
    let stat: fs.Stats;
    try {
      stat = await fs.promises.stat(location);
    } catch (e) {
      throw new InputError(`offline source ${location}`, `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    if (stat.isFile()) return [location];
    const out: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      const entries = await fs.promises.readdir(dir, { withFileTypes: true });
      for (const e of entries) {
        if (!isDataName(e.name)) continue;
        const p = path.join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else if (e.name.endsWith('.parquet')) out.push(p);
      }
    };
    await walk(location);
    if (out.length === 0) throw new InputError(`offline source ${location}`, 'holds no .parquet files');
    return out.sort();
  }

  public async read(file: string): Promise<ArrayBuffer> {
    const buf = await fs.promises.readFile(file);
    return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
  }
}

/** Parses `s3://bucket/key`. */
export function parseS3Url(url: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!m) throw new InputError('S3 location', `'${url}' is not of the form s3://bucket/prefix`);
  return { bucket: m[1], key: m[2] };
}

/** Objects under an S3 prefix. */
export class S3OfflineFiles implements OfflineFiles {
  constructor(private readonly s3: Pick<S3Client, 'send'> = new S3Client({})) {}

  public async list(location: string): Promise<string[]> {
    const { bucket, key } = parseS3Url(location);
    const prefix = key === '' || key.endsWith('/') || key.endsWith('.parquet') ? key : `${key}/`;
    const out: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of page.Contents ?? []) {
        const k = o.Key ?? '';
        const parts = k.slice(prefix.length).split('/');
        if (k.endsWith('.parquet') && parts.every(isDataName)) out.push(`s3://${bucket}/${k}`);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    if (out.length === 0) throw new InputError(`offline source ${location}`, 'holds no .parquet objects');
    return out.sort();
  }

  public async read(file: string): Promise<ArrayBuffer> {
    const { bucket, key } = parseS3Url(file);
    const res = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if (!res.Body) throw new Error(`S3 object ${file} has no body`);
    const bytes = await res.Body.transformToByteArray();
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }
}

/** The files implementation for a location. */
export function offlineFilesFor(location: string): OfflineFiles {
  return location.startsWith('s3://') ? new S3OfflineFiles() : new LocalOfflineFiles();
}

/** Statistics of one column in one row group, as the file's footer gives them. */
export interface ColumnStats {
  readonly min?: unknown;
  readonly max?: unknown;
  readonly nullCount?: number;
}

/** What {@link readParquetColumns} read. */
export interface ParquetColumns {
  /** The columns asked for, in that order, holding only the rows read. */
  readonly columns: ArrayLike<unknown>[];
  /** Rows read. */
  readonly rows: number;
  /** Row groups skipped by the filter. */
  readonly rowGroupsSkipped: number;
  /** Position in the file of the i-th row read (for error messages). */
  fileRow(i: number): number;
}

/**
 * Reads the named columns of one Parquet file as whole columns (no row objects: materializing
 * millions of values stays cheap). `keepRowGroup`, given each row group's column statistics,
 * may skip row groups (materialization skips those entirely behind its watermark). Any
 * failure (unreadable bytes, not Parquet, a missing column) is an InputError naming the file.
 */
export async function readParquetColumns(
  files: OfflineFiles,
  file: string,
  columns: readonly string[],
  keepRowGroup?: (stats: ReadonlyMap<string, ColumnStats>) => boolean,
): Promise<ParquetColumns> {
  let buffer: ArrayBuffer;
  try {
    buffer = await files.read(file);
  } catch (e) {
    throw new InputError(`offline file ${file}`, `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let metadata: ReturnType<typeof parquetMetadata>;
  try {
    metadata = parquetMetadata(buffer);
  } catch (e) {
    throw new InputError(`offline file ${file}`, `is not a readable Parquet file (${(e as Error).message})`);
  }
  const available = parquetSchema(metadata).children.map((c) => c.element.name);
  const missing = columns.filter((c) => !available.includes(c));
  if (missing.length) {
    throw new InputError(`offline file ${file}`, `lacks column(s) ${missing.map((c) => `'${c}'`).join(', ')}; it has ${available.join(', ')}`);
  }
  // Row ranges to read: contiguous runs of kept row groups.
  const ranges: { start: number; end: number; offset: number }[] = [];
  let rowGroupsSkipped = 0;
  let fileRows = 0;
  let kept = 0;
  for (const rg of metadata.row_groups) {
    const n = Number(rg.num_rows);
    let keep = true;
    if (keepRowGroup) {
      const stats = new Map<string, ColumnStats>();
      for (const c of rg.columns) {
        const name = c.meta_data?.path_in_schema?.[0];
        const st = c.meta_data?.statistics;
        if (name !== undefined && st) {
          stats.set(name, { min: st.min_value ?? st.min, max: st.max_value ?? st.max, nullCount: st.null_count === undefined ? undefined : Number(st.null_count) });
        }
      }
      keep = keepRowGroup(stats);
    }
    if (keep) {
      const last = ranges[ranges.length - 1];
      if (last && last.end === fileRows) last.end += n;
      else ranges.push({ start: fileRows, end: fileRows + n, offset: kept });
      kept += n;
    } else {
      rowGroupsSkipped++;
    }
    fileRows += n;
  }
  const out = columns.map(() => new Array<unknown>(kept));
  const index = new Map(columns.map((c, i) => [c, i]));
  try {
    for (const range of ranges) {
      await parquetRead({
        file: buffer,
        metadata,
        columns: [...columns],
        rowStart: range.start,
        rowEnd: range.end,
        onChunk: (chunk) => {
          const col = out[index.get(chunk.columnName)!];
          const from = Math.max(chunk.rowStart, range.start);
          const to = Math.min(chunk.rowStart + chunk.columnData.length, range.end);
          for (let r = from; r < to; r++) col[range.offset + r - range.start] = chunk.columnData[r - chunk.rowStart];
        },
      });
    }
  } catch (e) {
    throw new InputError(`offline file ${file}`, `is not a readable Parquet file (${(e as Error).message})`);
  }
  return {
    columns: out,
    rows: kept,
    rowGroupsSkipped,
    fileRow: (i) => {
      const r = ranges.find((x) => i >= x.offset && i < x.offset + (x.end - x.start))!;
      return r.start + i - r.offset;
    },
  };
}
