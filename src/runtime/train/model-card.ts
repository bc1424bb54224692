import type { GateResult } from './gate';
import type { HpoSummary } from './hpo';
import type { Lineage, ModelSignature, ReferenceStatistics } from '../registry/types';

/** Everything the model card states; each section is written from facts of the run. */
export interface ModelCardInput {
  readonly model: string;
  readonly createdAt: string;
  readonly signature: ModelSignature;
  readonly lineage: Lineage;
  readonly dataRows: number;
  readonly dataBytes: number;
  readonly splitSizes: { readonly train: number; readonly validation: number; readonly test: number };
  /** Class -> rows per split (classification). */
  readonly classBalance?: Readonly<Record<string, { readonly train: number; readonly validation: number; readonly test: number }>>;
  readonly metrics: Readonly<Record<string, number>>;
  readonly validationMetrics?: Readonly<Record<string, number>>;
  readonly sliceMetrics?: Readonly<Record<string, Readonly<Record<string, Readonly<Record<string, number>>>>>>;
  readonly parameters: Readonly<Record<string, string | number | boolean>>;
  readonly gate: GateResult & { readonly alias: string; readonly promoted: boolean };
  readonly hpo?: HpoSummary;
  readonly reference: ReferenceStatistics;
  readonly intendedUse?: string;
  readonly externalCommand?: string;
}

