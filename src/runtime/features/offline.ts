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

/**
 * Reads the named columns of one Parquet file as whole columns (no row objects: materializing
 * millions of values stays cheap). Any failure (unreadable bytes, not Parquet, a missing
 * column) is an InputError naming the file. Returns the columns in the order asked for.
 */
export async function readParquetColumns(
  files: OfflineFiles,
  file: string,
  columns: readonly string[],
): Promise<{ columns: ArrayLike<unknown>[]; rows: number }> {
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
  const rows = Number(metadata.num_rows);
  const chunks = new Map<string, { data: ArrayLike<unknown>; start: number }[]>(columns.map((c) => [c, []]));
  try {
    await parquetRead({
      file: buffer,
      metadata,
      columns: [...columns],
      onChunk: (chunk) => { chunks.get(chunk.columnName)?.push({ data: chunk.columnData, start: chunk.rowStart }); },
    });
  } catch (e) {
    throw new InputError(`offline file ${file}`, `is not a readable Parquet file (${(e as Error).message})`);
  }
  const out = columns.map((c) => {
    const parts = chunks.get(c)!;
    if (parts.length === 1 && parts[0].start === 0 && parts[0].data.length === rows) return parts[0].data;
    const col = new Array<unknown>(rows);
    for (const part of parts) {
      const n = Math.min(part.data.length, rows - part.start);
      for (let i = 0; i < n; i++) col[part.start + i] = part.data[i];
    }
    return col;
  });
  return { columns: out, rows };
}
