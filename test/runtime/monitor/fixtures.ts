import * as fs from 'node:fs';
import * as path from 'node:path';

/** The generator spec of one fixture sample (see test/fixtures/drift/make_scipy_reference.py). */
export interface SampleSpec {
  readonly seed: number;
  readonly n: number;
  readonly dist: 'normal4' | 'uniform' | 'heavy' | 'int' | 'skewint' | 'binary';
  readonly loc?: number;
  readonly scale?: number;
  readonly k?: number;
  readonly p?: number;
}

/** The same 32-bit LCG and transforms as the Python script: identical doubles. */
export function generate(spec: SampleSpec): number[] {
  let state = spec.seed >>> 0;
  const u = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
  const loc = spec.loc ?? 0;
  const scale = spec.scale ?? 1;
  const out: number[] = [];
  for (let i = 0; i < spec.n; i++) {
    switch (spec.dist) {
      case 'normal4': {
        const a = u();
        const b = u();
        const c = u();
        const e = u();
        out.push((((a + b) + c) + e - 2.0) * scale + loc);
        break;
      }
      case 'uniform':
        out.push(loc + scale * u());
        break;
      case 'heavy': {
        const x = u();
        out.push(loc + scale * (x / (1.0 - x + 0.001)));
        break;
      }
      case 'int':
        out.push(Math.floor(u() * spec.k!));
        break;
      case 'skewint': {
        const x = u();
        out.push(Math.floor(x * x * spec.k!));
        break;
      }
      case 'binary':
        out.push(u() < spec.p! ? 1 : 0);
        break;
    }
  }
  return out;
}

/** Exactly rounded sum (Python's math.fsum), to compare checksums bit for bit. */
export function fsum(values: readonly number[]): number {
  // Shewchuk's algorithm, as in CPython's math.fsum
  const partials: number[] = [];
  for (let x of values) {
    let i = 0;
    for (let y of partials) {
      if (Math.abs(x) < Math.abs(y)) [x, y] = [y, x];
      const hi = x + y;
      const lo = y - (hi - x);
      if (lo) partials[i++] = lo;
      x = hi;
    }
    partials.length = i;
    partials.push(x);
  }
  let n = partials.length;
  let hi = 0;
  if (n > 0) {
    hi = partials[--n];
    let lo = 0;
    while (n > 0) {
      const x = hi;
      const y = partials[--n];
      hi = x + y;
      const yr = hi - x;
      lo = y - yr;
      if (lo) break;
    }
    if (n > 0 && ((lo < 0 && partials[n - 1] < 0) || (lo > 0 && partials[n - 1] > 0))) {
      const y = lo * 2;
      const x = hi + y;
      const yr = x - hi;
      if (y === yr) hi = x;
    }
  }
  return hi;
}

/** JSON numbers, with 'Infinity'/'NaN' strings decoded. */
export function num(x: number | string): number {
  if (typeof x === 'number') return x;
  if (x === 'Infinity') return Infinity;
  if (x === '-Infinity') return -Infinity;
  return Number.NaN;
}

const FIXTURE = path.join(__dirname, '..', '..', 'fixtures', 'drift', 'scipy-reference.json');

/** The committed SciPy reference values. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function scipyReference(): any {
  return JSON.parse(fs.readFileSync(FIXTURE, 'utf8'));
}

/** Reads a CSV of numbers with a header row (the data sets under test/fixtures/data). */
export function readCsv(file: string): { header: string[]; rows: number[][] } {
  const text = fs.readFileSync(file, 'utf8').trim().split('\n');
  const header = text[0].split(',');
  const rows = text.slice(1).map((line) => line.split(',').map(Number));
  return { header, rows };
}

/** `expect(actual).toBeCloseTo` with an absolute-or-relative tolerance: |a-b| <= tol * max(1, |b|). */
export function close(actual: number, expected: number, tol = 1e-9): boolean {
  if (Number.isNaN(expected)) return Number.isNaN(actual);
  if (!Number.isFinite(expected)) return actual === expected;
  return Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected));
}
