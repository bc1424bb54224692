import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ModelPins, pinsHooks } from '../../src/promote/pins';

describe('pins hooks (how `up` promotes without editing the pins file)', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pins-hooks-'));
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    pinsHooks().overrides.clear();
  });

  test('a pin read from a file is recorded with the absolute file, model, target and version', () => {
    const file = path.join(dir, 'pins.json');
    fs.writeFileSync(file, JSON.stringify({ schemaVersion: 1, models: { churn: { dev: 3, prod: 2 } } }));
    const before = pinsHooks().lookups.length;
    const rel = path.relative(process.cwd(), file);
    expect(ModelPins.fromFile(rel).version('churn', 'prod')).toBe(2);
    expect(pinsHooks().lookups.slice(before)).toEqual([{ file, model: 'churn', target: 'prod', version: 2 }]);
  });

  test('an override replaces the text of that file for this process; the file is not touched', () => {
    const file = path.join(dir, 'pins2.json');
    const text = JSON.stringify({ schemaVersion: 1, models: { churn: { dev: 3 } } });
    fs.writeFileSync(file, text);
    pinsHooks().overrides.set(file, JSON.stringify({ schemaVersion: 1, models: { churn: { dev: 4 } } }));
    try {
      expect(ModelPins.fromFile(file).version('churn', 'dev')).toBe(4);
    } finally {
      pinsHooks().overrides.delete(file);
    }
    expect(ModelPins.fromFile(file).version('churn', 'dev')).toBe(3);
    expect(fs.readFileSync(file, 'utf8')).toBe(text);
  });

  test('an invalid override is refused like an invalid file, naming the file', () => {
    const file = path.join(dir, 'pins3.json');
    fs.writeFileSync(file, JSON.stringify({ schemaVersion: 1, models: { churn: { dev: 3 } } }));
    pinsHooks().overrides.set(file, '{"schemaVersion": 1, "models": {"churn": {"dev": 0}}}');
    try {
      expect(() => ModelPins.fromFile(file)).toThrow(new RegExp(`${file.replace(/[/.]/g, '\\$&')}.*models\\.churn\\.dev`, 's'));
    } finally {
      pinsHooks().overrides.delete(file);
    }
  });

  test('pins parsed from text (no file) record nothing', () => {
    const before = pinsHooks().lookups.length;
    ModelPins.parse('{"schemaVersion": 1, "models": {"a": {"dev": 1}}}').version('a', 'dev');
    expect(pinsHooks().lookups.length).toBe(before);
  });
});
