import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { readCsv } from './fixtures';
import { MonitorConfig, MonitorConfigInput, MonitorConfigSchema } from '../../../src/runtime/config/monitor';
import { TrainReferenceSchema } from '../../../src/runtime/config/train';
import { openObjectStore } from '../../../src/runtime/monitor/logs';
import { MonitorMetrics } from '../../../src/runtime/monitor/metrics';
import { MonitorDeps } from '../../../src/runtime/monitor/monitor';
import { openStateStore } from '../../../src/runtime/monitor/state-store';
import { openRegistry } from '../../../src/runtime/registry/registry';
import type { PredictionRecord } from '../../../src/runtime/registry/types';
import { accuracy, precisionRecallF1 } from '../../../src/runtime/train/metrics';
import { referenceStatistics } from '../../../src/runtime/train/reference';

/** breast_cancer.csv: 30 numeric features and the target (0 malignant, 1 benign). */
export const BREAST_CANCER = readCsv(path.join(__dirname, '..', '..', 'fixtures', 'data', 'breast_cancer.csv'));
export const FEATURES = BREAST_CANCER.header.filter((h) => h !== 'target');
const TARGET = BREAST_CANCER.header.indexOf('target');

/**
 * The "model" of these tests: a fixed rule on worst_radius (malignant tumours are larger). It
 * stands in for an ONNX model: the monitor only reads logged predictions, never the model.
 */
export function predict(row: Readonly<Record<string, number>>): number {
  return row.worst_radius > 16.8 ? 0 : 1;
}

/** Rows as feature records. */
export function rowsOf(indices: readonly number[]): { features: Record<string, number>[]; target: number[] } {
  const features = indices.map((i) => Object.fromEntries(FEATURES.map((f) => [f, BREAST_CANCER.rows[i][BREAST_CANCER.header.indexOf(f)]])));
  return { features, target: indices.map((i) => BREAST_CANCER.rows[i][TARGET]) };
}

/** The fixed split of these tests: reference (training) = rows i % 3 != 0; live traffic = rows i % 3 == 0. */
export const REFERENCE_ROWS = BREAST_CANCER.rows.map((_, i) => i).filter((i) => i % 3 !== 0);
export const LIVE_ROWS = BREAST_CANCER.rows.map((_, i) => i).filter((i) => i % 3 === 0);

/** A temporary directory under the test run's TMPDIR. */
export function tmpDir(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `monitor-${name}-`));
}

/** Registers version(s) of the breast_cancer "model" with reference statistics computed by the training harness's code. */
export async function registerModel(registryDir: string, model: string): Promise<number> {
  const { features, target } = rowsOf(REFERENCE_ROWS);
  const n = features.length;
  const x = new Float64Array(n * FEATURES.length);
  features.forEach((r, i) => FEATURES.forEach((f, j) => { x[i * FEATURES.length + j] = r[f]; }));
  const prediction = Float64Array.from(features.map(predict));
  const metrics = { accuracy: accuracy(target, prediction), ...precisionRecallF1(target, prediction, [0, 1]) };
  const options = { ...TrainReferenceSchema.parse({}), seed: 42 };
  const reference = referenceStatistics({ featureNames: FEATURES, x, n, prediction, task: 'classification', metrics, options });
  const registry = openRegistry(registryDir);
  const manifest = await registry.register({
    model,
    artefact: Buffer.from('not an onnx model: the monitor never reads it'),
    modelCard: `# ${model}\n`,
    reference,
    signature: {
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, FEATURES.length] }],
      outputs: [{ name: 'label', datatype: 'INT64', shape: [-1] }],
      featureNames: FEATURES,
      target: 'target',
      task: 'classification',
      classes: [0, 1],
    },
    metrics,
    parameters: { rule: 'worst_radius > 16.8' },
    lineage: { codeCommit: 'test', dataHash: 'a'.repeat(64), dataUri: 'test/fixtures/data/breast_cancer.csv', trainer: 'rule', trainerVersion: '0', createdBy: 'test', seed: 42 },
  });
  return manifest.version;
}

/** Writes live traffic as prediction logs (5 rows per record) in the hour of `at`, and the labels. */
export function writeTraffic(
  logsDir: string,
  model: string,
  version: number,
  rows: readonly Record<string, unknown>[],
  target: readonly number[] | undefined,
  at: number,
  file = 'part-0001',
): void {
  const d = new Date(at);
  const pad = (x: number) => String(x).padStart(2, '0');
  const dir = path.join(logsDir, model, String(d.getUTCFullYear()), pad(d.getUTCMonth() + 1), pad(d.getUTCDate()), pad(d.getUTCHours()));
  fs.mkdirSync(dir, { recursive: true });
  const lines: string[] = [];
  const labels: string[] = [];
  for (let i = 0; i < rows.length; i += 5) {
    const inputs = rows.slice(i, i + 5);
    const id = `${file}-req-${i / 5}`;
    const record: PredictionRecord = {
      id,
      model,
      version,
      variant: 'primary',
      ts: new Date(at + i).toISOString(),
      inputs: inputs as PredictionRecord['inputs'],
      outputs: inputs.map((r) => predict(r as Record<string, number>)),
    };
    lines.push(JSON.stringify(record));
    if (target) inputs.forEach((_, r) => labels.push(JSON.stringify({ id, row: r, label: target[i + r] })));
  }
  fs.writeFileSync(path.join(dir, `${file}.jsonl`), lines.join('\n') + '\n');
  if (target) {
    fs.mkdirSync(path.join(logsDir, model, 'labels'), { recursive: true });
    fs.writeFileSync(path.join(logsDir, model, 'labels', `${file}.jsonl`), labels.join('\n') + '\n');
  }
}

/** A logger that records lines in memory (and prints nothing). */
export function memoryLogger(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => { lines.push(JSON.parse(s) as Record<string, unknown>); } });
  return { logger, lines };
}

/** A validated config with test paths. */
export function testConfig(root: string, model: string, extra: Partial<MonitorConfigInput> = {}): MonitorConfig {
  return MonitorConfigSchema.parse({
    model,
    registry: path.join(root, 'registry'),
    logs: path.join(root, 'logs'),
    window: '2h',
    output: { reportDir: path.join(root, 'reports') },
    ...extra,
  });
}

/** The real dependencies for a config, with an injectable clock and a memory logger. */
export function depsFor(config: MonitorConfig, now: () => number): MonitorDeps & { lines: Record<string, unknown>[] } {
  const { logger, lines } = memoryLogger();
  return {
    registry: openRegistry(config.registry),
    logs: openObjectStore(config.logs, 'logs'),
    state: openStateStore(config.stateUri ?? path.join(config.output.reportDir, 'monitor-state.json')),
    metrics: new MonitorMetrics(),
    logger,
    now,
    lines,
  };
}
