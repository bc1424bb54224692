import type { ColumnChart, ColumnDrift } from './drift';
import type { MonitorResult } from './result';

/**
 * The HTML report of a run: one self-contained file (inline CSS and SVG, no script that runs,
 * no external asset), readable offline and safe to publish.
 *
 * - a verdict banner (dataset drift, drifted share against its threshold) and the window;
 * - a summary table: per feature the method and why, threshold, statistic, p-value, verdict,
 *   PSI and its band, missing and out-of-range rates;
 * - prediction drift, performance against the reference metrics, data-quality issues, and the
 *   actions taken (alerts, retraining);
 * - per feature, a bar chart of reference against current proportions (reference bins for
 *   numeric columns, categories otherwise) with the verdict beside it.
 *
 * Every chart is an `<svg class="chart" data-feature="...">` whose bars carry
 * `data-series` (`reference`|`current`), `data-index` and `data-value` (the proportion), so
 * tools can read the numbers back; the full JSON result is embedded as
 * `<script type="application/json" id="monitor-result">` (data, not code).
 */

/** HTML-escapes text (element content and attribute values). */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

function fmt(x: number | undefined | null, digits = 4): string {
  if (x === undefined || x === null || Number.isNaN(x)) return '&ndash;';
  if (x === Infinity) return '&infin;';
  if (x !== 0 && (Math.abs(x) < 1e-3 || Math.abs(x) >= 1e5)) return x.toExponential(2);
  return String(Number(x.toFixed(digits)));
}

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

const CHART_W = 640;
const CHART_H = 200;
const PAD_L = 44;
const PAD_B = 36;
const PAD_T = 10;

/** Inline SVG bar chart of one column's reference and current proportions. */
export function chartSvg(feature: string, chart: ColumnChart): string {
  const n = chart.reference.length;
  const plotW = CHART_W - PAD_L - 10;
  const plotH = CHART_H - PAD_T - PAD_B;
  const max = Math.max(1e-12, ...chart.reference, ...chart.current);
  const group = n ? plotW / n : plotW;
  const barW = Math.max(1, (group * 0.8) / 2);
  const parts: string[] = [];
  parts.push(`<svg class="chart" data-feature="${escapeHtml(feature)}" data-kind="${chart.type}" xmlns="http://www.w3.org/2000/svg" width="${CHART_W}" height="${CHART_H}" viewBox="0 0 ${CHART_W} ${CHART_H}" role="img" aria-label="${escapeHtml(`reference and current distribution of ${feature}`)}">`);
  parts.push(`<line x1="${PAD_L}" y1="${PAD_T + plotH}" x2="${CHART_W - 10}" y2="${PAD_T + plotH}" class="axis"/>`);
  parts.push(`<line x1="${PAD_L}" y1="${PAD_T}" x2="${PAD_L}" y2="${PAD_T + plotH}" class="axis"/>`);
  parts.push(`<text x="${PAD_L - 4}" y="${PAD_T + 8}" class="tick" text-anchor="end">${pct(max)}</text>`);
  parts.push(`<text x="${PAD_L - 4}" y="${PAD_T + plotH}" class="tick" text-anchor="end">0</text>`);
  const labels = chart.type === 'histogram' ? chart.edges.slice(0, -1).map((e, i) => `[${fmt(e)}, ${fmt(chart.edges[i + 1])}${i === n - 1 ? ']' : ')'}`) : chart.categories;
  for (let i = 0; i < n; i++) {
    const x0 = PAD_L + i * group + group * 0.1;
    for (const [series, values, dx] of [['reference', chart.reference, 0], ['current', chart.current, barW]] as const) {
      const v = values[i];
      const h = (v / max) * plotH;
      const y = PAD_T + plotH - h;
      parts.push(`<rect class="bar ${series}" data-series="${series}" data-index="${i}" data-value="${v}" x="${(x0 + dx).toFixed(2)}" y="${y.toFixed(2)}" width="${barW.toFixed(2)}" height="${h.toFixed(2)}"><title>${escapeHtml(`${series} ${labels[i]}: ${pct(v)}`)}</title></rect>`);
    }
  }
  if (chart.type === 'histogram' && n > 0) {
    parts.push(`<text x="${PAD_L}" y="${CHART_H - 18}" class="tick">${fmt(chart.edges[0])}</text>`);
    parts.push(`<text x="${CHART_W - 10}" y="${CHART_H - 18}" class="tick" text-anchor="end">${fmt(chart.edges[n])}</text>`);
  } else if (n > 0 && n <= 20) {
    for (let i = 0; i < n; i++) {
      const x = PAD_L + i * group + group / 2;
      const label = labels[i].length > 12 ? `${labels[i].slice(0, 11)}…` : labels[i];
      parts.push(`<text x="${x.toFixed(2)}" y="${CHART_H - 18}" class="tick" text-anchor="middle">${escapeHtml(label)}</text>`);
    }
  }
  parts.push(`<rect x="${CHART_W - 190}" y="${CHART_H - 12}" width="10" height="10" class="bar reference"/><text x="${CHART_W - 176}" y="${CHART_H - 3}" class="tick">reference</text>`);
  parts.push(`<rect x="${CHART_W - 100}" y="${CHART_H - 12}" width="10" height="10" class="bar current"/><text x="${CHART_W - 86}" y="${CHART_H - 3}" class="tick">current</text>`);
  parts.push('</svg>');
  return parts.join('');
}

