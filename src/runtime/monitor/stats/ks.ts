import { kolmogorovSmirnovSf } from './special';

/**
 * The two-sample Kolmogorov-Smirnov test, two-sided, with SciPy's semantics
 * (`scipy.stats.ks_2samp(a, b)`, default `method='auto'`):
 *
 * - the statistic is D = max over x of |F_a(x) - F_b(x)| on the empirical CDFs;
 * - `auto`: the exact null distribution (lattice-path counting, Hodges 1958, in the
 *   numerically stable form of Viehmann 2021) when max(n_a, n_b) <= 10,000, otherwise the
 *   asymptotic one: `kstwo.sf(D, round(n_a n_b / (n_a + n_b)))`;
 * - in exact mode the reported statistic is D rounded to the lattice, h / lcm(n_a, n_b),
 *   as SciPy reports it; when the exact computation fails numerically, it falls back to the
 *   asymptotic p-value, as SciPy does.
 */
export type KsMethod = 'auto' | 'exact' | 'asymp';

/** Outcome of a two-sample KS test. */
export interface KsResult {
  readonly statistic: number;
  readonly pValue: number;
  /** The method that produced the p-value. */
  readonly method: 'exact' | 'asymp';
}

/** Largest sample size for which `auto` uses the exact distribution (SciPy's MAX_AUTO_N). */
export const KS_MAX_AUTO_N = 10_000;

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** NumPy's `np.round`: round half to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  if (Math.abs(x - Math.trunc(x)) === 0.5) return 2 * Math.round(x / 2);
  return r;
}

/** P(D_{n,n} >= h/n) for equal sample sizes (SciPy's `_compute_prob_outside_square`). */
function probOutsideSquare(n: number, h: number): number {
  let P = 0;
  let k = Math.floor(n / h);
  while (k >= 0) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    P = p1 * (1 - P);
    k -= 1;
  }
  return 2 * P;
}

/**
 * Proportion of lattice paths from (0,0) to (m,n) that leave the band |x/m - y/n| < h/lcm,
 * i.e. the exact two-sided p-value for unequal sizes, computed directly as 1 - (inside share).
 */
