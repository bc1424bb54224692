import { generate } from './fixtures';
import { TrainReferenceSchema } from '../../../src/runtime/config/train';
import { evaluateColumn, planFromReference, referenceColumn } from '../../../src/runtime/monitor/drift';
import { KllSketch } from '../../../src/runtime/monitor/sketch/kll';
import { ColumnState, OTHER_CATEGORY } from '../../../src/runtime/monitor/state';
import { ksStatistic, walkCdfs } from '../../../src/runtime/monitor/stats/ks';
import { WindowState, referenceColumns } from '../../../src/runtime/monitor/window';
import type { ColumnReference, ReferenceStatistics } from '../../../src/runtime/registry/types';
import { columnReference } from '../../../src/runtime/train/reference';

/** Reference statistics of a numeric column, as the training harness computes them. */
function numericColumnReference(name: string, values: readonly number[]): ColumnReference {
  return columnReference(name, Float64Array.from(values), 'numeric', { ...TrainReferenceSchema.parse({}), seed: 1 });
}

/** A categorical column with string values (frequencies only). */
function categoricalColumnReference(name: string, values: readonly (string | number)[]): ColumnReference {
  const frequencies: Record<string, number> = {};
  for (const v of values) frequencies[String(v)] = (frequencies[String(v)] ?? 0) + 1;
  return { name, kind: 'categorical', count: values.length, missing: 0, distinct: Object.keys(frequencies).length, frequencies };
}

/** Seeded uniform generator (32-bit LCG), for data that is not compared with Python. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** Samples from several shapes: bimodal, skewed, heavy-tailed, discrete-with-ties. */
function draw(shape: number, n: number, seed: number): Float64Array {
  const u = lcg(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const a = u();
    switch (shape % 4) {
      case 0: out[i] = a < 0.3 ? u() * 2 - 5 : u() + u() + 3; break;
      case 1: out[i] = a * a * a * 100; break;
      case 2: out[i] = a / (1 - a + 1e-3); break;
      default: out[i] = Math.floor(a * 50) / 10; break;
    }
  }
  return out;
}

/** Exact sup |F_sketch - F| over all points. */
function rankError(values: Float64Array, sk: KllSketch): number {
  const sorted = Float64Array.from(values).sort();
  const view = sk.sortedView();
  return ksStatistic(sorted, view.values, undefined, view.weights);
}

describe('KLL sketch', () => {
  test('holds every value exactly until its first compaction (n < k)', () => {
    const v = draw(0, 900, 1);
    const sk = new KllSketch(1000);
    sk.updateMany(v);
    expect(sk.isExact).toBe(true);
    expect(sk.rankErrorBound()).toBe(0);
    expect(rankError(v, sk)).toBe(0);
    expect(sk.min).toBe(Math.min(...v));
    expect(sk.max).toBe(Math.max(...v));
  });

  test.each([
    [200, 50_000], [200, 200_000], [1000, 200_000],
  ])('k=%d, n=%d: the measured rank error stays within the tracked 99%% bound, over 2 seeds x 4 shapes', (k, n) => {
    let worstRatio = 0;
    for (let shape = 0; shape < 4; shape++) {
      for (let seed = 1; seed <= 2; seed++) {
        const v = draw(shape, n, seed * 1000 + shape);
        const sk = new KllSketch(k, seed);
        sk.updateMany(v);
        const err = rankError(v, sk);
        const bound = sk.rankErrorBound(0.01);
        expect(sk.isExact).toBe(false);
        expect(err).toBeLessThanOrEqual(bound);
        worstRatio = Math.max(worstRatio, err / bound);
        // the bound is meaningful: about 7.5 / k for these sizes
        expect(bound).toBeLessThan(10 / k);
      }
    }
    expect(worstRatio).toBeGreaterThan(0);
  });

  test('memory does not grow with n: retained items at 2M values are within 10% of those at 200k', () => {
    const u = lcg(5);
    const sk = new KllSketch(1000);
    let at200k = 0;
    for (let i = 0; i < 2_000_000; i++) {
      sk.update(u());
      if (i === 199_999) at200k = sk.retainedItems;
    }
    expect(sk.retainedItems).toBeLessThan(6 * 1000);
    expect(sk.retainedItems / at200k).toBeLessThan(1.1);
  });

  test('a merge of 8 shard sketches is within its bound of the whole data, and serialises losslessly', () => {
    const v = draw(1, 300_000, 77);
    const merged = new KllSketch(400, 1);
    for (let s = 0; s < 8; s++) {
      const shard = new KllSketch(400, 100 + s);
      shard.updateMany(v, (s * v.length) / 8, ((s + 1) * v.length) / 8);
      merged.merge(KllSketch.fromJSON(JSON.parse(JSON.stringify(shard.toJSON()))));
    }
    expect(merged.n).toBe(v.length);
    expect(rankError(v, merged)).toBeLessThanOrEqual(merged.rankErrorBound());
    const copy = KllSketch.fromJSON(JSON.parse(JSON.stringify(merged)));
    expect(copy.sortedView()).toEqual(merged.sortedView());
    expect(copy.rankErrorBound()).toBe(merged.rankErrorBound());
  });

  test('rejects a bad k and a corrupted serialised state', () => {
    expect(() => new KllSketch(4)).toThrow(/'k' \(4\) must be an integer/);
    const sk = new KllSketch(50);
    sk.updateMany(draw(0, 1000, 3));
    const json = sk.toJSON();
    expect(() => KllSketch.fromJSON({ ...json, n: json.n + 1 })).toThrow(/does not match n/);
  });
});

