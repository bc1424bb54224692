import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { run } from '../../src/cli/commands/up';

/** Runs `cdk-mlops up` in process and captures what it writes. */
async function up(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = jest.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => { out += String(c); return true; });
  const e = jest.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => { err += String(c); return true; });
  try {
    return { code: await run(argv), out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

const APP = path.join(__dirname, 'fixtures', 'app.ts');

describe('cdk-mlops up: usage', () => {
  test('--help prints the options and exits 0', async () => {
    const r = await up(['--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^usage: cdk-mlops up \[--app <file>\]/);
    expect(r.out).toContain('--once');
    expect(r.out).toContain('Ctrl-C (SIGINT) or SIGTERM stops every process');
  });

  test.each([
    [['--app', APP, '--json'], '--json goes with --once (the summary); without --once, up shows a live status'],
    [['--app', APP, '--once', '--rows', '5'], '--rows expects a whole number from 30 to 100000 (the monitor tests columns with at least 30 values), got "5"'],
    [['--app', APP, '--once', '--shift=0'], '--shift expects a number of standard deviations > 0, got "0"'],
    [['--app', APP, '--monitor-every', 'soon'], '--monitor-every: duration "soon" must look like 30s, 15m, 6h or 7d'],
    [['--app', APP, '--monitor-every', '500ms'], '--monitor-every expects at least 1s, got 500ms'],
    [['--app', path.join(__dirname, 'nope.ts')], `the platform program '${path.join(__dirname, 'nope.ts')}' does not exist (pass --app <file>)`],
    [['--app', APP, '--data', path.join(__dirname, 'no-such-dir')], `--data '${path.join(__dirname, 'no-such-dir')}' does not exist`],
    [['--bogus'], "Unknown option '--bogus'"],
  ])('%j is a usage error (exit 2) naming the input', async (argv, message) => {
    const r = await up(argv);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`cdk-mlops up: ${message}`);
    expect(r.err).toContain("Run 'cdk-mlops up --help' for the options.");
    expect(r.out).toBe('');
  });
});

describe('cdk-mlops up: the state directory', () => {
  test('a directory holding files up did not create is refused before anything is deleted or started', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'up-state-'));
    try {
      fs.mkdirSync(path.join(dir, 'dist'));
      fs.writeFileSync(path.join(dir, 'dist', 'keep.txt'), 'mine');
      fs.writeFileSync(path.join(dir, 'README.md'), 'mine');
      const r = await up(['--app', APP, '--once', '--state', dir]);
      expect(r.code).toBe(1);
      expect(r.err).toContain(`cdk-mlops up: the state directory ${dir} holds files cdk-mlops up did not create (README.md, dist); give --state an empty or new directory`);
      expect(fs.readFileSync(path.join(dir, 'dist', 'keep.txt'), 'utf8')).toBe('mine');
      expect(fs.readdirSync(dir).sort()).toEqual(['README.md', 'dist']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
