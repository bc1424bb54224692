import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readTree } from './support';
import { renderTemplate, resolveInitOptions, run } from '../../src/cli/commands/init';
import { ModelPins } from '../../src/promote/pins';

/** Runs `cdk-mlops init` in process; returns the exit code and what it printed. */
async function init(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    stdout += String(s);
    return true;
  });
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
    stderr += String(s);
    return true;
  });
  try {
    const code = await run(args);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gitops-init-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const ARGS = ['--name', 'acme-ml', '--account', '111111111111', '--account', 'prod=333333333333', '--region', 'eu-central-1',
  '--repository', 'https://github.com/acme/ml-platform.git', '--owners', '@acme/ml-platform,@acme/sre', '--model', 'churn', '--model', 'fraud',
  '--cdk-mlops-version', '^0.1.0'];

const EXPECTED_FILES = [
  '.gitattributes', '.github/CODEOWNERS', '.github/pull_request_template.md',
  '.github/workflows/deploy.yml', '.github/workflows/promote.yml', '.github/workflows/pull-request.yml',
  '.gitignore', '.projen/deps.json', '.projen/files.json', '.projen/tasks.json', '.projenrc.ts', 'README.md',
  'argocd/README.md',
  ...['dev', 'prod', 'staging'].flatMap((e) => [
    `argocd/${e}/apps/external-secrets.yaml`, `argocd/${e}/apps/gateway-api-crds.yaml`, `argocd/${e}/apps/karpenter.yaml`, `argocd/${e}/apps/kube-prometheus-stack.yaml`,
    `argocd/${e}/apps/kueue.yaml`, `argocd/${e}/apps/platform.yaml`, `argocd/${e}/apps/project.yaml`, `argocd/${e}/apps/repository-karpenter.yaml`,
    `argocd/${e}/apps/repository-kueue.yaml`, `argocd/${e}/apps/workloads.yaml`, `argocd/${e}/bootstrap.yaml`,
  ]),
  'argocd/values.yaml', 'cdk-mlops.json', 'package.json', 'pins.json', 'projenrc/tsconfig.json',
  'src/app.ts', 'src/environments.ts', 'src/main.ts', 'test/app.test.ts', 'test/tsconfig.json', 'tsconfig.json',
].sort();

describe('cdk-mlops init', () => {
  let repo: string;
  beforeAll(async () => {
    repo = path.join(tmp, 'one');
    const r = await init([repo, ...ARGS]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  test('writes the repository: template files and the files of the project type', () => {
    expect(Object.keys(readTree(repo)).sort()).toEqual(EXPECTED_FILES);
  });

  test('a second generation with the same inputs is byte-identical, modes included', async () => {
    const again = path.join(tmp, 'two');
    expect((await init([again, ...ARGS])).code).toBe(0);
    const a = readTree(repo);
    const b = readTree(again);
    expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
    for (const f of Object.keys(a)) {
      expect({ f, same: a[f].equals(b[f]) }).toEqual({ f, same: true });
      expect({ f, mode: fs.statSync(path.join(again, f)).mode }).toEqual({ f, mode: fs.statSync(path.join(repo, f)).mode });
    }
  });

  test('every template placeholder is filled; nothing depends on the machine or the clock', () => {
    for (const [f, content] of Object.entries(readTree(repo))) {
      const text = content.toString('utf8');
      expect({ f, placeholder: /\{\{[A-Za-z]+\}\}/.exec(text)?.[0] }).toEqual({ f, placeholder: undefined });
      expect({ f, tmp: text.includes(tmp) || text.includes(os.tmpdir()) }).toEqual({ f, tmp: false });
      expect({ f, year: /20\d\d-\d\d-\d\d/.test(text) }).toEqual({ f, year: false });
    }
  });

  test('the options reach the files: environments, accounts, region, models, repository, owners, version', () => {
    const envs = fs.readFileSync(path.join(repo, 'src', 'environments.ts'), 'utf8');
    expect(envs).toContain("export const PLATFORM_NAME = 'acme-ml';");
    expect(envs.match(/account: '(\d+)'/g)).toEqual(["account: '111111111111'", "account: '111111111111'", "account: '333333333333'"]);
    expect(envs.match(/region: '([a-z0-9-]+)'/g)).toEqual(Array(3).fill("region: 'eu-central-1'"));
    expect(envs.match(/name: '([a-z]+)'/g)).toEqual(["name: 'dev'", "name: 'staging'", "name: 'prod'"]);
    expect(envs.match(/prune: (true|false)/g)).toEqual(['prune: true', 'prune: true', 'prune: false']);
    const rc = fs.readFileSync(path.join(repo, '.projenrc.ts'), 'utf8');
    expect(rc).toContain("repositoryUrl: 'https://github.com/acme/ml-platform.git',");
    expect(rc).toContain("codeOwners: ['@acme/ml-platform', '@acme/sre'],");
    expect(rc).toContain("cdkMlopsVersion: '^0.1.0',");
    expect(rc).toContain("import { ClusterAddon, MlopsGitOpsProject } from 'cdk-mlops/lib/projen';");
    expect(rc).toContain('addons: [ClusterAddon.kubePrometheusStack(), ClusterAddon.gatewayApiCrds(), ClusterAddon.karpenter(), ClusterAddon.kueue()],');
    // the GPU pool: Spot in all but the last environment, a small pool in the first
    expect(envs.match(/gpu: \{ spot: (true|false), maxGpus: (\d+) \}/g)).toEqual(['gpu: { spot: true, maxGpus: 4 }', 'gpu: { spot: true, maxGpus: 8 }', 'gpu: { spot: false, maxGpus: 8 }']);
    // init's own project (written without running .projenrc.ts) installs the same add-ons as .projenrc.ts says
    for (const addon of ['kube-prometheus-stack', 'gateway-api-crds', 'karpenter', 'kueue']) expect(fs.existsSync(path.join(repo, 'argocd', 'dev', 'apps', `${addon}.yaml`))).toBe(true);
    expect(fs.readFileSync(path.join(repo, 'src', 'app.ts'), 'utf8')).toContain("export const MODELS = ['churn', 'fraud'] as const;");
    const pins = ModelPins.fromFile(path.join(repo, 'pins.json'));
    const replicas = { minReplicas: 2, maxReplicas: 10 };
    expect(pins.document).toEqual({
      schemaVersion: 1,
      models: { churn: { dev: 1, staging: 1, prod: 1 }, fraud: { dev: 1, staging: 1, prod: 1 } },
      settings: { dev: replicas, staging: replicas, prod: replicas },
    });
    expect(JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8')).dependencies).toEqual({ 'cdk-mlops': '^0.1.0' });
    expect(fs.readFileSync(path.join(repo, '.github', 'CODEOWNERS'), 'utf8')).toContain('* @acme/ml-platform @acme/sre');
    expect(fs.readFileSync(path.join(repo, 'README.md'), 'utf8')).toMatch(/^# acme-ml\n/);
    expect(fs.readFileSync(path.join(repo, 'argocd', 'prod', 'bootstrap.yaml'), 'utf8')).toContain('repoURL: https://github.com/acme/ml-platform.git');
  });

  test('refuses a folder that is not empty, and writes nothing into it; --force writes', async () => {
    const dir = path.join(tmp, 'busy');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'mine');
    const r = await init([dir, ...ARGS]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`cdk-mlops init: <dir>: '${dir}' is not empty (notes.txt); expected a new or empty folder, or --force to write into it\n`);
    expect(fs.readdirSync(dir)).toEqual(['notes.txt']);
    expect((await init([dir, ...ARGS, '--force'])).code).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'notes.txt'), 'utf8')).toBe('mine');
    expect(fs.existsSync(path.join(dir, 'src', 'app.ts'))).toBe(true);
  });

  test('--force over an earlier generation gives the same files again', async () => {
    expect((await init([repo, ...ARGS, '--force'])).code).toBe(0);
    const again = readTree(path.join(tmp, 'two'));
    const now = readTree(repo);
    for (const f of Object.keys(again)) expect({ f, same: again[f].equals(now[f]) }).toEqual({ f, same: true });
  });

  test('invalid options: every problem named at once, nothing written', async () => {
    const dir = path.join(tmp, 'Bad_Name');
    const r = await init([dir, '--environments', 'dev,Prod,dev', '--account', 'qa=111111111111', '--account', '12', '--region', 'europe', '--model', 'Fraud!', '--repository', 'ftp://x', '--owners', ',']);
    expect(r.code).toBe(2);
    expect(r.stderr.startsWith('cdk-mlops init: invalid options:\n  - ')).toBe(true);
    for (const problem of [
      "--name: 'Bad_Name' (the folder name) is not a platform name",
      "--environments: 'Prod' is not an environment name",
      "--environments: 'dev,Prod,dev' names an environment twice",
      "--region: 'europe' is not an AWS region",
      "--account: 'qa' is not an environment; expected one of dev, Prod, dev",
      "--account: '12' is not an account id",
      "--model: 'Fraud!' is not a model name",
      "--repository: 'ftp://x' is not a Git URL",
      "--owners: ',' names no owner",
    ]) expect(r.stderr).toContain(problem);
    expect(fs.existsSync(dir)).toBe(false);
  });

  test('a missing folder, an extra argument, an unknown option, --help', async () => {
    expect((await init([])).stderr).toContain('<dir>: is missing');
    expect((await init(['a', 'b'])).stderr).toContain('<dir>: got 2 (a b); expected one folder');
    const unknown = await init(['x', '--nme', 'y']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('Run `cdk-mlops init --help` for the options.');
    const help = await init(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('usage: cdk-mlops init <dir> [options]');
  });
});

describe('init without projen', () => {
  test('says how to run it with projen, and writes nothing', async () => {
    const dir = path.join(tmp, 'no-projen');
    let r: { code: number; stderr: string } | undefined;
    await jest.isolateModulesAsync(async () => {
      jest.doMock('projen', () => {
        throw Object.assign(new Error("Cannot find module 'projen' from 'src/projen/project.ts'"), { code: 'MODULE_NOT_FOUND' });
      });
      const isolated = await import('../../src/cli/commands/init');
      let stderr = '';
      const err = jest.spyOn(process.stderr, 'write').mockImplementation((t: string | Uint8Array) => {
        stderr += String(t);
        return true;
      });
      try {
        r = { code: await isolated.run([dir, '--name', 'acme-ml']), stderr };
      } finally {
        err.mockRestore();
      }
    });
    jest.dontMock('projen');
    expect(r).toEqual({ code: 2, stderr: "cdk-mlops init: projen: is not installed; init needs it (an optional peer dependency of cdk-mlops): run it as 'npx -p projen -p cdk-mlops cdk-mlops init <dir>'\n" });
    expect(fs.existsSync(dir)).toBe(false);
  });
});

describe('init building blocks', () => {
  test('defaults: dev, staging, prod; the first small, the last without automated prune', () => {
    const o = resolveInitOptions({}, '/somewhere/acme-ml');
    expect(o.platformName).toBe('acme-ml');
    expect(o.environments.map((e) => [e.name, e.availabilityZones, e.natGateways, e.prune, e.logRetentionDays])).toEqual([
      ['dev', 2, 1, true, 30], ['staging', 3, 3, true, 90], ['prod', 3, 3, false, 365],
    ]);
    expect(new Set(o.environments.map((e) => e.cidr)).size).toBe(3);
    expect(o.models).toEqual(['breast-cancer']);
    expect(o.cdkMlopsVersion).toMatch(/^\^\d+\.\d+\.\d+/);
  });

  test('renderTemplate refuses a placeholder it does not know', () => {
    expect(renderTemplate('a {{x}} b', { x: '1' }, 't')).toBe('a 1 b');
    expect(() => renderTemplate('{{y}}', { x: '1' }, 'README.md')).toThrow('template README.md uses {{y}}, which init does not define');
  });
});
