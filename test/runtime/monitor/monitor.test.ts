import * as fs from 'node:fs';
import * as path from 'node:path';
import { FEATURES, LIVE_ROWS, depsFor, registerModel, rowsOf, testConfig, tmpDir, writeTraffic } from './support';
import { runMonitorOnce } from '../../../src/runtime/monitor/monitor';
import type { MonitorResult } from '../../../src/runtime/monitor/result';

/**
 * The monitor end to end on real data (breast_cancer): reference statistics written by the
 * training harness's code for rows i % 3 != 0; live traffic = rows i % 3 == 0, logged as the
 * serving runtime logs it, with ground-truth labels.
 *
 * A note on the null case: with 30 features tested at p < 0.05, a random split produces about
 * 1.5 false alarms on average. This split (every third row) is fixed, not searched for; on it
 * SciPy's smallest untouched p-value is 0.16 (symmetry_error), so "nothing drifts" is the
 * correct answer and is asserted.
 */

const NOW = Date.UTC(2025, 4, 1, 12, 30, 0);
const SHIFTED = { mean_texture: (v: number) => v * 1.3, mean_smoothness: (v: number) => v * 1.25, concavity_error: (v: number) => v * 2 };

async function scenario(name: string, shift: Record<string, (v: number) => number>): Promise<{ result: MonitorResult; root: string; html: string; metrics: string }> {
  const root = tmpDir(name);
  const version = await registerModel(path.join(root, 'registry'), 'cancer');
  const { features, target } = rowsOf(LIVE_ROWS);
  const live = features.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, shift[k] ? shift[k](v) : v])));
  writeTraffic(path.join(root, 'logs'), 'cancer', version, live, target, NOW - 20 * 60_000);
  const config = testConfig(root, 'cancer');
  const deps = depsFor(config, () => NOW);
  const { result, outputs } = await runMonitorOnce(config, deps);
  return { result, root, html: fs.readFileSync(outputs.html!, 'utf8'), metrics: await deps.metrics.text() };
}

