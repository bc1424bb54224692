import * as fs from 'node:fs';
import * as path from 'node:path';
import pino from 'pino';
import { LIVE_ROWS, registerModel, rowsOf, testConfig, tmpDir, writeTraffic } from './support';
import { openObjectStore } from '../../../src/runtime/monitor/logs';
import { MonitorMetrics } from '../../../src/runtime/monitor/metrics';
import { runMonitorOnce } from '../../../src/runtime/monitor/monitor';
import { S3StateStore } from '../../../src/runtime/monitor/state-store';
import { openRegistry } from '../../../src/runtime/registry/registry';
import { FakeS3 } from '../../support/fake-s3';

/** Prediction logs, labels and the monitor's state in S3 (an S3 stand-in on loopback). */
describe('monitor with S3 prediction logs and S3 state', () => {
  const s3 = new FakeS3(['logs', 'state']);
  beforeAll(() => s3.start());
  afterAll(() => s3.stop());

  test('reads only the hour prefixes of the window, joins labels, and keeps episodes in S3 with conditional writes', async () => {
    const root = tmpDir('s3');
    const version = await registerModel(path.join(root, 'registry'), 'cancer');
    const now = Date.UTC(2025, 6, 1, 10, 15, 0);
    const { features, target } = rowsOf(LIVE_ROWS);
    const shifted = features.map((r) => ({ ...r, mean_texture: r.mean_texture * 2 }));
    const local = path.join(root, 'staging');
    writeTraffic(local, 'cancer', version, shifted, target, now - 30 * 60_000, 'a');
    // outside the 1h window: must not be listed or read
    writeTraffic(local, 'cancer', version, features, undefined, now - 5 * 3_600_000, 'old');
    const walk = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
    for (const f of walk(local)) s3.putObject('logs', `prod/${path.relative(local, f).split(path.sep).join('/')}`, fs.readFileSync(f));

    const config = testConfig(root, 'cancer', { logs: 's3://logs/prod', window: '1h', stateUri: 's3://state/monitors/cancer.json' });
    const deps = {
      registry: openRegistry(config.registry),
      logs: openObjectStore(config.logs, 'logs', s3.s3Options),
      state: new S3StateStore(config.stateUri!, s3.s3Options),
      metrics: new MonitorMetrics(),
      logger: pino({ level: 'silent' }),
      now: () => now,
    };
    const { result } = await runMonitorOnce(config, deps);
    expect(result.records).toMatchObject({ files: 1, rows: LIVE_ROWS.length, outsideWindow: 0 });
    expect(result.dataset.driftedColumns).toEqual(['mean_texture']);
    expect(result.performance).toMatchObject({ evaluated: true, labeledRows: LIVE_ROWS.length });
    const lists = s3.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/logs/?list-type=2')).map((r) => decodeURIComponent(new URL(r.path, 'http://x').searchParams.get('prefix')!));
    expect(lists.sort()).toEqual(['prod/cancer/2025/07/01/09/', 'prod/cancer/2025/07/01/10/', 'prod/cancer/labels/']);
    const gets = s3.requests.filter((r) => r.method === 'GET' && r.path.includes('x-id=GetObject')).map((r) => r.path);
    // No state object yet: the store lists its key first (a prefix-scoped role gets 403, not 404,
    // for a missing object) and reads nothing.
    expect(gets.sort()).toEqual(['/logs/prod/cancer/2025/07/01/09/a.jsonl?x-id=GetObject', '/logs/prod/cancer/labels/a.jsonl?x-id=GetObject']);
    const stateLists = s3.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/state/?list-type=2')).map((r) => decodeURIComponent(new URL(r.path, 'http://x').searchParams.get('prefix')!));
    expect(stateLists).toEqual(['monitors/cancer.json']);

    const state = JSON.parse(s3.object('state', 'monitors/cancer.json')!.toString('utf8'));
    expect(state).toMatchObject({ schema: 'cdk-mlops.monitor.episodes/v1', model: 'cancer', version: 1, episodes: { data_quality: { startedAt: new Date(now).toISOString() } } });
    const puts = s3.requests.filter((r) => r.method === 'PUT' && r.path.startsWith('/state/'));
    expect(puts[0].headers['if-none-match']).toBe('*');
    // a second run replaces the document only if it is unchanged (If-Match on its ETag)
    await runMonitorOnce(config, { ...deps, now: () => now + 60_000 });
    const second = s3.requests.filter((r) => r.method === 'PUT' && r.path.startsWith('/state/')).slice(puts.length);
    expect(second[0].headers['if-match']).toMatch(/^"?[0-9a-f]+"?$/);
  });
});
