import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sampleInput } from './sample';
import { run } from '../../../src/cli/commands/registry';
import { openRegistry } from '../../../src/runtime/registry/registry';

let tmp: string;
let root: string;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'registry-cli-'));
  root = path.join(tmp, 'reg');
  const registry = openRegistry(root);
  await registry.register(sampleInput('fraud', 'one'));
  await registry.register(sampleInput('fraud', 'two', {
    metrics: { roc_auc: 0.987654, accuracy: 0.95 },
    gate: { passed: false, reasons: ['roc_auc 0.9877 is below the minimum 0.99'], comparedWith: 1 },
    sliceMetrics: { sex: { 1: { accuracy: 0.9 }, 2: { accuracy: 0.97 } } },
  }));
  await registry.register(sampleInput('churn'));
  await registry.setAlias('fraud', 'champion', 1, 'alice', 'first');
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const o = jest.spyOn(process.stdout, 'write').mockImplementation((c) => { out.push(String(c)); return true; });
  const e = jest.spyOn(process.stderr, 'write').mockImplementation((c) => { err.push(String(c)); return true; });
  try {
    const code = await run([...argv, '--registry', root]);
    return { code, out: out.join(''), err: err.join('') };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

describe('cdk-mlops registry', () => {
  test('list shows models, their versions and aliases, as text and JSON', async () => {
    const text = await cli('list');
    expect(text.code).toBe(0);
    expect(text.out.split('\n')[0]).toMatch(/^MODEL\s+VERSIONS\s+LATEST\s+ALIASES$/);
    expect(text.out).toMatch(/fraud\s+2\s+2\s+champion=1/);
    const json = JSON.parse((await cli('list', '--json')).out);
    expect(json.models).toEqual([
      { model: 'churn', versions: 1, latest: 1, aliases: {} },
      { model: 'fraud', versions: 2, latest: 2, aliases: { champion: 1 } },
    ]);
    const versions = JSON.parse((await cli('list', 'fraud', '--json')).out);
    expect(versions.versions.map((v: { version: number; gate: string; aliases: string[] }) => [v.version, v.gate, v.aliases])).toEqual([[1, 'none', ['champion']], [2, 'failed', []]]);
    expect((await cli('list', 'fraud')).out).toMatch(/2\s+\S+Z\s+test\s+failed\s+roc_auc=0\.9877 accuracy=0\.9500/);
  });

  test('show prints the manifest, the gate reasons, slices and files; --card the model card', async () => {
    const shown = await cli('show', 'fraud');
    expect(shown.code).toBe(0);
    expect(shown.out).toContain('version:     2');
    expect(shown.out).toContain('gate:        FAILED (against version 1)');
    expect(shown.out).toContain('- roc_auc 0.9877 is below the minimum 0.99');
    expect(shown.out).toContain('slices by sex:');
    expect(shown.out).toMatch(/model\.onnx\s+14 bytes\s+sha256 [0-9a-f]{64}/);
    expect(JSON.parse((await cli('show', 'fraud', 'champion', '--json')).out)).toMatchObject({ version: 1, aliases: ['champion'] });
    expect((await cli('show', 'fraud', '1', '--card')).out).toBe('# fraud\n\ncard one\n');
    expect(JSON.parse((await cli('show', 'fraud', '1', '--reference')).out).rows).toBe(3);
  });

  test('alias moves an alias and lists its history', async () => {
    const moved = await cli('alias', 'fraud', 'champion', '2', '--by', 'bob', '--reason', 'rollout');
    expect(moved.code).toBe(0);
    expect(moved.out).toBe("fraud: alias 'champion' now points at version 2\n");
    const listed = await cli('alias', 'fraud');
    expect(listed.out).toMatch(/^champion -> 2\n {2}\S+ {2}-> 2 {5}by bob: rollout\n {2}\S+ {2}-> 1 {5}by alice: first\n$/);
    const json = JSON.parse((await cli('alias', 'fraud', '--json')).out);
    expect(json.aliases[0].history.map((h: { movedBy: string }) => h.movedBy)).toEqual(['alice', 'bob']);
    await cli('alias', 'fraud', 'champion', '1', '--by', 'carol');
  });

  test('verify passes a sound registry and fails (exit 1) naming a tampered file', async () => {
    const ok = await cli('verify');
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('3 of 3 version(s) verified');
    const file = path.join(root, 'models', 'churn', 'versions', '1', 'model-card.md');
    const original = fs.readFileSync(file);
    fs.writeFileSync(file, 'tampered');
    try {
      const bad = await cli('verify', 'churn');
      expect(bad.code).toBe(1);
      expect(bad.out).toContain('FAIL  churn v1');
      expect(bad.out).toContain('model-card.md of model');
      const json = JSON.parse((await cli('verify', '--json')).out);
      expect(json.ok).toBe(false);
      expect(json.results.filter((r: { problems: string[] }) => r.problems.length).map((r: { model: string }) => r.model)).toEqual(['churn']);
      const refused = await cli('show', 'churn', '1', '--card');
      expect(refused.code).toBe(1);
      expect(refused.err).toContain('fails verification');
    } finally {
      fs.writeFileSync(file, original);
    }
  });

  test('usage errors exit 2; unknown models and versions exit 1 with a precise message', async () => {
    expect((await cli()).code).toBe(2);
    const unknown = await cli('frobnicate');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain("unknown sub-command 'frobnicate'");
    expect((await cli('show')).err).toContain('expected 1 to 2 argument(s), got 0');
    expect((await cli('list', '--bogus')).code).toBe(2);
    const missing = await cli('show', 'fraud', '7');
    expect(missing.code).toBe(1);
    expect(missing.err).toContain("model 'fraud' has no version 7");
    expect((await cli('show', 'fraud', 'staging')).err).toContain("has no alias 'staging'");
    expect((await cli('list', 'nope')).err).toContain("model 'nope' has no versions");
    expect((await cli('--help')).out).toContain('cdk-mlops registry verify');
  });
});
