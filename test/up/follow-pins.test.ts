import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { portRefused, portsOfState, processesMentioning, startUp, writeFixtureData } from './support';
import { cliPath } from '../support/dist';

/**
 * The GitOps loop on one machine: while `cdk-mlops up` runs, `cdk-mlops promote` edits the pins
 * file the program reads; `up` synthesizes the program again and the model server hot-reloads
 * the promoted version, without a restart.
 */
describe('cdk-mlops up follows the pins file', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'up-pins-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('a promotion in another terminal is served within seconds, by the same process', async () => {
    // A copy of the fixture program, so that its pins file can be edited.
    const program = path.join(dir, 'program');
    fs.mkdirSync(program);
    for (const f of ['app.ts', 'platform.ts', 'columns.ts', 'pins.json']) fs.copyFileSync(path.join(__dirname, 'fixtures', f), path.join(program, f));
    const data = path.join(dir, 'data');
    writeFixtureData(data);
    const state = path.join(dir, 'state');
    const args = ['--app', path.join(program, 'app.ts'), '--state', state, '--data', data];

    // v1 and v2 in the registry (the loop's retraining), the pin still at 1.
    const once = await startUp([...args, '--once', '--json'], dir).done;
    expect(once.code).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(program, 'pins.json'), 'utf8')).models.cancer.dev).toBe(1);

    const up = startUp(args, dir);
    try {
      await up.until(/Running\. Ctrl-C stops everything\./, 60_000);
      const { port } = JSON.parse(fs.readFileSync(path.join(state, 'config', 'Rollout_up-test-serving_cancer.json'), 'utf8')) as { port: number };
      const token = fs.readFileSync(path.join(state, 'secrets', 'up-test-serving', 'cancer-tokens', 'tokens'), 'utf8').split('\n').find((l) => l && !l.startsWith('#'))!;
      const served = async () => ((await (await fetch(`http://127.0.0.1:${port}/v2/models/cancer`, { headers: { authorization: `Bearer ${token}` } })).json()) as { versions: string[] }).versions;
      expect(await served()).toEqual(['1']);
      const [server] = processesMentioning(path.join(state, 'config', 'Rollout_up-test-serving_cancer.json'));

      const promote = spawnSync(process.execPath, [cliPath(), 'promote', 'cancer', '--to', 'dev', '--version', '2', '--pins', path.join(program, 'pins.json')], { encoding: 'utf8' });
      expect(promote.status).toBe(0);
      await up.until(/pins\.json changed: .*Rollout\/up-test-serving\/cancer reloaded/, 30_000);
      const deadline = Date.now() + 20_000;
      while ((await served())[0] !== '2' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      expect(await served()).toEqual(['2']);
      // Hot reload: the same process serves the new version.
      expect(processesMentioning(path.join(state, 'config', 'Rollout_up-test-serving_cancer.json')).map((p) => p.pid)).toEqual([server.pid]);
      expect(JSON.parse(fs.readFileSync(path.join(state, 'config', 'CronJob_up-test-monitoring_cancer-drift.json'), 'utf8')).version).toBe(2);
    } finally {
      up.child.kill('SIGINT');
    }
    expect((await up.done).code).toBe(0);
    expect(processesMentioning(state)).toEqual([]);
    for (const port of portsOfState(state)) expect(await portRefused(port)).toBe(true);
  }, 120_000);
});