function probOutsideBand(m0: number, n0: number, g: number, h: number): number {
  let m = m0;
  let n = n0;
  if (m < n) [m, n] = [n, m];
  const mg = Math.floor(m / g);
  const ng = Math.floor(n / g);
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const lenA = Math.min(2 * maxj + 2, n + 1);
  const A = new Float64Array(Math.max(lenA, n + 1)).fill(1);
  for (let j = minj; j < maxj; j++) A[j] = 0;
  for (let i = 1; i <= m; i++) {
    const lastminj = minj;
    const lastlen = curlen;
    minj = Math.max(Math.floor((ng * i - h) / mg) + 1, 0);
    minj = Math.min(minj, n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    let val = minj === 0 ? 0 : 1;
    for (let jj = 0; jj < maxj - minj; jj++) {
      const j = jj + minj;
      val = (A[jj + minj - lastminj] * i + val * j) / (i + j);
      A[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) {
      for (let t = maxj - minj; t < maxj - minj + (lastlen - curlen); t++) A[t] = 1;
    }
  }
  return A[maxj - minj - 1];
}

/** The exact attempt; `undefined` when it fails numerically (SciPy then falls back to asymp). */
function exactPValue(n1: number, n2: number, d: number): { statistic: number; pValue: number } | undefined {
  const g = gcd(n1, n2);
  const lcm = (n1 / g) * n2;
  const h = roundHalfEven(d * lcm);
  const statistic = h / lcm;
  if (h === 0) return { statistic, pValue: 1 };
  const p = n1 === n2 ? probOutsideSquare(n1, h) : probOutsideBand(n1, n2, g, h);
  if (!Number.isFinite(p) || p < 0 || p > 1) return undefined;
  return { statistic, pValue: p };
}

/** The asymptotic two-sided p-value: kstwo.sf(d, round(n1 n2 / (n1 + n2))). */
export function ksAsymptoticPValue(d: number, n1: number, n2: number): number {
  const m = Math.max(n1, n2);
  const n = Math.min(n1, n2);
  const en = (m * n) / (m + n);
  const p = kolmogorovSmirnovSf(roundHalfEven(en), d);
  return Math.min(1, Math.max(0, p));
}

/**
 * The p-value of a two-sided two-sample KS statistic `d` for sample sizes n1, n2, chosen
 * as SciPy's `ks_2samp` chooses it.
 */
export function ksPValue(d: number, n1: number, n2: number, method: KsMethod = 'auto'): KsResult {
  if (!(n1 > 0 && n2 > 0)) throw new RangeError(`ks: both samples must be non-empty (got ${n1} and ${n2})`);
  let mode: 'exact' | 'asymp' = method === 'auto' ? (Math.max(n1, n2) <= KS_MAX_AUTO_N ? 'exact' : 'asymp') : method;
  if (mode === 'exact') {
    const g = gcd(n1, n2);
    if (n1 / g >= 2147483647 / (n2 / g)) mode = 'asymp';
  }
  if (mode === 'exact') {
    const r = exactPValue(n1, n2, d);
    if (r) return { statistic: r.statistic, pValue: Math.min(1, Math.max(0, r.pValue)), method: 'exact' };
  }
  return { statistic: d, pValue: ksAsymptoticPValue(d, n1, n2), method: 'asymp' };
}

/**
 * One pass over two weighted, sorted samples: calls `visit(x, Fa, Fb, nextX)` at each distinct
 * value x with the CDFs right after x (all values <= x counted) and the next distinct value
 * (Infinity after the last). Weights default to 1 per value.
 */
export function walkCdfs(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  visit: (x: number, fa: number, fb: number, next: number) => void,
  wa?: ArrayLike<number>,
  wb?: ArrayLike<number>,
): void {
  let totalA = a.length;
  let totalB = b.length;
  if (wa) {
    totalA = 0;
    for (let i = 0; i < wa.length; i++) totalA += wa[i];
  }
  if (wb) {
    totalB = 0;
    for (let i = 0; i < wb.length; i++) totalB += wb[i];
  }
  let i = 0;
  let j = 0;
  let ca = 0;
  let cb = 0;
  while (i < a.length || j < b.length) {
    const x = j >= b.length || (i < a.length && a[i] <= b[j]) ? a[i] : b[j];
    while (i < a.length && a[i] === x) ca += wa ? wa[i++] : (i++, 1);
    while (j < b.length && b[j] === x) cb += wb ? wb[j++] : (j++, 1);
    const next = i < a.length ? (j < b.length ? Math.min(a[i], b[j]) : a[i]) : j < b.length ? b[j] : Infinity;
    visit(x, ca / totalA, cb / totalB, next);
  }
}

/** The two-sided KS statistic of two sorted (optionally weighted) samples. */
export function ksStatistic(a: ArrayLike<number>, b: ArrayLike<number>, wa?: ArrayLike<number>, wb?: ArrayLike<number>): number {
  let d = 0;
  walkCdfs(a, b, (_x, fa, fb) => {
    const diff = fa - fb;
    if (diff > d) d = diff;
    else if (-diff > d) d = -diff;
  }, wa, wb);
  return d;
}

/** `scipy.stats.ks_2samp(a, b, method)` for sorted (or unsorted, copied and sorted) samples. */
export function ks2samp(a: ArrayLike<number>, b: ArrayLike<number>, method: KsMethod = 'auto', sorted = false): KsResult {
  const sa = sorted ? a : Float64Array.from(a).sort();
  const sb = sorted ? b : Float64Array.from(b).sort();
  return ksPValue(ksStatistic(sa, sb), sa.length, sb.length, method);
}
