import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { portRefused, portsOfState, processesMentioning, startUp, writeFixtureData } from './support';
import { cliPath } from '../support/dist';

/**
 * `cdk-mlops up` when things go wrong, and when it is stopped: a service that cannot start, a
 * service that dies while running, a second `up` in the same directory, and Ctrl-C. Each time:
 * the message says what happened, and nothing is left running or listening.
 */

const FIXTURES = path.join(__dirname, 'fixtures');

async function nothingLeft(state: string): Promise<void> {
  expect(processesMentioning(state)).toEqual([]);
  for (const port of portsOfState(state)) expect(await portRefused(port)).toBe(true);
  expect(fs.existsSync(path.join(state, 'up.lock'))).toBe(false);
}

describe('cdk-mlops up: faults and stopping', () => {
  let dir: string;
  let data: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'up-faults-'));
    data = path.join(dir, 'data');
    writeFixtureData(data);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('a model server that cannot start is reported with its log tail, and the services already started are stopped', async () => {
    const state = path.join(dir, 'broken');
    const up = startUp(['--app', path.join(FIXTURES, 'broken-app.ts'), '--once', '--state', state, '--data', data], dir);
    const r = await up.done;
    expect(r.code).toBe(1);
    // The feature server was up before the model server failed.
    expect(r.stderr).toMatch(/\+ Deployment\/up-test-features\/clinic-server +ready +http:\/\/127\.0\.0\.1:\d+/);
    const log = path.join(state, 'logs', 'Rollout_up-test-serving_cancer.log');
    expect(r.stderr).toContain(`cdk-mlops up: service 'Rollout/up-test-serving/cancer' failed to start: exited with 1 before it was ready (log: ${log})\n--- last lines of its log ---\n`);
    expect(r.stderr).toContain("ERROR cannot start: cannot serve:\n  - model 'cancer' (ref 5): model 'cancer' has no version 5 in file://");
    expect(r.stderr).toMatch(/- Deployment\/up-test-features\/clinic-server +stopped/);
    expect(r.stdout).toBe('');
    await nothingLeft(state);
  }, 90_000);

  test('a loop step that fails ends the loop: the summary says which and why, exit 1, everything stopped', async () => {
    const state = path.join(dir, 'nodrift');
    const r = await startUp(['--app', path.join(FIXTURES, 'app.ts'), '--once', '--shift=0.001', '--state', state, '--data', data], dir).done;
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^cdk-mlops up --once: the loop FAILED in [\d.]+ s/);
    expect(r.stdout).toMatch(/\n  ok +monitor \(baseline\) /);
    expect(r.stdout).toMatch(/\n  FAILED monitor \(shifted\) +[\d.]+ s  the monitor found no dataset drift in the shifted traffic \(\d+\/30 features drifted, share 0\.\d\d\); see \S+\.html/);
    expect(r.stdout).not.toContain('retraining');
    const summary = JSON.parse(fs.readFileSync(path.join(state, 'summary.json'), 'utf8'));
    expect(summary.ok).toBe(false);
    expect(summary.steps.map((s: { name: string }) => s.name).pop()).toBe('monitor (shifted)');
    await nothingLeft(state);
  }, 90_000);

  test('Ctrl-C in the middle of --once: exit 130, nothing started after it, nothing left', async () => {
    const state = path.join(dir, 'interrupted');
    const up = startUp(['--app', path.join(FIXTURES, 'app.ts'), '--once', '--state', state, '--data', data], dir);
    await up.until(/> loop: replay traffic/, 60_000);
    up.child.kill('SIGINT');
    const r = await up.done;
    expect(r.code).toBe(130);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('SIGINT: stopping every process');
    expect(fs.existsSync(path.join(state, 'summary.json'))).toBe(false);
    // A moment later still: no step of the interrupted loop started a process.
    await new Promise((res) => setTimeout(res, 1500));
    await nothingLeft(state);
  }, 90_000);

  test('a reader that goes away (up ... | head) neither crashes up nor leaves its processes behind', async () => {
    const state = path.join(dir, 'piped');
    const child = spawn(process.execPath, [cliPath(), 'up', '--app', path.join(FIXTURES, 'app.ts'), '--once', '--json', '--state', state, '--data', data], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    // Read the first chunk of each stream, then close them: later writes hit a closed pipe.
    child.stderr.once('data', () => child.stderr.destroy());
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(code).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(state, 'summary.json'), 'utf8')).ok).toBe(true);
    await nothingLeft(state);
  }, 90_000);

  test('a second up in the same directory is refused while the first runs; Ctrl-C then stops the first cleanly', async () => {
    const state = path.join(dir, 'running');
    const first = startUp(['--app', path.join(FIXTURES, 'app.ts'), '--state', state, '--data', data, '--monitor-every', '1s'], dir);
    try {
      await first.until(/Running\. Ctrl-C stops everything\./, 60_000);
      const serve = JSON.parse(fs.readFileSync(path.join(state, 'config', 'Rollout_up-test-serving_cancer.json'), 'utf8')) as { port: number };
      expect((await fetch(`http://127.0.0.1:${serve.port}/v2/health/ready`)).status).toBe(200);

      const second = await startUp(['--app', path.join(FIXTURES, 'app.ts'), '--once', '--state', state, '--data', data], dir).done;
      expect(second.code).toBe(1);
      expect(second.stderr).toMatch(new RegExp(`cdk-mlops up: another 'cdk-mlops up' is already running here \\(pid ${first.child.pid}, since [0-9T:.Z-]+\\); stop it with Ctrl-C first \\(lock: ${state.replace(/[.]/g, '\\.')}/up\\.lock\\)`));
      // The first is untouched: still serving, its state intact.
      expect((await fetch(`http://127.0.0.1:${serve.port}/v2/health/ready`)).status).toBe(200);
      expect(fs.existsSync(path.join(state, 's3'))).toBe(true);

      // Without --once, the scheduled monitor runs (every second here).
      await first.until(/CronJob\/up-test-monitoring\/cancer-drift +done/, 30_000);
      expect(fs.existsSync(path.join(state, 'monitor', 'cancer-drift', 'reports', 'latest.json'))).toBe(true);
    } finally {
      first.child.kill('SIGINT');
    }
    const r = await first.done;
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('SIGINT: stopping every process (again to kill them at once)');
    expect(r.stderr).toMatch(/- Rollout\/up-test-serving\/cancer +stopped/);
    expect(r.ms).toBeLessThan(60_000);
    await nothingLeft(state);
  }, 120_000);

  test('a restarted up keeps its state: the training run that completed is not run again, the model is served', async () => {
    const state = path.join(dir, 'running');
    const again = startUp(['--app', path.join(FIXTURES, 'app.ts'), '--state', state, '--data', data], dir);
    try {
      await again.until(/Running\. Ctrl-C stops everything\./, 60_000);
      expect(again.output()).toMatch(/= Job\/up-test-training\/cancer-train-[0-9a-f]{8} +done +completed at \S+ \(same configuration; --fresh to start over\)/);
      expect(again.output()).not.toMatch(/> Job\/up-test-training/);
      const versions = fs.readdirSync(path.join(state, 's3', 'up-test-dev-artifacts-8365695b', 'registry', 'models', 'cancer', 'versions'));
      expect(versions).toEqual(['1']);
    } finally {
      again.child.kill('SIGTERM');
    }
    const r = await again.done;
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('SIGTERM: stopping every process');
    await nothingLeft(state);
  }, 90_000);

  test('a service that dies while running is reported with its log tail and everything else is stopped', async () => {
    const state = path.join(dir, 'crash');
    const up = startUp(['--app', path.join(FIXTURES, 'app.ts'), '--state', state, '--data', data], dir);
    try {
      await up.until(/Running\. Ctrl-C stops everything\./, 60_000);
      const config = path.join(state, 'config', 'Deployment_up-test-features_clinic-server.json');
      const server = processesMentioning(config);
      expect(server).toHaveLength(1);
      process.kill(server[0].pid, 'SIGKILL');
    } catch (e) {
      up.child.kill('SIGINT');
      throw e;
    }
    const r = await up.done;
    expect(r.code).toBe(1);
    const log = path.join(state, 'logs', 'Deployment_up-test-features_clinic-server.log');
    expect(r.stderr).toContain(`cdk-mlops up: service 'Deployment/up-test-features/clinic-server' stopped: exited with SIGKILL while running (log: ${log})\n--- last lines of its log ---\nINFO `);
    expect(r.stderr).toMatch(/- Rollout\/up-test-serving\/cancer +stopped/);
    await nothingLeft(state);
  }, 90_000);
});