describe('sketch mode against exact mode: KS and Wasserstein within the documented bounds', () => {
  test.each([0, 1, 2, 3])('shape %d, 200k current values vs a 1000-value reference', (shape) => {
    const refValues = Array.from(draw(shape, 1000, 9));
    const cur = draw(shape, 200_000, 10 + shape);
    for (let i = 0; i < cur.length; i += 3) cur[i] += 0.05 * (shape + 1);
    const column = numericColumnReference('x', refValues);
    const rc = referenceColumn(column);
    const exact = new ColumnState(planFromReference(rc), { mode: 'exact' });
    const sketch = new ColumnState(planFromReference(rc), { mode: 'sketch', sketchK: 400 });
    exact.addNumbers(cur);
    sketch.addNumbers(cur);
    const opts = (m: 'ks' | 'wasserstein') => ({ columns: { x: { method: m } } });
    const ke = evaluateColumn(rc, exact, opts('ks'));
    const ks = evaluateColumn(rc, sketch, opts('ks'));
    expect(ks.errorBound?.ks).toBeGreaterThan(0);
    expect(Math.abs(ks.statistic - ke.statistic)).toBeLessThanOrEqual(ks.errorBound!.ks!);
    const we = evaluateColumn(rc, exact, opts('wasserstein'));
    const ws = evaluateColumn(rc, sketch, opts('wasserstein'));
    expect(Math.abs(ws.statistic - we.statistic)).toBeLessThanOrEqual(ws.errorBound!.wasserstein!);
    // everything that does not depend on the sketch is identical
    expect(ks.psi).toBe(ke.psi);
    expect(ks.quality).toEqual(ke.quality);
    expect(sketch.histogram).toEqual(exact.histogram);
  });
});

describe('KS against a sampled reference', () => {
  test('a large reference stored as a sample: the test uses the sample size, so identical distributions do not drift', () => {
    let falseAlarms = 0;
    for (let trial = 0; trial < 10; trial++) {
      // 100k reference rows, stored as a 5,000-value sample; 100k current rows, same distribution.
      const column = numericColumnReference('x', Array.from(draw(1, 100_000, 500 + trial)));
      expect(column.count).toBe(100_000);
      expect(column.sample!.length).toBe(5000);
      const rc = referenceColumn(column);
      const state = new ColumnState(planFromReference(rc), { mode: 'exact' });
      state.addNumbers(draw(1, 100_000, 900 + trial));
      const r = evaluateColumn(rc, state, { columns: { x: { method: 'ks' } } });
      expect(r.referenceApproximate).toBe(true);
      if (r.drifted) falseAlarms++;
    }
    // p < 0.05 by chance: about 1 in 20 trials; with the row count instead of the sample size every trial alarmed.
    expect(falseAlarms).toBeLessThanOrEqual(2);
  });

  test('a real shift is still detected through the sample', () => {
    const column = numericColumnReference('x', Array.from(draw(1, 100_000, 7)));
    const rc = referenceColumn(column);
    const state = new ColumnState(planFromReference(rc), { mode: 'exact' });
    const cur = draw(1, 20_000, 8);
    for (let i = 0; i < cur.length; i++) cur[i] += 0.3 * (column.std ?? 1);
    state.addNumbers(cur);
    const r = evaluateColumn(rc, state, { columns: { x: { method: 'ks' } } });
    expect(r.drifted).toBe(true);
    expect(r.pValue!).toBeLessThan(1e-6);
  });
});

