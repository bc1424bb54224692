import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

/** How a supervised process is known to be ready. */
export interface ReadyCheck {
  /** An HTTP URL that answers 200 when ready. */
  readonly url?: string;
  /** @default 60_000 */
  readonly timeoutMs?: number;
}

export interface StartOptions {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly ready?: ReadyCheck;
}

/** A process the supervisor started. */
export interface Supervised {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logFile: string;
  /** Resolves with the exit code (or signal) when the process ends. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Raised when a service fails to start: carries its log tail. */
export class ServiceStartError extends Error {
  constructor(public readonly service: string, public readonly reason: string, public readonly logTail: string) {
    super(`service '${service}' failed to start: ${reason}\n--- last lines of its log ---\n${logTail}`);
    this.name = 'ServiceStartError';
  }
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** A JSON (pino) log line as `LEVEL message`; any other line as it is. */
export function readableLogLine(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    const j = JSON.parse(line) as { level?: number; msg?: unknown };
    return typeof j.msg === 'string' ? `${LEVELS[j.level ?? 30] ?? j.level} ${j.msg}` : line;
  } catch {
    return line;
  }
}

/** The last `lines` lines of a file, JSON log lines shown as `LEVEL message`. */
export function tailFile(file: string, lines = 20): string {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.split('\n').filter((l) => l.length > 0).slice(-lines).map(readableLogLine).join('\n');
  } catch {
    return '(no log)';
  }
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts, watches and stops the local loop's processes. Each child runs in its own process
 * group, logs to `<logDir>/<name>.log`, and is stopped with SIGTERM (then SIGKILL after a
 * grace period) together with anything it started.
 */
export class Supervisor {
  private readonly children: Supervised[] = [];
  private stopping = false;

  constructor(private readonly logDir: string, private readonly graceMs = 10_000) {}

  /** Processes started so far. */
  public get processes(): readonly Supervised[] {
    return this.children;
  }

  /** Starts a long-running process and waits until it is ready. */
  public async start(o: StartOptions): Promise<Supervised> {
    const logFile = path.join(this.logDir, `${o.name}.log`);
    fs.mkdirSync(this.logDir, { recursive: true });
    const fd = fs.openSync(logFile, 'a');
    const child = spawn(o.command, [...o.args], {
      cwd: o.cwd,
      env: { ...process.env, ...o.env },
      stdio: ['ignore', fd, fd],
      detached: true,
    });
    fs.closeSync(fd);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      child.once('error', () => resolve({ code: -1, signal: null }));
    });
    const s: Supervised = { name: o.name, child, logFile, exited };
    this.children.push(s);
    if (o.ready?.url) await this.waitReady(s, o.ready.url, o.ready.timeoutMs ?? 60_000);
    return s;
  }

  /** Runs a process to completion; returns its exit code and log tail. */
  public async runToEnd(o: StartOptions & { timeoutMs?: number }): Promise<{ code: number | null; logFile: string; tail: string }> {
    const s = await this.start({ ...o, ready: undefined });
    const timeoutMs = o.timeoutMs ?? 600_000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), timeoutMs); });
    const r = await Promise.race([s.exited, timedOut]);
    clearTimeout(timer);
    this.children.splice(this.children.indexOf(s), 1);
    if (r === 'timeout') {
      killGroup(s.child, 'SIGKILL');
      await s.exited;
      throw new ServiceStartError(o.name, `did not finish within ${timeoutMs} ms`, tailFile(s.logFile));
    }
    return { code: r.code, logFile: s.logFile, tail: tailFile(s.logFile) };
  }

  private async waitReady(s: Supervised, url: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    void s.exited.then((e) => { exited = e; });
    while (Date.now() < deadline) {
      if (exited) {
        throw new ServiceStartError(s.name, `exited with ${exited.code ?? exited.signal} before it was ready`, tailFile(s.logFile));
      }
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new ServiceStartError(s.name, `not ready at ${url} after ${timeoutMs} ms`, tailFile(s.logFile));
  }

  /** Stops every process (SIGTERM, then SIGKILL after the grace period) and waits for them. */
  public async stopAll(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const running = [...this.children].reverse();
    await Promise.all(running.map((s) => this.terminate(s)));
    this.children.length = 0;
    this.stopping = false;
  }

  /** Stops one process the supervisor started (SIGTERM, then SIGKILL after the grace period). */
  public async stopOne(s: Supervised): Promise<void> {
    const i = this.children.indexOf(s);
    if (i >= 0) this.children.splice(i, 1);
    await this.terminate(s);
  }

  /** Kills every process at once (SIGKILL to each group): the answer to a second Ctrl-C. */
  public killAll(): void {
    for (const s of this.children) killGroup(s.child, 'SIGKILL');
  }

  private async terminate(s: Supervised): Promise<void> {
    killGroup(s.child, 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<'grace'>((resolve) => { timer = setTimeout(() => resolve('grace'), this.graceMs); });
    const r = await Promise.race([s.exited, grace]);
    clearTimeout(timer);
    if (r === 'grace') {
      killGroup(s.child, 'SIGKILL');
      await s.exited;
    }
    // The group may hold processes the child started and left behind: end them too.
    killGroup(s.child, 'SIGKILL', true);
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals, groupOnly = false): void {
  if (child.pid === undefined) return;
  if (!groupOnly && (child.exitCode !== null || child.signalCode !== null)) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    if (groupOnly) return;
    try { child.kill(signal); } catch { /* already gone */ }
  }
}

/** Whether a process id is alive. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One `cdk-mlops up` per working directory: a lock file holding the pid. A second `up` while
 * the first runs is refused with a message that names it; a stale lock (dead pid) is taken over.
 */
export class UpLock {
  private held = false;
  constructor(public readonly file: string) {}

  public acquire(): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        fs.writeFileSync(this.file, JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString() }), { flag: 'wx' });
        this.held = true;
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        let holder: { pid?: number; startedAt?: string } = {};
        try { holder = JSON.parse(fs.readFileSync(this.file, 'utf8')); } catch { /* half-written: treat as stale */ }
        if (holder.pid && holder.pid !== process.pid && isAlive(holder.pid)) {
          throw new Error(`another 'cdk-mlops up' is already running here (pid ${holder.pid}, since ${holder.startedAt}); stop it with Ctrl-C first (lock: ${this.file})`);
        }
        fs.rmSync(this.file, { force: true });
      }
    }
    throw new Error(`could not take the lock ${this.file}`);
  }

  public release(): void {
    if (this.held) fs.rmSync(this.file, { force: true });
    this.held = false;
  }
}
