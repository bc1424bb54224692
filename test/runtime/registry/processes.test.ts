import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openRegistry } from '../../../src/runtime/registry/registry';
import { FakeS3 } from '../../support/fake-s3';

/**
 * Registry writers as separate OS processes: concurrency across processes (not just promises)
 * and writers killed with SIGKILL in the middle of a registration.
 */
const WRITER = path.join(__dirname, 'writer.ts');
const ROOT = path.resolve(__dirname, '..', '..', '..');
const fake = new FakeS3(['procs']);
let tmp: string;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  await fake.start();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'registry-procs-'));
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await fake.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function s3Env(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    CDK_MLOPS_S3_ENDPOINT: fake.endpoint,
    CDK_MLOPS_S3_FORCE_PATH_STYLE: 'true',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: 'us-east-1',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

function startWriter(args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; stdout: () => string; done: Promise<number | null>; waitFor: (text: string) => Promise<void> } {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', WRITER, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  let err = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    for (const w of waiters.splice(0)) {
      if (out.includes(w.text)) w.resolve();
      else waiters.push(w);
    }
  });
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const done = new Promise<number | null>((resolve) => child.on('exit', (code) => {
    children.delete(child);
    if (code !== 0 && code !== null) process.stderr.write(`writer failed: ${err}\n`);
    resolve(code);
  }));
  return {
    child,
    stdout: () => out,
    done,
    waitFor: (text) => new Promise<void>((resolve, reject) => {
      if (out.includes(text)) return resolve();
      waiters.push({ text, resolve });
      void done.then((code) => reject(new Error(`writer exited (${code}) before printing ${text}: ${err}`)));
    }),
  };
}

describe.each([
  ['local directory', () => path.join(tmp, `local-${Date.now()}-${Math.random()}`), () => process.env, () => ({})],
  ['S3 (fake server)', () => `s3://procs/p${Date.now()}${Math.floor(Math.random() * 1e6)}`, s3Env, () => ({ s3: fake.s3Options })],
])('registry writers as processes on %s', (_name, makeUri, makeEnv, makeOptions) => {
  test('10 processes x 20 registrations give 200 distinct versions with no gaps', async () => {
    const uri = makeUri();
    const go = path.join(tmp, `go-${Math.random()}`);
    const writers = Array.from({ length: 10 }, () => startWriter([uri, 'fraud', '20', `wait-for:${go}`], makeEnv()));
    await Promise.all(writers.map((w) => w.waitFor('READY')));
    fs.writeFileSync(go, '');
    const codes = await Promise.all(writers.map((w) => w.done));
    expect(codes).toEqual(Array(10).fill(0));
    const perWriter = writers.map((w) => w.stdout().trim().split('\n').slice(1).map((l) => Number(l.split(' ')[1])));
    const reported = perWriter.flat();
    expect(reported).toHaveLength(200);
    expect(new Set(reported).size).toBe(200);
    // The writers really raced: most of them got numbers interleaved with others'.
    const interleaved = perWriter.filter((vs) => vs[vs.length - 1] - vs[0] > 19).length;
    expect(interleaved).toBeGreaterThanOrEqual(5);
    const registry = openRegistry(uri, makeOptions());
    const versions = await registry.listVersions('fraud');
    expect(versions).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(await registry.listAbandonedClaims('fraud')).toEqual([]);
    // Each version is whole and sound.
    for (const v of [1, 57, 123, 200]) expect(await registry.verify('fraud', v)).toEqual([]);
  }, 120_000);

  test.each(['pause-after-claim', 'pause-before-manifest'])('a writer killed with SIGKILL (%s) leaves no visible version', async (mode) => {
    const uri = makeUri();
    const registry = openRegistry(uri, makeOptions());
    await registry.register((await import('./sample')).sampleInput('fraud', 'before'));
    const writer = startWriter([uri, 'fraud', '1', mode], makeEnv());
    await writer.waitFor('PAUSED 2');
    writer.child.kill('SIGKILL');
    expect(await writer.done).toBeNull();

    expect(await registry.listVersions('fraud')).toEqual([1]);
    expect(await registry.resolve('fraud', 'latest')).toBe(1);
    await expect(registry.load('fraud', 2)).rejects.toThrow("model 'fraud' has no version 2");
    const abandoned = await registry.listAbandonedClaims('fraud');
    expect(abandoned.map((c) => c.version)).toEqual([2]);
    // The crashed writer's number stays a gap; the next writer gets 3.
    const next = startWriter([uri, 'fraud', '1'], makeEnv());
    expect(await next.done).toBe(0);
    expect(next.stdout()).toBe('REGISTERED 3\n');
    expect(await registry.listVersions('fraud')).toEqual([1, 3]);
  }, 60_000);
});
