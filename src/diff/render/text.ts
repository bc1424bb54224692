import { DistDiff } from '../types';
import { DetailLevel, Line, PLANE_TITLES, lineText, planeCountsText, planeLines } from './lines';

/** Options of {@link renderText}. */
export interface TextRenderOptions {
  /** How much to show. @default 'full' */
  readonly detail?: DetailLevel;
  /** Colour with ANSI escapes (green added, red removed, yellow changed). @default false */
  readonly color?: boolean;
}

const ANSI = { reset: '\u001b[0m', bold: '\u001b[1m', red: '\u001b[31m', green: '\u001b[32m', yellow: '\u001b[33m' };

function paint(l: Line, color: boolean): string {
  const s = `    ${lineText(l)}`;
  if (!color || l.marker === ' ') return s;
  const c = l.marker === '+' ? ANSI.green : l.marker === '-' ? ANSI.red : ANSI.yellow;
  return `${c}${s}${ANSI.reset}`;
}

/**
 * The diff for a terminal: the compared trees, then per environment its summary line and,
 * per plane, each resource with `+` (added), `-` (removed) or `~` (changed) and its field
 * changes (`~ spec.replicas: 2 -> 3`).
 */
export function renderText(diff: DistDiff, options: TextRenderOptions = {}): string {
  const detail = options.detail ?? 'full';
  const color = options.color ?? false;
  const bold = (s: string): string => (color ? `${ANSI.bold}${s}${ANSI.reset}` : s);
  const out: string[] = [`cdk-mlops diff: ${diff.base} -> ${diff.head}`];
  if (diff.environments.length === 0) out.push('', 'no environments on either side');
  for (const env of diff.environments) {
    out.push('', bold(env.summary));
    if (detail === 'summary' || env.status === 'unchanged') continue;
    for (const p of env.planes) {
      if (p.resources.length === 0) continue;
      out.push(`  ${PLANE_TITLES[p.plane]}: ${planeCountsText(p.plane, p.counts)}`);
      for (const l of planeLines(p, { detail, split: false })) out.push(paint(l, color));
    }
  }
  return `${out.join('\n')}\n`;
}
