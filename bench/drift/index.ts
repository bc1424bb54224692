/**
 * bench:drift: cdk-mlops' streaming drift statistics against NumPy/SciPy (the engine Evidently
 * uses) on the same generated data, side by side in one run.
 *
 *   npm run bench:drift                            # 10,000,000 x 20 and 1,000,000 x 20
 *   npm run bench:drift -- --rows 2000000 --small 200000
 *
 * Each contender runs in its own child process (so each peak RSS is its own), once at
 * `--small` rows and once at `--rows`: cdk-mlops in sketch mode (KLL, k = 1000), one pass
 * over chunks of 65,536 rows; NumPy/SciPy accumulates the chunks into one array and calls
 * scipy.stats.ks_2samp, scipy.stats.wasserstein_distance, numpy.histogram and
 * scipy.spatial.distance.jensenshannon per feature. Both generate the same chunks from the
 * same counter-based hash (bench/drift/data.ts); generation time is measured apart and left
 * out of the statistics throughput. The reference (100,000 rows) is computed once with the
 * training harness's referenceStatistics and read by both.
 *
 * Reported: rows/s (statistics only, and end to end), peak RSS at both sizes, and how far
 * cdk-mlops' sketch statistics are from SciPy's exact ones (with the sketch's own bound).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { referenceStatistics } from '../../src/runtime/train/reference';
import { FEATURES, generateChunk, names } from './data';

const PYTHON = '/usr/bin/python3';
const ROOT = path.join(__dirname, '..', '..');

interface FeatureStats {
  name: string;
  ks: number;
  ksP: number;
  ksBound?: number;
  wassersteinNorm: number;
  wassersteinBound?: number;
  jensenShannon: number;
  psi: number;
  missing: number;
  outOfRange: number;
  mean: number;
  std: number;
}

interface Run {
  engine: string;
  rows: number;
  totalMs: number;
  generateMs: number;
  statsMs: number;
  peakRssBytes: number;
  rssStartBytes?: number;
  results: FeatureStats[];
}

function child(cmd: string, args: string[]): Run {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  const line = r.stdout.trim().split('\n').pop()!;
  return JSON.parse(line) as Run;
}

function hasScipy(): boolean {
  if (!fs.existsSync(PYTHON)) return false;
  const r = spawnSync(PYTHON, ['-c', 'import numpy, scipy'], { encoding: 'utf8' });
  return r.status === 0;
}

const mib = (b: number) => `${(b / 1048576).toFixed(0)} MiB`;
const rate = (rows: number, ms: number) => `${((rows / ms) * 1000 / 1e6).toFixed(2)} M rows/s`;

function main(): void {
  const { values } = parseArgs({
    options: {
      'rows': { type: 'string', default: '10000000' },
      'small': { type: 'string', default: '1000000' },
      'reference-rows': { type: 'string', default: '100000' },
      'chunk': { type: 'string', default: '65536' },
      'k': { type: 'string', default: '1000' },
    },
  });
  const rows = Number(values.rows);
  const small = Number(values.small);
  const refRows = Number(values['reference-rows']);
  const chunk = Number(values.chunk);
  const k = Number(values.k);
  const out = path.join(ROOT, 'bench', 'results', 'drift');
  fs.mkdirSync(out, { recursive: true });

  // the reference: refRows rows of the unshifted distribution (seed 1), as training computes it
  const cols = Array.from({ length: FEATURES }, () => new Float64Array(refRows));
  generateChunk(1, 0, refRows, 0, cols);
  const x = new Float64Array(refRows * FEATURES);
  let kept = 0;
  for (let i = 0; i < refRows; i++) {
    if (cols.some((c) => Number.isNaN(c[i]))) continue; // the harness refuses missing values
    for (let j = 0; j < FEATURES; j++) x[kept * FEATURES + j] = cols[j][i];
    kept++;
  }
  const reference = referenceStatistics({
    featureNames: names, x: x.subarray(0, kept * FEATURES), n: kept, prediction: new Float64Array(kept), task: 'regression', metrics: {},
    options: { bins: 20, quantiles: [0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99], sampleSize: 5000, maxCategories: 20, seed: 42 },
  });
  const refFile = path.join(out, 'reference.json');
  fs.writeFileSync(refFile, JSON.stringify(reference));

  const scipy = hasScipy();
  if (!scipy) process.stderr.write(`bench:drift: ${PYTHON} with numpy and scipy not found; the NumPy/SciPy baseline is skipped\n`);
  const runs: Run[] = [];
  for (const n of [small, rows]) {
    process.stderr.write(`bench:drift: cdk-mlops, ${n} rows...\n`);
    runs.push(child(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join('bench', 'drift', 'run.ts'), String(n), refFile, String(chunk), String(k)]));
    if (scipy) {
      process.stderr.write(`bench:drift: numpy/scipy, ${n} rows...\n`);
      runs.push(child(PYTHON, [path.join('bench', 'drift', 'baseline.py'), String(n), refFile, String(chunk)]));
    }
  }
  fs.writeFileSync(path.join(out, 'results.json'), JSON.stringify({ date: new Date().toISOString(), machine: `${os.cpus().length} x ${os.cpus()[0]?.model}, ${mib(os.totalmem())}, Node ${process.version}`, runs }, null, 2));

  const lines: string[] = [];
  lines.push(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}; reference ${kept} rows (sample 5000); chunk ${chunk}; KLL k = ${k}`);
  lines.push('');
  lines.push('| engine | rows | statistics time | statistics rows/s | generation | end to end rows/s | peak RSS |');
  lines.push('|---|---|---|---|---|---|---|');
  for (const r of runs) {
    lines.push(`| ${r.engine} | ${r.rows.toLocaleString('en-US')} | ${(r.statsMs / 1000).toFixed(1)} s | ${rate(r.rows, r.statsMs)} | ${(r.generateMs / 1000).toFixed(1)} s | ${rate(r.rows, r.totalMs)} | ${mib(r.peakRssBytes)} |`);
  }
  const ours = runs.filter((r) => r.engine === 'cdk-mlops');
  const theirs = runs.filter((r) => r.engine !== 'cdk-mlops');
  lines.push('');
  lines.push(`cdk-mlops peak RSS at ${rows.toLocaleString('en-US')} rows / at ${small.toLocaleString('en-US')} rows: ${(ours[1].peakRssBytes / ours[0].peakRssBytes).toFixed(3)} (goal <= 1.10)`);
  if (theirs.length === 2) {
    lines.push(`numpy/scipy peak RSS at ${rows.toLocaleString('en-US')} / ${small.toLocaleString('en-US')} rows: ${(theirs[1].peakRssBytes / theirs[0].peakRssBytes).toFixed(2)}`);
    for (let i = 0; i < 2; i++) {
      lines.push(`statistics throughput ratio cdk-mlops / numpy-scipy at ${ours[i].rows.toLocaleString('en-US')} rows: ${(theirs[i].statsMs / ours[i].statsMs).toFixed(2)}x (goal >= 1); end to end: ${(theirs[i].totalMs / ours[i].totalMs).toFixed(2)}x`);
    }
    // agreement: exact statistics identical, sketch statistics within their bounds
    const big = ours[1].results;
    const ref = theirs[1].results;
    let ksErr = 0;
    let ksBound = 0;
    let wErr = 0;
    let wBound = 0;
    let exactErr = 0;
    let withinBounds = true;
    big.forEach((a, j) => {
      const b = ref[j];
      const dk = Math.abs(a.ks - b.ks);
      const dw = Math.abs(a.wassersteinNorm - b.wassersteinNorm);
      ksErr = Math.max(ksErr, dk);
      wErr = Math.max(wErr, dw);
      ksBound = Math.max(ksBound, a.ksBound ?? 0);
      wBound = Math.max(wBound, a.wassersteinBound ?? 0);
      if (dk > (a.ksBound ?? 0) + 1e-12 || dw > (a.wassersteinBound ?? 0) + 1e-12) withinBounds = false;
      for (const key of ['jensenShannon', 'psi', 'mean', 'std'] as const) exactErr = Math.max(exactErr, Math.abs(a[key] - b[key]) / Math.max(1, Math.abs(b[key])));
      if (a.missing !== b.missing || a.outOfRange !== b.outOfRange) exactErr = Infinity;
    });
    lines.push(`agreement at ${rows.toLocaleString('en-US')} rows: max |KS D - SciPy| = ${ksErr.toExponential(2)} (sketch bound <= ${ksBound.toExponential(2)}), max |normed Wasserstein - SciPy| = ${wErr.toExponential(2)} (bound <= ${wBound.toExponential(2)}), every difference within its bound: ${withinBounds}; JS, PSI, mean, std max relative difference ${exactErr.toExponential(2)}; missing and out-of-range counts ${Number.isFinite(exactErr) ? 'identical' : 'DIFFERENT'}`);
    const verdictsAgree = big.every((a, j) => (a.wassersteinNorm >= 0.1) === (ref[j].wassersteinNorm >= 0.1));
    lines.push(`Wasserstein drift verdicts (>= 0.1) identical for all ${FEATURES} features: ${verdictsAgree}; drifted: ${big.filter((a) => a.wassersteinNorm >= 0.1).map((a) => a.name).join(', ')}`);
  }
  process.stdout.write(lines.join('\n') + '\n');
}

main();
