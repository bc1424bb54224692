import * as YAML from 'yaml';
import { diffLines } from '../lines';
import { SENSITIVE_CHANGED, SENSITIVE_VALUE } from '../sensitive';
import { FieldChange, JsonValue, Plane, PlaneCounts, PlaneDiff, ResourceDiff } from '../types';

/**
 * How much of each changed resource is shown:
 * - `full`: field changes, and the whole body of added resources
 * - `fields`: field changes; added resources by name only
 * - `resources`: which resources are added, changed, removed
 * - `summary`: the summary line of each environment only
 */
export type DetailLevel = 'full' | 'fields' | 'resources' | 'summary';

/** The detail levels from most to least. */
export const DETAIL_LEVELS: readonly DetailLevel[] = ['full', 'fields', 'resources', 'summary'];

/** Marker of a rendered line: added, removed, changed, or context. */
export type Marker = '+' | '-' | '~' | ' ';

/** One rendered line, before it is indented and coloured. */
export interface Line {
  readonly marker: Marker;
  /** Nesting depth (two spaces each). */
  readonly depth: number;
  readonly text: string;
}

/** The title of a plane in rendered output. */
export const PLANE_TITLES: Record<Plane, string> = {
  terraform: 'Terraform',
  kubernetes: 'Kubernetes',
  inventory: 'Inventory',
  files: 'Other files',
};

/** The counts of a plane in words: `2 to add, 1 to change, 0 to destroy` or `3 added, 1 changed, 0 removed`. */
export function planeCountsText(plane: Plane, c: PlaneCounts): string {
  if (plane === 'terraform') {
    const other = c.other ? `, ${c.other} other block${c.other === 1 ? '' : 's'} changed` : '';
    return `${c.add} to add, ${c.change} to change, ${c.remove} to destroy${other}`;
  }
  return `${c.add} added, ${c.change} changed, ${c.remove} removed`;
}

/** A value on one line: strings quoted, arrays and objects as compact JSON. */
export function formatValue(v: JsonValue | undefined): string {
  if (v === undefined) return '';
  if (v === SENSITIVE_VALUE) return v;
  return JSON.stringify(v);
}

const isMultiline = (v: JsonValue | undefined): v is string => typeof v === 'string' && v.includes('\n');

function fieldLines(c: FieldChange, depth: number, split: boolean): Line[] {
  if (c.sensitive) {
    const text = c.action === 'change' ? SENSITIVE_CHANGED : SENSITIVE_VALUE;
    return [{ marker: c.action === 'add' ? '+' : c.action === 'remove' ? '-' : '~', depth, text: `${c.path}: ${text}` }];
  }
  if (c.note) {
    return [{ marker: '~', depth, text: `${c.path}: ${c.note}: ${formatValue(c.before)} -> ${formatValue(c.after)}` }];
  }
  if (isMultiline(c.before) || isMultiline(c.after)) {
    const before = typeof c.before === 'string' ? c.before : c.before === undefined ? '' : formatValue(c.before);
    const after = typeof c.after === 'string' ? c.after : c.after === undefined ? '' : formatValue(c.after);
    const head: Line = { marker: c.action === 'add' ? '+' : c.action === 'remove' ? '-' : '~', depth, text: `${c.path}: |` };
    const body = diffLines(before, after).map((l): Line => (l.op === '…'
      ? { marker: ' ', depth: depth + 1, text: '…' }
      : { marker: l.op, depth: depth + 1, text: l.text }));
    return [head, ...body];
  }
  switch (c.action) {
    case 'add':
      return [{ marker: '+', depth, text: `${c.path}: ${formatValue(c.after)}` }];
    case 'remove':
      return [{ marker: '-', depth, text: `${c.path}: ${formatValue(c.before)}` }];
    case 'change':
      if (split) {
        return [
          { marker: '-', depth, text: `${c.path}: ${formatValue(c.before)}` },
          { marker: '+', depth, text: `${c.path}: ${formatValue(c.after)}` },
        ];
      }
      return [{ marker: '~', depth, text: `${c.path}: ${formatValue(c.before)} -> ${formatValue(c.after)}` }];
  }
}

function fileNote(plane: Plane, r: ResourceDiff): string {
  if (plane !== 'kubernetes') return '';
  const file = r.file.slice(r.file.indexOf('/') + 1);
  if (r.previousFile) return `  (moved from ${r.previousFile.slice(r.previousFile.indexOf('/') + 1)} to ${file})`;
  return `  (${file})`;
}

/** Options of {@link resourceLines}. */
export interface LineOptions {
  readonly detail: DetailLevel;
  /** Show a changed value as a removed and an added line (for a `diff` code block) rather than `a -> b`. */
  readonly split: boolean;
}

/** The lines of one plane's resources. */
export function planeLines(p: PlaneDiff, opts: LineOptions): Line[] {
  const out: Line[] = [];
  for (const r of p.resources) {
    const marker: Marker = r.action === 'add' ? '+' : r.action === 'remove' ? '-' : '~';
    out.push({ marker, depth: 0, text: `${r.id}${fileNote(p.plane, r)}` });
    if (opts.detail === 'resources' || opts.detail === 'summary') continue;
    if (r.action === 'change') {
      for (const c of r.changes) out.push(...fieldLines(c, 2, opts.split));
    } else if (r.action === 'add' && opts.detail === 'full' && r.body !== undefined) {
      const yaml = YAML.stringify(r.body, { lineWidth: 0, aliasDuplicateObjects: false }).replace(/\n$/, '');
      for (const l of yaml.split('\n')) out.push({ marker: '+', depth: 2, text: l });
    }
  }
  return out;
}

/** A line as text: marker, a space, then the indentation. */
export function lineText(l: Line): string {
  return `${l.marker} ${'  '.repeat(l.depth)}${l.text}`.replace(/\s+$/, '');
}
