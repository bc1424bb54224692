import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { IntegrityError } from '../errors';
import type { Condition } from './result';
import type { S3Options } from '../registry/s3';

/**
 * What the monitor remembers between runs, in one small JSON document: the open episode of
 * each condition (so one episode alerts once) and the last retraining (for the cooldown).
 * Stored as a local file (replaced atomically) or an S3 object (replaced with `If-Match` on its
 * ETag, so two monitors racing cannot both think they started a retraining).
 */
export interface Episode {
  /** Stable id: `<condition>-v<version>-<start ISO time>`. */
  readonly id: string;
  readonly startedAt: string;
  /** When the webhook announced it (absent: not yet, e.g. the webhook failed). */
  readonly alertedAt?: string;
  /** When a retraining was started for it. */
  readonly retrainedAt?: string;
}

/** The persisted document. */
export interface MonitorStateDoc {
  readonly schema: 'cdk-mlops.monitor.episodes/v1';
  readonly model: string;
  /** Version the episodes belong to; a new version starts with no open episode. */
  readonly version: number;
  readonly episodes: Readonly<Partial<Record<Condition, Episode>>>;
  readonly lastRetrain?: { readonly at: string; readonly episode: string; readonly target: string; readonly version: number };
}

/** A loaded document with the tag needed to replace it. */
export interface LoadedState {
  readonly doc: MonitorStateDoc | undefined;
  readonly tag: string | undefined;
}

/** Where the state lives. */
export interface StateStore {
  readonly uri: string;
  load(): Promise<LoadedState>;
  /** Replaces the document if it is still at `tag`; false when someone else wrote it first. */
  save(doc: MonitorStateDoc, tag: string | undefined): Promise<boolean>;
}

function parse(body: Buffer, where: string): MonitorStateDoc {
  let doc: MonitorStateDoc;
  try {
    doc = JSON.parse(body.toString('utf8')) as MonitorStateDoc;
  } catch (e) {
    throw new IntegrityError(`monitor state ${where} is not valid JSON (${(e as Error).message}); fix or delete it`);
  }
  if (doc?.schema !== 'cdk-mlops.monitor.episodes/v1') {
    throw new IntegrityError(`monitor state ${where} has schema ${JSON.stringify(doc?.schema)}; expected 'cdk-mlops.monitor.episodes/v1'`);
  }
  return doc;
}

/**
 * A local JSON file, replaced by write-to-temporary + rename; the tag is the sha256 of its
 * content. Compare-and-swap is best effort here (no lock between the check and the rename):
 * run one monitor per state file, or use S3, whose conditional writes are atomic.
 */
export class FileStateStore implements StateStore {
  public readonly uri: string;
  constructor(file: string) {
    this.uri = path.resolve(file);
  }

  private async read(): Promise<{ body: Buffer; tag: string } | undefined> {
    try {
      const body = await fs.promises.readFile(this.uri);
      return { body, tag: createHash('sha256').update(body).digest('hex') };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async load(): Promise<LoadedState> {
    const got = await this.read();
    return got ? { doc: parse(got.body, this.uri), tag: got.tag } : { doc: undefined, tag: undefined };
  }

  async save(doc: MonitorStateDoc, tag: string | undefined): Promise<boolean> {
    if ((await this.read())?.tag !== tag) return false;
    await fs.promises.mkdir(path.dirname(this.uri), { recursive: true });
    const tmp = `${this.uri}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await fs.promises.writeFile(tmp, JSON.stringify(doc, null, 2) + '\n');
    await fs.promises.rename(tmp, this.uri);
    return true;
  }
}

/** An S3 object (`s3://bucket/path/state.json`), replaced conditionally on its ETag. */
export class S3StateStore implements StateStore {
  constructor(public readonly uri: string, private readonly s3?: S3Options) {}

  private backend(): { b: import('../registry/s3').S3Backend; key: string } {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { S3Backend, parseS3Uri } = require('../registry/s3') as typeof import('../registry/s3');
    const { bucket, key } = parseS3Uri(this.uri);
    if (!key) throw new RangeError(`monitor state URI ${JSON.stringify(this.uri)} names no object; expected s3://bucket/path/state.json`);
    const slash = key.lastIndexOf('/');
    return { b: new S3Backend(`s3://${bucket}${slash > 0 ? `/${key.slice(0, slash)}` : ''}`, this.s3), key: key.slice(slash + 1) };
  }

  async load(): Promise<LoadedState> {
    const { b, key } = this.backend();
    // A role that may list only this prefix gets 403, not 404, for a missing object: list first
    // (the first run of a monitor has no state yet).
    if (!(await b.list(key)).includes(key)) return { doc: undefined, tag: undefined };
    const got = await b.readTagged(key);
    return got ? { doc: parse(got.body, this.uri), tag: got.tag } : { doc: undefined, tag: undefined };
  }

  async save(doc: MonitorStateDoc, tag: string | undefined): Promise<boolean> {
    const { b, key } = this.backend();
    return b.replaceIfUnchanged(key, Buffer.from(JSON.stringify(doc, null, 2) + '\n'), tag);
  }
}

/** Opens the state store for a path or `s3://` URI. */
export function openStateStore(uri: string, s3?: S3Options): StateStore {
  return uri.startsWith('s3://') ? new S3StateStore(uri, s3) : new FileStateStore(uri);
}
