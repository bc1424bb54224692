import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type Redis from 'ioredis';
import { deleteKeys, dumpKeys, fixtureRegistry, localRedis, tempDir, uniquePrefix, writeFixtureData, writeParquet, t } from './helpers';
import { run } from '../../../src/cli/commands/features';

let tmp: { dir: string; remove: () => void };
let redis: Redis;
let prefix: string;
let registryFile: string;
let memoryRegistryFile: string;
const savedLevel = process.env.LOG_LEVEL;

async function capture(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const o = jest.spyOn(process.stdout, 'write').mockImplementation((c) => { out.push(String(c)); return true; });
  const e = jest.spyOn(process.stderr, 'write').mockImplementation((c) => { err.push(String(c)); return true; });
  try {
    const code = await run(argv);
    return { code, out: out.join(''), err: err.join('') };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

beforeAll(() => {
  process.env.LOG_LEVEL = 'silent';
  tmp = tempDir();
  writeFixtureData(tmp.dir);
  redis = localRedis();
  prefix = uniquePrefix();
  registryFile = path.join(tmp.dir, 'registry.json');
  fs.writeFileSync(registryFile, JSON.stringify(fixtureRegistry('.', { type: 'redis', keyPrefix: prefix })));
  memoryRegistryFile = path.join(tmp.dir, 'registry-memory.yaml');
  fs.writeFileSync(memoryRegistryFile, JSON.stringify(fixtureRegistry('.', { type: 'memory' })));
});

afterAll(async () => {
  if (savedLevel === undefined) delete process.env.LOG_LEVEL;
  else process.env.LOG_LEVEL = savedLevel;
  await deleteKeys(redis, prefix);
  redis.disconnect();
  tmp.remove();
});

describe('cdk-mlops features', () => {
  test('usage and argument errors', async () => {
    expect((await capture([])).code).toBe(2);
    const help = await capture(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('usage: cdk-mlops features <materialize|serve|build-training-set>');
    expect(await capture(['materialize'])).toMatchObject({ code: 2, err: 'cdk-mlops features: --config <registry.json> is required\n' });
    expect(await capture(['rebuild', '--config', registryFile])).toMatchObject({ code: 2, err: "cdk-mlops features: unknown sub-command 'rebuild'; expected materialize, serve or build-training-set\n" });
    expect((await capture(['materialize', '--config', registryFile, '--bogus'])).err).toContain("Unknown option '--bogus'");
    expect(await capture(['materialize', '--config', memoryRegistryFile])).toMatchObject({ code: 2, err: expect.stringContaining("the online store is 'memory'") });
    const missing = path.join(tmp.dir, 'nope.json');
    expect(await capture(['materialize', '--config', missing])).toMatchObject({ code: 2, err: expect.stringContaining(`config file ${missing}: cannot be read`) });
  });

  test('materialize publishes to Redis and prints a summary; a bad file exits 2 naming it', async () => {
    const r = await capture(['materialize', '--config', registryFile]);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.out.trim().split('\n').pop()!).summary;
    expect(summary).toMatchObject({ rowsRead: 12, entitiesWritten: 7, published: true });
    expect(summary.rowsPerSecond).toBeGreaterThan(0);
    expect(Object.keys(await dumpKeys(redis, prefix))).toHaveLength(7 + 3 + 3); // rows, watermarks, value schemas

    const bad = path.join(tmp.dir, 'customer_profile', 'broken.parquet');
    fs.writeFileSync(bad, 'not parquet');
    const failed = await capture(['materialize', '--config', registryFile, '--views', 'customer_profile']);
    expect(failed.code).toBe(2);
    expect(failed.err).toContain(`offline file ${bad}: is not a readable Parquet file`);
    fs.rmSync(bad);
  });

  test('build-training-set writes a file; --emit-athena-sql prints the query', async () => {
    const entities = path.join(tmp.dir, 'entities.csv');
    fs.writeFileSync(entities, 'driver_id,event_timestamp\n1001,2024-01-01 12:00:00\n1002,2024-01-01 09:00:00\n');
    const output = path.join(tmp.dir, 'train.csv');
    const r = await capture(['build-training-set', '--config', registryFile, '--entities', entities, '--features', 'driver_stats:conv_rate,driver_stats:avg_daily_trips', '--output', output]);
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(fs.readFileSync(output, 'utf8')).toBe('driver_id,event_timestamp,conv_rate,avg_daily_trips\n1001,2024-01-01 12:00:00,0.35,35\n1002,2024-01-01 09:00:00,,\n');
    const sql = await capture(['build-training-set', '--config', registryFile, '--emit-athena-sql', '--entity-table', 'ml.entities', '--feature-service', 'fraud_v1']);
    expect(sql.code).toBe(0);
    expect(sql.out).toMatch(/^-- Point-in-time-correct training set/);
    expect(sql.out).toContain('JOIN "fraud_offline"."driver_stats" f');
    expect(await capture(['build-training-set', '--config', registryFile, '--emit-athena-sql', '--features', 'driver_stats:conv_rate']))
      .toMatchObject({ code: 2, err: 'cdk-mlops features: --emit-athena-sql needs --entity-table <database.table>\n' });
  });

  test('serve (in-process store) materializes at start, answers, and drains on SIGTERM', async () => {
    writeParquet(path.join(tmp.dir, 'customer_profile', 'extra.parquet'), [
      { name: 'customer_id', type: 'STRING', data: ['c-7'] },
      { name: 'event_timestamp', type: 'TIMESTAMP', data: [t('2024-01-01T12:00:00Z')] },
      { name: 'tier', type: 'STRING', data: ['platinum'] },
      { name: 'is_active', type: 'BOOLEAN', data: [true] },
      { name: 'lifetime_orders', type: 'INT32', data: [70] },
    ]);
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e',
      'require(\'./src/cli/main\').main(process.argv.slice(1)).then((c) => process.exit(c))',
      'features', 'serve', '--config', memoryRegistryFile, '--port', '0'], {
      cwd: path.resolve(__dirname, '../../..'), env: { ...process.env, LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let logs = '';
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`server did not start: ${logs}`)), 45_000);
        child.stdout.on('data', (d: Buffer) => {
          logs += d.toString();
          const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(logs);
          if (m) { clearTimeout(timer); resolve(m[1]); }
        });
        child.stderr.on('data', (d: Buffer) => { logs += d.toString(); });
        child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited with ${code}: ${logs}`)); });
      });
      const res = await fetch(`${url}/get-online-features`, { method: 'POST', body: JSON.stringify({ features: ['customer_profile:tier'], entities: { customer_id: ['c-7'] } }) });
      expect(((await res.json()) as { results: { values: unknown[] }[] }).results[1].values).toEqual(['platinum']);
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
