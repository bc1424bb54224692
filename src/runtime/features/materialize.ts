import { createHash } from 'node:crypto';
import { InputError } from '../errors';
import type { Logger } from '../log';
import { FeatureCatalog, ResolvedView } from './catalog';
import { ColumnStats, OfflineFiles, offlineFilesFor, readParquetColumns } from './offline';
import { OnlineKeyspace, OnlineStore, OnlineWrite } from './online-store';
import { encodeRow, encodeValueSchema, parseRow, valueSchemaOf } from './rows';
import { StoredFeatureValue, canonicalJoinKey, encodeFeatureValue, entityKeyText, fitsFeatureType, timestampMillis } from './values';

/**
 * Materialization: offline Parquet -> online store.
 *
 * - **Latest value per entity key**: of all rows of a key, the one with the greatest event
 *   timestamp wins; equal event timestamps are broken by the created timestamp (greater wins;
 *   a missing created timestamp counts as the event timestamp); rows equal on both are broken
 *   by read order (files in path order, rows in file order: the last one read wins).
 * - **Incremental**: each view keeps a watermark in the online store. Without a
 *   created-timestamp column, a run takes the rows whose event time is after the watermark
 *   (a row that arrives later with an older event time is only picked up by `--full`). With a
 *   created-timestamp column, the watermark is on created time, so late-arriving rows are
 *   picked up; a late row replaces the stored value only if it is newer by the rule above.
 *   Row groups whose footer statistics put them wholly at or behind the watermark are not
 *   read at all. A view whose definition changed since the last run (features, types, keys,
 *   timestamp columns) is materialized in full.
 * - **Checked first, published in chunks, committed by the watermarks**: every file of every
 *   view is read and checked before anything is written, so a bad file or value publishes
 *   nothing. Then the value schemas of the views written (see rows.ts) are written in one
 *   commit, the entity rows in chunks of `chunkSize` (one MULTI/EXEC each in Redis, so no
 *   single command holds Redis for long and the store's command timeout applies to one chunk,
 *   not to the run; DynamoDB: BatchWriteItems, see dynamodb-store.ts), and only after the last
 *   chunk are the watermarks written, in one last commit: that is the commit point. What a
 *   reader may see:
 *   - each entity's row is ONE value written whole (one SET / PutItem), so a lookup sees all
 *     of one entity's features from before the run or all from after it, never a mix within
 *     one view;
 *   - while a run publishes, some entities have their new values and others still their old
 *     ones (also across the views of one lookup); every value seen is one that was in the
 *     store before the run or that the run is publishing;
 *   - a run that fails while publishing (the store going away, a timeout) leaves the chunks
 *     it wrote and the watermarks where they were: the next run reads the same rows again
 *     and rewrites the same values (writing a value twice is harmless), then moves the
 *     watermarks. Re-running a successful run changes nothing.
 */

/** Entity rows per commit when publishing (see {@link MaterializeOptions.chunkSize}). */
export const DEFAULT_MATERIALIZE_CHUNK_SIZE = 1000;

/** A view's watermark, as stored (JSON) under `OnlineKeyspace.watermark(view)`. */
export interface ViewWatermark {
  /** Greatest event time materialized (epoch ms). */
  readonly eventTs: number | null;
  /** Greatest created time materialized (epoch ms); null if the view has no created column. */
  readonly createdTs: number | null;
  /** Fingerprint of the view definition the stored rows were written with. */
  readonly schema: string;
}

/** What happened to one view. */
export interface ViewMaterialization {
  readonly view: string;
  readonly mode: 'full' | 'incremental';
  /** Why a view ran in full. */
  readonly reason?: string;
  readonly files: number;
  /** Rows read (row groups wholly behind the watermark are skipped, not read). */
  readonly rowsRead: number;
  /** Row groups skipped thanks to their statistics. */
  readonly rowGroupsSkipped: number;
  /** Rows past the watermark. */
  readonly rowsNew: number;
  /** Entity rows written. */
  readonly entitiesWritten: number;
  readonly watermarkBefore: ViewWatermark | null;
  readonly watermarkAfter: ViewWatermark | null;
}

