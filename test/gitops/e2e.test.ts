import { execFileSync, spawnSync, SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readTree } from './support';

/**
 * The generated repository works as a user gets it: `cdk-mlops init` from the packed package,
 * `npm install` of that package (from the local npm cache), then the repository's own tasks:
 * projen regenerates nothing, synth writes dist/, dist:check passes, its tests pass; a
 * promotion changes pins.json and dist/ and nothing else, and reverting it is a no-change diff.
 */
const REPO_ROOT = path.join(__dirname, '..', '..');
const BIN = path.join(REPO_ROOT, 'bin', 'cdk-mlops');

function sh(cwd: string, command: string, args: string[], timeout = 240_000): SpawnSyncReturns<string> {
  return spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    timeout,
    // no network here: npm resolves from its cache (the user's `init --install` runs the same commands online)
    env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip', NO_COLOR: '1', CI: '1', npm_config_update_notifier: 'false', npm_config_prefer_offline: 'true' },
  });
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  if (r.error) throw new Error(`${what}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}):\n${r.stdout.slice(-4000)}\n${r.stderr.slice(-4000)}`);
  return r.stdout;
}

/** Files changed in the working tree of a git repository (porcelain status lines). */
function changes(dir: string): string[] {
  return ok(sh(dir, 'git', ['status', '--porcelain', '--untracked-files=all']), 'git status').split('\n').filter(Boolean);
}

/** The package is packed from the compiled lib/ (npm test compiles src/ first). */
function assertLibBuilt(): void {
  const missing = ['projen/index.js', 'promote/pins.js', 'cli/commands/init.js', 'cli/commands/promote.js', 'index.js']
    .filter((f) => !fs.existsSync(path.join(REPO_ROOT, 'lib', f)));
  if (missing.length) throw new Error(`lib/ lacks ${missing.join(', ')}: run 'npx projen compile' (npm test does it first)`);
}

