import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { locateJson, nodeAt } from '../../src/promote/json-locate';
import { formatPins, ModelPins, promotePins, promotePinsFile } from '../../src/promote/pins';
import { InputError } from '../../src/runtime/errors';

const PINS = `{
  "schemaVersion": 1,
  "models": {
    "churn": {
      "dev": 3,
      "staging": 2,
      "prod": 2
    },
    "fraud": {
      "dev": 12,
      "staging": 11,
      "prod": 9,
      "prod-canary": 11
    }
  }
}
`;

/** The lines that differ between two texts of the same line count. */
function changedLines(before: string, after: string): { line: number; before: string; after: string }[] {
  const a = before.split('\n');
  const b = after.split('\n');
  expect(b).toHaveLength(a.length);
  return a.map((l, i) => ({ line: i + 1, before: l, after: b[i] })).filter((d) => d.before !== d.after);
}

/** The one region where two texts differ (after the common prefix, before the common suffix). */
function onlyDifference(a: string, b: string): { before: string; after: string } {
  let p = 0;
  while (p < a.length && p < b.length && a[p] === b[p]) p++;
  let s = 0;
  while (s < a.length - p && s < b.length - p && a[a.length - 1 - s] === b[b.length - 1 - s]) s++;
  return { before: a.slice(p, a.length - s), after: b.slice(p, b.length - s) };
}

function error(fn: () => unknown): InputError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return e as InputError;
  }
  throw new Error('expected an InputError');
}

describe('promotePins edits exactly the pinned version', () => {
  test('--version: one number on one line changes, every other byte stays', () => {
    const r = promotePins(PINS, { model: 'fraud', to: 'prod', version: 11 });
    expect(r.changed).toBe(true);
    expect(r.change).toEqual({ model: 'fraud', target: 'prod', from: 9, to: 11 });
    expect(changedLines(PINS, r.text)).toEqual([{ line: 12, before: '      "prod": 9,', after: '      "prod": 11,' }]);
    // the same as replacing that value in the parsed document, and nothing else
    const expected = JSON.parse(PINS);
    expected.models.fraud.prod = 11;
    expect(JSON.parse(r.text)).toEqual(expected);
  });

  test('--from copies the version of the other target; a target like prod-canary works as an environment does', () => {
    const r = promotePins(PINS, { model: 'fraud', from: 'staging', to: 'prod-canary' });
    expect(r.changed).toBe(false);
    const s = promotePins(PINS, { model: 'churn', from: 'dev', to: 'staging' });
    expect(changedLines(PINS, s.text)).toEqual([{ line: 6, before: '      "staging": 2,', after: '      "staging": 3,' }]);
  });

  test('the same key in another model is not touched (churn.prod vs fraud.prod)', () => {
    const r = promotePins(PINS, { model: 'churn', to: 'prod', version: 7 });
    expect(changedLines(PINS, r.text)).toEqual([{ line: 7, before: '      "prod": 2', after: '      "prod": 7' }]);
  });

  test.each([
    ['four-space indent', (t: string) => JSON.stringify(JSON.parse(t), null, 4)],
    ['tabs', (t: string) => JSON.stringify(JSON.parse(t), null, '\t')],
    ['one line', (t: string) => JSON.stringify(JSON.parse(t))],
    ['CRLF line endings, no final newline', (t: string) => t.trimEnd().replace(/\n/g, '\r\n')],
    ['keys in another order, spaces around colons', (t: string) => t.replace('"schemaVersion": 1,\n  "models"', '"models"').replace(/\n}\n$/, ',\n  "schemaVersion" : 1\n}\n').replace(/"prod": 9/, '"prod"  :  9')],
  ])('keeps the formatting: %s', (_name, reformat) => {
    const text = reformat(PINS);
    expect(JSON.parse(text)).toEqual(JSON.parse(PINS));
    const r = promotePins(text, { model: 'fraud', to: 'prod', version: 10 });
    expect(onlyDifference(text, r.text)).toEqual({ before: '9', after: '10' });
    expect(JSON.parse(r.text).models.fraud.prod).toBe(10);
  });

  test('a version equal to the current one changes nothing', () => {
    const r = promotePins(PINS, { model: 'churn', to: 'dev', version: 3 });
    const change = { model: 'churn', target: 'dev', from: 3, to: 3 };
    expect(r).toEqual({ text: PINS, changed: false, change, changes: [change], settingChanges: [] });
  });

  test('a rollback is the same edit backwards', () => {
    const forward = promotePins(PINS, { model: 'fraud', to: 'prod', version: 11 });
    const back = promotePins(forward.text, { model: 'fraud', to: 'prod', version: 9 });
    expect(back.text).toBe(PINS);
  });
});