function reference(): ReferenceStatistics {
  const u = lcg(42);
  const a = Array.from({ length: 800 }, () => u() * 10);
  const b = Array.from({ length: 800 }, () => Math.floor(u() * 4));
  const c = Array.from({ length: 800 }, () => ['red', 'green', 'blue'][Math.floor(u() * 3)]);
  return {
    schemaVersion: 1,
    rows: 800,
    quantileLevels: [0.5],
    sampleSize: 1000,
    features: [numericColumnReference('a', a), numericColumnReference('b', b), categoricalColumnReference('c', c)],
    prediction: categoricalColumnReference('prediction', a.map((v) => (v > 5 ? 1 : 0))),
    metrics: {},
  };
}

function records(n: number, seed: number): unknown[] {
  const u = lcg(seed);
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const rows = 1 + Math.floor(u() * 3);
    const inputs = [];
    const outputs = [];
    for (let r = 0; r < rows; r++) {
      const a = u() * 11 - 0.5;
      inputs.push({ a, b: Math.floor(u() * 5), c: ['red', 'green', 'blue', 'violet'][Math.floor(u() * 4)] });
      outputs.push(a > 5 ? 1 : 0);
    }
    out.push({ id: `r${i}`, model: 'm', version: 1, variant: 'primary', ts: new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString(), inputs, outputs });
  }
  return out;
}

describe('shard merge equals one pass', () => {
  test.each(['exact', 'sketch', 'auto'] as const)('mode %s: 5 shards through JSON, merged, against one pass over the same records', (mode) => {
    const ref = referenceColumns(reference());
    const recs = records(3000, 7);
    const options = { mode, sketchK: 200, exactMaxValues: 1500 };
    const one = new WindowState(ref, options);
    for (const r of recs) one.addRecord(r);
    let merged: WindowState | undefined;
    for (let s = 0; s < 5; s++) {
      const shard = new WindowState(ref, options);
      for (let i = s; i < recs.length; i += 5) shard.addRecord(recs[i]);
      const restored = WindowState.fromJSON(ref, JSON.parse(JSON.stringify(shard.toJSON())), options);
      merged = merged ? merged.merge(restored) : restored;
    }
    const m = merged!;
    const exact = new WindowState(ref, { mode: 'exact' });
    for (const r of recs) exact.addRecord(r);
    expect([m.records, m.rows, m.badRecords, m.badRows]).toEqual([one.records, one.rows, one.badRecords, one.badRows]);
    expect([m.firstTs, m.lastTs]).toEqual([one.firstTs, one.lastTs]);
    m.features.forEach((f, i) => {
      const o = one.features[i];
      const counters = (c: typeof f) => [c.rows, c.missing, c.typeErrors, c.nonFinite, c.outOfRange, c.unknownCategories, c.count];
      expect(counters(f)).toEqual(counters(o));
      expect(f.histogram).toEqual(o.histogram);
      expect(f.categories).toEqual(o.categories);
      if (f.plan.kind === 'numeric') {
        expect(Math.abs(f.mean - o.mean)).toBeLessThan(1e-12 * Math.max(1, Math.abs(o.mean)));
        expect(Math.abs(f.std - o.std)).toBeLessThan(1e-12 * Math.max(1, o.std));
        expect([f.min, f.max]).toEqual([o.min, o.max]);
        expect(f.distinct === null).toBe(o.distinct === null);
        const fv = f.sortedValues();
        const ov = o.sortedValues();
        if (mode === 'exact') {
          expect(fv.values).toEqual(ov.values);
        } else {
          // the merged sketch stays within its bound of the true distribution
          const truth = exact.features[i].sortedValues().values;
          let err = 0;
          walkCdfs(truth, fv.values, (_x, a, b) => { err = Math.max(err, Math.abs(a - b)); }, undefined, fv.weights);
          expect(err).toBeLessThanOrEqual(fv.rankErrorBound + 1e-12);
          expect(ov.values.length).toBeGreaterThan(0);
        }
      }
    });
    expect(m.prediction.categories).toEqual(one.prediction.categories);
  });

  test('merging states of different columns is refused with the column names', () => {
    const ref = referenceColumns(reference());
    const w = new WindowState(ref);
    expect(() => w.features[0].merge(w.features[1])).toThrow("cannot merge state of column 'b' (numeric) into 'a' (numeric)");
  });
});

