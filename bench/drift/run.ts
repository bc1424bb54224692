/**
 * One measured run of cdk-mlops' streaming drift statistics (a child process of index.ts, so
 * that its peak RSS is its own): N rows x 20 features generated in chunks, fed to the
 * window state (sketch mode), then every feature evaluated (KS, normed Wasserstein, Jensen-
 * Shannon, PSI, data quality). Prints one JSON line.
 *
 *   ts-node --transpile-only bench/drift/run.ts <rows> <reference.json> <chunk>
 */
import * as fs from 'node:fs';
import { evaluateColumn } from '../../src/runtime/monitor/drift';
import { WindowState, referenceColumns } from '../../src/runtime/monitor/window';
import type { ReferenceStatistics } from '../../src/runtime/registry/types';
import { FEATURES, generateChunk, names } from './data';

function main(): void {
  const rows = Number(process.argv[2]);
  const reference = JSON.parse(fs.readFileSync(process.argv[3], 'utf8')) as ReferenceStatistics;
  const chunk = Number(process.argv[4] ?? 65_536);
  const k = Number(process.argv[5] ?? 1000);
  const refs = referenceColumns(reference);
  const window = new WindowState(refs, { mode: 'sketch', sketchK: k });
  const cols = Array.from({ length: FEATURES }, () => new Float64Array(chunk));
  const columns: Record<string, Float64Array> = {};
  const rssStart = process.memoryUsage().rss;
  let genMs = 0;
  const t0 = performance.now();
  for (let start = 0; start < rows; start += chunk) {
    const n = Math.min(chunk, rows - start);
    const g0 = performance.now();
    generateChunk(2, start, n, 0.3, cols);
    genMs += performance.now() - g0;
    names.forEach((name, j) => { columns[name] = n === chunk ? cols[j] : cols[j].subarray(0, n); });
    window.addColumns(columns);
  }
  const results = refs.features.map((rc, j) => {
    const st = window.features[j];
    const ks = evaluateColumn(rc, st, { columns: { [rc.ref.name]: { method: 'ks' } } });
    const w = evaluateColumn(rc, st, { columns: { [rc.ref.name]: { method: 'wasserstein' } } });
    const js = evaluateColumn(rc, st, { columns: { [rc.ref.name]: { method: 'jensenshannon' } } });
    return {
      name: rc.ref.name,
      ks: ks.statistic,
      ksP: ks.pValue,
      ksBound: ks.errorBound?.ks ?? 0,
      wassersteinNorm: w.statistic,
      wassersteinBound: w.errorBound?.wasserstein ?? 0,
      jensenShannon: js.statistic,
      psi: js.psi,
      missing: st.missing,
      outOfRange: st.outOfRange,
      mean: st.mean,
      std: st.std,
      drifted: w.drifted,
    };
  });
  const totalMs = performance.now() - t0;
  const maxRssKiB = process.resourceUsage().maxRSS;
  process.stdout.write(JSON.stringify({
    engine: 'cdk-mlops', rows, chunk, sketchK: k, totalMs, generateMs: genMs, statsMs: totalMs - genMs,
    rssStartBytes: rssStart, peakRssBytes: maxRssKiB * 1024, retainedPerFeature: window.features[0].sketch?.retainedItems, results,
  }) + '\n');
}

main();