function verdict(c: ColumnDrift): string {
  if (c.skipped) return '<span class="badge skip">skipped</span>';
  return c.drifted ? '<span class="badge bad">drift</span>' : '<span class="badge ok">no drift</span>';
}

function ruleText(c: ColumnDrift): string {
  return c.pValue !== undefined ? `p &lt; ${fmt(c.threshold)}` : `score &ge; ${fmt(c.threshold)}`;
}

function columnSection(c: ColumnDrift, anchor: string): string {
  const bound = c.errorBound
    ? `<li>sketch error bound (99%): rank ${fmt(c.errorBound.rank)}${c.errorBound.ks !== undefined ? `, KS &plusmn;${fmt(c.errorBound.ks)}` : ''}${c.errorBound.wasserstein !== undefined ? `, Wasserstein &plusmn;${fmt(c.errorBound.wasserstein)}` : ''}</li>`
    : '';
  return `<section class="column" id="${anchor}">
<h3>${escapeHtml(c.name)} ${verdict(c)}</h3>
<div class="col-body">${chartSvg(c.name, c.chart)}
<ul class="facts">
<li>method: <b>${c.method}</b> (${escapeHtml(c.methodReason)})</li>
<li>drift when: ${ruleText(c)}</li>
<li>statistic: ${fmt(c.statistic)}${c.pValue !== undefined ? `, p-value: ${fmt(c.pValue)}` : ''}</li>
<li>PSI: ${fmt(c.psi)} (${c.psiBand})</li>
<li>values: reference ${c.referenceCount}${c.referenceApproximate ? ' (sample)' : ''}, current ${c.currentCount}</li>
${c.kind === 'numeric' ? `<li>mean: reference ${fmt(c.summary.reference.mean)}, current ${fmt(c.summary.current.mean)}; std: ${fmt(c.summary.reference.std)} / ${fmt(c.summary.current.std)}</li>` : ''}
<li>missing ${pct(c.quality.missingRate)}, type errors ${pct(c.quality.typeErrorRate)}${c.kind === 'numeric' ? `, out of range ${pct(c.quality.outOfRangeRate)}` : `, unknown categories ${pct(c.quality.unknownCategoryRate)}`}</li>
${bound}${c.skipped ? `<li>skipped: ${escapeHtml(c.skipped)}</li>` : ''}
</ul></div>
</section>`;
}

const CSS = `body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1100px;color:#1f2328;padding:0 16px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #d0d7de;padding-bottom:4px}h3{font-size:15px;margin:16px 0 8px}
.muted{color:#656d76}.banner{padding:12px 16px;border-radius:6px;margin:16px 0;font-weight:600}.banner.bad{background:#ffebe9;border:1px solid #ff8182}.banner.ok{background:#dafbe1;border:1px solid #4ac26b}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border-bottom:1px solid #d8dee4;padding:5px 8px;text-align:left}th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;font-size:11px;padding:1px 7px;border-radius:10px;font-weight:600}.badge.bad{background:#cf222e;color:#fff}.badge.ok{background:#1a7f37;color:#fff}.badge.skip{background:#818b98;color:#fff}
.col-body{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}.facts{font-size:13px;margin:0;padding-left:18px;max-width:420px}
svg.chart .bar.reference{fill:#8c959f}svg.chart .bar.current{fill:#0969da}svg.chart .axis{stroke:#57606a;stroke-width:1}svg.chart .tick{font-size:10px;fill:#57606a}`;