describe('promotePins refuses what it cannot do, naming the input', () => {
  test('an unknown model lists the known ones', () => {
    const e = error(() => promotePins(PINS, { model: 'frud', to: 'prod', version: 3 }, 'pins.json'));
    expect(e.message).toBe("pins.json: models: has no model 'frud'; expected one of: churn, fraud");
  });

  test('an unknown environment lists the ones the model is pinned for', () => {
    const e = error(() => promotePins(PINS, { model: 'churn', to: 'qa', version: 3 }, 'pins.json'));
    expect(e.message).toBe("pins.json: models.churn: has no pin for 'qa'; expected one of: dev, staging, prod");
    expect(error(() => promotePins(PINS, { model: 'churn', from: 'qa', to: 'prod' })).message).toContain("has no pin for 'qa'");
  });

  test('--version that is not what --from serves', () => {
    const e = error(() => promotePins(PINS, { model: 'fraud', from: 'staging', to: 'prod', version: 12 }, 'pins.json'));
    expect(e.message).toBe("--version: 12 is not what 'staging' serves: pins.json pins fraud at 11 for 'staging'; promote the version that was validated there, or leave out --from");
  });

  test('neither --version nor --from; --from equal to --to; a version that is not a whole number >= 1', () => {
    expect(error(() => promotePins(PINS, { model: 'fraud', to: 'prod' })).message).toBe('--version: is missing; expected --version <n>, or --from <target> to copy its version');
    expect(error(() => promotePins(PINS, { model: 'fraud', from: 'prod', to: 'prod' })).message).toContain("--from: 'prod' is also --to");
    for (const v of [0, -1, 1.5, Number.NaN]) expect(error(() => promotePins(PINS, { model: 'fraud', to: 'prod', version: v })).input).toBe('--version');
  });

  test('a file that is not JSON, or not a pins file, is reported with every problem and its path', () => {
    expect(error(() => promotePins('{"schemaVersion": 1,', { model: 'a', to: 'b', version: 1 }, 'p.json')).message).toMatch(/^p\.json: is not valid JSON \(/);
    const e = error(() => ModelPins.parse(JSON.stringify({ schemaVersion: 2, models: { Fraud: { prod: 0 }, churn: { PROD: 1, dev: 'x' } }, extra: true }), 'p.json'));
    expect(e.message).toContain('p.json: is not a valid pins file:');
    for (const part of [
      'schemaVersion: Invalid input: expected 1',
      'models.Fraud: the key "Fraud" is not a model name',
      'models.churn.PROD: the key "PROD" is not a target name',
      'models.churn.dev: Invalid input: expected number',
      '(root): Unrecognized key: "extra"',
    ]) expect(e.message).toContain(part);
  });
});

describe('ModelPins: what the platform program reads', () => {
  test('versions, models and targets', () => {
    const pins = ModelPins.parse(PINS, 'pins.json');
    expect(pins.models).toEqual(['churn', 'fraud']);
    expect(pins.targets('fraud')).toEqual(['dev', 'staging', 'prod', 'prod-canary']);
    expect(pins.version('fraud', 'prod-canary')).toBe(11);
    expect(error(() => pins.version('churn', 'qa')).message).toContain("has no pin for 'qa'");
  });

  test('formatPins writes the layout init uses and parses back to the same document', () => {
    const doc = ModelPins.parse(PINS).document;
    expect(formatPins(doc)).toBe(PINS);
  });

  test('fromFile names a missing file', () => {
    expect(error(() => ModelPins.fromFile('/nonexistent/pins.json')).message).toContain('/nonexistent/pins.json: cannot be read (ENOENT)');
  });
});

describe('promotePinsFile', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pins-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('writes the edit and leaves no temporary file; a refused edit leaves the file as it was', () => {
    const file = path.join(dir, 'pins.json');
    fs.writeFileSync(file, PINS);
    promotePinsFile(file, { model: 'fraud', to: 'prod', version: 11 });
    expect(changedLines(PINS, fs.readFileSync(file, 'utf8'))).toEqual([{ line: 12, before: '      "prod": 9,', after: '      "prod": 11,' }]);
    expect(fs.readdirSync(dir)).toEqual(['pins.json']);
    const before = fs.readFileSync(file, 'utf8');
    expect(() => promotePinsFile(file, { model: 'nope', to: 'prod', version: 1 })).toThrow(InputError);
    expect(fs.readFileSync(file, 'utf8')).toBe(before);
    expect(error(() => promotePinsFile(path.join(dir, 'missing.json'), { model: 'a', to: 'b', version: 1 })).input).toBe('--pins');
  });
});

