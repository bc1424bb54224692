import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SECRETS, Tree, devTree, json, tree, writeTree } from './fixtures';
import { run } from '../../src/cli/commands/diff';
import { main } from '../../src/cli/main';

interface Result { code: number; stdout: string; stderr: string }

async function cli(args: string[], via: 'run' | 'main' = 'run'): Promise<Result> {
  const out: string[] = [];
  const err: string[] = [];
  const o = jest.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => { out.push(String(c)); return true; });
  const e = jest.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => { err.push(String(c)); return true; });
  try {
    const code = via === 'run' ? await run(args) : await main(['diff', ...args]);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

function git(cwd: string, ...args: string[]): string {
  const r = spawnSync('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.com', '-c', 'commit.gpgsign=false', ...args], { cwd, encoding: 'utf-8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-mlops-diff-')); });
afterAll(() => { fs.rmSync(tmp, { recursive: true, force: true }); });

function dir(name: string, t: Tree): string {
  const d = path.join(tmp, name);
  writeTree(d, t);
  return d;
}

describe('cdk-mlops diff --base-dir', () => {
  test('exit 1 and the diff when something changed', async () => {
    const base = dir('a-base', devTree(false));
    const head = dir('a-head', devTree(true));
    const r = await cli(['--base-dir', base, '--head', head], 'main');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`cdk-mlops diff: ${base} -> ${head}`);
    expect(r.stdout).toContain('dev: terraform 2 to add, 3 to change, 1 to destroy');
    expect(r.stdout).toContain('~ apps/Deployment serving/fraud');
    for (const s of Object.values(SECRETS)) expect(r.stdout).not.toContain(s);
  });

  test('exit 0 when nothing changed', async () => {
    const a = dir('b-1', devTree(true));
    const b = dir('b-2', devTree(true));
    const r = await cli(['--base-dir', a, '--head', b]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('dev: no changes');
  });

  test('--format json and markdown, --out writes the file and prints the summary', async () => {
    const base = dir('c-base', devTree(false));
    const head = dir('c-head', devTree(true));
    const j = await cli(['--base-dir', base, '--head', head, '--format', 'json']);
    expect(j.code).toBe(1);
    expect(JSON.parse(j.stdout).environments[0].name).toBe('dev');
    const outFile = path.join(tmp, 'diff.md');
    const m = await cli(['--base-dir', base, '--head', head, '--format', 'markdown', '--out', outFile]);
    expect(m.code).toBe(1);
    expect(m.stdout).toBe(`${JSON.parse(j.stdout).environments[0].summary}\n`);
    const md = fs.readFileSync(outFile, 'utf-8');
    expect(md.startsWith('<!-- cdk-mlops-diff -->\n')).toBe(true);
    for (const s of Object.values(SECRETS)) expect(md).not.toContain(s);
    expect(fs.readdirSync(tmp).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  test('--env selects environments; an unknown one is an error', async () => {
    const base = dir('d-base', tree({ 'a/platform.json': json({ v: 1 }), 'b/platform.json': json({ v: 1 }) }));
    const head = dir('d-head', tree({ 'a/platform.json': json({ v: 1 }), 'b/platform.json': json({ v: 2 }) }));
    expect((await cli(['--base-dir', base, '--head', head, '--env', 'a'])).code).toBe(0);
    expect((await cli(['--base-dir', base, '--head', head, '--env', 'b'])).code).toBe(1);
    const bad = await cli(['--base-dir', base, '--head', head, '--env', 'prod']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--env: 'prod' is in neither tree");
  });

  test.each([
    [['--format', 'html'], "--format: 'html' is not a format; expected one of text, markdown, json"],
    [['--detail', 'all'], "--detail: 'all' is not a detail level"],
    [['--bogus'], "Unknown option '--bogus'"],
    [['--base', 'main', '--base-dir', 'x'], '--base-dir: cannot be combined with --base'],
    [['--base-dir', '/nonexistent/dist-base'], '/nonexistent/dist-base: does not exist; expected a synthesized dist folder'],
  ])('exit 2 with a clear message: %j', async (args, message) => {
    const head = dir('e-head', devTree(true));
    const r = await cli([...args, '--head', head]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(message);
  });

  test('a file that cannot be parsed is exit 2 naming it', async () => {
    const base = dir('f-base', tree({ 'dev/terraform/cdk.tf.json': '{' }));
    const head = dir('f-head', devTree(true));
    const r = await cli(['--base-dir', base, '--head', head]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`cdk-mlops diff: ${base}/dev/terraform/cdk.tf.json: is not valid JSON`);
  });

  test('--help prints the usage and exits 0', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('usage: cdk-mlops diff');
    expect(r.stdout).toContain('exit status: 0 no change, 1 changes, 2 error');
  });
});

describe('cdk-mlops diff --base <git ref>', () => {
  let repo: string;
  beforeAll(() => {
    repo = path.join(tmp, 'repo');
    fs.mkdirSync(repo);
    git(repo, 'init', '-q', '-b', 'main');
    fs.writeFileSync(path.join(repo, 'README.md'), 'platform\n');
    git(repo, 'add', '.');
    git(repo, 'commit', '-q', '-m', 'no dist yet');
    git(repo, 'tag', 'empty');
    writeTree(path.join(repo, 'dist'), devTree(false));
    git(repo, 'add', '.');
    git(repo, 'commit', '-q', '-m', 'base');
    fs.rmSync(path.join(repo, 'dist'), { recursive: true });
    writeTree(path.join(repo, 'dist'), devTree(true));
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'head');
  });

  test('compares the dist committed at the ref with the working tree, without touching it', async () => {
    const status = git(repo, 'status', '--porcelain');
    const r = await cli(['--base', 'HEAD~1', '--head', path.join(repo, 'dist')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    const sha = git(repo, 'rev-parse', '--short=7', 'HEAD~1').trim();
    expect(r.stdout.split('\n')[0]).toBe(`cdk-mlops diff: HEAD~1:dist (${sha}) -> ${path.join(repo, 'dist')}`);
    expect(r.stdout).toContain('dev: terraform 2 to add, 3 to change, 1 to destroy, 4 other blocks changed; kubernetes 1 added, 3 changed, 1 removed');
    expect(r.stdout).toContain('~     spec.replicas: 2 -> 3');
    for (const s of Object.values(SECRETS)) expect(r.stdout).not.toContain(s);
    expect(git(repo, 'status', '--porcelain')).toBe(status);
    expect(git(repo, 'rev-parse', 'HEAD~0')).toBe(git(repo, 'rev-parse', 'main'));
  });

  test('the default base is HEAD: no change right after a commit, then the uncommitted edit', async () => {
    const cwd = process.cwd();
    process.chdir(repo);
    try {
      expect((await cli([])).code).toBe(0);
      const f = path.join(repo, 'dist', 'dev', 'platform.json');
      const inv = JSON.parse(fs.readFileSync(f, 'utf-8'));
      inv.models[0].version = 9;
      fs.writeFileSync(f, JSON.stringify(inv));
      const r = await cli([]);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('cdk-mlops diff: HEAD:dist');
      expect(r.stdout).toContain('-> dist (working tree)');
      expect(r.stdout).toContain('version: 8 -> 9');
      git(repo, 'checkout', '-q', '--', 'dist');
    } finally {
      process.chdir(cwd);
    }
  });

  test('a ref without dist/ means everything is added', async () => {
    const r = await cli(['--base', 'empty', '--head', path.join(repo, 'dist'), '--detail', 'summary']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('dev (new environment): terraform 5 to add, 0 to change, 0 to destroy, 7 other blocks changed; kubernetes 5 added, 0 changed, 0 removed; inventory 5 added');
  });

  test('--base-path reads the dist from another place in the repository', async () => {
    const head = dir('g-head', devTree(true));
    const cwd = process.cwd();
    process.chdir(repo);
    try {
      expect((await cli(['--base', 'HEAD', '--base-path', 'dist', '--head', head])).code).toBe(0);
      expect((await cli(['--base', 'HEAD~1', '--base-path', './dist/', '--head', head])).code).toBe(1);
    } finally {
      process.chdir(cwd);
    }
  });

  test('an unknown ref is exit 2, naming --base and the fix', async () => {
    const r = await cli(['--base', 'origin/nope', '--head', path.join(repo, 'dist')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--base: 'origin/nope' is not a commit of the repository at");
    expect(r.stderr).toContain('git fetch origin main');
  });

  test('a head outside any git repository is exit 2 pointing at --base-dir', async () => {
    const head = dir('h-head', devTree(true));
    const r = await cli(['--head', head]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is not inside a git working tree');
    expect(r.stderr).toContain('--base-dir');
  });
});
