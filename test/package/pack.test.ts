import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT } from '../support/dist';

/**
 * The built package works from a clean `npm pack` install: the CLI starts and synthesizes a
 * JavaScript platform program that imports 'cdk-mlops' like a user's would.
 */
describe('npm pack install', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pack-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('the packed CLI starts and synthesizes a program', () => {
    if (!fs.existsSync(path.join(REPO_ROOT, 'lib', 'index.js'))) throw new Error("lib/ is missing: run 'npx projen compile' (npm test does it first)");
    const packed = execFileSync('npm', ['pack', '--pack-destination', tmp, '--silent'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim().split('\n').pop()!;
    const tarball = path.join(tmp, packed);
    const listing = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' });
    expect(listing).toContain('package/lib/cli/main.js');
    expect(listing).toContain('package/bin/cdk-mlops');
    expect(listing).not.toContain('package/test/');
    expect(listing).not.toContain('package/src/');

    const project = path.join(tmp, 'user');
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'user-platform', version: '1.0.0', private: true }));
    const install = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--no-package-lock', tarball], {
      cwd: project, encoding: 'utf8', env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' }, timeout: 240_000,
    });
    if (install.status !== 0) throw new Error(`npm install failed: ${install.stderr}`);

    const help = spawnSync(path.join(project, 'node_modules', '.bin', 'cdk-mlops'), ['--help'], { cwd: project, encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('synth');

    fs.writeFileSync(path.join(project, 'main.js'), `const { MlApp, MlPlatform } = require('cdk-mlops');
const app = new MlApp();
new MlPlatform(app, 'dev', { platformName: 'user', environment: 'dev', region: 'us-east-1', account: '210987654321' });
app.synth();
`);
    const synth = spawnSync(path.join(project, 'node_modules', '.bin', 'cdk-mlops'), ['synth', '--app', 'main.js'], { cwd: project, encoding: 'utf8', timeout: 120_000 });
    expect(synth.stderr).toBe('');
    expect(synth.status).toBe(0);
    const tf = JSON.parse(fs.readFileSync(path.join(project, 'dist', 'dev', 'terraform', 'cdk.tf.json'), 'utf8'));
    expect(Object.keys(tf.resource.aws_eks_cluster)).toHaveLength(1);
  }, 300_000);
});
