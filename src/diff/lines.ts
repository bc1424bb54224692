/** One line of a line diff: kept (` `), removed (`-`), added (`+`), or a gap between hunks (`…`). */
export interface DiffLine {
  readonly op: ' ' | '-' | '+' | '…';
  readonly text: string;
}

/** Past this many cells, the middle part is shown as removed then added, without alignment. */
const MAX_CELLS = 1_000_000;

/** The lines of a text (a final newline ends the last line, it does not start another). */
export function splitLines(s: string): string[] {
  if (s === '') return [];
  const lines = s.split('\n');
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Aligns two line lists (longest common subsequence). */
function align(a: readonly string[], b: readonly string[]): DiffLine[] {
  const n = a.length;
  const m = b.length;
  if (n * m > MAX_CELLS) {
    return [...a.map((text) => ({ op: '-' as const, text })), ...b.map((text) => ({ op: '+' as const, text }))];
  }
  // lcs[i][j]: length of the LCS of a[i..] and b[j..], row-major in one array.
  const w = m + 1;
  const lcs = new Uint32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * w + j] = a[i] === b[j] ? lcs[(i + 1) * w + j + 1] + 1 : Math.max(lcs[(i + 1) * w + j], lcs[i * w + j + 1]);
    }
  }
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      out.push({ op: ' ', text: a[i] });
      i++;
      j++;
    } else if (lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) {
      out.push({ op: '-', text: a[i++] });
    } else {
      out.push({ op: '+', text: b[j++] });
    }
  }
  while (i < n) out.push({ op: '-', text: a[i++] });
  while (j < m) out.push({ op: '+', text: b[j++] });
  return out;
}

/** Every line of both texts, aligned: kept (` `), removed (`-`) or added (`+`). */
export function alignLines(before: string, after: string): DiffLine[] {
  const a = splitLines(before);
  const b = splitLines(after);
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
  return [
    ...a.slice(0, pre).map((text) => ({ op: ' ' as const, text })),
    ...align(a.slice(pre, a.length - suf), b.slice(pre, b.length - suf)),
    ...a.slice(a.length - suf).map((text) => ({ op: ' ' as const, text })),
  ];
}

/**
 * A line diff of two texts (a config file in a ConfigMap, a script), showing `context`
 * unchanged lines around each change and `…` where unchanged lines were left out.
 */
export function diffLines(before: string, after: string, context = 2): DiffLine[] {
  const full = alignLines(before, after);
  const keep = full.map(() => false);
  full.forEach((l, k) => {
    if (l.op === ' ') return;
    for (let x = Math.max(0, k - context); x <= Math.min(full.length - 1, k + context); x++) keep[x] = true;
  });
  const out: DiffLine[] = [];
  let gap = false;
  full.forEach((l, k) => {
    if (keep[k]) {
      if (gap) out.push({ op: '…', text: '' });
      gap = false;
      out.push(l);
    } else {
      gap = true;
    }
  });
  if (gap && out.length > 0) out.push({ op: '…', text: '' });
  return out;
}
