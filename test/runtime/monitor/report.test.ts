import { evaluateColumn, planFromReference, referenceColumn } from '../../../src/runtime/monitor/drift';
import { chartSvg, escapeHtml, renderHtmlReport } from '../../../src/runtime/monitor/report-html';
import type { MonitorResult } from '../../../src/runtime/monitor/result';
import { ColumnState } from '../../../src/runtime/monitor/state';

describe('HTML report', () => {
  test('hostile feature names and categories are escaped, never markup', () => {
    const evil = '<img src=x onerror=alert(1)>';
    const rc = referenceColumn({ name: `x"${evil}`, kind: 'categorical', count: 3, missing: 0, distinct: 2, frequencies: { a: 2, [evil]: 1 } });
    const st = new ColumnState(planFromReference(rc));
    for (const v of ['a', evil, '</script><script>alert(2)</script>']) st.add(v);
    const col = evaluateColumn(rc, st, { minCurrentValues: 1 });
    const result = {
      schema: 'cdk-mlops.monitor.result/v1',
      model: 'm',
      version: 1,
      generatedAt: '2025-01-01T00:00:00.000Z',
      window: { start: 'a', end: 'b', firstRecord: null, lastRecord: null },
      mode: 'exact',
      reference: { rows: 3, metrics: {} },
      records: { files: 1, read: 1, rows: 3, badRecords: 0, badRows: 0, unparsable: 0, otherVersion: 0, outsideWindow: 0 },
      unexpectedFields: { [evil]: 1 },
      features: [col],
      dataset: { columns: 1, tested: 1, drifted: 0, share: 0, threshold: 0.5, driftedColumns: [], datasetDrift: false },
      prediction: col,
      quality: { issues: [] },
      performance: {
        labeledRows: 0,
        invalidRows: 0,
        evaluated: false,
        minLabeledRows: 50,
        maxDegradation: 0.1,
        metrics: {},
        comparisons: [],
        decayed: false,
        labels: { read: 0, files: 0, invalid: 0, dropped: 0 },
      },
      conditions: { dataset_drift: false, prediction_drift: false, performance_decay: false, data_quality: false },
      actions: { alerts: [], retrain: { outcome: 'disabled' } },
      durationMs: 1,
    } as MonitorResult;
    const html = renderHtmlReport(result);
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<script>alert');
    expect(html).toContain(escapeHtml(evil));
    // the embedded JSON cannot close its script element
    expect(html.match(/<\/script>/g)).toHaveLength(1);
    expect(renderHtmlReport(result)).toBe(html);
  });

  test('a histogram chart has one reference and one current bar per bin, heights proportional to the values', () => {
    const svg = chartSvg('f', { type: 'histogram', edges: [0, 1, 2, 4], reference: [0.5, 0.25, 0.25], current: [0.2, 0.3, 0.5] });
    const bars = [...svg.matchAll(/data-series="(\w+)" data-index="(\d)" data-value="([\d.]+)" x="[\d.]+" y="[\d.]+" width="[\d.]+" height="([\d.]+)"/g)];
    expect(bars.map((b) => [b[1], Number(b[2]), Number(b[3])])).toEqual([
      ['reference', 0, 0.5], ['current', 0, 0.2], ['reference', 1, 0.25], ['current', 1, 0.3], ['reference', 2, 0.25], ['current', 2, 0.5],
    ]);
    for (const b of bars) expect(Number(b[4])).toBeCloseTo((Number(b[3]) / 0.5) * 154, 1);
    expect(svg).toContain('>0</text>');
    expect(svg).toContain('>4</text>');
  });
});
