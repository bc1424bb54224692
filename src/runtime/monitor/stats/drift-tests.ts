import { walkCdfs } from './ks';
import { chi2Sf, normalSf } from './special';

/**
 * The statistical tests and distances behind drift detection, each matching the SciPy call
 * (and the Evidently convention around it) named in its documentation. Inputs are counts or
 * sorted samples, which the streaming state produces without keeping raw rows.
 */

/** Neumaier-compensated sum (keeps long sums accurate to a few ulps). */
export class CompensatedSum {
  private s = 0;
  private c = 0;
  private special = 0;
  add(x: number): void {
    if (!Number.isFinite(x)) {
      this.special += x;
      return;
    }
    const t = this.s + x;
    if (Math.abs(this.s) >= Math.abs(x)) this.c += this.s - t + x;
    else this.c += x - t + this.s;
    this.s = t;
  }
  get value(): number {
    return this.special !== 0 || Number.isNaN(this.special) ? this.special : this.s + this.c;
  }
}

/** Result of a test that yields a statistic and a p-value. */
export interface TestResult {
  readonly statistic: number;
  readonly pValue: number;
}

/**
 * Pearson's chi-square test of current category counts against the counts expected from the
 * reference proportions, over the union of categories, as Evidently's `chisquare` drift test
 * does: `scipy.stats.chisquare(f_obs=current, f_exp=reference * n_cur / n_ref)`, df = k - 1.
 * A category present in the current data but absent from the reference has an expected count
 * of 0, which makes the statistic infinite and the p-value 0 (SciPy's result).
 */
export function chiSquareTest(referenceCounts: readonly number[], currentCounts: readonly number[]): TestResult {
  if (referenceCounts.length !== currentCounts.length) {
    throw new RangeError(`chi-square: ${referenceCounts.length} reference counts but ${currentCounts.length} current counts`);
  }
  const nRef = referenceCounts.reduce((a, b) => a + b, 0);
  const nCur = currentCounts.reduce((a, b) => a + b, 0);
  if (nRef <= 0 || nCur <= 0) throw new RangeError('chi-square: both samples must be non-empty');
  const k = nCur / nRef;
  const sum = new CompensatedSum();
  for (let i = 0; i < referenceCounts.length; i++) {
    const exp = referenceCounts[i] * k;
    const obs = currentCounts[i];
    const diff = obs - exp;
    sum.add(exp === 0 ? (diff === 0 ? Number.NaN : Infinity) : (diff * diff) / exp);
  }
  const statistic = sum.value;
  const df = referenceCounts.length - 1;
  if (Number.isNaN(statistic) || df < 1) return { statistic: Number.isNaN(statistic) ? Number.NaN : statistic, pValue: df < 1 ? 1 : Number.NaN };
  return { statistic, pValue: chi2Sf(statistic, df) };
}

/**
 * Two-sided two-proportion z-test with pooled variance (Evidently's `z` test for binary
 * features): z = (p1 - p2) / sqrt(P (1 - P) (1/n1 + 1/n2)), p = 2 * Phi(-|z|). Evidently writes
 * the p-value as 2 * (1 - Phi(|z|)); this computes the same quantity without the cancellation
 * (identical to 1e-16 absolute, and keeps relative precision in the tail). When both samples
 * hold one and the same value the p-value is 1 (Evidently's rule).
 */
export function proportionZTest(successesRef: number, nRef: number, successesCur: number, nCur: number): TestResult {
  if (!(nRef > 0 && nCur > 0)) throw new RangeError('z-test: both samples must be non-empty');
  const p1 = successesRef / nRef;
  const p2 = successesCur / nCur;
  const P = (p1 * nRef + p2 * nCur) / (nRef + nCur);
  if (P === 0 || P === 1) return { statistic: 0, pValue: 1 };
  const z = (p1 - p2) / Math.sqrt(P * (1 - P) * (1 / nRef + 1 / nCur));
  return { statistic: z, pValue: Math.min(1, 2 * normalSf(Math.abs(z))) };
}

