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
  return truncateMarkdown(text, maxLength);
}

const CUT_NOTE = '\n\n> **Note:** cut to fit a pull-request comment. Run `cdk-mlops diff` locally for the full diff.\n';

/**
 * Cuts markdown to at most `maxLength` characters at a line end, closes what the cut leaves
 * open (a fenced code block, then each `<details>` block, innermost first) so that the note
 * after it renders as text and the rest of the page is not swallowed, and appends the note.
 */
export function truncateMarkdown(text: string, maxLength: number): string {
  const lines = text.slice(0, Math.max(0, maxLength - CUT_NOTE.length)).split('\n');
  lines.pop(); // the last line is partial (or empty after a final newline)
  for (;;) {
    while (lines.length && lines[lines.length - 1] === '') lines.pop();
    const closers = openBlockClosers(lines);
    const out = `${[...lines, ...closers].join('\n')}${CUT_NOTE}`;
    // (with nothing left, the note alone: shorter than any useful maxLength)
    if (out.length <= maxLength || lines.length === 0) return out;
    lines.pop();
  }
}

/** The lines that close what is open at the end of `lines`: a code fence, then `<details>` blocks. */
function openBlockClosers(lines: readonly string[]): string[] {
  let fence: string | undefined;
  let details = 0;
  for (const line of lines) {
    if (fence !== undefined) {
      const m = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(line);
      if (m && m[1][0] === fence[0] && m[1].length >= fence.length) fence = undefined;
      continue;
    }
    const open = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (open) {
      fence = open[1];
      continue;
    }
    details += (line.match(/<details[\s>]/g) ?? []).length;
    details = Math.max(0, details - (line.match(/<\/details>/g) ?? []).length);
  }
  return [...(fence !== undefined ? [fence] : []), ...Array.from({ length: details }, () => '\n</details>')];
}
