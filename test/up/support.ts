import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { VIEW_FEATURES } from './fixtures/columns';
import { parseCsv } from '../../src/runtime/train/data';
import type { UpSummary } from '../../src/up/loop';
import { cliPath, REPO_ROOT } from '../support/dist';

/** The fixture program's data set. */
export const CANCER_CSV = path.join(REPO_ROOT, 'test', 'fixtures', 'data', 'breast_cancer.csv');

/** Time of every row of the fixture's feature view. */
export const FEATURE_TIME = new Date('2024-01-01T00:00:00Z');

/**
 * Writes what the fixture program reads from S3 under `dir`: `datasets/breast_cancer.csv` and
 * the feature view's Parquet files `tumor/part-0.parquet` (patient_id = row number from 1).
 * Returns the feature rows written, by patient id.
 */
export function writeFixtureData(dir: string): Map<number, Record<string, number>> {
  fs.mkdirSync(path.join(dir, 'datasets'), { recursive: true });
  fs.copyFileSync(CANCER_CSV, path.join(dir, 'datasets', 'breast_cancer.csv'));
  const table = parseCsv(fs.readFileSync(CANCER_CSV));
  const rows = new Map<number, Record<string, number>>();
  for (let r = 0; r < table.rows; r++) {
    rows.set(r + 1, Object.fromEntries(VIEW_FEATURES.map((f) => [f, Number(table.cells[table.columns.indexOf(f)][r])])));
  }
  const ids = [...rows.keys()];
  const buf = parquetWriteBuffer({
    columnData: [
      { name: 'patient_id', type: 'INT64', data: ids.map((i) => BigInt(i)) },
      { name: 'event_timestamp', type: 'TIMESTAMP', data: ids.map(() => FEATURE_TIME) },
      ...VIEW_FEATURES.map((f) => ({ name: f, type: 'DOUBLE' as const, data: ids.map((i) => rows.get(i)![f]) })),
    ] as never,
  });
  fs.mkdirSync(path.join(dir, 'tumor'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'tumor', 'part-0.parquet'), Buffer.from(buf));
  return rows;
}

/** Processes (other than this one) whose command line mentions `text`. */
export function processesMentioning(text: string): { pid: number; cmd: string }[] {
  const out: { pid: number; cmd: string }[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let cmd: string;
    let state = '';
    try {
      cmd = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      state = fs.readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]?.[0] ?? '';
    } catch {
      continue;
    }
    if (state !== 'Z' && cmd.includes(text)) out.push({ pid: Number(entry), cmd });
  }
  return out;
}

/** Whether nothing accepts connections on 127.0.0.1:`port`. */
export async function portRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(false); });
    s.once('error', () => resolve(true));
  });
}

/** The loopback ports `up` opened for a state directory: its servers' ports and the alert inbox. */
export function portsOfState(stateDir: string): number[] {
  const dir = path.join(stateDir, 'config');
  const ports = new Set<number>();
  for (const f of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    const c = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as { port?: number; featureServer?: { port?: number }; server?: { port?: number }; alerts?: { webhook?: string } };
    if (/^(Rollout|Deployment|StatefulSet)_/.test(f)) {
      for (const p of [c.port, c.featureServer?.port, c.server?.port]) if (typeof p === 'number') ports.add(p);
    }
    if (c.alerts?.webhook) ports.add(Number(new URL(c.alerts.webhook).port));
  }
  return [...ports];
}

/** Outcome of a spawned `cdk-mlops up`. */
export interface UpRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Starts `cdk-mlops up <args>` (the compiled CLI); `until` resolves when its stderr matches. */
export function startUp(args: string[], cwd: string): { child: ChildProcess; done: Promise<UpRun>; until: (re: RegExp, timeoutMs: number) => Promise<void>; output: () => string } {
  const started = Date.now();
  const child = spawn(process.execPath, [cliPath(), 'up', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } });
  let stdout = '';
  let stderr = '';
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  child.stdout!.on('data', (c: Buffer) => { stdout += c.toString(); });
  child.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString();
    for (const w of [...waiters]) {
      if (w.re.test(stderr)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  });
  const done = new Promise<UpRun>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, ms: Date.now() - started }));
  });
  const until = (re: RegExp, timeoutMs: number) => new Promise<void>((resolve, reject) => {
    if (re.test(stderr)) return resolve();
    const timer = setTimeout(() => reject(new Error(`'up' did not print ${re} within ${timeoutMs} ms; stderr:\n${stderr}`)), timeoutMs);
    waiters.push({ re, resolve: () => { clearTimeout(timer); resolve(); } });
    void done.then(() => { clearTimeout(timer); if (!re.test(stderr)) reject(new Error(`'up' exited before printing ${re}; stderr:\n${stderr}`)); });
  });
  return { child, done, until, output: () => stderr };
}

/** The steps of `up --once`, in order, for a platform whose feature server is `clinic-server`. */
export const ONCE_STEPS = [
  'online features (clinic-server)',
  'endpoint serves v1',
  'load traffic rows',
  'replay traffic',
  'monitor (baseline)',
  'replay shifted traffic',
  'monitor (shifted)',
  'retraining',
  'promote',
  'verify the new version serves',
];

/**
 * Runs `cdk-mlops up --once --json <args>`, killed after `limitMs`; throws with its output
 * unless it exits 0, else returns the run and the JSON summary it printed.
 */
export async function runUpOnce(args: string[], cwd: string, limitMs: number): Promise<{ run: UpRun; summary: UpSummary }> {
  const up = startUp([...args, '--once', '--json'], cwd);
  const timer = setTimeout(() => up.child.kill('SIGKILL'), limitMs);
  const run = await up.done;
  clearTimeout(timer);
  if (run.code !== 0) throw new Error(`up --once exited with ${run.code ?? run.signal} after ${run.ms} ms\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
  return { run, summary: JSON.parse(run.stdout) as UpSummary };
}
