import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cliPath, REPO_ROOT } from '../support/dist';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-synth-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function cli(args: string[], cwd = tmp) {
  return spawnSync(process.execPath, [cliPath(), ...args], { cwd, encoding: 'utf8', timeout: 120_000 });
}

describe('cdk-mlops synth', () => {
  test('synthesizes the example and prints a summary per environment', () => {
    const r = cli(['synth', '--app', path.join(REPO_ROOT, 'examples', 'basic-platform.ts'), '--out', 'dist']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/dev\s+\d+ Terraform resources\s+\d+ Kubernetes objects in \d+ file\(s\)\s+-> dist\/dev\//);
    expect(r.stdout).toMatch(/prod\s+\d+ Terraform resources/);
    for (const env of ['dev', 'prod']) {
      expect(fs.existsSync(path.join(tmp, 'dist', env, 'terraform', 'cdk.tf.json'))).toBe(true);
      expect(fs.existsSync(path.join(tmp, 'dist', env, 'k8s', 'platform.yaml'))).toBe(true);
      const inv = JSON.parse(fs.readFileSync(path.join(tmp, 'dist', env, 'platform.json'), 'utf8'));
      expect(inv).toMatchObject({ schemaVersion: 1, platform: 'acme-ml', environment: env });
    }
  });

  test('reads the program from cdk-mlops.json and re-synthesizes over old output', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'cfg-'));
    fs.writeFileSync(path.join(dir, 'cdk-mlops.json'), JSON.stringify({ app: path.join(REPO_ROOT, 'examples', 'basic-platform.ts') }));
    fs.mkdirSync(path.join(dir, 'dist', 'dev'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'dist', 'dev', 'stale.txt'), 'old');
    // Terraform's working files beside the configuration survive a re-synthesis.
    fs.mkdirSync(path.join(dir, 'dist', 'dev', 'terraform', '.terraform', 'providers'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'dist', 'dev', 'terraform', 'terraform.tfstate'), '{"version":4,"serial":7}');
    fs.writeFileSync(path.join(dir, 'dist', 'dev', 'terraform', '.terraform.lock.hcl'), '# lock');
    fs.writeFileSync(path.join(dir, 'dist', 'dev', 'terraform', 'old.tf.json'), '{}');
    const r = cli(['synth', '--quiet'], dir);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    expect(fs.existsSync(path.join(dir, 'dist', 'dev', 'stale.txt'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'dist', 'dev', 'terraform', 'old.tf.json'))).toBe(false);
    expect(fs.readFileSync(path.join(dir, 'dist', 'dev', 'terraform', 'terraform.tfstate'), 'utf8')).toBe('{"version":4,"serial":7}');
    expect(fs.readFileSync(path.join(dir, 'dist', 'dev', 'terraform', '.terraform.lock.hcl'), 'utf8')).toBe('# lock');
    expect(fs.existsSync(path.join(dir, 'dist', 'dev', 'terraform', '.terraform', 'providers'))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'dist', 'dev', 'terraform', 'cdk.tf.json'))).toBe(true);
    expect(fs.readdirSync(path.join(dir, 'dist')).sort()).toEqual(['dev', 'prod']);
  });

  test('a missing program is named', () => {
    const r = cli(['synth', '--app', 'nope.ts']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`the platform program '${path.join(tmp, 'nope.ts')}' does not exist`);
  });

  test('a program with a bad prop fails with the validation error and writes nothing', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'bad-'));
    const program = path.join(dir, 'main.ts');
    fs.writeFileSync(program, `import { MlApp, MlPlatform } from '${path.join(REPO_ROOT, 'src').replace(/\\/g, '/')}';
const app = new MlApp();
new MlPlatform(app, 'prod', { platformName: 'acme', environment: 'Prod', region: 'eu-west-1', account: '123456789012' });
app.synth();
`);
    const r = cli(['synth', '--app', program, '--out', 'dist'], dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("invalid props at 'prod':");
    expect(r.stderr).toContain("'environment' (\"Prod\") must be a DNS-1123 label");
    expect(fs.existsSync(path.join(dir, 'dist'))).toBe(false);
  });

  test('a program without an MlApp is refused', () => {
    const program = path.join(tmp, 'empty.js');
    fs.writeFileSync(program, 'module.exports = {};\n');
    const r = cli(['synth', '--app', program]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('created no MlApp');
  });

  test('unknown flags are refused', () => {
    const r = cli(['synth', '--bogus']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("Unknown option '--bogus'");
  });
});
