import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../errors';
import type { S3Options } from '../registry/s3';

/**
 * Reading and writing whole files named by a local path, a `file://` URI or an `s3://` URI:
 * the training data, and the results of the trials of an indexed search.
 */

function s3(): typeof import('../registry/s3') {
  // Loaded on demand: a local run does not pay for the AWS SDK.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('../registry/s3') as typeof import('../registry/s3');
}

function localPath(uri: string): string {
  return uri.startsWith('file://') ? fileURLToPath(uri) : path.resolve(uri);
}

function checkScheme(uri: string, what: string): void {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri) && !uri.startsWith('file://') && !uri.startsWith('s3://')) {
    throw new InputError(what, `${JSON.stringify(uri)} has an unsupported scheme: expected a path, file:// or s3://`);
  }
}

/** The whole content of `uri`; an {@link InputError} naming it when it cannot be read. */
export async function readUri(uri: string, what: string, options: { s3?: S3Options } = {}): Promise<Buffer> {
  checkScheme(uri, what);
  if (uri.startsWith('s3://')) {
    const { createS3Client, getS3Object, parseS3Uri } = s3();
    let loc: { bucket: string; key: string };
    try {
      loc = parseS3Uri(uri);
    } catch (e) {
      throw new InputError(what, (e as Error).message);
    }
    let got;
    try {
      got = await getS3Object(createS3Client(options.s3), loc.bucket, loc.key);
    } catch (e) {
      throw new InputError(what, `${uri} cannot be read: ${(e as Error).name}: ${(e as Error).message}`);
    }
    if (!got) throw new InputError(what, `${uri} does not exist`);
    return got.body;
  }
  const file = localPath(uri);
  try {
    return await fs.promises.readFile(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const reason = err.code === 'ENOENT' ? 'does not exist' : err.code === 'EISDIR' ? 'is a directory, not a file' : `cannot be read (${err.code ?? err.message})`;
    throw new InputError(what, `${file} ${reason}`);
  }
}

/** Writes `body` to `uri` (creating local directories); replaces what was there. */
export async function writeUri(uri: string, body: Buffer, options: { s3?: S3Options } = {}): Promise<void> {
  checkScheme(uri, 'output');
  if (uri.startsWith('s3://')) {
    const { createS3Client, parseS3Uri } = s3();
    const { PutObjectCommand } = await import('@aws-sdk/client-s3');
    const loc = parseS3Uri(uri);
    await createS3Client(options.s3).send(new PutObjectCommand({ Bucket: loc.bucket, Key: loc.key, Body: body }));
    return;
  }
  const file = localPath(uri);
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.promises.writeFile(tmp, body);
  await fs.promises.rename(tmp, file);
}

/** `base` + `/` + `name`, for paths and URIs alike. */
export function joinUri(base: string, name: string): string {
  return `${base.replace(/\/+$/, '')}/${name}`;
}