describe('monitor on breast_cancer', () => {
  let clean: Awaited<ReturnType<typeof scenario>>;
  let shifted: Awaited<ReturnType<typeof scenario>>;
  beforeAll(async () => {
    clean = await scenario('clean', {});
    shifted = await scenario('shifted', SHIFTED);
  });

  test('unshifted traffic: no feature, prediction or dataset drift; performance matches the reference', () => {
    const r = clean.result;
    expect(r.version).toBe(1);
    expect(r.records).toMatchObject({ rows: LIVE_ROWS.length, badRows: 0, badRecords: 0, unparsable: 0 });
    expect(r.features).toHaveLength(30);
    // the automatic choice for a 380-row reference: KS for these continuous features
    expect(new Set(r.features.map((f) => f.method))).toEqual(new Set(['ks']));
    expect(r.features.filter((f) => f.drifted).map((f) => f.name)).toEqual([]);
    expect(Math.min(...r.features.map((f) => f.pValue!))).toBeGreaterThan(0.15);
    expect(r.dataset).toMatchObject({ tested: 30, drifted: 0, share: 0, datasetDrift: false });
    expect(r.prediction).toMatchObject({ method: 'z', drifted: false });
    expect(r.performance.evaluated).toBe(true);
    expect(r.performance.labeledRows).toBe(LIVE_ROWS.length);
    expect(r.performance.decayed).toBe(false);
    expect(r.performance.comparisons.map((c) => c.metric).sort()).toEqual(['accuracy', 'f1', 'precision', 'recall']);
    expect(r.conditions).toEqual({ dataset_drift: false, prediction_drift: false, performance_decay: false, data_quality: false });
  });

  test('three shifted features are detected, the 27 untouched ones are not', () => {
    const r = shifted.result;
    const drifted = r.features.filter((f) => f.drifted).map((f) => f.name).sort();
    expect(drifted).toEqual(Object.keys(SHIFTED).sort());
    for (const f of r.features) {
      if (SHIFTED[f.name as keyof typeof SHIFTED]) {
        expect(f.pValue!).toBeLessThan(1e-4);
        expect(f.psi).toBeGreaterThan(0.2);
        expect(f.psiBand).toBe('significant');
      } else {
        expect(f.pValue!).toBeGreaterThanOrEqual(0.05);
        // untouched features get exactly the unshifted verdicts
        const same = clean.result.features.find((c) => c.name === f.name)!;
        expect(f.statistic).toBe(same.statistic);
      }
    }
    expect(r.dataset).toMatchObject({ tested: 30, drifted: 3, datasetDrift: false });
    expect(r.dataset.share).toBeCloseTo(0.1, 12);
    // shifted values leave the reference's range: reported as data quality
    const tex = r.features.find((f) => f.name === 'mean_texture')!;
    expect(tex.quality.outOfRange).toBeGreaterThan(0);
    // only shifted features can leave the range; mean_smoothness x1.25 does for more than 5% of rows
    expect(r.quality.issues.map((i) => `${i.column}:${i.issue}`)).toContain('mean_smoothness:out_of_range');
    expect(r.quality.issues.every((i) => i.issue === 'out_of_range' && i.column in SHIFTED)).toBe(true);
    expect(r.conditions.data_quality).toBe(true);
  });

  test('Prometheus metrics carry the per-feature verdicts and the dataset summary', () => {
    const m = shifted.metrics;
    expect(m).toMatch(/cdk_mlops_drift_detected\{model="cancer",version="1",feature="mean_texture",method="ks"\} 1/);
    expect(m).toMatch(/cdk_mlops_drift_detected\{model="cancer",version="1",feature="mean_radius",method="ks"\} 0/);
    expect(m).toMatch(/cdk_mlops_drifted_share\{model="cancer",version="1"\} 0\.1/);
    expect(m).toMatch(/cdk_mlops_dataset_drift\{model="cancer",version="1"\} 0/);
    expect(m).toMatch(/cdk_mlops_performance\{model="cancer",version="1",metric="accuracy"\} 0\.\d+/);
    expect(m).toMatch(/cdk_mlops_monitor_last_success_timestamp_seconds\{model="cancer"\} 1746102600/);
    const p = /cdk_mlops_drift_p_value\{model="cancer",version="1",feature="mean_smoothness",method="ks"\} (\S+)/.exec(m);
    expect(Number(p![1])).toBe(shifted.result.features.find((f) => f.name === 'mean_smoothness')!.pValue);
  });

  test('the HTML report is self-contained and its charts hold the result\'s distributions', () => {
    const html = shifted.html;
    const r = shifted.result;
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    // no external asset, no script that runs
    expect(html).not.toMatch(/<(script|link|img|iframe)\b(?![^>]*type="application\/json")[^>]*>/i);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//i);
    expect(html).toContain('No dataset drift: 3 of 30 tested features drifted');
    const svgs = [...html.matchAll(/<svg class="chart" data-feature="([^"]+)" data-kind="(\w+)"[\s\S]*?<\/svg>/g)];
    // one chart per feature plus the prediction
    expect(svgs.map((s) => s[1]).sort()).toEqual([...FEATURES, 'prediction'].sort());
    for (const f of [...r.features, r.prediction]) {
      const svg = svgs.find((s) => s[1] === f.name)![0];
      expect(svg).toContain(`data-kind="${f.chart.type}"`);
      for (const series of ['reference', 'current'] as const) {
        const bars = [...svg.matchAll(new RegExp(`<rect class="bar ${series}" data-series="${series}" data-index="(\\d+)" data-value="([^"]+)" x="[^"]+" y="[^"]+" width="[^"]+" height="([^"]+)"`, 'g'))];
        const values = bars.map((b) => Number(b[2]));
        expect(values).toEqual(f.chart[series]);
        // bar heights are proportional to the values (the tallest bar is the full plot height)
        const max = Math.max(...f.chart.reference, ...f.chart.current);
        bars.forEach((b) => expect(Number(b[3])).toBeCloseTo((Number(b[2]) / max) * 154, 1));
      }
      expect(f.chart.reference.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    }
    // the verdicts, the method and the threshold are shown for each feature
    const section = html.slice(html.indexOf('<section class="column" id="feature-1">'));
    expect(section).toMatch(/<h3>mean_texture <span class="badge bad">drift<\/span><\/h3>/);
    expect(section).toContain('method: <b>ks</b>');
    expect(section).toContain('drift when: p &lt; 0.05');
    // the embedded JSON is the result
    const json = /<script type="application\/json" id="monitor-result">([\s\S]*?)<\/script>/.exec(html)![1];
    expect(JSON.parse(json).dataset).toEqual(JSON.parse(JSON.stringify(r.dataset)));
  });

  test('the JSON result is written with a timestamped name and as latest.json', () => {
    const dir = path.join(shifted.root, 'reports');
    const files = fs.readdirSync(dir).sort();
    expect(files).toEqual(expect.arrayContaining(['latest.html', 'latest.json', 'cancer-v1-20250501T123000Z.json', 'cancer-v1-20250501T123000Z.html']));
    const latest = JSON.parse(fs.readFileSync(path.join(dir, 'latest.json'), 'utf8')) as MonitorResult;
    expect([...latest.dataset.driftedColumns].sort()).toEqual(Object.keys(SHIFTED).sort());
  });
});

describe('reading a window of logs', () => {
  test('skips other versions, variants, times and hidden temporaries; counts unparsable lines', async () => {
    const root = tmpDir('window');
    const version = await registerModel(path.join(root, 'registry'), 'cancer');
    const { features, target } = rowsOf(LIVE_ROWS.slice(0, 40));
    const at = NOW - 30 * 60_000;
    writeTraffic(path.join(root, 'logs'), 'cancer', version, features, target, at, 'good');
    const hour = path.join(root, 'logs', 'cancer', '2025', '05', '01', '12');
    const rec = (extra: Record<string, unknown>) => JSON.stringify({ id: 'x', model: 'cancer', version: 1, variant: 'primary', ts: new Date(at).toISOString(), inputs: [features[0]], outputs: [1], ...extra });
    fs.writeFileSync(path.join(hour, 'other.jsonl'), [
      rec({ version: 2 }),
      rec({ model: 'other' }),
      rec({ ts: new Date(NOW - 3 * 3_600_000).toISOString() }),
      rec({ ts: 'yesterday' }),
      '{not json',
      rec({ inputs: 'nope' }),
      '',
    ].join('\n'));
    fs.writeFileSync(path.join(hour, '.part.jsonl.1234.tmp'), rec({}));
    fs.writeFileSync(path.join(hour, 'notes.txt'), 'ignored');
    const config = testConfig(root, 'cancer', { variant: 'primary' });
    const { result } = await runMonitorOnce(config, depsFor(config, () => NOW));
    expect(result.records).toEqual({ files: 2, read: 10, rows: 40, badRecords: 2, badRows: 0, unparsable: 1, otherVersion: 2, outsideWindow: 2 });
    expect(result.window).toEqual({
      start: new Date(NOW - 2 * 3_600_000).toISOString(),
      end: new Date(NOW).toISOString(),
      firstRecord: new Date(at).toISOString(),
      lastRecord: new Date(at + 35).toISOString(),
    });
  });
});