const num = (v: number | undefined): string => (v === undefined ? '' : Number.isInteger(v) ? String(v) : Math.abs(v) >= 1e4 || Math.abs(v) < 1e-3 ? v.toExponential(3) : v.toFixed(4));
const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function table(header: string[], rows: (string | number)[][]): string {
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => ' --- ').join('|')}|`];
  for (const r of rows) lines.push(`| ${r.map((c) => cell(typeof c === 'number' ? num(c) : c)).join(' | ')} |`);
  return lines.join('\n');
}

/** The model card (Markdown) stored with a version as `model-card.md`. */
export function renderModelCard(c: ModelCardInput): string {
  const s = c.signature;
  const taskText = s.task === 'classification'
    ? `classifies rows into ${s.classes!.length} classes of \`${s.target}\` (${s.classes!.join(', ')})`
    : `predicts the numeric value of \`${s.target}\``;
  const intended = c.intendedUse
    ?? `This model ${taskText} from ${s.featureNames.length} numeric feature(s), trained on ${c.dataRows} rows of \`${c.lineage.dataUri}\`. `
      + 'Use it on rows drawn like that data (same columns, units and population); the reference statistics stored with this version '
      + 'describe that data, and the drift monitor compares live traffic with them.';
  const out: string[] = [];
  out.push(`# Model card: ${c.model}`, '');
  out.push(`Trainer \`${c.lineage.trainer}\` ${c.lineage.trainerVersion}, created ${c.createdAt} by ${c.lineage.createdBy}.`, '');
  out.push('## Intended use', '', intended, '');

  out.push('## Data', '');
  out.push(`- Source: \`${c.lineage.dataUri}\` (${c.dataBytes} bytes, sha256 \`${c.lineage.dataHash}\`)`);
  out.push(`- Rows: ${c.dataRows}; split with seed ${c.lineage.seed}${s.task === 'classification' ? ', stratified by class' : ''}: ${c.splitSizes.train} train, ${c.splitSizes.validation} validation, ${c.splitSizes.test} test`);
  out.push(`- Target: \`${s.target}\` (${s.task})`);
  if (c.classBalance) {
    out.push('', table(['class', 'train', 'validation', 'test'], Object.entries(c.classBalance).map(([k, v]) => [k, String(v.train), String(v.validation), String(v.test)])));
  }
  out.push('');

  out.push('## Features', '', `The model takes one \`${s.inputs[0]?.datatype ?? 'FP32'}\` tensor \`${s.inputs[0]?.name ?? 'input'}\` of shape [${s.inputs[0]?.shape.join(', ') ?? ''}], columns in this order (statistics of the training split):`, '');
  out.push(table(['#', 'feature', 'min', 'mean', 'max', 'std', 'distinct', 'missing'], c.reference.features.map((f, i) => [
    String(i), `\`${f.name}\``, num(f.min), num(f.mean), num(f.max), num(f.std), String(f.distinct), String(f.missing),
  ])));
  out.push('', `Outputs: ${s.outputs.map((o) => `\`${o.name}\` ${o.datatype} [${o.shape.join(', ')}]`).join(', ')}.`, '');

  out.push('## Evaluation', '', `Metrics on the held-out test split (${c.splitSizes.test} rows)${c.validationMetrics ? ' and the validation split' : ''}:`, '');
  const metricNames = Object.keys(c.metrics);
  out.push(table(['metric', 'test', ...(c.validationMetrics ? ['validation'] : [])], metricNames.map((m) => [m, num(c.metrics[m]), ...(c.validationMetrics ? [num(c.validationMetrics[m])] : [])])));
  out.push('');
  if (c.sliceMetrics) {
    for (const [column, slices] of Object.entries(c.sliceMetrics)) {
      const names = [...new Set(Object.values(slices).flatMap((m) => Object.keys(m)))].filter((m) => m !== 'rows');
      out.push(`### By \`${column}\``, '', 'Test-split metrics per value (a missing cell: the metric is undefined for that slice, e.g. ROC AUC of a slice with one class).', '');
      out.push(table([column, 'rows', ...names], Object.entries(slices).map(([v, m]) => [v, String(m.rows ?? ''), ...names.map((n) => num(m[n]))])));
      const small = Object.entries(slices).filter(([, m]) => (m.rows ?? 0) < 30).map(([v]) => v);
      if (small.length) out.push('', `Slices with fewer than 30 test rows (${small.join(', ')}): their metrics are noisy.`);
      out.push('');
    }
  }

  out.push('## Quality gate', '');
  out.push(`${c.gate.passed ? 'Passed' : '**Failed**'}${c.gate.comparedWith ? ` against \`${c.gate.alias}\` version ${c.gate.comparedWith}` : ` (no \`${c.gate.alias}\` to compare with)`}; `
    + `${c.gate.promoted ? `promoted to \`${c.gate.alias}\`.` : c.gate.passed ? 'not promoted (promotion is switched off).' : `not promoted: \`${c.gate.alias}\` was left where it was.`}`);
  if (c.gate.reasons.length) out.push('', ...c.gate.reasons.map((r) => `- ${r}`));
  out.push('');

  out.push('## Training', '');
  if (c.externalCommand) out.push(`External command: \`${c.externalCommand}\``, '');
  const params = Object.entries(c.parameters);
  out.push(params.length ? table(['parameter', 'value'], params.map(([k, v]) => [k, String(v)])) : 'No hyperparameters.');
  out.push('');
  if (c.hpo) {
    const h = c.hpo;
    out.push('### Hyperparameter search', '', `${h.mode} search, ${h.trials.length} trials, seed ${h.seed}, ranked by validation \`${h.metric}\` (${h.higherIsBetter ? 'higher' : 'lower'} is better); best: trial ${h.best}.`, '');
    const keys = [...new Set(h.trials.flatMap((t) => Object.keys(t.searched)))];
    const ranked = [...h.trials].sort((a, b) => (h.higherIsBetter ? b.objective - a.objective : a.objective - b.objective)).slice(0, 10);
    out.push(table(['trial', ...keys, h.metric], ranked.map((t) => [String(t.index), ...keys.map((k) => String(t.searched[k])), num(t.objective)])));
    if (h.trials.length > 10) out.push('', `(the 10 best of ${h.trials.length} trials)`);
    out.push('');
  }

  out.push('## Lineage', '');
  out.push(`- Code commit: \`${c.lineage.codeCommit}\``);
  out.push(`- Data sha256: \`${c.lineage.dataHash}\``);
  out.push(`- Trainer: \`${c.lineage.trainer}\` ${c.lineage.trainerVersion}`);
  out.push(`- Seed: ${c.lineage.seed}`);
  out.push(`- Created by: ${c.lineage.createdBy}`);
  out.push('');

  out.push('## Known limitations', '');
  const limits: string[] = [];
  const constant = c.reference.features.filter((f) => f.distinct <= 1).map((f) => `\`${f.name}\``);
  if (constant.length) limits.push(`Constant in the training data (the model learned nothing from them): ${constant.join(', ')}.`);
  if (c.classBalance) {
    const totals = Object.entries(c.classBalance).map(([k, v]) => [k, v.train + v.validation + v.test] as const);
    const max = Math.max(...totals.map(([, t]) => t));
    const min = Math.min(...totals.map(([, t]) => t));
    if (max >= 3 * min) limits.push(`Imbalanced classes (largest ${max} rows, smallest ${min}): accuracy alone overstates quality; read precision, recall and the per-class balance.`);
  }
  if (c.splitSizes.test < 100) limits.push(`The test split has ${c.splitSizes.test} rows: the metrics above have wide confidence intervals.`);
  limits.push('Valid only for inputs like the training data: values outside the training range of a feature (see the table above) are extrapolation.');
  out.push(...limits.map((l) => `- ${l}`), '');
  return out.join('\n');
}