/** Renders the whole report. Deterministic: the same result gives the same bytes. */
export function renderHtmlReport(result: MonitorResult): string {
  const anchors = new Map(result.features.map((f, i) => [f.name, `feature-${i}`]));
  const d = result.dataset;
  const banner = d.datasetDrift
    ? `<div class="banner bad">Dataset drift: ${d.drifted} of ${d.tested} tested features drifted (share ${fmt(d.share)} &ge; ${fmt(d.threshold)})</div>`
    : `<div class="banner ok">No dataset drift: ${d.drifted} of ${d.tested} tested features drifted (share ${fmt(d.share)} &lt; ${fmt(d.threshold)})</div>`;
  const rows = result.features.map((f) => `<tr><td><a href="#${anchors.get(f.name)}">${escapeHtml(f.name)}</a></td><td>${f.kind}</td><td>${f.method}</td><td>${ruleText(f)}</td><td class="num">${fmt(f.statistic)}</td><td class="num">${f.pValue !== undefined ? fmt(f.pValue) : '&ndash;'}</td><td>${verdict(f)}</td><td class="num">${fmt(f.psi)}</td><td>${f.psiBand}</td><td class="num">${pct(f.quality.missingRate)}</td><td class="num">${f.kind === 'numeric' ? pct(f.quality.outOfRangeRate) : pct(f.quality.unknownCategoryRate)}</td></tr>`).join('\n');
  const perf = result.performance;
  const perfHtml = !perf.evaluated
    ? `<p class="muted">Not evaluated: ${perf.labeledRows} labeled row(s), ${perf.minLabeledRows} needed.</p>`
    : `<table><tr><th>metric</th><th>current</th><th>reference</th><th>degradation</th><th>verdict</th></tr>${perf.comparisons.map((c) => `<tr><td>${escapeHtml(c.metric)}</td><td class="num">${fmt(c.current)}</td><td class="num">${fmt(c.reference)}</td><td class="num">${pct(c.degradation)}</td><td>${c.decayed ? '<span class="badge bad">decay</span>' : '<span class="badge ok">ok</span>'}</td></tr>`).join('')}</table><p class="muted">${perf.labeledRows} labeled rows; decay when degradation &gt; ${pct(perf.maxDegradation)}.</p>`;
  const q = result.quality.issues;
  const qualityHtml = q.length
    ? `<ul>${q.map((i) => `<li><b>${escapeHtml(i.column)}</b>: ${i.issue.replace(/_/g, ' ')} ${pct(i.rate)} (limit ${pct(i.limit)})</li>`).join('')}</ul>`
    : '<p class="muted">No column exceeds its data-quality limits.</p>';
  const r = result.records;
  const a = result.actions;
  const actions = `<ul>${a.alerts.map((x) => `<li>alert <b>${x.condition}</b>: ${x.outcome}${x.error ? ` (${escapeHtml(x.error)})` : ''}</li>`).join('')}<li>retraining: ${a.retrain.outcome}${a.retrain.target ? ` &rarr; ${escapeHtml(a.retrain.target)}` : ''}${a.retrain.reason ? ` (${escapeHtml(a.retrain.reason)})` : ''}${a.retrain.error ? ` (${escapeHtml(a.retrain.error)})` : ''}</li></ul>`;
  const json = JSON.stringify(result).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(`Drift report: ${result.model} v${result.version}`)}</title>
<style>${CSS}</style></head>
<body>
<h1>Drift report: ${escapeHtml(result.model)} v${result.version}${result.variant ? ` (${escapeHtml(result.variant)})` : ''}</h1>
<p class="muted">Window ${escapeHtml(result.window.start)} &ndash; ${escapeHtml(result.window.end)} &middot; generated ${escapeHtml(result.generatedAt)} &middot; mode ${result.mode} &middot; ${r.rows} rows in ${r.read} records (${r.badRows} bad rows, ${r.badRecords} bad records) against a reference of ${result.reference.rows} rows</p>
${banner}
<h2>Features</h2>
<table><tr><th>feature</th><th>kind</th><th>method</th><th>drift when</th><th>statistic</th><th>p-value</th><th>verdict</th><th>PSI</th><th>PSI band</th><th>missing</th><th>out of range / unknown</th></tr>
${rows}
</table>
<h2>Prediction</h2>
${columnSection(result.prediction, 'prediction')}
<h2>Performance</h2>
${perfHtml}
<h2>Data quality</h2>
${qualityHtml}
${Object.keys(result.unexpectedFields).length ? `<p class="muted">Fields that are not model features: ${Object.entries(result.unexpectedFields).map(([k, v]) => `${escapeHtml(k)} (${v})`).join(', ')}</p>` : ''}
<h2>Actions</h2>
${actions}
<h2>Distributions</h2>
${result.features.map((f) => columnSection(f, anchors.get(f.name)!)).join('\n')}
<script type="application/json" id="monitor-result">${json}</script>
</body></html>
`;
}
