import * as fs from 'node:fs';
import * as path from 'node:path';
import { DATA } from './support';
import { referenceSchema } from '../../../../src/runtime/registry/schema';
import { loadDataset, takeRows } from '../../../../src/runtime/train/data';
import { columnReference, histogramCounts, quantileSorted, referenceStatistics, reservoir } from '../../../../src/runtime/train/reference';

const numpy = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'numpy-reference-stats.json'), 'utf8'));
const splits = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'splits-seed42.json'), 'utf8'));
const options = { bins: 20, quantiles: numpy.quantileLevels as number[], sampleSize: 5000, maxCategories: 20, seed: 42 };

describe('reference statistics', () => {
  test('equal numpy on the diabetes train split to 1e-9: moments, quantiles, equal-frequency histogram', async () => {
    const ds = await loadDataset(path.join(DATA, 'diabetes.csv'), { target: 'target', task: 'regression' });
    const rows = Int32Array.from(splits.diabetes.train as number[]);
    const d = ds.featureNames.length;
    const x = takeRows(ds.x, d, rows);
    const prediction = Float64Array.from(rows, (_, i) => x[i * d + 2] * 10);
    const ref = referenceStatistics({ featureNames: ds.featureNames, x, n: rows.length, prediction, task: 'regression', metrics: { rmse: 1 }, options });
    expect(referenceSchema.safeParse(ref).success).toBe(true);
    expect(ref.rows).toBe(numpy.rows);
    for (const f of ref.features) {
      const want = numpy.columns[f.name];
      expect(f.kind).toBe('numeric');
      expect(f.count).toBe(numpy.rows);
      expect(f.missing).toBe(0);
      expect(f.distinct).toBe(want.distinct);
      expect(f.min).toBe(want.min);
      expect(f.max).toBe(want.max);
      expect(Math.abs(f.mean! - want.mean)).toBeLessThan(1e-9);
      expect(Math.abs(f.std! - want.std)).toBeLessThan(1e-9);
      f.quantiles!.forEach((q, i) => expect(Math.abs(q - want.quantiles[i])).toBeLessThan(1e-9));
      expect(f.histogram!.binEdges).toHaveLength(want.binEdges.length);
      f.histogram!.binEdges.forEach((e, i) => expect(Math.abs(e - want.binEdges[i])).toBeLessThan(1e-9));
      expect(f.histogram!.counts).toEqual(want.counts);
      // Every value, in row order, when there are no more than sampleSize.
      expect(f.sample).toEqual(Array.from({ length: rows.length }, (_, i) => x[i * d + ds.featureNames.indexOf(f.name)]));
    }
    // sex has 2 values: frequencies besides the histogram (merged tied edges leave one bin).
    const sex = ref.features.find((f) => f.name === 'sex')!;
    const ones = Array.from(rows).filter((r) => ds.x[r * d + 1] === 1).length;
    expect(sex.frequencies).toEqual({ 1: ones, 2: numpy.rows - ones });
    expect(sex.histogram).toEqual({ binEdges: [1, 2], counts: [numpy.rows] });
    expect(ref.features.find((f) => f.name === 'bmi')!.frequencies).toBeUndefined();
    expect(ref.prediction.name).toBe('prediction');
    expect(ref.prediction.mean).toBeCloseTo(numpy.columns.bmi.mean * 10, 9);
  });

  test('helpers: type-7 quantiles, left-closed bins with the last one closed, seeded reservoir', () => {
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantileSorted([1, 2, 3, 4], 0.25)).toBe(1.75);
    expect(quantileSorted([7], 0.9)).toBe(7);
    expect(histogramCounts([0, 1, 1, 2, 3, 3], [0, 1, 2, 3])).toEqual([1, 2, 3]);
    const values = Float64Array.from({ length: 10_000 }, (_, i) => i);
    const a = reservoir(values, 100, 5);
    expect(a).toHaveLength(100);
    expect(reservoir(values, 100, 5)).toEqual(a);
    expect(reservoir(values, 100, 6)).not.toEqual(a);
    expect(new Set(a).size).toBe(100);
    // Unbiased: the mean of the sample is near the mean of the values.
    expect(Math.abs(a.reduce((s, v) => s + v, 0) / 100 - 4999.5)).toBeLessThan(1000);
    expect(columnReference('c', Float64Array.from([3, 3, 3]), 'numeric', options)).toMatchObject({ distinct: 1, min: 3, max: 3, std: 0, frequencies: { 3: 3 } });
    expect(columnReference('c', Float64Array.from([3, 3, 3]), 'numeric', options).histogram).toBeUndefined();
    const labels = columnReference('prediction', Float64Array.from([1, 0, 1, 1]), 'categorical', options);
    expect(labels).toEqual({ name: 'prediction', kind: 'categorical', count: 4, missing: 0, distinct: 2, frequencies: { 0: 1, 1: 3 }, sample: [1, 0, 1, 1] });
  });
});