/**
 * First Wasserstein distance between two sorted (optionally weighted) samples
 * (`scipy.stats.wasserstein_distance(u, v)`): the integral of |F_u - F_v|.
 */
export function wassersteinDistance(
  u: ArrayLike<number>,
  v: ArrayLike<number>,
  wu?: ArrayLike<number>,
  wv?: ArrayLike<number>,
): number {
  const sum = new CompensatedSum();
  walkCdfs(u, v, (x, fu, fv, next) => {
    if (next !== Infinity) sum.add(Math.abs(fu - fv) * (next - x));
  }, wu, wv);
  return sum.value;
}

/** Evidently's floor for the reference standard deviation in the normed Wasserstein distance. */
export const WASSERSTEIN_MIN_NORM = 0.001;

/**
 * Evidently's `wasserstein` drift score: the Wasserstein distance divided by the reference's
 * population standard deviation (ddof = 0), floored at 0.001.
 */
export function wassersteinNorm(distance: number, referenceStd: number): number {
  return distance / Math.max(referenceStd, WASSERSTEIN_MIN_NORM);
}

function relEntr(x: number, y: number): number {
  if (x > 0 && y > 0) return x * Math.log(x / y);
  if (x === 0 && y >= 0) return 0;
  return Infinity;
}

/**
 * Jensen-Shannon distance (natural logarithm) between two frequency vectors, normalised to
 * sum 1 each: `scipy.spatial.distance.jensenshannon(p, q)`. The square root of the JS
 * divergence; 0 for identical distributions, at most sqrt(ln 2).
 */
export function jensenShannonDistance(p: readonly number[], q: readonly number[]): number {
  if (p.length !== q.length) throw new RangeError(`jensen-shannon: vectors of length ${p.length} and ${q.length}`);
  const sp = p.reduce((a, b) => a + b, 0);
  const sq = q.reduce((a, b) => a + b, 0);
  const left = new CompensatedSum();
  const right = new CompensatedSum();
  for (let i = 0; i < p.length; i++) {
    const pi = p[i] / sp;
    const qi = q[i] / sq;
    const m = (pi + qi) / 2;
    left.add(relEntr(pi, m));
    right.add(relEntr(qi, m));
  }
  const js = left.value + right.value;
  return Math.sqrt(Math.max(0, js / 2));
}

/**
 * Evidently's replacement for empty bins before PSI: zero proportions become
 * (smallest non-zero proportion) / 10^6 when that smallest proportion is <= 0.0001, and
 * 0.0001 otherwise. Returns a new array.
 */
export function fillEmptyBins(proportions: readonly number[]): number[] {
  let min = Infinity;
  for (const x of proportions) if (x !== 0 && x < min) min = x;
  if (min === Infinity) return proportions.slice();
  const eps = min <= 0.0001 ? min / 1e6 : 0.0001;
  return proportions.map((x) => (x === 0 ? eps : x));
}

/**
 * Population Stability Index between reference and current proportions over the same bins:
 * sum((r - c) ln(r / c)), after {@link fillEmptyBins} on each side (Evidently's `psi`).
 */
export function populationStabilityIndex(referenceProportions: readonly number[], currentProportions: readonly number[]): number {
  if (referenceProportions.length !== currentProportions.length) {
    throw new RangeError(`psi: ${referenceProportions.length} reference bins but ${currentProportions.length} current bins`);
  }
  const r = fillEmptyBins(referenceProportions);
  const c = fillEmptyBins(currentProportions);
  const sum = new CompensatedSum();
  for (let i = 0; i < r.length; i++) sum.add((r[i] - c[i]) * Math.log(r[i] / c[i]));
  return sum.value;
}

/** PSI bands: below 0.1 stable, 0.1 to 0.2 moderate, above 0.2 significant. */
export type PsiBand = 'stable' | 'moderate' | 'significant';

/** The conventional PSI band of a value. */
export function psiBand(psi: number): PsiBand {
  if (psi < 0.1) return 'stable';
  if (psi <= 0.2) return 'moderate';
  return 'significant';
}