describe('locateJson', () => {
  test('offsets of nested values, strings with escapes and quotes, arrays', () => {
    const text = '{ "a\\"b": [1, {"c": "x}\\"y"}], "d" : { "e" : -1.5e3 }, "f": null }';
    const root = locateJson(text);
    const e = nodeAt(root, ['d', 'e'])!;
    expect(text.slice(e.start, e.end)).toBe('-1.5e3');
    const ab = nodeAt(root, ['a"b'])!;
    expect(ab.kind).toBe('array');
    expect(text.slice(ab.start, ab.end)).toBe('[1, {"c": "x}\\"y"}]');
    expect(nodeAt(root, ['missing'])).toBeUndefined();
    expect(nodeAt(root, ['f', 'g'])).toBeUndefined();
  });

  test('text that is not JSON is refused with the offset', () => {
    expect(() => locateJson('{"a": 1} x')).toThrow('not valid JSON at offset 9: expected the end of the document');
    expect(() => locateJson('{"a": tru}')).toThrow(/offset 6: expected a value/);
  });
});

describe('settings: per-environment values promoted with the model versions', () => {
  const WITH_SETTINGS = `{
  "schemaVersion": 1,
  "models": {
    "churn": { "dev": 3, "staging": 2, "prod": 2 },
    "fraud": { "dev": 12, "staging": 11, "prod": 9 }
  },
  "settings": {
    "dev": { "minReplicas": 1, "maxReplicas": 2, "logLevel": "debug", "shadow": true },
    "staging": { "minReplicas": 2, "maxReplicas": 6, "logLevel": "info", "shadow": false },
    "prod": { "minReplicas": 2, "maxReplicas": 4, "logLevel": "info", "shadow": false }
  }
}
`;

  test('ModelPins.setting reads a value; unknown targets and names are refused naming the valid ones', () => {
    const pins = ModelPins.parse(WITH_SETTINGS, 'pins.json');
    expect(pins.setting('maxReplicas', 'staging')).toBe(6);
    expect(pins.numberSetting('minReplicas', 'dev')).toBe(1);
    expect(pins.setting('logLevel', 'dev')).toBe('debug');
    expect(pins.settingTargets).toEqual(['dev', 'staging', 'prod']);
    expect(pins.settingNames('prod')).toEqual(['minReplicas', 'maxReplicas', 'logLevel', 'shadow']);
    expect(error(() => pins.setting('maxReplica', 'prod')).message).toBe("pins.json: settings.prod: has no setting 'maxReplica'; expected one of: minReplicas, maxReplicas, logLevel, shadow");
    expect(error(() => pins.setting('maxReplicas', 'qa')).message).toBe("pins.json: settings: has no target 'qa'; expected one of: dev, staging, prod");
    expect(error(() => pins.numberSetting('logLevel', 'prod')).message).toBe('pins.json: settings.prod.logLevel: "info" is not a number; expected a number');
    // a file without settings (every file written before settings existed) stays valid
    expect(error(() => ModelPins.parse(PINS, 'pins.json').setting('minReplicas', 'prod')).message).toContain("pins.json: settings: has no target 'prod'; expected one of: (none");
  });

  test('bad settings are reported with their path', () => {
    const e = error(() => ModelPins.parse(JSON.stringify({ schemaVersion: 1, models: {}, settings: { PROD: { a: 1 }, dev: { '9x': 1, 'ok': [1], 'n': null } } }), 'p.json'));
    for (const part of ['settings.PROD: the key "PROD" is not a target name', 'settings.dev.9x: the key "9x" is not a setting name', 'settings.dev.ok: Invalid input', 'settings.dev.n: Invalid input']) {
      expect(e.message).toContain(part);
    }
  });

  test('--from copies the model version and every differing setting of the source, and nothing else', () => {
    const r = promotePins(WITH_SETTINGS, { model: 'fraud', from: 'staging', to: 'prod' });
    expect(r.changed).toBe(true);
    expect(r.changes).toEqual([{ model: 'fraud', target: 'prod', from: 9, to: 11 }]);
    expect(r.settingChanges).toEqual([{ name: 'maxReplicas', target: 'prod', from: 4, to: 6 }]);
    expect(changedLines(WITH_SETTINGS, r.text)).toEqual([
      { line: 5, before: '    "fraud": { "dev": 12, "staging": 11, "prod": 9 }', after: '    "fraud": { "dev": 12, "staging": 11, "prod": 11 }' },
      { line: 10, before: '    "prod": { "minReplicas": 2, "maxReplicas": 4, "logLevel": "info", "shadow": false }', after: '    "prod": { "minReplicas": 2, "maxReplicas": 6, "logLevel": "info", "shadow": false }' },
    ]);
    const expected = JSON.parse(WITH_SETTINGS);
    expected.models.fraud.prod = 11;
    expected.settings.prod.maxReplicas = 6;
    expect(JSON.parse(r.text)).toEqual(expected);
  });

  test('without a model, --from promotes every model pinned for both targets; strings and booleans are copied as JSON', () => {
    const r = promotePins(WITH_SETTINGS, { from: 'dev', to: 'staging' });
    expect(r.changes).toEqual([{ model: 'churn', target: 'staging', from: 2, to: 3 }, { model: 'fraud', target: 'staging', from: 11, to: 12 }]);
    expect(r.settingChanges.map((c) => c.name)).toEqual(['minReplicas', 'maxReplicas', 'logLevel', 'shadow']);
    const expected = JSON.parse(WITH_SETTINGS);
    expected.models.churn.staging = 3;
    expected.models.fraud.staging = 12;
    expected.settings.staging = { ...expected.settings.dev };
    expect(JSON.parse(r.text)).toEqual(expected);
    // only lines 4, 5 and 9 differ
    expect(changedLines(WITH_SETTINGS, r.text).map((d) => d.line)).toEqual([4, 5, 9]);
    // promoting again changes nothing
    expect(promotePins(r.text, { from: 'dev', to: 'staging' }).changed).toBe(false);
  });

  test('--version without --from, and versionsOnly, leave the settings alone', () => {
    expect(promotePins(WITH_SETTINGS, { model: 'fraud', to: 'prod', version: 11 }).settingChanges).toEqual([]);
    const r = promotePins(WITH_SETTINGS, { model: 'fraud', from: 'staging', to: 'prod', versionsOnly: true });
    expect(r.settingChanges).toEqual([]);
    expect(changedLines(WITH_SETTINGS, r.text).map((d) => d.line)).toEqual([5]);
  });

  test('a rollback of a promotion with settings is the same edit backwards', () => {
    const forward = promotePins(WITH_SETTINGS, { from: 'dev', to: 'staging' });
    const back = promotePins(forward.text, { from: 'prod', to: 'staging', versionsOnly: true });
    expect(back.changes.map((c) => c.to)).toEqual([2, 9]);
  });

  test('targets with different setting names, or settings for only one of them, are refused naming what differs', () => {
    const uneven = WITH_SETTINGS.replace('"prod": { "minReplicas": 2, "maxReplicas": 4, "logLevel": "info", "shadow": false }', '"prod": { "minReplicas": 2, "maxReplicas": 4, "region": "eu" }');
    expect(error(() => promotePins(uneven, { from: 'staging', to: 'prod' }, 'pins.json')).message).toBe(
      "pins.json: settings: 'staging' and 'prod' do not have the same settings (settings.prod lacks logLevel, shadow; settings.prod has region that settings.staging does not); expected the same names in both (minReplicas, maxReplicas, logLevel, shadow), or --versions-only",
    );
    expect(promotePins(uneven, { from: 'staging', to: 'prod', versionsOnly: true }).changed).toBe(true);
    const noProd = JSON.stringify({ schemaVersion: 1, models: { churn: { dev: 1, prod: 1 } }, settings: { dev: { a: 1 } } });
    expect(error(() => promotePins(noProd, { from: 'dev', to: 'prod' }, 'pins.json')).message).toBe("pins.json: settings: has no target 'prod'; expected one of: dev");
    expect(error(() => promotePins(WITH_SETTINGS, { from: 'qa', to: 'prod' }, 'pins.json')).message).toBe("--from: no model of pins.json is pinned for both 'qa' and 'prod'; expected targets among: dev, staging, prod");
    expect(error(() => promotePins(WITH_SETTINGS, { to: 'prod', version: 3 })).input).toBe('<model>');
    expect(error(() => promotePins(WITH_SETTINGS, { from: 'dev', to: 'prod', version: 3 })).input).toBe('--version');
  });

  test('the file is unchanged when a settings check fails', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pins-settings-'));
    try {
      const file = path.join(dir, 'pins.json');
      const uneven = WITH_SETTINGS.replace('"shadow": false }\n  }', '"shadow": false, "extra": 1 }\n  }');
      fs.writeFileSync(file, uneven);
      expect(() => promotePinsFile(file, { model: 'fraud', from: 'staging', to: 'prod' })).toThrow('do not have the same settings');
      expect(fs.readFileSync(file, 'utf8')).toBe(uneven);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
