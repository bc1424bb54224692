import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolvePinsFile, run } from '../../src/cli/commands/promote';

const PINS = `{
    "schemaVersion": 1,
    "models": {
        "fraud": { "dev": 12, "staging": 11, "prod": 9 },
        "churn": { "dev": 3, "staging": 3, "prod": 2 }
    }
}
`;

async function promote(cwd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
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
  const before = process.cwd();
  process.chdir(cwd);
  try {
    return { code: await run(args), stdout, stderr };
  } finally {
    process.chdir(before);
    out.mockRestore();
    err.mockRestore();
  }
}

let dir: string;
let file: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'promote-'));
  fs.mkdirSync(path.join(dir, 'config'));
  file = path.join(dir, 'config', 'model-pins.json');
  fs.writeFileSync(file, PINS);
  fs.writeFileSync(path.join(dir, 'cdk-mlops.json'), JSON.stringify({ app: 'src/main.ts', pins: 'config/model-pins.json' }));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('cdk-mlops promote', () => {
  test('--from: the whole file before and after differs in exactly the promoted number', async () => {
    const r = await promote(dir, ['fraud', '--from', 'staging', '--to', 'prod']);
    expect(r).toEqual({ code: 0, stderr: '', stdout: "config/model-pins.json: models.fraud.prod 9 -> 11 (the version 'staging' serves)\n" });
    expect(fs.readFileSync(file, 'utf8')).toBe(PINS.replace('"prod": 9 }', '"prod": 11 }'));
  });

  test('--version: pins a new version; the same key of another model is untouched', async () => {
    const r = await promote(dir, ['churn', '--to', 'dev', '--version', '4']);
    expect(r.stdout).toBe('config/model-pins.json: models.churn.dev 3 -> 4\n');
    expect(fs.readFileSync(file, 'utf8')).toBe(PINS.replace('"churn": { "dev": 3,', '"churn": { "dev": 4,'));
  });

  test('already pinned: says so and leaves the file (and its timestamp) alone', async () => {
    const mtime = fs.statSync(file).mtimeMs;
    const r = await promote(dir, ['churn', '--from', 'dev', '--to', 'staging']);
    expect(r).toEqual({ code: 0, stderr: '', stdout: 'config/model-pins.json: models.churn.staging is already 3; nothing changed\n' });
    expect(fs.readFileSync(file, 'utf8')).toBe(PINS);
    expect(fs.statSync(file).mtimeMs).toBe(mtime);
  });

  test.each([
    [['fraud', '--to', 'qa', '--version', '3'], "cdk-mlops promote: config/model-pins.json: models.fraud: has no pin for 'qa'; expected one of: dev, staging, prod\n"],
    [['frad', '--to', 'prod', '--version', '3'], "cdk-mlops promote: config/model-pins.json: models: has no model 'frad'; expected one of: churn, fraud\n"],
    [['fraud', '--to', 'prod', '--version', 'seven'], "cdk-mlops promote: --version: 'seven' is not a version number; expected a whole number >= 1\n"],
    [['fraud', '--to', 'prod'], 'cdk-mlops promote: --version: is missing; expected --version <n>, or --from <target> to copy its version\n'],
    [['fraud', '--from', 'dev', '--to', 'prod', '--version', '11'], "cdk-mlops promote: --version: 11 is not what 'dev' serves: config/model-pins.json pins fraud at 12 for 'dev'; promote the version that was validated there, or leave out --from\n"],
    [['--to', 'prod', '--version', '3'], 'cdk-mlops promote: <model>: is missing; expected the name of a pinned model\n'],
    [['fraud', 'churn', '--to', 'prod', '--version', '3'], 'cdk-mlops promote: <model>: got 2 (fraud churn); expected exactly one model\n'],
    [['fraud', '--version', '3'], 'cdk-mlops promote: --to: is missing; expected the environment (or pinned target) to change\n'],
  ])('refuses %j with a clear error, exit 2, file unchanged', async (args, message) => {
    const r = await promote(dir, args);
    expect(r).toEqual({ code: 2, stdout: '', stderr: message });
    expect(fs.readFileSync(file, 'utf8')).toBe(PINS);
  });

  test('a model name starting with a dash after -- (as the promote workflow passes it) is a model, not an option', async () => {
    const r = await promote(dir, ['--to', 'prod', '--version', '3', '--', '--pins']);
    expect(r.stderr).toContain("has no model '--pins'");
  });

  test('--pins overrides cdk-mlops.json; without either, pins.json', async () => {
    const other = path.join(dir, 'other.json');
    fs.writeFileSync(other, PINS);
    expect((await promote(dir, ['fraud', '--to', 'prod', '--version', '10', '--pins', 'other.json'])).stdout).toBe('other.json: models.fraud.prod 9 -> 10\n');
    expect(fs.readFileSync(file, 'utf8')).toBe(PINS);
    expect(resolvePinsFile(path.join(dir, 'config'), undefined)).toBe(path.join(dir, 'config', 'pins.json'));
    fs.writeFileSync(path.join(dir, 'cdk-mlops.json'), JSON.stringify({ pins: 7 }));
    expect(() => resolvePinsFile(dir, undefined)).toThrow('cdk-mlops.json: pins: 7 is not a path');
  });

  test('--from without a model: every model and the settings of the source; each change on its own line', async () => {
    const withSettings = PINS.replace('    }\n}\n', '    },\n    "settings": {\n        "staging": { "minReplicas": 2, "maxReplicas": 6 },\n        "prod": { "minReplicas": 2, "maxReplicas": 4 }\n    }\n}\n');
    fs.writeFileSync(file, withSettings);
    const r = await promote(dir, ['--from', 'staging', '--to', 'prod']);
    expect(r).toEqual({
      code: 0,
      stderr: '',
      stdout: [
        "config/model-pins.json: models.churn.prod 2 -> 3 (the version 'staging' serves)",
        "config/model-pins.json: models.fraud.prod 9 -> 11 (the version 'staging' serves)",
        "config/model-pins.json: settings.prod.maxReplicas 4 -> 6 (as 'staging')",
        '',
      ].join('\n'),
    });
    expect(fs.readFileSync(file, 'utf8')).toBe(withSettings
      .replace('"prod": 9 }', '"prod": 11 }')
      .replace('"staging": 3, "prod": 2 }', '"staging": 3, "prod": 3 }')
      .replace('"prod": { "minReplicas": 2, "maxReplicas": 4 }', '"prod": { "minReplicas": 2, "maxReplicas": 6 }'));
    // --versions-only copies the version and leaves the settings
    fs.writeFileSync(file, withSettings);
    expect((await promote(dir, ['fraud', '--from', 'staging', '--to', 'prod', '--versions-only'])).stdout).toBe("config/model-pins.json: models.fraud.prod 9 -> 11 (the version 'staging' serves)\n");
    expect(fs.readFileSync(file, 'utf8')).toBe(withSettings.replace('"prod": 9 }', '"prod": 11 }'));
    // an unknown settings target is refused naming the ones there are, and the file stays
    fs.writeFileSync(file, withSettings);
    const bad = await promote(dir, ['--from', 'dev', '--to', 'staging']);
    expect(bad).toEqual({ code: 2, stdout: '', stderr: "cdk-mlops promote: config/model-pins.json: settings: has no target 'dev'; expected one of: staging, prod\n" });
    expect(fs.readFileSync(file, 'utf8')).toBe(withSettings);
    expect((await promote(dir, ['fraud', '--to', 'prod', '--version', '3', '--versions-only'])).stderr).toBe('cdk-mlops promote: --versions-only: needs --from; without --from only a version is pinned\n');
  });

  test('--help', async () => {
    const r = await promote(dir, ['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('usage: cdk-mlops promote <model> --to <target>');
  });
});
