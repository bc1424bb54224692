import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { portRefused, portsOfState, processesMentioning, startUp, writeFixtureData } from './support';
import type { UpSummary } from '../../src/up/loop';

/** `up --once` on a program whose endpoint follows the `champion` alias: nothing to promote, the server follows. */
describe('cdk-mlops up --once with an endpoint that follows the champion alias', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'up-champion-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('the retrained version, moved to champion by its gate, is served without a pin change', async () => {
    const data = path.join(dir, 'data');
    writeFixtureData(data);
    const state = path.join(dir, 'state');
    const r = await startUp(['--app', path.join(__dirname, 'fixtures', 'champion-app.ts'), '--once', '--json', '--state', state, '--data', data], dir).done;
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as UpSummary;
    expect(s.steps.map((x) => x.name).slice(-3)).toEqual(['retraining', "follow 'champion'", 'verify the new version serves']);
    expect(s.steps.find((x) => x.name === "follow 'champion'")!.detail).toBe("the endpoint follows 'champion', now v2: no pin to promote");
    expect(s.promotion).toBeUndefined();
    expect(s.endpoint?.servedVersion).toBe(2);
    expect(s.traffic.baseline.versions).toEqual(['1']);
    expect(s.traffic.verify.versions).toEqual(['2']);
    expect(fs.existsSync(path.join(state, 'pins'))).toBe(false);
    expect(processesMentioning(state)).toEqual([]);
    for (const port of portsOfState(state)) expect(await portRefused(port)).toBe(true);
  }, 90_000);
});