describe('bad rows are counted and reported, never thrown', () => {
  test('NaN, missing fields, wrong types, non-finite numbers, unknown categories, malformed records', () => {
    const w = new WindowState(referenceColumns(reference()));
    const ok = w.addRecord({ inputs: [{ a: 1, b: 2, c: 'red' }], outputs: [0] });
    expect(ok).toBe(true);
    w.addRecord({ inputs: [{ a: Number.NaN, b: 'two', c: 'violet' }, { b: 1, c: 3 }, { a: Infinity, b: true, c: { x: 1 } }, null, { a: 2, b: 1, c: 'blue', extra: 5 }], outputs: [1, 0, 1, 0, 1] });
    expect(w.addRecord({ inputs: 'not rows' })).toBe(false);
    expect(w.addRecord(null)).toBe(false);
    expect(w.addRecord({ inputs: [{}], outputs: [1, 2] })).toBe(false);
    w.addUnparsable();
    const [a, b, c] = w.features;
    expect([w.records, w.rows, w.badRecords]).toEqual([6, 6, 4]);
    // rows: 1 good; NaN/'two'/'violet' bad; missing a bad; Infinity/true/object bad; null bad; 'extra' row good
    expect(w.badRows).toBe(4);
    expect([a.missing, a.nonFinite, a.count]).toEqual([3, 1, 2]);
    expect([b.typeErrors, b.missing, b.count]).toEqual([1, 1, 4]);
    expect([c.typeErrors, c.unknownCategories, c.missing, c.count]).toEqual([1, 2, 1, 4]); // 'violet' and 3
    expect(c.categories!.get('3')).toBe(1);
    expect(Object.fromEntries(w.unexpectedFields)).toEqual({ extra: 1 });
  });

  test('categories past the cap are counted together, not dropped', () => {
    const rc = referenceColumn(categoricalColumnReference('c', ['a', 'b']));
    const st = new ColumnState(planFromReference(rc), { categoryCap: 3 });
    for (const v of ['a', 'b', 'c', 'd', 'e', 'd', 'a']) st.add(v);
    expect(Object.fromEntries(st.categories!)).toEqual({ a: 2, b: 1, c: 1 });
    expect(st.categoryOverflow).toBe(3);
    const r = evaluateColumn(rc, st, { minCurrentValues: 1, columns: { c: { method: 'jensenshannon' } } });
    expect(r.chart.type === 'categories' && r.chart.categories).toContain(OTHER_CATEGORY);
  });

  test('a column with too few current values is skipped with the reason, and left out of the drifted share', () => {
    const rc = referenceColumn(numericColumnReference('x', generate({ seed: 1, n: 200, dist: 'normal4' })));
    const st = new ColumnState(planFromReference(rc));
    st.add(1);
    const r = evaluateColumn(rc, st);
    expect(r.skipped).toBe('1 current value(s), fewer than the 30 needed');
    expect(r.drifted).toBe(false);
  });
});

describe('columnar and row-wise input give the same state', () => {
  test('addNumbers (fast path) equals add per value: counters, histogram, mean and variance', () => {
    const values = Array.from(draw(0, 5000, 11));
    values[7] = Number.NaN;
    values[99] = Infinity;
    values[100] = -Infinity;
    const rc = referenceColumn(numericColumnReference('x', Array.from(draw(0, 800, 12))));
    const a = new ColumnState(planFromReference(rc), { mode: 'exact' });
    const b = new ColumnState(planFromReference(rc), { mode: 'exact' });
    for (const v of values) a.add(v);
    for (let i = 0; i < values.length; i += 777) b.addNumbers(Float64Array.from(values.slice(i, i + 777)));
    expect([b.rows, b.missing, b.nonFinite, b.outOfRange, b.count, b.min, b.max]).toEqual([a.rows, a.missing, a.nonFinite, a.outOfRange, a.count, a.min, a.max]);
    expect(b.histogram).toEqual(a.histogram);
    expect(b.sortedValues().values).toEqual(a.sortedValues().values);
    expect(Math.abs(b.mean - a.mean)).toBeLessThan(1e-12 * Math.abs(a.mean));
    expect(Math.abs(b.std - a.std)).toBeLessThan(1e-12 * a.std);
  });
});
