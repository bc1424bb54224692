import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../errors';
import { LocalBackend } from '../registry/local';
import type { S3Options } from '../registry/s3';
import type { LabelRecord } from '../registry/types';

/**
 * Reading prediction logs and labels, from a local directory or an S3 prefix, with the layout
 * of the PredictionRecord contract:
 *
 * ```
 * <logs>/<model>/<yyyy>/<mm>/<dd>/<hh>/<unique>.jsonl   PredictionRecord per line (hours in UTC)
 * <logs>/<model>/labels/<unique>.jsonl                  LabelRecord per line
 * ```
 *
 * A window [start, end) lists only the hour prefixes it overlaps, reads each file whole (files
 * are bounded by the writer's `maxRecordsPerFile`), a few at a time, and keeps records whose
 * `ts` lies in the window. Hidden files (the writer's temporaries) are skipped.
 */

/** What the monitor needs from a store (the registry's backends provide it). */
export interface ObjectStore {
  readonly uri: string;
  locate(key: string): string;
  read(key: string): Promise<Buffer | undefined>;
  list(prefix: string): Promise<string[]>;
}

/** Opens a local directory (path or `file://`) or an S3 prefix (`s3://bucket/prefix`). */
export function openObjectStore(uri: string, what: string, s3?: S3Options): ObjectStore {
  if (uri.startsWith('s3://')) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { S3Backend } = require('../registry/s3') as typeof import('../registry/s3');
    try {
      return new S3Backend(uri, s3);
    } catch (e) {
      throw new InputError(what, (e as Error).message);
    }
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri) && !uri.startsWith('file://')) {
    throw new InputError(what, `URI ${JSON.stringify(uri)} has an unsupported scheme: expected a path, file:// or s3://`);
  }
  return new LocalBackend(uri.startsWith('file://') ? fileURLToPath(uri) : path.resolve(uri));
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** The hour prefixes `<model>/<yyyy>/<mm>/<dd>/<hh>/` overlapping [start, end). */
export function hourPrefixes(model: string, start: number, end: number): string[] {
  const out: string[] = [];
  const first = Math.floor(start / 3_600_000);
  const last = Math.floor((end - 1) / 3_600_000);
  for (let h = first; h <= last && out.length < 24 * 366; h++) {
    const d = new Date(h * 3_600_000);
    out.push(`${model}/${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}/${pad(d.getUTCHours())}/`);
  }
  return out;
}

function isLogFile(key: string): boolean {
  const base = key.slice(key.lastIndexOf('/') + 1);
  return !base.startsWith('.') && base.endsWith('.jsonl');
}

/**
 * Reads `keys` with up to `ahead` reads in flight, handing each body to `fn` in key order (so
 * that the result of a run does not depend on which read finished first).
 */
async function readInOrder(store: ObjectStore, keys: readonly string[], ahead: number, fn: (key: string, body: Buffer | undefined) => void): Promise<void> {
  const pending: Promise<Buffer | undefined>[] = [];
  let started = 0;
  const fill = () => {
    while (started < keys.length && pending.length < ahead) {
      const read = store.read(keys[started++]);
      read.catch(() => undefined); // a failure is rethrown below, in order; never unhandled
      pending.push(read);
    }
  };
  fill();
  for (let i = 0; i < keys.length; i++) {
    const body = await pending.shift()!;
    fill();
    fn(keys[i], body);
  }
}

/** Counters of a window read. */
export interface ReadStats {
  readonly files: number;
  readonly lines: number;
  /** Lines that are not JSON. */
  readonly unparsable: number;
  /** Records of another model, version or variant. */
  readonly otherVersion: number;
  /** Records whose `ts` is missing, unparsable or outside the window. */
  readonly outsideWindow: number;
  /** Records passed on. */
  readonly records: number;
}

/** What to read. */
export interface WindowQuery {
  readonly model: string;
  readonly version: number;
  readonly variant?: string;
  /** Window start (inclusive), ms since the epoch. */
  readonly start: number;
  /** Window end (exclusive), ms since the epoch. */
  readonly end: number;
  /** Files read at once. @default 8 */
  readonly concurrency?: number;
}

/**
 * Streams the prediction records of a window to `onRecord` (parsed JSON, shape not checked:
 * the window state counts malformed ones) and unparsable lines to `onUnparsable`.
 */
export async function readPredictionWindow(
  store: ObjectStore,
  query: WindowQuery,
  onRecord: (record: unknown) => void,
  onUnparsable: () => void,
): Promise<ReadStats> {
  const stats = { files: 0, lines: 0, unparsable: 0, otherVersion: 0, outsideWindow: 0, records: 0 };
  const keys: string[] = [];
  for (const prefix of hourPrefixes(query.model, query.start, query.end)) {
    for (const key of await store.list(prefix)) if (isLogFile(key)) keys.push(key);
  }
  keys.sort();
  await readInOrder(store, keys, query.concurrency ?? 8, (_key, body) => {
    if (!body) return; // removed between list and read (retention)
    stats.files++;
    for (const line of body.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      stats.lines++;
      let rec: unknown;
      try {
        rec = JSON.parse(line);
      } catch {
        stats.unparsable++;
        onUnparsable();
        continue;
      }
      const r = rec as { model?: unknown; version?: unknown; variant?: unknown; ts?: unknown } | null;
      if (r !== null && typeof r === 'object') {
        if ((r.model !== undefined && r.model !== query.model) || (r.version !== undefined && r.version !== query.version) || (query.variant !== undefined && r.variant !== query.variant)) {
          stats.otherVersion++;
          continue;
        }
        const ts = typeof r.ts === 'string' ? Date.parse(r.ts) : Number.NaN;
        if (!(ts >= query.start && ts < query.end)) {
          stats.outsideWindow++;
          continue;
        }
      }
      stats.records++;
      onRecord(rec);
    }
  });
  return stats;
}

/** Labels read for the join, by `<id>\u0000<row>`. */
export interface LabelIndex {
  readonly labels: Map<string, number | string>;
  readonly files: number;
  /** Lines that are not a LabelRecord (no string `id`, or a label that is not a number or string). */
  readonly invalid: number;
  /** Labels left out because `maxLabels` was reached. */
  readonly dropped: number;
}

/** The join key of a prediction row. */
export function labelKey(id: string, row: number): string {
  return `${id}\u0000${row}`;
}

/** Reads every label file of a model (`<model>/labels/*.jsonl`), keeping at most `maxLabels` (the latest line wins for a key). */
export async function readLabels(store: ObjectStore, model: string, maxLabels: number): Promise<LabelIndex> {
  const labels = new Map<string, number | string>();
  let files = 0;
  let invalid = 0;
  let dropped = 0;
  const keys = (await store.list(`${model}/labels/`)).filter(isLogFile).sort();
  for (const key of keys) {
    const body = await store.read(key);
    if (!body) continue;
    files++;
    for (const line of body.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      let rec: LabelRecord;
      try {
        rec = JSON.parse(line) as LabelRecord;
      } catch {
        invalid++;
        continue;
      }
      const row = rec?.row ?? 0;
      if (!rec || typeof rec.id !== 'string' || !(typeof rec.label === 'number' || typeof rec.label === 'string') || !Number.isInteger(row) || row < 0) {
        invalid++;
        continue;
      }
      const k = labelKey(rec.id, row);
      if (labels.has(k) || labels.size < maxLabels) labels.set(k, rec.label);
      else dropped++;
    }
  }
  return { labels, files, invalid, dropped };
}