/** Summary of a run. */
export interface MaterializeResult {
  readonly views: readonly ViewMaterialization[];
  readonly rowsRead: number;
  readonly entitiesWritten: number;
  readonly durationMs: number;
  readonly rowsPerSecond: number;
  /** False for a dry run. */
  readonly published: boolean;
}

/** Options of {@link materialize}. */
export interface MaterializeOptions {
  /** Views to materialize. @default - every view with `online: true` */
  readonly views?: readonly string[];
  /** Ignore the watermarks and read everything. @default false */
  readonly full?: boolean;
  /** Read and check everything, publish nothing. @default false */
  readonly dryRun?: boolean;
  /** Where the files are read from. @default - local files, or S3 for s3:// paths */
  readonly files?: OfflineFiles;
  /** Progress and throughput go here (JSON lines). */
  readonly logger?: Logger;
  /**
   * Entity rows per commit (a MULTI/EXEC in Redis) while publishing; the watermarks follow in
   * their own last one. @default DEFAULT_MATERIALIZE_CHUNK_SIZE (1000)
   */
  readonly chunkSize?: number;
}

/**
 * Version of the online layout (rows.ts); part of {@link viewFingerprint}, so that the first
 * run after a layout change is a full one (version 1 was a Redis hash per entity).
 */
export const ONLINE_LAYOUT_VERSION = 2;

