import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort, isAlive, readableLogLine, ServiceStartError, Supervisor, tailFile, UpLock } from '../../src/up/supervisor';

const NODE = process.execPath;

/** A node script as `-e` arguments. */
const script = (code: string) => ['-e', code];

/** A server on `port` that answers 200 on /ready after `delayMs`, and starts a grandchild that sleeps. */
const SERVER = (port: number, delayMs: number) => `
const http = require('node:http');
const { spawn } = require('node:child_process');
const grand = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
console.log(JSON.stringify({ level: 30, msg: 'grandchild ' + grand.pid }));
const started = Date.now();
http.createServer((req, res) => { res.statusCode = Date.now() - started > ${delayMs} ? 200 : 503; res.end(); }).listen(${port}, '127.0.0.1');
`;

/** Whether `pid` has ended (or is a zombie waiting for its parent) within a second. */
async function ended(pid: number): Promise<boolean> {
  for (let i = 0; i < 20; i++) {
    let state = '';
    try {
      state = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] ?? '';
    } catch {
      return true;
    }
    if (!isAlive(pid) || state === 'Z') return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

async function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(false); });
    s.once('error', () => resolve(true));
  });
}

describe('Supervisor', () => {
  let dir: string;
  let sup: Supervisor;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'up-supervisor-'));
  });
  afterEach(async () => {
    await sup?.stopAll();
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('waits until the ready URL answers 200; stopAll ends the process and what it started, and frees the port', async () => {
    sup = new Supervisor(path.join(dir, 'logs1'), 2000);
    const port = await freePort();
    const s = await sup.start({ name: 'web', command: NODE, args: script(SERVER(port, 300)), ready: { url: `http://127.0.0.1:${port}/ready`, timeoutMs: 10_000 } });
    expect((await fetch(`http://127.0.0.1:${port}/ready`)).status).toBe(200);
    let grandchild = 0;
    for (let i = 0; i < 50 && !grandchild; i++) {
      grandchild = Number(/grandchild (\d+)/.exec(fs.readFileSync(s.logFile, 'utf8'))?.[1] ?? 0);
      if (!grandchild) await new Promise((r) => setTimeout(r, 50));
    }
    expect(isAlive(grandchild)).toBe(true);
    await sup.stopAll();
    expect(sup.processes).toHaveLength(0);
    expect(await ended(s.child.pid!)).toBe(true);
    expect(await ended(grandchild)).toBe(true);
    expect(await refused(port)).toBe(true);
  });

  test('a process that exits before it is ready: ServiceStartError with the reason and its log tail, JSON lines made readable', async () => {
    sup = new Supervisor(path.join(dir, 'logs2'), 2000);
    const code = 'console.log(JSON.stringify({ level: 50, msg: \'cannot load model x\' })); console.error(\'plain line\'); process.exit(4);';
    const err = await sup.start({ name: 'bad', command: NODE, args: script(code), ready: { url: 'http://127.0.0.1:9/never', timeoutMs: 10_000 } }).catch((e) => e);
    expect(err).toBeInstanceOf(ServiceStartError);
    expect(err.service).toBe('bad');
    expect(err.reason).toBe('exited with 4 before it was ready');
    expect(err.logTail).toBe('ERROR cannot load model x\nplain line');
    expect(err.message).toContain("service 'bad' failed to start: exited with 4 before it was ready\n--- last lines of its log ---\nERROR cannot load model x");
  });

  test('a process that never gets ready is reported after its timeout', async () => {
    sup = new Supervisor(path.join(dir, 'logs3'), 2000);
    const port = await freePort();
    const err = await sup.start({ name: 'slow', command: NODE, args: script(SERVER(port, 60_000)), ready: { url: `http://127.0.0.1:${port}/`, timeoutMs: 800 } }).catch((e) => e);
    expect(err).toBeInstanceOf(ServiceStartError);
    expect(err.reason).toBe(`not ready at http://127.0.0.1:${port}/ after 800 ms`);
    await sup.stopAll();
    expect(await refused(port)).toBe(true);
  });

  test('runToEnd returns the exit code and tail; a job past its time is killed and reported', async () => {
    sup = new Supervisor(path.join(dir, 'logs4'), 2000);
    const r = await sup.runToEnd({ name: 'job', command: NODE, args: script("console.log('done'); process.exit(3)") });
    expect(r).toMatchObject({ code: 3, tail: 'done' });
    const err = await sup.runToEnd({ name: 'forever', command: NODE, args: script('setInterval(() => {}, 1000)'), timeoutMs: 300 }).catch((e) => e);
    expect(err).toBeInstanceOf(ServiceStartError);
    expect(err.reason).toBe('did not finish within 300 ms');
    expect(sup.processes).toHaveLength(0);
  });

  test('a process that ignores SIGTERM is killed after the grace period', async () => {
    sup = new Supervisor(path.join(dir, 'logs5'), 300);
    const s = await sup.start({ name: 'stubborn', command: NODE, args: script("process.on('SIGTERM', () => {}); setInterval(() => {}, 1000); console.log('up')") });
    for (let i = 0; i < 50 && !fs.readFileSync(s.logFile, 'utf8').includes('up'); i++) await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    await sup.stopAll();
    expect(await s.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
  });

  test('tailFile of a missing file, and readableLogLine of lines that are not pino JSON', () => {
    expect(tailFile(path.join(dir, 'nope.log'))).toBe('(no log)');
    expect(readableLogLine('{not json')).toBe('{not json');
    expect(readableLogLine('{"level":40,"msg":"careful"}')).toBe('WARN careful');
    expect(readableLogLine('{"a":1}')).toBe('{"a":1}');
  });
});

describe('UpLock', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'up-lock-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('a second holder is refused with the pid of the first; release frees it', () => {
    const file = path.join(dir, 'a', 'up.lock');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // Another live process holds it (this test's parent, which is alive and not us).
    fs.writeFileSync(file, JSON.stringify({ pid: process.ppid, startedAt: '2024-01-01T00:00:00.000Z' }));
    expect(() => new UpLock(file).acquire()).toThrow(`another 'cdk-mlops up' is already running here (pid ${process.ppid}, since 2024-01-01T00:00:00.000Z); stop it with Ctrl-C first (lock: ${file})`);
    fs.rmSync(file);
    const lock = new UpLock(file);
    lock.acquire();
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).pid).toBe(process.pid);
    lock.release();
    expect(fs.existsSync(file)).toBe(false);
  });

  test('a stale lock (dead pid) or a half-written one is taken over', () => {
    const file = path.join(dir, 'b', 'up.lock');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify({ pid: 2 ** 22 + 12345, startedAt: 'x' }));
    const lock = new UpLock(file);
    lock.acquire();
    lock.release();
    fs.writeFileSync(file, '{"pid": 1');
    lock.acquire();
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).pid).toBe(process.pid);
    lock.release();
  });
});
