import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isIgnoredDistPath } from './snapshot';
import { DistFiles } from './types';
import { InputError } from '../runtime/errors';

/**
 * Reads a dist tree from a folder: every regular file below it (symbolic links and the paths
 * {@link isIgnoredDistPath} names are skipped, `.terraform/` is not even entered).
 *
 * @throws InputError when `dir` is not a folder
 */
export function readDistDir(dir: string): DistFiles {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new InputError(dir, 'does not exist; expected a synthesized dist folder (run `cdk-mlops synth` first, or pass --synth)');
  }
  if (!st.isDirectory()) throw new InputError(dir, 'is not a folder; expected a synthesized dist folder');
  const files = new Map<string, Uint8Array>();
  const walk = (abs: string, rel: string): void => {
    for (const e of fs.readdirSync(abs, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (isIgnoredDistPath(r)) continue;
      const a = path.join(abs, e.name);
      if (e.isDirectory()) walk(a, r);
      else if (e.isFile()) files.set(r, fs.readFileSync(a));
    }
  };
  walk(dir, '');
  return files;
}

function git(cwd: string, args: string[], input?: Buffer): Buffer {
  const res = spawnSync('git', args, { cwd, input, maxBuffer: 1 << 30 });
  if (res.error) {
    const code = (res.error as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? 'git is not installed or not on PATH; it is needed to read the base ref' : `git ${args[0]} failed: ${res.error.message}`);
  }
  if (res.status !== 0) {
    throw new Error(`git ${args.join(' ')} failed (exit ${res.status}): ${res.stderr.toString('utf-8').trim()}`);
  }
  return res.stdout;
}

/** Where a folder is in its git repository. */
export interface GitLocation {
  /** The repository's top-level folder. */
  readonly repoRoot: string;
  /** The folder's path from the top level, with `/` separators (`''` for the top level itself). */
  readonly path: string;
}

/**
 * Finds the git repository of `dir` (which need not exist yet: its nearest existing parent is
 * used) and `dir`'s path in it.
 *
 * @throws InputError when `dir` is not inside a git working tree
 */
export function gitLocation(dir: string): GitLocation {
  let abs = path.resolve(dir);
  const missing: string[] = [];
  while (!fs.existsSync(abs) && path.dirname(abs) !== abs) {
    missing.unshift(path.basename(abs));
    abs = path.dirname(abs);
  }
  let root: string;
  try {
    root = git(abs, ['rev-parse', '--show-toplevel']).toString('utf-8').trim();
  } catch (e) {
    throw new InputError(dir, `is not inside a git working tree (${(e as Error).message}); expected a folder of a git repository, or use --base-dir`);
  }
  const rel = path.relative(fs.realpathSync(root), fs.realpathSync(abs));
  const parts = [...(rel ? rel.split(path.sep) : []), ...missing];
  return { repoRoot: root, path: parts.join('/') };
}

/** The commit a ref names. @throws InputError when it names none */
export function resolveCommit(repoRoot: string, ref: string): string {
  if (ref.startsWith('-')) throw new InputError('--base', `'${ref}' is not a git ref; expected a branch, tag or commit`);
  const res = spawnSync('git', ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`], { cwd: repoRoot });
  if (res.error) git(repoRoot, ['--version']); // reports a missing git
  const sha = res.stdout?.toString('utf-8').trim();
  if (res.status !== 0 || !sha) {
    throw new InputError('--base', `'${ref}' is not a commit of the repository at ${repoRoot}; expected a branch, tag or commit (in CI, fetch it first, e.g. 'git fetch origin main' with enough depth)`);
  }
  return sha;
}

/** Options of {@link readDistAtRef}. */
export interface ReadAtRefOptions {
  /** The repository's top-level folder. */
  readonly repoRoot: string;
  /** The branch, tag or commit. */
  readonly ref: string;
  /** The dist folder's path from the repository's top level (`dist`, `platform/dist`). */
  readonly path: string;
}

/**
 * Reads a dist tree as committed at a ref, straight from the object store
 * (`git ls-tree` + `git cat-file --batch`: no checkout, the working tree is untouched).
 * A ref where the folder does not exist gives an empty tree (everything is then added).
 *
 * @throws InputError when the ref names no commit
 */
export function readDistAtRef(options: ReadAtRefOptions): DistFiles {
  const commit = resolveCommit(options.repoRoot, options.ref);
  const prefix = options.path.replace(/\/+$/, '');
  const listing = git(options.repoRoot, ['ls-tree', '-r', '-z', '--full-tree', commit, '--', prefix === '' ? '.' : prefix]).toString('utf-8');
  const blobs: { rel: string; object: string }[] = [];
  for (const entry of listing.split('\0')) {
    if (!entry) continue;
    const tab = entry.indexOf('\t');
    const [mode, type, object] = entry.slice(0, tab).split(' ');
    const full = entry.slice(tab + 1);
    // Regular files only: symbolic links (120000) and submodules (commit) are not synthesized output.
    if (type !== 'blob' || mode === '120000') continue;
    const rel = prefix === '' ? full : full.startsWith(`${prefix}/`) ? full.slice(prefix.length + 1) : undefined;
    if (rel === undefined || isIgnoredDistPath(rel)) continue;
    blobs.push({ rel, object });
  }
  const files = new Map<string, Uint8Array>();
  if (blobs.length === 0) return files;
  const out = git(options.repoRoot, ['cat-file', '--batch'], Buffer.from(blobs.map((b) => `${b.object}\n`).join('')));
  let pos = 0;
  for (const b of blobs) {
    const nl = out.indexOf(0x0a, pos);
    const header = out.subarray(pos, nl).toString('utf-8');
    const [object, type, size] = header.split(' ');
    if (object !== b.object || type !== 'blob' || size === undefined) {
      throw new Error(`git cat-file returned '${header}' for ${b.rel} (${b.object}); expected its blob`);
    }
    const n = Number(size);
    files.set(b.rel, out.subarray(nl + 1, nl + 1 + n));
    pos = nl + 1 + n + 1;
  }
  return files;
}
