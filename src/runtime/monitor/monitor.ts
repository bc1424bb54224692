import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MonitorConfig, parseDuration } from '../config/monitor';
import type { Logger } from '../log';
import { runActions } from './actions';
import { ColumnDrift, DriftOptions, datasetDrift, evaluateColumn } from './drift';
import { ObjectStore, readLabels, readPredictionWindow } from './logs';
import type { MonitorMetrics } from './metrics';
import { PerformanceAccumulator } from './performance';
import { renderHtmlReport } from './report-html';
import type { Condition, MonitorResult, QualityIssue } from './result';
import type { StateStore } from './state-store';
import { WindowState, referenceColumns } from './window';
import { LocalBackend } from '../registry/local';
import type { ModelRegistryClient } from '../registry/types';

/**
 * One monitor run: resolve the monitored version, read its reference, stream the window of
 * prediction logs (and labels) into the mergeable state, evaluate drift, data quality and
 * performance, act (alerts, retraining), and publish the result (JSON, HTML, metrics).
 */

/** What a run talks to (injected, so tests can use doubles and local servers). */
export interface MonitorDeps {
  readonly registry: ModelRegistryClient;
  readonly logs: ObjectStore;
  /** Label store. @default - `logs` */
  readonly labels?: ObjectStore;
  readonly state: StateStore;
  readonly metrics: MonitorMetrics;
  readonly logger: Logger;
  /** Clock (ms since the epoch). @default Date.now */
  readonly now?: () => number;
  /** Service-account namespace file (tests). */
  readonly namespaceFile?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** Paths written by a run. */
export interface RunOutputs {
  readonly json: string;
  readonly html?: string;
}

function stampOf(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

function qualityIssues(columns: readonly ColumnDrift[], config: MonitorConfig): QualityIssue[] {
  const q = config.quality;
  const out: QualityIssue[] = [];
  for (const c of columns) {
    if (c.quality.rows === 0) continue;
    if (c.quality.missingRate > q.maxMissingRate) out.push({ column: c.name, issue: 'missing', rate: c.quality.missingRate, limit: q.maxMissingRate });
    if (c.quality.typeErrorRate > q.maxTypeErrorRate) out.push({ column: c.name, issue: 'type_errors', rate: c.quality.typeErrorRate, limit: q.maxTypeErrorRate });
    if (c.kind === 'numeric' && c.quality.outOfRangeRate > q.maxOutOfRangeRate) out.push({ column: c.name, issue: 'out_of_range', rate: c.quality.outOfRangeRate, limit: q.maxOutOfRangeRate });
    if (c.kind === 'categorical' && c.quality.unknownCategoryRate > q.maxUnknownCategoryRate) out.push({ column: c.name, issue: 'unknown_categories', rate: c.quality.unknownCategoryRate, limit: q.maxUnknownCategoryRate });
  }
  return out;
}

async function writeAtomic(file: string, body: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.promises.writeFile(tmp, body);
  await fs.promises.rename(tmp, file);
}

/** Writes `<model>-v<version>-<time>.json|.html` and `latest.json|.html`, pruning old reports. */
export async function writeReports(result: MonitorResult, config: MonitorConfig, at: number): Promise<RunOutputs> {
  const dir = path.resolve(config.output.reportDir);
  await fs.promises.mkdir(dir, { recursive: true });
  const base = `${result.model}-v${result.version}-${stampOf(at)}`;
  const json = JSON.stringify(result, null, 2) + '\n';
  const jsonFile = path.join(dir, `${base}.json`);
  await writeAtomic(jsonFile, json);
  await writeAtomic(path.join(dir, 'latest.json'), json);
  let htmlFile: string | undefined;
  if (config.output.html) {
    const html = renderHtmlReport(result);
    htmlFile = path.join(dir, `${base}.html`);
    await writeAtomic(htmlFile, html);
    await writeAtomic(path.join(dir, 'latest.html'), html);
  }
  if (config.output.keepReports > 0) {
    const prefix = `${result.model}-v`;
    const old = (await fs.promises.readdir(dir)).filter((f) => f.startsWith(prefix) && f.endsWith('.json')).sort();
    for (const f of old.slice(0, Math.max(0, old.length - config.output.keepReports))) {
      await fs.promises.rm(path.join(dir, f), { force: true });
      await fs.promises.rm(path.join(dir, f.replace(/\.json$/, '.html')), { force: true });
    }
  }
  return { json: jsonFile, ...(htmlFile ? { html: htmlFile } : {}) };
}

/**
 * Copies a run's reports to `output.reportUri` (a directory or `s3://` prefix): the timestamped
 * files created once, `latest.*` replaced (compare-and-swap, retried). Returns the keys copied.
 */
export async function publishReports(config: MonitorConfig, outputs: RunOutputs): Promise<string[]> {
  const uri = config.output.reportUri;
  if (!uri) return [];
  const store = openWritableStore(uri);
  const copied: string[] = [];
  for (const file of [outputs.json, outputs.html].filter((f): f is string => f !== undefined)) {
    const body = await fs.promises.readFile(file);
    const name = path.basename(file);
    if (await store.createExclusive(name, body)) copied.push(name);
    const latest = `latest${path.extname(name)}`;
    for (let attempt = 0; attempt < 3; attempt++) {
      const current = await store.readTagged(latest);
      if (await store.replaceIfUnchanged(latest, body, current?.tag)) {
        copied.push(latest);
        break;
      }
    }
  }
  return copied;
}

function openWritableStore(uri: string): Pick<LocalBackend, 'createExclusive' | 'readTagged' | 'replaceIfUnchanged'> {
  if (uri.startsWith('s3://')) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { S3Backend } = require('../registry/s3') as typeof import('../registry/s3');
    return new S3Backend(uri);
  }
  return new LocalBackend(uri.startsWith('file://') ? fileURLToPath(uri) : path.resolve(uri));
}

/** Runs the monitor once; publishes metrics and reports; returns the result. */
export async function runMonitorOnce(config: MonitorConfig, deps: MonitorDeps): Promise<{ result: MonitorResult; outputs: RunOutputs }> {
  const now = deps.now ?? Date.now;
  const t0 = now();
  const log = deps.logger;
  try {
    const version = await deps.registry.resolve(config.model, config.version);
    const [manifest, reference] = await Promise.all([deps.registry.getManifest(config.model, version), deps.registry.getReference(config.model, version)]);
    const refs = referenceColumns(reference);
    const stateOptions = { mode: config.state.mode, exactMaxValues: config.state.exactMaxValues, sketchK: config.state.sketchK, categoryCap: config.state.categoryCap };
    const window = new WindowState(refs, stateOptions);
    const labelStore = deps.labels ?? deps.logs;
    const labels = await readLabels(labelStore, config.model, config.performance.maxLabels);
    const perf = new PerformanceAccumulator(labels, manifest.signature.task, manifest.signature.classes);
    const end = t0;
    const start = end - parseDuration(config.window);
    const read = await readPredictionWindow(deps.logs, { model: config.model, version, variant: config.variant, start, end }, (rec) => {
      window.addRecord(rec);
      perf.addRecord(rec);
    }, () => window.addUnparsable());
    log.info({ model: config.model, version, files: read.files, records: read.records, rows: window.rows, labels: labels.labels.size }, `read ${read.records} record(s) (${window.rows} rows) from ${read.files} file(s)`);

    const driftOptions: DriftOptions = {
      thresholds: config.drift.thresholds,
      columns: { ...config.drift.features },
      minCurrentValues: config.drift.minCurrentValues,
      datasetDriftShare: config.drift.datasetDriftShare,
    };
    const features = refs.features.map((rc, i) => evaluateColumn(rc, window.features[i], driftOptions));
    const predictionOptions: DriftOptions = { ...driftOptions, columns: { [refs.prediction.ref.name]: config.drift.prediction } };
    const prediction = evaluateColumn(refs.prediction, window.prediction, predictionOptions);
    const dataset = datasetDrift(features, config.drift.datasetDriftShare);
    const issues = qualityIssues(features, config);
    const performance = perf.result(reference.metrics, { minLabeledRows: config.performance.minLabeledRows, maxDegradation: config.performance.maxDegradation, metrics: config.performance.metrics });
    const conditions: Record<Condition, boolean> = {
      dataset_drift: dataset.datasetDrift,
      prediction_drift: prediction.drifted,
      performance_decay: performance.decayed,
      data_quality: issues.length > 0,
    };
    const draft: Omit<MonitorResult, 'actions' | 'durationMs'> = {
      schema: 'cdk-mlops.monitor.result/v1',
      model: config.model,
      version,
      ...(config.variant ? { variant: config.variant } : {}),
      generatedAt: new Date(t0).toISOString(),
      window: { start: new Date(start).toISOString(), end: new Date(end).toISOString(), firstRecord: window.firstTs, lastRecord: window.lastTs },
      mode: config.state.mode,
      reference: { rows: reference.rows, metrics: reference.metrics },
      records: {
        files: read.files,
        read: window.records,
        rows: window.rows,
        badRecords: window.badRecords,
        badRows: window.badRows,
        unparsable: read.unparsable,
        otherVersion: read.otherVersion,
        outsideWindow: read.outsideWindow,
      },
      unexpectedFields: Object.fromEntries(window.unexpectedFields),
      features,
      dataset,
      prediction,
      quality: { issues },
      performance,
      conditions,
    };
    const reportUrl = config.alerts.reportBaseUrl ? `${config.alerts.reportBaseUrl.replace(/\/+$/, '')}/${config.model}-v${version}-${stampOf(t0)}.html` : undefined;
    const actions = await runActions({ ...draft, actions: { alerts: [], retrain: { outcome: 'not_needed' } }, durationMs: 0 }, {
      config, store: deps.state, logger: log, now: t0, reportUrl, namespaceFile: deps.namespaceFile, env: deps.env,
    });
    const result: MonitorResult = { ...draft, actions, durationMs: now() - t0 };
    const outputs = await writeReports(result, config, t0);
    try {
      const copied = await publishReports(config, outputs);
      if (copied.length) log.info({ reportUri: config.output.reportUri, files: copied }, `reports copied to ${config.output.reportUri}`);
    } catch (e) {
      log.error({ err: e, reportUri: config.output.reportUri }, `could not copy the reports to ${config.output.reportUri}: ${(e as Error).message}`);
    }
    deps.metrics.update(result, now());
    await publishMetrics(config, deps);
    log.info({
      model: config.model,
      version,
      datasetDrift: dataset.datasetDrift,
      driftedShare: dataset.share,
      drifted: dataset.driftedColumns,
      predictionDrift: prediction.drifted,
      performanceDecay: performance.decayed,
      qualityIssues: issues.length,
      retrain: actions.retrain.outcome,
      report: outputs.html ?? outputs.json,
    }, `dataset drift: ${dataset.datasetDrift ? 'YES' : 'no'} (${dataset.drifted}/${dataset.tested} features); report ${outputs.html ?? outputs.json}`);
    return { result, outputs };
  } catch (e) {
    deps.metrics.recordRun(config.model, 'failure', (now() - t0) / 1000, now());
    await publishMetrics(config, deps).catch((err: Error) => log.error({ err }, 'publishing metrics after a failed run failed too'));
    throw e;
  }
}

async function publishMetrics(config: MonitorConfig, deps: MonitorDeps): Promise<void> {
  if (config.output.metricsFile) await deps.metrics.writeTextfile(config.output.metricsFile);
  if (config.output.pushgateway) {
    try {
      await deps.metrics.push(config.output.pushgateway, config.model);
    } catch (e) {
      deps.logger.error({ err: e }, `pushing metrics to the Pushgateway failed: ${(e as Error).message}`);
    }
  }
}
