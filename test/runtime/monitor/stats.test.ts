import * as path from 'node:path';
import { SampleSpec, close, fsum, generate, num, readCsv, scipyReference } from './fixtures';
import { evaluateColumn, planFromReference, referenceColumn } from '../../../src/runtime/monitor/drift';
import { ColumnState } from '../../../src/runtime/monitor/state';
import {
  chiSquareTest,
  jensenShannonDistance,
  populationStabilityIndex,
  proportionZTest,
  psiBand,
  wassersteinDistance,
  wassersteinNorm,
} from '../../../src/runtime/monitor/stats/drift-tests';
import { KsMethod, ks2samp, roundHalfEven } from '../../../src/runtime/monitor/stats/ks';
import { chi2Sf, kolmogorovSmirnovSf, logGamma, normalSf } from '../../../src/runtime/monitor/stats/special';
import type { ColumnReference } from '../../../src/runtime/registry/types';

/* eslint-disable @typescript-eslint/no-explicit-any */
const ref = scipyReference();
const TOL = 1e-9;

/** Relative comparison for probabilities (which span 1e-300..1): |a - b| <= tol * |b|, or both 0. */
function relClose(actual: number, expected: number, tol = TOL): boolean {
  if (expected === 0) return actual === 0 || Math.abs(actual) < 1e-300;
  return Math.abs(actual - expected) <= tol * Math.abs(expected);
}

function sample(spec: SampleSpec, checksum: number): number[] {
  const v = generate(spec);
  // the same bits as the Python generator, or no statistic comparison means anything
  expect(fsum(v)).toBe(checksum);
  return v;
}

const sorted = (a: readonly number[]) => Float64Array.from(a).sort();

describe('special functions equal SciPy', () => {
  test(`kstwo.sf over ${ref.kstwoSf.length} (n, d) points, every branch of Simard-L'Ecuyer (relative 1e-9)`, () => {
    const bad = ref.kstwoSf.filter((g: any) => !relClose(kolmogorovSmirnovSf(g.n, g.d), num(g.sf)));
    expect(bad).toEqual([]);
  });

  test('chi2.sf and norm.sf (relative 1e-9)', () => {
    const badChi = ref.chi2Sf.filter((g: any) => !relClose(chi2Sf(g.x, g.df), num(g.sf)));
    const badNorm = ref.normSf.filter((g: any) => !relClose(normalSf(g.z), num(g.sf)));
    expect(badChi).toEqual([]);
    expect(badNorm).toEqual([]);
  });

  test('log-gamma at integers equals ln((n-1)!)', () => {
    let lf = 0;
    for (let n = 1; n <= 170; n++) {
      expect(Math.abs(logGamma(n) - lf)).toBeLessThanOrEqual(1e-13 * Math.max(1, lf));
      lf += Math.log(n);
    }
  });

  test('round half to even, as numpy.round', () => {
    expect([0.5, 1.5, 2.5, 936.5, 937.5, 2.4, 2.6].map(roundHalfEven)).toEqual([0, 2, 2, 936, 938, 2, 3]);
  });
});

describe.each<[string, any]>(ref.numeric.map((c: any): [string, any] => [c.name, c]))('numeric case: %s', (_name, c: any) => {
  const a = sample(c.reference, c.checksum.reference);
  const b = sample(c.current, c.checksum.current);

  test.each(Object.keys(c.ks))('ks_2samp method=%s: statistic and p-value', (method) => {
    const r = ks2samp(a, b, method as KsMethod);
    expect(close(r.statistic, c.ks[method].statistic, TOL)).toBe(true);
    expect(relClose(r.pValue, num(c.ks[method].pvalue))).toBe(true);
    if (method === 'auto') expect(r.method).toBe(c.ksAutoMethod);
  });

  test('wasserstein_distance and the normed score', () => {
    const w = wassersteinDistance(sorted(a), sorted(b));
    expect(relClose(w, c.wasserstein)).toBe(true);
    expect(relClose(wassersteinNorm(w, c.referenceStd), c.wassersteinNorm)).toBe(true);
  });

  test('Jensen-Shannon and PSI on the reference bin edges (current clamped into the end bins)', () => {
    const rc = referenceColumn({ name: 'x', kind: 'numeric', count: a.length, missing: 0, distinct: 1001, min: Math.min(...a), max: Math.max(...a), histogram: { binEdges: c.binEdges, counts: c.referenceCounts }, sample: a });
    const st = new ColumnState(planFromReference(rc), { mode: 'exact' });
    for (const v of b) st.add(v);
    expect(Array.from(st.histogram!)).toEqual(c.currentCounts);
    const p = (x: number[]) => x.map((v) => v / a.length);
    const q = Array.from(st.histogram!).map((v) => v / b.length);
    expect(close(jensenShannonDistance(p(c.referenceCounts), q), c.jensenShannon, TOL)).toBe(true);
    expect(close(populationStabilityIndex(p(c.referenceCounts), q), c.psi, TOL)).toBe(true);
  });

  test('the monitor pipeline (reference column + streaming state, exact mode) gives the same KS and Wasserstein', () => {
    const column: ColumnReference = { name: 'x', kind: 'numeric', count: a.length, missing: 0, distinct: 1001, histogram: { binEdges: c.binEdges, counts: c.referenceCounts }, sample: a };
    const rc = referenceColumn(column);
    const st = new ColumnState(planFromReference(rc), { mode: 'exact' });
    for (const v of b) st.add(v);
    const ks = evaluateColumn(rc, st, { columns: { x: { method: 'ks' } }, minCurrentValues: 1 });
    expect(close(ks.statistic, c.ks.auto.statistic, TOL)).toBe(true);
    expect(relClose(ks.pValue!, num(c.ks.auto.pvalue))).toBe(true);
    expect(ks.drifted).toBe(num(c.ks.auto.pvalue) < 0.05);
    const w = evaluateColumn(rc, st, { columns: { x: { method: 'wasserstein' } }, minCurrentValues: 1 });
    expect(relClose(w.statistic, c.wassersteinNorm)).toBe(true);
    expect(w.drifted).toBe(c.wassersteinNorm >= 0.1);
  });
});

