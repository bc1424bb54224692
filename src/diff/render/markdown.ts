import { DistDiff } from '../types';
import { DETAIL_LEVELS, DetailLevel, PLANE_TITLES, lineText, planeCountsText, planeLines } from './lines';

/**
 * The hidden marker the markdown starts with: a workflow finds the pull-request comment that
 * holds it and updates that comment instead of adding a new one.
 */
export const MARKDOWN_MARKER = '<!-- cdk-mlops-diff -->';

/** Options of {@link renderMarkdown}. */
export interface MarkdownRenderOptions {
  /** How much to show at most (less when the output would pass `maxLength`). @default 'full' */
  readonly detail?: DetailLevel;
  /** A plane with more lines than this is put in a collapsed `<details>` block. @default 20 */
  readonly collapseAfterLines?: number;
  /**
   * Longest output, in characters. Past it the detail is lowered step by step (bodies of
   * added resources, then field changes, then resource lists) with a note saying so, and
   * as a last resort the text is cut. GitHub refuses comments over 65,536 characters.
   * @default 60000
   */
  readonly maxLength?: number;
  /** The heading of the comment. @default 'cdk-mlops diff' */
  readonly title?: string;
}

/** Escapes text for inline markdown (outside code). */
export function escapeMarkdown(s: string): string {
  return s.replace(/[\\`*_[\]<>~|]/g, (c) => `\\${c}`).replace(/^([#+\-=>]|\d+\.)/, '\\$1');
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** An inline code span that holds `s` whatever backticks it contains. */
export function codeSpan(s: string): string {
  const longest = Math.max(0, ...(s.match(/`+/g) ?? []).map((m) => m.length));
  const ticks = '`'.repeat(longest + 1);
  const pad = s.startsWith('`') || s.endsWith('`') ? ' ' : '';
  return `${ticks}${pad}${s}${pad}${ticks}`;
}

/** A fenced code block that holds `body` whatever backticks it contains. */
export function codeBlock(lang: string, body: string): string {
  const longest = Math.max(0, ...(body.match(/`+/g) ?? []).map((m) => m.length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}${lang}\n${body}\n${fence}`;
}

const NOTES: Record<DetailLevel, string> = {
  full: '',
  fields: 'the bodies of added resources are left out',
  resources: 'field-level changes are left out; only the resources that change are listed',
  summary: 'only the summary of each environment is shown',
};

function render(diff: DistDiff, detail: DetailLevel, reducedFrom: DetailLevel | undefined, collapseAfter: number, title: string): string {
  const out: string[] = [MARKDOWN_MARKER, `## ${escapeMarkdown(title)}`, ''];
  const changed = diff.environments.filter((e) => e.status !== 'unchanged').length;
  const total = diff.environments.length;
  out.push(`Comparing ${codeSpan(diff.base)} (base) with ${codeSpan(diff.head)} (head): ${
    changed === 0 ? 'no changes' : `${changed} of ${total} environment${total === 1 ? '' : 's'} changed`}.`);
  if (reducedFrom !== undefined) {
    out.push('', `> **Note:** shortened to fit a pull-request comment: ${NOTES[detail]}. Run ${codeSpan('cdk-mlops diff')} locally for the full diff.`);
  }
  for (const env of diff.environments) {
    out.push('', `### ${escapeMarkdown(env.name)}`, '', `**${escapeMarkdown(env.summary)}**`);
    if (detail === 'summary' || env.status === 'unchanged') continue;
    for (const p of env.planes) {
      if (p.resources.length === 0) continue;
      const lines = planeLines(p, { detail, split: true }).map(lineText);
      const heading = `${PLANE_TITLES[p.plane]}: ${planeCountsText(p.plane, p.counts)}`;
      const block = codeBlock('diff', lines.join('\n'));
      if (lines.length > collapseAfter) {
        out.push('', `<details><summary>${escapeHtml(heading)}</summary>`, '', block, '', '</details>');
      } else {
        out.push('', `**${escapeMarkdown(heading)}**`, '', block);
      }
    }
  }
  return `${out.join('\n')}\n`;
}

/**
 * The diff as GitHub-flavoured markdown for a pull-request comment: the hidden
 * {@link MARKDOWN_MARKER}, a heading per environment with its summary line, and per plane a
 * `diff` code block (collapsed in `<details>` when long).
 */
export function renderMarkdown(diff: DistDiff, options: MarkdownRenderOptions = {}): string {
  const collapseAfter = options.collapseAfterLines ?? 20;
  const maxLength = options.maxLength ?? 60_000;
  const title = options.title ?? 'cdk-mlops diff';
  const wanted = options.detail ?? 'full';
  let text = '';
  for (const detail of DETAIL_LEVELS.slice(DETAIL_LEVELS.indexOf(wanted))) {
    text = render(diff, detail, detail === wanted ? undefined : wanted, collapseAfter, title);
    if (text.length <= maxLength) return text;
  }
  const note = '\n\n> **Note:** cut to fit a pull-request comment. Run `cdk-mlops diff` locally for the full diff.\n';
  const cut = text.slice(0, Math.max(0, maxLength - note.length));
  return `${cut.slice(0, cut.lastIndexOf('\n') + 1).replace(/\n+$/, '')}${note}`;
}