/** The fingerprint of what a view stores; a change forces a full run. */
export function viewFingerprint(view: ResolvedView): string {
  const d = view.definition;
  const text = JSON.stringify({
    layout: ONLINE_LAYOUT_VERSION,
    keys: view.joinKeys,
    features: d.features.map((f) => [f.name, f.valueType]),
    ts: d.timestampField,
    cts: d.createdTimestampField ?? null,
  });
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

interface Candidate {
  ts: number;
  cts: number;
  order: number;
  /** Raw values, type-checked; encoded only when written. */
  values: unknown[];
}

function newer(a: { ts: number; cts: number; order: number }, b: { ts: number; cts: number; order: number }): boolean {
  if (a.ts !== b.ts) return a.ts > b.ts;
  if (a.cts !== b.cts) return a.cts > b.cts;
  return a.order > b.order;
}

/** Reads a view's watermark from the store (null if the view was never materialized). */
export async function readWatermark(store: OnlineStore, keyspace: OnlineKeyspace, view: string): Promise<ViewWatermark | null> {
  const text = await store.get(keyspace.watermark(view));
  if (text === null) return null;
  try {
    return JSON.parse(text) as ViewWatermark;
  } catch {
    return null;
  }
}

/** The keyspace of a catalog's online store. */
export function keyspaceFor(catalog: FeatureCatalog): OnlineKeyspace {
  const s = catalog.registry.onlineStore;
  return new OnlineKeyspace(s.type === 'memory' ? 'cdk-mlops:features:' : s.keyPrefix, catalog.registry.project);
}

/** Materializes views from the offline store into `store`. See the module comment for the rules. */
export async function materialize(catalog: FeatureCatalog, store: OnlineStore, options: MaterializeOptions = {}): Promise<MaterializeResult> {
  const started = performance.now();
  const keyspace = keyspaceFor(catalog);
  const log = options.logger;
  const views = options.views
    ? options.views.map((v) => catalog.view(v))
    : catalog.viewList().filter((v) => v.definition.online);
  for (const v of views) {
    if (!v.definition.online) throw new InputError(`view ${v.name}`, 'has online: false; it is not materialized');
  }
  const chunkSize = options.chunkSize ?? DEFAULT_MATERIALIZE_CHUNK_SIZE;
  if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) throw new InputError('chunkSize', `is ${String(chunkSize)}; expected a positive integer`);

  const keyTtl = catalog.registry.onlineStore.keyTtlSeconds;
  const ttlMs = keyTtl === undefined ? undefined : keyTtl * 1000;
  const schemas: OnlineWrite[] = [];
  const rows: OnlineWrite[] = [];
  const watermarks: OnlineWrite[] = [];
  const summaries: ViewMaterialization[] = [];
  let order = 0;

  for (const view of views) {
    const d = view.definition;
    const schema = viewFingerprint(view);
    const before = await readWatermark(store, keyspace, view.name);
    let mode: 'full' | 'incremental' = 'incremental';
    let reason: string | undefined;
    if (options.full) [mode, reason] = ['full', 'requested'];
    else if (!before) [mode, reason] = ['full', 'first run'];
    else if (before.schema !== schema) [mode, reason] = ['full', 'view definition changed'];
    const byCreated = d.createdTimestampField !== undefined;
    const threshold = mode === 'full' ? null : (byCreated ? before!.createdTs : before!.eventTs);

    const files = options.files ?? offlineFilesFor(view.sourcePath);
    const list = await files.list(view.sourcePath);
    const featureNames = d.features.map((f) => f.name);
    const featureTypes = d.features.map((f) => f.valueType);
    const valueSchema = valueSchemaOf(d.features);
    const columns = [
      ...view.joinKeys.map((k) => k.name),
      d.timestampField,
      ...(byCreated ? [d.createdTimestampField!] : []),
      ...featureNames,
    ];
    const nKeys = view.joinKeys.length;
    const featureOffset = nKeys + 1 + (byCreated ? 1 : 0);
    const candidates = new Map<string, Candidate>();
    let rowsRead = 0;
    let rowsNew = 0;
    let rowGroupsSkipped = 0;
    let maxEvent = before?.eventTs ?? null;
    let maxCreated = before?.createdTs ?? null;
    if (mode === 'full') [maxEvent, maxCreated] = [null, null];

    for (let f = 0; f < list.length; f++) {
      const file = list[f];
      // Row groups wholly at or behind the watermark are not read (footer statistics).
      const keep = threshold === null ? undefined : (stats: ReadonlyMap<string, ColumnStats>) => {
        const event = stats.get(d.timestampField);
        if (!(event?.max instanceof Date)) return true;
        if (!byCreated) return event.max.getTime() > threshold;
        const created = stats.get(d.createdTimestampField!);
        if (!(created?.max instanceof Date) || created.nullCount === undefined) return true;
        return created.max.getTime() > threshold || (created.nullCount > 0 && event.max.getTime() > threshold);
      };
      const { columns: cols, rows: n, rowGroupsSkipped: skipped, fileRow } = await readParquetColumns(files, file, columns, keep);
      rowGroupsSkipped += skipped;
      for (let i = 0; i < n; i++) {
        let col = '';
        try {
          const keyParts: string[] = new Array(nKeys);
          for (let k = 0; k < nKeys; k++) {
            col = view.joinKeys[k].name;
            keyParts[k] = canonicalJoinKey(cols[k][i], view.joinKeys[k].valueType, col);
          }
          col = d.timestampField;
          const ts = timestampMillis(cols[nKeys][i]);
          let cts = ts;
          if (byCreated) {
            col = d.createdTimestampField!;
            const raw = cols[nKeys + 1][i];
            cts = raw === null || raw === undefined ? ts : timestampMillis(raw);
          }
          const mark = byCreated ? cts : ts;
          order++;
          if (threshold !== null && mark <= threshold) continue;
          rowsNew++;
          // Every row past the watermark is type-checked (without allocating); only winners are kept.
          for (let j = 0; j < featureNames.length; j++) {
            const v = cols[featureOffset + j][i];
            if (!fitsFeatureType(v, featureTypes[j])) {
              col = featureNames[j];
              encodeFeatureValue(v, featureTypes[j]); // throws the precise message
            }
          }
          if (maxEvent === null || ts > maxEvent) maxEvent = ts;
          if (byCreated && (maxCreated === null || cts > maxCreated)) maxCreated = cts;
          const key = entityKeyText(keyParts);
          const current = candidates.get(key);
          if (current && !newer({ ts, cts, order }, current)) continue;
          const values = new Array<unknown>(featureNames.length);
          for (let j = 0; j < featureNames.length; j++) values[j] = cols[featureOffset + j][i];
          candidates.set(key, { ts, cts, order, values });
        } catch (e) {
          const message = e instanceof InputError ? e.message.slice(e.input.length + 2) : (e as Error).message;
          throw new InputError(`offline file ${file}`, `row ${fileRow(i)}, column '${col}': ${message}`);
        }
      }
      rowsRead += n;
      log?.info({ view: view.name, file, rows: n, filesDone: f + 1, filesTotal: list.length }, 'read offline file');
    }

    let keys = [...candidates.keys()];
    if (byCreated && mode === 'incremental' && keys.length > 0) {
      // Late rows may be older than what is stored: keep only those that win against it.
      // One read of the stored rows' timestamps (rows.ts), in one round trip.
      const stored = await store.readValues(keys.map((k) => keyspace.row(view.name, k)));
      keys = keys.filter((k, i) => {
        const raw = stored[i];
        if (raw === null) return true;
        const [, sts, scts] = parseRow(raw);
        return newer(candidates.get(k)!, { ts: sts, cts: scts ?? sts, order: -1 });
      });
    }
    if (keys.length > 0) schemas.push({ key: keyspace.schema(view.name, valueSchema.fingerprint), value: encodeValueSchema(valueSchema) });
    const encoded: StoredFeatureValue[] = new Array(featureNames.length);
    for (const k of keys) {
      const c = candidates.get(k)!;
      for (let j = 0; j < featureNames.length; j++) encoded[j] = encodeFeatureValue(c.values[j], featureTypes[j]);
      rows.push({ key: keyspace.row(view.name, k), value: encodeRow(valueSchema, c.ts, byCreated ? c.cts : null, encoded), ttlMs });
    }
    const after: ViewWatermark | null = maxEvent === null ? before : { eventTs: maxEvent, createdTs: byCreated ? maxCreated : null, schema };
    const changed = JSON.stringify(after) !== JSON.stringify(before);
    if (after && changed) watermarks.push({ key: keyspace.watermark(view.name), value: JSON.stringify(after) });
    const summary: ViewMaterialization = {
      view: view.name,
      mode,
      reason,
      files: list.length,
      rowsRead,
      rowGroupsSkipped,
      rowsNew,
      entitiesWritten: keys.length,
      watermarkBefore: before,
      watermarkAfter: after,
    };
    summaries.push(summary);
    log?.info({ ...summary }, 'view read');
  }

  if (!options.dryRun) {
    // Schemas first (rows name them), then the rows in bounded chunks; the watermarks last:
    // they are the commit point.
    if (schemas.length > 0) await store.commit({ writes: schemas });
    const chunks = Math.ceil(rows.length / chunkSize);
    for (let c = 0; c < chunks; c++) {
      try {
        await store.commit({ writes: rows.slice(c * chunkSize, (c + 1) * chunkSize) });
      } catch (e) {
        throw new Error(`publishing chunk ${c + 1} of ${chunks} (${chunkSize} entities each) failed: ${(e as Error).message}; `
          + `${c} chunk(s) were written, no watermark moved: re-run to complete (rewriting is harmless)`, { cause: e });
      }
      if (chunks > 1) log?.debug({ chunk: c + 1, chunks }, 'published chunk');
    }
    if (watermarks.length > 0) await store.commit({ writes: watermarks });
  }
  const durationMs = performance.now() - started;
  const rowsRead = summaries.reduce((a, s) => a + s.rowsRead, 0);
  const result: MaterializeResult = {
    views: summaries,
    rowsRead,
    entitiesWritten: rows.length,
    durationMs,
    rowsPerSecond: durationMs > 0 ? Math.round((rowsRead / durationMs) * 1000) : rowsRead,
    published: !options.dryRun,
  };
  log?.info({ rowsRead, entitiesWritten: rows.length, durationMs: Math.round(durationMs), rowsPerSecond: result.rowsPerSecond, published: result.published }, 'materialization finished');
  return result;
}