describe.each<[string, any]>(ref.categorical.map((c: any): [string, any] => [c.name, c]))('categorical case: %s', (_name, c: any) => {
  const a = sample(c.reference, c.checksum.reference);
  const b = sample(c.current, c.checksum.current);

  test('chisquare (Evidently expected counts), Jensen-Shannon, PSI', () => {
    const chi = chiSquareTest(c.referenceCounts, c.currentCounts);
    expect(close(chi.statistic, num(c.chiSquare.statistic), TOL)).toBe(true);
    expect(relClose(chi.pValue, num(c.chiSquare.pvalue))).toBe(true);
    const p = c.referenceCounts.map((x: number) => x / a.length);
    const q = c.currentCounts.map((x: number) => x / b.length);
    expect(close(jensenShannonDistance(p, q), c.jensenShannon, TOL)).toBe(true);
    expect(close(populationStabilityIndex(p, q), c.psi, TOL)).toBe(true);
  });

  test('the pipeline counts categories from raw values and reaches the same verdicts', () => {
    const freq: Record<string, number> = {};
    for (const v of a) freq[String(v)] = (freq[String(v)] ?? 0) + 1;
    const rc = referenceColumn({ name: 'c', kind: 'categorical', count: a.length, missing: 0, distinct: Object.keys(freq).length, frequencies: freq });
    const st = new ColumnState(planFromReference(rc));
    for (const v of b) st.add(String(v));
    const chi = evaluateColumn(rc, st, { columns: { c: { method: 'chisquare' } } });
    expect(close(chi.statistic, num(c.chiSquare.statistic), TOL)).toBe(true);
    expect(relClose(chi.pValue!, num(c.chiSquare.pvalue))).toBe(true);
    const js = evaluateColumn(rc, st, { columns: { c: { method: 'jensenshannon' } } });
    expect(close(js.statistic, c.jensenShannon, TOL)).toBe(true);
    expect(close(js.psi, c.psi, TOL)).toBe(true);
    expect(js.psiBand).toBe(psiBand(c.psi));
    const unknown = c.categories.filter((k: string) => !(k in freq)).length;
    expect(st.unknownCategories > 0).toBe(unknown > 0);
  });
});

describe.each<[string, any]>(ref.zTest.map((c: any): [string, any] => [c.name, c]))('binary case: %s', (_name, c: any) => {
  test('two-proportion z-test', () => {
    const a = sample(c.reference, c.checksum.reference);
    const b = sample(c.current, c.checksum.current);
    const ones = (x: number[]) => x.filter((v) => v === 1).length;
    const r = proportionZTest(ones(a), a.length, ones(b), b.length);
    expect(close(r.statistic, c.z, TOL)).toBe(true);
    // Evidently's 2 * (1 - Phi(|z|)) to 1e-9 absolute, and SciPy's 2 * sf(|z|) to 1e-9 relative
    expect(close(r.pValue, c.pvalue, TOL)).toBe(true);
    expect(relClose(r.pValue, c.pvalueSf)).toBe(true);
  });
});

describe('real data: breast_cancer, reference = even rows, current = odd rows with target 1', () => {
  const csv = readCsv(path.join(__dirname, '..', '..', 'fixtures', 'data', 'breast_cancer.csv'));
  const target = csv.header.indexOf('target');
  test.each<[string, any]>(ref.breastCancer.map((c: any): [string, any] => [c.column, c]))('%s: KS, normed Wasserstein, JS and PSI on 20 reference bins', (column, c: any) => {
    const j = csv.header.indexOf(column as string);
    const a = csv.rows.filter((_, i) => i % 2 === 0).map((r) => r[j]);
    const b = csv.rows.filter((r, i) => i % 2 === 1 && r[target] === 1).map((r) => r[j]);
    expect([a.length, b.length]).toEqual([c.nReference, c.nCurrent]);
    const counts = new Array(c.bins).fill(0);
    const rc0 = referenceColumn({ name: column as string, kind: 'numeric', count: a.length, missing: 0, distinct: 1001, histogram: { binEdges: c.binEdges, counts }, sample: a });
    const refState = new ColumnState(planFromReference(rc0), { mode: 'exact' });
    for (const v of a) refState.add(v);
    const rc = referenceColumn({ name: column as string, kind: 'numeric', count: a.length, missing: 0, distinct: 1001, histogram: { binEdges: c.binEdges, counts: Array.from(refState.histogram!) }, sample: a });
    const st = new ColumnState(planFromReference(rc), { mode: 'exact' });
    for (const v of b) st.add(v);
    const ks = evaluateColumn(rc, st, { columns: { [column as string]: { method: 'ks' } } });
    expect(close(ks.statistic, c.ks.statistic, TOL)).toBe(true);
    expect(relClose(ks.pValue!, num(c.ks.pvalue))).toBe(true);
    const w = evaluateColumn(rc, st, { columns: { [column as string]: { method: 'wasserstein' } } });
    expect(relClose(w.statistic, c.wassersteinNorm)).toBe(true);
    const js = evaluateColumn(rc, st, { columns: { [column as string]: { method: 'jensenshannon' } } });
    expect(close(js.statistic, c.jensenShannon, TOL)).toBe(true);
    expect(close(js.psi, c.psi, TOL)).toBe(true);
  });
});