describe('generated GitOps repository, end to end', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gitops-e2e-'));
  const repo = path.join(tmp, 'acme-ml');
  let initArgs: string[];
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('init from the packed package, install, then the repository passes its own checks; promote and revert', () => {
    assertLibBuilt();
    const packed = execFileSync('npm', ['pack', '--pack-destination', tmp, '--silent'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim().split('\n').pop()!;
    const tarball = path.join(tmp, packed);
    expect(execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' })).toContain('package/templates/gitops/src/app.ts');

    initArgs = ['--name', 'acme-ml', '--account', '111111111111', '--account', 'prod=333333333333', '--repository', 'https://github.com/acme/ml-platform.git',
      '--owners', '@acme/ml-platform', '--cdk-mlops-version', `file:${tarball}`];
    // what a user runs: init, then npm install, npx projen and npx projen synth (--install)
    const installed = ok(sh(tmp, process.execPath, [BIN, 'init', repo, ...initArgs, '--install'], 600_000), 'cdk-mlops init --install');
    expect(installed).toContain('$ npm install --no-audit --no-fund');
    expect(installed).toContain('$ npx projen synth');

    // a second generation with the same inputs is byte-identical; and since the first one ran
    // `npx projen` (.projenrc.ts with the installed cdk-mlops) after init, that regenerated exactly
    // what init wrote
    const twin = path.join(tmp, 'twin');
    ok(sh(tmp, process.execPath, [BIN, 'init', twin, ...initArgs]), 'cdk-mlops init (again)');
    const [a, b] = [readTree(repo), readTree(twin)];
    expect(Object.keys(b).length).toBeGreaterThan(40);
    for (const f of Object.keys(b)) expect({ f, same: a[f]?.equals(b[f]) }).toEqual({ f, same: true });
    expect(Object.keys(a).filter((f) => !(f in b)).map((f) => f.split('/')[0]).filter((v, i, all) => all.indexOf(v) === i).sort()).toEqual(['dist', 'package-lock.json']);

    ok(sh(repo, 'git', ['init', '-q', '-b', 'main']), 'git init');
    ok(sh(repo, 'git', ['add', '-A']), 'git add');
    ok(sh(repo, 'git', ['-c', 'user.email=ci@example.com', '-c', 'user.name=ci', 'commit', '-q', '-m', 'init']), 'git commit');
    ok(sh(repo, 'npx', ['projen']), 'npx projen');
    expect(changes(repo)).toEqual([]);

    // synth (run by --install) wrote dist/ for every environment; the check passes, and the repository's tests pass
    expect(fs.readdirSync(path.join(repo, 'dist')).sort()).toEqual(['dev', 'prod', 'staging']);
    for (const env of ['dev', 'staging', 'prod']) {
      expect(fs.existsSync(path.join(repo, 'dist', env, 'terraform', 'cdk.tf.json'))).toBe(true);
      expect(fs.readdirSync(path.join(repo, 'dist', env, 'k8s')).sort()).toEqual(['features.yaml', 'monitoring.yaml', 'platform.yaml', 'serving.yaml', 'training.yaml']);
    }
    ok(sh(repo, 'npx', ['projen', 'dist:check']), 'npx projen dist:check');
    // what the pull-request workflow runs: projen, compile, synth, tests, and then nothing may differ from the commit
    const test = sh(repo, 'npx', ['projen', 'build']);
    ok(test, 'npx projen build');
    // jest reports on stderr: every test of the template ran and passed
    const summary = /Tests:\s+(\d+) passed, (\d+) total/.exec(test.stderr);
    expect(summary && summary[1] === summary[2] && Number(summary[1]) >= 20).toBe(true);
    for (const name of ['snapshot: the committed dist/ is what the program synthesizes', 'no policy suppression beyond the reviewed ones', 'Argo CD may apply every object']) {
      expect(test.stderr).toContain(name);
    }
    // the build and the check wrote nothing that git would see (lib/, reports and the check folder are ignored)
    ok(sh(repo, 'git', ['add', '--all']), 'git add');
    expect(ok(sh(repo, 'git', ['diff', '--staged', '--stat']), 'git diff')).toBe('');

    // promote: one number in pins.json; dist/ is then stale until synthesized
    const pinsBefore = fs.readFileSync(path.join(repo, 'pins.json'), 'utf8');
    const promoted = ok(sh(repo, 'npx', ['projen', 'promote', 'breast-cancer', '--to', 'dev', '--version', '2']), 'promote');
    expect(promoted).toContain('pins.json: models.breast-cancer.dev 1 -> 2');
    expect(fs.readFileSync(path.join(repo, 'pins.json'), 'utf8')).toBe(pinsBefore.replace('"dev": 1,', '"dev": 2,'));
    expect(changes(repo)).toEqual([' M pins.json']);
    const stale = sh(repo, 'npx', ['projen', 'dist:check']);
    expect(stale.status).not.toBe(0);
    expect(stale.stdout).toContain('dev: ');
    expect(stale.stdout).toContain('prod: no changes');
    ok(sh(repo, 'npx', ['projen', 'synth']), 'npx projen synth');
    ok(sh(repo, 'npx', ['projen', 'dist:check']), 'npx projen dist:check after synth');
    // only the dev environment's rendered manifests follow the pin
    expect(changes(repo).filter((l) => !l.includes('dist/dev/'))).toEqual([' M pins.json']);
    const diff = sh(repo, 'npx', ['cdk-mlops', 'diff', '--format', 'markdown']);
    expect(diff.status).toBe(1);
    expect(diff.stdout).toContain('<!-- cdk-mlops-diff -->');
    expect(diff.stdout).toMatch(/breast-cancer/);

    // rollback is a revert: the tree is back to the committed one and the diff is empty
    ok(sh(repo, 'git', ['checkout', '--', 'pins.json', 'dist']), 'git checkout');
    const none = sh(repo, 'npx', ['cdk-mlops', 'diff']);
    expect(none.status).toBe(0);
    ok(sh(repo, 'npx', ['projen', 'dist:check']), 'npx projen dist:check after the revert');
  }, 900_000);
});
